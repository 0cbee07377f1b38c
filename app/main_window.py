"""The main window: palette, canvas, inspector and problems panel around one Document.

The window wires its parts together; each job lives in its own module:

- ``docks``     (app/docks.py)     the dock panels, monitor placement, saved layout;
- ``edits``     (app/editing.py)   every edit of the graph, each one undo step;
- ``clipboard`` (app/clipboard.py) copy, cut, paste, duplicate;
- ``files``     (app/files.py)     New, Open, Save, examples, recent files, recovery;
- ``menus``     (app/menus.py)     actions, menus, toolbar, context menu, Tab search;
- ``components`` (app/components_ui) composite components: make, open a definition in its own
  canvas tab, unpack, the library.

``active`` is the editing context in front: the window itself (the network: ``doc``,
``canvas``, ``edits``, ``clipboard``) or a definition's tab, which has the same parts.

Every edit goes through ``Document.edit`` (undoable); after each change and each undo/redo the
canvas is re-synced from the engine Graph, validation is scheduled (debounced), and
``graph_edited(kind, node_id, param)`` is emitted for the live-run UI (app/run). The public
interface used by app/run is listed in the class docstring and must keep its names.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from spark_snn.engine.graph import Graph
from spark_snn.engine.validate import analyze

from . import component_save
from . import qtfix  # noqa: F401  (PySide6 reference-count workaround, applied on import)
from .canvas import Canvas
from .clipboard import Clipboard
from .docks import DockLayout
from .document import Document
from .editing import GraphEditor
from .files import FileActions, is_example
from .inspector import Inspector
from .menus import Menus, steady_width
from .nir_actions import NIRActions
from .palette import Palette
from .problems_panel import ProblemsPanel

VALIDATE_DELAY_MS = 250


class MainWindow(QtWidgets.QMainWindow):
    """The editor window.

    Interface for app/run: ``graph`` (the current engine.Graph), ``current_path``,
    ``select_node(node_id)``, ``set_node_badge(node_id, text)``, ``show_problems(problems)``,
    ``register_node_action(text, callback, applies)``, ``status(message)``,
    ``place_monitor(dock, area)``, the signal ``graph_edited(kind, node_id, param)`` and the signal
    ``graph_replaced()`` (New, Open, recovery: a different graph, emitted before its
    ``graph_edited``).
    """

    graph_edited = QtCore.Signal(str, str, str)
    graph_replaced = QtCore.Signal()

    def __init__(self, path: str | None = None, autorun: bool = False, check_recovery: bool = True,
                 with_run: bool = True):
        super().__init__()
        self.setObjectName("SparkMainWindow")
        self.doc = Document(self)
        self.analysis = None
        self._shown_problems = None  # problems pushed by show_problems (run errors)

        self.canvas = Canvas(self)
        self.setCentralWidget(self.canvas.widget)
        self.palette = Palette()
        self.inspector = Inspector()
        self.problems_panel = ProblemsPanel()
        self.docks = DockLayout(self, self.palette, self.inspector, self.problems_panel)
        self.palette_dock = self.docks.palette_dock
        self.inspector_dock = self.docks.inspector_dock
        self.problems_dock = self.docks.problems_dock
        self.edits = GraphEditor(self)
        self.clipboard = Clipboard(self)
        self.files = FileActions(self)
        self.nir = NIRActions(self)
        self.active = self  # the editing context in front (see the module docstring)
        self.menus = Menus(self)
        from .components_ui import install as install_components
        self.components = install_components(self)
        self.statusBar().showMessage("Ready")

        self._validate_timer = QtCore.QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(VALIDATE_DELAY_MS)
        self._validate_timer.timeout.connect(self.validate_now)
        self._wire()

        self.resize(1600, 1000)
        recovered = self.files.offer_recovery() if check_recovery else False
        if not recovered:
            if not (path and self.files.open_file(path, ask=False)):
                self._on_doc_replaced()
        self.update_title()

        component_save.install(self)
        if with_run:
            from spark_snn.app import run
            ctl = run.install(self, autorun=autorun)
            steady_width(ctl.bar.toolbar, ctl.bar.run_action, ("Run", "Pause"))  # Run <-> Pause
        # after the run UI has added its docks and toolbars, so their places are restored too
        self.docks.restore()

    def _wire(self):
        self.doc.changed.connect(self._on_doc_changed)
        self.doc.replaced.connect(self._on_doc_replaced)
        self.doc.undo.cleanChanged.connect(self._on_clean_changed)
        self.edits.listen_to(self.canvas)
        self.canvas.selection_changed.connect(self._on_selection)
        self.palette.add_requested.connect(lambda t: self.active.edits.add_node(t))
        # the inspector edits what the canvas in front shows (the network or a definition)
        self.inspector.param_edit_requested.connect(
            lambda ids, p, v: self.active.edits.set_param(ids, p, v))
        self.inspector.setting_edit_requested.connect(
            lambda k, v: self.active.edits.set_setting(k, v))
        self.inspector.rename_requested.connect(
            lambda old, new: self.active.edits.rename_node(old, new))
        self.problems_panel.node_clicked.connect(
            lambda n: self.active.select_node(n, frame=True))
        self.problems_panel.validate_requested.connect(self.validate_now)

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
        if self._shown_problems and self.active is not self:
            self.components.show_network()  # a run's problems are the network's
        self._present_problems(self._shown_problems)
        if self._shown_problems:
            self.problems_dock.raise_()

    def register_node_action(self, text: str, callback, applies=None) -> None:
        """Add ``text`` to the node context menu and the inspector; ``callback(node_id)``.
        ``applies(node_id) -> bool`` (optional): offer it only for the nodes it applies to."""
        self.menus.add_node_action(text, callback, applies)
        self.inspector.add_action(text, callback, applies)

    def status(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    def place_monitor(self, dock: QtWidgets.QDockWidget, area) -> None:
        """Dock a monitor panel (see ``DockLayout.place_monitor``)."""
        self.docks.place_monitor(dock, area)

    # ================================================================ reacting to changes
    def _on_doc_changed(self, kind, node, param, rename):
        self.edits.redraw(rename)
        if rename:
            old, new = rename
            self.inspector.node_ids = [new if n == old else n for n in self.inspector.node_ids]
        self._shown_problems = None
        self._on_selection()
        self.update_title()
        self.schedule_validation()
        self.graph_edited.emit(kind, node or "", param or "")

    def _on_doc_replaced(self):
        self.edits.port_cache.clear()
        self.canvas.cancel_gestures()
        self.canvas.sync(self.graph, self.edits.ports_for)
        self._shown_problems = None
        self.validate_now()
        self.canvas.select([])
        QtCore.QTimer.singleShot(0, self.canvas.fit)
        self.update_title()
        self.graph_replaced.emit()
        self.graph_edited.emit("structure", "", "")

    def _on_selection(self):
        if self.active is not self:
            return  # the inspector shows the definition in front (app/components_ui)
        probs = self.analysis.problems if self.analysis is not None else []
        self.inspector.show_selection(self.graph, self.canvas.selected_ids(), probs)

    def _on_clean_changed(self, _clean):
        try:
            self.update_title()
        except RuntimeError:  # emitted while the window is being destroyed
            pass

    def update_title(self):
        name = Path(self.doc.path).name if self.doc.path else "Untitled"
        if is_example(self.doc.path):
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

    def present_problems(self) -> None:
        """Show the network's problems again (the last run error, else the validation's)."""
        shown = self._shown_problems
        if shown is None:
            shown = self.analysis.problems if self.analysis is not None else []
        self._present_problems(shown)

    def _present_problems(self, problems):
        by_node: dict[str, list[str]] = {}
        for p in problems:
            if p.node is not None and p.definition is None:  # (else: a node inside a component)
                by_node.setdefault(p.node, []).append(str(p))
        self.canvas.set_problems(by_node)
        if self.active is self:
            self.problems_panel.set_problems(problems)
            self.inspector.refresh(problems)

    def focus_rename(self):
        """F2: put the cursor in the inspector's id field of the selected node."""
        if len(self.active.canvas.selected_ids()) == 1:
            self.inspector_dock.show()
            self.inspector_dock.raise_()
            self.inspector.id_edit.setFocus()
            self.inspector.id_edit.selectAll()

    def closeEvent(self, ev):
        if not self.files.maybe_discard("close"):
            ev.ignore()
            return
        self.docks.save()
        self.files.shutdown()
        ev.accept()
