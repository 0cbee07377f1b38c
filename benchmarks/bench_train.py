"""Measure the cartpole training bar: N agents x E episodes in one vmapped program.

    taskset -c 0 .venv/bin/python benchmarks/bench_train.py [--agents 25] [--episodes 100]
        [--seed 0]

Prints agents solved, median solve episode and wall time (the bar: >= 20 of 25 solved within
100 episodes, for seeds 0-24 and 1000-1024, in at most 15 minutes on a 2-core CPU).
"""
import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spark_snn import engine  # noqa: E402
from spark_snn.engine import train as tr  # noqa: E402
from machine import cpu_name  # noqa: E402  benchmarks/machine.py


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=25)
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--graph", default=str(Path(__file__).resolve().parents[1] /
                                           "resources" / "examples" / "cartpole.json"))
    a = ap.parse_args()
    g = engine.load(a.graph)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    lengths, info = tr.train(g, a.agents, a.episodes, a.seed)
    wall = time.perf_counter() - t0
    s = tr.summarize(lengths, info["seeds"], a.episodes, wall)
    load = os.getloadavg()[0]
    print(f"machine: {cpu_name()}, {os.cpu_count()} cpus, "
          f"affinity {sorted(os.sched_getaffinity(0))}, Python {platform.python_version()}; "
          f"load average {load0:.2f} at the start, {load:.2f} at the end")
    print(f"seeds {a.seed}-{a.seed + a.agents - 1}: {s['agents_solved']}/{a.agents} solved, "
          f"median solve episode {s['median_solve_episode']}, wall {wall:.1f} s "
          f"(model build and compilation included; the trainer's own timer, which spark train "
          f"prints, {info['wall_s']:.1f} s), "
          f"{info['network_steps']} network steps per agent")
    print("solve episode per seed:", " ".join(f"{k}:{v if v is not None else '-'}"
                                               for k, v in s["solved_episode"].items()))


if __name__ == "__main__":
    main()
