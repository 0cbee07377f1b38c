"""File > Import NIR… and Export NIR… (engine/nir_io does the work; no conversion here).

Export writes the open graph as a NIR file and lists, node by node, what NIR cannot express in
the problems panel (warnings) and the status bar. Import reads a NIR file into a new untitled
graph (the open one is kept when the file cannot be read, and the error names the node); when
the file's time constants could be seconds or milliseconds the user is asked which, and the
assumptions made (time step, unit) are listed in the problems panel.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from . import dialogs

FILTER = "NIR graphs (*.nir);;All files (*)"


class NIRActions(QtCore.QObject):
    """The NIR commands of one window."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.popups = True                 # message boxes (tests turn them off)
        self.last_messages: list = []      # the warnings of the last export / notes of an import
        self.ask_unit = self._ask_unit     # () -> "s" | "ms" | None; tests replace it
        self._box = None

    def _ask_unit(self) -> str | None:
        items = ["seconds (snnTorch, Norse, Spark)", "milliseconds"]
        item, ok = QtWidgets.QInputDialog.getItem(
            self.w, "Time unit of the NIR file",
            "The file's time constants could be seconds or milliseconds. Which are they?",
            items, 0, False)
        return (None if not ok else "s" if item == items[0] else "ms")

    def _tell(self, title: str, text: str, icon=QtWidgets.QMessageBox.Warning) -> None:
        self.w.status(text.splitlines()[0])
        if self.popups:
            self._box = QtWidgets.QMessageBox(icon, title, text, QtWidgets.QMessageBox.Ok, self.w)
            self._box.open()

    def export_nir(self, path: str | None = None) -> bool:
        from spark_snn.engine import GraphError
        from spark_snn.engine.nir_io import NIRError, to_nir, write_nir

        if path is None:
            stem = Path(self.w.current_path).stem if self.w.current_path else "untitled"
            path = dialogs.save_file_name(self.w, "Export NIR", f"{stem}.nir", FILTER)
            if not path:
                return False
        try:
            graph, warnings = to_nir(self.w.graph)
            write_nir(path, graph)
        except GraphError as exc:
            self.w.show_problems(exc.problems)
            self._tell("Cannot export", "The graph has problems: see Problems")
            return False
        except (NIRError, OSError) as exc:
            self._tell("Cannot export", f"{path}: {exc}")
            return False
        self.last_messages = list(warnings)
        self.w.show_problems(warnings)
        self.w.status(f"Exported {Path(path).name}: {len(graph.nodes)} NIR nodes"
                      + (f"; {len(warnings)} thing(s) NIR cannot express: see Problems"
                         if warnings else ""))
        return True

    def import_nir(self, path: str | None = None, dt: float | None = None) -> bool:
        from spark_snn.engine.nir_io import NIRError, TimeUnitUnknown, from_nir, read_nir

        if path is None:
            path = dialogs.open_file_name(self.w, "Import NIR", FILTER)
            if not path:
                return False
        try:
            nir_graph = read_nir(path)
            try:
                graph, notes = from_nir(nir_graph, dt=dt, source=Path(path).name)
            except TimeUnitUnknown:
                unit = self.ask_unit()
                if unit is None:
                    self.w.status("Import cancelled")
                    return False
                graph, notes = from_nir(nir_graph, dt=dt, time_unit=unit, source=Path(path).name)
        except NIRError as exc:
            self._tell("Cannot import", f"{exc}\n\nThe graph that was open is unchanged.",
                       QtWidgets.QMessageBox.Critical)
            return False
        if not self.w.files.maybe_discard("import a NIR file"):
            return False
        self.w.doc.replace(graph, None, dirty=True)
        self.last_messages = list(notes)
        self.w.show_problems(notes)
        self.w.status(f"Imported {Path(path).name}: {len(graph.nodes)} nodes (untitled: save "
                      "it to keep it)")
        return True
