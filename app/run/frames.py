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
* ``images[node]  = (height, width, 3) uint8``      latest picture of a host-side environment
* ``errors[node]  = message``                       reading that node's data failed (the
  monitors of that node show it; the others go on)

Frames are built in the worker thread by ``FrameBuilder`` from what ``Simulation.advance``
recorded and the engine's public reading API, with the names the editor shows (a node renamed
during the run keeps its data: ``Names``).

``merge(a, b)`` joins two consecutive frames, keeping only the last ``window`` steps of the
time series, so a GUI that falls behind receives one bounded frame instead of a backlog. The
``Mailbox`` does this merging under a lock; the worker never waits for the GUI.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

SERIES = ("rates", "traces", "values")
WEIGHTS_PERIOD_S = 0.5   # plastic weights are re-read at most twice per second
IMAGE_PERIOD_S = 0.1     # environment pictures at most 10 times per second


@dataclass
class DisplayRequest:
    """What the open monitors (and the pool badges) need from each chunk ("node.port" names as
    the editor shows them)."""

    raster: tuple[str, ...] = ()                 # spike ports sent as (step, neuron) events
    counts: tuple[str, ...] = ()                 # spike ports whose rates are sent (counted in
                                                 # the scan: Simulation(count=...), not recorded)
    traces: dict = field(default_factory=dict)   # value port -> neuron indices
    values: tuple[str, ...] = ()                 # small vector ports sent whole (observations)
    episodes: tuple[str, ...] = ()               # scalar ports describing the last episode
    counters: dict = field(default_factory=dict)  # episode port -> episode-counter port
    weights: tuple[str, ...] = ()                # projection node ids
    images: tuple[str, ...] = ()                 # host-side nodes whose picture is wanted
    window: int = 10_000                         # steps of history a frame keeps at most

    def record_ports(self) -> tuple[str, ...]:
        ports = set(self.raster) | set(self.traces) | set(self.values) \
            | set(self.episodes) | set(self.counters.values())
        return tuple(sorted(ports))


class Names:
    """Node ids as the editor shows them vs. as the running model knows them. A rename during a
    run needs no rebuild: the model keeps its ids, and this table translates both ways."""

    def __init__(self):
        self.to_model: dict[str, str] = {}   # shown id -> model id (renamed nodes only)
        self.to_view: dict[str, str] = {}

    def rename(self, old: str, new: str) -> None:
        model = self.to_model.pop(old, old)
        if new != model:
            self.to_model[new] = model
        self.to_view = {m: v for v, m in self.to_model.items()}

    def node(self, nid: str) -> str:
        return self.to_model.get(nid, nid)

    def port(self, name: str) -> str:
        """"node.port" as shown -> as the model knows it."""
        if not self.to_model:
            return name
        n, _, p = name.rpartition(".")
        return f"{self.to_model.get(n, n)}.{p}"

    def view_port(self, name: str) -> str:
        if not self.to_view:
            return name
        n, _, p = name.rpartition(".")
        return f"{self.to_view.get(n, n)}.{p}"


class FrameBuilder:
    """Turns one chunk's records into a frame (see the module docstring); keeps what must
    survive between chunks (episode counters, when weights and pictures are due)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new build or a reset)."""
        self.episode_last: dict[str, float] = {}
        self.weights_due: dict[str, float] = {}
        self.image_due: dict[str, float] = {}
        self.plastic: dict[str, bool] = {}
        self.counted: dict[str, int] = {}   # model spike port -> total when the chunk began

    def before_chunk(self, sim) -> None:
        self.counted = {p: int(sim.totals[p].sum()) for p in sim.count}

    def build(self, sim, req: DisplayRequest, names: Names, gen: int, recs: dict,
              t0: int, t1: int, final: bool = False) -> dict:
        dt = sim.dt
        n = t1 - t0
        frame = {"gen": gen, "t0": t0, "t1": t1, "dt": dt, "window": req.window,
                 "events": {}, "rates": {}, "counts": {}, "traces": {}, "values": {},
                 "episodes": {}, "weights": {}, "images": {}, "errors": {}}
        m = names.port
        for port in req.raster:
            if m(port) in recs:
                s, i = np.nonzero(recs[m(port)])
                frame["events"][port] = (s.astype(np.int64) + t0, i.astype(np.int32))
        if n:
            self._counts(frame, sim, req, m, recs, n, t1)
        steps = np.arange(t0, t1, dtype=np.int64)
        for port, idx in req.traces.items():
            if m(port) in recs:
                a = np.asarray(recs[m(port)])
                idx = np.asarray([i for i in idx if 0 <= i < a.shape[1]], np.int64)
                frame["traces"][port] = (steps, a[:, idx], idx)
        for port in req.values:
            if m(port) in recs:
                frame["values"][port] = (steps, np.asarray(recs[m(port)]))
        for port in req.episodes:
            if m(port) in recs:
                self._episodes(frame, port, recs, m, req.counters.get(port), n)
        self._weights_and_images(frame, sim, req, names, final)
        return frame

    def _counts(self, frame, sim, req, m, recs, n, t1):
        for port in req.counts:
            mp = m(port)
            if mp in self.counted:
                total = sim.totals[mp]
                c, size = int(total.sum()) - self.counted[mp], int(total.shape[0])
            elif mp in recs:
                c, size = int(np.count_nonzero(recs[mp])), int(recs[mp].shape[1])
            else:
                continue
            frame["counts"][port] = (c, n, size)
            rate = c / max(size * n * frame["dt"] / 1000.0, 1e-12)
            frame["rates"][port] = (np.array([t1 * frame["dt"]]), np.array([rate]))

    def _episodes(self, frame, port, recs, m, trigger, n):
        vals = np.asarray(recs[m(port)]).reshape(n, -1)[:, 0]
        # an episode ends where the node's episode counter steps up, or (without a counter)
        # where the port's value changes
        sig = np.asarray(recs[m(trigger)]).reshape(n, -1)[:, 0] \
            if trigger and m(trigger) in recs else vals
        # the first chunk of a run compares with the value it starts from (a run that starts
        # from a saved state or a snapshot is in the middle of an episode)
        last = self.episode_last.get(port, float(sig[0]) if n else 0.0)
        prev = np.concatenate([[last], sig[:-1]])
        ends = np.flatnonzero(sig != prev)
        self.episode_last[port] = float(sig[-1]) if n else last
        if ends.size:
            frame["episodes"][port] = [float(v) for v in vals[ends]]

    def _weights_and_images(self, frame, sim, req, names, final=False):
        """Weights (twice a second while plastic, once otherwise) and environment pictures
        (10 a second); a node whose data cannot be read gets an error of its own, the rest go
        on. The ``final`` frame before a pause has the pictures of the step it stops at."""
        now = time.perf_counter()

        def due(when):      # never again (inf) stays never
            return now >= when or (final and when != float("inf"))

        for node in req.weights:
            if not due(self.weights_due.get(node, 0.0)):
                continue
            try:
                W = sim.weights(names.node(node))
                if W is not None:
                    frame["weights"][node] = np.array(W, copy=True)
                if node not in self.plastic:  # (reading the state costs: ask once per build)
                    self.plastic[node] = sim.weights_change(names.node(node))
            except Exception as exc:
                frame["errors"][node] = f"cannot read the weights: {type(exc).__name__}: {exc}"
                self.plastic[node] = False
            self.weights_due[node] = (now + WEIGHTS_PERIOD_S) if self.plastic[node] \
                else float("inf")
        for node in req.images:
            if not due(self.image_due.get(node, 0.0)):
                continue
            try:
                img = sim.render(names.node(node))
            except Exception as exc:
                img = None
                frame["errors"][node] = f"cannot draw the environment: {type(exc).__name__}: {exc}"
            # a node that cannot draw itself is not asked again until the next build
            self.image_due[node] = now + IMAGE_PERIOD_S if img is not None else float("inf")
            if img is not None:
                frame["images"][node] = img


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
    for key in ("weights", "images", "errors"):
        out[key] = {**a.get(key, {}), **b.get(key, {})}
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
