"""The "Ports and Parameters" dialog: a component's outside, as its instances see it.

Name, category and description; the boundary ports (an input feeds one or more inner inputs,
written ``exc.syn, inh.syn``; an output reads one inner output, ``exc.spikes``); the promoted
parameters (the inner parameters each one sets, ``exc.tau_m, inh.tau_m``, a default, unit,
range and help). Rows can be added and removed. Renaming a port or a parameter carries the
instances' edges and values over (``engine.composite.update_definition``'s renames). Problems
the changes would bring (a port to a missing inner node, a parameter that sets nothing, a name
that is taken, a cycle) are shown as they are typed and keep OK disabled.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from spark_snn.engine.composite import (BoundaryPort, CompositeError, Promoted, Types,
                              analyze_definition, update_definition)

from .make_dialog import add_message_and_buttons, parse_value, shown

PORT_COLUMNS = ["Name", "Inner ports", "Help"]
PARAM_COLUMNS = ["Name", "Sets", "Default", "Unit", "Min", "Max", "Help"]


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]


class InterfaceDialog(QtWidgets.QDialog):
    """See the module docstring; ``graph`` is the network, ``type_name`` the component."""

    def __init__(self, graph, type_name: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Ports and Parameters of '{type_name}'")
        self.graph = graph
        self.types = Types(graph)
        self.original = self.types.definition(type_name).copy()
        self.before = {self._key(p) for p in analyze_definition(graph, type_name)}
        lay = QtWidgets.QVBoxLayout(self)
        form = QtWidgets.QFormLayout()
        d = self.original
        self.name_edit = QtWidgets.QLineEdit(d.type_name)
        self.category_edit = QtWidgets.QLineEdit(d.category)
        self.description_edit = QtWidgets.QLineEdit(d.description)
        form.addRow("Type name", self.name_edit)
        form.addRow("Category", self.category_edit)
        form.addRow("Description", self.description_edit)
        lay.addLayout(form)
        self.inputs = self._table(lay, "Inputs (each feeds one or more inner inputs)",
                                  PORT_COLUMNS,
                                  [[p.name, ", ".join(p.targets), p.help] for p in d.inputs],
                                  [p.name for p in d.inputs])
        self.outputs = self._table(lay, "Outputs (each reads one inner output)", PORT_COLUMNS,
                                   [[p.name, p.targets[0], p.help] for p in d.outputs],
                                   [p.name for p in d.outputs])
        self.params = self._table(
            lay, "Promoted parameters", PARAM_COLUMNS,
            [[p.name, ", ".join(p.drives), shown(p.default),
              p.unit or "", "" if p.min is None else f"{p.min:g}",
              "" if p.max is None else f"{p.max:g}", p.help] for p in d.params],
            [p.name for p in d.params])
        add_message_and_buttons(self, lay, "Apply")
        for w in (self.name_edit, self.category_edit, self.description_edit):
            w.textChanged.connect(self.validate)
        self.resize(860, 720)
        self.validate()

    def _table(self, lay, title, columns, rows, originals) -> QtWidgets.QTableWidget:
        head = QtWidgets.QHBoxLayout()
        label = QtWidgets.QLabel(title)
        label.setObjectName("hint")
        head.addWidget(label, 1)
        add = QtWidgets.QPushButton("Add")
        remove = QtWidgets.QPushButton("Remove")
        head.addWidget(add)
        head.addWidget(remove)
        lay.addLayout(head)
        t = QtWidgets.QTableWidget(0, len(columns))
        t.setHorizontalHeaderLabels(columns)
        for row, original in zip(rows, originals):
            self._add_row(t, row, original)
        t.resizeColumnsToContents()
        t.horizontalHeader().setStretchLastSection(True)
        t.itemChanged.connect(self.validate)
        add.clicked.connect(lambda: (self._add_row(t, [""] * len(columns), None), self.validate()))
        remove.clicked.connect(lambda: (t.removeRow(t.currentRow()) if t.currentRow() >= 0
                                        else None, self.validate()))
        lay.addWidget(t, 1)
        return t

    @staticmethod
    def _add_row(t, texts, original):
        r = t.rowCount()
        t.blockSignals(True)
        t.insertRow(r)
        for c, text in enumerate(texts):
            item = QtWidgets.QTableWidgetItem(text)
            if c == 0:
                item.setData(QtCore.Qt.UserRole, original)
            t.setItem(r, c, item)
        t.blockSignals(False)

    @staticmethod
    def _cell(t, r, c) -> str:
        item = t.item(r, c)
        return item.text().strip() if item is not None else ""

    def _rows(self, t):
        for r in range(t.rowCount()):
            yield r, t.item(r, 0).data(QtCore.Qt.UserRole), self._cell(t, r, 0)

    # -- the result -----------------------------------------------------------------------------
    def result_definition(self):
        """The definition as the dialog shows it (ValueError for a value it cannot read)."""
        d = self.original.copy()
        d.type_name = self.name_edit.text().strip()
        d.category = self.category_edit.text().strip()
        d.description = self.description_edit.text().strip()
        d.inputs = [BoundaryPort(name, _split(self._cell(self.inputs, r, 1)),
                                 self._cell(self.inputs, r, 2))
                    for r, _o, name in self._rows(self.inputs)]
        d.outputs = [BoundaryPort(name, _split(self._cell(self.outputs, r, 1))[:1],
                                  self._cell(self.outputs, r, 2))
                     for r, _o, name in self._rows(self.outputs)]
        for p in d.inputs + d.outputs:
            if not p.targets:
                raise ValueError(f"port '{p.name}' connects to no inner port (write node.port)")
        d.params = [self._promoted(r, name) for r, _o, name in self._rows(self.params)]
        return d

    def _promoted(self, r, name) -> Promoted:
        cell = lambda c: self._cell(self.params, r, c)  # noqa: E731
        drives = _split(cell(1))
        if not drives:
            raise ValueError(f"parameter '{name}' sets no inner parameter (write node.param)")
        target = self.types.target_param(self.original, drives[0])
        if target is None:
            raise ValueError(f"parameter '{name}': the component has no inner parameter "
                             f"'{drives[0]}'")
        try:
            default = parse_value(cell(2), target)
            lo = float(cell(4)) if cell(4) else None
            hi = float(cell(5)) if cell(5) else None
        except ValueError as exc:
            raise ValueError(f"parameter '{name}': {exc}") from None
        return Promoted(name, drives, default, cell(3) or None, lo, hi, cell(6))

    @staticmethod
    def _key(p) -> tuple:
        return p.message, p.node, p.param, p.port

    def renames(self, t) -> dict:
        return {o: name for _r, o, name in self._rows(t) if o is not None and o != name}

    def updated_graph(self):
        """The network with the changed component (CompositeError or ValueError: why not)."""
        d = self.result_definition()
        ports = {**self.renames(self.inputs), **self.renames(self.outputs)}
        renamed = self.original.type_name if d.type_name != self.original.type_name else None
        return update_definition(self.graph, d, renamed_from=renamed, port_renames=ports,
                                 param_renames=self.renames(self.params))

    def problem(self) -> str:
        """Why the changes cannot be made ("" when they can)."""
        try:
            new = self.updated_graph()
        except (CompositeError, ValueError) as exc:
            return str(exc)
        name = self.name_edit.text().strip()
        fresh = [p for p in analyze_definition(new, name) if self._key(p) not in self.before
                 and p.node is None]
        return str(fresh[0]) if fresh else ""

    def validate(self, *_):
        why = self.problem()
        self.message.setText(f"Cannot apply: {why}" if why else "")
        self.message.setVisible(bool(why))
        self.ok_button.setEnabled(not why)
        return not why
