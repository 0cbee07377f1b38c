"""Hand-computed values for the plasticity rules: STDP, three-factor, modulator, TD critic."""
import jax.numpy as jnp
import numpy as np
import pytest

from spark_snn.components.base import Ctx
from spark_snn.components.modulator import Modulator
from spark_snn.components.stdp_projection import STDPProjection
from spark_snn.components.td_critic import TDCritic
from spark_snn.components.three_factor_projection import ThreeFactorProjection

F = np.float32


def make(cls, sizes, **cfg):
    comp = cls({**cls.defaults(), **cfg}, sizes, 1.0, np.dtype("float32"))
    const, state = comp.init(None, np.random.default_rng(0))
    const = {k: jnp.asarray(v) for k, v in const.items()}
    state = {k: jnp.asarray(v) for k, v in state.items()}
    return comp, const, state


def live(comp):
    return {k: jnp.asarray(v) for k, v in comp.live_params().items()}


def run_projection(comp, const, state, seq, mods=None):
    p = live(comp)
    ws, events = [], []
    for t, (pre, post) in enumerate(seq):
        ctx = Ctx(jnp.int32(t), 1.0, None, const)
        events.append(np.asarray(comp.read(p, state, ctx)["events"]))
        inputs = {"pre": jnp.asarray(pre, F), "post": jnp.asarray(post, F)}
        if mods is not None:
            inputs["modulator"] = jnp.asarray([mods[t]], F)
        state = comp.update(p, state, inputs, ctx)
        ws.append(np.asarray(state["w"]))
    return state, ws, events


SEQ = [([1, 0], [0]), ([0, 0], [1]), ([0, 1], [0]), ([0, 0], [0])]


def test_stdp_pair_rule_hand_computed():
    comp, const, state = make(STDPProjection, {"n_pre": 2, "n_post": 1},
                              connectivity="all_to_all", weight=1.0, a_plus=0.1, a_minus=0.2,
                              tau_plus=10.0, tau_minus=10.0, w_min=0.0, w_max=5.0)
    assert state["w"].dtype == jnp.float32
    state, ws, ev = run_projection(comp, const, state, SEQ)
    # step 0: nothing paired; step 1: post spike 1 step after pre 0 -> +0.1 * 0.9
    np.testing.assert_allclose(ws[0][:, 0], [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(ws[1][:, 0], [1.09, 1.0], rtol=1e-6)
    # step 2: pre 1 spikes 1 step after the post spike -> -0.2 * 0.9
    np.testing.assert_allclose(ws[2][:, 0], [1.09, 0.82], rtol=1e-6)
    # transmission with delay 1: pre 0's spike at step 0 arrives at step 1 with w = 1
    np.testing.assert_allclose([e[0] for e in ev], [0.0, 1.0, 0.0, 0.82], rtol=1e-6)


def test_stdp_bounds():
    comp, const, state = make(STDPProjection, {"n_pre": 2, "n_post": 1},
                              connectivity="all_to_all", weight=1.0, a_plus=5.0, a_minus=5.0,
                              tau_plus=10.0, tau_minus=10.0, w_min=0.5, w_max=2.0)
    _, ws, _ = run_projection(comp, const, state, SEQ)
    np.testing.assert_allclose(ws[-1][:, 0], [2.0, 0.5])


def test_three_factor_hand_computed_and_sparsity():
    comp, const, state = make(ThreeFactorProjection, {"n_pre": 2, "n_post": 2},
                              connectivity="one_to_one", weight=1.0, a_plus=0.1, a_minus=0.0,
                              tau_plus=10.0, tau_minus=10.0, tau_e=10.0, lr=2.0,
                              w_min=-5.0, w_max=5.0)
    seq = [([1, 0], [0, 0]), ([0, 0], [1, 1]), ([0, 0], [0, 0]), ([0, 0], [0, 0])]
    state, ws, _ = run_projection(comp, const, state, seq, mods=[0.0, 0.0, 0.5, 0.0])
    eye = np.eye(2, dtype=F)
    np.testing.assert_allclose(ws[1], eye)  # eligible, but no modulator yet
    # e_00 = 0.1 * 0.9 after step 1, decays to 0.081 at step 2: w += 2 * 0.5 * 0.081
    np.testing.assert_allclose(ws[2], np.diag([1.081, 1.0]), rtol=1e-6)
    np.testing.assert_allclose(ws[3], np.diag([1.081, 1.0]), rtol=1e-6)
    e = np.asarray(state["e"])
    np.testing.assert_allclose(e, np.diag([0.081 * 0.9, 0.0]), rtol=1e-6)
    # only existing synapses exist and change (one_to_one: off-diagonal stays 0)
    assert ws[-1][0, 1] == 0.0 and ws[-1][1, 0] == 0.0


def test_modulator_decay():
    comp, const, state = make(Modulator, {}, tau=4.0, gain=2.0)
    p = live(comp)
    out = []
    for t, fb in enumerate([-1.0, 0.0, 0.0, 1.0]):
        state, o = comp.step(p, state, {"feedback": jnp.asarray([fb], F)},
                             Ctx(jnp.int32(t), 1.0, None, const))
        out.append(float(o["m"][0]))
    np.testing.assert_allclose(out, [-2.0, -1.5, -1.125, -0.84375 + 2.0], rtol=1e-6)


def test_td_critic_hand_computed():
    comp, const, state = make(TDCritic, {"n": 2}, window=2.0, gamma=0.5, lam=0.5, lr=0.1)
    p = live(comp)
    feats = [[1, 0], [1, 0], [0, 1], [0, 1], [1, 0], [1, 0]]
    reward = [0, 0, -1, 0, 0, 0]
    done = [0, 0, 1, 0, 0, 0]
    tds = []
    for t in range(6):
        inputs = {"features": jnp.asarray(feats[t], F), "reward": jnp.asarray([reward[t]], F),
                  "done": jnp.asarray([done[t]], F), "truncated": jnp.asarray([0.0], F)}
        state, o = comp.step(p, state, inputs, Ctx(jnp.int32(t), 1.0, None, const))
        tds.append(float(o["td_error"][0]))
    # window 1 (t=2,3): the episode ended: delta = r - p_prev = -1; v += 0.1 * -1 * z, z = [1, 0]
    # window 2 (t=4,5): p = v . [2, 0] = -0.2; delta = 0.5 * -0.2 - 0 = -0.1
    np.testing.assert_allclose(tds, [0, 0, 0, -1.0, 0, -0.1], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(state["v"]), [-0.1, -0.01], rtol=1e-6)


def test_example_graph_builds_and_weights_in_state():
    from spark_snn import engine
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "resources" / "examples" / "cartpole.json"
    g = engine.load(path)
    model = engine.compile_graph(g)
    _, _, state = model.init(0)
    tf = [n for n in g.nodes.values() if n.type == "three_factor_projection"]
    assert len(tf) == 2
    for n in tf:
        w = state["nodes"][n.id]["w"]
        assert w.dtype == jnp.float32 and w.ndim == 2


def test_td_critic_normalized_features_hand_computed():
    # window 2, gamma 0.5, lam 0.5, lr 1; features normalised to sum 1 per window
    def run(normalize):
        comp, const, state = make(TDCritic, {"n": 2}, window=2.0, gamma=0.5, lam=0.5, lr=1.0,
                                  normalize=normalize)
        p = live(comp)
        feats = [[1, 0], [1, 0], [0, 1], [0, 0], [1, 0], [1, 1]]
        reward = [0, 0, -1, 0, 0, 0]
        tds = []
        for t in range(6):
            inputs = {"features": jnp.asarray(feats[t], F),
                      "reward": jnp.asarray([reward[t]], F), "done": jnp.asarray([0.0], F),
                      "truncated": jnp.asarray([0.0], F)}
            state, o = comp.step(p, state, inputs, Ctx(jnp.int32(t), 1.0, None, const))
            tds.append(float(o["td_error"][0]))
        return tds, np.asarray(state["v"])

    # window 0: x = [2, 0] / 2 = [1, 0]; delta 0; z = 0.5 x = [0.5, 0]
    # window 1: x = [0, 1]; delta = -1 + 0.5 * 0 - 0 = -1; v = -1 * z = [-0.5, 0];
    #           z = 0.5 [0.5, 0] + 0.5 [0, 1] = [0.25, 0.5]
    # window 2: counts [2, 1] -> x = [2/3, 1/3]; p = -1/3; delta = 0.5 * -1/3 - 0 = -1/6
    #           v = [-0.5, 0] - 1/6 [0.25, 0.5] = [-0.5416667, -0.0833333]
    tds, v = run(True)
    np.testing.assert_allclose(tds, [0, 0, 0, -1.0, 0, -1 / 6], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(v, [-0.5 - 0.25 / 6, -0.5 / 6], rtol=1e-6)
    # raw counts: z = [1, 0] after window 0, v = [-1, 0]; window 2: p = -2, delta = -1
    tds, v = run(False)
    np.testing.assert_allclose(tds, [0, 0, 0, -1.0, 0, -1.0], rtol=1e-6, atol=1e-7)


def test_td_critic_bootstraps_through_a_truncation():
    """A time-limit truncation is not a terminal state (Gymnasium's terminated vs truncated):
    the critic bootstraps from the episode's last prediction instead of a final value of 0."""
    def run(done, truncated):
        comp, const, state = make(TDCritic, {"n": 2}, window=2.0, gamma=0.5, lam=0.5, lr=1.0,
                                  normalize=True)
        p = live(comp)
        feats = [[1, 0], [1, 0], [0, 1], [0, 1], [1, 0], [1, 0], [0, 1], [0, 1]]
        reward = [0, 0, -1, 0, 0, 0, 0, 0]
        tds = []
        for t in range(8):
            inputs = {"features": jnp.asarray(feats[t], F),
                      "reward": jnp.asarray([reward[t]], F),
                      "done": jnp.asarray([done if t == 6 else 0.0], F),
                      "truncated": jnp.asarray([truncated if t == 6 else 0.0], F)}
            state, o = comp.step(p, state, inputs, Ctx(jnp.int32(t), 1.0, None, const))
            tds.append(float(o["td_error"][0]))
        return tds, np.asarray(state["v"])

    # windows 0-2 (same in all runs): delta 0, then -1 (v = [-0.5, 0], z = [0.25, 0.5]),
    # then p = -0.5, delta = 0.5 * -0.5 = -0.25 (v = [-0.5625, -0.125], z = [0.625, 0.25])
    common = [0, 0, 0, -1.0, 0, -0.25, 0]
    # window 3, the episode ended by its time limit: successor value = the last prediction,
    # delta = 0 + 0.5 * -0.5 - (-0.5) = 0.25; v += 0.25 z
    tds, v = run(1.0, 1.0)
    np.testing.assert_allclose(tds, common + [0.25], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(v, [-0.5625 + 0.25 * 0.625, -0.125 + 0.25 * 0.25], rtol=1e-6)
    # terminated (a failure): final value 0, delta = 0 - (-0.5) = 0.5
    tds, v = run(1.0, 0.0)
    np.testing.assert_allclose(tds, common + [0.5], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(v, [-0.5625 + 0.5 * 0.625, -0.125 + 0.5 * 0.25], rtol=1e-6)
    # no episode end: bootstrap from this window's state [0, 1]: 0.5 * -0.125 + 0.5 = 0.4375
    tds, _ = run(0.0, 0.0)
    np.testing.assert_allclose(tds, common + [0.4375], rtol=1e-6, atol=1e-7)
