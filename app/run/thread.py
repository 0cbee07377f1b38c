"""The worker's thread: a QThread running the worker's loop at a lower priority than the GUI."""
from __future__ import annotations

import atexit
import os
import sys
import threading

from PySide6.QtCore import QThread

WORKER_NICE = 4    # the simulation thread yields the CPU to the GUI thread (Linux);
                   # the environment variable SPARK_WORKER_NICE overrides it (0: off)


def lower_this_thread_priority(nice: int = WORKER_NICE) -> bool:
    """Give the calling thread a lower scheduling priority than the GUI thread.

    On a machine with one free core the simulation and the GUI share it; at the same priority
    the scheduler splits it evenly and the GUI falls behind while it paints. Niced, the worker
    still gets all the time the GUI does not use (the simulation runs as fast as before when
    the GUI is idle), but the GUI gets the CPU as soon as it has work. Linux sets niceness per
    thread (threads are tasks), and threads created later by this one (XLA's) inherit it.
    Elsewhere QThread.LowPriority (set at start) does the same; this returns False.
    Nice 4 is a compromise measured with benchmarks/bench_live.py: 10 favours the GUI a little
    more but lets other programs take much more of the CPU from the simulation.
    """
    nice = int(os.environ.get("SPARK_WORKER_NICE", nice))
    if nice <= 0 or not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + int(nice))
        return True
    except OSError:
        return False


class WorkerThread(QThread):
    """A thread whose whole life is the worker's loop (it needs no Qt event loop), at a lower
    priority than the GUI thread (see ``lower_this_thread_priority``)."""

    def __init__(self, worker):
        super().__init__()
        self.worker = worker
        self.niced = False

    def run(self):
        self.niced = lower_this_thread_priority()
        self.worker.loop()


_RUNNING_ON: list[WorkerThread] = []   # stopped threads still finishing (e.g. a compilation)


def stop_thread(thread: WorkerThread, wait_ms: int = 10_000) -> bool:
    """Wait for ``thread`` (already told to quit) up to ``wait_ms``; True when it ended.

    A thread that is still busy (JAX compiles a large model for a minute on a slow machine,
    and cannot be interrupted) is kept referenced here until it ends: destroying a running
    QThread aborts the whole process ("QThread: Destroyed while thread is still running")."""
    _RUNNING_ON[:] = [t for t in _RUNNING_ON if not t.isFinished()]
    if thread.wait(wait_ms):
        return True
    _RUNNING_ON.append(thread)
    return False


@atexit.register
def _wait_for_stopped_threads() -> None:
    for t in _RUNNING_ON:
        t.wait(120_000)
