"""Three-factor projection: eligibility traces turned into weight changes by a neuromodulator.

Transmission as components/projection.py (delay_steps >= 1, latched). Plasticity: every synapse
keeps an eligibility trace e_ij fed by the STDP pairing term of components/stdp_projection.py
(set a_minus = 0 for a purely Hebbian pre-trace x post-spike term); the weight changes only when
the modulator M (input ``modulator``, e.g. a TD error or a reward signal) is non-zero:

    x_i <- x_i (1 - dt/tau_plus) ;  y_j <- y_j (1 - dt/tau_minus)
    e_ij <- e_ij (1 - dt/tau_e) + a_plus x_i r_j - a_minus s_i y_j
    w_ij <- clip(w_ij + lr * M * e_ij, w_min, w_max)        existing synapses only
    x_i <- x_i + s_i ;  y_j <- y_j + r_j

(s: pre spikes this step, r: post spikes this step, M: this step's modulator; the weight change
uses the trace updated this step.)

Competitive (actor) eligibility: with the optional input ``rival`` (the spikes of a pool that
competes with post, e.g. the other action's pool, same size as post) and ``rival_gain`` = g > 0,
the potentiation term is centred on the competition, as in the actor of Barto, Sutton & Anderson
(1983) whose eligibility is (action taken - expected action) x input:

    e_ij <- e_ij (1 - dt/tau_e) + a_plus x_i (r_j - g * mean_k q_k) - a_minus s_i y_j

(q: the rival's spikes this step). Pools that win the competition become eligible with + sign,
pools that lose with - sign, so a negative modulator pushes the policy away from the action
taken and toward the other one instead of silencing both. g = 0 (default) or no rival: the plain
rule above.

Windowed eligibility (``window`` = W ms > 0, e.g. the critic's window): the pairing terms of the
current window collect in ``state["pend"]`` and join e only at the window's last step, after
that step's weight change, which uses e without them. A TD error emitted at the end of window k
(judging the action chosen in window k - 1) then credits the actions of windows k - 1, k - 2, ...
and not the action of window k, which it cannot judge yet.

Normalised competition (``competition_norm`` = c > 0, with ``window`` > 0): the pairings of a
window are divided by how much the competing pools fired in it before they join e,

    S    = sum over the window's steps of ( mean_j r_j + g mean_k q_k )   (spikes per neuron)
    e   <- e + pend / max(S, c)                                           at the window's end

so with a winner-take-all pair of pools the eligibility a window adds is about +x (winner) and
-x (loser) per synapse, whatever the winner's firing rate: in expectation the post factor is
(R - g Q) / (R + g Q), the action taken as +1 / -1 (the y of Barto, Sutton & Anderson's actor),
and a pool driven harder by larger weights does not become more eligible than a pool that wins
narrowly. c = 0 (default): no normalisation.

No gradients: every quantity is local to the synapse and its two pools except the one broadcast
modulator.

Where the weights are: ``state["w"]`` (dense n_pre x n_post, model dtype, in the STATE so that it
evolves and vmaps over agents), ``state["e"]`` the eligibility traces (with a window, also
``state["pend"]`` and ``state["activity"]``, the window's pairings and S), ``const["mask"]`` 1
where a synapse exists.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import EVENTS, MODULATOR, SPIKES, Param, Port
from .stdp_projection import PlasticProjection, structure_params, trace_params


class ThreeFactorProjection(PlasticProjection):
    type_name = "three_factor_projection"
    title = "Three-factor projection"
    description = "Projection learning by eligibility traces x neuromodulator (reward, TD error)"
    params = structure_params() + trace_params() + (
        Param("tau_e", "float", 200.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the eligibility traces"),
        Param("lr", "float", 1.0, min=0.0, help="learning rate: dw = lr * modulator * e"),
        Param("window", "float", 0.0, "ms", min=0.0, structural=True,
              help="0: pairings are eligible at once; > 0: the pairings of each window of this "
                   "length become eligible only at its last step, after that step's weight "
                   "change (so a TD error at the end of window k credits windows before k)"),
        Param("rival_gain", "float", 0.0, min=0.0,
              help="weight of the rival pool's mean activity subtracted in the eligibility"),
        Param("competition_norm", "float", 0.0, "spikes", min=0.0,
              help="0: off. > 0 (needs window > 0): each window's pairings are divided by "
                   "max(S, this), S = spikes per neuron of post plus rival_gain x rival in "
                   "the window, so the eligibility no longer grows with the winner's rate"),
    )

    @classmethod
    def check(cls, p):
        out = super().check(p)
        if p["competition_norm"] > 0 and p["window"] <= 0:
            out.append(("competition_norm", "needs windowed eligibility: set window > 0 "
                                            "(e.g. the environment step) or competition_norm 0"))
        return out

    @classmethod
    def ports(cls, p):
        return ([Port("pre", SPIKES, "n_pre", required=True, help="pre-synaptic spikes"),
                 Port("post", SPIKES, "n_post", required=True,
                      help="spikes of the post-synaptic pool (for the eligibility)"),
                 Port("modulator", MODULATOR, 1, multi=True,
                      help="neuromodulator gating the weight change (reward, TD error)"),
                 Port("rival", SPIKES, "n_post", multi=True,
                      help="spikes of a competing pool (actor eligibility, see rival_gain)")],
                [Port("events", EVENTS, "n_post", help="weighted spike arrivals for post")])

    dense_matrices = 4  # weights, mask, eligibility, pending pairings

    def window_steps(self) -> int:
        """Steps per eligibility window (0: pairings become eligible at once)."""
        wnd = self.config["window"]
        return 0 if wnd <= 0 else max(1, int(round(wnd / self.dt)))

    def init(self, key, rng):
        const, state = super().init(key, rng)
        state["e"] = np.zeros((self.n_pre, self.n_post), self.dtype)
        if self.window_steps():
            state["pend"] = np.zeros((self.n_pre, self.n_post), self.dtype)
            state["activity"] = np.zeros((), self.dtype)
        return const, state

    def update(self, p, st, inputs, ctx):
        pre, post = inputs["pre"], inputs["post"]
        x, y, pair = self.traces(p, st, pre, post)
        rival = jnp.zeros((), post.dtype)
        if "rival" in inputs:  # unconnected: zeros from the engine, absent in direct calls
            rival = p["rival_gain"] * jnp.mean(inputs["rival"])
            xd = st["x"] * (1.0 - self.dt / p["tau_plus"])
            pair = pair - p["a_plus"] * rival * jnp.outer(xd, jnp.ones_like(post))
        m = inputs["modulator"][0]
        wsteps = self.window_steps()
        if not wsteps:
            e = (st["e"] * (1.0 - self.dt / p["tau_e"]) + pair) * ctx.const["mask"]
            w = st["w"] + p["lr"] * m * e
            new = self.store(p, st, pre, w, ctx)
            return {**new, "x": x, "y": y, "e": e.astype(self.dtype)}
        pend = st["pend"] + pair * ctx.const["mask"]
        act = st["activity"] + jnp.mean(post) + rival
        e = st["e"] * (1.0 - self.dt / p["tau_e"])
        w = st["w"] + p["lr"] * m * e
        tick = (ctx.t + 1) % wsteps == 0
        c = p["competition_norm"]
        scale = jnp.where(c > 0, 1.0 / jnp.maximum(act, jnp.where(c > 0, c, 1.0)), 1.0)
        e = jnp.where(tick, e + pend * scale, e)
        pend = jnp.where(tick, jnp.zeros_like(pend), pend)
        act = jnp.where(tick, jnp.zeros_like(act), act)
        new = self.store(p, st, pre, w, ctx)
        return {**new, "x": x, "y": y, "e": e.astype(self.dtype), "pend": pend.astype(self.dtype),
                "activity": act.astype(self.dtype)}
