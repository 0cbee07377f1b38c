"""Group parameters that every member shares, kept as one scalar (engine/shared_params.py).

References: the same graph run unfused (``fuse=False``: no groups, each pool its own node with
scalar parameters, the engine's plain path), and the XLA expression of the LIF step
(``SPARK_NATIVE_LIF=0``) against the native kernel's shared-parameter loop. Every comparison is
bit for bit.
"""
from __future__ import annotations

import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spark_snn import engine
from spark_snn.components import native
from spark_snn.components.lif import LIF
from spark_snn.engine.compiler import precision
from spark_snn.engine.shared_params import uniform_group_params

LIF_NAMES = {"v_rest", "v_reset", "v_th", "tau_m", "t_ref", "tau_syn"}
POOLS = ("a", "b", "c")
RECORD = [f"{p}.{port}" for p in POOLS for port in ("spikes", "v")]


def three_pools(dtype: str = "float32", c_params=None):
    """Three LIF pools of one group (sizes 40, 30, 50): a driven by Poisson spikes and a
    current, b by spikes on syn and jump, c by a's spikes."""
    lif = {"tau_m": 20.0, "v_th": -50.0, "t_ref": 2.0, "v_init": "uniform"}
    proj = {"connectivity": "fixed_probability"}
    nodes = [
        {"id": "src", "type": "poisson_source", "params": {"size": 60, "rate": 150.0}},
        {"id": "drive", "type": "current_source",
         "params": {"size": 40, "amplitude": 12.0, "heterogeneity": 4.0}},
        {"id": "a", "type": "lif", "params": {"size": 40, **lif}},
        {"id": "b", "type": "lif", "params": {"size": 30, **lif}},
        {"id": "c", "type": "lif", "params": {"size": 50, **lif, **(c_params or {})}},
        {"id": "in_a", "type": "projection", "params": {**proj, "p": 0.3, "weight": 1.5}},
        {"id": "in_b", "type": "projection", "params": {**proj, "p": 0.3, "weight": 2.0}},
        {"id": "jb", "type": "projection", "params": {**proj, "p": 0.3, "weight": 2.5}},
        {"id": "ac", "type": "projection", "params": {**proj, "p": 0.5, "weight": 8.0}},
    ]
    edges = [("src.spikes", "in_a.pre"), ("in_a.events", "a.syn"), ("src.spikes", "in_b.pre"),
             ("in_b.events", "b.syn"), ("src.spikes", "jb.pre"), ("jb.events", "b.jump"),
             ("drive.current", "a.current"), ("a.spikes", "ac.pre"), ("ac.events", "c.syn")]
    return engine.loads(json.dumps({
        "format": "spark-graph", "version": 2,
        "settings": {"dt": 0.1, "seed": 5, "dtype": dtype}, "nodes": nodes,
        "edges": [{"from": x, "to": y} for x, y in edges]}))


def run(graph, fuse: bool, edits=(), steps=(400, 1200)):
    """Spikes and v of every pool over ``steps[0]`` steps, then ``edits`` (set_param
    arguments), then ``steps[1]`` more."""
    sim = engine.Simulation(graph, record=RECORD, fuse=fuse)
    first = sim.advance(steps[0], chunk=200)
    for edit in edits:
        sim.set_param(*edit)
    second = sim.advance(steps[1], chunk=400)
    return sim, {k: np.concatenate([first[k], second[k]]) for k in RECORD}


def assert_same(a: dict, b: dict) -> None:
    for k in RECORD:
        assert np.array_equal(a[k], b[k]), k


def test_pools_sharing_every_value_keep_each_as_one_scalar():
    """All six LIF parameters are shared when the pools agree; a pool with its own tau_m takes
    tau_m out of the shared set (it stays per neuron) and leaves the rest."""
    sim = engine.Simulation(three_pools())
    (gid,) = [g for g in sim.model.groups if g.endswith("_lif")]
    shared = uniform_group_params(sim.model, sim.params)
    assert {name for g, name in shared if g == gid} == LIF_NAMES
    rt = sim.model.runtime_params(sim.params, shared)[gid]
    assert all(np.shape(rt[name]) == () for name in LIF_NAMES)
    assert np.shape(sim.model.runtime_params(sim.params)[gid]["tau_m"]) == (120,)

    other = engine.Simulation(three_pools(c_params={"tau_m": 10.0}))
    shared = uniform_group_params(other.model, other.params)
    assert {name for g, name in shared if g == gid} == LIF_NAMES - {"tau_m"}
    rt = other.model.runtime_params(other.params, shared)[gid]
    assert np.array_equal(rt["tau_m"], np.repeat(np.float32([20, 20, 10]), [40, 30, 50]))


@pytest.mark.parametrize("native_lif", ["1", "0"])
@pytest.mark.parametrize("edits", [
    [],
    [("b", "v_th", -53.0)],                            # one member departs: per neuron from here
    [("c", "tau_m", 10.0), ("a", "t_ref", 0.15)],      # prepared values (e_m, n_ref) too
    [("b", "v_th", -50.0)],                            # the value all share: nothing changes
    [("a", "v_reset", -70.0), ("b", "v_reset", -70.0), ("c", "v_reset", -70.0)],
], ids=["none", "one-member", "two-params", "same-value", "every-member"])
def test_set_param_on_a_shared_value_gives_the_unfused_spikes(monkeypatch, native_lif, edits):
    """The grouped run with shared scalars, edited mid-run, equals the unfused run with the same
    edits: spikes and v of every pool, bit for bit, with the native LIF step and with XLA's."""
    monkeypatch.setenv("SPARK_NATIVE_LIF", native_lif)
    g = three_pools()
    sim, grouped = run(g, True, edits)
    _, plain = run(g, False, edits)
    assert sim.model.groups and all(grouped[f"{p}.spikes"].sum() > 20 for p in POOLS)
    assert_same(grouped, plain)
    for node, name, value in edits:
        assert sim.params[node][name] == np.float32(value)


def test_an_edit_changes_only_its_member():
    """A departing member changes its own pool's spikes and leaves the others' as they were
    (the unedited run as the reference)."""
    g = three_pools()
    _, before = run(g, True)
    _, after = run(g, True, [("b", "v_th", -53.0)])
    assert after["b.spikes"][400:].sum() > before["b.spikes"][400:].sum()
    assert np.array_equal(after["a.spikes"], before["a.spikes"])
    assert np.array_equal(after["b.spikes"][:400], before["b.spikes"][:400])


def test_restoring_parameters_where_the_members_differ_unshares_them():
    """A snapshot taken after one member departed, restored into a fresh simulation whose
    members still share the value, runs on as the edited one does."""
    g = three_pools()
    edited = engine.Simulation(g, record=RECORD)
    edited.advance(300, chunk=300)
    edited.set_param("c", "tau_syn", 2.0)
    snap = edited.snapshot()
    fresh = engine.Simulation(g, record=RECORD)
    fresh.restore(snap)
    a, b = edited.advance(800, chunk=400), fresh.advance(800, chunk=400)
    assert_same(a, b)
    assert fresh.params["c"]["tau_syn"] == np.float32(2.0)
    assert fresh.params["a"]["tau_syn"] == np.float32(5.0)


def test_assigning_a_parameter_tree_where_the_members_differ_unshares_them():
    """``sim.params = tree`` with one member's value changed runs as set_param does."""
    g = three_pools()
    by_set, by_tree = (engine.Simulation(g, record=RECORD) for _ in range(2))
    by_set.set_param("b", "tau_m", 12.0)
    tree = {n: dict(v) for n, v in by_tree.params.items()}
    tree["b"]["tau_m"] = np.float32(12.0)
    by_tree.params = tree
    assert_same(by_set.advance(800, chunk=400), by_tree.advance(800, chunk=400))


def test_a_value_that_differs_only_in_sign_of_zero_is_not_shared():
    """Members holding 0.0 and -0.0 are different values (bit for bit): not shared."""
    g = three_pools()
    g.nodes["a"].params["t_ref"] = 0.0
    g.nodes["b"].params["t_ref"] = -0.0
    g.nodes["c"].params["t_ref"] = 0.0
    sim = engine.Simulation(g)
    assert ("__group0_lif", "t_ref") not in uniform_group_params(sim.model, sim.params)
    g.nodes["b"].params["t_ref"] = 0.0
    sim = engine.Simulation(g)
    (gid,) = sim.model.groups
    assert (gid, "t_ref") in uniform_group_params(sim.model, sim.params)


@pytest.fixture
def kernels(monkeypatch):
    monkeypatch.delenv("SPARK_NATIVE", raising=False)
    if not (os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")):
        pytest.skip("no C++ compiler on this machine: the engine uses its XLA loops")
    assert native.available(), native.status()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_kernels_shared_loop_equals_its_per_neuron_loop_and_xla(kernels, monkeypatch, dtype):
    """2,000 neurons in random states (several blocks and a tail), every case of refractoriness:
    parameters given as scalars (the shared loop) and as vectors of the same values (the
    per-neuron loop) give the same v, I_syn, since and spikes as XLA's LIF.step (compiled: its
    multiply-adds fused as in a chunk)."""
    f = np.dtype(dtype)
    rng = np.random.default_rng(7)
    n = 2000
    state = {"v": rng.uniform(-70, -48, n).astype(f), "I_syn": rng.uniform(0, 8, n).astype(f),
             "since": rng.choice([0, 1, 2, 5, 19, 20, 21, 1 << 30], n).astype(np.int32)}
    inputs = {"current": rng.uniform(0, 20, n).astype(f), "syn": rng.uniform(0, 3, n).astype(f),
              "jump": rng.uniform(0, 4, n).astype(f)}
    comp = LIF({"size": n, "v_rest": -65.0, "v_reset": -68.0, "v_th": -50.0, "tau_m": 20.0,
                "t_ref": 2.0, "tau_syn": 5.0, "v_init": "rest"}, {}, 0.1, f)
    with precision(dtype == "float64"):
        base = {k: jnp.asarray(comp.config[k], f) for k in comp.live_params()}
        p = {**base, **comp.prepare(base)}
        vec = {k: jnp.broadcast_to(v, (n,)) for k, v in p.items()}
        s = {k: jnp.asarray(v) for k, v in state.items()}
        x = {k: jnp.asarray(v) for k, v in inputs.items()}
        shared = [np.asarray(a) for a in native.lif_step(dict(s), x, p)]
        per_neuron = [np.asarray(a) for a in native.lif_step(dict(s), x, vec)]
        monkeypatch.setenv("SPARK_NATIVE_LIF", "0")  # compiled, as XLA fuses it in a chunk
        ns, outs = jax.jit(lambda p, s, x: comp.step(p, s, x, None))(p, dict(s), x)
        xla = [np.asarray(ns["v"]), np.asarray(ns["I_syn"]), np.asarray(ns["since"]),
               np.asarray(outs["spikes"])]
    assert 0 < shared[3].sum() < n
    for a, b, c in zip(shared, per_neuron, xla):
        assert a.dtype == c.dtype
        assert np.array_equal(a, b) and np.array_equal(a, c)
