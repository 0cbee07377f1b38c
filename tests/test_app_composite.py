"""Composite components in the editor (app/components_ui): making a component from the
selection, instances on the canvas and in the inspector, the definition's own tab, unpacking,
copy and paste, the palette and the library, and errors shown without stopping the app."""
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore, QtWidgets  # noqa: E402

from spark_snn import engine  # noqa: E402
from spark_snn.engine import Simulation  # noqa: E402
from spark_snn.engine.composite import (Promoted, library_dumps, make_component,  # noqa: E402
                              set_library_dirs)
from spark_snn.engine.registry import registry  # noqa: E402
from spark_snn.app.components_ui.typeinfo import is_instance  # noqa: E402
from tests.conftest import close_windows, ei_graph  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ROOT / "resources" / "examples" / "columns.json"
CORE = ["exc", "inh", "ee", "ei", "ie"]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # NodeGraphQt's own
Accepted = QtWidgets.QDialog.Accepted


@pytest.fixture(autouse=True)
def temp_settings(tmp_path, monkeypatch):
    """Settings in a temporary folder; the library folder is the test's own (empty)."""
    d = tmp_path / "settings"
    d.mkdir()
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(d))
    lib = tmp_path / "library"
    lib.mkdir()
    set_library_dirs([lib])
    registry(refresh=True)
    yield d
    set_library_dirs(None)
    registry(refresh=True)


@pytest.fixture
def make_window(qtbot):
    from spark_snn.app.main_window import MainWindow
    made = []

    def make(graph=None, path=None, **kw):
        kw.setdefault("with_run", False)
        w = MainWindow(str(path) if path else None, check_recovery=False, **kw)
        w.components.popups = False
        w.files.popups = False
        if graph is not None:
            w.doc.replace(graph, None)
        made.append(w)
        return w
    yield make
    close_windows(made)
    QtWidgets.QApplication.clipboard().clear()  # mime data left at exit crashes offscreen Qt


def spikes(graph, names, steps=600):
    return Simulation(graph, record=names, chunk=200).advance(steps)


def fill_and_accept(**how):
    """An exec_dialog hook: ``how(dlg)`` fills the dialog, then it is accepted."""
    def run(dlg):
        how["fill"](dlg)
        assert dlg.ok_button.isEnabled(), dlg.message.text()
        return Accepted
    return run


def column_window(make_window):
    """ei_graph in a window with its E-I core made into 'column' through the dialog."""
    w = make_window(ei_graph())
    w.canvas.select(CORE)

    def fill(dlg):
        dlg.type_edit.setText("column")
        dlg.category.setCurrentText("Columns")
        dlg.description.setText("an E-I core")
        dlg.name_port("in", "current", "drive_in")
        dlg.promote("exc.tau_m", "tau")
        dlg.promote("inh.tau_m", "tau")
    w.components.exec_dialog = fill_and_accept(fill=fill)
    assert w.components.make_component() == "column"
    return w


# --- 1. make component ---------------------------------------------------------------------------
def test_make_component_from_selection_keeps_spikes_and_is_one_undo_step(make_window):
    before = ei_graph()
    w = column_window(make_window)
    g = w.graph
    assert list(g.nodes) == ["drive", "column"]
    assert [(e.src, e.dst) for e in g.edges] == [("drive.current", "column.drive_in")]
    d = g.definitions["column"]
    assert (d.category, d.description) == ("Columns", "an E-I core")
    assert [(p.name, p.targets) for p in d.inputs] == [("drive_in", ["exc.current"])]
    assert [(p.name, p.drives, p.default) for p in d.params] == [
        ("tau", ["exc.tau_m", "inh.tau_m"], 20.0)]
    assert engine.validate(g) == []
    # the canvas draws the instance with the component's real port, connected
    node = w.canvas.node_for("column")
    assert list(node.inputs()) == ["drive_in"] and list(node.outputs()) == []
    assert {(e.src, e.dst) for e in w.canvas.edges()} == {("drive.current", "column.drive_in")}
    # the same network: identical spikes of both pools, step for step
    a = spikes(before, ["exc.spikes", "inh.spikes"])
    b = spikes(g, ["column.exc.spikes", "column.inh.spikes"])
    assert a["exc.spikes"].sum() > 40 and a["inh.spikes"].sum() > 5
    assert np.array_equal(a["exc.spikes"], b["column.exc.spikes"])
    assert np.array_equal(a["inh.spikes"], b["column.inh.spikes"])
    # one undo step, and back
    assert w.doc.undo.count() == 1
    w.menus.act_undo.trigger()
    assert w.graph == before
    assert set(w.canvas.node_ids()) == set(before.nodes)
    w.menus.act_redo.trigger()
    assert list(w.graph.nodes) == ["drive", "column"]


def test_make_component_shortcut_menu_and_context_menu(make_window):
    w = make_window(ei_graph())
    keys = {a.text().replace("&", ""): a.shortcut().toString()
            for a in (w.components.act_make, w.components.act_open, w.components.act_unpack)}
    assert keys == {"Make Component…": "Ctrl+Shift+G", "Open Definition": "Ctrl+E",
                    "Unpack Component": "Ctrl+Shift+U"}
    # no other action of the window uses these keys
    mine = {w.components.act_make, w.components.act_open, w.components.act_unpack,
            w.components.act_save_def}
    others = [s.toString() for a in w.findChildren(type(w.components.act_make))
              if a not in mine for s in a.shortcuts()]
    assert not {"Ctrl+Shift+G", "Ctrl+E", "Ctrl+Shift+U", "Ctrl+Shift+Return"} & set(others)
    assert "Make Component…" in [a.text().replace("&", "") for a in w.components.menu.actions()]
    w.canvas.select(CORE)
    w.menus.context_menu(QtCore.QPoint(0, 0), "exc")
    texts = [a.text().replace("&", "") for a in w.menus.last_menu.actions()]
    assert "Make Component…" in texts and "Unpack Component" not in texts
    w.menus.last_menu.close()
    seen = []
    w.components.exec_dialog = lambda dlg: seen.append(dlg) or QtWidgets.QDialog.Rejected
    w.canvas.widget.setFocus()
    w.components.act_make.trigger()
    assert seen and seen[0].ids == ["exc", "inh", "ee", "ei", "ie"]
    assert w.doc.undo.count() == 0  # cancelled: nothing changed


def test_make_dialog_names_what_is_wrong(make_window, qtbot):
    from spark_snn.app.components_ui.make_dialog import MakeComponentDialog
    g = ei_graph()
    dlg = MakeComponentDialog(g, ["exc", "inh", "ee", "ei", "ie"])
    qtbot.addWidget(dlg)
    assert dlg.ok_button.isEnabled()

    def says(text):
        assert not dlg.ok_button.isEnabled()
        assert text in dlg.message.text(), dlg.message.text()
    dlg.type_edit.setText("2col")
    says("component name '2col' is not a valid name")
    dlg.type_edit.setText("lif")
    says("a node type called 'lif' already exists")
    dlg.type_edit.setText("column")
    dlg.name_port("in", "current", "bad port")
    says("port name 'bad port' is not a valid name")
    dlg.name_port("in", "current", "current")
    dlg.promote("exc.size", "size")
    dlg.promote("inh.size", "size")  # 40 and 10 neurons: one value cannot set both
    says("would give one value to parameters that differ now")
    dlg.inner.item([p[0] for p in dlg.params].index("inh.size"), 0).setCheckState(
        QtCore.Qt.Unchecked)
    assert dlg.ok_button.isEnabled(), dlg.message.text()
    dlg.promote("exc.tau_m", "tau", default="fast")
    says("promoted parameter 'tau': could not convert string to float")
    dlg.promote("exc.tau_m", "tau", default="15")
    dlg.instance_edit.setText("drive")
    says("cannot use 'drive' as the instance's id: it is taken")
    dlg.instance_edit.setText("col1")
    assert dlg.ok_button.isEnabled()
    spec = dlg.spec()
    assert spec["promoted"][1].name == "tau" and spec["promoted"][1].default == 15.0
    new, d = make_component(g, dlg.ids, **spec)
    assert new.nodes["col1"].params == {"tau": 20.0}  # the value now, as an override


# --- 2. instances: ports and promoted parameters -------------------------------------------------
def test_instances_show_real_ports_and_promoted_parameters(make_window):
    w = make_window(path=COLUMNS)
    for nid in ("area1", "c3", "c4"):
        node = w.canvas.node_for(nid)
        assert list(node.inputs()) == ["in"] and list(node.outputs()) == ["spikes"]
    tip = node.inputs()["in"].view.toolTip()
    assert "weighted spike arrivals" in tip and "size 80" in tip
    w.select_node("c3")
    assert list(w.inspector.rows) == ["drive", "g_inh", "tau_exc"]
    assert "composite component" in w.inspector.subtitle.text()
    assert w.inspector.row("drive").editor.value() == 16.5      # its override
    default = w.graph.definitions["column"].promoted("g_inh").default
    assert w.inspector.row("g_inh").editor.value() == default   # the component's default
    row = w.inspector.row("g_inh")
    row.editor.setValue(default + 1)
    row.editor.editingFinished.emit()
    assert w.graph.nodes["c3"].params["g_inh"] == default + 1
    row.editor.setValue(default)                                 # back to the default:
    row.editor.editingFinished.emit()
    assert "g_inh" not in w.graph.nodes["c3"].params              # no override stored
    assert engine.validate(w.graph) == []
    # buttons for instances only
    visible = [b.text() for b in w.inspector._action_buttons if not b.isHidden()]
    assert {"Open Definition", "Unpack Component"} <= set(visible)
    w.select_node("feed")
    visible = [b.text() for b in w.inspector._action_buttons if not b.isHidden()]
    assert "Open Definition" not in visible


def test_promoted_parameter_out_of_range_is_flagged_with_its_name(make_window):
    w = make_window(path=COLUMNS)
    w.edits.set_param(["c3"], "tau_exc", -5.0)   # sets exc.tau_m, which must be > 0
    problems = w.validate_now()
    mine = [p for p in problems if p.node == "c3"]
    assert mine and mine[0].param == "tau_exc" and "out of range" in mine[0].message
    assert w.canvas.has_problem_marker("c3")
    w.select_node("c3")
    assert "out of range" in w.inspector.row("tau_exc").error.text()


# --- 3. the definition's tab ------------------------------------------------------------------
def test_definition_tab_edits_apply_to_every_instance_in_one_undo_step(make_window):
    w = make_window(path=COLUMNS)
    ui = w.components
    w.canvas.node_activated.emit("c3")                 # a double-click on the instance
    tab = ui.tab_for("column")
    assert tab is not None and w.active is tab and ui.tabs.count() == 2
    assert set(tab.graph.nodes) == set(w.graph.definitions["column"].nodes)
    assert list(tab.canvas.node_for("exc").inputs())[:3] == ["current", "syn", "jump"]
    # edit an inner value through the inspector: the network is untouched until saved
    tab.select_node("inh")
    assert w.inspector.node_ids == ["inh"] and not w.inspector.network
    row = w.inspector.row("tau_m")
    row.editor.setValue(7.5)
    row.editor.editingFinished.emit()
    assert tab.graph.nodes["inh"].params["tau_m"] == 7.5 and tab.dirty
    assert w.graph.definitions["column"].nodes["inh"].params.get("tau_m") != 7.5
    assert "column *" in ui.tabs.tabText(1)
    steps = w.doc.undo.count()
    w.menus.undo_group.activeStack() is tab.doc.undo
    assert ui.save_definition()
    assert w.doc.undo.count() == steps + 1 and not tab.dirty
    flat = engine.composite.flatten(w.graph)
    inner = [n for n in flat.nodes if n.endswith(".inh")]
    assert sorted(inner) == ["area1.col_a.inh", "area1.col_b.inh", "c3.inh", "c4.inh"]
    assert all(flat.nodes[n].params["tau_m"] == 7.5 for n in inner)
    # Undo in the network takes the whole update back; the clean tab follows
    ui.tabs.setCurrentIndex(0)
    assert w.active is w
    w.menus.act_undo.trigger()
    assert w.graph.definitions["column"].nodes["inh"].params.get("tau_m") != 7.5
    assert tab.graph.nodes["inh"].params.get("tau_m") != 7.5


def test_definition_tab_has_its_own_undo_and_shortcuts(make_window, tmp_path):
    w = make_window(path=COLUMNS)
    tab = w.components.open_definition("column")
    n = len(tab.graph.nodes)
    tab.edits.add_node("lif", (600, 600))
    assert len(tab.graph.nodes) == n + 1 and w.doc.undo.count() == 0
    w.menus.act_undo.trigger()                    # Ctrl+Z acts on the tab in front
    assert len(tab.graph.nodes) == n and not tab.dirty
    tab.canvas.select(["ee"])
    w.menus.act_delete.trigger()                  # Delete too
    assert "ee" not in tab.graph.nodes and "ee" in w.graph.definitions["column"].nodes
    assert tab.canvas.widget.actions().count(w.menus.act_delete) == 1
    assert tab.canvas.widget.actions().count(w.components.act_make) == 1
    w.palette.add_requested.emit("poisson_source")   # the palette adds to the tab in front
    assert "poisson_source" in tab.graph.nodes and "poisson_source" not in w.graph.nodes
    w.files.save_to(str(tmp_path / "saved.json"))     # the network is saved, and the status
    assert "not saved: the changes in the tab of 'column'" in \
        w.statusBar().currentMessage()                 # says what was left out
    assert engine.load(tmp_path / "saved.json").definitions["column"] == \
        w.graph.definitions["column"]
    tab.revert()
    assert "ee" in tab.graph.nodes and not tab.dirty


def running_window(make_window, promoted=()):
    """A small network made of one 'column', in a window with the run UI; the rebuild
    questions it would ask are collected (and answered No)."""
    g, _ = make_component(ei_graph(n_exc=20, n_inh=5), CORE, "column", promoted=promoted)
    w = make_window(g, with_run=True)
    ctl = w.run_controller
    ctl.popups = False
    asked = []
    ctl.confirm = lambda title, text: asked.append(text) or False
    return w, ctl, asked


def test_renaming_an_inner_node_carries_the_ports_and_parameters_over(make_window):
    w = make_window(path=COLUMNS)
    tab = w.components.open_definition("column")
    assert tab.edits.rename_node("exc", "E")
    assert tab.edits.rename_node("E", "pyramidal")
    assert tab.validate_now() == []
    assert tab.save()
    d = w.graph.definitions["column"]
    assert [p.targets for p in d.inputs] == [["pyramidal.syn"]]
    assert d.outputs[0].targets == ["pyramidal.spikes"]
    assert d.promoted("tau_exc").drives == ["pyramidal.tau_m"]
    assert engine.validate(w.graph) == []
    assert "c3.pyramidal" in engine.composite.flatten(w.graph).nodes
    tab.edits.rename_node("ie", "inh_to_exc")
    w.menus.act_undo.trigger()                     # undo the rename in the tab
    assert tab.candidate().promoted("g_inh").drives == ["ie.weight"]


def test_saving_a_definition_prompts_a_rebuild_of_a_running_model(make_window, qtbot):
    w, ctl, asked = running_window(make_window)
    try:
        ctl.run()
        qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 0, timeout=60_000)
        tab = w.components.open_definition("column")
        tab.edits.set_param(["exc"], "size", 30)
        assert not asked                      # nothing reaches the run before the save
        tab.edits.set_param(["exc"], "size", 20)
        tab.edits.set_param(["ee"], "p", 0.5)
        assert tab.save()
        assert asked and "component 'column' changed" in asked[0].lower()
        assert ctl.dirty
    finally:
        ctl.shutdown()


def test_promoted_parameter_edit_reaches_a_running_model_live(make_window, qtbot):
    w, ctl, asked = running_window(
        make_window, [Promoted("tau", ["exc.tau_m", "inh.tau_m"], None)])
    try:
        sent, send = [], ctl.worker.send
        ctl.worker.send = lambda *a: (sent.append(a), send(*a))[1]
        ctl.run()
        qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 0, timeout=60_000)
        w.edits.set_param(["column"], "tau", 12.0)
        assert ("set_param", "column", "tau", 12.0) in sent   # a live edit, no rebuild
        assert not asked and not ctl.dirty
        t = ctl.t
        qtbot.waitUntil(lambda: ctl.t > t + 200, timeout=60_000)
        assert ctl.compiles == 1 and ctl.state == "running"
        assert not [m for m in w.statusBar().currentMessage().split("\n")
                    if m.startswith("Edit not applied")]
    finally:
        ctl.shutdown()


def test_a_definition_containing_itself_is_refused_with_the_cycle(make_window):
    w = make_window(path=COLUMNS)
    ui = w.components
    tab = ui.open_definition("column")
    nid = tab.edits.add_node("area", (900, 0))      # area contains column: a cycle
    assert nid in tab.graph.nodes
    problems = tab.validate_now()
    assert any("contain itself" in p.message and "column -> area -> column" in p.message
               for p in problems), problems
    assert any("contain itself" in p.message for p in w.problems_panel.problems)
    before = w.graph.copy()
    assert not tab.save()
    assert "column -> area -> column" in ui.last_refusal
    assert w.graph == before                      # refused: the network is unchanged
    tab.revert()
    assert tab.validate_now() == []


def test_problem_inside_a_definition_names_it_and_opens_its_tab(make_window):
    w = make_window(path=COLUMNS)
    w.graph.definitions["column"].nodes["inh"].params["v_reset"] = 0.0  # above v_th
    w.doc.replace(w.graph.copy(), None)
    inside = [p for p in w.validate_now() if p.definition == "column"]
    assert inside and inside[0].node == "inh" and inside[0].param == "v_reset"
    assert "component 'column', node 'inh'" in str(inside[0])
    item = next(w.problems_panel.table.topLevelItem(i)
                for i in range(w.problems_panel.table.topLevelItemCount())
                if w.problems_panel.table.topLevelItem(i).text(1) == "column › inh")
    w.problems_panel._clicked(item)
    tab = w.components.tab_for("column")
    assert w.active is tab and tab.canvas.selected_ids() == ["inh"]
    assert tab.canvas.has_problem_marker("inh")


def test_an_unknown_component_is_a_problem_and_the_node_is_kept(make_window):
    g = ei_graph()
    g.nodes["ghost"] = engine.Node("ghost", "not_a_component", {"drive": 3.0}, (0, 400))
    g.connect("ghost.spikes", "ee.pre")
    w = make_window(g)
    problems = [p for p in w.validate_now() if p.node == "ghost"]
    assert problems and "not_a_component" in problems[0].message
    assert list(w.canvas.node_for("ghost").outputs()) == ["spikes"]  # kept, as in the file
    assert not is_instance(w.graph, "ghost")
    w.canvas.select(["ghost"])
    assert w.components.open_selected() is None
    assert "Select a component node" in w.statusBar().currentMessage()
    w.canvas.select(["ghost", "ee"])               # made into a component, it is kept inside,
    w.components.exec_dialog = lambda dlg: Accepted  # and the problem names the component
    iid = w.components.make_component()
    inside = [p for p in w.validate_now() if p.definition == w.graph.nodes[iid].type]
    assert inside and inside[0].node == "ghost" and "not_a_component" in inside[0].message


# --- unpack, copy and paste --------------------------------------------------------------------
def test_unpack_gives_back_the_plain_nodes_in_one_step(make_window):
    before = ei_graph()
    w = column_window(make_window)
    n = w.doc.undo.count()
    w.canvas.select(["column"])
    w.components.unpack_selected()
    assert w.doc.undo.count() == n + 1
    assert set(w.canvas.selected_ids()) == set(CORE)
    # the network it was made from: the same nodes (ids, types, values, random-number
    # names) in the same order and the same edges, so the same spikes (the engine's tests
    # run both); the definition stays in the graph, unused
    assert list(w.graph.nodes) == list(before.nodes)
    assert {k: (n.type, n.params, n.seed_id) for k, n in w.graph.nodes.items()} == \
        {k: (n.type, n.params, n.seed_id) for k, n in before.nodes.items()}
    assert set(w.graph.edges) == set(before.edges)
    assert list(w.graph.definitions) == ["column"]
    w.menus.act_undo.trigger()
    assert list(w.graph.nodes) == ["drive", "column"]


def test_unpacking_a_nested_instance_keeps_inner_instances(make_window):
    w = make_window(path=COLUMNS)
    w.components.unpack(w, "area1")
    assert {"col_a", "col_b"} <= set(w.graph.nodes) and "area1" not in w.graph.nodes
    assert w.graph.nodes["col_a"].type == "column"
    assert list(w.canvas.node_for("col_a").outputs()) == ["spikes"]
    assert engine.validate(w.graph) == []


def test_copy_paste_of_instances_carries_their_definitions(make_window):
    a = make_window(path=COLUMNS)
    a.canvas.select(["area1", "c3"])
    assert a.clipboard.copy() == 2
    b = make_window(ei_graph())
    ids = b.clipboard.paste()
    assert ids == ["area1", "c3"]
    assert set(b.graph.definitions) == {"area", "column"}
    assert b.graph.definitions["column"] == a.graph.definitions["column"]
    assert list(b.canvas.node_for("c3").inputs()) == ["in"]
    assert engine.validate(b.graph) == []   # their inputs may stay unconnected
    assert b.doc.undo.count() == 1
    b.menus.act_undo.trigger()
    assert "c3" not in b.graph.nodes
    # pasting into the same graph: fresh ids, the same definition
    a.clipboard.paste()
    assert {"area1_2", "c3_2"} <= set(a.graph.nodes)
    assert a.graph.nodes["c3_2"].params == a.graph.nodes["c3"].params


# --- palette and library ---------------------------------------------------------------------
def test_palette_lists_the_graph_components_under_their_category(make_window):
    w = make_window(path=COLUMNS)
    assert {"area", "column"} <= set(w.palette.visible_types())
    cats = {w.palette.tree.topLevelItem(i).text(0): [
        w.palette.tree.topLevelItem(i).child(j).data(0, QtCore.Qt.UserRole)
        for j in range(w.palette.tree.topLevelItem(i).childCount())]
        for i in range(w.palette.tree.topLevelItemCount())}
    assert cats["Columns"] == ["area", "column"]
    w.palette.search.setText("colu")
    assert "column" in w.palette.visible_types() and w.palette.best_match() == "column"
    w.palette.search.setText("")
    nid = w.edits.add_node("column", (0, 900))
    assert w.graph.nodes[nid].type == "column" and w.graph.nodes[nid].params == {}
    w.doc.undo.setClean()
    w.files.new_file()
    assert "column" not in w.palette.visible_types()


def test_save_component_to_library_lists_it_for_every_graph(make_window, tmp_path):
    w = make_window(path=COLUMNS)
    lib = tmp_path / "library"
    w.components.library.ask_path = lambda name: str(lib / f"{name}.json")
    w.select_node("area1")
    path = w.components.library.save_selected()
    assert path == str(lib / "area.json")
    data = json.loads(Path(path).read_text())
    assert data["format"] == "spark-library"
    assert [d["type"] for d in data["definitions"]] == ["area", "column"]  # with what it uses
    other = make_window(ei_graph())
    assert {"area", "column"} <= set(other.palette.visible_types())
    nid = other.edits.add_node("area", (0, 600))
    assert set(other.graph.definitions) == {"area", "column"}  # embedded with the node
    assert list(other.canvas.node_for(nid).inputs()) == ["in"]


def test_opening_a_file_whose_component_differs_from_the_library_asks(make_window, tmp_path,
                                                                      qtbot):
    lib = tmp_path / "library"
    g = engine.load(COLUMNS)
    changed = g.definitions["column"].copy()
    changed.promoted("drive").default = 18.0
    (lib / "columns.json").write_text(library_dumps([changed]))
    registry(refresh=True)
    w = make_window()
    offered = []
    w.components.library.choose = lambda diffs: offered.append(diffs) or ["column"]
    w.files.open_file(str(COLUMNS), ask=False)
    qtbot.waitUntil(lambda: bool(offered), timeout=5000)
    d = offered[0][0]
    assert d.type_name == "column" and "parameter 'drive' default 16.0 -> 18.0" in d.changes
    assert w.graph.definitions["column"].promoted("drive").default == 18.0
    assert w.doc.undo.count() == 1 and w.doc.dirty
    w.menus.act_undo.trigger()
    assert w.graph.definitions["column"].promoted("drive").default == 16.0
    # keeping the file's copies changes nothing
    k = make_window()
    k.components.library.choose = lambda diffs: []
    k.files.open_file(str(COLUMNS), ask=False)
    qtbot.waitUntil(lambda: bool(k.components.library.last_differences), timeout=5000)
    assert k.graph.definitions["column"].promoted("drive").default == 16.0
    assert not k.doc.dirty


def test_ports_and_parameters_dialog_renames_carry_edges_and_values(make_window):
    w = make_window(path=COLUMNS)
    tab = w.components.open_definition("column")

    def fill(dlg):
        dlg.inputs.item(0, 0).setText("drive_in")
        row = [dlg.params.item(r, 0).text() for r in range(dlg.params.rowCount())].index("drive")
        dlg.params.item(row, 0).setText("amp")
    w.components.exec_dialog = fill_and_accept(fill=fill)
    assert w.components.edit_interface(tab)
    g = w.graph
    assert [p.name for p in g.definitions["column"].inputs] == ["drive_in"]
    assert ("to_c3.events", "c3.drive_in") in {(e.src, e.dst) for e in g.edges}
    assert g.nodes["c3"].params["amp"] == 16.5 and "drive" not in g.nodes["c3"].params
    assert engine.validate(g) == []
    assert list(w.canvas.node_for("c3").inputs()) == ["drive_in"]


def test_ports_dialog_refuses_a_port_to_a_missing_inner_node(make_window, qtbot):
    from spark_snn.app.components_ui.interface_dialog import InterfaceDialog
    w = make_window(path=COLUMNS)
    dlg = InterfaceDialog(w.graph, "column")
    qtbot.addWidget(dlg)
    assert dlg.ok_button.isEnabled(), dlg.message.text()
    dlg.inputs.item(0, 1).setText("nowhere.syn")
    assert not dlg.ok_button.isEnabled()
    assert "no inner node 'nowhere'" in dlg.message.text()
    dlg.inputs.item(0, 1).setText("exc.syn")
    dlg.name_edit.setText("area")
    assert "already exists" in dlg.message.text()


def test_monitor_inside_an_instance_uses_dotted_ids(make_window):
    from spark_snn.app.run.monitors import RasterMonitor
    w, _ctl, _asked = running_window(make_window)
    try:
        w.menus.context_menu(QtCore.QPoint(0, 0), "column")
        inside = next(a.menu() for a in w.menus.last_menu.actions()
                      if a.text() == "Monitor Inside")
        pools = {a.text(): [b.text() for b in a.menu().actions()] for a in inside.actions()}
        assert set(pools) == {"exc", "inh", "ee", "ei", "ie"}
        assert pools["exc"] == ["Monitor spikes", "Monitor membrane potential", "Monitor rate"]
        assert "Monitor weights" in pools["ee"]
        spikes_of_exc = next(a for a in inside.actions() if a.text() == "exc").menu().actions()[0]
        spikes_of_exc.trigger()
        w.menus.last_menu.close()
        mon = w.run_controller.monitors[0]
        assert isinstance(mon, RasterMonitor) and mon.pools == ["column.exc"]
        assert mon.ports == ["column.exc.spikes"]
        w.edits.add_node("lif", (0, 800))          # a structural edit: the monitor stays
        assert w.run_controller.monitors == [mon]
        w.menus.act_undo.trigger()
        w.canvas.select(["column"])
        w.components.unpack_selected()              # its node is gone: the monitor closes
        assert w.run_controller.monitors == []
    finally:
        w.run_controller.shutdown()
