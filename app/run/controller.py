"""RunController: the run toolbar, the monitors and the worker thread, wired to the main window.

The window provides (see app/run/__init__.py): ``graph``, ``current_path``, ``select_node``,
``set_node_badge``, ``show_problems``, ``register_node_action``, ``status``, the signal
``graph_edited(kind, node_id, param)``, and QMainWindow's ``addDockWidget``/``addToolBar``.
"""
from __future__ import annotations

import queue
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialog, QLabel, QMessageBox,
                               QSpinBox, QToolBar)

from components.base import DeclarationError
from engine import Problem, registry

from .graph_info import GraphInfo
from .monitors import (EnvironmentMonitor, EpisodeMonitor, Monitor, RasterMonitor, RateMonitor,
                       TraceMonitor, WeightsMonitor, paint_seconds)
from .recording_dialog import RecordingDialog, make_plan
from .worker import DisplayRequest, SimWorker

FRAME_INTERVAL_S = 1.0 / 25.0   # draw at most 25 frames per second ...
SLOWEST_FRAME_S = 0.25          # ... and at least 4 when drawing overloads the GUI thread
BUSY_HIGH = 0.4                 # share of the GUI thread's time spent drawing and painting
BUSY_LOW = 0.25                 # the plots (smoothed) above which frames are spaced out, and
                                # below which the interval shrinks back
BADGE_INTERVAL_S = 0.5          # pool rate badges: rates over half a second, 2 updates/s
SPEEDS = [("0.1x", 0.1), ("0.25x", 0.25), ("0.5x", 0.5), ("1x", 1.0), ("2x", 2.0), ("5x", 5.0),
          ("10x", 10.0), ("max", None)]


WORKER_NICE = 4    # the simulation thread yields the CPU to the GUI thread (Linux);
                   # the environment variable SPARK_WORKER_NICE overrides it (0: off)


def lower_this_thread_priority(nice: int = WORKER_NICE) -> bool:
    """Give the calling thread a lower scheduling priority than the GUI thread.

    On a machine with one free core the simulation and the GUI share it; at the same priority
    the scheduler splits it evenly and the GUI falls behind while it paints. Niced, the worker
    still gets all the time the GUI does not use (the simulation runs as fast as before when
    the GUI is idle), but the GUI gets the CPU as soon as it has work. Linux sets niceness per
    thread (threads are tasks), and threads created later by this one (XLA's) inherit it.
    Elsewhere QThread.LowPriority (set at start) does the same; this returns False.
    Nice 4 is a compromise measured with benchmarks/bench_live.py: 10 favours the GUI a little
    more but lets other programs take much more of the CPU from the simulation.
    """
    import os
    import sys
    import threading

    nice = int(os.environ.get("SPARK_WORKER_NICE", nice))
    if nice <= 0 or not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + int(nice))
        return True
    except OSError:
        return False


class _WorkerThread(QThread):
    """A thread whose whole life is the worker's loop (it needs no Qt event loop), at a lower
    priority than the GUI thread (see ``lower_this_thread_priority``)."""

    def __init__(self, worker: SimWorker):
        super().__init__()
        self.worker = worker
        self.niced = False

    def run(self):
        self.niced = lower_this_thread_priority()
        self.worker.loop()


class RunController(QObject):
    """Runs the window's graph live; see the package docstring."""

    def __init__(self, window, autorun: bool = False):
        super().__init__(window)
        self.window = window
        self.worker = SimWorker()
        self.thread = _WorkerThread(self.worker)
        self.worker.moveToThread(self.thread)
        self.worker.notify.connect(self._on_notify)
        self.worker.frame_ready.connect(self._on_frame_ready)
        self.thread.start(QThread.Priority.LowPriority)

        self.state = "idle"
        self.t = 0
        self.time_ms = 0.0
        self.sps = 0.0
        self.gen = 0
        self.compiles = 0
        self.last_error: tuple[str, str, int] | None = None
        self.last_recording: list[str] = []
        self.popups = True           # show message boxes (tests turn them off)
        self.confirm = self._confirm  # (title, text) -> bool; tests may replace it
        self.dirty = False           # the graph changed structurally since the last build
        self.monitors: list[Monitor] = []
        self.frames_drawn = 0
        self.draw_seconds = 0.0
        self.badges: dict[str, str] = {}
        self._badge_counts: dict[str, list] = {}
        self._badge_pools: tuple[str, ...] = ()   # the pools that show a rate badge
        self._last_badge = 0.0
        self._last_draw = 0.0
        self.frame_interval = FRAME_INTERVAL_S   # adapted to the GUI's load (see _pace_frames)
        self._tick_at = 0.0
        self._spent_at = 0.0
        self._busy = 0.0
        self._built_info: GraphInfo | None = None
        self._closed = False

        # Frames are drawn when the worker signals one (if the last draw is old enough) and
        # by this steady timer otherwise; a steady timer (not a restarted single-shot one)
        # leaves other timers of the event loop their turn.
        self._draw_timer = QTimer(self)
        # precise: a coarse timer may fire up to 5 % of its interval late on purpose, which
        # _pace_frames would take for an overloaded event loop
        self._draw_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._draw_timer.setInterval(int(FRAME_INTERVAL_S * 1000))
        self._draw_timer.timeout.connect(self._on_draw_timer)

        self._build_toolbar()
        self._register_actions()
        window.graph_edited.connect(self._on_graph_edited)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        window.destroyed.connect(self.shutdown)
        self._send_request()
        if autorun:
            QTimer.singleShot(0, self.run)

    # --- toolbar -----------------------------------------------------------------------------------
    def _build_toolbar(self):
        tb = QToolBar("Run")
        tb.setObjectName("run_toolbar")
        self.toolbar = tb

        def action(text, shortcut, slot, tip):
            a = QAction(text, self.window)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
                a.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            a.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
            a.triggered.connect(slot)
            tb.addAction(a)
            return a

        self.run_action = action("Run", "F5", self.toggle_run, "Run / pause the simulation")
        self.pause_action = action("Pause", "F6", self.pause, "Pause")
        tb.removeAction(self.pause_action)   # F5 toggles run/pause; F6 stays as a shortcut
        self.window.addAction(self.pause_action)
        self.step_action = action("Step", "F10", self.step, "Run one chunk")
        self.stop_action = action("Stop", "Shift+F5", self.stop,
                                  "Stop and discard the simulation")
        self.reset_action = action("Reset", "Ctrl+Shift+F5", self.reset, "Back to t = 0")
        tb.addSeparator()
        self.speed_box = QComboBox()
        for text, f in SPEEDS:
            self.speed_box.addItem(text, f)
        self.speed_box.setCurrentIndex(len(SPEEDS) - 1)
        self.speed_box.setFixedWidth(72)
        self.speed_box.setToolTip("Speed: real-time factor (simulated ms per wall-clock ms), "
                                  "or as fast as possible")
        self.speed_box.currentIndexChanged.connect(
            lambda i: self.set_speed(self.speed_box.itemData(i)))
        tb.addWidget(self.speed_box)
        self.chunk_box = QSpinBox()
        self.chunk_box.setRange(1, 100_000)
        self.chunk_box.setValue(100)
        self.chunk_box.setPrefix("chunk ")
        self.chunk_box.setFixedWidth(100)
        self.chunk_box.setToolTip("Steps per chunk: the host reads results and applies edits "
                                  "between chunks")
        self.chunk_box.valueChanged.connect(self.set_chunk)
        tb.addWidget(self.chunk_box)
        self.display_box = QCheckBox("display")
        self.display_box.setChecked(True)
        self.display_box.setToolTip("Off: no plots or badges, the engine runs at full speed")
        self.display_box.toggled.connect(self.set_display)
        tb.addWidget(self.display_box)
        self.record_action = QAction("Record...", self.window)
        self.record_action.setToolTip("Record chosen ports to .npz (rates also to CSV)")
        self.record_action.triggered.connect(self.record_dialog)
        tb.addAction(self.record_action)
        tb.addSeparator()
        self.state_label = QLabel(" idle ")
        self.time_label = QLabel(" t = 0 ms ")
        self.speed_label = QLabel(" 0 steps/s ")
        for w, width in ((self.state_label, 84), (self.time_label, 110), (self.speed_label, 120)):
            w.setFixedWidth(width)
            tb.addWidget(w)
        self.window.addToolBar(tb)
        self._update_actions()

    def _update_actions(self):
        s = self.state
        self.run_action.setText("Pause" if s == "running" else "Run")
        self.pause_action.setEnabled(s == "running")
        self.stop_action.setEnabled(s != "idle")
        self.reset_action.setEnabled(s in ("running", "paused", "error"))
        self.step_action.setEnabled(s != "compiling")

    def _register_actions(self):
        w = self.window
        w.register_node_action("Monitor spikes", self.monitor_spikes)
        w.register_node_action("Monitor membrane potential", self.monitor_membrane)
        w.register_node_action("Monitor rate", self.monitor_rate)
        w.register_node_action("Monitor output signal", self.monitor_signal)
        w.register_node_action("Monitor weights", self.monitor_weights)
        w.register_node_action("Show environment", self.monitor_environment)
        w.register_node_action("Monitor episodes", self.monitor_episodes)

    # --- commands ----------------------------------------------------------------------------------
    def _validated_graph(self):
        """A copy of the window's graph, or None (problems shown) when it does not validate."""
        graph = self.window.graph
        info = GraphInfo(graph)
        if info.problems:
            self.window.show_problems(list(info.problems))
            self.window.status(f"Cannot run: {len(info.problems)} problem(s) in the graph")
            return None
        self.window.show_problems([])
        self._built_info = info
        return graph.copy()

    def _build(self, run: bool) -> bool:
        graph = self._validated_graph()
        if graph is None:
            return False
        self.dirty = False
        self.last_error = None
        self._set_state("compiling")
        self._send_request()
        self.worker.send("build", graph, run)
        return True

    def run(self):
        """Start or resume (validating first; building when there is no model yet)."""
        if self.state == "running":
            return
        if self.state in ("idle", "error") or self.dirty:
            self._build(run=True)
            return
        if GraphInfo(self.window.graph).problems:
            self._validated_graph()
            return
        self.worker.send("run")

    def run_for(self, n_steps: int):
        """Run exactly ``n_steps`` more steps, then pause (building first when needed)."""
        if self.state in ("idle", "error") or self.dirty:
            if not self._build(run=False):
                return
        self.worker.send("run_for", int(n_steps))

    def toggle_run(self):
        if self.state == "running":
            self.pause()
        else:
            self.run()

    def pause(self):
        self.worker.send("pause")

    def step(self):
        """Run one chunk (building first when needed)."""
        if self.state in ("idle", "error") or self.dirty:
            if not self._build(run=False):
                return
        self.worker.send("step")

    def stop(self):
        self.worker.send("stop")
        self._clear_badges()

    def reset(self):
        """Back to t = 0 with the same seed (rebuilding when the graph changed structurally)."""
        if self.dirty or self.state == "error":
            self._build(run=False)
        else:
            self.worker.send("reset")

    def set_speed(self, factor):
        self.worker.send("speed", factor)

    def set_chunk(self, k: int):
        self.worker.send("chunk", int(k))

    def set_display(self, on: bool):
        self.worker.send("display", bool(on))
        if self.display_box.isChecked() != bool(on):
            self.display_box.setChecked(bool(on))
        if not on:
            self._clear_badges()

    def start_recording(self, plan):
        """Record ``plan.ports`` for ``plan.n_steps`` steps from now (or from the next build)."""
        self.worker.send("record", plan)
        self.window.status(f"Recording {len(plan.ports)} port(s) for {plan.n_steps} steps to "
                           f"{plan.path}")

    def record_dialog(self):
        info = GraphInfo(self.window.graph)
        base = Path(self.window.current_path).with_suffix(".npz") if \
            getattr(self.window, "current_path", None) else Path("recording.npz")
        dlg = RecordingDialog(info, str(base), self.window)
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.chosen():
            self.start_recording(dlg.plan())

    def recording_plan(self, ports, n_steps: int, path: str):
        """A plan for the current graph (for scripts and tests)."""
        return make_plan(GraphInfo(self.window.graph), ports, n_steps, path)

    def shutdown(self):
        """Stop the worker thread (on quit or when the window goes away)."""
        if self._closed:
            return
        self._closed = True
        self.worker.send("quit")
        self.thread.wait(10_000)

    # --- monitors ---------------------------------------------------------------------------------
    def _info(self) -> GraphInfo:
        return GraphInfo(self.window.graph)

    def _add_monitor(self, mon: Monitor, area=Qt.DockWidgetArea.BottomDockWidgetArea):
        mon.closed.connect(lambda m=mon: self._monitor_closed(m))
        self.monitors.append(mon)
        place = getattr(self.window, "place_monitor", None)  # the editor arranges its docks
        if place is not None:
            place(mon, area)
        else:
            self.window.addDockWidget(area, mon)
        mon.show()
        self._send_request()
        return mon

    def _find(self, cls, pred=lambda m: True):
        return next((m for m in self.monitors if type(m) is cls and pred(m)), None)

    def monitor_spikes(self, node_id: str):
        """Add ``node_id`` to the spike raster (one raster shows all chosen pools)."""
        info = self._info()
        if not info.spike_port(node_id):
            self.window.status(f"'{node_id}' has no spike output to monitor")
            return None
        mon = self._find(RasterMonitor)
        if mon is None:
            return self._add_monitor(RasterMonitor(info, [node_id], parent=self.window))
        mon.add_pool(node_id)
        self._send_request()
        return mon

    def monitor_membrane(self, node_id: str, neurons=(0, 1, 2)):
        info = self._info()
        if not info.v_port(node_id):
            self.window.status(f"'{node_id}' has no membrane potential output 'v'")
            return None
        mon = TraceMonitor(info, node_id, neurons, parent=self.window)
        mon.on_change = self._send_request
        return self._add_monitor(mon)

    def monitor_signal(self, node_id: str, port: str | None = None, elements=(0, 1, 2)):
        """Trace a non-spike output of ``node_id`` (default: its first modulator or value
        output), e.g. a neuromodulator or a TD error."""
        info = self._info()
        ports = info.signal_ports(node_id)
        if not ports or (port is not None and port not in ports):
            self.window.status(f"'{node_id}' has no such signal output to plot")
            return None
        mon = TraceMonitor(info, node_id, elements, parent=self.window, port=port or ports[0])
        mon.on_change = self._send_request
        return self._add_monitor(mon)

    def monitor_rate(self, node_id: str):
        info = self._info()
        if not info.spike_port(node_id):
            self.window.status(f"'{node_id}' has no spike output")
            return None
        mon = self._find(RateMonitor)
        if mon is None:
            return self._add_monitor(RateMonitor(info, [node_id], parent=self.window))
        mon.add_pool(node_id)
        self._send_request()
        return mon

    def monitor_weights(self, node_id: str):
        info = self._info()
        if not info.is_projection(node_id):
            self.window.status(f"'{node_id}' is not a projection")
            return None
        return self._add_monitor(WeightsMonitor(info, node_id, parent=self.window),
                                 Qt.DockWidgetArea.RightDockWidgetArea)

    def monitor_environment(self, node_id: str):
        info = self._info()
        if not info.observation_port(node_id):
            self.window.status(f"'{node_id}' has no 'observation' output to draw")
            return None
        return self._add_monitor(EnvironmentMonitor(info, node_id, parent=self.window),
                                 Qt.DockWidgetArea.RightDockWidgetArea)

    def monitor_episodes(self, node_id: str):
        info = self._info()
        if not info.episode_ports(node_id):
            self.window.status(f"'{node_id}' reports no episode outputs")
            return None
        return self._add_monitor(EpisodeMonitor(info, node_id, parent=self.window),
                                 Qt.DockWidgetArea.RightDockWidgetArea)

    def _monitor_closed(self, mon):
        if mon in self.monitors:
            self.monitors.remove(mon)
            self._send_request()

    def request(self) -> DisplayRequest:
        """What the open monitors and the pool badges need from the worker."""
        info = self._built_info or self._info()
        req = DisplayRequest()
        self._badge_pools = tuple(n for n in info.pools() if info.spike_port(n))
        req.counts = tuple(info.spike_port(n) for n in self._badge_pools)
        windows = [1000]
        for m in self.monitors:
            m.contribute(req, info)
            windows.append(m.window_steps(info.dt))
        req.window = max(windows)
        return req

    def _send_request(self):
        self.worker.send("request", self.request())

    # --- edits -------------------------------------------------------------------------------------
    def _on_graph_edited(self, kind: str, node_id: str, param: str):
        if self.state == "idle":
            self._refresh_monitors()
            return
        if kind == "param":
            graph = self.window.graph
            node = graph.nodes.get(node_id)
            if node is None or node.type not in registry():
                return
            cls = registry().get(node.type)
            try:
                prm = cls.node_param(node.params, param)
            except KeyError:
                return
            except DeclarationError:  # a model text with errors: not runnable as it is
                prm = None
            if prm is not None and prm.live:
                value = node.params.get(param, prm.default)
                self.worker.send("set_param", node_id, param, value)
                return
        self._structure_changed(f"'{node_id}' changed structurally")

    def _structure_changed(self, why: str):
        self.dirty = True
        self._refresh_monitors()
        if self.state in ("running", "paused"):
            if self.confirm("Rebuild the model?",
                            f"{why}: the running model must be rebuilt (the simulation restarts "
                            "at t = 0). Rebuild now?"):
                self._build(run=self.state == "running")
            else:
                self.window.status("The graph changed: the model is rebuilt (from t = 0) at "
                                   "the next Run, Step or Reset")

    def _refresh_monitors(self):
        """Close monitors whose nodes left the graph; give the others the new graph info."""
        info = self._info()
        for m in list(self.monitors):
            if any(n not in self.window.graph.nodes for n in m.nodes()):
                m.close()
            elif isinstance(m, RasterMonitor):
                m.set_info(info)

    def _confirm(self, title: str, text: str) -> bool:
        ans = QMessageBox.question(self.window, title, text)
        return ans == QMessageBox.StandardButton.Yes

    # --- worker signals ----------------------------------------------------------------------------
    def _set_state(self, state: str):
        self.state = state
        if state == "idle":
            self._draw_timer.stop()
            self._tick_at = 0.0
        elif not self._draw_timer.isActive():
            self._draw_timer.start()
        labels = {"compiling": " compiling... ", "running": " running ", "paused": " paused ",
                  "idle": " idle ", "error": " error "}
        self.state_label.setText(labels.get(state, state))
        self._update_actions()

    def _on_notify(self):
        """Handle everything the worker posted (in order)."""
        while True:
            try:
                kind, payload = self.worker.outbox.get_nowait()
            except queue.Empty:
                return
            if kind == "status":
                self._on_status(payload)
            elif kind == "failed":
                self._on_failed(*payload)
            elif kind == "rejected":
                self._on_rejected(payload)
            elif kind == "structural":
                self._on_structural(payload)
            elif kind == "recorded":
                self._on_recorded(payload)

    def _on_status(self, st: dict):
        self.t, self.time_ms, self.sps = st["t"], st["time_ms"], st["sps"]
        self.gen, self.compiles = st["gen"], st["compiles"]
        self._set_state(st["state"])
        self.time_label.setText(f" t = {self.time_ms:,.1f} ms " if self.time_ms < 10_000
                                else f" t = {self.time_ms / 1000.0:,.2f} s ")
        self.speed_label.setText(f" {self.sps:,.0f} steps/s " if self.state == "running"
                                 else " - steps/s ")
        if st.get("note"):
            self.window.status(st["note"])

    def _on_frame_ready(self):
        if time.perf_counter() - self._last_draw >= self.frame_interval:
            self._draw()

    def _on_draw_timer(self):
        self._pace_frames()
        self._draw()

    def _pace_frames(self):
        """Adapt the frame interval to what drawing costs the GUI thread. Each draw-timer tick
        measures the share of the wall time since the previous tick spent updating the plots
        and painting them (a slow machine, a CPU shared with the simulation, many monitors):
        above BUSY_HIGH frames are spaced out (up to 1/4 s apart), so that the event loop
        keeps time for input, menus and the canvas; below BUSY_LOW the interval shrinks back
        to 1/25 s. Lateness caused by something else (other programs) does not slow the plots
        down, since drawing less would not help."""
        now = time.perf_counter()
        spent = self.draw_seconds + paint_seconds()
        if self._tick_at:
            busy = (spent - self._spent_at) / max(now - self._tick_at, 1e-6)
            self._busy = 0.7 * self._busy + 0.3 * busy
            f = self.frame_interval
            if self._busy > BUSY_HIGH:
                f = min(SLOWEST_FRAME_S, f * 1.3)
            elif self._busy < BUSY_LOW:
                f = max(FRAME_INTERVAL_S, f / 1.15)
            if f != self.frame_interval:
                self.frame_interval = f
                self._draw_timer.setInterval(int(round(f * 1000)))
        self._tick_at = now
        self._spent_at = spent

    def _draw(self):
        frame = self.worker.mailbox.take()
        if frame is None:
            return
        t0 = time.perf_counter()
        self._last_draw = t0
        for m in list(self.monitors):
            m.update_frame(frame)
        self._update_badges(frame)
        self.frames_drawn += 1
        self.draw_seconds += time.perf_counter() - t0

    def _update_badges(self, frame):
        """Pool firing rates on the canvas, from the engine's in-scan spike counts. Counts are
        summed over ``BADGE_INTERVAL_S`` and only badges whose text changed are touched (the
        canvas draws them as opaque labels: a new text repaints the label and nothing else)."""
        for port, (c, n, size) in frame["counts"].items():
            acc = self._badge_counts.setdefault(port, [0, 0, size])
            acc[0] += c
            acc[1] += n
        now = time.perf_counter()
        if now - self._last_badge < BADGE_INTERVAL_S:
            return
        self._last_badge = now
        dt = frame["dt"]
        pools = set(self._badge_pools)
        for port, (c, n, size) in self._badge_counts.items():
            node = port.rsplit(".", 1)[0]
            if n and node in pools:
                text = f"{c / (size * n * dt / 1000.0):.1f} Hz"
                if self.badges.get(node) != text:
                    self.badges[node] = text
                    self.window.set_node_badge(node, text)
        self._badge_counts = {}

    def _clear_badges(self):
        for node in list(self.badges):
            self.window.set_node_badge(node, "")
        self.badges = {}
        self._badge_counts = {}

    def _on_failed(self, message: str, node: str, step: int):
        self.last_error = (message, node, step)
        where = f"node '{node}'" if node else "the run"
        at = f" at step {step}" if step >= 0 else ""
        self.window.show_problems([Problem(message, node=node or None)])
        if node:
            self.window.select_node(node)
        self.window.status(f"Run stopped: {where}{at} failed")
        if self.popups:
            box = QMessageBox(QMessageBox.Icon.Critical, "Run stopped",
                              f"The simulation stopped: {where}{at} failed.\n\n{message}\n\n"
                              "The graph is unchanged; fix the problem and run again.",
                              QMessageBox.StandardButton.Ok, self.window)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
            box.open()

    def _on_rejected(self, problems):
        self.window.show_problems(list(problems))
        self.window.status("Edit not applied: " + "; ".join(str(p) for p in problems))

    def _on_structural(self, message: str):
        self._structure_changed(message)

    def _on_recorded(self, paths):
        self.last_recording = list(paths)
        self.window.status("Recording saved: " + ", ".join(paths))
