"""Train many independent agents of one graph in parallel: ``spark train FILE --agents N ...``.

Every agent is the graph built with its own seed (S, S+1, ..., S+N-1: its own connectivity,
initial weights, noise and environment). The N agents run as ONE compiled program: the model's
chunk of K steps (``lax.scan``) is ``jax.vmap``-ed over the stacked (params, consts, state) of the
agents and jitted once. The graph must contain an in-graph environment (a ``cartpole`` node): its
``done`` and ``episode_length`` outputs are recorded to collect each agent's episode lengths.
Learning happens inside the graph (plasticity), not here: the trainer only runs and measures.

Outputs in ``--out DIR``: ``episodes.csv`` (agent, seed, episode, length), ``summary.json``
(agents solved, the episode at which each solved, the median), ``learning_curve.png`` (every
agent in grey, the mean in blue) and ``states/agent<i>_seed<s>.npz``: every agent's final state
(engine/state.py), to continue from with ``spark run FILE --load-state`` or the app's
File > Open State.

Solved: 10 consecutive episodes with a mean length >= 475; an agent solved at the first episode of
the first such window (episodes are numbered from 1).
"""
from __future__ import annotations

import argparse
import csv
import json
import struct
import sys
import time
import zlib
from pathlib import Path

import jax
import numpy as np

from .compiler import compile_graph
from .fileio import load

ENV_TYPES = ("cartpole",)
SOLVE_WINDOW = 10
SOLVE_MEAN = 475.0


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
        raise ValueError(f"training needs exactly one in-graph environment node "
                         f"({', '.join(ENV_TYPES)}); found {len(envs)}")
    return envs[0]


def stack_agents(model, seeds):
    """(params, consts, state) of every seed, stacked on a leading agent axis."""
    inits = [model.init(s) for s in seeds]
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *inits)


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
          progress: bool = True, max_env_steps: int | None = None):
    """Run ``agents`` agents until each finished ``episodes`` episodes.

    Returns (lengths, info): lengths[a] is the list of the first ``episodes`` episode lengths of
    agent a; info has the seeds, the wall time and the number of network steps simulated.
    """
    model = compile_graph(graph)
    env = find_env(model.graph)  # (flattened: the environment may sit inside a component)
    per = int(model.rnodes[env].comp.config["steps_per_env_step"])
    max_len = int(model.rnodes[env].comp.config["max_episode_steps"])
    k = per * int(chunk_env_steps)
    record = (f"{env}.done", f"{env}.episode_length")
    fn = model.jit(jax.vmap(model.chunk_function(k, record, ())))
    seeds = [seed + i for i in range(agents)]
    params, consts, state = stack_agents(model, seeds)
    lengths = [[] for _ in range(agents)]
    limit = max_env_steps if max_env_steps is not None else episodes * max_len + max_len
    bar = Progress(episodes, progress)
    t0 = time.perf_counter()
    env_steps = 0
    while min(len(x) for x in lengths) < episodes and env_steps < limit:
        state, recs, _last, finite = fn(params, consts, state)
        done = np.asarray(recs[record[0]])[..., 0] > 0
        ln = np.asarray(recs[record[1]])[..., 0]
        for a in range(agents):
            lengths[a].extend(int(v) for v in ln[a][done[a]])
        if not bool(np.all(np.asarray(finite))):
            raise FloatingPointError("a state became NaN or infinite during training")
        env_steps += chunk_env_steps
        mean_recent = np.mean([np.mean(x[-10:]) if x else 0.0 for x in lengths])
        bar.show(min(len(x) for x in lengths), f"mean of last 10: {mean_recent:5.1f}")
    bar.close()
    wall = time.perf_counter() - t0
    lengths = [x[:episodes] for x in lengths]
    return lengths, {"seeds": seeds, "wall_s": wall, "network_steps": env_steps * per,
                     "model": model, "final": (params, consts, state)}


def save_agent_states(folder, model, final, seeds) -> list[str]:
    """Write every agent's final state (``final``: the stacked (params, consts, state) of the
    agents) as ``agent<i>_seed<s>.npz`` in ``folder`` (engine/state.py: load one with
    ``Simulation.load_state`` or ``spark run FILE --load-state``). Returns the paths."""
    from .state import canonical_consts, canonical_nodes, write_state

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params, consts, state = (jax.tree_util.tree_map(np.asarray, x) for x in final)
    paths = []
    for a, seed in enumerate(seeds):
        pick = (lambda x, a=a: x[a])
        st = jax.tree_util.tree_map(pick, state)
        p = {n: v for n, v in jax.tree_util.tree_map(pick, params).items()
             if n in model.graph.nodes}
        paths.append(write_state(
            folder / f"agent{a}_seed{seed}.npz", model,
            nodes=canonical_nodes(model, st["nodes"]), t=int(st["t"]), key=st["key"],
            prev=st["prev"], params=p,
            consts=canonical_consts(model, jax.tree_util.tree_map(pick, consts), seed),
            seed=seed, meta={"agent": a, "trained": True}))
    return paths


def summarize(lengths, seeds, episodes: int, wall_s: float | None = None) -> dict:
    solved = [solved_episode(x) for x in lengths]
    eps = [s for s in solved if s is not None]
    out = {
        "agents": len(lengths), "episodes": episodes, "seeds": list(seeds),
        "criterion": f"mean length of {SOLVE_WINDOW} consecutive episodes >= {SOLVE_MEAN:g}; "
                     "solved at the first episode of the first such window (1-based)",
        "agents_solved": len(eps),
        "solved_episode": {str(s): e for s, e in zip(seeds, solved)},
        "median_solve_episode": float(np.median(eps)) if eps else None,
        "mean_length_last_10": [float(np.mean(x[-10:])) if x else 0.0 for x in lengths],
    }
    if wall_s is not None:
        out["wall_s"] = round(float(wall_s), 1)
    return out


def write_results(out_dir, lengths, seeds, summary) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "episodes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["agent", "seed", "episode", "length"])
        for a, (s, xs) in enumerate(zip(seeds, lengths)):
            for e, n in enumerate(xs, 1):
                w.writerow([a, s, e, n])
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_curve_png(out / "learning_curve.png", lengths)


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
    parser.add_argument("file", help="graph file with an in-graph environment (cartpole)")
    parser.add_argument("--agents", type=int, default=25, help="number of agents (default 25)")
    parser.add_argument("--episodes", type=int, default=100, help="episodes per agent (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first agent (default 0)")
    parser.add_argument("--out", default=None, help="output folder (default: train_out)")
    parser.add_argument("--chunk", type=int, default=500,
                        help="environment steps per compiled chunk (default 500)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    """Train, write the results, print a one-line summary. Returns the exit status."""
    if args.agents < 1 or args.episodes < 1:
        print("error: --agents and --episodes must be at least 1", file=sys.stderr)
        return 2
    graph = load(args.file)
    lengths, info = train(graph, args.agents, args.episodes, args.seed,
                          chunk_env_steps=args.chunk, progress=not args.quiet)
    summary = summarize(lengths, info["seeds"], args.episodes, info["wall_s"])
    out = args.out or "train_out"
    write_results(out, lengths, info["seeds"], summary)
    save_agent_states(Path(out) / "states", info["model"], info["final"], info["seeds"])
    med = summary["median_solve_episode"]
    print(f"{summary['agents_solved']}/{args.agents} agents solved; median solve episode "
          f"{'-' if med is None else f'{med:g}'}; {info['wall_s']:.0f} s; results in {out} "
          f"(final agent states in {Path(out) / 'states'})")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="spark train", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
