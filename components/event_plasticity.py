"""Event-driven plastic projections: the shared machinery of the original Spark's learning rules.

No node type lives here; components/hebbian_projection.py, quadruplet_projection.py,
oja_projection.py and zenke_projection.py build on it.

Synapses. The connectivity and the initial weight magnitudes are drawn as a projection's
(components/projection.py). Weights are magnitudes K_ij >= 0; the sign of a synapse is its pre
neuron's (``sign``: all excitatory, all inhibitory, or mixed with the first
round(excitatory_fraction * n_pre) neurons excitatory), so a spike of pre neuron i delivers
sign_i K_ij (as the original, whose inhibitory neurons emit -1). Post neurons have a type too
(``post_sign``, same convention) for rules whose parameters depend on it. Only existing synapses
change: the connectivity stays as drawn (sparse).

Delays. Every synapse has a delay d_ij (whole steps): delay_steps for all, or (max_delay_steps >
delay_steps) drawn per synapse, uniform on delay_steps .. max_delay_steps. A spike of i at step u
reaches j at step u + d_ij, exactly (components/spike_history.py). The rules see the delayed
spike train of each synapse, s_ij(t) = s_i(t - d_ij), and its delayed trace x_ij(t) =
x_i(t - d_ij) (a trace is linear in its spike train, so one trace per pre neuron and a history of
its last max_delay_steps values give every synapse's delayed trace exactly).

Traces (as the original): x <- exp(-dt/tau) x + s / tau, updated with the step's spikes before
they are used. Pre traces x_i (tau_pre), post traces y_j (tau_post).

The rule, for the event-driven rules (Hebbian, three-factor Hebbian, quadruplet), per synapse:

    dK_ij = eta m [alpha + beta y_j] s_ij + eta m [gamma + delta x_ij] r_j
    K_ij <- clip(K_ij + dt dK_ij, 0, w_max)

with r_j the post spikes of the step, m a modulator (1 for the plain Hebbian rule) and alpha,
beta, gamma, delta, tau_pre, tau_post, w_max taken for each synapse from the set of its
(pre type, post type) pair (EE, EI, IE, II: E = excitatory, I = inhibitory, pre first). Only
synapses receiving a spike (the first bracket) or whose post neuron spiked (the second) change,
so the work per step is (arriving spikes x fan-out + post spikes x fan-in), never n_pre x n_post:
one loop over the spikes arriving this step (a row of each spiking neuron's synapses) and one
over the post spikes (the synapses into each), each synapse clipped once with its full dK.

Storage: ``state["weights"]`` (n_pre + 1, F) in the padded per-pre-neuron layout of
components/projection.py with ``const["targets"]`` (so Simulation.weights shows the magnitudes
as a dense matrix), the ring of recent pre spikes, their float copy ``sf`` and traces ``x``
(one per post type) for the delayed values, and the post traces ``y`` (one per pre type).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from . import batched_plasticity as batched
from . import native
from .base import EVENTS, SPIKES, Component, Param, Port
from .projection import (Projection, draw_connectivity, draw_weights, padded_tables,
                         propagation_strategy, spike_words)
from .spike_history import (arrival_words, delay_segments, deliver, draw_delays, empty_ring,
                            for_each_bit, push_words, ring_bit)

PLASTICITY_PASS = Param(
    "plasticity_pass", "choice", "events", choices=("events", "batched"),
    help="events: one loop iteration per arriving spike and per post spike; batched: up to 64 "
         "spiking neurons per iteration, vectorised (faster when many neurons spike each "
         "step). The same rule; sums may differ in the last bit (order of addition)")
KINDS = ("EE", "EI", "IE", "II")  # (pre type, post type); index = 2 * pre_inhibitory + post_inh.
SIGNS = ("excitatory", "inhibitory", "mixed")


def neuron_types(sign: str, fraction: float, n: int) -> np.ndarray:
    """0 (excitatory) or 1 (inhibitory) per neuron, as the projection's sign convention."""
    if sign == "excitatory":
        return np.zeros(n, np.int32)
    if sign == "inhibitory":
        return np.ones(n, np.int32)
    return (np.arange(n) >= int(round(fraction * n))).astype(np.int32)


def structure_params(post_types: bool = False):
    """Connectivity, initial weights, signs and delays of the event-driven plastic projections."""
    out = tuple(Projection.param(n) for n in ("connectivity", "p", "fan_in", "autapses")) + (
        Param("weight", "float", 1.0, "mV", min=0.0, structural=True,
              help="initial weight magnitude (factor drawn as set by weight_init)"),
        Projection.param("weight_init"),
        Projection.param("weight_spread"),
        Param("sign", "choice", "excitatory", choices=SIGNS,
              help="type of the pre neurons: their spikes deliver +K (excitatory) or -K "
                   "(inhibitory); mixed: the first excitatory_fraction are excitatory"),
        Param("excitatory_fraction", "float", 0.8, min=0.0, max=1.0, structural=True,
              help="fraction of excitatory pre neurons (sign = mixed)"),
    )
    if post_types:
        out += (
            Param("post_sign", "choice", "excitatory", choices=SIGNS,
                  help="type of the post neurons (chooses the EE/EI/IE/II parameter set)"),
            Param("post_excitatory_fraction", "float", 0.8, min=0.0, max=1.0, structural=True,
                  help="fraction of excitatory post neurons (post_sign = mixed)"),
        )
    return out + (
        Projection.param("delay_steps"),
        Projection.param("max_delay_steps"),
    )


def learning_ports(p, modulator: str | None = None, help_text: str = ""):
    ins = [Port("pre", SPIKES, "n_pre", required=True, help="pre-synaptic spikes"),
           Port("post", SPIKES, "n_post", required=True,
                help="spikes of the post-synaptic pool (for the plasticity)")]
    if modulator:
        from .base import MODULATOR
        ins.append(Port(modulator, MODULATOR, 1, multi=True, help=help_text))
    return ins, [Port("events", EVENTS, "n_post", help="signed weighted spike arrivals for post")]


def _column_tables(pre, post, targets_pre_order, n_pre, n_post, fan):
    """Per post neuron: flat positions (pre * fan + column) of its synapses in the padded row
    layout, their pre indices, and a validity mask (padding -> the spare row n_pre)."""
    counts_pre = np.bincount(pre, minlength=n_pre) if pre.size else np.zeros(n_pre, np.int64)
    starts = np.concatenate([[0], np.cumsum(counts_pre)[:-1]]).astype(np.int64)
    col = np.arange(pre.size) - starts[pre]
    flat = pre * fan + col
    order = np.argsort(post, kind="stable")
    counts = np.bincount(post, minlength=n_post) if post.size else np.zeros(n_post, np.int64)
    g = max(int(counts.max()) if n_post else 0, 1)
    pos = np.full((n_post, g), n_pre * fan, np.int32)
    src = np.zeros((n_post, g), np.int32)
    syn = np.zeros((n_post, g), np.int32)
    valid = np.zeros((n_post, g), bool)
    pstarts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    ps = post[order]
    c = np.arange(order.size) - pstarts[ps]
    pos[ps, c] = flat[order]
    src[ps, c] = pre[order]
    syn[ps, c] = order
    valid[ps, c] = True
    return pos, src, syn, valid


class EventPlasticProjection(Component):
    """Base of the event-driven plastic projections (see the module docstring)."""

    category = "Plasticity"
    latched = True
    post_types = False   # whether the rule reads post neuron types (post_sign)

    @classmethod
    def check(cls, p):
        from .projection import delay_range_problems
        return delay_range_problems(p)

    @classmethod
    def check_sizes(cls, p, sizes):
        return Projection.check_sizes(p, sizes)

    @property
    def n_pre(self):
        return self.sizes["n_pre"]

    @property
    def n_post(self):
        return self.sizes["n_post"]

    @property
    def d_min(self) -> int:
        return int(self.config["delay_steps"])

    @property
    def depth(self) -> int:
        return max(int(self.config["max_delay_steps"]), self.d_min)

    @property
    def spread(self) -> bool:
        return self.depth > self.d_min

    # --- the rule ---------------------------------------------------------------------------------
    def rule_tables(self) -> dict:
        """Per synapse kind (EE, EI, IE, II): arrays of 4 for tau_pre, tau_post, alpha, beta,
        gamma, delta, w_max. Subclasses define it."""
        raise NotImplementedError

    def modulation(self, p, inputs):
        """The modulator m of this step (a scalar). Default: 1."""
        return jnp.ones((), self.dtype)

    # --- building -----------------------------------------------------------------------------------
    def draw(self, rng):
        """(pre, post, magnitudes, delays, pre types, post types) of the synapses."""
        c = self.config
        pre, post = draw_connectivity(c, self.n_pre, self.n_post, rng)
        w = np.abs(draw_weights({**c, "sign": "excitatory"}, pre, self.n_pre, rng))
        d = (draw_delays(rng, pre.size, self.d_min, self.depth) if self.spread
             else np.full(pre.size, self.d_min, np.int32))
        tpre = neuron_types(c["sign"], c["excitatory_fraction"], self.n_pre)
        if self.post_types:
            tpost = neuron_types(c["post_sign"], c["post_excitatory_fraction"], self.n_post)
        else:
            tpost = np.zeros(self.n_post, np.int32)
        return pre, post, w, d, tpre, tpost

    def init(self, key, rng):
        n_pre, n_post, dt, f = self.n_pre, self.n_post, self.dt, self.dtype
        pre, post, w, d, tpre, tpost = self.draw(rng)
        tab = {k: np.asarray(v, np.float64) for k, v in self.rule_tables().items()}
        kind = 2 * tpre[pre] + tpost[post]
        w = np.clip(w, 0.0, tab["w_max"][kind])
        targets, weights = padded_tables(pre, post, w, n_pre, n_post, f)
        fan = targets.shape[1]
        _, delays = padded_tables(pre, post, d, n_pre, n_post, np.int32)
        _, kinds = padded_tables(pre, post, kind, n_pre, n_post, np.int32)
        pos, src, syn, valid = _column_tables(pre, post, targets, n_pre, n_post, fan)
        sign = np.concatenate([np.where(tpre == 1, -1.0, 1.0), [0.0]]).astype(f)
        # trace constants: x[tp, i] uses tau_pre of kind (tpre_i, tp); y[ti, j] tau_post (ti, tpost_j)
        kx = 2 * tpre[None, :] + np.arange(2)[:, None]
        ky = 2 * np.arange(2)[:, None] + tpost[None, :]
        const = {
            "targets": targets, "delays": delays, "kinds": kinds, "sign": sign,
            "tpre": np.concatenate([tpre, [0]]).astype(np.int32),
            "tpost": np.concatenate([tpost, [0]]).astype(np.int32),
            "col_pos": pos, "col_src": src, "col_valid": valid,
            "col_delay": d[syn].astype(np.int32) if pre.size else np.ones_like(src),
            "col_kind": kind[syn].astype(np.int32) if pre.size else np.zeros_like(src),
            "ex": np.exp(-dt / tab["tau_pre"][kx]).astype(f), "sx": (1.0 / tab["tau_pre"][kx]).astype(f),
            "ey": np.exp(-dt / tab["tau_post"][ky]).astype(f), "sy": (1.0 / tab["tau_post"][ky]).astype(f),
        }
        for name in ("alpha", "beta", "gamma", "delta", "w_max"):
            const[name] = tab[name].astype(f)
        if self.spread:
            const["seg_perm"], const["seg_start"] = delay_segments(targets, delays, n_post,
                                                                   self.depth)
        depth = self.depth
        state = {"weights": weights, "ring": empty_ring(depth, n_pre),
                 "sf": np.zeros((depth, n_pre), f), "x": np.zeros((2, depth, n_pre), f),
                 "y": np.zeros((2, n_post), f)}
        return const, state

    # --- running ------------------------------------------------------------------------------------
    @property
    def batched_pass(self) -> bool:
        return self.config.get("plasticity_pass", "events") == "batched"

    def read(self, p, st, ctx):
        if self.batched_pass:
            return {"events": batched.deliver(self, st, ctx.t, ctx.const)}
        return {"events": deliver(st["ring"], ctx.t, self.d_min, ctx.const, st["weights"],
                                  self.n_post, self.spread)}

    def post_traces(self, st, r, const):
        """y after this step's post spikes r (one trace per pre type)."""
        return st["y"] * const["ey"] + r[None, :] * const["sy"]

    def push(self, st, s, t, const):
        """The pre-spike history after storing this step's spikes s (ring, sf, x)."""
        slot = t % self.depth
        x_prev = st["x"][:, (t - 1) % self.depth]
        x_new = x_prev * const["ex"] + s[None, :] * const["sx"]
        return {"ring": push_words(st["ring"], t, s), "sf": st["sf"].at[slot].set(s),
                "x": st["x"].at[:, slot].set(x_new)}

    def update(self, p, st, inputs, ctx):
        t, const = ctx.t, ctx.const
        s, r = inputs["pre"], inputs["post"]
        g = self.dt * p["eta"] * self.modulation(p, inputs)
        y = self.post_traces(st, r, const)
        if self.batched_pass:
            W = batched.row_pass(self, st, t, y, r, g, const)
            W = batched.column_pass(self, st, W, t, r, g, const)
        elif propagation_strategy() == "native":
            W = native.plastic_update(st["ring"], t, st["weights"], const, y, r, st["x"],
                                      st["sf"], g, self.d_min, self.spread)
        else:
            W = self.row_pass(st, st["weights"], t, y, r, g, const)
            W = self.column_pass(st, W, t, r, g, const)
        return {**st, "weights": W.astype(self.dtype), "y": y, **self.push(st, s, t, const)}

    def row_pass(self, st, W, t, y, r, g, c):
        """Synapses that receive a spike this step: alpha + beta y and, where the post neuron
        spiked too, gamma + delta x (each such synapse is clipped once, here)."""
        n_post, depth, nw = self.n_post, self.depth, st["ring"].shape[1]
        n_pre = self.n_pre
        y_pad = jnp.concatenate([y, jnp.zeros((2, 1), y.dtype)], axis=1).reshape(-1)
        r_pad = jnp.concatenate([r, jnp.zeros(1, r.dtype)])
        x_flat = st["x"].reshape(-1)
        words = arrival_words(st["ring"], t, self.d_min)

        def body(W, q, b):
            i, k = ring_bit(q, b, t, depth, nw)
            tg, kd = c["targets"][i], c["kinds"][i]
            mask = tg < n_post
            if self.spread:
                mask = mask & (c["delays"][i] == k)
            yv = y_pad[c["tpre"][i] * (n_post + 1) + tg]
            xv = x_flat[c["tpost"][tg] * (depth * n_pre) + ((t - k) % depth) * n_pre + i]
            dw = g * (c["alpha"][kd] + c["beta"][kd] * yv
                      + (c["gamma"][kd] + c["delta"][kd] * xv) * r_pad[tg])
            row = W[i]
            new = jnp.where(mask, jnp.clip(row + dw, 0.0, c["w_max"][kd]), row)
            return W.at[i].set(new)

        return for_each_bit(words, body, W)

    def column_pass(self, st, W, t, r, g, c):
        """Synapses into post neurons that spiked and receive no spike this step:
        gamma + delta x (the delayed pre trace)."""
        n_pre, depth = self.n_pre, self.depth
        shape = W.shape
        sf, x_flat = st["sf"].reshape(-1), st["x"].reshape(-1)

        def body(Wf, q, b):
            j = q * 32 + b
            ps, sr, kd = c["col_pos"][j], c["col_src"][j], c["col_kind"][j]
            slot = (t - c["col_delay"][j]) % depth
            arrived = sf[slot * n_pre + sr] > 0
            xv = x_flat[c["tpost"][j] * (depth * n_pre) + slot * n_pre + sr]
            w = Wf[ps]
            new = jnp.clip(w + g * (c["gamma"][kd] + c["delta"][kd] * xv), 0.0, c["w_max"][kd])
            return Wf.at[ps].set(jnp.where(c["col_valid"][j] & ~arrived, new, w))

        return for_each_bit(spike_words(r), body, W.reshape(-1)).reshape(shape)

    # --- helpers for the dense rules (Oja, Zenke) ---------------------------------------------------
    def delayed(self, st, t, c):
        """Per synapse (padded row layout): the delayed pre spike s_ij and trace x_ij (post
        type 0's trace) arriving at step t."""
        n_pre, depth = self.n_pre, self.depth
        i = jnp.minimum(jnp.arange(n_pre + 1), n_pre - 1)[:, None]
        slot = (t - c["delays"]) % depth
        idx = slot * n_pre + i
        s = st["sf"].reshape(-1)[idx]
        x = st["x"][0].reshape(-1)[idx]
        valid = c["targets"] < self.n_post
        return jnp.where(valid, s, 0.0), jnp.where(valid, x, 0.0), valid
