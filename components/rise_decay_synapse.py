"""Rise-decay synapse: a double-exponential synaptic current (the original Spark's rise/decay
traced synapses).

Per post neuron, with the events e(t) of the step (weighted arrivals, mV):

    r <- exp(-dt/tau_rise) r + e(t),   d <- exp(-dt/tau_decay) d + e(t)
    I  = gain / (tau_decay - tau_rise) (d - r)          (output ``current``, mV)

so an arrival of weight w at t_a gives the current gain w (exp(-s/tau_decay) - exp(-s/tau_rise)) /
(tau_decay - tau_rise), s = t - t_a, exactly at the steps: zero at the arrival step, rising
in about tau_rise, decaying with tau_decay; its integral is gain * w (mV ms), as the traced
synapse's, whatever the time constants. Needs tau_rise < tau_decay.
"""
from __future__ import annotations

import numpy as np

from .base import Component
from .integration import decay
from .traced_synapse import GAIN, SIZE, synapse_ports, tau_param


class RiseDecaySynapse(Component):
    """Double-exponential synaptic current with unit integral (times gain)."""

    type_name = "rise_decay_synapse"
    elementwise = True
    title = "Rise-decay synapse"
    category = "Synapses"
    description = "Double-exponential synaptic current (rise and decay time constants)"
    params = (SIZE, tau_param("tau_rise", 1.0, "rise time constant"),
              tau_param("tau_decay", 5.0, "decay time constant"), GAIN)

    @classmethod
    def ports(cls, p):
        return synapse_ports(p)

    @classmethod
    def check(cls, p):
        if p["tau_rise"] >= p["tau_decay"]:
            return [("tau_rise", f"tau_rise ({p['tau_rise']} ms) must be below tau_decay "
                                 f"({p['tau_decay']} ms)")]
        return []

    def init(self, key, rng):
        n = self.config["size"]
        return {}, {"r": np.zeros(n, self.dtype), "d": np.zeros(n, self.dtype)}

    def prepare(self, p):
        return {"e_r": decay(p["tau_rise"], self.dt), "e_d": decay(p["tau_decay"], self.dt)}

    def step(self, p, s, inputs, ctx):
        r = s["r"] * p["e_r"] + inputs["events"]
        d = s["d"] * p["e_d"] + inputs["events"]
        return {"r": r, "d": d}, {"current": p["gain"] / (p["tau_decay"] - p["tau_rise"]) * (d - r)}
