"""Writes the hostile corpus: broken and hostile graph files that Spark must refuse cleanly.

Every file goes next to this script; ``expected.json`` maps each file name to a fragment its
refusal must contain (the node, key or parameter named, or what is wrong). tests/test_hostile.py
runs ``spark validate`` on all of them (and ``spark run`` on a sample) and asserts exit status
1, no traceback, that fragment, within 30 s and 2 GB each. Files too big to keep in the
repository (a 17 MiB file, a list of half a million numbers) are made by the test itself.

Usage: python tests/hostile/make_corpus.py   (rewrites the files; they are committed)
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def graph(nodes, edges=(), **top) -> dict:
    d = {"format": "spark-graph", "version": 2, "settings": {"dt": 0.1, "seed": 0},
         "nodes": list(nodes), "edges": [{"from": a, "to": b} for a, b in edges]}
    d.update(top)
    return d


def node(nid, typ, **params) -> dict:
    return {"id": nid, "type": typ, "params": params, "position": [0.0, 0.0]}


DRIVE = node("drive", "current_source", size=10, amplitude=18.0)
POOL = node("pool", "lif", size=10)
OK_EDGE = ("drive.current", "pool.current")


def with_pool(**params) -> dict:
    return graph([DRIVE, node("pool", "lif", **{"size": 10, **params})], [OK_EDGE])


def ring(n_pool, proj_type="projection", **proj) -> dict:
    return graph([node("pool", "lif", size=n_pool), node("rec", proj_type, **proj)],
                 [("pool.spikes", "rec.pre"), ("rec.events", "pool.syn")])


CASES: dict[str, tuple[object, str]] = {}


def case(name: str, content, fragment: str) -> None:
    CASES[name] = (content, fragment)


# --- not JSON, not a graph ------------------------------------------------------------------
case("empty.json", b"", "not valid JSON")
case("whitespace_only.json", b"   \n\t\n", "not valid JSON")
case("binary.json", bytes(range(256)) * 4, "not a UTF-8 text file")
case("latin1.json", json.dumps(graph([node("pool", "lif", size=10)]))
     .replace('"pool"', '"p\u00f6\u00f6l"').encode("latin-1"), "not a UTF-8 text file")
case("nul_bytes.json", b'{"format": "spark-graph",\x00 "version": 2}', "not valid JSON")
case("truncated.json", json.dumps(with_pool())[:-40].encode(), "not valid JSON")
case("top_level_list.json", "[1, 2, 3]", "JSON object")
case("top_level_string.json", '"spark-graph"', "JSON object")
case("wrong_format.json", {"format": "spark-grpah", "version": 2}, "'format'")
case("no_format.json", {"version": 2, "nodes": []}, "'format'")
case("version_string.json", {"format": "spark-graph", "version": "2"}, "'version'")
case("version_float.json", {"format": "spark-graph", "version": 2.5}, "'version'")
case("version_future.json", {"format": "spark-graph", "version": 999}, "newer than")
case("version_zero.json", {"format": "spark-graph", "version": 0}, "migration")
case("version_huge_int.json", '{"format": "spark-graph", "version": ' + "9" * 5000 + "}",
     "digits is more than")

# --- pathological JSON ----------------------------------------------------------------------
case("deep_nesting_meta.json",
     '{"format": "spark-graph", "version": 2, "meta": {"x": ' + "[" * 5000 + "]" * 5000 + "}}",
     "nested more than")
case("deep_nesting_objects.json",
     '{"format": "spark-graph", "version": 2, "nodes": [{"id": "pool", "type": "lif", '
     '"params": ' + '{"a": ' * 3000 + "1" + "}" * 3000 + "}]}", "nested more than")
case("deep_nesting_unclosed.json", "[" * 20_000, "nested more than")
case("duplicate_key_node.json",
     '{"format": "spark-graph", "version": 2, "nodes": [{"id": "pool", "type": "lif", '
     '"type": "adex", "params": {}}]}', "duplicate key 'type'")
case("duplicate_key_params.json",
     '{"format": "spark-graph", "version": 2, "nodes": [{"id": "pool", "type": "lif", '
     '"params": {"tau_m": 20.0, "tau_m": -1.0}}]}', "duplicate key 'tau_m' in nodes[0].params")
case("duplicate_key_top.json",
     '{"format": "spark-graph", "version": 2, "nodes": [], "nodes": []}',
     "duplicate key 'nodes'")
case("duplicate_key_edge.json",
     '{"format": "spark-graph", "version": 2, "nodes": [], "edges": [{"from": "a.b", '
     '"to": "c.d", "to": "e.f"}]}', "duplicate key 'to' in edges[0]")
case("duplicate_key_settings.json",
     '{"format": "spark-graph", "version": 2, "settings": {"dt": 0.1, "dt": 0.2}}',
     "duplicate key 'dt' in settings")
case("unknown_top_key.json", {**graph([POOL]), "nodez": []}, "unknown top-level key 'nodez'")
case("unknown_node_key.json",
     graph([{**POOL, "colour": "red"}]), "node 'pool': unknown key 'colour'")
case("unknown_edge_key.json", graph([DRIVE, POOL], [OK_EDGE]) | {
    "edges": [{"from": "drive.current", "to": "pool.current", "weight": 5}]},
     "unknown key 'weight'")
case("unknown_setting.json", graph([POOL], settings={"dt": 0.1, "speed": "fast"}),
     "unknown setting 'speed'")
case("long_string_type.json", graph([node("pool", "lif" * 40_000)]), "longer than the limit")
case("long_key.json", '{"format": "spark-graph", "version": 2, "' + "k" * 150_000 + '": 1}',
     "longer than the limit")
case("long_id.json", graph([node("p" * 5000, "lif", size=10)]), "longer than 256")
case("long_number_param.json",
     '{"format": "spark-graph", "version": 2, "nodes": [{"id": "pool", "type": "lif", '
     '"params": {"size": ' + "1" * 4500 + "}}]}", "digits is more than")

# --- NaN, Infinity and numbers out of range ---------------------------------------------------
case("nan_param.json", with_pool(tau_m=float("nan")), "node 'pool', parameter 'tau_m'")
case("infinity_param.json", with_pool(v_th=float("inf")), "node 'pool', parameter 'v_th'")
case("neg_infinity_param.json", with_pool(v_rest=float("-inf")),
     "node 'pool', parameter 'v_rest'")
case("nan_dt.json", graph([POOL], settings={"dt": float("nan")}), "parameter 'dt'")
case("nan_position.json", graph([{**POOL, "position": [float("nan"), 0.0]}]),
     "node 'pool': 'position'")
case("infinite_position.json",
     '{"format": "spark-graph", "version": 2, "nodes": [{"id": "pool", "type": "lif", '
     '"position": [1e999, 0]}]}', "node 'pool': 'position'")
case("huge_int_for_float.json",
     '{"format": "spark-graph", "version": 2, "nodes": [{"id": "pool", "type": "lif", '
     '"params": {"tau_m": 1' + "0" * 400 + "}}]}", "node 'pool', parameter 'tau_m'")
case("negative_size.json", with_pool(size=-5), "node 'pool', parameter 'size'")
case("zero_dt.json", graph([POOL], settings={"dt": 0}), "parameter 'dt'")
case("negative_seed.json", graph([POOL], settings={"seed": -1}), "parameter 'seed'")
case("float16.json", graph([POOL], settings={"dtype": "float16"}), "parameter 'dtype'")

# --- wrong types for every parameter kind -----------------------------------------------------
case("wrong_type_float.json", with_pool(tau_m="twenty"), "node 'pool', parameter 'tau_m'")
case("wrong_type_float_bool.json", with_pool(tau_m=True), "node 'pool', parameter 'tau_m'")
case("wrong_type_int.json", with_pool(size=10.5), "node 'pool', parameter 'size'")
case("wrong_type_int_string.json", with_pool(size="10"), "node 'pool', parameter 'size'")
case("wrong_type_bool.json", ring(10, autapses="yes"), "node 'rec', parameter 'autapses'")
case("wrong_type_choice.json", with_pool(v_init=3), "node 'pool', parameter 'v_init'")
case("wrong_type_choice_list.json", with_pool(v_init=["rest"]),
     "node 'pool', parameter 'v_init'")
case("wrong_type_str.json", graph([node("env", "gym_env", env_id=42)]),
     "node 'env', parameter 'env_id'")
case("wrong_type_text.json", graph([node("eq", "equation_pool", model=["v = 1"])]),
     "node 'eq', parameter 'model'")
case("wrong_type_floats.json", graph([node("pc", "place_cell_encoder", low="0", high=[1.0])]),
     "node 'pc', parameter 'low'")
case("wrong_type_floats_nan.json",
     graph([node("pc", "place_cell_encoder", low=[float("nan")], high=[1.0])]),
     "node 'pc', parameter 'low'")
case("params_is_list.json", graph([{**POOL, "params": [1, 2]}]), "node 'pool': 'params'")
case("params_is_null.json", graph([{**POOL, "params": None}]), "node 'pool': 'params'")
case("unknown_param.json", with_pool(tau_mm=20.0), "node 'pool', parameter 'tau_mm'")

# --- nodes and edges --------------------------------------------------------------------------
case("unknown_type.json", graph([node("pool", "liff", size=10)]),
     "node 'pool': unknown node type 'liff'")
case("type_is_number.json", graph([{**POOL, "type": 7}]), "node 'pool'")
case("nodes_is_object.json", {"format": "spark-graph", "version": 2, "nodes": {"pool": {}}},
     "'nodes' must be a list")
case("node_is_string.json", graph(["pool"]), "nodes[0] must be an object")
case("node_without_id.json", graph([{"type": "lif"}]), "nodes[0] has no string 'id'")
case("node_id_number.json", graph([{"id": 3, "type": "lif"}]), "nodes[0] has no string 'id'")
case("duplicate_node_id.json", graph([POOL, POOL]), "duplicate node id 'pool'")
case("edge_to_missing_node.json", graph([DRIVE], [("drive.current", "ghost.current")]),
     "no node 'ghost'")
case("edge_to_missing_port.json", graph([DRIVE, POOL], [("drive.current", "pool.nope")]),
     "node 'pool', port 'nope'")
case("edge_without_dot.json", graph([DRIVE, POOL], [("drive", "pool.current")]),
     "'node.port'")
case("edge_is_string.json", {**graph([DRIVE, POOL]), "edges": ["drive.current->pool.current"]},
     "edges[0] must be")
case("edge_kind_mismatch.json", graph([DRIVE, POOL], [("pool.spikes", "pool.current")]),
     "node 'pool', port 'current'")
case("edge_size_mismatch.json",
     graph([node("drive", "current_source", size=3), POOL], [OK_EDGE]),
     "node 'pool', port 'current'")
case("edge_into_output.json", graph([DRIVE, POOL], [("drive.current", "pool.spikes")]),
     "node 'pool', port 'spikes'")
case("required_input_missing.json", graph([POOL, node("rec", "projection")]),
     "node 'rec', port 'pre'")
case("fan_in_too_large.json", ring(10, connectivity="fixed_fan_in", fan_in=1000),
     "node 'rec', parameter 'fan_in'")

# --- networks too large for the machine -------------------------------------------------------
case("huge_recurrent_pool.json", ring(2_000_000, p=0.1), "node 'rec'")
case("huge_all_to_all.json", graph([
    node("a", "poisson_source", size=1_000_000), node("b", "lif", size=1_000_000),
    node("ab", "projection", connectivity="all_to_all")],
    [("a.spikes", "ab.pre"), ("ab.events", "b.syn")]), "node 'ab'")
case("huge_plastic.json", graph([
    node("a", "poisson_source", size=200_000), node("b", "lif", size=200_000),
    node("ab", "stdp_projection", p=0.01)],
    [("a.spikes", "ab.pre"), ("ab.events", "b.syn")]), "node 'ab'")
case("huge_delay.json", ring(5_000_000, connectivity="one_to_one", delay_steps=10_000),
     "node 'rec'")
case("huge_current_source.json", graph([node("drive", "current_source", size=10**15)]),
     "node 'drive'")
case("huge_rate_encoder.json", graph([
    node("h", "host_input", size=1_000_000, kind="value"),
    node("enc", "rate_encoder", size=1_000_000, neurons_per_value=1_000_000)],
    [("h.out", "enc.value")]), "node 'enc'")
case("huge_size_beyond_max.json", with_pool(size=10**30), "node 'pool', parameter 'size'")
case("huge_place_cells.json", graph([
    node("h", "host_input", size=20_000, kind="value"),
    node("pc", "place_cell_encoder", low=[0] * 20_000, high=[1] * 20_000,
         cells_per_dim=100_000)], [("h.out", "pc.value")]), "node 'pc'")

# --- composite definitions --------------------------------------------------------------------
def definition(name, nodes, **extra):
    return {"type": name, "category": "Composites", "inputs": [], "outputs": [],
            "params": [], "nodes": nodes, "edges": [], **extra}


case("composite_self_cycle.json",
     graph([node("x", "loop")], definitions=[definition("loop", [node("inner", "loop")])]),
     "contains itself")
case("composite_two_cycle.json",
     graph([node("x", "ping")], definitions=[definition("ping", [node("a", "pong")]),
                                             definition("pong", [node("b", "ping")])]),
     "contains itself")
case("composite_exponential.json", graph([node("x", "d9")], definitions=[
    definition("d0", [node("pool", "lif", size=1)])] + [
    definition(f"d{i}", [node(f"c{k}", f"d{i - 1}") for k in range(10)]) for i in range(1, 10)]),
     "d9")
case("composite_deep_chain.json", graph([node("x", "d59")], definitions=[
    definition("d0", [node("pool", "lif", size=1)])] + [
    definition(f"d{i}", [node("c", f"d{i - 1}")]) for i in range(1, 60)]), "")
case("composite_unknown_key.json",
     graph([node("x", "col")], definitions=[definition("col", [POOL], colour="red")]),
     "unknown key 'colour'")
case("composite_definitions_not_list.json", graph([], definitions={"col": {}}),
     "'definitions' must be a list")
case("composite_inner_dup_key.json",
     '{"format": "spark-graph", "version": 2, "nodes": [{"id": "x", "type": "col"}], '
     '"definitions": [{"type": "col", "nodes": [{"id": "pool", "type": "lif", "params": '
     '{"size": 1, "size": 2}}], "edges": []}]}', "duplicate key 'size'")
case("composite_bad_promoted.json", graph([node("x", "col")], definitions=[definition(
    "col", [POOL], params=[{"name": "n", "drives": ["pool.size"], "default": "many"}])]),
     "col")

# --- hostile model texts ----------------------------------------------------------------------
GOOD_TEXT = "state v = 0 mV\ndv/dt = -v / (10 ms)\nthreshold: v > 10 mV\nreset: v = 0 mV\n"
for name, text in {
    "eq_import": "import os\n" + GOOD_TEXT,
    "eq_dunder": "param x = __import__('os')\n" + GOOD_TEXT,
    "eq_eval": GOOD_TEXT + "dw/dt = eval(v) / (1 ms)\nstate w = 0 mV\n",
    "eq_deep_parens": "state v = 0 mV\ndv/dt = " + "(" * 150 + "-v" + ")" * 150 + " / (10 ms)\n",
    "eq_huge_power": "state v = 0 mV\ndv/dt = v ** 99999999 / (10 ms)\n",
    "eq_long_text": "# " + "x" * 30_000 + "\n" + GOOD_TEXT,
    "eq_many_lines": GOOD_TEXT + "".join(f"state v{i} = 0 mV\n" for i in range(600)),
    "eq_binary": "\x00\x01\x02 state v = 0 mV",
    "eq_attribute": "state v = 0 mV\ndv/dt = v.real / (10 ms)\n",
    "eq_undeclared": "state v = 0 mV\ndv/dt = (v + os) / (10 ms)\n",
    "eq_unit_mismatch": "state v = 0 mV\ndv/dt = v\n",
    "eq_recursion": "state v = 0 mV\ndv/dt = " + "-" * 5000 + "v / (10 ms)\n",
}.items():
    case(f"{name}.json", graph([node("eq", "equation_pool", size=10, model=text)]),
         "node 'eq', parameter 'model'")

# --- Gymnasium environments that would import code ------------------------------------------
case("gym_import_this.json", graph([node("env", "gym_env", env_id="this:Foo-v0")]),
     "--allow-import this")
case("gym_import_os.json", graph([node("env", "gym_env", env_id="os:system-v0")]),
     "--allow-import os")
case("gym_import_empty.json", graph([node("env", "gym_env", env_id=":CartPole-v1")]),
     "node 'env', parameter 'env_id'")
case("gym_unregistered.json", graph([node("env", "gym_env", env_id="NoSuchEnv-v0")]),
     "node 'env', parameter 'env_id'")
case("gym_path.json", graph([node("env", "gym_env", env_id="../../etc/passwd")]),
     "node 'env', parameter 'env_id'")

# --- several problems at once (all reported) --------------------------------------------------
case("many_problems.json", graph([
    node("pool", "lif", size=-1, tau_m="x"), node("ghost", "nope"),
    {"id": "drive", "type": "current_source", "params": {"amplitude": float("inf")},
     "colour": 1}], [("drive.current", "pool.current"), ("pool.spikes", "nowhere.pre")]),
     "node 'drive', parameter 'amplitude'")

# files the test runs through ``spark run`` as well
RUN_SAMPLE = ["deep_nesting_meta.json", "duplicate_key_node.json", "unknown_edge_key.json",
              "huge_recurrent_pool.json", "gym_import_this.json", "nan_param.json",
              "composite_exponential.json", "eq_deep_parens.json"]


def write() -> None:
    for old in HERE.glob("*.json"):
        if old.name != "expected.json":
            old.unlink()
    for name, (content, _) in CASES.items():
        if isinstance(content, bytes):
            data = content
        elif isinstance(content, str):
            data = content.encode("utf-8")
        else:
            data = json.dumps(content).encode("utf-8")  # NaN/Infinity written as literals
        (HERE / name).write_bytes(data)
    expected = {"run_sample": RUN_SAMPLE,
                "files": {name: frag for name, (_, frag) in CASES.items()}}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    write()
    print(f"{len(CASES)} files written to {HERE}")
