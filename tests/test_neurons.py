"""Golden-value tests of the neuron pools (lif, alif, adex, izhikevich), run through the engine.

Every model is compared step for step with an independent float64 NumPy implementation of its
integration scheme written here, and checked against analytic solutions (LIF sub-threshold
relaxation, PSP shape and interspike interval, which exact integration reproduces at the grid
points), against fine-step Runge-Kutta solutions of the continuous equations (AdEx, Izhikevich:
firing patterns, strong inhibition), and against Brian2's refractoriness and on_pre schedule
(the references below follow Brian2's definitions: ``timestep(t, dt) = int((t + 1e-3 dt)/dt)``,
v written only while not refractory). One Simulation per model family is compiled once (module
fixtures) and shared by the tests.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spark_snn.components.adex import EXP_ARG_MAX, AdEx, exp_current
from spark_snn.components.base import Ctx
from spark_snn.engine import Graph, Node, Simulation, validate

DT = 0.1


def _arr(x, n):
    return np.broadcast_to(np.asarray(x, np.float64), (n,))


# --- Brian2's refractoriness (brian2/groups/neurongroup.py, core/functions.py) -------------------

def b2_timestep(t, dt):
    """Brian2's timestep(t, dt): int((t + 1e-3 dt) / dt)."""
    return int((t + 1e-3 * dt) / dt)


def b2_not_refractory(step, lastspike, t_ref, dt):
    """Brian2's not_refractory at the start of ``step``: t = step dt, lastspike in ms."""
    return b2_timestep(step * dt - lastspike, dt) >= b2_timestep(t_ref, dt)


# --- float64 NumPy references (one neuron, per-step input arrays) --------------------------------

def psc_gain(tau_m, tau, dt=DT):
    """Exact response of v at the end of a step to a unit exponential current at its start."""
    return tau / (tau - tau_m) * (math.exp(-dt / tau) - math.exp(-dt / tau_m))


def lif_ref(n, current, *, v_rest=-65.0, v_reset=-65.0, v_th=-50.0, tau_m=20.0, t_ref=2.0,
            tau_syn=5.0, syn=0.0, jump=0.0, tau_w=None, b=0.0, dt=DT):
    """LIF (and, with tau_w, adaptive LIF), exact integration, Brian2's schedule: a step is
    Brian2's update, threshold and reset, preceded by the previous step's on_pre (syn, jump).
    Returns spike steps, v trace, w trace."""
    cur, syn, jump = _arr(current, n), _arr(syn, n), _arr(jump, n)
    e_m, e_s = math.exp(-dt / tau_m), math.exp(-dt / tau_syn)
    k_s = psc_gain(tau_m, tau_syn, dt)
    e_w, k_w = (math.exp(-dt / tau_w), psc_gain(tau_m, tau_w, dt)) if tau_w else (1.0, 0.0)
    v, i_syn, w, lastspike = v_rest, 0.0, 0.0, -1e7
    nr_prev = True  # Brian2's not_refractory during the previous step's on_pre
    vs, ws, spikes = np.empty(n), np.empty(n), []
    for t in range(n):
        i_syn += syn[t]
        if nr_prev:
            v += jump[t]
        nr = b2_not_refractory(t, lastspike, t_ref, dt)
        if nr:
            v_inf = v_rest + cur[t]
            v = v_inf + (v - v_inf) * e_m + i_syn * k_s - w * k_w
        i_syn *= e_s
        w *= e_w
        fired = nr and v > v_th
        if fired:
            v, lastspike = v_reset, t * dt
            w += b
            spikes.append(t)
        nr_prev = nr and not fired
        vs[t], ws[t] = v, w
    return np.array(spikes), vs, ws


def adex_ref(n, current, *, v_rest, v_reset, v_th, delta_t, v_peak, tau_m, a, tau_w, b,
             t_ref=0.0):
    """AdEx in mV units, exponential Euler as documented in components/adex.py."""
    cur = _arr(current, n)
    e_m, e_w = math.exp(-DT / tau_m), math.exp(-DT / tau_w)
    v, w, lastspike = v_rest, 0.0, -1e7
    vs, ws, spikes = np.empty(n), np.empty(n), []
    for t in range(n):
        nr = b2_not_refractory(t, lastspike, t_ref, DT)
        expo = delta_t * math.exp(min((v - v_th) / delta_t, EXP_ARG_MAX))
        v_inf = v_rest + expo - w + cur[t]
        w_inf = a * (v - v_rest)
        v_new = v_inf + (v - v_inf) * e_m if nr else v
        w = w_inf + (w - w_inf) * e_w
        if nr and v_new > v_peak:
            v_new, lastspike = v_reset, t * DT
            w += b
            spikes.append(t)
        v = v_new
        vs[t], ws[t] = v, w
    return np.array(spikes), vs, ws


def rk4(f, y, h, n, reset=None):
    """n classical Runge-Kutta steps of dy/dt = f(y) (a tuple of floats) from y; ``reset(y)``
    returns (y, spiked) after each step. Returns (trajectory at every step, spike times)."""
    traj, spikes = [], []
    for k in range(n):
        k1 = f(y)
        k2 = f(tuple(a + h / 2 * b for a, b in zip(y, k1)))
        k3 = f(tuple(a + h / 2 * b for a, b in zip(y, k2)))
        k4 = f(tuple(a + h * b for a, b in zip(y, k3)))
        y = tuple(a + h / 6 * (p + 2 * q + 2 * r + s)
                  for a, p, q, r, s in zip(y, k1, k2, k3, k4))
        if reset is not None:
            y, spiked = reset(y)
            if spiked:
                spikes.append((k + 1) * h)
        traj.append(y)
    return traj, np.array(spikes)


def izh_rk4(t_end, h, current, a, b, c, d, v0=-65.0, u0=None, v_peak=30.0):
    """The continuous Izhikevich model by RK4 at step h: ([(v, u) after every step], spike
    times). Written out for plain floats (the generic ``rk4`` is slow for 10^5 steps)."""
    v, u = v0, (b * v0 if u0 is None else u0)
    traj, spikes = [], []
    for k in range(int(round(t_end / h))):
        f1, g1 = 0.04 * v * v + 5.0 * v + 140.0 - u + current, a * (b * v - u)
        v2, u2 = v + h / 2 * f1, u + h / 2 * g1
        f2, g2 = 0.04 * v2 * v2 + 5.0 * v2 + 140.0 - u2 + current, a * (b * v2 - u2)
        v3, u3 = v + h / 2 * f2, u + h / 2 * g2
        f3, g3 = 0.04 * v3 * v3 + 5.0 * v3 + 140.0 - u3 + current, a * (b * v3 - u3)
        v4, u4 = v + h * f3, u + h * g3
        f4, g4 = 0.04 * v4 * v4 + 5.0 * v4 + 140.0 - u4 + current, a * (b * v4 - u4)
        v += h / 6 * (f1 + 2 * f2 + 2 * f3 + f4)
        u += h / 6 * (g1 + 2 * g2 + 2 * g3 + g4)
        if v >= v_peak:
            v, u = c, u + d
            spikes.append((k + 1) * h)
        traj.append((v, u))
    return traj, np.array(spikes)


def spike_steps(rec, name):
    return np.flatnonzero(rec[name][:, 0])


# --- LIF ---------------------------------------------------------------------------------------

LIF_STEPS = 3000
LIF_B = dict(v_rest=-60.0, v_reset=-70.0, v_th=-50.0, tau_m=15.0, t_ref=3.0)
SRC_SPIKE_STEP_MAX = 80   # the source neuron fires once, at step 71 (I = 50 for 8 ms)
JUMPS = {"tj": (3.0, 5), "tj15": (15.05, 1), "tj16": (16.0, 1), "tj16d": (16.0, 5)}  # w, delay
SYN_W, SYN_DELAY = 4.0, 1


@pytest.fixture(scope="module")
def lif_run():
    g = Graph()
    g.add_node(Node("I20", "current_source", {"size": 1, "amplitude": 20.0}))
    g.add_node(Node("I25", "current_source", {"size": 1, "amplitude": 25.0}))
    g.add_node(Node("I10", "current_source", {"size": 1, "amplitude": 10.0}))
    g.add_node(Node("pulse", "current_source",
                    {"size": 1, "amplitude": 50.0, "mode": "step", "t_off": 8.0}))
    g.add_node(Node("a", "lif", {"size": 1}))
    g.add_node(Node("b", "lif", {"size": 1, **LIF_B}))
    g.add_node(Node("sub", "lif", {"size": 1}))
    g.add_node(Node("fast", "lif", {"size": 1, "tau_m": 0.05}))  # tau_m below dt
    g.add_node(Node("src", "lif", {"size": 1}))
    for tid, (w, d) in JUMPS.items():
        g.add_node(Node(f"p_{tid}", "projection", {"connectivity": "one_to_one", "weight": w,
                                                   "delay_steps": d}))
        g.add_node(Node(tid, "lif", {"size": 1}))
        g.connect("src.spikes", f"p_{tid}.pre")
        g.connect(f"p_{tid}.events", f"{tid}.jump")
    g.add_node(Node("ps", "projection", {"connectivity": "one_to_one", "weight": SYN_W,
                                         "delay_steps": SYN_DELAY}))
    g.add_node(Node("ts", "lif", {"size": 1}))
    g.connect("I20.current", "a.current")
    g.connect("I25.current", "b.current")
    g.connect("I10.current", "sub.current")
    g.connect("I10.current", "fast.current")
    g.connect("pulse.current", "src.current")
    g.connect("src.spikes", "ps.pre")
    g.connect("ps.events", "ts.syn")
    assert validate(g) == []
    rec = [f"{n}.{p}" for n in ("a", "b", "sub", "fast", "src", "ts", *JUMPS)
           for p in ("spikes", "v")]
    sim = Simulation(g, dtype="float64", record=rec)
    return sim.advance(LIF_STEPS, chunk=LIF_STEPS)


@pytest.mark.parametrize("node,drive,params", [("a", 20.0, {}), ("b", 25.0, LIF_B)])
def test_lif_spike_steps_match_numpy_reference(lif_run, node, drive, params):
    ref_spikes, ref_v, _ = lif_ref(LIF_STEPS, drive, **params)
    got = spike_steps(lif_run, f"{node}.spikes")
    assert len(got) >= 9
    np.testing.assert_array_equal(got, ref_spikes)
    np.testing.assert_allclose(lif_run[f"{node}.v"][:, 0], ref_v, rtol=0, atol=1e-9)


@pytest.mark.parametrize("node,drive,params", [("a", 20.0, {}), ("b", 25.0, LIF_B)])
def test_lif_isi_matches_analytic(lif_run, node, drive, params):
    p = {"v_rest": -65.0, "v_reset": -65.0, "v_th": -50.0, "tau_m": 20.0, "t_ref": 2.0, **params}
    n_ref = b2_timestep(p["t_ref"], DT)
    isi = np.diff(spike_steps(lif_run, f"{node}.spikes")) * DT
    assert np.ptp(isi) == pytest.approx(0.0, abs=1e-9)  # perfectly periodic
    # continuous time: t_ref + T, T = tau_m ln((I - (v_reset - v_rest)) / (I - (v_th - v_rest)))
    T = p["tau_m"] * math.log((drive - (p["v_reset"] - p["v_rest"]))
                              / (drive - (p["v_th"] - p["v_rest"])))
    # exact integration: v is held for n_ref - 1 steps, then after k integrating steps
    # v_k - v_inf = (v_reset - v_inf) exp(-k dt/tau_m), the exact solution at the grid points,
    # so the spike is at the first grid point after T: k = floor(T/dt) + 1
    k = math.floor(T / DT) + 1
    assert isi[0] == pytest.approx((n_ref - 1 + k) * DT, abs=1e-9)
    # a: 20 ln 4 + 2 = 29.726 ms, measured 29.7; b: 15 ln(35/15) + 3 = 15.709 ms, measured 15.7
    assert abs(isi[0] - (p["t_ref"] + T)) <= DT


@pytest.mark.parametrize("node,v_reset,t_ref", [("a", -65.0, 2.0), ("b", -70.0, 3.0)])
def test_lif_refractory_clamp(lif_run, node, v_reset, t_ref):
    n_ref = b2_timestep(t_ref, DT)
    v = lif_run[f"{node}.v"][:, 0]
    for s in spike_steps(lif_run, f"{node}.spikes")[:-1]:
        # the spike step itself shows v_reset, then exactly n_ref - 1 frozen steps follow
        assert np.all(v[s:s + n_ref] == v_reset)
        assert v[s + n_ref] > v_reset


def test_lif_below_threshold_settles_at_rest_plus_drive(lif_run):
    assert not lif_run["sub.spikes"].any()
    v = lif_run["sub.v"][:, 0]
    t = np.arange(1, LIF_STEPS + 1) * DT  # v after step k is v at time (k + 1) dt
    # analytic solution of tau dv/dt = v_rest - v + I from v_rest
    np.testing.assert_allclose(v, -65.0 + 10.0 * (1.0 - np.exp(-t / 20.0)), rtol=0, atol=1e-9)
    assert v[-1] == pytest.approx(-55.0, abs=1e-5)


def test_lif_with_tau_m_below_dt_is_exact_and_silent(lif_run):
    # forward Euler at dt = 2 tau_m oscillated and fired at 500 Hz; the exact step relaxes to
    # v_rest + I = -55 mV (below the threshold, -50 mV) and the neuron never fires
    assert not lif_run["fast.spikes"].any()
    v = lif_run["fast.v"][:, 0]
    t = np.arange(1, LIF_STEPS + 1) * DT
    np.testing.assert_allclose(v, -65.0 + 10.0 * (1.0 - np.exp(-t / 0.05)), rtol=0, atol=1e-9)
    assert np.all(v <= -55.0) and v[-1] == -55.0


def test_lif_jump_timing_follows_brian2_schedule(lif_run):
    (s0,) = spike_steps(lif_run, "src.spikes")
    assert s0 < SRC_SPIKE_STEP_MAX
    e_m = math.exp(-DT / 20.0)
    for tid, (w, d) in JUMPS.items():
        t_a = s0 + d      # the step the jump arrives: added to v before that step's update
        v = lif_run[f"{tid}.v"][:, 0]
        assert np.all(v[:t_a] == -65.0), tid
        fired = spike_steps(lif_run, f"{tid}.spikes")
        if -65.0 + w * e_m > -50.0:   # above threshold after the step's decay: fires at t_a
            np.testing.assert_array_equal(fired, [t_a], err_msg=tid)
        else:                          # 15.05 mV: -50.025 mV after the step, no spike (Brian2)
            assert fired.size == 0, tid
            assert v[t_a] == pytest.approx(-65.0 + w * e_m, abs=1e-12)
            assert v[t_a + 1] == pytest.approx(-65.0 + w * e_m ** 2, abs=1e-12)


def test_lif_syn_gives_the_exact_exponential_current_psp(lif_run):
    (s0,) = spike_steps(lif_run, "src.spikes")
    t_a = s0 + SYN_DELAY
    syn = np.zeros(LIF_STEPS)
    syn[t_a] = SYN_W
    _, ref_v, _ = lif_ref(LIF_STEPS, 0.0, syn=syn)
    v = lif_run["ts.v"][:, 0]
    np.testing.assert_allclose(v, ref_v, atol=1e-12)
    # continuous PSP of a current w e^{-t/ts} arriving at the start of step t_a:
    # x(t) = w ts/(ts - tm) (e^{-t/ts} - e^{-t/tm}); v after step t_a + k is x((k + 1) dt)
    tm, ts = 20.0, 5.0
    t = (np.arange(t_a, LIF_STEPS) - t_a + 1) * DT
    x = SYN_W * ts / (ts - tm) * (np.exp(-t / ts) - np.exp(-t / tm))
    assert np.all(v[:t_a] == -65.0)
    np.testing.assert_allclose(v[t_a:] + 65.0, x, rtol=0, atol=1e-12)
    # peak 0.15749 w at 9.242 ms
    t_pk = math.log(tm / ts) * tm * ts / (tm - ts)
    assert abs((int(np.argmax(v)) - t_a + 1) * DT - t_pk) <= DT


# --- jumps, refractoriness and the reset (Brian2's conditional write of v) -----------------------

PHASE_DELAYS = (1, 2, 19, 20, 21, 22, 25)


@pytest.fixture(scope="module")
def phase_run():
    """A source and targets with the same drive fire in phase; the source's jumps reach each
    target d steps after its own spike (t_ref 2 ms: 20 refractory steps)."""
    g = Graph()
    g.add_node(Node("I", "current_source", {"size": 1, "amplitude": 20.0}))
    g.add_node(Node("src", "lif", {"size": 1}))
    g.connect("I.current", "src.current")
    for d in PHASE_DELAYS:
        g.add_node(Node(f"p{d}", "projection", {"connectivity": "one_to_one", "weight": 2.0,
                                                "delay_steps": d}))
        g.add_node(Node(f"t{d}", "lif", {"size": 1}))
        g.connect("I.current", f"t{d}.current")
        g.connect("src.spikes", f"p{d}.pre")
        g.connect(f"p{d}.events", f"t{d}.jump")
    rec = ["src.spikes"] + [f"t{d}.{p}" for d in PHASE_DELAYS for p in ("spikes", "v")]
    return Simulation(g, dtype="float64", record=rec).advance(2000, chunk=1000)


@pytest.mark.parametrize("d", PHASE_DELAYS)
def test_jumps_during_the_spike_step_and_refractoriness_are_discarded(phase_run, d):
    src = spike_steps(phase_run, "src.spikes")
    jump = np.zeros(2000)
    jump[src[src + d < 2000] + d] = 2.0
    ref_s, ref_v, _ = lif_ref(2000, 20.0, jump=jump)
    np.testing.assert_array_equal(spike_steps(phase_run, f"t{d}.spikes"), ref_s)
    np.testing.assert_allclose(phase_run[f"t{d}.v"][:, 0], ref_v, rtol=0, atol=1e-9)
    lost = d <= 20   # arrives at s + d with the target's spike at s: lost up to s + n_ref
    assert np.array_equal(ref_s, src) == lost


# --- refractoriness: Brian2's step count for any t_ref -------------------------------------------

REFRACTORY = {0.1: {0.15: 1, 0.3: 3, 0.25: 2, 0.2998: 2, 0.29999: 3, 0.7: 7, 2.0: 20, 0.05: 0,
                    0.0: 0},
              1.0: {1.5: 1, 2.0: 2, 0.999: 1, 3.0: 3, 2.5: 2}}
REF_STEPS = 200


@pytest.fixture(scope="module", params=sorted(REFRACTORY))
def refractory_run(request):
    """Neurons that fire whenever they may (tau_m 0.01 ms, drive far above threshold)."""
    dt = request.param
    g = Graph(settings={"dt": dt, "seed": 0, "dtype": "float64"})
    g.add_node(Node("I", "current_source", {"size": 1, "amplitude": 20.0}))
    g.add_node(Node("IA", "current_source", {"size": 1, "amplitude": 100.0}))
    names = []
    for i, t_ref in enumerate(REFRACTORY[dt]):
        for typ, extra, drive in (("lif", {}, "I"), ("alif", {"b": 0.0}, "I"),
                                  ("adex", {"a": 0.0, "b": 0.0}, "IA")):
            nid = f"{typ}{i}"
            g.add_node(Node(nid, typ, {"size": 1, "tau_m": 0.01, "t_ref": t_ref, **extra}))
            g.connect(f"{drive}.current", f"{nid}.current")
            names.append((nid, t_ref))
    r = Simulation(g, record=[f"{n}.spikes" for n, _ in names]).advance(REF_STEPS, chunk=50)
    return dt, names, r


def test_refractory_steps_follow_brian2(refractory_run):
    dt, names, r = refractory_run
    for nid, t_ref in names:
        n_ref = REFRACTORY[dt][t_ref]
        assert n_ref == b2_timestep(t_ref, dt)  # the table is Brian2's rule
        # the spike at s blocks steps s+1 .. s+n_ref-1; the next spike is at s + max(n_ref, 1)
        got = spike_steps(r, f"{nid}.spikes")
        np.testing.assert_array_equal(got, np.arange(0, REF_STEPS, max(n_ref, 1)), err_msg=nid)
    # t_ref 1.5 ms at dt 1 ms: 1000 Hz as in Brian2 (round-half-even gave 2 steps: 500 Hz)
    if dt == 1.0:
        nid = next(n for n, t in names if t == 1.5 and n.startswith("lif"))
        assert r[f"{nid}.spikes"].sum() / (REF_STEPS * dt / 1000.0) == 1000.0


# --- ALIF --------------------------------------------------------------------------------------

ALIF_STEPS = 5000
ALIF_P = dict(tau_w=100.0, b=2.0)


@pytest.fixture(scope="module")
def alif_run():
    g = Graph()
    g.add_node(Node("I", "current_source", {"size": 1, "amplitude": 30.0}))
    g.add_node(Node("ad", "alif", {"size": 1, **ALIF_P}))
    g.add_node(Node("nb", "alif", {"size": 1, "b": 0.0}))
    g.add_node(Node("lif", "lif", {"size": 1}))
    for n in ("ad", "nb", "lif"):
        g.connect("I.current", f"{n}.current")
    sim = Simulation(g, dtype="float64",
                     record=["ad.spikes", "ad.v", "ad.w", "nb.spikes", "nb.w", "lif.spikes"])
    return sim.advance(ALIF_STEPS, chunk=ALIF_STEPS)


def test_alif_matches_numpy_reference(alif_run):
    ref_s, ref_v, ref_w = lif_ref(ALIF_STEPS, 30.0, **ALIF_P)
    np.testing.assert_array_equal(spike_steps(alif_run, "ad.spikes"), ref_s)
    np.testing.assert_allclose(alif_run["ad.v"][:, 0], ref_v, atol=1e-9)
    np.testing.assert_allclose(alif_run["ad.w"][:, 0], ref_w, atol=1e-9)


def test_alif_isis_lengthen_and_converge(alif_run):
    s = spike_steps(alif_run, "ad.spikes")
    isi = np.diff(s) * DT
    assert len(isi) >= 15
    assert np.all(np.diff(isi) >= -1e-9)               # never shorter than the previous one
    assert isi[-1] / isi[0] > 1.3
    assert abs(isi[-1] - isi[-2]) <= DT + 1e-9        # converged
    lif_isi = np.diff(spike_steps(alif_run, "lif.spikes")) * DT
    assert isi[0] > lif_isi[0]                         # w from the first spike slows the second
    # periodic fixed point of w just after a spike: w* = b / (1 - exp(-n_isi dt/tau_w))
    n_isi = s[-1] - s[-2]
    w_star = ALIF_P["b"] / (1.0 - math.exp(-n_isi * DT / ALIF_P["tau_w"]))
    assert alif_run["ad.w"][s[-1], 0] == pytest.approx(w_star, rel=0.01)


def test_alif_without_adaptation_is_lif(alif_run):
    np.testing.assert_array_equal(spike_steps(alif_run, "nb.spikes"),
                                  spike_steps(alif_run, "lif.spikes"))
    assert not alif_run["nb.w"].any()


# --- AdEx --------------------------------------------------------------------------------------

ADEX_STEPS = 3000


@pytest.fixture(scope="module")
def adex_run():
    g = Graph()
    g.add_node(Node("I30", "current_source", {"size": 1, "amplitude": 30.0}))
    g.add_node(Node("I50", "current_source", {"size": 1, "amplitude": 50.0}))
    g.add_node(Node("rs", "adex", {"size": 1}))
    g.add_node(Node("rr", "adex", {"size": 1, "t_ref": 2.0, "v_reset": -70.6}))
    g.connect("I30.current", "rs.current")
    g.connect("I50.current", "rr.current")
    sim = Simulation(g, dtype="float64", record=["rs.spikes", "rs.v", "rs.w", "rr.spikes",
                                                  "rr.v", "rr.w"])
    return sim.advance(ADEX_STEPS, chunk=ADEX_STEPS)


def _adex_defaults(**over):
    d = {p.name: p.default for p in AdEx.params}
    d.update(over)
    return dict(v_rest=d["v_rest"], v_reset=d["v_reset"], v_th=d["v_th"], delta_t=d["delta_T"],
                v_peak=d["v_peak"], tau_m=d["tau_m"], a=d["a"], tau_w=d["tau_w"], b=d["b"],
                t_ref=d["t_ref"])


@pytest.mark.parametrize("node,drive,over", [("rs", 30.0, {}),
                                             ("rr", 50.0, {"t_ref": 2.0, "v_reset": -70.6})])
def test_adex_matches_numpy_reference(adex_run, node, drive, over):
    ref_s, ref_v, ref_w = adex_ref(ADEX_STEPS, drive, **_adex_defaults(**over))
    got = spike_steps(adex_run, f"{node}.spikes")
    assert len(got) >= 8
    np.testing.assert_array_equal(got, ref_s)
    np.testing.assert_allclose(adex_run[f"{node}.v"][:, 0], ref_v, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(adex_run[f"{node}.w"][:, 0], ref_w, rtol=1e-9, atol=1e-9)


def adex_rk4(t_end, h, current, *, v_rest, v_reset, v_th, delta_t, v_peak, tau_m, a, tau_w,
             b, t_ref=0.0):
    """The continuous AdEx by RK4 at step h (no refractoriness); V is capped at v_peak inside
    the right-hand side so that the stages of the step that crosses v_peak stay finite."""
    def f(y):
        v, w = min(y[0], v_peak), y[1]
        expo = delta_t * math.exp((v - v_th) / delta_t)
        return ((-(v - v_rest) + expo - w + current) / tau_m, (a * (v - v_rest) - w) / tau_w)

    def reset(y):
        return ((v_reset, y[1] + b), True) if y[0] > v_peak else (y, False)
    return rk4(f, (v_rest, 0.0), h, int(round(t_end / h)), reset)


def test_adex_default_cell_matches_the_continuous_model(adex_run):
    _, ref = adex_rk4(ADEX_STEPS * DT, 0.01, 30.0, **_adex_defaults())
    got = (spike_steps(adex_run, "rs.spikes") + 1) * DT
    assert len(got) == len(ref) == 9
    # RK4 at dt/10: ISIs 12.3, 15.7, 20.9, 28.5, 37.2, 43.2, 45.5, 46.2 ms; exponential Euler
    # at dt = 0.1 ms is 0.3-0.5 ms late per interval (the exponential term is held over a step)
    isi, ref_isi = np.diff(got), np.diff(ref)
    assert np.all(np.abs(isi - ref_isi) <= 0.6)
    assert np.all(np.diff(isi) > 0) and isi[-1] / isi[0] > 3.0   # adapting
    assert abs(got[0] - ref[0]) <= 0.6


def test_adex_refuses_a_dt_at_which_v_and_w_would_oscillate_apart():
    over = {"a": 20.0, "tau_w": 10.0}
    g = Graph(settings={"dt": 5.0})
    g.add_node(Node("pool", "adex", {"size": 1, **over}))
    (prob,) = validate(g)
    assert prob.node == "pool" and prob.param == "a" and prob.severity == "error"
    assert "dt below 0.96 ms" in prob.message, prob.message
    g.settings["dt"] = 0.9
    assert validate(g) == []
    # the claim is real: a deviation from rest grows at dt = 5 ms and dies out at 0.9 ms
    for dt, grows in ((5.0, True), (0.9, False)):
        comp = AdEx({**AdEx.defaults(), "size": 1, **over}, {}, dt, np.dtype("float64"))
        with jax.enable_x64(True):
            p = {k: jnp.asarray(v) for k, v in comp.live_params().items()}
            p = {**p, **comp.prepare(p)}
            _, s = comp.init(None, np.random.default_rng(0))
            s = {k: jnp.asarray(v) for k, v in s.items()}
            zero = {k: jnp.zeros(1, jnp.float64) for k in ("current", "syn", "jump")}
            for _ in range(400):   # settle at rest
                s, _o = comp.step(p, s, zero, Ctx(0, dt, None, {}))
            rest = float(s["v"][0])
            s = {**s, "v": s["v"] + 0.5}
            for _ in range(40):
                s, _o = comp.step(p, s, zero, Ctx(0, dt, None, {}))
        assert (abs(float(s["v"][0]) - rest) > 0.5) == grows, dt


def test_adex_refractory_holds_reset(adex_run):
    v = adex_run["rr.v"][:, 0]
    for s in spike_steps(adex_run, "rr.spikes")[:-1]:
        assert np.all(v[s:s + 20] == -70.6) and v[s + 20] > -70.6


def test_adex_exponential_is_clipped():
    big = np.array([-70.0, 1e4, 1e30], np.float32)
    out = np.asarray(exp_current(big, np.float32(-50.0), np.float32(0.5)))
    assert np.all(np.isfinite(out))
    assert out[1] == out[2] == pytest.approx(0.5 * math.exp(EXP_ARG_MAX), rel=1e-5)
    assert out[0] == pytest.approx(0.5 * math.exp(-40.0), rel=1e-5)


@pytest.mark.parametrize("t_ref,period", [(0.0, 1), (1.0, 10)])
def test_adex_huge_input_stays_finite(t_ref, period):
    n = 200
    g = Graph()
    g.add_node(Node("I", "current_source", {"size": 2, "amplitude": 1e30}))
    g.add_node(Node("x", "adex", {"size": 2, "t_ref": t_ref, "v_peak": 100.0,
                                  "delta_T": 0.5}))
    g.connect("I.current", "x.current")
    sim = Simulation(g, record=["x.spikes", "x.v", "x.w"])  # float32, checks finiteness
    r = sim.advance(n, chunk=n)
    assert np.all(np.isfinite(r["x.v"])) and np.all(np.isfinite(r["x.w"]))
    assert np.all(r["x.v"] <= 100.0)
    np.testing.assert_array_equal(np.flatnonzero(r["x.spikes"][:, 0]), np.arange(0, n, period))


# --- Izhikevich --------------------------------------------------------------------------------

IZH_STEPS = 5000   # 500 ms with I = 10 from step 0
IZH = {"regular_spiking": (0.02, 0.2, -65.0, 8.0), "fast_spiking": (0.1, 0.2, -65.0, 2.0),
       "intrinsically_bursting": (0.02, 0.2, -55.0, 4.0), "chattering": (0.02, 0.2, -50.0, 2.0)}


@pytest.fixture(scope="module")
def izh_run():
    g = Graph()
    g.add_node(Node("I", "current_source", {"size": 1, "amplitude": 10.0}))
    for name in IZH:
        g.add_node(Node(name, "izhikevich", {"size": 1, "preset": name}))
        g.connect("I.current", f"{name}.current")
    g.add_node(Node("custom", "izhikevich", {"size": 1, "preset": "custom"}))  # RS values
    g.connect("I.current", "custom.current")
    rec = [f"{n}.{p}" for n in (*IZH, "custom") for p in ("spikes", "v", "u")]
    sim = Simulation(g, dtype="float64", record=rec)
    first = sim.advance(IZH_STEPS, chunk=IZH_STEPS)
    # live edit of the custom node to the chattering values, then the same run again
    sim.set_param("custom", "c", -50.0)
    sim.set_param("custom", "d", 2.0)
    sim.reset()
    second = sim.advance(IZH_STEPS, chunk=IZH_STEPS)
    return first, second


def izh_step_exact(v0, u0, current, a, b, h=DT, n=500):
    """One step of the scheme's v equation solved independently: RK4 with n sub-steps of
    dv/dt = 0.04 v^2 + 5 v + 140 - u0 + I (u held), and u's exponential-Euler update."""
    traj, _ = rk4(lambda y: (0.04 * y[0] * y[0] + 5.0 * y[0] + 140.0 - u0 + current,),
                  (v0,), h / n, n)
    return traj[-1][0], b * v0 + (u0 - b * v0) * math.exp(-a * h)


@pytest.mark.parametrize("name", list(IZH))
def test_izhikevich_steps_solve_the_v_equation_exactly(izh_run, name):
    """Every non-spiking step: v is the exact solution of the v equation with u held (checked
    with RK4 on 25 steps spread over the run), u its exponential-Euler update (every step)."""
    run = izh_run[0]
    a, b, c, d = IZH[name]
    v = np.concatenate([[-65.0], run[f"{name}.v"][:, 0]])
    u = np.concatenate([[b * -65.0], run[f"{name}.u"][:, 0]])
    fired = run[f"{name}.spikes"][:, 0]
    u1 = b * v[:-1] + (u[:-1] - b * v[:-1]) * math.exp(-a * DT)
    np.testing.assert_allclose(u[1:], np.where(fired, u1 + d, u1), rtol=1e-12, atol=1e-12)
    assert np.all(v[1:][fired] == c)
    quiet = np.flatnonzero(~fired)
    for k in quiet[np.linspace(0, len(quiet) - 1, 25).astype(int)]:
        v1, _ = izh_step_exact(v[k], u[k], 10.0, a, b)
        assert v[k + 1] == pytest.approx(v1, abs=1e-9), k


@pytest.mark.parametrize("name", list(IZH))
def test_izhikevich_firing_matches_the_continuous_model(izh_run, name):
    """Spike times against RK4 of the continuous model at dt/10: every interspike interval
    within 0.2 ms (two steps: each spike is seen at the end of its step; forward Euler was off
    by up to 0.45 ms, e.g. 7.8 ms instead of 7.35 for the fast-spiking cell)."""
    _, ref = izh_rk4(IZH_STEPS * DT, DT / 10, 10.0, *IZH[name])
    got = (spike_steps(izh_run[0], f"{name}.spikes") + 1) * DT
    assert abs(len(got) - len(ref)) <= 1          # FS: 68 against 69 in 500 ms
    m = min(len(got), len(ref))
    np.testing.assert_allclose(np.diff(got[:m]), np.diff(ref[:m]), rtol=0, atol=0.2 + 1e-9)
    assert abs(got[0] - ref[0]) <= DT


def test_izhikevich_custom_uses_its_own_parameters_and_edits(izh_run):
    first, second = izh_run
    for p in ("spikes", "v", "u"):
        np.testing.assert_array_equal(first[f"custom.{p}"], first[f"regular_spiking.{p}"])
        np.testing.assert_array_equal(second[f"custom.{p}"], first[f"chattering.{p}"])


def test_izhikevich_published_firing_patterns(izh_run):
    """Izhikevich (2003), Fig. 2, with I = 10: the qualitative patterns."""
    run = izh_run[0]
    isi = {n: np.diff(spike_steps(run, f"{n}.spikes")) * DT for n in IZH}
    rs, fs, ib, ch = (isi[n] for n in IZH)
    # regular spiking: tonic, adapting (the first interval is shorter), no bursts
    assert rs[0] / np.median(rs[1:]) < 0.6 and rs.min() > 20.0
    assert np.ptp(rs[1:]) <= 0.2
    # fast spiking: over 5x the RS rate, little adaptation
    assert len(fs) > 5 * len(rs) and fs.max() / fs.min() < 1.8 and 1000.0 / fs[3:].mean() > 120
    # intrinsically bursting: an initial burst of 3 spikes, then single spikes at a steady rate
    np.testing.assert_array_equal(np.flatnonzero(ib < 10.0), [0, 1])
    assert len(ib[3:]) >= 12 and np.ptp(ib[3:]) <= 0.2 and ib[3:].min() / ib[:2].max() > 5
    # chattering: repeated bursts of several spikes, gaps of over 40 ms between them
    short, long_ = ch[ch < 10.0], ch[ch >= 10.0]
    assert short.max() < 6.0 and long_.min() > 40.0
    sizes = [len(x) for x in np.split(np.arange(len(ch) + 1), np.flatnonzero(ch >= 10.0) + 1)]
    assert len(sizes) >= 8 and all(k >= 4 for k in sizes[:-1])


@pytest.mark.parametrize("dt,jump", [(0.5, -100.0), (1.0, -30.0)])
def test_izhikevich_strong_inhibition_does_not_fire(dt, jump):
    """A strong inhibitory jump onto a resting RS cell: the continuous model relaxes back
    without a spike; one forward-Euler step from -165 mV overshot the v^2 term to +43 mV."""
    n = int(round(40.0 / dt))
    g = Graph(settings={"dt": dt, "seed": 0, "dtype": "float64"})
    g.add_node(Node("pulse", "current_source",
                    {"size": 1, "amplitude": 50.0, "mode": "step", "t_off": 8.0}))
    g.add_node(Node("src", "lif", {"size": 1}))
    g.add_node(Node("inh", "projection", {"connectivity": "one_to_one", "weight": -jump,
                                          "sign": "inhibitory", "delay_steps": 1}))
    g.add_node(Node("cell", "izhikevich", {"size": 1}))
    g.connect("pulse.current", "src.current")
    g.connect("src.spikes", "inh.pre")
    g.connect("inh.events", "cell.jump")
    r = Simulation(g, record=["src.spikes", "cell.spikes", "cell.v"]).advance(n, chunk=n)
    (s0,) = spike_steps(r, "src.spikes")
    t_a = s0 + 1                     # the jump is added at the start of step t_a
    assert not r["cell.spikes"].any()
    # reference: RK4 at dt/1000 from the same start, the jump applied at time t_a dt
    a, b, c, d = IZH["regular_spiking"]
    h, per = dt / 1000, 1000
    before, sp1 = izh_rk4(t_a * dt, h, 0.0, a, b, c, d)
    v_a, u_a = before[-1]
    after, sp2 = izh_rk4((n - t_a) * dt, h, 0.0, a, b, c, d, v0=v_a + jump, u0=u_a)
    assert sp1.size == 0 and sp2.size == 0
    ref = np.array([y[0] for y in before[per - 1::per]] + [y[0] for y in after[per - 1::per]])
    v = r["cell.v"][:, 0]
    assert np.min(v) > -65.0 + jump - 10.0     # really hyperpolarised, then back
    np.testing.assert_allclose(v, ref, rtol=0, atol=0.5)


# --- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("typ,params,bad", [
    ("lif", {"tau_m": 0.0}, "tau_m"),
    ("lif", {"tau_m": -5.0}, "tau_m"),
    ("lif", {"v_reset": -50.0}, "v_reset"),
    ("lif", {"tau_syn": 0.0}, "tau_syn"),
    ("alif", {"tau_w": 0.0}, "tau_w"),
    ("alif", {"b": -1.0}, "b"),
    ("alif", {"v_reset": -40.0}, "v_reset"),
    ("alif", {"tau_m": 0.0}, "tau_m"),
    ("adex", {"delta_T": 0.0}, "delta_T"),
    ("adex", {"tau_w": -1.0}, "tau_w"),
    ("adex", {"v_reset": 0.0}, "v_reset"),
    ("adex", {"v_th": 5.0}, "v_th"),
    ("adex", {"tau_m": 0.0}, "tau_m"),
    ("izhikevich", {"preset": "bursting"}, "preset"),
    ("izhikevich", {"preset": "custom", "c": 40.0}, "c"),
    ("izhikevich", {"v_peak": -70.0}, "v_peak"),
    ("izhikevich", {"tau_syn": 0.0}, "tau_syn"),
    ("izhikevich", {"v0": 35.0}, "v0"),
    ("izhikevich", {"a": "fast"}, "a"),
])
def test_bad_parameters_are_refused(typ, params, bad):
    g = Graph()
    g.add_node(Node("pool", typ, {"size": 3, **params}))
    problems = validate(g)
    assert problems, "expected a problem"
    assert all(p.node == "pool" and p.severity == "error" for p in problems), problems
    assert bad in {p.param for p in problems}, problems
    if bad != "v_peak":  # v_peak below the reset also puts v0 above it: two problems
        assert len(problems) == 1, problems


@pytest.mark.parametrize("typ", ["lif", "alif", "adex", "izhikevich"])
def test_default_pools_are_valid(typ):
    g = Graph()
    g.add_node(Node("pool", typ, {"size": 3}))
    assert validate(g) == []
