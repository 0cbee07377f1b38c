"""Live runs in the app (app/run): toolbar commands, monitors, live edits, failures, recording.

Runs against a small fake main window that implements exactly the interface app.run.install
needs, so these tests do not depend on the editor.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMainWindow

import spark_snn.app.run as run_pkg
from spark_snn.app.run.frames import Mailbox
from spark_snn.app.run.graph_info import GraphInfo
from spark_snn.app.run.monitors import EnvironmentMonitor, RasterMonitor, WeightsMonitor
from spark_snn.components.projection import dense_matrix
from spark_snn.engine import Graph, Node, Simulation

WAIT = 60_000  # ms; generous for a slow CI machine (these waits end as soon as the state holds)


class FakeWindow(QMainWindow):
    """The main-window interface app.run relies on, and nothing more."""

    graph_edited = Signal(str, str, str)

    def __init__(self, graph: Graph):
        super().__init__()
        self._graph = graph
        self.current_path = None
        self.badges: dict[str, str] = {}
        self.problems: list = []
        self.selected = None
        self.messages: list[str] = []
        self.node_actions: dict = {}

    @property
    def graph(self) -> Graph:
        return self._graph

    def select_node(self, node_id):
        self.selected = node_id

    def set_node_badge(self, node_id, text):
        self.badges[node_id] = text

    def show_problems(self, problems):
        self.problems = list(problems)

    def register_node_action(self, text, callback):
        self.node_actions[text] = callback

    def status(self, message):
        self.messages.append(message)

    def edit_param(self, node, name, value):
        """What the editor does when the inspector changes a value."""
        self._graph.nodes[node].params[name] = value
        self.graph_edited.emit("param", node, name)


def pool_graph(amplitude=30.0, size=40, heterogeneity=5.0, seed=3) -> Graph:
    g = Graph()
    g.settings["seed"] = seed
    g.add_node(Node("src", "current_source", {"size": size, "amplitude": amplitude,
                                              "heterogeneity": heterogeneity}))
    g.add_node(Node("pool", "lif", {"size": size, "v_init": "uniform"}))
    g.connect("src.current", "pool.current")
    return g


def two_pool_graph(tau_syn_b=5.0, weight=2.0) -> Graph:
    g = pool_graph()
    g.add_node(Node("B", "lif", {"size": 30, "tau_syn": tau_syn_b}))
    g.add_node(Node("proj", "projection", {"connectivity": "fixed_probability", "p": 0.3,
                                           "weight": weight, "weight_init": "uniform",
                                           "weight_spread": 0.5}))
    g.connect("pool.spikes", "proj.pre")
    g.connect("proj.events", "B.syn")
    return g


@pytest.fixture
def make(qtbot):
    made = []

    def _make(graph, autorun=False):
        win = FakeWindow(graph)
        qtbot.addWidget(win)
        ctl = run_pkg.install(win, autorun=autorun)
        ctl.popups = False
        made.append(ctl)
        return win, ctl

    yield _make
    for ctl in made:
        ctl.shutdown()


def wait_state(qtbot, ctl, state):
    qtbot.waitUntil(lambda: ctl.state == state, timeout=WAIT)


def test_install_registers_toolbar_and_actions(make):
    win, ctl = make(pool_graph())
    assert {"Monitor spikes", "Monitor membrane potential", "Monitor rate",
            "Monitor weights"} <= set(win.node_actions)
    assert ctl.bar.run_action.shortcut().toString() == "F5"
    assert ctl.bar.step_action.shortcut().toString() == "F10"
    assert ctl.bar.stop_action.shortcut().toString() == "Shift+F5"
    assert win.run_controller is ctl


def test_worker_thread_yields_the_cpu_to_the_gui(qtbot, make, monkeypatch):
    """The simulation thread runs niced on Linux (the GUI wins a shared core)."""
    import os
    import sys
    import threading

    monkeypatch.delenv("SPARK_WORKER_NICE", raising=False)
    win, ctl = make(pool_graph())
    qtbot.waitUntil(lambda: ctl.thread.isRunning(), timeout=WAIT)
    if not sys.platform.startswith("linux"):
        pytest.skip("thread niceness is a Linux feature")
    qtbot.waitUntil(lambda: ctl.thread.niced, timeout=WAIT)
    me = threading.get_native_id()
    assert os.getpriority(os.PRIO_PROCESS, me) < 10   # the GUI thread is not niced


def test_step_run_pause_reset_stop(qtbot, make):
    win, ctl = make(pool_graph())
    ctl.bar.chunk_box.setValue(50)
    ctl.step()
    qtbot.waitUntil(lambda: ctl.t == 50 and ctl.state == "paused", timeout=WAIT)
    ctl.step()
    qtbot.waitUntil(lambda: ctl.t == 100 and ctl.state == "paused", timeout=WAIT)
    assert ctl.time_ms == pytest.approx(10.0)
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 300, timeout=WAIT)
    ctl.pause()
    wait_state(qtbot, ctl, "paused")
    t_paused = ctl.t
    qtbot.wait(150)
    assert ctl.t == t_paused and ctl.worker.sim.t == t_paused
    ctl.reset()
    qtbot.waitUntil(lambda: ctl.t == 0, timeout=WAIT)
    assert ctl.state == "paused"
    ctl.stop()
    wait_state(qtbot, ctl, "idle")
    assert ctl.worker.sim is None
    assert ctl.compiles == 1


def test_raster_matches_headless_run(qtbot, make):
    graph = pool_graph()
    win, ctl = make(graph)
    mon = ctl.monitor_spikes("pool")
    assert isinstance(mon, RasterMonitor)
    ctl.bar.chunk_box.setValue(40)
    ctl.run_for(400)
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 400, timeout=WAIT)
    qtbot.waitUntil(lambda: getattr(mon, "last_t1", 0) == 400, timeout=WAIT)
    s, i = mon.events["pool.spikes"]
    got = sorted(zip(s.tolist(), i.tolist()))
    ref = Simulation(graph, record=["pool.spikes"]).advance(400, 40)["pool.spikes"]
    want = sorted(zip(*[a.tolist() for a in np.nonzero(ref)]))
    assert len(want) > 50
    assert got == want
    assert mon.buf.any()
    # the pool badge shows its firing rate
    assert win.badges["pool"].endswith("Hz")


def test_param_edit_while_running_changes_dynamics(qtbot, make):
    win, ctl = make(pool_graph(amplitude=10.0, heterogeneity=0.0))  # below threshold: silent
    mon = ctl.monitor_spikes("pool")
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 600, timeout=WAIT)
    qtbot.waitUntil(lambda: getattr(mon, "last_t1", 0) > 600, timeout=WAIT)
    assert mon.events.get("pool.spikes", (np.zeros(0),))[0].size == 0
    t_edit = ctl.t
    win.edit_param("src", "amplitude", 40.0)
    qtbot.waitUntil(lambda: mon.events.get("pool.spikes", (np.zeros(0),))[0].size > 0,
                    timeout=WAIT)
    assert ctl.compiles == 1           # no rebuild
    assert ctl.t >= t_edit             # no restart
    first = int(mon.events["pool.spikes"][0].min())
    assert first >= t_edit - ctl.bar.chunk_box.value()
    ctl.pause()
    wait_state(qtbot, ctl, "paused")


def test_structural_edit_asks_and_rebuilds(qtbot, make):
    win, ctl = make(pool_graph())
    asked = []
    ctl.confirm = lambda title, text: asked.append(text) or True
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 100, timeout=WAIT)
    win._graph.nodes["pool"].params["size"] = 60
    win._graph.nodes["src"].params["size"] = 60
    win.graph_edited.emit("structure", "pool", "")
    qtbot.waitUntil(lambda: ctl.compiles == 2 and ctl.state == "running", timeout=WAIT)
    assert asked
    assert ctl.worker.sim.model.rnodes["pool"].comp.config["size"] == 60
    ctl.pause()
    wait_state(qtbot, ctl, "paused")


def test_failing_node_names_node_and_step_and_app_stays_usable(qtbot, make):
    graph = two_pool_graph(weight=1e38)  # a few spikes overflow I_syn of B to infinity
    before = graph.to_dict()
    win, ctl = make(graph)
    ctl.run()
    qtbot.waitUntil(lambda: ctl.last_error is not None, timeout=WAIT)
    message, node, step = ctl.last_error
    assert node == "B" and step > 0
    assert "B" in message and str(step) in message
    wait_state(qtbot, ctl, "error")
    assert win.selected == "B"
    assert any(p.node == "B" for p in win.problems)
    assert graph.to_dict() == before
    # fix it and run again: the window is still usable
    win.edit_param("proj", "weight", 2.0)
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 200, timeout=WAIT)
    assert ctl.last_error is None
    ctl.pause()
    wait_state(qtbot, ctl, "paused")


def test_invalid_graph_does_not_run(qtbot, make):
    g = pool_graph()
    g.add_node(Node("dangling", "projection", {}))  # required input 'pre' not connected
    win, ctl = make(g)
    ctl.run()
    assert ctl.state == "idle"
    assert any(p.node == "dangling" for p in win.problems)
    qtbot.wait(50)
    assert ctl.compiles == 0 and ctl.worker.sim is None


def test_weights_monitor_shows_projection_matrix(qtbot, make):
    graph = two_pool_graph()
    win, ctl = make(graph)
    mon = ctl.monitor_weights("proj")
    assert isinstance(mon, WeightsMonitor)
    ctl.step()
    qtbot.waitUntil(lambda: mon.matrix is not None, timeout=WAIT)
    ref = Simulation(graph, fuse=False)
    W = dense_matrix(ref.consts["proj"], 40, 30)
    np.testing.assert_allclose(mon.matrix, W)
    assert mon.matrix.shape == (40, 30) and np.count_nonzero(mon.matrix) > 0


def test_trace_and_rate_monitors_receive_data(qtbot, make):
    graph = pool_graph()
    win, ctl = make(graph)
    tr = ctl.monitor_membrane("pool", neurons=(0, 5))
    rm = ctl.monitor_rate("pool")
    ctl.run_for(300)
    qtbot.waitUntil(lambda: getattr(tr, "last_t1", 0) == 300, timeout=WAIT)
    ref = Simulation(graph, record=["pool.v"]).advance(300, 100)["pool.v"]
    np.testing.assert_allclose(tr.v, ref[:, [0, 5]], rtol=1e-6)
    t, r = rm.data["pool"]
    assert t.size == 3 and np.all(r >= 0)
    assert r.sum() > 0


def test_recording_to_disk(qtbot, make, tmp_path):
    graph = pool_graph()
    win, ctl = make(graph)
    plan = ctl.recording_plan(["pool.spikes", "pool.v"], 250, str(tmp_path / "rec.npz"))
    info = GraphInfo(graph)
    assert info.record_bytes(plan.ports, plan.n_steps) == 250 * 40 * 1 + 250 * 40 * 4
    ctl.start_recording(plan)
    ctl.run_for(400)
    qtbot.waitUntil(lambda: bool(ctl.last_recording), timeout=WAIT)
    data = np.load(tmp_path / "rec.npz")
    ref = Simulation(graph, record=["pool.spikes", "pool.v"]).advance(250, 100)
    np.testing.assert_array_equal(data["pool__spikes"], ref["pool.spikes"])
    np.testing.assert_allclose(data["pool__v"], ref["pool.v"], rtol=1e-6)
    assert data["time_ms"].shape == (250,)
    with open(tmp_path / "rec.rates.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["time_ms", "pool.spikes_hz"]
    assert len(rows) == 1 + 25  # 1 ms bins of 10 steps


def test_display_off_runs_without_frames(qtbot, make):
    win, ctl = make(pool_graph())
    mon = ctl.monitor_spikes("pool")
    ctl.set_display(False)
    ctl.run_for(500)
    qtbot.waitUntil(lambda: ctl.t == 500 and ctl.state == "paused", timeout=WAIT)
    qtbot.wait(50)
    assert ctl.frames_drawn == 0 and not hasattr(mon, "last_t1")
    assert ctl.worker.sim.record == ()


def test_autorun_starts_at_once(qtbot, make):
    win, ctl = make(pool_graph(), autorun=True)
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 0, timeout=WAIT)
    ctl.stop()
    wait_state(qtbot, ctl, "idle")


def test_export_png_and_svg(qtbot, make, tmp_path):
    win, ctl = make(pool_graph())
    mon = ctl.monitor_spikes("pool")
    ctl.step()
    qtbot.waitUntil(lambda: getattr(mon, "last_t1", 0) == 100, timeout=WAIT)
    png = mon.export(str(tmp_path / "raster.png"))
    svg = mon.export(str(tmp_path / "raster.svg"))
    with open(png, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in open(svg).read()


def test_closing_a_monitor_stops_its_recording(qtbot, make):
    win, ctl = make(pool_graph())
    mon = ctl.monitor_membrane("pool")
    assert "pool.v" in ctl.request().traces
    mon.close()
    qtbot.waitUntil(lambda: mon not in ctl.monitors, timeout=WAIT)
    assert "pool.v" not in ctl.request().traces


def test_environment_view_draws_cart_and_pole(qtbot):
    g = Graph()
    g.add_node(Node("env", "cartpole", {}))
    info = GraphInfo(g)
    mon = EnvironmentMonitor(info, "env")
    assert mon.mode == "cartpole"
    qtbot.addWidget(mon)
    mon.show_state([0.5, 0.0, 0.3, 0.0])
    cx, cy = mon.cart.getData()
    assert cx.min() == pytest.approx(0.25) and cx.max() == pytest.approx(0.75)
    px, py = mon.pole.getData()
    assert px[1] - px[0] == pytest.approx(np.sin(0.3))
    assert py[1] - py[0] == pytest.approx(np.cos(0.3))


def test_mailbox_merges_frames_and_notifies_once():
    box = Mailbox()

    def frame(t0, t1, spikes):
        s = np.array([t for t, _ in spikes], np.int64)
        i = np.array([n for _, n in spikes], np.int32)
        return {"gen": 1, "t0": t0, "t1": t1, "dt": 0.1, "window": 100,
                "events": {"p.spikes": (s, i)}, "rates": {"p.spikes": (np.array([t1 * 0.1]),
                                                                       np.array([5.0]))},
                "counts": {"p.spikes": (len(spikes), t1 - t0, 10)}, "traces": {},
                "values": {}, "episodes": {"e.ret": [float(t1)]}, "weights": {}}

    assert box.put(frame(0, 100, [(5, 1), (50, 2)])) is True
    assert box.put(frame(100, 200, [(120, 3)])) is False   # GUI already notified
    f = box.take()
    assert (f["t0"], f["t1"]) == (0, 200)
    assert f["events"]["p.spikes"][0].tolist() == [120]    # older than the 100-step window: gone
    assert f["counts"]["p.spikes"] == (3, 200, 10)
    assert f["episodes"]["e.ret"] == [100.0, 200.0]
    assert box.take() is None
    assert box.put(frame(200, 300, [])) is True


def test_real_main_window_autorun(qtbot, tmp_path):
    """`spark app FILE --run`: the editor window installs the run UI and starts at once."""
    mw = pytest.importorskip("spark_snn.app.main_window")
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "resources" / "examples" / "minimal.json"
    if not path.exists():
        pytest.skip("no minimal example")
    win = mw.MainWindow(str(path), autorun=True, check_recovery=False)
    qtbot.addWidget(win)
    ctl = win.run_controller
    ctl.popups = False
    try:
        qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 0, timeout=WAIT)
        pools = GraphInfo(win.graph).pools()
        if pools:
            qtbot.waitUntil(lambda: all(p in ctl.badges for p in pools), timeout=WAIT)
        ctl.stop()
        wait_state(qtbot, ctl, "idle")
    finally:
        ctl.shutdown()


def test_rates_and_badges_come_from_spike_counts(qtbot, make):
    """Rate monitors and pool badges use the engine's in-scan spike counts (Simulation
    count=) and never make it record spike arrays; the rates equal the headless run's, chunk
    by chunk."""
    graph = pool_graph()
    win, ctl = make(graph)
    rm = ctl.monitor_rate("pool")
    ctl.run_for(300)
    qtbot.waitUntil(lambda: getattr(rm, "last_t1", 0) == 300, timeout=WAIT)
    sim = ctl.worker.sim
    assert "pool.spikes" in sim.count and "pool.spikes" not in sim.record
    assert sim.record == ()
    ref = Simulation(graph, record=["pool.spikes"]).advance(300, 100)["pool.spikes"]
    want = ref.reshape(3, 100, 40).sum(axis=(1, 2)) / (40 * 100 * 0.1 / 1000.0)
    t, r = rm.data["pool"]
    np.testing.assert_allclose(r, want)
    np.testing.assert_allclose(t, [10.0, 20.0, 30.0])
    assert int(sim.totals["pool.spikes"].sum()) == int(ref.sum())
    # once a raster records the port anyway, the rate is counted from that record instead
    ctl.monitor_spikes("pool")
    ctl.run_for(100)
    qtbot.waitUntil(lambda: getattr(rm, "last_t1", 0) == 400, timeout=WAIT)
    assert sim.record == ("pool.spikes",) and sim.count == ()
    ref = Simulation(graph, record=["pool.spikes"]).advance(400, 100)["pool.spikes"]
    assert rm.data["pool"][1][-1] == pytest.approx(ref[300:].sum() / (40 * 100 * 0.1 / 1000.0))


def test_badges_are_throttled_and_only_changed_texts_are_sent(qtbot, make):
    win, ctl = make(pool_graph())
    ctl.request()
    calls = []
    win.set_node_badge = lambda node, text: calls.append((node, text))
    frame = {"dt": 0.1, "counts": {"pool.spikes": (40, 100, 40)}}  # 100 Hz
    for _ in range(50):   # far more frames than badge refreshes
        ctl.painter.update_badges(frame)
    assert calls == [("pool", "100.0 Hz")]
    ctl.painter._last_badge -= 10.0   # the interval has passed, the rate is the same: nothing to send
    ctl.painter.update_badges(frame)
    assert len(calls) == 1
    ctl.painter._last_badge -= 10.0
    ctl.painter.update_badges({"dt": 0.1, "counts": {"pool.spikes": (20, 100, 40)}})
    assert calls[-1] == ("pool", "50.0 Hz")


def test_weights_of_a_fused_projection_keep_the_run_going(qtbot, make):
    """Opening a weights monitor on a projection the engine fused neither rebuilds nor
    restarts: the weights are drawn again from the graph, the run keeps its time."""
    from conftest import ei_graph

    graph = ei_graph(propagation="event")
    win, ctl = make(graph)
    ctl.run_for(300)
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 300, timeout=WAIT)
    assert "ee" not in ctl.worker.sim.model.rnodes   # fused into a shared kernel
    mon = ctl.monitor_weights("ee")
    ctl.step()
    qtbot.waitUntil(lambda: mon.matrix is not None and ctl.t == 400, timeout=WAIT)
    assert ctl.compiles == 1 and ctl.worker.sim.t == 400
    ref = Simulation(graph, fuse=False)
    np.testing.assert_array_equal(mon.matrix, dense_matrix(ref.consts["ee"], 40, 40))
    assert np.count_nonzero(mon.matrix) > 100


def test_raster_image_puts_time_across_and_neurons_down(qtbot):
    info = GraphInfo(pool_graph())
    mon = RasterMonitor(info, ["pool"])
    qtbot.addWidget(mon)
    s = np.array([5, 950], np.int64)
    i = np.array([3, 39], np.int32)
    mon.update_frame({"gen": 1, "t0": 0, "t1": 1000, "dt": 0.1,
                      "events": {"pool.spikes": (s, i)}})
    assert mon.image.width() == mon.n_bins and mon.image.height() == mon.n_rows
    img = mon.image.image       # [x = time bin, y = neuron row]
    lit = np.argwhere(img)
    assert sorted(lit[:, 1].tolist()) == [3, 39]
    assert lit[lit[:, 1] == 39][0, 0] > lit[lit[:, 1] == 3][0, 0]  # the later spike is further right


def test_signal_monitor_traces_a_non_spike_output(qtbot, make):
    graph = pool_graph()
    win, ctl = make(graph)
    mon = ctl.monitor_signal("src", elements=(0, 7))
    assert mon is not None and mon.port == "src.current"
    assert ctl.monitor_signal("src", port="src.nope") is None
    ctl.run_for(200)
    qtbot.waitUntil(lambda: getattr(mon, "last_t1", 0) == 200, timeout=WAIT)
    ref = Simulation(graph, record=["src.current"]).advance(200, 100)["src.current"]
    np.testing.assert_allclose(mon.v, ref[:, [0, 7]], rtol=1e-6)


def test_monitors_share_the_bottom_row_with_the_problems_tab(qtbot, tmp_path, monkeypatch):
    """In the editor window, bottom monitors sit side by side and the problems panel becomes a
    tab behind the first one instead of squeezing them."""
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(tmp_path))
    mw = pytest.importorskip("spark_snn.app.main_window")
    path = Path(__file__).resolve().parents[1] / "resources" / "examples" / "two_pools.json"
    win = mw.MainWindow(str(path), check_recovery=False)
    qtbot.addWidget(win)
    ctl = win.run_controller
    try:
        win.resize(1600, 1000)
        win.show()
        qtbot.waitExposed(win)
        pools = GraphInfo(win.graph).pools()
        raster = ctl.monitor_spikes(pools[0])
        rates = ctl.monitor_rate(pools[0])
        trace = ctl.monitor_membrane(pools[0])
        qtbot.wait(50)
        assert win.problems_dock in win.tabifiedDockWidgets(raster)
        assert not win.tabifiedDockWidgets(rates) and not win.tabifiedDockWidgets(trace)
        for m in (raster, rates, trace):
            assert m.isVisible() and m.width() >= 250, (m.objectName(), m.width())
        assert raster.width() > rates.width() and raster.height() >= 280  # tab bar below it
        assert win.palette_dock.width() >= 200
        win.show_problems([])
    finally:
        ctl.shutdown()


def test_frame_rate_backs_off_when_drawing_overloads_the_gui(make):
    """When drawing and painting the plots take most of the GUI thread's time the frame
    interval stretches up to 1/4 s; once they are cheap again it comes back to 1/25 s."""
    from spark_snn.app.run import painter as C

    win, ctl = make(pool_graph())
    nominal = ctl.painter.timer.interval() / 1000.0

    def tick(busy_share):
        wall = ctl.painter.timer.interval() / 1000.0
        ctl.painter._tick_at = C.time.perf_counter() - wall
        ctl.painter._spent_at = ctl.draw_seconds + C.paint_seconds() - busy_share * wall
        ctl.painter.pace()

    for _ in range(30):
        tick(0.9)      # drawing takes 90 % of the time
    assert ctl.painter.frame_interval == pytest.approx(C.SLOWEST_FRAME_S)
    assert ctl.painter.timer.interval() == 250
    for _ in range(60):
        tick(0.05)
    assert ctl.painter.frame_interval == pytest.approx(C.FRAME_INTERVAL_S) == nominal
    for _ in range(30):
        tick(0.3)      # in between: the interval holds
    assert ctl.painter.frame_interval == pytest.approx(C.FRAME_INTERVAL_S)
