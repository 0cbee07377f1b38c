"""The fast set-up of fixed_fan_in projections draws exactly what the NumPy loop drew.

References: NumPy's own ``Generator.choice(m, k, replace=False)`` called once per post neuron
(the rule in components/projection.py before the C++ draws), a sort by (pre, post), the weight
rule of the projection's docstring, and per-row table filling in plain Python loops. Each case
runs with the C++ library (components/native/draws.cc) and without it (``SPARK_NATIVE=0``).
"""
from __future__ import annotations

import os
import shutil

import jax
import numpy as np
import pytest

from spark_snn.components import fan_in, projection
from spark_snn.components.native import draws
from spark_snn.components.projection import Projection, draw_connectivity, padded_tables
from spark_snn.engine import Simulation
from spark_snn.engine.compiler import _to_device, node_rng
from tests.conftest import graph_of as graph


@pytest.fixture
def lib(monkeypatch):
    """The draws library, built (a machine with a C++ compiler must build it)."""
    monkeypatch.delenv("SPARK_NATIVE", raising=False)
    if not (os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")):
        pytest.skip("no C++ compiler on this machine: NumPy draws")
    assert draws.library() is not None


@pytest.fixture(params=["native", "numpy"])
def mode(request, monkeypatch):
    """Both ways of drawing: the C++ library, and NumPy alone (SPARK_NATIVE=0)."""
    if request.param == "native":
        request.getfixturevalue("lib")
    else:
        monkeypatch.setenv("SPARK_NATIVE", "0")
    return request.param


def choice_rows(rng, m, k, n_post, exclude_own):
    """The reference: one ``rng.choice`` per post neuron, own index skipped."""
    out = np.empty((n_post, k), np.int64)
    for j in range(n_post):
        idx = rng.choice(m, size=k, replace=False)
        out[j] = idx + (idx >= j) if exclude_own else idx
    return out


# (m, k, rows, exclude own): Floyd's method with and without repeats, k = 0, k = m, m = 1,
# the tail shuffle (m > 10000 and k > m // 50) including k = m and k = m - 1, a population
# above 2^24 (a hash set instead of marks), neurons skipping their own index
CASES = [(10, 3, 40, False), (100, 100, 5, False), (1, 1, 3, False), (7, 0, 3, False),
         (64, 63, 20, True), (20000, 1000, 3, False), (20000, 20000, 2, False),
         (20001, 20000, 2, True), (12000, 11999, 2, False), (10001, 200, 6, False),
         (10001, 201, 4, True), (1000, 100, 300, True), (10**6, 100, 40, True),
         (2**31 - 1, 5, 4, False), (3 * 2**24, 40, 5, True)]


@pytest.mark.parametrize("m,k,n_post,excl", CASES + [(300, 20, 5000, False), (2, 1, 5000, True),
                                                     (2**31 - 1, 100, 300, True),
                                                     (1_431_655_766, 50, 40, False)])
@pytest.mark.parametrize("seed", [0, 12345])
@pytest.mark.parametrize("odd", [False, True])
def test_rows_are_numpys_choice_and_leave_the_same_generator(mode, m, k, n_post, excl, seed,
                                                             odd, monkeypatch):
    """Row for row NumPy's choice, and the generator left in the same state (the buffered half
    of a 64-bit draw included: ``odd`` starts with one 32-bit draw taken); in C++ and in
    NumPy (``fan_in_rows``: a block of rows at once, in small blocks here). With m near 2^32
    / 3 about a third of the 32-bit words are rejected by the bounded draws."""
    monkeypatch.setattr(fan_in, "ROW_BLOCK", 7)
    monkeypatch.setattr(fan_in, "_WINDOW", 50)
    a, b = np.random.default_rng([seed, m]), np.random.default_rng([seed, m])
    if odd:
        a.integers(0, 9, dtype=np.int32), b.integers(0, 9, dtype=np.int32)
    want = choice_rows(a, m, k, n_post, excl)
    got = (draws.fan_in_rows if mode == "native" else fan_in.fan_in_rows)(b, m, k, n_post, excl)
    assert got.dtype == np.int32 and got.shape == (n_post, k)
    assert np.array_equal(got, want)
    assert b.bit_generator.state == a.bit_generator.state
    assert b.integers(0, 2**40, 5).tolist() == a.integers(0, 2**40, 5).tolist()


def test_native_rows_only_for_pcg64_and_turned_off_by_spark_native(lib, monkeypatch):
    assert draws.fan_in_rows(np.random.Generator(np.random.MT19937(1)), 9, 3, 2, False) is None
    assert draws.fan_in_rows(np.random.default_rng(1), 2**31, 3, 2, False) is None
    monkeypatch.setenv("SPARK_NATIVE", "0")
    assert draws.library() is None
    assert draws.fan_in_rows(np.random.default_rng(1), 9, 3, 2, False) is None
    assert draws.sort_rows(np.zeros((2, 1), np.int32), 3) is None


def test_sort_rows_is_a_sort_by_pre_then_post(lib):
    rows = draws.fan_in_rows(np.random.default_rng(3), 3000, 50, 2500, False)
    pre, post = draws.sort_rows(rows, 3000)
    want = sorted((int(p), j) for j in range(2500) for p in rows[j])
    assert list(zip(pre.tolist(), post.tolist())) == want
    assert pre.dtype == post.dtype == np.int64
    with pytest.raises(ValueError, match="out of range"):
        draws.sort_rows(np.array([[0, 3]], np.int32), 3)


def test_fill_targets_rejects_a_table_too_narrow(lib):
    t = np.full((3, 1), 9, np.int32)
    with pytest.raises(ValueError, match="out of range"):
        draws.fill_targets(np.array([[0], [0]], np.int32), t)


def reference_tables(cfg, n_pre, n_post, rng, dtype):
    """The tables by the rule, in plain loops: choice rows, synapses sorted by (pre, post),
    weights |weight| * max(factor, 0) with the sign of the pre neuron, one row per pre neuron."""
    excl = not cfg["autapses"] and n_pre == n_post
    rows = choice_rows(rng, n_pre - excl, cfg["fan_in"], n_post, excl)
    syn = sorted((int(p), j) for j in range(n_post) for p in rows[j])
    n, s = len(syn), cfg["weight_spread"]
    f = {"constant": lambda: np.ones(n), "uniform": lambda: rng.uniform(1 - s, 1 + s, n),
         "normal": lambda: 1 + s * rng.standard_normal(n),
         "lognormal": lambda: rng.lognormal(-np.log1p(s * s) / 2, np.sqrt(np.log1p(s * s)), n)
         }[cfg["weight_init"]]()
    w = np.maximum(f, 0.0) * cfg["weight"]
    n_exc = round(cfg["excitatory_fraction"] * n_pre)
    for e, (p, _) in enumerate(syn):
        if cfg["sign"] == "inhibitory":
            w[e] = -w[e]
        elif cfg["sign"] == "mixed" and p >= n_exc:
            w[e] *= -cfg["inhibitory_ratio"]
    fan = max(max(np.bincount([p for p, _ in syn], minlength=n_pre)), 1)
    targets = np.full((n_pre + 1, fan), n_post, np.int32)
    weights = np.zeros((n_pre + 1, fan), dtype)
    col = [0] * n_pre
    for (p, j), x in zip(syn, w):
        targets[p, col[p]], weights[p, col[p]] = j, x
        col[p] += 1
    return targets, weights


@pytest.mark.parametrize("n_pre,n_post,k,autapses,init,sign", [
    (300, 300, 20, False, "uniform", "mixed"), (300, 300, 299, False, "normal", "mixed"),
    (50, 400, 50, True, "lognormal", "excitatory"), (700, 90, 3, True, "constant", "inhibitory"),
    (5000, 30, 300, True, "uniform", "mixed"), (1, 4, 1, True, "normal", "mixed")])
def test_fan_in_tables_are_the_tables_of_the_drawn_synapses(mode, n_pre, n_post, k, autapses,
                                                            init, sign, monkeypatch):
    """fan_in_tables (in blocks of a few pre neurons here) = padded_tables of draw_connectivity
    and draw_weights = the rule in loops, entry for entry; read-only, 64-byte aligned."""
    monkeypatch.setattr(fan_in, "TABLE_BLOCK", 7)
    monkeypatch.setattr(fan_in, "ROW_BLOCK", 3)
    cfg = {**Projection.defaults(), "connectivity": "fixed_fan_in", "fan_in": k,
           "autapses": autapses, "weight": 0.7, "weight_init": init, "weight_spread": 0.6,
           "sign": sign, "excitatory_fraction": 0.8, "inhibitory_ratio": 4.0}
    want = reference_tables(cfg, n_pre, n_post, np.random.default_rng(5), np.float32)
    got = fan_in.fan_in_tables(cfg, n_pre, n_post, np.random.default_rng(5), np.float32)
    comp = Projection(cfg, {"n_pre": n_pre, "n_post": n_post}, 0.1, np.float32)
    pre, post, w = comp.synapses(np.random.default_rng(5))
    via_synapses = padded_tables(pre, post, w, n_pre, n_post, np.float32)
    for g, s, r in zip(got, via_synapses, want):
        assert g.dtype == r.dtype and np.array_equal(g, r) and np.array_equal(s, r)
        assert not g.flags.writeable and g.ctypes.data % 64 == 0


def test_padded_tables_list_each_pre_neurons_synapses_in_order(monkeypatch):
    monkeypatch.setattr(fan_in, "TABLE_BLOCK", 5)
    rng = np.random.default_rng(2)
    pre = np.sort(rng.integers(0, 40, 500))
    post = rng.integers(0, 30, 500)
    w = rng.standard_normal(500)
    t, wt = padded_tables(pre, post, w, 41, 30, np.float64)
    assert t.shape == wt.shape == (42, np.bincount(pre).max())
    for p in range(42):
        mine = post[pre == p]
        assert t[p, :mine.size].tolist() == mine.tolist()
        assert np.all(t[p, mine.size:] == 30) and np.all(wt[p, mine.size:] == 0)
        assert wt[p, :mine.size].tolist() == w[pre == p].tolist()


@pytest.mark.parametrize("a,want", [([], True), ([4], True), ([2, 2], True), ([3, 1], False),
                                    (list(range(600_000)) + [5], False),
                                    (list(range(2**18)) + [2**18 - 2], False),
                                    (list(range(2**18 + 1)), True)])
def test_ascending_in_blocks(a, want):
    assert projection._ascending(np.array(a, np.int64)) is want


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="in place on the CPU only")
def test_read_only_arrays_go_to_the_device_without_a_copy():
    a = fan_in.aligned_full((1000, 300), 3, np.float32)
    a.flags.writeable = False
    x = _to_device(a)
    assert x.unsafe_buffer_pointer() == a.ctypes.data and np.array_equal(np.asarray(x), a)
    b = fan_in.aligned_full((1000, 300), 3, np.float32)
    y = _to_device(b)
    b[0, 0] = 5                       # a writable array is copied: the device keeps 3
    assert float(y[0, 0]) == 3.0 and isinstance(y, jax.Array)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_simulation_holds_the_tables_of_the_rule(mode, dtype):
    """Through the engine: a recurrent fixed_fan_in pool's device tables are the reference
    tables drawn from the node's own generator, and its JAX key is JAX's own."""
    cfg = {"connectivity": "fixed_fan_in", "fan_in": 30, "autapses": False, "weight": 0.5,
           "weight_init": "uniform", "weight_spread": 0.5, "sign": "mixed",
           "excitatory_fraction": 0.8, "inhibitory_ratio": 5.0}
    g = graph(("pool", "lif", {"size": 400}), ("rec", "projection", cfg),
              edges=[("pool.spikes", "rec.pre"), ("rec.events", "pool.syn")], seed=7,
              dtype=dtype)
    sim = Simulation(g)
    want = reference_tables({**Projection.defaults(), **cfg}, 400, 400,
                            node_rng(7, sim.model.seed_key("rec")), np.dtype(dtype))
    got = sim.consts["rec"]
    assert got["weights"].dtype == want[1].dtype
    assert np.array_equal(np.asarray(got["targets"]), want[0])
    assert np.array_equal(np.asarray(got["weights"]), want[1])
    assert np.array_equal(np.asarray(sim.state["key"]), np.asarray(jax.random.PRNGKey(7)))


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1])
def test_numpy_threefry_keys_are_jaxs(seed):
    """prng_key and fold_in written in NumPy give jax.random.PRNGKey and fold_in's keys."""
    from spark_snn.engine import threefry
    key = threefry.prng_key(seed)
    assert key.dtype == np.uint32 and np.array_equal(key, np.asarray(jax.random.PRNGKey(seed)))
    data = np.array([0, 1, 77, 2**31, 2**32 - 1, 3_141_592_653], np.uint32)
    want = np.stack([np.asarray(jax.random.fold_in(jax.random.PRNGKey(seed), int(d)))
                     for d in data])
    assert np.array_equal(threefry.fold_in(key, data), want)
    assert threefry.prng_key(-1) is None and threefry.prng_key(2**31) is None


def test_numpy_values_go_to_the_device_with_jnp_asarrays_types():
    for x in (np.zeros(3), np.zeros(3, np.int64), np.float32(2), np.int32(0), np.ones(2, bool),
              np.zeros((2, 0), np.float32)):
        got, want = _to_device(x), jax.numpy.asarray(x)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.weak_type == want.weak_type and np.array_equal(got, want)


@pytest.mark.parametrize("n_pre,n_post,p", [(300, 200, 0.1), (1, 1, 0.5), (40, 3000, 0.02),
                                            (50, 60, 0.0), (30, 20, 1.0), (0, 5, 0.5),
                                            (1000, 1, 0.3)])
def test_native_pairs_are_numpys_uniforms_below_p(lib, n_pre, n_post, p):
    """``rng.random((n_pre, n_post)) < p`` in row order, and the generator left alike."""
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    b.integers(0, 9, dtype=np.int32), a.integers(0, 9, dtype=np.int32)   # a buffered half
    want = np.nonzero(a.random((n_pre, n_post)) < p)
    got = draws.pairs_below(b, n_pre, n_post, p, n_pre * n_post)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert b.bit_generator.state == a.bit_generator.state


def test_pairs_beyond_the_capacity_leave_the_generator_untouched(lib):
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    assert draws.pairs_below(rng, 100, 100, 0.5, 10) is None
    assert rng.bit_generator.state == before


@pytest.mark.parametrize("autapses", [True, False])
def test_fixed_probability_is_the_same_with_and_without_the_library(lib, monkeypatch, autapses):
    cfg = {"connectivity": "fixed_probability", "p": 0.07, "autapses": autapses}
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    got = draw_connectivity(cfg, 700, 700, a)
    monkeypatch.setenv("SPARK_NATIVE", "0")
    want = draw_connectivity(cfg, 700, 700, b)
    assert got[0].size > 30_000 and np.array_equal(got[0], want[0])
    assert np.array_equal(got[1], want[1]) and a.bit_generator.state == b.bit_generator.state


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="in place on the CPU only")
def test_a_writable_array_is_copied_into_an_aligned_buffer():
    b = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    y = _to_device(b)
    assert y.unsafe_buffer_pointer() % 64 == 0 and y.unsafe_buffer_pointer() != b.ctypes.data
    assert np.array_equal(np.asarray(y), b) and y.shape == (3, 4)


def test_without_a_compiler_numpy_draws_the_same_synapses(lib, tmp_path):
    """A compiler that fails (CXX=false, an empty library folder): the draws library is
    reported unavailable once and NumPy draws the same fixed_fan_in and fixed_probability
    synapses as the C++ code here."""
    import subprocess
    import sys
    from pathlib import Path
    code = ("import numpy as np\n"
            "from spark_snn.components.native import draws\n"
            "from spark_snn.components.projection import draw_connectivity\n"
            "print(draws.library() is None)\n"
            "for cfg in ({'connectivity': 'fixed_fan_in', 'fan_in': 25, 'autapses': False},\n"
            "            {'connectivity': 'fixed_probability', 'p': 0.1, 'autapses': True}):\n"
            "    pre, post = draw_connectivity(cfg, 600, 600, np.random.default_rng(2))\n"
            "    print(pre.tolist() == sorted(pre.tolist()), int((pre * 600 + post).sum()))\n")
    env = {k: v for k, v in os.environ.items() if k != "SPARK_NATIVE"}
    env.update(CXX=shutil.which("false") or "/bin/false", SPARK_NATIVE_DIR=str(tmp_path / "k"))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert r.returncode == 0, r.stderr
    assert "native draws unavailable" in r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "True"
    for line, cfg in zip(lines[1:3], ({"connectivity": "fixed_fan_in", "fan_in": 25,
                                       "autapses": False},
                                      {"connectivity": "fixed_probability", "p": 0.1,
                                       "autapses": True})):
        pre, post = draw_connectivity(cfg, 600, 600, np.random.default_rng(2))
        assert line == f"True {int((pre * 600 + post).sum())}"
