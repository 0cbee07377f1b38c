"""Composite components in files: format version 2, library files and folders, entry points,
``spark flatten``, and the composite examples."""
import json
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest

from spark_snn import engine
from spark_snn.engine import Graph, Node, Simulation
from spark_snn.engine.composite import (Definition, flatten, library_differences, load_library,
                              save_library, take_from_library)
from spark_snn.engine.graph import Edge
from spark_snn.engine.problems import GraphError
from tests.test_composite import column_of_ei, nested_graph

registry_module = import_module("spark_snn.engine.registry")  # the module (engine.registry: the function)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"


@pytest.fixture
def library_dir(tmp_path, monkeypatch):
    """An empty user library folder; the registry is rescanned before and after."""
    folder = tmp_path / "lib"
    folder.mkdir()
    monkeypatch.setenv("SPARK_LIBRARY_PATH", str(folder))
    registry_module.registry(refresh=True)
    yield folder
    monkeypatch.undo()
    registry_module.registry(refresh=True)


# --- format version 2 -----------------------------------------------------------------------------
V1_TEXT = """{
  "format": "spark-graph",
  "version": 1,
  "settings": {
    "dt": 0.1,
    "seed": 0,
    "dtype": "float32"
  },
  "nodes": [
    {
      "id": "drive",
      "type": "current_source",
      "params": {
        "size": 3
      },
      "position": [
        0.0,
        0.0
      ]
    }
  ],
  "edges": [],
  "meta": {
    "note": "kept"
  }
}
"""


@pytest.mark.parametrize("name", ["minimal", "two_pools", "cartpole", "benchmark_7pools"])
def test_version_1_files_open_and_save_identically_but_for_the_version(name):
    v2 = (EXAMPLES / f"{name}.json").read_text(encoding="utf-8")
    v1 = v2.replace('"version": 2,', '"version": 1,', 1)
    assert v1 != v2
    assert engine.dumps(engine.loads(v1)) == v2


def test_a_hand_written_version_1_file():
    g = engine.loads(V1_TEXT)
    assert g.load_problems == [] and not g.definitions
    assert engine.dumps(g) == V1_TEXT.replace('"version": 1,', '"version": 2,')


def test_composite_graph_file_round_trip(tmp_path):
    g, _ = column_of_ei()
    path = tmp_path / "g.json"
    engine.save(g, path)
    data = json.loads(path.read_text())
    assert data["version"] == 2 and [d["type"] for d in data["definitions"]] == ["column"]
    assert data["nodes"][1] == {"id": "column", "type": "column", "params": {},
                                "position": data["nodes"][1]["position"], "seed_id": ""}
    again = engine.load(path)
    assert again == g and engine.dumps(again) == path.read_text()


def test_malformed_definitions_are_reported_by_name():
    doc = {"format": "spark-graph", "version": 2, "nodes": [], "edges": [],
           "definitions": [
               {"type": "a", "inputs": [{"name": "x"}], "params": [{"name": "p", "drives": 3}],
                "nodes": [{"id": "n.1", "type": "lif"}], "colour": 1},
               {"type": "a"}, 7, {"category": "no type"}]}
    probs = engine.validate(engine.loads(json.dumps(doc)))
    text = "\n".join(map(str, probs))
    for fragment in ["component 'a', port 'x': inputs[0]: 'to' must be",
                     "component 'a', parameter 'p': 'drives' must be",
                     "component 'a', node 'n.1': an inner node id may not contain '.'",
                     "component 'a': unknown key 'colour'",
                     "a component named 'a' is defined twice", "definitions[2] must be an object",
                     "definitions[3] has no string 'type'"]:
        assert fragment in text, text


def test_a_graph_and_its_flat_file_spike_identically(tmp_path):
    g = engine.load(EXAMPLES / "columns.json")
    out = tmp_path / "flat.json"
    res = subprocess.run([sys.executable, "-m", "spark_snn.engine.cli", "flatten",
                          str(EXAMPLES / "columns.json"), "-o", str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "expanded" in res.stdout
    flat = engine.load(out)
    assert not flat.definitions and "area1.col_a.exc" in flat.nodes
    assert all(engine.registry().types.get(n.type) for n in flat.nodes.values())
    names = ["area1.col_b.exc.spikes", "c4.inh.spikes", "area1.col_a.inh.v"]
    a = Simulation(g, record=names).advance(1500)
    b = Simulation(flat, record=names).advance(1500)
    assert a["area1.col_b.exc.spikes"].sum() > 20
    for n in names:
        assert np.array_equal(a[n], b[n])


def test_a_composite_graph_compiles_to_the_program_of_its_flat_file(tmp_path):
    g = engine.load(EXAMPLES / "columns.json")
    engine.save(flatten(g), tmp_path / "flat.json")
    programs = []
    for graph in (g, engine.load(tmp_path / "flat.json")):
        model = engine.compile_graph(graph)
        programs.append(model.chunk(5).lower(*model.init()).as_text())
    assert programs[0] == programs[1] and len(programs[0]) > 10_000


def test_spark_flatten_refuses_a_broken_graph(tmp_path):
    g = nested_graph()
    g.definitions["cell"].nodes["loop"] = Node("loop", "top", {})
    src = tmp_path / "bad.json"
    engine.save(g, src)
    res = subprocess.run([sys.executable, "-m", "spark_snn.engine.cli", "flatten", str(src), "-o",
                          str(tmp_path / "out.json")], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 1 and "contains itself" in res.stderr
    assert not (tmp_path / "out.json").exists()


def test_spark_run_records_an_inner_pool_by_its_dotted_id(tmp_path):
    out = tmp_path / "rec.npz"
    res = subprocess.run([sys.executable, "-m", "spark_snn.engine.cli", "run",
                          str(EXAMPLES / "columns.json"), "--steps", "600", "--chunk", "200",
                          "--record", "c3.exc.spikes", "--out", str(out), "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    rec = np.load(out)["c3__exc__spikes"]
    assert rec.shape == (600, 80) and int(rec.sum()) == summary["spikes"]["c3.exc"]


# --- library ------------------------------------------------------------------------------------
def test_library_file_round_trip_and_refusals(tmp_path):
    g = nested_graph()
    path = tmp_path / "cells.json"
    save_library(path, g.definitions)
    data = json.loads(path.read_text())
    assert data["format"] == "spark-library" and data["version"] == 2
    got = load_library(path)
    assert [d.type_name for d in got] == ["cell", "mid", "top"]
    assert got[0] == g.definitions["cell"]
    with pytest.raises(GraphError, match="not a Spark component library file"):
        load_library(EXAMPLES / "minimal.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "spark-library", "version": 2, "definitions": [{"type": 3}]}')
    with pytest.raises(GraphError, match="no string 'type'"):
        load_library(bad)


def test_user_library_folder_lists_runs_and_embeds(library_dir, tmp_path):
    save_library(library_dir / "cells.json", nested_graph().definitions)
    (library_dir / "broken.json").write_text("{ nope")
    reg = registry_module.registry(refresh=True)
    assert set(reg.definitions) == {"cell", "mid", "top"}
    assert any("broken.json" in e and "not valid JSON" in e for e in reg.load_errors)
    listed = reg.by_category(definitions=True)["Composites"]
    assert [t.type_name for t in listed] == ["cell", "mid", "top"]
    assert "cell" not in reg.by_category()  # the plain listing stays classes only
    g = Graph()
    g.add_node(Node("t", "top", {}))  # a library type, not embedded
    assert engine.validate(g) == []
    assert Simulation(g, record=["t.m.c1.pool.spikes"]).advance(50)["t.m.c1.pool.spikes"].shape \
        == (50, 4)
    engine.save(g, tmp_path / "uses.json")
    data = json.loads((tmp_path / "uses.json").read_text())
    assert [d["type"] for d in data["definitions"]] == ["top", "mid", "cell"]


def test_library_change_is_reported_and_can_be_taken(library_dir):
    g = nested_graph()
    save_library(library_dir / "cells.json", g.definitions)
    reg = registry_module.registry(refresh=True)
    assert library_differences(g, reg) == []
    newer = g.definitions["cell"].copy()
    newer.params[0].default = 25.0
    newer.nodes["pool"].params["tau_m"] = 12.0
    save_library(library_dir / "cells.json", [newer, g.definitions["mid"], g.definitions["top"]])
    reg = registry_module.registry(refresh=True)
    diffs = library_differences(g, reg)
    assert [d.type_name for d in diffs] == ["cell"]
    assert diffs[0].changes == ["parameter 'amp' default 20.0 -> 25.0",
                                "inner node 'pool': tau_m changed"]
    assert "cells.json" in diffs[0].origin and "differs from the library" in str(diffs[0])
    taken = take_from_library(g, ["cell"], reg)
    assert taken.definitions["cell"] == newer and g.definitions["cell"].params[0].default == 20.0


def test_entry_points_can_ship_library_files(tmp_path, monkeypatch, library_dir):
    path = tmp_path / "shipped.json"
    save_library(path, [Definition("shipped", "Packages", "from a package",
                                   {"p": Node("p", "poisson_source", {"size": 3})})])

    class EP:
        name = "my_lib"

        def load(self):
            return [str(path)]

    class BadEP(EP):
        name = "broken"

        def load(self):
            return 42

    monkeypatch.setattr(registry_module.metadata, "entry_points",
                        lambda group: [EP(), BadEP()] if group == "spark.components" else [])
    reg = registry_module.registry(refresh=True)
    assert reg.definitions["shipped"].category == "Packages"
    assert "entry point my_lib" in reg.definition_origin["shipped"]
    assert any("entry point broken" in e for e in reg.load_errors)


def test_a_library_definition_never_replaces_a_built_in(library_dir):
    save_library(library_dir / "x.json", [Definition("lif", nodes={})])
    reg = registry_module.registry(refresh=True)
    assert "lif" not in reg.definitions
    assert any("name of a built-in" in e for e in reg.load_errors)


# --- examples -------------------------------------------------------------------------------------
def test_columns_example_reuses_one_column_with_different_parameters():
    g = engine.load(EXAMPLES / "columns.json")
    assert engine.validate(g) == []
    assert set(g.definitions) == {"column", "area"}
    column, area = g.definitions["column"], g.definitions["area"]
    assert len([n for n in column.nodes.values() if n.type == "lif"]) == 2
    assert len([n for n in column.nodes.values() if n.type == "projection"]) == 4
    assert [n.type for n in column.nodes.values()].count("current_source") == 1
    uses = [n for n in g.nodes.values() if n.type == "column"] + \
        [n for n in area.nodes.values() if n.type == "column"]
    assert len(uses) >= 3 and len({json.dumps(n.params, sort_keys=True) for n in uses}) == len(uses)
    assert any(n.type == "area" for n in g.nodes.values())  # a composite inside a composite
    flat = flatten(g)
    assert flat.nodes["area1.col_a.drive"].params["amplitude"] == 17.0  # area1's drive_a
    assert flat.nodes["c3.exc"].params["tau_m"] == 15.0


def test_composite_examples_are_what_the_generator_makes():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import make_composite_examples as gen
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert engine.dumps(gen.build()) == (EXAMPLES / "columns.json").read_text(encoding="utf-8")
    assert engine.dumps(gen.cartpole_composite()) == \
        (EXAMPLES / "cartpole_composite.json").read_text(encoding="utf-8")


def test_cartpole_composite_trains_like_cartpole():
    from spark_snn.engine import train as tr
    runs = [tr.train(engine.load(EXAMPLES / f), 2, 2, seed=5, chunk_env_steps=50, progress=False)
            for f in ("cartpole.json", "cartpole_composite.json")]
    assert runs[0][0] == runs[1][0] and all(len(x) == 2 for x in runs[0][0])


def test_cartpole_actor_component_spikes_like_cartpole():
    flat = engine.load(EXAMPLES / "cartpole.json")
    comp = engine.load(EXAMPLES / "cartpole_composite.json")
    actor = comp.definitions["actor"]
    assert [p.name for p in actor.inputs] == ["features", "modulator"]
    assert [p.name for p in actor.outputs] == ["action"]
    assert Edge("actor.action", "cart.action") in comp.edges
    a = Simulation(flat, record=["left.spikes", "right.spikes", "cart.observation"],
                   chunk=1000).advance(6000)
    b = Simulation(comp, record=["actor.left.spikes", "actor.right.spikes", "cart.observation"],
                   chunk=1000).advance(6000)
    assert a["left.spikes"].sum() > 100
    assert np.array_equal(a["left.spikes"], b["actor.left.spikes"])
    assert np.array_equal(a["right.spikes"], b["actor.right.spikes"])
    assert np.array_equal(a["cart.observation"], b["cart.observation"])
