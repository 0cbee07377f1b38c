"""The open monitor panels: opening the ones that apply to a node, what they ask the worker for,
and keeping them in step with the graph (renames, removed nodes, a new file, Stop and Reset)."""
from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, Qt

from .frames import DisplayRequest
from .graph_info import MONITORS, GraphInfo, offered_monitors
from .monitors import (EnvironmentMonitor, EpisodeMonitor, Monitor, RasterMonitor, RateMonitor,
                       TraceMonitor, WeightsMonitor)

BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea


class MonitorSet(QObject):
    """The monitors of one window. ``changed()`` is called whenever what they need changes
    (the controller then sends the worker a new DisplayRequest)."""

    def __init__(self, window, changed):
        super().__init__(window)
        self.window = window
        self.changed = changed
        self.monitors: list[Monitor] = []

    def actions(self):
        """(menu text, callback(node_id)) of every monitor, in menu order."""
        calls = {"Monitor spikes": self.monitor_spikes,
                 "Monitor membrane potential": self.monitor_membrane,
                 "Monitor rate": self.monitor_rate,
                 "Monitor output signal": self.monitor_signal,
                 "Monitor weights": self.monitor_weights,
                 "Show environment": self.monitor_environment,
                 "Monitor episodes": self.monitor_episodes}
        return [(name, calls[name]) for name in MONITORS]

    def applies(self, name: str, node_id: str) -> bool:
        """Whether monitor ``name`` applies to node ``node_id`` (the menus offer only these)."""
        node = self.window.graph.nodes.get(node_id)
        return node is not None and name in offered_monitors(node)

    def _info(self) -> GraphInfo:
        return GraphInfo(self.window.graph)

    # --- opening ------------------------------------------------------------------------------
    def _add(self, mon: Monitor, area=BOTTOM):
        mon.closed.connect(lambda m=mon: self._closed(m))
        self.monitors.append(mon)
        place = getattr(self.window, "place_monitor", None)  # the editor arranges its docks
        if place is not None:
            place(mon, area)
        else:
            self.window.addDockWidget(area, mon)
        mon.show()
        self.changed()
        return mon

    def _find(self, cls):
        return next((m for m in self.monitors if type(m) is cls), None)

    def _refuse(self, node_id: str, why: str):
        self.window.status(f"'{node_id}' {why}")
        return None

    def monitor_spikes(self, node_id: str):
        """Add ``node_id`` to the spike raster (one raster shows all chosen pools)."""
        info = self._info()
        if not info.spike_port(node_id):
            return self._refuse(node_id, "has no spike output to monitor")
        mon = self._find(RasterMonitor)
        if mon is None:
            return self._add(RasterMonitor(info, [node_id], parent=self.window))
        mon.set_info(info)
        mon.add_pool(node_id)
        self.changed()
        return mon

    def monitor_membrane(self, node_id: str, neurons=(0, 1, 2)):
        info = self._info()
        if not info.v_port(node_id):
            return self._refuse(node_id, "has no membrane potential output 'v'")
        mon = TraceMonitor(info, node_id, neurons, parent=self.window)
        mon.on_change = self.changed
        return self._add(mon)

    def monitor_signal(self, node_id: str, port: str | None = None, elements=(0, 1, 2)):
        """Trace a non-spike output of ``node_id`` (default: its first modulator or value
        output), e.g. a neuromodulator or a TD error."""
        info = self._info()
        ports = info.signal_ports(node_id)
        if not ports or (port is not None and port not in ports):
            return self._refuse(node_id, "has no such signal output to plot")
        mon = TraceMonitor(info, node_id, elements, parent=self.window, port=port or ports[0])
        mon.on_change = self.changed
        return self._add(mon)

    def monitor_rate(self, node_id: str):
        info = self._info()
        if not info.spike_port(node_id):
            return self._refuse(node_id, "has no spike output")
        mon = self._find(RateMonitor)
        if mon is None:
            return self._add(RateMonitor(info, [node_id], parent=self.window))
        mon.add_pool(node_id)
        self.changed()
        return mon

    def monitor_weights(self, node_id: str):
        info = self._info()
        if not info.is_projection(node_id):
            return self._refuse(node_id, "is not a projection")
        return self._add(WeightsMonitor(info, node_id, parent=self.window), RIGHT)

    def monitor_environment(self, node_id: str):
        info = self._info()
        if not info.observation_port(node_id):
            return self._refuse(node_id, "has no 'observation' output to draw")
        return self._add(EnvironmentMonitor(info, node_id, parent=self.window), RIGHT)

    def monitor_episodes(self, node_id: str):
        info = self._info()
        if not info.episode_ports(node_id):
            return self._refuse(node_id, "reports no episode outputs")
        return self._add(EpisodeMonitor(info, node_id, parent=self.window), RIGHT)

    def _closed(self, mon):
        if mon in self.monitors:
            self.monitors.remove(mon)
            self.changed()

    # --- what they need -----------------------------------------------------------------------
    def request(self, info: GraphInfo) -> tuple[DisplayRequest, tuple[str, ...]]:
        """(what the open monitors and the pool badges need, the pools with a badge)."""
        req = DisplayRequest()
        badge_pools = tuple(n for n in info.pools() if info.spike_port(n))
        req.counts = tuple(info.spike_port(n) for n in badge_pools)
        windows = [1000]
        for m in self.monitors:
            try:
                m.contribute(req, info)
                windows.append(m.window_steps(info.dt))
            except Exception as exc:   # one broken panel must not starve the others
                m.show_error(f"{type(exc).__name__}: {exc}")
                traceback.print_exc()
        req.window = max(windows)
        return req, badge_pools

    # --- keeping in step with the graph -------------------------------------------------------
    def rename(self, old: str, new: str) -> None:
        info = self._info()
        for m in self.monitors:
            if old in m.nodes():
                m.rename_node(old, new, info)

    def refresh(self) -> None:
        """Close monitors whose nodes left the graph (a node inside a composite instance,
        ``c3.exc``, counts while the flattened graph has it); give the others the new info."""
        info = self._info()
        for m in list(self.monitors):
            if any(n not in self.window.graph.nodes and n not in info.node_ports
                   for n in m.nodes()):
                m.close()
            else:
                m.set_info(info)

    def reset_views(self) -> None:
        """Empty every panel (Stop, Reset, a new build)."""
        for m in self.monitors:
            m.gen = None
            m.reset_view()

    def close_all(self) -> None:
        for m in list(self.monitors):
            m.close()
