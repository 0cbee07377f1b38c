"""Zenke projection (the original Spark's ``ZenkeRule``): triplet STDP with heterosynaptic
plasticity, transmitter-induced growth and a consolidating reference weight.

Per synapse, with the delayed pre spike s_ij(t) = s_i(t - d_ij) and trace x_ij (tau_pre), the
post spikes r_j, a fast and a slow post trace y_j (tau_post) and z_j (tau_post_slow) (traces
x <- exp(-dt/tau) x + s/tau, updated with the step's spikes before use) and the reference weight
R_ij:

    R_ij <- e_R R_ij + (1 - e_R) [K_ij - P R_ij (1/4 - R_ij)(1/2 - R_ij)],  e_R = exp(-dt/tau_target)
    dK_ij = eta [a x_ij z_j r_j + b y_j s_ij + c (K_ij - R_ij) y_j^3 r_j + d s_ij]
    K_ij <- clip(K_ij + dt dK_ij, 0, w_max)

a: triplet potentiation, b: doublet depression (b < 0), c: heterosynaptic term pulling K towards
R (c < 0), d: transmitter-induced growth. R follows K slowly (tau_target) and is pulled towards
the stable states 0 and 1/2 of the cubic (consolidation); the original integrates R with forward
Euler, here the linear part is exact (exponential Euler; the two differ by O((dt/tau_target)^2)).
The original has no upper bound; ``w_max`` bounds the weights.

R evolves at every step for every synapse, so the update is dense over the existing synapses
(never over absent ones). Transmission, signs and delays as components/event_plasticity.py.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import Param
from .event_plasticity import EventPlasticProjection, learning_ports, structure_params
from .hebbian_projection import trace_taus, w_max_param


def _coef(name, default, text):
    return Param(name, "float", default, help=text)


class ZenkeProjection(EventPlasticProjection):
    """Zenke's rule with consolidation (see the module docstring)."""

    type_name = "zenke_projection"
    title = "Zenke projection"
    description = "Projection with Zenke's triplet/heterosynaptic rule and consolidation"
    params = structure_params() + trace_taus(20.0, 20.0) + (
        Param("tau_post_slow", "float", 20.0, "ms", min=0.0, min_exclusive=True, structural=True,
              help="time constant of the slow post trace z (triplet term)"),
        Param("tau_target", "float", 20_000.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the reference weight R (consolidation)"),
        _coef("a", 1.0, "triplet potentiation x z s_post"),
        _coef("b", -1.0, "doublet term y s_pre (negative: depression)"),
        _coef("c", -1.0, "heterosynaptic term (K - R) y^3 s_post (negative: towards R)"),
        _coef("d", 1.0, "transmitter-induced term s_pre"),
        Param("P", "float", 20.0, min=0.0, help="strength of the consolidation cubic"),
        Param("eta", "float", 0.1, min=0.0, help="learning rate (per ms)"),
        w_max_param(),
    )

    @classmethod
    def ports(cls, p):
        return learning_ports(p)

    def rule_tables(self):
        c = self.config
        four = lambda v: [float(v)] * 4  # noqa: E731
        return {"tau_pre": four(c["tau_pre"]), "tau_post": four(c["tau_post"]),
                "alpha": four(0), "beta": four(0), "gamma": four(0), "delta": four(0),
                "w_max": four(c["w_max"])}

    def init(self, key, rng):
        const, state = super().init(key, rng)
        const["ez"] = np.full(self.n_post, np.exp(-self.dt / self.config["tau_post_slow"]),
                              self.dtype)
        state["z"] = np.zeros(self.n_post, self.dtype)
        state["reference"] = np.zeros_like(state["weights"])
        return const, state

    def prepare(self, p):
        return {"e_target": jnp.exp(-self.dt / p["tau_target"])}

    def update(self, p, st, inputs, ctx):
        t, c = ctx.t, ctx.const
        r = inputs["post"]
        y = self.post_traces(st, r, c)
        z = st["z"] * c["ez"] + r * (1.0 / self.config["tau_post_slow"])
        s_del, x_del, valid = self.delayed(st, t, c)
        pad = jnp.zeros(1, y.dtype)
        yv = jnp.concatenate([y[0], pad])[c["targets"]]
        zv = jnp.concatenate([z, pad])[c["targets"]]
        rv = jnp.concatenate([r, pad])[c["targets"]]
        W, R = st["weights"], st["reference"]
        e = p["e_target"]
        R = e * R + (1.0 - e) * (W - p["P"] * R * (0.25 - R) * (0.5 - R))
        dK = p["eta"] * (p["a"] * x_del * zv * rv + p["b"] * yv * s_del
                         + p["c"] * (W - R) * yv ** 3 * rv + p["d"] * s_del)
        W = jnp.where(valid, jnp.clip(W + self.dt * dK, 0.0, c["w_max"][0]), W)
        R = jnp.where(valid, R, 0.0)
        return {**st, "weights": W.astype(self.dtype), "reference": R.astype(self.dtype),
                "y": y, "z": z.astype(self.dtype), **self.push(st, inputs["pre"], t, c)}
