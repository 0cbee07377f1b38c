"""Equation-defined nodes against the built-ins: steps/s of the same network both ways.

* 7-pool: resources/examples/benchmark_7pools.json as it is (7 ``lif`` pools) and with every pool
  swapped for an ``equation_pool`` running the LIF model text (engine.equations.LIBRARY["lif"])
  with the same parameters and the same integration method as the built-in;
* STDP: resources/examples/equation_stdp.json with its ``equation_plasticity`` node as it is and
  swapped for the built-in ``stdp_projection`` with the same parameters (method euler, the
  built-in's).

Runs alternate (built-in, equation, built-in, ...) in one process; each run advances the
simulation by N steps in chunks of K after a warm-up chunk; the medians are printed with the
spike counts of both versions. Usage:

    .venv/bin/python benchmarks/bench_equations.py [--steps 10000] [--repeats 5] [--chunks 1 100 1000]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spark_snn import engine  # noqa: E402
from spark_snn.engine.equations import LIBRARY  # noqa: E402

LIF_PARAMS = ("v_rest", "v_reset", "v_th", "tau_m", "t_ref", "tau_syn")
EQUATION_LIF_METHOD = "euler"  # the built-in lif's method (forward Euler)


def seven_pools(equation: bool):
    g = engine.load(ROOT / "resources/examples/benchmark_7pools.json")
    if equation:
        for node in g.nodes.values():
            if node.type == "lif":
                assert node.params.get("v_init", "rest") == "rest"
                node.type = "equation_pool"
                node.params = {"size": node.params["size"], "method": EQUATION_LIF_METHOD,
                               "model": LIBRARY["lif"],
                               **{k: node.params[k] for k in LIF_PARAMS if k in node.params}}
    return g


def stdp(equation: bool):
    g = engine.load(ROOT / "resources/examples/equation_stdp.json")
    node = g.nodes["stdp"]
    node.params["method"] = "euler"
    if not equation:
        node.type = "stdp_projection"
        del node.params["model"], node.params["method"]
    return g


def one_run(graph, steps: int, chunk: int) -> float:
    sim = engine.Simulation(graph)
    sim.advance(chunk, chunk)  # compile and warm up
    t0 = time.perf_counter()
    sim.advance(steps, chunk)
    return steps / (time.perf_counter() - t0)


def bench(name, build, steps, repeats, chunks):
    print(f"\n{name}: {steps} steps per run, medians of {repeats} alternating runs")
    print(f"{'K':>6} {'built-in steps/s':>17} {'equation steps/s':>17} {'ratio':>7}")
    for k in chunks:
        rates = {False: [], True: []}
        for _ in range(repeats):
            for eq in (False, True):
                rates[eq].append(one_run(build(eq), steps, k))
        a, b = statistics.median(rates[False]), statistics.median(rates[True])
        print(f"{k:>6} {a:>17,.0f} {b:>17,.0f} {b / a:>7.3f}   "
              f"(all: {[round(x) for x in rates[False]]} / {[round(x) for x in rates[True]]})",
              flush=True)


def step_cost(graph) -> dict:
    """XLA's cost analysis of one compiled step (flops, bytes accessed): a figure that, unlike
    a timing, does not depend on what else the machine is doing."""
    model = engine.compile_graph(graph)
    params, consts, state = model.init()
    cost = model.chunk(1).lower(params, consts, state).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return {k: cost.get(k, 0.0) for k in ("flops", "transcendentals", "bytes accessed")}


def print_costs(build):
    a, b = step_cost(build(False)), step_cost(build(True))
    print("  XLA cost of one step, built-in / equation: " + ", ".join(
        f"{k} {a[k]:,.0f} / {b[k]:,.0f}" for k in a))


def spike_check(build, record, steps=10000):
    out = []
    for eq in (False, True):
        sim = engine.Simulation(build(eq), record=record)
        rec = sim.advance(steps, 1000)
        out.append([int(rec[r].sum()) for r in record])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chunks", type=int, nargs="+", default=[1, 100, 1000])
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.2f}, python {platform.python_version()}")
    pools = [n for n, v in seven_pools(False).nodes.items() if v.type == "lif"]
    counts = spike_check(seven_pools, [f"{p}.spikes" for p in pools])
    print(f"7-pool spikes in 10,000 steps (float32), built-in / equation: {sum(counts[0])} / "
          f"{sum(counts[1])}")
    print_costs(seven_pools)
    bench("7-pool network (7 x 1,024 LIF)", seven_pools, args.steps, args.repeats,
          args.chunks)
    counts = spike_check(stdp, ["post.spikes"])
    print(f"\nSTDP example post spikes in 10,000 steps, built-in / equation: {counts[0][0]} / "
          f"{counts[1][0]}")
    print_costs(stdp)
    bench("STDP example (100 inputs -> 1 LIF, plastic)", stdp, args.steps, args.repeats,
          args.chunks)


if __name__ == "__main__":
    main()
