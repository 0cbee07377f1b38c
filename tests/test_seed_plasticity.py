"""The original Spark's learning rules, event-driven: against the original's dense formulation
(independent reference in float64), analytic single-synapse values, and its defects fixed
(quadruplet parameter sets by synapse kind, three-factor Hebbian silent without reward)."""
import numpy as np
import pytest

from spark_snn import engine  # noqa: F401  (XLA flags)
from spark_snn.components.hebbian_projection import HebbianProjection
from spark_snn.components.oja_projection import OjaProjection
from spark_snn.components.quadruplet_projection import QuadrupletProjection
from spark_snn.components.three_factor_hebbian_projection import ThreeFactorHebbianProjection
from spark_snn.components.zenke_projection import ZenkeProjection
from tests.plastic_reference import dense_synapses, make, reference_rule, run

RANDOM = dict(connectivity="fixed_probability", p=0.3, weight=3.0, weight_init="uniform",
              weight_spread=1.0, sign="mixed", excitatory_fraction=0.6, delay_steps=1,
              max_delay_steps=4)


def _trains(n_pre, n_post, T, seed=1):
    rng = np.random.default_rng(seed)
    return ((rng.random((T, n_pre)) < 0.08).astype(np.float32),
            (rng.random((T, n_post)) < 0.06).astype(np.float32), rng)


@pytest.mark.parametrize("passes", ["events", "batched"])
def test_quadruplet_matches_the_dense_original_formulation(passes):
    """Mixed pre and post types (all four parameter sets), per-synapse delays 1..4, a random
    modulator: events and final weights equal the dense per-synapse computation, with the
    per-spike loops and with the batched passes (components/batched_plasticity.py)."""
    n_pre, n_post, T = 40, 30, 300
    comp = make(QuadrupletProjection, {**RANDOM, "post_sign": "mixed", "plasticity_pass": passes,
                                       "post_excitatory_fraction": 0.5}, n_pre, n_post)
    pre, post, rng = _trains(n_pre, n_post, T)
    mod = rng.normal(0.0, 1.0, T).astype(np.float32)
    ev, st, c = run(comp, pre, post, {"modulator": mod})
    import jax
    c0, s0 = comp.init(jax.random.PRNGKey(0), np.random.default_rng(0))
    M, K0, D, kind = dense_synapses(c0, s0, n_pre, n_post)
    assert set(np.unique(kind[M])) == {0, 1, 2, 3} and set(np.unique(D[M])) == {1, 2, 3, 4}
    sign = np.where(c["tpre"][:n_pre] == 1, -1.0, 1.0)
    ev_ref, K_ref = reference_rule(M, K0, D, kind, sign, pre, post, mod, comp.rule_tables(), 0.1)
    _, K, _, _ = dense_synapses(c, st, n_pre, n_post)
    assert np.abs(K_ref - K0).max() > 0.5  # the weights did move
    np.testing.assert_allclose(ev, ev_ref, atol=2e-5)
    np.testing.assert_allclose(K, K_ref, atol=2e-5)


@pytest.mark.parametrize("sets, alpha", [("by_sign", -1.152), ("ee_only", 1.207)])
def test_quadruplet_uses_the_set_of_the_synapse_kind(sets, alpha):
    """An inhibitory pre neuron onto an excitatory post neuron follows the IE column (alpha
    -1.152); the original uses the EE column (1.207) for every synapse (parameter_sets = ee_only
    reproduces it). One pre spike at step 0 arrives at step 1: it delivers -K (inhibitory) with
    K = 1, then the rule moves K to 1 + dt eta alpha."""
    comp = make(QuadrupletProjection, {"connectivity": "one_to_one", "sign": "inhibitory",
                                       "weight": 1.0, "parameter_sets": sets}, 1, 1)
    pre = np.zeros((4, 1), np.float32)
    pre[0] = 1
    ev, st, _ = run(comp, pre, np.zeros((4, 1), np.float32), {"modulator": np.ones(4)})
    assert st["weights"][0, 0] == pytest.approx(1.0 + 0.1 * alpha, abs=1e-6)
    assert ev[1, 0] == -1.0 and not np.delete(ev, 1, axis=0).any()


def _trace(times, t, tau):
    return sum(np.exp(-(t - u) / tau) / tau for u in times if u <= t)


def _hebbian_change(pre_t, post_t, delay, tau_pre, tau_post, eta):
    arrivals = [u + delay for u in pre_t]
    return eta * (sum(_trace(post_t, a, tau_post) for a in arrivals) +
                  sum(_trace(arrivals, p, tau_pre) for p in post_t))


def _single(cls, pre_t, post_t, T=20, extra=None, **cfg):
    comp = make(cls, {"connectivity": "one_to_one", "weight": 1.0, "delay_steps": 2, **cfg}, 1, 1)
    pre, post = np.zeros((T, 1), np.float32), np.zeros((T, 1), np.float32)
    pre[pre_t] = 1
    post[post_t] = 1
    return run(comp, pre, post, extra)[1]["weights"][0, 0]


PRE, POST = [3, 10], [5, 11, 14]  # arrivals (delay 2) at 5 and 12: one coincides with a post spike


def test_hebbian_single_synapse_analytic():
    k = _single(HebbianProjection, PRE, POST, tau_pre=20.0, tau_post=10.0, eta=0.01)
    assert k == pytest.approx(1.0 + _hebbian_change(PRE, POST, 2, 20.0, 10.0, 0.01), abs=1e-6)


def test_three_factor_hebbian_needs_reward():
    """r = 0: no change at all (the original's (r + 0.1) would potentiate by 0.1 x the Hebbian
    change); r = 2: twice the Hebbian change."""
    change = _hebbian_change(PRE, POST, 2, 10.0, 10.0, 0.1)
    k0 = _single(ThreeFactorHebbianProjection, PRE, POST, extra={"reward": np.zeros(20)})
    assert k0 == 1.0 and 0.1 * change > 1e-3
    k2 = _single(ThreeFactorHebbianProjection, PRE, POST, extra={"reward": np.full(20, 2.0)})
    assert k2 == pytest.approx(1.0 + 2.0 * change, abs=1e-6)


def test_only_synapses_of_spiking_neurons_change():
    """One pre neuron spikes, no post spike: only its synapses move (the others keep their exact
    bits); one post neuron spikes: only the synapses into it."""
    n_pre, n_post = 30, 20
    comp = make(QuadrupletProjection, {**RANDOM, "sign": "excitatory"}, n_pre, n_post)
    pre, post = np.zeros((6, n_pre), np.float32), np.zeros((6, n_post), np.float32)
    pre[0, 7] = 1
    post[3, 4] = 1
    _, st, c = run(comp, pre, post, {"modulator": np.ones(6)})
    import jax
    c0, s0 = comp.init(jax.random.PRNGKey(0), np.random.default_rng(0))
    M, K0, _, _ = dense_synapses(c0, s0, n_pre, n_post)
    _, K, _, _ = dense_synapses(c, st, n_pre, n_post)
    changed = K != K0
    expect = M & ((np.arange(n_pre)[:, None] == 7) | (np.arange(n_post)[None, :] == 4))
    assert changed.any() and not (changed & ~expect).any()


def _dense_oja(M, K0, D, pre, post, tau, eta):
    K, y = K0.astype(np.float64).copy(), np.zeros(K0.shape[1])
    cols = np.arange(K.shape[0])[:, None]
    for t in range(pre.shape[0]):
        src = t - D
        sd = np.where(src >= 0, pre[np.clip(src, 0, None), cols], 0.0) * M
        y = np.exp(-1.0 / tau) * y + post[t] / tau
        K = np.where(M, np.clip(K + eta * (y * sd - K * y * y), 0.0, 100.0), K)
    return K


def test_oja_matches_dense_reference():
    n_pre, n_post, T = 25, 15, 200
    comp = make(OjaProjection, {**RANDOM, "tau_post": 5.0, "eta": 0.5}, n_pre, n_post)
    pre, post, _ = _trains(n_pre, n_post, T, seed=4)
    post = (post + (np.random.default_rng(5).random(post.shape) < 0.2)).clip(0, 1)
    _, st, c = run(comp, pre, post)
    import jax
    c0, s0 = comp.init(jax.random.PRNGKey(0), np.random.default_rng(0))
    M, K0, D, _ = dense_synapses(c0, s0, n_pre, n_post)
    K_ref = _dense_oja(M, K0, D, pre, post, 5.0, 0.5)
    _, K, _, _ = dense_synapses(c, st, n_pre, n_post)
    assert np.abs(K_ref - K0).max() > 0.1
    np.testing.assert_allclose(K, K_ref, atol=3e-5)


def test_zenke_matches_dense_reference_and_consolidates():
    """Dense per-synapse computation of the four terms and of the reference weight R; without
    spikes R settles at the stable root of K - R - P R (1/4 - R)(1/2 - R) = 0 nearest K's
    basin (found with numpy.roots)."""
    n_pre, n_post, T = 20, 12, 240
    cfg = {**RANDOM, "weight": 0.2, "tau_pre": 8.0, "tau_post": 6.0, "tau_post_slow": 30.0,
           "tau_target": 40.0, "eta": 0.05, "P": 20.0}
    comp = make(ZenkeProjection, cfg, n_pre, n_post)
    pre, post, _ = _trains(n_pre, n_post, T, seed=6)
    post[T // 2:] = 0
    pre[T // 2:] = 0
    _, st, c = run(comp, pre, post)
    import jax
    c0, s0 = comp.init(jax.random.PRNGKey(0), np.random.default_rng(0))
    M, K, D, _ = dense_synapses(c0, s0, n_pre, n_post)
    K = K.astype(np.float64)
    R, y, z = np.zeros_like(K), np.zeros(n_post), np.zeros(n_post)
    x = np.zeros_like(K)
    cols = np.arange(n_pre)[:, None]
    e_t = np.exp(-1.0 / 40.0)
    for t in range(T):
        src = t - D
        sd = np.where(src >= 0, pre[np.clip(src, 0, None), cols], 0.0) * M
        x = np.exp(-1 / 8.0) * x + sd / 8.0
        y = np.exp(-1 / 6.0) * y + post[t] / 6.0
        z = np.exp(-1 / 30.0) * z + post[t] / 30.0
        r = post[t][None, :]
        R = e_t * R + (1 - e_t) * (K - 20.0 * R * (0.25 - R) * (0.5 - R))
        dK = 0.05 * (x * z * r - y * sd - (K - R) * y ** 3 * r + sd)
        K = np.where(M, np.clip(K + dK, 0.0, 100.0), K)
        R = np.where(M, R, 0.0)
    _, K_mine, _, _ = dense_synapses(c, st, n_pre, n_post)
    np.testing.assert_allclose(K_mine, K, atol=2e-5)
    R_mine = np.zeros((n_pre, n_post))
    tg = c["targets"][:n_pre]
    rows = np.repeat(np.arange(n_pre), tg.shape[1])
    ok = tg.ravel() < n_post
    R_mine[rows[ok], tg.ravel()[ok]] = st["reference"][:n_pre].ravel()[ok]
    np.testing.assert_allclose(R_mine, R, atol=2e-5)
    # after 120 quiet steps (3 tau_target) R is near the fixed point for its (now constant) K
    k = K[M][0]
    roots = np.roots([-20.0, 15.0, -2.5 - 1.0, k])  # -P R^3 + 3P/4 R^2 - (P/8 + 1) R + K = 0
    real = roots[np.abs(roots.imag) < 1e-9].real
    assert np.min(np.abs(real - R[M][0])) < 0.05 * max(1.0, abs(k))
