"""Exponential integrate-and-fire pool (EIF; Fourcaud-Trocme et al. 2003), the original Spark's
"exponential" soma, with a choice of refractory behaviour.

Equations (currents as the voltage they drive, mV):

    tau_m dv/dt       = -(v - v_rest) + delta_T exp((v - v_th)/delta_T) + I_syn + I_ext
    tau_syn dI_syn/dt = -I_syn
    v > v_peak:  spike, v <- v_reset

(v_th is the rheobase threshold V_T of the exponential term; v_peak the cut-off where a spike is
counted.) The neuron fires under a constant input I_ext iff I_ext > v_th - v_rest - delta_T (the
rheobase; tested).

Integration: exponential Euler, as the AdEx's V equation (components/adex.py) without w: the
exponential term is held at its start-of-step value, the leak and I_syn are exact. The original
uses forward Euler (v += dt/tau_m (...)). The exponent is clipped at 50 (adex.EXP_ARG_MAX).

Refractoriness as components/threshold_lif.py (``refractory``: clamp holds v at v_reset; gate
ignores the input while the leak and the exponential term act), length by Brian2's rule.
Defaults: the original's (V_rest -70, V_reset -51, V_T -50, delta_T 2, cut-off -30 mV, tau 5 ms).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .adex import exp_current
from .base import Component, Param
from .lif import BIG, begin_step, initial_v, pool_params, pool_ports, prepare_pool
from .threshold_lif import REFRACTORY, fire, hold_or_gate

_OVERRIDES = {
    "v_rest": dict(default=-70.0), "v_reset": dict(default=-51.0),
    "v_th": dict(default=-50.0, help="rheobase threshold V_T of the exponential term"),
    "tau_m": dict(default=5.0),
}


def _eif_params():
    base = pool_params(extra=(
        Param("delta_T", "float", 2.0, "mV", min=0.0, min_exclusive=True,
              help="slope factor of the exponential spike initiation"),
        Param("v_peak", "float", -30.0, "mV", help="a spike is counted when v exceeds this"),
        REFRACTORY,
    ))
    return tuple(dataclasses.replace(p, **_OVERRIDES[p.name]) if p.name in _OVERRIDES else p
                 for p in base)


class EIF(Component):
    """Exponential integrate-and-fire pool (see the module docstring)."""

    type_name = "eif"
    elementwise = True
    title = "EIF pool"
    category = "Neurons"
    description = "Exponential integrate-and-fire neurons (sharp spike initiation)"
    params = _eif_params()

    @classmethod
    def ports(cls, p):
        return pool_ports(p)

    @classmethod
    def check(cls, p):
        out = []
        if p["v_reset"] >= p["v_peak"]:
            out.append(("v_reset", f"v_reset ({p['v_reset']} mV) must be below v_peak "
                                   f"({p['v_peak']} mV)"))
        if p["v_th"] >= p["v_peak"]:
            out.append(("v_th", f"v_th ({p['v_th']} mV) must be below v_peak ({p['v_peak']} mV)"))
        return out

    def init(self, key, rng):
        n = self.config["size"]
        return {}, {"v": initial_v(self.config, rng, self.dtype),
                    "I_syn": np.zeros(n, self.dtype), "since": np.full(n, BIG, np.int32)}

    def prepare(self, p):
        return prepare_pool(p, self.dt, syn="tau_syn")

    def step(self, p, s, inputs, ctx):
        v0, I_syn, since, refractory = begin_step(s, inputs, p["n_ref"])
        intrinsic = p["v_rest"] + exp_current(v0, p["v_th"], p["delta_T"])
        v_inf = intrinsic + inputs["current"]
        v = v_inf + (v0 - v_inf) * p["e_m"] + I_syn * p["k_syn"]
        v = hold_or_gate(self.config["refractory"], refractory, v, v0,
                         intrinsic + (v0 - intrinsic) * p["e_m"])
        v, spike, since = fire(v, refractory, p["v_peak"], p["v_reset"], since)
        return ({"v": v, "I_syn": I_syn * p["e_syn"], "since": since},
                {"spikes": spike.astype(v.dtype), "v": v})
