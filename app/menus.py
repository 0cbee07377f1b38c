"""The editor's actions, menu bar, file toolbar, canvas context menu and Tab search.

``Menus`` makes every QAction once (with its shortcuts; canvas-only ones act only while a
canvas has focus, so typing in the inspector is never intercepted) and puts them in the menus,
the toolbar and the context menus. The commands themselves live in ``edits``
(app/editing.py), ``clipboard`` (app/clipboard.py) and ``window.files`` (app/files.py).

Editing commands act on ``window.active``: the network (the window itself) or the canvas tab
of a component's definition in front (app/components_ui), each with its own ``doc``,
``canvas``, ``edits`` and ``clipboard``; Undo and Redo follow the undo history of the one in
front (``undo_group``).
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from .palette import TabSearchPopup, categories, is_composite


def steady_width(toolbar: QtWidgets.QToolBar, action: QtGui.QAction, texts) -> None:
    """Give ``action``'s toolbar button the width of the widest of ``texts`` for good, so
    that swapping them (Run / Pause) does not shift the rest of the toolbar."""
    button = toolbar.widgetForAction(action)
    if button is None:
        return
    current = action.text()
    widths = []
    for text in texts:
        action.setText(text)
        widths.append(button.sizeHint().width())
    action.setText(current)
    button.setFixedWidth(max(widths))


class Menus(QtCore.QObject):
    """Actions and menus of one window; see the module docstring."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        # (text, callback(node_id), applies(node_id) -> bool or None) from app/run
        self.node_actions: list[tuple[str, object, object]] = []
        # fill(menu, node_id, context): more context-menu entries (app/components_ui)
        self.context_extras: list = []
        self.last_menu = None
        self.tab_popup = TabSearchPopup(window)
        self._tab_scene_pos = (0.0, 0.0)
        self.tab_popup.chosen.connect(
            lambda t: window.active.edits.add_node(t, self._tab_scene_pos))
        self.undo_group = QtGui.QUndoGroup(self)
        self.undo_group.addStack(window.doc.undo)
        self.undo_group.setActiveStack(window.doc.undo)
        self.canvas_actions: list[QtGui.QAction] = []
        self._build_actions()
        self._build_menus()
        self.attach_canvas(window.canvas)

    def _action(self, text, slot, shortcuts=(), tip="", canvas_only=False):
        a = QtGui.QAction(text, self.w)
        if shortcuts:
            a.setShortcuts([QtGui.QKeySequence(s) for s in shortcuts])
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(lambda _checked=False: slot())
        if canvas_only:
            # only while a canvas has focus, so typing in the inspector is never intercepted
            a.setShortcutContext(QtCore.Qt.WidgetWithChildrenShortcut)
            self.canvas_actions.append(a)
        else:
            self.w.addAction(a)
        return a

    def attach_canvas(self, canvas) -> None:
        """Give ``canvas`` (the network's or a definition tab's) the canvas-only shortcuts,
        the context menu and Tab search."""
        canvas.widget.addActions(self.canvas_actions)
        canvas.viewer.installEventFilter(self)
        canvas.context_menu_requested.connect(self.context_menu)

    def _build_actions(self):
        A, K = self._action, QtGui.QKeySequence
        w, files, undo = self.w, self.w.files, self.undo_group

        def edits(name):  # the command of the canvas in front, looked up when triggered
            return lambda: getattr(w.active.edits, name)()

        def clip(name):
            return lambda: getattr(w.active.clipboard, name)()
        self.act_new = A("&New", files.new_file, [K.New], "Start an empty graph")
        self.act_open = A("&Open…", files.open_file, [K.Open], "Open a graph file")
        self.act_save = A("&Save", files.save, [K.Save], "Save the graph")
        self.act_save_as = A("Save &As…", files.save_as, ["Ctrl+Shift+S"], "Save under a new name")
        self.act_import_nir = A("&Import NIR…", lambda: w.nir.import_nir(),
                                tip="Read a NIR file (snnTorch, Norse, …) into a new graph")
        self.act_export_nir = A("E&xport NIR…", lambda: w.nir.export_nir(),
                                tip="Write the graph as a NIR file; lists what NIR cannot express")
        self.act_quit = A("&Quit", w.close, [K.Quit])
        self.act_undo = A("&Undo", undo.undo, ["Ctrl+Z"])
        self.act_redo = A("&Redo", undo.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        undo.canUndoChanged.connect(self.act_undo.setEnabled)
        undo.canRedoChanged.connect(self.act_redo.setEnabled)
        # what would be undone goes in the tooltip, so the toolbar does not change width
        undo.undoTextChanged.connect(lambda t: self.act_undo.setToolTip(f"Undo {t} (Ctrl+Z)"))
        undo.redoTextChanged.connect(lambda t: self.act_redo.setToolTip(f"Redo {t} (Ctrl+Shift+Z)"))
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)
        self.act_cut = A("Cu&t", clip("cut"), ["Ctrl+X"], canvas_only=True)
        self.act_copy = A("&Copy", clip("copy"), ["Ctrl+C"], canvas_only=True)
        self.act_paste = A("&Paste", clip("paste"), ["Ctrl+V"], canvas_only=True)
        self.act_duplicate = A("&Duplicate", clip("duplicate"), ["Ctrl+D"], canvas_only=True)
        self.act_delete = A("&Delete", edits("delete_selection"), ["Del", "Backspace"],
                            canvas_only=True)
        self.act_select_all = A("Select &All", lambda: w.active.canvas.select_all(), ["Ctrl+A"],
                                canvas_only=True)
        self.act_group = A("&Group in Backdrop", edits("group_selection"), ["Ctrl+G"],
                           "Draw a titled frame around the selected nodes", canvas_only=True)
        self.act_rename = A("Re&name…", w.focus_rename, ["F2"], canvas_only=True)
        self.act_fit = A("&Zoom to Fit", lambda: w.active.canvas.fit(), ["F"], canvas_only=True)
        self.act_validate = A("&Validate", w.validate_now, ["F7"], "Check the whole graph")
        self.act_reset_layout = A("Reset &Layout", w.docks.reset)

    def _build_menus(self):
        w, files = self.w, self.w.files
        mb = w.menuBar()
        m = mb.addMenu("&File")
        self.file_menu = m
        m.addActions([self.act_new, self.act_open])
        self.recent_menu = m.addMenu("Open &Recent")
        self.examples_menu = m.addMenu("&Examples")
        self.recent_menu.aboutToShow.connect(lambda: files.fill_recent(self.recent_menu))
        self.examples_menu.aboutToShow.connect(lambda: files.fill_examples(self.examples_menu))
        files.fill_examples(self.examples_menu)
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addActions([self.act_import_nir, self.act_export_nir])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate,
                      self.act_delete, self.act_select_all])
        m.addSeparator()
        m.addActions([self.act_rename, self.act_group])
        self.add_menu = mb.addMenu("&Add")

        def fill_add():
            self._fill_add_menu(self.add_menu,
                                lambda t: (lambda _c=False: w.active.edits.add_node(t)),
                                tooltips=True)
        fill_add()
        self.add_menu.aboutToShow.connect(fill_add)
        m = mb.addMenu("&View")
        m.addAction(self.act_fit)
        m.addSeparator()
        for d in w.docks.editor_docks:
            m.addAction(d.toggleViewAction())
        m.addAction(self.act_reset_layout)
        self.view_menu = m
        m = mb.addMenu("&Graph")
        m.addAction(self.act_validate)
        tb = w.addToolBar("File")
        tb.setObjectName("fileToolbar")
        tb.setMovable(True)
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo])
        tb.addSeparator()
        tb.addActions([self.act_validate, self.act_fit])
        self.file_toolbar = tb

    def _fill_add_menu(self, menu, slot_for, prefix: str = "", tooltips: bool = False):
        """One submenu per category, one entry per node type (the open graph's composite
        components too); ``slot_for(type)`` -> slot."""
        menu.clear()
        for cat, classes in categories(self.w.active.graph):
            sub = menu.addMenu(prefix + cat)
            for cls in classes:
                act = sub.addAction(("▣ " if is_composite(cls) else "")
                                    + (cls.title or cls.type_name))
                if tooltips:
                    act.setToolTip(cls.description)
                act.triggered.connect(slot_for(cls.type_name))

    def add_node_action(self, text: str, callback, applies=None) -> None:
        self.node_actions.append((text, callback, applies))

    # -- canvas context menu and Tab search ------------------------------------------------------
    def context_menu(self, global_pos, node_id):
        """The menu of the canvas in front: on a node (monitors only in the network), or on
        the background (add a node, paste, ...)."""
        w = self.w
        c = w.active
        menu = QtWidgets.QMenu(w)
        if node_id:
            if node_id not in c.canvas.selected_ids():
                c.select_node(node_id)
            offered = [(t, cb) for t, cb, applies in self.node_actions
                       if c is w and (applies is None or applies(node_id))]
            for text, cb in offered:
                menu.addAction(text).triggered.connect(lambda _c=False, cb=cb, n=node_id: cb(n))
            if offered:
                menu.addSeparator()
            menu.addActions([self.act_rename, self.act_duplicate, self.act_copy, self.act_delete,
                             self.act_group])
        else:
            scene = c.canvas.viewer.mapToScene(c.canvas.viewer.mapFromGlobal(global_pos))
            at = (scene.x(), scene.y())
            self._fill_add_menu(menu, lambda t: (lambda _c=False: c.edits.add_node(t, at)),
                                prefix="Add ")
            menu.addSeparator()
            menu.addActions([self.act_paste, self.act_select_all, self.act_fit])
            if c.canvas.selected_backdrops():
                bid = c.canvas.selected_backdrops()[0]
                menu.addAction("Rename Backdrop…").triggered.connect(
                    lambda _c=False: c.edits.ask_backdrop_title(bid))
        for fill in self.context_extras:
            fill(menu, node_id, c)
        menu.popup(global_pos)
        self.last_menu = menu

    def eventFilter(self, obj, ev):
        if obj is self.w.active.canvas.viewer and ev.type() == QtCore.QEvent.KeyPress \
                and ev.key() == QtCore.Qt.Key_Tab:
            self.open_tab_search()
            return True
        return super().eventFilter(obj, ev)

    def open_tab_search(self):
        self._tab_scene_pos = self.w.active.canvas.scene_cursor_pos()
        self.tab_popup.graph = self.w.active.graph
        self.tab_popup.popup_at(QtGui.QCursor.pos())
