"""Leaky integrate-and-fire pool with a refractory period and an exponential synaptic current.

Equations (currents are expressed as the voltage they drive, mV, i.e. R*I):

    tau_m dv/dt       = v_rest - v + I_syn + I_ext
    tau_syn dI_syn/dt = -I_syn

Integration: exact. Over a step of length dt the input current I_ext is held constant and the
linear system (v, I_syn) is solved exactly (as NEST's iaf_psc_exp and Brian2's
``method='exact'``), with e_m = exp(-dt/tau_m), e_s = exp(-dt/tau_syn):

    v(t+dt)     = v_inf + (v - v_inf) e_m + I_syn K(tau_syn),   v_inf = v_rest + I_ext
    I_syn(t+dt) = I_syn e_s
    K(tau)      = tau/(tau - tau_m) (exp(-dt/tau) - e_m)          (dt/tau_m e_m when tau = tau_m)

so the step is stable for any dt and exact for constant input (an LIF with tau_m = 0.05 ms at
dt = 0.1 ms under a constant sub-threshold drive settles at v_rest + I_ext and never fires).

Step order, so that a projection with delay_steps = d is Brian2's default schedule (state
update, threshold, on_pre, reset) with a synaptic delay of (d - 1) dt: weighted spike arrivals on
``syn`` are added to I_syn and voltage jumps arriving on ``jump`` to v (both stand for Brian2's
``on_pre`` of the previous step); then the step is integrated (v is held while refractory,
I_syn decays); a non-refractory neuron with v > v_th spikes and v is set to v_reset. As in
Brian2 (where v, an "unless refractory" variable, is written only while the neuron is not
refractory), a jump is discarded when the neuron spiked at the previous step or was refractory
then: after a spike at step s, jumps arriving at steps s+1 .. s+max(n_ref, 1) are lost.

Refractoriness, Brian2's rule: after a spike at step s the neuron is refractory while
k = t - s < n_ref with n_ref = floor((t_ref + 0.001 dt) / dt) (Brian2's ``timestep(t_ref, dt)``):
v is held during steps s+1 .. s+n_ref-1 and integrates again at s+n_ref. t_ref = 0.15 ms at
dt = 0.1 ms gives n_ref = 1 (no held step), t_ref = 1.5 ms at dt = 1 ms too.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import CURRENT, EVENTS, SPIKES, VALUE, Component, Param, Port
from .integration import current_gain, decay

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


REF_TOLERANCE = 1e-3  # of a step: Brian2's timestep(t, dt) = int((t + 1e-3 dt) / dt)


def refractory_steps(p, dt):
    """n_ref = floor(t_ref/dt + 0.001), Brian2's ``timestep(t_ref, dt)``, as a traced integer
    (t_ref is live): a neuron that spiked at step s is refractory at step t while t - s < n_ref."""
    return jnp.floor((p["t_ref"] + REF_TOLERANCE * dt) / dt).astype(jnp.int32)


def prepare_pool(p, dt, **currents):
    """The family's prepared values (Component.prepare): e_m = exp(-dt/tau_m), n_ref, and for
    each exponential current x with time constant p[tau_name] (``x=tau_name``) its decay
    e_x = exp(-dt/tau_x) and its gain on v over a step, k_x = K(tau_x)."""
    e_m = decay(p["tau_m"], dt)
    out = {"e_m": e_m, "n_ref": refractory_steps(p, dt)}
    for x, tau_name in currents.items():
        out[f"e_{x}"] = decay(p[tau_name], dt)
        out[f"k_{x}"] = current_gain(p["tau_m"], e_m, p[tau_name], dt)
    return out


def begin_step(s, inputs, n_ref):
    """The integrate-and-fire family's step prologue: arrivals on ``syn`` join I_syn, arrivals
    on ``jump`` join v, the step counter since the last spike advances and the refractory test
    is made (``n_ref``: refractory_steps, or 0 for a model without refractoriness).

    A jump arriving at step t stands for Brian2's ``on_pre`` of step t - 1, which Brian2 does
    not apply to a neuron that spiked at t - 1 or was refractory then (its v is written only
    while ``not_refractory``; without refractoriness the reset overwrites it): such jumps are
    discarded, i.e. when the neuron's last spike was at most max(n_ref, 1) steps ago.

    Returns (v0, I_syn, since, refractory)."""
    since = jnp.minimum(s["since"] + 1, BIG)
    v0 = s["v"] + jnp.where(since <= jnp.maximum(n_ref, 1), 0.0, inputs["jump"])
    I_syn = s["I_syn"] + inputs["syn"]
    return v0, I_syn, since, since < n_ref


def end_step(v_new, v0, since, refractory, threshold, v_reset):
    """The family's epilogue: v is held while refractory, a non-refractory neuron above
    ``threshold`` spikes and is reset. Returns (v, spike, since)."""
    v = jnp.where(refractory, v0, v_new)
    spike = (v > threshold) & ~refractory
    return jnp.where(spike, v_reset, v), spike, jnp.where(spike, 0, since)


def native_step() -> bool:
    """Whether the step runs as the native CPU kernel (components/native ``lif_step``, the same
    values in one pass instead of XLA's fusions): with the "native" propagation strategy, unless
    ``SPARK_NATIVE_LIF=0``."""
    import os

    from .projection import propagation_strategy
    return propagation_strategy() == "native" and os.environ.get("SPARK_NATIVE_LIF", "1") != "0"


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

    def prepare(self, p):
        return prepare_pool(p, self.dt, syn="tau_syn")

    def step(self, p, s, inputs, ctx):
        if native_step():
            from . import native
            v, I_syn, since, spikes = native.lif_step(
                s, inputs, p, getattr(ctx, "open_inputs", frozenset()))
            return {"v": v, "I_syn": I_syn, "since": since}, {"spikes": spikes, "v": v}
        v0, I_syn, since, refractory = begin_step(s, inputs, p["n_ref"])
        v_inf = p["v_rest"] + inputs["current"]
        v = v_inf + (v0 - v_inf) * p["e_m"] + I_syn * p["k_syn"]
        v, spike, since = end_step(v, v0, since, refractory, p["v_th"], p["v_reset"])
        I_syn = I_syn * p["e_syn"]
        return ({"v": v, "I_syn": I_syn, "since": since},
                {"spikes": spike.astype(v.dtype), "v": v})
