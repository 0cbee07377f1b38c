"""RunController: runs the window's graph live. It ties together the run toolbar (toolbar.py),
the worker thread (worker.py, thread.py), the monitor panels (panels.py) and their drawing
(painter.py), and keeps the running model in step with every edit (live_edits.py).

The window provides (see app/run/__init__.py): ``graph``, ``current_path``, ``select_node``,
``set_node_badge``, ``show_problems``, ``register_node_action``, ``status``, the signal
``graph_edited(kind, node_id, param)``, optionally the signal ``graph_replaced()``, and
QMainWindow's ``addDockWidget``/``addToolBar``.
"""
from __future__ import annotations

import queue
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from spark_snn.app import gui_gc
from spark_snn.engine import Problem

from . import layouts
from .graph_info import GraphInfo
from .live_edits import diff_graphs, structure_key
from .painter import FramePainter
from .panels import MonitorSet
from .recording_dialog import RecordingDialog, make_plan
from .thread import WorkerThread, stop_thread
from .toolbar import RunToolbar
from .worker import DisplayRequest, SimWorker


class RunController(QObject):
    """Runs the window's graph live; see the module docstring."""

    def __init__(self, window, autorun: bool = False):
        super().__init__(window)
        self.window = window
        self.worker = SimWorker()
        gui_gc.hold()     # cyclic garbage is collected by the GUI thread (app/gui_gc.py)
        self.thread = WorkerThread(self.worker)
        self.worker.moveToThread(self.thread)
        self.worker.notify.connect(self._on_notify)
        self.thread.start(QThread.Priority.LowPriority)

        self.state = "idle"
        self.t = 0
        self.time_ms = 0.0
        self.sps = 0.0
        self.gen = 0                 # numbers the runs: frames of an older run are dropped
        self.compiles = 0
        self.last_error: tuple[str, str, int] | None = None
        self.last_recording: list[str] = []
        self.popups = True           # show message boxes (tests turn them off)
        self.confirm = self._confirm  # (title, text) -> bool; tests may replace it
        self.dirty = False           # the graph differs structurally from the running model
        self._needs_rebuild = ""     # a live edit the running model could not take
        self._model = None           # the graph the running model was built from, with the
                                     # renames made since (ids as the editor shows them)
        self._seen = window.graph.copy()   # the graph as of the last edit notification
        self._built_info: GraphInfo | None = None
        self._record_folder = ""
        self._closed = False
        self.listeners: dict[str, list] = {}   # worker message kind -> more handlers (payload)

        self.panels = MonitorSet(window, self._send_request)
        self.painter = FramePainter(self, self.worker.mailbox, lambda: self.panels.monitors,
                                    lambda: self.gen,
                                    lambda n, text: self.window.set_node_badge(n, text))
        self.worker.frame_ready.connect(self.painter.on_frame_ready)
        self.bar = RunToolbar(window, self)
        for name, call in self.panels.actions():
            self._register(name, call)
        window.graph_edited.connect(self._on_graph_edited)
        files = getattr(window, "files", None)
        if files is not None and hasattr(files, "save_hooks"):   # layouts saved with the graph
            files.save_hooks.append(
                lambda graph: layouts.store(graph, self.panels.monitors, window))
        self.restore_layout()
        replaced = getattr(window, "graph_replaced", None)
        if replaced is not None:
            replaced.connect(self._on_graph_replaced)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        window.destroyed.connect(self.shutdown)
        self._send_request()
        if autorun:
            QTimer.singleShot(0, self.run)

    def _register(self, name, call):
        try:
            self.window.register_node_action(name, call,
                                             lambda n, name=name: self.panels.applies(name, n))
        except TypeError:   # a window without applicability filtering
            self.window.register_node_action(name, call)

    # --- parts other code and the tests reach -------------------------------------------------
    @property
    def monitors(self):
        return self.panels.monitors

    @property
    def badges(self) -> dict[str, str]:
        return self.painter.badges

    @property
    def frames_drawn(self) -> int:
        return self.painter.frames_drawn

    @property
    def draw_seconds(self) -> float:
        return self.painter.draw_seconds

    def monitor_spikes(self, node_id: str):
        return self.panels.monitor_spikes(node_id)

    def monitor_membrane(self, node_id: str, neurons=(0, 1, 2)):
        return self.panels.monitor_membrane(node_id, neurons)

    def monitor_signal(self, node_id: str, port: str | None = None, elements=(0, 1, 2)):
        return self.panels.monitor_signal(node_id, port, elements)

    def monitor_rate(self, node_id: str):
        return self.panels.monitor_rate(node_id)

    def monitor_weights(self, node_id: str):
        return self.panels.monitor_weights(node_id)

    def monitor_environment(self, node_id: str):
        return self.panels.monitor_environment(node_id)

    def monitor_episodes(self, node_id: str):
        return self.panels.monitor_episodes(node_id)

    # --- commands ----------------------------------------------------------------------------
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

    def _next_run(self) -> int:
        """A new run number: the monitors empty now, older frames will be dropped."""
        self.gen += 1
        self.panels.reset_views()
        self.painter.clear_badges()
        return self.gen

    def _build(self, run: bool) -> bool:
        graph = self._validated_graph()
        if graph is None:
            return False
        self.dirty = False
        self._needs_rebuild = ""
        self._model = graph.copy()
        self.last_error = None
        self._set_state("compiling")
        self._send_request()
        self.worker.send("build", graph, run, self._next_run())
        return True

    def _stale(self) -> bool:
        return self.state in ("idle", "error") or self.dirty or bool(self._needs_rebuild)

    def run(self):
        """Start or resume (validating first; building when there is no model yet)."""
        if self.state == "running":
            return
        if self._stale():
            self._build(run=True)
            return
        if GraphInfo(self.window.graph).problems:
            self._validated_graph()
            return
        self.worker.send("run")

    def run_for(self, n_steps: int):
        """Run exactly ``n_steps`` more steps, then pause (building first when needed)."""
        if self._stale() and not self._build(run=False):
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
        if self._stale() and not self._build(run=False):
            return
        self.worker.send("step")

    def stop(self):
        """End the run: the monitors and badges empty, a disk recording is written."""
        self.worker.send("stop", self._next_run())

    def reset(self):
        """Back to t = 0 with the same seed (rebuilding when the graph changed structurally)."""
        if self.dirty or self._needs_rebuild or self.state == "error":
            self._build(run=False)
        elif self.state != "idle":
            self.worker.send("reset", self._next_run())

    def set_speed(self, factor):
        self.worker.send("speed", factor)

    def set_chunk(self, k: int):
        self.worker.send("chunk", int(k))

    def set_display(self, on: bool):
        self.worker.send("display", bool(on))
        if self.bar.display_box.isChecked() != bool(on):
            self.bar.display_box.setChecked(bool(on))
        if not on:
            self.painter.clear_badges()

    def start_recording(self, plan):
        """Record ``plan.ports`` for ``plan.n_steps`` steps from now (or from the next build)."""
        self.worker.send("record", plan)
        self.window.status(f"Recording {len(plan.ports)} port(s) for {plan.n_steps} steps to "
                           f"{plan.path}")

    def record_dialog(self):
        info = GraphInfo(self.window.graph)
        name = Path(self.window.current_path).with_suffix(".npz").name \
            if getattr(self.window, "current_path", None) else "recording.npz"
        from spark_snn.app import session   # the last folder the user opened, saved or exported
        folder = self._record_folder or session.last_folder() or (
            str(Path(self.window.current_path).parent)
            if getattr(self.window, "current_path", None) else "")
        dlg = RecordingDialog(info, str(Path(folder) / name) if folder else name, self.window)
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.chosen():
            plan = dlg.plan()
            self._record_folder = str(Path(plan.path).parent)
            session.remember_folder(plan.path)
            self.start_recording(plan)

    def recording_plan(self, ports, n_steps: int, path: str):
        """A plan for the current graph (for scripts and tests)."""
        return make_plan(GraphInfo(self.window.graph), ports, n_steps, path)

    def shutdown(self):
        """Stop the worker thread (on quit or when the window goes away); a recording in
        progress is written first."""
        if self._closed:
            return
        self._closed = True
        self.worker.send("quit")
        stop_thread(self.thread)
        gui_gc.release()

    # --- monitors ----------------------------------------------------------------------------
    def request(self) -> DisplayRequest:
        """What the open monitors and the pool badges need from the worker."""
        info = self._built_info or GraphInfo(self.window.graph)
        req, self.painter.badge_pools = self.panels.request(info)
        return req

    def _send_request(self):
        self.worker.send("request", self.request())

    # --- edits -------------------------------------------------------------------------------
    def _on_graph_edited(self, *_):
        """Every edit: renames followed, live values sent, structural changes named (see
        live_edits.py). The editor's description of the edit is not needed."""
        graph = self.window.graph
        change = diff_graphs(self._seen, graph)
        self._seen = graph.copy()
        for old, new in change.renames:
            if self._model is not None and old in self._model.nodes:
                self._model.rename_node(old, new)
            self.panels.rename(old, new)
            self.painter.rename_badge(old, new)
            self.worker.send("rename", old, new)
        if change.renames or change.structural:
            self._built_info = GraphInfo(graph) if self._built_info is not None else None
            self.panels.refresh()
            self._send_request()
        if self.state == "idle":
            return
        for node, param, value in change.live:
            if node in graph.nodes and self._in_model(node):
                self.worker.send("set_param", node, param, value)
        was_dirty = self.dirty
        self.dirty = self._model is not None and \
            structure_key(graph) != structure_key(self._model)
        if change.structural and self.dirty:
            self._ask_rebuild(change.summary())
        elif was_dirty and not self.dirty:
            self.window.status("The graph matches the running model again")

    def _in_model(self, node: str) -> bool:
        """Whether the running model has ``node`` (under its shown id) with its type."""
        m = self._model.nodes.get(node) if self._model is not None else None
        return m is not None and m.type == self.window.graph.nodes[node].type

    def _on_graph_replaced(self):
        """New, Open, recovery: the old run ends, its monitors close."""
        if self.state != "idle":
            self.stop()
            self.window.status("The previous run was stopped: a different graph is open")
        self.panels.close_all()
        self.painter.clear_badges()
        self.dirty = False
        self._needs_rebuild = ""
        self._model = None
        self._built_info = None
        self._seen = self.window.graph.copy()
        self.restore_layout()
        self._send_request()

    def restore_layout(self) -> None:
        """Open the monitors the graph file's meta names (app/run/layouts.py). Opened before
        the window is shown (the app starts with a file), they are docked again once it is:
        a hidden window cannot share out its space."""
        problems = layouts.restore(self.panels, self.window.graph, self.window)
        if problems:
            self.window.status("The file's monitor layout was not fully restored: "
                               + "; ".join(problems))
        if self.panels.monitors and not self.window.isVisible():
            layouts.redock_when_shown(self.window, lambda: layouts.redock(
                self.panels.monitors, self.window, self.window.graph))

    def _ask_rebuild(self, why: str):
        if self.state in ("running", "paused"):
            text = (f"{why[:1].upper()}{why[1:]}.\n\nThe running model must be rebuilt for "
                    "this (the simulation restarts at t = 0). Rebuild now?")
            if self.confirm("Rebuild the model?", text):
                self._build(run=self.state == "running")
            else:
                self.window.status(f"Not applied to the run yet ({why}): the model is rebuilt "
                                   "(from t = 0) at the next Run, Step or Reset")

    def _confirm(self, title: str, text: str) -> bool:
        ans = QMessageBox.question(self.window, title, text)
        return ans == QMessageBox.StandardButton.Yes

    # --- worker messages ---------------------------------------------------------------------
    def _set_state(self, state: str):
        self.state = state
        if state == "idle":
            self.painter.stop()
        else:
            self.painter.start()
        self.bar.show_state(state)

    def _on_notify(self):
        """Handle everything the worker posted (in order)."""
        while True:
            try:
                kind, payload = self.worker.outbox.get_nowait()
            except queue.Empty:
                return
            handler = getattr(self, f"_on_{kind}", None)
            if handler is not None:
                handler(payload)
            for listener in self.listeners.get(kind, ()):
                listener(payload)

    def _on_status(self, st: dict):
        self.t, self.time_ms, self.sps = st["t"], st["time_ms"], st["sps"]
        self.compiles = st["compiles"]
        self._set_state(st["state"])
        self.bar.show_time(self.time_ms, self.sps, self.state == "running")

    def _on_failed(self, payload):
        message, node, step = payload
        self.last_error = (message, node, step)
        where = f"node '{node}'" if node else "the run"
        at = f" at step {step}" if step >= 0 else ""
        self.window.show_problems([Problem(message, node=node or None)])
        if node:
            self.window.select_node(node)
        self.window.status(f"Run stopped: {where}{at} failed")
        self._popup(QMessageBox.Icon.Critical, "Run stopped",
                    f"The simulation stopped: {where}{at} failed.\n\n{message}\n\n"
                    "The graph is unchanged; fix the problem and run again.")

    def _popup(self, icon, title, text):
        if self.popups:
            box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.window)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
            box.open()

    def _on_rejected(self, problems):
        self.window.show_problems(list(problems))
        self.window.status("Edit not applied: " + "; ".join(str(p) for p in problems))

    def _on_structural(self, message: str):
        self._needs_rebuild = message
        self._ask_rebuild(message)

    def _on_recorded(self, payload):
        paths, steps, requested, why = payload
        self.last_recording = list(paths)
        if not paths:
            self.window.status(f"Recording cancelled ({why}): nothing was recorded yet")
            return
        text = "Recording saved: " + ", ".join(paths)
        if steps < requested:
            text = (f"Recording ended early ({why}) after {steps:,} of {requested:,} steps; "
                    f"what was recorded is saved: " + ", ".join(paths))
            self._popup(QMessageBox.Icon.Information, "Recording saved", text)
        self.window.status(text)

    def _on_record_failed(self, message: str):
        self.window.status(f"Recording failed: {message}")
        self._popup(QMessageBox.Icon.Warning, "Recording failed", message)
