"""Monitor panels: dock widgets with pyqtgraph plots fed by the worker's frames.

Every monitor says which data it needs (``contribute(request, info)``), draws a frame
(``update(frame)``), forgets everything on ``clear()`` and exports its plots as PNG or SVG
(``export(path)``). Monitors keep only bounded history (their time window).
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from pyqtgraph import exporters
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QSizePolicy, QVBoxLayout, QWidget)

from .graph_info import GraphInfo

# Colours for pools (raster rows, rate curves): distinct on a dark background.
PALETTE = [(80, 170, 255), (255, 140, 60), (90, 220, 120), (240, 90, 110), (190, 130, 255),
           (240, 220, 80), (70, 220, 220), (255, 150, 210), (170, 200, 90), (200, 160, 120)]


_PAINT_SECONDS = [0.0]   # wall time all monitor views spent painting (see MonitorView)


def paint_seconds() -> float:
    """Total seconds monitor plots have spent painting so far (the controller paces frames
    on the share of the GUI thread that drawing takes)."""
    return _PAINT_SECONDS[0]


class MonitorView(pg.GraphicsLayoutWidget):
    """pyqtgraph's layout widget, timing its own painting."""

    def paintEvent(self, ev):
        t0 = time.perf_counter()
        try:
            return super().paintEvent(ev)
        finally:
            _PAINT_SECONDS[0] += time.perf_counter() - t0


def pool_colour(i: int):
    return PALETTE[i % len(PALETTE)]


def export_item(item, path: str, width: int = 1200) -> str:
    """Write a pyqtgraph item (a plot or a layout) to ``path`` (.png or .svg); return the path.

    PNG goes through pyqtgraph's ImageExporter. SVG tries pyqtgraph's SVGExporter and falls
    back to rendering the item's scene area into a QSvgGenerator: pyqtgraph 0.14's SVG
    post-processing cannot parse the path syntax Qt 6.12 writes.
    """
    path = str(path)
    if path.lower().endswith(".svg"):
        try:
            exporters.SVGExporter(item).export(path)
        except Exception:
            _render_svg(item, path)
        return path
    if not path.lower().endswith(".png"):
        path += ".png"
    exp = exporters.ImageExporter(item)
    exp.parameters()["width"] = int(width)
    exp.export(path)
    return path


def _render_svg(item, path: str) -> None:
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    rect = item.sceneBoundingRect()
    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(rect.size().toSize())
    gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    gen.setTitle("Spark monitor")
    painter = QPainter(gen)
    try:
        item.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
    finally:
        painter.end()


def time_axis(plot, label: str = "time relative to now") -> None:
    """Label the bottom axis in plain milliseconds (pyqtgraph's SI prefixes would turn
    -1000 ms into "-1 kms")."""
    plot.setLabel("bottom", label, "ms")
    plot.getAxis("bottom").enableAutoSIPrefix(False)


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
    """Base monitor: a dock holding a pyqtgraph layout and a small button row."""

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
        self.info_label = QLabel("")
        # text changes must not re-layout the window (that costs more than drawing the plot)
        self.info_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.controls.addWidget(self.info_label, 1)
        self._info_at = 0.0
        exp = QPushButton("Export...")
        exp.setToolTip("Save this panel as PNG or SVG")
        exp.clicked.connect(self._export_dialog)
        self.controls.addWidget(exp)
        lay.addLayout(self.controls)
        self.layout_widget = MonitorView()
        lay.addWidget(self.layout_widget, 1)
        self.setWidget(body)
        self.gen = None

    # --- interface -----------------------------------------------------------------------------
    def nodes(self) -> list[str]:
        """The graph nodes this monitor shows (a monitor whose nodes vanish is closed)."""
        return []

    def contribute(self, req, info: GraphInfo) -> None:
        """Add what this monitor needs to the DisplayRequest ``req``."""

    def window_steps(self, dt: float) -> int:
        return 0

    def update_frame(self, frame: dict) -> None:
        if frame.get("gen") != self.gen:
            self.gen = frame.get("gen")
            self.clear()
        self.draw(frame)
        self.last_t1 = frame["t1"]

    def draw(self, frame: dict) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        pass

    def show_info(self, text: str, force: bool = False) -> None:
        """Show ``text`` in the header (at most 4 times per second unless ``force``)."""
        now = time.perf_counter()
        if force or now - self._info_at >= 0.25:
            self._info_at = now
            self.info_label.setText(text)

    def export(self, path: str) -> str:
        return export_item(self.layout_widget.ci, path)

    def _export_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", f"{self.kind}.png",
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.export(path)

    def closeEvent(self, event):
        self.closed.emit()
        super().closeEvent(event)


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
        for p in pools:
            self.add_pool(p)

    def nodes(self):
        return list(self.pools)

    def add_pool(self, pool: str) -> None:
        if pool not in self.pools:
            self.pools.append(pool)
            self._layout_rows()

    def set_info(self, info: GraphInfo) -> None:
        self.info = info
        self.pools = [p for p in self.pools if info.spike_port(p)]
        self._layout_rows()

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
        lut[0] = (12, 14, 20, 255)
        for k in range(len(self.pools)):
            lut[k + 1, :3] = pool_colour(k)
            lut[k + 1, 3] = 255
        self.image.setLookupTable(lut)
        ticks = [(self.offsets[k] + self.rows[k] / 2.0, p) for k, p in enumerate(self.pools)]
        self.plot.getAxis("left").setTicks([ticks])
        self.clear()

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


class TraceMonitor(Monitor):
    """Values over time of chosen elements of one output port: the membrane potential of
    chosen neurons (port "v"), or any other signal (a neuromodulator, a TD error, an
    observation, ...). A node with several such outputs gets a port chooser."""

    kind = "traces"

    def __init__(self, info: GraphInfo, pool: str, neurons=(0, 1, 2), window_ms=None,
                 parent=None, port: str | None = None):
        port = port or info.v_port(pool) or next(iter(info.signal_ports(pool)), None)
        membrane = port is not None and port == info.v_port(pool)
        super().__init__(f"Membrane potential: {pool}" if membrane else f"Signal: {pool}",
                         parent)
        self.info = info
        self.pool = pool
        self.port = port
        self.dt = info.dt
        self.window_ms = float(window_ms if window_ms is not None else
                               (200.0 if membrane else 2000.0))
        self.size = info.ports[port].size if port in info.ports else 1
        self.neurons = tuple(n for n in neurons if 0 <= n < self.size) or (0,)
        self.edit = QLineEdit(", ".join(str(n) for n in self.neurons))
        self.edit.setMinimumWidth(70)
        self.edit.setMaximumWidth(160)
        col = 0
        choices = info.signal_ports(pool)
        self.port_box = None
        if len(choices) > 1:
            self.port_box = QComboBox()
            for c in choices:
                self.port_box.addItem(c.rsplit(".", 1)[1], c)
            if port in choices:
                self.port_box.setCurrentIndex(choices.index(port))
            self.port_box.setToolTip("output port to plot")
            self.port_box.currentIndexChanged.connect(
                lambda i: self.set_port(self.port_box.itemData(i)))
            self.controls.insertWidget(col, self.port_box)
            col += 1
        self.controls.insertWidget(col, QLabel("neurons:" if membrane else "elements:"))
        self.controls.insertWidget(col + 1, self.edit)
        self.edit.editingFinished.connect(self._neurons_edited)
        self.on_change = None
        self.plot = self.layout_widget.addPlot(row=0, col=0)
        time_axis(self.plot)
        self.plot.setXRange(-self.window_ms, 0, padding=0)
        self.plot.setMouseEnabled(x=False, y=True)
        self.plot.hideButtons()
        self.legend = pg.LegendItem(labelTextSize="8pt", verSpacing=-6)  # under the plot
        self.layout_widget.addItem(self.legend, row=1, col=0)
        self.yrange = StickyRange(self.plot)
        self.curves = []
        self._label_axes()
        self._make_curves()

    def _label_axes(self):
        p = self.info.ports.get(self.port)
        name = self.port.rsplit(".", 1)[1] if self.port else "value"
        unit = "mV" if p is not None and (name == "v" or p.kind in ("current", "events")) else None
        self.plot.setLabel("left", name, unit)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.edit.setToolTip(f"indices into '{name}' (0 .. {self.size - 1}), comma separated")

    def set_port(self, port: str) -> None:
        """Plot another output of the same node."""
        if port == self.port or port not in self.info.ports:
            return
        self.port = port
        self.size = self.info.ports[port].size
        self.yrange = StickyRange(self.plot)
        self._label_axes()
        self.set_neurons(self.neurons)

    def _make_curves(self):
        for c in self.curves:
            self.plot.removeItem(c)
        self.legend.clear()
        self.legend.setColumnCount(min(len(self.neurons), 6))
        self.legend.setVisible(len(self.neurons) > 1)
        self.curves = []
        for k, n in enumerate(self.neurons):
            c = self.plot.plot(pen=pg.mkPen(pool_colour(k), width=1.2))
            self.legend.addItem(c, f"#{n}")
            c.setClipToView(True)
            c.setDownsampling(auto=True, method="peak")
            self.curves.append(c)
        self.clear()

    def set_neurons(self, neurons) -> None:
        self.neurons = tuple(n for n in neurons if 0 <= n < self.size) or (0,)
        self.edit.setText(", ".join(str(n) for n in self.neurons))
        self._make_curves()
        if self.on_change:
            self.on_change()

    def _neurons_edited(self):
        try:
            vals = [int(x) for x in self.edit.text().replace(";", ",").split(",") if x.strip()]
        except ValueError:
            self.edit.setText(", ".join(str(n) for n in self.neurons))
            return
        if tuple(vals) != self.neurons:
            self.set_neurons(vals)

    def nodes(self):
        return [self.pool]

    def contribute(self, req, info):
        if self.port:
            req.traces[self.port] = tuple(self.neurons)

    def window_steps(self, dt):
        return int(round(self.window_ms / dt))

    def clear(self):
        self.t = np.zeros(0, np.int64)
        self.v = np.zeros((0, len(self.neurons)))
        for c in self.curves:
            c.setData([], [])

    def draw(self, frame):
        item = frame["traces"].get(self.port)
        if item is None:
            return
        s, v, idx = item
        if tuple(idx) != self.neurons:
            return
        self.t = np.concatenate([self.t, s])
        v = np.asarray(v, float)
        self.v = np.concatenate([self.v, v]) if self.v.size else v
        keep_from = frame["t1"] - self.window_steps(self.dt)
        cut = int(np.searchsorted(self.t, keep_from))
        self.t, self.v = self.t[cut:], self.v[cut:]
        x = (self.t - frame["t1"]) * self.dt
        for k, c in enumerate(self.curves):
            c.setData(x, self.v[:, k])
        if self.v.size:
            self.yrange.fit(float(self.v.min()), float(self.v.max()))


class RateMonitor(Monitor):
    """Population firing rate (Hz) of several pools, one point per chunk."""

    kind = "rates"

    def __init__(self, info: GraphInfo, pools: list[str], window_ms=2000.0, parent=None):
        super().__init__("Population rates", parent)
        self.info = info
        self.window_ms = float(window_ms)
        self.plot = self.layout_widget.addPlot(row=0, col=0)
        time_axis(self.plot)
        self.plot.setLabel("left", "rate", "Hz")
        # the legend sits under the plot, never over the curves
        self.legend = pg.LegendItem(colCount=4, labelTextSize="8pt", verSpacing=-6)
        self.layout_widget.addItem(self.legend, row=1, col=0)
        self.plot.setXRange(-self.window_ms, 0, padding=0)
        self.plot.setMouseEnabled(x=False, y=True)
        self.plot.hideButtons()
        self.yrange = StickyRange(self.plot, floor=0.0)
        self.pools: list[str] = []
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for p in pools:
            self.add_pool(p)

    def add_pool(self, pool):
        if pool in self.pools:
            return
        k = len(self.pools)
        self.pools.append(pool)
        self.curves[pool] = self.plot.plot(pen=pg.mkPen(pool_colour(k), width=1.5))
        self.legend.addItem(self.curves[pool], pool)
        self.data[pool] = (np.zeros(0), np.zeros(0))

    def nodes(self):
        return list(self.pools)

    def contribute(self, req, info):
        ports = tuple(info.spike_port(p) for p in self.pools if info.spike_port(p))
        req.counts = tuple(dict.fromkeys(req.counts + ports))

    def clear(self):
        for p in self.pools:
            self.data[p] = (np.zeros(0), np.zeros(0))
            self.curves[p].setData([], [])

    def draw(self, frame):
        t_end = frame["t1"] * frame["dt"]
        for p in self.pools:
            port = self.info.spike_port(p)
            item = frame["rates"].get(port)
            if item is None:
                continue
            t, r = self.data[p]
            t = np.concatenate([t, item[0]])
            r = np.concatenate([r, item[1]])
            keep = t >= t_end - self.window_ms
            self.data[p] = (t[keep], r[keep])
            self.curves[p].setData(self.data[p][0] - t_end, self.data[p][1])
        tops = [float(self.data[p][1].max()) for p in self.pools if self.data[p][1].size]
        if tops:
            self.yrange.fit(0.0, max(tops))
        latest = {p: float(self.data[p][1][-1]) for p in self.pools if self.data[p][1].size}
        if len(latest) <= 3:
            self.show_info("  ".join(f"{p}: {r:.1f} Hz" for p, r in latest.items()))
        elif latest:
            v = list(latest.values())
            self.show_info(f"mean {np.mean(v):.1f} Hz ({min(v):.1f} to {max(v):.1f})")


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

    def contribute(self, req, info):
        req.weights = tuple(dict.fromkeys(req.weights + (self.projection,)))

    def clear(self):
        pass  # keep the last matrix until a new one comes

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


class EnvironmentMonitor(Monitor):
    """A cart-pole drawn from the environment's 4-vector observation (x, x_dot, theta, theta_dot)."""

    kind = "environment"
    X_LIMIT = 2.4
    POLE = 1.0

    def __init__(self, info: GraphInfo, node: str, parent=None):
        super().__init__(f"Environment: {node}", parent)
        self.node = node
        self.port = info.observation_port(node)
        self.plot = self.layout_widget.addPlot()
        self.layout_widget.setMinimumHeight(180)
        self.plot.setAspectLocked(True)
        self.plot.setLimits(xMin=-self.X_LIMIT * 1.6, xMax=self.X_LIMIT * 1.6)
        self.plot.setXRange(-self.X_LIMIT * 1.15, self.X_LIMIT * 1.15, padding=0)
        self.plot.setYRange(-0.4, 1.4, padding=0)
        self.plot.hideAxis("left")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.plot([-self.X_LIMIT, self.X_LIMIT], [0, 0], pen=pg.mkPen((150, 150, 150), width=2))
        for x in (-self.X_LIMIT, self.X_LIMIT):
            self.plot.plot([x, x], [-0.15, 0.15], pen=pg.mkPen((200, 80, 80), width=2))
        self.cart = self.plot.plot(pen=pg.mkPen((80, 170, 255), width=2), fillLevel=None)
        self.pole = self.plot.plot(pen=pg.mkPen((240, 200, 80), width=6))
        self.axle = pg.ScatterPlotItem(size=10, brush=(255, 255, 255))
        self.plot.addItem(self.axle)
        self.observation = None
        self.show_state(np.zeros(4))

    def nodes(self):
        return [self.node]

    def contribute(self, req, info):
        if self.port:
            req.values = tuple(dict.fromkeys(req.values + (self.port,)))

    def show_state(self, obs) -> None:
        x, _xd, theta, _td = [float(v) for v in np.asarray(obs).ravel()[:4]]
        w, h = 0.5, 0.3
        self.cart.setData([x - w / 2, x + w / 2, x + w / 2, x - w / 2, x - w / 2],
                          [0, 0, h, h, 0])
        top = (x + self.POLE * np.sin(theta), h + self.POLE * np.cos(theta))
        self.pole.setData([x, top[0]], [h, top[1]])
        self.axle.setData([x], [h])
        self.observation = np.asarray(obs)
        self.show_info(f"x = {x:+.2f}  theta = {np.degrees(theta):+.1f} deg")

    def draw(self, frame):
        item = frame["values"].get(self.port)
        if item is not None and item[1].shape[0]:
            self.show_state(item[1][-1])


class EpisodeMonitor(Monitor):
    """Per-episode curves (return, length, ...) from an environment's episode outputs.

    Every finished episode is kept (a learning curve has no time window), but drawing stays
    cheap however many there are: markers only while there are few points, and pyqtgraph
    downsamples the line to the plot's width."""

    kind = "episodes"
    MARKERS_UP_TO = 150     # episodes drawn with a marker each; beyond, a plain line

    def __init__(self, info: GraphInfo, node: str, parent=None):
        super().__init__(f"Episodes: {node}", parent)
        self.node = node
        self.ports = info.episode_ports(node)
        self.plots, self.curves, self.values = {}, {}, {}
        for k, port in enumerate(self.ports):
            p = self.layout_widget.addPlot(row=k, col=0)
            p.setLabel("left", port.rsplit(".", 1)[1])
            p.setLabel("bottom", "episode")
            p.hideButtons()
            self.plots[port] = p
            c = p.plot(pen=pg.mkPen(pool_colour(k), width=1.5))
            c.setDownsampling(auto=True, method="peak")
            c.setClipToView(True)
            self.curves[port] = c
            self.values[port] = []
        if not self.ports:
            self.info_label.setText("this node reports no episode outputs")

    def nodes(self):
        return [self.node]

    def contribute(self, req, info):
        req.episodes = tuple(dict.fromkeys(req.episodes + tuple(self.ports)))
        counter = info.episode_counter(self.node)
        if counter:
            for port in self.ports:
                req.counters[port] = counter

    def clear(self):
        for port in self.ports:
            self.values[port] = []
            self.curves[port].setData([], [])

    def draw(self, frame):
        changed = False
        for port in self.ports:
            new = frame["episodes"].get(port)
            if new:
                self.values[port].extend(new)
                v = self.values[port]
                few = len(v) <= self.MARKERS_UP_TO
                self.curves[port].setData(np.arange(1, len(v) + 1), v,
                                          symbol="o" if few else None, symbolSize=4,
                                          symbolBrush=pool_colour(0), symbolPen=None)
                changed = True
        if changed or not hasattr(self, "_shown"):
            self._shown = True
            n = max((len(v) for v in self.values.values()), default=0)
            last = [f"last {min(len(v), 10)}: mean {np.mean(v[-10:]):.1f}"
                    for v in self.values.values() if v][:1]
            self.show_info(f"{n} episode(s)" + (f", {last[0]}" if last else ""), force=changed)
