"""Breakpoints in the app (app/run/breakpoints.py): set from a node's context menu, the live
run pauses at exactly the step the condition became true. The step is computed independently
from a headless run's recorded spikes or potentials (and compared with the engine's own
headless breakpoint); the node is highlighted, the status bar says what hit when, the monitors
end at that step, and bad conditions are refused with the reason."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6 import QtCore

from spark_snn.engine import Graph, Node, Simulation, save
from tests.conftest import close_windows

WAIT = 120_000
SIZE = 40


def drive_graph() -> Graph:
    """A pool driven by a current that ramps up (so its rate rises through any threshold)."""
    g = Graph(settings={"dt": 0.1, "seed": 5, "dtype": "float32"})
    g.add_node(Node("drive", "current_source", {"size": SIZE, "amplitude": 24.0,
                                                "heterogeneity": 6.0}, (0, 0)))
    g.add_node(Node("pool", "lif", {"size": SIZE, "v_init": "uniform"}, (260, 0)))
    g.connect("drive.current", "pool.current")
    return g


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(tmp_path / "settings"))
    from spark_snn.app.main_window import MainWindow
    made = []

    def make(graph):
        path = tmp_path / "net.json"
        save(graph, path)
        w = MainWindow(str(path), check_recovery=False)
        w.files.popups = False
        ctl = w.run_controller
        ctl.popups = False
        ctl.breakpoints.popups = False
        made.append(w)
        return w, ctl, ctl.breakpoints
    yield make
    close_windows(made)


def menu_action(w, node, text):
    """The action ``text`` of the node context menu's Break When submenu."""
    w.menus.context_menu(QtCore.QPoint(0, 0), node)
    menu = w.menus.last_menu
    sub = next(a.menu() for a in menu.actions() if a.menu() and
               a.text() == "Break When")
    action = next(a for a in sub.actions() if a.text() == text)
    menu.close()
    return action


def set_from_menu(w, bps, node, text, value):
    bps.ask_value = lambda *a, **k: value
    menu_action(w, node, text).trigger()


def run_until_hit(qtbot, ctl, bps, n):
    bps.last_hit = None
    ctl.run_for(n)
    qtbot.waitUntil(lambda: bps.last_hit is not None or (ctl.state == "paused" and ctl.t >= n),
                    timeout=WAIT)
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == (bps.last_hit or {"t": n})["t"],
                    timeout=WAIT)


def first_rate_step(spikes: np.ndarray, window: int, threshold_hz: float, dt: float) -> int:
    """The first step t (1-based: after t steps) at which the spike count of the last
    ``window`` steps, as a rate, exceeds the threshold; the window must have filled."""
    counts = spikes.sum(axis=1)
    for t in range(window, len(counts) + 1):
        rate = counts[t - window:t].sum() / (spikes.shape[1] * window * dt / 1000.0)
        if rate > threshold_hz:
            return t
    return -1


def test_rate_breakpoint_from_the_context_menu_pauses_at_the_exact_step(qtbot, window):
    g = drive_graph()
    n = 3000
    ref = Simulation(g, record=["pool.spikes", "pool.v"])
    rec = ref.advance(n, 500)
    counts = rec["pool.spikes"].sum(axis=1)
    windowed = np.convolve(counts, np.ones(100), "valid")      # spikes in each 10 ms window
    # a threshold halfway between two whole counts (no rounding question), 80 % of the peak
    k = int(0.8 * windowed.max())
    threshold = (k + 0.5) / (SIZE * 0.01)
    expected = first_rate_step(rec["pool.spikes"], 100, threshold, 0.1)
    assert 100 <= expected < n
    headless = Simulation(g, breakpoints=[f"pool.rate > {threshold!r}"])
    headless.advance(n, 500)
    assert headless.hit.t == expected                         # the engine agrees

    w, ctl, bps = window(g)
    mon = ctl.monitor_membrane("pool", neurons=(0, 1, 2))
    set_from_menu(w, bps, "pool", "Rate above… (Hz)", repr(threshold))
    assert bps.conditions() == (f"pool.rate > {threshold!r}",)
    assert bps.dock.list.count() == 1 and bps.dock.dock.isVisible() is not None
    run_until_hit(qtbot, ctl, bps, n)
    hit = bps.last_hit
    assert hit["t"] == expected and ctl.t == expected
    assert hit["time_ms"] == pytest.approx(expected * 0.1)
    assert hit["conditions"] == [f"pool.rate > {threshold!r}"] and hit["node"] == "pool"
    # highlighted and selected; the status bar says what hit when
    assert bps.halo.node == "pool" and bps.halo.visible()
    assert w.canvas.selected_ids() == ["pool"]
    msg = w.statusBar().currentMessage()
    assert f"t = {expected * 0.1:g} ms" in msg and "pool.rate >" in msg
    # the membrane monitor ends at the step the run stopped at, with that step's values
    qtbot.waitUntil(lambda: mon.t.size and mon.t[-1] == expected - 1, timeout=WAIT)
    assert np.allclose(mon.v[-1], rec["pool.v"][expected - 1, :3])
    # running on clears the highlight (the breakpoint removed: the rate may rise through the
    # threshold again, which would stop the run again)
    bps.remove(0)
    ctl.run_for(10)
    qtbot.waitUntil(lambda: ctl.t >= expected + 10 and ctl.state == "paused", timeout=WAIT)
    assert bps.halo.node is None


def test_output_crossing_and_time_breakpoints(qtbot, window):
    """'v' crosses x: any element passing x between two steps (from the recorded potentials);
    'Time reaches 12.35 ms' at step ceil(123.5) = 124."""
    g = drive_graph()
    n = 400
    x = -60.0
    ref = Simulation(g, record=["pool.v"])
    v = ref.advance(n, 100)["pool.v"]
    crossed = ((v[:-1] < x) & (v[1:] >= x)) | ((v[:-1] > x) & (v[1:] <= x))
    expected = int(np.flatnonzero(crossed.any(axis=1))[0]) + 2   # rows i, i+1 are steps i+1, i+2
    w, ctl, bps = window(g)
    set_from_menu(w, bps, "pool", "'v' crosses…", "-60")
    run_until_hit(qtbot, ctl, bps, n)
    assert bps.last_hit["t"] == expected and bps.last_hit["node"] == "pool"

    bps.clear()
    ctl.reset()
    qtbot.waitUntil(lambda: ctl.t == 0, timeout=WAIT)
    set_from_menu(w, bps, "drive", "Time reaches… (ms)", "12.35")
    assert bps.conditions() == ("t >= 12.35 ms",)
    run_until_hit(qtbot, ctl, bps, n)
    assert bps.last_hit["t"] == 124 and bps.last_hit["node"] is None
    assert bps.halo.node is None            # no node to show for a time condition


def test_disabled_and_removed_breakpoints_do_not_stop_the_run(qtbot, window):
    w, ctl, bps = window(drive_graph())
    assert bps.add("t >= 5 ms")
    item = bps.dock.list.item(0)
    item.setCheckState(QtCore.Qt.CheckState.Unchecked)      # as the user unticks it
    assert bps.conditions() == () and not bps.items[0].enabled
    run_until_hit(qtbot, ctl, bps, 200)
    assert bps.last_hit is None and ctl.t == 200
    item.setCheckState(QtCore.Qt.CheckState.Checked)
    bps.dock.entry.setText("t >= 30 ms")
    bps.dock.add_button.click()
    assert bps.conditions() == ("t >= 5 ms", "t >= 30 ms")
    bps.dock.list.setCurrentRow(0)
    bps.dock.remove_button.click()
    assert [b.text for b in bps.items] == ["t >= 30 ms"]
    run_until_hit(qtbot, ctl, bps, 1000)
    assert bps.last_hit["t"] == 300


@pytest.mark.parametrize("typed, why", [
    ("pool.rate > fast", "expected a number"),
    ("pool.rate < -3", "never below -3 Hz"),
    ("nobody.rate > 5", "no node 'nobody'"),
    ("pool.nope > 1", "has no output 'nope'"),
    ("pool.v[40] > 0", "has 40 elements"),
    ("drive.rate > 5", "no spike output"),
    ("episode", "no environment"),
    ("t >= 5 days", "unknown time unit"),
])
def test_bad_conditions_are_refused_with_the_reason(qtbot, window, typed, why):
    w, ctl, bps = window(drive_graph())
    bps.dock.entry.setText(typed)
    bps.dock.add_button.click()
    assert bps.items == [] and why in bps.last_refusal
    assert why in bps.dock.message.text() and "not set" in w.statusBar().currentMessage()
    assert bps.dock.entry.text() == typed               # kept for the user to fix


def test_a_bad_value_from_the_context_menu_is_refused(qtbot, window):
    w, ctl, bps = window(drive_graph())
    set_from_menu(w, bps, "pool", "Rate above… (Hz)", "lots")
    assert bps.items == [] and "expected a number, got 'lots'" in bps.last_refusal
    set_from_menu(w, bps, "pool", "Rate above… (Hz)", None)   # cancelled: nothing happens
    assert bps.items == []
    # the menu offers what applies: rates for pools, not for the current source
    texts = [a.text() for a in menu_action(w, "drive", "Any value becomes NaN").parent()
             .actions()]
    assert "Rate above… (Hz)" not in texts and "'current' crosses…" in texts


def test_breakpoints_are_saved_with_the_graph_and_follow_renames(qtbot, window, tmp_path):
    w, ctl, bps = window(drive_graph())
    assert bps.add("pool.rate > 40") and bps.add("t >= 2 s")
    bps.set_enabled(1, False)
    w.edits.rename_node("pool", "cells")
    assert [b.text for b in bps.items] == ["cells.rate > 40", "t >= 2 s"]
    path = tmp_path / "saved.json"
    assert w.files.save_to(str(path))
    meta = json.loads(path.read_text())["meta"]["breakpoints"]
    assert meta == [{"condition": "cells.rate > 40", "enabled": True},
                    {"condition": "t >= 2 s", "enabled": False}]
    bps.clear()
    w.files.open_file(str(path), ask=False)
    assert [(b.text, b.enabled) for b in bps.items] == [("cells.rate > 40", True),
                                                       ("t >= 2 s", False)]



def test_a_breakpoint_on_a_fused_node_waits_for_the_next_build(qtbot, window):
    """Set while running on a projection the engine fused into a shared kernel, the condition
    is said to wait for the next build; after Stop and Run it stops the run at the first step
    a headless recording of that output shows it true."""
    from conftest import ei_graph
    g = ei_graph(propagation="event")
    ref = Simulation(g, record=["ee.events"])
    events = ref.advance(2000, 500)["ee.events"]
    expected = int(np.flatnonzero((events > 1.0).any(axis=1))[0]) + 1
    w, ctl, bps = window(g)
    ctl.run_for(10)
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 10, timeout=WAIT)
    assert bps.add("ee.events > 1")
    qtbot.waitUntil(lambda: "next build" in bps.last_refusal, timeout=WAIT)
    assert bps.conditions() == ("ee.events > 1",)
    ctl.stop()
    qtbot.waitUntil(lambda: ctl.state == "idle", timeout=WAIT)
    run_until_hit(qtbot, ctl, bps, 2000)
    assert bps.last_hit["t"] == expected and bps.last_hit["node"] == "ee"
    assert bps.halo.node == "ee"


def test_a_node_renamed_during_the_run_keeps_its_breakpoint(qtbot, window):
    """Renamed while the model is built, the node keeps its id in the model: the worker
    translates the condition, and the hit names the node as the editor shows it. The step is
    that of the headless engine run under the old name."""
    g = drive_graph()
    threshold = 40.25
    headless = Simulation(g, breakpoints=[f"pool.rate > {threshold}"])
    headless.advance(3000, 500)
    assert headless.hit is not None
    w, ctl, bps = window(g)
    ctl.run_for(0)                                     # build, run nothing
    qtbot.waitUntil(lambda: ctl.state == "paused", timeout=WAIT)
    w.edits.rename_node("pool", "cells")
    set_from_menu(w, bps, "cells", "Rate above… (Hz)", str(threshold))
    run_until_hit(qtbot, ctl, bps, 3000)
    assert bps.last_hit["t"] == headless.hit.t
    assert bps.last_hit["conditions"] == [f"cells.rate > {threshold}"]
    assert bps.last_hit["node"] == "cells" and bps.halo.node == "cells"


def test_the_worker_leaves_out_what_the_model_cannot_take():
    """breakpoint_worker.make_simulation: a condition the built model refuses is left out with
    the engine's reason; the others are watched."""
    from spark_snn.app.run.breakpoint_worker import make_simulation
    said = []
    sim = make_simulation(Simulation, drive_graph(), 100, ["t >= 5 ms", "pool.nope > 1"],
                          lambda kind, payload: said.append((kind, payload)))
    assert sim.breakpoints == ("t >= 5 ms",)
    assert said == [("breakpoint_refused", ("pool.nope > 1", said[0][1][1]))]
    assert "has no output 'nope'" in said[0][1][1]
    sim.advance(1000)
    assert sim.t == 50


def test_a_pool_inside_a_composite_component(qtbot, window):
    """The context menu of a composite instance offers the rates of the pools inside it; the
    hit is at the step the recorded spikes give, and the instance on the canvas is ringed."""
    from pathlib import Path

    from spark_snn.engine import load
    g = load(Path(__file__).resolve().parents[1] / "resources" / "examples" / "columns.json")
    n = 3000
    spikes = Simulation(g, record=["c3.exc.spikes"]).advance(n, 500)["c3.exc.spikes"]
    windowed = np.convolve(spikes.sum(axis=1), np.ones(100), "valid")
    threshold = (int(0.9 * windowed.max()) + 0.5) / (80 * 0.01)
    expected = first_rate_step(spikes, 100, threshold, 0.1)
    assert 100 <= expected < n
    w, ctl, bps = window(g)
    set_from_menu(w, bps, "c3", "exc: Rate above… (Hz)", repr(threshold))
    run_until_hit(qtbot, ctl, bps, n)
    assert bps.last_hit["t"] == expected and bps.last_hit["node"] == "c3.exc"
    assert bps.halo.node == "c3" and w.canvas.selected_ids() == ["c3"]


def test_condition_ids_follow_renames_into_the_running_model():
    """A node (or a composite instance) renamed during a run keeps its old id in the model:
    the worker rewrites the condition's node id, and nothing else in it."""
    from spark_snn.app.run.breakpoint_worker import to_model
    from spark_snn.app.run.frames import Names
    names = Names()
    names.rename("c3", "col3")
    names.rename("pool", "cells")
    assert to_model("col3.exc.rate(25 ms) > 5", names) == "c3.exc.rate(25 ms) > 5"
    assert to_model("cells.v[2] crosses -50", names) == "pool.v[2] crosses -50"
    assert to_model("cellsx.v > 1", names) == "cellsx.v > 1"
    assert to_model("t >= 5 ms", names) == "t >= 5 ms"


def test_an_episode_end_stops_the_run_every_time(qtbot, window):
    """'An episode ends' on the cartpole environment: the run pauses at each step whose
    recorded 'done' output is set (an event: every episode, not only the first)."""
    from pathlib import Path

    from spark_snn.engine import load
    g = load(Path(__file__).resolve().parents[1] / "resources" / "examples" / "cartpole.json")
    done = Simulation(g, record=["cart.done"]).advance(3000, 500)["cart.done"]
    ends = np.flatnonzero(done[:, 0] > 0) + 1           # after that many steps
    assert len(ends) >= 2
    w, ctl, bps = window(g)
    set_from_menu(w, bps, "cart", "An episode ends", None)
    assert bps.conditions() == ("episode",)
    for end in ends[:2]:
        run_until_hit(qtbot, ctl, bps, 3000)
        assert bps.last_hit["t"] == end and bps.last_hit["node"] == "cart"
        assert bps.halo.node == "cart"


def test_a_nan_breakpoint_pauses_before_the_failure(qtbot, window):
    """'Any value becomes NaN': the run pauses (not fails) at the step whose state first went
    non-finite, the one a run without breakpoints fails at (its step-by-step replay finds it);
    the node is ringed. Running on then fails as before, naming the node."""
    from conftest import overflow_graph

    from spark_snn.engine import SimulationError
    g = overflow_graph()
    with pytest.raises(SimulationError) as err:
        Simulation(g).advance(300, 100)
    w, ctl, bps = window(g)
    set_from_menu(w, bps, "b", "Any value becomes NaN", None)
    run_until_hit(qtbot, ctl, bps, 300)
    assert ctl.state == "paused" and ctl.last_error is None
    assert bps.last_hit["t"] == err.value.step + 1 and bps.last_hit["node"] == "b"
    assert bps.halo.node == "b"
    ctl.run_for(10)
    # (the worker says "error" a moment before it sends the failure itself)
    qtbot.waitUntil(lambda: ctl.state == "error" and ctl.last_error is not None, timeout=WAIT)
    assert ctl.last_error[1] == "b"
