"""Monitor layouts saved with the graph (app/run/layouts.py): the open monitors, what each
shows and where it is docked go into the file's meta on save and come back on open; a broken
layout opens the file anyway with a status message; the shipped examples open ready to watch."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets
from test_app_run import WAIT, pool_graph

from spark_snn.engine import Edge, Node, load, save
from tests.conftest import close_windows

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
BOTTOM = QtCore.Qt.DockWidgetArea.BottomDockWidgetArea
RIGHT = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # NodeGraphQt's own


@pytest.fixture
def open_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(tmp_path / "settings"))
    from spark_snn.app.main_window import MainWindow
    made = []

    def make(path):
        win = MainWindow(str(path), check_recovery=False)
        win.files.popups = False
        win.resize(1600, 1000)
        made.append(win)
        return win, win.run_controller
    yield make
    close_windows(made)
    QtWidgets.QApplication.clipboard().clear()


def shown(ctl) -> list[tuple]:
    """What each open monitor shows, comparable across windows."""
    out = []
    for m in ctl.monitors:
        if m.kind in ("raster", "rates"):
            out.append((m.kind, tuple(m.pools)))
        elif m.kind == "traces":
            out.append((m.kind, m.pool, m.port, tuple(m.neurons)))
        else:
            out.append((m.kind, m.nodes()[0]))
    return sorted(out)


def small_file(tmp_path) -> Path:
    g = pool_graph(size=20)
    g.add_node(Node("rec", "projection", {"p": 0.2, "weight": 0.5}))
    g.edges += [Edge("pool.spikes", "rec.pre"), Edge("rec.events", "pool.syn")]
    path = tmp_path / "small.json"
    save(g, path)
    return path


def test_saved_monitors_come_back_when_the_file_is_opened(open_window, tmp_path):
    win, ctl = open_window(small_file(tmp_path))
    assert ctl.monitors == []
    ctl.monitor_spikes("pool")
    ctl.monitor_membrane("pool", neurons=(0, 7, 11))
    ctl.monitor_rate("pool")
    ctl.monitor_weights("rec")
    before = shown(ctl)
    areas = {m.kind: win.dockWidgetArea(m) for m in ctl.monitors}
    assert win.files.save_to(str(tmp_path / "watched.json"))
    meta = json.loads((tmp_path / "watched.json").read_text())["meta"]["monitors"]
    assert meta["version"] == 1
    assert [p["kind"] for p in meta["panels"]] == ["raster", "traces", "rates", "weights"]
    assert meta["panels"][1]["elements"] == [0, 7, 11] and meta["panels"][1]["port"] == "v"
    assert meta["panels"][3]["area"] == "right"

    win2, ctl2 = open_window(tmp_path / "watched.json")
    assert shown(ctl2) == before == sorted([
        ("raster", ("pool",)), ("traces", "pool", "pool.v", (0, 7, 11)), ("rates", ("pool",)),
        ("weights", "rec")])
    assert {m.kind: win2.dockWidgetArea(m) for m in ctl2.monitors} == areas
    for m in list(ctl2.monitors):   # no monitors open: the layout leaves the file
        m.close()
    assert win2.files.save_to(str(tmp_path / "plain.json"))
    assert "monitors" not in json.loads((tmp_path / "plain.json").read_text()).get("meta", {})


def test_a_broken_layout_opens_with_a_status_message(open_window, tmp_path):
    g = load(small_file(tmp_path))
    g.meta["monitors"] = {"version": 1, "panels": [
        {"kind": "bogus", "node": "pool"}, {"kind": "raster", "nodes": ["ghost"]}, "junk",
        {"kind": "traces", "node": "pool", "port": "v", "elements": [3]}]}
    save(g, tmp_path / "broken.json")
    win, ctl = open_window(tmp_path / "broken.json")
    assert win.graph.nodes.keys() == g.nodes.keys()
    assert shown(ctl) == [("traces", "pool", "pool.v", (3,))]
    msg = win.statusBar().currentMessage()
    assert "monitor layout was not fully restored" in msg
    assert "unknown monitor kind 'bogus'" in msg and "no node 'ghost'" in msg

    g.meta["monitors"] = "not a layout"
    save(g, tmp_path / "garbage.json")
    win2, ctl2 = open_window(tmp_path / "garbage.json")
    assert ctl2.monitors == [] and len(win2.graph.nodes) == len(g.nodes)
    assert "the saved monitor layout is not readable" in win2.statusBar().currentMessage()


def test_cartpole_example_opens_ready_to_watch(open_window, qtbot):
    win, ctl = open_window(EXAMPLES / "cartpole.json")
    assert shown(ctl) == sorted([
        ("environment", "cart"), ("raster", ("boxes", "left", "right")),
        ("traces", "critic", "critic.td_error", (0,)), ("episodes", "cart"),
        ("weights", "w_left")])
    areas = {m.kind: win.dockWidgetArea(m) for m in ctl.monitors}
    assert areas == {"environment": RIGHT, "episodes": RIGHT, "weights": RIGHT,
                     "raster": BOTTOM, "traces": BOTTOM}
    raster = next(m for m in ctl.monitors if m.kind == "raster")
    env = next(m for m in ctl.monitors if m.kind == "environment")
    ctl.bar.chunk_box.setValue(200)
    ctl.run_for(400)
    qtbot.waitUntil(lambda: getattr(raster, "last_t1", 0) == 400 and env.observation is not None,
                    timeout=WAIT)
    assert raster.buf.any()


@pytest.mark.parametrize("name", ["benchmark_7pools.json", "minimal.json", "two_pools.json"])
def test_other_examples_open_with_a_raster_of_every_pool(name):
    g = load(EXAMPLES / name)
    pools = [n for n, node in g.nodes.items() if node.type == "lif"]
    assert g.meta["monitors"]["panels"] == [{"kind": "raster", "nodes": pools, "area": "bottom"}]
