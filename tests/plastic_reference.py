"""Helpers for the plasticity tests: drive a projection component directly, and the original
Spark's dense formulation of the rules (every synapse as an entry of post x pre matrices, with
per-synapse delayed spike trains and traces) as an independent reference."""
import jax
import jax.numpy as jnp
import numpy as np

from spark_snn.components.base import Ctx


def make(cls, cfg, n_pre, n_post, dt=1.0):
    return cls({**cls.defaults(), **cfg}, {"n_pre": n_pre, "n_post": n_post}, dt, np.float32)


def run(comp, pre, post, extra=None, seed=0):
    """Drive ``comp`` (a latched projection) with spike trains pre (T, n_pre) and post
    (T, n_post) and optional per-step scalar inputs ``extra`` {port: (T,)}. Returns (events
    (T, n_post), final state, const)."""
    const, state = comp.init(jax.random.PRNGKey(0), np.random.default_rng(seed))
    const = jax.tree_util.tree_map(jnp.asarray, const)
    live = comp.live_params()
    p = {**live, **comp.prepare(live)}
    T = pre.shape[0]
    extra = {k: jnp.asarray(v, jnp.float32) for k, v in (extra or {}).items()}

    def step(st, xs):
        t, s, r, ex = xs
        ctx = Ctx(t, comp.dt, None, const)
        ev = comp.read(p, st, ctx)["events"]
        ins = {"pre": s, "post": r, **{k: v[None] for k, v in ex.items()}}
        return comp.update(p, st, ins, ctx), ev

    xs = (jnp.arange(T, dtype=jnp.int32), jnp.asarray(pre, jnp.float32),
          jnp.asarray(post, jnp.float32), extra)
    st, ev = jax.jit(lambda s0: jax.lax.scan(step, s0, xs))(state)
    return np.asarray(ev), jax.tree_util.tree_map(np.asarray, st), jax.tree_util.tree_map(np.asarray, const)


def dense_synapses(const, state, n_pre, n_post):
    """(mask, K, D, kind) as n_pre x n_post matrices from a component's padded tables."""
    tg = const["targets"][:n_pre]
    rows = np.repeat(np.arange(n_pre), tg.shape[1])
    ok = tg.ravel() < n_post
    M = np.zeros((n_pre, n_post), bool)
    K, D, kind = (np.zeros((n_pre, n_post)) for _ in range(3))
    M[rows[ok], tg.ravel()[ok]] = True
    K[rows[ok], tg.ravel()[ok]] = state["weights"][:n_pre].ravel()[ok]
    D[rows[ok], tg.ravel()[ok]] = const["delays"][:n_pre].ravel()[ok]
    kind[rows[ok], tg.ravel()[ok]] = const["kinds"][:n_pre].ravel()[ok]
    return M, K, D.astype(int), kind.astype(int)


def reference_rule(M, K0, D, kind, sign, pre, post, mod, tab, eta, dt=1.0):
    """The modulated rule dK = eta m (alpha s + beta y s + gamma r + delta x r) computed as the
    original does, on whole matrices with per-synapse traces, in float64. Returns (events, K)."""
    T = pre.shape[0]
    K = K0.astype(np.float64).copy()
    g = lambda name: np.asarray(tab[name], np.float64)[kind]  # noqa: E731
    tp, tq = g("tau_pre"), g("tau_post")
    xs = np.zeros_like(K)
    ys = np.zeros_like(K)
    ev = np.zeros((T, K.shape[1]))
    cols = np.arange(K.shape[0])[:, None]
    for t in range(T):
        src = t - D
        sd = np.where(src >= 0, pre[np.clip(src, 0, None), cols], 0.0) * M
        ev[t] = (sign[:, None] * K * sd).sum(0)
        xs = np.exp(-dt / tp) * xs + sd / tp
        ys = np.exp(-dt / tq) * ys + post[t][None, :] / tq
        r = post[t][None, :]
        dK = eta * mod[t] * (g("alpha") * sd + g("beta") * ys * sd + g("gamma") * r + g("delta") * xs * r)
        K = np.where(M, np.clip(K + dt * dK, 0.0, g("w_max")), K)
    return ev, K


def run_node(comp, inputs, T, seed=0):
    """Drive a non-latched component for T steps; ``inputs`` maps port -> array (T, size) (ports
    left out get zeros of the size given by the component's declared ports). Returns the
    outputs stacked over time (numpy) and the final state."""
    const, state = comp.init(jax.random.PRNGKey(seed), np.random.default_rng(seed))
    const = jax.tree_util.tree_map(jnp.asarray, const)
    live = comp.live_params()
    p = {**live, **comp.prepare(live)}
    ins_decl, _ = type(comp).ports(comp.config)
    xs = {}
    for port in ins_decl:
        n = comp.size(port.size)
        xs[port.name] = jnp.asarray(inputs.get(port.name, np.zeros((T, n))), comp.dtype)
    keys = jax.random.split(jax.random.PRNGKey(seed + 1), T)

    def step(st, x):
        t, key, ins = x
        st, out = comp.step(p, st, ins, Ctx(t, comp.dt, key, const))
        return st, out

    st, outs = jax.jit(lambda s0: jax.lax.scan(step, s0, (jnp.arange(T, dtype=jnp.int32), keys, xs)))(state)
    return jax.tree_util.tree_map(np.asarray, outs), st
