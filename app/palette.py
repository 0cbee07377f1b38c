"""The component palette: every registered node type, grouped by category, with a search box.

Generated from the engine registry, so a new module in components/ appears here with no GUI code.
Drag an entry onto the canvas, or double-click it (or press Enter) to add it at the view centre.
``TabSearchPopup`` is the same list as a small popup at the cursor (Tab on the canvas).
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from engine.registry import registry

from .canvas import COMPONENT_MIME

CATEGORY_ORDER = ["Inputs", "Neurons", "Projections", "Learning", "Outputs", "Environments"]


def _categories():
    cats = registry().by_category()
    order = [c for c in CATEGORY_ORDER if c in cats] + sorted(c for c in cats if c not in CATEGORY_ORDER)
    return [(c, sorted(cats[c], key=lambda k: k.title or k.type_name)) for c in order]


def _matches(cls, text: str) -> bool:
    text = text.lower().strip()
    hay = f"{cls.type_name} {cls.title} {cls.category} {cls.description}".lower()
    return all(word in hay for word in text.split())


class _Tree(QtWidgets.QTreeWidget):
    def mimeData(self, items):
        mime = QtCore.QMimeData()
        names = [i.data(0, QtCore.Qt.UserRole) for i in items if i.data(0, QtCore.Qt.UserRole)]
        if names:
            mime.setData(COMPONENT_MIME, names[0].encode())
            mime.setText(f"spark-component:{names[0]}")
        return mime

    def mimeTypes(self):
        return [COMPONENT_MIME, "text/plain"]


class Palette(QtWidgets.QWidget):
    """Category tree of components; emits ``add_requested(type_name)``."""

    add_requested = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Search components…")
        self.search.setClearButtonEnabled(True)
        self.tree = _Tree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QtWidgets.QAbstractItemView.DragOnly)
        self.tree.setIndentation(14)
        lay.addWidget(self.search)
        lay.addWidget(self.tree)
        hint = QtWidgets.QLabel("Drag onto the canvas, double-click, or press Tab on the canvas.")
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        lay.addWidget(hint)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._add_first_visible)
        self.tree.itemActivated.connect(self._activated)
        self._build()

    def _build(self):
        self.tree.clear()
        for cat, classes in _categories():
            top = QtWidgets.QTreeWidgetItem([cat])
            top.setFlags(QtCore.Qt.ItemIsEnabled)
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
            for cls in classes:
                item = QtWidgets.QTreeWidgetItem([cls.title or cls.type_name])
                item.setData(0, QtCore.Qt.UserRole, cls.type_name)
                item.setToolTip(0, f"<b>{cls.title}</b> ({cls.type_name})<br>{cls.description}")
                item.setFlags(QtCore.Qt.ItemIsEnabled | QtCore.Qt.ItemIsSelectable
                              | QtCore.Qt.ItemIsDragEnabled)
                top.addChild(item)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)

    def visible_types(self) -> list[str]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                item = top.child(j)
                if not item.isHidden():
                    out.append(item.data(0, QtCore.Qt.UserRole))
        return out

    def _filter(self, text):
        reg = registry()
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            shown = 0
            for j in range(top.childCount()):
                item = top.child(j)
                ok = _matches(reg.get(item.data(0, QtCore.Qt.UserRole)), text)
                item.setHidden(not ok)
                shown += ok
            top.setHidden(shown == 0)

    def _activated(self, item, _col=0):
        name = item.data(0, QtCore.Qt.UserRole)
        if name:
            self.add_requested.emit(name)

    def _add_first_visible(self):
        names = self.visible_types()
        if names:
            self.add_requested.emit(names[0])


class TabSearchPopup(QtWidgets.QFrame):
    """Type-to-filter list of components shown at the cursor; emits ``chosen(type_name)``."""

    chosen = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent, QtCore.Qt.Popup)
        self.setObjectName("tabSearch")
        self.setFrameShape(QtWidgets.QFrame.StyledPanel)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.edit = QtWidgets.QLineEdit()
        self.edit.setPlaceholderText("Add node…")
        self.list = QtWidgets.QListWidget()
        lay.addWidget(self.edit)
        lay.addWidget(self.list)
        self.resize(300, 320)
        self.edit.textChanged.connect(self._fill)
        self.edit.returnPressed.connect(self._accept)
        self.list.itemActivated.connect(lambda _i: self._accept())
        self.edit.installEventFilter(self)
        self._fill("")

    def _fill(self, text):
        self.list.clear()
        for cat, classes in _categories():
            for cls in classes:
                if _matches(cls, text):
                    item = QtWidgets.QListWidgetItem(f"{cls.title}   ({cat})")
                    item.setData(QtCore.Qt.UserRole, cls.type_name)
                    item.setToolTip(cls.description)
                    self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj, ev):
        if obj is self.edit and ev.type() == QtCore.QEvent.KeyPress:
            if ev.key() in (QtCore.Qt.Key_Down, QtCore.Qt.Key_Up):
                row = self.list.currentRow() + (1 if ev.key() == QtCore.Qt.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
            if ev.key() == QtCore.Qt.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(obj, ev)

    def _accept(self):
        item = self.list.currentItem()
        if item is not None:
            self.hide()
            self.chosen.emit(item.data(QtCore.Qt.UserRole))

    def popup_at(self, global_pos: QtCore.QPoint):
        self.edit.clear()
        self._fill("")
        self.move(global_pos)
        self.show()
        self.edit.setFocus()
