"""Live-run benchmark: GUI responsiveness and simulation speed while the app runs a network.

Opens a graph (default resources/examples/benchmark_7pools.json) in the editor window (or a
minimal stand-in window when app.main_window is unavailable), opens every monitor the graph
offers (``open_monitors``: a spike raster and a rate panel of all pools, a membrane trace, the
neuromodulator, the environment view, episode curves and plastic weights) and runs at full
speed:

* GUI event-loop latency: a QTimer probe fires every 10 ms; its lateness (actual interval minus
  10 ms) is collected while the simulation runs; max and 99th percentile are reported
  (target: under 50 ms);
* steps/s with the display on and off, the engine alone (no GUI) for reference, and
  environment steps/s for graphs with an environment;
* what the canvas costs: refreshing every pool's rate badge, and one full repaint;
* raster drawing cost for 10,000 neurons (synthetic frames), as frames per second.

The load average at the start and the end is printed with the results.

Usage:  QT_QPA_PLATFORM=offscreen python benchmarks/bench_live.py [GRAPH] [--seconds S]
        [--chunk K] [--monitors raster,rates,...]
Screenshots (under xvfb-run, with a fresh SPARK_SETTINGS_DIR):
        python benchmarks/bench_live.py GRAPH --screenshot PNG [--seconds S] [--monitors ...]
        [--select NODE] [--no-run]
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

    import spark_snn.app.run as run
    from spark_snn.engine import load

    try:
        if stand_in:
            raise ImportError
        from spark_snn.app.main_window import MainWindow
        win = MainWindow(path, check_recovery=False, with_run=False)
        ctl = run.install(win)
        return win, ctl, "spark_snn.app.main_window.MainWindow"
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


def measure_compile(app, ctl, probe):
    """Build and run one chunk (Step) with the latency probe on: how the GUI fares while the
    worker compiles. Returns (seconds, max lateness ms, p99 ms)."""
    probe.start()
    t0 = time.perf_counter()
    ctl.step()
    pump(app, 300.0, lambda: ctl.state == "paused" and ctl.t > 0)
    seconds = time.perf_counter() - t0
    probe.stop()
    mx, p99, _n = probe.summary()
    return seconds, mx, p99


def measure_phase(app, ctl, probe, seconds: float):
    """Run for ``seconds`` of wall time (after compiling); return steps/s and probe stats."""
    t_start = ctl.t
    ctl.run()
    # a changed display setting recompiles the chunk: wait until chunks of the new shape run
    k = ctl.bar.chunk_box.value()
    pump(app, 300.0, lambda: ctl.state == "running" and ctl.t >= t_start + 3 * k)
    pump(app, 0.5)  # settle (first frames)
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
    from spark_snn.app.run.monitors import RasterMonitor
    from spark_snn.engine import Graph, Node
    from spark_snn.app.run.graph_info import GraphInfo

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
    from spark_snn.engine import Simulation, load

    sim = Simulation(load(path), chunk=chunk)
    sim.advance(chunk, chunk)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        sim.advance(chunk, chunk)
        n += chunk
    return n / (time.perf_counter() - t0)


MONITOR_KINDS = ("raster", "rates", "membrane", "signal", "environment", "episodes", "weights")


def open_monitors(ctl, win, kinds=MONITOR_KINDS) -> None:
    """Open the monitors of ``kinds`` that the graph offers: a raster and a rate panel of all
    pools, the membrane potential of the first pool, the neuromodulator (the signal feeding a
    plastic projection's 'modulator' input, else the first modulator output outside the
    environments), the environment and its episodes, and the weights of the first plastic
    projection."""
    from spark_snn.app.run.graph_info import GraphInfo

    info = GraphInfo(win.graph)
    g = win.graph
    pools = info.pools()
    if "raster" in kinds:
        for p in pools:
            ctl.monitor_spikes(p)
    if "rates" in kinds:
        for p in pools:
            ctl.monitor_rate(p)
    if "membrane" in kinds and pools:
        ctl.monitor_membrane(pools[0], neurons=(0, 1, 2))
    if "signal" in kinds:
        mods = [e.src for e in g.edges if e.dst_port == "modulator" and e.src in info.ports]
        mods += [q for n in g.nodes if info.categories.get(n) != "Environments"
                 for q in info.signal_ports(n) if info.ports[q].kind == "modulator"]
        if mods:
            node, port = mods[0].rsplit(".", 1)
            ctl.monitor_signal(node, port=mods[0], elements=(0,))
    for n in [n for n in g.nodes if info.observation_port(n)]:
        if "environment" in kinds:
            ctl.monitor_environment(n)
        if "episodes" in kinds and info.episode_ports(n):
            ctl.monitor_episodes(n)
    plastic = [n for n in g.nodes if info.is_projection(n) and g.nodes[n].type != "projection"]
    if "weights" in kinds and plastic:
        ctl.monitor_weights(plastic[0])


def screenshot(app, path: str, out: str, seconds: float, run: bool = True,
               select: str | None = None, kinds=MONITOR_KINDS) -> None:
    """Open ``path`` in the editor (fresh layout), open the monitors (``open_monitors``), run
    for ``seconds`` at full speed and save a picture of the window to ``out`` (PNG, reduced
    to 256 colours when ImageMagick's ``convert`` is installed). ``run=False``: the editor
    alone, no monitors. ``select``: a node to select (the inspector shows it)."""
    import shutil
    import subprocess

    win, ctl, kind = make_window(path)
    ctl.popups = False
    win.resize(1600, 1000)
    win.show()
    pump(app, 0.5)
    win.canvas.fit()
    if run:
        open_monitors(ctl, win, kinds)
        pump(app, 1.0)   # let the docks settle, then frame the graph in what is left
        win.canvas.fit()
        ctl.run()
        pump(app, 300.0, lambda: ctl.state == "running" and ctl.t > 0)
    if select:
        win.select_node(select)
    pump(app, seconds)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    win.grab().save(out)
    if shutil.which("convert"):
        subprocess.run(["convert", out, "-colors", "256", "PNG8:" + out], check=False)
    if run:
        ctl.pause()
        pump(app, 30.0, lambda: ctl.state == "paused")
    print(f"saved {out} ({Path(out).stat().st_size // 1024} KiB): {Path(path).name} at "
          f"t = {ctl.time_ms:,.0f} ms, window: {kind}")
    ctl.shutdown()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("graph", nargs="?", default=str(DEFAULT))
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--screenshot", default=None,
                    help="instead of measuring: run GRAPH with monitors and save the window here")
    ap.add_argument("--no-run", action="store_true",
                    help="with --screenshot: the editor alone (no monitors, not running)")
    ap.add_argument("--select", default=None, help="with --screenshot: select this node")
    ap.add_argument("--monitors", default=",".join(MONITOR_KINDS),
                    help="monitor kinds to open during the display-on phase (or for the "
                         "screenshot), comma separated (default: every kind the graph offers: "
                         f"{', '.join(MONITOR_KINDS)})")
    ap.add_argument("--stand-in", action="store_true", help="use a bare window, not the editor")
    args = ap.parse_args(argv)
    path = args.graph if Path(args.graph).exists() else str(ROOT / "resources/examples/two_pools.json")

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["bench_live"])
    try:
        from spark_snn.app.theme import apply_theme
        apply_theme(app)
    except Exception:
        pass
    if args.screenshot:
        screenshot(app, path, args.screenshot, args.seconds, run=not args.no_run,
                   select=args.select, kinds=tuple(args.monitors.split(",")))
        return 0
    load0, cpu0 = os.getloadavg(), cpu_times()
    win, ctl, kind = make_window(path, args.stand_in)
    ctl.popups = False
    win.resize(1600, 1000)
    win.show()
    pump(app, 0.5)
    from spark_snn.app.run.graph_info import GraphInfo

    info = GraphInfo(win.graph)
    pools = info.pools()
    open_monitors(ctl, win, tuple(args.monitors.split(",")))
    monitors = ", ".join(sorted({m.kind for m in ctl.monitors}))
    ctl.bar.chunk_box.setValue(args.chunk)
    # let the new docks lay out, polish and paint first (in the app they are open well before
    # Run is pressed): the compile measurement below is about the run, not about opening panels
    pump(app, 1.0)
    probe = Probe()

    c_s, c_max, c_p99 = measure_compile(app, ctl, probe)
    on_sps, (on_max, on_p99, on_n) = measure_phase(app, ctl, probe, args.seconds)
    drawn = ctl.frames_drawn
    draw_ms = 1000.0 * ctl.draw_seconds / max(1, drawn)
    badge_ms, repaint_ms = canvas_costs(app, win, pools)
    ctl.set_display(False)
    off_sps, (off_max, off_p99, off_n) = measure_phase(app, ctl, probe, args.seconds)
    ctl.shutdown()
    eng = engine_speed(path, args.chunk, min(args.seconds, 5.0))
    r_ms, r_fps = raster_fps()
    load1, cpu1 = os.getloadavg(), cpu_times()
    steal = ""
    if cpu0 and cpu1 and cpu1[0] > cpu0[0]:
        pct = 100.0 * (cpu1[1] - cpu0[1]) / (cpu1[0] - cpu0[0])
        steal = f"; CPU time stolen by the hypervisor {pct:.0f} %"

    print(f"\nLive-run benchmark: {Path(path).name}, {len(pools)} pools, chunk {args.chunk} "
          f"steps, {args.seconds:g} s per phase, window: {kind}")
    print(f"monitors open with the display on: {monitors or 'none'}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, QPA {app.platformName()}; load average "
          f"{load0[0]:.2f} at the start, {load1[0]:.2f} at the end{steal}\n")
    print("| phase | steps/s | probe ticks | GUI lateness max (ms) | p99 (ms) | frames drawn | "
          "draw ms/frame |")
    print("|---|---|---|---|---|---|---|")
    print(f"| display on  | {on_sps:,.0f} | {on_n} | {on_max:.1f} | {on_p99:.1f} | {drawn} | "
          f"{draw_ms:.1f} |")
    print(f"| display off | {off_sps:,.0f} | {off_n} | {off_max:.1f} | {off_p99:.1f} | - | - |")
    print(f"| engine alone (no GUI) | {eng:,.0f} | | | | | |")
    print(f"\nwhile compiling (build + first chunk, {c_s:.1f} s): GUI lateness max "
          f"{c_max:.1f} ms, p99 {c_p99:.1f} ms")
    for node in win.graph.nodes.values():
        per = node.params.get("steps_per_env_step")
        if per:
            print(f"\nenvironment '{node.id}' ({per} steps per environment step): "
                  f"{on_sps / per:,.0f} env steps/s with the display on, "
                  f"{off_sps / per:,.0f} with it off")
    if pools:
        print(f"\ncanvas: refreshing all {len(pools)} rate badges {badge_ms:.2f} ms; "
              f"a full canvas repaint (pan or zoom) {repaint_ms:.1f} ms")
    print(f"raster of 10,000 neurons: {r_ms:.1f} ms per frame -> {r_fps:.0f} frames/s possible")
    ok = max(on_max, off_max) < 50.0
    print(f"GUI lateness target while running (< 50 ms): {'met' if ok else 'NOT met'}")
    return 0


def cpu_times():
    """(total, steal) jiffies of all CPUs from /proc/stat (None elsewhere): on a virtual
    machine, 'steal' is time the hypervisor gave to other guests."""
    try:
        with open("/proc/stat") as fh:
            vals = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(vals[:8]), (vals[7] if len(vals) > 7 else 0)


def canvas_costs(app, win, pools, repeats: int = 20):
    """Median milliseconds to (a) give every pool badge a new text and let Qt paint it, and
    (b) repaint the whole canvas viewport (what a pan or zoom costs)."""
    if not hasattr(win, "canvas"):
        return float("nan"), float("nan")
    vp = win.canvas.viewer.viewport()
    badge, full = [], []
    for k in range(repeats):
        t0 = time.perf_counter()
        for j, p in enumerate(pools):
            win.set_node_badge(p, f"{k}.{j} Hz")
        app.processEvents()
        badge.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        vp.repaint()
        full.append(time.perf_counter() - t0)
    return 1000.0 * float(np.median(badge)), 1000.0 * float(np.median(full))


if __name__ == "__main__":
    sys.exit(main())
