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
uses the trace updated this step.) No gradients: every quantity is local to the synapse except the
one broadcast modulator.

Where the weights are: ``state["w"]`` (dense n_pre x n_post, model dtype, in the STATE so that it
evolves and vmaps over agents), ``state["e"]`` the eligibility traces, ``const["mask"]`` 1 where a
synapse exists.
"""
from __future__ import annotations

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
    )

    @classmethod
    def ports(cls, p):
        return ([Port("pre", SPIKES, "n_pre", required=True, help="pre-synaptic spikes"),
                 Port("post", SPIKES, "n_post", required=True,
                      help="spikes of the post-synaptic pool (for the eligibility)"),
                 Port("modulator", MODULATOR, 1, multi=True,
                      help="neuromodulator gating the weight change (reward, TD error)")],
                [Port("events", EVENTS, "n_post", help="weighted spike arrivals for post")])

    def init(self, key, rng):
        const, state = super().init(key, rng)
        state["e"] = np.zeros((self.n_pre, self.n_post), self.dtype)
        return const, state

    def update(self, p, st, inputs, ctx):
        pre, post = inputs["pre"], inputs["post"]
        x, y, pair = self.traces(p, st, pre, post)
        e = (st["e"] * (1.0 - self.dt / p["tau_e"]) + pair) * ctx.const["mask"]
        w = st["w"] + p["lr"] * inputs["modulator"][0] * e
        new = self.store(p, st, pre, w, ctx)
        return {**new, "x": x, "y": y, "e": e.astype(self.dtype)}
