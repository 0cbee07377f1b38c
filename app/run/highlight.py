"""A halo around one node on the canvas: the node a breakpoint stopped the run at.

It is a rounded outline drawn as a child item of the node's view, behind it, so it follows the
node when it moves and goes away with it. Windows without a canvas (the run UI's tests use a
bare QMainWindow) simply have no halo.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

HALO_COLOR = (255, 150, 40)
HALO_MARGIN = 7.0


class NodeHalo:
    """Shows the halo around at most one node of ``canvas`` (an app.canvas.Canvas or None)."""

    def __init__(self, canvas):
        self.canvas = canvas
        self.node: str | None = None
        self._item = None

    def show(self, node_id: str | None) -> bool:
        """Put the halo around ``node_id`` (None: nowhere); True when it is drawn."""
        self.clear()
        ng = self.canvas.node_for(node_id) if (self.canvas is not None and node_id) else None
        if ng is None:
            return False
        view = ng.view
        rect = view.boundingRect().adjusted(-HALO_MARGIN, -HALO_MARGIN, HALO_MARGIN, HALO_MARGIN)
        path = QtGui.QPainterPath()
        path.addRoundedRect(rect, 10.0, 10.0)
        item = QtWidgets.QGraphicsPathItem(path, view)
        pen = QtGui.QPen(QtGui.QColor(*HALO_COLOR), 4.0)
        pen.setCosmetic(True)   # as thick at any zoom
        item.setPen(pen)
        item.setBrush(QtGui.QColor(*HALO_COLOR, 60))
        item.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent, True)
        item.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)
        item.setToolTip("A breakpoint stopped the run here")
        self._item, self.node = item, node_id
        return True

    def clear(self) -> None:
        item, self._item, self.node = self._item, None, None
        if item is None:
            return
        try:
            scene = item.scene()
            if scene is not None:
                scene.removeItem(item)
        except RuntimeError:   # the node (and its halo with it) is already gone
            pass

    def visible(self) -> bool:
        """Whether a halo is on screen now (its node still exists)."""
        if self._item is None:
            return False
        try:
            return self._item.scene() is not None and self._item.isVisible()
        except RuntimeError:
            return False
