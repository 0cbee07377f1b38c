"""Validation collects every problem at once and names node, parameter or port."""
import json
import sys
import types

import pytest

from spark_snn import engine
import importlib

registry_mod = importlib.import_module("spark_snn.engine.registry")


def problems_for(doc: dict):
    g = engine.loads(json.dumps(doc))
    return engine.validate(g)


def base_doc(nodes, edges=(), settings=None):
    return {"format": "spark-graph", "version": 1, "settings": settings or {"dt": 0.1},
            "nodes": nodes, "edges": [{"from": a, "to": b} for a, b in edges]}


def find(problems, **kw):
    hits = [p for p in problems if all(getattr(p, k) == v for k, v in kw.items())]
    assert hits, f"no problem with {kw} in {[str(p) for p in problems]}"
    return hits[0]


def test_all_problems_are_collected_at_once():
    doc = base_doc(
        nodes=[
            {"id": "a", "type": "lif", "params": {"size": 10, "tau_mm": 5.0}},
            {"id": "b", "type": "lfi", "params": {}},
            {"id": "c", "type": "lif", "params": {"size": "ten"}},
            {"id": "d", "type": "lif", "params": {"size": 10, "tau_m": -1.0}},
            {"id": "e", "type": "projection", "params": {"connectivity": "all2all"}},
            {"id": "a", "type": "lif", "params": {}},
            {"id": "h", "type": "host_input", "params": {"size": 3}},
        ],
        edges=[("a.spikes", "zz.pre"), ("a.spikes", "a.current"), ("a.spikes", "d.spiks"),
               ("h.out", "a.current")],
        settings={"dt": 0.1, "sed": 3},
    )
    probs = problems_for(doc)
    assert "tau_m" in find(probs, node="a", param="tau_mm").message      # misspelled, suggested
    assert "'lif'" in find(probs, node="b").message                        # unknown type, suggested
    assert "expected an integer" in find(probs, node="c", param="size").message
    assert "out of range" in find(probs, node="d", param="tau_m").message
    assert "'all_to_all'" in find(probs, node="e", param="connectivity").message
    assert "duplicate node id" in find(probs, node="a", param=None, port=None,
                                       message=[p.message for p in probs
                                                if "duplicate" in p.message][0]).message
    assert "no node 'zz'" in find(probs, node="zz").message
    assert "incompatible signals" in find(probs, node="a", port="current").message
    assert "'spikes'" in find(probs, node="d", port="spiks").message
    assert "size mismatch" in find(probs, node="a", port="current",
                                   message=[p.message for p in probs
                                            if "size mismatch" in p.message][0]).message
    assert "did you mean 'seed'" in find(probs, param="sed").message
    assert len(probs) >= 11


def test_missing_required_value():
    class NeedsGain(engine.registry().get("current_source")):
        type_name = "needs_gain_test"
        params = engine.registry().get("current_source").params + (
            __import__("spark_snn.components.base", fromlist=["Param"]).Param("gain", "float"),)

    engine.registry().add(NeedsGain, "test")
    try:
        probs = problems_for(base_doc([{"id": "n", "type": "needs_gain_test", "params": {}}]))
        assert find(probs, node="n", param="gain").message == "missing required value"
    finally:
        engine.registry().types.pop("needs_gain_test")


def test_edges_into_single_edge_port_and_required_inputs():
    doc = base_doc(
        nodes=[{"id": "a", "type": "lif", "params": {"size": 5}},
               {"id": "b", "type": "lif", "params": {"size": 5}},
               {"id": "p", "type": "projection", "params": {}},
               {"id": "q", "type": "projection", "params": {}}],
        edges=[("a.spikes", "p.pre"), ("b.spikes", "p.pre"), ("p.events", "b.syn")])
    probs = problems_for(doc)
    assert "takes a single edge but has 2" in find(probs, node="p", port="pre").message
    assert "not connected" in find(probs, node="q", port="pre").message
    assert "unknown: connect it" in find(probs, node="q", port="events").message


def test_sizes_propagate_through_projections():
    doc = base_doc(
        nodes=[{"id": "a", "type": "lif", "params": {"size": 5}},
               {"id": "b", "type": "lif", "params": {"size": 7}},
               {"id": "p", "type": "projection", "params": {"connectivity": "one_to_one"}}],
        edges=[("a.spikes", "p.pre"), ("p.events", "b.syn")])
    probs = problems_for(doc)
    assert len(probs) == 1
    assert "one_to_one needs equal sizes" in find(probs, node="p", param="connectivity").message


def test_cross_parameter_checks_and_bad_values():
    probs = problems_for(base_doc([
        {"id": "a", "type": "lif", "params": {"v_reset": -40.0, "v_th": -50.0}},
        {"id": "b", "type": "lif", "params": {"tau_m": float("nan") if False else 1e400}},
        {"id": "c", "type": "lif", "params": {"v_init": True}},
        {"id": "d", "type": "lif", "params": {"size": True}},
    ]))
    assert "must be below v_th" in find(probs, node="a", param="v_reset").message
    assert "finite" in find(probs, node="b", param="tau_m").message
    assert "expected one of" in find(probs, node="c", param="v_init").message
    assert "expected an integer" in find(probs, node="d", param="size").message


def test_malformed_entries_are_reported_not_dropped():
    probs = problems_for({"format": "spark-graph", "version": 1, "extra": 1,
                          "nodes": [{"type": "lif"}, 5, {"id": "x..y", "type": "lif"},
                                    {"id": "ok", "type": "lif", "position": "here", "colour": 1}],
                          "edges": [{"from": "ok.spikes"}, {"from": "ok", "to": "ok.syn"}]})
    text = "\n".join(map(str, probs))
    for fragment in ["unknown top-level key 'extra'", "nodes[0] has no string 'id'",
                     "nodes[1] must be an object", "may not start or end with '.' or hold '..'",
                     "'position' must be [x, y]", "unknown key 'colour'", "edges[0] must be",
                     "'ok' is not of the form"]:
        assert fragment in text


def test_registry_finds_new_component_files_and_entry_points(tmp_path, monkeypatch):
    from spark_snn import components

    (tmp_path / "my_neuron.py").write_text(
        "from spark_snn.components.lif import LIF\n"
        "class MyNeuron(LIF):\n    type_name = 'my_neuron_test'\n    title = 'Mine'\n")
    monkeypatch.setattr(components, "__path__", list(components.__path__) + [str(tmp_path)])
    sys.modules.pop("spark_snn.components.my_neuron", None)

    ext = types.ModuleType("spark_ext_test")
    exec("from spark_snn.components.lif import LIF\nclass Ext(LIF):\n    type_name = 'ext_neuron_test'\n",
         ext.__dict__)
    monkeypatch.setitem(sys.modules, "spark_ext_test", ext)

    class FakeEP:
        name = "ext"

        def load(self):
            return ext

    monkeypatch.setattr(registry_mod.metadata, "entry_points", lambda group: [FakeEP()])
    try:
        reg = engine.registry(refresh=True)
        assert "my_neuron_test" in reg and "ext_neuron_test" in reg
        assert reg.origin["ext_neuron_test"] == "entry point ext"
        assert engine.validate(engine.loads(json.dumps(base_doc(
            [{"id": "n", "type": "my_neuron_test", "params": {"size": 3}}])))) == []
    finally:
        monkeypatch.undo()
        sys.modules.pop("spark_snn.components.my_neuron", None)
        engine.registry(refresh=True)
    assert "my_neuron_test" not in engine.registry()


def test_broken_component_module_is_reported_not_fatal(tmp_path, monkeypatch):
    from spark_snn import components

    (tmp_path / "broken_thing.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.setattr(components, "__path__", list(components.__path__) + [str(tmp_path)])
    try:
        reg = engine.registry(refresh=True)
        assert any("broken_thing" in e and "boom" in e for e in reg.load_errors)
        assert "lif" in reg
    finally:
        monkeypatch.undo()
        engine.registry(refresh=True)


@pytest.mark.parametrize("value, ok", [(0.1, True), (0.0, False), (-1, False), ("x", False)])
def test_settings_are_checked(value, ok):
    probs = problems_for(base_doc([], settings={"dt": value}))
    assert (probs == []) == ok
