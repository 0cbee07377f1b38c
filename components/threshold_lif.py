"""Threshold-adaptive LIF pool (the original Spark's "ALIF": a LIF whose threshold jumps at each
spike and relaxes back), with a choice of refractory behaviour.

Equations (currents as the voltage they drive, mV):

    tau_m dv/dt       = v_rest - v + I_syn + I_ext
    tau_syn dI_syn/dt = -I_syn
    threshold         = v_th + a,   a <- exp(-dt/tau_theta) a + delta_theta * spike

Integration: exact, as the LIF's (components/lif.py): over a step with I_ext held,
v(t+dt) = v_inf + (v - v_inf) e_m + I_syn K(tau_syn), v_inf = v_rest + I_ext. A neuron spikes
when v exceeds the threshold of the start of the step (v_th + a); then v <- v_reset and a decays
and jumps by delta_theta (the original's order: threshold tested, then updated with the spike).
The ``theta`` output is the threshold after the step (the one the next step tests).

Refractoriness (``refractory``), with Brian2's rule for its length (lif.py): after a spike at
step s the neuron is refractory at steps s+1 .. s+n_ref-1, n_ref = floor(t_ref/dt + 0.001), and
cannot spike then.
  clamp: v is held (at v_reset), as the LIF and the original's "strict refractory" soma;
  gate:  the input is ignored but v keeps leaking towards v_rest, v <- v_rest + (v - v_rest) e_m,
         as the original's "refractory" soma (the one its ALIF uses); I_syn keeps integrating
         its arrivals and decaying.
Jumps arriving at steps s+1 .. s+max(n_ref, 1) are discarded in both modes (lif.py).

Coming from the original: its potentials are relative to V_rest (here absolute), its input is
R * I (here the synapse node's current already is the voltage it drives). Its cool-down of c ms
blocks c/dt + 1 steps in the "refractory" (gate) soma and c/dt steps in the strict one; the same
steps are blocked here with t_ref = c + 2 dt (gate) and t_ref = c + dt (clamp).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import VALUE, Component, Param, Port
from .integration import decay
from .lif import BIG, begin_step, initial_v, pool_params, pool_ports, prepare_pool

REFRACTORY = Param("refractory", "choice", "clamp", choices=("clamp", "gate"),
                   help="while refractory: clamp = v held at v_reset; gate = input ignored, v "
                        "keeps leaking towards v_rest")


def hold_or_gate(mode: str, refractory, v_new, v0, v_leak):
    """v after the step: the integrated v, or while refractory v0 (clamp) or v_leak (gate)."""
    return jnp.where(refractory, v0 if mode == "clamp" else v_leak, v_new)


def fire(v, refractory, threshold, v_reset, since):
    """Spike where a non-refractory v exceeds the threshold; reset. Returns (v, spike, since)."""
    spike = (v > threshold) & ~refractory
    return jnp.where(spike, v_reset, v), spike, jnp.where(spike, 0, since)


class ThresholdLIF(Component):
    """LIF with a spike-triggered, decaying threshold increase (see the module docstring)."""

    type_name = "threshold_lif"
    elementwise = True
    title = "Threshold-adaptive LIF pool"
    category = "Neurons"
    description = "LIF neurons whose threshold jumps at each spike and relaxes (original ALIF)"
    params = pool_params(extra=(
        Param("tau_theta", "float", 20.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the threshold's return to v_th"),
        Param("delta_theta", "float", 100.0, "mV", min=0.0,
              help="threshold increase at each spike"),
        REFRACTORY,
    ))

    @classmethod
    def ports(cls, p):
        return pool_ports(p, extra_out=(
            Port("theta", VALUE, p["size"], help="spike threshold after this step (mV)"),))

    @classmethod
    def check(cls, p):
        if p["v_reset"] >= p["v_th"]:
            return [("v_reset", f"v_reset ({p['v_reset']} mV) must be below v_th ({p['v_th']} mV)")]
        return []

    def init(self, key, rng):
        n = self.config["size"]
        return {}, {"v": initial_v(self.config, rng, self.dtype),
                    "I_syn": np.zeros(n, self.dtype), "a": np.zeros(n, self.dtype),
                    "since": np.full(n, BIG, np.int32)}

    def prepare(self, p):
        return {**prepare_pool(p, self.dt, syn="tau_syn"), "e_theta": decay(p["tau_theta"], self.dt)}

    def step(self, p, s, inputs, ctx):
        v0, I_syn, since, refractory = begin_step(s, inputs, p["n_ref"])
        v_inf = p["v_rest"] + inputs["current"]
        v = v_inf + (v0 - v_inf) * p["e_m"] + I_syn * p["k_syn"]
        v = hold_or_gate(self.config["refractory"], refractory, v, v0,
                         p["v_rest"] + (v0 - p["v_rest"]) * p["e_m"])
        v, spike, since = fire(v, refractory, p["v_th"] + s["a"], p["v_reset"], since)
        sp = spike.astype(v.dtype)
        a = s["a"] * p["e_theta"] + p["delta_theta"] * sp
        return ({"v": v, "I_syn": I_syn * p["e_syn"], "a": a, "since": since},
                {"spikes": sp, "v": v, "theta": p["v_th"] + a})
