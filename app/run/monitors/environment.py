"""Environment panels: the environment itself, and its per-episode curves."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..graph_info import GraphInfo
from .base import Monitor, StickyRange, pool_colour, renamed_port


class EnvironmentMonitor(Monitor):
    """The environment of one node, drawn the best way it allows:

    * ``image``: the environment's own ``rgb_array`` render (a Gymnasium environment that has
      one; the worker asks for it at most 10 times a second);
    * ``cartpole``: a cart and pole drawn from CartPole's observation (x, x_dot, theta,
      theta_dot), for the in-graph ``cartpole`` node and for Gymnasium's CartPole without a
      renderer;
    * ``values``: the observation as bars, for any other environment without a renderer.
    """

    kind = "environment"
    X_LIMIT = 2.4
    POLE = 1.0

    def __init__(self, info: GraphInfo, node: str, parent=None):
        super().__init__(f"Environment: {node}", parent)
        self.node = node
        self.port = info.observation_port(node)
        self.wants_image = info.can_render(node)
        self.cart_shaped = info.is_cartpole(node)
        self.plot = self.layout_widget.addPlot()
        self.layout_widget.setMinimumHeight(180)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.mode = None
        self.observation = None
        self.frame_image = None
        self.set_mode("cartpole" if self.cart_shaped else "values")

    # --- modes ---------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        """Rebuild the plot for ``mode`` ("image", "cartpole" or "values")."""
        if mode == self.mode:
            return
        self.mode = mode
        p = self.plot
        p.clear()
        p.setLimits(xMin=None, xMax=None)
        p.setAspectLocked(mode != "values")
        p.invertY(mode == "image")
        p.showAxis("left", mode == "values")
        p.showAxis("bottom", mode == "values")
        if mode == "image":
            self.image = pg.ImageItem(axisOrder="row-major")
            p.addItem(self.image)
        elif mode == "cartpole":
            self._make_cartpole()
        else:
            self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=pool_colour(0))
            p.addItem(self.bars)
            p.setLabel("bottom", "observation element")
            p.setLabel("left", "value")
            self.yrange = StickyRange(p)
        self.clear()

    def _make_cartpole(self):
        p = self.plot
        p.setLimits(xMin=-self.X_LIMIT * 1.6, xMax=self.X_LIMIT * 1.6)
        p.setXRange(-self.X_LIMIT * 1.15, self.X_LIMIT * 1.15, padding=0)
        p.setYRange(-0.4, 1.4, padding=0)
        p.plot([-self.X_LIMIT, self.X_LIMIT], [0, 0], pen=pg.mkPen((150, 150, 150), width=2))
        for x in (-self.X_LIMIT, self.X_LIMIT):
            p.plot([x, x], [-0.15, 0.15], pen=pg.mkPen((200, 80, 80), width=2))
        self.cart = p.plot(pen=pg.mkPen((80, 170, 255), width=2), fillLevel=None)
        self.pole = p.plot(pen=pg.mkPen((240, 200, 80), width=6))
        self.axle = pg.ScatterPlotItem(size=10, brush=(255, 255, 255))
        p.addItem(self.axle)

    # --- interface -----------------------------------------------------------------------------
    def nodes(self):
        return [self.node]

    def rename_node(self, old, new, info):
        if self.node == old:
            self.node, self.port = new, renamed_port(self.port, old, new)
            self.setWindowTitle(f"Environment: {new}")

    def contribute(self, req, info):
        if self.port:
            req.values = tuple(dict.fromkeys(req.values + (self.port,)))
        if self.wants_image:
            req.images = tuple(dict.fromkeys(req.images + (self.node,)))

    def clear(self):
        """Nothing shown: no cart, no bars, no picture, until the run sends data."""
        self.observation = None
        self.frame_image = None
        if self.mode == "cartpole":
            for item in (self.cart, self.pole):
                item.setData([], [])
            self.axle.setData([], [])
        elif self.mode == "values":
            self.bars.setOpts(x=[], height=[])
        elif self.mode == "image":
            self.image.clear()

    def show_state(self, obs) -> None:
        """Draw CartPole's observation (x, x_dot, theta, theta_dot)."""
        x, _xd, theta, _td = [float(v) for v in np.asarray(obs).ravel()[:4]]
        w, h = 0.5, 0.3
        self.cart.setData([x - w / 2, x + w / 2, x + w / 2, x - w / 2, x - w / 2],
                          [0, 0, h, h, 0])
        top = (x + self.POLE * np.sin(theta), h + self.POLE * np.cos(theta))
        self.pole.setData([x, top[0]], [h, top[1]])
        self.axle.setData([x], [h])
        self.observation = np.asarray(obs)
        self.show_info(f"x = {x:+.2f}  theta = {np.degrees(theta):+.1f} deg")

    def show_values(self, obs) -> None:
        v = np.asarray(obs, float).ravel()
        self.bars.setOpts(x=np.arange(v.size), height=v)
        self.plot.setXRange(-0.6, v.size - 0.4, padding=0)
        self.yrange.fit(min(0.0, float(v.min())), max(0.0, float(v.max())))
        self.observation = v
        self.show_info("observation: " + ", ".join(f"{a:+.3g}" for a in v[:8])
                       + (" ..." if v.size > 8 else ""))

    def show_image(self, img) -> None:
        self.set_mode("image")
        self.image.setImage(np.asarray(img), autoLevels=False, levels=(0, 255))
        self.frame_image = img

    def draw(self, frame):
        img = frame.get("images", {}).get(self.node)
        if img is not None:
            self.show_image(img)
        item = frame["values"].get(self.port)
        if item is None or not item[1].shape[0]:
            return
        obs = item[1][-1]
        if self.mode == "cartpole":
            self.show_state(obs)
        elif self.mode == "values":
            self.show_values(obs)
        else:
            self.observation = np.asarray(obs)


class EpisodeMonitor(Monitor):
    """Per-episode curves (return, length, ...) from an environment's episode outputs.

    Every finished episode is kept (a learning curve has no time window), but drawing stays
    cheap however many there are: markers only while there are few points, pyqtgraph
    downsamples the line to the plot's width, and the axes change in steps (the episode axis
    grows by half when the curve reaches its end, the value axis when the values leave it or
    use less than a third), not with every episode: rescaling an axis re-lays its labels, and
    rescaling after every episode made this panel the costliest to paint in a fast run."""

    kind = "episodes"
    MARKERS_UP_TO = 150     # episodes drawn with a marker each; beyond, a plain line

    def __init__(self, info: GraphInfo, node: str, parent=None):
        super().__init__(f"Episodes: {node}", parent)
        self.node = node
        self.ports = info.episode_ports(node)
        self.plots, self.curves, self.values, self.yranges = {}, {}, {}, {}
        self.x_end: dict[str, float] = {}
        for k, port in enumerate(self.ports):
            p = self.layout_widget.addPlot(row=k, col=0)
            p.setLabel("left", port.rsplit(".", 1)[1])
            p.setLabel("bottom", "episode")
            p.hideButtons()
            p.disableAutoRange()
            self.plots[port] = p
            self.yranges[port] = StickyRange(p)
            c = p.plot(pen=pg.mkPen(pool_colour(k), width=1.5))
            c.setDownsampling(auto=True, method="peak")
            c.setClipToView(True)
            self.curves[port] = c
            self.values[port] = []
        self.clear()

    def nodes(self):
        return [self.node]

    def rename_node(self, old, new, info):
        if self.node != old:
            return
        self.node = new
        self.setWindowTitle(f"Episodes: {new}")
        fix = {p: renamed_port(p, old, new) for p in self.ports}
        self.ports = [fix[p] for p in self.ports]
        for d in (self.plots, self.curves, self.values, self.yranges, self.x_end):
            for p in list(d):
                d[fix[p]] = d.pop(p)

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
            self.yranges[port] = StickyRange(self.plots[port])
            self._x_range(port, 10.0)
        self.info_label.setText("0 episodes" if self.ports
                                else "this node reports no episode outputs")

    def _x_range(self, port: str, end: float) -> None:
        """Show episodes 1 .. ``end`` (with a margin)."""
        self.x_end[port] = end
        self.plots[port].setXRange(0.0, end + 0.5, padding=0)

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
                if len(v) > self.x_end[port]:
                    self._x_range(port, max(10.0, np.ceil(len(v) * 1.5)))
                self.yranges[port].fit(float(np.min(v)), float(np.max(v)))
                changed = True
        if changed:
            n = max((len(v) for v in self.values.values()), default=0)
            last = [f"last {min(len(v), 10)}: mean {np.mean(v[-10:]):.1f}"
                    for v in self.values.values() if v][:1]
            self.show_info(f"{n} episode(s)" + (f", {last[0]}" if last else ""), force=True)
