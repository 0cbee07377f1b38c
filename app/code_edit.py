"""A small code editor for model texts: highlighting, line numbers, error marks, completion.

``CodeEdit`` is a QPlainTextEdit with

* ``ModelHighlighter``: keywords, input/output kinds, functions, units, numbers, comments, the
  built-in names ``t`` and ``dt`` and the names the text declares (parameters, variables, ports;
  ``dv/dt`` takes the colour of ``v``), each in its own format (``FORMATS``);
* a gutter with the line numbers and a red marker on each line with an error;
* errors (``set_errors``: objects with 1-based ``line``, ``column``, ``end_column`` (exclusive)
  and ``message``, as engine.equations.ModelError): the term at fault underlined with a red wave,
  its line tinted, the message as the tooltip of the term and of the marker;
* completion (QCompleter) of the words given to ``set_words``: it opens by itself after two
  letters of a word that has longer completions, or with Ctrl+Space;
* keys: Tab inserts spaces (to the next multiple of 4; with a selection it indents the lines),
  Shift+Tab unindents, Enter keeps the indentation (one level more after a line ending in
  ``:``), Ctrl+Enter emits ``apply_requested``.

Nothing here knows the engine: the words and names come from the caller (app/model_editor.py).
"""
from __future__ import annotations

import re

from PySide6 import QtCore, QtGui, QtWidgets

INDENT = 4
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
DERIVATIVE = re.compile(r"\bd([A-Za-z_][A-Za-z0-9_]*)\s*/\s*dt\b")
PORT_DECL = re.compile(r"^\s*(input|output)\b")

# colours for the dark theme (app/theme.py): (foreground, bold, italic)
FORMATS = {
    "keyword": ("#c792ea", True, False),
    "kind": ("#89ddff", False, False),
    "function": ("#82aaff", False, False),
    "unit": ("#f78c6c", False, False),
    "number": ("#f2d479", False, False),
    "comment": ("#7f848e", False, True),
    "builtin": ("#c792ea", False, False),
    "param": ("#a5d86e", False, False),
    "variable": ("#5fd7c7", True, False),
    "port": ("#ff9cac", False, False),
}
# what a declared name's role is shown as
ROLE_FORMAT = {"param": "param", "input": "port", "output": "port", "state": "variable",
               "synapse": "variable", "pre": "variable", "post": "variable",
               "weight": "variable"}


def char_format(name: str) -> QtGui.QTextCharFormat:
    colour, bold, italic = FORMATS[name]
    f = QtGui.QTextCharFormat()
    f.setForeground(QtGui.QColor(colour))
    if bold:
        f.setFontWeight(QtGui.QFont.Bold)
    f.setFontItalic(italic)
    return f


class ModelHighlighter(QtGui.QSyntaxHighlighter):
    """Colours a model text (see the module docstring). ``words`` maps a group ("keyword",
    "kind", "function", "unit", "builtin") to its words; ``set_declared`` gives the text's own
    names with their roles."""

    def __init__(self, document: QtGui.QTextDocument, words: dict[str, list[str]]):
        super().__init__(document)
        self.formats = {k: char_format(k) for k in FORMATS}
        self.fixed: dict[str, str] = {}
        for group in ("unit", "function", "builtin", "keyword"):  # later groups win
            for w in words.get(group, ()):
                self.fixed[w] = group
        self.kinds = set(words.get("kind", ()))
        self.declared: dict[str, str] = {}

    def set_declared(self, roles: dict[str, str]) -> None:
        """The text's declared names -> role (param, state, input, ...); re-colours if new."""
        new = {n: ROLE_FORMAT.get(r, "variable") for n, r in roles.items()}
        if new != self.declared:
            self.declared = new
            self.rehighlight()

    def group_of(self, word: str, index: int, port_line: bool) -> str | None:
        """The format of ``word`` (the index-th word of its line)."""
        if port_line and index >= 2 and word in self.kinds:
            return "kind"  # 'input current : mV current': the second 'current' is the kind
        return self.declared.get(word) or self.fixed.get(word)

    def highlightBlock(self, text: str) -> None:
        code, hash_, _comment = text.partition("#")
        if hash_:
            self.setFormat(len(code), len(text) - len(code), self.formats["comment"])
        for m in NUMBER.finditer(code):
            self.setFormat(m.start(), m.end() - m.start(), self.formats["number"])
        port_line = bool(PORT_DECL.match(code))
        for i, m in enumerate(WORD.finditer(code)):
            group = self.group_of(m.group(0), i, port_line)
            if group:
                self.setFormat(m.start(), m.end() - m.start(), self.formats[group])
        for m in DERIVATIVE.finditer(code):
            group = self.declared.get(m.group(1))
            if group:
                self.setFormat(m.start(), m.end() - m.start(), self.formats[group])


class Gutter(QtWidgets.QWidget):
    """Line numbers and error markers at the left of a CodeEdit."""

    def __init__(self, edit: "CodeEdit"):
        super().__init__(edit)
        self.edit = edit
        self.setMouseTracking(True)

    def sizeHint(self):
        return QtCore.QSize(self.edit.gutter_width(), 0)

    def paintEvent(self, event):
        self.edit.paint_gutter(event)

    def event(self, ev):
        if ev.type() == QtCore.QEvent.ToolTip:
            line = self.edit.line_at_y(ev.pos().y())
            msgs = [e.message for e in self.edit.errors if e.line == line]
            if msgs:
                QtWidgets.QToolTip.showText(ev.globalPos(), "\n".join(msgs), self)
            else:
                QtWidgets.QToolTip.hideText()
            return True
        return super().event(ev)


class CodeEdit(QtWidgets.QPlainTextEdit):
    """The editor widget (see the module docstring)."""

    apply_requested = QtCore.Signal()
    ERROR_COLOUR = QtGui.QColor("#ff5555")

    def __init__(self, words: dict[str, list[str]] | None = None, parent=None):
        super().__init__(parent)
        font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont)
        self.setFont(font)
        self.setLineWrapMode(QtWidgets.QPlainTextEdit.NoWrap)
        self.setTabChangesFocus(False)
        self.errors: list = []
        self.gutter = Gutter(self)
        self.highlighter = ModelHighlighter(self.document(), words or {})
        self.completer = QtWidgets.QCompleter(self)
        self.completer.setWidget(self)
        self.completer.setCompletionMode(QtWidgets.QCompleter.PopupCompletion)
        self.completer.setCaseSensitivity(QtCore.Qt.CaseInsensitive)
        self.completer.setModelSorting(QtWidgets.QCompleter.CaseInsensitivelySortedModel)
        self.completer.setModel(QtCore.QStringListModel([], self.completer))
        self.completer.activated.connect(self.insert_completion)
        self.blockCountChanged.connect(self._update_margins)
        self.updateRequest.connect(self._scroll_gutter)
        self._update_margins()

    # -- gutter --------------------------------------------------------------------------------
    def gutter_width(self) -> int:
        """Room for the largest line number (at least 2 digits) and the error marker."""
        digits = max(2, len(str(max(1, self.blockCount()))))
        return 8 + self.fontMetrics().horizontalAdvance("9") * digits + self.marker_size() + 6

    def marker_size(self) -> int:
        return max(6, self.fontMetrics().height() // 2)

    def _update_margins(self, _count=0):
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _scroll_gutter(self, rect, dy):
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())

    def resizeEvent(self, event):
        super().resizeEvent(event)
        cr = self.contentsRect()
        self.gutter.setGeometry(QtCore.QRect(cr.left(), cr.top(), self.gutter_width(),
                                             cr.height()))

    def paint_gutter(self, event):
        p = QtGui.QPainter(self.gutter)
        pal = self.palette()
        p.fillRect(event.rect(), pal.color(QtGui.QPalette.AlternateBase))
        bad = {e.line for e in self.errors}
        block = self.firstVisibleBlock()
        top = self.blockBoundingGeometry(block).translated(self.contentOffset()).top()
        fm = self.fontMetrics()
        ms = self.marker_size()
        current = self.textCursor().blockNumber()
        while block.isValid() and top <= event.rect().bottom():
            height = self.blockBoundingRect(block).height()
            if block.isVisible() and top + height >= event.rect().top():
                n = block.blockNumber() + 1
                if n in bad:
                    p.setRenderHint(QtGui.QPainter.Antialiasing)
                    p.setPen(QtCore.Qt.NoPen)
                    p.setBrush(self.ERROR_COLOUR)
                    p.drawEllipse(QtCore.QRectF(4, top + (fm.height() - ms) / 2, ms, ms))
                colour = pal.color(QtGui.QPalette.Text if n - 1 == current
                                   else QtGui.QPalette.PlaceholderText)
                p.setPen(self.ERROR_COLOUR if n in bad else colour)
                p.drawText(0, int(top), self.gutter.width() - 6, fm.height(),
                           QtCore.Qt.AlignRight, str(n))
            top += height
            block = block.next()
        p.end()

    def line_at_y(self, y: float) -> int:
        """The 1-based line shown at viewport height ``y`` (0: none)."""
        block = self.firstVisibleBlock()
        top = self.blockBoundingGeometry(block).translated(self.contentOffset()).top()
        while block.isValid():
            bottom = top + self.blockBoundingRect(block).height()
            if top <= y < bottom:
                return block.blockNumber() + 1
            top = bottom
            block = block.next()
        return 0

    # -- errors --------------------------------------------------------------------------------
    def set_errors(self, errors) -> None:
        """Mark ``errors`` (see the module docstring): wave under the term, tinted line, gutter
        marker, tooltip."""
        self.errors = list(errors)
        marks = []
        doc = self.document()
        for e in self.errors:
            if e.line < 1 or e.line > doc.blockCount():
                continue
            block = doc.findBlockByNumber(e.line - 1)
            line = QtWidgets.QTextEdit.ExtraSelection()
            line.format.setBackground(QtGui.QColor(235, 64, 64, 38))
            line.format.setProperty(QtGui.QTextFormat.FullWidthSelection, True)
            line.cursor = QtGui.QTextCursor(block)
            marks.append(line)
            start, end = self.term_range(e, block)
            if end > start:
                term = QtWidgets.QTextEdit.ExtraSelection()
                term.format.setUnderlineStyle(QtGui.QTextCharFormat.WaveUnderline)
                term.format.setUnderlineColor(self.ERROR_COLOUR)
                term.format.setToolTip(e.message)
                cur = QtGui.QTextCursor(block)
                cur.setPosition(block.position() + start)
                cur.setPosition(block.position() + end, QtGui.QTextCursor.KeepAnchor)
                term.cursor = cur
                marks.append(term)
        self.setExtraSelections(marks)
        self.gutter.update()

    @staticmethod
    def term_range(err, block: QtGui.QTextBlock) -> tuple[int, int]:
        """(start, end) offsets in the line of the term an error points at: its columns, or
        the last character when the columns fall past the end of the line."""
        length = len(block.text())
        start = max(0, min(err.column - 1, length))
        end = max(start, min((err.end_column or err.column) - 1, length))
        if end == start:
            start, end = (start, start + 1) if start < length else (max(0, length - 1), length)
        return start, end

    def errors_at(self, line: int, offset: int) -> list:
        """The errors whose term covers character ``offset`` of 1-based ``line``."""
        out = []
        for e in self.errors:
            if e.line == line:
                start, end = self.term_range(e, self.document().findBlockByNumber(line - 1))
                if start <= offset < end:
                    out.append(e)
        return out

    def event(self, ev):
        if ev.type() == QtCore.QEvent.ToolTip:
            cur = self.cursorForPosition(self.viewport().mapFrom(self, ev.pos()))
            hits = self.errors_at(cur.blockNumber() + 1, cur.positionInBlock())
            if hits:
                QtWidgets.QToolTip.showText(ev.globalPos(),
                                            "\n".join(e.message for e in hits), self)
            else:
                QtWidgets.QToolTip.hideText()
            return True
        return super().event(ev)

    # -- completion ----------------------------------------------------------------------------
    def set_words(self, words) -> None:
        """The words that completion offers."""
        words = sorted(set(words), key=str.lower)
        model = self.completer.model()
        if model.stringList() != words:
            model.setStringList(words)

    def completion_words(self) -> list[str]:
        return list(self.completer.model().stringList())

    def in_comment(self) -> bool:
        cur = self.textCursor()
        return "#" in cur.block().text()[:cur.positionInBlock()]

    def word_before_cursor(self) -> str:
        cur = self.textCursor()
        line = cur.block().text()[:cur.positionInBlock()]
        m = re.search(r"(?<![0-9.])[A-Za-z_][A-Za-z0-9_]*$", line)
        return m.group(0) if m and "#" not in line else ""

    def show_completions(self, forced: bool = False) -> bool:
        """Open the completion popup for the word before the cursor (typed: after 2 letters,
        when some completion is longer than the word; never in a comment). True when it
        opened."""
        prefix = self.word_before_cursor()
        popup = self.completer.popup()
        if self.in_comment() or (not forced and len(prefix) < 2):
            popup.hide()
            return False
        self.completer.setCompletionPrefix(prefix)
        matches = []
        for i in range(self.completer.completionCount()):
            self.completer.setCurrentRow(i)
            matches.append(self.completer.currentCompletion())
        if not matches or (not forced and all(m.lower() == prefix.lower() for m in matches)):
            popup.hide()
            return False
        self.completer.setCurrentRow(0)
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self.cursorRect()
        rect.setWidth(popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width()
                      + 12)
        rect.translate(self.viewportMargins().left(), 0)
        self.completer.complete(rect)
        return True

    def insert_completion(self, word: str) -> None:
        prefix = self.word_before_cursor()
        cur = self.textCursor()
        cur.movePosition(QtGui.QTextCursor.Left, QtGui.QTextCursor.KeepAnchor, len(prefix))
        cur.insertText(word)
        self.setTextCursor(cur)

    # -- keys ----------------------------------------------------------------------------------
    def keyPressEvent(self, ev):
        key, mods = ev.key(), ev.modifiers()
        popup = self.completer.popup()
        if popup.isVisible() and key in (QtCore.Qt.Key_Return, QtCore.Qt.Key_Enter,
                                         QtCore.Qt.Key_Tab, QtCore.Qt.Key_Escape,
                                         QtCore.Qt.Key_Backtab) \
                and not mods & QtCore.Qt.ControlModifier:
            if key == QtCore.Qt.Key_Escape:
                popup.hide()
            else:
                index = popup.currentIndex()
                word = index.data() if index.isValid() else self.completer.currentCompletion()
                popup.hide()
                if word:
                    self.insert_completion(word)
            return
        if key in (QtCore.Qt.Key_Return, QtCore.Qt.Key_Enter):
            popup.hide()
            if mods & QtCore.Qt.ControlModifier:
                self.apply_requested.emit()
            else:
                self.new_line()
            return
        if key == QtCore.Qt.Key_Space and mods & QtCore.Qt.ControlModifier:
            self.show_completions(forced=True)
            return
        if key == QtCore.Qt.Key_Tab and not mods & QtCore.Qt.ControlModifier:
            self.indent()
            return
        if key == QtCore.Qt.Key_Backtab:
            self.unindent()
            return
        super().keyPressEvent(ev)
        if ev.text() and (ev.text().isalnum() or ev.text() == "_"):
            self.show_completions()
        elif popup.isVisible():
            if key == QtCore.Qt.Key_Backspace and self.word_before_cursor():
                self.show_completions()
            elif key not in (QtCore.Qt.Key_Up, QtCore.Qt.Key_Down, QtCore.Qt.Key_PageUp,
                             QtCore.Qt.Key_PageDown, QtCore.Qt.Key_Shift):
                popup.hide()

    def new_line(self) -> None:
        """Enter: a new line at the indentation of this one (one level more after ':')."""
        cur = self.textCursor()
        line = cur.block().text()
        indent = len(line) - len(line.lstrip(" "))
        code = line[:cur.positionInBlock()].partition("#")[0].rstrip()
        if code.endswith(":"):
            indent += INDENT
        cur.insertText("\n" + " " * indent)
        self.setTextCursor(cur)

    def _selected_blocks(self):
        cur = self.textCursor()
        doc = self.document()
        first = doc.findBlock(cur.selectionStart()).blockNumber()
        last_pos = max(cur.selectionStart(), cur.selectionEnd() - (1 if cur.hasSelection() else 0))
        last = doc.findBlock(last_pos).blockNumber()
        return [doc.findBlockByNumber(i) for i in range(first, last + 1)]

    def indent(self) -> None:
        """Tab: spaces to the next multiple of 4, or (a selection) every selected line."""
        cur = self.textCursor()
        if not cur.hasSelection():
            col = cur.positionInBlock()
            cur.insertText(" " * (INDENT - col % INDENT))
            return
        cur.beginEditBlock()
        for block in self._selected_blocks():
            c = QtGui.QTextCursor(block)
            c.insertText(" " * INDENT)
        cur.endEditBlock()

    def unindent(self) -> None:
        """Shift+Tab: remove up to 4 leading spaces of the current or selected lines."""
        cur = self.textCursor()
        cur.beginEditBlock()
        for block in self._selected_blocks():
            text = block.text()
            n = min(INDENT, len(text) - len(text.lstrip(" ")))
            if n:
                c = QtGui.QTextCursor(block)
                c.movePosition(QtGui.QTextCursor.Right, QtGui.QTextCursor.KeepAnchor, n)
                c.removeSelectedText()
        cur.endEditBlock()
