"""The native CPU kernels (components/native): the same spikes and weights as the XLA loops.

References: NumPy sums in ascending order for the static propagation; the XLA "serial" path
(the engine's own loops, tested against analytic and Brian2 references elsewhere) for the
delayed deliveries and the plasticity rules, which must agree bit for bit; the exact arrival
step of a delayed spike; the fallback when no compiler can build the kernels.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spark_snn import engine
from spark_snn.components import native
from spark_snn.components.projection import padded_tables, spike_words
from spark_snn.components.spike_history import delay_segments

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "resources" / "examples" / "cartpole_seed.json"
POOLS = ("a_exc", "b_exc", "a_inh", "b_inh")


@pytest.fixture
def kernels(monkeypatch):
    """The native kernels, built; a machine with a C++ compiler must build them (a failed build
    there is a failure, not a skip)."""
    monkeypatch.delenv("SPARK_NATIVE", raising=False)
    if not (os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")):
        pytest.skip("no C++ compiler on this machine: the engine uses its XLA loops")
    assert native.available(), native.status()


def _run(graph, strategy, monkeypatch, steps, weights=(), record=POOLS):
    monkeypatch.setenv("SPARK_PROPAGATION", strategy)
    sim = engine.Simulation(graph, record=[f"{p}.spikes" for p in record])
    out = sim.advance(steps, chunk=steps)
    return out, {w: np.asarray(sim.weights(w)) for w in weights}


def test_static_propagation_sums_rows_in_ascending_order(kernels):
    """Random tables with padding, spikes on word edges and in the last partial word: the sums
    NumPy gets adding the rows one after the other (float32)."""
    rng = np.random.default_rng(11)
    n, n_out = 1000, 300
    pre = np.sort(rng.integers(0, n, 20_000))
    post = rng.integers(0, n_out, pre.size)
    w = rng.standard_normal(pre.size).astype(np.float32)
    t, wt = padded_tables(pre, post, w, n, n_out, np.float32)
    for idx in ([], [0], [31, 32, 63, 64, 999], list(range(0, n, 3)), list(range(n))):
        s = np.zeros(n, np.float32)
        s[idx] = 1
        got = jax.jit(lambda x: native.propagate(spike_words(x), jnp.asarray(t), jnp.asarray(wt),
                                                 n_out))(s)
        want = np.zeros(n_out + 1, np.float32)
        for i in idx:
            np.add.at(want, t[i], wt[i])
        assert np.array_equal(np.asarray(got), want[:n_out]), idx


def test_delay_segments_list_each_delay_once():
    """Each row's columns, ordered by delay, cut where the delay changes; padding excluded."""
    targets = np.array([[3, 1, 2, 9, 9], [0, 1, 2, 3, 4], [9, 9, 9, 9, 9]], np.int32)
    delays = np.array([[2, 1, 2, 0, 0], [4, 1, 4, 1, 3], [0, 0, 0, 0, 0]], np.int32)
    perm, start = delay_segments(targets, delays, 5, 4)
    assert perm.tolist()[:2] == [[1, 0, 2, 3, 4], [1, 3, 4, 0, 2]]
    assert start.tolist() == [[0, 0, 1, 3, 3, 3], [0, 0, 2, 2, 3, 5], [0, 0, 0, 0, 0, 0]]


def test_the_cartpole_brain_gives_the_xla_spikes_and_weights_bit_for_bit(kernels, monkeypatch):
    """resources/examples/cartpole_seed.json (per-synapse delays of 1-4 ms, the quadruplet rule
    with its four parameter sets on 10 projections, the environment in the loop), 1,500 steps:
    the same spikes in every pool and the same weights, bit for bit, as the XLA loops."""
    g = engine.load(SEED)
    ws = ("enc_a_exc", "a_exc_a_exc", "a_exc_a_inh", "a_inh_b_exc", "b_inh_a_exc", "enc_b_inh")
    a, wa = _run(g, "serial", monkeypatch, 1500, ws)
    b, wb = _run(g, "native", monkeypatch, 1500, ws)
    assert sum(int(v.sum()) for v in a.values()) > 10_000
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    for k in ws:
        assert np.array_equal(wa[k], wb[k]), k
        assert not np.array_equal(wa[k], engine.Simulation(g).weights(k)), k   # they learned


def _delay_graph(kind: str, dtype: str = "float32"):
    """Poisson input -> LIF pool through one projection with per-synapse delays 2-5 steps."""
    proj = {"connectivity": "fixed_probability", "p": 0.3, "delay_steps": 2,
            "max_delay_steps": 5, "weight": 2.0}
    nodes = [
        {"id": "src", "type": "poisson_source", "params": {"size": 70, "rate": 80.0}},
        {"id": "pool", "type": "lif", "params": {"size": 40}},
        {"id": "proj", "type": kind, "params": proj},
    ]
    edges = [("src.spikes", "proj.pre"), ("proj.events", "pool.syn")]
    if kind != "projection":
        edges.append(("pool.spikes", "proj.post"))
    return engine.loads(json.dumps({
        "format": "spark-graph", "version": 2,
        "settings": {"dt": 1.0, "seed": 5, "dtype": dtype}, "nodes": nodes,
        "edges": [{"from": a, "to": b} for a, b in edges]}))


@pytest.mark.parametrize("kind", ["projection", "hebbian_projection", "quadruplet_projection"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_per_synapse_delays_and_rules_match_the_xla_loops(kernels, monkeypatch, kind, dtype):
    """A static and two plastic projections with delays drawn per synapse, in float32 and
    float64: the same spikes and weights as the XLA loops."""
    g = _delay_graph(kind, dtype)
    w = () if kind == "projection" else ("proj",)
    a, wa = _run(g, "serial", monkeypatch, 400, w, record=("src", "pool"))
    b, wb = _run(g, "native", monkeypatch, 400, w, record=("src", "pool"))
    assert int(a["pool.spikes"].sum()) > 50
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    for k in w:
        assert np.array_equal(wa[k], wb[k])


def test_a_delayed_spike_arrives_exactly_at_its_synapse_delay(kernels):
    """One pre neuron, three synapses with delays 1, 3 and 4 steps: a spike at step u reaches
    each target at u + d and only then."""
    targets = np.array([[0, 1, 2], [3, 3, 3]], np.int32)   # row 1: the no-spike row
    delays = np.array([[3, 1, 4], [0, 0, 0]], np.int32)
    weights = np.array([[1.0, 2.0, 4.0], [0, 0, 0]], np.float32)
    perm, start = delay_segments(targets, delays, 3, 4)
    tables = {"targets": targets, "delays": delays, "sign": np.ones(2, np.float32),
              "seg_perm": perm, "seg_start": start}
    ring = np.zeros((4, 1), np.uint32)
    u = 6
    ring[u % 4, 0] = 1                                     # neuron 0 spiked at step 6
    got = {t: np.asarray(native.deliver_delayed(jnp.asarray(ring), t, 1, tables,
                                                jnp.asarray(weights), 3, True))
           for t in range(u + 1, u + 5)}
    assert got[u + 1].tolist() == [0, 2, 0]
    assert got[u + 2].tolist() == [0, 0, 0]
    assert got[u + 3].tolist() == [1, 0, 0]
    assert got[u + 4].tolist() == [0, 0, 4]


def test_vmapped_agents_match_the_xla_loops(kernels, monkeypatch):
    """Several seeds of the delayed plastic graph run as one vmapped program (as spark train
    and sweeps do): each agent's spikes equal the XLA loops'."""
    from spark_snn.engine import sweep
    g = _delay_graph("quadruplet_projection")
    runs = {}
    for strategy in ("serial", "native"):
        monkeypatch.setenv("SPARK_PROPAGATION", strategy)
        runs[strategy] = sweep.sweep(g, ["src.rate=40:120:3"], steps=300)
    a, b = runs["serial"].measures["pool.spikes"], runs["native"].measures["pool.spikes"]
    assert a.shape == (3,) and np.all(np.diff(a) > 0)       # more input, more output
    assert np.array_equal(a, b)


def _subprocess(env_extra, code):
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_NATIVE", "SPARK_PROPAGATION")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_without_a_compiler_the_engine_falls_back_to_its_loops(tmp_path):
    """A compiler that fails (CXX=false, an empty kernel folder): the kernels are reported
    unavailable with the reason, the strategy is serial and a run gives the usual spikes."""
    code = ("from spark_snn import engine\n"
            "from spark_snn.components import native, projection\n"
            "print(native.available()); print(native.status())\n"
            "print(projection.propagation_strategy())\n"
            "sim = engine.Simulation(engine.load('resources/examples/minimal.json'))\n"
            "print(int(sum(v.sum() for v in sim.advance(200).values())) >= 0)\n")
    false = shutil.which("false") or "/bin/false"
    r = _subprocess({"CXX": false, "SPARK_NATIVE_DIR": str(tmp_path / "k")}, code)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "False"
    assert "unavailable" in lines[1] and "false failed" in lines[1]
    assert lines[2] == "serial"
    assert "native kernels unavailable" in r.stderr          # the warning, once


def test_native_kernels_can_be_turned_off_and_asking_for_them_then_fails(monkeypatch):
    from spark_snn.components.projection import propagation_strategy
    monkeypatch.setenv("SPARK_NATIVE", "0")
    assert not native.available()
    assert "SPARK_NATIVE=0" in native.status()
    monkeypatch.setenv("SPARK_PROPAGATION", "native")
    with pytest.raises(RuntimeError, match="native kernels off"):
        propagation_strategy()
    monkeypatch.setenv("SPARK_NATIVE", "maybe")
    with pytest.raises(ValueError, match="expected auto, 0 or 1"):
        native.wanted()


@pytest.mark.parametrize("autapses", [True, False])
def test_fixed_fan_in_synapses_are_listed_as_by_a_sort(kernels, monkeypatch, autapses):
    """With the native library a fixed_fan_in projection's synapses are the pairs NumPy's draw
    gives, listed in the order of a sort of their keys (pre, then post)."""
    from spark_snn.components.projection import draw_connectivity
    cfg = {"connectivity": "fixed_fan_in", "fan_in": 40, "autapses": autapses}
    got = draw_connectivity(cfg, 3000, 3000, np.random.default_rng(8))
    monkeypatch.setenv("SPARK_NATIVE", "0")
    want = draw_connectivity(cfg, 3000, 3000, np.random.default_rng(8))
    assert got[0].size == 3000 * 40
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    keys = want[0] * 3000 + want[1]
    assert np.all(np.diff(keys) > 0)                     # strictly ascending: distinct pairs


def _lif_graph(dtype: str):
    """Two LIF pools (fused into one kernel call, with different parameters: vector parameters)
    driven on all three inputs: a constant current, Poisson spikes on ``syn`` and on ``jump``,
    and a recurrent projection; t_ref of 2 ms (held steps) and 0.15 ms (n_ref = 1)."""
    nodes = [
        {"id": "src", "type": "poisson_source", "params": {"size": 60, "rate": 150.0}},
        {"id": "drive", "type": "current_source",
         "params": {"size": 50, "amplitude": 12.0, "heterogeneity": 4.0}},
        {"id": "a", "type": "lif", "params": {"size": 50, "v_init": "uniform"}},
        {"id": "b", "type": "lif", "params": {"size": 30, "tau_m": 10.0, "tau_syn": 3.0,
                                               "t_ref": 0.15, "v_th": -52.0,
                                               "v_reset": -70.0}},
        {"id": "in_syn", "type": "projection",
         "params": {"connectivity": "fixed_probability", "p": 0.3, "weight": 1.5}},
        {"id": "in_jump", "type": "projection",
         "params": {"connectivity": "fixed_probability", "p": 0.3, "weight": 2.5}},
        {"id": "ab", "type": "projection",
         "params": {"connectivity": "fixed_probability", "p": 0.2, "weight": 3.0}},
    ]
    edges = [("src.spikes", "in_syn.pre"), ("in_syn.events", "a.syn"),
             ("src.spikes", "in_jump.pre"), ("in_jump.events", "b.jump"),
             ("drive.current", "a.current"), ("a.spikes", "ab.pre"), ("ab.events", "b.syn")]
    return engine.loads(json.dumps({
        "format": "spark-graph", "version": 2,
        "settings": {"dt": 0.1, "seed": 3, "dtype": dtype}, "nodes": nodes,
        "edges": [{"from": a, "to": b} for a, b in edges]}))


@pytest.fixture
def lif_calls(monkeypatch):
    """Counts the traced calls of the native LIF step (so a test knows the kernel ran)."""
    calls = []
    real = native.lif_step

    def counted(*args):
        calls.append(1)
        return real(*args)
    monkeypatch.setattr(native, "lif_step", counted)
    return calls


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("graph", ["fused", "single"])
def test_the_native_lif_step_gives_the_xla_states_bit_for_bit(kernels, monkeypatch, lif_calls,
                                                              dtype, graph):
    """Fused LIF pools with per-neuron parameters, input on current, syn and jump, refractory
    and non-refractory; and a lone pool fed only on syn (current and jump open: scalar zeros):
    spikes, v and the state after 3,000 steps equal the XLA expression's."""
    if graph == "fused":
        g, pools, steps = _lif_graph(dtype), ("a", "b"), 3000
    else:
        g, pools, steps = _delay_graph("projection", dtype), ("pool",), 400
    monkeypatch.setenv("SPARK_PROPAGATION", "native")
    runs = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("SPARK_NATIVE_LIF", flag)
        lif_calls.clear()
        sim = engine.Simulation(g, record=[f"{q}.{port}" for q in pools
                                           for port in ("spikes", "v")])
        out = sim.advance(steps, chunk=steps // 3)
        runs[flag] = (out, sim.state)
        assert bool(lif_calls) == (flag == "1")
    (a, sa), (b, sb) = runs["0"], runs["1"]
    assert all(a[f"{q}.spikes"].sum() > 50 for q in pools)
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    for x, y in zip(jax.tree_util.tree_leaves(sa), jax.tree_util.tree_leaves(sb)):
        assert np.array_equal(np.asarray(x), np.asarray(y))


def test_the_native_lif_step_under_vmap_gives_each_agent_the_xla_spikes(kernels, monkeypatch,
                                                                       lif_calls):
    """A sweep over a threshold (a batched scalar parameter, unbatched vector ones) runs the
    kernel once per step for all agents: each agent's spike count equals the XLA step's."""
    from spark_snn.engine import sweep
    g = _lif_graph("float32")
    monkeypatch.setenv("SPARK_PROPAGATION", "native")
    runs = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("SPARK_NATIVE_LIF", flag)
        runs[flag] = sweep.sweep(g, ["a.v_th=-55:-48:4"], steps=1500)
    a, b = runs["0"].measures["a.spikes"], runs["1"].measures["a.spikes"]
    assert a.shape == (4,) and np.all(np.diff(a) < 0)       # a higher threshold, fewer spikes
    assert np.array_equal(a, b)
    assert np.array_equal(runs["0"].measures["b.spikes"], runs["1"].measures["b.spikes"])
    assert lif_calls


def test_the_native_lif_step_matches_the_equations_on_edge_cases(kernels):
    """Direct call on hand-made neurons: a refractory one holds v and discards its jump, one
    crossing the threshold resets, one at the threshold stays (v > v_th is strict), a jump
    arrives after max(n_ref, 1) steps; shared (scalar) parameters."""
    f = np.float32
    state = {"v": jnp.asarray([-60.0, -50.5, -65.0, -64.0], f),
             "I_syn": jnp.asarray([0.0, 20.0, 0.0, 1.0], f),
             "since": jnp.asarray([3, 1 << 30, 0, 1], np.int32)}
    inputs = {"current": jnp.asarray(0.0, f), "syn": jnp.zeros(4, f),
              "jump": jnp.asarray([5.0, 0.0, 5.0, 5.0], f)}
    e_m, e_s, k_s = np.exp(-0.1 / 20), np.exp(-0.1 / 5), 0.08
    p = {"v_rest": -65.0, "v_reset": -70.0, "v_th": -50.0, "e_m": e_m, "k_syn": k_s,
         "e_syn": e_s, "n_ref": 20}
    v, i_syn, since, spikes = (np.asarray(x) for x in native.lif_step(state, inputs, p))
    assert v[0] == f(-60.0) and since[0] == 4            # refractory: held, jump discarded
    v1 = f(f(-65.0) + f(f(-50.5) - f(-65.0)) * f(e_m) + f(20.0) * f(k_s))
    assert v1 > -50 and spikes[1] == 1 and v[1] == f(-70.0) and since[1] == 0
    assert spikes[2] == 0 and since[2] == 1 and v[2] == f(-65.0)   # refractory at rest
    assert np.isclose(i_syn[1], 20.0 * e_s) and np.isclose(i_syn[3], e_s)
    assert spikes[3] == 0 and v[3] == f(-64.0)            # since 2 <= 20: jump still discarded
    assert spikes.dtype == np.float32 and since.dtype == np.int32
