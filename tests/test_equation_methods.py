"""Integration methods of equation-defined nodes against analytic solutions (float64).

Golden values are closed-form: the solution of the ODE, or the exact value each one-step method
gives on a linear equation (the amplification factor of Euler, RK2 and RK4 raised to the number
of steps), or the convergence order on a non-linear equation with a known solution.
"""
import math

import numpy as np
import pytest
from conftest import graph_of

from spark_snn.engine import Simulation

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run(text: str, method: str, dt: float, steps: int, outputs=("x",), params=None):
    """Run one equation_synapse node (no inputs) and return its recorded outputs."""
    g = graph_of(("n", "equation_synapse",
                  {"size": 1, "method": method, "model": text, **(params or {})}),
                 dt=dt, dtype="float64")
    sim = Simulation(g, record=[f"n.{o}" for o in outputs], dtype="float64")
    rec = sim.advance(steps, chunk=steps)
    return {o: rec[f"n.{o}"][:, 0] for o in outputs}


DECAY = """
param tau = 10 ms in (0, inf)
state x = 1
dx/dt = -x / tau
output x
"""


@pytest.mark.parametrize("method,factor", [
    ("euler", lambda z: 1 - z),
    ("rk2", lambda z: 1 - z + z * z / 2),
    ("rk4", lambda z: 1 - z + z ** 2 / 2 - z ** 3 / 6 + z ** 4 / 24),
    ("exponential_euler", lambda z: math.exp(-z)),
    ("exact", lambda z: math.exp(-z)),
])
def test_linear_decay_amplification_factor(method, factor):
    # x' = -x/tau: each method multiplies x by its own factor R(dt/tau) per step
    dt, steps = 0.5, 200
    x = run(DECAY, method, dt, steps)["x"]
    n = np.arange(1, steps + 1)
    np.testing.assert_allclose(x, factor(dt / 10.0) ** n, rtol=1e-12, atol=0)


RELAX = """
param E = 10 mV
param tau = 2 ms in (0, inf)
state v = -70 mV
dv/dt = (E - v) / tau
output v
"""


@pytest.mark.parametrize("method", ["exponential_euler", "exact"])
def test_exponential_methods_exact_for_linear_relaxation_at_any_step(method):
    # v(t) = E + (v0 - E) exp(-t/tau), even with dt = 5 tau (Euler would diverge)
    dt, steps = 10.0, 10
    v = run(RELAX, method, dt, steps, ("v",))["v"]
    t = dt * np.arange(1, steps + 1)
    np.testing.assert_allclose(v, 10 + (-70 - 10) * np.exp(-t / 2.0), rtol=1e-12, atol=1e-12)


COUPLED = """
param E = 10 mV
param tau_m = 20 ms
param tau_s = 5 ms
state v = 0 mV
state I = 12 mV
dv/dt = (E - v + I) / tau_m
dI/dt = -I / tau_s
output v
output I
"""


@pytest.mark.parametrize("path", ["closed form", "matrix exponential"])
@pytest.mark.parametrize("dt", [0.1, 1.0, 4.0])
def test_exact_coupled_linear_system_matches_closed_form(dt, path, monkeypatch):
    if path == "matrix exponential":  # the general path, which other systems take
        monkeypatch.setattr("spark_snn.engine.equations.translate._two_layers", lambda *a: None)
    # tau_m v' = E - v + I, I = I0 exp(-t/tau_s), v(0) = 0:
    # v = E (1 - exp(-t/tau_m)) + I0 tau_s/(tau_s - tau_m) (exp(-t/tau_s) - exp(-t/tau_m))
    steps = int(round(100 / dt))
    out = run(COUPLED, "exact", dt, steps, ("v", "I"))
    t = dt * np.arange(1, steps + 1)
    tm, ts, I0, E = 20.0, 5.0, 12.0, 10.0
    v = E * (1 - np.exp(-t / tm)) + I0 * ts / (ts - tm) * (np.exp(-t / ts) - np.exp(-t / tm))
    np.testing.assert_allclose(out["v"], v, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(out["I"], I0 * np.exp(-t / ts), rtol=1e-11, atol=1e-13)


OSCILLATOR = """
param tau = 3 ms in (0, inf)
state x = 1
state y = 0
dx/dt = y / tau
dy/dt = -x / tau
output x
output y
"""


def test_exact_oscillator_rotation():
    # complex eigenvalues: x = cos(t/tau), y = -sin(t/tau), to rounding, at a coarse step
    dt, steps = 0.7, 300
    out = run(OSCILLATOR, "exact", dt, steps, ("x", "y"))
    t = dt * np.arange(1, steps + 1)
    np.testing.assert_allclose(out["x"], np.cos(t / 3.0), atol=1e-11)
    np.testing.assert_allclose(out["y"], -np.sin(t / 3.0), atol=1e-11)


LOGISTIC = """
param tau = 10 ms in (0, inf)
state x = 0.1
dx/dt = x * (1 - x) / tau
output x
"""


@pytest.mark.parametrize("method,order", [("euler", 1), ("exponential_euler", 1), ("rk2", 2),
                                          ("rk4", 4)])
def test_convergence_order_on_logistic_equation(method, order):
    # x(t) = 1 / (1 + 9 exp(-t/tau)); halving dt divides the error at t = 20 ms by 2^order
    T = 20.0
    exact = 1.0 / (1.0 + 9.0 * math.exp(-T / 10.0))
    errors = []
    for dt in (0.5, 0.25, 0.125):
        x = run(LOGISTIC, method, dt, int(round(T / dt)))["x"]
        errors.append(abs(x[-1] - exact))
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    for r in ratios:
        assert 2 ** order * 0.85 < r < 2 ** order * 1.15, (method, errors, ratios)


def test_exact_refuses_nonlinear_equation_naming_the_term():
    from spark_snn.engine.validate import validate
    text = "state v = -70 mV\ndv/dt = (v * v / mV - v) / ms\noutput v"
    g = graph_of(("n", "equation_synapse", {"size": 1, "method": "exact", "model": text}))
    probs = validate(g)
    assert len(probs) == 1 and probs[0].node == "n" and probs[0].param == "method"
    assert "'v * v' in dv/dt is not linear in 'v'" in probs[0].message
    assert probs[0].message.startswith("line 2, column 10:")


def test_auto_method_picks_exact_for_linear_and_exponential_euler_otherwise():
    from spark_snn.engine.equations import check_model
    from spark_snn.engine.equations.translate import choose_method
    assert choose_method(check_model(COUPLED, "synapse"), "auto") == "exact"
    assert choose_method(check_model(LOGISTIC, "synapse"), "auto") == "exponential_euler"


def test_exact_path_choice():
    from spark_snn.engine.equations import check_model
    from spark_snn.engine.equations.translate import Integrator
    import jax.numpy as jnp
    layered = Integrator(check_model(COUPLED, "synapse"), "exact", jnp).layered
    assert layered == (["I"], ["v"])
    fed = COUPLED.replace("dI/dt = -I / tau_s", "dI/dt = (E - I) / tau_s")  # a leaf with input
    assert Integrator(check_model(fed, "synapse"), "exact", jnp).layered is None
    assert Integrator(check_model(OSCILLATOR, "synapse"), "exact", jnp).layered is None


def test_exact_closed_form_with_equal_time_constants():
    # tau_s = tau_m = tau: v = E (1 - exp(-t/tau)) + I0 (t/tau) exp(-t/tau)
    dt, steps = 0.5, 200
    out = run(COUPLED, "exact", dt, steps, ("v",), params={"tau_s": 20.0})
    t = dt * np.arange(1, steps + 1)
    v = 10 * (1 - np.exp(-t / 20)) + 12 * (t / 20) * np.exp(-t / 20)
    np.testing.assert_allclose(out["v"], v, rtol=1e-11, atol=1e-12)


def test_exponential_euler_integrates_decaying_inputs_exactly():
    # the synaptic current I only decays and enters dv/dt linearly: exponential Euler adds its
    # effect exactly (as the built-in pools do), so on this linear system it is exact too
    dt, steps = 1.0, 100
    out = run(COUPLED, "exponential_euler", dt, steps, ("v",))
    t = dt * np.arange(1, steps + 1)
    tm, ts, I0, E = 20.0, 5.0, 12.0, 10.0
    v = E * (1 - np.exp(-t / tm)) + I0 * ts / (ts - tm) * (np.exp(-t / ts) - np.exp(-t / tm))
    np.testing.assert_allclose(out["v"], v, rtol=1e-11, atol=1e-12)
