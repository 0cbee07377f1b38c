"""The component palette: every registered node type, grouped by category, with a search box.

Search ranks exact, then prefix matches of type keys and titles first (``match_rank``), so
Enter adds what was typed ("gym" adds the Gymnasium environment, not CartPole whose description
mentions Gymnasium); the palette highlights that entry. Generated from the engine registry,
so a new module in components/ appears here with no GUI code; the composite components of the
user library and of the open graph (``set_graph``; ``rebuild`` after saving one) are listed under
their categories too. Drag
an entry onto the canvas, or double-click it (or press Enter) to add it in the free space
nearest the view centre.
``TabSearchPopup`` is the same list as a small popup at the cursor (Tab on the canvas).
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from spark_snn.engine.composite import types_by_category

from .canvas import COMPONENT_MIME

CATEGORY_ORDER = ["Inputs", "Neurons", "Projections", "Learning", "Outputs", "Environments"]


def categories(graph=None):
    """(category, node types) in palette order: the built-in types, the user library's
    composite components, and (with ``graph``) the components embedded in that graph."""
    cats = types_by_category(graph)
    order = [c for c in CATEGORY_ORDER if c in cats] + sorted(c for c in cats if c not in CATEGORY_ORDER)
    return [(c, sorted(cats[c], key=lambda k: k.title or k.type_name)) for c in order]


def is_composite(cls) -> bool:
    return hasattr(cls, "definition")


def palette_key(graph=None) -> tuple:
    """What the palette shows for ``graph``: it is rebuilt only when this changes."""
    return tuple((c, tuple((t.type_name, t.title, t.description) for t in ts))
                 for c, ts in categories(graph))


def match_rank(cls, text: str) -> int | None:
    """How well ``cls`` matches the search ``text`` (lower is better; None: no match).

    0 the type key or title equals the text, 1 one of them starts with it, 2 a word of them
    starts with it, 3 they contain it, 4 only the category or description has every word.
    """
    text = " ".join(text.lower().split())
    if not text:
        return 4
    names = [cls.type_name.lower(), (cls.title or "").lower()]
    words = [w for n in names for w in n.replace("_", " ").replace("-", " ").split()]
    if text in names:
        return 0
    if any(n.startswith(text) or n.replace("_", " ").startswith(text) for n in names):
        return 1
    if any(w.startswith(text) for w in words):
        return 2
    if any(text in n for n in names):
        return 3
    hay = f"{cls.type_name} {cls.title} {cls.category} {cls.description}".lower()
    return 4 if all(word in hay for word in text.split()) else None


def ranked(text: str, graph=None) -> list:
    """The node types matching ``text``, best first; among equal matches the shorter name
    first (more of it is what was typed: "three fac" finds the three-factor projection before
    the three-factor Hebbian one), then palette order."""
    order = [cls for _cat, classes in categories(graph) for cls in classes]
    hits = [(match_rank(cls, text), len(cls.title or cls.type_name), i, cls)
            for i, cls in enumerate(order)]
    return [cls for *_key, cls in sorted((h for h in hits if h[0] is not None),
                                          key=lambda h: h[:3])]


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
        self.graph = None
        self._key = None
        self._types: dict = {}
        self._build()

    def rebuild(self, select: str | None = None) -> None:
        """List the registry's types again (after the library changed); ``select``: a type
        to select and scroll to."""
        self._build()
        self._filter(self.search.text())
        item = self._item_for(select) if select else None
        if item is not None and not item.isHidden():
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)

    def set_graph(self, graph) -> None:
        """List the components of ``graph`` too (rebuilt only when what is listed changed)."""
        self.graph = graph
        if palette_key(graph) != self._key:
            self._build()
            self._filter(self.search.text())

    def _build(self):
        self.tree.clear()
        self._key = palette_key(self.graph)
        self._types = {}
        for cat, classes in categories(self.graph):
            top = QtWidgets.QTreeWidgetItem([cat])
            top.setFlags(QtCore.Qt.ItemIsEnabled)
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
            for cls in classes:
                self._types[cls.type_name] = cls
                title = cls.title or cls.type_name
                item = QtWidgets.QTreeWidgetItem([f"▣ {title}" if is_composite(cls) else title])
                item.setData(0, QtCore.Qt.UserRole, cls.type_name)
                what = "<br><i>composite component</i>" if is_composite(cls) else ""
                item.setToolTip(0, f"<b>{cls.title}</b> ({cls.type_name})<br>{cls.description}"
                                   + what)
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
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            shown = 0
            for j in range(top.childCount()):
                item = top.child(j)
                ok = match_rank(self._types[item.data(0, QtCore.Qt.UserRole)], text) is not None
                item.setHidden(not ok)
                shown += ok
            top.setHidden(shown == 0)
        best = self.best_match() if text.strip() else None
        if best:
            self.tree.setCurrentItem(self._item_for(best))
        else:
            self.tree.clearSelection()

    def _activated(self, item, _col=0):
        name = item.data(0, QtCore.Qt.UserRole)
        if name:
            self.add_requested.emit(name)

    def best_match(self) -> str | None:
        """The type Enter adds: the best-ranked match of the search text."""
        best = ranked(self.search.text(), self.graph)
        return best[0].type_name if best else None

    def _item_for(self, type_name):
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(0, QtCore.Qt.UserRole) == type_name:
                    return top.child(j)
        return None

    def _add_first_visible(self):
        name = self.best_match()
        if name:
            self.add_requested.emit(name)


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
        self.graph = None   # whose composite components are listed too (set by the editor)
        self.edit.textChanged.connect(self._fill)
        self.edit.returnPressed.connect(self._accept)
        self.list.itemActivated.connect(lambda _i: self._accept())
        self.edit.installEventFilter(self)
        self._fill("")

    def _fill(self, text):
        self.list.clear()
        found = ranked(text, self.graph) if text.strip() else \
            [c for _k, cs in categories(self.graph) for c in cs]
        for cls in found:
            item = QtWidgets.QListWidgetItem(f"{cls.title}   ({cls.category})")
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
