"""Leaky integrate-and-fire pool with a refractory period and an exponential synaptic current.

Equations (forward Euler with step dt, like every integrator in Spark):

    tau_m dv/dt     = v_rest - v + I_syn + I_ext
    tau_syn dI_syn/dt = -I_syn

Each step: weighted spike arrivals on ``syn`` are added to I_syn; v is integrated (unless the
neuron is refractory) and voltage jumps arriving on ``jump`` are added; a neuron with
v > v_th that is not refractory spikes, v is set to v_reset and held there for t_ref (rounded to
whole steps: after a spike at step s, steps s+1 .. s+n_ref-1 are frozen with n_ref = round(t_ref/dt));
then I_syn decays by the factor (1 - dt/tau_syn). Jumps that arrive while a neuron is refractory
are discarded. Currents are expressed as the voltage they drive (mV, i.e. R*I).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import CURRENT, EVENTS, SPIKES, VALUE, Component, Param, Port

BIG = 1 << 30  # "steps since the last spike" for a neuron that never spiked


def pool_params(extra=()):
    """Parameters shared by the integrate-and-fire family."""
    return (
        Param("size", "int", 100, min=1, max=10_000_000, help="number of neurons"),
        Param("v_rest", "float", -65.0, "mV", help="resting (leak reversal) potential"),
        Param("v_reset", "float", -65.0, "mV", help="potential after a spike"),
        Param("v_th", "float", -50.0, "mV", help="spike threshold"),
        Param("tau_m", "float", 20.0, "ms", min=0.0, min_exclusive=True,
              help="membrane time constant"),
        Param("t_ref", "float", 2.0, "ms", min=0.0, help="refractory period (v held at v_reset)"),
        Param("tau_syn", "float", 5.0, "ms", min=0.0, min_exclusive=True,
              help="time constant of the exponential synaptic current fed by the 'syn' input"),
        *extra,
        Param("v_init", "choice", "rest", choices=("rest", "uniform"),
              help="initial potential: v_rest, or uniform between v_reset and v_th"),
    )


def pool_ports(p, extra_out=()):
    n = p["size"]
    ins = [
        Port("current", CURRENT, n, multi=True, help="injected current (mV), enters dv/dt"),
        Port("syn", EVENTS, n, multi=True,
             help="spike arrivals for the exponential synaptic current (tau_syn)"),
        Port("jump", EVENTS, n, multi=True, help="spike arrivals added directly to v (mV)"),
    ]
    outs = [Port("spikes", SPIKES, n, help="1 where a neuron spiked this step"),
            Port("v", VALUE, n, help="membrane potential after this step (mV)"), *extra_out]
    return ins, outs


def initial_v(cfg, rng: np.random.Generator, dtype):
    n = cfg["size"]
    if cfg["v_init"] == "uniform":
        lo, hi = sorted((cfg["v_reset"], cfg["v_th"]))
        return rng.uniform(lo, hi, n).astype(dtype)
    return np.full(n, cfg["v_rest"], dtype)


def reset_below_threshold(p):
    """The integrate-and-fire family's check: v_reset must lie below v_th."""
    if p["v_reset"] >= p["v_th"]:
        return [("v_reset", f"v_reset ({p['v_reset']} mV) must be below v_th ({p['v_th']} mV)")]
    return []


def refractory_steps(p, dt):
    """round(t_ref / dt) as a traced integer (t_ref is live)."""
    return jnp.round(p["t_ref"] / dt).astype(jnp.int32)


class LIF(Component):
    type_name = "lif"
    elementwise = True
    title = "LIF pool"
    category = "Neurons"
    description = "Leaky integrate-and-fire neurons with refractoriness and exponential synapses"
    params = pool_params()

    @classmethod
    def ports(cls, p):
        return pool_ports(p)

    @classmethod
    def check(cls, p):
        return reset_below_threshold(p)

    def init(self, key, rng):
        n = self.config["size"]
        return {}, {"v": initial_v(self.config, rng, self.dtype),
                    "I_syn": np.zeros(n, self.dtype),
                    "since": np.full(n, BIG, np.int32)}

    def step(self, p, s, inputs, ctx):
        dt = self.dt
        I_syn = s["I_syn"] + inputs["syn"]
        since = jnp.minimum(s["since"] + 1, BIG)
        refractory = since < refractory_steps(p, dt)
        v = s["v"] + dt * (p["v_rest"] - s["v"] + I_syn + inputs["current"]) / p["tau_m"] \
            + inputs["jump"]
        v = jnp.where(refractory, s["v"], v)
        spike = (v > p["v_th"]) & ~refractory
        v = jnp.where(spike, p["v_reset"], v)
        since = jnp.where(spike, 0, since)
        I_syn = I_syn * (1.0 - dt / p["tau_syn"])
        return ({"v": v, "I_syn": I_syn, "since": since},
                {"spikes": spike.astype(v.dtype), "v": v})
