"""StatusText: a one-line text that changes many times a second during a run (a monitor's
header, the run toolbar's state, time and speed) without making the window lay itself out again.

Why not a QLabel: ``QLabel.setText`` calls ``updateGeometry``, which invalidates the layouts up to
the main window unless the label's size is fixed in both directions. In the editor window (a
QMainWindow with a dozen docks) each such layout pass took 1-2 ms of the GUI thread and started
one QPropertyAnimation per dock (QMainWindow's dock animator); with a live run updating four
headers and two toolbar figures, that was about 25 passes a second (benchmarks/README.md, "GUI
responsiveness with many monitors"). This widget only repaints itself when its text changes; its
size hint does not depend on the text, and a text longer than the widget is elided (the full
text is in the tooltip then).
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


class StatusText(QWidget):
    """A line of text with QLabel's ``text()``/``setText()``; see the module docstring.

    ``width``: a fixed width in pixels (a toolbar field); otherwise the widget takes the width
    its layout gives it."""

    def __init__(self, text: str = "", parent=None, width: int | None = None):
        super().__init__(parent)
        self._text = str(text)
        self._elided = False
        h = self.fontMetrics().height() + 4
        if width is None:
            self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.setFixedHeight(h)
        else:
            self.setFixedSize(int(width), h)   # fixed both ways: no layout pass ever

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        text = str(text)
        if text != self._text:
            self._text = text
            self.update()

    def sizeHint(self) -> QSize:
        fm = self.fontMetrics()
        return QSize(fm.averageCharWidth() * 24, fm.height() + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.fontMetrics().height() + 4)

    def paintEvent(self, event):
        fm = self.fontMetrics()
        shown = fm.elidedText(self._text, Qt.TextElideMode.ElideRight, self.width())
        elided = shown != self._text
        if elided or self._elided:   # the whole text on hover when it does not fit
            self._elided = elided
            self.setToolTip(self._text if elided else "")
        p = QPainter(self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(self.rect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                   shown)
        p.end()
