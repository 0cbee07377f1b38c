"""The original Spark cartpole tutorial's feedback scheme as a node: it turns the environment's
sparse failure signal into four modulators (for the A and B pools and their inhibitory partners),
replays the failing observation while the modulators act, and pauses the environment meanwhile.

The network runs in blocks of ``block_steps`` steps (one environment step each; the cartpole's
``steps_per_env_step`` must be the same). The node is in one of three modes:

  run      observation out = observation in; modulators = the passive modulator
               m_A = m_B = passive * s,   m_A_inh = m_B_inh = inh_factor * passive * s
  replay   one block after an episode FAILED (feedback < 0; not after the time limit):
           observation out = o_prev, the observation of the failing block; with k = 0 .. B-1
           the step in the block, d = exp(-dt/tau_mod):
               m_correct(k) = correct * s * d^k,   m_other(k) = punish * s * d^k
           and the inhibitory partners inh_factor times their excitatory pool's.
  prepare  one block before every episode (the first one too): observation out = 0 (the
           centre of every range), all modulators 0.

``hold`` is 1 in replay and prepare (connect it to the cartpole's ``hold``: the environment
then does not step at the end of those blocks, as the original, which runs them between two
episodes). A ``done`` (1 for one step after an episode ends) in run mode starts replay (failure)
or prepare (time limit); the step it arrives is the first of the new block.

The correct side. The episode failed in the state o_T = one Euler step after o_prev (Gymnasium's
CartPole moves x and theta with the previous velocities: x_T = x + tau_env x_dot,
theta_T = theta + tau_env theta_dot, exactly). With the normalised values
u = clip(x_T / x_limit, -1, 1) and v = clip(theta_T / theta_limit, -1, 1):
    |u| >= 1 and |v| < upright   (cart left the track, pole nearly upright): B (push right) is
                                 correct when u < 0, else A (towards the centre);
    otherwise                    B is correct when v > 0 (the side the pole fell to), else A.

Scale. s = (1 - E / max_length)^0.5 with E an exponential moving average of episode lengths L,
E <- ema_old E + (1 - ema_old) L at every episode end (E = 0 at first). With ``lagged_scale``
(as the original's training loop) s uses E as it was one episode earlier (the tutorial reads
the average before appending the newest episode); without it, the newest E.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import MODULATOR, VALUE, Component, Param, Port

RUN, REPLAY, PREPARE = 0, 1, 2
MODS = ("m_a", "m_b", "m_a_inh", "m_b_inh")


def correct_is_b(x_t, theta_t, x_limit, theta_limit, upright):
    """True when B (push right) should have acted, from the failing state (see the docstring)."""
    u = jnp.clip(x_t / x_limit, -1.0, 1.0)
    v = jnp.clip(theta_t / theta_limit, -1.0, 1.0)
    off_track = (jnp.abs(u) >= 1.0) & (jnp.abs(v) < upright)
    return jnp.where(off_track, u < 0.0, v > 0.0)


class CartpoleFeedback(Component):
    """Failure-only, side-chosen modulators of the original cartpole tutorial (see docstring)."""

    type_name = "cartpole_feedback"
    title = "Cartpole feedback (original Spark)"
    category = "Plasticity"
    description = ("Failure feedback of the original Spark's cartpole: replay the failing "
                   "observation, reward the correct pool, punish the other")
    params = (
        Param("block_steps", "int", 50, min=1, max=100_000,
              help="network steps per block (= the cartpole's steps_per_env_step)"),
        Param("correct", "float", 2.5, help="modulator of the pool that should have acted (x s)"),
        Param("punish", "float", -25.0, help="modulator of the other pool (x s)"),
        Param("passive", "float", -0.0001, help="modulator of both pools between failures (x s)"),
        Param("inh_factor", "float", 0.25,
              help="an inhibitory pool's modulator relative to its excitatory partner's"),
        Param("tau_mod", "float", 0.5, "ms", min=0.0, min_exclusive=True,
              help="decay time constant of the failure modulators within the replay block"),
        Param("ema_old", "float", 0.8, min=0.0, max=1.0,
              help="weight of the old average in the episode-length average E"),
        Param("max_length", "float", 500.0, min=0.0, min_exclusive=True,
              help="episode length at which the scale s = (1 - E/max_length)^0.5 reaches 0"),
        Param("x_limit", "float", 2.4, min=0.0, min_exclusive=True,
              help="cart position (m) that counts as off the track (normalises x)"),
        Param("theta_limit", "float", 0.2095, "rad", min=0.0, min_exclusive=True,
              help="normalises the pole angle (the original divides by 0.2095 rad)"),
        Param("upright", "float", 0.05, min=0.0,
              help="|normalised angle| below which a pole off the track counts as upright"),
        Param("tau_env", "float", 0.02, "s", min=0.0,
              help="the environment's time step (CartPole's Euler step: 0.02 s)"),
        Param("prepare", "bool", True,
              help="run a block of zero observation and no modulation before every episode"),
        Param("lagged_scale", "bool", True,
              help="the scale uses the length average of one episode earlier (as the original)"),
    )

    @classmethod
    def ports(cls, p):
        ins = [Port("observation", VALUE, 4, required=True, help="the cartpole's observation"),
               Port("feedback", MODULATOR, 1, required=True,
                    help="the cartpole's feedback (-1 after a failure)"),
               Port("done", VALUE, 1, required=True, help="the cartpole's done"),
               Port("episode_length", VALUE, 1, required=True,
                    help="the cartpole's episode_length")]
        outs = [Port("observation", VALUE, 4, help="the observation to encode"),
                Port("m_a", MODULATOR, 1, help="modulator of pool A (push left)"),
                Port("m_b", MODULATOR, 1, help="modulator of pool B (push right)"),
                Port("m_a_inh", MODULATOR, 1, help="modulator of A's inhibitory pool"),
                Port("m_b_inh", MODULATOR, 1, help="modulator of B's inhibitory pool"),
                Port("hold", VALUE, 1, help="1 while the environment must not step"),
                Port("scale", VALUE, 1, help="the scale s of this episode")]
        return ins, outs

    def init(self, key, rng):
        f = self.dtype
        mode = PREPARE if self.config["prepare"] else RUN
        return {}, {"mode": np.int32(mode), "k": np.int32(0), "held": np.zeros(4, f),
                    "m0": np.zeros(2, f), "ema": np.zeros((), f), "ema_used": np.zeros((), f)}

    def prepare(self, p):
        return {"d_mod": jnp.exp(-self.dt / p["tau_mod"])}

    def step(self, p, s, inputs, ctx):
        c, f, B = self.config, self.dtype, self.config["block_steps"]
        obs = inputs["observation"]
        fail = inputs["feedback"][0] < 0.0
        done = (inputs["done"][0] > 0.0) & (s["mode"] == RUN)
        scale = jnp.sqrt(jnp.maximum(1.0 - s["ema_used"] / p["max_length"], 0.0))
        # the failing state, one Euler step after the held observation
        held = s["held"]
        b_ok = correct_is_b(held[0] + p["tau_env"] * held[1], held[2] + p["tau_env"] * held[3],
                            p["x_limit"], p["theta_limit"], p["upright"])
        good, bad = p["correct"] * scale, p["punish"] * scale
        m0_new = jnp.stack([jnp.where(b_ok, bad, good), jnp.where(b_ok, good, bad)]).astype(f)
        after = PREPARE if c["prepare"] else RUN
        mode = jnp.where(done, jnp.where(fail, REPLAY, after), s["mode"]).astype(jnp.int32)
        k = jnp.where(done, 0, s["k"])
        m0 = jnp.where(done & fail, m0_new, s["m0"])
        ema_new = p["ema_old"] * s["ema"] + (1.0 - p["ema_old"]) * inputs["episode_length"][0]
        ema_used = jnp.where(done, s["ema"] if c["lagged_scale"] else ema_new, s["ema_used"])
        ema = jnp.where(done, ema_new, s["ema"])
        # outputs of this step
        run, replay = mode == RUN, mode == REPLAY
        mod = jnp.where(replay, m0 * p["d_mod"] ** k.astype(f),
                        jnp.where(run, p["passive"] * scale, 0.0)).astype(f)
        out_obs = jnp.where(run, obs, jnp.where(replay, held, 0.0)).astype(f)
        # next step
        end = k + 1 >= B
        nxt = jnp.where(end, jnp.where(mode == REPLAY, after, RUN), mode).astype(jnp.int32)
        state = {"mode": jnp.where(run, mode, nxt).astype(jnp.int32),
                 "k": jnp.where(end | run, 0, k + 1).astype(jnp.int32),
                 "held": jnp.where(run, obs, held).astype(f), "m0": m0,
                 "ema": ema.astype(f), "ema_used": ema_used.astype(f)}
        outs = {"observation": out_obs,
                "m_a": mod[0:1], "m_b": mod[1:2],
                "m_a_inh": p["inh_factor"] * mod[0:1], "m_b_inh": p["inh_factor"] * mod[1:2],
                "hold": jnp.where(run, 0.0, 1.0).reshape(1).astype(f),
                "scale": scale.reshape(1).astype(f)}
        return state, outs

