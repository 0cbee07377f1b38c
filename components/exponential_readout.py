"""Exponential-integrator readout (the original Spark's ``ExponentialIntegrator``): the rate of
each group of input neurons, low-pass filtered twice and scaled to the saturation rate.

The n inputs form ``groups`` consecutive groups (the first n % groups groups have one neuron
more). Each step, with c_g spikes in group g of n_g neurons:

    f_g = 1000 c_g / (n_g dt)                          (the group's rate this step, Hz)
    r_g <- e_r r_g + (1 - e_r) f_g / saturation        e_r = exp(-dt/tau_rise)
    o_g <- e_d o_g + (1 - e_d) r_g                     e_d = exp(-dt/tau_decay)

and ``value`` is o (o = 1 when the group fires steadily at ``saturation`` Hz per neuron). Each
filter is exact for input held over the step, so a steady rate gives the same o at any dt. The
original scales its traces with dt in ms (its output is right only at dt = 1 ms) and by default
shuffles which neurons form which group; here the groups are consecutive, so with
spike_merge(A, B) group 0 is A and group 1 is B. Feed ``value`` to argmax_action for the action.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import SPIKES, VALUE, Component, Param, Port
from .integration import decay


def group_index(n: int, groups: int) -> np.ndarray:
    """Group of each of n inputs: consecutive, the first n % groups groups one larger."""
    base, extra = divmod(n, groups)
    counts = np.array([base + 1] * extra + [base] * (groups - extra))
    return np.repeat(np.arange(groups), counts), counts


class ExponentialReadout(Component):
    """Double low-pass filtered, normalised group rates (see the module docstring)."""

    type_name = "exponential_readout"
    title = "Exponential-integrator readout"
    category = "Outputs"
    description = "Group rates filtered by rise/decay traces, 1 at the saturation rate"
    params = (
        Param("groups", "int", 2, min=1, help="number of outputs (consecutive input groups)"),
        Param("tau_rise", "float", 5.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the first filter"),
        Param("tau_decay", "float", 10.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the second filter"),
        Param("saturation", "float", 50.0, "Hz", min=0.0, min_exclusive=True,
              help="rate per neuron at which an output reaches 1"),
    )

    @classmethod
    def ports(cls, p):
        return ([Port("spikes", SPIKES, "n", required=True, help="the spikes to read")],
                [Port("value", VALUE, p["groups"], help="filtered rate / saturation per group")])

    @classmethod
    def check_sizes(cls, p, sizes):
        n = sizes.get("n")
        if n is not None and n < p["groups"]:
            return [("groups", f"{p['groups']} groups need at least as many inputs, got {n}")]
        return []

    def init(self, key, rng):
        idx, counts = group_index(self.sizes["n"], self.config["groups"])
        g = self.config["groups"]
        return ({"group": idx.astype(np.int32), "per_rate": (1000.0 / (counts * self.dt)).astype(self.dtype)},
                {"r": np.zeros(g, self.dtype), "o": np.zeros(g, self.dtype)})

    def prepare(self, p):
        return {"e_r": decay(p["tau_rise"], self.dt), "e_d": decay(p["tau_decay"], self.dt)}

    def step(self, p, s, inputs, ctx):
        g = self.config["groups"]
        c = jnp.zeros(g, self.dtype).at[ctx.const["group"]].add(inputs["spikes"])
        f = c * ctx.const["per_rate"] / p["saturation"]
        r = s["r"] * p["e_r"] + (1.0 - p["e_r"]) * f
        o = s["o"] * p["e_d"] + (1.0 - p["e_d"]) * r
        return {"r": r, "o": o}, {"value": o}
