"""Scaling: one recurrent LIF network from 10^3 to 10^6 neurons, Spark and Brian2 C++ standalone.

The network (``scaling_graph``): N LIF neurons (tau_m 20 ms, tau_syn 5 ms, threshold -50 mV,
reset -65 mV, refractory 2 ms, dt 0.1 ms), the first 80 % excitatory; each neuron receives 100
synapses from randomly chosen others (``fixed_fan_in``, no autapses), +0.5 mV x U(0.5, 1.5)
excitatory and five times that inhibitory, delivered to the exponential synaptic current one
step later; a constant drive U(12, 18) mV per neuron (as in the 7-pool network of BASELINE.md).
Activity settles near 10 Hz at every size, so the work per step is spikes x fan-out and grows in
proportion to N.

Each size runs in fresh processes, one system at a time, alternating (Spark, Brian2, Spark, ...),
every process pinned to one core (``--core``, default the last one; children inherit it), so
that neither system uses a second core (XLA:CPU would otherwise spread a step's kernels over the
machine's cores, and Brian2's binary is single-threaded):

* Spark: ``Simulation(graph, count=[pool spikes])`` timed from the file text (validation,
  connectivity, tables: "set-up"), then ``advance`` of one step (tracing and XLA compilation:
  "compile"), then ``advance(STEPS)`` uninterrupted in one chunk (steps/s), the mean rate from the
  in-scan counts, and the process's peak resident memory (VmHWM). The persistent compilation
  cache is off (``SPARK_JAX_CACHE=0``), so compile is a first run's.
* Brian2 2.9 C++ standalone (``--brian2-python``: a Python with Brian2, e.g. .venv-bench made
  by ``./spark.sh bench``), as its users build it: ``Synapses(..., on_pre='I_syn += w')`` with
  no delay (the current reaches v at the next step, as in Spark), ``connect(j='k for k in
  sample(N, size=100)')`` (fan-out 100: the same synapse count and statistics), method
  'exact'; built once (set-up = code generation + compilation + the first run), then the binary
  is run again and timed by its own clock; peak memory of the binary's run (ru_maxrss).

Usage:  python benchmarks/bench_scaling.py [--sizes 1000 10000 100000 1000000] [--repeats 3]
        [--brian2-python .venv-bench/bin/python] [--seconds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import load_average, machine  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]
FAN_IN = 100


def scaling_graph(n: int, seed: int = 0) -> dict:
    """The graph file dict of the scaling network with ``n`` neurons (see the docstring)."""
    return {
        "format": "spark-graph", "version": 2,
        "settings": {"dt": 0.1, "seed": seed, "dtype": "float32"},
        "nodes": [
            {"id": "drive", "type": "current_source",
             "params": {"size": n, "amplitude": 15.0, "heterogeneity": 3.0}},
            {"id": "pool", "type": "lif",
             "params": {"size": n, "tau_m": 20.0, "tau_syn": 5.0, "v_rest": -65.0,
                        "v_reset": -65.0, "v_th": -50.0, "t_ref": 2.0, "v_init": "uniform"}},
            {"id": "rec", "type": "projection",
             "params": {"connectivity": "fixed_fan_in", "fan_in": FAN_IN, "autapses": False,
                        "weight": 0.5, "weight_init": "uniform", "weight_spread": 0.5,
                        "sign": "mixed", "excitatory_fraction": 0.8, "inhibitory_ratio": 5.0,
                        "delay_steps": 1}},
        ],
        "edges": [{"from": "drive.current", "to": "pool.current"},
                  {"from": "pool.spikes", "to": "rec.pre"},
                  {"from": "rec.events", "to": "pool.syn"}],
    }


def steps_for(n: int, seconds: float) -> int:
    """Steps to time at size n: about ``seconds`` of work at 10^8 synaptic events/s."""
    return int(min(20_000, max(200, seconds * 1e8 / (n * FAN_IN * 10.0 * 1e-4))))


SPARK_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from spark_snn import engine
text, steps = open(sys.argv[2]).read(), int(sys.argv[3])
t0 = time.perf_counter()
sim = engine.Simulation(engine.loads(text), count=["pool.spikes"])
t1 = time.perf_counter()
sim.advance(1, chunk=1)
t2 = time.perf_counter()
sim.advance(steps, chunk=steps)   # compiles the long chunk: not timed
sim.reset()
sim.advance(1, chunk=1)
t3 = time.perf_counter()
sim.advance(steps, chunk=steps)
t4 = time.perf_counter()
n = sim.port_size("pool.spikes")
rate = float(sim.totals["pool.spikes"].sum()) / n / ((steps + 1) * sim.dt * 1e-3)
print(json.dumps({"setup": t1 - t0, "compile": t2 - t1, "steps_s": steps / (t4 - t3),
                  "rate_hz": rate,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BRIAN2_CHILD = r"""
import json, os, resource, subprocess, sys, time
import brian2 as b2
n, steps, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
b2.set_device("cpp_standalone", directory=folder, build_on_run=False)
b2.prefs.devices.cpp_standalone.openmp_threads = 0
b2.defaultclock.dt = 0.1 * b2.ms
eqs = '''dv/dt = (-65 - v + I_syn + I_ext) / (20*ms) : 1 (unless refractory)
dI_syn/dt = -I_syn / (5*ms) : 1
I_ext : 1'''
G = b2.NeuronGroup(n, eqs, threshold="v > -50", reset="v = -65", refractory=2 * b2.ms,
                   method="exact")
G.v = "-65 + 15 * rand()"
G.I_ext = "12 + 6 * rand()"
S = b2.Synapses(G, G, "w : 1", on_pre="I_syn += w")
S.connect(j="k for k in sample(N_post, size=%d) if k != i" % 100)
S.w = "0.5 * (0.5 + rand()) * (1 - 6 * int(i >= 0.8 * N_pre))"
mon = b2.PopulationRateMonitor(G)
b2.run(steps * 0.1 * b2.ms)
b2.device.build(directory=folder, compile=True, run=True, with_output=False)
setup = time.perf_counter() - t0
rate = float(b2.mean(mon.rate[:] / b2.Hz))
print(json.dumps({"setup": setup, "rate_hz": rate}))
"""


def spark_once(n: int, steps: int, tmp: str) -> dict:
    path = os.path.join(tmp, f"scaling_{n}.json")
    if not os.path.exists(path):
        with open(path, "w") as fh:
            json.dump(scaling_graph(n), fh)
    env = {**os.environ, "SPARK_JAX_CACHE": "0"}
    out = subprocess.run([sys.executable, "-c", SPARK_CHILD, str(ROOT), path, str(steps)],
                         env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def brian2_build(python: str, n: int, steps: int, folder: str) -> dict | None:
    """Generate, compile and run the standalone project once in ``folder``."""
    out = subprocess.run([python, "-c", BRIAN2_CHILD, str(n), str(steps), folder],
                         capture_output=True, text=True, timeout=7200, cwd=folder)
    if out.returncode != 0:
        print(f"  brian2 failed at n={n}: {out.stderr[-1500:]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def brian2_run(folder: str) -> tuple[float, float]:
    """Run the built binary once: (seconds its own clock gives, its peak memory in MiB)."""
    res = os.path.join(folder, "results", "")
    proc = subprocess.Popen(["./main", "--results_dir", res], cwd=folder,
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"the Brian2 binary in {folder} failed ({proc.returncode})")
    with open(os.path.join(res, "last_run_info.txt")) as fh:
        return float(fh.read().split()[0]), usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="about how long each timed run lasts")
    ap.add_argument("--core", type=int, default=None,
                    help="CPU core every process is pinned to (default: the last one)")
    ap.add_argument("--brian2-python", default=None,
                    help="a Python with Brian2 (e.g. .venv-bench/bin/python); none: Spark only")
    args = ap.parse_args()
    core = args.core if args.core is not None else sorted(os.sched_getaffinity(0))[-1]
    os.sched_setaffinity(0, {core})  # the Spark and Brian2 processes started below inherit it
    print(f"machine: {machine()}; every process pinned to core {core}; "
          f"load average before: {load_average()}", flush=True)
    print("| neurons | synapses | steps | Spark set-up s | Spark compile s | Spark steps/s | "
          "Spark rate Hz | Spark peak MiB | Brian2 set-up s | Brian2 steps/s | Brian2 rate Hz | "
          "Brian2 peak MiB | Spark / Brian2 |", flush=True)
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            steps = steps_for(n, args.seconds)
            sp, b2_runs, b2 = [], [], None
            folder = tempfile.mkdtemp(prefix=f"b2_{n}_", dir=tmp)
            if args.brian2_python:      # built once; its runs alternate with Spark's
                b2 = brian2_build(os.path.abspath(args.brian2_python), n, steps, folder)
            for _ in range(args.repeats):
                sp.append(spark_once(n, steps, tmp))
                if b2:
                    b2_runs.append(brian2_run(folder))
            shutil.rmtree(folder, ignore_errors=True)
            med = {k: statistics.median(r[k] for r in sp) for k in sp[0]}
            row = (f"| {n:,} | {n * FAN_IN:,} | {steps:,} | {med['setup']:.2f} | "
                   f"{med['compile']:.2f} | {med['steps_s']:,.0f} | {med['rate_hz']:.1f} | "
                   f"{med['peak_mib']:,.0f} |")
            if b2 and b2_runs:
                b2_speed = steps / statistics.median(t for t, _ in b2_runs)
                peak = max(m for _, m in b2_runs)
                row += (f" {b2['setup']:.1f} | {b2_speed:,.0f} | {b2['rate_hz']:.1f} | "
                        f"{peak:,.0f} | {med['steps_s'] / b2_speed:.2f} |")
            else:
                row += " - | - | - | - | - |"
            print(row, flush=True)
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
