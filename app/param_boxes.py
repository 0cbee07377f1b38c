"""Value editors of the inspector: spin boxes that show numbers compactly and accept any typed
number (an out-of-range value is flagged, never clamped), and a guard so that the mouse wheel
scrolls the inspector instead of changing a value it passes over."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

BIG = 1e12


class WheelGuard(QtCore.QObject):
    """Event filter for value editors (spin boxes, combo boxes, sliders): a wheel turned over
    an editor that does not have the keyboard focus scrolls ``scroll_area`` instead of
    changing the value. The editors get ``Qt.StrongFocus``, so the wheel never focuses them
    either: only a click or Tab does."""

    def __init__(self, scroll_area: QtWidgets.QAbstractScrollArea):
        super().__init__(scroll_area)
        self.area = scroll_area

    def guard(self, editor: QtWidgets.QWidget) -> None:
        if isinstance(editor, (QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox,
                               QtWidgets.QAbstractSlider)):
            editor.setFocusPolicy(QtCore.Qt.StrongFocus)
            editor.installEventFilter(self)

    def eventFilter(self, obj, ev):
        if ev.type() == QtCore.QEvent.Wheel and not obj.hasFocus():
            QtWidgets.QApplication.sendEvent(self.area.verticalScrollBar(), ev)
            return True
        return False


class SoftRange:
    """For spin boxes: any typed number is accepted as it is (an out-of-range value is then
    flagged with the reason, never clamped), while the arrows, Page Up/Down and a focused
    wheel step only inside the parameter's range ``[soft_min, soft_max]``."""

    soft_min: float | None = None
    soft_max: float | None = None

    def set_soft_range(self, lo, hi) -> None:
        self.soft_min, self.soft_max = lo, hi

    def stepBy(self, steps):
        v = self.value() + steps * self.singleStep()
        if self.soft_min is not None:
            v = max(v, self.soft_min)
        if self.soft_max is not None:
            v = min(v, self.soft_max)
        if v != self.value():
            self.setValue(v)
            self.editingFinished.emit()  # the arrows commit at once, like a typed value

    def stepEnabled(self):
        flags = QtWidgets.QAbstractSpinBox.StepNone
        v = self.value()
        if self.soft_min is None or v > self.soft_min:
            flags |= QtWidgets.QAbstractSpinBox.StepDownEnabled
        if self.soft_max is None or v < self.soft_max:
            flags |= QtWidgets.QAbstractSpinBox.StepUpEnabled
        return flags


class IntBox(SoftRange, QtWidgets.QSpinBox):
    """An integer spin box taking any 32-bit integer (see SoftRange)."""

    def __init__(self):
        super().__init__()
        self.setRange(-2**31, 2**31 - 1)
        self.setKeyboardTracking(False)


class FloatBox(SoftRange, QtWidgets.QDoubleSpinBox):
    """A double spin box that shows values compactly (``20`` not ``20.000000``) and takes any
    finite number (see SoftRange)."""

    def __init__(self):
        super().__init__()
        self.setDecimals(9)
        self.setRange(-BIG, BIG)
        self.setKeyboardTracking(False)

    def textFromValue(self, value):
        return f"{value:.9g}"

    def valueFromText(self, text):
        text = text.replace(self.suffix(), "").strip()
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text, pos):
        body = text.replace(self.suffix(), "").strip()
        try:
            float(body)
            return QtGui.QValidator.Acceptable, text, pos
        except ValueError:
            pass
        if body in ("", "-", "+", ".", "-.", "+.") or body.lower().endswith(("e", "e-", "e+")):
            return QtGui.QValidator.Intermediate, text, pos
        return QtGui.QValidator.Invalid, text, pos
