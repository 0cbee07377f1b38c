"""The node canvas: a NodeGraphQt view that mirrors an engine.Graph and reports user intents.

The canvas is never the source of truth. ``Canvas.sync(graph, analysis)`` makes the scene match
the engine Graph (nodes, names, positions, ports, edges, backdrops); every user gesture on the
scene (drawing or detaching a pipe, moving nodes, resizing a backdrop, renaming in place, dropping
a component) is turned into a signal that the editor answers with an undoable command, after which
``sync`` runs again. NodeGraphQt's own undo stack and session format are not used.

Two-way mapping: ``node_for(id)`` -> NodeGraphQt node, ``id_for(ngq_node)`` -> node id; a pipe
maps to ``Edge(src, dst)`` through the ids of its two ports' nodes.

Ports and pipes are coloured by signal kind (a port is hollow while free, filled once connected;
a pipe takes the colour of the output feeding it). Rate badges (``set_badge``) are drawn by
app/badges.py, the zoom-dependent texts by app/canvas_lod.py, and app/viewer_state.py keeps
NodeGraphQt's idea of the mouse and keys true.
"""
from __future__ import annotations

from NodeGraphQt import BackdropNode, BaseNode, NodeGraph
from NodeGraphQt.constants import PortTypeEnum
from PySide6 import QtCore, QtGui, QtWidgets

from spark_snn.components.base import KIND_HELP
from spark_snn.engine.graph import Edge, Graph

from .badges import Badges
from .canvas_backdrops import Backdrops
from .canvas_lod import NodeDetail
from .viewer_state import ViewerState

# signal kind -> port colour (readable on the dark background, distinct from each other)
KIND_COLORS = {
    "spikes": (255, 196, 0),
    "current": (80, 180, 255),
    "events": (255, 110, 70),
    "value": (120, 220, 120),
    "modulator": (220, 120, 255),
    "action": (240, 240, 240),
}
CATEGORY_COLORS = {
    "Neurons": (48, 62, 92),
    "Projections": (78, 56, 44),
    "Inputs": (40, 78, 62),
    "Environments": (70, 50, 86),
    "Learning": (86, 72, 34),
}
DEFAULT_NODE_COLOR = (56, 60, 68)
COMPOSITE_COLOR = (36, 74, 84)   # instances of composite components (whatever their category)
PIPE_ALPHA = 200
PROBLEM_BORDER = (235, 64, 64, 255)
NORMAL_BORDER = (90, 96, 108, 255)
COMPONENT_MIME = "application/x-spark-component"


def paint_port(painter, rect, info) -> None:
    """NodeGraphQt port painter: a disc in the port's signal-kind colour, hollow while free,
    filled when connected, brighter under the mouse."""
    color = QtGui.QColor(*info["color"][:3])
    if info["hovered"]:
        color = color.lighter(140)
    painter.save()
    painter.setRenderHint(QtGui.QPainter.Antialiasing, True)
    painter.setPen(QtGui.QPen(color, 2.0))
    painter.setBrush(color if info["connected"] else QtGui.QColor(30, 32, 36))
    painter.drawEllipse(rect.adjusted(1.0, 1.0, -1.0, -1.0))
    painter.restore()


class SparkNode(BaseNode):
    """The one NodeGraphQt node class: every Spark node type is drawn with it."""

    __identifier__ = "spark"
    NODE_NAME = "node"


class _Graph(NodeGraph):
    """NodeGraphQt graph whose user gestures become requests instead of direct edits."""

    def __init__(self, canvas: "Canvas"):
        self._canvas = canvas
        super().__init__()

    # -- gestures redirected to the canvas --------------------------------------------------
    def _on_connection_changed(self, disconnected, connected):
        self._canvas._connection_gesture(disconnected, connected)

    def _on_connection_sliced(self, ports):
        self._canvas._connection_gesture(ports, [])

    def _on_nodes_moved(self, node_data):
        self._canvas.geometry_changed.emit()

    def _on_insert_node(self, pipe, node_id, prev_node_pos):
        self._canvas.geometry_changed.emit()

    def _on_node_name_changed(self, node_id, name):
        self._canvas._name_gesture(node_id, name)

    def _on_node_backdrop_updated(self, node_id, update_property, value):
        node = self.get_node_by_id(node_id)
        if isinstance(node, BackdropNode) and isinstance(value, dict) and "width" in value:
            node.set_property("width", value["width"], push_undo=False)
            node.set_property("height", value["height"], push_undo=False)
            if "pos" in value:
                node.set_property("pos", list(value["pos"]), push_undo=False)
        if update_property in ("sizer_mouse_release", "sizer_double_clicked"):
            self._canvas.geometry_changed.emit()

    def _on_search_triggered(self, node_type, pos):
        pass  # our own Tab menu adds nodes

    def _on_node_double_clicked(self, node_id):
        node = self.get_node_by_id(node_id)
        bid = self._canvas.backdrops.ids.get(node_id)
        if bid is not None:
            self._canvas.backdrop_double_clicked.emit(bid)
        nid = self._canvas.id_for(node)
        if nid is not None:
            self._canvas.node_activated.emit(nid)
        self.node_double_clicked.emit(node)


class Canvas(QtCore.QObject):
    """Owns the NodeGraphQt graph and its widget; see the module docstring."""

    connection_requested = QtCore.Signal(list, list)  # removed edges, added edges
    geometry_changed = QtCore.Signal()                  # nodes or backdrops moved/resized
    rename_requested = QtCore.Signal(str, str)          # old id, new id
    component_dropped = QtCore.Signal(str, float, float)  # type name, scene x, y
    selection_changed = QtCore.Signal()
    context_menu_requested = QtCore.Signal(QtCore.QPoint, str)  # global pos, node id or ""
    backdrop_double_clicked = QtCore.Signal(str)        # backdrop id (the editor asks a title)
    node_activated = QtCore.Signal(str)                 # a node was double-clicked (its id)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.ngraph = _Graph(self)
        self.ngraph.register_node(SparkNode)
        self.ngraph.set_acyclic(False)          # recurrent networks need cycles
        self.ngraph.set_pipe_collision(False)
        self.ngraph.set_pipe_slicing(True)
        self.ngraph.set_background_color(30, 32, 36)
        self.ngraph.set_grid_color(44, 47, 53)
        self.ngraph.disable_context_menu(True)
        self.widget = self.ngraph.widget
        self.viewer = self.ngraph.viewer()
        self._nodes: dict[str, BaseNode] = {}
        self._ids: dict[str, str] = {}          # NodeGraphQt id -> node id
        self._sigs: dict[str, tuple] = {}       # node id -> (type, ports) it was drawn with
        self.backdrops = Backdrops(self.ngraph)
        self._extras: dict[str, dict] = {}      # node id -> caption/marker items
        self.badges = Badges(self.viewer, lambda n: self._nodes[n].view if n in self._nodes else None)
        self._syncing = False
        self._lod_scale = None                  # view scale the texts were last sized for
        update_scene = self.viewer._update_scene  # every zoom and pan of NodeGraphQt's ends here

        def update_scene_and_texts():
            update_scene()
            self._apply_lod()
        self.viewer._update_scene = update_scene_and_texts  # (called from Python: this wins)
        self.ngraph.node_selection_changed.connect(lambda *_: self._emit_selection())
        self.ngraph.node_selected.connect(lambda *_: self._emit_selection())
        self.ngraph.data_dropped.connect(self._on_drop)
        self.viewer.setContextMenuPolicy(QtCore.Qt.CustomContextMenu)
        self.viewer.customContextMenuRequested.connect(self._on_context_menu)
        self.viewer.setAcceptDrops(True)
        self.viewer.viewport().installEventFilter(self)
        self.viewer_state = ViewerState(self.viewer)

    # -- mapping ----------------------------------------------------------------------------
    def node_for(self, node_id: str):
        return self._nodes.get(node_id)

    def id_for(self, ngq_node) -> str | None:
        return self._ids.get(ngq_node.id) if ngq_node is not None else None

    def node_ids(self) -> list[str]:
        return list(self._nodes)

    def edges(self) -> set[Edge]:
        """The edges the scene currently draws (from NodeGraphQt's connection model)."""
        out = set()
        for nid, node in self._nodes.items():
            for name, port in node.inputs().items():
                for other in port.connected_ports():
                    src = self._ids.get(other.node().id)
                    if src is not None:
                        out.add(Edge(f"{src}.{other.name()}", f"{nid}.{name}"))
        return out

    def pipe_for(self, edge: Edge):
        """The pipe item drawing ``edge``, or None when it is not drawn."""
        a, b = self._nodes.get(edge.src_node), self._nodes.get(edge.dst_node)
        if a is None or b is None or edge.dst_port not in b.inputs():
            return None
        for pipe in b.inputs()[edge.dst_port].view.connected_pipes:
            if pipe.output_port.node is a.view and pipe.output_port.name == edge.src_port:
                return pipe
        return None

    def port_edge(self, a_view, b_view) -> Edge | None:
        """The edge between two port items (any order), or None for a non-Spark port."""
        if a_view.port_type == PortTypeEnum.IN.value:
            a_view, b_view = b_view, a_view
        src = self._ids.get(a_view.node.id)
        dst = self._ids.get(b_view.node.id)
        if src is None or dst is None:
            return None
        return Edge(f"{src}.{a_view.name}", f"{dst}.{b_view.name}")

    # -- selection ---------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        return [self._ids[n.id] for n in self.ngraph.selected_nodes() if n.id in self._ids]

    def selected_backdrops(self) -> list[str]:
        return self.backdrops.selected()

    def selected_edges(self) -> list[Edge]:
        out = []
        for pipe in self.viewer.selected_pipes():
            e = self.port_edge(pipe.output_port, pipe.input_port)
            if e is not None:
                out.append(e)
        return out

    def select(self, node_ids, frame: bool = False) -> None:
        self._syncing = True
        try:
            self.ngraph.clear_selection()
            for nid in node_ids:
                node = self._nodes.get(nid)
                if node is not None:
                    node.view.setSelected(True)
        finally:
            self._syncing = False
        if frame and node_ids:
            nodes = [self._nodes[n] for n in node_ids if n in self._nodes]
            if nodes:
                self.ngraph.center_on(nodes)
        self._emit_selection()

    def select_all(self) -> None:
        self.select(list(self._nodes))

    def _emit_selection(self):
        if not self._syncing:
            self.selection_changed.emit()

    def cancel_gestures(self) -> None:
        """End a pipe drag, marquee or slice in progress (a new graph is being shown)."""
        self.viewer_state.cancel_gestures()

    def fit(self) -> None:
        """Zoom to show the whole graph, with a margin for captions and rate badges (never
        closer than 93 %); an empty graph is shown at 100 % around the origin."""
        if self._nodes or self.backdrops.items:
            self.ngraph.clear_selection()
            self.ngraph.fit_to_selection()
            self.viewer.scale(0.93, 0.93)
        else:
            self.zoom_to(1.0, (0.0, 0.0))

    def zoom_to(self, scale: float, centre) -> None:
        """Show the scene at ``scale`` (screen pixels per unit) around ``centre`` (x, y)."""
        vp = self.viewer.viewport()
        # NodeGraphQt frames its scene range with QGraphicsView.fitInView, which keeps 2 px
        w, h = max(1, vp.width() - 4) / scale, max(1, vp.height() - 4) / scale
        self.viewer.set_scene_rect([centre[0] - w / 2, centre[1] - h / 2, w, h])

    def scale(self) -> float:
        """The view's zoom: screen pixels per scene unit."""
        return float(self.viewer.transform().m11())

    def title_item(self, node_id: str):
        """The text item showing the node's name at the current zoom (for tests)."""
        return self._extras[node_id]["lod"].title_item()

    def _apply_lod(self) -> None:
        """Size the node texts for the view's zoom (only when the zoom changed)."""
        s = self.scale()
        if s == self._lod_scale:
            return
        self._lod_scale = s
        for extra in self._extras.values():
            extra["lod"].apply(s)

    def node_rects(self) -> dict[str, tuple[float, float, float, float]]:
        """Each drawn node's footprint in the scene: body, ports, caption and marker."""
        out = {}
        for nid, n in self._nodes.items():
            v = n.view
            r = v.mapRectToScene(v.boundingRect() | v.childrenBoundingRect())
            out[nid] = (r.x(), r.y(), r.width(), r.height())
        return out

    def reveal(self, node_ids, margin: float = 40.0) -> None:
        """Scroll the view (zoom unchanged) just enough to show these nodes, if they are not."""
        rects = [self._nodes[n].view.sceneBoundingRect() for n in node_ids if n in self._nodes]
        if not rects:
            return
        r = rects[0]
        for other in rects[1:]:
            r = r.united(other)
        r = r.adjusted(-margin, -margin, margin, margin)
        seen = self.viewer.mapToScene(self.viewer.viewport().rect()).boundingRect()

        def shift(lo, hi, see_lo, see_hi):
            if hi - lo > see_hi - see_lo:
                return (lo + hi) / 2 - (see_lo + see_hi) / 2  # too big: centre it
            return min(0.0, lo - see_lo) + max(0.0, hi - see_hi)
        dx = shift(r.left(), r.right(), seen.left(), seen.right())
        dy = shift(r.top(), r.bottom(), seen.top(), seen.bottom())
        if dx or dy:
            x, y, w, h = self.viewer.scene_rect()  # NodeGraphQt pans by moving this range
            self.viewer.set_scene_rect([x + dx, y + dy, w, h])

    def scene_cursor_pos(self) -> tuple[float, float]:
        p = self.viewer.mapToScene(self.viewer.mapFromGlobal(QtGui.QCursor.pos()))
        return float(p.x()), float(p.y())

    def view_center(self) -> tuple[float, float]:
        c = self.viewer.mapToScene(self.viewer.viewport().rect().center())
        return float(c.x()), float(c.y())

    # -- geometry read back from the scene ---------------------------------------------------
    def positions(self) -> dict[str, tuple[float, float]]:
        return {nid: tuple(float(v) for v in n.view.xy_pos) for nid, n in self._nodes.items()}

    def backdrop_rects(self) -> dict[str, list[float]]:
        return self.backdrops.rects()

    def backdrop_fit(self, node_ids, margin: float = 30.0) -> list[float]:
        """A rectangle around the given nodes, room for the backdrop title included."""
        rects = [self._nodes[n].view.sceneBoundingRect() for n in node_ids if n in self._nodes]
        r = rects[0]
        for other in rects[1:]:
            r = r.united(other)
        return [r.x() - margin, r.y() - margin - 30.0, r.width() + 2 * margin,
                r.height() + 2 * margin + 30.0]

    # -- badges and problem markers ----------------------------------------------------------
    def set_badge(self, node_id: str, text: str) -> None:
        """Show ``text`` under the node's bottom-right corner ("" hides it); see app/badges.py."""
        self.badges.set(node_id, text)

    def badge_label(self, node_id: str):
        return self.badges.labels.get(node_id)

    def eventFilter(self, obj, ev):
        if ev.type() == QtCore.QEvent.Paint:
            self._apply_lod()
            if self.badges.labels:
                self.badges.place_all()
        return False

    def badge(self, node_id: str) -> str:
        return self.badges.texts.get(node_id, "")

    def set_problems(self, by_node: dict[str, list[str]]) -> None:
        """Red border and a tooltip for nodes with problems; normal border otherwise (only the
        nodes whose problems changed are repainted)."""
        for nid, node in self._nodes.items():
            msgs = by_node.get(nid, [])
            extra = self._extras.get(nid)
            if extra is None or extra.get("problems") == msgs:
                continue  # unchanged: not repainted
            extra["problems"] = msgs
            node.view.border_color = PROBLEM_BORDER if msgs else NORMAL_BORDER
            node.model.border_color = node.view.border_color
            extra["caption"].setToolTip("\n".join(msgs))
            node.view.setToolTip("\n".join(msgs) if msgs else extra["tip"])
            extra["warn"].setVisible(bool(msgs))
            self._place_extras(nid)
            node.view.update()

    def has_problem_marker(self, node_id: str) -> bool:
        node = self._nodes[node_id]
        return tuple(node.view.border_color) == PROBLEM_BORDER

    # -- sync: make the scene match the engine graph ------------------------------------------
    def sync(self, graph: Graph, ports_for) -> None:
        """Match the scene to ``graph``. ``ports_for(node)`` -> (inputs, outputs) Port lists."""
        self._syncing = True
        self._definitions = graph.definitions
        selected = set(self.selected_ids())
        try:
            for nid in [n for n in self._nodes if n not in graph.nodes]:
                self._remove(nid)
            for nid, node in graph.nodes.items():
                ins, outs = ports_for(node)
                sig = (node.type, tuple((p.name, p.kind, str(p.size), p.multi) for p in ins),
                       tuple((p.name, p.kind, str(p.size)) for p in outs))
                if nid in self._nodes and self._sigs.get(nid) != sig:
                    self._remove(nid, keep_badge=True)
                if nid not in self._nodes:
                    self._create(node, ins, outs, graph)
                    self._sigs[nid] = sig
                    if nid in selected:  # redrawn for new ports: keep it selected
                        self._nodes[nid].view.setSelected(True)
                ng = self._nodes[nid]
                x, y = node.position
                if tuple(ng.view.xy_pos) != (x, y):
                    ng.view.xy_pos = [x, y]
                    ng.model.pos = [x, y]
                self._place_extras(nid)
            self._sync_edges(graph)
            self.backdrops.sync(graph.meta.get("backdrops", []))
            start = getattr(self.viewer, "_start_port", None)
            if start is not None and all(start.node is not n.view for n in self._nodes.values()):
                self.cancel_gestures()  # the pipe being drawn starts at a node that is gone
        finally:
            self._syncing = False

    def rename(self, old: str, new: str) -> None:
        """Carry the drawn node of ``old`` over to ``new`` (keeps selection and pipes)."""
        node = self._nodes.pop(old, None)
        if node is None:
            return
        self._nodes[new] = node
        self._ids[node.id] = new
        self._sigs[new] = self._sigs.pop(old, None)
        self._extras[new] = self._extras.pop(old)
        self.badges.rename(old, new)
        node.model.name = new
        node.view.name = new
        node.view.draw_node()
        self._place_extras(new)

    def _create(self, node, ins, outs, graph):
        from .components_ui.typeinfo import is_definition_type, type_of
        cls = type_of(graph, node.type)
        composite = is_definition_type(cls)
        color = COMPOSITE_COLOR if composite else \
            CATEGORY_COLORS.get(getattr(cls, "category", ""), DEFAULT_NODE_COLOR)
        ng = SparkNode()
        ng.model.name = node.id
        ng.view.name = node.id
        ng.model.color = (*color, 255)
        ng.view.color = (*color, 255)
        ng.model.text_color = (235, 235, 235, 255)
        ng.view.text_color = (235, 235, 235, 255)
        for p in ins:
            port = ng.add_input(p.name, multi_input=True, color=KIND_COLORS[p.kind],
                                painter_func=paint_port)
            port.view.setToolTip(self._port_tip(p, "input"))
        for p in outs:
            port = ng.add_output(p.name, multi_output=True, color=KIND_COLORS[p.kind],
                                 painter_func=paint_port)
            port.view.setToolTip(self._port_tip(p, "output"))
        self.ngraph.add_node(ng, pos=list(node.position), selected=False, push_undo=False)
        ng.model.name = node.id  # NodeGraphQt renamed it to a unique "node N" on adding
        ng.view.name = node.id
        ng.view.xy_pos = list(node.position)
        ng.view.border_color = NORMAL_BORDER
        self._nodes[node.id] = ng
        self._ids[ng.id] = node.id
        title = cls.title or node.type if cls else f"unknown type '{node.type}'"
        if composite:
            title = f"▣ {title}"  # a composite component (double-click opens its definition)
        caption = QtWidgets.QGraphicsSimpleTextItem(title, ng.view)  # the type, readably
        caption.setBrush(QtGui.QColor(150, 156, 168))
        f = caption.font()
        f.setPointSizeF(8.0)
        caption.setFont(f)
        warn = QtWidgets.QGraphicsSimpleTextItem("⚠ problem", ng.view)
        warn.setBrush(QtGui.QColor(*PROBLEM_BORDER[:3]))
        wf = warn.font()
        wf.setBold(True)
        wf.setPointSizeF(8.5)
        warn.setFont(wf)
        warn.setVisible(False)
        tip = f"{node.id} ({node.type})\n" + (cls.description if cls else
                                              "not installed: kept and saved as in the file")
        if composite:
            tip += ("\nComposite component: double-click to open its definition; "
                    "right-click to unpack it")
        ng.view.setToolTip(tip)
        self._extras[node.id] = {"caption": caption, "warn": warn, "tip": tip,
                                 "lod": NodeDetail(ng.view, caption, warn)}
        self._place_extras(node.id)
        self.badges.restore(node.id)

    @staticmethod
    def _port_tip(p, direction):
        size = p.size if isinstance(p.size, int) else f"{p.size} (from its connection)"
        many = "any number of edges" if (direction == "output" or p.multi) else "one edge"
        req = ", required" if p.required else ""
        return (f"{direction} '{p.name}': {KIND_HELP[p.kind]}\nsize {size}; {many}{req}"
                + (f"\n{p.help}" if p.help else ""))

    def _place_extras(self, nid):
        extra = self._extras.get(nid)
        if extra is None:
            return
        view = self._nodes[nid].view
        self.badges.key = None
        cap = extra["caption"]
        cap.setPos(2.0, -cap.boundingRect().height() - 2.0)
        extra["warn"].setPos(2.0, view.height + 2.0)  # bottom left; the rate badge is bottom right
        extra["lod"].apply(self.scale())

    def _remove(self, nid, keep_badge: bool = False):
        ng = self._nodes.pop(nid)
        self._ids.pop(ng.id, None)
        self._sigs.pop(nid, None)
        self._extras.pop(nid, None)
        self.badges.forget(nid, keep=keep_badge)  # redrawn with new ports: _create restores it
        self.ngraph.remove_node(ng, push_undo=False)

    def _sync_edges(self, graph: Graph) -> None:
        want = set()
        for e in graph.edges:
            a, b = self._nodes.get(e.src_node), self._nodes.get(e.dst_node)
            if a is None or b is None:
                continue
            if e.src_port in a.outputs() and e.dst_port in b.inputs():
                want.add(e)
        have = self.edges()
        for e in have - want:
            out = self._nodes[e.src_node].outputs()[e.src_port]
            out.disconnect_from(self._nodes[e.dst_node].inputs()[e.dst_port], push_undo=False,
                                emit_signal=False)
        for e in want - have:
            out = self._nodes[e.src_node].outputs()[e.src_port]
            out.connect_to(self._nodes[e.dst_node].inputs()[e.dst_port], push_undo=False,
                           emit_signal=False)
        self._repair_pipes()

    def _repair_pipes(self) -> None:
        """Redraw pipes the viewer removed during a drag that the model still connects."""
        for node in self._nodes.values():
            for port in node.inputs().values():
                drawn = {id(p.output_port) for p in port.view.connected_pipes}
                for other in port.connected_ports():
                    if id(other.view) not in drawn:
                        self.viewer.establish_connection(port.view, other.view)
                for pipe in list(port.view.connected_pipes):
                    if pipe.output_port not in [o.view for o in port.connected_ports()]:
                        pipe.delete()
        self._colour_pipes()

    def _colour_pipes(self) -> None:
        """Give every pipe the signal-kind colour of the output that feeds it."""
        for node in self._nodes.values():
            for port in node.inputs().values():
                for pipe in port.view.connected_pipes:
                    out = pipe.output_port
                    if out is None:
                        continue
                    color = (*tuple(out.color)[:3], PIPE_ALPHA)
                    if tuple(pipe.color) != color:
                        pipe.color = color
                        if not (pipe.active() or pipe.highlighted()):
                            pipe.reset()

    # -- gestures -----------------------------------------------------------------------------
    def _connection_gesture(self, disconnected, connected):
        removed = [e for e in (self.port_edge(a, b) for a, b in disconnected) if e is not None]
        added = [e for e in (self.port_edge(a, b) for a, b in connected) if e is not None]
        # the editor answers with a command (or a refusal); either way the scene is re-synced
        self.connection_requested.emit(removed, added)

    def _name_gesture(self, ngq_id, name):
        old = self._ids.get(ngq_id)
        if old is None:
            bid = self.backdrops.ids.get(ngq_id)
            if bid is not None:
                self.rename_requested.emit("backdrop:" + bid, name)
            return
        node = self._nodes[old]
        node.view.name = old  # the editor renames through a command, or refuses
        self.rename_requested.emit(old, name.strip())

    def _on_drop(self, mime, pos):
        text = ""
        if mime.hasFormat(COMPONENT_MIME):
            text = bytes(mime.data(COMPONENT_MIME).data()).decode()
        elif mime.hasText() and mime.text().startswith("spark-component:"):
            text = mime.text().split(":", 1)[1]
        if text:
            self.component_dropped.emit(text, float(pos.x()), float(pos.y()))

    def _on_context_menu(self, pos):
        item = self.viewer.itemAt(pos)
        nid = ""
        while item is not None:
            ng_id = getattr(item, "id", None)
            if isinstance(ng_id, str) and ng_id in self._ids:
                nid = self._ids[ng_id]
                break
            item = item.parentItem()
        self.context_menu_requested.emit(self.viewer.mapToGlobal(pos), nid)
