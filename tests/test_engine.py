"""Compiler and Simulation: determinism, chunking, live edits, precision and failures."""
import numpy as np
import pytest

from spark_snn import engine
from spark_snn.components.base import Param
from spark_snn.components.current_source import CurrentSource
from spark_snn.engine import Graph, GraphError, Node, Simulation, SimulationError, StructuralEdit
from spark_snn.engine.schedule import order_nodes
from tests.conftest import ei_graph, overflow_graph


def spikes(graph, steps=600, chunk=100, **kw):
    sim = Simulation(graph, record=["exc.spikes", "inh.spikes"], **kw)
    rec = sim.advance(steps, chunk=chunk)
    return rec["exc.spikes"], rec["inh.spikes"]


def test_same_seed_is_bit_identical_and_seed_matters():
    a = spikes(ei_graph(seed=5))
    b = spikes(ei_graph(seed=5))
    c = spikes(ei_graph(seed=6))
    assert a[0].sum() > 20 and a[1].sum() > 5  # the network is active
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_results_do_not_depend_on_chunk_size():
    g = ei_graph()
    ref = spikes(g, 600, 600)
    for k in (1, 7, 100):
        got = spikes(g, 600, k)
        assert np.array_equal(ref[0], got[0]) and np.array_equal(ref[1], got[1]), k


def test_fused_and_unfused_projections_agree():
    g = ei_graph()
    sim = Simulation(g, chunk=50)
    assert list(sim.model.fused.values()) == [["ee", "ei", "ie"]]
    a = spikes(g, fuse=True)
    b = spikes(g, fuse=False)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_live_parameter_edit_needs_no_recompilation():
    sim = Simulation(ei_graph(amplitude=16.0), record=["exc.spikes"], chunk=200)
    before = sim.advance(400)["exc.spikes"].sum()
    fn, _ = sim._chunk_fn(200)
    assert fn._cache_size() == 1
    sim.set_param("drive", "amplitude", 40.0)
    after = sim.advance(400)["exc.spikes"].sum()
    assert fn._cache_size() == 1  # the same compiled program ran with the new value
    assert after > 2 * before
    assert sim.graph.nodes["drive"].params["amplitude"] == 40.0


def test_set_param_errors_name_node_and_parameter():
    sim = Simulation(ei_graph(), chunk=10)
    with pytest.raises(StructuralEdit, match="'size'"):
        sim.set_param("exc", "size", 3)
    with pytest.raises(GraphError) as ei:
        sim.set_param("exc", "tau_m", -2.0)
    assert (ei.value.problems[0].node, ei.value.problems[0].param) == ("exc", "tau_m")
    with pytest.raises(GraphError, match="unknown parameter"):
        sim.set_param("exc", "tau", 3.0)
    with pytest.raises(GraphError, match="no such node"):
        sim.set_param("nope", "tau_m", 3.0)


def test_reset_returns_to_the_initial_state():
    sim = Simulation(ei_graph(), record=["exc.spikes"], chunk=100)
    a = sim.advance(300)["exc.spikes"]
    assert sim.t == 300 and sim.time_ms == pytest.approx(30.0)
    sim.reset()
    assert sim.t == 0
    assert np.array_equal(sim.advance(300)["exc.spikes"], a)


def test_float64_on_request():
    sim = Simulation(ei_graph(), dtype="float64", record=["exc.v"], chunk=50)
    assert sim.advance(100)["exc.v"].dtype == np.float64
    sim32 = Simulation(ei_graph(), record=["exc.v"], chunk=50)
    v32 = sim32.advance(100)["exc.v"]
    assert v32.dtype == np.float32
    np.testing.assert_allclose(v32, sim.advance(0)["exc.v"] if False else
                               Simulation(ei_graph(), dtype="float64", record=["exc.v"])
                               .advance(100)["exc.v"], atol=1e-3)


def test_spike_totals_match_recorded_spikes():
    sim = Simulation(ei_graph(), record=["exc.spikes"], count=["exc.spikes"], chunk=64)
    rec = sim.advance(500)["exc.spikes"]
    assert np.array_equal(sim.totals["exc.spikes"], rec.sum(axis=0))


def test_nan_or_inf_stops_with_node_variable_and_step():
    g = overflow_graph()
    sim = Simulation(g, record=["a.spikes"], chunk=500)
    with pytest.raises(SimulationError) as ei:
        sim.advance(2000)
    first_spike = int(np.argmax(Simulation(g, record=["a.spikes"], check_finite=False)
                                .advance(2000)["a.spikes"]
                                .any(axis=1)))
    err = ei.value
    assert err.node == "b" and err.variable == "I_syn"
    assert err.step == first_spike + 1  # delivered one step after the spike
    assert f"step {first_spike + 1}" in str(err)
    assert sim.t == 0  # the failed chunk was not committed


def test_a_component_that_raises_is_named():
    class Raising(CurrentSource):
        type_name = "raising_test"

        def step(self, p, s, inputs, ctx):
            raise ZeroDivisionError("bad maths")

    class WrongShape(CurrentSource):
        type_name = "wrong_shape_test"

        def step(self, p, s, inputs, ctx):
            return s, {"current": p["amplitude"] * np.ones(3, np.float32)}

    reg = engine.registry()
    reg.add(Raising, "test")
    reg.add(WrongShape, "test")
    try:
        for typ, fragment in [("raising_test", "step failed: ZeroDivisionError: bad maths"),
                              ("wrong_shape_test", "expected (5,)")]:
            g = Graph()
            g.add_node(Node("bad", typ, {"size": 5}))
            g.add_node(Node("a", "lif", {"size": 5}))
            g.connect("bad.current", "a.current")
            with pytest.raises(GraphError) as ei:
                Simulation(g).advance(10)
            assert ei.value.problems[0].node == "bad"
            assert fragment in str(ei.value)
    finally:
        reg.types.pop("raising_test")
        reg.types.pop("wrong_shape_test")


def test_invalid_graph_does_not_compile():
    g = ei_graph()
    g.nodes["exc"].params["tau_m"] = -1.0
    with pytest.raises(GraphError) as ei:
        Simulation(g)
    assert ei.value.problems[0].param == "tau_m"


def test_schedule_orders_and_breaks_cycles_at_the_earliest_node():
    ids = ["a", "b", "c", "proj"]
    order, delayed = order_nodes(ids, {"proj"}, [("b", "a"), ("a", "c"), ("c", "b"),
                                                 ("proj", "a"), ("a", "proj")])
    # a waits for b, b for c, c for a: the cycle is broken at 'a' (first in file order)
    assert order == ["a", "c", "b"] and delayed == {("b", "a")}
    order, delayed = order_nodes(["x", "y"], set(), [("y", "x")])
    assert order == ["y", "x"] and delayed == set()


def test_host_input_is_set_between_chunks():
    g = Graph()
    g.add_node(Node("h", "host_input", {"size": 3}))
    g.add_node(Node("a", "lif", {"size": 3}))
    g.connect("h.out", "a.current")
    sim = Simulation(g, record=["a.v"], chunk=10)
    assert np.allclose(sim.advance(10)["a.v"], -65.0)
    sim.set_input("h", [0.0, 10.0, 1000.0])
    v = sim.advance(10)["a.v"]
    # exact step from rest with a constant 10 mV drive: v = -65 + 10 (1 - exp(-dt/tau_m))
    assert v[0, 0] == -65.0 and v[0, 1] == pytest.approx(-65.0 + 10.0 * -np.expm1(-0.1 / 20.0))
    assert v[:, 2].max() > -50 or v[:, 2].min() == -65.0  # driven past threshold and reset
    with pytest.raises(GraphError, match="expected shape"):
        sim.set_input("h", [1.0, 2.0])


def test_unknown_probe_is_refused():
    with pytest.raises(GraphError, match="no output port 'spike'"):
        Simulation(ei_graph(), record=["exc.spike"]).advance(1)


def test_param_declaration_rules():
    assert Param("x", "float").live and not Param("x", "float", structural=True).live
    assert not Param("n", "int").live
    with pytest.raises(ValueError):
        Param("x", "complex")


# --- grouping of equal elementwise nodes ----------------------------------------------------------
def group_graph():
    """Three LIF pools of different sizes and live parameters (one group), one that differs in a
    structural setting (v_init: kept apart), two current sources (one group), recurrent
    projections between them."""
    g = Graph(settings={"dt": 0.1, "seed": 11, "dtype": "float32"})
    g.add_node(Node("d1", "current_source", {"size": 30, "amplitude": 18.0, "heterogeneity": 3.0}))
    g.add_node(Node("d2", "current_source", {"size": 20, "amplitude": 22.0, "heterogeneity": 3.0}))
    for nid, n, tau in (("a", 30, 20.0), ("b", 20, 12.0), ("c", 25, 30.0)):
        g.add_node(Node(nid, "lif", {"size": n, "tau_m": tau, "v_init": "uniform"}))
    g.add_node(Node("r", "lif", {"size": 15}))  # v_init = rest: another structural setting
    g.connect("d1.current", "a.current")
    g.connect("d2.current", "b.current")
    for pid, src, dst, w in (("ac", "a", "c", 8.0), ("bc", "b", "c", 8.0), ("cb", "c", "b", 2.0),
                             ("cr", "c", "r", 15.0), ("ra", "r", "a", -3.0)):
        g.add_node(Node(pid, "projection", {"p": 0.3, "weight": abs(w), "propagation": "event",
                                            "sign": "excitatory" if w > 0 else "inhibitory"}))
        g.connect(f"{src}.spikes", f"{pid}.pre")
        g.connect(f"{pid}.events", f"{dst}.syn")
    return g


def test_equal_pools_run_as_one_group_with_identical_results():
    rec = ["a.spikes", "b.spikes", "c.spikes", "r.spikes", "b.v"]
    sim = Simulation(group_graph(), record=rec, chunk=50)
    ref = Simulation(group_graph(), record=rec, chunk=50, fuse=False)
    groups = {tuple(m for m, _, _ in mem) for mem in sim.model.groups.values()}
    assert groups == {("a", "b", "c"), ("d1", "d2")}
    assert "r" not in sim.model.group_of and not ref.model.groups
    x, y = sim.advance(300), ref.advance(300)
    for name in rec:  # bit-identical, including the membrane potentials
        assert np.array_equal(x[name], y[name]), name
    active = {n: x[n].sum() for n in rec[:4]}
    # a live edit of one member reaches only that member's neurons, as without grouping
    for s in (sim, ref):
        s.set_param("b", "tau_m", 5.0)
        s.set_param("d1", "amplitude", 25.0)
    x, y = sim.advance(300), ref.advance(300)
    for name in rec:
        assert np.array_equal(x[name], y[name]), name
    assert min(active[n] + x[n].sum() for n in active) > 5  # every pool was active
    # members' state reads (and writes) as if they ran alone
    for nid in ("a", "b", "c", "d1"):
        for k, v in ref.node_state(nid).items():
            assert np.array_equal(sim.node_state(nid)[k], v), (nid, k)
    st = sim.state
    st["nodes"]["b"] = {**st["nodes"]["b"], "v": np.full(20, -70.0, np.float32)}
    sim.state = st
    assert np.all(sim.node_state("b")["v"] == -70.0)
    assert np.array_equal(sim.node_state("c")["v"], ref.node_state("c")["v"])


def test_a_same_step_path_between_equal_pools_keeps_them_apart():
    class SpikesToCurrent(CurrentSource):  # non-latched: a -> conv -> b within one step
        type_name = "spikes_to_current_test"

        @classmethod
        def ports(cls, p):
            from spark_snn.components.base import CURRENT, SPIKES, Port
            return ([Port("spikes", SPIKES, p["size"])],
                    [Port("current", CURRENT, p["size"])])

        def step(self, p, s, inputs, ctx):
            return s, {"current": 4000.0 * inputs["spikes"]}

    reg = engine.registry()
    reg.add(SpikesToCurrent, "test")
    try:
        g = Graph(settings={"dt": 0.1, "seed": 2, "dtype": "float32"})
        g.add_node(Node("drive", "current_source", {"size": 10, "amplitude": 20.0,
                                                    "heterogeneity": 4.0}))
        g.add_node(Node("a", "lif", {"size": 10}))
        g.add_node(Node("conv", "spikes_to_current_test", {"size": 10}))
        g.add_node(Node("b", "lif", {"size": 10}))
        g.connect("drive.current", "a.current")
        g.connect("a.spikes", "conv.spikes")
        g.connect("conv.current", "b.current")
        sim = Simulation(g, record=["a.spikes", "b.spikes"])
        assert "a" not in sim.model.group_of and "b" not in sim.model.group_of
        x = sim.advance(400)
        y = Simulation(g, record=["a.spikes", "b.spikes"], fuse=False).advance(400)
        assert x["a.spikes"].sum() > 0
        # b spikes in the same step as a (the same-step path was kept)
        assert np.array_equal(x["b.spikes"], x["a.spikes"])
        assert np.array_equal(x["b.spikes"], y["b.spikes"])
    finally:
        reg.types.pop("spikes_to_current_test")


@pytest.mark.parametrize("large", [False, True])
def test_state_packer_keeps_every_leaf_bit_exact_and_flags_non_finite_floats(large):
    import jax
    with jax.enable_x64(True):  # the float64 leaf stays float64 (as in a float64 model)
        _packer_round_trip(large)


def _packer_round_trip(large: bool):
    import jax

    from spark_snn.engine.compiler import StatePacker
    rng = np.random.default_rng(3)
    tree = {"a": rng.normal(size=5).astype(np.float32),
            "b": {"c": rng.normal(size=(2, 3)), "d": np.array(-7, np.int32)},
            "e": np.array([True, False, True]), "f": np.array([1.5, -2.25], np.float16),
            "g": np.array([-3, 4], np.int8), "h": np.array([0x7F800000, 0xFFFFFFFF], np.uint32)}
    if large:  # leaves packed in place between runs of small ones (StatePacker.pack)
        tree.update({"big": rng.normal(size=(40, 75)).astype(np.float32),
                     "big64": rng.normal(size=1500), "bigi": rng.integers(-9, 9, 2048, np.int32),
                     "bigb": rng.random(1100) < 0.5, "z": np.array([2.5], np.float32)})
    p = StatePacker(tree)
    host = p.pack_host(tree)
    dev = jax.jit(p.pack)(tree)
    assert host.dtype == np.uint32 and np.array_equal(host, np.asarray(dev))
    for back in (p.unpack(host), jax.jit(p.unpack)(dev)):
        for x, y in zip(jax.tree_util.tree_leaves(tree), jax.tree_util.tree_leaves(back)):
            x, y = np.asarray(x), np.asarray(y)
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)
    # the uint32 leaf has an all-ones "exponent" yet is no float: still finite
    assert bool(jax.jit(p.all_finite)(dev))
    for path, bad in ((("a",), np.inf), (("b", "c"), np.nan)):
        off, n, w, d = p.slot(path)
        buf = host.copy()
        StatePacker.write(buf, off + w, 1, w, d, bad)  # the second element of that leaf
        assert not bool(jax.jit(p.all_finite)(buf))
        assert np.isnan(p.unpack(buf)["b"]["c"].ravel()[1]) if path == ("b", "c") \
            else p.unpack(buf)["a"][1] == np.inf


def test_set_input_and_set_param_reach_the_next_chunk_through_the_packed_buffers():
    g = Graph(settings={"dt": 0.1, "seed": 1})
    g.add_node(Node("inp", "host_input", {"size": 3, "kind": "value"}))
    g.add_node(Node("drive", "current_source", {"size": 2, "amplitude": 0.0}))
    sim = Simulation(g, watch=["inp.out", "drive.current"], chunk=5)
    sim.advance(5)
    assert np.array_equal(sim.output("inp.out"), [0, 0, 0])
    sim.set_input("inp", [1.0, -2.0, 3.5])
    sim.set_param("drive", "amplitude", 4.0)
    sim.advance(1)
    assert np.array_equal(sim.output("inp.out"), [1.0, -2.0, 3.5])
    assert np.array_equal(sim.output("drive.current"), [4.0, 4.0])
    sim.set_input("inp", [0.0, 0.0, 9.0])
    sim.advance(1)
    assert np.array_equal(sim.output("inp.out"), [0.0, 0.0, 9.0])
    assert np.array_equal(sim.output("drive.current"), [4.0, 4.0])


def test_state_packer_names_a_leaf_it_cannot_pack():
    from spark_snn.engine.compiler import StatePacker
    with pytest.raises(TypeError, match="nodes/n1/z: dtype complex64"):
        StatePacker({"nodes": {"n1": {"z": np.zeros(2, np.complex64)}}})
