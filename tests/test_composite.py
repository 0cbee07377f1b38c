"""Composite components (engine part): making, unpacking, nesting, validation, flattening, runs."""
import numpy as np
import pytest

from spark_snn import engine
from tests.conftest import ei_graph, graph_of, overflow_graph
from spark_snn.engine import Graph, Node, Simulation, SimulationError, StructuralEdit
from spark_snn.engine.composite import (BoundaryPort, CompositeError, Definition, Promoted,
                              analyze_definition, flatten, infer_boundary, instantiate,
                              make_component, merge_definitions, node_type, types_by_category,
                              unpack, update_definition, used_definitions)
from spark_snn.engine.graph import Edge
from spark_snn.engine.problems import GraphError

COLUMN = ["exc", "inh", "ee", "ei", "ie"]


def spikes(graph, names, steps=1500):
    return Simulation(graph, record=names, chunk=250).advance(steps)


def column_of_ei():
    """ei_graph with its E-I core made into the component 'column' (drive stays outside)."""
    return make_component(ei_graph(), COLUMN, "column",
                          promoted=[Promoted("tau", ["exc.tau_m", "inh.tau_m"], None)])


# --- make_component ------------------------------------------------------------------------------
def test_make_component_keeps_spikes_and_connections_exactly():
    g = ei_graph()
    g2, d = column_of_ei()
    assert g == ei_graph()  # the input graph is untouched
    assert list(g2.nodes) == ["drive", "column"]
    assert g2.nodes["column"].seed_id == "" and g2.nodes["column"].params == {}
    assert g2.edges == [Edge("drive.current", "column.current")]
    assert [(p.name, p.targets) for p in d.inputs] == [("current", ["exc.current"])]
    assert d.outputs == [] and list(d.nodes) == COLUMN
    assert d.promoted("tau").default == 20.0  # the current value (the lif default)
    before = spikes(g, ["exc.spikes", "inh.spikes", "inh.v"])
    after = spikes(g2, ["column.exc.spikes", "column.inh.spikes", "column.inh.v"])
    assert before["exc.spikes"].sum() > 50 and before["inh.spikes"].sum() > 5
    for name in before:
        assert np.array_equal(before[name], after["column." + name])


def test_seed_scope_is_what_keeps_the_random_numbers():
    g2, _ = column_of_ei()
    g2.nodes["column"].seed_id = None  # draw under "column.exc" instead of "exc"
    before = spikes(ei_graph(), ["exc.spikes"])["exc.spikes"]
    after = spikes(g2, ["column.exc.spikes"])["column.exc.spikes"]
    assert not np.array_equal(before, after)


def test_boundary_inference_merges_shared_sources_and_names_ports():
    g = graph_of(("src", "poisson_source", {"size": 5}),
                 ("p1", "projection", {}), ("p2", "projection", {}),
                 ("a", "lif", {"size": 5}), ("b", "lif", {"size": 5}),
                 ("ra", "rate_readout", {}), ("m", "spike_merge", {"size_a": 5, "size_b": 5}),
                 edges=[("src.spikes", "p1.pre"), ("src.spikes", "p2.pre"),
                        ("p1.events", "a.syn"), ("p2.events", "b.syn"),
                        ("a.spikes", "ra.spikes"), ("b.spikes", "m.b"),
                        ("a.spikes", "m.a")])
    ins, outs = infer_boundary(g, ["p1", "p2", "a", "b"])
    assert [(p.name, p.targets) for p in ins] == [("pre", ["p1.pre", "p2.pre"])]
    assert [(p.name, p.targets) for p in outs] == [("a_spikes", ["a.spikes"]),
                                                   ("b_spikes", ["b.spikes"])]
    g2, d = make_component(g, ["p1", "p2", "a", "b"], "twin",
                           port_names={"pre": "input", "out:a_spikes": "left"})
    assert [p.name for p in d.inputs] == ["input"] and [p.name for p in d.outputs] == [
        "left", "b_spikes"]
    assert g2.edges == [Edge("src.spikes", "twin.input"), Edge("twin.left", "ra.spikes"),
                        Edge("twin.b_spikes", "m.b"), Edge("twin.left", "m.a")]
    assert engine.validate(g2) == []


@pytest.mark.parametrize("kwargs, match", [
    (dict(type_name="lif"), "already exists"),
    (dict(type_name="2col"), "not a valid name"),
    (dict(promoted=[Promoted("x", ["drive.amplitude"], None)]), "not in the selection"),
    (dict(promoted=[Promoted("x", ["exc.tau"], None)]), "has no parameter 'tau'"),
    (dict(promoted=[Promoted("x", ["exc.size", "inh.size"], None)]), "differ now"),
    (dict(promoted=[Promoted("x", ["exc.tau_m", "exc.v_init"], None)]), "different kinds"),
    (dict(port_names={"current": "a b"}), "not a valid name"),
    (dict(node_ids=[]), "at least one node"),
    (dict(node_ids=["nope"]), "no node 'nope'"),
])
def test_make_component_refuses_with_the_reason(kwargs, match):
    args = dict(node_ids=COLUMN, type_name="column")
    args.update(kwargs)
    with pytest.raises(CompositeError, match=match):
        make_component(ei_graph(), args.pop("node_ids"), args.pop("type_name"), **args)


# --- unpack ----------------------------------------------------------------------------------------
def test_unpack_gives_back_the_nodes_and_the_spikes():
    g2, _ = column_of_ei()
    g3 = unpack(g2, "column")
    orig = ei_graph()
    assert list(g3.nodes) == list(orig.nodes)
    assert all(g3.nodes[n].params == orig.nodes[n].params and g3.nodes[n].seed_id is None
               for n in orig.nodes)
    assert set(g3.edges) == set(orig.edges)
    assert np.array_equal(spikes(orig, ["exc.spikes"])["exc.spikes"],
                          spikes(g3, ["exc.spikes"])["exc.spikes"])


def test_unpack_of_a_placed_instance_keeps_its_draws_and_overrides():
    g2, _ = column_of_ei()
    g2.nodes["column"].seed_id = None
    g2.nodes["column"].params["tau"] = 15.0
    g2.add_node(Node("exc", "lif", {"size": 3}))  # takes the inner id "exc"
    g2.add_node(Node("d3", "current_source", {"size": 3, "amplitude": 20.0}))
    g2.connect("d3.current", "exc.current")
    g3 = unpack(g2, "column")
    assert g3.nodes["column_exc"].seed_id == "column.exc"
    assert g3.nodes["inh"].seed_id == "column.inh"
    assert g3.nodes["column_exc"].params["tau_m"] == 15.0 == g3.nodes["inh"].params["tau_m"]
    assert engine.validate(g3) == []
    a = spikes(g2, ["column.exc.spikes", "column.inh.spikes"])
    b = spikes(g3, ["column_exc.spikes", "inh.spikes"])
    assert np.array_equal(a["column.exc.spikes"], b["column_exc.spikes"])
    assert np.array_equal(a["column.inh.spikes"], b["inh.spikes"])


# --- nesting, promoted chains, cycles ---------------------------------------------------------------
def nested_graph():
    """Three levels: 'top' holds 'mid' holds two 'cell's; promoted parameters chained."""
    cell = Definition("cell", nodes={"drive": Node("drive", "current_source",
                                                   {"size": 4, "amplitude": 20.0}),
                                     "pool": Node("pool", "lif", {"size": 4})},
                      edges=[Edge("drive.current", "pool.current")],
                      outputs=[BoundaryPort("spikes", ["pool.spikes"])],
                      params=[Promoted("amp", ["drive.amplitude"], 20.0, min=0.0, max=40.0)])
    mid = Definition("mid", nodes={"c1": Node("c1", "cell", {}), "c2": Node("c2", "cell",
                                                                          {"amp": 18.0})},
                     outputs=[BoundaryPort("first", ["c1.spikes"])],
                     params=[Promoted("amp1", ["c1.amp"], 22.0)])
    top = Definition("top", nodes={"m": Node("m", "mid", {})},
                     outputs=[BoundaryPort("out", ["m.first"])],
                     params=[Promoted("gain", ["m.amp1"], 25.0)])
    g = Graph(definitions={"cell": cell, "mid": mid, "top": top})
    g.add_node(Node("t", "top", {"gain": 30.0}))
    g.add_node(Node("r", "rate_readout", {}))
    g.connect("t.out", "r.spikes")
    return g


def test_three_levels_flatten_to_dotted_ids_with_promoted_values():
    g = nested_graph()
    assert engine.validate(g) == []
    f = flatten(g)
    assert list(f.nodes) == ["t.m.c1.drive", "t.m.c1.pool", "t.m.c2.drive", "t.m.c2.pool", "r"]
    assert f.nodes["t.m.c1.drive"].params["amplitude"] == 30.0  # top's override, two levels down
    assert f.nodes["t.m.c2.drive"].params["amplitude"] == 18.0  # mid's own value for c2
    assert Edge("t.m.c1.pool.spikes", "r.spikes") in f.edges
    assert not f.definitions
    flat = engine.analyze(g).flat
    assert flat.port("t.out") == "t.m.c1.pool.spikes" == flat.port("t.m.first")
    assert flat.port("r.rate") == "r.rate"
    sim = Simulation(g, record=[flat.port("t.out")], watch=["t.m.c2.pool.v"])
    assert sim.advance(300)["t.m.c1.pool.spikes"].shape == (300, 4)
    assert sim.output("t.m.c2.pool.v").shape == (4,)


def test_a_definition_containing_itself_is_refused_with_the_cycle():
    g = nested_graph()
    cell = g.definitions["cell"].copy()
    cell.nodes["loop"] = Node("loop", "top", {})
    with pytest.raises(CompositeError, match=r"cell -> top -> mid -> cell"):
        update_definition(g, cell)
    g.definitions["cell"] = cell  # as a hand-edited file would have it
    probs = engine.validate(g)
    assert any("contains itself" in p.message and "-> cell" in p.message for p in probs)
    with pytest.raises(GraphError, match="contains itself"):
        flatten(g)


# --- validation -------------------------------------------------------------------------------------
def test_validation_lists_every_composite_problem_where_it_is():
    g = nested_graph()
    cell = g.definitions["cell"]
    cell.nodes["pool"].params["v_reset"] = -40.0  # above v_th: a problem inside "cell"
    cell.params.append(Promoted("ghost", ["drive.tau"], 1.0))  # names no inner parameter
    cell.inputs.append(BoundaryPort("in", ["pool.syn", "pool.current"]))  # two kinds
    g.nodes["t"].params["gain"] = 99.0   # beyond cell's amp range [0, 40], two levels down
    g.nodes["t"].params["gian"] = 1.0    # no such promoted parameter
    g.add_node(Node("u", "mdi", {}))     # unknown type
    g.add_node(Node("big", "poisson_source", {"size": 7}))
    g.add_node(Node("x", "mid", {}))
    g.connect("big.spikes", "r.spikes")  # a second edge into a single-edge port
    g.connect("x.first", "big.spikes")  # an output into an output
    probs = engine.validate(g)
    text = "\n".join(map(str, probs))

    def has(**where):
        hits = [p for p in probs if all(getattr(p, k) == v for k, v in where.items())]
        assert hits, f"nothing at {where} in:\n{text}"
        return hits[0]

    assert "v_reset" in has(definition="cell", node="pool", param="v_reset").message
    assert "has no parameter 'tau'" in has(definition="cell", param="ghost").message
    assert "different kinds" in has(definition="cell", port="in").message
    assert "out of range" in has(definition=None, node="t", param="gain").message
    assert "unknown parameter 'gian'" in has(definition=None, node="t", param="gian").message
    assert "unknown node type 'mdi'; did you mean 'mid'" in has(node="u").message
    assert "takes a single edge" in has(node="r", port="spikes").message
    assert str(has(definition="cell", node="pool", param="v_reset")).startswith(
        "component 'cell', node 'pool', parameter 'v_reset'")
    assert len(probs) == len(set(probs))


def test_boundary_kind_and_size_mismatches_name_the_instance_port():
    g = nested_graph()
    g.definitions["cell"].inputs.append(BoundaryPort("in", ["pool.syn"]))
    g.add_node(Node("src", "poisson_source", {"size": 9}))
    g.add_node(Node("c", "cell", {}))
    g.add_node(Node("d", "cell", {}))
    g.add_node(Node("proj", "projection", {"connectivity": "one_to_one"}))
    g.connect("src.spikes", "c.in")           # spikes into events
    g.connect("src.spikes", "proj.pre")
    g.connect("proj.events", "d.in")          # 9 values into 4 (one_to_one keeps 9)
    probs = engine.validate(g)
    kind = [p for p in probs if p.node == "c" and p.port == "in"]
    assert kind and "incompatible signals" in kind[0].message and kind[0].definition is None
    assert any(p.node in ("d", "proj") and ("size" in p.message or "one_to_one" in p.message)
               for p in probs), probs


def test_instances_are_typed_like_components():
    g = nested_graph()
    t = node_type(g, "cell")
    assert t.category == "Composites" and t.title == "cell"
    amp = t.param("amp")
    assert (amp.kind, amp.unit, amp.min, amp.max, amp.default) == ("float", "mV", 0.0, 40.0, 20.0)
    ins, outs = t.ports({})
    assert ins == [] and [(p.name, p.kind, p.size) for p in outs] == [("spikes", "spikes", 4)]
    a = engine.analyze(g)
    assert a.nodes["t"].outputs["out"].kind == "spikes"
    assert a.nodes["t"].config == {"gain": 30.0}


# --- editing API ------------------------------------------------------------------------------------
def test_update_definition_carries_renames_to_every_instance():
    g = nested_graph()
    cell = g.definitions["cell"].copy()
    cell.outputs[0].name = "s"
    cell.params[0].name = "strength"
    g2 = update_definition(g, cell, port_renames={"spikes": "s"},
                           param_renames={"amp": "strength"})
    mid = g2.definitions["mid"]
    assert mid.nodes["c2"].params == {"strength": 18.0}
    assert mid.outputs[0].targets == ["c1.s"] and mid.params[0].drives == ["c1.strength"]
    assert engine.validate(g2) == []
    assert g.definitions["cell"].outputs[0].name == "spikes"  # input untouched
    g3 = update_definition(g2, Definition("cell2", nodes=dict(cell.nodes), edges=cell.edges,
                                          outputs=cell.outputs, params=cell.params),
                           renamed_from="cell")
    assert "cell" not in g3.definitions and g3.definitions["mid"].nodes["c1"].type == "cell2"
    assert engine.validate(g3) == []


def test_instantiate_merge_and_clipboard_definitions():
    g = nested_graph()
    g2, nid = instantiate(g, "mid", (10, 20))
    assert nid == "mid" and g2.nodes[nid].params == {} and "mid" not in g.nodes
    assert list(used_definitions(g2, node_ids=[nid])) == ["mid", "cell"]
    other, conflicts = merge_definitions(Graph(), used_definitions(g2, node_ids=[nid]))
    assert conflicts == [] and set(other.definitions) == {"mid", "cell"}
    changed = g.definitions["cell"].copy()
    changed.description = "else"
    _, conflicts = merge_definitions(g, [changed])
    assert conflicts == ["cell"]
    with pytest.raises(CompositeError, match="unknown node type"):
        instantiate(g, "nothing")


# --- simulation -------------------------------------------------------------------------------------
def test_promoted_parameters_are_live_and_inner_ones_dotted():
    g = nested_graph()
    sim = Simulation(g, record=["t.m.c1.pool.spikes"])
    ref = Simulation(g, record=["t.m.c1.pool.spikes"])
    sim.set_param("t", "gain", 35.0)             # promoted, through two levels
    ref.set_param("t.m.c1.drive", "amplitude", 35.0)  # the inner parameter itself
    assert np.array_equal(sim.advance(400)["t.m.c1.pool.spikes"],
                          ref.advance(400)["t.m.c1.pool.spikes"])
    assert float(sim.params["t.m.c1.drive"]["amplitude"]) == 35.0
    with pytest.raises(GraphError, match="out of range"):
        sim.set_param("t.m.c1", "amp", 50.0)
    with pytest.raises(GraphError, match="unknown parameter"):
        sim.set_param("t", "nope", 1.0)
    sized = nested_graph()
    sized.definitions["cell"].params.append(Promoted("n", ["pool.size", "drive.size"], 4))
    with pytest.raises(StructuralEdit, match="rebuilds"):
        Simulation(sized).set_param("t.m.c1", "n", 5)


def test_a_nan_inside_a_component_names_its_dotted_path():
    g2, _ = make_component(overflow_graph(), ["a", "b", "p"], "blk")
    g3, _ = make_component(g2, ["src", "blk"], "outer")
    with pytest.raises(SimulationError) as err:
        Simulation(g3, chunk=500).advance(2000)
    assert err.value.node == "outer.blk.b" and "node 'outer.blk.b'" in str(err.value)


def test_hostile_nesting_is_reported_not_crashed():
    deep = [Definition(f"d{i}", nodes={"n": Node("n", f"d{i + 1}" if i < 199 else "lif", {})})
            for i in range(200)]   # 200 levels: past Python's recursion comfort without a limit
    wide = [Definition(f"e{i}", nodes={f"k{j}": Node(f"k{j}", f"e{i + 1}" if i < 7 else "lif", {})
                                       for j in range(10)}) for i in range(8)]  # 10**8 nodes
    for defs, top in ((deep, "d0"), (wide, "e0")):
        g = Graph(definitions={d.type_name: d for d in defs})
        g.add_node(Node("x", top, {}))
        probs = engine.validate(g)
        assert [(p.node, p.definition) for p in probs] == [("x", None)]
        assert "nests components more than" in probs[0].message
        with pytest.raises(GraphError):
            flatten(g)


def test_a_definition_checked_on_its_own_for_its_tab():
    g = nested_graph()
    g.definitions["cell"].inputs.append(BoundaryPort("in", ["pool.syn"]))  # fed from outside
    assert analyze_definition(g, "cell") == []
    g.definitions["mid"].nodes["c2"].params["amp"] = -1.0  # (c1.amp is driven by amp1)
    g.definitions["mid"].nodes["bad"] = Node("bad", "lif", {"tau_m": -3.0})
    probs = analyze_definition(g, "mid")
    assert {(p.definition, p.node, p.param) for p in probs} == {("mid", "c2", "amp"),
                                                                 ("mid", "bad", "tau_m")}
    palette = types_by_category(g)
    assert [t.type_name for t in palette["Composites"]] == ["cell", "mid", "top"]
    assert any(t.type_name == "lif" for t in palette["Neurons"])
