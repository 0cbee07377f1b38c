"""The model-text editor of equation-defined nodes (app/model_editor.py, app/code_edit.py) and
saving such a node as a library component (app/component_save.py, engine/composite/single.py):
highlighting, the line-number gutter, errors on their line, completion, keys, applying (ports
follow, one undo step), unapplied edits never dropped, the library file and the palette."""
import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402
from test_app_editor import make_window, temp_settings, win  # noqa: E402,F401  (fixtures)

from spark_snn import engine  # noqa: E402
from spark_snn.app.code_edit import FORMATS  # noqa: E402
from spark_snn.app.component_save import SaveComponentDialog, save_node_as_component  # noqa: E402
from spark_snn.app.model_editor import for_node_type  # noqa: E402
from spark_snn.engine import Graph, Node  # noqa: E402
from spark_snn.engine.composite import (CompositeError, flatten, load_library,  # noqa: E402
                              node_component)
from spark_snn.engine.equations import LIBRARY  # noqa: E402
from spark_snn.engine.registry import registry  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # NodeGraphQt's own
LIF = LIBRARY["lif"]
BROKEN_LINE = "dv/dt = (v_rest - v + I_syn + current) / tau_m  unless refractory"


@pytest.fixture
def editor(qtbot):
    """A model editor for equation pools, as the inspector makes it."""
    ed = for_node_type(registry().types["equation_pool"], "model", "p")
    qtbot.addWidget(ed)
    ed.resize(700, 500)
    ed.set_text(LIF)
    return ed


@pytest.fixture
def library(tmp_path, monkeypatch):
    """An empty user library in tmp_path (SPARK_LIBRARY_PATH); the registry is rescanned
    before and after, so no other test sees what was saved."""
    folder = tmp_path / "library"
    folder.mkdir()
    monkeypatch.setenv("SPARK_LIBRARY_PATH", str(folder))
    registry(refresh=True)
    yield folder
    monkeypatch.undo()
    registry(refresh=True)


def format_at(edit, line: int, column: int) -> str | None:
    """The FORMATS entry (by colour and weight) the highlighter gave the character at 1-based
    ``line``, 0-based ``column``; None when it has none."""
    block = edit.document().findBlockByNumber(line - 1)
    for r in block.layout().formats():
        if r.start <= column < r.start + r.length:
            colour = r.format.foreground().color().name()
            bold = r.format.fontWeight() == QtGui.QFont.Bold
            return next(k for k, (c, b, _i) in FORMATS.items() if c == colour and b == bold)
    return None


def test_highlighting_formats_keyword_spans(editor):
    text = ("param tau = 20 ms in (0, inf)   # time constant\n"
            "input current : mV current\n"
            "state v = 0 mV\n"
            "dv/dt = (current - v) / tau + exp(0) * 0 mV/ms\n")
    editor.edit.setPlainText(text)
    editor.check_now()
    assert editor.model.errors == []
    lines = text.splitlines()
    expect = [  # (line, text at the column, its format); columns found in the text itself
        (1, "param", "keyword"), (1, "tau =", "param"), (1, "20", "number"), (1, "ms", "unit"),
        (1, "in", "keyword"), (1, "inf", "keyword"), (1, "# time", "comment"),
        (2, "input", "keyword"), (2, "current :", "port"), (2, "mV", "unit"),
        (3, "state", "keyword"), (3, "v =", "variable"), (4, "dv/dt", "variable"),
        (4, "current -", "port"), (4, "v)", "variable"), (4, "tau +", "param"),
        (4, "exp", "function"), (4, "dt", "variable"),
    ]
    for line, word, fmt in expect:
        assert format_at(editor.edit, line, lines[line - 1].index(word)) == fmt, (line, word)
    # the kind at the end of an input line, though 'current' is also the input's name
    assert format_at(editor.edit, 2, lines[1].rindex("current")) == "kind"
    assert format_at(editor.edit, 1, lines[0].index("=")) is None
    spans = {(r.start, r.length) for r in editor.edit.document().findBlockByNumber(0)
             .layout().formats()}
    assert (0, 5) in spans and (lines[0].index("#"), len(lines[0]) - lines[0].index("#")) in spans


def test_gutter_width_follows_the_line_count(editor):
    e = editor.edit
    digit = e.fontMetrics().horizontalAdvance("9")
    e.setPlainText("\n".join(["x"] * 9))
    narrow = e.gutter_width()
    assert e.viewportMargins().left() == narrow
    e.setPlainText("\n".join(["x"] * 99))
    assert e.gutter_width() == narrow  # two digits are always reserved
    e.setPlainText("\n".join(["x"] * 1200))
    assert e.gutter_width() == narrow + 2 * digit
    assert e.viewportMargins().left() == e.gutter_width()


def test_unit_error_on_its_line_with_the_term(editor, qtbot):
    text = LIF.replace(BROKEN_LINE, BROKEN_LINE.replace(" / tau_m", ""))
    line = text.splitlines().index(BROKEN_LINE.replace(" / tau_m", "")) + 1
    editor.edit.setPlainText(text)
    assert editor.edit.errors == []  # checked after a pause in typing, not at once
    qtbot.waitUntil(lambda: bool(editor.edit.errors), timeout=3000)
    (err,) = editor.edit.errors
    assert err.line == line
    assert "dv/dt: the left side is mV/ms, the right side is mV" in err.message
    assert editor.error_lines() == [line]
    # the term is underlined, the line tinted; the message is listed below and the tooltip
    waves = [s for s in editor.edit.extraSelections()
             if s.format.underlineStyle() == QtGui.QTextCharFormat.WaveUnderline]
    assert [s.cursor.selectedText() for s in waves] == ["v_rest - v + I_syn + current"]
    assert waves[0].cursor.blockNumber() == line - 1
    assert waves[0].format.toolTip() == err.message
    col = text.splitlines()[line - 1].index("I_syn")
    assert editor.edit.errors_at(line, col) == [err]
    assert editor.edit.errors_at(line, 0) == []
    assert editor.messages.count() == 1
    assert editor.messages.item(0).text().startswith(f"✖ line {line}, column 10: dv/dt")
    # a click on the message puts the cursor on the term
    editor._go_to(editor.messages.item(0))
    cur = editor.edit.textCursor()
    assert (cur.blockNumber() + 1, cur.positionInBlock() + 1) == (line, 10)
    # the gutter marks the line in red
    img = editor.edit.gutter.grab().toImage()
    block = editor.edit.document().findBlockByNumber(line - 1)
    top = editor.edit.blockBoundingGeometry(block).translated(editor.edit.contentOffset()).top()
    ms = editor.edit.marker_size()
    y = int(top + editor.edit.fontMetrics().height() / 2)
    assert QtGui.QColor(img.pixel(4 + ms // 2, y)).red() > 200
    # fixed: no marks
    editor.edit.setPlainText(LIF)
    editor.check_now()
    assert editor.edit.errors == [] and editor.edit.extraSelections() == []
    assert editor.messages.item(0).text().startswith("No problems: 6 parameters")


def test_completion_lists_declared_names(editor, qtbot):
    editor.check_now()
    words = editor.edit.completion_words()
    for name in ("v_rest", "tau_m", "tau_syn", "current", "syn", "jump", "v", "I_syn",
                 "exp", "mV", "ms", "nS", "threshold", "dt"):
        assert name in words
    e = editor.edit
    e.setFocus()
    e.moveCursor(QtGui.QTextCursor.End)
    qtbot.keyClicks(e, "dI_syn/dt = -I_syn / tau_")
    popup = e.completer.popup()
    assert popup.isVisible()
    model = e.completer.completionModel()
    assert [model.index(i, 0).data() for i in range(model.rowCount())] == ["tau_m", "tau_syn"]
    qtbot.keyClick(popup, QtCore.Qt.Key_Down)  # the popup has the keys while it is open
    qtbot.keyClick(popup, QtCore.Qt.Key_Return)
    assert not popup.isVisible()
    assert e.toPlainText().endswith("/ tau_syn")
    # a name declared while typing is offered after the next check
    qtbot.keyClick(e, QtCore.Qt.Key_Return)
    qtbot.keyClicks(e, "param g_leak = 1 nS")
    editor.check_now()
    assert "g_leak" in e.completion_words()
    # nothing is offered in a comment
    qtbot.keyClicks(e, "  # tau")
    assert not e.show_completions(forced=True)


def test_keys_indent_and_apply(editor, qtbot):
    e = editor.edit
    e.setPlainText("")
    e.setFocus()
    qtbot.keyClicks(e, "ab")
    assert e.completer.popup().isVisible()  # 'abs': Tab takes the completion
    qtbot.keyClick(e, QtCore.Qt.Key_Tab)
    assert e.toPlainText() == "abs"
    qtbot.keyClicks(e, " x")
    qtbot.keyClick(e, QtCore.Qt.Key_Tab)
    assert e.toPlainText() == "abs x   "  # spaces to the next multiple of 4, no tab
    e.setPlainText("on_pre:  # comment")
    e.moveCursor(QtGui.QTextCursor.End)
    qtbot.keyClick(e, QtCore.Qt.Key_Return)
    qtbot.keyClicks(e, "x += 1")
    qtbot.keyClick(e, QtCore.Qt.Key_Return)
    assert e.toPlainText() == "on_pre:  # comment\n    x += 1\n    "
    qtbot.keyClick(e, QtCore.Qt.Key_Backtab)
    assert e.toPlainText().endswith("x += 1\n")
    applied = []
    editor.applied.connect(applied.append)
    qtbot.keyClick(e, QtCore.Qt.Key_Return, QtCore.Qt.ControlModifier)
    assert applied == [e.toPlainText()]
    assert not editor.is_modified() and not editor.apply_button.isEnabled()


def _ports(win, nid):
    n = win.canvas.node_for(nid)
    return ([p.name() for p in n.input_ports()], [p.name() for p in n.output_ports()])


def test_applying_changes_the_ports_and_undo_restores_the_text(win, qtbot):  # noqa: F811
    nid = win.edits.add_node("equation_pool", (0, 0))
    win.select_node(nid)
    ed = win.inspector.row("model").editor
    assert ed.text() == LIF and _ports(win, nid) == (["current", "syn", "jump"], ["spikes", "v"])
    steps = win.doc.undo.count()
    cur = ed.edit.textCursor()
    cur.select(QtGui.QTextCursor.Document)
    cur.insertText(LIBRARY["alif"])
    assert win.graph.nodes[nid].params["model"] == LIF  # not applied yet
    assert ed.is_modified() and "unapplied" in ed.state.text()
    ed.edit.setFocus()
    qtbot.keyClick(ed.edit, QtCore.Qt.Key_Return, QtCore.Qt.ControlModifier)
    assert win.graph.nodes[nid].params["model"] == LIBRARY["alif"]
    assert win.doc.undo.count() == steps + 1  # one undo step
    assert _ports(win, nid)[1] == ["spikes", "v", "w"]
    assert list(win.inspector.rows)[-2:] == ["tau_w", "b"]
    assert win.inspector.row("model").editor is ed  # kept: cursor and typing history stay
    win.doc.undo.undo()
    assert win.graph.nodes[nid].params["model"] == LIF
    assert win.inspector.row("model").editor.text() == LIF
    assert _ports(win, nid)[1] == ["spikes", "v"]
    win.doc.undo.redo()
    assert win.inspector.row("model").editor.text() == LIBRARY["alif"]


def test_unapplied_edits_offered_on_selection_change(win, qtbot, monkeypatch):  # noqa: F811
    a = win.edits.add_node("equation_pool", (0, 0))
    b = win.edits.add_node("lif", (300, 0))
    asked = []
    answer = [QtWidgets.QMessageBox.Apply]
    monkeypatch.setattr(QtWidgets.QMessageBox, "question",
                        lambda *args, **kw: asked.append(args[2]) or answer[0])
    for choice, expect in ((QtWidgets.QMessageBox.Discard, LIF),
                           (QtWidgets.QMessageBox.Apply, LIBRARY["adex"])):
        answer[0] = choice
        win.select_node(a)
        ed = win.inspector.row("model").editor
        ed.edit.setPlainText(LIBRARY["adex"])
        win.select_node(b)
        qtbot.waitUntil(lambda: len(asked) == (1 if expect == LIF else 2), timeout=3000)
        assert repr(a) in asked[-1] and "not applied" in asked[-1]
        assert win.graph.nodes[a].params["model"] == expect
    # a rename keeps the editor and its pending text; Ctrl+S (apply_pending) applies it
    win.select_node(a)
    ed = win.inspector.row("model").editor
    ed.edit.setPlainText(LIBRARY["izhikevich"])
    assert win.edits.rename_node(a, "a2")
    a = "a2"
    assert win.inspector.row("model").editor is ed and ed.is_modified()
    win.inspector.apply_pending()
    assert win.graph.nodes[a].params["model"] == LIBRARY["izhikevich"]
    # no question when nothing is pending
    n = len(asked)
    win.select_node(b)
    QtWidgets.QApplication.processEvents()
    assert len(asked) == n


def test_large_dialog_applies_and_hands_back(win, qtbot):  # noqa: F811
    nid = win.edits.add_node("equation_pool", (0, 0))
    win.select_node(nid)
    ed = win.inspector.row("model").editor
    dlg = ed.open_dialog()
    assert dlg.editor.text() == LIF and dlg.isVisible()
    dlg.editor.edit.setPlainText(LIBRARY["alif"])
    dlg.editor.apply()
    assert win.graph.nodes[nid].params["model"] == LIBRARY["alif"]
    dlg.editor.edit.setPlainText(LIBRARY["adex"])
    dlg.reject()  # closed with unapplied changes: they come back to the inspector's editor
    ed = win.inspector.row("model").editor
    assert ed.text() == LIBRARY["adex"] and ed.is_modified()
    assert win.graph.nodes[nid].params["model"] == LIBRARY["alif"]
    ed.revert()
    assert ed.text() == LIBRARY["alif"] and not ed.is_modified()


def test_save_to_library_and_the_palette_lists_it(win, library, monkeypatch):  # noqa: F811
    nid = win.edits.add_node("equation_pool", (0, 0))
    win.edits.set_param([nid], "tau_m", 12.5)
    win.select_node(nid)
    # the node's context menu offers it (not a lif's)
    win.menus.context_menu(QtCore.QPoint(0, 0), nid)
    assert "Save as library component…" in [a.text() for a in win.menus.last_menu.actions()]
    lif = win.edits.add_node("lif", (300, 0))
    win.menus.context_menu(QtCore.QPoint(0, 0), lif)
    assert "Save as library component…" not in [a.text() for a in win.menus.last_menu.actions()]
    # the dialog refuses a built-in name
    node = win.graph.nodes[nid]
    dlg = SaveComponentDialog(win, node, registry().types[node.type])
    assert dlg.description.text() == LIF.splitlines()[0].lstrip("# ")
    dlg.name.setText("lif")
    assert "built-in" in dlg.error.text()
    assert not dlg.buttons.button(QtWidgets.QDialogButtonBox.Save).isEnabled()
    dlg.name.setText("my_lif")
    assert dlg.buttons.button(QtWidgets.QDialogButtonBox.Save).isEnabled()
    assert "my_lif" not in win.palette.visible_types()

    name = save_node_as_component(win, nid, ("my_lif", "Neurons", "LIF from equations"))
    assert name == "my_lif"
    path = library / "my_lif.json"
    assert json.loads(path.read_text())["format"] == "spark-library"
    (defn,) = load_library(path)
    assert (defn.type_name, defn.category, defn.description) == \
        ("my_lif", "Neurons", "LIF from equations")
    assert [p.name for p in defn.params] == ["size", "method", "v_rest", "v_reset", "v_th",
                                             "tau_m", "t_ref", "tau_syn"]
    assert defn.promoted("tau_m").default == 12.5
    assert [p.name for p in defn.inputs] == ["current", "syn", "jump"]
    assert [p.name for p in defn.outputs] == ["spikes", "v"]
    assert defn.nodes["pool"].params["model"] == LIF
    # the palette lists it under Neurons, and adding it gives a node with the model's ports
    assert "my_lif" in win.palette.visible_types()
    item = win.palette._item_for("my_lif")
    assert item.parent().text(0) == "Neurons"
    win.palette.add_requested.emit("my_lif")
    added = win.canvas.selected_ids()[0]
    assert win.graph.nodes[added].type == "my_lif" and "my_lif" in win.graph.definitions
    assert _ports(win, added) == (["current", "syn", "jump"], ["spikes", "v"])
    win.select_node(added)
    assert win.inspector.row("tau_m").editor.value() == 12.5
    assert not [p for p in win.validate_now() if p.node == added]
    # a broken text is not saved
    warned = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a, **k: warned.append(a[2]))
    win.select_node(nid)
    win.inspector.row("model").editor.edit.setPlainText(LIF + "dq/dt = 1\n")
    win.inspector.row("model").editor.check_now()
    assert save_node_as_component(win, nid, ("my_lif2", "Neurons", "")) is None
    assert warned and "errors" in warned[0] and not (library / "my_lif2.json").exists()
    win.inspector.row("model").editor.revert()  # (closing would offer the pending text)


def test_one_node_component_runs_like_the_node():
    """The saved component's instance, with a promoted value, gives the spikes of the plain
    equation node with that value (deterministic drive; one simulation holds both)."""
    proto = Graph()
    proto.add_node(Node("eq", "equation_pool", {"size": 4, "tau_m": 12.5}))
    defn = node_component(proto, "eq", "my_lif", "Neurons", inner_id="pool")
    assert defn.promoted("tau_m").default == 12.5
    for name, why in (("lif", "built-in"), ("2x", "not a valid name")):
        with pytest.raises(CompositeError, match=why):
            node_component(proto, "eq", name, "Neurons")
    proto.nodes["eq"].params["model"] = LIF.replace(" / tau_m  unless", "  unless")
    with pytest.raises(CompositeError, match="the left side is mV/ms"):
        node_component(proto, "eq", "broken", "Neurons")
    g = Graph(settings={"dt": 0.1, "seed": 1})
    g.definitions["my_lif"] = defn
    g.add_node(Node("drive", "current_source", {"size": 4, "amplitude": 18.0,
                                                "heterogeneity": 2.0}))
    g.add_node(Node("plain", "equation_pool", {"size": 4, "tau_m": 10.0}))
    g.add_node(Node("inst", "my_lif", {"tau_m": 10.0}))
    g.connect("drive.current", "plain.current")
    g.connect("drive.current", "inst.current")
    assert flatten(g).nodes["inst.pool"].params["tau_m"] == 10.0
    rec = engine.Simulation(g, record=["plain.spikes", "inst.pool.spikes"]).advance(400)
    a, b = rec["plain.spikes"], rec["inst.pool.spikes"]
    assert a.sum() > 4 and np.array_equal(a, b)
