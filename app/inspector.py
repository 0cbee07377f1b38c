"""The inspector: typed editors for the selected node's parameters (or the graph settings).

One editor per parameter, chosen by kind: float -> spin box with unit suffix and range, int ->
spin box, choice -> combo box, bool -> check box, str -> line edit, text -> the model-text
editor (app/model_editor.py), floats -> comma-separated line edit (the boxes:
app/param_boxes.py); an equation-defined node's parameters follow its model text, and
unapplied edits of the text are never dropped silently: before another selection is shown the
inspector asks whether to apply them. Help text is the tooltip; a value that is invalid
(``engine.validate.check_value``, or a validation problem naming that parameter) is flagged in
red under its editor with the reason.
Several selected nodes of one type are edited together (a parameter whose values differ is
marked "mixed"). A composite instance shows its component's promoted parameters. The node id
is editable (rename). Emits requests; the editor applies them as
undoable commands and then calls ``refresh``.
"""
from __future__ import annotations

import json
import math

from PySide6 import QtCore, QtWidgets

from spark_snn.components.base import Param
from spark_snn.engine.graph import SETTINGS_SPEC, Graph
from spark_snn.engine.validate import check_value

from .model_editor import ModelEditor, ModelSlot
from .components_ui.typeinfo import is_definition_type, type_of
from .param_boxes import FloatBox, IntBox, WheelGuard


def settings_params() -> list[Param]:
    """The graph settings (dt, seed, dtype) described as Params, for the same editors."""
    out = []
    for key, (kind, unit, helptext, lo, hi) in SETTINGS_SPEC.items():
        if kind == "choice":
            out.append(Param(key, kind, lo[0], choices=tuple(lo), help=helptext))
        else:
            out.append(Param(key, kind, 0, unit=unit, min=lo, max=hi, help=helptext,
                             min_exclusive=(key == "dt")))
    return out


def format_floats(values) -> str:
    return ", ".join(f"{v:g}" for v in values) if isinstance(values, list) else str(values)


def parse_floats(text: str):
    parts = [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]
    return [float(t) for t in parts]


class ParamRow:
    """The editor, label and inline error of one parameter."""

    def __init__(self, prm: Param, on_commit, text_editor=None):
        self.prm = prm
        self.on_commit = on_commit
        self.text_editor = text_editor  # a ModelEditor for a text parameter
        self.label = QtWidgets.QLabel(prm.name)
        self.error = QtWidgets.QLabel("")
        self.error.setObjectName("inlineError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.editor = self._make()
        tip = prm.help or prm.name
        extra = []
        if prm.kind in ("float", "int", "floats") and (prm.min is not None or prm.max is not None):
            extra.append(f"range {prm.range_text()}{(' ' + prm.unit) if prm.unit else ''}")
        if prm.kind == "float":
            extra.append("live: editable while running" if prm.live else "structural: rebuilds the model")
        if prm.start is not None:
            extra.append(f"a new node starts at {prm.start:g}; a file that leaves it out means "
                         f"{prm.default:g}" if isinstance(prm.start, (int, float))
                         else f"a new node starts at {prm.start!r}")
        if extra:
            tip += "\n(" + "; ".join(extra) + ")"
        self.label.setToolTip(tip)
        self.editor.setToolTip(tip)
        self._value = None

    def _make(self):
        p = self.prm
        if p.kind in ("float", "int"):
            w = FloatBox() if p.kind == "float" else IntBox()
            w.set_soft_range(p.min, p.max)
            if p.unit:
                w.setSuffix(f" {p.unit}")
            w.editingFinished.connect(lambda: self.on_commit(self, w.value()))
            return w
        if p.kind == "choice":
            w = QtWidgets.QComboBox()
            w.addItems([str(c) for c in p.choices])
            w.activated.connect(lambda i: self.on_commit(self, p.choices[i]))
            return w
        if p.kind == "bool":
            w = QtWidgets.QCheckBox()
            w.toggled.connect(lambda v: self.on_commit(self, bool(v)))
            return w
        if p.kind == "text":
            if self.text_editor is not None:
                return self.text_editor  # (it reports applied texts itself: ModelSlot)
            w = ModelEditor(title=p.name)
            w.applied.connect(lambda text: self.on_commit(self, text))
            return w
        w = QtWidgets.QLineEdit()
        if p.kind == "floats":
            w.setPlaceholderText("comma-separated numbers")

            def commit():
                try:
                    vals = parse_floats(w.text())
                except ValueError:
                    self.show_error("expected comma-separated numbers, e.g. 0.5, 1, 2")
                    return
                self.on_commit(self, vals)
            w.editingFinished.connect(commit)
        else:
            w.editingFinished.connect(lambda: self.on_commit(self, w.text()))
        return w

    def set_value(self, value, mixed: bool = False) -> None:
        """Show ``value`` without emitting a commit."""
        self._value = value
        w = self.editor
        w.blockSignals(True)
        try:
            k = self.prm.kind
            if k in ("float", "int") and isinstance(value, (int, float)) and not isinstance(value, bool):
                if k == "float" and math.isfinite(value):
                    w.setValue(float(value))
                elif k == "int":
                    w.setValue(int(value))
            elif k == "choice":
                i = w.findText(str(value))
                if i < 0 and value is not None:
                    w.addItem(str(value))
                    i = w.findText(str(value))
                w.setCurrentIndex(i)
            elif k == "bool":
                w.setChecked(bool(value))
            elif k == "floats":
                w.setText(format_floats(value))
            elif k == "str":
                w.setText("" if value is None else str(value))
            elif k == "text":
                w.set_text("" if value is None else str(value))
        finally:
            w.blockSignals(False)
        f = self.label.font()
        f.setItalic(mixed)
        self.label.setFont(f)
        self.label.setText(self.prm.name + ("  (mixed)" if mixed else ""))

    def show_error(self, message: str | None) -> None:
        if isinstance(self.editor, ModelEditor) and self.editor.check_fn is not None:
            message = None  # the editor checks its text itself and marks the errors
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        self.editor.setProperty("invalid", bool(message))
        self.editor.style().unpolish(self.editor)
        self.editor.style().polish(self.editor)


class Inspector(QtWidgets.QScrollArea):
    """Editors for the selection; see the module docstring."""

    param_edit_requested = QtCore.Signal(list, str, object)  # node ids, param, value
    setting_edit_requested = QtCore.Signal(str, object)
    rename_requested = QtCore.Signal(str, str)
    save_component_requested = QtCore.Signal(str)  # node id (the model editor's button)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self._body = QtWidgets.QWidget()
        self.setWidget(self._body)
        self._layout = QtWidgets.QVBoxLayout(self._body)
        self._layout.setContentsMargins(8, 8, 8, 8)
        self.title = QtWidgets.QLabel()
        self.title.setObjectName("inspectorTitle")
        self.title.setWordWrap(True)
        self.subtitle = QtWidgets.QLabel()
        self.subtitle.setWordWrap(True)
        self.subtitle.setObjectName("hint")
        self.id_edit = QtWidgets.QLineEdit()
        self.id_edit.setToolTip("node id: unique, letters, digits, _ and - (edges follow a rename)")
        self.id_error = QtWidgets.QLabel()
        self.id_error.setObjectName("inlineError")
        self.id_error.hide()
        self.id_row = QtWidgets.QWidget()
        idl = QtWidgets.QFormLayout(self.id_row)
        idl.setContentsMargins(0, 0, 0, 0)
        idl.addRow("id", self.id_edit)
        idl.addRow("", self.id_error)
        self.raw_params = QtWidgets.QPlainTextEdit()  # an unknown type's params, as in the file
        self.raw_params.setReadOnly(True)
        self.raw_params.setObjectName("rawParams")
        self.raw_params.setToolTip("The parameters as written in the file: kept and saved "
                                   "unchanged (the type is not installed, so they cannot be "
                                   "edited here)")
        self.raw_params.hide()
        self.form_host = QtWidgets.QWidget()
        self.form = QtWidgets.QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 6, 0, 0)
        self.form.setLabelAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
        self.form.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
        self.actions_host = QtWidgets.QWidget()
        self.actions_layout = QtWidgets.QVBoxLayout(self.actions_host)
        self.actions_layout.setContentsMargins(0, 6, 0, 0)
        for w in (self.title, self.subtitle, self.id_row, self.raw_params, self.form_host,
                  self.actions_host):
            self._layout.addWidget(w)
        self._layout.addStretch(1)
        self.id_edit.editingFinished.connect(self._rename)
        self.rows: dict[str, ParamRow] = {}
        self.node_ids: list[str] = []
        self._type = None
        self._graph: Graph | None = None
        self.network = True   # False while showing the inside of a component's definition
        self._actions: list[tuple[str, object]] = []
        self._action_buttons: list[QtWidgets.QPushButton] = []
        self._wheel_guard = WheelGuard(self)
        self.model_slot = ModelSlot(self._ask_apply,
                                    lambda name, text: self._commit(self.rows[name], text),
                                    lambda: self.node_ids and
                                    self.save_component_requested.emit(self.node_ids[0]))

    # -- public ---------------------------------------------------------------------------------
    def add_action(self, text: str, callback, applies=None, everywhere: bool = False) -> None:
        """A button acting on the selected node: ``callback(node_id)``; shown only when
        ``applies(node_id)`` (if given) holds for every selected node. Only for the nodes of
        the network (not those inside a component's definition) unless ``everywhere``."""
        btn = QtWidgets.QPushButton(text)
        btn.clicked.connect(lambda: [callback(n) for n in list(self.node_ids)])
        btn.applies = applies
        btn.everywhere = everywhere
        self.actions_layout.addWidget(btn)
        self._action_buttons.append(btn)
        self._show_actions(bool(self.node_ids))

    def show_selection(self, graph: Graph, node_ids: list[str], problems=(),
                       network: bool = True) -> None:
        """Show editors for ``node_ids`` (all of one type), or the graph settings for none.
        ``network`` False: the nodes are inside a component's definition (its own tab)."""
        self._graph = graph
        self.network = network
        node_ids = [n for n in node_ids if n in graph.nodes]
        types = {graph.nodes[n].type for n in node_ids}
        if len(types) > 1:
            self.model_slot.leave(self.node_ids)
            self._clear_form()
            self.node_ids = []
            self._type = None
            self.raw_params.hide()
            self.title.setText(f"{len(node_ids)} nodes of {len(types)} types")
            self.subtitle.setText("Select nodes of one type to edit them together.")
            self.id_row.hide()
            self._show_actions(False)
            return
        key = (tuple(node_ids), next(iter(types)) if types else None)
        names = tuple(p.name for p in self._params_of(graph, node_ids, key[1]))
        if key != (tuple(self.node_ids), self._type):
            self.model_slot.leave(self.node_ids)
        if key != (tuple(self.node_ids), self._type) or not self.rows \
                or (node_ids and names != tuple(self.rows)):
            self._build(graph, node_ids, key[1])
        self.refresh(problems)

    def show_note(self, graph: Graph, title: str, text: str) -> None:
        """No editors: a title and a text (what a definition's tab shows with nothing
        selected)."""
        self._graph = graph
        self.network = False
        self._clear_form()
        self.node_ids = []
        self._type = ("note", title)
        self.raw_params.hide()
        self.id_row.hide()
        self.title.setText(title)
        self.subtitle.setText(text)
        self._show_actions(False)

    def refresh(self, problems=()) -> None:
        """Put the graph's current values into the editors and flag invalid ones."""
        g = self._graph
        if g is None:
            return
        if self.node_ids and any(n not in g.nodes for n in self.node_ids):
            self.show_selection(g, [n for n in self.node_ids if n in g.nodes], problems)
            return
        if self.node_ids and tuple(self.rows) != tuple(
                p.name for p in self._params_of(g, self.node_ids, self._type)):
            self._build(g, self.node_ids, self._type)  # a model text declared other parameters
        by_param: dict[str, list[str]] = {}
        for p in problems:
            if p.param is not None and (p.node in self.node_ids or (not self.node_ids and p.node is None)):
                prefix = f"{p.node}: " if p.node and len(self.node_ids) > 1 else ""
                by_param.setdefault(p.param, []).append(prefix + p.message)
        if self.node_ids:
            nodes = [g.nodes[n] for n in self.node_ids]
            for name, row in self.rows.items():
                default = row.prm.default if not row.prm.required else None
                values = [n.params.get(name, default) for n in nodes]
                mixed = any(v != values[0] for v in values[1:])
                row.set_value(values[0], mixed)
                msgs = []
                for nid, v in zip(self.node_ids, values):
                    if v is None and row.prm.required:
                        msgs.append("a value is required")
                        continue
                    why = check_value(row.prm, v)
                    if why:
                        msgs.append((f"{nid}: " if len(nodes) > 1 else "") + why)
                msgs += [m for m in by_param.get(name, []) if not any(m.endswith(x) for x in msgs)]
                row.show_error("\n".join(dict.fromkeys(msgs)))
            if len(nodes) == 1:
                self.id_edit.setText(self.node_ids[0])
        else:
            for name, row in self.rows.items():
                v = g.settings.get(name)
                row.set_value(v)
                why = check_value(row.prm, v) if v is not None else None
                row.show_error(why or "\n".join(by_param.get(name, [])))

    def row(self, name: str) -> ParamRow:
        return self.rows[name]

    def apply_pending(self) -> None:
        """Apply the model editor's unapplied changes (before a save, a close, an open)."""
        self.model_slot.apply_pending()

    def _ask_apply(self, node_ids: list[str], text: str) -> None:
        """Unapplied model-text changes of nodes no longer shown: ask whether to apply them
        (see ModelSlot); nodes deleted since are left alone."""
        ids = [n for n in node_ids if self._graph is not None and n in self._graph.nodes]
        box = QtWidgets.QMessageBox
        if ids and box.question(self, "Unapplied model text",
                                f"The model text of {', '.join(repr(n) for n in ids)} has "
                                "changes that were not applied. Apply them?",
                                box.Apply | box.Discard, box.Apply) == box.Apply:
            self.param_edit_requested.emit(ids, "model", text)

    # -- internals -------------------------------------------------------------------------------
    def _clear_form(self):
        self.model_slot.detach()
        while self.form.rowCount():
            self.form.removeRow(0)
        self.rows = {}

    def _show_actions(self, on: bool):
        for b in self._action_buttons:
            b.setVisible(on and (self.network or b.everywhere)
                         and (b.applies is None or all(b.applies(n) for n in self.node_ids)))

    @staticmethod
    def _params_of(graph, node_ids, type_name) -> list[Param]:
        """The parameters the selected nodes share (per node: an equation-defined node's
        parameters come from its model text; host-written outputs are not settings; a
        composite instance's are its component's promoted parameters)."""
        cls = type_of(graph, type_name) if node_ids else None
        if cls is None:
            return []
        if is_definition_type(cls):
            return list(cls.params)
        lists = [cls.editable_params(graph.nodes[n].params) for n in node_ids]
        return [p for p in lists[0] if all(p in other for other in lists[1:])]

    def _build(self, graph, node_ids, type_name):
        cls = None
        self._clear_form()
        self.raw_params.hide()
        self.node_ids = list(node_ids)
        self._type = type_name
        self.id_error.hide()
        if not node_ids:
            self.title.setText("Simulation settings")
            self.subtitle.setText("Nothing selected: these settings apply to the whole graph.")
            self.id_row.hide()
            params = settings_params()
            self._show_actions(False)
        else:
            cls = type_of(graph, type_name)
            self._show_actions(True)
            if cls is None:
                self.title.setText(f"Unknown type '{type_name}'")
                self.subtitle.setText(
                    "This node type is not installed. The node, its parameters and its edges "
                    "are kept exactly as in the file and saved back unchanged; the graph "
                    "cannot run until the type is installed or the node is replaced.")
                self.id_row.setVisible(len(node_ids) == 1)
                params = [graph.nodes[n].params for n in node_ids]
                self.raw_params.setPlainText(json.dumps(params[0] if len(params) == 1 else params,
                                                        indent=2, ensure_ascii=False))
                self.raw_params.show()
                return
            many = len(node_ids) > 1
            self.title.setText(f"{cls.title}" + (f"  ×{len(node_ids)}" if many else ""))
            self.subtitle.setText(f"{cls.type_name} · {cls.category}\n{cls.description}")
            if is_definition_type(cls):
                self.subtitle.setText(
                    f"{cls.type_name} · {cls.category} · composite component\n"
                    f"{cls.description}\nIts promoted parameters: a value equal to the "
                    "component's default is not stored, so the instance follows the default.")
            self.id_row.setVisible(not many)
            params = self._params_of(graph, node_ids, type_name)
        for prm in params:
            row = ParamRow(prm, self._commit, self.model_slot.editor(
                cls, prm.name, self.node_ids, type_name) if prm.kind == "text" else None)
            self._wheel_guard.guard(row.editor)
            self.rows[prm.name] = row
            cell = QtWidgets.QWidget()
            v = QtWidgets.QVBoxLayout(cell)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(1)
            v.addWidget(row.editor)
            v.addWidget(row.error)
            if prm.kind == "text":  # the code editor gets the whole width
                self.form.addRow(cell)
                row.label.hide()
            else:
                self.form.addRow(row.label, cell)
        self.model_slot.attached()

    def _commit(self, row: ParamRow, value):
        g = self._graph
        if g is None:
            return

        def same(old):
            if row.prm.kind == "float" and isinstance(old, (int, float)) \
                    and not isinstance(old, bool):
                return float(old) == float(value)  # 20 in a file equals 20.0 in the box
            return old == value and type(old) is type(value)
        if self.node_ids:
            default = row.prm.default if not row.prm.required else None
            if all(same(g.nodes[n].params.get(row.prm.name, default))
                   for n in self.node_ids if n in g.nodes):
                return
            self.param_edit_requested.emit(list(self.node_ids), row.prm.name, value)
        else:
            if same(g.settings.get(row.prm.name)):
                return
            self.setting_edit_requested.emit(row.prm.name, value)

    def _rename(self):
        if len(self.node_ids) != 1:
            return
        new = self.id_edit.text().strip()
        if new != self.node_ids[0] or not self.id_error.isHidden():
            # (the same id again after a refusal: the editor clears the message)
            self.rename_requested.emit(self.node_ids[0], new)

    def show_rename_error(self, message: str) -> None:
        self.id_error.setText(message)
        self.id_error.setVisible(bool(message))
        if message and self.node_ids:
            self.id_edit.setText(self.node_ids[0])
