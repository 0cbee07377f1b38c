"""Keeps the NodeGraphQt viewer's own interaction state true to what the user is doing.

NodeGraphQt remembers which modifier keys are down (``CTRL_state``, ``SHIFT_state``,
``ALT_state``) from the key events the viewer itself receives. A shortcut that opens a dialog
(Ctrl+O, Ctrl+S) lets the viewer see Ctrl go down but never come up, so every later left click
was taken for Ctrl+click (deselect, no selection, a "CTRL: Deselect Nodes" text at the cursor)
until some other key was released over the canvas. Likewise a pipe being drawn when the graph
was replaced stayed on screen (its port gone) and swallowed every left click.

``ViewerState`` fixes both: the modifier flags are re-read from every mouse event (which
carries the true modifiers), cleared when the viewer loses focus, and ``cancel_gestures()``
ends a pipe drag, marquee or slice in progress (the editor calls it when a graph is loaded).
NodeGraphQt's hint texts for Ctrl and Shift are not shown (they flashed on every Ctrl+Z); the
Alt+Shift pipe-slicer hint is.
"""
from __future__ import annotations

from PySide6 import QtCore

MOUSE_EVENTS = (QtCore.QEvent.MouseButtonPress, QtCore.QEvent.MouseButtonRelease,
                QtCore.QEvent.MouseButtonDblClick, QtCore.QEvent.MouseMove, QtCore.QEvent.Wheel)
SLICER_HINT = "ALT + SHIFT"


class ViewerState(QtCore.QObject):
    """Installed on a NodeGraphQt ``NodeViewer``; see the module docstring."""

    def __init__(self, viewer):
        super().__init__(viewer)
        self.viewer = viewer
        viewer.installEventFilter(self)
        viewer.viewport().installEventFilter(self)
        hint = getattr(viewer, "_cursor_text", None)
        if hint is not None:
            show = hint.setVisible
            # NodeGraphQt calls this from Python, so the instance attribute takes its place
            hint.setVisible = lambda on: show(bool(on) and SLICER_HINT in hint.toPlainText())
        self._hint = hint

    def set_modifiers(self, mods) -> None:
        """Make the viewer's modifier flags match ``mods`` (a Qt.KeyboardModifiers)."""
        v = self.viewer
        alt, shift = bool(mods & QtCore.Qt.AltModifier), bool(mods & QtCore.Qt.ShiftModifier)
        ctrl = bool(mods & QtCore.Qt.ControlModifier)
        # NodeGraphQt's meaning: exactly that one modifier, or Alt+Shift (the pipe slicer)
        slicer = alt and shift and not ctrl
        v.ALT_state = slicer or (alt and not shift and not ctrl)
        v.SHIFT_state = slicer or (shift and not alt and not ctrl)
        v.CTRL_state = ctrl and not alt and not shift
        if self._hint is not None and not mods:
            self._hint.setVisible(False)

    def cancel_gestures(self) -> None:
        """End a pipe drag, marquee selection or pipe slice in progress (nothing is applied)."""
        v = self.viewer
        if v._LIVE_PIPE.isVisible() or getattr(v, "_start_port", None) is not None:
            v._detached_port = None
            v.end_live_connection()
        slicer = getattr(v, "_SLICER_PIPE", None)
        if slicer is not None and slicer.isVisible():
            slicer.setVisible(False)
        band = getattr(v, "_rubber_band", None)
        if band is not None:
            band.isActive = False
            band.hide()
        v.LMB_state = v.MMB_state = v.RMB_state = False
        v.clear_key_state()
        if self._hint is not None:
            self._hint.setVisible(False)

    def eventFilter(self, obj, ev):
        t = ev.type()
        if t in MOUSE_EVENTS:
            self.set_modifiers(ev.modifiers())
        elif t == QtCore.QEvent.FocusOut and obj is self.viewer:
            self.viewer.clear_key_state()
            if self._hint is not None:
                self._hint.setVisible(False)
        return False
