"""Python's cyclic garbage collector, run by the GUI thread only while the app has worker
threads.

Why: CPython runs a collection in whichever thread happens to allocate when the counters pass
their thresholds. With the simulation in a worker thread, that is often the worker, in the
middle of JAX tracing; the collection then frees unreachable cycles that hold Qt wrappers made
by the GUI thread (closed windows, dialogs, monitor panels), and destroying those from the
worker can wait on a lock the GUI thread holds while it waits for the interpreter: both stop
(seen as a test run that hung with the worker inside JAX's tracer and the GUI thread in its
event loop, no CPU used). So while a RunController lives (``hold``/``release``), automatic
collection is off and a timer in the GUI thread collects instead, generation by generation,
with the interpreter's own thresholds, ten times a second; when the last one goes, automatic
collection is switched back on as it was.

The objects alive when the first hold starts (the app, Qt, JAX and its caches: a few hundred
thousand) are frozen out of the collector (``gc.freeze``) until the last release: a full
collection, which walks every tracked object, would otherwise take the GUI thread 50-120 ms
whenever the thresholds call for one (about every 8 s of a fast live run: the worst GUI tick
of bench_live.py). CPython's own collector skips most of those full passes with a heuristic
this timer cannot see. What becomes garbage among the frozen objects is collected at the
release.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 100


class _Collector(QObject):
    def __init__(self):
        super().__init__()
        self.was_enabled = gc.isenabled()
        self.thresholds = gc.get_threshold()
        gc.disable()
        gc.freeze()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect)
        self.timer.start(INTERVAL_MS)

    def collect(self) -> None:
        """What automatic collection would have done by now (in this, the GUI thread)."""
        t0, t1, t2 = self.thresholds
        c0, c1, c2 = gc.get_count()
        if t0 and c0 > t0:
            gen = 2 if (c1 >= t1 and c2 >= t2) else 1 if c1 >= t1 else 0
            gc.collect(gen)

    def stop(self) -> None:
        self.timer.stop()
        gc.unfreeze()
        if self.was_enabled:
            gc.enable()


_collector: _Collector | None = None
_holders = 0


def hold() -> None:
    """A worker thread is about to exist: collect in the GUI thread from now on. Call from the
    GUI thread."""
    global _collector, _holders
    _holders += 1
    if _collector is None:
        _collector = _Collector()


def release() -> None:
    """A worker thread has ended; the last release restores automatic collection."""
    global _collector, _holders
    _holders = max(0, _holders - 1)
    if _holders == 0 and _collector is not None:
        _collector.stop()
        _collector.deleteLater()
        _collector = None
        gc.collect()


def active() -> bool:
    return _collector is not None
