"""The XLA options the engine compiles its programs with (engine/xla_options.py): XLA's classic
loop emitter for a network's own programs on the CPU, XLA's default where the run's speed
counts more (vmapped training and sweeps, large networks, no native kernels) or the user asks,
and the same spikes as XLA's default emitters."""
from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from spark_snn import engine
from spark_snn.components import native
from spark_snn.engine import compiler, xla_options
from spark_snn.engine import train as tr

from conftest import ei_graph

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
CLASSIC = {"xla_cpu_use_fusion_emitters": False}


@pytest.fixture
def plain_env(monkeypatch):
    monkeypatch.delenv("SPARK_XLA_EMITTERS", raising=False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    return monkeypatch


@pytest.fixture
def with_native(plain_env):
    """As if the native kernels were built (only compiler_options is called under it)."""
    plain_env.setattr(native, "available", lambda: True)
    return plain_env


def test_a_networks_own_programs_get_the_classic_emitter(with_native):
    assert xla_options.compiler_options(1024) == CLASSIC
    assert xla_options.compiler_options(xla_options.CLASSIC_MAX_SIZE) == CLASSIC


@pytest.mark.parametrize("case", ["throughput", "large", "no native kernels", "env fusion",
                                  "xla flags"])
def test_xlas_default_where_the_run_counts_or_the_user_asks(with_native, case):
    plain_env = with_native
    largest, throughput = 1024, False
    if case == "throughput":
        throughput = True
    elif case == "large":
        largest = xla_options.CLASSIC_MAX_SIZE + 1
    elif case == "no native kernels":
        plain_env.setattr(native, "available", lambda: False)
    elif case == "env fusion":
        plain_env.setenv("SPARK_XLA_EMITTERS", "fusion")
    else:
        plain_env.setenv("XLA_FLAGS", "--xla_cpu_use_fusion_emitters=true")
    assert xla_options.compiler_options(largest, throughput) is None


def test_the_user_can_ask_for_the_classic_emitter_everywhere(with_native):
    plain_env = with_native
    plain_env.setenv("SPARK_XLA_EMITTERS", "classic")
    plain_env.setattr(native, "available", lambda: False)
    assert xla_options.compiler_options(10**6, throughput=True) == CLASSIC


def _spy(monkeypatch):
    seen = []
    real = jax.jit

    def spy(fn, **kw):
        seen.append(kw.get("compiler_options"))
        return real(fn, **kw)

    monkeypatch.setattr(compiler.jax, "jit", spy)
    return seen


@pytest.mark.skipif(not native.available(), reason="the native kernels could not be built")
def test_a_simulations_programs_and_a_trainings_programs(plain_env):
    seen = _spy(plain_env)
    sim = engine.Simulation(ei_graph(), record=["exc.spikes"])
    sim.advance(5)
    assert seen and all(o == CLASSIC for o in seen)
    seen.clear()
    tr.train(engine.load(EXAMPLES / "cartpole.json"), 2, 1, seed=5, chunk_env_steps=20,
             progress=False)
    assert seen and all(o is None for o in seen)


def _run(monkeypatch, emitters, graph, steps, record):
    if emitters:
        monkeypatch.setenv("SPARK_XLA_EMITTERS", emitters)
    else:
        monkeypatch.delenv("SPARK_XLA_EMITTERS", raising=False)
    sim = engine.Simulation(graph, record=record)
    recs = sim.advance(steps, chunk=steps // 2)
    state = jax.tree_util.tree_leaves(sim.state)
    return recs, [np.asarray(x) for x in state]


@pytest.mark.parametrize("name, steps, record, exact", [
    ("cartpole.json", 1200, ["left.spikes", "right.spikes", "left.v", "cart.observation"], False),
    ("benchmark_7pools.json", 400, ["pool0.spikes", "pool3.spikes", "pool6.v"], True),
])
@pytest.mark.skipif(not native.available(), reason="the native kernels could not be built")
def test_the_same_spikes_as_xlas_default_emitters(monkeypatch, name, steps, record, exact):
    """Every recorded value is identical. The two emitters may round a reduction differently
    (cartpole's critic sums its traces): those states agree to float32 rounding, and the spikes
    stay identical (30,000 steps of cartpole.json, checked when this was written); the 7-pool
    network has no such reduction and its state is identical bit for bit."""
    graph = engine.load(EXAMPLES / name)
    ref_recs, ref_state = _run(monkeypatch, "fusion", graph, steps, record)
    recs, state = _run(monkeypatch, None, graph, steps, record)
    assert sum(int(np.sum(ref_recs[k])) for k in record if k.endswith(".spikes")) > 20
    for k in record:
        np.testing.assert_array_equal(recs[k], ref_recs[k], err_msg=k)
    assert len(state) == len(ref_state)
    for a, b in zip(state, ref_state):
        assert a.dtype == b.dtype
        if exact or not np.issubdtype(a.dtype, np.floating):
            np.testing.assert_array_equal(np.atleast_1d(a).view(np.uint8),
                                          np.atleast_1d(b).view(np.uint8))
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
