"""Adaptive leaky integrate-and-fire pool: LIF plus a spike-triggered adaptation current w.

Equations (forward Euler with step dt; currents are the voltage they drive, in mV):

    tau_m dv/dt       = v_rest - v + I_syn + I_ext - w
    tau_w dw/dt       = -w,           w <- w + b at each spike
    tau_syn dI_syn/dt = -I_syn

The step order is the LIF's (see components/lif.py): syn arrivals are added to I_syn; v is
integrated with the w of the start of the step (unless refractory) and jumps are added; a
non-refractory neuron with v > v_th spikes, v <- v_reset and is held for t_ref; then I_syn
decays by (1 - dt/tau_syn) and w decays by (1 - dt/tau_w) and grows by b where a spike
occurred: w(t+dt) = w(t) (1 - dt/tau_w) + b * spike(t). The ``w`` output is w after the step.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import VALUE, Component, Param, Port
from .lif import BIG, initial_v, pool_params, pool_ports, refractory_steps, reset_below_threshold


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

    def step(self, p, s, inputs, ctx):
        dt = self.dt
        I_syn = s["I_syn"] + inputs["syn"]
        since = jnp.minimum(s["since"] + 1, BIG)
        refractory = since < refractory_steps(p, dt)
        v = s["v"] + dt * (p["v_rest"] - s["v"] + I_syn + inputs["current"] - s["w"]) \
            / p["tau_m"] + inputs["jump"]
        v = jnp.where(refractory, s["v"], v)
        spike = (v > p["v_th"]) & ~refractory
        v = jnp.where(spike, p["v_reset"], v)
        since = jnp.where(spike, 0, since)
        I_syn = I_syn * (1.0 - dt / p["tau_syn"])
        sp = spike.astype(v.dtype)
        w = s["w"] * (1.0 - dt / p["tau_w"]) + p["b"] * sp
        return ({"v": v, "I_syn": I_syn, "w": w, "since": since},
                {"spikes": sp, "v": v, "w": w})
