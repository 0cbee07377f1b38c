"""Gymnasium environment on the host: any environment with a Box observation and a Discrete action.

Host-side (see components/base.py): the environment lives in Python, outside the compiled chunk.
Every ``steps_per_env_step`` network steps the Simulation stops the chunk and calls
``host_exchange``, which reads the ``action`` fed into this node at the last step, steps the
environment, auto-resets it when the episode ended (terminated or truncated, the next reset
seeded from the run seed and the episode number), and writes the results into the node's live
vector parameters; ``step`` outputs them during the next chunk. So it has the same timing and
the same outputs as the in-graph ``cartpole`` node:

    observation    the current observation (float32 from Gymnasium, in the model dtype)
    feedback       the sparse signal chosen by ``feedback_mode``, during the one network step
                   after an environment step, 0 at every other step:
                     failure  -1 after a step that TERMINATED an episode, else 0 (CartPole:
                              termination is a failure, truncation a success: 0); the default
                     success  +1 after a step that terminated an episode, else 0 (Acrobot,
                              MountainCar: termination means the goal was reached)
                     reward   Gymnasium's own reward of that step (e.g. -1 per step for Acrobot)
    done           1 during the one network step after an episode ended, else 0
    truncated      1 with done when the episode was truncated (Gymnasium's ``truncated``: a time
                   limit, not a terminal state), else 0
    episode_length length of the last finished episode;  episode: finished episodes;
    steps          environment steps of the current episode

Only ``feedback_mode`` = reward passes Gymnasium's own reward on; the other modes give the network
one number per episode at most.

Actions: the ``action`` input is an index i (e.g. of the winning action pool). With ``actions``
empty it is the environment's action i; otherwise ``actions`` lists the environment's action for
each index, e.g. "0, 2" lets two pools drive Acrobot's torque -1 (action 0) and +1 (action 2) and
never choose 0 torque (action 1). An index outside the list (or, without a list, outside the
environment's actions) stops the run with an error naming the node.
"""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from .base import ACTION, Component, Param, Port
from .cartpole import env_out_ports

_SPACES_CACHE: dict[str, tuple[int, int]] = {}
FEEDBACK_MODES = ("failure", "success", "reward")
FEEDBACK_HELP = ("for one network step after each environment step: -1 when the episode failed "
                 "(feedback_mode failure), +1 when it terminated (success), or the step's "
                 "reward (reward); else 0")

# Modules the user allowed Gymnasium to import for an environment ("module:Env-v0"): see
# ``allow_import``. A graph file is data: its env_id alone never makes Spark import anything.
ALLOW_IMPORT_ENV = "SPARK_ALLOW_IMPORT"
_allowed: set[str] = set()


def allow_import(*modules: str) -> None:
    """Let environments written ``"module:Env-v0"`` import ``module`` (exactly that name) in
    this process. The command line's ``--allow-import MODULE`` calls this; the environment
    variable SPARK_ALLOW_IMPORT (names separated by commas) does the same."""
    _allowed.update(m.strip() for m in modules if m and m.strip())


def allowed_imports() -> set[str]:
    """The modules environments may import: ``allow_import``'s and SPARK_ALLOW_IMPORT's."""
    env = os.environ.get(ALLOW_IMPORT_ENV, "")
    return _allowed | {m.strip() for m in env.split(",") if m.strip()}


class ImportNotAllowed(ValueError):
    """An env_id names a module to import that the user has not allowed."""


def check_env_id(env_id: str) -> None:
    """Raise ImportNotAllowed when ``env_id`` would make Gymnasium import a module (the
    ``"module:Env-v0"`` form) that the user has not allowed; environments already registered
    with Gymnasium (``"CartPole-v1"``) need nothing."""
    if ":" not in env_id:
        return
    module = env_id.split(":", 1)[0]
    if not module.strip():
        raise ImportNotAllowed(f"{env_id!r}: nothing before the ':' (Gymnasium reads "
                               "'module:Env-v0' as a module to import, then the environment)")
    if module not in allowed_imports():
        raise ImportNotAllowed(
            f"{env_id!r} asks to import the Python module {module!r}, which runs its code; a "
            f"graph file cannot do that on its own. If you trust it, allow it: run with "
            f"--allow-import {module} (spark validate/run/train/app), or set "
            f"{ALLOW_IMPORT_ENV}={module}")


def make_env(env_id: str, render: bool = False):
    """``gym.make(env_id)``; with ``render``, in ``rgb_array`` render mode when the environment
    lists it (pictures are then drawn only when asked for: ``GymEnv.host_render``). An env_id
    that imports a module needs the user's consent first (``check_env_id``)."""
    check_env_id(env_id)
    import gymnasium as gym
    env = gym.make(env_id)
    if render and "rgb_array" in (env.metadata.get("render_modes") or []):
        env.close()
        env = gym.make(env_id, render_mode="rgb_array")
    return env


def spaces(env_id: str) -> tuple[int, int]:
    """(size of the flattened Box observation, number of Discrete actions) of ``env_id`` (the
    environment is made once and the answer cached)."""
    check_env_id(env_id)  # every time: the cache must not outlive a consent
    if env_id not in _SPACES_CACHE:
        import gymnasium as gym
        env = make_env(env_id)
        try:
            if not isinstance(env.observation_space, gym.spaces.Box) or \
                    not isinstance(env.action_space, gym.spaces.Discrete):
                raise ValueError(f"{env_id}: needs a Box observation and a Discrete action")
            _SPACES_CACHE[env_id] = (int(np.prod(env.observation_space.shape)),
                                     int(env.action_space.n))
        finally:
            env.close()
    return _SPACES_CACHE[env_id]


def observation_size(env_id: str) -> int:
    """Size of the (flattened) Box observation of ``env_id``."""
    return spaces(env_id)[0]


def parse_actions(text: str) -> list[int]:
    """The action list of the ``actions`` parameter ("0, 2" -> [0, 2]; "" -> []); raises
    ValueError with the reason."""
    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        try:
            out.append(int(item))
        except ValueError:
            raise ValueError(f"{item!r} is not a whole number") from None
    if not out and str(text).strip():
        raise ValueError("no actions listed")
    return out


_PLAIN = (bool, int, float, str, type(None))
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def env_state(env, env_id: str = "") -> dict:
    """A Gymnasium environment's state as plain JSON: the plain attributes (numbers, flags) of
    every wrapper (the time limit's step count, ...) and of the environment itself, its
    ``state`` array and its random generator. Only environments that keep their whole state
    that way (the classic-control ones: CartPole, Acrobot, MountainCar, Pendulum) can be saved;
    others raise ValueError (their state lives in objects Spark does not store, e.g. Box2D)."""
    layers = []
    e = env
    while True:
        layers.append({k: v for k, v in vars(e).items() if isinstance(v, _PLAIN)})
        if not hasattr(e, "env"):
            break
        e = e.env
    if not hasattr(e, "state"):
        raise ValueError(f"the Gymnasium environment {env_id or type(e).__name__} keeps its "
                         "state in objects that cannot be saved (only environments with a "
                         "'state' array, such as the classic-control ones, can)")
    st = getattr(e, "state")
    arr = None if st is None else np.asarray(st)
    rng = getattr(e, "_np_random", None)
    return {"layers": layers,
            "state": None if arr is None else arr.tolist(),
            "state_dtype": None if arr is None else str(arr.dtype),
            "rng": None if rng is None else rng.bit_generator.state}


def set_env_state(env, data: dict) -> None:
    """Put a state from ``env_state`` back into ``env`` (made with the same id)."""
    e, layers = env, list(data["layers"])
    while True:
        for k, v in (layers.pop(0) if layers else {}).items():
            # only attributes that are there already and plain (a file sets nothing else)
            if isinstance(v, _PLAIN) and isinstance(vars(e).get(k, ()), _PLAIN):
                setattr(e, k, v)
        if not hasattr(e, "env"):
            break
        e = e.env
    if data.get("state") is not None:
        e.state = np.asarray(data["state"], data["state_dtype"])
    if data.get("rng") is not None:
        name = data["rng"].get("bit_generator")
        if name not in _BIT_GENERATORS:
            raise ValueError(f"unknown random generator {name!r}")
        rng = np.random.Generator(getattr(np.random, name)())
        rng.bit_generator.state = data["rng"]
        e._np_random = rng


class GymEnv(Component):
    """A Gymnasium environment stepped on the host every steps_per_env_step network steps."""

    type_name = "gym_env"
    title = "Gymnasium environment"
    category = "Environments"
    description = "Any Gymnasium environment (Box observation, Discrete action), run on the host"
    host_side = True
    params = (
        Param("env_id", "str", "CartPole-v1", help="Gymnasium id, e.g. CartPole-v1"),
        Param("steps_per_env_step", "int", 20, min=1, max=100_000,
              help="network steps per environment step"),
        Param("feedback_mode", "choice", "failure", choices=FEEDBACK_MODES,
              help="what the feedback output carries: failure = -1 when an episode terminates "
                   "(CartPole), success = +1 when it terminates (Acrobot, MountainCar: the "
                   "goal), reward = Gymnasium's reward of every environment step"),
        Param("actions", "str", "",
              help="the environment's action for each action index, e.g. '0, 2' (index 0 -> "
                   "action 0, index 1 -> action 2); empty: index i is action i"),
        # live vectors written by host_exchange (the values below are only the initial fill)
        Param("observation", "float", 0.0, host_written=True, help="current observation"),
        Param("feedback", "float", 0.0, host_written=True,
              help="the signal chosen by feedback_mode"),
        Param("done", "float", 0.0, host_written=True, help="1 after an episode ended"),
        Param("truncated", "float", 0.0, host_written=True,
              help="1 after an episode was truncated (time limit)"),
        Param("episode_length", "float", 0.0, host_written=True, help="last episode's length"),
        Param("episode", "float", 0.0, host_written=True, help="finished episodes"),
        Param("steps", "float", 0.0, host_written=True, help="steps in this episode"),
    )

    @classmethod
    def check(cls, p):
        try:
            n_actions = spaces(p["env_id"])[1]
        except Exception as exc:  # unknown id, wrong spaces, gymnasium missing
            return [("env_id", f"cannot use {p['env_id']!r}: {exc}")]
        try:
            acts = parse_actions(p["actions"])
        except ValueError as exc:
            return [("actions", f"{exc} (write the environment's actions separated by commas, "
                                "e.g. '0, 2')")]
        bad = [a for a in acts if not 0 <= a < n_actions]
        if bad:
            return [("actions", f"{p['env_id']} has actions 0 .. {n_actions - 1}; "
                                f"{', '.join(map(str, bad))} is not one of them")]
        return []

    @classmethod
    def ports(cls, p):
        try:
            n = observation_size(p["env_id"])
        except Exception:
            n = 1
        outs = [replace(o, help=FEEDBACK_HELP) if o.name == "feedback" else o
                for o in env_out_ports(n)]
        return [Port("action", ACTION, 1, help="the action index (see actions)")], outs

    def live_params(self):
        n = self.size(observation_size(self.config["env_id"]))
        out = {k: np.zeros(1, self.dtype) for k in
               ("feedback", "done", "truncated", "episode_length", "episode", "steps")}
        out["observation"] = np.zeros(n, self.dtype)
        return out

    def step(self, p, s, inputs, ctx):
        # feedback, done and truncated are pulses: shown during the first step after the exchange
        first = (ctx.t % self.config["steps_per_env_step"]) == 0
        outs = {k: p[k] for k in ("observation", "episode_length", "episode", "steps")}
        for k in ("feedback", "done", "truncated"):
            outs[k] = p[k] * first
        return s, outs

    # --- host side ----------------------------------------------------------------------------
    def host_period(self) -> int:
        return int(self.config["steps_per_env_step"])

    def host_reset(self, sim, node_id: str, seed: int) -> None:
        if getattr(self, "env", None) is None:
            self.env = make_env(self.config["env_id"], render=True)
        self.seed = int(seed)
        self.episode = 0
        self.steps = 0
        self.last_len = 0
        # Gymnasium's return of the current and the last finished episode, and whether that one
        # terminated (host-side only: read by engine/train.py, not outputs of the node)
        self.episode_return = self.last_return = 0.0
        self.last_terminated = False
        obs, _ = self.env.reset(seed=self.seed)
        self._publish(sim, node_id, obs, 0.0, 0.0, 0.0)

    def env_action(self, node_id: str, index: int) -> int:
        """The environment's action for action index ``index`` (see ``actions``)."""
        if getattr(self, "_actions", None) is None:
            self._actions = parse_actions(self.config["actions"])
        acts = self._actions
        n = len(acts) if acts else spaces(self.config["env_id"])[1]
        if not 0 <= index < n:
            raise ValueError(f"node {node_id!r}: action index {index} is out of range: "
                             f"{'actions lists' if acts else self.config['env_id'] + ' has'} "
                             f"{n} actions (0 .. {n - 1})")
        return acts[index] if acts else index

    def feedback_value(self, reward: float, terminated: bool) -> float:
        """The ``feedback`` output for an environment step (see ``feedback_mode``)."""
        mode = self.config["feedback_mode"]
        if mode == "reward":
            return float(reward)
        if not terminated:
            return 0.0
        return -1.0 if mode == "failure" else 1.0

    def host_exchange(self, sim, node_id: str) -> None:
        index = int(np.asarray(sim.input_value(node_id, "action")).reshape(-1)[0])
        obs, reward, terminated, truncated, _info = self.env.step(self.env_action(node_id, index))
        self.steps += 1
        self.episode_return += float(reward)
        fb = self.feedback_value(reward, terminated)
        done = trunc = 0.0
        if terminated or truncated:
            self.episode += 1
            self.last_len = self.steps
            self.last_return, self.last_terminated = self.episode_return, bool(terminated)
            self.steps = 0
            self.episode_return = 0.0
            done = 1.0
            trunc = 0.0 if terminated else 1.0
            obs, _ = self.env.reset(seed=self.seed * 100_003 + self.episode)
        self._publish(sim, node_id, obs, fb, done, trunc)

    def host_state(self) -> dict:
        """This node's host-side state as plain JSON (saved states, engine/state.py)."""
        return {"seed": self.seed, "episode": self.episode, "steps": self.steps,
                "last_len": self.last_len, "env": env_state(self.env, self.config["env_id"])}

    def host_restore(self, sim, node_id: str, data: dict) -> None:
        """Back to a state from ``host_state`` (the node's outputs are live parameters, which
        the engine restores itself)."""
        if getattr(self, "env", None) is None:
            self.env = make_env(self.config["env_id"], render=True)
        self.seed = int(data["seed"])
        self.episode, self.steps = int(data["episode"]), int(data["steps"])
        self.last_len = int(data["last_len"])
        set_env_state(self.env, data["env"])

    def host_render(self):
        """The environment's ``rgb_array`` picture, or None when it cannot draw (no such render
        mode, or its renderer, e.g. pygame, is not installed)."""
        env = getattr(self, "env", None)
        if env is None or getattr(env, "render_mode", None) != "rgb_array" \
                or getattr(self, "_no_render", False):
            return None
        try:
            return env.render()
        except Exception:
            self._no_render = True   # e.g. gymnasium's DependencyNotInstalled: do not retry
            return None

    def _publish(self, sim, node_id, obs, fb, done, trunc):
        vals = {"observation": np.asarray(obs, np.float64).reshape(-1), "feedback": [fb],
                "done": [done], "truncated": [trunc], "episode_length": [self.last_len],
                "episode": [self.episode], "steps": [self.steps]}
        for k, v in vals.items():
            sim.set_param(node_id, k, np.asarray(v, np.float64))
