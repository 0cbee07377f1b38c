"""Adaptive leaky integrate-and-fire pool: LIF plus a spike-triggered adaptation current w.

Equations (currents are the voltage they drive, in mV):

    tau_m dv/dt       = v_rest - v + I_syn + I_ext - w
    tau_w dw/dt       = -w,           w <- w + b at each spike
    tau_syn dI_syn/dt = -I_syn

Integration: exact, like the LIF's (components/lif.py): over a step the linear system
(v, I_syn, w) is solved exactly with I_ext held constant (Brian2's ``method='exact'``):

    v(t+dt) = v_inf + (v - v_inf) e_m + I_syn K(tau_syn) - w K(tau_w),   v_inf = v_rest + I_ext
    w(t+dt) = w e_w + b * spike(t),   I_syn(t+dt) = I_syn e_s

with e_x = exp(-dt/tau_x) and K as in lif.py. The step order, jumps and refractoriness are the
LIF's: v is held while refractory (w and I_syn keep decaying). The ``w`` output is w after the
step.
"""
from __future__ import annotations

import numpy as np

from .base import VALUE, Component, Param, Port
from .lif import (BIG, begin_step, end_step, initial_v, pool_params, pool_ports, prepare_pool,
                  reset_below_threshold)


class ALIF(Component):
    """Adaptive LIF pool (spike-triggered, exponentially decaying adaptation current)."""

    type_name = "alif"
    elementwise = True
    title = "Adaptive LIF pool"
    category = "Neurons"
    description = "LIF neurons with a spike-triggered adaptation current (frequency adaptation)"
    params = pool_params(extra=(
        Param("tau_w", "float", 100.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the adaptation current w"),
        Param("b", "float", 2.0, "mV", min=0.0,
              help="increment of the adaptation current w at each spike"),
    ))

    @classmethod
    def ports(cls, p):
        return pool_ports(p, extra_out=(
            Port("w", VALUE, p["size"], help="adaptation current after this step (mV)"),))

    @classmethod
    def check(cls, p):
        return reset_below_threshold(p)

    def init(self, key, rng):
        n = self.config["size"]
        return {}, {"v": initial_v(self.config, rng, self.dtype),
                    "I_syn": np.zeros(n, self.dtype),
                    "w": np.zeros(n, self.dtype),
                    "since": np.full(n, BIG, np.int32)}

    def prepare(self, p):
        return prepare_pool(p, self.dt, syn="tau_syn", w="tau_w")

    def step(self, p, s, inputs, ctx):
        v0, I_syn, since, refractory = begin_step(s, inputs, p["n_ref"])
        v_inf = p["v_rest"] + inputs["current"]
        v = v_inf + (v0 - v_inf) * p["e_m"] + I_syn * p["k_syn"] - s["w"] * p["k_w"]
        v, spike, since = end_step(v, v0, since, refractory, p["v_th"], p["v_reset"])
        sp = spike.astype(v.dtype)
        w = s["w"] * p["e_w"] + p["b"] * sp
        I_syn = I_syn * p["e_syn"]
        return ({"v": v, "I_syn": I_syn, "w": w, "since": since},
                {"spikes": sp, "v": v, "w": w})
