"""A composite component's definition in its own canvas tab.

``DefinitionTab`` edits the inside of one definition (its inner nodes and edges) with the same
parts as the network: a Document with its own undo history, a Canvas, the editing commands
(app/editing.py) and the clipboard (app/clipboard.py); the window's menus, shortcuts and
inspector act on it while its tab is in front (``window.active``). Edits stay in the tab until
"Save Definition" puts the definition back into the network's graph through
``engine.composite.update_definition``: one undo step there, after which every instance
follows (and a running model asks to be rebuilt, as for any structural change).

The tab is checked as it is edited (``engine.composite.analyze_definition`` on the network with
the edited definition in place): problems name the component and the inner node, a definition
that would contain itself is named with its cycle.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from spark_snn.engine.composite import (CompositeError, Types, analyze_definition, definition_graph,
                              merge_definitions, update_definition, with_body)
from spark_snn.engine.problems import Problem

from ..canvas import Canvas
from ..clipboard import Clipboard
from ..document import Document
from ..editing import GraphEditor

VALIDATE_DELAY_MS = 250
BOUNDARY_COLOR = (110, 230, 230)   # the labels of the inner ports the component's ports map to


class DefinitionTab(QtCore.QObject):
    """The canvas tab of component ``type_name`` of the network open in ``ui.w``."""

    def __init__(self, ui, type_name: str):
        super().__init__(ui)
        self.ui = ui
        self.w = ui.w
        self.type_name = type_name
        self.inspector = self.w.inspector
        self.doc = Document(self)
        self.canvas = Canvas(self)
        self.edits = GraphEditor(self)
        self.clipboard = Clipboard(self)
        self.base = None          # the definition as the tab last loaded or saved it
        self.renamed: dict = {}   # its inner node ids -> their ids in the tab now
        self.problems: list = []
        self._markers: list = []
        self.widget = QtWidgets.QWidget()
        self.widget.setObjectName("definitionTab")
        lay = QtWidgets.QVBoxLayout(self.widget)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self._header())
        lay.addWidget(self.canvas.widget, 1)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(VALIDATE_DELAY_MS)
        self._timer.timeout.connect(self.validate_now)
        self._wire()
        self.load()

    def _header(self) -> QtWidgets.QWidget:
        bar = QtWidgets.QFrame()
        bar.setObjectName("definitionBar")
        h = QtWidgets.QHBoxLayout(bar)
        h.setContentsMargins(8, 4, 8, 4)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        h.addWidget(self.label, 1)
        self.save_button = QtWidgets.QPushButton("Save Definition")
        self.save_button.setToolTip("Put these changes into the network: every instance of "
                                    "the component follows (Ctrl+Shift+Return)")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QtWidgets.QPushButton("Revert")
        self.revert_button.setToolTip("Drop the changes made here since the last save")
        self.revert_button.clicked.connect(self.revert)
        self.ports_button = QtWidgets.QPushButton("Ports and Parameters…")
        self.ports_button.setToolTip("Name, category, description, boundary ports and promoted "
                                     "parameters of the component")
        self.ports_button.clicked.connect(lambda: self.ui.edit_interface(self))
        for b in (self.ports_button, self.revert_button, self.save_button):
            h.addWidget(b)
        return bar

    def _wire(self):
        c = self.canvas
        self.doc.changed.connect(self._on_changed)
        self.doc.replaced.connect(self._on_replaced)
        self.doc.undo.cleanChanged.connect(lambda _c: self.ui.update_tab_title(self))
        self.edits.listen_to(c)
        c.selection_changed.connect(self.show_inspector)
        c.node_activated.connect(lambda n: self.ui.open_definition_of(self, n))
        self.w.menus.attach_canvas(c)
        self.w.menus.undo_group.addStack(self.doc.undo)

    # -- the window interface the editing commands use ------------------------------------------
    @property
    def graph(self):
        return self.doc.graph

    @property
    def dirty(self) -> bool:
        return self.doc.dirty

    def status(self, message: str) -> None:
        self.w.status(message)

    def statusBar(self):
        return self.w.statusBar()

    def select_node(self, node_id: str, frame: bool = False) -> None:
        if node_id in self.graph.nodes:
            self.canvas.select([node_id], frame=frame)

    @property
    def in_front(self) -> bool:
        return self.w.active is self

    # -- loading, saving ------------------------------------------------------------------------
    def definition(self):
        """The network's current definition of this component (None when it has none)."""
        return Types(self.w.graph).definition(self.type_name)

    def load(self) -> None:
        """Show the network's definition (the tab's history starts again)."""
        self.base = self.definition().copy()
        self.renamed = {n: n for n in self.base.nodes}
        self.doc.replace(definition_graph(self.w.graph, self.type_name), None)
        self.ui.update_tab_title(self)

    def revert(self) -> None:
        self.load()
        self.status(f"Component '{self.type_name}': changes dropped")

    def candidate(self):
        """The definition as the tab shows it: the network's ports and promoted parameters
        (they are edited with "Ports and Parameters…") following the inner nodes renamed
        here, and the tab's inner nodes and edges."""
        d = with_body(self.definition() or self.base, self.graph)

        def follow(ref):
            nid, name = ref.rsplit(".", 1)
            return f"{self.renamed.get(nid, nid)}.{name}"
        for p in d.inputs + d.outputs:
            p.targets = [follow(t) for t in p.targets]
        for p in d.params:
            p.drives = [follow(r) for r in p.drives]
        return d

    def _new_components(self) -> dict:
        """Components the tab made or added that the network does not have yet."""
        return {k: d for k, d in self.graph.definitions.items()
                if k != self.type_name and k not in self.w.graph.definitions}

    def trial(self):
        """The network's graph with the tab's definition in place (CompositeError: it cannot
        be put there, e.g. it would contain itself)."""
        g = merge_definitions(self.w.graph, self._new_components())[0]
        return update_definition(g, self.candidate())

    def save(self) -> bool:
        """Put the edited definition into the network (one undo step there); every instance
        follows. Refused, with the reason, when it cannot be done."""
        try:
            new = self.trial()
        except CompositeError as exc:
            self.ui.refuse(f"Cannot save component '{self.type_name}'", str(exc))
            return False
        self.w.doc.apply(f"update component {self.type_name}", new)
        self.base = self.definition().copy()
        self.renamed = {n: n for n in self.base.nodes}
        self.doc.undo.setClean()
        users = self.users()
        self.status(f"Saved component '{self.type_name}'"
                    + (f": {', '.join(users)} updated" if users else ""))
        return True

    def users(self) -> list[str]:
        """The network's instances of the component, and the components that contain it."""
        g = self.w.graph
        return [n for n, node in g.nodes.items() if node.type == self.type_name] + \
            [f"component '{k}'" for k, d in g.definitions.items() if self.type_name in d.uses()]

    def follow_network(self) -> bool:
        """The network changed: reload a tab without changes of its own when its definition
        changed there, and take the network's other definitions (nested components). False
        when the definition is gone from the network (the tab should close)."""
        current = self.definition()
        if current is None:
            return False
        if not self.dirty and current != self.base:
            self.load()
            return True
        changed = False
        for k, d in self.w.graph.definitions.items():
            if k != self.type_name and self.graph.definitions.get(k) != d:
                self.graph.definitions[k] = d.copy()
                changed = True
        if changed:
            self.edits.port_cache.clear()
            self.canvas.sync(self.graph, self.edits.ports_for)
            self.mark_boundary()
            self.schedule_validation()
        return True

    # -- reacting to edits ----------------------------------------------------------------------
    def _on_changed(self, _kind, _node, _param, rename):
        self.edits.redraw(rename)
        if rename:
            old, new = rename
            # the component's ports and parameters follow a renamed inner node (undo too)
            self.renamed = {k: (new if v == old else v) for k, v in self.renamed.items()}
            if self.in_front:
                self.inspector.node_ids = [new if n == old else n
                                           for n in self.inspector.node_ids]
        self.mark_boundary()
        self.show_inspector()
        self.ui.update_tab_title(self)
        self.schedule_validation()

    def _on_replaced(self):
        self.edits.port_cache.clear()
        self.canvas.cancel_gestures()
        self.canvas.sync(self.graph, self.edits.ports_for)
        self.mark_boundary()
        self.canvas.select([])
        QtCore.QTimer.singleShot(0, self.canvas.fit)
        self.validate_now()

    def schedule_validation(self) -> None:
        self._timer.start()

    def validate_now(self) -> list:
        """Check the definition as the tab shows it; mark its nodes; list the problems when
        the tab is in front."""
        self._timer.stop()
        try:
            self.problems = analyze_definition(self.trial(), self.type_name)
        except CompositeError as exc:
            self.problems = [Problem(str(exc), definition=self.type_name)]
        self.present_problems()
        return self.problems

    def present_problems(self) -> None:
        by_node: dict[str, list[str]] = {}
        for p in self.problems:
            if p.node is not None and p.definition == self.type_name:
                by_node.setdefault(p.node, []).append(str(p))
        self.canvas.set_problems(by_node)
        if self.in_front:
            self.w.problems_panel.set_problems(self.problems, f"component '{self.type_name}'")
            self.inspector.refresh([p for p in self.problems if p.definition == self.type_name])

    def show_inspector(self) -> None:
        """The inspector shows the selected inner nodes (or what the component is)."""
        if not self.in_front:
            return
        ids = self.canvas.selected_ids()
        if ids:
            mine = [p for p in self.problems if p.definition == self.type_name]
            self.inspector.show_selection(self.graph, ids, mine, network=False)
            return
        d = self.candidate()
        ins = ", ".join(f"{p.name} → {', '.join(p.targets)}" for p in d.inputs) or "none"
        outs = ", ".join(f"{p.name} ← {p.targets[0]}" for p in d.outputs) or "none"
        params = ", ".join(f"{p.name} → {', '.join(p.drives)}" for p in d.params) or "none"
        self.inspector.show_note(
            self.graph, f"Component '{self.type_name}'",
            f"{d.category}\n{d.description}\n\nInputs: {ins}\nOutputs: {outs}\n"
            f"Promoted parameters: {params}\n\nUsed by: "
            f"{', '.join(self.users()) or 'nothing yet'}.\nEdit the inside here, then Save "
            "Definition (Ctrl+Shift+Return): every instance follows.")

    def mark_boundary(self) -> None:
        """Label the inner ports the component's ports map to ("in ▶" before an inner input
        an input feeds, "▶ spikes" after the inner output an output reads)."""
        for item in self._markers:
            try:
                item.setParentItem(None)
                if item.scene() is not None:
                    item.scene().removeItem(item)
            except RuntimeError:  # its node was redrawn: gone with it
                pass
        self._markers = []
        d = self.candidate()
        marks = [(t, f"{bp.name} ▶", True) for bp in d.inputs for t in bp.targets] + \
            [(bp.targets[0], f"▶ {bp.name}", False) for bp in d.outputs]
        for ref, text, inputs in marks:
            nid, port = ref.rsplit(".", 1)
            node = self.canvas.node_for(nid)
            ports = (node.inputs() if inputs else node.outputs()) if node is not None else {}
            if port not in ports:
                continue
            pv = ports[port].view
            label = QtWidgets.QGraphicsSimpleTextItem(text, node.view)
            label.setBrush(QtGui.QColor(*BOUNDARY_COLOR))
            font = label.font()
            font.setBold(True)
            font.setPointSizeF(8.5)
            label.setFont(font)
            label.setToolTip(f"the component's {'input' if inputs else 'output'} port "
                             f"'{text.strip('▶ ')}'")
            r = pv.boundingRect()
            w, h = label.boundingRect().width(), label.boundingRect().height()
            x = pv.pos().x() - w - 4 if inputs else pv.pos().x() + r.width() + 4
            label.setPos(x, pv.pos().y() + (r.height() - h) / 2)
            label.setZValue(5)
            self._markers.append(label)
