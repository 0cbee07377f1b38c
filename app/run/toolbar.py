"""The run toolbar: Run/Pause, Step, Stop, Reset, speed, chunk size, display, Record, status."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox, QToolBar

from .status_text import StatusText

SPEEDS = [("0.1x", 0.1), ("0.25x", 0.25), ("0.5x", 0.5), ("1x", 1.0), ("2x", 2.0), ("5x", 5.0),
          ("10x", 10.0), ("max", None)]
STATE_LABELS = {"compiling": " compiling... ", "running": " running ", "paused": " paused ",
                "idle": " idle ", "error": " error "}


class RunToolbar:
    """Builds the toolbar's actions and widgets on ``window`` and wires them to ``ctl``
    (a RunController); ``show_state`` and ``show_time`` keep its labels current."""

    def __init__(self, window, ctl):
        self.window = window
        tb = QToolBar("Run")
        tb.setObjectName("run_toolbar")
        self.toolbar = tb

        def action(text, shortcut, slot, tip):
            a = QAction(text, window)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
                a.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            a.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
            a.triggered.connect(slot)
            tb.addAction(a)
            return a

        self.run_action = action("Run", "F5", ctl.toggle_run, "Run / pause the simulation")
        self.pause_action = action("Pause", "F6", ctl.pause, "Pause")
        tb.removeAction(self.pause_action)   # F5 toggles run/pause; F6 stays as a shortcut
        window.addAction(self.pause_action)
        self.step_action = action("Step", "F10", ctl.step, "Run one chunk")
        self.stop_action = action("Stop", "Shift+F5", ctl.stop,
                                  "Stop and discard the simulation")
        self.reset_action = action("Reset", "Ctrl+Shift+F5", ctl.reset, "Back to t = 0")
        tb.addSeparator()
        self.speed_box = QComboBox()
        for text, f in SPEEDS:
            self.speed_box.addItem(text, f)
        self.speed_box.setCurrentIndex(len(SPEEDS) - 1)
        self.speed_box.setFixedWidth(72)
        self.speed_box.setToolTip("Speed: real-time factor (simulated ms per wall-clock ms), "
                                  "or as fast as possible")
        self.speed_box.currentIndexChanged.connect(
            lambda i: ctl.set_speed(self.speed_box.itemData(i)))
        tb.addWidget(self.speed_box)
        self.chunk_box = QSpinBox()
        self.chunk_box.setRange(1, 100_000)
        self.chunk_box.setValue(100)
        self.chunk_box.setPrefix("chunk ")
        self.chunk_box.setFixedWidth(100)
        self.chunk_box.setToolTip("Steps per chunk: the host reads results and applies edits "
                                  "between chunks")
        self.chunk_box.valueChanged.connect(ctl.set_chunk)
        tb.addWidget(self.chunk_box)
        self.display_box = QCheckBox("display")
        self.display_box.setChecked(True)
        self.display_box.setToolTip("Off: no plots or badges, the engine runs at full speed")
        self.display_box.toggled.connect(ctl.set_display)
        tb.addWidget(self.display_box)
        self.record_action = QAction("Record...", window)
        self.record_action.setToolTip("Record chosen ports to .npz (rates also to CSV)")
        self.record_action.triggered.connect(ctl.record_dialog)
        tb.addAction(self.record_action)
        tb.addSeparator()
        # StatusText, not QLabel: a new text must not make the window lay itself out again
        self.state_label = StatusText(" idle ", width=84)
        self.time_label = StatusText(" t = 0 ms ", width=110)
        self.speed_label = StatusText(" 0 steps/s ", width=120)
        for w in (self.state_label, self.time_label, self.speed_label):
            tb.addWidget(w)
        window.addToolBar(tb)
        self.show_state("idle")

    def show_state(self, s: str) -> None:
        self.state_label.setText(STATE_LABELS.get(s, s))
        self.run_action.setText("Pause" if s == "running" else "Run")
        self.pause_action.setEnabled(s == "running")
        self.stop_action.setEnabled(s != "idle")
        self.reset_action.setEnabled(s in ("running", "paused", "error"))
        self.step_action.setEnabled(s != "compiling")

    def show_time(self, time_ms: float, sps: float, running: bool) -> None:
        self.time_label.setText(f" t = {time_ms:,.1f} ms " if time_ms < 10_000
                                else f" t = {time_ms / 1000.0:,.2f} s ")
        self.speed_label.setText(f" {sps:,.0f} steps/s " if running else " - steps/s ")
