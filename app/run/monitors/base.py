"""The monitor panel base class and small helpers shared by every monitor."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from ..graph_info import GraphInfo
from ..status_text import StatusText
from .export import export_view

# Colours for pools (raster rows, rate curves): distinct on a dark background.
PALETTE = [(80, 170, 255), (255, 140, 60), (90, 220, 120), (240, 90, 110), (190, 130, 255),
           (240, 220, 80), (70, 220, 220), (255, 150, 210), (170, 200, 90), (200, 160, 120)]

_PAINT_SECONDS = [0.0]   # wall time all monitor views spent painting (see MonitorView)


def paint_seconds() -> float:
    """Total seconds monitor plots have spent painting so far (the controller paces frames
    on the share of the GUI thread that drawing takes)."""
    return _PAINT_SECONDS[0]


class MonitorView(pg.GraphicsLayoutWidget):
    """pyqtgraph's layout widget, timing its own painting (``paint_seconds``: this view's
    total; ``paint_seconds()``: all views')."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paint_seconds = 0.0

    def paintEvent(self, ev):
        t0 = time.perf_counter()
        try:
            return super().paintEvent(ev)
        finally:
            dt = time.perf_counter() - t0
            self.paint_seconds += dt
            _PAINT_SECONDS[0] += dt


def pool_colour(i: int):
    return PALETTE[i % len(PALETTE)]


def time_axis(plot, label: str = "time relative to now") -> None:
    """Label the bottom axis in plain milliseconds (pyqtgraph's SI prefixes would turn
    -1000 ms into "-1 kms")."""
    plot.setLabel("bottom", label, "ms")
    plot.getAxis("bottom").enableAutoSIPrefix(False)


def renamed_port(port: str | None, old: str, new: str) -> str | None:
    """"old.x" -> "new.x"; any other port unchanged."""
    if port is None:
        return None
    n, _, p = port.rpartition(".")
    return f"{new}.{p}" if n == old else port


class StickyRange:
    """Y-range of a plot that only changes when the data leave it or use less than a third of
    it: axes are re-drawn rarely, which keeps a live plot cheap."""

    def __init__(self, plot, floor=None):
        self.plot, self.floor, self.lo, self.hi = plot, floor, None, None

    def fit(self, lo: float, hi: float) -> None:
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return
        if self.floor is not None:
            lo = min(lo, self.floor)
        if hi - lo < 1e-9:
            hi = lo + 1.0
        if self.lo is not None and self.lo <= lo and hi <= self.hi and \
                (hi - lo) >= (self.hi - self.lo) / 3.0:
            return
        pad = 0.1 * (hi - lo)
        self.lo, self.hi = lo - (0 if self.floor is not None and lo >= self.floor else pad), \
            hi + pad
        self.plot.setYRange(self.lo, self.hi, padding=0)


class Monitor(QDockWidget):
    """Base monitor: a dock holding a pyqtgraph layout and a small button row.

    The controller calls ``update_frame`` with each frame; a frame of a new run (another
    ``gen``) clears the panel first. ``reset_view`` empties it (Stop, Reset, a new file). A
    monitor that fails to draw shows its error in its own header (``show_error``) and is left
    alone until the next run; the other monitors are not affected.
    """

    closed = Signal()   # the dock was closed (the controller forgets the monitor)
    kind = "monitor"

    def __init__(self, title: str, parent=None):
        super().__init__(title, parent)
        self.setObjectName(f"monitor:{title}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(2, 2, 2, 2)
        self.controls = QHBoxLayout()
        # text changes must not re-layout the window (that costs more than drawing the plot)
        self.info_label = StatusText("")
        self.controls.addWidget(self.info_label, 1)
        self._info_at = 0.0
        exp = QPushButton("Export...")
        exp.setToolTip("Save this panel as PNG or SVG (dark on white)")
        exp.clicked.connect(self._export_dialog)
        self.controls.addWidget(exp)
        lay.addLayout(self.controls)
        self.error_label = QLabel("")   # a failure of this panel, over its whole width
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #ff7070; padding: 2px;")
        self.error_label.hide()
        lay.addWidget(self.error_label)
        self.layout_widget = MonitorView()
        lay.addWidget(self.layout_widget, 1)
        self.setWidget(body)
        self.gen = None
        self.error: str | None = None

    # --- interface -----------------------------------------------------------------------------
    def nodes(self) -> list[str]:
        """The graph nodes this monitor shows (a monitor whose nodes vanish is closed)."""
        return []

    def contribute(self, req, info: GraphInfo) -> None:
        """Add what this monitor needs to the DisplayRequest ``req``."""

    def window_steps(self, dt: float) -> int:
        return 0

    def rename_node(self, old: str, new: str, info: GraphInfo) -> None:
        """Node ``old`` is now called ``new``: keep the data, follow the name."""

    def set_info(self, info: GraphInfo) -> None:
        """The graph changed (not structurally for this monitor's nodes)."""

    def update_frame(self, frame: dict) -> None:
        if frame.get("gen") != self.gen:
            self.gen = frame.get("gen")
            self.reset_view()
        if self.error is not None:
            return
        errors = [frame.get("errors", {}).get(n) for n in self.nodes()]
        errors = [e for e in errors if e]
        if errors:
            self.show_error(errors[0])
            return
        self.draw(frame)
        self.last_t1 = frame["t1"]

    def draw(self, frame: dict) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        """Forget the data shown (the plots become empty)."""

    def reset_view(self) -> None:
        """Empty the panel: no data, no header text, no error (a new run, Stop, Reset)."""
        self.error = None
        self.error_label.hide()
        self.info_label.setText("")
        self.clear()

    def show_error(self, message: str) -> None:
        """This panel cannot draw: say why above its plot and stop drawing until the next run
        (the other panels go on)."""
        self.error = message
        self.error_label.setText(f"This panel stopped drawing: {message}. It tries again at "
                                 "the next run (Reset or Run after Stop).")
        self.error_label.show()

    def show_info(self, text: str, force: bool = False) -> None:
        """Show ``text`` in the header (at most 4 times per second unless ``force``)."""
        now = time.perf_counter()
        if force or now - self._info_at >= 0.25:
            self._info_at = now
            self.info_label.setText(text)

    def export(self, path: str) -> str:
        """Write the panel's plots to ``path`` (.png or .svg), dark on white; return the path."""
        return export_view(self.layout_widget, path)

    def _export_dialog(self):
        from spark_snn.app import dialogs   # starts in the last folder the user opened, saved or exported

        path = dialogs.save_file_name(self, "Export plot", f"{self.kind}.png",
                                      "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.export(path)

    def closeEvent(self, event):
        self.closed.emit()
        super().closeEvent(event)
