"""benchmarks/bench_train.py's helpers: variant parsing, the figures of a run, the chunk clock, and
one small worker run against the trainer called directly (nothing here is timed)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_train.py"


@pytest.fixture(scope="module")
def bt():
    spec = importlib.util.spec_from_file_location("bench_train_under_test", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_trees_keep_their_order_and_resolve(bt, tmp_path):
    trees = bt.parse_trees(f"before={tmp_path},after=.")
    assert list(trees) == ["before", "after"]
    assert trees["before"] == tmp_path.resolve() and trees["after"] == Path(".").resolve()


@pytest.mark.parametrize("text", ["before", "=/tmp", "a=/x,a=/y", ""])
def test_bad_trees_are_refused(bt, text):
    with pytest.raises(ValueError, match="--trees"):
        bt.parse_trees(text)


def test_env_variant_defaults_to_the_last_tree(bt):
    trees = {"before": Path("/b"), "after": Path("/a")}
    assert bt.parse_env_variant("native=SPARK_NATIVE=1", trees) == (
        "native", "after", {"SPARK_NATIVE": "1"})
    assert bt.parse_env_variant("before:cold=SPARK_JAX_CACHE=0,XLA_FLAGS=--a=b", trees) == (
        "cold", "before", {"SPARK_JAX_CACHE": "0", "XLA_FLAGS": "--a=b"})


@pytest.mark.parametrize("text, match", [("native", "expected"), ("native=SPARK_NATIVE", "VAR=VAL"),
                                         ("other:native=A=1", "unknown tree"),
                                         ("native==1", "VAR=VAL")])
def test_bad_env_variants_are_refused(bt, text, match):
    with pytest.raises(ValueError, match=match):
        bt.parse_env_variant(text, {"after": Path("/a")})


def test_variants_list_trees_then_env_variants(bt):
    trees = {"before": Path("/b"), "after": Path("/a")}
    vs = bt.variants(trees, ["native=SPARK_NATIVE=1"])
    assert [(v["label"], v["folder"], v["env"]) for v in vs] == [
        ("before", Path("/b"), {}), ("after", Path("/a"), {}),
        ("native", Path("/a"), {"SPARK_NATIVE": "1"})]
    with pytest.raises(ValueError, match="already taken"):
        bt.variants(trees, ["after=SPARK_NATIVE=1"])


def test_run_figures_split_set_up_from_the_steady_part(bt):
    # train() called at t=10; chunk 1 (compile + run) 12-17; chunks of 1, 0.5 and 1 s, with
    # 1.5 s of host work between them
    raw = {"import_s": 2.0, "start": 10.0, "end": 21.0, "agents": 25, "chunk": 500,
           "steps_per_env_step": 20,
           "calls": [(12.0, 17.0), (17.5, 18.5), (19.0, 19.5), (20.0, 21.0)]}
    f = bt.run_figures(raw)
    assert f["build_s"] == pytest.approx(2.0)
    assert f["compile_s"] == pytest.approx(4.0)         # 5 s less one steady chunk
    assert f["setup_s"] == pytest.approx(8.0)
    assert f["steady_s"] == pytest.approx(4.0)
    assert f["host_s"] == pytest.approx(1.5) and f["host_share"] == pytest.approx(0.375)
    assert f["agent_env_steps_per_s"] == pytest.approx(25 * 1500 / 4.0)
    assert f["network_steps_per_s"] == pytest.approx(20 * 25 * 1500 / 4.0)
    assert f["chunk_ms"] == pytest.approx(1000.0) and f["best_chunk_ms"] == pytest.approx(500.0)
    assert f["best_agent_env_steps_per_s"] == pytest.approx(25 * 500 / 0.5)
    with pytest.raises(ValueError, match="two chunks"):
        bt.run_figures({**raw, "calls": raw["calls"][:1]})


def test_chunk_clock_times_only_the_jitted_chunk(bt):
    class Model:
        def jit(self, fn):
            return lambda *a: fn(*a) + 1

    tr = SimpleNamespace(compile_graph=lambda graph: Model())
    clock = bt.ChunkClock()
    clock.install(tr)
    model = tr.compile_graph("g")
    fn = model.jit(lambda x: 2 * x)
    assert [fn(1), fn(5)] == [3, 11]
    assert len(clock.calls) == 2 and all(a <= b for a, b in clock.calls)


def test_worker_runs_the_trainer_of_its_tree_with_its_environment(bt):
    from spark_snn import engine
    from spark_snn.engine import train as tr

    a = SimpleNamespace(graph=str(ROOT / "resources" / "examples" / "cartpole.json"), agents=2,
                        chunk=25, seed=3, timeout=300)
    v = {"label": "probe", "folder": ROOT, "env": {"SPARK_BENCH_PROBE": "42"}}
    out = bt.run_variant(v, a, 75, program=True)
    assert out["env_seen"] == {"SPARK_BENCH_PROBE": "42"}
    assert Path(out["trainer"]).resolve() == (ROOT / "engine" / "train.py").resolve()
    assert out["env_steps"] == 75 and out["steps_per_env_step"] == 20
    assert len(out["program"]["digest"]) == 12 and out["program"]["flops"] > 0
    lengths, info = tr.train(engine.load(a.graph), 2, 10**9, 3, chunk_env_steps=25,
                             progress=False, max_env_steps=75)
    assert out["episodes"] == sum(map(len, lengths)) > 0
    assert out["digest"] == bt.episodes_digest(lengths)
