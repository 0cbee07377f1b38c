"""Live simulation in the app: run toolbar, worker thread, monitor panels, recording to disk.

``install(window, autorun=False)`` adds all of it to a main window and returns the
RunController. The window must provide: ``graph`` (the current engine.Graph), ``current_path``,
``select_node(node_id)``, ``set_node_badge(node_id, text)``, ``show_problems(problems)``,
``register_node_action(text, callback(node_id), applies=None)`` (``applies(node_id)``: offer
the action only where it applies; a window whose method takes no ``applies`` offers every
monitor everywhere), ``status(message)``, a signal ``graph_edited(...)`` emitted after every
change of the graph (its arguments are not needed: the run UI compares the graph with the one
before, see live_edits.py), and be a QMainWindow. It may provide ``place_monitor(dock, area)``
to arrange monitor docks itself (the editor does; otherwise they are simply added to
``area``) and a signal ``graph_replaced()`` (New, Open: the run ends, its monitors close).

How it works: the engine.Simulation lives in a worker thread (worker.py); the GUI sends it
commands through a queue and receives status and frames through queued signals; frames are
merged while the GUI is busy (frames.py), so the worker never waits for drawing and the GUI
never waits on JAX. Monitors (monitors.py) are dock widgets opened from the node context menu.
"""
from __future__ import annotations

from spark_snn.app import qtfix  # noqa: F401  (PySide6 reference-count workaround, applied on import)


def install(window, autorun: bool = False):
    """Add the run toolbar and monitor actions to ``window``; start running when ``autorun``."""
    from .controller import RunController
    from .saved_states import install as install_states

    controller = RunController(window, autorun=autorun)
    install_states(window, controller)
    window.run_controller = controller
    from spark_snn.app import sweep_dialog
    from .breakpoints import Breakpoints
    controller.breakpoints = Breakpoints(window, controller)
    sweep_dialog.install(window)
    _menu_entries(window, controller.bar)
    return controller


def _menu_entries(window, bar) -> None:
    """The toolbar's run actions (with their shortcuts) head the Run menu as well."""
    from .run_menu import run_menu
    menu = run_menu(window)
    first = menu.actions()[0] if menu.actions() else None
    actions = [bar.run_action, bar.pause_action, bar.step_action, bar.stop_action,
               bar.reset_action, bar.record_action]
    menu.insertActions(first, actions)
    if first is not None:
        menu.insertSeparator(first)


__all__ = ["install"]
