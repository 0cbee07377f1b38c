"""The open document: the engine Graph being edited, its file path, and its undo history.

Every edit is a ``GraphCommand`` on the document's QUndoStack: the command runs a small function
that changes the Graph once, keeps copies of the graph before and after, and on undo/redo puts
the right copy back *into the same Graph object* (so whoever holds ``document.graph`` keeps a
valid reference). After each change the document emits ``changed(kind, node_id, param, rename)``
where kind is "param" for a parameter edit and "structure" otherwise, and ``rename`` is
(old, new) when the change renamed a node (the canvas keeps that node's drawing).
"""
from __future__ import annotations

from typing import Callable

from PySide6 import QtCore, QtGui

from spark_snn.engine.graph import Graph


def _assign(target: Graph, source: Graph) -> None:
    """Make ``target`` equal to ``source`` (copies; identity of ``target`` kept)."""
    src = source.copy()
    target.settings = src.settings
    target.nodes = src.nodes
    target.edges = src.edges
    target.meta = src.meta
    target.definitions = src.definitions


class GraphCommand(QtGui.QUndoCommand):
    """One undoable edit: ``mutate(graph)`` is applied once; undo/redo restore snapshots."""

    def __init__(self, doc: "Document", text: str, mutate: Callable[[Graph], None],
                 kind: str = "structure", node: str = "", param: str = "",
                 rename: tuple[str, str] | None = None):
        super().__init__(text)
        self.doc = doc
        self.mutate = mutate
        self.kind, self.node, self.param, self.rename = kind, node, param, rename
        self.before: Graph | None = None
        self.after: Graph | None = None

    def redo(self):
        g = self.doc.graph
        if self.after is None:
            self.before = g.copy()
            self.mutate(g)
            self.after = g.copy()
        else:
            _assign(g, self.after)
        self.doc.changed.emit(self.kind, self.node, self.param, self.rename)

    def undo(self):
        _assign(self.doc.graph, self.before)
        back = (self.rename[1], self.rename[0]) if self.rename else None
        node = self.rename[0] if self.rename else self.node
        self.doc.changed.emit(self.kind, node, self.param, back)


class Document(QtCore.QObject):
    """The graph being edited (``graph``), where it lives (``path``) and its undo stack."""

    changed = QtCore.Signal(str, str, str, object)
    replaced = QtCore.Signal()  # a whole new graph was loaded or created

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graph = Graph()
        self.path: str | None = None
        self.undo = QtGui.QUndoStack(self)
        self.undo.setUndoLimit(1000)

    @property
    def dirty(self) -> bool:
        return not self.undo.isClean()

    def edit(self, text: str, mutate: Callable[[Graph], None], kind: str = "structure",
             node: str = "", param: str = "", rename=None) -> None:
        """Apply ``mutate`` to the graph as one undoable step."""
        self.undo.push(GraphCommand(self, text, mutate, kind, node, param, rename))

    def apply(self, text: str, new_graph: Graph, kind: str = "structure", node: str = "") -> None:
        """Make the graph equal to ``new_graph`` as one undoable step (for the engine's editing
        functions, which return a new graph: make component, unpack, update a definition)."""
        self.edit(text, lambda g: _assign(g, new_graph), kind=kind, node=node)

    def replace(self, graph: Graph, path: str | None, dirty: bool = False) -> None:
        """Start editing ``graph`` (from a file, New, or a recovery file); clears the history."""
        self.undo.clear()
        _assign(self.graph, graph)
        self.graph.load_problems = list(graph.load_problems)
        self.path = path
        if dirty:
            # unsaved content (a recovered file): no clean state until the next save
            self.undo.resetClean()
        else:
            self.undo.setClean()
        self.replaced.emit()

    def mark_saved(self, path: str) -> None:
        self.path = path
        self.undo.setClean()
