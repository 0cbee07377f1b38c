"""Modulated quadruplet projection (the original Spark's ``QuadrupletRule`` with a modulator).

Per synapse, with the pre spike s_ij(t) = s_i(t - d_ij) arriving through the synapse's delay, its
delayed pre trace x_ij, the post spikes r_j and post trace y_j (traces x <- exp(-dt/tau) x + s/tau,
updated with the step's spikes before use) and the modulator m of the step:

    dK_ij = eta m (alpha s_ij + beta y_j s_ij + gamma r_j + delta x_ij r_j)
    K_ij <- clip(K_ij + dt dK_ij, 0, max_clip)

tau_pre, tau_post, alpha, beta, gamma, delta and max_clip each have four values, for the synapse
kinds EE, EI, IE and II (pre type first: EI is an excitatory pre neuron onto an inhibitory post
neuron); every synapse uses the set of its kind, from ``sign`` (the pre neurons' types) and
``post_sign`` (the post neurons'). The original chooses the set from inhibition masks that are
still all zero when the rule is built, so every synapse follows the EE column whatever its kind;
``parameter_sets = ee_only`` reproduces that (for comparisons), ``by_sign`` (default) is right.

Event-driven: only synapses receiving a spike or whose post neuron spiked change (the two
loops of components/event_plasticity.py), so the cost per step is (arriving spikes x fan-out +
post spikes x fan-in); the original updates every post x pre entry every step, absent synapses
included (which lets its sparse kernels grow new synapses; here the connectivity stays as drawn).

Defaults: the cartpole tutorial's parameters (from the Vogels lab's plasticity cards).
"""
from __future__ import annotations

from .base import Param
from .event_plasticity import (KINDS, PLASTICITY_PASS, EventPlasticProjection, learning_ports,
                               structure_params)

SETS = {
    "tau_pre": ([10.753, 15.152, 10.417, 76.923], "ms", "time constant of the pre trace x"),
    "tau_post": ([14.085, 27.027, 16.129, 12.821], "ms", "time constant of the post trace y"),
    "alpha": ([1.207, 1.037, -1.152, -1.336], "", "weight of the pre spike term (alpha s_pre)"),
    "beta": ([-1.298, -1.205, 1.639, 1.057], "ms",
             "weight of the post-trace x pre-spike term (beta y s_pre)"),
    "gamma": ([0.398, 1.589, 1.790, -1.173], "", "weight of the post spike term (gamma s_post)"),
    "delta": ([-0.750, 0.408, -1.666, 1.557], "ms",
              "weight of the pre-trace x post-spike term (delta x s_post)"),
    "max_clip": ([50.0, 50.0, 100.0, 100.0], "mV", "upper bound of the weight magnitude"),
}


def _set_params():
    return tuple(Param(name, "floats", list(v), unit, structural=True,
                       help=f"{text}; four values, for EE, EI, IE, II synapses")
                 for name, (v, unit, text) in SETS.items())


class QuadrupletProjection(EventPlasticProjection):
    """Modulated quadruplet rule with EE/EI/IE/II parameter sets (see the module docstring)."""

    type_name = "quadruplet_projection"
    title = "Quadruplet projection"
    description = "Projection with the modulated quadruplet rule (EE/EI/IE/II parameter sets)"
    post_types = True
    params = structure_params(post_types=True) + _set_params() + (
        Param("eta", "float", 0.1, help="learning rate (per ms; dK = eta m (...))"),
        Param("parameter_sets", "choice", "by_sign", choices=("by_sign", "ee_only"),
              help="by_sign: each synapse uses the set of its kind (EE, EI, IE, II); ee_only: "
                   "every synapse uses EE, as the original does by mistake"),
        PLASTICITY_PASS,
    )

    @classmethod
    def ports(cls, p):
        return learning_ports(p, "modulator", "modulator m scaling the weight change")

    @classmethod
    def check(cls, p):
        out = super().check(p)
        for name in SETS:
            v = p[name]
            if len(v) != 4:
                out.append((name, f"needs four values (EE, EI, IE, II), got {len(v)}"))
            elif name.startswith("tau") and min(v) <= 0:
                out.append((name, "time constants must be above 0 ms"))
            elif name == "max_clip" and min(v) < 0:
                out.append((name, "bounds must be at least 0 mV"))
        return out

    def rule_tables(self):
        c = self.config
        tab = {("w_max" if n == "max_clip" else n): [float(x) for x in c[n]] for n in SETS}
        if c["parameter_sets"] == "ee_only":
            tab = {k: [v[0]] * len(KINDS) for k, v in tab.items()}
        return tab

    def modulation(self, p, inputs):
        return inputs["modulator"][0]
