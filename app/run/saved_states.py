"""File > Save State… and File > Open State…, and the rewind timeline, added to the run UI.

Save State writes the running or paused simulation's complete state with the engine
(``Simulation.save_state``: every state variable, weights, delay buffers, RNG, time, the
environments). Open State puts a state file onto the open graph (building the model first when
needed): a state of a structurally different graph is refused with the engine's reasons, in a
dialog, and nothing changes; otherwise the run is paused at the state's step and the next Run
goes on from there. The live parameters stay those of the graph (what the editor shows); where
the state's differ, the message lists them. Both happen in the worker thread (rewind.py).

``install(window, ctl)`` adds the worker extension, the timeline dock and the menu entries
(into ``window.menus.file_menu`` when the window has one; always as window actions, so the
shortcuts work).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from .rewind import Rewind
from .timeline import Rewinder, TimelineDock, show_time

FILTER = "Spark states (*.npz);;All files (*)"
STATES_DIR = Path(__file__).resolve().parents[2] / "resources" / "states"


class StateFiles:
    """Save State / Open State for the RunController ``ctl``."""

    def __init__(self, ctl):
        self.ctl = ctl
        self.last_saved: tuple | None = None    # (path, t, time ms)
        self.last_report = None                 # engine LoadReport of the last Open State
        self.last_error: tuple | None = None    # (doing, message, reasons)
        self._opening = ""                      # the state file being opened

    @property
    def window(self):
        return self.ctl.window

    def _folder(self) -> str:
        from spark_snn.app import session
        folder = session.last_folder()
        if folder:
            return folder
        path = getattr(self.window, "current_path", None)
        return str(Path(path).parent) if path else str(STATES_DIR)

    def _default_name(self) -> str:
        path = getattr(self.window, "current_path", None)
        stem = Path(path).stem if path else "simulation"
        return str(Path(self._folder()) / f"{stem}_t{int(self.ctl.time_ms)}ms.npz")

    def save_state(self, path: str | None = None) -> bool:
        """Write the simulation's state to ``path`` (asked when None). False when there is
        nothing to save or the user cancelled."""
        if self.ctl.state in ("idle", "compiling"):
            self._refuse("save", "There is no simulation to save yet: press Run (or Step) "
                                 "first, then save its state.", [])
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self.window, "Save State", self._default_name(),
                                                  FILTER)
            if not path:
                return False
            if not path.endswith(".npz"):
                path += ".npz"
        from spark_snn.app import session
        session.remember_folder(path)
        meta = {"graph": str(getattr(self.window, "current_path", "") or "")}
        self.ctl.worker.send("save_state", str(path), meta)
        return True

    def open_state(self, path: str | None = None) -> bool:
        """Put the state in ``path`` (asked when None) onto the open graph; refused with the
        reasons when it belongs to another structure."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.window, "Open State", self._folder(),
                                                  FILTER)
            if not path:
                return False
        from spark_snn.app import session
        session.remember_folder(path)
        ctl = self.ctl
        if ctl._stale() and not ctl._build(run=False):
            return False   # the graph does not validate: its problems are listed
        self.last_error = None
        self._opening = str(path)
        # the run number the loaded state's frames will carry; the monitors are emptied only
        # once it is loaded (a refused state changes nothing)
        ctl.worker.send("load_state", str(path), ctl.gen + 1)
        self.window.status(f"Opening the state {path}…")
        return True

    # --- worker messages ----------------------------------------------------------------------
    def on_state_saved(self, payload) -> None:
        path, t, ms = payload
        self.last_saved = payload
        self.window.status(f"State at t = {show_time(ms)} (step {t:,}) saved to {path}")

    def on_state_loaded(self, report) -> None:
        self.last_report = report
        ctl = self.ctl
        ctl._next_run()           # the monitors empty: what they showed is another history
        ctl._send_request()       # and the worker draws the loaded state's first frame again
        text = (f"State opened: t = {show_time(report.time_ms)} (step {report.t:,}), seed "
                f"{report.seed}; Run goes on from there")
        extra = list(report.notes) + list(report.param_differences)
        self.window.status(text + ("; " + "; ".join(extra) if extra else ""))
        if report.param_differences and ctl.popups:
            box = QMessageBox(QMessageBox.Icon.Information, "State opened",
                              text + ".\n\nThe graph's live parameters are kept where they "
                              "differ from the state's:\n\n• "
                              + "\n• ".join(report.param_differences),
                              QMessageBox.StandardButton.Ok, self.window)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
            box.open()

    def on_state_error(self, payload) -> None:
        doing, message, reasons = payload
        self._refuse(doing, message, reasons)

    def _refuse(self, doing: str, message: str, reasons) -> None:
        self.last_error = (doing, message, list(reasons))
        title = {"save": "Cannot save the state", "open": "Cannot open the state",
                 "jump": "Cannot jump back"}.get(doing, "Saved state")
        self.window.status(f"{title}: {message}")
        if not self.ctl.popups:
            return
        if reasons:
            name = Path(self._opening).name or "This state"
            text = (f"{name} belongs to a graph with a different structure, so it cannot "
                    "be put onto the open graph. The graph and the run are unchanged.\n\n"
                    "What differs:\n• " + "\n• ".join(reasons[:12])
                    + (f"\n• … and {len(reasons) - 12} more" if len(reasons) > 12 else ""))
        else:
            text = message
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self.window)
        if reasons:
            box.setDetailedText(message)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.open()


def install(window, ctl):
    """Add saved states and the timeline to the run UI of ``window`` (see the module
    docstring). Returns (StateFiles, Rewinder)."""
    from spark_snn.app import session

    ctl.worker.extensions.append(Rewind())
    files = StateFiles(ctl)
    dock = TimelineDock(window)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    dock.hide()     # View > Timeline (Ctrl+Alt+T) shows it; the window remembers its place
    rewinder = Rewinder(ctl, dock, session.settings())
    for kind, fn in (("timeline", rewinder.on_timeline), ("jumped", rewinder.on_jumped),
                     ("state_saved", files.on_state_saved),
                     ("state_loaded", files.on_state_loaded),
                     ("state_error", files.on_state_error)):
        ctl.listeners.setdefault(kind, []).append(fn)

    def action(text, shortcut, slot, tip):
        a = QAction(text, window)
        a.setShortcut(QKeySequence(shortcut))
        a.setStatusTip(tip)
        a.setToolTip(f"{tip} ({shortcut})")
        a.triggered.connect(lambda _c=False: slot())
        window.addAction(a)
        return a

    files.save_action = action("Save S&tate…", "Ctrl+Alt+S", files.save_state,
                               "Save the running simulation's complete state (.npz)")
    files.open_action = action("Open St&ate…", "Ctrl+Alt+O", files.open_state,
                               "Continue the open graph from a saved state")
    dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+Alt+T"))
    menus = getattr(window, "menus", None)
    file_menu = getattr(menus, "file_menu", None)
    if file_menu is not None:
        before = getattr(menus, "act_import_nir", None)
        file_menu.insertActions(before, [files.save_action, files.open_action])
        file_menu.insertSeparator(before)
    view_menu = getattr(menus, "view_menu", None)
    if view_menu is not None:
        view_menu.addAction(dock.toggleViewAction())
    ctl.states, ctl.rewinder, ctl.timeline_dock = files, rewinder, dock
    return files, rewinder
