"""Run > Parameter Sweep…: one or two live parameters over a range, every combination run by the
engine in one vmapped program (engine/sweep.py), the answer drawn as a curve or a heatmap.

The dialog collects ``node.param`` with lo/hi/n (one or two of them), the number of steps and
the node outputs whose mean to measure besides what the engine always measures (each pool's
rate and spike count, each environment's episodes and mean episode length). The sweep runs in a
background thread (``SweepThread``) on a copy of the graph; the GUI polls its progress, so it
never waits on JAX, and Cancel makes the engine stop between chunks (SweepCancelled). The
result is drawn for the measure chosen: a curve over the one parameter, or a heatmap over the
two (parameter 1 across, parameter 2 up), and Save CSV writes the engine's sweep.csv.

Bad input (a range that is not numbers, hi not above lo, a parameter that is not live, a value
a parameter does not accept) is refused with the engine's or the dialog's reason, in the dialog.
"""
from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from spark_snn.components.base import SPIKES
from spark_snn.engine import GraphError, analyze, registry
from spark_snn.engine.sweep import SweepCancelled, SweepParam, sweep

from .run.run_menu import run_menu
from .run.thread import lower_this_thread_priority, stop_thread

MAX_POINTS = 10_000   # combinations (a mistyped n would otherwise ask for millions)
POLL_MS = 100
_THREADS: list = []   # every sweep thread not known to be finished (kept referenced: a QThread
                      # destroyed while running aborts the process)


_QUIT_HOOKED: list = []


def cancel_all(owner=None) -> None:
    """Cancel every sweep in progress (of the window ``owner`` (its id) only, if given): the
    app quits or the window goes away. Their threads end after their current chunk."""
    for th in _THREADS:
        if owner is None or th.owner == owner:
            th.cancel()
            stop_thread(th, 0)


class SweepThread(QtCore.QThread):
    """Runs one sweep; ``done``/``total`` (steps of all combinations), then ``result``,
    ``error`` (text) or ``cancelled``. Read from the GUI thread by polling."""

    def __init__(self, graph, params, steps: int, chunk: int, measures):
        super().__init__()
        self.args = (graph, params, steps, chunk, tuple(measures))
        self.done, self.total = 0, 1
        self.result = None
        self.error = ""
        self.cancelled = False
        self.owner = None        # id() of the window that started it
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = int(done), max(1, int(total))

    def run(self):
        lower_this_thread_priority()
        graph, params, steps, chunk, measures = self.args
        try:
            self.result = sweep(graph, params, steps, chunk=chunk, measures=measures,
                                progress=self._progress, cancelled=self._cancel.is_set)
        except SweepCancelled:
            self.cancelled = True
        except GraphError as exc:
            self.error = "; ".join(str(p) for p in exc.problems) or str(exc)
        except ValueError as exc:
            self.error = str(exc)
        except BaseException as exc:  # noqa: BLE001  (whatever fails: said, the app goes on)
            self.error = f"{type(exc).__name__}: {exc}"


def live_params(graph) -> dict[str, list[str]]:
    """node id -> its live parameters (composite instances by their inner, dotted ids)."""
    analysis = analyze(graph)
    flat = analysis.flat.graph if analysis.flat is not None else graph
    reg = registry()
    out = {}
    for nid, node in flat.nodes.items():
        cls = reg.types.get(node.type)
        if cls is None:
            continue
        names = [p.name for p in cls.editable_params(node.params) if p.live]
        if names:
            out[nid] = names
    return out


def output_ports(graph) -> list[str]:
    """"node.port" of every output that is not spikes (what can be averaged)."""
    analysis = analyze(graph)
    return [f"{nid}.{pname}" for nid, info in analysis.nodes.items()
            for pname, port in info.outputs.items() if port.kind != SPIKES
            and info.port_size(port) is not None]


class ParamRow:
    """node, parameter, lo, hi, n for one swept parameter."""

    def __init__(self, form: QtWidgets.QFormLayout, title: str, params: dict[str, list[str]]):
        self.params = params
        self.node = QtWidgets.QComboBox()
        self.node.addItems(list(params))
        self.name = QtWidgets.QComboBox()
        self.name.setEditable(True)   # (any name can be typed: the engine says what is wrong)
        self.node.currentTextChanged.connect(self._fill_names)
        self.lo, self.hi = QtWidgets.QLineEdit(), QtWidgets.QLineEdit()
        self.n = QtWidgets.QSpinBox()
        self.n.setRange(1, 1000)
        self.n.setValue(5)
        self.n.setMinimumWidth(70)
        for w, tip in ((self.lo, "first value"), (self.hi, "last value")):
            w.setToolTip(tip)
            w.setFixedWidth(80)
        row = QtWidgets.QHBoxLayout()
        for w in (self.node, self.name):
            row.addWidget(w, 1)
        form.addRow(title, row)
        rng = QtWidgets.QHBoxLayout()
        for label, w in (("from", self.lo), ("to", self.hi), ("values", self.n)):
            rng.addWidget(QtWidgets.QLabel(label))
            rng.addWidget(w)
        rng.addStretch(1)
        form.addRow("", rng)
        self.widgets = [self.node, self.name, self.lo, self.hi, self.n]

    def _fill_names(self, node: str) -> None:
        self.name.clear()
        self.name.addItems(self.params.get(node, []))

    def choose(self, node: str, name: str, lo: float, hi: float, n: int) -> None:
        self.node.setCurrentText(node)
        self.name.setCurrentText(name)
        self.lo.setText(f"{lo:g}")
        self.hi.setText(f"{hi:g}")
        self.n.setValue(int(n))

    def suggest(self, graph) -> None:
        """lo/hi around the parameter's current value (half to one and a half times it)."""
        node = graph.nodes.get(self.node.currentText())
        value = node.params.get(self.name.currentText()) if node is not None else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value:
            self.lo.setText(f"{0.5 * value:g}")
            self.hi.setText(f"{1.5 * value:g}")

    def param(self) -> SweepParam:
        """The SweepParam, or ValueError saying what is wrong with the row."""
        node, name = self.node.currentText().strip(), self.name.currentText().strip()
        label = f"{node}.{name}"
        if not node or not name:
            raise ValueError("choose a node and one of its parameters")
        values = []
        for what, w in (("from", self.lo), ("to", self.hi)):
            try:
                values.append(float(w.text()))
            except ValueError:
                raise ValueError(f"{label}: '{w.text()}' ({what}) is not a number") from None
            if not np.isfinite(values[-1]):
                raise ValueError(f"{label}: '{w.text()}' ({what}) is not a finite number")
        lo, hi = values
        n = self.n.value()
        if n > 1 and not hi > lo:
            raise ValueError(f"{label}: the last value ({hi:g}) must be greater than the first "
                             f"({lo:g}) for {n} values")
        return SweepParam(node, name, np.linspace(lo, hi, n) if n > 1 else np.asarray([lo]))


class SweepDialog(QtWidgets.QDialog):
    """See the module docstring. ``start()`` / ``cancel()`` / ``save_csv(path)`` are what the
    buttons do (tests call them too)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.setWindowTitle("Parameter Sweep")
        self.setModal(False)
        self.resize(1000, 620)
        self.thread: SweepThread | None = None
        self.result = None
        self.message = ""
        graph = window.graph
        params = live_params(graph)

        form = QtWidgets.QFormLayout()
        self.p1 = ParamRow(form, "Parameter 1", params)
        self.use_p2 = QtWidgets.QCheckBox("Second parameter (heatmap)")
        form.addRow("", self.use_p2)
        self.p2 = ParamRow(form, "Parameter 2", params)
        self.use_p2.toggled.connect(self._enable_p2)
        self.steps = QtWidgets.QSpinBox()
        self.steps.setRange(1, 100_000_000)
        self.steps.setSingleStep(1000)
        self.steps.setValue(2000)
        self.steps_ms = QtWidgets.QLabel()
        self.steps.valueChanged.connect(self._show_ms)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.steps)
        row.addWidget(self.steps_ms, 1)
        form.addRow("Steps", row)
        self.outputs = QtWidgets.QListWidget()
        self.outputs.setToolTip("Outputs whose mean over the run is measured too (pool rates, "
                                "spike counts and episode lengths always are)")
        for name in output_ports(graph):
            item = QtWidgets.QListWidgetItem(name)
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.CheckState.Unchecked)
            self.outputs.addItem(item)
        self.outputs.setMaximumHeight(130)
        form.addRow("Also measure\nthe mean of", self.outputs)

        self.run_button = QtWidgets.QPushButton("Run Sweep")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        left = QtWidgets.QVBoxLayout()
        left.addLayout(form)
        left.addLayout(buttons)
        left.addWidget(self.progress)
        left.addWidget(self.status)
        left.addStretch(1)

        self.measure = QtWidgets.QComboBox()
        self.measure.currentTextChanged.connect(self.draw)
        self.save_button = QtWidgets.QPushButton("Save CSV…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self._ask_save)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Measure"))
        top.addWidget(self.measure, 1)
        top.addWidget(self.save_button)
        self.view = pg.GraphicsLayoutWidget()
        self.plot = self.view.addPlot()
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.image = None
        self.colorbar = None
        right = QtWidgets.QVBoxLayout()
        right.addLayout(top)
        right.addWidget(self.view, 1)

        lay = QtWidgets.QHBoxLayout(self)
        lw = QtWidgets.QWidget()
        lw.setLayout(left)
        lw.setFixedWidth(400)
        lay.addWidget(lw)
        lay.addLayout(right, 1)

        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        first = next(iter(params), None)
        if first is not None:
            self.p1._fill_names(first)
            self.p2._fill_names(first)
            self.p1.suggest(graph)
            self.p2.suggest(graph)
        self._enable_p2(False)
        self._show_ms()

    # --- input ---------------------------------------------------------------------------------
    def _enable_p2(self, on: bool) -> None:
        for w in self.p2.widgets:
            w.setEnabled(bool(on))

    def _show_ms(self) -> None:
        dt = float(self.window.graph.settings.get("dt", 0.1))
        self.steps_ms.setText(f"= {self.steps.value() * dt:,.6g} ms simulated")

    def measures(self) -> list[str]:
        return [self.outputs.item(i).text() for i in range(self.outputs.count())
                if self.outputs.item(i).checkState() == QtCore.Qt.CheckState.Checked]

    def set_measured(self, names) -> None:
        for i in range(self.outputs.count()):
            item = self.outputs.item(i)
            item.setCheckState(QtCore.Qt.CheckState.Checked if item.text() in names
                               else QtCore.Qt.CheckState.Unchecked)

    def params(self) -> list[SweepParam]:
        """The swept parameters, or ValueError saying what is wrong."""
        params = [self.p1.param()] + ([self.p2.param()] if self.use_p2.isChecked() else [])
        points = int(np.prod([len(p.values) for p in params]))
        if points > MAX_POINTS:
            raise ValueError(f"{points:,} combinations: at most {MAX_POINTS:,} in one sweep")
        return params

    # --- running -------------------------------------------------------------------------------
    def running(self) -> bool:
        return self.thread is not None and not self.thread.isFinished()

    def start(self) -> bool:
        """Start the sweep in the background (False, with the reason shown, when refused)."""
        if self.running():
            return False
        try:
            params = self.params()
        except ValueError as exc:
            self._say(str(exc), error=True)
            return False
        self.result = None
        self.save_button.setEnabled(False)
        self.thread = SweepThread(self.window.graph.copy(), params, self.steps.value(),
                                  min(1000, self.steps.value()), self.measures())
        self.thread.owner = id(self.window)
        _THREADS[:] = [th for th in _THREADS if not th.isFinished()] + [self.thread]
        self.thread.start(QtCore.QThread.Priority.LowPriority)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        n = int(np.prod([len(p.values) for p in params]))
        self._say(f"Compiling and running {n} combination(s) of {self.steps.value():,} steps…")
        self.timer.start()
        return True

    def cancel(self) -> None:
        if self.running():
            self.thread.cancel()
            self._say("Cancelling (after the current chunk)…")

    def _poll(self) -> None:
        th = self.thread
        if th is None:
            return
        self.progress.setValue(int(1000 * th.done / th.total))
        if not th.isFinished():
            return
        self.timer.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if th.cancelled:
            self._say(f"Cancelled after {th.done:,} of {th.total:,} steps", error=True)
        elif th.error:
            self._say(f"Sweep refused: {th.error}", error=True)
        else:
            self.show_result(th.result)

    def _say(self, text: str, error: bool = False) -> None:
        self.message = text
        self.status.setStyleSheet("color: #e06060;" if error else "")
        self.status.setText(text)

    # --- the result ----------------------------------------------------------------------------
    def show_result(self, result) -> None:
        self.result = result
        self.progress.setValue(1000)
        failed = f"; {len(result.failed)} failed (NaN), left blank" if result.failed else ""
        self._say(f"{result.grid.shape[0]} combination(s) x {result.steps:,} steps in "
                  f"{result.wall_s:.2f} s (compiling {result.compile_s:.2f} s){failed}")
        keep = self.measure.currentText()
        self.measure.blockSignals(True)
        self.measure.clear()
        self.measure.addItems(list(result.measures))
        self.measure.blockSignals(False)
        if keep in result.measures:
            self.measure.setCurrentText(keep)
        self.save_button.setEnabled(True)
        self.draw()

    def draw(self, *_):
        r, name = self.result, self.measure.currentText()
        if r is None or name not in r.measures:
            return
        self.plot.clear()
        if self.colorbar is not None:
            self.view.removeItem(self.colorbar)
            self.colorbar = None
        self.image = None
        p1 = r.params[0]
        self.plot.setLabel("bottom", p1.label)
        self.plot.setTitle(name)
        self.plot.showGrid(x=len(r.params) == 1, y=len(r.params) == 1, alpha=0.25)
        if len(r.params) == 1:
            self.plot.setLabel("left", name)
            self.plot.plot(p1.values, r.measures[name], pen=pg.mkPen((80, 170, 255), width=2),
                           symbol="o", symbolSize=7, symbolBrush=(80, 170, 255))
            self.plot.autoRange()
            return
        p2 = r.params[1]
        grid = r.grid_of(name).astype(np.float64)    # (len p1, len p2): x across, y up
        finite = grid[np.isfinite(grid)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        self.image = pg.ImageItem(grid, axisOrder="col-major")
        self.image.setRect(QtCore.QRectF(*_cells(p1.values, p2.values)))
        self.plot.addItem(self.image)
        self.plot.setLabel("left", p2.label)
        self.colorbar = pg.ColorBarItem(values=(lo, hi), colorMap=pg.colormap.get("viridis"),
                                        label=name, interactive=False)
        self.colorbar.setImageItem(self.image, insert_in=None)
        self.view.addItem(self.colorbar, row=0, col=1)
        self.plot.autoRange(padding=0)

    def _ask_save(self) -> None:
        from . import session
        folder = session.last_folder() or ""
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save sweep", f"{folder}/sweep.csv" if folder else "sweep.csv", "CSV (*.csv)")
        if path:
            self.save_csv(path)

    def save_csv(self, path: str) -> bool:
        """Write the result as the engine's sweep.csv (a column per parameter and measure)."""
        if self.result is None:
            return False
        try:
            self.result.write_csv(path)
        except OSError as exc:
            self._say(f"Could not write {path}: {exc.strerror or exc}", error=True)
            return False
        self._say(f"Saved {path}")
        return True

    def closeEvent(self, ev):
        """Closing cancels a sweep in progress (its thread ends on its own)."""
        self.timer.stop()
        if self.running():
            self.thread.cancel()
            stop_thread(self.thread, 0)
        super().closeEvent(ev)


def _cells(xs, ys) -> tuple[float, float, float, float]:
    """(x, y, width, height) of an image whose pixel centres are at ``xs`` x ``ys`` (evenly
    spaced; one value gets a cell of width 1)."""
    def span(v):
        v = np.asarray(v, float)
        step = (v[-1] - v[0]) / (len(v) - 1) if len(v) > 1 else 1.0
        return v[0] - step / 2, step * len(v)
    x0, w = span(xs)
    y0, h = span(ys)
    return x0, y0, w, h


def install(window) -> None:
    """Add Run > Parameter Sweep… to ``window`` (one dialog per window, kept for its result)."""
    def open_dialog():
        dlg = getattr(window, "sweep_dialog", None)
        if dlg is None or not dlg.isVisible() and not dlg.running():
            if dlg is not None:   # a closed one: a fresh dialog reads the graph as it is now
                dlg.deleteLater()
            dlg = window.sweep_dialog = SweepDialog(window)
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()
    window.sweep_dialog = None
    app = QtWidgets.QApplication.instance()
    if app is not None and not _QUIT_HOOKED:
        app.aboutToQuit.connect(cancel_all)
        _QUIT_HOOKED.append(True)
    owner = id(window)
    window.destroyed.connect(lambda *_: cancel_all(owner))
    window.sweep_action = run_menu(window).addAction("Parameter &Sweep…", open_dialog)
