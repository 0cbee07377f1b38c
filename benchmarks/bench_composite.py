"""Composite graph versus the same network written flat: set-up time and simulation speed.

    python benchmarks/bench_composite.py [--columns 12] [--steps 20000] [--chunk 1000] [--reps 5]

Builds a chain of N "column" instances (benchmarks/make_composite_examples.py: each column is
two LIF pools, four projections and a drive) and its hand-flattened twin (the same nodes under
dotted ids, written out by ``engine.composite.flatten`` and read back as a plain graph file),
checks that both lower to the same XLA program, then prints: the set-up of each (load, validate
and compile; validation alone, where flattening and tracing problems back cost the composite
something), and the steps per second of the two compiled simulations timed in alternating runs
(A B A B ...), with their medians.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spark_snn import engine  # noqa: E402
from spark_snn.engine.composite import flatten  # noqa: E402
from spark_snn.engine.simulation import run_steps_per_second  # noqa: E402
from make_composite_examples import build  # noqa: E402


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in
                     subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                     if line.startswith("Model name"))
    except Exception:
        model = platform.processor() or "?"
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def setup(path: Path, chunk: int):
    """(Simulation compiled for ``chunk``, set-up seconds, validation seconds, counted port)."""
    t0 = time.perf_counter()
    graph = engine.load(path)
    t1 = time.perf_counter()
    nodes = engine.analyze(graph).nodes
    check = time.perf_counter() - t1
    last = [n for n in nodes if n.endswith(".exc")][-1] + ".spikes"
    sim = engine.Simulation(graph, count=[last], chunk=chunk)
    sim.compile(chunk)
    return sim, time.perf_counter() - t0, check, last


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--columns", type=int, default=12)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    comp = build(args.columns)
    flat = flatten(comp)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"composite": Path(tmp) / "composite.json", "flat": Path(tmp) / "flat.json"}
        engine.save(comp, paths["composite"])
        engine.save(flat, paths["flat"])
        programs = []
        for p in paths.values():
            model = engine.compile_graph(engine.load(p))
            programs.append(model.chunk(args.chunk).lower(*model.init()).as_text())
        print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}")
        print(f"{args.columns} columns: {len(flat.nodes)} nodes, "
              f"{sum(n.params.get('size', 0) for n in flat.nodes.values() if n.type == 'lif')} "
              f"neurons; same XLA program: {programs[0] == programs[1]}")
        sims = {k: setup(p, args.chunk) for k, p in paths.items()}
        speeds = {k: [] for k in paths}
        for _ in range(args.reps):
            for k, (sim, *_rest) in sims.items():
                speeds[k].append(run_steps_per_second(sim, args.steps, args.chunk))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        print(f"{'graph':<10} {'set-up s':>9} {'validation ms':>14} {'steps/s (median)':>17}  "
              f"all runs (steps/s)")
        for k, (sim, total, check, last) in sims.items():
            print(f"{k:<10} {total:>9.2f} {1000 * check:>14.1f} "
                  f"{statistics.median(speeds[k]):>17,.0f}  "
                  f"{' '.join(f'{v:,.0f}' for v in speeds[k])}  ({last}: "
                  f"{int(sim.totals[last].sum())} spikes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
