"""Measure learning on a host-side Gymnasium task against baselines with the same seeds.

    python benchmarks/bench_gym_task.py [FILE] --agents 25 --episodes 40 --seed 0 --out DIR

FILE (default resources/examples/acrobot.json) holds one ``gym_env`` node. Three runs, the same
seeds S .. S+N-1 and the same environment resets (gym_env seeds episode e of agent s with
s * 100003 + e, and this script does too):

* ``learning``: the graph as it is, trained with ``engine.train`` (all agents in one vmapped
  program, every agent's Gymnasium environment stepped on the host);
* ``frozen``: the same graph with every learning rate (each node's ``lr``) set to 0: the
  untrained network, which keeps its initial weights; it runs ``--frozen-episodes`` episodes;
* ``random``: no network, the action drawn uniformly from the node's action list (``actions``;
  all of the environment's actions when it is empty), in Gymnasium alone.

Per agent: the mean episode length over its last 10 episodes (the frozen and the random
baselines do not change, so all their episodes count), and the first episode at which 10
consecutive episodes average at most ``--threshold`` steps. Printed: medians and means over
agents, how many agents end below their own baselines (paired by seed), and the wall times;
``--out`` also gets every episode (CSV) and the summary (JSON).

``--set NAME=VALUE`` (repeatable) rebuilds the example with benchmarks/make_acrobot_example.py
``build(NAME=VALUE, ...)`` instead of reading FILE: how the example was tuned (on seeds 100+).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from spark_snn.engine import load, validate  # noqa: E402
from spark_snn.engine import train as tr  # noqa: E402


def env_node(graph):
    envs = [n for n in graph.nodes.values() if n.type == "gym_env"]
    if len(envs) != 1:
        raise SystemExit("the graph needs exactly one gym_env node")
    return envs[0]


def frozen(graph):
    """A copy of ``graph`` with every learning rate set to 0."""
    g = graph.copy()
    for n in g.nodes.values():
        if "lr" in n.params:
            n.params["lr"] = 0.0
    return g


def random_policy(env_id: str, actions: list[int], seeds, episodes: int):
    """Episode lengths of the uniformly random policy over ``actions``, gym_env's resets."""
    import gymnasium as gym
    env = gym.make(env_id)
    out = []
    for s in seeds:
        rng = np.random.default_rng(s)
        lengths = []
        for e in range(episodes):
            env.reset(seed=s if e == 0 else s * 100_003 + e)
            n = 0
            while True:
                _obs, _r, term, trunc, _ = env.step(actions[rng.integers(len(actions))])
                n += 1
                if term or trunc:
                    break
            lengths.append(n)
        out.append(lengths)
    env.close()
    return out


def first_below(lengths, threshold: float, window: int = 10):
    """First episode (1-based) of the first ``window`` episodes averaging <= threshold."""
    x = np.asarray(lengths, float)
    if x.size < window:
        return None
    hit = np.flatnonzero(np.convolve(x, np.ones(window) / window, "valid") <= threshold + 1e-9)
    return int(hit[0]) + 1 if hit.size else None


def describe(name, per_agent, wall):
    v = np.asarray(per_agent, float)
    return (f"{name:9s} median {np.median(v):6.1f}  mean {v.mean():6.1f}  "
            f"(min {v.min():.1f}, max {v.max():.1f})  wall {wall:6.1f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default=str(ROOT / "resources/examples/acrobot.json"))
    ap.add_argument("--agents", type=int, default=25)
    ap.add_argument("--episodes", type=int, default=40)
    ap.add_argument("--frozen-episodes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=200.0,
                    help="episode length that counts as learnt (mean of 10)")
    ap.add_argument("--skip", default="", help="comma-separated runs to skip: frozen,random")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    if a.set:
        from make_acrobot_example import build
        over = {}
        for item in a.set:
            k, v = item.split("=", 1)
            over[k] = json.loads(v) if v[:1] in "0123456789-[{tf" else v
        graph = build(**over)
        source = f"make_acrobot_example.build({over})"
    else:
        graph, source = load(a.file), a.file
    problems = validate(graph)
    if problems:
        raise SystemExit("\n".join(str(p) for p in problems))
    node = env_node(graph)
    from spark_snn.components.gym_env import parse_actions, spaces
    env_id = node.params["env_id"]
    actions = parse_actions(node.params.get("actions", "")) or list(range(spaces(env_id)[1]))
    seeds = list(range(a.seed, a.seed + a.agents))
    skip = set(filter(None, a.skip.split(",")))
    load_avg = os.getloadavg()
    print(f"{source}: {env_id}, actions {actions}, seeds {seeds[0]}-{seeds[-1]}, "
          f"{a.episodes} episodes; load average at the start {load_avg[0]:.1f}", flush=True)

    runs = {}
    lengths, info = tr.train(graph, a.agents, a.episodes, a.seed, progress=False)
    runs["learning"] = (lengths, info["wall_s"])
    gym_summary = tr.summarize(lengths, seeds, a.episodes, info["wall_s"], info["returns"],
                               info["threshold"])
    if "frozen" not in skip:
        f_len, f_info = tr.train(frozen(graph), a.agents, a.frozen_episodes, a.seed,
                                 progress=False)
        runs["frozen"] = (f_len, f_info["wall_s"])
    if "random" not in skip:
        t0 = time.perf_counter()
        runs["random"] = (random_policy(env_id, actions, seeds, a.frozen_episodes),
                          time.perf_counter() - t0)

    last10 = {k: [float(np.mean(x[-10:])) for x in v[0]] for k, v in runs.items()}
    summary = {"source": source, "env_id": env_id, "seeds": seeds, "episodes": a.episodes,
               "frozen_episodes": a.frozen_episodes, "threshold": a.threshold,
               "load_average_at_start": [round(x, 2) for x in load_avg],
               "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
               "wall_s": {k: round(v[1], 1) for k, v in runs.items()},
               "mean_length_last_10": last10}
    learnt = [first_below(x, a.threshold) for x in runs["learning"][0]]
    summary["episode_reaching_threshold"] = dict(zip(map(str, seeds), learnt))
    for k in runs:
        print(describe(k, last10[k], runs[k][1]))
    for k in ("frozen", "random"):
        if k in runs:
            better = sum(x < y for x, y in zip(last10["learning"], last10[k]))
            summary[f"agents_below_{k}"] = better
            print(f"agents whose last 10 episodes are shorter than their own {k} baseline: "
                  f"{better} of {a.agents}")
    reached = [e for e in learnt if e is not None]
    print(f"agents reaching a mean of <= {a.threshold:g} steps over 10 episodes: "
          f"{len(reached)} of {a.agents}"
          + (f", median episode {np.median(reached):g}" if reached else ""))
    print(f"solved by Gymnasium's threshold ({gym_summary['criterion']}): "
          f"{gym_summary['agents_solved']} of {a.agents}"
          + (f", median episode {gym_summary['median_solve_episode']:g}"
             if gym_summary["agents_solved"] else ""))
    summary["gymnasium_solved"] = {k: gym_summary[k] for k in
                                   ("criterion", "agents_solved", "solved_episode",
                                    "median_solve_episode")}
    first = [float(np.mean(x[:10])) for x in runs["learning"][0]]
    print(f"learning, first 10 episodes: median {np.median(first):.1f}, mean {np.mean(first):.1f}")
    summary["mean_length_first_10"] = first
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "episodes.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["run", "seed", "episode", "length"])
            for k, (ls, _) in runs.items():
                for s, xs in zip(seeds, ls):
                    w.writerows([k, s, e, n] for e, n in enumerate(xs, 1))
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
