"""The original Spark's cartpole brain (resources/examples/cartpole_seed.json) and its feedback
node (components/cartpole_feedback.py): the wiring against the numbers of SEED_SPARK.md (typed
here, not read from the file), the feedback against hand-computed cases, and the file loading,
validating, compiling and running."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from spark_snn import engine
from spark_snn.components.cartpole_feedback import CartpoleFeedback
from tests.plastic_reference import run_node

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources" / "examples" / "cartpole_seed.json"
B = 6   # block length of the hand-computed feedback cases


def _fb(**cfg):
    return CartpoleFeedback({**CartpoleFeedback.defaults(), "block_steps": B, **cfg}, {}, 1.0,
                            np.float32)


def _drive(T, events, obs_rows):
    """Inputs for T steps: observation obs_rows(t); events {t: (feedback, length)} put
    done = 1, feedback and episode_length at step t."""
    obs = np.array([obs_rows(t) for t in range(T)], np.float32)
    fb, done, ln = (np.zeros((T, 1), np.float32) for _ in range(3))
    for t, (f, L) in events.items():
        fb[t], done[t], ln[t] = f, 1.0, L
    return {"observation": obs, "feedback": fb, "done": done, "episode_length": ln}


def test_feedback_hand_computed_episode_sequence():
    """Block B = 6. Steps 0-5: prepare (observation 0, modulators 0, hold). Run: the
    observation passes, passive modulator -1e-4 x s with s = 1 (no episode yet), 0.25 x that
    for the inhibitory pools. A failure at step 10 whose last observation (step 9) has theta =
    0.01, theta_dot = 1: the pole ends at 0.03 rad > 0, so B (push right) was correct:
    m_b = +2.5, m_a = -25 at step 10, times e^-2 per step (tau_mod 0.5 ms), the observation of
    step 9 replayed, hold = 1, for steps 10-15; then prepare (16-21); run again from 22. A time
    limit at step 30 (feedback 0): no replay, prepare at once (30-35). A second failure at
    step 40 (replay 40-45, prepare from 46) after episode lengths 7 and 500: with the original's lag the scale still uses the
    average before episode 2, E = 0.2 x 7 = 1.4, s = sqrt(1 - 1.4/500)."""
    T = 50

    def obs(t):
        return [0.1 * t, 0.0, 0.01, 1.0] if t == 9 else [0.1 * t, 0.2, -0.3, 0.4]

    out, st = run_node(_fb(), _drive(T, {10: (-1.0, 7.0), 30: (0.0, 500.0), 40: (-1.0, 9.0)},
                                     obs), T)
    m_a, m_b = out["m_a"][:, 0], out["m_b"][:, 0]
    hold = out["hold"][:, 0]
    prep = [*range(0, 6), *range(16, 22), *range(30, 36), *range(46, 50)]
    replay = list(range(10, 16)) + list(range(40, 46))
    run = [t for t in range(T) if t not in prep + replay]
    assert np.all(hold[prep + replay] == 1.0) and np.all(hold[run] == 0.0)
    assert np.all(out["observation"][prep] == 0.0) and np.all(m_a[prep] == 0.0)
    np.testing.assert_array_equal(out["observation"][run], np.array([obs(t) for t in run], np.float32))
    s2 = math.sqrt(1.0 - 1.4 / 500.0)
    for t in run:   # scale 1 in episodes 1 and 2 (lag), s2 in episode 3 (from step 36)
        s = s2 if t >= 36 else 1.0
        assert m_a[t] == pytest.approx(-1e-4 * s, rel=1e-5) and m_b[t] == m_a[t]
        assert out["m_a_inh"][t, 0] == pytest.approx(0.25 * m_a[t], rel=1e-6)
    for k in range(6):
        d = math.exp(-2.0 * k)
        assert m_b[10 + k] == pytest.approx(2.5 * d, rel=1e-5)
        assert m_a[10 + k] == pytest.approx(-25.0 * d, rel=1e-5)
        assert out["m_b_inh"][10 + k, 0] == pytest.approx(0.25 * 2.5 * d, rel=1e-5)
        np.testing.assert_array_equal(out["observation"][10 + k], np.float32(obs(9)))
    # second failure: last observation (step 39) theta -0.3 + 0.02 x 0.4 < 0: A was correct
    assert m_a[40] == pytest.approx(2.5 * s2, rel=1e-5)
    assert m_b[40] == pytest.approx(-25.0 * s2, rel=1e-5)
    # the average after three episodes: 0.8 (0.8 x 1.4 + 0.2 x 500) + 0.2 x 9
    assert float(st["ema"]) == pytest.approx(0.8 * (0.8 * 1.4 + 100.0) + 1.8, rel=1e-5)


@pytest.mark.parametrize("x, x_dot, theta, b_correct", [
    (2.39, 1.0, 0.001, False),    # off the track on the right, pole upright: push left
    (-2.39, -1.0, 0.001, True),   # off on the left, upright: push right
    (2.39, 1.0, 0.05, True),      # off on the right but the pole leans right (0.05/0.2095 =
                                  # 0.24 > 0.05): the side it falls to
    (0.0, 0.0, -0.21, False),     # pole fell left
])
def test_feedback_correct_side(x, x_dot, theta, b_correct):
    """The side chosen from the failing state (one Euler step of 0.02 s after the last
    observation): off the track with |theta / 0.2095| < 0.05 -> towards the centre, else the
    side the pole fell to; the correct pool gets +2.5, the other -25."""
    out, _ = run_node(_fb(prepare=False), _drive(
        3, {2: (-1.0, 10.0)}, lambda t: [x, x_dot, theta, 0.0]), 3)
    good, bad = (out["m_b"], out["m_a"]) if b_correct else (out["m_a"], out["m_b"])
    assert good[2, 0] == pytest.approx(2.5) and bad[2, 0] == pytest.approx(-25.0)


def test_feedback_without_lag_uses_the_newest_average():
    """lagged_scale off: after an episode of 250 steps E = 50, so the next passive modulator
    is -1e-4 sqrt(1 - 50/500)."""
    out, _ = run_node(_fb(prepare=False, lagged_scale=False),
                      _drive(5, {1: (0.0, 250.0)}, lambda t: [0.0] * 4), 5)
    assert out["m_a"][4, 0] == pytest.approx(-1e-4 * math.sqrt(0.9), rel=1e-5)


# --- the example file --------------------------------------------------------------------------

# SEED_SPARK.md, "The cartpole brain" (typed here, not taken from the generator)
POOLS = {"a_exc": (256, 10.0, 2.0, 50.0, 5.0, 1.0, 6.0),    # size, tau, cool-down, delta_theta,
         "b_exc": (256, 10.0, 2.0, 50.0, 5.0, 1.0, 6.0),    # synapse tau, R, weights U[0, w]
         "a_inh": (64, 20.0, 1.0, 20.0, 10.0, 2.0, 1.0),
         "b_inh": (64, 20.0, 1.0, 20.0, 10.0, 1.0, 1.0)}
WIRING = {("encoder", p) for p in POOLS} | {
    ("a_exc", "a_exc"), ("a_exc", "a_inh"), ("b_exc", "b_exc"), ("b_exc", "b_inh"),
    ("a_inh", "b_exc"), ("b_inh", "a_exc")}
QUAD = {"tau_pre": [10.753, 15.152, 10.417, 76.923], "tau_post": [14.085, 27.027, 16.129, 12.821],
        "alpha": [1.207, 1.037, -1.152, -1.336], "beta": [-1.298, -1.205, 1.639, 1.057],
        "gamma": [0.398, 1.589, 1.790, -1.173], "delta": [-0.750, 0.408, -1.666, 1.557],
        "max_clip": [50.0, 50.0, 100.0, 100.0]}


@pytest.fixture(scope="module")
def graph():
    return engine.load(EXAMPLE)


def _params(graph, node):
    n = graph.nodes[node]
    cls = engine.registry().get(n.type)
    return {**cls.defaults(), **n.params}


def _edges(graph):
    return {(e.src.split(".")[0], e.src.split(".")[1], e.dst.split(".")[0], e.dst.split(".")[1])
            for e in graph.edges}


def test_example_is_what_the_generator_writes(tmp_path):
    import subprocess
    import sys
    out = tmp_path / "g.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_cartpole_seed.py"), str(out)],
                   check=True, cwd=ROOT, capture_output=True)
    assert json.loads(out.read_text()) == json.loads(EXAMPLE.read_text())


def test_encoder_and_time(graph):
    """4 x 128 place cells on a line, sigma 1/32, linear spikers (tau 20 ms, cool-down 2 ms,
    128 Hz) over the observation divided by (2.4, 2.5, 0.2095, 3.5) and clipped to +-1; 50
    steps of 1 ms per environment step."""
    assert graph.settings["dt"] == 1.0
    e = _params(graph, "encoder")
    assert graph.nodes["encoder"].type == "topological_encoder"
    assert e["high"] == [2.4, 2.5, 0.2095, 3.5] and e["low"] == [-2.4, -2.5, -0.2095, -3.5]
    assert (e["resolution"], e["sigma"], e["topology"], e["spiker"]) == (128, 1 / 32, "line", "linear")
    assert (e["tau"], e["cooldown"], e["max_rate"]) == (20.0, 2.0, 128.0)
    assert _params(graph, "cart")["steps_per_env_step"] == 50
    assert _params(graph, "feedback")["block_steps"] == 50
    assert ("feedback", "observation", "encoder", "value") in _edges(graph)


@pytest.mark.parametrize("pool", list(POOLS))
def test_pools(graph, pool):
    """Threshold-adaptive leaky pools: V_rest -60, V_reset -50, theta -40 mV, tau_theta 10 ms,
    the input gated while refractory (the original's cool-down c blocks c + 1 steps: t_ref =
    c + 2 ms here), traced synapses whose current integrates to R x tau per unit weight."""
    size, tau, cool, dth, syn_tau, R, _ = POOLS[pool]
    assert graph.nodes[pool].type == "threshold_lif"
    p = _params(graph, pool)
    assert (p["size"], p["tau_m"], p["delta_theta"], p["tau_theta"]) == (size, tau, dth, 10.0)
    assert (p["v_rest"], p["v_reset"], p["v_th"]) == (-60.0, -50.0, -40.0)
    assert p["refractory"] == "gate" and p["t_ref"] == cool + 2.0
    syn = f"syn_{pool}"
    s = _params(graph, syn)
    assert graph.nodes[syn].type == "traced_synapse"
    assert (s["size"], s["tau"], s["gain"]) == (size, syn_tau, R * syn_tau)
    assert (syn, "current", pool, "current") in _edges(graph)


def test_wiring_and_plasticity(graph):
    """Every input of every pool is a quadruplet projection with the tutorial's parameter
    sets (EE, EI, IE, II), eta 0.1, 15 % connectivity, weights U[0, 6] into the excitatory
    pools and U[0, 1] into the inhibitory ones, per-synapse delays up to 4 ms into the
    excitatory pools; modulated by the feedback node's modulator of its post pool."""
    edges = _edges(graph)
    quads = [n for n, node in graph.nodes.items() if node.type == "quadruplet_projection"]
    found = set()
    for q in quads:
        pre = next(a for a, ap, b, bp in edges if b == q and bp == "pre")
        post = next(b2 for a, ap, b, bp in edges if a == q and ap == "events"
                    for b2 in [b.replace("syn_", "")])
        found.add((pre, post))
        p = _params(graph, q)
        for name, values in QUAD.items():
            assert p[name] == values, (q, name)
        exc_post = post.endswith("_exc")
        w_high = POOLS[post][6]
        assert (p["connectivity"], p["p"], p["eta"]) == ("fixed_probability", 0.15, 0.1)
        assert (p["weight_init"], p["weight"] * (1 - p["weight_spread"]),
                p["weight"] * (1 + p["weight_spread"])) == ("uniform", 0.0, w_high)
        assert p["sign"] == ("inhibitory" if pre.endswith("_inh") else "excitatory")
        assert p["post_sign"] == ("excitatory" if exc_post else "inhibitory")
        assert (p["delay_steps"], p["max_delay_steps"]) == ((1, 4) if exc_post else (1, 1))
        assert (pre, "spikes", q, "pre") in edges and (post, "spikes", q, "post") in edges
        mod = "m_" + post.replace("_exc", "")
        assert ("feedback", mod, q, "modulator") in edges
    assert found == WIRING and len(quads) == 10


def test_readout_and_feedback_wiring(graph):
    """Readout: exponential integrator (rise 5 ms, decay 10 ms, saturation 50 Hz) over A_exc
    (action 0, push left) then B_exc (action 1), argmax; the feedback node gets the cart's
    feedback, done and episode length and holds the cart during its blocks; its parameters are
    the tutorial's (+2.5 / -25, passive -0.0001, 0.25 for inhibitory pools, tau 0.5 ms, EMA
    0.8)."""
    edges = _edges(graph)
    r = _params(graph, "readout")
    assert (r["groups"], r["tau_rise"], r["tau_decay"], r["saturation"]) == (2, 5.0, 10.0, 50.0)
    assert {("a_exc", "spikes", "merge", "a"), ("b_exc", "spikes", "merge", "b"),
            ("merge", "spikes", "readout", "spikes"), ("readout", "value", "act", "value"),
            ("act", "action", "cart", "action"), ("feedback", "hold", "cart", "hold"),
            ("cart", "feedback", "feedback", "feedback"), ("cart", "done", "feedback", "done"),
            ("cart", "episode_length", "feedback", "episode_length")} <= edges
    f = _params(graph, "feedback")
    assert (f["correct"], f["punish"], f["passive"], f["inh_factor"]) == (2.5, -25.0, -0.0001, 0.25)
    assert (f["tau_mod"], f["ema_old"], f["max_length"], f["upright"]) == (0.5, 0.8, 500.0, 0.05)
    assert (f["x_limit"], f["theta_limit"]) == (2.4, 0.2095)


def test_example_validates_compiles_and_runs(graph):
    """Valid; 200 network steps (the 50-step prepare block, then 3 environment steps) run
    with spikes in the excitatory pools; the cart is held during the prepare block; the file
    opens with the cart, a raster of the four pools and a weight matrix."""
    assert engine.validate(graph) == []
    sim = engine.Simulation(graph, record=["a_exc.spikes", "b_exc.spikes", "cart.steps",
                                           "feedback.hold"])
    r = sim.advance(200, chunk=50)
    assert r["a_exc.spikes"].sum() + r["b_exc.spikes"].sum() > 0
    assert np.all(r["feedback.hold"][:50] == 1) and np.all(r["feedback.hold"][50:] == 0)
    # (latched: the step taken at the end of step 99 shows from step 100 on)
    assert r["cart.steps"][99, 0] == 0 and r["cart.steps"][100, 0] == 1
    assert r["cart.steps"][-1, 0] == 2
    panels = graph.meta["monitors"]["panels"]
    kinds = {p["kind"]: p for p in panels}
    assert kinds["environment"]["node"] == "cart" and kinds["weights"]["node"] in graph.nodes
    assert set(kinds["raster"]["nodes"]) == set(POOLS)
