"""The spike raster: every chosen pool in one scrolling image, in the graph's order."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ..graph_info import GraphInfo
from .base import Monitor, pool_colour, time_axis

BACKGROUND = (12, 14, 20)


class RasterMonitor(Monitor):
    """Scrolling spike raster of several pools, one colour per pool, drawn as one image.

    Time is binned into at most ``N_BINS`` columns and neurons into at most ``MAX_ROWS`` rows
    (a pixel is lit when any of its neurons spiked in its bin), so drawing costs the same for
    a thousand or a million neurons.
    """

    kind = "raster"
    N_BINS = 500
    MAX_ROWS = 1200

    def __init__(self, info: GraphInfo, pools: list[str], window_ms: float = 1000.0, parent=None):
        super().__init__("Spike raster", parent)
        self.pools: list[str] = []
        self.window_ms = float(window_ms)
        self.plot = self.layout_widget.addPlot()
        time_axis(self.plot)
        self.plot.setMouseEnabled(x=False, y=True)
        self.plot.hideButtons()
        # buf[bin, row]: the first index is x (time), the second y (neuron rows)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot.addItem(self.image)
        self.plot.invertY(True)
        self.events: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.info = info
        self.ports: list = []
        for p in pools:
            self.add_pool(p)

    def nodes(self):
        return list(self.pools)

    def add_pool(self, pool: str) -> None:
        if pool not in self.pools:
            self.pools = self._in_graph_order(self.pools + [pool])
            self._layout_rows()

    def _in_graph_order(self, pools):
        order = {n: k for k, n in enumerate(self.info.graph.nodes)}
        return sorted(pools, key=lambda p: order.get(p, len(order)))

    def set_info(self, info: GraphInfo) -> None:
        self.info = info
        pools = self._in_graph_order([p for p in self.pools if info.spike_port(p)])
        ports = [info.spike_port(p) for p in pools]
        sizes = [info.ports[q].size if q in info.ports else 1 for q in ports]
        if pools != self.pools or ports != self.ports or sizes != self.sizes \
                or info.dt != self.dt:
            self.pools = pools
            self._layout_rows()

    def rename_node(self, old, new, info):
        if old in self.pools:
            self.pools = [new if p == old else p for p in self.pools]
            self.info = info
            self.ports = [info.spike_port(p) for p in self.pools]
            self.events = {info.spike_port(new) if k == f"{old}.spikes" else k: v
                           for k, v in self.events.items()}
            self._ticks()

    def _layout_rows(self):
        info = self.info
        self.ports = [info.spike_port(p) for p in self.pools]
        sizes = [info.ports[p].size if p in info.ports else 1 for p in self.ports]
        per_pool = max(1, self.MAX_ROWS // max(1, len(self.pools)))
        self.rows = [min(s, per_pool) for s in sizes]
        self.sizes = sizes
        self.offsets = np.concatenate([[0], np.cumsum(self.rows)]).astype(int)
        self.n_rows = int(self.offsets[-1]) or 1
        self.dt = info.dt
        win_steps = max(1, int(round(self.window_ms / self.dt)))
        self.bin_steps = max(1, -(-win_steps // self.N_BINS))
        self.n_bins = max(1, -(-win_steps // self.bin_steps))
        lut = np.zeros((256, 4), np.uint8)
        lut[0] = (*BACKGROUND, 255)
        for k in range(len(self.pools)):
            lut[k + 1, :3] = pool_colour(k)
            lut[k + 1, 3] = 255
        self.image.setLookupTable(lut)
        paper = lut.copy()       # exports: spikes on white (monitors/export.py)
        paper[0] = (255, 255, 255, 255)
        self.image.paper_lut = paper
        self._ticks()
        self.clear()

    def _ticks(self):
        ticks = [(self.offsets[k] + self.rows[k] / 2.0, p) for k, p in enumerate(self.pools)]
        self.plot.getAxis("left").setTicks([ticks])

    def contribute(self, req, info):
        req.raster = tuple(dict.fromkeys(req.raster + tuple(p for p in self.ports if p)))

    def window_steps(self, dt):
        return int(round(self.window_ms / dt))

    def clear(self):
        self.buf = np.zeros((self.n_bins, self.n_rows), np.uint8)
        self.last_bin = -1
        self.events = {}
        self.image.setImage(self.buf, autoLevels=False, levels=(0, 255))
        span = self.n_bins * self.bin_steps * self.dt
        self.image.setRect(QRectF(-span, 0, span, self.n_rows))
        self.plot.setXRange(-span, 0, padding=0)
        self.plot.setYRange(0, self.n_rows, padding=0)
        self.info_label.setText("")

    def draw(self, frame):
        t1 = frame["t1"]
        new_last = (t1 - 1) // self.bin_steps
        if new_last >= self.last_bin + self.n_bins:
            self.buf[:] = 0
        elif new_last > self.last_bin:
            idx = np.arange(self.last_bin + 1, new_last + 1) % self.n_bins
            self.buf[idx] = 0
        self.last_bin = max(self.last_bin, new_last)
        first_bin = self.last_bin - self.n_bins + 1
        keep_from = t1 - self.window_steps(self.dt)
        for k, port in enumerate(self.ports):
            ev = frame["events"].get(port)
            if ev is None:
                continue
            s, i = ev
            b = s // self.bin_steps
            ok = b >= first_bin
            rows = self.offsets[k] + (i[ok].astype(np.int64) * self.rows[k]) // self.sizes[k]
            self.buf[b[ok] % self.n_bins, rows] = k + 1
            old = self.events.get(port)
            if old is not None:
                s = np.concatenate([old[0], s])
                i = np.concatenate([old[1], i])
            keep = s >= keep_from
            self.events[port] = (s[keep], i[keep])
        img = np.roll(self.buf, -((self.last_bin + 1) % self.n_bins), axis=0)
        self.image.setImage(img, autoLevels=False, levels=(0, 255))
        n_ev = sum(v[0].size for v in self.events.values())
        self.show_info(f"{sum(self.sizes):,} neurons, {n_ev:,} spikes in the last "
                       f"{self.window_ms:g} ms")
