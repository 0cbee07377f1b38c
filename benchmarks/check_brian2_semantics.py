"""Spark's LIF against Brian2 on small scenarios that pin down the step semantics.

Run with the benchmark environment (it has Brian2): ``.venv-bench/bin/python
benchmarks/check_brian2_semantics.py`` (``./spark.sh bench --help`` creates .venv-bench).
Prints one line per neuron and scenario and exits with status 1 if any spike train differs.

Both sides run in float64; Brian2 uses ``method='exact'``, its default schedule, the refractory
period as a per-neuron parameter (``refractory='t_ref'``, v "unless refractory") and ``on_pre``
with a delay of (d - 1) dt for a Spark projection with ``delay_steps = d``. Scenarios:

* jump timing: jumps of 15.05 mV (no spike in Brian2) and 16 mV onto LIFs at rest, delays 1, 5;
* jumps that reach a neuron d = 1 .. 26 steps after its own spike (t_ref 2 ms = 20 steps):
  Brian2 writes v only while the neuron is not refractory, so d <= 20 are lost;
* refractory periods that are not whole steps (0.15, 0.2998, 0.29999 ms at dt 0.1 ms; 1.5 ms at
  dt 1 ms, ...) on neurons that fire whenever they may;
* tau_m = 0.05 ms at dt = 0.1 ms with a sub-threshold drive, and exponential synaptic input.

The v traces agree to about 1e-13 mV, except on the step when a jump arrives: Brian2's monitor
(when='end') shows v after that step's on_pre, Spark adds the jump at the start of the next step.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

EQS = """
dv/dt = (v_rest - v + I_syn + I_ext)/tau_m : 1 (unless refractory)
dI_syn/dt = -I_syn/tau_syn : 1
I_ext : 1
tau_m : second
t_ref : second
"""


def brian2_run(dt, n, pools, syns):
    """pools: {name: dict(I, tau_m=20, t_ref=2)}; syns: [(src, dst, w, delay_steps, var)].
    Returns ({name: spike steps}, {name: v after every step})."""
    import brian2 as b2
    b2.start_scope()
    b2.defaultclock.dt = dt * b2.ms
    names = list(pools)
    G = b2.NeuronGroup(len(names), EQS, threshold="v > -50", reset="v = -65",
                       refractory="t_ref", method="exact",
                       namespace={"v_rest": -65.0, "tau_syn": 5 * b2.ms})
    G.v = -65.0
    G.I_ext = [pools[k]["I"] for k in names]
    G.tau_m = [pools[k].get("tau_m", 20.0) * b2.ms for k in names]
    G.t_ref = [pools[k].get("t_ref", 2.0) * b2.ms for k in names]
    net = b2.Network(G)
    for var in sorted({x[4] for x in syns}):
        sel = [x for x in syns if x[4] == var]
        S = b2.Synapses(G, G, "w : 1", on_pre=f"{var} += w", name=f"s_{var}")
        S.connect(i=[names.index(x[0]) for x in sel], j=[names.index(x[1]) for x in sel])
        S.w = [x[2] for x in sel]
        S.delay = [(x[3] - 1) * dt for x in sel] * b2.ms
        net.add(S)
    mon = b2.StateMonitor(G, "v", record=True, when="end")
    spk = b2.SpikeMonitor(G)
    net.add(mon, spk)
    net.run(n * dt * b2.ms)
    steps = np.round(np.asarray(spk.t / b2.ms) / dt).astype(int)
    idx = np.asarray(spk.i)
    return ({k: steps[idx == i] for i, k in enumerate(names)},
            {k: np.asarray(mon.v[i]) for i, k in enumerate(names)})


def spark_run(dt, n, pools, syns):
    from spark_snn.engine import Graph, Node, Simulation
    g = Graph(settings={"dt": dt, "seed": 0, "dtype": "float64"})
    for k, p in pools.items():
        g.add_node(Node(f"I_{k}", "current_source", {"size": 1, "amplitude": p["I"]}))
        g.add_node(Node(k, "lif", {"size": 1, "tau_m": p.get("tau_m", 20.0),
                                   "t_ref": p.get("t_ref", 2.0)}))
        g.connect(f"I_{k}.current", f"{k}.current")
    for j, (src, dst, w, d, var) in enumerate(syns):
        g.add_node(Node(f"p{j}", "projection", {
            "connectivity": "one_to_one", "weight": abs(w), "delay_steps": d,
            "sign": "excitatory" if w > 0 else "inhibitory"}))
        g.connect(f"{src}.spikes", f"p{j}.pre")
        g.connect(f"p{j}.events", f"{dst}.{'jump' if var == 'v' else 'syn'}")
    rec = [f"{k}.{q}" for k in pools for q in ("spikes", "v")]
    r = Simulation(g, record=rec).advance(n, chunk=n)
    return ({k: np.flatnonzero(r[f"{k}.spikes"][:, 0]) for k in pools},
            {k: r[f"{k}.v"][:, 0] for k in pools})


def compare(title, dt, n, pools, syns=()):
    bs, bv = brian2_run(dt, n, pools, list(syns))
    ss, sv = spark_run(dt, n, pools, list(syns))
    same = True
    for k in pools:
        ok = np.array_equal(bs[k], ss[k])
        same &= ok
        print(f"  {title:28s} {k:4s} spikes: Brian2 {len(bs[k]):3d}, Spark {len(ss[k]):3d}, "
              f"first {bs[k][:4].tolist()} / {ss[k][:4].tolist()}  "
              f"{'same' if ok else 'DIFFERENT'}  max|dv| {np.max(np.abs(bv[k] - sv[k])):.1e}")
    print(f"{title}: {'identical spike trains' if same else 'DIFFERENT'}", flush=True)
    return same


def main() -> int:
    results = [
        compare("jump timing", 0.1, 400,
                {"src": dict(I=30.0, t_ref=1000.0), "a": dict(I=0.0), "b": dict(I=0.0),
                 "c": dict(I=0.0)},
                [("src", "a", 15.05, 1, "v"), ("src", "b", 16.0, 1, "v"),
                 ("src", "c", 16.0, 5, "v")]),
        compare("jumps after a spike", 0.1, 1000,
                {"src": dict(I=20.0), **{f"d{d}": dict(I=20.0) for d in range(1, 27)}},
                [("src", f"d{d}", 2.0, d, "v") for d in range(1, 27)]),
    ]
    for dt, refs in ((0.1, (0.15, 0.3, 0.25, 0.2998, 0.29999, 0.7, 2.0, 0.05)),
                     (1.0, (1.5, 2.0, 0.999, 3.0))):
        results.append(compare(f"refractory, dt {dt} ms", dt, 200,
                               {f"r{i}": dict(I=20.0, tau_m=0.01, t_ref=t)
                                for i, t in enumerate(refs)}))
    results.append(compare("tau_m 0.05 ms, syn input", 0.1, 500,
                           {"src": dict(I=18.0), "f": dict(I=10.0, tau_m=0.05),
                            "s": dict(I=5.0)},
                           [("src", "s", 4.0, 1, "I_syn"), ("src", "f", 1.0, 3, "I_syn")]))
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
