"""The main window: palette, canvas, inspector and problems panel around one Document.

Every edit goes through ``Document.edit`` (undoable); after each change and each undo/redo the
canvas is re-synced from the engine Graph, validation is scheduled (debounced), and
``graph_edited(kind, node_id, param)`` is emitted for the live-run UI (app/run). The public
interface used by app/run is listed in the class docstring and must keep its names.
"""
from __future__ import annotations

import json
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from components.base import KIND_HELP
from engine import fileio
from engine.graph import Edge, Graph, Node
from engine.problems import GraphError
from engine.registry import registry
from engine.validate import analyze, check_value

from . import qtfix  # noqa: F401  (PySide6 reference-count workaround, applied on import)
from . import session
from .canvas import Canvas
from .document import Document
from .inspector import Inspector
from .palette import Palette, TabSearchPopup
from .problems_panel import ProblemsPanel

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
EXAMPLES_DIR = RESOURCES / "examples"
CLIP_MIME = "application/x-spark-nodes"
VALIDATE_DELAY_MS = 250
STATE_VERSION = 1


def ports_of(node: Node, cache: dict):
    """(inputs, outputs) of ``node`` from its valid parameter values (defaults elsewhere)."""
    cls = registry().types.get(node.type)
    if cls is None:
        return [], []
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


class MainWindow(QtWidgets.QMainWindow):
    """The editor window.

    Interface for app/run: ``graph`` (the current engine.Graph), ``current_path``,
    ``select_node(node_id)``, ``set_node_badge(node_id, text)``, ``show_problems(problems)``,
    ``register_node_action(text, callback)``, ``status(message)``, ``place_monitor(dock,
    area)``, the signal ``graph_edited(kind, node_id, param)`` and the signal ``graph_replaced()``
    (New, Open, recovery: a different graph, emitted before its ``graph_edited``).
    """

    graph_edited = QtCore.Signal(str, str, str)
    graph_replaced = QtCore.Signal()

    def __init__(self, path: str | None = None, autorun: bool = False, check_recovery: bool = True,
                 with_run: bool = True):
        super().__init__()
        self.setObjectName("SparkMainWindow")
        self.doc = Document(self)
        self.analysis = None
        self._port_cache: dict = {}
        self._node_actions: list[tuple[str, object]] = []
        self._paste_count = 0
        self._shown_problems = None  # problems pushed by show_problems (run errors)
        self.popups = True           # message boxes for refusals (tests turn them off)

        self.canvas = Canvas(self)
        self.setCentralWidget(self.canvas.widget)
        self.palette = Palette()
        self.inspector = Inspector()
        self.problems_panel = ProblemsPanel()
        self.tab_popup = TabSearchPopup(self)
        self._tab_scene_pos = (0.0, 0.0)
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self.statusBar().showMessage("Ready")

        self._validate_timer = QtCore.QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(VALIDATE_DELAY_MS)
        self._validate_timer.timeout.connect(self.validate_now)
        self.recovery = session.Recovery()
        self._autosave_timer = QtCore.QTimer(self)
        self._autosave_timer.setInterval(session.AUTOSAVE_SECONDS * 1000)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start()

        self.doc.changed.connect(self._on_doc_changed)
        self.doc.replaced.connect(self._on_doc_replaced)
        self.doc.undo.cleanChanged.connect(self._on_clean_changed)
        self.canvas.connection_requested.connect(self._on_connection_request)
        self.canvas.geometry_changed.connect(self._on_geometry_gesture)
        self.canvas.rename_requested.connect(self._on_canvas_rename)
        self.canvas.component_dropped.connect(lambda t, x, y: self.add_node(t, (x, y)))
        self.canvas.selection_changed.connect(self._on_selection)
        self.canvas.context_menu_requested.connect(self._context_menu)
        self.canvas.backdrop_double_clicked.connect(self._ask_backdrop_title)
        self.canvas.viewer.installEventFilter(self)
        self.palette.add_requested.connect(lambda t: self.add_node(t))
        self.tab_popup.chosen.connect(lambda t: self.add_node(t, self._tab_scene_pos))
        self.inspector.param_edit_requested.connect(self.set_param)
        self.inspector.setting_edit_requested.connect(self.set_setting)
        self.inspector.rename_requested.connect(self.rename_node)
        self.problems_panel.node_clicked.connect(lambda n: self.select_node(n, frame=True))
        self.problems_panel.validate_requested.connect(self.validate_now)

        self.resize(1600, 1000)
        recovered = self._offer_recovery() if check_recovery else False
        if not recovered:
            if path:
                if not self.open_file(path, ask=False):
                    self._on_doc_replaced()
            else:
                self._on_doc_replaced()
        self._update_title()

        import importlib.util
        if with_run and importlib.util.find_spec("app.run") is not None:
            from app import run
            install = getattr(run, "install", None)  # absent while app/run is being written
            if install is not None:
                install(self, autorun=autorun)
        # after the run UI has added its docks and toolbars, so their places are restored too
        self._restore_layout()

    # ================================================================ public interface (app/run)
    @property
    def graph(self) -> Graph:
        return self.doc.graph

    @property
    def current_path(self) -> str | None:
        return self.doc.path

    def select_node(self, node_id: str, frame: bool = False) -> None:
        """Select one node (and show it in the inspector); ``frame`` also centres the view on it."""
        if node_id in self.graph.nodes:
            self.canvas.select([node_id], frame=frame)

    def set_node_badge(self, node_id: str, text: str) -> None:
        self.canvas.set_badge(node_id, text)

    def show_problems(self, problems) -> None:
        """List ``problems`` in the problems panel and mark their nodes (until the next edit)."""
        self._shown_problems = list(problems)
        self._present_problems(self._shown_problems)
        if self._shown_problems:
            self.problems_dock.raise_()

    def register_node_action(self, text: str, callback, applies=None) -> None:
        """Add ``text`` to the node context menu and the inspector; ``callback(node_id)``.
        ``applies(node_id) -> bool`` (optional): offer it only for the nodes it applies to."""
        self._node_actions.append((text, callback, applies))
        self.inspector.add_action(text, callback, applies)

    def status(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    def place_monitor(self, dock: QtWidgets.QDockWidget, area) -> None:
        """Dock a monitor panel (called by app/run for each new monitor).

        Bottom monitors (raster, traces, rates) go side by side in the bottom row; the
        problems panel becomes a tab behind the first of them, so the plots are never
        squeezed by the problems table (a run error or a validation problem raises the
        problems tab again). Right monitors (weights, environment, episodes) stack under the
        inspector, which keeps room for live edits. Then ``arrange_monitors`` shares out the
        space.
        """
        bottom = area == QtCore.Qt.BottomDockWidgetArea
        first = not self.monitor_docks(area)
        # appended to the area's row (bottom) or column (right); QMainWindow.splitDockWidget
        # cannot be used: splitting a dock that sits in a tab group only adds another tab
        self.addDockWidget(area, dock, QtCore.Qt.Horizontal if bottom else QtCore.Qt.Vertical)
        if bottom and first and self._docked_in(self.problems_dock, area) \
                and not self.tabifiedDockWidgets(self.problems_dock):
            self.tabifyDockWidget(dock, self.problems_dock)  # problems: a tab behind it
        dock.show()
        dock.raise_()
        self.arrange_monitors()

    def _docked_in(self, dock, area) -> bool:
        """Open (a tab behind another one counts), not floating, and docked in ``area``."""
        return (dock.toggleViewAction().isChecked() and not dock.isFloating()
                and self.dockWidgetArea(dock) == area)

    def monitor_docks(self, area) -> list:
        """The monitor panels docked in ``area``, one per tab group, in creation order."""
        out = []
        for d in self.findChildren(QtWidgets.QDockWidget):
            if d.objectName().startswith("monitor:") and self._docked_in(d, area) \
                    and not any(o in out for o in self.tabifiedDockWidgets(d)):
                out.append(d)
        return out

    def arrange_monitors(self) -> None:
        """Share the window between the panels once monitors are open: the palette keeps
        its width, the right column widens for plots, the bottom row gets 320 px of height
        and splits its width (the raster 1.4 shares, rates 1.1, each other plot 1)."""
        H, V = QtCore.Qt.Horizontal, QtCore.Qt.Vertical
        left_area, right_area = QtCore.Qt.LeftDockWidgetArea, QtCore.Qt.RightDockWidgetArea
        bottom = self.monitor_docks(QtCore.Qt.BottomDockWidgetArea)
        right = self.monitor_docks(right_area)
        left_w = 230 if self._docked_in(self.palette_dock, left_area) else 0
        inspector_right = self._docked_in(self.inspector_dock, right_area)
        right_w = 460 if right else (340 if inspector_right else 0)
        sides = ([self.palette_dock] if left_w else []) + \
            ([self.inspector_dock] if inspector_right else right[:1])
        if sides:
            self.resizeDocks(sides, [w for w in (left_w, right_w) if w][:len(sides)], H)
        if bottom:
            room = max(600, self.width() - left_w - right_w - 24)
            weights = [{"raster": 1.4, "rates": 1.1}.get(getattr(d, "kind", ""), 1.0)
                       for d in bottom]
            self.resizeDocks(bottom, [int(room * w / sum(weights)) for w in weights], H)
            self.resizeDocks(bottom[:1], [max(320, bottom[0].height())], V)
        if right:
            column = ([self.inspector_dock] if inspector_right else []) + right
            top = 240 if inspector_right else 0
            room = max(300, self.height() - 130 - top)
            sizes = ([top] if top else []) + [room // len(right)] * len(right)
            self.resizeDocks(column, sizes, V)

    # ================================================================ building the window
    def _build_docks(self):
        self.setDockNestingEnabled(True)
        self.setCorner(QtCore.Qt.BottomLeftCorner, QtCore.Qt.LeftDockWidgetArea)
        self.setCorner(QtCore.Qt.BottomRightCorner, QtCore.Qt.RightDockWidgetArea)

        def dock(title, name, widget, area):
            d = QtWidgets.QDockWidget(title, self)
            d.setObjectName(name)
            d.setWidget(widget)
            d.setFeatures(QtWidgets.QDockWidget.DockWidgetMovable
                          | QtWidgets.QDockWidget.DockWidgetFloatable
                          | QtWidgets.QDockWidget.DockWidgetClosable)
            self.addDockWidget(area, d)
            return d

        self.palette_dock = dock("Components", "paletteDock", self.palette, QtCore.Qt.LeftDockWidgetArea)
        self.inspector_dock = dock("Inspector", "inspectorDock", self.inspector,
                                   QtCore.Qt.RightDockWidgetArea)
        self.problems_dock = dock("Problems", "problemsDock", self.problems_panel,
                                  QtCore.Qt.BottomDockWidgetArea)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [230, 340], QtCore.Qt.Horizontal)
        self.resizeDocks([self.problems_dock], [160], QtCore.Qt.Vertical)

    def _action(self, text, slot, shortcuts=(), tip="", canvas_only=False):
        a = QtGui.QAction(text, self)
        if shortcuts:
            a.setShortcuts([QtGui.QKeySequence(s) for s in shortcuts])
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(lambda _checked=False: slot())
        if canvas_only:
            # only while the canvas has focus, so typing in the inspector is never intercepted
            a.setShortcutContext(QtCore.Qt.WidgetWithChildrenShortcut)
            self.canvas.widget.addAction(a)
        else:
            self.addAction(a)
        return a

    def _build_actions(self):
        A = self._action
        K = QtGui.QKeySequence
        self.act_new = A("&New", self.new_file, [K.New], "Start an empty graph")
        self.act_open = A("&Open…", self.open_file, [K.Open], "Open a graph file")
        self.act_save = A("&Save", self.save, [K.Save], "Save the graph")
        self.act_save_as = A("Save &As…", self.save_as, ["Ctrl+Shift+S"], "Save under a new name")
        self.act_quit = A("&Quit", self.close, [K.Quit])
        self.act_undo = A("&Undo", self.doc.undo.undo, ["Ctrl+Z"])
        self.act_redo = A("&Redo", self.doc.undo.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.doc.undo.canUndoChanged.connect(self.act_undo.setEnabled)
        self.doc.undo.canRedoChanged.connect(self.act_redo.setEnabled)
        # what would be undone goes in the tooltip, so the toolbar does not change width
        self.doc.undo.undoTextChanged.connect(lambda t: self.act_undo.setToolTip(f"Undo {t} (Ctrl+Z)"))
        self.doc.undo.redoTextChanged.connect(lambda t: self.act_redo.setToolTip(f"Redo {t} (Ctrl+Shift+Z)"))
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)
        self.act_cut = A("Cu&t", self.cut, ["Ctrl+X"], canvas_only=True)
        self.act_copy = A("&Copy", self.copy, ["Ctrl+C"], canvas_only=True)
        self.act_paste = A("&Paste", self.paste, ["Ctrl+V"], canvas_only=True)
        self.act_duplicate = A("&Duplicate", self.duplicate, ["Ctrl+D"], canvas_only=True)
        self.act_delete = A("&Delete", self.delete_selection, ["Del", "Backspace"], canvas_only=True)
        self.act_select_all = A("Select &All", self.canvas.select_all, ["Ctrl+A"], canvas_only=True)
        self.act_group = A("&Group in Backdrop", self.group_selection, ["Ctrl+G"],
                           "Draw a titled frame around the selected nodes", canvas_only=True)
        self.act_rename = A("Re&name…", self.focus_rename, ["F2"], canvas_only=True)
        self.act_fit = A("&Zoom to Fit", self.canvas.fit, ["F"], canvas_only=True)
        self.act_validate = A("&Validate", self.validate_now, ["F7"], "Check the whole graph")
        self.act_reset_layout = A("Reset &Layout", self.reset_layout)

    def _build_menus(self):
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.act_new, self.act_open])
        self.recent_menu = m.addMenu("Open &Recent")
        self.examples_menu = m.addMenu("&Examples")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.examples_menu.aboutToShow.connect(self._fill_examples)
        self._fill_examples()
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate,
                      self.act_delete, self.act_select_all])
        m.addSeparator()
        m.addActions([self.act_rename, self.act_group])
        self.add_menu = mb.addMenu("&Add")
        for cat, classes in registry().by_category().items():
            sub = self.add_menu.addMenu(cat)
            for cls in classes:
                act = sub.addAction(cls.title or cls.type_name)
                act.setToolTip(cls.description)
                act.triggered.connect(lambda _c=False, t=cls.type_name: self.add_node(t))
        m = mb.addMenu("&View")
        m.addAction(self.act_fit)
        m.addSeparator()
        for d in (self.palette_dock, self.inspector_dock, self.problems_dock):
            m.addAction(d.toggleViewAction())
        m.addAction(self.act_reset_layout)
        self.view_menu = m
        m = mb.addMenu("&Graph")
        m.addAction(self.act_validate)
        tb = self.addToolBar("File")
        tb.setObjectName("fileToolbar")
        tb.setMovable(True)
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo])
        tb.addSeparator()
        tb.addActions([self.act_validate, self.act_fit])
        self.file_toolbar = tb

    def _fill_recent(self):
        self.recent_menu.clear()
        items = session.recent_files()
        for p in items:
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _c=False, path=p: self.open_file(path))
        if not items:
            act = self.recent_menu.addAction("(none)")
            act.setEnabled(False)

    def example_files(self) -> list[Path]:
        return sorted(EXAMPLES_DIR.glob("*.json")) if EXAMPLES_DIR.is_dir() else []

    def _fill_examples(self):
        self.examples_menu.clear()
        for p in self.example_files():
            act = self.examples_menu.addAction(p.stem.replace("_", " "))
            act.setToolTip(str(p))
            act.triggered.connect(lambda _c=False, path=str(p): self.open_file(path))
        if not self.examples_menu.actions():
            act = self.examples_menu.addAction("(no examples found)")
            act.setEnabled(False)

    # ================================================================ layout persistence
    def _restore_layout(self):
        s = session.settings()
        self._default_state = self.saveState(STATE_VERSION)
        geo = s.value("window/geometry")
        state = s.value("window/state")
        if geo is not None:
            self.restoreGeometry(geo)
        if state is not None:
            self.restoreState(state, STATE_VERSION)

    def save_layout(self):
        s = session.settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(STATE_VERSION))
        s.sync()

    def reset_layout(self):
        self.restoreState(self._default_state, STATE_VERSION)
        for d in (self.palette_dock, self.inspector_dock, self.problems_dock):
            d.show()

    # ================================================================ reacting to changes
    def ports_for(self, node: Node):
        return ports_of(node, self._port_cache)

    def _on_doc_changed(self, kind, node, param, rename):
        if rename:
            old, new = rename
            self.canvas.rename(old, new)
            self._port_cache[new] = self._port_cache.pop(old, ([], []))
            self.inspector.node_ids = [new if n == old else n for n in self.inspector.node_ids]
        self.canvas.sync(self.graph, self.ports_for)
        self._shown_problems = None
        self._on_selection()
        self._update_title()
        self.schedule_validation()
        self.graph_edited.emit(kind, node or "", param or "")

    def _on_doc_replaced(self):
        self._port_cache.clear()
        self.canvas.sync(self.graph, self.ports_for)
        self._shown_problems = None
        self.validate_now()
        self.canvas.select([])
        QtCore.QTimer.singleShot(0, self.canvas.fit)
        self._update_title()
        self.graph_replaced.emit()
        self.graph_edited.emit("structure", "", "")

    def _on_selection(self):
        probs = self.analysis.problems if self.analysis is not None else []
        self.inspector.show_selection(self.graph, self.canvas.selected_ids(), probs)

    def _on_clean_changed(self, _clean):
        try:
            self._update_title()
        except RuntimeError:  # emitted while the window is being destroyed
            pass

    def _update_title(self):
        name = Path(self.doc.path).name if self.doc.path else "Untitled"
        if self.is_example(self.doc.path):
            name += " (example)"
        self.setWindowTitle(f"{name}{'*' if self.doc.dirty else ''} — Spark")

    def schedule_validation(self):
        self._validate_timer.start()

    def validate_now(self):
        """Check the whole graph now; update the problems panel, node markers and inspector."""
        self._validate_timer.stop()
        self.analysis = analyze(self.graph)
        self._present_problems(self.analysis.problems)
        return self.analysis.problems

    def _present_problems(self, problems):
        self.problems_panel.set_problems(problems)
        by_node: dict[str, list[str]] = {}
        for p in problems:
            if p.node is not None:
                by_node.setdefault(p.node, []).append(str(p))
        self.canvas.set_problems(by_node)
        self.inspector.refresh(problems)

    # ================================================================ edits
    def add_node(self, type_name: str, pos=None) -> str | None:
        """Add a node of ``type_name`` at scene ``pos`` (default: the view centre); returns its id."""
        cls = registry().types.get(type_name)
        if cls is None:
            self.status(f"Unknown component type '{type_name}'")
            return None
        nid = self.graph.unique_id(type_name)
        if pos is None:
            cx, cy = self.canvas.view_center()
            pos = (cx - 80.0, cy - 40.0)
        params = {p.name: p.default for p in cls.editable_params({}) if not p.required}
        node = Node(nid, type_name, params, (float(pos[0]), float(pos[1])))
        self.doc.edit(f"add {nid}", lambda g: g.add_node(node.copy()), node=nid)
        self.canvas.select([nid])
        self.status(f"Added {cls.title} '{nid}'")
        return nid

    def delete_selection(self):
        nodes = self.canvas.selected_ids()
        edges = self.canvas.selected_edges()
        bds = self.canvas.selected_backdrops()
        if not (nodes or edges or bds):
            return
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
        self.doc.edit(f"delete {what}", mutate, node=nodes[0] if len(nodes) == 1 else "")

    def connection_refusal(self, g: Graph, e: Edge) -> str | None:
        """Why the edge ``e`` may not be added to ``g``, or None."""
        if e.src_node not in g.nodes or e.dst_node not in g.nodes:
            return f"Cannot connect {e.src} -> {e.dst}: no such node"
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
        return self._apply_connections([], [Edge(src, dst)])

    def disconnect(self, src: str, dst: str) -> bool:
        return self._apply_connections([Edge(src, dst)], [])

    def _on_connection_request(self, removed, added):
        self._apply_connections(removed, added)
        self.canvas.sync(self.graph, self.ports_for)

    def _apply_connections(self, removed, added) -> bool:
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
                self.status(why)
                self.statusBar().setProperty("refusal", why)
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
        self.doc.edit(f"{label} {first.src} -> {first.dst}", mutate, node=first.dst_node)
        self.status(f"{label.capitalize()}ed {first.src} -> {first.dst}".replace("ee", "e"))
        return True

    def set_param(self, node_ids, param: str, value) -> None:
        """Set ``param`` to ``value`` on every node in ``node_ids`` (one undo step)."""
        node_ids = [n for n in node_ids if n in self.graph.nodes]
        if not node_ids:
            return

        def mutate(g):
            for n in node_ids:
                g.nodes[n].params[param] = value
        who = node_ids[0] if len(node_ids) == 1 else f"{len(node_ids)} nodes"
        self.doc.edit(f"set {who}.{param}", mutate, kind="param",
                      node=node_ids[0] if len(node_ids) == 1 else "", param=param)

    def set_setting(self, key: str, value) -> None:
        self.doc.edit(f"set {key}", lambda g: g.settings.__setitem__(key, value), param=key)

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
            self.status(f"Cannot rename '{old}': {why}")
            self.inspector.show_rename_error(why)
            self.canvas.sync(self.graph, self.ports_for)
            return False
        if new == old:
            return True
        self.inspector.show_rename_error("")
        self.doc.edit(f"rename {old} -> {new}", lambda g: g.rename_node(old, new),
                      node=new, rename=(old, new))
        return True

    def _on_canvas_rename(self, old, new):
        if old.startswith("backdrop:"):
            bid = old.split(":", 1)[1]
            self.rename_backdrop(bid, new)
        else:
            self.rename_node(old, new)

    def focus_rename(self):
        ids = self.canvas.selected_ids()
        if len(ids) == 1:
            self.inspector_dock.show()
            self.inspector_dock.raise_()
            self.inspector.id_edit.setFocus()
            self.inspector.id_edit.selectAll()

    def _on_geometry_gesture(self):
        pos = self.canvas.positions()
        rects = self.canvas.backdrop_rects()
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
        self.doc.edit(label, mutate, node=next(iter(moved)) if len(moved) == 1 else "")

    def move_node(self, node_id: str, x: float, y: float) -> None:
        """Move a node (one undo step); what dragging on the canvas does."""
        p = (float(x), float(y))
        self.doc.edit(f"move {node_id}",
                      lambda g: setattr(g.nodes[node_id], "position", p), node=node_id)

    # -- backdrops --------------------------------------------------------------------------------
    def group_selection(self, title: str = "Group") -> str | None:
        ids = self.canvas.selected_ids()
        if not ids:
            self.status("Select the nodes to group first")
            return None
        rect = [round(v, 1) for v in self.canvas.backdrop_fit(ids)]
        existing = {str(b.get("id")) for b in self.graph.meta.get("backdrops", [])}
        i = 1
        while f"backdrop{i}" in existing:
            i += 1
        bid = f"backdrop{i}"

        def mutate(g):
            g.meta.setdefault("backdrops", []).append(
                {"id": bid, "title": title, "rect": rect, "nodes": list(ids)})
        self.doc.edit("group in backdrop", mutate)
        return bid

    def rename_backdrop(self, bid: str, title: str) -> None:
        def mutate(g):
            for b in g.meta.get("backdrops", []):
                if str(b.get("id")) == bid:
                    b["title"] = title
        self.doc.edit("rename backdrop", mutate)

    # -- clipboard ---------------------------------------------------------------------------------
    def _selection_payload(self, ids) -> dict:
        g = self.graph
        chosen = set(ids)
        ids = [n for n in g.nodes if n in chosen]  # file order, whatever the selection order
        nodes = [{"id": n, "type": g.nodes[n].type, "params": json.loads(json.dumps(g.nodes[n].params)),
                  "position": list(g.nodes[n].position)} for n in ids]
        edges = [{"from": e.src, "to": e.dst} for e in g.edges
                 if e.src_node in ids and e.dst_node in ids]
        return {"spark-clipboard": 1, "nodes": nodes, "edges": edges}

    def copy(self) -> int:
        ids = self.canvas.selected_ids()
        if not ids:
            return 0
        payload = self._selection_payload(ids)
        mime = QtCore.QMimeData()
        text = json.dumps(payload)
        mime.setData(CLIP_MIME, text.encode())
        mime.setText(text)
        QtWidgets.QApplication.clipboard().setMimeData(mime)
        self._paste_count = 0
        self.status(f"Copied {len(ids)} node(s)")
        return len(ids)

    def cut(self):
        if self.copy():
            self.delete_selection()

    def paste(self) -> list[str]:
        mime = QtWidgets.QApplication.clipboard().mimeData()
        text = ""
        if mime is not None and mime.hasFormat(CLIP_MIME):
            text = bytes(mime.data(CLIP_MIME).data()).decode()
        elif mime is not None and mime.hasText():
            text = mime.text()
        try:
            payload = json.loads(text)
        except ValueError:
            return []
        if not isinstance(payload, dict) or payload.get("spark-clipboard") != 1:
            return []
        self._paste_count += 1
        return self._insert_payload(payload, 40.0 * self._paste_count, "paste")

    def duplicate(self) -> list[str]:
        ids = self.canvas.selected_ids()
        if not ids:
            return []
        return self._insert_payload(self._selection_payload(ids), 40.0, "duplicate")

    def _insert_payload(self, payload, offset: float, label: str) -> list[str]:
        g = self.graph
        taken = set(g.nodes)
        mapping = {}
        new_nodes = []
        for nd in payload.get("nodes", []):
            base = nd["id"]
            trial = Graph(nodes={k: None for k in taken})
            nid = trial.unique_id(base)
            taken.add(nid)
            mapping[base] = nid
            x, y = nd.get("position", [0, 0])
            new_nodes.append(Node(nid, nd["type"], dict(nd.get("params", {})),
                                  (float(x) + offset, float(y) + offset)))
        new_edges = []
        for ed in payload.get("edges", []):
            s, d = Edge(ed["from"], ed["to"]), None
            d = Edge(f"{mapping[s.src_node]}.{s.src_port}", f"{mapping[s.dst_node]}.{s.dst_port}")
            new_edges.append(d)
        if not new_nodes:
            return []

        def mutate(gr):
            for n in new_nodes:
                gr.add_node(n.copy())
            for e in new_edges:
                gr.connect(e.src, e.dst)
        self.doc.edit(f"{label} {len(new_nodes)} node(s)", mutate)
        ids = [n.id for n in new_nodes]
        self.canvas.select(ids)
        return ids

    # ================================================================ context menu and Tab
    def _context_menu(self, global_pos, node_id):
        menu = QtWidgets.QMenu(self)
        if node_id:
            if node_id not in self.canvas.selected_ids():
                self.select_node(node_id)
            offered = [(t, cb) for t, cb, applies in self._node_actions
                       if applies is None or applies(node_id)]
            for text, cb in offered:
                menu.addAction(text).triggered.connect(lambda _c=False, cb=cb, n=node_id: cb(n))
            if offered:
                menu.addSeparator()
            menu.addActions([self.act_rename, self.act_duplicate, self.act_copy, self.act_delete,
                             self.act_group])
        else:
            scene = self.canvas.viewer.mapToScene(self.canvas.viewer.mapFromGlobal(global_pos))
            for cat, classes in registry().by_category().items():
                sub = menu.addMenu(f"Add {cat}")
                for cls in classes:
                    sub.addAction(cls.title or cls.type_name).triggered.connect(
                        lambda _c=False, t=cls.type_name, p=(scene.x(), scene.y()): self.add_node(t, p))
            menu.addSeparator()
            menu.addActions([self.act_paste, self.act_select_all, self.act_fit])
            if self.canvas.selected_backdrops():
                bid = self.canvas.selected_backdrops()[0]
                menu.addAction("Rename Backdrop…").triggered.connect(
                    lambda _c=False: self._ask_backdrop_title(bid))
        menu.popup(global_pos)
        self._last_menu = menu

    def _ask_backdrop_title(self, bid):
        current = next((str(b.get("title", "")) for b in self.graph.meta.get("backdrops", [])
                        if isinstance(b, dict) and str(b.get("id")) == bid), "")
        text, ok = QtWidgets.QInputDialog.getText(self, "Rename backdrop", "Title:",
                                                  text=current)
        if ok and text != current:
            self.rename_backdrop(bid, text)

    def eventFilter(self, obj, ev):
        if obj is self.canvas.viewer and ev.type() == QtCore.QEvent.KeyPress \
                and ev.key() == QtCore.Qt.Key_Tab:
            self.open_tab_search()
            return True
        return super().eventFilter(obj, ev)

    def open_tab_search(self):
        self._tab_scene_pos = self.canvas.scene_cursor_pos()
        self.tab_popup.popup_at(QtGui.QCursor.pos())

    # ================================================================ files
    def maybe_discard(self, doing: str = "continue") -> bool:
        """True when it is fine to drop the current graph (saved, discarded, or not dirty)."""
        if not self.doc.dirty:
            return True
        name = Path(self.doc.path).name if self.doc.path else "Untitled"
        box = QtWidgets.QMessageBox
        answer = box.question(
            self, "Unsaved changes",
            f"'{name}' has unsaved changes. Save them before you {doing}?",
            box.Save | box.Discard | box.Cancel, box.Save)
        if answer == box.Save:
            return self.save()
        return answer == box.Discard

    def new_file(self) -> bool:
        if not self.maybe_discard("start a new graph"):
            return False
        self.doc.replace(Graph(), None)
        self.recovery.clear()
        self.status("New graph")
        return True

    def open_file(self, path: str | None = None, ask: bool = True) -> bool:
        """Open ``path`` (or ask for one). On failure the current graph stays as it was."""
        if path is None:
            start = str(Path(self.doc.path).parent) if self.doc.path else str(EXAMPLES_DIR)
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Open graph", start, "Spark graphs (*.json);;All files (*)")
            if not path:
                return False
        if ask and not self.maybe_discard("open another file"):
            return False
        try:
            g = fileio.load(path)
        except GraphError as exc:
            self._load_failed(path, exc.problems)
            return False
        self.doc.replace(g, str(path))
        self.recovery.clear()
        session.add_recent(str(path))
        problems = self.analysis.problems if self.analysis else []
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            self.problems_dock.show()
            self.problems_dock.raise_()
            self.status(f"Opened {Path(path).name} with {len(errors)} problem(s): see Problems")
        else:
            self.status(f"Opened {path}")
        return True

    def _load_failed(self, path, problems):
        self.last_load_problems = list(problems)
        lines = "\n".join(f"• {p}" for p in problems)
        self.status(f"Could not open {Path(path).name}: {len(problems)} problem(s)")
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Critical, "Could not open file",
                                    f"{path} could not be opened:\n\n{lines}\n\n"
                                    "The graph that was open is unchanged.",
                                    QtWidgets.QMessageBox.Ok, self)
        self._error_box = box
        box.open()

    @staticmethod
    def is_example(path: str | None) -> bool:
        """Whether ``path`` is one of the shipped examples (resources/examples/*.json)."""
        if not path:
            return False
        try:
            return Path(path).resolve().parent == EXAMPLES_DIR.resolve() and \
                Path(path).suffix == ".json"
        except OSError:
            return False

    def save(self) -> bool:
        """Save to the current file; an untitled graph or an example asks for a name (examples
        are templates: the shipped file is never overwritten)."""
        if not self.doc.path or self.is_example(self.doc.path):
            return self.save_as()
        return self.save_to(self.doc.path)

    def ask_save_path(self) -> str:
        """The file dialog of Save As ("" when cancelled). Tests replace it."""
        if self.doc.path and not self.is_example(self.doc.path):
            start = self.doc.path
        else:
            name = Path(self.doc.path).name if self.doc.path else "untitled.json"
            start = str(Path.home() / name)
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save graph as", start, "Spark graphs (*.json)")
        return path

    def save_as(self) -> bool:
        path = self.ask_save_path()
        if not path:
            return False
        if not Path(path).suffix:
            path += ".json"
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        if self.is_example(path):
            msg = (f"{Path(path).name} is a shipped example and is never overwritten: "
                   "save your changes under another name or folder.")
            self.status(msg)
            if self.popups:
                QtWidgets.QMessageBox.warning(self, "Examples are templates", msg)
            return False
        try:
            fileio.save(self.graph, path)
        except OSError as exc:
            QtWidgets.QMessageBox.critical(self, "Could not save", f"{path}: {exc}")
            return False
        self.doc.mark_saved(str(path))
        self.recovery.clear()
        session.add_recent(str(path))
        self._update_title()
        self.status(f"Saved {path}")
        return True

    # -- autosave and recovery -------------------------------------------------------------------
    def autosave(self) -> bool:
        """Write the recovery file when there are unsaved changes."""
        if not self.doc.dirty:
            return False
        try:
            return self.recovery.write(self.graph.to_dict(), self.doc.path)
        except OSError:
            return False

    def _offer_recovery(self) -> bool:
        orphans = self.recovery.orphans()
        if not orphans:
            return False
        f, data = orphans[0]
        import time
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(data.get("saved_at", 0)))
        name = data.get("path") or "an untitled graph"
        box = QtWidgets.QMessageBox
        answer = box.question(
            self, "Recover unsaved work?",
            f"Spark did not close normally. Unsaved changes to {name} (from {when}) were kept.\n"
            "Recover them?", box.Yes | box.No, box.Yes)
        recovered = False
        if answer == box.Yes:
            try:
                g = fileio.graph_from_dict(data["graph"], str(f))
                self.doc.replace(g, data.get("path"), dirty=True)
                recovered = True
                self.status("Recovered unsaved work; save it to keep it")
            except (GraphError, KeyError, TypeError) as exc:
                self.status(f"Could not recover: {exc}")
        for other, _ in orphans:
            try:
                other.unlink()
            except OSError:
                pass
        return recovered

    def closeEvent(self, ev):
        if not self.maybe_discard("close"):
            ev.ignore()
            return
        self.save_layout()
        self.recovery.clear()
        self._autosave_timer.stop()
        ev.accept()
