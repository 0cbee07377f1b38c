"""Hebbian projection (the original Spark's ``HebbianRule``), event-driven.

Per synapse, with the pre spike s_ij(t) = s_i(t - d_ij) arriving through the synapse's delay, its
delayed pre trace x_ij and the post trace y_j (x <- exp(-dt/tau) x + s/tau, updated with the
step's spikes before use, as components/event_plasticity.py):

    dK_ij = eta (y_j s_ij + r_j x_ij)
    K_ij <- clip(K_ij + dt dK_ij, 0, w_max)

(r_j: post spikes of the step). Both terms only potentiate: a pre spike arriving after post
activity and a post spike after pre activity both strengthen the synapse. Only synapses that
receive a spike or whose post neuron spiked are touched (event-driven). The original has no
upper bound (its weights grow without limit); ``w_max`` bounds them.
"""
from __future__ import annotations

from .base import Param
from .event_plasticity import EventPlasticProjection, learning_ports, structure_params


def trace_taus(pre: float, post: float):
    return (Param("tau_pre", "float", pre, "ms", min=0.0, min_exclusive=True, structural=True,
                  help="time constant of the pre-synaptic trace x (x <- e^(-dt/tau) x + s/tau)"),
            Param("tau_post", "float", post, "ms", min=0.0, min_exclusive=True, structural=True,
                  help="time constant of the post-synaptic trace y"))


def w_max_param(default=100.0):
    return Param("w_max", "float", default, "mV", min=0.0, structural=True,
                 help="upper bound of the weight magnitudes (the lower bound is 0)")


def hebbian_tables(cfg):
    """The Hebbian rule as the general event-driven rule: alpha = gamma = 0, beta = delta = 1."""
    four = lambda v: [float(v)] * 4  # noqa: E731
    return {"tau_pre": four(cfg["tau_pre"]), "tau_post": four(cfg["tau_post"]),
            "alpha": four(0.0), "beta": four(1.0), "gamma": four(0.0), "delta": four(1.0),
            "w_max": four(cfg["w_max"])}


class HebbianProjection(EventPlasticProjection):
    """Pair-based Hebbian potentiation, eta (y_post s_pre + s_post x_pre)."""

    type_name = "hebbian_projection"
    title = "Hebbian projection"
    description = "Projection with Hebbian potentiation eta (y_post s_pre + s_post x_pre)"
    params = structure_params() + trace_taus(20.0, 20.0) + (
        Param("eta", "float", 0.01, min=0.0, help="learning rate (per ms)"),
        w_max_param(),
    )

    @classmethod
    def ports(cls, p):
        return learning_ports(p)

    def rule_tables(self):
        return hebbian_tables(self.config)
