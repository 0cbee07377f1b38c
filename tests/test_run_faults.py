"""The worker failing in any way leaves the app usable and the graph untouched, and a disk
recording that a Stop or a failure cuts short is written (issue 10: "Faults and load", item 13).
Each failure is injected: a component that raises, NaN, running out of memory while compiling
or while running, a host-side node that calls sys.exit."""
from __future__ import annotations

import numpy as np
import pytest
from test_app_run import WAIT, make, pool_graph, two_pool_graph, wait_state  # noqa: F401

import spark_snn.app.run.worker as worker_mod
from spark_snn.components.base import Component, Port
from spark_snn.engine import Graph, Node, Simulation, registry


def assert_usable_after(qtbot, ctl, win, before):
    """The failure is reported, the graph is untouched, and a run works afterwards."""
    wait_state(qtbot, ctl, "error")
    assert ctl.last_error is not None
    assert win.graph.to_dict() == before
    assert win.problems
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 100, timeout=WAIT)
    ctl.pause()
    wait_state(qtbot, ctl, "paused")


class Boom(Component):
    """Test component: raises while the chunk is traced (a bug in a component's step)."""

    type_name = "test_boom"
    category = "Outputs"

    @classmethod
    def ports(cls, p):
        return [Port("spikes", "spikes", 40)], []

    def step(self, p, s, inputs, ctx):
        raise ZeroDivisionError("boom in step")


def test_component_that_raises(qtbot, make, monkeypatch):  # noqa: F811
    monkeypatch.setitem(registry().types, "test_boom", Boom)
    g = pool_graph()
    g.add_node(Node("boom", "test_boom", {}))
    g.connect("pool.spikes", "boom.spikes")
    before = g.to_dict()
    win, ctl = make(g)
    ctl.run()
    wait_state(qtbot, ctl, "error")
    message, node, _step = ctl.last_error
    assert node == "boom" and "boom in step" in message
    assert win.graph.to_dict() == before
    del g.nodes["boom"]      # the user removes the broken node; the app goes on
    g.edges = [e for e in g.edges if e.dst_node != "boom"]
    win.graph_edited.emit("structure", "boom", "")
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 100, timeout=WAIT)
    ctl.pause()
    wait_state(qtbot, ctl, "paused")


@pytest.mark.parametrize("error", [
    MemoryError("Unable to allocate 14.8 GiB"),
    RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 15871213568 bytes."),
])
def test_out_of_memory_while_compiling(qtbot, make, monkeypatch, error):  # noqa: F811
    g = pool_graph()
    before = g.to_dict()
    win, ctl = make(g)
    real = worker_mod.Simulation
    calls = []

    def failing(*a, **k):
        calls.append(1)
        if len(calls) == 1:
            raise error
        return real(*a, **k)
    monkeypatch.setattr(worker_mod, "Simulation", failing)
    ctl.run()
    wait_state(qtbot, ctl, "error")
    assert "out of memory" in ctl.last_error[0]
    assert "Out of memory" in win.messages[-1] or "failed" in win.messages[-1]
    assert_usable_after(qtbot, ctl, win, before)


def test_out_of_memory_while_running_and_nan(qtbot, make, monkeypatch, tmp_path):  # noqa: F811
    """A MemoryError in the middle of a run stops it, and the recording in progress is
    written with the steps recorded before it."""
    g = pool_graph()
    before = g.to_dict()
    win, ctl = make(g)
    plan = ctl.recording_plan(["pool.spikes"], 10_000, str(tmp_path / "rec.npz"))
    ctl.start_recording(plan)
    ctl.run_for(300)
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 300, timeout=WAIT)
    real = Simulation.advance

    def failing(self, *a, **k):
        raise MemoryError("cannot allocate the chunk's records")
    monkeypatch.setattr(Simulation, "advance", failing)
    ctl.run()
    wait_state(qtbot, ctl, "error")
    assert "out of memory" in ctl.last_error[0]
    qtbot.waitUntil(lambda: bool(ctl.last_recording), timeout=WAIT)
    monkeypatch.setattr(Simulation, "advance", real)
    data = np.load(tmp_path / "rec.npz")
    ref = Simulation(g, record=["pool.spikes"]).advance(300, 100)["pool.spikes"]
    np.testing.assert_array_equal(data["pool__spikes"], ref)
    assert "after 300 of 10,000 steps" in win.messages[-1] and "rec.npz" in win.messages[-1]
    assert "Run stopped" in win.messages[-2]
    assert_usable_after(qtbot, ctl, win, before)


def test_nan_during_a_recording_keeps_what_was_recorded(qtbot, make, tmp_path):  # noqa: F811
    g = two_pool_graph(weight=1e38)   # B's synaptic current overflows at pool's first spikes
    win, ctl = make(g)
    ctl.start_recording(ctl.recording_plan(["B.v", "pool.spikes"], 100_000,
                                           str(tmp_path / "nan.npz")))
    ctl.bar.chunk_box.setValue(10)
    ctl.run()
    qtbot.waitUntil(lambda: ctl.last_error is not None and bool(ctl.last_recording),
                    timeout=WAIT)
    _msg, node, step = ctl.last_error
    assert node == "B"
    data = np.load(tmp_path / "nan.npz")
    n = data["time_ms"].shape[0]
    assert 0 < n <= step and n % 10 == 0          # whole chunks before the failing one
    assert np.isfinite(data["B__v"]).all()
    assert data["pool__spikes"].shape == (n, 40)
    assert (tmp_path / "nan.rates.csv").exists()


def test_stop_writes_the_recording_so_far(qtbot, make, tmp_path):  # noqa: F811
    g = pool_graph()
    win, ctl = make(g)
    ctl.start_recording(ctl.recording_plan(["pool.v"], 5000, str(tmp_path / "cut.npz")))
    ctl.run_for(400)
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 400, timeout=WAIT)
    assert not ctl.last_recording
    ctl.stop()
    qtbot.waitUntil(lambda: bool(ctl.last_recording), timeout=WAIT)
    assert ctl.last_recording == [str(tmp_path / "cut.npz")]
    data = np.load(tmp_path / "cut.npz")
    ref = Simulation(g, record=["pool.v"]).advance(400, 100)["pool.v"]
    np.testing.assert_allclose(data["pool__v"], ref, rtol=1e-6)
    np.testing.assert_allclose(data["time_ms"], np.arange(400) * 0.1)
    assert "Recording ended early (the run was stopped) after 400 of 5,000 steps" \
        in win.messages[-1]


def test_recording_that_cannot_be_written_does_not_stop_the_run(qtbot, make,  # noqa: F811
                                                                 tmp_path):
    win, ctl = make(pool_graph())
    ctl.start_recording(ctl.recording_plan(["pool.v"], 100,
                                           str(tmp_path / "missing" / "dir" / "r.npz")))
    ctl.run_for(300)
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 300, timeout=WAIT)
    qtbot.waitUntil(lambda: any("Recording failed" in m for m in win.messages), timeout=WAIT)
    assert ctl.last_error is None


class ExitingEnv(Component):
    """Test component: a host-side node whose exchange calls sys.exit (hostile code)."""

    type_name = "test_exiting_env"
    category = "Environments"
    host_side = True

    @classmethod
    def ports(cls, p):
        return [], [Port("observation", "value", 2)]

    def step(self, p, s, inputs, ctx):
        import jax.numpy as jnp
        return s, {"observation": jnp.zeros(2, self.dtype)}

    def host_period(self):
        return 10

    def host_reset(self, sim, node_id, seed):
        pass

    def host_exchange(self, sim, node_id):
        import sys
        sys.exit(3)


def test_system_exit_in_a_host_side_node(qtbot, make, monkeypatch):  # noqa: F811
    monkeypatch.setitem(registry().types, "test_exiting_env", ExitingEnv)
    g = pool_graph()
    g.add_node(Node("env", "test_exiting_env", {}))
    before = g.to_dict()
    win, ctl = make(g)
    ctl.run()
    wait_state(qtbot, ctl, "error")
    assert "SystemExit" in ctl.last_error[0]
    assert ctl.thread.isRunning()                    # the worker thread survived
    assert win.graph.to_dict() == before
    del g.nodes["env"]
    win.graph_edited.emit("structure", "env", "")
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 100, timeout=WAIT)
    ctl.pause()
    wait_state(qtbot, ctl, "paused")


def test_empty_graph_runs_without_failing(qtbot, make):  # noqa: F811
    win, ctl = make(Graph())
    ctl.run_for(50)
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 50, timeout=WAIT)
    assert ctl.last_error is None


def test_closing_while_the_worker_compiles_keeps_its_thread_alive(qtbot, make,  # noqa: F811
                                                                   monkeypatch):
    """Shutting down while the worker is busy (a long compilation) must not destroy its
    running QThread (Qt aborts the process then): the thread is kept until it ends."""
    import time

    from spark_snn.app.run import thread as thread_mod

    real = worker_mod.Simulation

    def slow(*a, **k):
        time.sleep(1.5)
        return real(*a, **k)
    monkeypatch.setattr(worker_mod, "Simulation", slow)
    win, ctl = make(pool_graph())
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "compiling", timeout=WAIT)
    ctl.worker.send("quit")
    assert thread_mod.stop_thread(ctl.thread, wait_ms=50) is False
    assert ctl.thread in thread_mod._RUNNING_ON
    qtbot.waitUntil(lambda: ctl.thread.isFinished(), timeout=WAIT)
    ctl._closed = True
    assert thread_mod.stop_thread(ctl.thread, wait_ms=50) is True
    assert ctl.thread not in thread_mod._RUNNING_ON
