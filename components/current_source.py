"""Constant or step current source.

Each neuron i receives I_i = amplitude + U(-heterogeneity, +heterogeneity) (drawn once per seed),
always (mode = constant) or only while t_on <= t < t_off (mode = step; t = step index * dt, in ms).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import CURRENT, Component, Param, Port


class CurrentSource(Component):
    type_name = "current_source"
    elementwise = True
    title = "Current source"
    category = "Inputs"
    description = "Constant or step current, optionally different for each neuron"
    params = (
        Param("size", "int", 100, min=1, help="number of outputs"),
        Param("mode", "choice", "constant", choices=("constant", "step"),
              help="always on, or on between t_on and t_off"),
        Param("amplitude", "float", 20.0, "mV", help="mean current (as the voltage it drives)"),
        Param("heterogeneity", "float", 0.0, "mV", min=0.0, structural=True,
              help="half-width of the uniform per-neuron offset (drawn once per seed)"),
        Param("t_on", "float", 0.0, "ms", min=0.0, help="start of the step (mode = step)"),
        Param("t_off", "float", 1e9, "ms", min=0.0, help="end of the step (mode = step)"),
    )

    @classmethod
    def ports(cls, p):
        return [], [Port("current", CURRENT, p["size"], help="the current")]

    @classmethod
    def check(cls, p):
        if p["mode"] == "step" and p["t_off"] <= p["t_on"]:
            return [("t_off", f"t_off ({p['t_off']} ms) must be after t_on ({p['t_on']} ms)")]
        return []

    def init(self, key, rng):
        h = self.config["heterogeneity"]
        n = self.config["size"]
        off = rng.uniform(-h, h, n) if h > 0 else np.zeros(n)
        return {"offset": off.astype(self.dtype)}, {}

    def step(self, p, s, inputs, ctx):
        cur = p["amplitude"] + ctx.const["offset"]
        if self.config["mode"] == "step":
            time = ctx.t * self.dt
            cur = jnp.where((time >= p["t_on"]) & (time < p["t_off"]), cur, 0.0)
        return s, {"current": cur.astype(self.dtype)}
