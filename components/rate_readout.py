"""Rate readout: an exponentially filtered firing rate per group of neurons.

The n input neurons form ``groups`` consecutive groups of m = n / groups neurons. Each step,
with c_g the number of spikes of group g in this step,

    r_g <- r_g * (1 - dt / tau) + (1000 / tau) * c_g / m          (Hz; tau, dt in ms)

(forward Euler of tau dr/dt = -r + 1000 * (spike train per neuron)). For neurons firing at a
steady rate nu the stationary mean of r is exactly nu: averaging the update gives
r * dt / tau = (1000 / tau) * nu * dt / 1000. ``rate`` is r after this step's update.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import SPIKES, VALUE, Component, Param, Port
from .spike_count import group_sizes_problem


class RateReadout(Component):
    """Per-group exponentially filtered population rate in Hz (see the module docstring)."""

    type_name = "rate_readout"
    title = "Rate readout"
    category = "Outputs"
    description = "Smoothed firing rate (Hz) of each group of neurons"
    params = (
        Param("groups", "int", 1, min=1, help="number of equal groups of input neurons"),
        Param("tau", "float", 50.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the exponential filter"),
    )

    @classmethod
    def ports(cls, p):
        return ([Port("spikes", SPIKES, "n", required=True, help="the spikes to read")],
                [Port("rate", VALUE, p["groups"], help="filtered rate of each group (Hz)")])

    @classmethod
    def check_sizes(cls, p, sizes):
        return group_sizes_problem(p, sizes)

    def init(self, key, rng):
        return {}, {"r": np.zeros(self.config["groups"], self.dtype)}

    def step(self, p, s, inputs, ctx):
        g = self.config["groups"]
        x = inputs["spikes"].reshape(g, -1)
        frac = x.sum(axis=1) / x.shape[1]
        r = s["r"] * (1.0 - self.dt / p["tau"]) + (1000.0 / p["tau"]) * frac
        r = r.astype(self.dtype)
        return {"r": r}, {"rate": r}
