"""The component library in the editor: saving a component to a library file, and what to do
when an opened graph embeds a copy of a component that differs from the library's.

Library files live in the user library folder (``engine.composite.user_library_dir``, or the
folders of ``SPARK_LIBRARY_PATH``), which Spark scans at start; a component saved there is
listed in the palette of every graph at once (the registry is scanned again). A library file
may hold several components: saving one into an existing file replaces the component of that
name and keeps the others. The components a component uses are saved with it, so the file is
complete on its own.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from spark_snn.engine.composite import (Types, definitions_closure, library_differences,
                                        library_dirs, load_library, save_library, take_from_library,
                                        user_library_dir)
from spark_snn.engine.problems import GraphError
from spark_snn.engine.registry import registry

from .. import dialogs
from .typeinfo import is_instance


class LibraryUI(QtCore.QObject):
    """The library commands of one window (``ui`` is its ComponentsUI)."""

    def __init__(self, ui):
        super().__init__(ui)
        self.ui = ui
        self.w = ui.w
        # hooks (tests replace them): where to save; which differing components to take
        self.ask_path = self._ask_path
        self.choose = self._choose
        self.last_differences: list = []

    # -- saving ---------------------------------------------------------------------------------
    def component_in_front(self) -> str | None:
        """The component the command is about: the definition tab in front, else the
        selected instance, else the only component of the graph."""
        c = self.w.active
        if c is not self.w:
            return c.type_name
        ids = [n for n in c.canvas.selected_ids() if is_instance(c.graph, n)]
        if ids:
            return c.graph.nodes[ids[0]].type
        names = list(self.w.graph.definitions)
        if len(names) == 1:
            return names[0]
        if names and self.ui.popups:
            name, ok = QtWidgets.QInputDialog.getItem(self.w, "Save Component to Library",
                                                      "Component:", names, 0, False)
            return name if ok else None
        return None

    def save_selected(self) -> str | None:
        name = self.component_in_front()
        if name is None:
            self.w.status("Select a component node (or open its definition) to save it")
            return None
        tab = self.ui.tab_for(name)
        if tab is not None and tab.dirty and not tab.save():
            return None
        path = self.ask_path(name)
        if not path:
            return None
        return self.save(name, path)

    def _ask_path(self, name: str) -> str:
        folder = library_dirs()[0] if library_dirs() else user_library_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
        path = dialogs.save_file_name(self.w, "Save component to library", "",
                                      "Spark component libraries (*.json)",
                                      str(folder / f"{name}.json"))
        if path and not Path(path).suffix:
            path += ".json"
        return path

    def save(self, name: str, path: str) -> str | None:
        """Write component ``name`` (and the ones it uses) to library file ``path``; the
        palette lists it at once. Returns the path, or None (refused, with the reason)."""
        defs = definitions_closure(Types(self.w.graph), [name])
        if name not in defs:
            self.ui.refuse("Cannot save to the library", f"no component called '{name}'")
            return None
        merged = {}
        if Path(path).exists():
            try:
                merged = {d.type_name: d for d in load_library(path)}
            except GraphError as exc:
                self.ui.refuse("Cannot save to the library",
                               f"{path} is not a component library that can be added to: {exc}")
                return None
        merged.update(defs)
        try:
            save_library(path, merged)
        except OSError as exc:
            self.ui.refuse("Cannot save to the library", f"{path}: {exc}")
            return None
        registry(refresh=True)
        self.w.palette.set_graph(self.w.active.graph)
        scanned = any(Path(path).resolve().parent == Path(d).resolve() for d in library_dirs())
        note = "" if scanned else (" (that folder is not a library folder, so the palette "
                                   f"does not list it: library folders are {', '.join(map(str, library_dirs()))})")
        self.w.status(f"Saved component '{name}' to {path}{note}")
        return path

    # -- embedded copies that differ from the library ---------------------------------------------
    def check_differences(self) -> list[str]:
        """The open graph embeds components that differ from the library's: say so and let
        the user take the library's (one undo step). Returns the names taken."""
        diffs = library_differences(self.w.graph)
        self.last_differences = diffs
        if not diffs:
            return []
        names = self.choose(diffs)
        if not names:
            self.w.status("Kept the file's own copies of " + ", ".join(
                f"'{d.type_name}'" for d in diffs) + " (they differ from the library's)")
            return []
        try:
            new = take_from_library(self.w.graph, names)
        except Exception as exc:  # a cycle, a name clash: say so, keep the file's
            self.ui.refuse("Cannot use the library's components", str(exc))
            return []
        self.w.doc.apply("use the library's " + ", ".join(names), new)
        self.w.status("Now using the library's " + ", ".join(f"'{n}'" for n in names))
        return list(names)

    def _choose(self, diffs) -> list[str]:
        if not self.ui.popups:
            return []
        dlg = LibraryDifferencesDialog(diffs, self.w)
        if dlg.exec() != QtWidgets.QDialog.Accepted:
            return []
        return dlg.chosen()


class LibraryDifferencesDialog(QtWidgets.QDialog):
    """Which of the differing components to take from the library (none ticked: keep all)."""

    def __init__(self, diffs, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Components differ from the library")
        lay = QtWidgets.QVBoxLayout(self)
        text = QtWidgets.QLabel(
            "This file embeds its own copies of components that your library has too, and they "
            "differ. The file's copies are what it was saved with. The ticked ones are replaced by "
            "the library's (every instance follows; Undo takes it back).")
        text.setWordWrap(True)
        lay.addWidget(text)
        self.list = QtWidgets.QTreeWidget()
        self.list.setHeaderLabels(["Component", "What the library's changes"])
        self.list.setRootIsDecorated(False)
        for d in diffs:
            item = QtWidgets.QTreeWidgetItem([d.type_name, "; ".join(d.changes)])
            item.setFlags(item.flags() | QtCore.Qt.ItemIsUserCheckable)
            item.setCheckState(0, QtCore.Qt.Checked)
            item.setToolTip(1, f"library file: {d.origin}\n" + "\n".join(d.changes))
            self.list.addTopLevelItem(item)
        self.list.resizeColumnToContents(0)
        lay.addWidget(self.list)
        buttons = QtWidgets.QDialogButtonBox()
        buttons.addButton("Keep the File's", QtWidgets.QDialogButtonBox.RejectRole)
        buttons.addButton("Use the Library's (ticked)", QtWidgets.QDialogButtonBox.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(720, 320)

    def chosen(self) -> list[str]:
        return [self.list.topLevelItem(i).text(0) for i in range(self.list.topLevelItemCount())
                if self.list.topLevelItem(i).checkState(0) == QtCore.Qt.Checked]
