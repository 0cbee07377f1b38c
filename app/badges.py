"""Rate badges: a small label under each neuron pool's bottom-right corner during a run.

They are opaque widgets floating over the canvas viewport rather than scene items: a scene
item's repaint redraws every node and pipe under it (tens of milliseconds on a 60-node graph),
an opaque child widget's repaint touches only itself. They keep a constant size on screen, so
they stay readable when the graph is zoomed out, and follow their node when the view moves.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


class BadgeLabel(QtWidgets.QWidget):
    """A node's rate badge: an opaque, fixed-size widget on the viewer's viewport (see the
    module docstring for why it is not a scene item). It paints its own background, so no
    style sheet can make it transparent (an opaque-flagged widget that left its background
    unpainted would show garbage)."""

    SAMPLE = "8888.8 Hz"
    BACKGROUND = QtGui.QColor(24, 26, 30)
    BORDER = QtGui.QColor(90, 80, 40)
    COLOR = QtGui.QColor(255, 214, 90)

    def __init__(self, parent):
        super().__init__(parent)
        self.setObjectName("rateBadge")
        self.setAttribute(QtCore.Qt.WA_TransparentForMouseEvents, True)
        self.setAttribute(QtCore.Qt.WA_OpaquePaintEvent, True)
        self._text = ""
        f = self.font()
        f.setPointSizeF(8.5)
        f.setBold(True)
        self.setFont(f)
        fm = QtGui.QFontMetrics(f)
        # fixed size: a new text repaints the badge and nothing else (no re-layout, no resize)
        self.setFixedSize(fm.horizontalAdvance(self.SAMPLE) + 8, fm.height() + 2)
        self.hide()

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.update()

    def paintEvent(self, _event):
        p = QtGui.QPainter(self)
        r = self.rect()
        p.fillRect(r, self.BACKGROUND)
        p.setPen(self.BORDER)
        p.drawRect(r.adjusted(0, 0, -1, -1))
        p.setPen(self.COLOR)
        p.setFont(self.font())
        p.drawText(r, QtCore.Qt.AlignCenter, self._text)
        p.end()


class Badges:
    """The badges of one canvas; ``view_of(node_id)`` gives the drawn node's item (or None)."""

    def __init__(self, viewer, view_of):
        self.viewer = viewer
        self.view_of = view_of
        self.texts: dict[str, str] = {}
        self.labels: dict[str, BadgeLabel] = {}
        self.kept: dict[str, str] = {}  # badges of nodes being redrawn
        self.key = None                 # view transform + node rects they were placed for

    def set(self, node_id: str, text: str) -> None:
        """Show ``text`` under the node's bottom-right corner ("" hides it). Cheap: only the
        badge itself is repainted, and only when its text changed."""
        if self.texts.get(node_id, "") == text:
            return
        self.texts[node_id] = text
        label = self.labels.get(node_id)
        if label is None:
            if not text or self.view_of(node_id) is None:
                return
            label = self.labels[node_id] = BadgeLabel(self.viewer.viewport())
            self.key = None
            self._place(node_id, label)
        label.setText(text)
        label.setVisible(bool(text))

    def _place(self, nid: str, label: BadgeLabel) -> None:
        view = self.view_of(nid)
        r = view.sceneBoundingRect()
        p = self.viewer.mapFromScene(QtCore.QPointF(r.x() + view.width, r.y() + view.height))
        label.move(p.x() - label.width(), p.y() + 3)

    def place_all(self) -> None:
        """Move the badges along with the view (called before each viewport paint; does
        nothing unless the view transform or a badged node's rectangle changed)."""
        live = [n for n, lab in self.labels.items()
                if not lab.isHidden() and self.view_of(n) is not None]
        if not live:
            return
        t = self.viewer.viewportTransform()
        key = (t.m11(), t.m22(), t.dx(), t.dy(),
               tuple((tuple(self.view_of(n).sceneBoundingRect().getRect()),
                      self.view_of(n).width) for n in live))
        if key == self.key:
            return
        self.key = key
        for n in live:
            self._place(n, self.labels[n])

    def rename(self, old: str, new: str) -> None:
        if old in self.texts:
            self.texts[new] = self.texts.pop(old)
        if old in self.labels:
            self.labels[new] = self.labels.pop(old)

    def forget(self, nid: str, keep: bool = False) -> None:
        """The node's drawing is removed; ``keep``: it is redrawn, ``restore`` brings it back."""
        text = self.texts.pop(nid, "")
        if keep and text:
            self.kept[nid] = text
        label = self.labels.pop(nid, None)
        if label is not None:
            label.hide()
            label.deleteLater()

    def restore(self, nid: str) -> None:
        kept = self.kept.pop(nid, "")
        if kept:
            self.set(nid, kept)
