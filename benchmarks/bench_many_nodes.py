"""Many small nodes: set-up time, 100 steps and peak memory for graphs of N nodes.

The graph (``many_nodes_graph``): one Poisson source of SIZE neurons drives pool 0 of a ring of
P LIF pools of SIZE neurons each; projection i joins pool i to pool i+1 (the last one closes the
ring), all_to_all, 20 mV onto the next pool's ``jump`` input (a spike makes the next pool fire
one step later: a wave runs round the ring), so there are 1 + P pools and sources and P + 1
projections: N = 2 P + 2 nodes. Every pool is a separate node with its own projection, the case where the
cost per node (validation, compilation, the traced step) shows.

Each measurement runs in a fresh process (so the peak resident memory, VmHWM, is its own): it
builds the graph, then times ``engine.load`` of its file text, ``Simulation(graph)`` (validation,
compilation of the model, initial state) and ``advance(100)`` (tracing and XLA compilation of
the chunk, then the 100 steps), and reports the process's peak resident memory. ``--profile``
prints cProfile's top functions of the set-up instead.

Usage:  python benchmarks/bench_many_nodes.py [--nodes 1000 5000] [--size 1] [--repeats 1]
        [--profile]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from machine import load_average, machine  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def many_nodes_graph(n_nodes: int, size: int = 1) -> dict:
    """The file dict of the benchmark graph with about ``n_nodes`` nodes (see the docstring)."""
    pools = max(1, (n_nodes - 2) // 2)
    nodes = [{"id": "src", "type": "poisson_source", "params": {"size": size, "rate": 500.0},
              "position": [0.0, 0.0]}]
    edges = []
    for i in range(pools):
        nodes.append({"id": f"pool{i}", "type": "lif", "params": {"size": size},
                      "position": [200.0 * (i % 50), 200.0 * (i // 50)]})
    links = [("src", "pool0")] + [(f"pool{i}", f"pool{(i + 1) % pools}") for i in range(pools)]
    for k, (a, b) in enumerate(links):
        pid = f"proj{k}"
        nodes.append({"id": pid, "type": "projection",
                      "params": {"connectivity": "all_to_all", "weight": 20.0},
                      "position": [100.0 + 200.0 * (k % 50), 100.0 + 200.0 * (k // 50)]})
        edges.append({"from": f"{a}.spikes", "to": f"{pid}.pre"})
        edges.append({"from": f"{pid}.events", "to": f"{b}.jump"})
    return {"format": "spark-graph", "version": 2, "settings": {"dt": 0.1, "seed": 0},
            "nodes": nodes, "edges": edges}


def peak_rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def measure(n_nodes: int, size: int, profile: bool) -> dict:
    """In this process: build, load, set up and run the graph; the timings and peak memory."""
    t0 = time.perf_counter()
    from spark_snn import engine
    t_import = time.perf_counter() - t0
    text = json.dumps(many_nodes_graph(n_nodes, size))
    t1 = time.perf_counter()
    graph = engine.loads(text)
    t_load = time.perf_counter() - t1
    if profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
    t2 = time.perf_counter()
    sim = engine.Simulation(graph)
    t_setup = time.perf_counter() - t2
    t3 = time.perf_counter()
    sim.advance(100)
    t_run = time.perf_counter() - t3
    if profile:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    return {"nodes": len(graph.nodes), "edges": len(graph.edges), "size": size,
            "import_s": t_import, "load_s": t_load, "setup_s": t_setup, "run100_s": t_run,
            "total_s": t_load + t_setup + t_run, "peak_rss_mib": peak_rss_mib()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--size", type=int, default=1, help="neurons per pool")
    ap.add_argument("--repeats", type=int, default=1, help="fresh processes per graph")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.nodes[0], args.size, args.profile)))
        return 0
    print(f"machine: {machine()}; load average before: {load_average()}", flush=True)
    print("| nodes | edges | neurons per pool | load s | set-up s | 100 steps s | total s "
          "| peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for _ in range(args.repeats):
        for n in args.nodes:
            cmd = [sys.executable, __file__, "--child", "--nodes", str(n), "--size",
                   str(args.size)] + (["--profile"] if args.profile else [])
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                print(f"| {n} | failed: {out.stderr.strip().splitlines()[-1:]} |")
                continue
            if args.profile:
                sys.stderr.write(out.stderr)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {r['nodes']} | {r['edges']} | {r['size']} | {r['load_s']:.2f} | "
                  f"{r['setup_s']:.2f} | {r['run100_s']:.2f} | {r['total_s']:.2f} | "
                  f"{r['peak_rss_mib']:.0f} |", flush=True)
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
