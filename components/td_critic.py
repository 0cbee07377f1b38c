"""Adaptive critic: learns to predict failure from spikes and emits a TD error as a modulator.

The adaptive critic element (ACE) of Barto, Sutton & Anderson (1983), fed by spikes and working
in windows of W = round(window / dt) steps (set window to the environment's step, e.g. the
cartpole's steps_per_env_step * dt, so windows and environment steps coincide: window k holds
steps kW .. kW + W - 1).

During a window it counts the spikes of each feature neuron (x_i), and sums the ``reward``,
``done`` and ``truncated`` inputs. At the last step of window k (t + 1 divisible by W):

    p_k     = sum_i v_i x_i                         prediction for the state of this window
    delta_k = r_k + gamma p_k - p_{k-1}             within an episode
    delta_k = r_k - p_{k-1}                         when ``done`` arrived in this window and the
                                                    episode TERMINATED (a failure: its final
                                                    state has value 0; p_k belongs to the new
                                                    episode and is not its successor)
    delta_k = r_k + gamma p_{k-1} - p_{k-1}         when it was TRUNCATED (``truncated`` > 0
                                                    too: a time limit is not a terminal state,
                                                    Gymnasium's terminated vs truncated; the
                                                    final state is never shown to the network,
                                                    so its value is estimated by the episode's
                                                    last prediction p_{k-1})
    v_i    <- v_i + lr * delta_k * z_i              z: the features' trace (before this window)
    z_i    <- lam z_i + (1 - lam) x_i               (z <- (1 - lam) x after a done)

Connect the environment's ``done`` and ``truncated`` outputs to the inputs of the same names.
Without a ``truncated`` edge every episode end counts as terminal (the behaviour before the
input existed).

With ``normalize`` on, x is the window's spike counts divided by their total (x_i = c_i /
max(sum_j c_j, 1)): p_k is then the spike-weighted mean of v over the active features, whatever
their firing rate, and with a one-hot code (box_encoder) the critic is exactly the ACE's table
V(box) with its learning rate beta = lr. Off: x_i = c_i (the raw counts).

``td_error`` is delta_k at that last step and 0 at every other step: feed it to the modulator
input of a three_factor_projection (actor-critic). No gradients: the critic is a linear unit on
spike counts with a local, TD-modulated Hebbian rule. Its weights are ``state["v"]``.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import MODULATOR, SPIKES, VALUE, Component, Param, Port


class TDCritic(Component):
    """Barto-Sutton-Anderson adaptive critic on spike counts; outputs the TD error."""

    type_name = "td_critic"
    title = "TD critic"
    category = "Plasticity"
    description = "Adaptive critic: predicts failure from spikes, outputs the TD error"
    params = (
        Param("window", "float", 20.0, "ms", min=0.0, min_exclusive=True, structural=True,
              help="length of a time step of the critic (the environment's step)"),
        Param("gamma", "float", 0.95, min=0.0, max=1.0, help="discount per window"),
        Param("lam", "float", 0.8, min=0.0, max=1.0, help="decay of the feature trace per window"),
        Param("lr", "float", 0.01, min=0.0, help="learning rate of the prediction weights"),
        Param("normalize", "bool", False,
              help="divide the window's spike counts by their total (a one-hot code then gives "
                   "a table V(box) whatever the firing rate)"),
    )

    @classmethod
    def ports(cls, p):
        return ([Port("features", SPIKES, "n", required=True, help="spikes encoding the state"),
                 Port("reward", MODULATOR, 1, multi=True, help="reinforcement (e.g. -1 on failure)"),
                 Port("done", VALUE, 1, multi=True, help="> 0 when an episode ended"),
                 Port("truncated", VALUE, 1, multi=True,
                      help="> 0 when the episode that ended was truncated (time limit): "
                           "bootstrap instead of treating its end as terminal")],
                [Port("td_error", MODULATOR, 1, help="TD error at the end of each window, else 0"),
                 Port("value", VALUE, 1, help="prediction p of the last complete window")])

    def window_steps(self) -> int:
        return max(1, int(round(self.config["window"] / self.dt)))

    def init(self, key, rng):
        n = self.sizes["n"]
        z = np.zeros(n, self.dtype)
        f0 = np.zeros((), self.dtype)
        return {}, {"v": z, "z": z, "acc": z, "r": f0, "d": f0, "tr": f0, "p": f0}

    def step(self, p, s, inputs, ctx):
        acc = s["acc"] + inputs["features"]
        r = s["r"] + inputs["reward"][0]
        d = s["d"] + inputs["done"][0]
        tr = s["tr"] + inputs["truncated"][0]
        tick = (ctx.t + 1) % self.window_steps() == 0
        x = acc / jnp.maximum(jnp.sum(acc), 1.0) if self.config["normalize"] else acc
        pk = jnp.dot(s["v"], x)
        ended = d > 0
        successor = jnp.where(ended, jnp.where(tr > 0, s["p"], 0.0), pk)
        delta = r + p["gamma"] * successor - s["p"]
        v = s["v"] + p["lr"] * delta * s["z"]
        z = jnp.where(ended, 0.0, p["lam"] * s["z"]) + (1.0 - p["lam"]) * x
        zero = jnp.zeros_like(acc)
        f0 = jnp.zeros((), self.dtype)
        new = {"v": jnp.where(tick, v, s["v"]), "z": jnp.where(tick, z, s["z"]),
               "acc": jnp.where(tick, zero, acc), "r": jnp.where(tick, f0, r),
               "d": jnp.where(tick, f0, d), "tr": jnp.where(tick, f0, tr),
               "p": jnp.where(tick, pk, s["p"])}
        new = {k: val.astype(self.dtype) for k, val in new.items()}
        out = {"td_error": jnp.reshape(jnp.where(tick, delta, 0.0), (1,)).astype(self.dtype),
               "value": jnp.reshape(new["p"], (1,))}
        return new, out
