"""Neuromodulator: a decaying scalar signal driven by an environment's feedback.

    m <- m (1 - dt/tau) + gain * feedback          (each step; output: m after the update)

With tau = dt the signal is simply gain * feedback (no memory); a longer tau spreads a brief
feedback pulse (e.g. a cartpole failure) over time, like a dopamine transient. The feedback of
several edges is summed.
"""
from __future__ import annotations

import numpy as np

from .base import MODULATOR, Component, Param, Port


class Modulator(Component):
    """Leaky integrator of the feedback signal: m <- m (1 - dt/tau) + gain * feedback."""

    type_name = "modulator"
    title = "Neuromodulator"
    category = "Plasticity"
    description = "Turn sparse environment feedback into a decaying neuromodulator signal"
    params = (
        Param("tau", "float", 20.0, "ms", min=0.0, min_exclusive=True,
              help="decay time constant (tau = dt: no memory)"),
        Param("gain", "float", 1.0, help="modulator added per unit of feedback"),
    )

    @classmethod
    def ports(cls, p):
        return ([Port("feedback", MODULATOR, 1, multi=True, help="feedback / reward signal")],
                [Port("m", MODULATOR, 1, help="the neuromodulator level")])

    def init(self, key, rng):
        return {}, {"m": np.zeros(1, self.dtype)}

    def step(self, p, s, inputs, ctx):
        decay = 1.0 - self.dt / p["tau"]
        m = s["m"] * decay + p["gain"] * inputs["feedback"]
        m = m.astype(self.dtype)
        return {"m": m}, {"m": m}
