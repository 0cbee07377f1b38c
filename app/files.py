"""File handling of the editor: New, Open, Save, Save As, examples, recent files, recovery.

``FileActions`` asks before dropping unsaved changes, reports a file that fails to load with
every problem (the open graph stays as it was), never overwrites a shipped example, and keeps
a recovery copy of unsaved work (app/session.py) that is offered back after a crash.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from spark_snn.engine import fileio
from spark_snn.engine.graph import Graph
from spark_snn.engine.problems import GraphError

from . import dialogs, session

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
EXAMPLES_DIR = RESOURCES / "examples"


def is_example(path: str | None) -> bool:
    """Whether ``path`` is one of the shipped examples (resources/examples/*.json)."""
    if not path:
        return False
    try:
        return Path(path).resolve().parent == EXAMPLES_DIR.resolve() and \
            Path(path).suffix == ".json"
    except OSError:
        return False


def example_files() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.json")) if EXAMPLES_DIR.is_dir() else []


class FileActions(QtCore.QObject):
    """The file commands of one window (``window.doc`` is the open document)."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.popups = True            # message boxes for refusals (tests turn them off)
        self.last_load_problems: list = []
        self.save_hooks: list = []    # f(graph) before a save (the run UI stores its layout)
        self.recovery = session.Recovery()
        self._error_box = None
        self._autosave_timer = QtCore.QTimer(self)
        self._autosave_timer.setInterval(session.AUTOSAVE_SECONDS * 1000)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start()

    @property
    def doc(self):
        return self.w.doc

    def maybe_discard(self, doing: str = "continue") -> bool:
        """True when it is fine to drop the current graph (saved, discarded, or not dirty);
        a definition's tab with changes not yet saved into the graph asks first, and a model
        text being edited counts as a change."""
        components = getattr(self.w, "components", None)
        if components is not None and not components.may_close():
            return False
        self.w.inspector.apply_pending()
        if not self.doc.dirty:
            return True
        name = Path(self.doc.path).name if self.doc.path else "Untitled"
        box = QtWidgets.QMessageBox
        answer = box.question(
            self.w, "Unsaved changes",
            f"'{name}' has unsaved changes. Save them before you {doing}?",
            box.Save | box.Discard | box.Cancel, box.Save)
        if answer == box.Save:
            return self.save()
        return answer == box.Discard

    def new_file(self) -> bool:
        if not self.maybe_discard("start a new graph"):
            return False
        self.doc.replace(Graph(), None)
        self.recovery.clear()
        self.w.status("New graph")
        return True

    def open_file(self, path: str | None = None, ask: bool = True) -> bool:
        """Open ``path`` (or ask for one). On failure the current graph stays as it was."""
        if path is None:
            here = self.doc.path and not is_example(self.doc.path)
            start = str(Path(self.doc.path).parent) if here else \
                dialogs.start_path(fallback=str(EXAMPLES_DIR))
            path = dialogs.open_file_name(self.w, "Open graph",
                                          "Spark graphs (*.json);;All files (*)", start)
            if not path:
                return False
        if ask and not self.maybe_discard("open another file"):
            return False
        try:
            g = fileio.load(path)
        except GraphError as exc:
            self._load_failed(path, exc.problems)
            return False
        self.doc.replace(g, str(path))
        self.recovery.clear()
        session.add_recent(str(path))
        if not is_example(path):
            session.remember_folder(str(path))
        analysis = self.w.analysis
        errors = [p for p in (analysis.problems if analysis else []) if p.severity == "error"]
        if errors:
            self.w.problems_dock.show()
            self.w.problems_dock.raise_()
            self.w.status(f"Opened {Path(path).name} with {len(errors)} problem(s): see Problems")
        else:
            self.w.status(f"Opened {path}")
        return True

    def _load_failed(self, path, problems):
        self.last_load_problems = list(problems)
        lines = "\n".join(f"• {p}" for p in problems)
        self.w.status(f"Could not open {Path(path).name}: {len(problems)} problem(s)")
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Critical, "Could not open file",
                                    f"{path} could not be opened:\n\n{lines}\n\n"
                                    "The graph that was open is unchanged.",
                                    QtWidgets.QMessageBox.Ok, self.w)
        self._error_box = box
        box.open()

    def save(self) -> bool:
        """Save to the current file; an untitled graph or an example asks for a name (examples
        are templates: the shipped file is never overwritten)."""
        if not self.doc.path or is_example(self.doc.path):
            return self.save_as()
        return self.save_to(self.doc.path)

    def ask_save_path(self) -> str:
        """The file dialog of Save As ("" when cancelled): it starts at the current file, or
        (untitled, an example) in the last folder used. Tests replace it."""
        if self.doc.path and not is_example(self.doc.path):
            start = self.doc.path
        else:
            start = dialogs.start_path(Path(self.doc.path).name if self.doc.path
                                       else "untitled.json")
        return dialogs.save_file_name(self.w, "Save graph as", "", "Spark graphs (*.json)", start)

    def save_as(self) -> bool:
        path = self.ask_save_path()
        if not path:
            return False
        if not Path(path).suffix:
            path += ".json"
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        self.w.inspector.apply_pending()  # the model text being edited is saved too
        if is_example(path):
            msg = (f"{Path(path).name} is a shipped example and is never overwritten: "
                   "save your changes under another name or folder.")
            self.w.status(msg)
            if self.popups:
                QtWidgets.QMessageBox.warning(self.w, "Examples are templates", msg)
            return False
        for hook in self.save_hooks:
            hook(self.w.graph)
        try:
            fileio.save(self.w.graph, path)
        except OSError as exc:
            QtWidgets.QMessageBox.critical(self.w, "Could not save", f"{path}: {exc}")
            return False
        self.doc.mark_saved(str(path))
        self.recovery.clear()
        session.add_recent(str(path))
        session.remember_folder(str(path))
        self.w.update_title()
        components = getattr(self.w, "components", None)
        self.w.status(f"Saved {path}" + (components.unsaved_note() if components else ""))
        return True

    # -- autosave and recovery -------------------------------------------------------------------
    def autosave(self) -> bool:
        """Write the recovery file when there are unsaved changes."""
        if not self.doc.dirty:
            return False
        try:
            return self.recovery.write(self.w.graph.to_dict(), self.doc.path)
        except OSError:
            return False

    def offer_recovery(self) -> bool:
        """Offer the recovery file a crashed session left behind; True when restored."""
        orphans = self.recovery.orphans()
        if not orphans:
            return False
        f, data = orphans[0]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(data.get("saved_at", 0)))
        name = data.get("path") or "an untitled graph"
        box = QtWidgets.QMessageBox
        answer = box.question(
            self.w, "Recover unsaved work?",
            f"Spark did not close normally. Unsaved changes to {name} (from {when}) were kept.\n"
            "Recover them?", box.Yes | box.No, box.Yes)
        recovered = False
        if answer == box.Yes:
            try:
                g = fileio.graph_from_dict(data["graph"], str(f))
                self.doc.replace(g, data.get("path"), dirty=True)
                recovered = True
                self.w.status("Recovered unsaved work; save it to keep it")
            except (GraphError, KeyError, TypeError) as exc:
                self.w.status(f"Could not recover: {exc}")
        for other, _ in orphans:
            try:
                other.unlink()
            except OSError:
                pass
        return recovered

    def shutdown(self) -> None:
        """A normal exit: no recovery copy is left behind."""
        self.recovery.clear()
        self._autosave_timer.stop()

    # -- menus ---------------------------------------------------------------------------------
    def fill_recent(self, menu: QtWidgets.QMenu) -> None:
        menu.clear()
        items = session.recent_files()
        for p in items:
            menu.addAction(p).triggered.connect(lambda _c=False, path=p: self.open_file(path))
        if not items:
            menu.addAction("(none)").setEnabled(False)

    def fill_examples(self, menu: QtWidgets.QMenu) -> None:
        menu.clear()
        for p in example_files():
            act = menu.addAction(p.stem.replace("_", " "))
            act.setToolTip(str(p))
            act.triggered.connect(lambda _c=False, path=str(p): self.open_file(path))
        if not menu.actions():
            menu.addAction("(no examples found)").setEnabled(False)
