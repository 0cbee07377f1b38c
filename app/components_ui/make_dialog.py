"""The "Make Component" dialog: what a selection of nodes becomes as a composite component.

The user gives the component a type name, a category and a description; names its boundary
ports (inferred by ``engine.composite.infer_boundary`` from the edges that cross the selection);
and ticks the inner parameters to *promote*. A promoted parameter has its own name: ticked inner
parameters given the same name become one promoted parameter driving all of them (their current
values must agree). Each promoted parameter gets a default (empty: the current value), a unit
and a range (empty: the inner parameter's) and a help text.

Everything is checked as it is typed, by the engine itself (``make_component`` on a copy), and
the reason is shown under the tables; "Make Component" is enabled only when it can be done.
``spec()`` is what to pass to ``engine.composite.make_component``.
"""
from __future__ import annotations

import json

from PySide6 import QtCore, QtWidgets

from spark_snn.engine.composite import (COMPOSITE_CATEGORY, CompositeError, Promoted, current_value,
                              infer_boundary, make_component, types_by_category)

from .typeinfo import is_definition_type, type_of

ITEM_FLAGS = QtCore.Qt.ItemIsEnabled | QtCore.Qt.ItemIsSelectable
EDITABLE = ITEM_FLAGS | QtCore.Qt.ItemIsEditable
PROMOTED_FIELDS = ("default", "unit", "min", "max", "help")


def inner_params(graph, ids) -> list[tuple[str, object]]:
    """("node.param", Param) for every parameter of the nodes ``ids`` a component could promote."""
    out = []
    for nid in ids:
        node = graph.nodes[nid]
        t = type_of(graph, node.type)
        if t is None:
            continue
        params = t.params if is_definition_type(t) else t.editable_params(node.params)
        out += [(f"{nid}.{p.name}", p) for p in params]
    return out


def shown(value) -> str:
    """A parameter value as the dialog shows it."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def parse_value(text: str, prm):
    """The value typed for a parameter of ``prm``'s kind (ValueError with the reason)."""
    t = text.strip()
    kind = prm.kind
    if kind == "float":
        return float(t)
    if kind == "int":
        return int(t)
    if kind == "bool":
        if t.lower() in ("true", "1", "yes"):
            return True
        if t.lower() in ("false", "0", "no"):
            return False
        raise ValueError("expected true or false")
    if kind == "floats":
        return [float(x) for x in t.replace(";", ",").split(",") if x.strip()]
    if kind == "choice":
        match = [c for c in prm.choices if str(c) == t]
        if not match:
            raise ValueError("expected one of " + ", ".join(str(c) for c in prm.choices))
        return match[0]
    return text


def add_message_and_buttons(dlg: QtWidgets.QDialog, lay, ok_text: str = "OK") -> None:
    """The bottom of a checking dialog: ``dlg.message`` (why it cannot be done, in red) and
    ``dlg.buttons`` with ``dlg.ok_button``."""
    dlg.message = QtWidgets.QLabel()
    dlg.message.setObjectName("inlineError")
    dlg.message.setWordWrap(True)
    lay.addWidget(dlg.message)
    dlg.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok
                                             | QtWidgets.QDialogButtonBox.Cancel)
    dlg.ok_button = dlg.buttons.button(QtWidgets.QDialogButtonBox.Ok)
    dlg.ok_button.setText(ok_text)
    dlg.buttons.accepted.connect(dlg.accept)
    dlg.buttons.rejected.connect(dlg.reject)
    lay.addWidget(dlg.buttons)


class MakeComponentDialog(QtWidgets.QDialog):
    """See the module docstring. ``graph`` and ``ids``: the graph and the selected nodes."""

    def __init__(self, graph, ids, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Make Component")
        self.setObjectName("makeComponentDialog")
        self.graph = graph
        chosen = set(ids)
        self.ids = [n for n in graph.nodes if n in chosen]
        self.inputs, self.outputs = infer_boundary(graph, self.ids)
        self.params = inner_params(graph, self.ids)
        self._fields: dict[str, dict] = {}   # promoted name -> its typed default, unit, ...
        self._filling = False
        self._build()
        self.resize(980, 760)
        self.validate()

    # -- layout -----------------------------------------------------------------------------
    def _build(self):
        lay = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel(
            f"The {len(self.ids)} selected node(s) ({', '.join(self.ids)}) become one node of a "
            "new type, with the same connections. Its inside can be opened and edited later; "
            "every copy of the component follows.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QtWidgets.QFormLayout()
        self.type_edit = QtWidgets.QLineEdit(self._default_name())
        self.type_edit.setToolTip("the node type's name: letters, digits, '_' and '-', "
                                  "starting with a letter or '_'")
        self.category = QtWidgets.QComboBox()
        self.category.setEditable(True)
        cats = sorted(set(types_by_category(self.graph)) | {COMPOSITE_CATEGORY})
        self.category.addItems(cats)
        self.category.setCurrentText(COMPOSITE_CATEGORY)
        self.category.setToolTip("where the component is listed in the palette")
        self.description = QtWidgets.QLineEdit()
        self.description.setPlaceholderText("what the component is (shown in the palette)")
        self.instance_edit = QtWidgets.QLineEdit()
        self.instance_edit.setPlaceholderText("(the type name)")
        self.instance_edit.setToolTip("the id of the node that replaces the selection")
        form.addRow("Type name", self.type_edit)
        form.addRow("Category", self.category)
        form.addRow("Description", self.description)
        form.addRow("Node id", self.instance_edit)
        lay.addLayout(form)

        lay.addWidget(self._heading(
            "Ports (from the edges that cross the selection; double-click a name to change it)"
            if self.inputs or self.outputs else
            "Ports: no edge crosses the selection, so the component has none (add them later "
            "with Ports and Parameters… in its definition's tab)"))
        self.ports = QtWidgets.QTableWidget(0, 4)
        self.ports.setHorizontalHeaderLabels(["", "Name", "Connects to (inside)", "Signal"])
        self._fill_ports()
        lay.addWidget(self.ports, 2)

        lay.addWidget(self._heading(
            "Inner parameters: tick the ones to promote. Ticked parameters given the same "
            "name become one parameter that sets them all."))
        self.param_filter = QtWidgets.QLineEdit()
        self.param_filter.setPlaceholderText("Filter parameters…")
        self.param_filter.setClearButtonEnabled(True)
        lay.addWidget(self.param_filter)
        self.inner = QtWidgets.QTableWidget(0, 3)
        self.inner.setHorizontalHeaderLabels(["Inner parameter", "Value now", "Promote as"])
        self._fill_inner()
        lay.addWidget(self.inner, 3)

        lay.addWidget(self._heading("Promoted parameters (empty default: the value now; empty "
                                    "unit or range: the inner parameter's)"))
        self.promoted = QtWidgets.QTableWidget(0, 7)
        self.promoted.setHorizontalHeaderLabels(["Name", "Sets", "Default", "Unit", "Min", "Max",
                                                 "Help"])
        lay.addWidget(self.promoted, 2)

        add_message_and_buttons(self, lay, "Make Component")

        for w in (self.type_edit, self.instance_edit, self.description):
            w.textChanged.connect(self.validate)
        self.category.currentTextChanged.connect(self.validate)
        self.ports.itemChanged.connect(self.validate)
        self.inner.itemChanged.connect(self._inner_changed)
        self.promoted.itemChanged.connect(self._promoted_changed)
        self.param_filter.textChanged.connect(self._filter)

    @staticmethod
    def _heading(text):
        label = QtWidgets.QLabel(text)
        label.setWordWrap(True)
        label.setObjectName("hint")
        return label

    def _default_name(self) -> str:
        i = 1
        while type_of(self.graph, f"component{i}") is not None:
            i += 1
        return f"component{i}"

    def _port_kind(self, ref: str, inputs: bool) -> str:
        from ..editing import ports_of
        nid, port = ref.rsplit(".", 1)
        ins, outs = ports_of(self.graph.nodes[nid], {}, self.graph)
        found = {p.name: p for p in (ins if inputs else outs)}.get(port)
        return "" if found is None else f"{found.kind} ({found.size})"

    def _fill_ports(self):
        rows = [("in", p) for p in self.inputs] + [("out", p) for p in self.outputs]
        self.ports.setRowCount(len(rows))
        for r, (way, bp) in enumerate(rows):
            cells = [("input" if way == "in" else "output", ITEM_FLAGS), (bp.name, EDITABLE),
                     (", ".join(bp.targets), ITEM_FLAGS),
                     (self._port_kind(bp.targets[0], way == "in"), ITEM_FLAGS)]
            for c, (text, flags) in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setFlags(flags)
                if c == 1:
                    item.setData(QtCore.Qt.UserRole, f"{way}:{bp.name}")
                self.ports.setItem(r, c, item)
        self.ports.resizeColumnsToContents()
        self.ports.horizontalHeader().setStretchLastSection(True)

    def _fill_inner(self):
        self.inner.setRowCount(len(self.params))
        for r, (ref, prm) in enumerate(self.params):
            name = QtWidgets.QTableWidgetItem(ref)
            name.setFlags(ITEM_FLAGS | QtCore.Qt.ItemIsUserCheckable)
            name.setCheckState(QtCore.Qt.Unchecked)
            name.setToolTip(prm.help)
            try:
                now = shown(current_value(self.graph, ref)) + (f" {prm.unit}" if prm.unit else "")
            except CompositeError:
                now = "(no value)"
            value = QtWidgets.QTableWidgetItem(now)
            value.setFlags(ITEM_FLAGS)
            alias = QtWidgets.QTableWidgetItem(prm.name)
            alias.setFlags(EDITABLE)
            for c, item in enumerate((name, value, alias)):
                self.inner.setItem(r, c, item)
        self.inner.resizeColumnsToContents()
        self.inner.horizontalHeader().setStretchLastSection(True)

    def _filter(self, text):
        words = text.lower().split()
        for r, (ref, prm) in enumerate(self.params):
            hay = f"{ref} {prm.help}".lower()
            self.inner.setRowHidden(r, not all(w in hay for w in words))

    # -- reading the tables --------------------------------------------------------------------
    def groups(self) -> dict[str, list[str]]:
        """Promoted name -> the inner parameters it sets ("node.param"), in table order."""
        out: dict[str, list[str]] = {}
        for r, (ref, _prm) in enumerate(self.params):
            if self.inner.item(r, 0).checkState() == QtCore.Qt.Checked:
                name = self.inner.item(r, 2).text().strip()
                out.setdefault(name, []).append(ref)
        return out

    def _param_spec(self, ref: str):
        return dict(self.params)[ref]

    def _inner_changed(self, _item=None):
        if self._filling:
            return
        self._fill_promoted()
        self.validate()

    def _fill_promoted(self):
        self._filling = True
        try:
            groups = self.groups()
            self.promoted.setRowCount(len(groups))
            for r, (name, refs) in enumerate(groups.items()):
                fields = self._fields.setdefault(name, {k: "" for k in PROMOTED_FIELDS})
                first = self._param_spec(refs[0])
                if not fields["help"] and first.help:
                    fields["help"] = first.help
                cells = [(name, ITEM_FLAGS), (", ".join(refs), ITEM_FLAGS)] + \
                    [(fields[k], EDITABLE) for k in PROMOTED_FIELDS]
                for c, (text, flags) in enumerate(cells):
                    item = QtWidgets.QTableWidgetItem(text)
                    item.setFlags(flags)
                    self.promoted.setItem(r, c, item)
                placeholder = {"unit": first.unit, "min": first.min, "max": first.max}
                for c, k in enumerate(PROMOTED_FIELDS, start=2):
                    if k in placeholder and placeholder[k] not in (None, ""):
                        self.promoted.item(r, c).setToolTip(f"empty: {placeholder[k]}")
            self.promoted.resizeColumnsToContents()
            self.promoted.horizontalHeader().setStretchLastSection(True)
        finally:
            self._filling = False

    def _promoted_changed(self, item):
        if self._filling:
            return
        name = self.promoted.item(item.row(), 0).text()
        key = PROMOTED_FIELDS[item.column() - 2] if item.column() >= 2 else None
        if key is not None:
            self._fields.setdefault(name, {k: "" for k in PROMOTED_FIELDS})[key] = item.text()
        self.validate()

    def _promoted_list(self) -> list[Promoted]:
        """The promoted parameters as typed (ValueError naming the field that is wrong)."""
        out = []
        for name, refs in self.groups().items():
            f = self._fields.get(name, {k: "" for k in PROMOTED_FIELDS})
            prm = self._param_spec(refs[0])
            p = Promoted(name, list(refs), None, help=f["help"].strip())
            try:
                if f["default"].strip():
                    p.default = parse_value(f["default"], prm)
                for key in ("min", "max"):
                    if f[key].strip():
                        setattr(p, key, float(f[key]))
            except ValueError as exc:
                raise ValueError(f"promoted parameter '{name}': {exc}") from None
            if f["unit"].strip():
                p.unit = f["unit"].strip()
            out.append(p)
        return out

    def spec(self) -> dict:
        """The keyword arguments of ``make_component`` for what the dialog shows (ValueError
        for a value that cannot be read)."""
        names = {}
        for r in range(self.ports.rowCount()):
            item = self.ports.item(r, 1)
            key = item.data(QtCore.Qt.UserRole)
            if item.text().strip() != key.split(":", 1)[1]:
                names[key] = item.text().strip()
        return {"type_name": self.type_edit.text().strip(),
                "category": self.category.currentText().strip() or COMPOSITE_CATEGORY,
                "description": self.description.text().strip(),
                "port_names": names,
                "promoted": self._promoted_list(),
                "instance_id": self.instance_edit.text().strip() or None}

    def problem(self) -> str:
        """Why the component cannot be made as the dialog stands ("" when it can)."""
        try:
            spec = self.spec()
        except ValueError as exc:
            return str(exc)
        if not spec["category"]:
            return "give the component a category"
        for name in self.groups():
            if not name:
                return "a ticked parameter has no name to be promoted as"
        try:
            make_component(self.graph, self.ids, **spec)
        except CompositeError as exc:
            return str(exc)
        return ""

    def validate(self) -> bool:
        """Check the dialog now; shows the reason and enables "Make Component" accordingly."""
        if self._filling:
            return False
        why = self.problem()
        self.message.setText(f"Cannot make the component: {why}" if why else "")
        self.message.setVisible(bool(why))
        self.ok_button.setEnabled(not why)
        return not why

    def accept(self):
        if self.validate():  # (never accepted while it says why it cannot be done)
            super().accept()

    # -- helpers for scripts and tests ---------------------------------------------------------
    def promote(self, ref: str, name: str | None = None, **fields) -> None:
        """Tick inner parameter ``ref`` ("node.param"), promoted as ``name``; ``fields`` sets
        its default, unit, min, max or help (as typed text)."""
        r = [p[0] for p in self.params].index(ref)
        if name is not None:
            self.inner.item(r, 2).setText(name)
        self.inner.item(r, 0).setCheckState(QtCore.Qt.Checked)
        name = self.inner.item(r, 2).text().strip()
        for key, text in fields.items():
            row = list(self.groups()).index(name)
            self.promoted.item(row, 2 + PROMOTED_FIELDS.index(key)).setText(str(text))

    def name_port(self, way: str, inferred: str, name: str) -> None:
        """Rename the inferred port ``inferred`` (``way`` "in" or "out") to ``name``."""
        for r in range(self.ports.rowCount()):
            if self.ports.item(r, 1).data(QtCore.Qt.UserRole) == f"{way}:{inferred}":
                self.ports.item(r, 1).setText(name)
                return
        raise KeyError(f"{way}:{inferred}")
