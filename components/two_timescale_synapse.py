"""Two-timescale synapse: a fast and a slow double-exponential current sharing one rise (the
original Spark's "RFS" synapses).

Per post neuron, with the events e(t) of the step (weighted arrivals, mV) and three traces
r, f, s (x <- exp(-dt/tau_x) x + e(t) for tau_rise, tau_fast, tau_slow):

    I = gain [ alpha (f - r) / (tau_fast - tau_rise) + (1 - alpha) (s - r) / (tau_slow - tau_rise) ]

i.e. alpha times the rise-decay current with tau_fast plus (1 - alpha) times the one with
tau_slow (components/rise_decay_synapse.py); each has integral gain * w, so the sum has too.
Needs tau_rise below tau_fast and tau_slow.
"""
from __future__ import annotations

import numpy as np

from .base import Component, Param
from .integration import decay
from .traced_synapse import GAIN, SIZE, synapse_ports, tau_param


class TwoTimescaleSynapse(Component):
    """alpha x fast + (1 - alpha) x slow double-exponential current, one shared rise."""

    type_name = "two_timescale_synapse"
    elementwise = True
    title = "Two-timescale synapse"
    category = "Synapses"
    description = "Mixture of a fast and a slow double-exponential synaptic current"
    params = (SIZE, Param("alpha", "float", 0.8, min=0.0, max=1.0,
                          help="share of the fast component"),
              tau_param("tau_rise", 1.0, "rise time constant (shared)"),
              tau_param("tau_fast", 5.0, "decay time constant of the fast component"),
              tau_param("tau_slow", 50.0, "decay time constant of the slow component"), GAIN)

    @classmethod
    def ports(cls, p):
        return synapse_ports(p)

    @classmethod
    def check(cls, p):
        out = []
        for name in ("tau_fast", "tau_slow"):
            if p["tau_rise"] >= p[name]:
                out.append(("tau_rise", f"tau_rise ({p['tau_rise']} ms) must be below {name} "
                                        f"({p[name]} ms)"))
        return out

    def init(self, key, rng):
        n = self.config["size"]
        return {}, {k: np.zeros(n, self.dtype) for k in ("r", "f", "s")}

    def prepare(self, p):
        return {f"e_{k}": decay(p[f"tau_{name}"], self.dt)
                for k, name in (("r", "rise"), ("f", "fast"), ("s", "slow"))}

    def step(self, p, s, inputs, ctx):
        ev = inputs["events"]
        new = {k: s[k] * p[f"e_{k}"] + ev for k in ("r", "f", "s")}
        fast = (new["f"] - new["r"]) / (p["tau_fast"] - p["tau_rise"])
        slow = (new["s"] - new["r"]) / (p["tau_slow"] - p["tau_rise"])
        return new, {"current": p["gain"] * (p["alpha"] * fast + (1.0 - p["alpha"]) * slow)}
