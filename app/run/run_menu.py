"""The menu bar's Run menu, shared by the run features that add entries to it (breakpoints,
parameter sweeps, ...): whichever comes first makes it, the others find it."""
from __future__ import annotations

from PySide6 import QtWidgets


def run_menu(window) -> QtWidgets.QMenu:
    """The window's "Run" menu (made after the existing menus when there is none yet)."""
    bar = window.menuBar()
    for action in bar.actions():
        menu = action.menu()
        if menu is not None and menu.title().replace("&", "") == "Run":
            return menu
    return bar.addMenu("&Run")
