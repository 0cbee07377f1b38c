"""CartPole in JAX, running inside the compiled chunk: Gymnasium's CartPole-v1, step for step.

The physics are Gymnasium's (gymnasium.envs.classic_control.cartpole, kinematics_integrator =
"euler"): gravity 9.8, cart mass 1.0, pole mass 0.1, half pole length 0.5, force +-10 N, tau =
0.02 s; the episode terminates when |x| > 2.4 or |theta| > 12 degrees and is truncated after
``max_episode_steps`` (500 for CartPole-v1) environment steps. Initial states are drawn
U(-0.05, 0.05) in each of the four variables (from this node's per-step key).

Exactness: Gymnasium integrates in float64. With the model dtype float64 (the engine runs such a
model with JAX's 64-bit mode on, engine.compiler.precision) this component does too and
reproduces Gymnasium's observations exactly (tested in tests/test_cartpole.py). With float32
models it integrates the same equations in float32.

Timing: the environment advances once every ``steps_per_env_step`` network steps, at the network
steps t with (t + 1) % steps_per_env_step == 0 (unless the optional ``hold`` input is above 0 at
that step: then it waits for the next such step), using the ``action`` input of that step (so a
readout counting spikes over windows of the same length, e.g. spike_count with window =
steps_per_env_step * dt, decides with the spikes of the whole window). The component is latched:
its outputs at step t come from its state at the start of step t, so the new observation is seen
from the step after the environment step on.

Outputs
    observation    (x, x_dot, theta, theta_dot) of the current episode (after an automatic reset:
                   the new episode's initial state)
    feedback       -1 during the ONE network step that follows an environment step whose episode
                   failed (pole fell or cart left the track), 0 otherwise. This is Gymnasium's
                   ``sutton_barto_reward=True`` reward: reaching ``max_episode_steps`` is a success
                   (truncation), not a failure, and gives 0.
    done           1 during the one network step that follows the end of an episode (failure or
                   truncation), 0 otherwise
    truncated      1 during that same step when the episode ended by reaching max_episode_steps
                   (Gymnasium's ``truncated``: a time limit, not a terminal state), 0 otherwise;
                   a failure is done = 1 with truncated = 0 (Gymnasium's ``terminated``)
    episode_length length (environment steps) of the last finished episode (0 before the first)
    episode        number of finished episodes
    steps          environment steps of the current episode so far
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .base import ACTION, MODULATOR, VALUE, Component, Param, Port

# Gymnasium CartPole-v1 constants, computed the way Gymnasium computes them.
GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_THRESHOLD = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4


def _opaque(x, zero):
    """``x`` unchanged, but hidden from the compiler so that it cannot fuse the product that made
    ``x`` with a following addition into a fused multiply-add (XLA:CPU does, and an FMA rounds
    once where NumPy rounds twice). ``zero`` is a runtime integer zero. Only for float64."""
    if zero is None:
        return x
    bits = jax.lax.bitcast_convert_type(x, jnp.int64) | zero
    return jax.lax.bitcast_convert_type(bits, x.dtype)


def runtime_zero(t):
    """An int64 zero the compiler cannot prove is zero (t >= 0 is a step index), or None when
    float64 is off."""
    if not jax.config.jax_enable_x64:
        return None
    return jax.lax.shift_right_logical(jnp.asarray(t).astype(jnp.int64), jnp.int64(40))


def cartpole_step(s, action, zero=None):
    """One Euler step of Gymnasium's CartPole from state ``s`` (4,) with action 0/1.

    Returns (new state, terminated). The operations follow Gymnasium's order, and with float64
    and ``zero`` (see runtime_zero) every product is rounded before it is added, as in NumPy, so
    results are bit-identical to Gymnasium's.
    """
    o = (lambda v: _opaque(v, zero)) if s.dtype == jnp.float64 else (lambda v: v)
    # the divisor is hidden too: XLA turns a division by a constant into a multiplication by
    # its reciprocal, which rounds differently
    total_mass = o(jnp.asarray(TOTAL_MASS, s.dtype))
    x, x_dot, theta, theta_dot = s[0], s[1], s[2], s[3]
    force = jnp.where(action == 1, FORCE_MAG, -FORCE_MAG).astype(s.dtype)
    costheta = jnp.cos(theta)
    sintheta = jnp.sin(theta)
    temp = (force + o(POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta)) / total_mass
    thetaacc = (o(GRAVITY * sintheta) - o(costheta * temp)) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / total_mass))
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / total_mass
    x = x + o(TAU * x_dot)
    x_dot = x_dot + o(TAU * xacc)
    theta = theta + o(TAU * theta_dot)
    theta_dot = theta_dot + o(TAU * thetaacc)
    new = jnp.stack([x, x_dot, theta, theta_dot])
    terminated = (x < -X_THRESHOLD) | (x > X_THRESHOLD) | \
        (theta < -THETA_THRESHOLD) | (theta > THETA_THRESHOLD)
    return new, terminated


def initial_state(key, dtype):
    """Gymnasium's reset distribution: U(-0.05, 0.05) for each of the 4 variables."""
    return jax.random.uniform(key, (4,), dtype=dtype, minval=-0.05, maxval=0.05)


def env_outputs(s, fb, done, trunc, last_len, episode, steps, dtype):
    """The output dict shared by the in-graph and the host-side environments."""
    return {"observation": s.astype(dtype),
            "feedback": jnp.reshape(fb, (1,)).astype(dtype),
            "done": jnp.reshape(done, (1,)).astype(dtype),
            "truncated": jnp.reshape(trunc, (1,)).astype(dtype),
            "episode_length": jnp.reshape(last_len, (1,)).astype(dtype),
            "episode": jnp.reshape(episode, (1,)).astype(dtype),
            "steps": jnp.reshape(steps, (1,)).astype(dtype)}


def env_out_ports(n_obs: int):
    return [Port("observation", VALUE, n_obs, help="current observation"),
            Port("feedback", MODULATOR, 1,
                 help="-1 for one network step after an episode fails, else 0"),
            Port("done", VALUE, 1, help="1 for one network step after an episode ends"),
            Port("truncated", VALUE, 1,
                 help="1 with done when the episode reached the time limit (not a failure)"),
            Port("episode_length", VALUE, 1, help="length of the last finished episode"),
            Port("episode", VALUE, 1, help="number of finished episodes"),
            Port("steps", VALUE, 1, help="environment steps in the current episode")]


class CartPole(Component):
    """Gymnasium's CartPole-v1 in JAX, one environment step every steps_per_env_step steps."""

    type_name = "cartpole"
    title = "CartPole"
    category = "Environments"
    description = "Gymnasium CartPole-v1 inside the compiled run (sparse failure feedback)"
    latched = True
    params = (
        Param("steps_per_env_step", "int", 20, min=1, max=100_000,
              help="network steps per environment step (Gymnasium's tau is 20 ms: at dt = 1 ms, "
                   "20 steps make network time run at the pole's real time)"),
        Param("max_episode_steps", "int", 500, min=1, max=10_000_000,
              help="truncation: an episode ends successfully after this many steps"),
    )

    @classmethod
    def ports(cls, p):
        return ([Port("action", ACTION, 1, help="0 pushes left, 1 pushes right"),
                 Port("hold", VALUE, 1,
                      help="optional: while above 0 the environment does not step (a pause "
                           "between episodes, e.g. from cartpole_feedback)")],
                env_out_ports(4))

    def init(self, key, rng):
        s = initial_state(key, self.dtype)
        i0 = np.int32(0)
        return {}, {"s": s, "steps": i0, "episode": i0, "last_len": i0,
                    "fb": np.asarray(0.0, self.dtype), "done": np.asarray(0.0, self.dtype),
                    "trunc": np.asarray(0.0, self.dtype)}

    def read(self, p, st, ctx):
        return env_outputs(st["s"], st["fb"], st["done"], st["trunc"], st["last_len"],
                           st["episode"], st["steps"], self.dtype)

    def update(self, p, st, inputs, ctx):
        per = self.config["steps_per_env_step"]
        tick = ((ctx.t + 1) % per == 0) & (inputs["hold"][0] <= 0)
        new, term = cartpole_step(st["s"], inputs["action"][0], runtime_zero(ctx.t))
        steps = st["steps"] + 1
        trunc = (steps >= self.config["max_episode_steps"]) & ~term
        done = term | trunc
        new = jnp.where(done, initial_state(ctx.key, st["s"].dtype), new)
        zero = jnp.zeros((), self.dtype)
        stepped = {
            "s": new,
            "steps": jnp.where(done, 0, steps).astype(jnp.int32),
            "episode": (st["episode"] + done).astype(jnp.int32),
            "last_len": jnp.where(done, steps, st["last_len"]).astype(jnp.int32),
            "fb": jnp.where(term, -1.0, 0.0).astype(self.dtype),
            "done": done.astype(self.dtype),
            "trunc": trunc.astype(self.dtype),
        }
        idle = {**st, "fb": zero, "done": zero, "trunc": zero}
        return jax.tree_util.tree_map(lambda a, b: jnp.where(tick, a, b), stepped, idle)
