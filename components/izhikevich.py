"""Izhikevich (2003) simple-model pool.

Equations (v in mV, t in ms; the input I is in the model's own units, as in the paper):

    dv/dt             = 0.04 v^2 + 5 v + 140 - u + I_syn + I_ext
    du/dt             = a (b v - u)
    tau_syn dI_syn/dt = -I_syn
    v >= v_peak (30 mV):  v <- c,  u <- u + d

Integration (stable at any dt; chosen because forward Euler overshoots the v^2 term: one step
from a strongly hyperpolarised v, e.g. after a -100 mV jump at dt = 0.5 ms, lands above v_peak
and fires a spike the model does not have). Over a step u and the input I = I_syn + I_ext are
held at their start-of-step values, and the v equation, then a Riccati equation with constant
coefficients, is solved exactly: with x = v + 62.5 and D = I - u - 16.25,

    dx/dt = 0.04 x^2 + D
    x(dt) = (x C + (D/0.04) S) / (C - x S)
            D > 0:  C = cos(w dt), S = sin(w dt)/r;  D < 0:  C = 1, S = tanh(w dt)/r;
            r = sqrt(|D|/0.04), w = 0.04 r;  D = 0:  C = 1, S = 0.04 dt.

This solution never crosses a resting or threshold root of the right-hand side (so strong
inhibition relaxes v back instead of overshooting), and it reaches +infinity within the step
exactly when the denominator reaches 0 (or w dt >= pi for D > 0): the neuron spikes when v
reaches v_peak at any time in the step (the solution is monotone within a step). u is
advanced by exponential Euler with v held at its start value, u(dt) = b v + (u - b v) e^(-a dt).
The explicit coupling of v and u is checked by validation around the resting state
(components/integration.py); it is stable at any dt for the presets.

Each step: syn arrivals are added to I_syn and jumps to v (Brian2's on_pre of the previous step,
so a jump arriving at the step right after the neuron's spike is overwritten by the reset, as
in Brian2; see components/lif.py); v and u are advanced; where v reached v_peak the neuron
spikes (v <- c, u <- u + d); I_syn decays by exp(-dt/tau_syn). The ``v`` output is v after the
step (c on a spike step). Initial state: v = v0 (default -65 mV), u = b v0.

``preset`` picks (a, b, c, d) from the paper: regular_spiking (0.02, 0.2, -65, 8), fast_spiking
(0.1, 0.2, -65, 2), intrinsically_bursting (0.02, 0.2, -55, 4), chattering (0.02, 0.2, -50, 2).
The parameters a, b, c, d are used only when preset = custom (otherwise they are ignored).
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .base import CURRENT, EVENTS, SPIKES, VALUE, Component, Param, Port
from .integration import coupling_problem, decay
from .lif import BIG, begin_step

ALPHA = 0.04          # the v^2 coefficient; 0.04 v^2 + 5 v + 140 = ALPHA (v + X_SHIFT)^2 - D_SHIFT
X_SHIFT = 62.5
D_SHIFT = 16.25

PRESETS = {
    "regular_spiking": (0.02, 0.2, -65.0, 8.0),
    "fast_spiking": (0.1, 0.2, -65.0, 2.0),
    "intrinsically_bursting": (0.02, 0.2, -55.0, 4.0),
    "chattering": (0.02, 0.2, -50.0, 2.0),
}


def abcd(config: dict) -> tuple[float, float, float, float]:
    """The (a, b, c, d) a node with this configuration starts with."""
    if config["preset"] in PRESETS:
        return PRESETS[config["preset"]]
    return (config["a"], config["b"], config["c"], config["d"])


class Izhikevich(Component):
    """Izhikevich simple-model neurons with firing-pattern presets."""

    type_name = "izhikevich"
    elementwise = True
    title = "Izhikevich pool"
    category = "Neurons"
    description = "Izhikevich (2003) neurons: regular/fast spiking, bursting, chattering presets"
    params = (
        Param("size", "int", 100, min=1, max=10_000_000, help="number of neurons"),
        Param("preset", "choice", "regular_spiking",
              choices=(*PRESETS, "custom"),
              help="firing pattern (a, b, c, d from Izhikevich 2003), or custom"),
        Param("a", "float", 0.02, "1/ms", help="recovery rate of u (preset = custom)"),
        Param("b", "float", 0.2, help="sensitivity of u to v (preset = custom)"),
        Param("c", "float", -65.0, "mV", help="reset potential after a spike (preset = custom)"),
        Param("d", "float", 8.0, help="increment of u at a spike (preset = custom)"),
        Param("v_peak", "float", 30.0, "mV", help="spike cut-off: v >= v_peak is a spike"),
        Param("tau_syn", "float", 5.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the exponential synaptic current fed by the 'syn' input"),
        Param("v0", "float", -65.0, "mV", structural=True,
              help="initial potential (u starts at b * v0)"),
    )

    @classmethod
    def ports(cls, p):
        n = p["size"]
        ins = [
            Port("current", CURRENT, n, multi=True, help="injected current I (model units)"),
            Port("syn", EVENTS, n, multi=True,
                 help="spike arrivals for the exponential synaptic current (tau_syn)"),
            Port("jump", EVENTS, n, multi=True, help="spike arrivals added directly to v (mV)"),
        ]
        outs = [Port("spikes", SPIKES, n, help="1 where a neuron spiked this step"),
                Port("v", VALUE, n, help="membrane potential after this step (mV)"),
                Port("u", VALUE, n, help="recovery variable after this step")]
        return ins, outs

    @classmethod
    def check(cls, p):
        out = []
        c = abcd(p)[2]
        if c >= p["v_peak"]:
            name = "c" if p["preset"] == "custom" else "v_peak"
            out.append((name, f"the reset c ({c} mV) must be below v_peak ({p['v_peak']} mV)"))
        if p["v0"] >= p["v_peak"]:
            out.append(("v0", f"v0 ({p['v0']} mV) must be below v_peak ({p['v_peak']} mV)"))
        return out

    @classmethod
    def check_dt(cls, p, dt):
        a, b = abcd(p)[:2]
        return coupling_problem(lambda h: _rest_jacobian(a, b, h), dt,
                                "b" if p["preset"] == "custom" else "preset",
                                "v and u (each held for the other)")

    def init(self, key, rng):
        n = self.config["size"]
        b = abcd(self.config)[1]
        v0 = self.config["v0"]
        return {}, {"v": np.full(n, v0, self.dtype),
                    "u": np.full(n, b * v0, self.dtype),
                    "I_syn": np.zeros(n, self.dtype),
                    "since": np.full(n, BIG, np.int32)}

    def _abcd(self, p):
        if self.config["preset"] == "custom":
            return p["a"], p["b"], p["c"], p["d"]
        return PRESETS[self.config["preset"]]

    def prepare(self, p):
        return {"e_syn": decay(p["tau_syn"], self.dt),
                "e_a": jnp.exp(-self._abcd(p)[0] * self.dt)}

    def step(self, p, s, inputs, ctx):
        dt = self.dt
        _, b, c, d = self._abcd(p)
        v0, I_syn, since, _ = begin_step(s, inputs, 0)
        u0 = s["u"]
        x, passed = riccati_step(v0 + X_SHIFT, I_syn + inputs["current"] - u0 - D_SHIFT, dt)
        v = x - X_SHIFT
        spike = passed | (v0 >= p["v_peak"]) | (v >= p["v_peak"])
        u = b * v0 + (u0 - b * v0) * p["e_a"]
        v = jnp.where(spike, c, v).astype(v0.dtype)
        u = jnp.where(spike, u + d, u).astype(u0.dtype)
        I_syn = I_syn * p["e_syn"]
        return ({"v": v, "u": u, "I_syn": I_syn, "since": jnp.where(spike, 0, since)},
                {"spikes": spike.astype(v.dtype), "v": v, "u": u})


def riccati_step(x0, D, h):
    """x(h) of dx/dt = ALPHA x^2 + D from x0 (D constant), and whether x passed +infinity
    within h (see the module docstring)."""
    r = jnp.sqrt(jnp.abs(D) / ALPHA)
    wh = ALPHA * r * h
    pos = D > 0
    C = jnp.where(pos, jnp.cos(wh), 1.0)
    S = jnp.where(r > 0, jnp.where(pos, jnp.sin(wh), jnp.tanh(wh)) / jnp.where(r > 0, r, 1.0),
                  ALPHA * h)
    den = C - x0 * S
    passed = (pos & (wh >= np.pi)) | (den <= 0)
    x = (x0 * C + (D / ALPHA) * S) / jnp.where(passed, 1.0, den)
    return x, passed


def _rest_jacobian(a, b, h):
    """The step's Jacobian in (v, u) at the resting state without input (None if none):
    v* is the lower root of 0.04 v^2 + (5 - b) v + 140, f' = 0.08 v* + 5 the slope of the v
    equation there (u held), and the exact v step has dv/dv0 = e^(f' h),
    dv/du0 = (1 - e^(f' h))/f'."""
    disc = (5.0 - b) ** 2 - 4.0 * ALPHA * 140.0
    if disc < 0:
        return None
    v_star = (-(5.0 - b) - math.sqrt(disc)) / (2.0 * ALPHA)
    f1 = 2.0 * ALPHA * v_star + 5.0
    e = math.exp(f1 * h)
    dv_du = -h if abs(f1) < 1e-12 else (1.0 - e) / f1
    e_a = math.exp(-a * h)
    return np.array([[e, dv_du], [b * (1.0 - e_a), e_a]])
