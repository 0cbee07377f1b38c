"""The main window's dock panels: palette, inspector, problems, and the monitors of a run.

``DockLayout`` builds the three editor docks, places monitor panels (``place_monitor``), shares
the window out between them (``arrange_monitors``) and saves, restores and resets the layout
(QSettings ``window/geometry`` and ``window/state``).
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from . import session

STATE_VERSION = 1
H, V = QtCore.Qt.Horizontal, QtCore.Qt.Vertical
LEFT = QtCore.Qt.LeftDockWidgetArea
RIGHT = QtCore.Qt.RightDockWidgetArea
BOTTOM = QtCore.Qt.BottomDockWidgetArea


class DockLayout:
    """The docks of ``window`` (a QMainWindow) and their arrangement."""

    def __init__(self, window: QtWidgets.QMainWindow, palette, inspector, problems_panel):
        self.window = window
        w = window
        w.setDockNestingEnabled(True)
        w.setCorner(QtCore.Qt.BottomLeftCorner, LEFT)
        w.setCorner(QtCore.Qt.BottomRightCorner, RIGHT)
        self.palette_dock = self._dock("Components", "paletteDock", palette, LEFT)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", inspector, RIGHT)
        self.problems_dock = self._dock("Problems", "problemsDock", problems_panel, BOTTOM)
        w.resizeDocks([self.palette_dock, self.inspector_dock], [230, 340], H)
        w.resizeDocks([self.problems_dock], [160], V)
        self._default_state = None

    def _dock(self, title, name, widget, area) -> QtWidgets.QDockWidget:
        d = QtWidgets.QDockWidget(title, self.window)
        d.setObjectName(name)
        d.setWidget(widget)
        d.setFeatures(QtWidgets.QDockWidget.DockWidgetMovable
                      | QtWidgets.QDockWidget.DockWidgetFloatable
                      | QtWidgets.QDockWidget.DockWidgetClosable)
        self.window.addDockWidget(area, d)
        return d

    @property
    def editor_docks(self) -> tuple:
        return self.palette_dock, self.inspector_dock, self.problems_dock

    # -- monitors ------------------------------------------------------------------------------
    def place_monitor(self, dock: QtWidgets.QDockWidget, area) -> None:
        """Dock a monitor panel (app/run calls this through the window for each new monitor).

        Bottom monitors (raster, traces, rates) go side by side in the bottom row; the
        problems panel becomes a tab behind the first of them, so the plots are never
        squeezed by the problems table (a run error or a validation problem raises the
        problems tab again). Right monitors (weights, environment, episodes) stack under the
        inspector, which keeps room for live edits. Then ``arrange_monitors`` shares out the
        space.
        """
        w = self.window
        bottom = area == BOTTOM
        first = not self.monitor_docks(area)
        # appended to the area's row (bottom) or column (right); QMainWindow.splitDockWidget
        # cannot be used: splitting a dock that sits in a tab group only adds another tab
        w.addDockWidget(area, dock, H if bottom else V)
        if bottom and first and self.docked_in(self.problems_dock, area) \
                and not w.tabifiedDockWidgets(self.problems_dock):
            w.tabifyDockWidget(dock, self.problems_dock)  # problems: a tab behind it
        dock.show()
        dock.raise_()
        self.arrange_monitors()

    def docked_in(self, dock, area) -> bool:
        """Open (a tab behind another one counts), not floating, and docked in ``area``."""
        return (dock.toggleViewAction().isChecked() and not dock.isFloating()
                and self.window.dockWidgetArea(dock) == area)

    def monitor_docks(self, area) -> list:
        """The monitor panels docked in ``area``, one per tab group, in creation order."""
        out = []
        for d in self.window.findChildren(QtWidgets.QDockWidget):
            if d.objectName().startswith("monitor:") and self.docked_in(d, area) \
                    and not any(o in out for o in self.window.tabifiedDockWidgets(d)):
                out.append(d)
        return out

    def arrange_monitors(self) -> None:
        """Share the window between the panels once monitors are open: the palette keeps
        its width, the right column widens for plots, the bottom row gets 320 px of height
        and splits its width (the raster 1.4 shares, rates 1.1, each other plot 1)."""
        w = self.window
        bottom = self.monitor_docks(BOTTOM)
        right = self.monitor_docks(RIGHT)
        left_w = 230 if self.docked_in(self.palette_dock, LEFT) else 0
        inspector_right = self.docked_in(self.inspector_dock, RIGHT)
        right_w = 460 if right else (340 if inspector_right else 0)
        sides = ([self.palette_dock] if left_w else []) + \
            ([self.inspector_dock] if inspector_right else right[:1])
        if sides:
            w.resizeDocks(sides, [x for x in (left_w, right_w) if x][:len(sides)], H)
        if bottom:
            room = max(600, w.width() - left_w - right_w - 24)
            weights = [{"raster": 1.4, "rates": 1.1}.get(getattr(d, "kind", ""), 1.0)
                       for d in bottom]
            w.resizeDocks(bottom, [int(room * x / sum(weights)) for x in weights], H)
            w.resizeDocks(bottom[:1], [max(320, bottom[0].height())], V)
        if right:
            column = ([self.inspector_dock] if inspector_right else []) + right
            top = 240 if inspector_right else 0
            room = max(300, w.height() - 130 - top)
            sizes = ([top] if top else []) + [room // len(right)] * len(right)
            w.resizeDocks(column, sizes, V)

    # -- persistence ---------------------------------------------------------------------------
    def restore(self) -> None:
        """Remember the built layout (for Reset Layout), then restore the saved one."""
        s = session.settings()
        self._default_state = self.window.saveState(STATE_VERSION)
        geo = s.value("window/geometry")
        state = s.value("window/state")
        if geo is not None:
            self.window.restoreGeometry(geo)
        if state is not None:
            self.window.restoreState(state, STATE_VERSION)

    def save(self) -> None:
        s = session.settings()
        s.setValue("window/geometry", self.window.saveGeometry())
        s.setValue("window/state", self.window.saveState(STATE_VERSION))
        s.sync()

    def reset(self) -> None:
        """Back to the layout the window was built with, every editor dock shown."""
        if self._default_state is not None:
            self.window.restoreState(self._default_state, STATE_VERSION)
        for d in self.editor_docks:
            d.show()
