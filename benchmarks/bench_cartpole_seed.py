"""Speed of the original Spark's cartpole brain in Spark (resources/examples/cartpole_seed.json).

    nice -n 5 .venv/bin/python benchmarks/bench_cartpole_seed.py [--repeats 5] [--env-steps 100]
        [--graph FILE] [--variant NAME ...]

For one agent: the set-up and compilation time (engine.Simulation built and its first chunk of
one environment step run: loading, drawing the connectivity, tracing and XLA compilation) and
the milliseconds per environment step (50 network steps of 1 ms) over ``--env-steps``
environment steps in chunks of 10 environment steps, after a warm-up of 10. Each repeat builds
a fresh process-local Simulation; with several variants the repeats alternate between them.
Prints the medians and every run. The goal (issue 14): at most 15 ms per environment step and
set-up plus compilation under 10 s (the original: 0.14-0.24 s per step, about 2 minutes).

Variants: ``example`` (the file as it is, with the engine's default strategy: on the CPU the
native kernels of components/native when they can be built), ``xla`` (the same file with
``SPARK_PROPAGATION=serial``: XLA loops, one iteration per arriving spike and age) and
``batched`` (XLA, every quadruplet projection with ``plasticity_pass`` = batched: up to 64
spiking neurons per iteration). ``--cold`` turns JAX's persistent compilation cache off
(``SPARK_JAX_CACHE=0``, set before JAX starts), so every set-up includes a first compilation;
the one-time build of the native kernels is timed apart (``--build``: a fresh build into a
temporary folder). ``--legacy-runtime`` runs XLA:CPU's older whole-function
runtime instead of its thunk runtime (XLA_FLAGS --xla_cpu_use_thunk_runtime=false, set before
JAX starts; compare it in separate processes, alternating).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if "--cold" in sys.argv:             # before JAX starts
    os.environ["SPARK_JAX_CACHE"] = "0"
if "--legacy-runtime" in sys.argv:   # before JAX starts
    os.environ["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                               "--xla_cpu_use_thunk_runtime=false")

from spark_snn import engine  # noqa: E402
from machine import load_average, machine  # noqa: E402  benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]
GRAPH = ROOT / "resources" / "examples" / "cartpole_seed.json"


def variant(graph, name: str):
    g = graph.copy()
    os.environ["SPARK_PROPAGATION"] = "serial" if name in ("xla", "batched") else "auto"
    if name == "batched":
        for n in g.nodes.values():
            if n.type == "quadruplet_projection":
                n.params["plasticity_pass"] = "batched"
    elif name not in ("example", "xla"):
        raise SystemExit(f"unknown variant {name!r}")
    return g


def measure(graph, env_steps: int, per: int = 50):
    """(set-up + compile seconds, ms per environment step, spikes per ms of the four pools)."""
    t0 = time.perf_counter()
    sim = engine.Simulation(graph, count=["a_exc.spikes", "b_exc.spikes", "a_inh.spikes",
                                          "b_inh.spikes"])
    sim.advance(per, chunk=per)
    setup = time.perf_counter() - t0
    chunk = 10 * per
    sim.advance(chunk, chunk=chunk)           # warm-up (compiles the chunk of 10 env steps)
    n = max(env_steps // 10, 1) * chunk
    t1 = time.perf_counter()
    sim.advance(n, chunk=chunk)
    wall = time.perf_counter() - t1
    spikes = sum(int(v.sum()) for v in sim.totals.values())
    return setup, 1000.0 * wall / (n / per), spikes / sim.t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", default=str(GRAPH))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--env-steps", type=int, default=100)
    ap.add_argument("--variant", nargs="+", default=["example"])
    ap.add_argument("--cold", action="store_true",
                    help="no persistent compilation cache: every set-up compiles afresh")
    ap.add_argument("--build", action="store_true",
                    help="also time one fresh build of the native kernels")
    ap.add_argument("--legacy-runtime", action="store_true",
                    help="XLA:CPU without the thunk runtime (see the module docstring)")
    a = ap.parse_args(argv)
    base = engine.load(a.graph)
    from spark_snn.components import native
    print(native.status())
    if a.build:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            native._build(native._compiler(), Path(tmp) / "k.so")
            print(f"native kernels: one fresh build {time.perf_counter() - t0:.1f} s")
    runs = {v: [] for v in a.variant}
    load0 = load_average()
    for r in range(a.repeats):
        for v in a.variant:
            setup, ms, rate = measure(variant(base, v), a.env_steps)
            runs[v].append((setup, ms))
            print(f"  run {r + 1} {v:8s}: set-up + compile {setup:6.2f} s, {ms:7.2f} ms per "
                  f"environment step ({rate:.1f} pool spikes per ms)", flush=True)
    print(f"XLA_FLAGS {os.environ.get('XLA_FLAGS', '')!r}, persistent compilation cache "
          f"{'off' if os.environ.get('SPARK_JAX_CACHE') == '0' else 'on'}")
    print(f"machine: {machine()}; load average {load0} at the start, {load_average()} at "
          "the end")
    for v, xs in runs.items():
        print(f"{v}: median set-up + compile {statistics.median(x[0] for x in xs):.2f} s, "
              f"median {statistics.median(x[1] for x in xs):.2f} ms per environment step "
              f"({len(xs)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
