"""The committed 7-pool benchmark graph: valid, the network BASELINE.md describes, reproducible."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from spark_snn import engine

ROOT = Path(__file__).resolve().parent.parent
FILE = ROOT / "resources" / "examples" / "benchmark_7pools.json"
GENERATOR = ROOT / "benchmarks" / "make_benchmark_graph.py"


def _generator():
    spec = importlib.util.spec_from_file_location("make_benchmark_graph", GENERATOR)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def graph():
    return engine.load(FILE)


def test_file_validates(graph):
    errors = [p for p in engine.validate(graph) if p.severity == "error"]
    assert errors == []
    assert graph.settings["dt"] == 0.1 and graph.settings["seed"] == 0


def test_seven_lif_pools_of_1024(graph):
    pools = {nid: n for nid, n in graph.nodes.items() if n.type == "lif"}
    assert sorted(pools) == [f"pool{i}" for i in range(7)]
    for n in pools.values():
        p = n.params
        assert p["size"] == 1024
        assert (p["tau_m"], p["v_rest"], p["v_reset"], p["v_th"]) == (20.0, -65.0, -65.0, -50.0)
        assert (p["t_ref"], p["tau_syn"], p["v_init"]) == (2.0, 5.0, "rest")


def test_all_49_projections(graph):
    projs = {nid: n for nid, n in graph.nodes.items() if n.type == "projection"}
    assert len(projs) == 49
    pairs = set()
    for nid, n in projs.items():
        src = [e.src for e in graph.edges if e.dst == f"{nid}.pre"]
        dst = [e.dst for e in graph.edges if e.src == f"{nid}.events"]
        assert len(src) == 1 and len(dst) == 1
        assert src[0].endswith(".spikes") and dst[0].endswith(".syn")
        i, j = src[0].split(".")[0], dst[0].split(".")[0]
        pairs.add((i, j))
        p = n.params
        assert p["connectivity"] == "fixed_probability"
        assert p["p"] == (0.1 if i == j else 0.02)
        assert p["autapses"] is (i != j)
        assert (p["sign"], p["excitatory_fraction"], p["inhibitory_ratio"]) == ("mixed", 0.8, 5.0)
        assert (p["weight"], p["weight_init"], p["weight_spread"]) == (0.5, "uniform", 0.5)
        assert p["delay_steps"] == 1
    assert pairs == {(f"pool{i}", f"pool{j}") for i in range(7) for j in range(7)}


def test_bias_and_host_inputs(graph):
    for i in range(7):
        b = graph.nodes[f"bias{i}"]
        assert b.type == "current_source"
        assert (b.params["amplitude"], b.params["heterogeneity"], b.params["size"]) == (15.0, 3.0, 1024)
        assert engine.Edge(f"bias{i}.current", f"pool{i}.current") in graph.edges
    for k in (0, 1):
        s = graph.nodes[f"stim{k}"]
        assert s.type == "host_input" and s.params["size"] == 1024 and s.params["kind"] == "current"
        assert engine.Edge(f"stim{k}.out", f"pool{k}.current") in graph.edges


def test_positions_form_a_grid_without_overlaps(graph):
    pos = [tuple(n.position) for n in graph.nodes.values()]
    assert len(set(pos)) == len(pos)


def test_generator_reproduces_the_committed_file():
    gen = _generator()
    assert engine.dumps(gen.build()) == FILE.read_text(encoding="utf-8")
    json.loads(FILE.read_text(encoding="utf-8"))  # plain JSON
