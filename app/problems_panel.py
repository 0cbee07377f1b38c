"""The problems panel: every validation problem, each naming its node and parameter or port.

Clicking (or activating) a row emits ``node_clicked(node_id)`` so the editor selects and frames
that node. The header line says how many errors and warnings there are.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


class ProblemsPanel(QtWidgets.QWidget):
    """A table of Problems (severity, node, where, message)."""

    node_clicked = QtCore.Signal(str)
    validate_requested = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 6)
        top = QtWidgets.QHBoxLayout()
        self.summary = QtWidgets.QLabel("No problems")
        self.summary.setObjectName("problemSummary")
        self.button = QtWidgets.QPushButton("Validate (F7)")
        self.button.clicked.connect(self.validate_requested)
        top.addWidget(self.summary, 1)
        top.addWidget(self.button)
        lay.addLayout(top)
        self.table = QtWidgets.QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        self.table.setHeaderLabels(["", "Node", "Where", "Problem"])
        self.table.setColumnWidth(0, 28)
        self.table.setColumnWidth(1, 150)
        self.table.setColumnWidth(2, 170)
        self.table.setWordWrap(True)
        lay.addWidget(self.table)
        self.table.itemClicked.connect(self._clicked)
        self.table.itemActivated.connect(self._clicked)
        self.problems: list = []

    def set_problems(self, problems) -> None:
        self.problems = list(problems)
        self.table.clear()
        for p in self.problems:
            where = []
            if p.param:
                where.append(f"param {p.param}")
            if p.port:
                where.append(f"port {p.port}")
            if p.line is not None:
                where.append(f"line {p.line}:{p.column}")
            mark = "●" if p.severity == "error" else "▲"
            item = QtWidgets.QTreeWidgetItem([mark, p.node or "", ", ".join(where), p.message])
            color = QtGui.QColor(240, 90, 90) if p.severity == "error" else QtGui.QColor(240, 190, 70)
            item.setForeground(0, color)
            item.setToolTip(3, str(p))
            item.setData(0, QtCore.Qt.UserRole, p.node or "")
            self.table.addTopLevelItem(item)
        n_err = sum(1 for p in self.problems if p.severity == "error")
        n_warn = len(self.problems) - n_err
        if not self.problems:
            self.summary.setText("No problems: the graph is valid")
        else:
            self.summary.setText(f"{n_err} error{'s' if n_err != 1 else ''}, "
                                 f"{n_warn} warning{'s' if n_warn != 1 else ''}")

    def _clicked(self, item, _col=0):
        nid = item.data(0, QtCore.Qt.UserRole)
        if nid:
            self.node_clicked.emit(nid)
