"""Speed of one network partitioned by neurons over devices (engine/partition.py) against the
ordinary single-device Simulation.

Each measurement is a fresh process (the number of CPU host devices is fixed when JAX starts:
``XLA_FLAGS=--xla_force_host_platform_device_count=N --xla_cpu_multi_thread_eigen=false``). It
builds the simulation, runs one warm-up chunk (compilation), then times ``--steps`` steps in
chunks of ``--chunk`` and checks that the spike counts equal those of the single-device run.
Modes: "simulation" (engine.Simulation, 1 device), "partition1" (PartitionedSimulation on 1
device: the cost of the partitioned code path alone) and "partitionN" for each N of
``--devices``. The modes alternate; medians of ``--repeats`` runs each, in steps/s.

On a CPU the host devices share the machine's cores, so this measures the overhead of the
exchange and of the partitioned step, not a speed-up: that needs devices with their own
compute (GPUs).

``--neurons N`` runs benchmarks/bench_scaling.py's network of N neurons (100 synapses each)
instead of ``--graph``.

Usage:  python benchmarks/bench_partition.py [--graph FILE | --neurons N] [--devices 2]
        [--steps 5000] [--chunk 1000] [--repeats 3]
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
DEFAULT = ROOT / "resources" / "examples" / "benchmark_7pools.json"

CHILD = r"""
import json, sys, time
import numpy as np
from spark_snn import engine
from spark_snn.engine.partition_sim import PartitionedSimulation
path, mode, steps, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
g = engine.load(path)
pools = [f"{n}.spikes" for n, node in g.nodes.items()
         if engine.registry().get(node.type).category == "Neurons"]
if mode == "simulation":
    sim = engine.Simulation(g, count=pools)
else:
    sim = PartitionedSimulation(g, devices=int(mode[len("partition"):]), count=pools)
sim.advance(chunk, chunk=chunk)
t0 = time.perf_counter()
sim.advance(steps, chunk=chunk)
wall = time.perf_counter() - t0
print(json.dumps({"steps_per_s": steps / wall,
                  "spikes": {p: int(sim.totals[p].sum()) for p in pools}}))
"""


def measure(path: Path, mode: str, steps: int, chunk: int) -> dict:
    devices = 1 if mode == "simulation" else int(mode[len("partition"):])
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices} "
                                      "--xla_cpu_multi_thread_eigen=false"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, str(steps), str(chunk)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", type=Path, default=DEFAULT)
    ap.add_argument("--devices", type=int, nargs="+", default=[2])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--neurons", type=int, default=None)
    args = ap.parse_args()
    if args.neurons:
        from bench_scaling import scaling_graph
        args.graph = Path(tempfile.mkdtemp()) / f"scaling_{args.neurons}.json"
        args.graph.write_text(json.dumps(scaling_graph(args.neurons)))
    modes = ["simulation", "partition1"] + [f"partition{n}" for n in args.devices]
    print(f"machine: {machine()}; load average before: {load_average()}")
    runs: dict[str, list] = {m: [] for m in modes}
    for _ in range(args.repeats):
        for m in modes:
            runs[m].append(measure(args.graph, m, args.steps, args.chunk))
    want = runs["simulation"][0]["spikes"]
    print(f"{args.graph.name}: {args.steps} steps, chunk {args.chunk}, medians of "
          f"{args.repeats} (steps/s); load average after: {load_average()}")
    for m in modes:
        rates = [r["steps_per_s"] for r in runs[m]]
        same = all(r["spikes"] == want for r in runs[m])
        print(f"  {m:<12} {statistics.median(rates):10,.0f}   "
              f"(runs: {', '.join(f'{x:,.0f}' for x in rates)}; spikes "
              f"{'identical' if same else 'DIFFER'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
