"""Place-cell encoder (line / ring, Poisson / linear spikers) and the exponential-integrator
readout of the original Spark: analytic tuning, firing periods and filter responses."""
import math

import numpy as np
import pytest

from spark_snn import engine  # noqa: F401
from spark_snn.components.exponential_readout import ExponentialReadout
from spark_snn.components.topological_encoder import TopologicalEncoder, linear_gain
from tests.plastic_reference import run_node


def _enc(dt=1.0, **cfg):
    return TopologicalEncoder({**TopologicalEncoder.defaults(), **cfg}, {}, dt, np.float32)


def _activation(values, T=1, **cfg):
    comp = _enc(**cfg)
    out, _ = run_node(comp, {"value": np.tile(np.asarray(values, np.float32), (T, 1))}, T)
    return out


def test_ring_cells_are_distinct_and_turn_with_the_value():
    """R = 16 cells on a ring: u = k/R puts the peak (a = 1) exactly on cell k; u + 1/R turns the
    pattern by one cell; u = 0 and u = 1 are the same point. On a line the ends differ and the
    peak of u sits on cell u (R - 1)."""
    R = 16
    ring = dict(low=[0.0], high=[1.0], resolution=R, topology="ring", sigma=0.05)
    a = [_activation([k / R], **ring)["activation"][0] for k in (3, 4)]
    assert np.argmax(a[0]) == 3 and a[0][3] == pytest.approx(1.0)
    np.testing.assert_allclose(np.roll(a[0], 1), a[1], atol=1e-6)
    np.testing.assert_allclose(_activation([0.0], **ring)["activation"][0],
                               _activation([1.0], **ring)["activation"][0], atol=1e-6)
    assert len({round(float(x), 6) for x in np.arange(R) * math.pi / R}) == R
    line = dict(low=[-2.0], high=[2.0], resolution=R + 1, topology="line", sigma=0.05)
    a0, a1 = (_activation([v], **line)["activation"][0] for v in (-2.0, 2.0))
    assert np.argmax(a0) == 0 and np.argmax(a1) == R and a0[R] < 1e-3
    u = 0.75  # value 1.0 on [-2, 2]
    phi = np.arange(R + 1) * math.pi / R
    want = np.exp(-(0.5 / 0.05) * np.tanh(phi - u * math.pi) ** 2)
    np.testing.assert_allclose(_activation([1.0], **line)["activation"][0], want, atol=1e-6)


@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_linear_spiker_fires_at_max_rate_whatever_dt(dt):
    """A cell at activation 1 (on its centre) fires periodically: n_cd blocked steps, then the
    first step n with G (1 - e^n) > 1, e = exp(-dt/tau): period n_cd + n steps, within one step
    of 1000 / max_rate ms, at dt = 1 and 0.1 ms. A cell with activation below 1/G never fires."""
    rate, cd, tau = 120.0, 2.0, 20.0
    G = linear_gain(rate, cd, tau)
    n_cd = math.floor(cd / dt + 1e-3)
    n_int = math.floor((1000.0 / rate - cd) / dt) + 1  # (1000/rate - cd)/dt is not a whole number
    period = n_cd + n_int
    T = int(200 / dt)
    out = _activation([0.5], T=T, dt=dt, low=[0.0], high=[1.0], resolution=9, sigma=1 / 32,
                      max_rate=rate, cooldown=cd, tau=tau)
    sp = out["spikes"]
    centre = np.flatnonzero(sp[:, 4])
    assert centre[0] == n_int - 1 and np.all(np.diff(centre) == period)
    assert abs(period * dt - 1000.0 / rate) <= dt + 1e-9
    weak = out["activation"][0] < 1.0 / G
    assert weak.any() and not sp[:, weak].any()


def test_poisson_spiker_rate():
    T, rate = 4000, 80.0
    out = _activation([0.5], T=T, low=[0.0], high=[1.0], resolution=9, sigma=0.2,
                      spiker="poisson", max_rate=rate)
    p = rate / 1000.0 * out["activation"][0]
    n = out["spikes"].sum(axis=0)
    assert np.all(np.abs(n - p * T) <= 5 * np.sqrt(p * (1 - p) * T) + 1)


def _readout(n, dt=1.0, **cfg):
    return ExponentialReadout({**ExponentialReadout.defaults(), **cfg}, {"n": n}, dt, np.float32)


def test_readout_impulse_response():
    """One spike in group 0 (3 neurons) at step 0: o_k = (1-e_d)(1-e_r) f (e_d^(k+1) -
    e_r^(k+1)) / (e_d - e_r) with f = 1000 / (3 dt) / saturation; group 1 stays 0."""
    T, dt = 60, 1.0
    comp = _readout(5, dt)  # groups 3 + 2
    sp = np.zeros((T, 5))
    sp[0, 1] = 1
    out, _ = run_node(comp, {"spikes": sp}, T)
    er, ed = math.exp(-dt / 5.0), math.exp(-dt / 10.0)
    f = 1000.0 / (3 * dt) / 50.0
    k = np.arange(T)
    want = (1 - ed) * (1 - er) * f * (ed ** (k + 1) - er ** (k + 1)) / (ed - er)
    np.testing.assert_allclose(out["value"][:, 0], want, rtol=1e-5, atol=1e-7)
    assert not out["value"][:, 1].any()


@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_readout_is_one_at_the_saturation_rate_whatever_dt(dt):
    """Every neuron of group 0 fires at 50 Hz (every 20 ms), group 1 at 25 Hz: after a second
    the outputs average 1 and 0.5 over a period, at dt = 1 and 0.1 ms."""
    T = int(1000 / dt)
    sp = np.zeros((T, 8))
    sp[::int(20 / dt), :4] = 1
    sp[::int(40 / dt), 4:] = 1
    out, _ = run_node(_readout(8, dt), {"spikes": sp}, T)
    last = out["value"][-int(40 / dt):]
    np.testing.assert_allclose(last.mean(axis=0), [1.0, 0.5], rtol=2e-3)
