"""Spike count: spikes per group of neurons over fixed, back-to-back time windows.

The n input neurons are split into ``groups`` consecutive groups of n / groups neurons (group g
holds neurons g*m .. g*m + m - 1, m = n / groups). Time is cut into windows of
W = max(1, round(window / dt)) steps: window k holds steps k*W .. k*W + W - 1 (step 0 is the
first step after a reset). The state accumulates the spikes of the current window; at the last
step of a window (t + 1 divisible by W) the totals are published and the accumulator restarts.

So ``counts`` at step t is the number of spikes each group emitted during the steps
W*(j-1) .. W*j - 1 with j = floor((t + 1) / W), i.e. the last *complete* window including step t
itself when t ends a window; it is zero until the first window completes.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import SPIKES, VALUE, Component, Param, Port


def group_sizes_problem(p, sizes) -> list[tuple[str, str]]:
    """The n input neurons must split into ``groups`` equal groups."""
    n = sizes.get("n")
    if n is not None and n % p["groups"] != 0:
        return [("groups", f"{n} input neurons cannot be split into {p['groups']} equal groups "
                           "(n must be divisible by groups)")]
    return []


def window_steps(window_ms: float, dt: float) -> int:
    """Steps per window: round(window / dt), at least 1."""
    return max(1, int(round(window_ms / dt)))


class SpikeCount(Component):
    """Spikes per group over the last complete window of round(window/dt) steps."""

    type_name = "spike_count"
    title = "Spike count"
    category = "Outputs"
    description = "Count spikes per group of neurons over fixed time windows"
    params = (
        Param("groups", "int", 1, min=1, help="number of equal groups of input neurons"),
        Param("window", "float", 100.0, "ms", min=0.0, min_exclusive=True, structural=True,
              help="length of a counting window (rounded to whole steps)"),
    )

    @classmethod
    def ports(cls, p):
        return ([Port("spikes", SPIKES, "n", required=True, help="the spikes to count")],
                [Port("counts", VALUE, p["groups"],
                      help="spikes per group in the last complete window")])

    @classmethod
    def check_sizes(cls, p, sizes):
        return group_sizes_problem(p, sizes)

    def init(self, key, rng):
        g = self.config["groups"]
        return {}, {"acc": np.zeros(g, self.dtype), "counts": np.zeros(g, self.dtype)}

    def step(self, p, s, inputs, ctx):
        g = self.config["groups"]
        w = window_steps(self.config["window"], self.dt)
        acc = s["acc"] + inputs["spikes"].reshape(g, -1).sum(axis=1)
        done = (ctx.t + 1) % w == 0
        counts = jnp.where(done, acc, s["counts"])
        acc = jnp.where(done, 0.0, acc).astype(self.dtype)
        return {"acc": acc, "counts": counts}, {"counts": counts}
