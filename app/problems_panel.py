"""The problems panel: every validation problem, each naming its node and parameter or port.

Clicking (or activating) a row emits ``node_clicked(node_id)`` so the editor selects and frames
that node; a problem inside a composite component's definition (``Problem.definition``) is shown
as "component › node" and emits ``definition_clicked(component, node_id)`` instead (the editor
opens the definition's tab). The header line says how many errors and warnings there are.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


class WrapDelegate(QtWidgets.QStyledItemDelegate):
    """Sizes a cell to its text wrapped at the column's width (QTreeView alone keeps one line
    per row whatever the wrapping)."""

    def __init__(self, view: QtWidgets.QTreeView):
        super().__init__(view)
        self.view = view

    def initStyleOption(self, option, index):
        super().initStyleOption(option, index)
        option.features |= QtWidgets.QStyleOptionViewItem.WrapText  # paint all the lines
        option.textElideMode = QtCore.Qt.ElideNone

    def sizeHint(self, option, index):
        base = super().sizeHint(option, index)
        opt = QtWidgets.QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.rect = QtCore.QRect(0, 0, self.view.columnWidth(index.column()), 1_000_000)
        style = self.view.style()
        # the width the style lays the text out in (QCommonStyle: text rect less its margins)
        text = style.subElementRect(QtWidgets.QStyle.SE_ItemViewItemText, opt, self.view)
        margin = style.pixelMetric(QtWidgets.QStyle.PM_FocusFrameHMargin, None, self.view) + 1
        width = max(20, text.width() - 2 * margin)
        fm = QtGui.QFontMetrics(opt.font)
        r = fm.boundingRect(QtCore.QRect(0, 0, width, 1_000_000), QtCore.Qt.TextWordWrap,
                            opt.text)
        return QtCore.QSize(base.width(), max(base.height(), r.height() + 6))


class ProblemsPanel(QtWidgets.QWidget):
    """A table of Problems (severity, node, where, message)."""

    node_clicked = QtCore.Signal(str)
    definition_clicked = QtCore.Signal(str, str)  # component, inner node id ("" for none)
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
        # long problems wrap: rows take the height of their text (recomputed when the
        # columns or the panel change width), and each cell's tooltip has the whole problem
        self.table.setWordWrap(True)
        self.table.setUniformRowHeights(False)
        self.table.setTextElideMode(QtCore.Qt.ElideNone)
        self.table.setItemDelegate(WrapDelegate(self.table))
        self.table.header().setStretchLastSection(True)
        self.table.header().sectionResized.connect(lambda *_: self.table.doItemsLayout())
        lay.addWidget(self.table)
        self.table.itemClicked.connect(self._clicked)
        self.table.itemActivated.connect(self._clicked)
        self.problems: list = []

    def set_problems(self, problems, subject: str = "the graph") -> None:
        """List ``problems`` (of ``subject``: the graph, or a component in its own tab)."""
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
            node = p.node or ""
            if p.definition is not None:
                node = f"{p.definition} › {node}" if node else p.definition
            item = QtWidgets.QTreeWidgetItem([mark, node, ", ".join(where), p.message])
            color = QtGui.QColor(240, 90, 90) if p.severity == "error" else QtGui.QColor(240, 190, 70)
            item.setForeground(0, color)
            for col in range(4):
                item.setToolTip(col, str(p))
            item.setData(0, QtCore.Qt.UserRole, p.node or "")
            item.setData(1, QtCore.Qt.UserRole, p.definition)
            self.table.addTopLevelItem(item)
        n_err = sum(1 for p in self.problems if p.severity == "error")
        n_warn = len(self.problems) - n_err
        if not self.problems:
            self.summary.setText(f"No problems: {subject} is valid")
        else:
            self.summary.setText(f"{n_err} error{'s' if n_err != 1 else ''}, "
                                 f"{n_warn} warning{'s' if n_warn != 1 else ''}")

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        self.table.doItemsLayout()  # re-wrap the problem texts to the new width

    def _clicked(self, item, _col=0):
        nid = item.data(0, QtCore.Qt.UserRole)
        defn = item.data(1, QtCore.Qt.UserRole)
        if defn:
            self.definition_clicked.emit(defn, nid or "")
        elif nid:
            self.node_clicked.emit(nid)
