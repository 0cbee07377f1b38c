"""STDP projection: a projection whose weights learn by pair-based spike-timing-dependent plasticity.

Transmission is that of components/projection.py: a spike of pre neuron i at step t delivers
w_ij to post neuron j at step t + delay_steps (delay_steps >= 1; the node is latched). The
connectivity is drawn like a projection's; only existing synapses ever change (sparsity is kept).

Plasticity (pair-based, all-to-all pairings, with traces; Song, Miller & Abbott 2000). Each step,
with pre spikes s_i (the spikes emitted by the pre pool this step, input ``pre``) and post spikes
r_j (input ``post``):

    x_i <- x_i (1 - dt/tau_plus)                  pre trace
    y_j <- y_j (1 - dt/tau_minus)                 post trace
    dw_ij = a_plus x_i r_j - a_minus s_i y_j      (potentiation at a post spike, depression at a
                                                   pre spike; pairs at the same step do nothing)
    w_ij  <- clip(w_ij + dw_ij, w_min, w_max)     for existing synapses only
    x_i <- x_i + s_i ;  y_j <- y_j + r_j

So a pre spike k steps before a post spike changes w by +a_plus (1 - dt/tau_plus)^k, and a post
spike k steps before a pre spike by -a_minus (1 - dt/tau_minus)^k.

Where the weights are: ``state["w"]``, a dense float32 (model dtype) n_pre x n_post matrix in the
node's STATE (so it evolves, and vmaps over agents); ``const["mask"]`` is 1 where a synapse exists.
Entries without a synapse stay 0. Dense storage suits the small plastic networks it is meant for
(memory n_pre * n_post).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import EVENTS, SPIKES, STATE_VALUES, Component, Param, Port
from .projection import Projection, draw_connectivity, synapse_count

CONNECTIVITY = ("connectivity", "p", "fan_in", "autapses")


def structure_params():
    """Connectivity and delay parameters shared with components/projection.py."""
    return tuple(Projection.param(n) for n in CONNECTIVITY) + (
        Param("weight", "float", 1.0, "mV", structural=True,
              help="initial weight (negative for inhibitory synapses)"),
        Param("weight_init", "choice", "constant", choices=("constant", "uniform"),
              help="initial weights: constant, or uniform in weight * [1 - spread, 1 + spread]"),
        Param("weight_spread", "float", 0.0, min=0.0, structural=True,
              help="relative spread of the initial weights (uniform)"),
        Projection.param("delay_steps"),
        Param("w_min", "float", 0.0, "mV", help="lower weight bound"),
        Param("w_max", "float", 10.0, "mV", help="upper weight bound"),
    )


def trace_params():
    return (
        Param("a_plus", "float", 0.01, "mV", min=0.0, help="potentiation per pre-before-post pair"),
        Param("a_minus", "float", 0.012, "mV", min=0.0,
              help="depression per post-before-pre pair"),
        Param("tau_plus", "float", 20.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the pre-synaptic trace"),
        Param("tau_minus", "float", 20.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the post-synaptic trace"),
    )


def initial_weights(c, n_pre: int, n_post: int, rng, w_min, w_max, dtype):
    """(mask, w): the synapses drawn from the connectivity parameters in ``c`` (1 in ``mask``)
    and their initial weights (``weight``, ``weight_init``, ``weight_spread``) clipped to
    [w_min, w_max], both dense n_pre x n_post arrays of ``dtype``."""
    pre, post = draw_connectivity(c, n_pre, n_post, rng)
    if c["weight_init"] == "uniform":
        s = c["weight_spread"]
        f = rng.uniform(1.0 - s, 1.0 + s, pre.size)
    else:
        f = np.ones(pre.size)
    mask = np.zeros((n_pre, n_post), dtype)
    mask[pre, post] = 1.0
    w = np.zeros((n_pre, n_post), dtype)
    w[pre, post] = np.clip(c["weight"] * f, w_min, w_max)
    return mask, w


def plastic_memory(p: dict, sizes: dict, itemsize: int, dense_matrices: int) -> dict[str, int]:
    """``Component.memory`` of a plastic projection holding ``dense_matrices`` n_pre x n_post
    matrices (each with the copies the compiled chunk holds: the packed state, the scan's
    carry, the update's temporaries), the drawing of its synapses and its delay buffer."""
    n_pre, n_post = int(sizes.get("n_pre") or 0), int(sizes.get("n_post") or 0)
    return {"synapses": 4 * dense_matrices * n_pre * n_post * itemsize
                        + 32 * synapse_count(p, n_pre, n_post),
            "delay buffers": 3 * p["delay_steps"] * n_pre * itemsize,
            "state": STATE_VALUES * (n_pre + n_post) * itemsize}


class PlasticProjection(Component):
    """Shared machinery of the plastic projections (dense weights in the state)."""

    category = "Plasticity"
    latched = True

    @classmethod
    def check(cls, p):
        if p["w_min"] > p["w_max"]:
            return [("w_min", f"w_min ({p['w_min']} mV) must not exceed w_max ({p['w_max']} mV)")]
        return []

    @classmethod
    def check_sizes(cls, p, sizes):
        return Projection.check_sizes({**p, "connectivity": p["connectivity"]}, sizes)

    # dense n_pre x n_post matrices the node holds (weights and mask; more in subclasses)
    dense_matrices = 2

    @classmethod
    def memory(cls, p, sizes, itemsize):
        return plastic_memory(p, sizes, itemsize, cls.dense_matrices)

    @property
    def n_pre(self):
        return self.sizes["n_pre"]

    @property
    def n_post(self):
        return self.sizes["n_post"]

    def init(self, key, rng):
        c = self.config
        mask, w = initial_weights(c, self.n_pre, self.n_post, rng, c["w_min"], c["w_max"],
                                  self.dtype)
        d = c["delay_steps"]
        state = {"w": w, "buf": np.zeros((d, self.n_pre), self.dtype),
                 "x": np.zeros(self.n_pre, self.dtype), "y": np.zeros(self.n_post, self.dtype)}
        return {"mask": mask}, state

    def read(self, p, st, ctx):
        from .spike_history import read_slot
        return {"events": read_slot(st["buf"], ctx.t) @ st["w"]}

    def traces(self, p, st, pre, post):
        """Decayed traces and the STDP pairing term a+ x r - a- s y (see the docstring)."""
        x = st["x"] * (1.0 - self.dt / p["tau_plus"])
        y = st["y"] * (1.0 - self.dt / p["tau_minus"])
        pair = p["a_plus"] * jnp.outer(x, post) - p["a_minus"] * jnp.outer(pre, y)
        return x + pre, y + post, pair

    def store(self, p, st, pre, w, ctx):
        from .spike_history import store_slot
        w = jnp.clip(w, p["w_min"], p["w_max"]) * ctx.const["mask"]
        return {**st, "w": w.astype(self.dtype), "buf": store_slot(st["buf"], ctx.t, pre)}


class STDPProjection(PlasticProjection):
    type_name = "stdp_projection"
    title = "STDP projection"
    description = "Projection with pair-based spike-timing-dependent plasticity"
    params = structure_params() + trace_params()

    @classmethod
    def ports(cls, p):
        return ([Port("pre", SPIKES, "n_pre", required=True, help="pre-synaptic spikes"),
                 Port("post", SPIKES, "n_post", required=True,
                      help="spikes of the post-synaptic pool (for the plasticity)")],
                [Port("events", EVENTS, "n_post", help="weighted spike arrivals for post")])

    def update(self, p, st, inputs, ctx):
        pre, post = inputs["pre"], inputs["post"]
        x, y, pair = self.traces(p, st, pre, post)
        new = self.store(p, st, pre, st["w"] + pair, ctx)
        return {**new, "x": x, "y": y}
