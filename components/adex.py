"""Adaptive exponential integrate-and-fire pool (AdEx; Brette & Gerstner 2005).

The published model, C dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_T)/Delta_T) - w + I and
tau_w dw/dt = a (V - E_L) - w, is divided by g_L so that it speaks Spark's units (currents as
the voltage they drive, mV): with tau_m = C/g_L, w and I in mV (w/g_L, I/g_L) and a
dimensionless (a/g_L),

    tau_m dV/dt       = -(V - v_rest) + delta_T exp((V - v_th)/delta_T) - w + I_syn + I_ext
    tau_w dw/dt       = a (V - v_rest) - w
    tau_syn dI_syn/dt = -I_syn
    V > v_peak:  V <- v_reset,  w <- w + b

(v_rest is E_L and v_th the soft threshold V_T.)

Integration: exponential Euler. Over a step the exponential term and w are held at their
start-of-step values in the V equation, and the rest of it (the leak and the exponential
synaptic current) is integrated exactly, as in the LIF (components/lif.py):

    V(t+dt) = V_inf + (V - V_inf) e_m + I_syn K(tau_syn),
              V_inf = v_rest + delta_T exp((V - v_th)/delta_T) - w + I_ext
    w(t+dt) = w_inf + (w - w_inf) e_w,   w_inf = a (V - v_rest)      (V held at its start value)

(e_x = exp(-dt/tau_x)). Each part is stable at any dt and exact for constant input when the
other is constant; with delta_T -> 0 and a = b = 0 the step is the LIF's exactly. The two
explicitly coupled updates of V and w can still be unstable when dt is large against tau_m and
tau_w and a is large: validation refuses such a dt, naming ``a`` and the largest stable dt
(components/integration.py). Brian2 has no matching method for the AdEx (its
exponential_euler needs equations linear in their own variable).

Step order, jumps and refractoriness as the LIF's (components/lif.py): syn arrivals join I_syn,
jumps join V; V is held at v_reset during the refractory period (t_ref, default 0; w keeps
evolving); a non-refractory neuron with V > v_peak spikes (V <- v_reset, w <- w + b); I_syn
decays by e_s.

Overflow guard: the exponent's argument is clipped at EXP_ARG_MAX (50). Near that value the
exponential term alone moves V by more than any sensible v_peak in one step, so the clip never
changes when a neuron spikes, but a large input or a high v_peak cannot produce Inf.

Defaults: the regular-spiking (adapting) cortical cell fitted by Brette & Gerstner (C = 281 pF,
g_L = 30 nS, E_L = -70.6 mV, V_T = -50.4 mV, Delta_T = 2 mV, tau_w = 144 ms, a = 4 nS,
b = 0.0805 nA), i.e. tau_m = 9.37 ms, a = 4/30, b = 80.5 pA / 30 nS = 2.683 mV; with
v_reset = -60 mV and v_peak = 0 mV.
"""
from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from .base import VALUE, Component, Param, Port
from .integration import coupling_problem, decay
from .lif import BIG, begin_step, end_step, initial_v, pool_params, pool_ports, prepare_pool

EXP_ARG_MAX = 50.0  # clip of (V - v_th)/delta_T inside the exponential

_OVERRIDES = {
    "v_rest": dict(default=-70.6, help="leak reversal potential E_L"),
    "v_reset": dict(default=-60.0, help="potential after a spike"),
    "v_th": dict(default=-50.4, help="soft threshold V_T of the exponential term"),
    "tau_m": dict(default=281.0 / 30.0, help="membrane time constant C/g_L"),
    "t_ref": dict(default=0.0, help="refractory period (V held at v_reset; w keeps evolving)"),
}


def exp_current(v, v_th, delta_T):
    """delta_T exp((v - v_th)/delta_T) with the argument clipped at EXP_ARG_MAX."""
    return delta_T * jnp.exp(jnp.minimum((v - v_th) / delta_T, EXP_ARG_MAX))


def _adex_params():
    base = pool_params(extra=(
        Param("delta_T", "float", 2.0, "mV", min=0.0, min_exclusive=True,
              help="slope factor of the exponential spike initiation"),
        Param("v_peak", "float", 0.0, "mV", help="a spike is emitted when V exceeds this"),
        Param("a", "float", 4.0 / 30.0, help="subthreshold adaptation a/g_L (dimensionless)"),
        Param("tau_w", "float", 144.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the adaptation current w"),
        Param("b", "float", 80.5 / 30.0, "mV",
              help="spike-triggered increment of w (b/g_L)"),
    ))
    return tuple(dataclasses.replace(p, **_OVERRIDES[p.name]) if p.name in _OVERRIDES else p
                 for p in base)


class AdEx(Component):
    """Adaptive exponential integrate-and-fire pool (see the module docstring for the equations)."""

    type_name = "adex"
    elementwise = True
    title = "AdEx pool"
    category = "Neurons"
    description = "Adaptive exponential integrate-and-fire neurons (Brette & Gerstner 2005)"
    params = _adex_params()

    @classmethod
    def ports(cls, p):
        return pool_ports(p, extra_out=(
            Port("w", VALUE, p["size"], help="adaptation current after this step (mV)"),))

    @classmethod
    def check(cls, p):
        out = []
        if p["v_reset"] >= p["v_peak"]:
            out.append(("v_reset", f"v_reset ({p['v_reset']} mV) must be below v_peak "
                                   f"({p['v_peak']} mV)"))
        if p["v_th"] >= p["v_peak"]:
            out.append(("v_th", f"v_th ({p['v_th']} mV) must be below v_peak ({p['v_peak']} mV)"))
        return out

    @classmethod
    def check_dt(cls, p, dt):
        return coupling_problem(lambda h: _rest_jacobian(p, h), dt, "a",
                                "V and w (exponential Euler, each held for the other)")

    def init(self, key, rng):
        n = self.config["size"]
        return {}, {"v": initial_v(self.config, rng, self.dtype),
                    "I_syn": np.zeros(n, self.dtype),
                    "w": np.zeros(n, self.dtype),
                    "since": np.full(n, BIG, np.int32)}

    def prepare(self, p):
        return {**prepare_pool(p, self.dt, syn="tau_syn"), "e_w": decay(p["tau_w"], self.dt)}

    def step(self, p, s, inputs, ctx):
        v0, I_syn, since, refractory = begin_step(s, inputs, p["n_ref"])
        w0 = s["w"]
        v_inf = p["v_rest"] + exp_current(v0, p["v_th"], p["delta_T"]) - w0 + inputs["current"]
        v = v_inf + (v0 - v_inf) * p["e_m"] + I_syn * p["k_syn"]
        w_inf = p["a"] * (v0 - p["v_rest"])
        w = w_inf + (w0 - w_inf) * p["e_w"]
        v, spike, since = end_step(v, v0, since, refractory, p["v_peak"], p["v_reset"])
        sp = spike.astype(v.dtype)
        w = w + p["b"] * sp
        I_syn = I_syn * p["e_syn"]
        return ({"v": v, "I_syn": I_syn, "w": w, "since": since},
                {"spikes": sp, "v": v, "w": w})


def _rest_jacobian(p, h):
    """The step's Jacobian in (V, w) at the resting state without input (None if there is
    none): V* solves (1 + a)(V - v_rest) = delta_T exp((V - v_th)/delta_T) below v_th."""
    a, dT = p["a"], p["delta_T"]
    if 1.0 + a <= 0:
        return None

    def g(v):  # (1 + a)(V - v_rest) - exponential term: < 0 below rest, > 0 above
        return (1.0 + a) * (v - p["v_rest"]) - dT * math.exp((v - p["v_th"]) / dT)

    lo, hi = p["v_rest"] - 1e3, min(p["v_th"], p["v_peak"])
    if not (g(lo) < 0 < g(hi)):
        return None
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if g(mid) > 0 else (mid, hi)
    slope = math.exp((lo - p["v_th"]) / dT)  # d(exponential term)/dV at rest
    e_m, e_w = math.exp(-h / p["tau_m"]), math.exp(-h / p["tau_w"])
    return np.array([[e_m + (1.0 - e_m) * slope, -(1.0 - e_m)],
                     [a * (1.0 - e_w), e_w]])
