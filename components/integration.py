"""Integration helpers shared by the neuron models (no node type lives here).

* ``decay`` and ``current_gain``: the exact one-step propagators of linear equations (leaky
  membrane, exponential currents), used by lif, alif and the linear part of adex.
* ``coupling_problem``: the validation check of models that advance two coupled variables each
  with the other held at its start-of-step value (adex: V and w; izhikevich: v and u). Each
  variable alone is integrated stably at any dt, but the explicit coupling can make the step
  unstable when dt is large; the check linearises the step around the model's resting state
  and refuses a dt at which a small deviation from rest would grow from step to step.
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np


def decay(tau, dt):
    """exp(-dt/tau): the exact one-step decay factor of a time constant."""
    return jnp.exp(-dt / tau)


def current_gain(tau_m, e_m, tau, dt):
    """K(tau): the change of v (tau_m dv/dt = ... - v + I) at the end of a step caused by a unit
    exponential current I (time constant ``tau``) present at the start of the step:
    tau/(tau - tau_m) (exp(-dt/tau) - e_m) with e_m = exp(-dt/tau_m), written as
    dt/tau_m e_m (exp(x) - 1)/x, x = dt (1/tau_m - 1/tau), which stays exact when tau is close or
    equal to tau_m (then K = dt/tau_m e_m)."""
    x = dt * (1.0 / tau_m - 1.0 / tau)
    safe = jnp.where(x == 0, 1.0, x)
    return dt / tau_m * e_m * jnp.where(x == 0, 1.0, jnp.expm1(safe) / safe)


def spectral_radius(m: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(m))))


def coupling_problem(jacobian, dt: float, param: str, what: str):
    """[(param, message)] when the linearised step ``jacobian(dt)`` (2 x 2, around rest) lets a
    deviation from rest grow, else []. ``jacobian`` returns None when the model has no resting
    state (nothing to check). The message gives the largest stable dt (bisection)."""
    m = jacobian(dt)
    if m is None or not np.all(np.isfinite(m)):
        return []
    rho = spectral_radius(m)
    if rho < 1.0:
        return []
    if spectral_radius(jacobian(dt * 1e-6)) >= 1.0:
        return []  # the resting state itself is unstable: a property of the model, not of dt
    lo, hi = 0.0, dt
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if spectral_radius(jacobian(mid)) < 1.0 else (lo, mid)
    return [(param, f"with dt = {dt:g} ms the step of {what} is unstable for these parameters "
                    f"(a small deviation from rest grows by a factor {rho:.3g} per step): use "
                    f"dt below {_round_down(lo)} ms or change '{param}'")]


def _round_down(x: float) -> str:
    """x rounded down to 2 significant digits (so that the value shown is safe to use)."""
    if x <= 0:
        return "0"
    e = math.floor(math.log10(x)) - 1
    return f"{math.floor(x / 10 ** e) * 10 ** e:.{max(0, -e)}f}"
