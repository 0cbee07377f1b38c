"""Hand-computed values for the actor options of the three-factor projection: the competitive
(rival-centred) eligibility and the windowed eligibility."""
import jax.numpy as jnp
import numpy as np

from spark_snn.components.base import Ctx
from spark_snn.components.three_factor_projection import ThreeFactorProjection

F = np.float32


def make(sizes, **cfg):
    cls = ThreeFactorProjection
    comp = cls({**cls.defaults(), **cfg}, sizes, 1.0, np.dtype("float32"))
    const, state = comp.init(None, np.random.default_rng(0))
    const = {k: jnp.asarray(v) for k, v in const.items()}
    state = {k: jnp.asarray(v) for k, v in state.items()}
    return comp, const, state


def run(comp, const, state, pre, post, rival, mods):
    p = {k: jnp.asarray(v) for k, v in comp.live_params().items()}
    ws, es = [], []
    for t in range(len(pre)):
        ctx = Ctx(jnp.int32(t), 1.0, None, const)
        inputs = {"pre": jnp.asarray(pre[t], F), "post": jnp.asarray(post[t], F),
                  "rival": jnp.asarray(rival[t], F), "modulator": jnp.asarray([mods[t]], F)}
        state = comp.update(p, state, inputs, ctx)
        ws.append(np.asarray(state["w"]))
        es.append(np.asarray(state["e"]))
    return state, ws, es


def test_rival_centred_eligibility_hand_computed():
    # 1 pre, 2 post, rival pool of 2 neurons; a_plus 0.5, tau_plus 10 (decay 0.9), tau_e 10
    comp, const, state = make({"n_pre": 1, "n_post": 2}, connectivity="all_to_all", weight=1.0,
                              a_plus=0.5, a_minus=0.0, tau_plus=10.0, tau_e=10.0, lr=2.0,
                              rival_gain=1.0, w_min=-5.0, w_max=5.0)
    pre = [[1], [0], [0]]
    post = [[0, 0], [1, 0], [0, 0]]
    rival = [[0, 0], [0, 1], [0, 0]]
    mods = [0.0, 0.0, -1.0]
    state, ws, es = run(comp, const, state, pre, post, rival, mods)
    # step 0: x was 0 -> no eligibility. step 1: x = 0.9; rival mean 0.5:
    # e = 0.5 * 0.9 * ([1, 0] - 0.5) = [0.225, -0.225]
    np.testing.assert_allclose(es[1][0], [0.225, -0.225], rtol=1e-6)
    # step 2: no spikes; x = 0.81, e decays to [0.2025, -0.2025]; rival 0 adds nothing
    np.testing.assert_allclose(es[2][0], [0.2025, -0.2025], rtol=1e-6)
    # w += 2 * -1 * e: the winner (post 0) is weakened, the loser (post 1) strengthened
    np.testing.assert_allclose(ws[2][0], [1.0 - 0.405, 1.0 + 0.405], rtol=1e-6)


def test_rival_gain_zero_is_plain_rule():
    comp, const, state = make({"n_pre": 1, "n_post": 1}, connectivity="all_to_all", weight=1.0,
                              a_plus=1.0, a_minus=0.0, tau_plus=10.0, tau_e=10.0, lr=1.0,
                              rival_gain=0.0, w_min=-5.0, w_max=5.0)
    state, ws, es = run(comp, const, state, [[1], [0]], [[0], [1]], [[1], [1]], [0.0, 1.0])
    np.testing.assert_allclose(es[1][0], [0.9], rtol=1e-6)
    np.testing.assert_allclose(ws[1][0], [1.9], rtol=1e-6)


def test_windowed_eligibility_hand_computed():
    # window of 2 steps: pairings of steps 0-1 join e only at the end of step 1, after its
    # weight change; the modulator at step 1 therefore changes nothing, the one at step 3 does
    comp, const, state = make({"n_pre": 1, "n_post": 1}, connectivity="all_to_all", weight=1.0,
                              a_plus=1.0, a_minus=0.0, tau_plus=10.0, tau_e=10.0, lr=1.0,
                              window=2.0, w_min=-5.0, w_max=5.0)
    assert "pend" in state
    pre = [[1], [0], [0], [0]]
    post = [[0], [1], [0], [1]]
    rival = [[0]] * 4
    mods = [0.0, 1.0, 0.0, 1.0]
    state, ws, es = run(comp, const, state, pre, post, rival, mods)
    np.testing.assert_allclose(ws[1][0], [1.0])  # the step-1 pairing is not yet eligible
    np.testing.assert_allclose(es[1][0], [0.9], rtol=1e-6)  # joined at the window's end
    np.testing.assert_allclose(es[2][0], [0.81], rtol=1e-6)
    # step 3: e decays to 0.729 and pays out; its own pairing (x = 0.729) waits for step 3's end
    np.testing.assert_allclose(ws[3][0], [1.729], rtol=1e-6)
    np.testing.assert_allclose(es[3][0], [0.729 + 0.729], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(state["pend"]), [[0.0]])


def test_competition_norm_hand_computed():
    # window of 3 steps; 1 pre, 2 post, 2 rival neurons; decay 0.9 per step (tau 10)
    pre = [[1], [0], [0], [0]]
    post = [[0, 0], [1, 1], [1, 0], [1, 1]]
    rival = [[0, 0], [0, 1], [0, 0], [0, 0]]
    mods = [0.0, 0.0, 0.0, 1.0]
    # step 1: x = 0.9, pairing 0.9 * ([1, 1] - mean([0, 1])) = [0.45, 0.45]
    # step 2: x = 0.81, pairing 0.81 * [1, 0] -> window total [1.26, 0.45]
    # activity S = (mean post + mean rival) summed: (1 + 0.5) + (0.5 + 0) = 2
    for norm, scale in [(0.0, 1.0), (0.5, 1 / 2.0), (4.0, 1 / 4.0)]:
        comp, const, state = make({"n_pre": 1, "n_post": 2}, connectivity="all_to_all",
                                  weight=1.0, a_plus=1.0, a_minus=0.0, tau_plus=10.0,
                                  tau_e=10.0, lr=1.0, rival_gain=1.0, window=3.0,
                                  competition_norm=norm, w_min=-5.0, w_max=5.0)
        state, ws, es = run(comp, const, state, pre, post, rival, mods)
        np.testing.assert_allclose(es[1][0], [0.0, 0.0])  # still pending
        np.testing.assert_allclose(es[2][0], np.array([1.26, 0.45]) * scale, rtol=1e-6)
        # step 3: e decays by 0.9 and pays out with modulator 1
        np.testing.assert_allclose(ws[3][0], 1.0 + 0.9 * np.array([1.26, 0.45]) * scale,
                                   rtol=1e-6)
        # the next window restarted its activity count and its pending pairings at step 3
        assert float(state["activity"]) == 1.0
        np.testing.assert_allclose(np.asarray(state["pend"])[0], [0.729, 0.729], rtol=1e-6)


def test_competition_norm_needs_a_window():
    p = {**ThreeFactorProjection.defaults(), "competition_norm": 1.0, "window": 0.0}
    assert [n for n, _ in ThreeFactorProjection.check(p)] == ["competition_norm"]
    assert ThreeFactorProjection.check({**p, "window": 20.0}) == []
