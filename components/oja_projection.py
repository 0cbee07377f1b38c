"""Oja projection (the original Spark's ``OjaRule``): Hebbian growth with a normalising decay.

Per synapse, with the delayed pre spike s_ij(t) = s_i(t - d_ij) and the post trace y_j
(y <- exp(-dt/tau_post) y + r/tau_post with the step's post spikes r):

    dK_ij = eta (y_j s_ij - K_ij y_j^2)
    K_ij <- clip(K_ij + dt dK_ij, 0, w_max)

The decay term acts on every synapse of a post neuron whose trace is non-zero, at every step,
so this rule is not event-driven: each step updates all existing synapses (n_synapses work,
still only the drawn synapses, never n_pre x n_post). Transmission, signs and delays as
components/event_plasticity.py.
"""
from __future__ import annotations

import jax.numpy as jnp

from .base import Param
from .event_plasticity import EventPlasticProjection, learning_ports, structure_params
from .hebbian_projection import w_max_param


class OjaProjection(EventPlasticProjection):
    """Oja's rule eta (y_post s_pre - K y_post^2), updated densely over the synapses."""

    type_name = "oja_projection"
    title = "Oja projection"
    description = "Projection with Oja's normalising Hebbian rule eta (y s_pre - K y^2)"
    params = structure_params() + (
        Param("tau_post", "float", 20.0, "ms", min=0.0, min_exclusive=True, structural=True,
              help="time constant of the post-synaptic trace y"),
        Param("eta", "float", 0.1, min=0.0, help="learning rate (per ms)"),
        w_max_param(),
    )

    @classmethod
    def ports(cls, p):
        return learning_ports(p)

    def rule_tables(self):
        c = self.config
        four = lambda v: [float(v)] * 4  # noqa: E731
        return {"tau_pre": four(c["tau_post"]), "tau_post": four(c["tau_post"]),
                "alpha": four(0), "beta": four(0), "gamma": four(0), "delta": four(0),
                "w_max": four(c["w_max"])}

    def update(self, p, st, inputs, ctx):
        t, c = ctx.t, ctx.const
        y = self.post_traces(st, inputs["post"], c)
        s_del, _, valid = self.delayed(st, t, c)
        yv = jnp.concatenate([y[0], jnp.zeros(1, y.dtype)])[c["targets"]]
        W = st["weights"]
        dK = p["eta"] * (yv * s_del - W * yv * yv)
        W = jnp.where(valid, jnp.clip(W + self.dt * dK, 0.0, c["w_max"][0]), W)
        return {**st, "weights": W.astype(self.dtype), "y": y,
                **self.push(st, inputs["pre"], t, c)}
