"""The app on hostile input (issue 10, "Bad input, whole classes"): every file of the hostile
corpus is refused or opened with its problems listed, never an exception; hostile clipboard
text pastes nothing; a network too large for the machine is refused by Run with the memory
estimate. The app reads files through the engine's own reader (engine/jsontext.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtWidgets  # noqa: E402
from test_app_editor import make_window, temp_settings, win  # noqa: E402,F401
from test_app_run import make, wait_state  # noqa: E402,F401

from spark_snn.engine import Graph, Node  # noqa: E402

HOSTILE = Path(__file__).resolve().parent / "hostile"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # NodeGraphQt's own


def test_every_hostile_file_is_refused_or_shows_its_problems(win, monkeypatch):  # noqa: F811
    monkeypatch.delenv("SPARK_ALLOW_IMPORT", raising=False)
    names = sorted(json.loads((HOSTILE / "expected.json").read_text())["files"])
    win.edits.add_node("lif", (0, 0))
    refused = opened = 0
    for name in names:
        before = win.graph.to_dict()
        if win.files.open_file(str(HOSTILE / name), ask=False):
            opened += 1   # it parsed: it is shown, and the problems panel lists what is wrong
            assert win.analysis.errors, name
            assert win.problems_panel.table.topLevelItemCount() > 0, name
        else:
            refused += 1  # not readable as a graph: the open graph stays as it was
            assert win.graph.to_dict() == before, name
            assert win.files.last_load_problems, name
        win.doc.undo.setClean()
    assert refused > 20 and opened > 40
    assert win.files.open_file(str(HOSTILE.parents[1] / "resources" / "examples" /
                                   "minimal.json"), ask=False)
    assert not win.analysis.errors   # and the app goes on working


HOSTILE_CLIPBOARD = [
    '{"spark-clipboard": 1, "nodes": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"spark-clipboard": 1, "nodes": [{"id": "a", "type": "lif"}, "junk"]}',
    '{"spark-clipboard": 1, "nodes": [{"id": "a", "type": "lif", "position": [1e999, 0]}]}',
    '{"spark-clipboard": 1, "nodes": [{"id": "a", "type": "lif", "type": "adex"}]}',
    '{"spark-clipboard": 1, "nodes": [{"type": "lif"}]}',
    '{"spark-clipboard": 1, "nodes": [{"id": "a", "type": "lif", "params": 3}]}',
]


def test_hostile_clipboard_text_pastes_nothing(win):  # noqa: F811
    win.edits.add_node("lif", (0, 0))
    before = win.graph.to_dict()
    for text in HOSTILE_CLIPBOARD:
        QtWidgets.QApplication.clipboard().setText(text)
        assert win.clipboard.paste() == [], text[:80]
        assert win.graph.to_dict() == before


def test_clipboard_edges_to_nodes_not_pasted_are_dropped(win):  # noqa: F811
    QtWidgets.QApplication.clipboard().setText(json.dumps({
        "spark-clipboard": 1, "nodes": [{"id": "a", "type": "lif"}],
        "edges": [{"from": "ghost.spikes", "to": "a.jump"}]}))
    assert len(win.clipboard.paste()) == 1
    assert win.graph.edges == []


def test_run_refuses_a_network_too_large_with_the_estimate(qtbot, make):  # noqa: F811
    g = Graph()
    g.add_node(Node("pool", "lif", {"size": 2_000_000}))
    g.add_node(Node("rec", "projection", {"p": 0.1}))
    g.connect("pool.spikes", "rec.pre")
    g.connect("rec.events", "pool.syn")
    win, ctl = make(g)
    ctl.run()
    assert ctl.state != "compiling"
    assert any("needs about" in p.message and p.node == "rec" for p in win.problems)
    assert any("Cannot run" in m for m in win.messages)
    g.nodes["pool"].params["size"] = 200    # made smaller, it runs
    win.graph_edited.emit("param", "pool", "size")
    ctl.run()
    qtbot.waitUntil(lambda: ctl.state == "running" and ctl.t > 100, timeout=60_000)
    ctl.pause()
    wait_state(qtbot, ctl, "paused")
