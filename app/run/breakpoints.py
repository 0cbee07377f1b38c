"""Breakpoints in the app: conditions set from a node's context menu, listed in a dock, checked
by the engine at every step of the compiled chunk (engine/breakpoints.py).

A breakpoint is a condition in the engine's language ("exc.rate > 50", "readout.value crosses
0.5", "episode", "nan", "t >= 120 ms") and whether it is enabled. The enabled ones go to the
worker (command ``breakpoints``, see breakpoint_worker.py), which hands them to the
Simulation; when one becomes true the run pauses at exactly that step, the worker posts "hit",
and here the node is highlighted (highlight.py), selected, and the status bar and the dock say
which condition hit at what time. The monitors show that step: the worker's last frame ends
there.

Conditions are checked here against the graph before they are taken (syntax, node, port,
element, a rate's sign), so a bad one is refused at once with the reason; what only the
built model can tell is refused by the worker, also with the reason. Breakpoints follow node
renames and are saved with the graph, in ``meta["breakpoints"]``: a list of
``{"condition": text, "enabled": bool}`` (conditions are data: parsed, never evaluated).
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from spark_snn.components.base import SPIKES
from spark_snn.engine.breakpoints import ConditionError, parse

from .graph_info import GraphInfo
from .highlight import NodeHalo
from .live_edits import diff_graphs
from .run_menu import run_menu

META_KEY = "breakpoints"


@dataclass
class Breakpoint:
    text: str
    enabled: bool = True


def check(text: str, info: GraphInfo) -> str:
    """The condition as the engine will read it, or ConditionError saying what is wrong with it
    for this graph (the built model checks the rest)."""
    c = parse(text)
    if c.kind == "episode":
        if not [n for n, cat in info.categories.items()
                if cat == "Environments" and f"{n}.done" in info.ports]:
            raise ConditionError(f"'{c.text}': this graph has no environment")
    if c.node is None:
        return c.text
    if c.node not in info.node_ports:
        raise ConditionError(f"'{c.text}': no node '{c.node}' in this graph")
    ports = {p.port: p for p in info.node_ports[c.node]}
    if c.kind == "rate":
        if "rate" not in ports and info.spike_port(c.node) is None:
            raise ConditionError(f"'{c.text}': node '{c.node}' has no spike output to take a "
                                 "rate of")
        if c.value < 0 and c.op in ("<", "<="):
            raise ConditionError(f"'{c.text}': a rate is never below {c.value:g} Hz")
        return c.text
    port = ports.get(c.port)
    if port is None:
        raise ConditionError(f"'{c.text}': node '{c.node}' has no output '{c.port}' (outputs: "
                             f"{', '.join(ports) or 'none'})")
    if c.index is not None and c.index >= port.size:
        raise ConditionError(f"'{c.text}': '{c.node}.{c.port}' has {port.size} elements "
                             f"(indices 0 to {port.size - 1})")
    return c.text


def offers(info: GraphInfo, node: str) -> list[tuple[str, str]]:
    """The breakpoints the context menu offers for ``node``: (menu text, condition template
    with ``{x}`` where the value goes, or a whole condition). A composite instance offers
    the rates of the pools inside it, named (Other Condition… takes any inner output)."""
    out = []
    if info.spike_port(node) is not None:
        out += [("Rate above… (Hz)", f"{node}.rate > {{x}}"),
                ("Rate below… (Hz)", f"{node}.rate < {{x}}")]
    for p in info.node_ports.get(node, []):
        if p.kind != SPIKES:
            out += [(f"'{p.port}' crosses…", f"{node}.{p.port} crosses {{x}}"),
                    (f"'{p.port}' above…", f"{node}.{p.port} > {{x}}")]
    if node not in info.node_ports:
        for member in info.node_ports:
            if member.startswith(node + ".") and info.categories.get(member) == "Neurons" \
                    and info.spike_port(member):
                name = member[len(node) + 1:]
                out += [(f"{name}: Rate above… (Hz)", f"{member}.rate > {{x}}"),
                        (f"{name}: Rate below… (Hz)", f"{member}.rate < {{x}}")]
    envs = [n for n in info.node_ports if n == node or n.startswith(node + ".")]
    if any(info.categories.get(n) == "Environments" and f"{n}.done" in info.ports
           for n in envs):
        out.append(("An episode ends", "episode"))
    out += [("Any value becomes NaN", "nan"), ("Time reaches… (ms)", "t >= {x} ms")]
    return out


def shown_node(graph, node: str | None) -> str | None:
    """The canvas node for ``node``: itself, or the composite instance it is inside."""
    while node and node not in graph.nodes and "." in node:
        node = node.rpartition(".")[0]
    return node if node in graph.nodes else None


class Breakpoints(QtCore.QObject):
    """The window's breakpoints (see the module docstring)."""

    changed = QtCore.Signal()

    def __init__(self, window, ctl):
        super().__init__(window)
        self.window, self.ctl = window, ctl
        self.items: list[Breakpoint] = []
        self.popups = True             # message boxes for refusals (tests turn them off)
        self.ask_value = self._ask_value   # (title, label) -> text or None; tests replace it
        self.last_hit: dict | None = None
        self.last_refusal = ""
        self.halo = NodeHalo(getattr(window, "canvas", None))
        self.dock = BreakpointDock(self)
        self._seen = None       # the graph at the last edit, while there are breakpoints
        self._info = None       # GraphInfo of the graph as it is (None: to compute)
        menus = getattr(window, "menus", None)
        if menus is not None and hasattr(menus, "context_extras"):
            menus.context_extras.append(self._fill_context_menu)
        else:   # a window without the editor's menus: one entry that asks for a condition
            window.register_node_action("Add breakpoint…", self.ask_condition)
        menu = run_menu(window)
        self.menu_action = menu.addAction("&Breakpoints", self.show_dock)
        ctl.listeners.setdefault("hit", []).append(self._on_hit)
        ctl.listeners.setdefault("breakpoint_refused", []).append(self._on_refused)
        ctl.listeners.setdefault("status", []).append(self._on_status)
        window.graph_edited.connect(self._on_graph_edited)
        replaced = getattr(window, "graph_replaced", None)
        if replaced is not None:
            replaced.connect(self.restore)
        files = getattr(window, "files", None)
        if files is not None and hasattr(files, "save_hooks"):
            files.save_hooks.append(self.store)
        self.restore()

    # --- the list ------------------------------------------------------------------------------
    def conditions(self) -> tuple[str, ...]:
        """The enabled conditions (what the engine watches)."""
        return tuple(b.text for b in self.items if b.enabled)

    def add(self, text: str) -> bool:
        """Add a breakpoint (enabled); a bad one is refused with the reason (False)."""
        try:
            text = check(text, self.info())
        except ConditionError as exc:
            self._refuse(str(exc))
            return False
        if any(b.text == text for b in self.items):
            self.window.status(f"Breakpoint '{text}' is already set")
            return False
        if self._seen is None:
            self._seen = self.window.graph.copy()
        self.items.append(Breakpoint(text))
        self._send()
        self.window.status(f"Breakpoint set: the run pauses when {text}")
        self.show_dock()
        return True

    def remove(self, index: int) -> None:
        del self.items[index]
        self._send()

    def set_enabled(self, index: int, on: bool) -> None:
        if self.items[index].enabled != bool(on):
            self.items[index].enabled = bool(on)
            self.ctl.worker.send("breakpoints", self.conditions())
            self.dock.refill()

    def clear(self) -> None:
        self.items.clear()
        self._send()

    def info(self) -> GraphInfo:
        """What the graph offers (ports, sizes), computed once per edit."""
        if self._info is None:
            self._info = GraphInfo(self.window.graph)
        return self._info

    def _send(self) -> None:
        self.ctl.worker.send("breakpoints", self.conditions())
        self.changed.emit()

    # --- context menu --------------------------------------------------------------------------
    def _fill_context_menu(self, menu, node_id, context) -> None:
        if not node_id or context is not self.window or node_id not in self.window.graph.nodes:
            return
        sub = menu.addMenu("Break When")
        for text, template in offers(self.info(), node_id):
            sub.addAction(text).triggered.connect(
                lambda _c=False, n=node_id, t=template: self.add_offer(n, t))
        sub.addSeparator()
        sub.addAction("Other Condition…").triggered.connect(
            lambda _c=False, n=node_id: self.ask_condition(n))
        sub.addAction("Show Breakpoints").triggered.connect(self.show_dock)

    def add_offer(self, node: str, template: str) -> bool:
        """Add the context menu's ``template`` for ``node``, asking for its value when it has
        one; False when cancelled or refused."""
        if "{x}" not in template:
            return self.add(template)
        what = template.replace("{x}", "…") + (" Hz" if ".rate " in template else "")
        value = self.ask_value(f"Breakpoint on {node}", f"Pause the run when {what}\n\nValue:")
        if value is None:
            return False
        value = str(value).strip()
        if not value:
            self._refuse(f"'{what}': no value given")
            return False
        return self.add(template.replace("{x}", value))

    def ask_condition(self, node: str = "") -> bool:
        text = self.ask_value("Breakpoint", "Pause the run when (e.g. exc.rate > 50, "
                              "out.value crosses 0.5, episode, nan, t >= 120 ms):",
                              f"{node}." if node else "")
        return False if text is None else self.add(text)

    def _ask_value(self, title: str, label: str, text: str = ""):
        value, ok = QtWidgets.QInputDialog.getText(self.window, title, label, text=text)
        return value if ok else None

    def _refuse(self, reason: str) -> None:
        self.last_refusal = reason
        self.window.status(f"Breakpoint not set: {reason}")
        self.dock.say(f"Not set: {reason}", error=True)
        if self.popups:
            box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Breakpoint not set",
                                        reason, QtWidgets.QMessageBox.StandardButton.Ok,
                                        self.window)
            box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
            box.open()

    # --- the worker's messages -----------------------------------------------------------------
    def _on_hit(self, hit: dict) -> None:
        self.last_hit = hit
        node = hit.get("node")
        ring = shown_node(self.window.graph, node)
        if ring:
            self.window.select_node(ring)
            self.halo.show(ring)
        text = (f"Breakpoint hit at t = {hit['time_ms']:g} ms (step {hit['t']:,}): "
                + "; ".join(hit["conditions"]) + (f" (node '{node}')" if node else ""))
        self.window.status(text)
        self.dock.say(text)

    def _on_refused(self, payload) -> None:
        text, reason = payload
        if "next build" in reason:   # kept (and ticked): the next build watches it
            self.last_refusal = reason
            self.window.status(f"Breakpoint waits for the next build: {reason}")
            self.dock.say(reason)
            return
        for b in self.items:   # not watched: shown unticked so the list says what is watched
            if b.text == text:
                b.enabled = False
        self.changed.emit()
        self._refuse(reason)

    def _on_status(self, st: dict) -> None:
        if st["state"] in ("running", "idle", "compiling") and self.halo.node is not None:
            self.halo.clear()

    # --- graph changes, saving -----------------------------------------------------------------
    def _on_graph_edited(self, *_):
        self._info = None
        graph = self.window.graph
        if not self.items:   # nothing to follow: no copy of the graph kept
            self._seen = None
            return
        renames = diff_graphs(self._seen, graph).renames if self._seen is not None else []
        self._seen = graph.copy()
        if not renames:
            return
        for old, new in renames:
            for b in self.items:
                node = parse(b.text).node
                if node and (node == old or node.startswith(old + ".")):
                    b.text = new + b.text[len(old):]
        self._send()

    def store(self, graph) -> None:
        """Write the breakpoints into ``graph.meta`` (or remove the key: none set)."""
        if self.items:
            graph.meta[META_KEY] = [{"condition": b.text, "enabled": b.enabled}
                                    for b in self.items]
        else:
            graph.meta.pop(META_KEY, None)

    def restore(self) -> None:
        """Take the breakpoints the open graph's meta lists (a bad entry is skipped, said)."""
        self.halo.clear()
        self.last_hit = None
        self._info = None
        self.items = []
        raw = self.window.graph.meta.get(META_KEY, [])
        skipped = []
        for entry in raw if isinstance(raw, list) else [raw]:
            try:
                text = parse(entry["condition"]).text
                enabled = entry.get("enabled", True)
                if not isinstance(enabled, bool):
                    raise ConditionError("'enabled' must be true or false")
                self.items.append(Breakpoint(text, enabled))
            except (ConditionError, TypeError, KeyError, AttributeError) as exc:
                skipped.append(f"{entry!r:.60}: {exc}")
        if skipped:
            self.window.status("Breakpoints in the file skipped: " + "; ".join(skipped))
        self._seen = self.window.graph.copy() if self.items else None
        self._send()
        if self.items:
            self.dock.dock.show()

    def show_dock(self) -> None:
        self.dock.dock.show()
        self.dock.dock.raise_()


class BreakpointDock:
    """The dock listing the breakpoints: tick to enable, Remove, a field to type a condition,
    and a line saying the last hit (or refusal)."""

    def __init__(self, bps: Breakpoints):
        self.bps = bps
        window = bps.window
        dock = QtWidgets.QDockWidget("Breakpoints", window)
        dock.setObjectName("breakpoints_dock")
        body = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.list = QtWidgets.QListWidget()
        self.list.setToolTip("Ticked conditions are watched at every step; the run pauses at "
                             "the step one becomes true")
        self.list.itemChanged.connect(self._on_item_changed)
        lay.addWidget(self.list)
        row = QtWidgets.QHBoxLayout()
        self.entry = QtWidgets.QLineEdit()
        self.entry.setPlaceholderText("exc.rate > 50   ·   t >= 120 ms   ·   nan")
        self.entry.returnPressed.connect(self._add_typed)
        self.add_button = QtWidgets.QPushButton("Add")
        self.add_button.clicked.connect(self._add_typed)
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_selected)
        for w in (self.entry, self.add_button, self.remove_button):
            row.addWidget(w)
        lay.addLayout(row)
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        dock.setWidget(body)
        self.dock = dock
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.hide()
        self._filling = False
        bps.changed.connect(self.refill)

    def refill(self) -> None:
        """Show the list as it is (items kept where the texts are unchanged)."""
        self._filling = True
        items = self.bps.items
        while self.list.count() > len(items):
            self.list.takeItem(self.list.count() - 1)
        for i, b in enumerate(items):
            item = self.list.item(i)
            if item is None:
                item = QtWidgets.QListWidgetItem()
                item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
                self.list.addItem(item)
            item.setText(b.text)
            item.setCheckState(QtCore.Qt.CheckState.Checked if b.enabled
                               else QtCore.Qt.CheckState.Unchecked)
        self._filling = False

    def say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #e06060;" if error else "color: #f0a040;")
        self.message.setText(text)

    def _on_item_changed(self, item) -> None:
        if not self._filling:
            self.bps.set_enabled(self.list.row(item),
                                 item.checkState() == QtCore.Qt.CheckState.Checked)

    def _add_typed(self) -> None:
        if self.bps.add(self.entry.text()):
            self.entry.clear()

    def _remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.bps.items):
            self.bps.remove(row)
