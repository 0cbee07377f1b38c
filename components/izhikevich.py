"""Izhikevich (2003) simple-model pool.

Equations (v in mV, t in ms; the input I is in the model's own units, as in the paper):

    dv/dt             = 0.04 v^2 + 5 v + 140 - u + I_syn + I_ext
    du/dt             = a (b v - u)
    tau_syn dI_syn/dt = -I_syn
    v >= v_peak (30 mV):  v <- c,  u <- u + d

Forward Euler with the graph's dt (the paper's 0.5 ms double half-step for v is not used). Each
step: syn arrivals are added to I_syn; v and u are both advanced from their values at the start
of the step and jumps are added to v; where v >= v_peak the neuron spikes (v <- c, u <- u + d);
I_syn decays by (1 - dt/tau_syn). The ``v`` output is v after the step (c on a spike step).
Initial state: v = v0 (default -65 mV), u = b v0.

``preset`` picks (a, b, c, d) from the paper: regular_spiking (0.02, 0.2, -65, 8), fast_spiking
(0.1, 0.2, -65, 2), intrinsically_bursting (0.02, 0.2, -55, 4), chattering (0.02, 0.2, -50, 2).
The parameters a, b, c, d are used only when preset = custom (otherwise they are ignored).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import CURRENT, EVENTS, SPIKES, VALUE, Component, Param, Port

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

    def init(self, key, rng):
        n = self.config["size"]
        b = abcd(self.config)[1]
        v0 = self.config["v0"]
        return {}, {"v": np.full(n, v0, self.dtype),
                    "u": np.full(n, b * v0, self.dtype),
                    "I_syn": np.zeros(n, self.dtype)}

    def step(self, p, s, inputs, ctx):
        dt = self.dt
        if self.config["preset"] == "custom":
            a, b, c, d = p["a"], p["b"], p["c"], p["d"]
        else:
            a, b, c, d = PRESETS[self.config["preset"]]
        v0, u0 = s["v"], s["u"]
        I_syn = s["I_syn"] + inputs["syn"]
        v = v0 + dt * (0.04 * v0 * v0 + 5.0 * v0 + 140.0 - u0 + I_syn + inputs["current"]) \
            + inputs["jump"]
        u = u0 + dt * a * (b * v0 - u0)
        spike = v >= p["v_peak"]
        v = jnp.where(spike, c, v).astype(v0.dtype)
        u = jnp.where(spike, u + d, u).astype(u0.dtype)
        I_syn = I_syn * (1.0 - dt / p["tau_syn"])
        return ({"v": v, "u": u, "I_syn": I_syn},
                {"spikes": spike.astype(v.dtype), "v": v, "u": u})
