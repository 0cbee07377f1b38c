"""Three-factor Hebbian projection (the original Spark's ``ThreeFactorHebbianRule``), event-driven.

The Hebbian rule of components/hebbian_projection.py gated by a reward (or any modulator) r(t):

    dK_ij = eta r (y_j s_ij + r_j x_ij)
    K_ij <- clip(K_ij + dt dK_ij, 0, w_max)

(s_ij: the delayed pre spike, x_ij its trace, y_j the post trace, r_j the post spikes; traces
x <- exp(-dt/tau) x + s/tau). With r = 0 nothing changes. The original multiplies by (r + 0.1)
instead of r, so it potentiates every co-active synapse even when no reward comes (tested).
"""
from __future__ import annotations

from .base import Param
from .event_plasticity import EventPlasticProjection, learning_ports, structure_params
from .hebbian_projection import hebbian_tables, trace_taus, w_max_param


class ThreeFactorHebbianProjection(EventPlasticProjection):
    """Hebbian potentiation gated by a reward: eta r (y_post s_pre + s_post x_pre)."""

    type_name = "three_factor_hebbian_projection"
    title = "Three-factor Hebbian projection"
    description = "Projection with reward-gated Hebbian plasticity eta r (y s_pre + s_post x)"
    params = structure_params() + trace_taus(10.0, 10.0) + (
        Param("eta", "float", 0.1, min=0.0,
              help="learning rate (per ms; the original calls it gamma)"),
        w_max_param(),
    )

    @classmethod
    def ports(cls, p):
        return learning_ports(p, "reward", "reward r gating the weight change (0: no change)")

    def rule_tables(self):
        return hebbian_tables(self.config)

    def modulation(self, p, inputs):
        return inputs["reward"][0]
