"""Graph file format: round trips, atomic saves, versions, and malformed files."""
import json
import os

import pytest

from spark_snn import engine
from spark_snn.engine import GraphError, fileio
from spark_snn.engine.graph import FORMAT_VERSION, Edge, Graph, Node

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "resources", "examples")


def test_round_trip_is_identical(tmp_path, small_graph):
    small_graph.meta["note"] = "ünïcode kept"
    p1, p2 = tmp_path / "a.json", tmp_path / "b.json"
    engine.save(small_graph, p1)
    g1 = engine.load(p1)
    engine.save(g1, p2)
    g2 = engine.load(p2)
    assert p1.read_text() == p2.read_text()
    assert g1 == small_graph == g2
    assert g2.nodes["exc"].position == (200.0, 0.0)
    assert g2.edges == small_graph.edges


def test_every_example_round_trips_and_validates(tmp_path):
    names = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".json"))
    assert "two_pools.json" in names
    for name in names:
        g = engine.load(os.path.join(EXAMPLES, name))
        assert engine.validate(g) == [], name
        engine.save(g, tmp_path / name)
        assert engine.load(tmp_path / name) == g


def test_save_is_atomic(tmp_path, small_graph, monkeypatch):
    target = tmp_path / "net.json"
    engine.save(small_graph, target)
    before = target.read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    small_graph.nodes["exc"].params["size"] = 7
    with pytest.raises(OSError):
        engine.save(small_graph, target)
    assert target.read_text() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]  # no temporary left behind


def test_malformed_json_reports_line_and_column(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{\n  "format": "spark-graph",\n  "version": 1,\n  "nodes": [,]\n}\n')
    with pytest.raises(GraphError) as ei:
        engine.load(p)
    prob = ei.value.problems[0]
    assert (prob.line, prob.column) == (4, 13)
    assert "line 4, column 13" in str(ei.value)


@pytest.mark.parametrize("text, fragment", [
    ('{"format": "something-else", "version": 1}', "not a Spark graph"),
    ('[1, 2]', "JSON object"),
    ('{"format": "spark-graph", "version": "1"}', "must be an integer"),
])
def test_wrong_files_are_refused(text, fragment):
    with pytest.raises(GraphError, match=fragment):
        engine.loads(text)


def test_newer_version_is_refused_clearly():
    with pytest.raises(GraphError, match="newer than this Spark understands"):
        engine.loads(json.dumps({"format": "spark-graph", "version": FORMAT_VERSION + 1}))


def test_migration_hook_upgrades_old_versions(monkeypatch):
    calls = []

    def from_zero(d):
        calls.append(d["version"])
        d["nodes"] = [{"id": n["name"], "type": n["kind"], "params": {}} for n in d.pop("units")]
        d["version"] = 1
        return d

    monkeypatch.setitem(fileio.MIGRATIONS, 0, from_zero)
    g = engine.loads(json.dumps({"format": "spark-graph", "version": 0,
                                 "units": [{"name": "a", "kind": "lif"}]}))
    assert calls == [0]
    assert g.nodes["a"].type == "lif" and engine.validate(g) == []


def test_missing_migration_is_reported(monkeypatch):
    monkeypatch.delitem(fileio.MIGRATIONS, 0, raising=False)
    with pytest.raises(GraphError, match="no migration from format version 0"):
        engine.loads('{"format": "spark-graph", "version": 0}')


def test_unreadable_and_binary_files(tmp_path):
    with pytest.raises(GraphError, match="cannot read"):
        engine.load(tmp_path / "missing.json")
    p = tmp_path / "bin.json"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(GraphError, match="UTF-8"):
        engine.load(p)


def test_graph_editing_helpers():
    g = Graph()
    g.add_node(Node("a", "lif"))
    g.add_node(Node("p", "projection"))
    g.connect("a.spikes", "p.pre")
    g.connect("p.events", "a.syn")
    with pytest.raises(ValueError, match="already exists"):
        g.add_node(Node("a", "lif"))
    g.rename_node("a", "pool")
    assert g.edges == [Edge("pool.spikes", "p.pre"), Edge("p.events", "pool.syn")]
    assert g.unique_id("pool") == "pool_2"
    g.remove_node("p")
    assert g.edges == [] and list(g.nodes) == ["pool"]
