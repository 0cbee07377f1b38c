"""Saved states and rewind in the app (app/run/saved_states.py, rewind.py, timeline.py).

Every state the app reaches is compared, array by array, with the engine run without the app
(``Simulation.save_state`` of an uninterrupted run): the app writes its states with File > Save
State, so the comparison goes through the same canonical file layout.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from test_app_run import WAIT, make, pool_graph, two_pool_graph, wait_state  # noqa: F401

from spark_snn.app.run.rewind import Rewind
from spark_snn.engine import Simulation, load
from spark_snn.engine.state import read_state, same_arrays

ROOT = Path(__file__).resolve().parents[1]
CARTPOLE = ROOT / "resources" / "examples" / "cartpole.json"
AGENT = ROOT / "resources" / "states" / "cartpole_agent.npz"


@pytest.fixture(autouse=True)
def _own_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(tmp_path / "settings"))


def engine_state(graph, steps, path, edits=()):
    """The engine's own state after ``steps`` steps (``edits``: (step, node, param, value)
    applied when that step is reached), written to ``path``; returns the SavedState."""
    sim = Simulation(graph.copy())
    for at, node, name, value in sorted(edits):
        sim.advance(at - sim.t)
        sim.set_param(node, name, value)
    sim.advance(steps - sim.t)
    sim.save_state(path)
    return read_state(path)


def app_state(qtbot, ctl, path):
    """The app's state now, written with Save State; returns the SavedState."""
    ctl.states.last_saved = None
    assert ctl.states.save_state(str(path))
    qtbot.waitUntil(lambda: ctl.states.last_saved is not None, timeout=WAIT)
    return read_state(path)


def same_state(a, b) -> bool:
    return a.t == b.t and same_arrays(a.part("state"), b.part("state"))


def run_to(qtbot, ctl, t):
    ctl.run_for(t - ctl.t)
    qtbot.waitUntil(lambda: ctl.t == t and ctl.state == "paused", timeout=WAIT)


def marks(ctl):
    return ctl.rewinder.timeline.marks


def dock_shows(qtbot, ctl):
    """Open the timeline dock and wait until it shows the latest timeline."""
    ctl.timeline_dock.show()
    qtbot.waitUntil(lambda: ctl.timeline_dock.timeline is ctl.rewinder.timeline, timeout=WAIT)
    return ctl.timeline_dock


# --- File > Save State / Open State ---------------------------------------------------------------

def test_state_menu_entries_and_shortcuts(make):
    win, ctl = make(pool_graph())
    assert ctl.states.save_action.shortcut().toString() == "Ctrl+Alt+S"
    assert ctl.states.open_action.shortcut().toString() == "Ctrl+Alt+O"
    assert ctl.states.save_action in win.actions() and ctl.timeline_dock.objectName()


def test_save_then_open_continues_like_the_uninterrupted_run(qtbot, make, tmp_path):
    """Cartpole (an in-graph environment, plastic weights, the critic): 2,000 steps, Save
    State, a fresh window of the same file, Open State, 1,000 more steps: the state equals the
    engine's after 3,000 steps in one go, bit for bit."""
    reference = engine_state(load(CARTPOLE), 3000, tmp_path / "ref.npz")
    win, ctl = make(load(CARTPOLE))
    run_to(qtbot, ctl, 2000)
    saved = app_state(qtbot, ctl, tmp_path / "at2000.npz")
    assert saved.t == 2000 and saved.header["meta"]["graph"] == ""
    run_to(qtbot, ctl, 3000)
    assert same_state(app_state(qtbot, ctl, tmp_path / "on.npz"), reference)

    win2, ctl2 = make(load(CARTPOLE))
    assert ctl2.state == "idle"
    assert ctl2.states.open_state(str(tmp_path / "at2000.npz"))
    qtbot.waitUntil(lambda: ctl2.states.last_report is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: ctl2.t == 2000 and ctl2.state == "paused", timeout=WAIT)
    assert ctl2.states.last_report.param_differences == []
    run_to(qtbot, ctl2, 3000)
    assert same_state(app_state(qtbot, ctl2, tmp_path / "continued.npz"), reference)


def test_state_of_a_structurally_different_graph_is_refused(qtbot, make, tmp_path):
    Simulation(pool_graph(size=40)).save_state(tmp_path / "forty.npz")
    graph = pool_graph(size=30)
    before = graph.to_dict()
    win, ctl = make(graph)
    run_to(qtbot, ctl, 200)
    here = app_state(qtbot, ctl, tmp_path / "here.npz")
    ctl.popups = True
    ctl.states.open_state(str(tmp_path / "forty.npz"))
    qtbot.waitUntil(lambda: ctl.states.last_error is not None, timeout=WAIT)
    doing, message, reasons = ctl.states.last_error
    assert doing == "open" and "structurally different" in message
    assert any("node 'pool'" in r and "size" in r and "40" in r and "30" in r for r in reasons)
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.isVisible())
    assert box.windowTitle() == "Cannot open the state"
    assert "forty.npz belongs to a graph with a different structure" in box.text()
    assert "node 'pool'" in box.text()
    box.close()
    # nothing changed: the graph, the step, the state
    assert win.graph.nodes["pool"].params["size"] == 30
    assert win.graph.to_dict() == before
    assert ctl.t == 200 and ctl.state == "paused"
    ctl.popups = False
    assert same_state(app_state(qtbot, ctl, tmp_path / "after.npz"), here)


def test_file_and_view_menus_of_the_editor(qtbot):
    from spark_snn.app.main_window import MainWindow
    win = MainWindow(None, check_recovery=False)
    try:
        texts = [a.text() for a in win.menus.file_menu.actions()]
        assert "Save S&tate…" in texts and "Open St&ate…" in texts
        assert texts.index("Open St&ate…") < texts.index("&Import NIR…")
        dock = win.run_controller.timeline_dock
        assert dock.toggleViewAction() in win.menus.view_menu.actions()
        assert dock.isHidden()
        dock.toggleViewAction().trigger()
        assert not dock.isHidden()
    finally:
        win.run_controller.shutdown()
        win.doc.undo.setClean()
        win.close()


def test_differing_live_parameters_keep_the_graphs_values(qtbot, make, tmp_path):
    """A state saved with src.amplitude 30 opened onto the same graph with 36: it opens (a
    live parameter is not structure), says so, and runs on with the graph's 36, exactly as
    the engine's load_state(params="graph") does."""
    sim = Simulation(two_pool_graph())
    sim.advance(300)
    sim.save_state(tmp_path / "s.npz")
    graph = two_pool_graph()
    graph.nodes["src"].params["amplitude"] = 36.0
    ref = Simulation(graph.copy())
    ref.load_state(tmp_path / "s.npz", params="graph")
    ref.advance(200)
    ref.save_state(tmp_path / "ref.npz")
    win, ctl = make(graph)
    ctl.states.open_state(str(tmp_path / "s.npz"))
    qtbot.waitUntil(lambda: ctl.states.last_report is not None, timeout=WAIT)
    diffs = ctl.states.last_report.param_differences
    assert len(diffs) == 1 and "'src'" in diffs[0] and "'amplitude'" in diffs[0]
    assert any("amplitude" in m for m in win.messages)
    run_to(qtbot, ctl, 500)
    assert same_state(app_state(qtbot, ctl, tmp_path / "app.npz"), read_state(tmp_path / "ref.npz"))


def test_save_state_before_running_says_so(qtbot, make, tmp_path):
    win, ctl = make(pool_graph())
    assert not ctl.states.save_state(str(tmp_path / "x.npz"))
    assert ctl.states.last_error[0] == "save" and "Run" in ctl.states.last_error[1]
    assert not (tmp_path / "x.npz").exists()


# --- snapshots, jumping back, branches -----------------------------------------------------------

def test_snapshots_stay_within_the_budget_oldest_dropped(qtbot, make, monkeypatch):
    graph = pool_graph()
    size = Simulation(graph.copy()).snapshot().nbytes
    takers = set()
    real = Rewind.take

    def take(self, w):
        takers.add(threading.get_ident())
        return real(self, w)
    monkeypatch.setattr(Rewind, "take", take)
    win, ctl = make(graph)
    # a snapshot every chunk (100 steps = 10 ms), room for three and a half
    ctl.rewinder.set_settings(10.0, 3.5 * size / (1 << 20))
    run_to(qtbot, ctl, 1000)
    qtbot.waitUntil(lambda: [m.t for m in marks(ctl)] == [700, 800, 900], timeout=WAIT)
    tl = ctl.rewinder.timeline
    assert tl.used == 3 * size <= tl.budget
    # taken in the worker thread, never the GUI's
    assert takers and threading.get_ident() not in takers
    assert tl.dropped == 7
    # the dock shows them, with the memory used
    dock = dock_shows(qtbot, ctl)
    assert dock.tree.topLevelItem(0).childCount() == 3
    assert "3 snapshots" in dock.usage_bar.format() and "7 oldest dropped" in dock.usage_bar.format()
    # a click on a dot of the drawing selects that snapshot in the list
    m800 = next(m for m in marks(ctl) if m.t == 800)
    at = QPoint(round(dock.view._x(m800.time_ms)), round(dock.view._y(m800.branch)))
    qtbot.mouseClick(dock.view, Qt.MouseButton.LeftButton, pos=at)
    assert dock.selected_id() == m800.id and dock.view.selection == m800.id
    assert dock.jump_button.isEnabled() and not dock.discard_button.isEnabled()
    # a smaller budget drops more at once
    ctl.rewinder.set_settings(10.0, 1.5 * size / (1 << 20))
    qtbot.waitUntil(lambda: [m.t for m in marks(ctl)] == [900], timeout=WAIT)
    # one too small for any snapshot says so
    ctl.rewinder.set_settings(10.0, 0.5 * size / (1 << 20))
    run_to(qtbot, ctl, 1100)
    qtbot.waitUntil(lambda: ctl.rewinder.timeline.need == size, timeout=WAIT)
    assert not marks(ctl)
    assert "too small" in dock_shows(qtbot, ctl).usage_bar.format()


def test_default_budget_is_bounded_and_shown_and_the_settings_are_kept(make):
    win, ctl = make(pool_graph())
    dock = ctl.timeline_dock
    assert 0 < dock.budget_box.value() <= 1024 and dock.budget_box.maximum() <= 16384
    assert dock.interval_box.value() > 0
    dock.budget_box.setValue(32)
    dock.interval_box.setValue(0.5)
    win2, ctl2 = make(pool_graph())      # the next window (session) starts with them
    assert ctl2.timeline_dock.budget_box.value() == 32
    assert ctl2.timeline_dock.interval_box.value() == pytest.approx(0.5)


def test_jump_back_restores_t_and_state_exactly(qtbot, make, tmp_path):
    graph = two_pool_graph()
    at200 = engine_state(graph, 200, tmp_path / "e200.npz")
    at600 = engine_state(graph, 600, tmp_path / "e600.npz")
    win, ctl = make(graph)
    raster = ctl.monitor_spikes("pool")
    ctl.rewinder.set_settings(20.0, 64)          # every 200 steps
    run_to(qtbot, ctl, 600)
    qtbot.waitUntil(lambda: [m.t for m in marks(ctl)] == [0, 200, 400], timeout=WAIT)
    qtbot.waitUntil(lambda: raster.last_t1 == 600, timeout=WAIT)
    first_ids = {m.id for m in marks(ctl)}
    sid = next(m.id for m in marks(ctl) if m.t == 200)
    dock_shows(qtbot, ctl).select(sid)
    assert ctl.timeline_dock.selected_id() == sid
    ctl.timeline_dock.jump_button.click()
    qtbot.waitUntil(lambda: ctl.rewinder.last_jump is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: ctl.t == 200 and ctl.state == "paused", timeout=WAIT)
    assert ctl.time_ms == pytest.approx(20.0)
    assert same_state(app_state(qtbot, ctl, tmp_path / "a200.npz"), at200)
    # the monitors show nothing from the future left behind
    qtbot.waitUntil(lambda: raster.last_t1 == 200, timeout=WAIT)
    assert all(len(s) == 0 or s.max() < 200 for s, _i in raster.events.values())
    # running on gives the same future again, on the same branch (no duplicates)
    run_to(qtbot, ctl, 600)
    assert same_state(app_state(qtbot, ctl, tmp_path / "a600.npz"), at600)
    qtbot.waitUntil(lambda: raster.last_t1 == 600, timeout=WAIT)
    steps = np.concatenate([s for s, _i in raster.events.values()])
    assert steps.size and steps.min() >= 200 and steps.max() < 600
    # (0 and 200 kept, 400 remade: the old one went when the run went on)
    qtbot.waitUntil(lambda: [(m.branch, m.t) for m in marks(ctl)]
                    == [(1, 0), (1, 200), (1, 400)]
                    and len({m.id for m in marks(ctl)} & first_ids) == 2, timeout=WAIT)


def test_jump_back_in_a_network_with_fused_projections(qtbot, make, tmp_path):
    """The E/I network's static projections run fused in one kernel (parameters under a
    runtime id that is no graph node): jumping back restores it exactly too."""
    from conftest import ei_graph
    graph = ei_graph()
    assert Simulation(graph.copy()).model.fused
    at200 = engine_state(graph, 200, tmp_path / "e200.npz")
    win, ctl = make(graph)
    ctl.rewinder.set_settings(20.0, 64)
    run_to(qtbot, ctl, 500)
    qtbot.waitUntil(lambda: [m.t for m in marks(ctl)] == [0, 200, 400], timeout=WAIT)
    ctl.rewinder.jump(next(m.id for m in marks(ctl) if m.t == 200))
    qtbot.waitUntil(lambda: ctl.t == 200 and ctl.state == "paused", timeout=WAIT)
    assert ctl.state == "paused" and ctl.last_error is None
    assert same_state(app_state(qtbot, ctl, tmp_path / "a200.npz"), at200)


def test_branch_with_an_edited_parameter_keeps_the_old_branch(qtbot, make, tmp_path):
    graph = two_pool_graph()
    edited = engine_state(graph, 600, tmp_path / "edited.npz",
                          edits=[(200, "src", "amplitude", 45.0)])
    original = engine_state(graph, 600, tmp_path / "original.npz")
    win, ctl = make(graph)
    ctl.rewinder.set_settings(20.0, 64)
    run_to(qtbot, ctl, 600)
    qtbot.waitUntil(lambda: len(marks(ctl)) == 3, timeout=WAIT)
    sid = next(m.id for m in marks(ctl) if m.t == 200)
    dock_shows(qtbot, ctl).select(sid)
    ctl.timeline_dock.branch_button.click()
    qtbot.waitUntil(lambda: ctl.rewinder.timeline.branch == 2 and ctl.t == 200, timeout=WAIT)
    assert ctl.rewinder.timeline.forks[2] == (1, pytest.approx(20.0))
    win.edit_param("src", "amplitude", 45.0)
    run_to(qtbot, ctl, 600)
    assert same_state(app_state(qtbot, ctl, tmp_path / "b2.npz"), edited)
    qtbot.waitUntil(lambda: sorted((m.branch, m.t) for m in marks(ctl))
                    == [(1, 0), (1, 200), (1, 400), (2, 400)], timeout=WAIT)
    # the old branch is listed in the dock, and its snapshots still work
    dock_shows(qtbot, ctl)
    titles = [ctl.timeline_dock.tree.topLevelItem(i).text(0)
              for i in range(ctl.timeline_dock.tree.topLevelItemCount())]
    assert titles[0].startswith("Branch 1") and titles[1].startswith("Branch 2 (from branch 1")
    win.edit_param("src", "amplitude", 30.0)      # back to the file's value
    old = next(m.id for m in marks(ctl) if (m.branch, m.t) == (1, 400))
    ctl.rewinder.jump(old)
    qtbot.waitUntil(lambda: ctl.rewinder.timeline.branch == 1 and ctl.t == 400, timeout=WAIT)
    run_to(qtbot, ctl, 600)
    assert same_state(app_state(qtbot, ctl, tmp_path / "b1.npz"), original)
    # until it is discarded (the branch the run is on cannot be)
    ctl.rewinder.discard(1)           # handled in order: before the next one
    ctl.rewinder.discard(2)
    qtbot.waitUntil(lambda: all(m.branch == 1 for m in marks(ctl)), timeout=WAIT)
    assert [m.t for m in marks(ctl)] == [0, 200, 400]
    assert 2 not in ctl.rewinder.timeline.forks


def test_stop_and_rebuild_clear_the_timeline(qtbot, make):
    win, ctl = make(pool_graph())
    ctl.rewinder.set_settings(10.0, 64)
    run_to(qtbot, ctl, 300)
    qtbot.waitUntil(lambda: len(marks(ctl)) == 3, timeout=WAIT)
    ctl.stop()
    wait_state(qtbot, ctl, "idle")
    qtbot.waitUntil(lambda: not marks(ctl), timeout=WAIT)
    ctl.rewinder.jump(1)      # refused: nothing runs
    assert any("Cannot jump back" in m for m in win.messages)


# --- the shipped trained agent --------------------------------------------------------------------

def test_shipped_cartpole_agent_balances_from_the_first_episode(qtbot, make):
    """resources/states/cartpole_agent.npz (benchmarks/make_cartpole_state.py) opened onto
    the example: its episodes reach the 500-step limit at once, where the untrained agent of
    the same file fails its first episodes within 25 steps."""
    def lengths(state):
        sim = Simulation(load(CARTPOLE), record=("cart.done", "cart.episode_length"))
        if state:
            sim.load_state(state)
        recs = sim.advance(40_000, 2000)
        done = np.asarray(recs["cart.done"])[:, 0] > 0
        return [int(v) for v in np.asarray(recs["cart.episode_length"])[:, 0][done]]

    trained, fresh = lengths(AGENT), lengths(None)
    assert len(trained) >= 3 and all(n == 500 for n in trained)
    assert fresh[:3] and all(n < 25 for n in fresh[:3])
    # and the app opens it onto the example: its episodes monitor shows those episodes, and
    # nothing for the episode that was running when the state was saved until it ends
    win, ctl = make(load(CARTPOLE))
    episodes = ctl.monitor_episodes("cart")
    ctl.states.open_state(str(AGENT))
    qtbot.waitUntil(lambda: ctl.states.last_report is not None, timeout=WAIT)
    t0 = read_state(AGENT).t
    assert ctl.t == t0
    run_to(qtbot, ctl, t0 + 40_000)
    qtbot.waitUntil(lambda: episodes.last_t1 == t0 + 40_000, timeout=WAIT)
    assert episodes.values["cart.episode_length"] == [float(n) for n in trained]
