"""Model texts shipped with Spark: the default text of each equation node type, and equation
versions of the built-in models (tests compare them with the built-ins spike for spike)."""
from __future__ import annotations

LIF = """\
# Leaky integrate-and-fire neuron with an exponential synaptic current
param v_rest = -65 mV                # resting (leak reversal) potential
param v_reset = -65 mV               # potential after a spike
param v_th = -50 mV                  # spike threshold
param tau_m = 20 ms in (0, inf)      # membrane time constant
param t_ref = 2 ms in [0, inf)       # refractory period (v held)
param tau_syn = 5 ms in (0, inf)     # time constant of the synaptic current

input current : mV current           # injected current (the voltage R*I it drives)
input syn : mV events                # spike arrivals into the synaptic current
input jump : mV events               # spike arrivals added directly to v

state v = v_rest                     # membrane potential
state I_syn = 0 mV                   # synaptic current (mV)

dv/dt = (v_rest - v + I_syn + current) / tau_m  unless refractory
dI_syn/dt = -I_syn / tau_syn

on syn: I_syn += syn
on jump: v += jump
threshold: v > v_th
reset: v = v_reset
refractory: t_ref
output v                             # membrane potential after the step
"""

ALIF = """\
# Adaptive LIF: a spike-triggered adaptation current w
param v_rest = -65 mV                # resting potential
param v_reset = -65 mV               # potential after a spike
param v_th = -50 mV                  # spike threshold
param tau_m = 20 ms in (0, inf)      # membrane time constant
param t_ref = 2 ms in [0, inf)       # refractory period
param tau_syn = 5 ms in (0, inf)     # synaptic time constant
param tau_w = 100 ms in (0, inf)     # adaptation time constant
param b = 2 mV in [0, inf)           # increment of w at each spike

input current : mV current
input syn : mV events
input jump : mV events

state v = v_rest
state I_syn = 0 mV
state w = 0 mV                       # adaptation current (mV)

dv/dt = (v_rest - v + I_syn + current - w) / tau_m  unless refractory
dI_syn/dt = -I_syn / tau_syn
dw/dt = -w / tau_w

on syn: I_syn += syn
on jump: v += jump
threshold: v > v_th
reset:
    v = v_reset
    w += b
refractory: t_ref
output v
output w
"""

ADEX = """\
# Adaptive exponential integrate-and-fire (Brette & Gerstner 2005), divided by g_L
param v_rest = -70.6 mV              # leak reversal E_L
param v_reset = -60 mV               # potential after a spike
param v_th = -50.4 mV                # soft threshold V_T
param tau_m = 9.366666666666667 ms in (0, inf)   # C/g_L
param t_ref = 0 ms in [0, inf)       # refractory period
param tau_syn = 5 ms in (0, inf)     # synaptic time constant
param delta_T = 2 mV in (0, inf)     # slope factor
param v_peak = 0 mV                  # spike cut-off
param a = 0.13333333333333333        # subthreshold adaptation a/g_L
param tau_w = 144 ms in (0, inf)     # adaptation time constant
param b = 2.6833333333333336 mV      # spike-triggered adaptation b/g_L

input current : mV current
input syn : mV events
input jump : mV events

state v = v_rest
state I_syn = 0 mV
state w = 0 mV

dv/dt = (-(v - v_rest) + delta_T * exp(min((v - v_th) / delta_T, 50)) - w + I_syn + current) / tau_m  unless refractory
dw/dt = (a * (v - v_rest) - w) / tau_w
dI_syn/dt = -I_syn / tau_syn

on syn: I_syn += syn
on jump: v += jump
threshold: v > v_peak
reset:
    v = v_reset
    w += b
refractory: t_ref
output v
output w
"""

IZHIKEVICH = """\
# Izhikevich (2003) simple model, regular spiking; I and u in the model's units (mV/ms)
param a = 0.02 /ms                   # recovery rate of u
param b = 0.2 /ms                    # sensitivity of u to v
param c = -65 mV                     # reset potential
param d = 8 mV/ms                    # increment of u at a spike
param v_peak = 30 mV                 # spike cut-off
param tau_syn = 5 ms in (0, inf)     # synaptic time constant
param v0 = -65 mV                    # initial potential

input current : mV/ms current
input syn : mV/ms events
input jump : mV events

state v = v0
state u = b * v
state I_syn = 0 mV/ms

dv/dt = 0.04 /mV/ms * v * v + 5 /ms * v + 140 mV/ms - u + I_syn + current
du/dt = a * (b * v - u)
dI_syn/dt = -I_syn / tau_syn

on syn: I_syn += syn
on jump: v += jump
threshold: v >= v_peak
reset:
    v = c
    u += d
output v
output u
"""

EXP_SYNAPSE = """\
# Exponential current synapse: spike arrivals in, a decaying current out
param tau = 5 ms in (0, inf)         # decay time constant

input events : mV events             # weighted spike arrivals
state I = 0 mV                       # synaptic current (as the voltage it drives)

dI/dt = -I / tau
on events: I += events
output I : current                   # connect to a pool's current input
"""

STDP = """\
# Pair-based STDP with traces (Song, Miller & Abbott 2000)
param a_plus = 0.01 mV in [0, inf)   # potentiation per pre-before-post pair
param a_minus = 0.012 mV in [0, inf) # depression per post-before-pre pair
param tau_plus = 20 ms in (0, inf)   # pre-synaptic trace time constant
param tau_minus = 20 ms in (0, inf)  # post-synaptic trace time constant
param w_min = 0 mV                   # lower weight bound
param w_max = 10 mV                  # upper weight bound

weight w : mV                        # transmitted: a pre spike delivers w to its post neuron
pre x = 0                            # pre-synaptic trace
post y = 0                           # post-synaptic trace

dx/dt = -x / tau_plus
dy/dt = -y / tau_minus

on_pre:
    w -= a_minus * y
    x += 1
on_post:
    w += a_plus * x
    y += 1
clip w in [w_min, w_max]
"""

THREE_FACTOR = """\
# Three-factor rule: STDP pairings feed an eligibility trace e, a modulator M turns it into dw
param a_plus = 0.01 mV in [0, inf)
param a_minus = 0.012 mV in [0, inf)
param tau_plus = 20 ms in (0, inf)
param tau_minus = 20 ms in (0, inf)
param tau_e = 200 ms in (0, inf)     # eligibility time constant
param lr = 1 in [0, inf)             # learning rate: dw = lr * M * e each step
param w_min = 0 mV
param w_max = 10 mV

input M modulator                    # reward, TD error...
weight w : mV
synapse e = 0 mV                     # eligibility trace
pre x = 0
post y = 0

dx/dt = -x / tau_plus
dy/dt = -y / tau_minus
de/dt = -e / tau_e

on_pre:
    e -= a_minus * y
    x += 1
on_post:
    e += a_plus * x
    y += 1
on_step:
    w += lr * M * e
clip w in [w_min, w_max]
"""

LIBRARY = {"lif": LIF, "alif": ALIF, "adex": ADEX, "izhikevich": IZHIKEVICH,
           "exp_synapse": EXP_SYNAPSE, "stdp": STDP, "three_factor": THREE_FACTOR}
DEFAULT_TEXT = {"neuron": LIF, "synapse": EXP_SYNAPSE, "plasticity": STDP}
