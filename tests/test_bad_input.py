"""Bad input, whole classes (issue 10): pathological JSON, networks too large for the machine,
and graph files that would make Gymnasium import code. The hostile corpus (test_hostile.py)
runs the same classes through the command line; these pin down the limits and the rules."""
from __future__ import annotations

import json
import sys
import tracemalloc

import pytest

from spark_snn import engine
from spark_snn.components import gym_env
from spark_snn.engine import GraphError, jsontext, memory
from spark_snn.engine.cli import main as cli_main


def _graph_text(**top) -> str:
    return json.dumps({"format": "spark-graph", "version": 2, **top})


# --- pathological JSON --------------------------------------------------------------------------
def test_nesting_up_to_the_limit_reads_and_one_more_is_refused_with_its_place():
    ok = '{"x": ' + "[" * (jsontext.MAX_DEPTH - 1) + "]" * (jsontext.MAX_DEPTH - 1) + "}"
    assert jsontext.parse(ok) == {"x": json.loads(ok)["x"]}
    deep = '{"x":\n ' + "[" * jsontext.MAX_DEPTH + "]" * jsontext.MAX_DEPTH + "}"
    with pytest.raises(GraphError, match="nested more than 64") as ei:
        jsontext.parse(deep)
    p = ei.value.problems[0]
    assert (p.line, p.column) == (2, 2 + jsontext.MAX_DEPTH - 1)


def test_nesting_far_beyond_the_recursion_limit_is_a_problem_not_a_recursion_error():
    text = _graph_text(meta={}).replace("{}", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(GraphError, match="nested more than"):
        engine.loads(text)


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = _graph_text(meta={"note": "[" * 1000 + "{" * 1000})
    assert engine.loads(text).meta["note"].startswith("[[[")


def test_string_limit_is_exact_and_counts_keys_too():
    n = jsontext.MAX_STRING
    assert len(jsontext.parse(json.dumps({"s": "a" * n}))["s"]) == n
    for text in (json.dumps({"s": "a" * (n + 1)}), json.dumps({"k" * (n + 1): 1})):
        with pytest.raises(GraphError, match="longer than the limit of 100,000"):
            jsontext.parse(text)


def test_duplicate_keys_name_the_key_the_path_and_the_node():
    text = ('{"format": "spark-graph", "version": 2, "nodes": [{"id": "a", "type": "lif"}, '
            '{"id": "b", "type": "lif", "params": {"size": 3, "tau_m": 1.0, "size": 4}}], '
            '"definitions": [{"type": "col", "nodes": [{"id": "x", "id": "y", '
            '"type": "lif"}]}]}')
    with pytest.raises(GraphError) as ei:
        engine.loads(text)
    found = {(p.node, p.definition, p.message.split(" (")[0]) for p in ei.value.problems}
    assert found == {("b", None, "duplicate key 'size' in nodes[1].params"),
                     ("y", "col", "duplicate key 'id' in definitions[0].nodes[0]")}


def test_an_unknown_edge_key_is_a_problem_not_dropped():
    g = engine.loads(_graph_text(nodes=[], edges=[{"from": "a.x", "to": "b.y", "delay": 3}]))
    assert any("unknown key 'delay'" in p.message and p.node == "b"
               for p in g.load_problems)


def test_a_file_larger_than_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate(jsontext.MAX_BYTES + 1)  # sparse: costs no disk
    opened = []
    real_open = open

    class Spy:
        def __init__(self, fh):
            self.fh, self.read_bytes = fh, 0

        def read(self, n=-1):
            data = self.fh.read(n)
            self.read_bytes += len(data)
            return data

        def fileno(self):
            return self.fh.fileno()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def spy(path, mode="r", *a, **k):
        fh = real_open(path, mode, *a, **k)
        if str(path) != str(big):
            return fh
        opened.append(Spy(fh))
        return opened[-1]

    monkeypatch.setattr("builtins.open", spy)
    with pytest.raises(GraphError, match="too large"):
        engine.load(big)
    assert opened and opened[0].read_bytes == 0   # refused from its size alone


def test_a_device_cannot_make_the_reader_read_forever():
    with pytest.raises(GraphError, match="too large"):
        engine.load("/dev/zero")


def test_too_many_digits_is_a_problem_with_its_place():
    text = '{"format": "spark-graph",\n "version": ' + "7" * 5000 + "}"
    with pytest.raises(GraphError, match="5,000 digits") as ei:
        engine.loads(text)
    assert ei.value.problems[0].line == 2


def test_a_huge_integer_for_a_float_parameter_is_a_problem():
    text = ('{"format": "spark-graph", "version": 2, "nodes": [{"id": "p", "type": "lif", '
            '"params": {"tau_m": 1' + "0" * 400 + "}}]}")
    probs = engine.validate(engine.loads(text))
    assert [(p.node, p.param) for p in probs] == [("p", "tau_m")]
    assert "too large" in probs[0].message and len(probs[0].message) < 200


def test_a_huge_value_is_shown_shortened():
    g = engine.Graph()
    g.add_node(engine.Node("p", "lif", {"tau_m": list(range(1_000_000))}))
    (p,) = engine.validate(g)
    assert p.param == "tau_m" and "1,000,000 entries" in p.message and len(str(p)) < 300


# --- networks too large for the machine --------------------------------------------------------
def _recurrent(n, p=0.1, **proj) -> engine.Graph:
    g = engine.Graph()
    g.add_node(engine.Node("pool", "lif", {"size": n}))
    g.add_node(engine.Node("rec", "projection", {"p": p, **proj}))
    g.connect("pool.spikes", "rec.pre")
    g.connect("rec.events", "pool.syn")
    return g


def test_a_2_million_neuron_recurrent_pool_is_refused_without_allocating(monkeypatch):
    monkeypatch.setattr(memory, "available", lambda: (8 * 2**30, "test: 8 GiB"))
    tracemalloc.start()
    try:
        problems = engine.validate(_recurrent(2_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20
    (p,) = problems
    assert p.node == "rec" and "8.0 GiB" in p.message and "test: 8 GiB" in p.message
    # 2e6 x 2e6 x 0.1 = 4e11 synapses: tens of TiB, whatever the exact bytes per synapse
    assert "TiB (synapses" in p.message
    with pytest.raises(GraphError, match="needs about"):
        engine.Simulation(_recurrent(2_000_000))


def test_the_estimate_covers_what_building_a_projection_allocates():
    """tracemalloc's peak while the model draws its synapses and builds its tables (NumPy,
    before the device copies) stays below the estimate, and the estimate is not wildly above
    it (one network of about 250,000 synapses)."""
    g = _recurrent(1600, propagation="event")
    a = engine.analyze(g)
    est = engine.estimate_memory(a, g)
    model = engine.compile_graph(g)
    model.init()   # JAX compiles (or reads from its persistent cache) the init's small programs
    tracemalloc.start()
    try:
        model.init()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < est.total < 4 * peak, (peak, est.parts)


def test_the_available_memory_decides(monkeypatch):
    g = _recurrent(20_000, p=0.05)    # 2e7 synapses: about 1.2 GB estimated
    monkeypatch.setattr(memory, "available", lambda: (16 * 2**30, "test"))
    assert engine.validate(g) == []
    monkeypatch.setattr(memory, "available", lambda: (512 * 2**20, "test"))
    assert ["rec"] == [p.node for p in engine.validate(g)]
    monkeypatch.setenv("SPARK_MEMORY_CHECK", "0")
    assert engine.validate(g) == []


def test_float64_doubles_the_estimate_and_is_checked_at_compile(monkeypatch):
    g = _recurrent(20_000, p=0.02)
    a = engine.analyze(g)
    e32 = engine.estimate_memory(a, g, "float32").total
    e64 = engine.estimate_memory(a, g, "float64").total
    assert e32 < e64 < 2 * e32
    monkeypatch.setattr(memory, "available", lambda: ((e32 + e64) // 2, "test"))
    assert engine.validate(g) == []
    with pytest.raises(GraphError, match="needs about"):
        engine.compile_graph(g, dtype="float64")


def test_a_recording_too_large_is_refused_before_running(monkeypatch):
    sim = engine.Simulation(_recurrent(100), record=["pool.v"])
    monkeypatch.setattr(memory, "available", lambda: (256 * 2**20, "test"))
    with pytest.raises(GraphError, match="recording pool.v") as ei:
        sim.advance(10**9)
    assert ei.value.problems[0].node == "pool" and sim.t == 0
    assert sim.advance(100)["pool.v"].shape == (100, 100)


def test_spark_run_refuses_a_recording_too_large(monkeypatch, tmp_path, capsys):
    path = tmp_path / "net.json"
    engine.save(_recurrent(1000), path)
    monkeypatch.setattr(memory, "available", lambda: (256 * 2**20, "test"))
    rc = cli_main(["run", str(path), "--steps", "100000000", "--record", "pool.v"])
    err = capsys.readouterr().err
    assert rc == 1 and "recordings" in err and "node 'pool'" in err


def test_available_memory_respects_the_address_space_limit():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    vm = memory._proc_status("VmSize")
    if vm is None:
        pytest.skip("no /proc")
    resource.setrlimit(resource.RLIMIT_AS, (vm + 300 * 2**20, hard))
    try:
        avail, why = memory.available()
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert avail <= 300 * 2**20 and "address-space" in why


# --- a graph file must not import code ----------------------------------------------------------
@pytest.fixture
def env_module(tmp_path, monkeypatch):
    """A module that, when imported, leaves a mark and registers an environment."""
    name = "spark_test_envmod"
    mark = tmp_path / "imported"
    (tmp_path / f"{name}.py").write_text(
        "import pathlib, gymnasium\n"
        f"pathlib.Path({str(mark)!r}).write_text('yes')\n"
        "if 'SparkTestCart-v0' not in gymnasium.registry:\n"
        "    gymnasium.register('SparkTestCart-v0', "
        "entry_point='gymnasium.envs.classic_control.cartpole:CartPoleEnv')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(gym_env.ALLOW_IMPORT_ENV, raising=False)
    monkeypatch.setattr(gym_env, "_allowed", set())
    monkeypatch.setattr(gym_env, "_SPACES_CACHE", {})
    monkeypatch.delitem(sys.modules, name, raising=False)
    yield name, mark
    sys.modules.pop(name, None)


def _env_graph(env_id) -> engine.Graph:
    g = engine.Graph()
    g.add_node(engine.Node("env", "gym_env", {"env_id": env_id}))
    return g


def test_an_env_id_naming_a_module_imports_nothing_without_consent(env_module):
    name, mark = env_module
    (p,) = engine.validate(_env_graph(f"{name}:SparkTestCart-v0"))
    assert (p.node, p.param) == ("env", "env_id")
    assert f"--allow-import {name}" in p.message and f"SPARK_ALLOW_IMPORT={name}" in p.message
    assert not mark.exists() and name not in sys.modules


def test_consent_by_flag_lets_the_module_register_its_environment(env_module, tmp_path,
                                                                  capsys):
    name, mark = env_module
    path = tmp_path / "env.json"
    engine.save(_env_graph(f"{name}:SparkTestCart-v0"), path)
    assert cli_main(["validate", str(path)]) == 1 and not mark.exists()
    assert cli_main(["validate", "--allow-import", name, str(path)]) == 0
    assert mark.exists()
    assert "valid" in capsys.readouterr().out


def test_consent_by_environment_variable(env_module, monkeypatch):
    name, mark = env_module
    monkeypatch.setenv(gym_env.ALLOW_IMPORT_ENV, f"other, {name}")
    assert engine.validate(_env_graph(f"{name}:SparkTestCart-v0")) == []
    assert mark.exists()


def test_consent_names_exactly_one_module(env_module, monkeypatch):
    name, mark = env_module
    monkeypatch.setattr(gym_env, "_allowed", {name + "_other", name[:-1]})
    assert engine.validate(_env_graph(f"{name}:SparkTestCart-v0"))
    assert not mark.exists()


def test_registered_environments_need_no_consent(monkeypatch):
    monkeypatch.setattr(gym_env, "_allowed", set())
    assert engine.validate(_env_graph("CartPole-v1")) == []


def test_every_path_to_gymnasium_checks_consent(env_module, monkeypatch):
    """make_env is the one place Spark calls gym.make; observation_size (validation, ports) and
    a running node (host_reset) go through it, and a cached size does not outlive consent."""
    name, mark = env_module
    env_id = f"{name}:SparkTestCart-v0"
    monkeypatch.setattr(gym_env, "_allowed", {name})
    assert gym_env.observation_size(env_id) == 4
    monkeypatch.setattr(gym_env, "_allowed", set())
    for call in (lambda: gym_env.observation_size(env_id), lambda: gym_env.make_env(env_id)):
        with pytest.raises(gym_env.ImportNotAllowed):
            call()
    made = []
    monkeypatch.setattr("gymnasium.make", lambda *a, **k: made.append(a))
    with pytest.raises(gym_env.ImportNotAllowed):
        gym_env.make_env("os:Anything-v0", render=True)
    assert not made


@pytest.mark.parametrize("dtype", [{"": ""}, [1, 2], "float16", 3, None])
def test_a_broken_dtype_setting_is_a_problem_not_an_exception(dtype):
    """Found by the file fuzzer: ``settings.dtype`` an object made the memory estimate raise
    (numpy's dtype parser takes a dict as a structured type). Any value that is not float32 or
    float64 is reported by name, and validation never raises."""
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "resources" / "examples" / "minimal.json"
    data = json.loads(path.read_text())
    data["settings"]["dtype"] = dtype
    problems = engine.validate(engine.loads(json.dumps(data)))
    assert any("dtype" in str(p) for p in problems), problems
