"""Spark vs Brian2 on the 7-pool benchmark network (resources/examples/benchmark_7pools.json).

Run with ``./spark.sh bench`` (its own virtual environment, .venv-bench, has Brian2 and
numpy < 2.4) or ``python benchmarks/bench_vs_brian2.py [--steps N] [--repeats R] [--no-brian2]``.

What is measured (see BASELINE.md for the workload): steps per second of a run of ``--steps``
steps that is interrupted every K steps. At every interrupt the host sets the input of pools 0
and 1 to a_i (1 + sin(2 pi 1 Hz t)), a_i ~ U(2, 6) mV, held for the next K steps, and reads the
spike counts of pool 6 of the last K steps back into numpy.

* Spark (float32): ``set_input`` twice, ``advance(K, chunk=K)`` with pool 6's spikes counted
  inside the scan (``count=``), counts = the difference of the running totals. Each engine runs in
  a worker process of its own (``--engines label=DIR,...`` compares several source trees, e.g.
  the previous commit against this one, in one invocation).
* Spark operations (float32, engines that have ``Simulation.operate``): the same I/O from a
  network operation, ``operate(steps, fn, every=K, inputs=["stim0", "stim1"])``, where ``fn``
  reads pool 6's counts of the last K steps (``io.counts``) and writes the inputs
  (``io.inputs[...]``): one compiled run calling ``fn`` from inside every K steps through the
  native host call (engine/operations.py). Its spikes read back must equal the first variant's.
* Brian2 cython runtime: one ``network_operation`` every K steps that sets the input and reads a
  per-neuron spike counter of pool 6, through the raw NumPy arrays behind the variables
  (``group.variables[name].get_value()``, fetched once), which is how a Brian2 user makes a
  network operation cheap: the ``group.var_[...]`` views cost about as much again per call.
* Brian2 C++ standalone: uninterrupted only (it cannot call back into Python); skipped with
  ``--no-standalone`` or when it does not build. Built once (``-O3 -march=native``, Brian2's
  defaults, no OpenMP); its time is the simulation time the binary itself reports, without
  compilation, process start and file I/O, and its runs alternate with the others.

Uninterrupted means one chunk of all steps (inputs set once at t = 0). Spark's time excludes
compilation (one warm-up run per K); Brian2's excludes its code preparation (the clock starts at
the first network_operation call, at t = 0). Every process is pinned to one core, and the runs
of the systems alternate (A, B, C, A, B, C, ...) so that the machine's drift hits them alike.

Both simulators get the identical network: the synapses and weights are those Spark draws for
each projection (``Projection.synapses`` with ``engine.compiler.node_rng(seed, node id)``, the
same draw the fused model makes), the biases are Spark's current-source offsets read from the
compiled model's constants, and the a_i come from one NumPy generator. The equations and the
schedule match Spark's LIF (components/lif.py): exact integration, a spike at step t adds w to
I_syn of its targets from step t + 1 (Brian2's default schedule: on_pre after the state update,
no delay set), threshold v > -50 mV, reset to -65 mV, refractory 2 ms with v clamped. A float64
run of both (interrupted every ``--check-chunk`` steps) gives their total spike counts, which
should agree.

``--brian2-variants`` measures the Brian2 configurations this harness used before against the
ones it uses now (a per-synapse delay array set to 0 against no delay; the group.var_ views
against the raw arrays), alternating, to explain earlier disagreements (benchmarks/README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
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

    from spark_snn import engine
    from spark_snn.engine.compiler import node_rng

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


# --- Spark (in this process: --profile, --match-only; else in worker processes) ------------------
def engine_counts():
    """True when this engine's Simulation sums spikes inside the scan (``count=[...]``)."""
    import inspect

    from spark_snn import engine
    return "count" in inspect.signature(engine.Simulation).parameters


def spark_sim(dtype, record=(), graph=GRAPH):
    """A Simulation of the benchmark graph reading pool 6's spike counts at every interrupt:
    with the engine's in-scan counter (``count=``) where it has one, else by recording
    ``pool6.spikes`` and summing on the host."""
    from spark_snn import engine
    kw = {"count": [READOUT]} if engine_counts() else {"record": [READOUT]}
    if record:
        kw["record"] = sorted(set(record) | set(kw.get("record", ())))
    return engine.Simulation(engine.load(graph), dtype=dtype, **kw)


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


def engine_operates(sim) -> bool:
    """True when this engine has network operations (``Simulation.operate``)."""
    return hasattr(sim, "operate") and READOUT in getattr(sim, "count", ())


def operation(a, dt, box):
    """The network operation doing the interrupt's I/O: pool 6's counts of the last K steps
    into ``box["total"]``, then the inputs of the driven pools for the next K steps."""
    import numpy as np
    inputs = [node for node, _pool in DRIVEN]

    def interrupt(io):
        box["total"] += int(np.sum(io.counts[READOUT], dtype=np.int64))
        u = input_at(a, io.t, dt)
        for row, node in enumerate(inputs):
            io.inputs[node][:] = u[row]
    return interrupt, inputs


def spark_operate(sim, a, n_steps, k):
    """The interrupted run as one network operation; returns (seconds, total spikes read back
    from pool 6). The counts of the last K steps, which no call sees, are read from the totals
    afterwards, as the advance variant reads them after its last chunk."""
    box = {"total": 0}
    fn, inputs = operation(a, sim.model.dt, box)
    before = sim.totals[READOUT].copy()
    t0 = time.perf_counter()
    sim.operate(n_steps, fn, every=k, inputs=inputs)
    sec = time.perf_counter() - t0
    total = int((sim.totals[READOUT] - before).sum())
    assert total >= box["total"]
    return sec, total


def spark_counts(a, n_steps, k, dtype, graph=GRAPH, variant="advance"):
    """Total spikes per pool of an interrupted run (every pool recorded)."""
    import numpy as np
    rec = [f"pool{i}.spikes" for i in range(N_POOLS)]
    sim = spark_sim(dtype, tuple(rec), graph)
    totals = np.zeros(N_POOLS, np.int64)

    def add(recs):
        totals[:] += [int(recs[n].sum()) for n in rec]
    if variant == "operate":
        fn, inputs = operation(a, sim.model.dt, {"total": 0})
        add(sim.operate(n_steps, fn, every=k, inputs=inputs))
    else:
        drive(sim, a, n_steps, k, add)
    return totals


def spark_worker(root: str, a_file: str) -> None:
    """A Spark engine (the source tree ``root``) serving timing requests from the parent: one
    JSON request per line on stdin, one JSON answer per line on the original stdout."""
    import numpy as np
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything the engine prints goes to stderr
    sys.path.insert(0, root)
    for mod in [m for m in sys.modules if m.split(".")[0] in ("engine", "components", "spark_snn")]:
        del sys.modules[mod]
    graph = Path(root) / "resources" / "examples" / "benchmark_7pools.json"
    a = np.load(a_file)
    sim = spark_sim("float32", graph=graph)
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "run":
            sim.reset()
            if req.get("variant") == "operate":
                sec, read = spark_operate(sim, a, req["steps"], req["k"])
            else:
                sec, read = spark_run(sim, a, req["steps"], req["k"])
            ans = {"sec": sec, "read": read}
        elif req["op"] == "operates":
            ans = {"operates": engine_operates(sim)}
        elif req["op"] == "counts":
            ans = {"counts": spark_counts(a, req["steps"], req["k"], req["dtype"], graph,
                                          req.get("variant", "advance")).tolist()}
        else:
            break
        answers.write(json.dumps(ans) + "\n")
        answers.flush()


class SparkProcess:
    """A worker process running one source tree's engine (see ``spark_worker``)."""

    def __init__(self, label: str, root: Path, a_file: str):
        self.label, self.root = label, root
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--_spark-worker", str(root), a_file],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"Spark worker '{self.label}' ({self.root}) died")
        return json.loads(line)

    def run(self, n_steps, k, variant="advance"):
        """(seconds, pool-6 spikes read back) of one interrupted run of ``variant``."""
        ans = self.ask(op="run", steps=n_steps, k=k, variant=variant)
        return ans["sec"], ans["read"]

    def variants(self):
        """{label: variant} of the Spark variants this engine has."""
        out = {self.label: "advance"}
        if self.ask(op="operates")["operates"]:
            out[f"{self.label} operations"] = "operate"
        return out

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(timeout=60)


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
    if engine_operates(sim):  # from one saved state each, so that the activity is the same
        interrupt, inputs = operation(a, sim.model.dt, {"total": 0})
        steps = max(n_calls, 1000)
        out["host call alone (compiled loop of calls, empty function)"] = host_call_cost(steps)
        snap = sim.snapshot()
        runs = {"operate, every=1, empty function, per step":
                lambda: sim.operate(steps, lambda io: None, every=1, inputs=inputs),
                "the same steps in one chunk (advance), per step":
                lambda: sim.advance(steps, chunk=steps),
                "operate, every=1, the benchmark's I/O, per step":
                lambda: sim.operate(steps, interrupt, every=1, inputs=inputs)}
        times = {what: [] for what in runs}
        for r in range(4):  # alternating; the first round compiles and is not timed
            for what, run in runs.items():
                sim.restore(snap)
                t0 = time.perf_counter()
                run()
                if r:
                    times[what].append((time.perf_counter() - t0) / steps * 1e6)
        out.update({what: statistics.median(ts) for what, ts in times.items()})
        sim.restore(snap)
    model = sim.model
    sim.compile(1000)
    t0 = time.perf_counter()
    for _ in range(5):
        sim.advance(1000, chunk=1000)
    out["one step inside the scan (1000-step chunk / 1000)"] = \
        (time.perf_counter() - t0) / 5 / 1000 * 1e6
    leaves = {name: len(jax.tree_util.tree_leaves(getattr(sim, name)))
              for name in ("params", "consts", "state")}
    log("Spark time per interrupt, microseconds (pinned):")
    for name, us in out.items():
        log(f"  {name:52s} {us:9.1f}")
    log(f"  pytree leaves: {leaves}; model: {len(model.ids)} runtime nodes")
    return out


def host_call_cost(n_calls):
    """Microseconds per native host call (components/native/hostio.py) in a compiled loop that
    does nothing else, the function called being empty."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from spark_snn.components.native import hostio
    aux, fed = np.zeros(1025, np.uint32), np.zeros(2048, np.uint32)

    def loop(slot, n):
        def body(b, c):
            pfed, alive = hostio.host_call(slot, b, c, fed.size)
            return c + pfed[:aux.size] + alive
        return jax.lax.fori_loop(0, n, body, jnp.zeros(aux.size, jnp.uint32))
    fn = jax.jit(loop)
    with hostio.Binding(lambda _slot, _block: 0, aux, fed, {4: (0, fed.size)}) as b:
        times = []
        for n in (1, n_calls, 1, n_calls):
            t0 = time.perf_counter()
            fn(np.int32(b.slot), np.int32(n)).block_until_ready()
            times.append(time.perf_counter() - t0)
    return (times[3] - times[2]) / (n_calls - 1) * 1e6


# --- Brian2 --------------------------------------------------------------------------------------
EQS = """
dv/dt = (v_rest - v + I_syn + I_ext)/tau_m : 1 (unless refractory)
dI_syn/dt = -I_syn/tau_syn : 1
I_ext : 1
count : integer
"""


def brian2_network(tab, target, delay_array=False):
    """A Brian2 Network of Spark's benchmark network; returns (net, group, synapses).

    No delay is set, as a Brian2 user writes a network without delays: on_pre runs in the
    'synapses' slot after this step's threshold, so the current reaches v at the next step
    (Spark's delay_steps 1). ``delay_array`` sets ``S.delay = 0*ms`` as this harness did before
    2026-12 (a per-synapse delay array, all zero: Brian2's spike queue detects that the delays
    are equal and takes its homogeneous path, so the speed is the same; see --brian2-variants).
    """
    import brian2 as b2
    lif = tab["lif"]
    if target != "standalone":
        b2.prefs.codegen.target = target
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
    if delay_array:
        S.delay = 0 * b2.ms
    return b2.Network(G, S), G, S


def brian2_run(tab, n_steps, k, target="cython", access="raw"):
    """One interrupted Brian2 run; returns (seconds, pool-6 spikes read back, totals per pool).

    ``access``: "raw" reads and writes the NumPy arrays behind the variables (fetched once
    before the run; Brian2's runtime code works on the same arrays), "view" goes through
    ``G.count_[...]`` and ``G.I_ext_[...]`` on every call (the harness before 2026-12)."""
    import brian2 as b2
    import numpy as np
    b2.start_scope()
    net, G, S = brian2_network(tab, target)
    dt = tab["dt"]
    a, bias = tab["a"], tab["bias"]
    lo6, n_in = 6 * POOL, len(DRIVEN) * POOL
    state = {"t0": None, "seen": np.zeros(POOL, np.int64), "read": 0, "step": 0}

    if k >= n_steps:  # uninterrupted: inputs set once, a clock at t = 0 only
        G.I_ext_ = bias + np.concatenate([input_at(a, 0, dt).ravel(),
                                          np.zeros((N_POOLS - len(DRIVEN)) * POOL)])

        @b2.network_operation(dt=n_steps * dt * b2.ms, when="start")
        def start_clock():
            if state["t0"] is None:
                state["t0"] = time.perf_counter()
        net.add(start_clock)
    elif access == "raw":
        G.I_ext_ = bias
        i_ext_arr = G.variables["I_ext"].get_value()
        count_arr = G.variables["count"].get_value()
        bias_in = bias[:n_in].copy()

        @b2.network_operation(dt=k * dt * b2.ms, when="start")
        def interrupt():
            if state["t0"] is None:
                state["t0"] = time.perf_counter()
            step = state["step"]
            counts = count_arr[lo6:].astype(np.int64)
            state["read"] += int((counts - state["seen"]).sum())
            state["seen"] = counts
            np.add(bias_in, input_at(a, step, dt).ravel(), out=i_ext_arr[:n_in])
            state["step"] = step + k
        net.add(interrupt)
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
            G.I_ext_[:n_in] = bias[:n_in] + input_at(a, step, dt).ravel()
            state["step"] = step + k
        net.add(interrupt)
    net.run(n_steps * dt * b2.ms)
    sec = time.perf_counter() - state["t0"]
    counts = np.asarray(G.count_[:]).reshape(N_POOLS, POOL).sum(axis=1)
    return sec, int(counts[6]), counts


def standalone_worker(tab_file, n_steps, build_dir, delay_array, out_file):
    """Build the network with Brian2's cpp_standalone device into ``build_dir``, run it once
    and write its spike counts per pool to ``out_file`` (the parent times the binary)."""
    import brian2 as b2
    import numpy as np
    with open(tab_file, "rb") as fh:
        tab = pickle.load(fh)
    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    net, G, S = brian2_network(tab, "standalone", delay_array=delay_array)
    G.I_ext_ = tab["bias"] + np.concatenate([input_at(tab["a"], 0, tab["dt"]).ravel(),
                                             np.zeros((N_POOLS - len(DRIVEN)) * POOL)])
    net.run(n_steps * tab["dt"] * b2.ms)
    b2.device.build(directory=build_dir, compile=True, run=True, with_output=False)
    counts = G.count_[:].reshape(N_POOLS, POOL).sum(axis=1)
    with open(out_file, "w") as fh:
        json.dump({"counts": [int(c) for c in counts]}, fh)


class Standalone:
    """A built Brian2 C++ standalone binary of the network, timed run by run."""

    def __init__(self, tab_file, n_steps, tmp, log, delay_array=False):
        self.dir = tempfile.mkdtemp(prefix="spark-bench-standalone-", dir=tmp)
        out_file = os.path.join(self.dir, "counts.json")
        cmd = [sys.executable, __file__, "--_standalone", tab_file, self.dir, out_file,
               "--steps", str(n_steps)] + (["--_delay-array"] if delay_array else [])
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        self.counts = None
        if res.returncode != 0 or not os.path.exists(out_file):
            log("  brian2 standalone failed:\n" + (res.stderr or res.stdout)[-2000:])
            self.dir = None
            return
        with open(out_file) as fh:
            self.counts = json.load(fh)["counts"]

    def run(self) -> float:
        """Run the binary once; the seconds of simulation it reports."""
        results = os.path.join(self.dir, "results", "")
        subprocess.run(["./main", "--results_dir", results], cwd=self.dir, check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "LD_BIND_NOW": "1"})
        with open(os.path.join(results, "last_run_info.txt")) as fh:
            return float(fh.read().split()[0])


# --- timing --------------------------------------------------------------------------------------
def speeds(tab, n_steps, ks, repeats, engines, brian2, standalone, log):
    """Steps/s of every Spark engine (float32), Brian2 cython (if ``brian2``) for every K, and
    Brian2 C++ standalone (if built) uninterrupted.

    Runs alternate (engine 1, engine 2, ..., Brian2, standalone, engine 1, ...) so that drift in
    the machine's speed hits all alike; the first run of each system and K compiles and is not
    timed. Returns {system: {K: [seconds of each timed run]}}.
    """
    variants = [(e, label, v) for e in engines for label, v in e.variants().items()]
    times: dict = {label: {} for _e, label, _v in variants}
    if brian2:
        times["Brian2 cython"] = {}
    if standalone is not None and standalone.dir:
        times["Brian2 C++ standalone"] = {}
    for k in ks:
        kk = min(k, n_steps)
        for r in range(repeats + 1):
            reads = {}
            for e, name, variant in variants:
                sec, reads[name] = e.run(n_steps, kk, variant)
                if r:
                    times[name].setdefault(k, []).append(sec)
            for e, name, variant in variants:  # operations read what advance reads
                if variant == "operate" and reads[name] != reads[e.label]:
                    raise SystemExit(f"{name} read {reads[name]} spikes of pool 6 at K={k}, "
                                     f"{e.label} {reads[e.label]}")
            if brian2:
                sec, _, _ = brian2_run(tab, n_steps, kk)
                if r:
                    times["Brian2 cython"].setdefault(k, []).append(sec)
            if kk >= n_steps and "Brian2 C++ standalone" in times:
                sec = standalone.run()
                if r:
                    times["Brian2 C++ standalone"].setdefault(k, []).append(sec)
        log(f"  K={label(k, n_steps)}: " + ", ".join(
            f"{name} {n_steps / statistics.median(t[k]):,.0f}" for name, t in times.items()
            if k in t) + " steps/s")
    return times


def brian2_variants(tab, tab_file, n_steps, repeats, tmp, log):
    """The Brian2 configurations of the previous harness against this one's, alternating:
    standalone with a per-synapse delay array against none (uninterrupted), and the cython
    runtime's network_operation through group.var_ views against the raw arrays (K = 1)."""
    sa = {"S.delay = 0*ms (per-synapse array)": Standalone(tab_file, n_steps, tmp, log, True),
          "no delay set": Standalone(tab_file, n_steps, tmp, log, False)}
    cy = {"group.var_ views": "view", "raw arrays": "raw"}
    t_sa = {name: [] for name in sa}
    t_cy = {name: [] for name in cy}
    brian2_run(tab, n_steps, 1, access="raw")  # compile the cython code once
    for _ in range(repeats):
        for name, s in sa.items():
            if s.dir:
                t_sa[name].append(s.run())
        for name, access in cy.items():
            t_cy[name].append(brian2_run(tab, n_steps, 1, access=access)[0])
    lines = [f"Brian2 configurations, {n_steps} steps, medians of {repeats} alternating runs "
             "(steps/s; all runs in brackets):"]
    for what, tt in (("C++ standalone, uninterrupted", t_sa),
                     ("cython + network_operation, K = 1", t_cy)):
        for name, ts in tt.items():
            if ts:
                lines.append(f"  {what:36s} {name:36s} {n_steps / statistics.median(ts):9,.0f}  "
                             f"({' '.join(f'{n_steps / t:,.0f}' for t in ts)})")
    counts = {name: s.counts for name, s in sa.items()}
    lines.append(f"  standalone spike counts per pool: {counts}")
    return "\n".join(lines)


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


def parse_engines(spec):
    """"label=DIR,label=DIR" -> [(label, Path)]; default: this tree as "Spark"."""
    if not spec:
        return [("Spark", ROOT)]
    out = []
    for item in spec.split(","):
        name, _, path = item.partition("=")
        out.append((name.strip(), Path(path.strip() or ".").resolve()))
    return out


def table(times, n, ks):
    """The markdown table of medians (steps/s), one row per system."""
    def cell(ts):
        return f"{n / statistics.median(ts):,.0f}" if ts else "–"
    heads = [f"K={label(k, n)}" if k < n else "uninterrupted" for k in ks]
    rows = ["| steps/s | " + " | ".join(heads) + " |", "|---|" + "---|" * len(ks)]
    for name, t in times.items():
        rows.append(f"| {name} | " + " | ".join(cell(t.get(k)) for k in ks) + " |")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description="Spark vs Brian2 on the 7-pool benchmark network")
    ap.add_argument("--steps", type=int, default=10_000, help="steps per run (default 10000)")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats, median reported")
    ap.add_argument("--chunks", default="1,10,100,1000",
                    help="interrupt intervals K (uninterrupted is always added)")
    ap.add_argument("--engines", default="",
                    help="Spark source trees to compare, 'label=DIR,label=DIR' (default: this "
                         "tree as 'Spark'); each runs in its own process, alternating")
    ap.add_argument("--no-brian2", action="store_true", help="measure Spark only")
    ap.add_argument("--no-standalone", action="store_true", help="skip Brian2 C++ standalone")
    ap.add_argument("--check-chunk", type=int, default=100,
                    help="K of the float64 spike-count comparison (default 100)")
    ap.add_argument("--core", type=int, default=None, help="CPU core to pin to (default: last)")
    ap.add_argument("--match-only", action="store_true",
                    help="only the float64 spike-count comparison with Brian2 (no timing)")
    ap.add_argument("--profile", action="store_true",
                    help="only print where Spark's time per interrupt goes")
    ap.add_argument("--brian2-variants", action="store_true",
                    help="only compare the Brian2 configurations of the previous harness with "
                         "this one's")
    ap.add_argument("--_standalone", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_delay-array", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_spark-worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    cores = sorted(os.sched_getaffinity(0))
    core = args.core if args.core is not None else cores[-1]
    os.sched_setaffinity(0, {core})  # before JAX starts its thread pool; children inherit it

    if args._spark_worker:
        spark_worker(*args._spark_worker)
        return 0
    sys.path.insert(0, str(ROOT))
    if args._standalone:
        standalone_worker(args._standalone[0], args.steps, args._standalone[1],
                          args._delay_array, args._standalone[2])
        return 0

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    n = args.steps
    ks = [int(k) for k in args.chunks.split(",") if k.strip()] + [n]
    ks = list(dict.fromkeys(k for k in ks if k >= 1))
    started = time.perf_counter()
    load_start = os.getloadavg()
    log(f"7-pool benchmark, {n} steps, medians of {args.repeats}, pinned to core {core}")
    tab = network_tables()
    log(f"  network: {tab['w'].size:,} synapses")
    if args.profile:
        spark_profile(tab["a"], log)
        return 0
    if args.match_only:
        return match_only(tab, n, args.check_chunk)

    with tempfile.TemporaryDirectory() as tmp:
        tab_file, a_file = os.path.join(tmp, "tab.pkl"), os.path.join(tmp, "a.npy")
        with open(tab_file, "wb") as fh:
            pickle.dump(tab, fh)
        if args.brian2_variants:
            print(brian2_variants(tab, tab_file, n, args.repeats, tmp, log))
            print(f"load average at start {load_start[0]:.1f}, at end {os.getloadavg()[0]:.1f}")
            return 0
        import numpy as np
        np.save(a_file, tab["a"])
        engines = [SparkProcess(name, path, a_file) for name, path in parse_engines(args.engines)]
        try:
            standalone = None
            if not args.no_brian2 and not args.no_standalone:
                standalone = Standalone(tab_file, n, tmp, log)
            times = speeds(tab, n, ks, args.repeats, engines, not args.no_brian2, standalone,
                           log)
            check = min(args.check_chunk, n)
            counts = {label: e.ask(op="counts", steps=n, k=check, dtype="float64",
                                   variant=variant)["counts"]
                      for e, label, variant in ((e, label, v) for e in engines
                                                for label, v in e.variants().items())}
            c32 = engines[-1].ask(op="counts", steps=n, k=check, dtype="float32")["counts"]
            c_un = None
            if standalone is not None and standalone.counts:
                c_un = engines[-1].ask(op="counts", steps=n, k=n, dtype="float64")["counts"]
        finally:
            for e in engines:
                e.close()
    b_totals = None
    if not args.no_brian2:
        _, _, b_totals = brian2_run(tab, n, check)
        counts["Brian2 cython"] = [int(x) for x in b_totals]

    load = os.getloadavg()
    lines = [f"Machine: {cpu_model()}, {len(cores)} cores visible, every process pinned to "
             f"core {core}; load average (1/5/15 min) at start {load_start[0]:.1f}/"
             f"{load_start[1]:.1f}/{load_start[2]:.1f}, at end {load[0]:.1f}/{load[1]:.1f}/"
             f"{load[2]:.1f}; Python {platform.python_version()}; {n} steps (dt {tab['dt']} ms), "
             f"medians of {args.repeats} alternating runs.", ""]
    lines += table(times, n, ks)
    lines += ["", "All runs (steps/s):"]
    for name, t in times.items():
        for k in ks:
            if k in t:
                lines.append(f"  {name:24s} K={label(k, n):13s} "
                             + " ".join(f"{n / s:,.0f}" for s in t[k]))
    ref = counts[engines[-1].label]
    lines += ["", f"Total spike counts per pool, float64, K = {check} (mean rate "
              f"{sum(ref) / (N_POOLS * POOL) / (n * tab['dt'] / 1000.0):.2f} Hz):"]
    for name, c in counts.items():
        same = "" if name == engines[-1].label else \
            f"  ({'identical' if c == ref else 'DIFFERENT'} to {engines[-1].label})"
        lines.append(f"  {name:24s} {c}  total {sum(c)}{same}")
    lines.append(f"  {engines[-1].label + ' float32':24s} {c32}  total {sum(c32)}")
    if c_un is not None:
        lines += ["Uninterrupted (input set at t = 0), float64:",
                  f"  {engines[-1].label:24s} {c_un}  total {sum(c_un)}",
                  f"  {'Brian2 C++ standalone':24s} {standalone.counts}  total "
                  f"{sum(standalone.counts)}  ("
                  f"{'identical' if standalone.counts == c_un else 'DIFFERENT'})"]
    lines.append(f"(benchmark took {time.perf_counter() - started:.0f} s)")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
