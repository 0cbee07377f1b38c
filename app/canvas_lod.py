"""Level of detail on the canvas: node names stay readable at every zoom, port labels fade.

NodeGraphQt hides every text of a node (its "proxy mode") once the node is narrower than 70
screen pixels, so a zoomed-out graph was a set of blank boxes; above that width it draws the
texts at their natural size, about 5 px high when a mid-sized graph is fitted to the window.
Here instead, for a view scale ``s``:

- the node's name keeps at least ``MIN_TITLE_PX`` screen pixels: below that, NodeGraphQt's
  title is hidden and a name of that size is drawn in its place, at the top of the node
  (shortened with "…" to the node's width; the tooltip has it whole);
- port labels and the type caption above the node fade out between ``FADE_FROM_PX`` and
  ``FADE_TO_PX`` of font height on screen (hidden below it), as they stop being legible;
- the "⚠ problem" marker keeps at least ``MIN_MARK_PX``.
"""
from __future__ import annotations

import math

from PySide6 import QtCore, QtGui, QtWidgets

MIN_TITLE_PX = 11.0
MIN_MARK_PX = 9.0
FADE_FROM_PX = 6.0
FADE_TO_PX = 8.0
TITLE_COLOR = (240, 240, 240)


def font_px(item) -> float:
    """The pixel height of ``item``'s font at scale 1."""
    return float(QtGui.QFontInfo(item.font()).pixelSize())


def label_opacity(px_on_screen: float) -> float:
    """Opacity of a secondary label whose font is ``px_on_screen`` pixels high."""
    return min(1.0, max(0.0, (px_on_screen - FADE_FROM_PX) / (FADE_TO_PX - FADE_FROM_PX)))


class NodeDetail:
    """The texts of one drawn node that depend on the zoom."""

    def __init__(self, view, caption, mark):
        self.view = view
        self.caption = caption
        self.mark = mark
        view._proxy_mode_threshold = -1  # never NodeGraphQt's blank boxes: see the module doc
        view.set_proxy_mode(False)
        self.far_title = QtWidgets.QGraphicsSimpleTextItem("", view)
        self.far_title.setBrush(QtGui.QColor(*TITLE_COLOR))
        self.far_title.setVisible(False)
        self.far_title.setAcceptedMouseButtons(QtCore.Qt.NoButton)

    def title_item(self):
        """The item that shows the node's name at the current zoom."""
        return self.far_title if self.far_title.isVisible() else self.view._text_item

    def apply(self, scale: float) -> None:
        v = self.view
        scale = max(scale, 1e-6)
        natural = v._text_item
        far = font_px(natural) * scale < MIN_TITLE_PX
        natural.setVisible(not far)
        self.far_title.setVisible(far)
        if far:
            self._place_far_title(scale)
        labels = list(v._input_items.values()) + list(v._output_items.values())
        if labels:
            op = label_opacity(font_px(labels[0]) * scale)
            for t in labels:
                t.setOpacity(op)
                t.setVisible(op > 0.0)
        op = label_opacity(font_px(self.caption) * scale)
        self.caption.setOpacity(op)
        self.caption.setVisible(op > 0.0)
        grow = MIN_MARK_PX / (font_px(self.mark) * scale)
        self.mark.setScale(max(1.0, grow))

    def _place_far_title(self, scale: float) -> None:
        v, t = self.view, self.far_title
        f = QtGui.QFont(v._text_item.font())
        f.setPixelSize(max(1, math.ceil(MIN_TITLE_PX / scale)))
        t.setFont(f)
        room = v.width - 8.0
        t.setText(QtGui.QFontMetricsF(f).elidedText(v.name, QtCore.Qt.ElideRight, room))
        r = t.boundingRect()
        bar = v._text_item.boundingRect().height()  # where the name normally is
        t.setPos((v.width - r.width()) / 2.0, max(0.0, (bar - r.height()) / 2.0))
