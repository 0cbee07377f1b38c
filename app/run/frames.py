"""Frames: what the simulation worker hands to the monitors, and how frames are coalesced.

A frame is a plain dict of numpy arrays describing steps ``t0 .. t1`` of one simulation
"generation" (a generation ends at every build or reset, so stale data never mixes with new):

* ``events[port]  = (steps int64, neurons int32)``  spikes of a raster-monitored port
* ``rates[port]   = (time_ms, rate_hz)``            population rate, one value per chunk
* ``counts[port]  = (spike count, steps, size)``    totals since the previous frame (badges)
* ``traces[port]  = (steps, values (n, k), neuron indices)``
* ``values[port]  = (steps, values (n, size))``     observations and other small vectors
* ``episodes[port] = list of floats``               finished-episode values (never trimmed)
* ``weights[node] = matrix (n_pre, n_post)``        latest weights of a projection

``merge(a, b)`` joins two consecutive frames, keeping only the last ``window`` steps of the
time series, so a GUI that falls behind receives one bounded frame instead of a backlog. The
``Mailbox`` does this merging under a lock; the worker never waits for the GUI.
"""
from __future__ import annotations

import threading

import numpy as np

SERIES = ("rates", "traces", "values")


def _trim_series(item, keep_from):
    """Drop entries of a (times, values, ...) tuple older than ``keep_from``."""
    t = item[0]
    if t.size and t[0] < keep_from:
        cut = int(np.searchsorted(t, keep_from))
        return (t[cut:], item[1][cut:]) + tuple(item[2:])
    return item


def merge(a: dict | None, b: dict) -> dict:
    """Frame ``a`` followed by frame ``b`` (see the module docstring)."""
    if a is None or a.get("gen") != b.get("gen"):
        return b
    window = int(b.get("window", 1 << 40))
    keep_from = b["t1"] - window
    out = dict(b)
    out["t0"] = a["t0"]
    ev = dict(a.get("events", {}))
    for port, (s, i) in b.get("events", {}).items():
        if port in ev:
            s0, i0 = ev[port]
            s, i = np.concatenate([s0, s]), np.concatenate([i0, i])
        keep = s >= keep_from
        ev[port] = (s[keep], i[keep]) if not keep.all() else (s, i)
    out["events"] = ev
    rate_from = keep_from * b.get("dt", 1.0)
    for key in SERIES:
        merged = dict(a.get(key, {}))
        for port, item in b.get(key, {}).items():
            old = merged.get(port)
            if old is not None and (key != "traces" or np.array_equal(old[2], item[2])):
                item = (np.concatenate([old[0], item[0]]),
                        np.concatenate([old[1], item[1]])) + tuple(item[2:])
            merged[port] = _trim_series(item, rate_from if key == "rates" else keep_from)
        out[key] = merged
    counts = dict(a.get("counts", {}))
    for port, (c, n, size) in b.get("counts", {}).items():
        c0, n0, _ = counts.get(port, (0, 0, size))
        counts[port] = (c0 + c, n0 + n, size)
    out["counts"] = counts
    eps = {p: list(v) for p, v in a.get("episodes", {}).items()}
    for port, vals in b.get("episodes", {}).items():
        eps.setdefault(port, []).extend(vals)
    out["episodes"] = eps
    out["weights"] = {**a.get("weights", {}), **b.get("weights", {})}
    return out


class Mailbox:
    """A one-slot, merging hand-over from the worker to the GUI thread.

    ``put`` merges the frame into the pending one and returns True only when the GUI has not
    been notified yet (so at most one notification is ever queued); ``take`` empties the slot.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._frame: dict | None = None
        self._notified = False
        self.merged = 0  # frames merged into a pending one (the GUI was slower)

    def put(self, frame: dict) -> bool:
        with self._lock:
            if self._frame is not None:
                self.merged += 1
            self._frame = merge(self._frame, frame)
            notify = not self._notified
            self._notified = True
            return notify

    def take(self) -> dict | None:
        with self._lock:
            frame, self._frame, self._notified = self._frame, None, False
            return frame

    def clear(self) -> None:
        with self._lock:
            self._frame = None
