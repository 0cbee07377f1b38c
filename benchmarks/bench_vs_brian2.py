"""Spark vs Brian2 on the 7-pool benchmark network (resources/examples/benchmark_7pools.json).

Run with ``./spark.sh bench`` (its own virtual environment, .venv-bench, has Brian2 and
numpy < 2.4) or ``python benchmarks/bench_vs_brian2.py [--steps N] [--repeats R] [--no-brian2]``.

What is measured (see BASELINE.md for the workload): steps per second of a run of ``--steps``
steps that is interrupted every K steps. At every interrupt the host sets the input of pools 0
and 1 to a_i (1 + sin(2 pi 1 Hz t)), a_i ~ U(2, 6) mV, held for the next K steps, and reads the
spike counts of pool 6 of the last K steps back into numpy.

* Spark (float32): ``set_input`` twice, ``advance(K, chunk=K)`` with ``pool6.spikes`` recorded,
  counts = the recorded spikes summed over the chunk.
* Brian2 cython runtime: one ``network_operation`` every K steps (sets the input, reads a per-neuron
  spike counter of pool 6 and takes the difference since the last interrupt).
* Brian2 C++ standalone: uninterrupted only (it cannot call back into Python); skipped with
  ``--no-standalone`` or when it does not build. Its time is the simulation time the binary
  reports, without compilation and process start.

Uninterrupted means one chunk of all steps (inputs set once at t = 0). Spark's time excludes
compilation (one warm-up run per K); Brian2's excludes its code preparation (the clock starts at
the first network_operation call, at t = 0). The whole process is pinned to one core.

Both simulators get the identical network: the synapses and weights are those Spark draws for
each projection (``Projection.synapses`` with ``engine.compiler.node_rng(seed, node id)``, the
same draw the fused model makes), the biases are Spark's current-source offsets read from the
compiled model's constants, and the a_i come from one NumPy generator. The equations and the
schedule match Spark's LIF (components/lif.py): forward Euler, a spike at step t adds w to I_syn
of its targets from step t + 1 (Brian2's default schedule: on_pre after the state update),
threshold v > -50 mV, reset to -65 mV, refractory 2 ms with v clamped. A float64 run of both
(interrupted every ``--check-chunk`` steps) gives their total spike counts, which should agree.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRAPH = ROOT / "resources" / "examples" / "benchmark_7pools.json"
READOUT = "pool6.spikes"
N_POOLS, POOL = 7, 1024
DRIVEN = (("stim0", 0), ("stim1", 1))  # host input node -> pool it drives
INPUT_SEED = 1234


# --- the shared network description -------------------------------------------------------------
def network_tables(graph_path=GRAPH):
    """Everything Brian2 needs to build Spark's network, drawn exactly as Spark draws it.

    Returns dict(pre, post, w) over the whole 7168-neuron network (global indices), ``bias``
    (7168 values, amplitude + per-neuron offset), ``a`` (2 x 1024 input amplitudes), dt, and the
    LIF parameters of pool 0 (all pools are equal).
    """
    import numpy as np

    import engine
    from engine.compiler import node_rng

    g = engine.load(graph_path)
    sim = engine.Simulation(g, dtype="float64", fuse=False)
    model = sim.model
    seed = sim.seed
    offset = {f"pool{i}": i * POOL for i in range(N_POOLS)}
    pres, posts, ws = [], [], []
    for nid, node in g.nodes.items():
        if node.type != "projection":
            continue
        src = next(e.src_node for e in g.edges if e.dst == f"{nid}.pre")
        dst = next(e.dst_node for e in g.edges if e.src == f"{nid}.events")
        pre, post, w = model.rnodes[nid].comp.synapses(node_rng(seed, nid))
        pres.append(pre + offset[src])
        posts.append(post + offset[dst])
        ws.append(w)
    bias = np.zeros(N_POOLS * POOL)
    for i in range(N_POOLS):
        off = np.asarray(sim.consts[f"bias{i}"]["offset"], np.float64)
        amp = np.asarray(sim.params[f"bias{i}"]["amplitude"], np.float64)
        bias[i * POOL:(i + 1) * POOL] = amp + off
    a = np.random.default_rng(INPUT_SEED).uniform(2.0, 6.0, (len(DRIVEN), POOL))
    lif = dict(model.rnodes["pool0"].comp.config)
    return {"pre": np.concatenate(pres), "post": np.concatenate(posts), "w": np.concatenate(ws),
            "bias": bias, "a": a, "dt": model.dt, "lif": lif}


def input_at(a, step, dt):
    """a_i (1 + sin(2 pi 1 Hz t)) at ``step`` (t in ms)."""
    import numpy as np
    return a * (1.0 + np.sin(2.0 * np.pi * 1.0 * step * dt / 1000.0))


# --- Spark ---------------------------------------------------------------------------------------
def engine_counts():
    """True when this engine's Simulation sums spikes inside the scan (``count=[...]``)."""
    import inspect

    import engine
    return "count" in inspect.signature(engine.Simulation).parameters


def spark_sim(dtype, record=()):
    """A Simulation of the benchmark graph reading pool 6's spike counts at every interrupt:
    with the engine's in-scan counter (``count=``) where it has one, else by recording
    ``pool6.spikes`` and summing on the host."""
    import engine
    kw = {"count": [READOUT]} if engine_counts() else {"record": [READOUT]}
    if record:
        kw["record"] = sorted(set(record) | set(kw.get("record", ())))
    return engine.Simulation(engine.load(GRAPH), dtype=dtype, **kw)


def read_counts(sim, recs, before):
    """Pool 6's spike counts of the chunk just run (and the running totals)."""
    import numpy as np
    if READOUT in getattr(sim, "count", ()):
        now = sim.totals[READOUT].copy()
        return now - before, now
    return recs[READOUT].sum(axis=0, dtype=np.int64), before


def drive(sim, a, n_steps, k, after):
    """Run ``n_steps`` steps interrupted every ``k``: at each interrupt set the inputs of the
    driven pools, advance ``k`` steps and hand the recorded arrays to ``after``."""
    dt = sim.model.dt
    done = 0
    while done < n_steps:
        m = min(k, n_steps - done)
        u = input_at(a, done, dt)
        for row, (node, _pool) in enumerate(DRIVEN):
            sim.set_input(node, u[row])
        after(sim.advance(m, chunk=m))
        done += m


def spark_run(sim, a, n_steps, k):
    """The interrupted run; returns (seconds, total spikes read back from pool 6)."""
    import numpy as np
    box = {"total": 0, "before": np.zeros(POOL, np.int64)}

    def read_back(recs):
        counts, box["before"] = read_counts(sim, recs, box["before"])
        box["total"] += int(counts.sum())
    t0 = time.perf_counter()
    drive(sim, a, n_steps, k, read_back)
    return time.perf_counter() - t0, box["total"]


def speeds(tab, n_steps, ks, repeats, brian2, log):
    """Steps/s of Spark (float32) and, if ``brian2``, Brian2 cython runtime for every K.

    Runs alternate (Spark, Brian2, Spark, ...) so that drift in the machine's speed hits both
    alike; the first run of each system and K compiles and is not timed.
    """
    sim = spark_sim("float32")
    spark, brian = {}, {}
    for k in ks:
        kk = min(k, n_steps)
        ts, tb = [], []
        for r in range(repeats + 1):
            sim.reset()
            sec, _ = spark_run(sim, tab["a"], n_steps, kk)
            if r:
                ts.append(sec)
            if brian2:
                sec, _, _ = brian2_run(tab, n_steps, kk)
                if r:
                    tb.append(sec)
        spark[k] = n_steps / statistics.median(ts)
        msg = f"  K={label(k, n_steps)}: Spark float32 {spark[k]:,.0f} steps/s"
        if brian2:
            brian[k] = n_steps / statistics.median(tb)
            msg += f", Brian2 cython {brian[k]:,.0f} steps/s"
        log(msg)
    return spark, brian


def spark_counts(a, n_steps, k, dtype):
    """Total spikes per pool of an interrupted run (every pool recorded)."""
    import numpy as np
    rec = [f"pool{i}.spikes" for i in range(N_POOLS)]
    sim = spark_sim(dtype, tuple(rec))
    totals = np.zeros(N_POOLS, np.int64)

    def add(recs):
        totals[:] += [int(recs[n].sum()) for n in rec]
    drive(sim, a, n_steps, k, add)
    return totals


def spark_profile(a, log, n_calls=2000):
    """Where Spark's time per interrupt goes (microseconds), measured piece by piece."""
    import jax
    import numpy as np
    sim = spark_sim("float32")
    u = input_at(a, 0, sim.model.dt)

    def per_call(fn, n=n_calls):
        fn()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) / n * 1e6

    out = {"set_input (one call)": per_call(lambda: sim.set_input("stim0", u[0]))}
    out["advance(1 step)"] = per_call(lambda: sim.advance(1, chunk=1))
    model = sim.model
    fn, _ = sim._chunk_fn(1)
    args = [*sim._device_params(), sim.consts, sim._packed]

    def bare():
        res = fn(*args)
        args[-1] = res[0]
        np.asarray(res[-1])
    out["bare jitted 1-step chunk (+ read-back)"] = per_call(bare)
    n_aux = int(np.asarray(fn(*args)[-1]).size)

    @jax.jit
    def same_signature(fed, rest, consts, packed):  # the dispatch floor: no work at all
        return packed, rest[:n_aux]

    def floor():
        res = same_signature(*args)
        np.asarray(res[-1])
    out["  of which dispatch (empty call, same buffers)"] = per_call(floor)
    big = model.chunk(1000, (), ())
    st = sim.state
    jax.block_until_ready(big(sim.params, sim.consts, st))
    t0 = time.perf_counter()
    for _ in range(5):
        jax.block_until_ready(big(sim.params, sim.consts, st))
    out["one step inside the scan (1000-step chunk / 1000)"] = \
        (time.perf_counter() - t0) / 5 / 1000 * 1e6
    leaves = {name: len(jax.tree_util.tree_leaves(getattr(sim, name)))
              for name in ("params", "consts", "state")}
    log("Spark time per interrupt, microseconds (pinned):")
    for name, us in out.items():
        log(f"  {name:52s} {us:9.1f}")
    n_consts = len(jax.tree_util.tree_leaves(sim.consts))
    log(f"  pytree leaves: {leaves}; buffers per 1-step call: {3 + n_consts} in (host-fed "
        f"params, other params, {n_consts} consts, packed state), 2 out (state, read-back)")
    return out


# --- Brian2 --------------------------------------------------------------------------------------
EQS = """
dv/dt = (v_rest - v + I_syn + I_ext)/tau_m : 1 (unless refractory)
dI_syn/dt = -I_syn/tau_syn : 1
I_ext : 1
count : integer
"""


def brian2_network(tab, target):
    """A Brian2 Network of Spark's benchmark network; returns (net, group, synapses)."""
    import brian2 as b2
    lif = tab["lif"]
    b2.prefs.codegen.target = target if target != "standalone" else "cython"
    b2.defaultclock.dt = tab["dt"] * b2.ms
    ns = {"v_rest": lif["v_rest"], "v_reset": lif["v_reset"], "v_th": lif["v_th"],
          "tau_m": lif["tau_m"] * b2.ms, "tau_syn": lif["tau_syn"] * b2.ms}
    G = b2.NeuronGroup(N_POOLS * POOL, EQS, threshold="v > v_th",
                       reset="v = v_reset\ncount += 1", refractory=lif["t_ref"] * b2.ms,
                       method="exact", namespace=ns, name="pools")
    G.v = lif["v_rest"]
    S = b2.Synapses(G, G, "w : 1", on_pre="I_syn += w", name="synapses")
    S.connect(i=tab["pre"], j=tab["post"])
    S.w = tab["w"]
    S.delay = 0 * b2.ms  # delivered after this step's update: arrives at the next step
    return b2.Network(G, S), G, S


def brian2_run(tab, n_steps, k, target="cython"):
    """One interrupted Brian2 run; returns (seconds, pool-6 spikes read back, totals per pool)."""
    import brian2 as b2
    import numpy as np
    b2.start_scope()
    net, G, S = brian2_network(tab, target)
    dt = tab["dt"]
    a, bias = tab["a"], tab["bias"]
    lo6 = 6 * POOL
    state = {"t0": None, "seen": np.zeros(POOL, np.int64), "read": 0, "step": 0}

    if k >= n_steps:  # uninterrupted: inputs set once, a clock at t = 0 only
        G.I_ext_ = bias + np.concatenate([input_at(a, 0, dt).ravel(),
                                          np.zeros((N_POOLS - len(DRIVEN)) * POOL)])

        @b2.network_operation(dt=n_steps * dt * b2.ms, when="start")
        def start_clock():
            if state["t0"] is None:
                state["t0"] = time.perf_counter()
        net.add(start_clock)
    else:
        G.I_ext_ = bias

        @b2.network_operation(dt=k * dt * b2.ms, when="start")
        def interrupt():
            if state["t0"] is None:
                state["t0"] = time.perf_counter()
            step = state["step"]
            counts = np.asarray(G.count_[lo6:])
            state["read"] += int((counts - state["seen"]).sum())
            state["seen"] = counts
            u = input_at(a, step, dt)
            G.I_ext_[:len(DRIVEN) * POOL] = bias[:len(DRIVEN) * POOL] + u.ravel()
            state["step"] = step + k
        net.add(interrupt)
    net.run(n_steps * dt * b2.ms)
    sec = time.perf_counter() - state["t0"]
    counts = np.asarray(G.count_[:]).reshape(N_POOLS, POOL).sum(axis=1)
    return sec, int(counts[6]), counts


def standalone_worker(tab_file, n_steps, repeats, out_file):
    """Build the network with Brian2's cpp_standalone device and time the binary's runs."""
    import pickle

    import brian2 as b2
    import numpy as np
    with open(tab_file, "rb") as fh:
        tab = pickle.load(fh)
    build_dir = tempfile.mkdtemp(prefix="spark-bench-standalone-")
    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    net, G, S = brian2_network(tab, "standalone")
    G.I_ext_ = tab["bias"] + np.concatenate([input_at(tab["a"], 0, tab["dt"]).ravel(),
                                             np.zeros((N_POOLS - len(DRIVEN)) * POOL)])
    net.run(n_steps * tab["dt"] * b2.ms)
    b2.device.build(directory=build_dir, compile=True, run=False)
    times = []
    for _ in range(repeats):
        b2.device.run(directory=build_dir, with_output=False)
        times.append(float(b2.device._last_run_time))
    counts = G.count_[:].reshape(N_POOLS, POOL).sum(axis=1)
    with open(out_file, "w") as fh:
        json.dump({"seconds": times, "counts": [int(c) for c in counts]}, fh)


def brian2_standalone(tab, n_steps, repeats, log):
    import pickle
    with tempfile.TemporaryDirectory() as tmp:
        tab_file, out_file = os.path.join(tmp, "tab.pkl"), os.path.join(tmp, "out.json")
        with open(tab_file, "wb") as fh:
            pickle.dump(tab, fh)
        cmd = [sys.executable, __file__, "--_standalone", tab_file, out_file,
               "--steps", str(n_steps), "--repeats", str(repeats)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if res.returncode != 0 or not os.path.exists(out_file):
            log("  brian2 standalone failed:\n" + (res.stderr or res.stdout)[-2000:])
            return None
        with open(out_file) as fh:
            data = json.load(fh)
    speed = n_steps / statistics.median(data["seconds"])
    log(f"  brian2 standalone uninterrupted: {speed:,.0f} steps/s")
    return speed


# --- report --------------------------------------------------------------------------------------
def label(k, n_steps):
    return "uninterrupted" if k >= n_steps else str(k)


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def match_only(tab, n, k):
    """Print the float64 spike counts per pool of Spark and Brian2; exit status 1 if they
    differ."""
    _, _, b_totals = brian2_run(tab, n, min(k, n))
    t64 = spark_counts(tab["a"], n, k, "float64")
    same = [int(x) for x in b_totals] == t64.tolist()
    print(f"float64, {n} steps, K = {k}: Spark {t64.tolist()} total {int(t64.sum())}; Brian2 "
          f"{[int(x) for x in b_totals]} total {int(b_totals.sum())} "
          f"({'identical' if same else 'DIFFERENT'})")
    return 0 if same else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description="Spark vs Brian2 on the 7-pool benchmark network")
    ap.add_argument("--steps", type=int, default=10_000, help="steps per run (default 10000)")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats, median reported")
    ap.add_argument("--chunks", default="1,10,100,1000",
                    help="interrupt intervals K (uninterrupted is always added)")
    ap.add_argument("--no-brian2", action="store_true", help="measure Spark only")
    ap.add_argument("--no-standalone", action="store_true", help="skip Brian2 C++ standalone")
    ap.add_argument("--check-chunk", type=int, default=100,
                    help="K of the float64 spike-count comparison (default 100)")
    ap.add_argument("--core", type=int, default=None, help="CPU core to pin to (default: last)")
    ap.add_argument("--match-only", action="store_true",
                    help="only the float64 spike-count comparison with Brian2 (no timing)")
    ap.add_argument("--profile", action="store_true",
                    help="only print where Spark's time per interrupt goes")
    ap.add_argument("--_standalone", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    cores = sorted(os.sched_getaffinity(0))
    core = args.core if args.core is not None else cores[-1]
    os.sched_setaffinity(0, {core})  # before JAX starts its thread pool
    sys.path.insert(0, str(ROOT))

    if args._standalone:
        standalone_worker(args._standalone[0], args.steps, args.repeats, args._standalone[1])
        return 0

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    n = args.steps
    ks = [int(k) for k in args.chunks.split(",") if k.strip()] + [n]
    ks = list(dict.fromkeys(k for k in ks if k >= 1))
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    log(f"7-pool benchmark, {n} steps, medians of {args.repeats}, pinned to core {core}")
    tab = network_tables()
    log(f"  network: {tab['w'].size:,} synapses")
    if args.profile:
        spark_profile(tab["a"], log)
        return 0
    if args.match_only:
        return match_only(tab, n, args.check_chunk)

    spark, brian = speeds(tab, n, ks, args.repeats, not args.no_brian2, log)
    rates = {}
    t32 = spark_counts(tab["a"], n, args.check_chunk, "float32")
    seconds = n * tab["dt"] / 1000.0
    rates["Spark float32"] = t32.sum() / (N_POOLS * POOL) / seconds
    standalone, b_totals = None, None
    if not args.no_brian2:
        if not args.no_standalone:
            standalone = brian2_standalone(tab, n, args.repeats, log)
        _, _, b_totals = brian2_run(tab, n, min(args.check_chunk, n))
        rates["Brian2 float64"] = b_totals.sum() / (N_POOLS * POOL) / seconds
    t64 = spark_counts(tab["a"], n, args.check_chunk, "float64")
    rates["Spark float64"] = t64.sum() / (N_POOLS * POOL) / seconds

    def cell(v):
        return f"{v:,.0f}" if v is not None else "–"

    heads = [label(k, n) if k < n else "uninterrupted" for k in ks]
    load = os.getloadavg()
    lines = [f"Machine: {cpu_model()}, {len(cores)} cores visible, pinned to core {core}; "
             f"load average at start {load_start:.1f}, at end {load[0]:.1f}; "
             f"Python {platform.python_version()}; {n} steps (dt {tab['dt']} ms), medians of "
             f"{args.repeats}.", "",
             "| steps/s | " + " | ".join(f"K={h}" if h != "uninterrupted" else h for h in heads)
             + " |",
             "|---|" + "---|" * len(ks),
             "| Spark (float32) | " + " | ".join(cell(spark[k]) for k in ks) + " |"]
    if not args.no_brian2:
        lines.append("| Brian2 cython runtime + network_operation | "
                     + " | ".join(cell(brian[k]) for k in ks) + " |")
        lines.append("| Brian2 C++ standalone | " + " | ".join(
            cell(standalone) if k >= n else "–" for k in ks) + " |")
    lines += ["", f"Mean firing rate over the 7 pools (interrupted every {args.check_chunk} "
              "steps): " + ", ".join(f"{name} {r:.2f} Hz" for name, r in rates.items()), "",
              "Total spike counts per pool, float64, K = " + str(args.check_chunk) + ":",
              f"  Spark  {t64.tolist()}  total {int(t64.sum())}"]
    if b_totals is not None:
        same = [int(x) for x in b_totals] == t64.tolist()
        lines.append(f"  Brian2 {[int(x) for x in b_totals]}  total {int(b_totals.sum())}  "
                     f"({'identical' if same else 'DIFFERENT'})")
    lines.append(f"  Spark float32 {t32.tolist()}  total {int(t32.sum())}")
    lines.append(f"(benchmark took {time.perf_counter() - started:.0f} s)")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
