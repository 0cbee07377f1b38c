"""The weights of one projection: histogram and matrix (re-read while plastic)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ..graph_info import GraphInfo
from .base import Monitor


class WeightsMonitor(Monitor):
    """Weight histogram and weight matrix of one projection (re-read live when plastic)."""

    kind = "weights"
    MAX_SIDE = 400

    def __init__(self, info: GraphInfo, projection: str, parent=None):
        super().__init__(f"Weights: {projection}", parent)
        self.projection = projection
        self.hist = self.layout_widget.addPlot(row=0, col=0)
        self.hist.setLabel("bottom", "weight", "mV")
        self.hist.setLabel("left", "synapses")
        self.hist_curve = self.hist.plot(stepMode="center", fillLevel=0,
                                         brush=(80, 170, 255, 150), pen=pg.mkPen((80, 170, 255)))
        self.mat = self.layout_widget.addPlot(row=0, col=1)
        self.mat.setLabel("bottom", "post neuron")
        self.mat.setLabel("left", "pre neuron")
        self.mat.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.mat.addItem(self.image)
        cmap = pg.colormap.get("CET-D1")
        self.image.setColorMap(cmap)
        self.bar = pg.ColorBarItem(colorMap=cmap, interactive=False, width=12)
        self.bar.setImageItem(self.image, insert_in=self.mat)
        self.matrix: np.ndarray | None = None
        self.updates = 0

    def nodes(self):
        return [self.projection]

    def rename_node(self, old, new, info):
        if self.projection == old:
            self.projection = new
            self.setWindowTitle(f"Weights: {new}")

    def contribute(self, req, info):
        req.weights = tuple(dict.fromkeys(req.weights + (self.projection,)))

    def clear(self):
        """No weights shown (a new run sends its initial weights at once)."""
        self.matrix = None
        self.hist_curve.setData([0.0, 1.0], [0.0])
        self.image.clear()

    def draw(self, frame):
        W = frame["weights"].get(self.projection)
        if W is None:
            return
        self.matrix = W
        self.updates += 1
        nz = W[W != 0]
        vals = nz if nz.size else W.ravel()
        if vals.size:
            y, x = np.histogram(vals, bins=60)
            self.hist_curve.setData(x, y)
        img = block_reduce(W, self.MAX_SIDE)
        m = float(np.max(np.abs(img))) if img.size else 1.0
        m = m or 1.0
        self.image.setImage(img, autoLevels=False)
        self.image.setRect(QRectF(0, 0, W.shape[1], W.shape[0]))
        self.bar.setLevels((-m, m))
        self.show_info(f"{W.shape[0]} x {W.shape[1]}, {nz.size} synapses, "
                      f"mean {vals.mean() if vals.size else 0:.3g} mV", force=True)


def block_reduce(W: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink a matrix to at most ``max_side`` per side by averaging blocks (for display)."""
    r = max(1, -(-W.shape[0] // max_side))
    c = max(1, -(-W.shape[1] // max_side))
    if r == 1 and c == 1:
        return np.asarray(W, np.float32)
    H, Wd = -(-W.shape[0] // r) * r, -(-W.shape[1] // c) * c
    pad = np.zeros((H, Wd), np.float32)
    pad[:W.shape[0], :W.shape[1]] = W
    return pad.reshape(H // r, r, Wd // c, c).mean(axis=(1, 3))
