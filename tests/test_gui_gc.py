"""Cyclic garbage is collected by the GUI thread while a run controller (and its worker thread)
lives: automatic collection is off, a GUI-thread timer collects instead, and everything is
back as it was when the last controller shuts down (app/gui_gc.py)."""
from __future__ import annotations

import gc
import threading

import pytest

from spark_snn.app import gui_gc


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """Each test starts with no holder (whatever other tests left) and ends as it found it."""
    enabled = gc.isenabled()
    monkeypatch.setattr(gui_gc, "_collector", None)
    monkeypatch.setattr(gui_gc, "_holders", 0)
    gc.enable()
    yield
    if gui_gc._collector is not None:
        gui_gc._collector.stop()
    (gc.enable if enabled else gc.disable)()


class Cycle:
    def __init__(self, log):
        self.me = self
        self.log = log

    def __del__(self):
        self.log.append(threading.current_thread() is threading.main_thread())


def test_cycles_are_freed_by_the_gui_thread_while_held(qtbot):
    gui_gc.hold()
    try:
        assert not gc.isenabled() and gui_gc.active()
        log = []
        done = threading.Event()

        kept = []

        def worker():               # keeps far more containers than the first threshold
            for _ in range(50):      # (700): automatic collection would run here
                Cycle(log)
                kept.append([[] for _ in range(200)])
            done.set()

        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert done.is_set() and log == []          # nothing collected in the worker
        qtbot.waitUntil(lambda: len(log) == 50, timeout=5000)
        assert all(log)                             # every cycle freed in the GUI thread
        assert len(kept) == 50
    finally:
        gui_gc.release()
    assert gc.isenabled() and not gui_gc.active()


def test_objects_alive_before_the_hold_are_left_out_until_the_last_release(qtbot):
    """The timer's full collections do not walk what lived before the run (gc.freeze): a cycle
    made before the hold and dropped during it survives the held collections and is freed by
    the last release, which unfreezes everything."""
    log = []
    early = Cycle(log)
    gui_gc.hold()
    try:
        assert gc.get_freeze_count() > 0
        del early                                   # garbage now, but frozen
        late = [Cycle(log) for _ in range(3)]
        del late                                    # garbage made during the hold
        gc.collect(2)
        assert log == [True, True, True]            # only the cycles made while held
    finally:
        gui_gc.release()
    assert gc.get_freeze_count() == 0 and len(log) == 4


def test_holds_nest_and_the_last_release_restores(qtbot):
    gui_gc.hold()
    gui_gc.hold()
    gui_gc.release()
    assert gui_gc.active() and not gc.isenabled()
    gui_gc.release()
    assert not gui_gc.active() and gc.isenabled()
    gui_gc.release()                                # one too many: harmless
    assert gc.isenabled()


def test_a_window_holds_it_until_its_run_controller_shuts_down(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(tmp_path / "settings"))
    from spark_snn.app.main_window import MainWindow
    w = MainWindow(None, check_recovery=False)
    try:
        assert gui_gc.active() and not gc.isenabled()
    finally:
        w.run_controller.shutdown()
        w.doc.undo.setClean()
        w.close()
    assert not gui_gc.active() and gc.isenabled()
