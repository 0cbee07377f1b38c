"""Place cells on a line or a ring (the original Spark's topological spikers): each input value
drives ``resolution`` cells, which spike as Poisson or leaky integrate-to-threshold neurons.

Tuning. For dimension d, u = clip((x_d - low_d) / (high_d - low_d), 0, 1) and cell k has the
activation

    a_k = exp(-(0.5 / sigma) g(phi_k - u pi)^2)

line: g = tanh, phi_k = k pi / (R - 1) (k = 0 .. R-1, from 0 to pi);
ring: g = sin,  phi_k = k pi / R (R distinct points of the circle: sin^2 has period pi, so u = 0
      and u = 1 are the same point and the pattern turns round by one cell when u grows by 1/R).
sigma acts as a variance (in radians^2), as in the original. Outputs are dimension-major (cell k
of dimension d is entry d R + k). The original places its ring cells at linspace(0, pi, R), so
its first and last cells coincide (the same point of the ring counted twice); it also puts the
peak at phi = pi - u pi on a ring and at u pi on a line; here both peak at u pi.

Spikers.
  poisson: P(spike) = max_rate * dt / 1000 * a_k per step (poisson_source's Bernoulli form).
  linear:  a leaky integrator per cell, normalised to threshold 1,
               v <- exp(-dt/tau) v + (1 - exp(-dt/tau)) G a_k      (when not cooling down)
           a spike when v > 1, then v <- 0 and the cell ignores its input for the cool-down
           n_cd = floor(cooldown/dt + 0.001) steps. G = E / (E - 1), E = exp((1000/max_rate -
           cooldown) / tau), so that a = 1 reaches the threshold (1000/max_rate - cooldown) ms
           after the cool-down: about max_rate Hz (the period is rounded up to whole steps), and
           a < 1/G never fires. The original's stand-alone linear spiker multiplies the drive by
           dt (in ms) as well, so away from dt = 1 ms its rates change (at dt = 0.1 ms it never
           reaches the threshold); here they do not depend on dt (tested).
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .base import SPIKES, VALUE, Component, Param, Port
from .lif import BIG
from .poisson_source import bernoulli_spikes, raise_rate_problems, rate_problems


def linear_gain(max_rate: float, cooldown: float, tau: float) -> float:
    """G of the linear spiker: a = 1 reaches threshold 1000/max_rate - cooldown ms after reset."""
    e = math.exp((1000.0 / max_rate - cooldown) / tau)
    return e / (e - 1.0)


class TopologicalEncoder(Component):
    """Place cells on a line or ring driving Poisson or linear spikers (see the docstring)."""

    type_name = "topological_encoder"
    title = "Place cells (line / ring)"
    category = "Inputs"
    description = "Encode values as spikes of place cells on a line or ring (original Spark)"
    params = (
        Param("low", "floats", [0.0], help="value mapped to the first cell, per dimension"),
        Param("high", "floats", [1.0], help="value mapped to the last cell, per dimension"),
        Param("resolution", "int", 64, min=2, max=100_000, help="cells per dimension"),
        Param("sigma", "float", 1.0 / 32.0, "rad^2", min=0.0, min_exclusive=True,
              help="tuning width: a = exp(-(0.5/sigma) g(phi - u pi)^2) (a variance)"),
        Param("topology", "choice", "line", choices=("line", "ring"),
              help="line: cells from 0 to pi, g = tanh; ring: the ends are glued, g = sin"),
        Param("spiker", "choice", "linear", choices=("linear", "poisson"),
              help="poisson: P(spike) = max_rate dt a / 1000; linear: leaky integrate to "
                   "threshold with a cool-down"),
        Param("max_rate", "float", 100.0, "Hz", min=0.0, min_exclusive=True,
              help="rate of a cell at activation 1"),
        Param("tau", "float", 100.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the linear spiker's integrator"),
        Param("cooldown", "float", 2.0, "ms", min=0.0,
              help="linear spiker: time the cell ignores its input after a spike"),
    )

    @classmethod
    def ports(cls, p):
        dims = len(p["low"])
        n = dims * p["resolution"]
        return ([Port("value", VALUE, dims, required=True, help="the values to encode")],
                [Port("spikes", SPIKES, n, help="spikes of the cells (dimension-major)"),
                 Port("activation", VALUE, n, help="activation a of each cell (0..1)")])

    @classmethod
    def check(cls, p):
        low, high = p["low"], p["high"]
        if not low:
            return [("low", "needs at least one dimension")]
        if len(low) != len(high):
            return [("high", f"low has {len(low)} entries but high has {len(high)}; give one "
                             "entry per dimension in both")]
        for d, (a, b) in enumerate(zip(low, high)):
            if not a < b:
                return [("high", f"high must be above low in every dimension; dimension {d} "
                                 f"has low = {a:g}, high = {b:g}")]
        if p["spiker"] == "linear" and p["max_rate"] * p["cooldown"] >= 1000.0:
            return [("max_rate", f"max_rate ({p['max_rate']:g} Hz) leaves no time to integrate "
                                 f"after a cool-down of {p['cooldown']:g} ms (needs max_rate x "
                                 "cooldown < 1000)")]
        return []

    @classmethod
    def check_dt(cls, p, dt):
        return rate_problems([("max_rate", p["max_rate"])], dt) if p["spiker"] == "poisson" else []

    def init(self, key, rng):
        c = self.config
        raise_rate_problems(self.check_dt(c, self.dt))
        r = c["resolution"]
        k = np.arange(r)
        phi = k * math.pi / (r if c["topology"] == "ring" else r - 1)
        const = {"phi": phi.astype(self.dtype),
                 "low": np.asarray(c["low"], self.dtype),
                 "span": (np.asarray(c["high"], np.float64) - np.asarray(c["low"])).astype(self.dtype)}
        n = len(c["low"]) * r
        state = {}
        if c["spiker"] == "linear":
            state = {"v": np.zeros(n, self.dtype), "since": np.full(n, BIG, np.int32)}
        return const, state

    def prepare(self, p):
        c = self.config
        if c["spiker"] != "linear":
            return {}
        e = jnp.exp((1000.0 / p["max_rate"] - p["cooldown"]) / p["tau"])
        return {"e_v": jnp.exp(-self.dt / p["tau"]), "G": e / (e - 1.0),
                "n_cd": jnp.floor(p["cooldown"] / self.dt + 1e-3).astype(jnp.int32)}

    def step(self, p, s, inputs, ctx):
        c = ctx.const
        u = jnp.clip((inputs["value"] - c["low"]) / c["span"], 0.0, 1.0)
        d = c["phi"][None, :] - u[:, None] * math.pi
        g = jnp.sin(d) if self.config["topology"] == "ring" else jnp.tanh(d)
        a = jnp.exp(-(0.5 / p["sigma"]) * g * g).reshape(-1).astype(self.dtype)
        if self.config["spiker"] == "poisson":
            return s, {"spikes": bernoulli_spikes(ctx.key, p["max_rate"] * a, self.dt, self.dtype),
                       "activation": a}
        since = jnp.minimum(s["since"] + 1, BIG)
        ready = since > p["n_cd"]
        v = jnp.where(ready, s["v"] * p["e_v"] + (1.0 - p["e_v"]) * p["G"] * a, s["v"])
        spike = v > 1.0
        return ({"v": jnp.where(spike, 0.0, v), "since": jnp.where(spike, 0, since)},
                {"spikes": spike.astype(self.dtype), "activation": a})
