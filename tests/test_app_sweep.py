"""Run > Parameter Sweep… (app/sweep_dialog.py): the dialog's numbers are those of engine
sweep() called directly and of separate Simulation runs; one parameter draws a curve, two a
heatmap; the CSV is the engine's; Cancel stops a sweep in progress; bad input is refused with
the reason. The sweep runs in a background thread: the tests wait on the GUI's event loop."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import close_windows, ei_graph
from PySide6 import QtCore

from spark_snn.engine import Simulation, save
from spark_snn.engine.sweep import SweepParam, sweep

WAIT = 180_000


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
        w.run_controller.popups = False
        made.append(w)
        return w
    yield make
    for w in made:
        dlg = w.sweep_dialog
        if dlg is not None:
            dlg.close()
            if dlg.thread is not None:
                dlg.thread.wait(WAIT)
    close_windows(made)


def open_dialog(w):
    run = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Run")
    assert w.sweep_action in run.actions()
    w.sweep_action.trigger()            # Run > Parameter Sweep…
    return w.sweep_dialog


def finish(qtbot, dlg):
    qtbot.waitUntil(lambda: dlg.thread is not None and dlg.thread.isFinished()
                    and not dlg.timer.isActive(), timeout=WAIT)


def test_one_parameter_curve_matches_engine_sweep_and_separate_runs(qtbot, window, tmp_path):
    g = ei_graph()
    w = window(g)
    dlg = open_dialog(w)
    assert dlg.isVisible() and dlg.p1.node.findText("exc") >= 0
    dlg.p1.choose("exc", "tau_m", 10, 30, 3)
    dlg.steps.setValue(600)
    dlg.set_measured(["inh.v"])
    qtbot.mouseClick(dlg.run_button, QtCore.Qt.MouseButton.LeftButton)
    assert not dlg.run_button.isEnabled() and dlg.cancel_button.isEnabled()
    finish(qtbot, dlg)
    r = dlg.result
    assert r is not None, dlg.message
    direct = sweep(g, [SweepParam("exc", "tau_m", np.array([10.0, 20.0, 30.0]))], 600,
                   measures=["inh.v"])
    assert list(r.measures) == list(direct.measures)
    for name in direct.measures:
        assert np.array_equal(r.measures[name], direct.measures[name]), name
    # separate runs of the Simulation, one per value: the same spike totals and output means
    sim = Simulation(g, count=["exc.spikes"], record=["inh.v"])
    for i, tau in enumerate((10.0, 20.0, 30.0)):
        sim.set_param("exc", "tau_m", tau)
        sim.reset()
        v = sim.advance(600, 300)["inh.v"]
        assert r.measures["exc.spikes"][i] == sim.totals["exc.spikes"].sum()
        assert r.measures["exc.rate_hz"][i] == pytest.approx(
            sim.totals["exc.spikes"].sum() / 40 / 0.06)
        assert r.measures["inh.v_mean"][i] == pytest.approx(v.mean(axis=1).mean(), rel=1e-5)
    assert len(set(r.measures["exc.spikes"])) == 3              # the parameter mattered
    # a curve: x the values, y the measure chosen
    dlg.measure.setCurrentText("exc.rate_hz")
    curves = dlg.plot.listDataItems()
    assert len(curves) == 1 and dlg.image is None
    x, y = curves[0].getData()
    assert np.array_equal(x, [10, 20, 30]) and np.array_equal(y, r.measures["exc.rate_hz"])
    assert dlg.progress.value() == dlg.progress.maximum()
    out = tmp_path / "sweep.csv"
    assert dlg.save_csv(str(out))
    rows = list(csv.reader(open(out)))
    assert rows[0] == ["exc.tau_m", "exc.rate_hz", "exc.spikes", "inh.rate_hz", "inh.spikes",
                       "inh.v_mean"]
    assert [int(row[2]) for row in rows[1:]] == list(direct.measures["exc.spikes"])


def test_two_parameters_draw_a_heatmap_of_the_engine_grid(qtbot, window):
    g = ei_graph()
    w = window(g)
    dlg = open_dialog(w)
    dlg.p1.choose("exc", "tau_m", 10, 30, 3)
    dlg.use_p2.setChecked(True)
    dlg.p2.choose("drive", "amplitude", 15, 25, 2)
    dlg.steps.setValue(400)
    assert dlg.start()
    finish(qtbot, dlg)
    r = dlg.result
    direct = sweep(g, ["exc.tau_m=10:30:3", "drive.amplitude=15:25:2"], 400)
    assert np.array_equal(r.grid, direct.grid)
    for name in direct.measures:
        assert np.array_equal(r.measures[name], direct.measures[name]), name
    dlg.measure.setCurrentText("inh.spikes")
    img = dlg.image.image
    assert img.shape == (3, 2)                                   # tau_m across, amplitude up
    assert np.array_equal(img, direct.grid_of("inh.spikes"))
    rect = dlg.image.mapRectToParent(dlg.image.boundingRect())
    assert (rect.left(), rect.right()) == pytest.approx((5.0, 35.0))     # cells centred
    assert (rect.top(), rect.bottom()) == pytest.approx((10.0, 30.0))
    # one point against a separate run
    sim = Simulation(g, count=["inh.spikes"])
    sim.set_param("exc", "tau_m", 20.0)
    sim.set_param("drive", "amplitude", 25.0)
    sim.advance(400, 400)
    assert img[1, 1] == sim.totals["inh.spikes"].sum()


def test_cancel_stops_a_sweep_in_progress(qtbot, window):
    w = window(ei_graph())
    dlg = open_dialog(w)
    dlg.p1.choose("exc", "tau_m", 10, 30, 4)
    dlg.steps.setValue(50_000_000)                          # far longer than the test waits
    assert dlg.start()
    qtbot.waitUntil(lambda: dlg.thread.done > 0, timeout=WAIT)
    qtbot.mouseClick(dlg.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    finish(qtbot, dlg)
    assert dlg.thread.cancelled and dlg.result is None
    assert dlg.message.startswith("Cancelled after") and dlg.run_button.isEnabled()
    assert dlg.thread.done < dlg.thread.total


@pytest.mark.parametrize("setup, why", [
    (lambda d: d.p1.choose("exc", "tau_m", 10, 30, 3) or d.p1.lo.setText("ten"),
     "'ten' (from) is not a number"),
    (lambda d: d.p1.choose("exc", "tau_m", 30, 10, 3), "must be greater than the first"),
    (lambda d: d.p1.choose("exc", "tau_m", 10, 30, 3) or d.use_p2.setChecked(True)
     or d.p2.choose("drive", "amplitude", 1, 2, 1000) or d.p1.n.setValue(20),
     "20,000 combinations"),
])
def test_bad_ranges_are_refused_in_the_dialog(qtbot, window, setup, why):
    w = window(ei_graph())
    dlg = open_dialog(w)
    setup(dlg)
    assert not dlg.start() and dlg.thread is None
    assert why in dlg.message and why in dlg.status.text()


@pytest.mark.parametrize("node, name, lo, hi, why", [
    ("exc", "size", 10, 20, "structural"),
    ("exc", "nonsense", 1, 2, "unknown parameter"),
    ("exc", "tau_m", -5, 5, "value -5: -5.0 is out of range"),
])
def test_what_the_engine_refuses_is_shown(qtbot, window, node, name, lo, hi, why):
    w = window(ei_graph())
    dlg = open_dialog(w)
    dlg.p1.node.setCurrentText("exc")
    assert dlg.p1.name.findText("size") < 0 and dlg.p1.name.findText("tau_m") >= 0  # live only
    dlg.p1.choose(node, name, lo, hi, 3)
    assert dlg.start()
    finish(qtbot, dlg)
    assert dlg.result is None and dlg.message.startswith("Sweep refused:")
    assert why in dlg.message and f"parameter '{name}'" in dlg.message


def test_closing_the_dialog_or_the_window_cancels_the_sweep(qtbot, window):
    """A sweep in progress is cancelled (not left running for its whole length) when its
    dialog closes, and when its window goes away."""
    from spark_snn.app import sweep_dialog
    w = window(ei_graph())
    dlg = open_dialog(w)
    dlg.p1.choose("exc", "tau_m", 10, 30, 2)
    dlg.steps.setValue(50_000_000)
    assert dlg.start()
    th = dlg.thread
    qtbot.waitUntil(lambda: th.done > 0, timeout=WAIT)
    dlg.close()
    qtbot.waitUntil(th.isFinished, timeout=WAIT)
    assert th.cancelled and th.done < th.total
    w.sweep_action.trigger()                       # a fresh dialog, a new sweep
    dlg = w.sweep_dialog
    dlg.p1.choose("exc", "tau_m", 10, 30, 2)
    dlg.steps.setValue(50_000_000)
    assert dlg.start()
    th = dlg.thread
    qtbot.waitUntil(lambda: th.done > 0, timeout=WAIT)
    sweep_dialog.cancel_all(id(w))                 # what the window's destroyed signal does
    qtbot.waitUntil(th.isFinished, timeout=WAIT)
    assert th.cancelled


def test_the_run_menu_holds_the_run_actions_with_their_shortcuts(qtbot, window):
    w = window(ei_graph())
    run = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Run")
    entries = [(a.text(), a.shortcut().toString()) for a in run.actions() if not a.isSeparator()]
    assert entries[:6] == [("Run", "F5"), ("Pause", "F6"), ("Step", "F10"),
                           ("Stop", "Shift+F5"), ("Reset", "Ctrl+Shift+F5"), ("Record...", "")]
    assert [t for t, _ in entries[6:]] == ["&Breakpoints", "Parameter &Sweep…"]
    ctl = w.run_controller
    next(a for a in run.actions() if a.text() == "Run").trigger()     # Run > Run starts it
    qtbot.waitUntil(lambda: ctl.t > 0, timeout=WAIT)
    next(a for a in run.actions() if a.text() == "Pause").trigger()
    qtbot.waitUntil(lambda: ctl.state == "paused", timeout=WAIT)
