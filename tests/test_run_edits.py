"""Every edit reaches the running simulation or asks to rebuild, naming what changed (issue 10,
items 8-10): multi-node inspector edits and their undo/redo, renames (no rebuild, monitors
stay), paste and undo, New and Open (the old run ends). Runs the real editor window."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_app_run import WAIT, FakeWindow, make, pool_graph, wait_state  # noqa: F401

from spark_snn.app.run.live_edits import diff_graphs, structure_key
from spark_snn.engine import Graph, Node, save

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def two_source_graph() -> Graph:
    """Two silent pools, each driven below threshold by its own source."""
    g = Graph(settings={"dt": 0.1, "seed": 1, "dtype": "float32"})
    for k in ("a", "b"):
        g.add_node(Node(f"src_{k}", "current_source", {"size": 20, "amplitude": 10.0},
                        (0.0, 200.0 * (k == "b"))))
        g.add_node(Node(f"pool_{k}", "lif", {"size": 20}, (300.0, 200.0 * (k == "b"))))
        g.connect(f"src_{k}.current", f"pool_{k}.current")
    return g


@pytest.fixture
def editor(qtbot, tmp_path, monkeypatch):
    """The real editor window on a graph (saved to tmp_path), run UI installed."""
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(tmp_path / "settings"))
    from spark_snn.app.main_window import MainWindow

    made = []

    def _open(graph: Graph):
        path = tmp_path / "g.json"
        save(graph, path)
        win = MainWindow(str(path), check_recovery=False)
        qtbot.addWidget(win)
        win.popups = False
        win.files.maybe_discard = lambda *a: True   # closing must not ask about unsaved changes
        ctl = win.run_controller
        ctl.popups = False
        ctl.asked = []
        ctl.confirm = lambda title, text: ctl.asked.append(text) or False
        made.append((win, ctl))
        return win, ctl

    yield _open
    for win, ctl in made:
        ctl.shutdown()


def sim_param(ctl, node, name):
    return float(np.asarray(ctl.worker.sim.params[node][name]).ravel()[0])


def running(qtbot, ctl, after=200):
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > after, timeout=WAIT)


def test_multi_node_edit_undo_and_redo_reach_the_running_network(qtbot, editor):
    win, ctl = editor(two_source_graph())
    running(qtbot, ctl)
    win.edits.set_param(["src_a", "src_b"], "amplitude", 40.0)      # the inspector's multi-node edit
    qtbot.waitUntil(lambda: sim_param(ctl, "src_a", "amplitude") == 40.0
                    and sim_param(ctl, "src_b", "amplitude") == 40.0, timeout=WAIT)
    win.doc.undo.undo()
    qtbot.waitUntil(lambda: sim_param(ctl, "src_a", "amplitude") == 10.0
                    and sim_param(ctl, "src_b", "amplitude") == 10.0, timeout=WAIT)
    win.doc.undo.redo()
    qtbot.waitUntil(lambda: sim_param(ctl, "src_b", "amplitude") == 40.0, timeout=WAIT)
    # and it shows: both pools fire now (the sources drive them above threshold)
    rm = ctl.monitor_rate("pool_a")
    ctl.monitor_rate("pool_b")
    qtbot.waitUntil(lambda: all(rm.data[p][1].size and rm.data[p][1][-1] > 0
                                for p in ("pool_a", "pool_b")), timeout=WAIT)
    assert ctl.compiles == 1 and not ctl.asked and not ctl.dirty


def test_rename_while_running_keeps_monitors_and_live_edits(qtbot, editor):
    win, ctl = editor(two_source_graph())
    raster = ctl.monitor_spikes("pool_a")
    trace = ctl.monitor_membrane("pool_a")
    running(qtbot, ctl)
    assert win.edits.rename_node("pool_a", "left")
    qtbot.wait(100)
    assert not ctl.asked and ctl.compiles == 1 and not ctl.dirty
    assert raster in ctl.monitors and trace in ctl.monitors
    assert raster.pools == ["left"] and trace.pool == "left" and trace.port == "left.v"
    t = ctl.t
    qtbot.waitUntil(lambda: getattr(trace, "last_t1", 0) > t + 200, timeout=WAIT)  # still fed
    # a later live edit of the renamed node reaches the run (the model keeps its old id)
    win.edits.set_param(["left"], "v_th", -60.0)
    qtbot.waitUntil(lambda: sim_param(ctl, "pool_a", "v_th") == -60.0, timeout=WAIT)
    win.edits.rename_node("src_a", "drive")
    win.edits.set_param(["drive"], "amplitude", 40.0)
    qtbot.waitUntil(lambda: sim_param(ctl, "src_a", "amplitude") == 40.0, timeout=WAIT)
    qtbot.waitUntil(lambda: raster.events.get("left.spikes", ([],))[0].size > 0, timeout=WAIT)
    win.doc.undo.undo()   # the rename of src_a is undone: still no rebuild
    win.doc.undo.undo()
    qtbot.wait(100)
    assert "src_a" in win.graph.nodes and not ctl.asked and ctl.compiles == 1
    assert "Monitor rate" in [a[0] for a in win.menus.node_actions]
    ctl.pause()
    wait_state(qtbot, ctl, "paused")


def test_answering_no_keeps_live_edits_working(qtbot, editor):
    win, ctl = editor(two_source_graph())
    running(qtbot, ctl)
    win.edits.set_param(["pool_b"], "size", 30)       # structural: asked, answered No
    win.edits.set_param(["src_b"], "size", 30)
    assert len(ctl.asked) == 2 and ctl.asked[0].startswith("'pool_b.size' changed.")
    assert ctl.dirty and ctl.compiles == 1
    win.edits.set_param(["pool_a"], "tau_m", 5.0)      # live: applied although a rebuild is pending
    qtbot.waitUntil(lambda: sim_param(ctl, "pool_a", "tau_m") == 5.0, timeout=WAIT)
    assert len(ctl.asked) == 2
    # undoing the structural edits brings the graph back to the running model: no rebuild due
    win.doc.undo.undo()   # tau_m
    win.doc.undo.undo()   # src_b.size
    win.doc.undo.undo()   # pool_b.size
    assert not ctl.dirty and sim_param(ctl, "pool_a", "tau_m") in (5.0, 20.0)
    qtbot.waitUntil(lambda: sim_param(ctl, "pool_a", "tau_m") == 20.0, timeout=WAIT)
    ctl.pause()
    wait_state(qtbot, ctl, "paused")
    ctl.run()
    qtbot.wait(200)
    assert ctl.compiles == 1


def test_paste_and_undo_ask_naming_what_changed(qtbot, editor):
    win, ctl = editor(two_source_graph())
    running(qtbot, ctl)
    win.canvas.select(["pool_b"])
    win.clipboard.copy()
    ids = win.clipboard.paste()
    assert ids and ctl.asked and f"Node '{ids[0]}' added" in ctl.asked[-1]
    assert "''" not in ctl.asked[-1]
    win.edits.connect("src_a.current", f"{ids[0]}.current")
    assert f"Edge src_a.current -> {ids[0]}.current added" in ctl.asked[-1]
    n = len(ctl.asked)
    win.doc.undo.undo()   # the edge: the graph still differs from the model (the pasted node)
    assert len(ctl.asked) == n + 1 and "removed" in ctl.asked[-1]
    win.doc.undo.undo()   # the paste: the graph matches the running model again, nothing to ask
    assert len(ctl.asked) == n + 1 and not ctl.dirty
    ctl.pause()
    wait_state(qtbot, ctl, "paused")


@pytest.mark.parametrize("how", ["new", "open"])
def test_new_or_open_ends_the_old_run(qtbot, editor, how):
    win, ctl = editor(two_source_graph())
    old = ctl.monitor_spikes("pool_a")
    assert old is not None and old in ctl.monitors
    running(qtbot, ctl)
    if how == "new":
        assert win.files.new_file()
    else:
        assert win.files.open_file(str(EXAMPLES / "minimal.json"), ask=False)
    wait_state(qtbot, ctl, "idle")
    assert not ctl.asked                       # no "'' changed structurally" question
    assert ctl.worker.sim is None and not ctl.badges
    if how == "new":
        assert not ctl.monitors
    else:   # the old run's panels are gone; those shown come from the opened file's layout
        assert old not in ctl.monitors
    t = ctl.t
    qtbot.wait(200)
    assert ctl.t == t == 0
    if how == "open":   # the new graph runs from scratch
        running(qtbot, ctl, after=10)
        assert ctl.compiles == 2
        ctl.pause()
        wait_state(qtbot, ctl, "paused")


def test_diff_names_every_kind_of_change():
    a = pool_graph()
    b = a.copy()
    b.nodes["src"].params["amplitude"] = 12.0          # live
    b.nodes["pool"].params["size"] = 50                 # structural
    b.settings["dt"] = 0.05
    b.add_node(Node("extra", "lif", {"size": 3}))
    b.connect("src.current", "extra.current")
    ch = diff_graphs(a, b)
    assert ch.live == [("src", "amplitude", 12.0)]
    assert set(ch.structural) == {"setting 'dt' changed", "'pool.size' changed",
                                  "node 'extra' added", "edge src.current -> extra.current added"}
    c = a.copy()
    c.rename_node("pool", "cells")
    ch = diff_graphs(a, c)
    assert ch.renames == [("pool", "cells")] and not ch.structural and not ch.live
    assert structure_key(a, {"pool": "cells"}) == structure_key(c)
    d = a.copy()                                        # moved only: nothing for the run
    d.nodes["pool"].position = (500.0, 500.0)
    d.meta["backdrops"] = []
    assert not diff_graphs(a, d)
    e = a.copy()
    e.nodes["pool"].params["tau_m"] = 20                # the default, written out: no change
    assert not diff_graphs(a, e) and structure_key(a) == structure_key(e)


def test_fake_window_edits_use_the_same_path(qtbot, make):  # noqa: F811
    """A window that only emits graph_edited (no undo stack, no kinds) is served the same."""
    win, ctl = make(two_source_graph())
    asked = []
    ctl.confirm = lambda title, text: asked.append(text) or False
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 100, timeout=WAIT)
    for n in ("src_a", "src_b"):
        win._graph.nodes[n].params["amplitude"] = 33.0
    win.graph_edited.emit("param", "", "amplitude")
    qtbot.waitUntil(lambda: sim_param(ctl, "src_a", "amplitude") == 33.0
                    and sim_param(ctl, "src_b", "amplitude") == 33.0, timeout=WAIT)
    assert not asked and ctl.compiles == 1
    ctl.pause()
    wait_state(qtbot, ctl, "paused")
