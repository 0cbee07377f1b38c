"""Set-up and compile time of a graph, with and without the persistent compilation cache.

Each measurement is a fresh process (as a user opening a file in a new session): it imports the
engine (timed on its own), then times ``engine.load`` of the file, ``Simulation(graph)``
(validation, model, initial state: connectivity drawn, tables built) and the first
``advance(1)`` (tracing and compiling the step). "cold" runs with the cache off
(``SPARK_JAX_CACHE=0``: everything compiled, as on a first run); "warm" with a cache folder the
graph was run with once before. The modes alternate; medians of ``--repeats`` runs each.

Usage:  python benchmarks/bench_setup.py [--graphs FILE ...] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import load_average, machine  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [ROOT / "resources" / "examples" / "benchmark_7pools.json",
           ROOT / "resources" / "examples" / "cartpole.json"]

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from spark_snn import engine
t1 = time.perf_counter()
g = engine.load(sys.argv[1])
t2 = time.perf_counter()
sim = engine.Simulation(g)
t3 = time.perf_counter()
sim.advance(1)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "setup": t3 - t2, "compile": t4 - t3,
                  "total": t4 - t1}))
"""


def measure(path: Path, cache: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CACHE_DIR", "SPARK_JAX_CACHE")}
    if cache is None:
        env["SPARK_JAX_CACHE"] = "0"
    else:
        env["SPARK_CACHE_DIR"] = cache
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", nargs="+", type=Path, default=DEFAULT)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {machine()}; load average before: {load_average()}", flush=True)
    print("| graph | cache | import s | load s | set-up s | compile s | set-up + compile s |")
    print("|---|---|---|---|---|---|---|")
    for path in args.graphs:
        with tempfile.TemporaryDirectory() as cache:
            measure(path, cache)               # fills the cache
            runs = {"cold": [], "warm": []}
            for _ in range(args.repeats):
                runs["cold"].append(measure(path, None))
                runs["warm"].append(measure(path, cache))
        for mode, rs in runs.items():
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            print(f"| {path.name} | {mode} | {med['import']:.2f} | {med['load']:.3f} | "
                  f"{med['setup']:.2f} | {med['compile']:.2f} | {med['total']:.2f} |")
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
