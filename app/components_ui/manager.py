"""The editor's composite-component commands and the canvas tabs of definitions.

``ComponentsUI`` adds to a main window:

* the **Component** menu, the canvas context-menu entries and the shortcuts: Make Component
  (Ctrl+Shift+G), Open Definition (Ctrl+E, or double-click an instance), Unpack Component
  (Ctrl+Shift+U), Save Definition (Ctrl+Shift+Return, in a definition's tab), Save Component
  to Library…;
* the canvas tabs: the network's canvas is the first tab, each open definition has its own
  (app/components_ui/definition_tab.py); the tab bar shows only while a definition is open.
  The tab in front is ``window.active``: menus, shortcuts, the inspector, the problems panel,
  Undo and Redo act on it;
* the palette's composite components (the graph's and the user library's) kept up to date,
  the library commands and the check of a newly opened file against the library
  (app/components_ui/library_ui.py);
* on an instance in the network, a "Monitor Inside" submenu: the monitors of its inner nodes
  under their dotted ids (``c3.exc``), when the live-run UI is installed.

Every change of the network is one undo step (``Document.apply`` of the new graph the engine's
editing function returns). Refusals (a bad name, a cycle) are shown with the engine's reason.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from spark_snn.engine.composite import CompositeError, flatten, make_component, unpack
from spark_snn.engine.problems import GraphError

from .definition_tab import DefinitionTab
from .interface_dialog import InterfaceDialog
from .library_ui import LibraryUI
from .make_dialog import MakeComponentDialog
from .typeinfo import is_instance


class ComponentsUI(QtCore.QObject):
    """See the module docstring."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.popups = True                 # message boxes (tests turn them off)
        self.exec_dialog = lambda dlg: dlg.exec()   # tests fill the dialog instead
        self.last_dialog = None
        self.last_refusal = ""
        self.open_tabs: list[DefinitionTab] = []
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setObjectName("canvasTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setTabBarAutoHide(True)
        central = window.takeCentralWidget()
        self.tabs.addTab(central, "Network")
        self.tabs.tabBar().setTabButton(0, QtWidgets.QTabBar.RightSide, None)
        self.tabs.tabBar().setTabButton(0, QtWidgets.QTabBar.LeftSide, None)
        window.setCentralWidget(self.tabs)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.tabs.tabCloseRequested.connect(lambda i: self.close_tab(self._tab_at(i)))
        self.library = LibraryUI(self)
        self._build_actions()
        window.menus.context_extras.append(self.fill_context_menu)
        window.canvas.node_activated.connect(lambda n: self.open_definition_of(window, n))
        window.doc.changed.connect(lambda *_: self._on_network_changed())
        window.doc.replaced.connect(self._on_network_replaced)
        window.problems_panel.definition_clicked.connect(self._on_problem_clicked)
        window.palette.set_graph(window.graph)

    # -- actions and menus ----------------------------------------------------------------------
    def _build_actions(self):
        m = self.w.menus

        def action(text, slot, shortcut=None, tip=""):
            a = QtGui.QAction(text, self.w)
            if shortcut:
                a.setShortcut(QtGui.QKeySequence(shortcut))
                a.setShortcutContext(QtCore.Qt.WidgetWithChildrenShortcut)
                m.canvas_actions.append(a)
                self.w.canvas.widget.addAction(a)
            a.setStatusTip(tip)
            a.triggered.connect(lambda _c=False: slot())
            return a
        self.act_make = action("&Make Component…", self.make_component, "Ctrl+Shift+G",
                               "Replace the selected nodes by one node of a new component type")
        self.act_open = action("&Open Definition", self.open_selected, "Ctrl+E",
                               "Edit the inside of the selected component in its own tab")
        self.act_unpack = action("&Unpack Component", self.unpack_selected, "Ctrl+Shift+U",
                                 "Replace the selected component node by its inner nodes")
        self.act_save_def = action("&Save Definition", self.save_definition,
                                   "Ctrl+Shift+Return",
                                   "Put the definition in front into the network")
        self.act_interface = action("&Ports and Parameters…", self.edit_interface_in_front,
                                    tip="Name, ports and promoted parameters of the component "
                                        "in front")
        self.act_library = action("Save Component to &Library…", self.library.save_selected,
                                  tip="Write the component to a library file: it is listed in "
                                      "the palette of every graph")
        menu = QtWidgets.QMenu("&Component", self.w)
        menu.addActions([self.act_make, self.act_open, self.act_unpack])
        menu.addSeparator()
        menu.addActions([self.act_save_def, self.act_interface])
        menu.addSeparator()
        menu.addAction(self.act_library)
        menu.aboutToShow.connect(self._enable_actions)
        self.menu = menu
        self.w.menuBar().insertMenu(m.view_menu.menuAction(), menu)
        insp = self.w.inspector
        insp.add_action("Open Definition", lambda n: self.open_definition_of(self.w.active, n),
                        lambda n: is_instance(self.w.active.graph, n), everywhere=True)
        insp.add_action("Unpack Component", lambda n: self.unpack(self.w.active, n),
                        lambda n: is_instance(self.w.active.graph, n), everywhere=True)

    def _enable_actions(self):
        c = self.w.active
        ids = c.canvas.selected_ids()
        inst = len(ids) == 1 and is_instance(c.graph, ids[0])
        self.act_make.setEnabled(bool(ids))
        self.act_open.setEnabled(inst)
        self.act_unpack.setEnabled(inst)
        self.act_save_def.setEnabled(c is not self.w)
        self.act_interface.setEnabled(c is not self.w)

    def fill_context_menu(self, menu, node_id, ctx) -> None:
        """The component entries of the canvas context menu (Menus.context_extras)."""
        menu.addSeparator()
        if node_id:
            if is_instance(ctx.graph, node_id):
                menu.addAction(self.act_open)
                menu.addAction(self.act_unpack)
                if ctx is self.w:
                    self._monitor_inside(menu, node_id)
            menu.addAction(self.act_make)
            self.act_make.setEnabled(True)
        elif ctx is not self.w:
            menu.addActions([self.act_save_def, self.act_interface])
        self.act_open.setEnabled(True)
        self.act_unpack.setEnabled(True)
        self.act_save_def.setEnabled(ctx is not self.w)
        self.act_interface.setEnabled(ctx is not self.w)

    def _monitor_inside(self, menu, node_id) -> None:
        """"Monitor Inside" ▸ inner node ▸ its monitors (dotted ids), from the run UI's."""
        actions = self.w.menus.node_actions
        if not actions:
            return
        from spark_snn.app.run.graph_info import offered_monitors
        try:
            flat = flatten(self.w.graph)
        except (GraphError, CompositeError):
            return
        sub = menu.addMenu("Monitor Inside")
        for nid, node in flat.nodes.items():
            if not nid.startswith(node_id + "."):
                continue
            offered = offered_monitors(node)
            if not offered:
                continue
            inner = sub.addMenu(nid[len(node_id) + 1:])
            for text, callback, _applies in actions:
                if text in offered:
                    inner.addAction(text).triggered.connect(
                        lambda _c=False, cb=callback, n=nid: cb(n))
        sub.setEnabled(not sub.isEmpty())

    # -- tabs -----------------------------------------------------------------------------------
    def _tab_at(self, index: int):
        widget = self.tabs.widget(index)
        return next((t for t in self.open_tabs if t.widget is widget), None)

    def tab_for(self, type_name: str) -> DefinitionTab | None:
        return next((t for t in self.open_tabs if t.type_name == type_name), None)

    def update_tab_title(self, tab: DefinitionTab) -> None:
        i = self.tabs.indexOf(tab.widget)
        if i >= 0:
            self.tabs.setTabText(i, f"▣ {tab.type_name}{' *' if tab.dirty else ''}")
        users = tab.users()
        tab.label.setText(
            f"<b>Component '{tab.type_name}'</b> — its inside. "
            + (f"Used by {', '.join(users[:6])}{' …' if len(users) > 6 else ''}. "
               if users else "Not used in the network. ")
            + ("<i>Changes not saved into the network yet.</i>" if tab.dirty else ""))

    def open_definition(self, type_name: str, select: str = "") -> DefinitionTab | None:
        """Bring the tab of component ``type_name`` to the front (opening it)."""
        tab = self.tab_for(type_name)
        if tab is None:
            from spark_snn.engine.composite import Types
            if Types(self.w.graph).definition(type_name) is None:
                self.refuse("Cannot open the definition",
                            f"the network has no component called '{type_name}'")
                return None
            tab = DefinitionTab(self, type_name)
            self.open_tabs.append(tab)
            self.tabs.addTab(tab.widget, "")
            self.update_tab_title(tab)
        self.tabs.setCurrentWidget(tab.widget)
        if select:
            tab.select_node(select, frame=True)
        return tab

    def open_definition_of(self, ctx, node_id: str):
        """Open the definition of the instance ``node_id`` of ``ctx`` (the network or a tab)."""
        node = ctx.graph.nodes.get(node_id)
        if node is None or not is_instance(ctx.graph, node_id):
            return None
        if ctx is not self.w and node.type not in self.w.graph.definitions:
            self.refuse("Cannot open the definition",
                        f"'{node.type}' was made inside '{ctx.type_name}' and is not in the "
                        "network yet: save this definition first")
            return None
        return self.open_definition(node.type)

    def _on_selected_instance(self, command, doing: str):
        """``command(context, node_id)`` on the first selected instance of the canvas in front
        (a hint in the status bar when none is selected)."""
        c = self.w.active
        ids = [n for n in c.canvas.selected_ids() if is_instance(c.graph, n)]
        if not ids:
            self.w.status(f"Select a component node to {doing}")
            return None
        return command(c, ids[0])

    def open_selected(self):
        return self._on_selected_instance(self.open_definition_of, "open its definition")

    def close_tab(self, tab: DefinitionTab | None, ask: bool = True) -> bool:
        """Close a definition's tab; with changes not saved into the network, ask first."""
        if tab is None:
            return False
        if ask and tab.dirty and not self._ask_keep(tab):
            return False
        i = self.tabs.indexOf(tab.widget)
        self.open_tabs.remove(tab)
        self.w.menus.undo_group.removeStack(tab.doc.undo)
        if i >= 0:
            self.tabs.removeTab(i)
        tab.widget.deleteLater()
        tab.deleteLater()
        return True

    def show_network(self) -> None:
        """Bring the network's canvas to the front."""
        self.tabs.setCurrentIndex(0)

    def unsaved_note(self) -> str:
        """A sentence naming the definition tabs with changes not in the network ("" if none)."""
        names = [f"'{t.type_name}'" for t in self.open_tabs if t.dirty]
        if not names:
            return ""
        return (f" (not saved: the changes in the tab of {', '.join(names)}; use Save "
                "Definition to put them into the network)")

    def _ask_keep(self, tab) -> bool:
        """Save / Discard / Cancel for a tab with unsaved changes; True unless cancelled."""
        box = QtWidgets.QMessageBox
        answer = box.question(
            self.w, "Unsaved definition",
            f"The definition of '{tab.type_name}' has changes that are not in the network yet. "
            "Save them into the network?", box.Save | box.Discard | box.Cancel, box.Save)
        if answer == box.Save:
            return tab.save()
        return answer == box.Discard

    def may_close(self) -> bool:
        """Before the network is closed or replaced: every changed definition tab asks."""
        for tab in list(self.open_tabs):
            if tab.dirty:
                self.tabs.setCurrentWidget(tab.widget)
                if not self._ask_keep(tab):
                    return False
        return True

    def _on_tab_changed(self, index: int):
        tab = self._tab_at(index)
        ctx = tab or self.w
        self.w.active = ctx
        self.w.menus.undo_group.setActiveStack(ctx.doc.undo)
        self.w.palette.set_graph(ctx.graph)
        if tab is None:
            self.w.inspector.network = True
            self.w.present_problems()
            self.w.canvas.selection_changed.emit()  # the inspector shows the network's again
        else:
            tab.present_problems()
            tab.show_inspector()
        ctx.canvas.widget.setFocus()

    def _on_network_changed(self):
        for tab in list(self.open_tabs):
            if not tab.follow_network():
                self.w.status(f"Component '{tab.type_name}' is no longer in the network: "
                              "its tab was closed")
                self.close_tab(tab, ask=False)
            else:
                self.update_tab_title(tab)
        self.w.palette.set_graph(self.w.active.graph)

    def _on_network_replaced(self):
        for tab in list(self.open_tabs):
            self.close_tab(tab, ask=False)
        self.w.palette.set_graph(self.w.graph)
        QtCore.QTimer.singleShot(0, self.library.check_differences)

    def _on_problem_clicked(self, type_name: str, node_id: str):
        self.open_definition(type_name, node_id)

    # -- commands -------------------------------------------------------------------------------
    def refuse(self, title: str, why: str) -> None:
        """Say why something cannot be done (status bar, and a message box)."""
        self.last_refusal = why
        self.w.status(f"{title}: {why}")
        if self.popups:
            QtWidgets.QMessageBox.warning(self.w, title, why[:1].upper() + why[1:])

    def make_component(self):
        """Make Component…: the dialog, then the selection replaced by one instance."""
        c = self.w.active
        ids = c.canvas.selected_ids()
        if not ids:
            self.w.status("Select the nodes to make a component from")
            return None
        dlg = MakeComponentDialog(c.graph, ids, self.w)
        self.last_dialog = dlg
        if self.exec_dialog(dlg) != QtWidgets.QDialog.Accepted:
            return None
        return self.make(c, ids, **dlg.spec())

    def make(self, ctx, ids, **spec) -> str | None:
        """Replace nodes ``ids`` of ``ctx`` by a new component (one undo step); the new node's
        id, or None (refused, with the reason)."""
        try:
            new, defn = make_component(ctx.graph, ids, **spec)
        except CompositeError as exc:
            self.refuse("Cannot make the component", str(exc))
            return None
        iid = next(n for n in new.nodes if n not in ctx.graph.nodes
                   and new.nodes[n].type == defn.type_name)
        ctx.doc.apply(f"make component {defn.type_name}", new, node=iid)
        ctx.canvas.select([iid])
        self.w.status(f"Made component '{defn.type_name}' from {len(list(ids))} node(s): "
                      f"'{iid}' (double-click it to open its definition)")
        return iid

    def unpack_selected(self):
        return self._on_selected_instance(self.unpack, "unpack")

    def unpack(self, ctx, node_id: str) -> list[str]:
        """Replace instance ``node_id`` of ``ctx`` by its inner nodes (one undo step)."""
        try:
            new = unpack(ctx.graph, node_id)
        except CompositeError as exc:
            self.refuse("Cannot unpack", str(exc))
            return []
        added = [n for n in new.nodes if n not in ctx.graph.nodes]
        ctx.doc.apply(f"unpack {node_id}", new)
        ctx.canvas.select(added)
        self.w.status(f"Unpacked '{node_id}' into {len(added)} node(s)")
        return added

    def save_definition(self) -> bool:
        tab = self.w.active
        if tab is self.w:
            self.w.status("Open a component's definition to save it")
            return False
        return tab.save()

    def edit_interface_in_front(self):
        if self.w.active is self.w:
            self.w.status("Open a component's definition first")
            return
        self.edit_interface(self.w.active)

    def edit_interface(self, tab: DefinitionTab) -> bool:
        """Ports and Parameters…: change the component's name, category, description,
        boundary ports and promoted parameters (saved into the network at once: one step)."""
        if tab.dirty and not tab.save():
            return False
        dlg = InterfaceDialog(self.w.graph, tab.type_name, self.w)
        self.last_dialog = dlg
        if self.exec_dialog(dlg) != QtWidgets.QDialog.Accepted:
            return False
        try:
            new = dlg.updated_graph()
        except CompositeError as exc:
            self.refuse(f"Cannot change component '{tab.type_name}'", str(exc))
            return False
        old = tab.type_name
        tab.type_name = dlg.result_definition().type_name
        self.w.doc.apply(f"change component {old}", new)
        tab.load()
        self.w.status(f"Changed the ports and parameters of '{tab.type_name}'")
        return True
