"""Live-run benchmark: GUI responsiveness and simulation speed while the app runs a network.

Opens a graph (default resources/examples/benchmark_7pools.json) in the editor window (or a
minimal stand-in window when app.main_window is unavailable), opens a spike raster and a rate
panel for every pool plus one membrane trace, and runs at full speed:

* GUI event-loop latency: a QTimer probe fires every 10 ms; its lateness (actual interval minus
  10 ms) is collected while the simulation runs; max and 99th percentile are reported
  (target: under 50 ms);
* steps/s with the display on and off, and the engine alone (no GUI) for reference;
* raster drawing cost for 10,000 neurons (synthetic frames), as frames per second.

Usage:  QT_QPA_PLATFORM=offscreen python benchmarks/bench_live.py [GRAPH] [--seconds S]
        [--chunk K] [--screenshot PNG]   (the screenshot is best taken under xvfb-run)
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT = ROOT / "resources" / "examples" / "benchmark_7pools.json"


def make_window(path: str, stand_in: bool = False):
    """The real editor window when it imports (and not ``stand_in``), else a minimal stand-in
    with the same interface."""
    from PySide6.QtCore import Signal
    from PySide6.QtWidgets import QMainWindow

    import app.run as run
    from engine import load

    try:
        if stand_in:
            raise ImportError
        from app.main_window import MainWindow
        win = MainWindow(path, check_recovery=False, with_run=False)
        ctl = run.install(win)
        return win, ctl, "app.main_window.MainWindow"
    except ImportError:
        pass

    class StandIn(QMainWindow):
        graph_edited = Signal(str, str, str)

        def __init__(self):
            super().__init__()
            self.graph = load(path)
            self.current_path = path

        def select_node(self, node_id):
            pass

        def set_node_badge(self, node_id, text):
            pass

        def show_problems(self, problems):
            pass

        def register_node_action(self, text, callback):
            pass

        def status(self, message):
            pass

    win = StandIn()
    return win, run.install(win), "stand-in QMainWindow"


class Probe:
    """A 10 ms QTimer recording how late each tick is."""

    def __init__(self, interval_ms: int = 10):
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000.0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.late: list[float] = []
        self._last = None

    def start(self):
        self.late, self._last = [], time.perf_counter()
        self.timer.start()

    def stop(self):
        self.timer.stop()

    def _tick(self):
        now = time.perf_counter()
        self.late.append(max(0.0, now - self._last - self.interval))
        self._last = now

    def summary(self):
        a = np.asarray(self.late) * 1000.0
        if not a.size:
            return float("nan"), float("nan"), 0
        return float(a.max()), float(np.percentile(a, 99)), int(a.size)


def pump(app, seconds: float, until=None):
    """Run the Qt event loop (QEventLoop.exec, as the app does) for ``seconds`` or until
    ``until()`` holds (checked every 10 ms); return whether it holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    end = time.perf_counter() + seconds

    def check():
        if (until is not None and until()) or time.perf_counter() >= end:
            loop.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(10)
    QTimer.singleShot(int(seconds * 1000) + 1, loop.quit)
    loop.exec()
    timer.stop()
    return until() if until is not None else True


def measure_phase(app, ctl, probe, seconds: float):
    """Run for ``seconds`` of wall time (after compiling); return steps/s and probe stats."""
    ctl.run()
    pump(app, 300.0, lambda: ctl.state == "running" and ctl.t > 0)
    pump(app, 0.5)  # settle (first frames, JIT of the chunk)
    probe.start()
    t0, w0 = ctl.worker.sim.t, time.perf_counter()
    pump(app, seconds)
    t1, w1 = ctl.worker.sim.t, time.perf_counter()
    probe.stop()
    ctl.pause()
    pump(app, 30.0, lambda: ctl.state == "paused")
    return (t1 - t0) / (w1 - w0), probe.summary()


def raster_fps(n_neurons: int = 10_000, frames: int = 60, rate_hz: float = 10.0):
    """Frames per second RasterMonitor sustains for ``n_neurons`` (synthetic 100-step frames)."""
    from app.run.monitors import RasterMonitor
    from engine import Graph, Node
    from app.run.graph_info import GraphInfo

    g = Graph()
    g.add_node(Node("big", "lif", {"size": n_neurons}))
    mon = RasterMonitor(GraphInfo(g), ["big"])
    mon.resize(900, 500)
    mon.show()
    rng = np.random.default_rng(0)
    k, dt = 100, 0.1
    p = rate_hz * dt / 1000.0
    times = []
    for f in range(frames):
        spikes = rng.random((k, n_neurons)) < p
        s, i = np.nonzero(spikes)
        frame = {"gen": 1, "t0": f * k, "t1": (f + 1) * k, "dt": dt, "events":
                 {"big.spikes": (s.astype(np.int64) + f * k, i.astype(np.int32))}}
        t0 = time.perf_counter()
        mon.update_frame(frame)
        mon.layout_widget.repaint()
        times.append(time.perf_counter() - t0)
    mon.close()
    ms = float(np.median(times[5:])) * 1000.0
    return ms, 1000.0 / ms


def engine_speed(path: str, chunk: int, seconds: float) -> float:
    from engine import Simulation, load

    sim = Simulation(load(path), chunk=chunk)
    sim.advance(chunk, chunk)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        sim.advance(chunk, chunk)
        n += chunk
    return n / (time.perf_counter() - t0)


def screenshot(app, path: str, out: str, seconds: float) -> None:
    """Open ``path`` in the editor, show every kind of monitor that fits, run for ``seconds``
    at full speed and save a picture of the window to ``out``."""
    from app.run.graph_info import GraphInfo
    from PySide6.QtCore import Qt

    win, ctl, kind = make_window(path)
    ctl.popups = False
    win.resize(1600, 1000)
    win.show()
    pump(app, 0.5)
    info = GraphInfo(win.graph)
    pools = info.pools()
    for p in pools:
        ctl.monitor_spikes(p)
        ctl.monitor_rate(p)
    envs = [n for n in win.graph.nodes if info.observation_port(n)]
    for n in envs:
        ctl.monitor_environment(n)
        if info.episode_ports(n):
            ctl.monitor_episodes(n)
    projs = [n for n in win.graph.nodes if info.is_projection(n)]
    plastic = [n for n in projs if win.graph.nodes[n].type != "projection"]
    if plastic or projs:
        ctl.monitor_weights((plastic or projs)[0])
    if pools:
        ctl.monitor_membrane(pools[0], neurons=(0, 1, 2))
    ctl.run()
    pump(app, 300.0, lambda: ctl.state == "running" and ctl.t > 0)
    pump(app, 0.3)
    right = [m for m in ctl.monitors
             if win.dockWidgetArea(m) == Qt.DockWidgetArea.RightDockWidgetArea]
    bottom = [m for m in ctl.monitors if m not in right]
    from PySide6.QtWidgets import QDockWidget
    others = [d for d in win.findChildren(QDockWidget) if d not in ctl.monitors and d.isVisible()
              and win.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea]
    if bottom:  # side by side along the bottom: the raster gets the most room
        win.resizeDocks(others + bottom, [180] * len(others) + [480] +
                        [300] * (len(bottom) - 1), Qt.Orientation.Horizontal)
        win.resizeDocks(bottom[:1], [380], Qt.Orientation.Vertical)
    if right:   # stacked on the right
        win.resizeDocks(right, [230] * len(right), Qt.Orientation.Vertical)
        win.resizeDocks(right[:1], [520], Qt.Orientation.Horizontal)
    pump(app, seconds)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    win.grab().save(out)
    ctl.pause()
    pump(app, 30.0, lambda: ctl.state == "paused")
    print(f"saved {out}: {Path(path).name} at t = {ctl.time_ms:,.0f} ms, window: {kind}")
    ctl.shutdown()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("graph", nargs="?", default=str(DEFAULT))
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--screenshot", default=None,
                    help="instead of measuring: run GRAPH with monitors and save the window here")
    ap.add_argument("--stand-in", action="store_true", help="use a bare window, not the editor")
    args = ap.parse_args(argv)
    path = args.graph if Path(args.graph).exists() else str(ROOT / "resources/examples/two_pools.json")

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["bench_live"])
    try:
        from app.theme import apply_theme
        apply_theme(app)
    except Exception:
        pass
    if args.screenshot:
        screenshot(app, path, args.screenshot, args.seconds)
        return 0
    win, ctl, kind = make_window(path, args.stand_in)
    ctl.popups = False
    win.resize(1600, 1000)
    win.show()
    pump(app, 0.5)
    from app.run.graph_info import GraphInfo

    info = GraphInfo(win.graph)
    pools = info.pools()
    for p in pools:
        ctl.monitor_spikes(p)
        ctl.monitor_rate(p)
    if pools:
        ctl.monitor_membrane(pools[0], neurons=(0, 1, 2))
    ctl.chunk_box.setValue(args.chunk)
    probe = Probe()

    on_sps, (on_max, on_p99, on_n) = measure_phase(app, ctl, probe, args.seconds)
    drawn = ctl.frames_drawn
    draw_ms = 1000.0 * ctl.draw_seconds / max(1, drawn)
    ctl.set_display(False)
    off_sps, (off_max, off_p99, off_n) = measure_phase(app, ctl, probe, args.seconds)
    ctl.shutdown()
    eng = engine_speed(path, args.chunk, min(args.seconds, 5.0))
    r_ms, r_fps = raster_fps()

    print(f"\nLive-run benchmark: {Path(path).name}, {len(pools)} pools, chunk {args.chunk} "
          f"steps, {args.seconds:g} s per phase, window: {kind}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, QPA {app.platformName()}\n")
    print("| phase | steps/s | probe ticks | GUI lateness max (ms) | p99 (ms) | frames drawn | "
          "draw ms/frame |")
    print("|---|---|---|---|---|---|---|")
    print(f"| display on  | {on_sps:,.0f} | {on_n} | {on_max:.1f} | {on_p99:.1f} | {drawn} | "
          f"{draw_ms:.1f} |")
    print(f"| display off | {off_sps:,.0f} | {off_n} | {off_max:.1f} | {off_p99:.1f} | - | - |")
    print(f"| engine alone (no GUI) | {eng:,.0f} | | | | | |")
    print(f"\nraster of 10,000 neurons: {r_ms:.1f} ms per frame -> {r_fps:.0f} frames/s possible")
    ok = max(on_max, off_max) < 50.0
    print(f"GUI lateness target (< 50 ms): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
