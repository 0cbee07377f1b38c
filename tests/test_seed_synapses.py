"""Synapse-dynamics nodes (traced, rise-decay, two-timescale): impulse responses equal the
continuous kernels sampled at the steps, their integral is gain x weight, validation."""
import numpy as np
import pytest

from spark_snn import engine  # noqa: F401
from spark_snn.components.rise_decay_synapse import RiseDecaySynapse
from spark_snn.components.traced_synapse import TracedSynapse
from spark_snn.components.two_timescale_synapse import TwoTimescaleSynapse
from spark_snn.engine import validate
from tests.conftest import graph_of
from tests.plastic_reference import run_node

ARRIVALS = {3: 2.0, 10: 0.5}  # step -> weight (mV)


def _kernel_sum(T, dt, kernel):
    t = np.arange(T) * dt
    out = np.zeros(T)
    for k, w in ARRIVALS.items():
        s = t - k * dt
        out += np.where(s >= 0, w * kernel(np.maximum(s, 0.0)), 0.0)
    return out


def _rd(g, tr, td):
    return lambda s: g * (np.exp(-s / td) - np.exp(-s / tr)) / (td - tr)


CASES = [
    (TracedSynapse, {"tau": 5.0, "gain": 1.5}, lambda s: 1.5 / 5.0 * np.exp(-s / 5.0)),
    (RiseDecaySynapse, {"tau_rise": 1.0, "tau_decay": 5.0, "gain": 2.0}, _rd(2.0, 1.0, 5.0)),
    (TwoTimescaleSynapse, {"alpha": 0.7, "tau_rise": 1.0, "tau_fast": 5.0, "tau_slow": 50.0,
                           "gain": 1.0},
     lambda s: 0.7 * _rd(1.0, 1.0, 5.0)(s) + 0.3 * _rd(1.0, 1.0, 50.0)(s)),
]


@pytest.mark.parametrize("cls, cfg, kernel", CASES, ids=lambda c: getattr(c, "type_name", ""))
def test_impulse_response_is_the_sampled_kernel(cls, cfg, kernel):
    T, dt = 400, 0.5
    comp = cls({**cls.defaults(), **cfg, "size": 2}, {}, dt, np.float32)
    ev = np.zeros((T, 2))
    for k, w in ARRIVALS.items():
        ev[k, 0] = w
    out, _ = run_node(comp, {"events": ev}, T)
    np.testing.assert_allclose(out["current"][:, 0], _kernel_sum(T, dt, kernel), atol=2e-6)
    assert not out["current"][:, 1].any()
    # integral of the current = gain x total weight (within the sampling error of dt = 0.5 ms,
    # and the slow tail cut at 200 ms)
    total = out["current"][:, 0].sum() * dt
    assert total == pytest.approx(cfg["gain"] * sum(ARRIVALS.values()), rel=0.06)


def test_time_constants_are_checked():
    g = graph_of(("a", "rise_decay_synapse", {"size": 3, "tau_rise": 5.0, "tau_decay": 5.0}),
                 ("b", "two_timescale_synapse", {"size": 3, "tau_rise": 10.0}),
                 ("p", "lif", {"size": 3}), edges=[("a.current", "p.current"),
                                                  ("b.current", "p.current")])
    probs = {(pr.node, pr.param) for pr in validate(g)}
    assert ("a", "tau_rise") in probs and ("b", "tau_rise") in probs
