"""Rate encoder: a vector of values -> Poisson spike trains whose rates code the values.

Each value x_i is clipped to [low, high] and mapped linearly to a rate

    r_i = rate_min + (rate_max - rate_min) * (clip(x_i, low, high) - low) / (high - low)   (Hz)

and drives ``neurons_per_value`` independent Poisson neurons (Bernoulli approximation:
P(spike) = r_i * dt / 1000 per step, see poisson_source). Output neuron i * neurons_per_value + j
belongs to value i (value-major). ``rate_min`` may exceed ``rate_max`` for an inverted code. The
``rates`` output gives r_i itself (deterministic; for plots and tests).
"""
from __future__ import annotations

import jax.numpy as jnp

from .base import SPIKES, VALUE, Component, Param, Port
from .poisson_source import bernoulli_spikes, raise_rate_problems, rate_problems


class RateEncoder(Component):
    """Values -> Poisson spikes; rate linear in the clipped value (see the module docstring)."""

    type_name = "rate_encoder"
    title = "Rate encoder"
    category = "Inputs"
    description = "Encode each value as the firing rate of a group of Poisson neurons"
    params = (
        Param("size", "int", 1, min=1, max=1_000_000, help="number of values n in the input"),
        Param("neurons_per_value", "int", 10, min=1, max=1_000_000,
              help="independent Poisson neurons per value (output size n * neurons_per_value)"),
        Param("low", "float", 0.0, help="value mapped to rate_min (smaller values are clipped)"),
        Param("high", "float", 1.0, help="value mapped to rate_max (larger values are clipped)"),
        Param("rate_min", "float", 0.0, "Hz", min=0.0, help="rate for values at or below low"),
        Param("rate_max", "float", 100.0, "Hz", min=0.0, help="rate for values at or above high"),
    )

    @classmethod
    def ports(cls, p):
        n = p["size"]
        return ([Port("value", VALUE, n, required=True, help="the values to encode")],
                [Port("spikes", SPIKES, n * p["neurons_per_value"],
                      help="Poisson spikes, neurons_per_value neurons per value (value-major)"),
                 Port("rates", VALUE, n, help="the rate (Hz) each value is coded with")])

    @classmethod
    def check(cls, p):
        if p["low"] >= p["high"]:
            return [("high", f"high ({p['high']:g}) must be above low ({p['low']:g})")]
        return []

    @classmethod
    def check_dt(cls, p, dt: float) -> list[tuple[str, str]]:
        """Checks that need the time step: every rate * dt / 1000 <= 1."""
        return rate_problems([("rate_min", p["rate_min"]), ("rate_max", p["rate_max"])], dt)

    def init(self, key, rng):
        raise_rate_problems(self.check_dt(self.config, self.dt))
        return {}, {}

    def step(self, p, s, inputs, ctx):
        span = p["high"] - p["low"]
        span = jnp.where(span > 0, span, 1.0)  # a live edit may break low < high; stay finite
        frac = jnp.clip((inputs["value"] - p["low"]) / span, 0.0, 1.0)
        rates = (p["rate_min"] + (p["rate_max"] - p["rate_min"]) * frac).astype(self.dtype)
        per_neuron = jnp.repeat(rates, self.config["neurons_per_value"])
        return s, {"spikes": bernoulli_spikes(ctx.key, per_neuron, self.dt, self.dtype),
                   "rates": rates}
