"""Network operations (Simulation.operate, engine/operations.py): a Python function called every
``every`` steps of one compiled run through the native host call (components/native/hostio.py).

Reference: the loop a user writes without operations, ``set_input`` + ``advance(every,
chunk=every)`` with the counts read from ``totals``: the spikes, counts, watched values, records
and the whole state must be identical, in float32 and float64, natively and from the Python
fallback. Also: failures leave the simulation as it was, bad arguments are refused by name, the
callback may use NumPy and JAX and run in threads, the compiled program holds no address.
"""
from __future__ import annotations

import os
import shutil
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ei_graph, overflow_graph

from spark_snn.components.native import hostio
from spark_snn.engine import (GraphError, Node, OperationError, Simulation, SimulationError,
                               operations)

COUNT = ("exc.spikes", "inh.spikes")
INPUTS = ("stim", "stim2")


def _use(kind, monkeypatch):
    if kind == "native":
        monkeypatch.delenv("SPARK_NATIVE", raising=False)
        if not (os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")):
            pytest.skip("no C++ compiler on this machine: operations run the Python loop")
        assert hostio.available()

        def no_loop(*a, **k):
            raise AssertionError("the native path fell back to the Python loop")
        monkeypatch.setattr(operations, "run_loop", no_loop)
    else:
        monkeypatch.setenv("SPARK_NATIVE", "0")
    return kind


@pytest.fixture(params=["native", "loop"])
def path(request, monkeypatch):
    """Run each test through the compiled run (native host calls) and the Python loop."""
    return _use(request.param, monkeypatch)


@pytest.fixture
def native(monkeypatch):
    """The compiled run with native host calls (a machine with a compiler must build them)."""
    return _use("native", monkeypatch)


def driven_graph(dtype="float32"):
    """The small E/I network with two host inputs (grouped into one runtime node)."""
    g = ei_graph(amplitude=18.0)
    g.settings["dtype"] = dtype
    g.add_node(Node("stim", "host_input", {"size": 40}))
    g.add_node(Node("stim2", "host_input", {"size": 10}))
    g.connect("stim.out", "exc.current")
    g.connect("stim2.out", "inh.current")
    return g


def rule(t, counts, watched):
    """Closed-loop inputs from the step, the last block's spike counts and a watched value."""
    exc = 6.0 + 4.0 * np.sin(t / 7.0) + 3.0 * counts["exc.spikes"]
    inh = 12.0 + 2.0 * counts["inh.spikes"] + 0.05 * (watched["inh.v"] + 65.0)
    return {"stim": exc, "stim2": inh}


def make(dtype, record=()):
    return Simulation(driven_graph(dtype), count=COUNT, watch=["inh.v"], record=record)


def reference(sim, n_steps, every):
    """The loop without operations: what the operation saw at each call, and the records."""
    seen, parts = [], {n: [] for n in sim.record}
    counts = {n: np.zeros(sim.port_size(n), np.int64) for n in COUNT}
    done = 0
    while done < n_steps:
        watched = {"inh.v": sim.output("inh.v").copy()}
        seen.append((sim.t, {n: c.copy() for n, c in counts.items()}, watched))
        for node, v in rule(sim.t, counts, watched).items():
            sim.set_input(node, v)
        before = {n: sim.totals[n].copy() for n in COUNT}
        m = min(every, n_steps - done)
        for n, v in sim.advance(m, chunk=m).items():
            parts[n].append(v)
        counts = {n: sim.totals[n] - before[n] for n in COUNT}
        done += m
    return seen, {n: np.concatenate(v) for n, v in parts.items()}


def operation(seen):
    def feed(io):
        seen.append((io.t, {n: c.astype(np.int64) for n, c in io.counts.items()},
                     {n: v.copy() for n, v in io.watched.items()}))
        for node, v in rule(io.t, io.counts, io.watched).items():
            io.inputs[node][:] = v
    return feed


def assert_same(a: Simulation, b: Simulation):
    assert a.t == b.t
    for x, y in zip(jax.tree_util.tree_leaves(a.state), jax.tree_util.tree_leaves(b.state)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    for n in COUNT:
        np.testing.assert_array_equal(a.totals[n], b.totals[n])
    for node in INPUTS:
        np.testing.assert_array_equal(a.params[node]["value"], b.params[node]["value"])
    np.testing.assert_array_equal(a.output("inh.v"), b.output("inh.v"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("every,n_steps", [(1, 200), (7, 300)])
def test_operation_equals_the_set_input_advance_loop(path, dtype, every, n_steps):
    ref = make(dtype, record=("exc.spikes", "inh.v"))
    want_seen, want_recs = reference(ref, n_steps, every)
    sim = make(dtype, record=("exc.spikes", "inh.v"))
    seen = []
    recs = sim.operate(n_steps, operation(seen), every=every, inputs=INPUTS)
    assert [s[0] for s in seen] == [s[0] for s in want_seen] == list(range(0, n_steps, every))
    for (_t, c, w), (_t2, c2, w2) in zip(seen, want_seen):
        for n in COUNT:
            np.testing.assert_array_equal(c[n], c2[n])
        np.testing.assert_array_equal(w["inh.v"], w2["inh.v"])
    assert sum(int(c["inh.spikes"].sum()) for _t, c, _w in seen) > 5   # the network spikes
    assert sum(int(c["exc.spikes"].sum()) for _t, c, _w in seen) > 30
    for n in want_recs:
        assert recs[n].shape == want_recs[n].shape
        np.testing.assert_array_equal(recs[n], want_recs[n])
    assert_same(sim, ref)
    # a second run continues exactly as the loop does
    more_seen, _ = reference(ref, 2 * every + 1, every)
    seen.clear()
    sim.operate(2 * every + 1, operation(seen), every=every, inputs=INPUTS)
    assert [s[0] for s in seen] == [s[0] for s in more_seen]
    assert_same(sim, ref)


def test_native_and_loop_agree_without_recording(monkeypatch):
    """The compiled run without records (its number of blocks is an argument) and the loop."""
    sims = {}
    for native in ("1", "0"):
        monkeypatch.setenv("SPARK_NATIVE", native)
        sims[native] = make("float32")
        sims[native].operate(173, operation([]), every=4, inputs=INPUTS)
    assert_same(sims["1"], sims["0"])
    assert ("operate", 4, None, (), ("inh.v",), COUNT, True) in sims["1"]._fns


def test_the_program_holds_a_slot_argument_not_an_address(native):
    from spark_snn.engine.operations_native import program
    sim = make("float32")
    prog = program(sim, 3, None)
    args = (sim._device_params()[1], sim.consts, sim._packed,
            np.zeros(sim._aux_layout()[0].size, np.uint32))
    texts = [prog.lower(np.int32(slot), np.int32(5), *args).as_text() for slot in (0, 7)]
    assert texts[0] == texts[1] and "spark_host_call" in texts[0]


def _state_of(sim):
    return [np.asarray(x).copy() for x in jax.tree_util.tree_leaves(sim.state)]


def test_an_exception_stops_the_run_and_leaves_the_simulation_as_it_was(path):
    sim = make("float32")
    sim.operate(20, operation([]), every=2, inputs=INPUTS)
    before = _state_of(sim)
    totals = {n: v.copy() for n, v in sim.totals.items()}
    value = sim.params["stim"]["value"].copy()
    calls = []

    def explode(io):
        calls.append(io.t)
        io.inputs["stim"][:] = 99.0
        if len(calls) == 4:
            raise ValueError("sensor offline")

    with pytest.raises(OperationError, match=r"operation 'explode' raised at step 26") as err:
        sim.operate(100, explode, every=2, inputs=INPUTS)
    assert isinstance(err.value.__cause__, ValueError)
    assert str(err.value.__cause__) == "sensor offline"
    assert err.value.name == "explode" and err.value.step == 26 and err.value.start == 20
    assert calls == [20, 22, 24, 26]
    assert sim.t == 20
    for x, y in zip(_state_of(sim), before):
        np.testing.assert_array_equal(x, y)
    for n in COUNT:
        np.testing.assert_array_equal(sim.totals[n], totals[n])
    np.testing.assert_array_equal(sim.params["stim"]["value"], value)
    # still usable: running on gives what a simulation that never failed gives
    ref = make("float32")
    ref.operate(20, operation([]), every=2, inputs=INPUTS)
    sim.operate(30, operation([]), every=3, inputs=INPUTS, name="again")
    ref.operate(30, operation([]), every=3, inputs=INPUTS)
    assert_same(sim, ref)


def test_keyboard_interrupt_passes_through_unwrapped(path):
    sim = make("float32")

    def stop(io):
        if io.t == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sim.operate(50, stop, every=3)
    assert sim.t == 0


def test_a_nan_input_is_refused_by_node_name(path):
    sim = make("float32")

    def bad(io):
        io.inputs["stim"][:] = 1.0
        io.inputs["stim2"][3] = np.nan if io.t >= 4 else 0.0

    with pytest.raises(GraphError, match=r"stim2.*value.*NaN or infinite value at step 4"):
        sim.operate(20, bad, every=2, inputs=INPUTS)
    assert sim.t == 0 and np.isfinite(sim.params["stim2"]["value"]).all()
    assert not sim.params["stim"]["value"].any()


def test_a_non_finite_state_stops_the_run_where_it_started(path):
    g = overflow_graph()
    g.add_node(Node("in", "host_input", {"size": 4}))
    g.connect("in.out", "a.current")
    sim = Simulation(g)
    sim.advance(3, chunk=3)
    with pytest.raises(SimulationError, match="NaN or infinite"):
        sim.operate(200, lambda io: None, every=5, inputs=["in"])
    assert sim.t == 3
    assert all(np.isfinite(x).all() for x in _state_of(sim) if x.dtype.kind == "f")


def test_bad_arguments_are_refused_clearly():
    sim = make("float32")
    for every in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="every must be an integer >= 1"):
            sim.operate(10, lambda io: None, every=every)
    with pytest.raises(ValueError, match="n_steps"):
        sim.operate(-1, lambda io: None)
    with pytest.raises(TypeError, match="callable"):
        sim.operate(10, "not a function")
    with pytest.raises(GraphError, match="nobody.*no such node"):
        sim.operate(10, lambda io: None, inputs=["nobody"])
    with pytest.raises(GraphError, match="'exc'.*'lif' node is not a host input"):
        sim.operate(10, lambda io: None, inputs=["stim", "exc"])
    assert sim.t == 0


def test_the_function_cannot_run_or_edit_the_simulation_itself(path):
    sim = make("float32")
    for act in (lambda io: sim.advance(1), lambda io: sim.set_input("stim", 1.0),
                lambda io: sim.operate(1, lambda j: None), lambda io: sim.reset()):
        with pytest.raises(OperationError) as err:
            sim.operate(10, act, every=2, name="meddle")
        assert isinstance(err.value.__cause__, RuntimeError)
        assert "inside operation 'meddle'" in str(err.value.__cause__)
    assert sim.t == 0
    sim.set_input("stim", 1.0)   # allowed again after the run


def test_the_function_may_use_numpy_and_jax_and_write_through_set(path):
    """A callback that runs other XLA programs and NumPy work from inside the compiled run."""
    sim = make("float32")
    ref = make("float32")
    seen = []

    def busy(io):
        x = jnp.sum(jnp.asarray(io.counts["exc.spikes"], jnp.float32) * 2.0)
        y = np.linalg.norm(np.outer(np.arange(30.0), np.ones(30)))
        seen.append((float(x), y))
        io.set("stim", 8.0 + float(x) / 10.0)

    sim.operate(60, busy, every=3, inputs=["stim"])
    out = []
    counts = np.zeros(40, np.int64)
    for _ in range(20):
        x = float(np.sum(counts.astype(np.float32) * 2.0))
        out.append(x)
        ref.set_input("stim", 8.0 + x / 10.0)
        before = ref.totals["exc.spikes"].copy()
        ref.advance(3, chunk=3)
        counts = ref.totals["exc.spikes"] - before
    assert [s[0] for s in seen] == out
    np.testing.assert_array_equal(sim.totals["exc.spikes"], ref.totals["exc.spikes"])


def test_operations_run_in_threads_at_the_same_time(path):
    """Two simulations operated from two threads (two host-call slots) while the main thread
    holds the GIL now and then: no deadlock, and each gets what it gets alone."""
    alone = make("float32")
    alone.operate(200, operation([]), every=1, inputs=INPUTS)
    sims = [make("float32"), make("float32")]
    errors = []

    def work(sim):
        try:
            sim.operate(200, operation([]), every=1, inputs=INPUTS)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in sims]
    for th in threads:
        th.start()
    sum(i * i for i in range(200_000))
    for th in threads:
        th.join(timeout=300)
    assert not any(th.is_alive() for th in threads) and not errors
    for s in sims:
        assert_same(s, alone)


def test_breakpoints_stop_the_operation_where_advance_stops():
    sim = make("float32")
    sim.breakpoints = ["t >= 3.05 ms"]
    ref = make("float32")
    ref.breakpoints = ["t >= 3.05 ms"]
    seen = []
    sim.operate(100, operation(seen), every=4, inputs=INPUTS)
    want, _ = reference(ref, 100, 4)   # goes on after the hit: compare up to it
    assert sim.hit is not None and sim.t == 31
    assert [s[0] for s in seen] == [0, 4, 8, 12, 16, 20, 24, 28]
    for (_t, c, _w), (_t2, c2, _w2) in zip(seen, want):
        np.testing.assert_array_equal(c["exc.spikes"], c2["exc.spikes"])


def test_zero_steps_and_a_last_partial_block():
    sim = make("float32")
    calls = []
    assert sim.operate(0, calls.append, every=3) == {}
    assert calls == [] and sim.t == 0
    sim.operate(5, lambda io: calls.append(io.t), every=3)
    assert calls == [0, 3] and sim.t == 5


def test_host_call_slots_are_released_and_unbound_slots_fail_cleanly(native):
    free = len(hostio._state["free"])
    sim = make("float32")
    sim.operate(10, lambda io: None, every=2)
    with pytest.raises(OperationError):
        sim.operate(10, lambda io: 1 / 0, every=2)
    assert len(hostio._state["free"]) == free
    call = jax.jit(lambda a: hostio.host_call(63, 0, a, 4)[1])
    with pytest.raises(Exception, match="no operation bound"):
        call(jnp.zeros(3, jnp.uint32))


def test_no_deadlock_with_asynchronous_dispatch_or_xla_threads(native, tmp_path):
    """The engine dispatches synchronously; a user who turns JAX's asynchronous CPU dispatch and
    XLA's thread pool back on gets the same operation, calling back into JAX and NumPy."""
    import subprocess
    import sys
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "import numpy as np, jax.numpy as jnp\n"
        "from test_operations import make, operation, INPUTS\n"
        "sim = make('float32'); seen = []\n"
        "feed = operation(seen)\n"
        "def op(io):\n"
        "    feed(io); float(jnp.sum(jnp.asarray(io.inputs['stim'])))\n"
        "sim.operate(120, op, every=2, inputs=INPUTS)\n"
        "print(int(sim.totals['exc.spikes'].sum()), len(seen))\n")
    ref = make("float32")
    ref.operate(120, operation([]), every=2, inputs=INPUTS)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "JAX_CPU_ENABLE_ASYNC_DISPATCH": "1", "SPARK_XLA_THREADS": "multi",
           "PYTHONPATH": root}
    env.pop("XLA_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [str(int(ref.totals["exc.spikes"].sum())), "60"]


def test_a_model_without_host_inputs_still_calls_every_block(path):
    """No host-fed parameters at all (an empty buffer): the calls happen all the same, and the
    counts they read equal the totals."""
    sim = Simulation(ei_graph(), count=["exc.spikes"])
    calls, spikes = [], []

    def look(io):
        calls.append(io.t)
        spikes.append(int(io.counts["exc.spikes"].sum()))

    sim.operate(300, look, every=10)
    assert calls == list(range(0, 300, 10))
    ref = Simulation(ei_graph(), count=["exc.spikes"])
    ref.advance(290, chunk=290)
    assert sum(spikes) == int(ref.totals["exc.spikes"].sum()) > 0


def test_other_backends_run_the_python_loop(monkeypatch):
    """The host-call handler is a CPU one: on another backend (a GPU) the loop runs instead."""
    monkeypatch.delenv("SPARK_NATIVE", raising=False)
    used = []
    loop = operations.run_loop
    monkeypatch.setattr(operations, "run_loop", lambda *a: used.append(1) or loop(*a))
    sim = make("float32")
    sim.operate(20, operation([]), every=5, inputs=INPUTS)
    assert not used or not hostio.available()
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    sim.operate(20, operation([]), every=5, inputs=INPUTS)
    assert used and sim.t == 40


def test_calls_from_xla_threads_keep_their_python_thread_state(native):
    """XLA's worker threads have no Python thread state: the first call makes one and keeps it
    (hostio.keep_thread_state), so a thread-local value set in one call is there in the next
    call on the same thread (a fresh state per call, 3-4 microseconds of mmap, munmap and page
    faults, would lose it)."""
    local, seen = threading.local(), []

    def look(io):
        seen.append((threading.get_ident(), getattr(local, "calls", 0)))
        local.calls = getattr(local, "calls", 0) + 1

    make("float32").operate(60, look, every=1)
    assert len(seen) == 60
    fresh = [ident for ident, before in seen if before == 0]
    assert len(fresh) == len(set(fresh)) == len({ident for ident, _ in seen})
