"""A 100-point parameter sweep in one vmapped program vs 100 separate runs.

    .venv/bin/python benchmarks/bench_sweep.py [--graph FILE] [--param node.param=lo:hi:n]
        [--steps N] [--chunk K] [--skip-separate]

Three ways to get the same table (each pool's spike count for every value):

* sweep:     engine.sweep, every value in one compiled program (spark sweep);
* reuse:     one Simulation, then for each value set_param + reset + advance (what a script
             would do; compiled once);
* separate:  a new Simulation per value (what 100 ``spark run`` calls do, minus the process
             start): every run builds and compiles its model again.

Prints the machine, its load, each wall time (model building and compilation included, and the
sweep's first chunk on its own), and checks the three tables agree.
"""
import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from spark_snn import engine  # noqa: E402
from spark_snn.engine.sweep import parse_param, sweep  # noqa: E402
from machine import cpu_name  # noqa: E402  benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]


def pools_of(sim):
    return [f"{n}.spikes" for n, node in sim.graph.nodes.items()
            if engine.registry().get(node.type).category == "Neurons"]


def run_reuse(graph, p, steps, chunk):
    t0 = time.perf_counter()
    sim = engine.Simulation(graph, chunk=chunk)
    sim.count = pools_of(sim)
    out = []
    for v in p.values:
        sim.set_param(p.node, p.name, float(v))
        sim.reset()
        sim.advance(steps, chunk)
        out.append([int(sim.totals[k].sum()) for k in sim.count])
    return time.perf_counter() - t0, np.asarray(out)


def run_separate(graph, p, steps, chunk):
    t0 = time.perf_counter()
    out = []
    for v in p.values:
        g = graph.copy()
        g.nodes[p.node].params[p.name] = float(v)
        sim = engine.Simulation(g, chunk=chunk)
        sim.count = pools_of(sim)
        sim.advance(steps, chunk)
        out.append([int(sim.totals[k].sum()) for k in sim.count])
    return time.perf_counter() - t0, np.asarray(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--graph", default=str(ROOT / "resources" / "examples" / "two_pools.json"))
    ap.add_argument("--param", default="drive.amplitude=10:30:100")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--skip-separate", action="store_true",
                    help="leave out the slowest way (a new Simulation per value)")
    ap.add_argument("--separate-values", type=int, default=None,
                    help="time the separate runs on the first N values only and scale the "
                         "time to all of them (each run costs the same: build, compile, run)")
    a = ap.parse_args()
    graph = engine.load(a.graph)
    p = parse_param(a.param)
    load0 = os.getloadavg()
    import jax
    devices = jax.local_devices()
    print(f"machine: {cpu_name()}, {os.cpu_count()} cpus, devices {[str(d) for d in devices]}, "
          f"Python {platform.python_version()}, jax {jax.__version__}; load average "
          f"{load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f} at the start")
    print(f"graph {Path(a.graph).name}: {len(p.values)} values of {p.label}, {a.steps} steps "
          f"each (chunk {a.chunk})")

    t0 = time.perf_counter()
    res = sweep(graph, [p], a.steps, chunk=a.chunk)
    t_sweep = time.perf_counter() - t0
    spikes = np.stack([res.measures[k] for k in res.measures if k.endswith(".spikes")], 1)
    print(f"sweep     {t_sweep:8.2f} s   (first chunk with compilation {res.compile_s:.2f} s, "
          f"{res.batch} combinations per batch, {res.devices} device(s))")
    t_reuse, reuse = run_reuse(graph, p, a.steps, a.chunk)
    print(f"reuse     {t_reuse:8.2f} s   (one Simulation: set_param, reset, advance per value)")
    agree = np.array_equal(reuse, spikes)
    if not a.skip_separate:
        n = min(a.separate_values or len(p.values), len(p.values))
        part = type(p)(p.node, p.name, p.values[:n])
        t_sep, sep = run_separate(graph, part, a.steps, a.chunk)
        if n < len(p.values):
            print(f"separate  {t_sep:8.2f} s   for the first {n} values (a new Simulation per "
                  f"value); scaled to {len(p.values)}: {t_sep * len(p.values) / n:.1f} s")
            t_sep *= len(p.values) / n
        else:
            print(f"separate  {t_sep:8.2f} s   (a new Simulation per value)")
        agree = agree and np.array_equal(sep, spikes[:n])
        print(f"separate / sweep: {t_sep / t_sweep:.1f}x")
    print(f"reuse / sweep: {t_reuse / t_sweep:.1f}x; the three tables agree: {agree}")
    load1 = os.getloadavg()
    print(f"load average {load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f} at the end")


if __name__ == "__main__":
    main()
