"""Train many independent agents of one graph in parallel: ``spark train FILE --agents N ...``.

Every agent is the graph built with its own seed (S, S+1, ..., S+N-1: its own connectivity,
initial weights, noise and environment). The N agents run as ONE compiled program: the model's
chunk of K steps (``lax.scan``) is ``jax.vmap``-ed over the stacked (params, consts, state) of the
agents and jitted once. The graph must contain one environment node:

* an in-graph ``cartpole``: chunks of ``--chunk`` environment steps run without stopping; its
  ``done`` and ``episode_length`` outputs are recorded to collect each agent's episode lengths;
* a host-side ``gym_env`` (any Gymnasium environment): every agent has its own Gymnasium
  environment in this process; the vmapped chunk runs one environment step
  (``steps_per_env_step`` network steps) of all agents, then each agent's environment is stepped
  on the host with that agent's action, exactly as ``Simulation`` does for one agent (same
  seeds, same resets: agent a of the run is the graph run alone with seed S+a).

Learning happens inside the graph (plasticity), not here: the trainer only runs and measures.

With several local devices (GPUs, or CPU host devices made with
``XLA_FLAGS=--xla_force_host_platform_device_count=N``) the in-graph environment's agents are
split over all of them (``agent_layout``): the same numbers as on one device. A host-side
``gym_env`` runs on one device (its environments step on the host anyway).

Outputs in ``--out DIR``: ``episodes.csv`` (agent, seed, episode, length), ``summary.json``
(agents solved, the episode at which each solved, the median), ``learning_curve.png`` (every
agent in grey, the mean in blue) and ``states/agent<i>_seed<s>.npz``: every agent's final state
(engine/state.py), to continue from with ``spark run FILE --load-state`` or the app's
File > Open State.

Solved: 10 consecutive episodes whose mean return reaches the environment's reward threshold
(Gymnasium's ``spec.reward_threshold``); an agent solved at the first episode of the first such
window (episodes are numbered from 1). For CartPole-v1 (in-graph or Gymnasium's) the return is
the episode length and the threshold 475. Environments without a threshold report no solves.
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import struct
import sys
import time
import zlib
from pathlib import Path

import jax
import numpy as np

from . import distributed
from .compiler import compile_graph
from .fileio import load

ENV_TYPES = ("cartpole", "gym_env")
SOLVE_WINDOW = 10
SOLVE_MEAN = 475.0          # CartPole-v1's reward threshold (its return is its length)


def solved_episode(lengths, window: int = SOLVE_WINDOW, threshold: float = SOLVE_MEAN):
    """First episode (1-based) of the first ``window`` episodes averaging >= threshold, or None."""
    x = np.asarray(lengths, np.float64)
    if x.size < window:
        return None
    means = np.convolve(x, np.ones(window) / window, mode="valid")
    hit = np.flatnonzero(means >= threshold - 1e-9)
    return int(hit[0]) + 1 if hit.size else None


def find_env(graph) -> str:
    envs = [n.id for n in graph.nodes.values() if n.type in ENV_TYPES]
    if len(envs) != 1:
        raise ValueError(f"training needs exactly one environment node "
                         f"({', '.join(ENV_TYPES)}); found {len(envs)}")
    return envs[0]


def reward_threshold(comp) -> float | None:
    """The return at which the environment of ``comp`` counts as solved (None: unknown)."""
    if not getattr(comp, "host_side", False):
        return SOLVE_MEAN
    import gymnasium as gym
    spec = gym.spec(comp.config["env_id"])
    return None if spec.reward_threshold is None else float(spec.reward_threshold)


def stack_agents(model, seeds):
    """(params, consts, state) of every seed, stacked on a leading agent axis."""
    groups = agent_groups(model, seeds)
    if len(groups) > 1:
        raise ValueError(f"the agents' connectivity tables differ in size from seed to seed "
                         f"({len(groups)} different shapes among seeds {seeds[0]}-{seeds[-1]}); "
                         "training a graph with a host-side environment needs them equal "
                         "(e.g. fixed_fan_in or all_to_all instead of fixed_probability)")
    return groups[0][1]


def agent_groups(model, seeds):
    """The agents split into groups whose (params, consts, state) have the same shapes, in
    order: [(agent indices, stacked (params, consts, state))]. Seeds draw random connectivity
    whose tables may differ in size (e.g. the widest row of a fixed_probability projection);
    each group runs as one vmapped program (the groups take turns, a chunk each), and a group
    of one is the graph run alone."""
    inits = [model.init(s) for s in seeds]
    groups: dict = {}
    for a, init in enumerate(inits):
        key = tuple(np.shape(x) for x in jax.tree_util.tree_leaves(init))
        groups.setdefault(key, []).append(a)
    return [(idx, jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]),
                                         *[inits[a] for a in idx]))
            for idx in groups.values()]


def agent_layout(agents: int, devices=None):
    """(agents actually run, the sharding of the agent axis or None) for ``agents`` agents on
    ``devices`` (default: every local device). With several devices the agent axis is split
    over them (JAX's sharding: each device runs its share of the vmapped agents, the compiled
    program is the same); the count is rounded up to a multiple of the devices, and the extra
    agents (copies) are run and left out of every result."""
    mesh = agent_mesh(devices)
    if mesh is None:
        return agents, None
    from jax.sharding import NamedSharding, PartitionSpec
    run = -(-agents // mesh.size) * mesh.size
    return run, NamedSharding(mesh, PartitionSpec("agents"))


def agent_mesh(devices=None):
    """A one-axis mesh ("agents") over ``devices`` (default: every local device); None for
    fewer than two."""
    devices = jax.local_devices() if devices is None else list(devices)
    if len(devices) < 2:
        return None
    from jax.sharding import Mesh
    return Mesh(np.asarray(devices), ("agents",))


def per_device(fn, devices=None):
    """``fn`` (vmapped over the agents) run by each local device on its own share of the agents
    (``jax.shard_map`` over the agent axis of every argument and result). Left to XLA's
    automatic partitioning, the native kernels (opaque calls to it) would be fed the whole
    batch on every device, gathered each step; with one device ``fn`` itself."""
    mesh = agent_mesh(devices)
    if mesh is None:
        return fn
    from jax.sharding import PartitionSpec
    return jax.shard_map(fn, mesh=mesh, in_specs=PartitionSpec("agents"),
                         out_specs=PartitionSpec("agents"), check_vma=False)


def place(tree, sharding):
    """``tree`` (leaves with a leading agent axis) on the devices, split along that axis."""
    return tree if sharding is None else jax.device_put(tree, sharding)


class Progress:
    """A one-line progress bar on stderr (plain text when not a terminal)."""

    def __init__(self, total: int, enabled: bool = True):
        self.total, self.enabled = total, enabled
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.last = -1.0

    def show(self, done: int, extra: str = ""):
        if not self.enabled:
            return
        now = time.perf_counter() - self.t0
        if not self.tty and now - self.last < 10.0 and done < self.total:
            return
        self.last = now
        frac = min(done / max(self.total, 1), 1.0)
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        line = f"[{bar}] {done}/{self.total} episodes (slowest agent)  {now:6.0f} s  {extra}"
        sys.stderr.write(("\r" + line) if self.tty else (line + "\n"))
        sys.stderr.flush()

    def close(self):
        if self.enabled and self.tty:
            sys.stderr.write("\n")


def train(graph, agents: int, episodes: int, seed: int = 0, chunk_env_steps: int = 500,
          progress: bool = True, max_env_steps: int | None = None,
          time_limit_s: float | None = None):
    """Run ``agents`` agents until each finished ``episodes`` episodes (or, with
    ``time_limit_s``, until that much wall time has passed: agents then have the episodes they
    finished, possibly none; in-graph environments only).

    Returns (lengths, info): lengths[a] is the list of the first ``episodes`` episode lengths of
    agent a; info has the seeds, the wall time and the number of network steps simulated.
    """
    model = compile_graph(graph)
    env = find_env(model.graph)  # (flattened: the environment may sit inside a component)
    if getattr(model.rnodes[env].comp, "host_side", False):
        return train_host(model, env, agents, episodes, seed, progress, max_env_steps)
    per = int(model.rnodes[env].comp.config["steps_per_env_step"])
    max_len = int(model.rnodes[env].comp.config["max_episode_steps"])
    k = per * int(chunk_env_steps)
    record = (f"{env}.done", f"{env}.episode_length")
    fn = model.jit(per_device(jax.vmap(model.chunk_function(k, record, ()))), throughput=True)
    seeds = [seed + i for i in range(agents)]
    lengths = [[] for _ in range(agents)]
    limit = max_env_steps if max_env_steps is not None else episodes * max_len + max_len
    bar = Progress(episodes, progress)
    t0 = time.perf_counter()
    # agents whose tables have the same shapes run as one vmapped program, split over the local
    # devices; the groups take turns, one chunk each, so that all agents progress together (a
    # time limit then leaves every agent with about the same number of environment steps)
    groups, devices = [], 1
    for idx, stacked in agent_groups(model, seeds):
        run, sharding = agent_layout(len(idx))
        if run > len(idx):      # padded with copies of the group's first agent, ignored
            stacked = jax.tree_util.tree_map(
                lambda x, k=run - len(idx): np.concatenate([x, np.repeat(x[:1], k, axis=0)]),
                stacked)
        if sharding is not None:
            devices = len(sharding.mesh.devices)
        groups.append({"idx": idx, "run": list(place(stacked, sharding)), "steps": 0})

    def active(gr):
        return min(len(lengths[a]) for a in gr["idx"]) < episodes and gr["steps"] < limit

    while any(active(gr) for gr in groups):
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            break
        for gr in filter(active, groups):
            params, consts, state = gr["run"]
            state, recs, _last, finite = fn(params, consts, state)
            gr["run"][2] = state
            done = np.asarray(recs[record[0]])[..., 0] > 0
            ln = np.asarray(recs[record[1]])[..., 0]
            for g, a in enumerate(gr["idx"]):
                lengths[a].extend(int(v) for v in ln[g][done[g]])
            if not bool(np.all(np.asarray(finite))):
                raise FloatingPointError("a state became NaN or infinite during training")
            gr["steps"] += chunk_env_steps
        mean_recent = np.mean([np.mean(x[-10:]) if x else 0.0 for x in lengths])
        bar.show(min(len(x) for x in lengths), f"mean of last 10: {mean_recent:5.1f}")
    steps = max(gr["steps"] for gr in groups)
    finals = [(gr["idx"], [seeds[a] for a in gr["idx"]],
               jax.tree_util.tree_map(lambda x, n=len(gr["idx"]): np.asarray(x)[:n],
                                      tuple(gr["run"])))
              for gr in groups]
    bar.close()
    wall = time.perf_counter() - t0
    lengths = [x[:episodes] for x in lengths]
    return lengths, {"seeds": seeds, "wall_s": wall, "network_steps": steps * per,
                     "returns": None, "threshold": SOLVE_MEAN, "max_len": max_len,
                     "model": model, "final": finals[0][2] if len(finals) == 1 else None,
                     "groups": finals, "devices": devices}


def save_agent_states(folder, model, final, seeds, agents=None) -> list[str]:
    """Write every agent's final state (``final``: the stacked (params, consts, state) of the
    agents) as ``agent<i>_seed<s>.npz`` in ``folder`` (engine/state.py: load one with
    ``Simulation.load_state`` or ``spark run FILE --load-state``); ``agents`` are their numbers
    (default 0, 1, ...: a group of agents or a process's share numbers them otherwise).
    Returns the paths."""
    from .state import canonical_consts, canonical_nodes, write_state

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params, consts, state = (jax.tree_util.tree_map(np.asarray, x) for x in final)
    numbers = list(range(len(seeds))) if agents is None else list(agents)
    paths = []
    for a, seed in enumerate(seeds):
        pick = (lambda x, a=a: x[a])
        st = jax.tree_util.tree_map(pick, state)
        p = {n: v for n, v in jax.tree_util.tree_map(pick, params).items()
             if n in model.graph.nodes}
        paths.append(write_state(
            folder / f"agent{numbers[a]}_seed{seed}.npz", model,
            nodes=canonical_nodes(model, st["nodes"]), t=int(st["t"]), key=st["key"],
            prev=st["prev"], params=p,
            consts=canonical_consts(model, jax.tree_util.tree_map(pick, consts), seed),
            seed=seed, meta={"agent": numbers[a], "trained": True}))
    return paths


class AgentHost:
    """What a host-side node's ``host_reset``/``host_exchange`` ask of a Simulation, for agent
    ``a`` of a vmapped run: the values fed into the node at the last step (``last``: the watched
    outputs of all agents, set after each chunk) and its live parameters (rows of the stacked,
    writable ``params``)."""

    def __init__(self, model, params, a: int):
        self.model, self.params, self.a = model, params, a
        self.last = {}

    def input_value(self, node: str, port: str) -> np.ndarray:
        srcs = self.model.rnodes[node].sources.get(port, [])
        if not srcs:
            return self.model.zeros_host(f"{node}.{port}")
        return sum(np.asarray(self.last[s][self.a]) for s in srcs)

    def set_param(self, node: str, name: str, value) -> None:
        self.params[node][name][self.a] = np.asarray(value, self.params[node][name].dtype)


def train_host(model, env: str, agents: int, episodes: int, seed: int = 0,
               progress: bool = True, max_env_steps: int | None = None):
    """``train`` for a host-side environment node ``env`` (see the module docstring)."""
    host = [n for n, r in model.rnodes.items() if getattr(r.comp, "host_side", False)]
    if host != [env]:
        raise ValueError(f"training needs the environment to be the only host-side node; "
                         f"found {', '.join(host)}")
    proto = model.rnodes[env].comp
    per = int(proto.host_period())
    srcs = tuple(model.rnodes[env].sources.get("action", []))
    fn = model.jit(jax.vmap(model.chunk_function(per, (), srcs)), throughput=True)
    seeds = [seed + i for i in range(agents)]
    params, consts, state = stack_agents(model, seeds)
    params = jax.tree_util.tree_map(np.array, params)   # writable host copies
    views = [AgentHost(model, params, a) for a in range(agents)]
    comps = []
    for a in range(agents):   # every agent its own node instance, holding its own environment
        c = copy.copy(proto)
        c.env = c._actions = None
        c.host_reset(views[a], env, seeds[a])
        comps.append(c)
    lengths = [[] for _ in range(agents)]
    returns = [[] for _ in range(agents)]
    spec = comps[0].env.spec
    max_len = int(spec.max_episode_steps) if spec and spec.max_episode_steps else 500
    limit = max_env_steps if max_env_steps is not None else episodes * max_len + max_len
    bar = Progress(episodes, progress)
    t0 = time.perf_counter()
    env_steps = 0
    try:
        while min(len(x) for x in lengths) < episodes and env_steps < limit:
            state, _recs, last, finite = fn(params, consts, state)
            if not bool(np.all(np.asarray(finite))):
                raise FloatingPointError("a state became NaN or infinite during training")
            last = {k: np.asarray(v) for k, v in last.items()}
            for a, (c, view) in enumerate(zip(comps, views)):
                view.last = last
                before = c.episode
                c.host_exchange(view, env)
                if c.episode > before:
                    lengths[a].append(int(c.last_len))
                    returns[a].append(float(c.last_return))
            env_steps += 1
            if env_steps % 200 == 0 or min(len(x) for x in lengths) >= episodes:
                mean_recent = np.mean([np.mean(x[-10:]) if x else 0.0 for x in lengths])
                bar.show(min(len(x) for x in lengths), f"mean of last 10: {mean_recent:5.1f}")
    finally:
        for c in comps:
            c.env.close()
    bar.close()
    wall = time.perf_counter() - t0
    return [x[:episodes] for x in lengths], {
        "seeds": seeds, "wall_s": wall, "network_steps": env_steps * per,
        "returns": [x[:episodes] for x in returns], "threshold": reward_threshold(proto),
        "max_len": max_len, "model": model, "final": (params, consts, state)}


def summarize(lengths, seeds, episodes: int, wall_s: float | None = None,
              returns=None, threshold: float | None = SOLVE_MEAN) -> dict:
    """Solves and last-10 means. ``returns`` (default: the lengths, CartPole's return) are
    compared with ``threshold`` (None: the environment has none, nothing counts as solved)."""
    what = "length" if returns is None else "return"
    returns = lengths if returns is None else returns
    solved = [None if threshold is None else solved_episode(x, threshold=threshold)
              for x in returns]
    eps = [s for s in solved if s is not None]
    out = {
        "agents": len(lengths), "episodes": episodes, "seeds": list(seeds),
        "criterion": (f"mean {what} of {SOLVE_WINDOW} consecutive episodes >= {threshold:g}; "
                      "solved at the first episode of the first such window (1-based)")
        if threshold is not None else "the environment has no reward threshold: none solved",
        "agents_solved": len(eps),
        "solved_episode": {str(s): e for s, e in zip(seeds, solved)},
        "median_solve_episode": float(np.median(eps)) if eps else None,
        "mean_length_last_10": [float(np.mean(x[-10:])) if x else 0.0 for x in lengths],
        "episodes_run": [len(x) for x in lengths],
    }
    if what == "return":
        out["mean_return_last_10"] = [float(np.mean(x[-10:])) if x else 0.0 for x in returns]
    if wall_s is not None:
        out["wall_s"] = round(float(wall_s), 1)
    return out


def write_results(out_dir, lengths, seeds, summary, max_len: float = 500.0) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "episodes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["agent", "seed", "episode", "length"])
        for a, (s, xs) in enumerate(zip(seeds, lengths)):
            for e, n in enumerate(xs, 1):
                w.writerow([a, s, e, n])
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_curve_png(out / "learning_curve.png", lengths, max_len)


# --- learning-curve picture -------------------------------------------------------------------

def write_curve_png(path, lengths, max_len: float = 500.0) -> None:
    """Each agent's episode lengths (grey) and their mean (blue): matplotlib when installed,
    otherwise a small plot drawn with NumPy and written as a PNG by hand."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        png_plot(path, lengths, max_len)
        return
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for x in lengths:
        ax.plot(np.arange(1, len(x) + 1), x, color="0.75", lw=0.7)
    ax.plot(*_mean_curve(lengths), color="tab:blue", lw=2, label="mean")
    ax.set_xlabel("episode")
    ax.set_ylabel("episode length (steps)")
    ax.set_ylim(0, max_len * 1.05)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _mean_curve(lengths):
    n = max((len(x) for x in lengths), default=0)
    m = [np.mean([x[i] for x in lengths if len(x) > i]) for i in range(n)]
    return np.arange(1, n + 1), np.asarray(m)


def png_plot(path, lengths, max_len: float = 500.0, w: int = 640, h: int = 360) -> None:
    img = np.full((h, w, 3), 255, np.uint8)
    l, r, t, b = 40, w - 10, 10, h - 30
    img[t:b + 1, l] = img[b, l:r + 1] = 0
    n = max((len(x) for x in lengths), default=1)

    def to_px(i, y):
        px = l + (i / max(n - 1, 1)) * (r - l)
        py = b - min(max(y / max_len, 0.0), 1.05) / 1.05 * (b - t)
        return px, py

    def line(xs, ys, color, width):
        for i in range(len(xs) - 1):
            x0, y0 = to_px(i, ys[i])
            x1, y1 = to_px(i + 1, ys[i + 1])
            k = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
            px = np.round(np.linspace(x0, x1, k + 1)).astype(int)
            py = np.round(np.linspace(y0, y1, k + 1)).astype(int)
            for d in range(width):
                img[np.clip(py + d, 0, h - 1), np.clip(px, 0, w - 1)] = color

    for x in lengths:
        line(list(range(len(x))), list(x), (190, 190, 190), 1)
    _, m = _mean_curve(lengths)
    line(list(range(len(m))), list(m), (31, 119, 180), 2)
    write_png(path, img)


def write_png(path, rgb: np.ndarray) -> None:
    """Write an (h, w, 3) uint8 array as a PNG (no dependencies)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    Path(path).write_bytes(data)


# --- command line -------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="graph file with one environment (cartpole or gym_env)")
    parser.add_argument("--agents", type=int, default=25, help="number of agents (default 25)")
    parser.add_argument("--episodes", type=int, default=100, help="episodes per agent (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first agent (default 0)")
    parser.add_argument("--out", default=None, help="output folder (default: train_out)")
    parser.add_argument("--chunk", type=int, default=500,
                        help="environment steps per compiled chunk (default 500; a gym_env is "
                             "exchanged after every environment step)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop after this many minutes of wall time; every agent keeps the "
                             "episodes it finished (in-graph environments such as cartpole)")
    distributed.add_arguments(parser)


def run(args) -> int:
    """Train, write the results, print a one-line summary. Returns the exit status."""
    if args.agents < 1 or args.episodes < 1:
        print("error: --agents and --episodes must be at least 1", file=sys.stderr)
        return 2
    if distributed.wanted(args):
        problem = distributed.check(args)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        distributed.initialize(args)
    graph = load(args.file)
    share = distributed.share(args.agents)
    minutes = getattr(args, "minutes", None)
    lengths, info = train(graph, share.agents, args.episodes, args.seed + share.first,
                          chunk_env_steps=args.chunk, progress=not args.quiet,
                          time_limit_s=None if minutes is None else 60.0 * minutes)
    lengths, returns = distributed.gather(share, lengths, info["returns"], args.episodes,
                                          args.agents)
    seeds = [args.seed + a for a in range(args.agents)]
    wall = distributed.total(share, info["wall_s"], "max")
    summary = summarize(lengths, seeds, args.episodes, wall, returns, info["threshold"])
    summary["devices"] = int(distributed.total(share, info.get("devices", 1)))
    summary["processes"] = share.count
    out = args.out or "train_out"
    if share.index == 0:
        write_results(out, lengths, seeds, summary, info["max_len"])
    groups = info.get("groups") or [(list(range(share.agents)), info["seeds"], info["final"])]
    for idx, group_seeds, final in groups:
        save_agent_states(Path(out) / "states", info["model"], final, group_seeds,
                          agents=[share.first + a for a in idx])
    if share.index == 0:
        med = summary["median_solve_episode"]
        print(f"{summary['agents_solved']}/{args.agents} agents solved; median solve episode "
              f"{'-' if med is None else f'{med:g}'}; {wall:.0f} s; results in {out} "
              f"(final agent states in {Path(out) / 'states'})")
    else:
        print(f"process {share.index}: agents {share.first}-{share.first + share.agents - 1} "
              f"done; their final states in {Path(out) / 'states'}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="spark train", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
