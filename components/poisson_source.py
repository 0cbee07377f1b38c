"""Poisson spike source: independent neurons firing at a given rate.

Each step, each neuron spikes independently with probability

    P(spike) = rate * dt / 1000        (rate in Hz, dt in ms)

This is the Bernoulli approximation of a Poisson process: it allows at most one spike per neuron
and step, so it is exact only when rate * dt / 1000 is small (the true probability of at least one
event is 1 - exp(-rate dt / 1000); at 50 Hz and dt = 0.1 ms the two differ by 0.25 %). A rate
with rate * dt / 1000 > 1 cannot be represented and is refused when the model is built; a live
edit beyond it saturates at one spike per step. Randomness comes from the per-node, per-step key
the engine derives from the seed, so runs are reproducible and independent of the chunk size.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import SPIKES, Component, Param, Port


def spike_probability(rate, dt: float):
    """P(spike) per step for ``rate`` in Hz (Bernoulli approximation), clipped to [0, 1]."""
    return jnp.clip(rate * (dt / 1000.0), 0.0, 1.0)


def bernoulli_spikes(key, rate, dt: float, dtype):
    """0/1 spikes (in ``dtype``), one independent draw per entry of ``rate`` (Hz)."""
    rate = jnp.asarray(rate, dtype)
    u = jax.random.uniform(key, rate.shape, dtype=dtype)
    return (u < spike_probability(rate, dt)).astype(dtype)


def rate_problems(names_rates, dt: float) -> list[tuple[str, str]]:
    """Problems for rates (Hz) that need more than one spike per step at ``dt`` (ms)."""
    out = []
    for name, rate in names_rates:
        if rate * dt / 1000.0 > 1.0:
            out.append((name, f"{rate:g} Hz needs more than one spike per step at dt = {dt:g} ms "
                              f"(rate * dt / 1000 = {rate * dt / 1000.0:g} > 1); the most is "
                              f"{1000.0 / dt:g} Hz"))
    return out


def raise_rate_problems(problems) -> None:
    """Raise ValueError naming the parameter (the engine reports it with the node id)."""
    if problems:
        raise ValueError("; ".join(f"parameter '{n}': {m}" for n, m in problems))


class PoissonSource(Component):
    """Independent Bernoulli/Poisson spike trains at ``rate`` Hz: P(spike) = rate*dt/1000."""

    type_name = "poisson_source"
    title = "Poisson source"
    category = "Inputs"
    description = "Independent random spike trains at a fixed rate"
    params = (
        Param("size", "int", 100, min=1, max=10_000_000, start=1000, help="number of neurons"),
        Param("rate", "float", 10.0, "Hz", min=0.0,
              help="firing rate; P(spike) per step = rate * dt / 1000 (must be <= 1)"),
    )

    @classmethod
    def ports(cls, p):
        return [], [Port("spikes", SPIKES, p["size"], help="1 where a neuron spiked this step")]

    @classmethod
    def check_dt(cls, p, dt: float) -> list[tuple[str, str]]:
        """Checks that need the time step: rate * dt / 1000 <= 1."""
        return rate_problems([("rate", p["rate"])], dt)

    def init(self, key, rng):
        raise_rate_problems(self.check_dt(self.config, self.dt))
        return {}, {}

    def step(self, p, s, inputs, ctx):
        n = self.config["size"]
        rate = jnp.broadcast_to(p["rate"], (n,))
        return s, {"spikes": bernoulli_spikes(ctx.key, rate, self.dt, self.dtype)}
