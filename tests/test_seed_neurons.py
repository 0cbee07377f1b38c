"""Neuron models of the original Spark: the threshold-adaptive LIF (its "ALIF") with both
refractory behaviours against closed-form trajectories, and the exponential IF against its
analytic rheobase and a high-precision ODE solution."""
import math

import numpy as np
import pytest

from spark_snn import engine  # noqa: F401
from spark_snn.components.eif import EIF
from spark_snn.components.threshold_lif import ThresholdLIF
from tests.plastic_reference import run_node

ALIF = dict(size=1, v_rest=-60.0, v_reset=-50.0, v_th=-40.0, tau_m=10.0, tau_theta=10.0,
            delta_theta=15.0, t_ref=4.0)


def _make(cls, cfg, dt):
    return cls({**cls.defaults(), **cfg}, {}, dt, np.float32)


def _closed_form_alif(I, T, mode, cfg=ALIF, dt=1.0):
    """Spike steps, v and theta after every step, from closed forms between spikes: no
    refractoriness: v = v_inf + (v_start - v_inf) e^k; gate: v = v_rest + (v_start - v_rest) e^k;
    clamp: v = v_reset; threshold v_th + sum over past spikes s of delta e^(t - s)."""
    e = math.exp(-dt / cfg["tau_m"])
    et = math.exp(-dt / cfg["tau_theta"])
    n_ref = math.floor(cfg["t_ref"] / dt + 0.001)
    v_inf = cfg["v_rest"] + I
    spikes, vs, th = [], [], []
    seg_start, v_start, ref_until = 0, cfg["v_rest"], -1  # v_start: v before step seg_start
    for t in range(T):
        a_before = sum(cfg["delta_theta"] * et ** (t - 1 - s) for s in spikes)
        k = t - seg_start + 1
        if t <= ref_until:
            v = cfg["v_reset"] if mode == "clamp" else cfg["v_rest"] + (v_start - cfg["v_rest"]) * e ** k
            spike = False
        else:
            v = v_inf + (v_start - v_inf) * e ** k
            spike = v > cfg["v_th"] + a_before
        if t == ref_until:
            seg_start, v_start = t + 1, v
        if spike:
            spikes.append(t)
            v = cfg["v_reset"]
            seg_start, v_start, ref_until = t + 1, v, t + n_ref - 1
            if n_ref <= 1:
                ref_until = -1
        vs.append(v)
        th.append(cfg["v_th"] + sum(cfg["delta_theta"] * et ** (t - s) for s in spikes))
    return spikes, np.array(vs), np.array(th)


@pytest.mark.parametrize("mode", ["gate", "clamp"])
def test_threshold_adaptive_lif_closed_form(mode):
    """Constant drive 35 mV: spike steps, v (leaking towards rest while gated, held at reset when
    clamped) and the adapting threshold match the closed forms; the threshold's adaptation
    lengthens the inter-spike intervals."""
    T, I = 120, 35.0
    comp = _make(ThresholdLIF, {**ALIF, "refractory": mode}, 1.0)
    out, _ = run_node(comp, {"current": np.full((T, 1), I)}, T)
    spikes, v, theta = _closed_form_alif(I, T, mode)
    assert len(spikes) >= 4 and np.diff(spikes)[-1] > np.diff(spikes)[0]
    assert np.flatnonzero(out["spikes"][:, 0]).tolist() == spikes
    np.testing.assert_allclose(out["v"][:, 0], v, atol=1e-4)
    np.testing.assert_allclose(out["theta"][:, 0], theta, atol=1e-4)


def test_gate_and_clamp_differ_only_while_refractory():
    """t_ref 4 ms at dt 1 ms: three blocked steps after each spike (the original's gated soma
    with a cool-down of 2 ms blocks the same three)."""
    T, I = 60, 35.0
    outs = {m: run_node(_make(ThresholdLIF, {**ALIF, "refractory": m}, 1.0),
                        {"current": np.full((T, 1), I)}, T)[0] for m in ("gate", "clamp")}
    s = int(np.flatnonzero(outs["clamp"]["spikes"][:, 0])[0])
    assert s == int(np.flatnonzero(outs["gate"]["spikes"][:, 0])[0])
    assert np.all(outs["clamp"]["v"][s:s + 4, 0] == -50.0)
    gate = outs["gate"]["v"][s + 1:s + 4, 0]
    np.testing.assert_allclose(gate, -60.0 + 10.0 * np.exp(-np.arange(1, 4) / 10.0), atol=1e-4)


def _eif_first_spike(I, T, dt):
    comp = _make(EIF, {"size": 1, "t_ref": 0.0}, dt)
    out, _ = run_node(comp, {"current": np.full((T, 1), I)}, T)
    idx = np.flatnonzero(out["spikes"][:, 0])
    return (idx[0] + 1) * dt if idx.size else None


def test_eif_rheobase_and_spike_time():
    """Defaults (v_rest -70, V_T -50, delta_T 2): rheobase v_th - v_rest - delta_T = 18 mV. At
    17.9 mV no spike in 400 ms; at 18.2 mV it fires. At 25 mV and dt 0.01 ms the first spike time
    matches the ODE solved to 1e-10 (scipy) within 1 % (exponential Euler is first order: 3 %
    late at dt 0.1 ms)."""
    dt = 0.05
    assert _eif_first_spike(17.9, 8000, dt) is None
    assert _eif_first_spike(18.2, 8000, dt) is not None
    from scipy.integrate import solve_ivp

    def f(t, v):
        return [(-(v[0] + 70.0) + 2.0 * math.exp((v[0] + 50.0) / 2.0) + 25.0) / 5.0]

    def peak(t, v):
        return v[0] + 30.0
    peak.terminal = True
    sol = solve_ivp(f, (0, 200), [-70.0], events=peak, rtol=1e-10, atol=1e-10)
    t_ref = sol.t_events[0][0]
    assert _eif_first_spike(25.0, 4000, 0.01) == pytest.approx(t_ref, rel=0.01)
