"""Traced synapse: an exponential synaptic current between a projection and a pool (the
original Spark's ``TracedSynapses``).

Connect projections' ``events`` (weighted spike arrivals, mV) to ``events`` and ``current`` to a
pool's ``current`` input. Per post neuron, with the events e(t) of the step:

    x <- exp(-dt/tau) x + e(t)
    I  = (gain / tau) x                    (output ``current``, mV: the voltage R*I it drives)

i.e. each arrival of weight w adds a current (gain w / tau) exp(-(t - t_a)/tau), sampled at the
steps t = t_a, t_a + dt, ... (the arrival step included); its integral is gain * w (mV ms). The
original keeps one trace per synapse and sums them; the traces are linear, so one trace per post
neuron of the summed arrivals is the same current. The original's trace has no 1/tau: x <- (1 -
dt/tau) x + scale K s and its current is x itself, whose integral is about scale K tau; into a
soma of resistance R, ``gain`` = R x scale x tau here gives the same integral (the decay per step
differs slightly: e^(-dt/tau) here, 1 - dt/tau there).
"""
from __future__ import annotations

import numpy as np

from .base import CURRENT, EVENTS, Component, Param, Port
from .integration import decay


def synapse_ports(p):
    n = p["size"]
    return ([Port("events", EVENTS, n, multi=True,
                  help="weighted spike arrivals (mV), e.g. projections' events")],
            [Port("current", CURRENT, n, help="synaptic current (mV), for a pool's current input")])


SIZE = Param("size", "int", 100, min=1, max=10_000_000, help="number of post neurons")
GAIN = Param("gain", "float", 1.0, min=0.0,
             help="integral of the current per unit of arriving weight (for the original's traced "
                  "synapse into a soma of resistance R: R x scale x tau)")


def tau_param(name, default, text):
    return Param(name, "float", default, "ms", min=0.0, min_exclusive=True, help=text)


class TracedSynapse(Component):
    """Exponential synaptic current: I = (gain/tau) x, x <- exp(-dt/tau) x + events."""

    type_name = "traced_synapse"
    elementwise = True
    title = "Traced synapse"
    category = "Synapses"
    description = "Exponential synaptic current from spike arrivals (between projection and pool)"
    params = (SIZE, tau_param("tau", 5.0, "decay time constant of the current"), GAIN)

    @classmethod
    def ports(cls, p):
        return synapse_ports(p)

    def init(self, key, rng):
        return {}, {"x": np.zeros(self.config["size"], self.dtype)}

    def prepare(self, p):
        return {"e": decay(p["tau"], self.dt)}

    def step(self, p, s, inputs, ctx):
        x = s["x"] * p["e"] + inputs["events"]
        return {"x": x}, {"current": p["gain"] / p["tau"] * x}
