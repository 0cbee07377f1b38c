"""Time series: traces of chosen elements of one output, and population rates of pools."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit

from ..graph_info import GraphInfo
from .base import Monitor, StickyRange, pool_colour, renamed_port, time_axis


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

    def rename_node(self, old, new, info):
        if self.pool != old:
            return
        self.pool, self.port, self.info = new, renamed_port(self.port, old, new), info
        kind = self.windowTitle().split(":", 1)[0]
        self.setWindowTitle(f"{kind}: {new}")
        if self.port_box is not None:
            for i in range(self.port_box.count()):
                self.port_box.setItemData(i, renamed_port(self.port_box.itemData(i), old, new))

    def set_info(self, info):
        self.info = info

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

    def set_info(self, info):
        self.info = info

    def rename_node(self, old, new, info):
        if old not in self.pools:
            return
        self.info = info
        self.pools = [new if p == old else p for p in self.pools]
        self.curves[new] = self.curves.pop(old)
        self.data[new] = self.data.pop(old)
        self.legend.removeItem(self.curves[new])
        self.legend.clear()
        for p in self.pools:
            self.legend.addItem(self.curves[p], p)

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
