"""Set-up and compile time of a graph, with and without the persistent compilation cache.

Each measurement is a fresh process (as a user opening a file in a new session): it imports the
engine (timed on its own), then times ``engine.load`` of the file, ``Simulation(graph)``
(validation, model, initial state: connectivity drawn, tables built) and the first
``advance(1)`` (tracing and compiling the step). "cold" runs with the cache off
(``SPARK_JAX_CACHE=0``: everything compiled, as on a first run); "warm" with a cache folder the
graph was run with once before. The modes alternate; medians of ``--repeats`` runs each.

``--scaling N ...`` adds the scaling network of bench_scaling.py at N neurons (one LIF pool,
fixed_fan_in 100: 100 N synapses), built as bench_scaling.py builds it (``count`` of the pool's
spikes), cold only. ``--trees DIR ...`` measures other source trees as well (an older checkout,
e.g. ``git worktree add --detach /tmp/before main``): tree after tree within each repeat, so
the trees alternate. Each run also reports the process's peak resident memory.

Usage:  python benchmarks/bench_setup.py [--graphs FILE ...] [--scaling N ...] [--repeats 5]
            [--trees DIR ...] [--no-warm]
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
import json, resource, sys, time
t0 = time.perf_counter()
from spark_snn import engine
t1 = time.perf_counter()
g = engine.load(sys.argv[1])
t2 = time.perf_counter()
sim = engine.Simulation(g, count=json.loads(sys.argv[2]))
t3 = time.perf_counter()
sim.advance(1)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "setup": t3 - t2, "compile": t4 - t3,
                  "total": t4 - t1,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(path: Path, cache: str | None, tree: Path = ROOT, count=()) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CACHE_DIR", "SPARK_JAX_CACHE")}
    if cache is None:
        env["SPARK_JAX_CACHE"] = "0"
    else:
        env["SPARK_CACHE_DIR"] = cache
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), json.dumps(list(count))],
                         cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise RuntimeError(f"{path.name} in {tree}: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", nargs="*", type=Path, default=DEFAULT)
    ap.add_argument("--scaling", nargs="*", type=int, default=[],
                    help="sizes of bench_scaling.py's network to add (cold only)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--trees", nargs="*", type=Path, default=[],
                    help="other source trees to alternate with this one")
    ap.add_argument("--no-warm", action="store_true", help="cold runs only")
    args = ap.parse_args()
    trees = [ROOT, *[t.resolve() for t in args.trees]]
    print(f"machine: {machine()}; load average before: {load_average()}", flush=True)
    print("| tree | graph | cache | import s | load s | set-up s | compile s | "
          "set-up + compile s | peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        cases = [(p.resolve(), p.name, (), not args.no_warm) for p in args.graphs]
        for n in args.scaling:
            from bench_scaling import scaling_graph
            path = Path(tmp) / f"scaling_{n}.json"
            path.write_text(json.dumps(scaling_graph(n)))
            cases.append((path, f"scaling {n:,}", ["pool.spikes"], False))
        for path, name, count, warm in cases:
            caches = {t: tempfile.mkdtemp(dir=tmp) for t in trees}
            if warm:
                for t in trees:
                    measure(path, caches[t], t, count)          # fills the cache
            runs = {(t, m): [] for t in trees for m in ("cold", "warm")[:1 + warm]}
            for _ in range(args.repeats):
                for t in trees:
                    runs[t, "cold"].append(measure(path, None, t, count))
                    if warm:
                        runs[t, "warm"].append(measure(path, caches[t], t, count))
            for (t, mode), rs in runs.items():
                med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                print(f"| {t.name} | {name} | {mode} | {med['import']:.2f} | {med['load']:.3f} | "
                      f"{med['setup']:.2f} | {med['compile']:.2f} | {med['total']:.2f} | "
                      f"{med['peak']:,.0f} |", flush=True)
                if len(rs) > 1:
                    every = ", ".join(f"{r['total']:.2f}" for r in rs)
                    print(f"|  | (all set-up + compile s: {every}) |", flush=True)
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
