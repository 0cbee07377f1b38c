"""The GUI stays responsive during a live run (issue 15 item 6) without losing what the panels
show: frames are drawn in slices with event-loop passes in between, yet every monitor gets
every step; the build and the first compile run in the worker while the event loop goes on;
changing texts do not make the window lay itself out again; panels leave no stale pixels;
the episode panel rescales rarely."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel
from test_app_run import WAIT, make, pool_graph, two_pool_graph  # noqa: F401

import spark_snn.app.run.painter as painter_mod
import spark_snn.app.run.worker as worker_mod
from spark_snn.app.run.graph_info import GraphInfo
from spark_snn.app.run.monitors import EpisodeMonitor
from spark_snn.app.run.status_text import StatusText
from spark_snn.engine import Simulation, load

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


class Ticker:
    """A 0 ms QTimer in the GUI thread: ``n`` counts the passes of the event loop it saw."""

    def __init__(self):
        self.n = 0
        self.timer = QTimer()
        self.timer.setInterval(0)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self):
        self.n += 1


class EventCounter(QObject):
    """Counts events of ``kind`` that reach ``widget``."""

    def __init__(self, widget, kind):
        super().__init__()
        self.kind, self.n = kind, 0
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == self.kind:
            self.n += 1
        return False


def test_sliced_drawing_gives_every_monitor_every_step(qtbot, make, monkeypatch):  # noqa: F811
    """One monitor per slice: the event loop runs between the slices of a frame, frames merge
    in the mailbox meanwhile, and still the raster holds every spike, the trace every step and
    the rate panel one point per chunk, as a headless run of the same graph."""
    monkeypatch.setattr(painter_mod, "SLICE_S", 0.0)
    graph = two_pool_graph()
    win, ctl = make(graph)
    raster = ctl.monitor_spikes("pool")
    ctl.monitor_spikes("B")
    trace = ctl.monitor_membrane("pool", neurons=(0, 3))
    rates = ctl.monitor_rate("pool")
    ticker = Ticker()
    seen: dict[int, list] = {}      # frame end -> loop passes seen as each monitor drew it
    for m in ctl.monitors:
        orig = m.update_frame

        def spy(frame, orig=orig):
            seen.setdefault(frame["t1"], []).append(ticker.n)
            orig(frame)
        m.update_frame = spy
    ctl.bar.chunk_box.setValue(20)
    ctl.run_for(1500)
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 1500
                    and getattr(trace, "last_t1", 0) == 1500
                    and getattr(raster, "last_t1", 0) == 1500, timeout=WAIT)
    ticker.timer.stop()
    ref = Simulation(graph, record=["pool.spikes", "B.spikes", "pool.v"]).advance(1500, 20)

    # the event loop ran between the first and the last monitor of a frame
    assert all(len(v) == len(ctl.monitors) for v in seen.values())
    assert all(v[-1] > v[0] for v in seen.values())
    for port in ("pool.spikes", "B.spikes"):
        s, i = raster.events[port]
        want = sorted(zip(*[a.tolist() for a in np.nonzero(ref[port])]))
        assert sorted(zip(s.tolist(), i.tolist())) == want
    assert raster.events["pool.spikes"][0].size > 20
    np.testing.assert_array_equal(trace.t, np.arange(1500))
    np.testing.assert_allclose(trace.v, ref["pool.v"][:, [0, 3]], rtol=1e-6)
    t, r = rates.data["pool"]
    assert t.size == 1500 // 20     # one rate per chunk, merged frames included
    np.testing.assert_allclose(t, np.arange(20, 1501, 20) * graph.settings["dt"])
    counts = ref["pool.spikes"].reshape(-1, 20, ref["pool.spikes"].shape[1]).sum(axis=(1, 2))
    np.testing.assert_allclose(r, counts / (40 * 20 * graph.settings["dt"] / 1000.0),
                               rtol=1e-6)
    assert ctl.frames_drawn == len(seen) and not ctl.painter.drawing


def test_a_stale_frame_in_progress_is_dropped(qtbot, make, monkeypatch):  # noqa: F811
    """A Reset while a frame is drawn in slices: the rest of that frame is not drawn into the
    emptied panels."""
    monkeypatch.setattr(painter_mod, "SLICE_S", 0.0)
    win, ctl = make(pool_graph())
    raster = ctl.monitor_spikes("pool")
    ctl.monitor_membrane("pool")
    ctl.bar.chunk_box.setValue(200)
    ctl.run_for(400)
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 400
                    and getattr(raster, "last_t1", 0) == 400, timeout=WAIT)
    qtbot.waitUntil(lambda: not ctl.painter.drawing, timeout=WAIT)
    frame = {"gen": ctl.gen, "t0": 400, "t1": 600, "dt": 0.1, "window": 10_000, "final": False,
             "events": {"pool.spikes": (np.array([450], np.int64), np.array([1], np.int32))},
             "rates": {}, "counts": {}, "traces": {}, "values": {}, "episodes": {},
             "weights": {}, "images": {}, "errors": {}}
    ctl.painter.mailbox.put(frame)
    ctl.painter.draw()                 # the first slice: the raster only
    assert ctl.painter.drawing and raster.last_t1 == 600
    ctl.reset()                        # a new run number; the panels empty
    qtbot.waitUntil(lambda: not ctl.painter.drawing, timeout=WAIT)
    trace = ctl.monitors[1]
    assert getattr(trace, "last_t1", 0) != 600


def test_the_build_and_first_compile_leave_the_event_loop_running(qtbot, make,  # noqa: F811
                                                                  monkeypatch):
    """Run: the model is built and its first chunk compiled in the worker thread. Both are
    held here until the GUI's event loop has run a number of passes meanwhile (it could not,
    were either done in the GUI thread or holding it)."""
    release_build, release_chunk = threading.Event(), threading.Event()
    threads = []

    class HeldSimulation(Simulation):
        first = True

        def __init__(self, *args, **kwargs):
            threads.append(threading.get_ident())
            release_build.wait(WAIT / 1000.0)
            super().__init__(*args, **kwargs)

        def advance(self, *args, **kwargs):
            if HeldSimulation.first:
                HeldSimulation.first = False
                threads.append(threading.get_ident())
                release_chunk.wait(WAIT / 1000.0)
            return super().advance(*args, **kwargs)

    monkeypatch.setattr(worker_mod, "Simulation", HeldSimulation)
    win, ctl = make(pool_graph())
    ctl.monitor_spikes("pool")
    ticker = Ticker()
    ctl.run()
    qtbot.waitUntil(lambda: len(threads) == 1 and ticker.n >= 20, timeout=WAIT)
    assert ctl.state == "compiling"
    n = ticker.n
    release_build.set()
    qtbot.waitUntil(lambda: len(threads) == 2 and ticker.n >= n + 20, timeout=WAIT)
    assert ctl.state == "compiling" and ctl.t == 0
    release_chunk.set()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 0, timeout=WAIT)
    ctl.pause()
    qtbot.waitUntil(lambda: ctl.state == "paused", timeout=WAIT)
    ticker.timer.stop()
    assert threading.get_ident() not in threads


def test_changing_texts_do_not_lay_out_the_window(qtbot, make):  # noqa: F811
    """A monitor's header and the toolbar's time and speed change many times a second; the
    window must not lay itself out for each (a QLabel would: the check below proves the
    counter sees it)."""
    win, ctl = make(pool_graph())
    win.resize(900, 600)
    win.show()
    mon = ctl.monitor_spikes("pool")
    qtbot.waitExposed(win)
    qtbot.wait(50)
    layouts = EventCounter(win, QEvent.Type.LayoutRequest)
    for k in range(30):
        mon.show_info(f"{k * 997:,} spikes", force=True)
        ctl.bar.show_time(k * 123.4, k * 1000.0, True)
        qtbot.wait(1)
    qtbot.wait(20)
    assert layouts.n == 0
    assert mon.info_label.text() == "28,913 spikes"
    assert ctl.bar.time_label.text() == " t = 3,578.6 ms "
    assert isinstance(mon.info_label, StatusText)

    label = QLabel("x")           # the same place with a QLabel: the window lays out
    mon.controls.addWidget(label)
    qtbot.wait(20)
    layouts.n = 0
    for k in range(5):
        label.setText("y" * (k + 2))
        qtbot.wait(1)
    qtbot.wait(20)
    assert layouts.n > 0


def test_status_text_elides_and_shows_the_whole_text_on_hover(qtbot):
    w = StatusText("short", width=60)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    long = "a much longer text than sixty pixels can hold"
    w.setText(long)
    qtbot.waitUntil(lambda: w.toolTip() == long, timeout=WAIT)
    assert w.text() == long
    w.setText("ok")
    qtbot.waitUntil(lambda: w.toolTip() == "", timeout=WAIT)
    assert w.text() == "ok" and w.width() == 60


def window_pixels(widget) -> QImage:
    """What the window holds (its backing store, not a fresh rendering) over ``widget``."""
    win = widget.window()
    top_left = widget.mapTo(win, widget.rect().topLeft())
    img = win.screen().grabWindow(win.winId()).toImage()
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    return img.copy(top_left.x(), top_left.y(), widget.width(), widget.height())


def test_panels_repainted_in_part_show_what_a_full_repaint_shows(qtbot, make):  # noqa: F811
    """Curves that move and axes that rescale leave no stale pixels: after every change the
    window's pixels over the panel equal a full repaint of it. (A view whose scene's
    ``changed`` signal has a listener does leave them: Qt then repaints only where items are
    now, not where they were.)"""
    win, ctl = make(pool_graph())
    win.resize(900, 700)
    win.show()
    mon = ctl.monitor_signal("src", elements=(0,))
    qtbot.waitExposed(win)
    qtbot.wait(200)
    x = np.arange(-2000.0, 0.0)
    viewport = mon.layout_widget.viewport()
    stale = 0
    for k in range(12):
        y = np.zeros_like(x)
        y[500 + 20 * k] = 1.0 / (1 + k % 3)
        y[1200 + 20 * k] = -1.0
        mon.curves[0].setData(x, y)
        if k % 3 == 0:
            mon.plot.setYRange(-1.2 * (1 + k % 2), 1.2 * (1 + k % 2), padding=0)
        qtbot.wait(30)
        shown = window_pixels(viewport)
        viewport.repaint()
        stale += shown != window_pixels(viewport)
    assert stale == 0


def test_episode_axes_grow_in_steps_and_keep_every_episode_in_view(qtbot):
    """The episode panel rescales rarely, yet every episode stays in view: 300 episodes in
    100 frames rescale the episode axis a handful of times, not 100."""
    graph = load(EXAMPLES / "cartpole.json")
    mon = EpisodeMonitor(GraphInfo(graph), "cart")
    qtbot.addWidget(mon)
    mon.resize(500, 400)
    mon.show()
    port = mon.ports[0]
    plot = mon.plots[port]
    rescaled = []
    plot.getViewBox().sigXRangeChanged.connect(lambda *a: rescaled.append(1))
    rng = np.random.default_rng(1)
    sent = []
    for f in range(100):
        new = [float(v) for v in rng.integers(8, 500, size=3)]
        sent += new
        mon.update_frame({"gen": 1, "t0": f, "t1": f + 1, "dt": 1.0, "errors": {},
                          "episodes": {port: new}})
        (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
        assert x0 <= 1 and x1 >= len(sent)
        assert y0 <= min(sent) and y1 >= max(sent)
    assert mon.values[port] == sent
    x, y = mon.curves[port].getData()
    np.testing.assert_array_equal(y, sent)
    assert len(rescaled) <= 10
