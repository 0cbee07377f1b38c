"""Monitor layouts saved with the graph: which monitors are open, what each shows, and where
each is docked, stored in the graph file's free-form ``meta`` under ``"monitors"``:

    "meta": {"monitors": {"version": 1, "panels": [
        {"kind": "environment", "node": "cart", "area": "right"},
        {"kind": "raster", "nodes": ["left", "right"], "area": "bottom", "size": [620, 320]},
        {"kind": "traces", "node": "critic", "port": "td_error", "elements": [0]},
        {"kind": "weights", "node": "w_left"}]}}

Kinds: raster and rates (``nodes``), traces (``node``, ``port``, ``elements``: the neurons or
elements plotted), weights, environment and episodes (``node``). ``area`` (bottom, right, left,
top or floating) and ``size`` ([width, height] in pixels) are optional: without them a panel
goes where the app puts that kind. ``describe`` writes it when a file is saved; ``restore``
opens the panels again when a file is opened (so a run starts with them). A layout that cannot
be read, a panel of an unknown kind or one naming a node that is not in the graph is skipped
and reported (the file opens regardless); nothing in it is ever run.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer

LAYOUT_VERSION = 1
KEY = "monitors"
AREAS = {"bottom": Qt.DockWidgetArea.BottomDockWidgetArea,
         "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "left": Qt.DockWidgetArea.LeftDockWidgetArea,
         "top": Qt.DockWidgetArea.TopDockWidgetArea}
MULTI = ("raster", "rates")          # one panel shows several pools
SINGLE = ("traces", "weights", "environment", "episodes")


def _spec(mon, window) -> dict | None:
    kind = getattr(mon, "kind", "")
    if kind in MULTI:
        spec = {"kind": kind, "nodes": list(mon.pools)}
    elif kind == "traces":
        spec = {"kind": kind, "node": mon.pool, "port": (mon.port or "").rsplit(".", 1)[-1],
                "elements": [int(n) for n in mon.neurons]}
    elif kind == "weights":
        spec = {"kind": kind, "node": mon.projection}
    elif kind in ("environment", "episodes"):
        spec = {"kind": kind, "node": mon.node}
    else:
        return None
    if mon.isFloating():
        spec["area"] = "floating"
    else:
        area = window.dockWidgetArea(mon)
        spec["area"] = next((k for k, v in AREAS.items() if v == area), "bottom")
    spec["size"] = [int(mon.width()), int(mon.height())]
    return spec


def describe(monitors, window) -> dict | None:
    """The layout of the open ``monitors`` for the graph's meta (None when none is open)."""
    panels = [s for s in (_spec(m, window) for m in monitors) if s is not None]
    return {"version": LAYOUT_VERSION, "panels": panels} if panels else None


def store(graph, monitors, window) -> None:
    """Write the open monitors' layout into ``graph.meta`` (or remove it: none open)."""
    layout = describe(monitors, window)
    if layout is None:
        graph.meta.pop(KEY, None)
    else:
        graph.meta[KEY] = layout


def _ids(spec, key) -> list[str]:
    v = spec.get(key)
    if key == "nodes":
        return [n for n in v if isinstance(n, str)] if isinstance(v, list) else []
    return [v] if isinstance(v, str) else []


def _open(panels, spec: dict, graph) -> tuple[list, str | None]:
    """Open the panel(s) of one spec: (monitors opened, why not / None)."""
    kind = spec.get("kind")
    if kind not in MULTI + SINGLE:
        return [], f"unknown monitor kind {kind!r}"
    ids = _ids(spec, "nodes" if kind in MULTI else "node")
    missing = [n for n in ids if n not in graph.nodes]
    if not ids or missing:
        return [], f"{kind}: no node {', '.join(repr(n) for n in missing) or 'given'} in the graph"
    if kind in MULTI:
        call = panels.monitor_spikes if kind == "raster" else panels.monitor_rate
        opened = [m for m in (call(n) for n in ids) if m is not None]
        return opened[-1:], None if opened else f"{kind}: none of {ids} can be shown"
    node = ids[0]
    if kind == "traces":
        els = spec.get("elements", [0, 1, 2])
        els = tuple(int(e) for e in els if isinstance(e, int) and not isinstance(e, bool)) \
            if isinstance(els, list) else (0, 1, 2)
        port = spec.get("port") if isinstance(spec.get("port"), str) else None
        info = panels._info()
        if port is None or port == "v" and info.v_port(node):
            mon = panels.monitor_membrane(node, els or (0,))
        else:
            mon = panels.monitor_signal(node, f"{node}.{port}", els or (0,))
    else:
        mon = {"weights": panels.monitor_weights, "environment": panels.monitor_environment,
               "episodes": panels.monitor_episodes}[kind](node)
    return ([mon] if mon is not None else []), (None if mon is not None else
                                                 f"{kind}: '{node}' cannot be shown")


def _place(window, mon, spec) -> None:
    area = spec.get("area")
    if area == "floating":
        mon.setFloating(True)
    elif area in AREAS and window.dockWidgetArea(mon) != AREAS[area]:
        window.addDockWidget(AREAS[area], mon)
    size = spec.get("size")
    if isinstance(size, list) and len(size) == 2 and all(
            isinstance(x, int) and 50 <= x <= 10_000 for x in size):
        if mon.isFloating():
            mon.resize(*size)
        else:
            window.resizeDocks([mon], [size[0]], Qt.Orientation.Horizontal)
            window.resizeDocks([mon], [size[1]], Qt.Orientation.Vertical)


class _OnShow(QObject):
    """Calls ``fn`` once, just after ``window`` is first shown."""

    def __init__(self, window, fn):
        super().__init__(window)
        self.fn = fn
        window.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Show:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self.fn)
            self.deleteLater()
        return False


def redock_when_shown(window, fn) -> None:
    """Run ``fn`` once ``window`` is shown (monitors opened while it was hidden are docked
    again then: a hidden window cannot share out its space)."""
    _OnShow(window, fn)


def redock(monitors, window, graph) -> None:
    """Dock ``monitors`` again in order, each where the layout says (used once the window is
    shown: panels opened while it was hidden could not be given their share of it)."""
    place = getattr(window, "place_monitor", None)
    if place is None:
        return
    layout = graph.meta.get(KEY)
    specs = [s for s in layout.get("panels", []) if isinstance(s, dict)] \
        if isinstance(layout, dict) else []
    for mon in monitors:
        spec = next((s for s in specs if s.get("kind") == mon.kind
                     and set(_ids(s, "nodes" if mon.kind in MULTI else "node")) & set(mon.nodes())),
                    {})
        if spec.get("area") == "floating" or mon.isFloating():
            continue
        default = "right" if mon.kind in ("weights", "environment", "episodes") else "bottom"
        place(mon, AREAS.get(spec.get("area"), AREAS[default]))
        _place(window, mon, spec)
    docks = getattr(window, "docks", None)   # the editor's: the problems panel as a tab behind
    bottom = docks.monitor_docks(AREAS["bottom"]) if docks is not None else []
    if bottom and docks.docked_in(docks.problems_dock, AREAS["bottom"]) \
            and not window.tabifiedDockWidgets(docks.problems_dock):
        window.tabifyDockWidget(bottom[0], docks.problems_dock)
        bottom[0].raise_()
        docks.arrange_monitors()


def restore(panels, graph, window) -> list[str]:
    """Open the monitors ``graph.meta`` names; returns what could not be restored."""
    layout = graph.meta.get(KEY)
    if layout is None:
        return []
    if not isinstance(layout, dict) or not isinstance(layout.get("panels"), list):
        return ["the saved monitor layout is not readable"]
    if layout.get("version") != LAYOUT_VERSION:
        return [f"the saved monitor layout has version {layout.get('version')!r}, this Spark "
                f"reads version {LAYOUT_VERSION}"]
    problems, placed = [], []
    for spec in layout["panels"]:
        if not isinstance(spec, dict):
            problems.append(f"a panel entry is not an object: {spec!r}")
            continue
        opened, why = _open(panels, spec, graph)
        if why:
            problems.append(why)
        placed += [(m, spec) for m in opened]
    for mon, spec in placed:
        _place(window, mon, spec)
    return problems
