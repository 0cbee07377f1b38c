"""The editor of an equation-defined node's model text (the ``model`` parameter).

``ModelEditor`` is what the inspector shows for a ``text`` parameter: a ``CodeEdit``
(app/code_edit.py: highlighting, line numbers, error marks, completion) with a list of the
problems below it and a row of buttons. While the user types, the text is checked after a
short pause (``CHECK_DELAY_MS``) by the engine's own check (``check(text) -> Model``, e.g. an
equation node class's ``model_of``; about 2 ms for the shipped texts, no JAX involved, so it
runs on the GUI thread): errors are marked on their line and listed below (click one to go
there), and the declared names feed the highlighting and completion. When the text is fine
the list says what the node will have (parameters, inputs, outputs).

The text reaches the graph only when applied (Ctrl+Enter or Apply: ``applied(text)``, one undo
step of the document); until then the editor says that it has unapplied changes, Revert goes
back to the graph's text, and the inspector asks what to do with them before it shows another
selection. "Edit model…" opens the same editor in a large dialog (``ModelDialog``); "Save as
component…" asks the window to save the node as a library component (app/component_save.py).
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .code_edit import CodeEdit

CHECK_DELAY_MS = 300


def editor_words(vocab: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """The highlighter's word groups from ``engine.equations.vocabulary()``."""
    v = vocab or {}
    return {"keyword": v.get("keywords", []), "kind": v.get("kinds", []),
            "function": v.get("functions", []), "unit": v.get("units", []),
            "builtin": v.get("builtins", [])}


def summary(model) -> str:
    """What a checked text without errors gives the node, in one line."""
    declared = model.declared()
    params = [s.name for s in declared if s.role == "param"]
    inputs = [s.name for s in declared if s.role == "input"]
    variables = [s.name for s in declared if s.role not in ("param", "input")]
    parts = [f"{len(params)} parameter{'s' * (len(params) != 1)}"]
    if inputs:
        parts.append("inputs " + ", ".join(inputs))
    if variables:
        parts.append("variables " + ", ".join(variables))
    return "No problems: " + "; ".join(parts) + "."


class ModelEditor(QtWidgets.QWidget):
    """A checked model-text editor (see the module docstring).

    ``check(text)`` returns an object with ``errors`` (ModelError-like) and ``declared()``
    (symbols with ``name`` and ``role``), or is None for a plain text. ``vocab`` is
    ``engine.equations.vocabulary()``. Signals: ``applied(text)``, ``save_requested()``.
    """

    applied = QtCore.Signal(str)
    save_requested = QtCore.Signal()
    modified_changed = QtCore.Signal(bool)

    def __init__(self, check=None, vocab=None, title: str = "model", large: bool = False,
                 parent=None):
        super().__init__(parent)
        self.check_fn = check
        self.vocab = vocab or {}
        self.title = title
        self.model = None
        self._base = ""          # the text in the graph
        self._was_modified = False
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self.edit = CodeEdit(editor_words(self.vocab))
        self.edit.setMinimumHeight(420 if large else 300)
        self.messages = QtWidgets.QListWidget()
        self.messages.setObjectName("modelMessages")
        self.messages.setWordWrap(True)
        self.messages.setMaximumHeight(150 if large else 84)
        self.messages.itemActivated.connect(self._go_to)
        self.messages.itemClicked.connect(self._go_to)
        self.state = QtWidgets.QLabel()
        self.state.setObjectName("hint")
        self.state.setWordWrap(True)
        buttons = QtWidgets.QHBoxLayout()
        buttons.setSpacing(4)
        more = QtWidgets.QHBoxLayout()  # (a second row: the inspector is narrow)
        more.setSpacing(4)
        self.apply_button = QtWidgets.QPushButton("Apply")
        self.apply_button.setToolTip("Apply the text to the node (Ctrl+Enter): one undo step")
        self.revert_button = QtWidgets.QPushButton("Revert")
        self.revert_button.setToolTip("Back to the node's text (drops the unapplied changes)")
        self.expand_button = QtWidgets.QPushButton("Edit model…")
        self.expand_button.setToolTip("Edit the text in a large window")
        self.save_button = QtWidgets.QPushButton("Save as library component…")
        self.save_button.setToolTip("Save this node as a component of your library: it then "
                                    "appears in the palette")
        for b in (self.apply_button, self.revert_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        if not large:
            buttons.addWidget(self.expand_button)
        more.addStretch(1)
        (buttons if large else more).addWidget(self.save_button)
        self.save_button.setVisible(check is not None)
        lay.addWidget(self.edit)
        lay.addWidget(self.state)
        lay.addWidget(self.messages)
        lay.addLayout(buttons)
        lay.addLayout(more)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_DELAY_MS)
        self._timer.timeout.connect(self.check_now)
        self.edit.textChanged.connect(self._on_text_changed)
        self.edit.apply_requested.connect(self.apply)
        self.apply_button.clicked.connect(self.apply)
        self.revert_button.clicked.connect(self.revert)
        self.expand_button.clicked.connect(self.open_dialog)
        self.save_button.clicked.connect(self.save_requested)
        self._show_state()

    # -- text ----------------------------------------------------------------------------------
    def text(self) -> str:
        return self.edit.toPlainText()

    def base_text(self) -> str:
        return self._base

    def is_modified(self) -> bool:
        """Whether the editor holds changes that are not in the graph."""
        return self.text() != self._base

    def set_text(self, text: str) -> None:
        """The graph's text is ``text``. The editor shows it, unless it holds unapplied
        changes: those are kept (never replaced behind the user's back)."""
        text = "" if text is None else str(text)
        self._base = text
        if not self._was_modified and self.text() != text:
            self.edit.setPlainText(text)
            self.check_now()
        elif self.model is None:
            self.check_now()
        self._show_state()

    def set_pending(self, text: str) -> None:
        """Show ``text`` as unapplied changes (from the large dialog)."""
        if text != self.text():
            cur = self.edit.textCursor()
            cur.beginEditBlock()
            cur.select(cur.SelectionType.Document)
            cur.insertText(text)
            cur.endEditBlock()
        self.check_now()

    def apply(self) -> None:
        """Commit the text to the graph (``applied``) when it differs from the graph's."""
        if self._timer.isActive():
            self.check_now()  # the marks show what is applied
        if self.is_modified():
            text = self.text()
            self._base = text
            self._show_state()
            self.applied.emit(text)

    def revert(self) -> None:
        if self.is_modified():
            self.set_pending(self._base)

    # -- checking ------------------------------------------------------------------------------
    def _on_text_changed(self):
        self._timer.start()
        self._show_state()

    def check_now(self) -> None:
        """Check the text now (the typing pause does this by itself)."""
        self._timer.stop()
        if self.check_fn is None:
            return
        self.model = m = self.check_fn(self.text())
        declared = m.declared()
        self.edit.highlighter.set_declared({s.name: s.role for s in declared})
        v = self.vocab
        self.edit.set_words([s.name for s in declared] + v.get("functions", [])
                            + v.get("units", []) + v.get("keywords", [])
                            + v.get("builtins", []))
        self.edit.set_errors(m.errors)
        self.messages.clear()
        for e in m.errors:
            item = QtWidgets.QListWidgetItem(f"✖ {e}")
            item.setData(QtCore.Qt.UserRole, (e.line, e.column))
            item.setToolTip(str(e) + (f"\n[{e.term}]" if getattr(e, "term", "") else ""))
            self.messages.addItem(item)
        if not m.errors:
            self.messages.addItem(QtWidgets.QListWidgetItem(summary(m)))

    def error_lines(self) -> list[int]:
        return [e.line for e in self.edit.errors]

    def _go_to(self, item):
        where = item.data(QtCore.Qt.UserRole)
        if not where or not where[0]:
            return
        line, col = where
        block = self.edit.document().findBlockByNumber(line - 1)
        cur = self.edit.textCursor()
        cur.setPosition(block.position() + max(0, min(col - 1, len(block.text()))))
        self.edit.setTextCursor(cur)
        self.edit.setFocus()

    def _show_state(self):
        modified = self.is_modified()
        self.apply_button.setEnabled(modified)
        self.revert_button.setEnabled(modified)
        self.state.setText("● unapplied changes: Ctrl+Enter or Apply to use them"
                           if modified else "Ctrl+Enter applies · Ctrl+Space completes")
        self.state.setStyleSheet("color: #e0a040;" if modified else "")
        if modified != self._was_modified:
            self._was_modified = modified
            self.modified_changed.emit(modified)

    # -- the large editor ------------------------------------------------------------------------
    def open_dialog(self) -> "ModelDialog":
        """Edit the text in a large window; its Apply commits like this editor's, and what it
        holds unapplied when closed comes back here as unapplied changes."""
        dlg = ModelDialog(self)
        dlg.open()
        return dlg


class ModelDialog(QtWidgets.QDialog):
    """The large model editor of ``source`` (a ModelEditor)."""

    def __init__(self, source: ModelEditor):
        super().__init__(source.window())
        self.source = source
        self.setWindowTitle(f"Model text — {source.title}")
        self.setModal(True)
        self.resize(900, 720)
        lay = QtWidgets.QVBoxLayout(self)
        self.editor = ModelEditor(source.check_fn, source.vocab, source.title, large=True)
        self.editor.set_text(source.base_text())
        if source.is_modified():
            self.editor.set_pending(source.text())
        self.editor.applied.connect(self._apply)
        self.editor.save_requested.connect(self._save)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        lay.addWidget(self.editor)
        lay.addWidget(close)
        self.finished.connect(self._hand_back)
        cur = source.edit.textCursor()
        mine = self.editor.edit.textCursor()
        mine.setPosition(min(cur.position(), len(self.editor.text())))
        self.editor.edit.setTextCursor(mine)
        self.editor.edit.setFocus()

    def _apply(self, text):
        self.source.set_pending(text)
        self.source.apply()

    def _save(self):
        self._hand_back()
        self.source.save_requested.emit()

    def _hand_back(self, _result=0):
        if self.editor.is_modified():
            self.source.set_pending(self.editor.text())


def for_node_type(cls, param: str = "model", title: str = "model") -> ModelEditor:
    """A ModelEditor for the text parameter ``param`` of nodes of type ``cls``: checked by the
    type's ``model_of`` when it is an equation-defined type, else a plain text editor."""
    model_of = getattr(cls, "model_of", None) if param == "model" else None
    if model_of is None:
        return ModelEditor(title=title)
    from spark_snn.engine.equations import vocabulary
    return ModelEditor(lambda text: model_of({"model": text}), vocabulary(), title)


class ModelSlot(QtCore.QObject):
    """The inspector's model editor. One editor per selection, kept while the selection stays
    (a rebuild of the inspector after an applied text keeps its cursor, focus and typing
    history). When the selection changes with unapplied changes, ``ask(node_ids, text)`` is
    called once the new selection is shown, so they are never dropped silently. An applied
    text goes to ``commit(param, text)``; the Save button calls ``save()``."""

    def __init__(self, ask, commit, save):
        super().__init__()
        self.ask = ask
        self.commit = commit
        self.save = save
        self.current: ModelEditor | None = None
        self.key = None
        self._focus = False

    def editor(self, cls, param: str, node_ids, type_name) -> ModelEditor:
        """The editor for ``param`` of the selected ``node_ids`` (the same one while they stay
        selected, renamed or not: ``leave`` drops it when the selection changes)."""
        key = (type_name, param)
        if self.current is None or self.key != key:
            self.drop()
            ed = self.current = for_node_type(cls, param, ", ".join(node_ids))
            self.key = key
            ed.save_button.setVisible(ed.check_fn is not None and len(node_ids) == 1)
            ed.save_requested.connect(self.save)
            ed.applied.connect(lambda text: self.commit(param, text))
        return self.current

    def detach(self) -> None:
        """Before the inspector's form is cleared: take the editor out of it."""
        if self.current is not None:
            self._focus = self.current.edit.hasFocus()
            self.current.setParent(None)

    def attached(self) -> None:
        """After the form is built: give the focus back; drop an editor no longer shown."""
        ed = self.current
        if ed is not None and ed.parent() is None:
            self.drop()
        elif ed is not None and self._focus:
            ed.edit.setFocus()
        self._focus = False

    def leave(self, node_ids) -> None:
        """The selection moves away from ``node_ids``: offer the unapplied changes."""
        ed = self.current
        if ed is not None and ed.is_modified() and node_ids:
            ids, text = list(node_ids), ed.text()
            QtCore.QTimer.singleShot(0, lambda: self.ask(ids, text))
        self.drop()

    def drop(self) -> None:
        if self.current is not None:
            self.current.setParent(None)
            self.current.deleteLater()
        self.current, self.key = None, None

    def apply_pending(self) -> None:
        if self.current is not None and self.current.is_modified():
            self.current.apply()
