"""Editing commands: every change to the graph the editor makes, each one undoable step.

``GraphEditor`` turns requests (from menus, the palette, the inspector and canvas gestures)
into ``Document.edit`` calls: add, delete, connect and disconnect (refused with a reason when
the edge cannot work), set a parameter or a setting, rename, move, and backdrops. It checks
before it edits; the window re-syncs the canvas after every change.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from spark_snn.components.base import KIND_HELP, Port
from spark_snn.engine.composite import instantiate
from spark_snn.engine.graph import Edge, Graph, Node
from spark_snn.engine.registry import registry
from spark_snn.engine.validate import analyze, check_value

from .components_ui import typeinfo
from .placement import BODY_OFFSET, free_spot, node_size


def ports_of(node: Node, cache: dict, graph: Graph | None = None):
    """(inputs, outputs) of ``node`` from its valid parameter values (defaults elsewhere). An
    instance of a composite component has the ports of its definition's boundary; a node of a
    type that is not known gets the ports its edges in ``graph`` use (placeholders)."""
    cls = registry().types.get(node.type)
    if cls is None:
        if graph is None:
            return [], []
        try:
            ports = typeinfo.instance_ports(graph, node)
        except Exception:
            ports = cache.get(node.id)
        if ports is not None:
            cache[node.id] = ports
            return ports
        return placeholder_ports(node, graph)
    cfg = {}
    for prm in cls.shown_params(node.params):
        v = node.params.get(prm.name, prm.default)
        if prm.required and prm.name not in node.params:
            continue
        cfg[prm.name] = v if check_value(prm, v) is None else prm.default
    try:
        ports = cls.ports(cfg)
        cache[node.id] = ports
        return ports
    except Exception:
        return cache.get(node.id, ([], []))


def placeholder_ports(node: Node, graph: Graph):
    """Ports for a node of an unknown type: one per port name its edges use, each of the kind
    and size of the known port at the edge's other end ("value" when that is unknown too)."""
    why = f"kept from the file: node type '{node.type}' is not installed"

    def like(other_id, port_name, outputs):
        other = graph.nodes.get(other_id)
        cls = registry().types.get(other.type) if other is not None else None
        if cls is not None:
            found = {p.name: p for p in ports_of(other, {})[1 if outputs else 0]}.get(port_name)
            if found is not None:
                return found.kind, found.size
        return "value", "unknown"

    ins, outs = {}, {}
    for e in graph.edges:
        if e.dst_node == node.id and e.dst_port not in ins:
            kind, size = like(e.src_node, e.src_port, True)
            ins[e.dst_port] = Port(e.dst_port, kind, size, multi=True, help=why)
        if e.src_node == node.id and e.src_port not in outs:
            kind, size = like(e.dst_node, e.dst_port, False)
            outs[e.src_port] = Port(e.src_port, kind, size, help=why)
    return list(ins.values()), list(outs.values())


class GraphEditor(QtCore.QObject):
    """The editing commands of one window (``window.doc``, ``window.canvas``)."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.port_cache: dict = {}
        self.last_refusal = ""

    @property
    def graph(self) -> Graph:
        return self.w.doc.graph

    def ports_for(self, node: Node):
        return ports_of(node, self.port_cache, self.graph)

    def redraw(self, rename=None) -> None:
        """Match the canvas to the graph after a change; ``rename`` (old, new): the change
        renamed a node, whose drawing is kept."""
        if rename:
            old, new = rename
            self.w.canvas.rename(old, new)
            self.port_cache[new] = self.port_cache.pop(old, ([], []))
        self.w.canvas.sync(self.graph, self.ports_for)

    def listen_to(self, canvas) -> None:
        """Answer the gestures on ``canvas`` (pipes drawn or detached, nodes moved, renames in
        place, drops from the palette, a backdrop double-clicked) with these commands."""
        canvas.connection_requested.connect(self.connection_gesture)
        canvas.geometry_changed.connect(self.geometry_gesture)
        canvas.rename_requested.connect(self.canvas_rename)
        canvas.component_dropped.connect(lambda t, x, y: self.add_node(t, (x, y)))
        canvas.backdrop_double_clicked.connect(self.ask_backdrop_title)

    # -- nodes ---------------------------------------------------------------------------------
    def add_node(self, type_name: str, pos=None) -> str | None:
        """Add a node of ``type_name`` at scene ``pos``, or (``pos`` None) in the free space
        nearest to the view centre; the view scrolls to show it. Returns its id. A composite
        component from the library is embedded in the graph with the node (one step)."""
        cls = typeinfo.type_of(self.graph, type_name)
        if cls is None:
            self.w.status(f"Unknown component type '{type_name}'")
            return None
        nid = self.graph.unique_id(type_name)
        if typeinfo.is_definition_type(cls):
            new, nid = instantiate(self.graph, type_name, (0.0, 0.0), nid)
            node = new.nodes[nid]
            node.position = tuple(pos) if pos is not None else self.free_position(node, new)
            node.position = (float(node.position[0]), float(node.position[1]))
            self.w.doc.apply(f"add {nid}", new, node=nid)
        else:
            params = {p.name: p.initial for p in cls.editable_params({}) if not p.required}
            node = Node(nid, type_name, params)
            node.position = tuple(pos) if pos is not None else self.free_position(node)
            node.position = (float(node.position[0]), float(node.position[1]))
            self.w.doc.edit(f"add {nid}", lambda g: g.add_node(node.copy()), node=nid)
        self.w.canvas.select([nid])
        self.w.canvas.reveal([nid])
        self.w.status(f"Added {cls.title} '{nid}'")
        return nid

    def footprint(self, node: Node, at=None, graph: Graph | None = None):
        """The space ``node`` will take when drawn at ``at`` (default: its position), as
        (x, y, width, height); ``graph`` resolves composite types (default: the open graph)."""
        ins, outs = ports_of(node, {}, graph or self.graph)
        w, h = node_size(len(ins), len(outs))
        x, y = node.position if at is None else at
        return x - BODY_OFFSET[0], y - BODY_OFFSET[1], w, h

    def free_position(self, node: Node, graph: Graph | None = None) -> tuple[float, float]:
        """Where ``node`` goes when no place was asked for: free space nearest the view centre."""
        _x, _y, w, h = self.footprint(node, (0.0, 0.0), graph)
        cx, cy = self.w.canvas.view_center()
        x, y = free_spot(self.w.canvas.node_rects().values(), (w, h), (cx - w / 2, cy - h / 2))
        return x + BODY_OFFSET[0], y + BODY_OFFSET[1]

    def delete_selection(self):
        c = self.w.canvas
        nodes, edges, bds = c.selected_ids(), c.selected_edges(), c.selected_backdrops()
        if nodes or edges or bds:
            self.delete_nodes(nodes, edges, bds)

    def delete_nodes(self, nodes=(), edges=(), backdrops=()):
        nodes, edges, backdrops = list(nodes), list(edges), list(backdrops)

        def mutate(g):
            for e in edges:
                g.disconnect(e.src, e.dst)
            for n in nodes:
                if n in g.nodes:
                    g.remove_node(n)
            if backdrops:
                g.meta["backdrops"] = [b for b in g.meta.get("backdrops", [])
                                       if str(b.get("id")) not in backdrops]
        what = ("backdrop" if backdrops and not nodes
                else ", ".join(nodes) or f"{len(edges)} edge(s)")
        self.w.doc.edit(f"delete {what}", mutate, node=nodes[0] if len(nodes) == 1 else "")

    def move_node(self, node_id: str, x: float, y: float) -> None:
        """Move a node (one undo step); what dragging on the canvas does."""
        p = (float(x), float(y))
        self.w.doc.edit(f"move {node_id}",
                        lambda g: setattr(g.nodes[node_id], "position", p), node=node_id)

    def geometry_gesture(self):
        """Nodes were dragged or a backdrop resized on the canvas: record it as one step."""
        pos = self.w.canvas.positions()
        rects = self.w.canvas.backdrop_rects()
        moved = {n: p for n, p in pos.items()
                 if n in self.graph.nodes and tuple(self.graph.nodes[n].position) != p}
        bds = self.graph.meta.get("backdrops", [])
        bd_changed = any(rects.get(str(b.get("id"))) not in (None, list(b.get("rect", [])))
                         for b in bds if isinstance(b, dict))
        if not moved and not bd_changed:
            return

        def mutate(g):
            for n, p in moved.items():
                g.nodes[n].position = p
            for b in g.meta.get("backdrops", []):
                r = rects.get(str(b.get("id")))
                if r is not None:
                    b["rect"] = r
        label = (f"move {next(iter(moved))}" if len(moved) == 1
                 else f"move {len(moved)} nodes" if moved else "resize backdrop")
        self.w.doc.edit(label, mutate, node=next(iter(moved)) if len(moved) == 1 else "")

    # -- connections ---------------------------------------------------------------------------
    def connection_refusal(self, g: Graph, e: Edge) -> str | None:
        """Why the edge ``e`` may not be added to ``g``, or None."""
        if e.src_node not in g.nodes or e.dst_node not in g.nodes:
            return f"Cannot connect {e.src} -> {e.dst}: no such node"
        for end in (g.nodes[e.src_node], g.nodes[e.dst_node]):
            if typeinfo.type_of(g, end.type) is None:
                return (f"Cannot connect {e.src} -> {e.dst}: '{end.id}' has an unknown type "
                        f"'{end.type}', so its ports are not known")
        outs = {p.name: p for p in self.ports_for(g.nodes[e.src_node])[1]}
        ins = {p.name: p for p in self.ports_for(g.nodes[e.dst_node])[0]}
        sp, dp = outs.get(e.src_port), ins.get(e.dst_port)
        if sp is None or dp is None:
            return f"Cannot connect {e.src} -> {e.dst}: an output must feed an input"
        if sp.kind != dp.kind:
            return (f"Cannot connect {e.src} -> {e.dst}: it carries {KIND_HELP[sp.kind]}, "
                    f"but '{dp.name}' expects {KIND_HELP[dp.kind]}")
        if not dp.multi:
            have = [x for x in g.edges if x.dst == e.dst]
            if have:
                return (f"Cannot connect {e.src} -> {e.dst}: input '{e.dst}' takes a single edge "
                        f"and already has one from {have[0].src}; disconnect it first")
        before = {p.message for p in analyze(g).problems if "size mismatch" in p.message}
        trial = g.copy()
        trial.connect(e.src, e.dst)
        after = [p.message for p in analyze(trial).problems
                 if "size mismatch" in p.message and p.message not in before]
        if after:
            return f"Cannot connect {e.src} -> {e.dst}: {after[0].split(': ', 1)[-1]}"
        return None

    def connect(self, src: str, dst: str) -> bool:
        """Connect ``src`` ("node.port", an output) to ``dst`` (an input); False if refused."""
        return self.apply_connections([], [Edge(src, dst)])

    def disconnect(self, src: str, dst: str) -> bool:
        return self.apply_connections([Edge(src, dst)], [])

    def connection_gesture(self, removed, added):
        """A pipe was drawn or detached on the canvas: apply it (or refuse), then redraw."""
        self.apply_connections(removed, added)
        self.w.canvas.sync(self.graph, self.ports_for)

    def apply_connections(self, removed, added) -> bool:
        trial = self.graph.copy()
        removed = [e for e in removed if e in trial.edges]
        for e in removed:
            trial.disconnect(e.src, e.dst)
        new = []
        for e in added:
            if e in trial.edges:
                continue
            why = self.connection_refusal(trial, e)
            if why:
                self.w.status(why)
                self.last_refusal = why
                return False
            trial.connect(e.src, e.dst)
            new.append(e)
        if not removed and not new:
            return False

        def mutate(g):
            for e in removed:
                g.disconnect(e.src, e.dst)
            for e in new:
                g.connect(e.src, e.dst)
        label = ("reconnect" if removed and new else "connect" if new else "disconnect")
        first = (new or removed)[0]
        self.w.doc.edit(f"{label} {first.src} -> {first.dst}", mutate, node=first.dst_node)
        self.w.status(f"{label.capitalize()}ed {first.src} -> {first.dst}".replace("ee", "e"))
        return True

    # -- values and names ----------------------------------------------------------------------
    def set_param(self, node_ids, param: str, value) -> None:
        """Set ``param`` to ``value`` on every node in ``node_ids`` (one undo step)."""
        node_ids = [n for n in node_ids if n in self.graph.nodes]
        if not node_ids:
            return

        def mutate(g):
            for n in node_ids:
                g.nodes[n].params[param] = value
                if typeinfo.is_default_override(g, g.nodes[n], param):
                    del g.nodes[n].params[param]  # an instance stores only its overrides
        who = node_ids[0] if len(node_ids) == 1 else f"{len(node_ids)} nodes"
        self.w.doc.edit(f"set {who}.{param}", mutate, kind="param",
                        node=node_ids[0] if len(node_ids) == 1 else "", param=param)

    def set_setting(self, key: str, value) -> None:
        self.w.doc.edit(f"set {key}", lambda g: g.settings.__setitem__(key, value), param=key)

    def rename_node(self, old: str, new: str) -> bool:
        """Rename a node (edges follow); refused with a reason for a bad or taken id."""
        new = new.strip()
        why = None
        if old not in self.graph.nodes:
            why = f"no node '{old}'"
        elif not new:
            why = "an id may not be empty"
        elif not all(c.isalnum() or c in "_-" for c in new):
            why = "an id may hold only letters, digits, '_' and '-'"
        elif new in self.graph.nodes and new != old:
            why = f"a node with id '{new}' already exists"
        if why:
            self.w.status(f"Cannot rename '{old}': {why}")
            self.w.inspector.show_rename_error(why)
            self.w.canvas.sync(self.graph, self.ports_for)
            return False
        self.w.inspector.show_rename_error("")
        if new == old:
            if self.w.statusBar().currentMessage().startswith("Cannot rename"):
                self.w.statusBar().clearMessage()
            return True
        self.w.doc.edit(f"rename {old} -> {new}", lambda g: g.rename_node(old, new),
                        node=new, rename=(old, new))
        self.w.status(f"Renamed '{old}' to '{new}'")  # replaces an earlier refusal
        return True

    def canvas_rename(self, old, new):
        """A name was edited in place on the canvas (a node, or ``backdrop:ID``)."""
        if old.startswith("backdrop:"):
            self.rename_backdrop(old.split(":", 1)[1], new)
        else:
            self.rename_node(old, new)

    # -- backdrops -----------------------------------------------------------------------------
    def group_selection(self, title: str = "Group") -> str | None:
        ids = self.w.canvas.selected_ids()
        if not ids:
            self.w.status("Select the nodes to group first")
            return None
        rect = [round(v, 1) for v in self.w.canvas.backdrop_fit(ids)]
        existing = {str(b.get("id")) for b in self.graph.meta.get("backdrops", [])}
        i = 1
        while f"backdrop{i}" in existing:
            i += 1
        bid = f"backdrop{i}"

        def mutate(g):
            g.meta.setdefault("backdrops", []).append(
                {"id": bid, "title": title, "rect": rect, "nodes": list(ids)})
        self.w.doc.edit("group in backdrop", mutate)
        return bid

    def rename_backdrop(self, bid: str, title: str) -> None:
        def mutate(g):
            for b in g.meta.get("backdrops", []):
                if str(b.get("id")) == bid:
                    b["title"] = title
        self.w.doc.edit("rename backdrop", mutate)

    def ask_backdrop_title(self, bid):
        current = next((str(b.get("title", "")) for b in self.graph.meta.get("backdrops", [])
                        if isinstance(b, dict) and str(b.get("id")) == bid), "")
        text, ok = QtWidgets.QInputDialog.getText(self.w, "Rename backdrop", "Title:",
                                                  text=current)
        if ok and text != current:
            self.rename_backdrop(bid, text)
