"""The simulation worker: owns the engine.Simulation in its own thread.

Commands arrive on a thread-safe queue (``SimWorker.send``); results leave through Qt signals,
which are queued to the GUI thread because the receivers live there. Frames go through a merging
``Mailbox`` (see frames.py), so drawing never slows the simulation down. The GUI thread never
touches the Simulation, so it never waits on JAX (compiling included).

Commands (tuples): build(graph, chunk, run) / run / pause / step / run_for(n) / stop / reset /
set_param(node, name, value) / speed(factor or None) / display(bool) / request(DisplayRequest) /
chunk(k) / record(RecordingPlan or None) / quit.
"""
from __future__ import annotations

import queue
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from engine import GraphError, Simulation, SimulationError, StructuralEdit

from .frames import Mailbox
from .recording import DiskRecorder, RecordingPlan

STATUS_PERIOD_S = 0.05   # at most 20 status updates per second
WEIGHTS_PERIOD_S = 0.5   # plastic weights are re-read at most twice per second


@dataclass
class DisplayRequest:
    """What the open monitors (and the pool badges) need from each chunk."""

    raster: tuple[str, ...] = ()                 # spike ports sent as (step, neuron) events
    counts: tuple[str, ...] = ()                 # spike ports whose rates are sent (counted in
                                                 # the scan: Simulation(count=...), not recorded)
    traces: dict = field(default_factory=dict)   # value port -> neuron indices
    values: tuple[str, ...] = ()                 # small vector ports sent whole (observations)
    episodes: tuple[str, ...] = ()               # scalar ports describing the last episode
    counters: dict = field(default_factory=dict)  # episode port -> episode-counter port
    weights: tuple[str, ...] = ()                # projection node ids
    window: int = 10_000                         # steps of history a frame keeps at most

    def record_ports(self) -> tuple[str, ...]:
        ports = set(self.raster) | set(self.traces) | set(self.values) \
            | set(self.episodes) | set(self.counters.values())
        return tuple(sorted(ports))


def weight_matrix(sim: Simulation, node: str) -> np.ndarray | None:
    """Current weights (n_pre x n_post) of a projection, or None when it has none.

    Plastic projections keep their weights in their state (``w`` or ``W``: a dense matrix,
    masked by ``const["mask"]`` where present; or ``weights`` with ``const["targets"]``);
    static ones in their consts (components.projection.dense_matrix reads both layouts).
    A static projection the compiler fused into a shared kernel has no node of its own in the
    model: its weights are drawn again from the graph (``fused_weights``), without a rebuild.
    """
    from components.projection import dense_matrix

    r = sim.model.rnodes.get(node)
    if r is None:
        return fused_weights(sim, node)
    sizes = getattr(r.comp, "sizes", {})
    n_pre, n_post = int(sizes.get("n_pre", 0)), int(sizes.get("n_post", 0))
    st = sim.node_state(node) if node in sim.model.rnodes else {}
    const = sim.consts.get(node, {})
    if isinstance(st, dict):
        for key in ("w", "W"):
            if key in st and np.ndim(st[key]) == 2:
                W = np.asarray(st[key])
                if "mask" in const:
                    W = W * np.asarray(const["mask"], W.dtype)
                return W
        if "weights" in st and "targets" in const:
            return dense_matrix({"targets": const["targets"], "weights": st["weights"]},
                                n_pre, n_post)
    if "W" in const or "targets" in const:
        return dense_matrix(const, n_pre, n_post)
    return None


def fused_weights(sim: Simulation, node: str) -> np.ndarray | None:
    """Weights of a projection that was fused away (None when ``node`` is not one).

    Only static projections are fused, and every node draws its synapses from
    ``engine.compiler.node_rng(seed, model.seed_key(node))`` whether fused or not
    (engine/fusion.py, ``FusedEvents.init_fused``), so drawing them again gives exactly the
    weights in use.
    """
    from engine.compiler import node_rng
    from engine.registry import registry
    from engine.validate import analyze

    if node not in sim.graph.nodes or not any(node in m for m in sim.model.fused.values()):
        return None
    info = analyze(sim.graph).nodes.get(node)
    cls = registry().types.get(sim.graph.nodes[node].type)
    if info is None or cls is None:
        return None
    comp = cls(info.config, info.sizes, sim.model.dt, sim.model.dtype)
    if not hasattr(comp, "weight_matrix"):
        return None
    return comp.weight_matrix(*comp.synapses(node_rng(sim.seed, sim.model.seed_key(node))))


def is_plastic(sim: Simulation, node: str) -> bool:
    """Whether the projection's weights live in its state (and so change during a run)."""
    st = sim.node_state(node) if node in sim.model.rnodes else {}
    return isinstance(st, dict) and any(k in st for k in ("w", "W", "weights"))


class SimWorker(QObject):
    """Runs the simulation; see the module docstring."""

    # Only argument-less signals cross the thread boundary: the data travels in ``outbox`` (a
    # thread-safe queue of (kind, payload) tuples) and ``mailbox`` (frames). Passing Python
    # containers through queued PySide6 signals corrupted reference counts (a fatal error at exit).
    notify = Signal()        # something waits in ``outbox``
    frame_ready = Signal()   # a frame waits in ``mailbox``

    def __init__(self):
        super().__init__()
        self.queue: queue.Queue = queue.Queue()
        self.outbox: queue.Queue = queue.Queue()
        self.mailbox = Mailbox()
        self.sim: Simulation | None = None
        self.graph = None
        self.state = "idle"
        self.running = False
        self.limit: int | None = None
        self.chunk = 100
        self.factor: float | None = None
        self.display = True
        self.request = DisplayRequest()
        self.plan: RecordingPlan | None = None
        self.recorder: DiskRecorder | None = None
        self.gen = 0
        self.compiles = 0          # Simulations built (tests check edits do not rebuild)
        self._quit = False
        self._anchor = (0.0, 0)
        self._next_due = 0.0
        self._speed = deque()
        self._last_status = 0.0
        self._weights_due: dict[str, float] = {}
        self._episode_last: dict[str, float] = {}
        self._compiled: set = set()
        self._counted: dict[str, int] = {}   # spike port -> total count when the chunk began
        self._plastic: dict[str, bool] = {}  # projection -> weights change during the run

    # --- called from any thread ----------------------------------------------------------------
    def send(self, *cmd) -> None:
        self.queue.put(cmd)

    def _post(self, kind: str, payload) -> None:
        """Hand (kind, payload) to the GUI thread: "status" (dict), "failed" (message, node,
        step), "rejected" (problems), "structural" (message) or "recorded" (paths)."""
        self.outbox.put((kind, payload))
        self.notify.emit()

    # --- the thread's loop ---------------------------------------------------------------------
    @Slot()
    def loop(self) -> None:
        """Run until a quit command: handle commands, run chunks, keep the pace."""
        while not self._quit:
            now = time.perf_counter()
            if self.running and now >= self._next_due:
                self._drain()
                if self.running and not self._quit:
                    self._guarded(self._run_one_chunk)
                continue
            timeout = None if not self.running else max(0.0, self._next_due - now)
            try:
                cmd = self.queue.get(timeout=timeout)
            except queue.Empty:
                continue
            self._guarded(self._handle, cmd)
        self.sim = None

    def _drain(self) -> None:
        while True:
            try:
                cmd = self.queue.get_nowait()
            except queue.Empty:
                return
            self._guarded(self._handle, cmd)

    def _guarded(self, fn, *args) -> None:
        try:
            fn(*args)
        except SimulationError as exc:
            self._fail(str(exc), exc.node or "", -1 if exc.step is None else exc.step)
        except GraphError as exc:
            node = next((p.node for p in exc.problems if p.node), "")
            text = "; ".join(str(p) for p in exc.problems) or str(exc)
            self._fail(text, node, self._t())
        except Exception as exc:  # anything else: stop the run, keep the app alive
            self._fail(f"{type(exc).__name__}: {exc}", "", self._t())

    def _fail(self, message: str, node: str, step: int) -> None:
        self.running = False
        self.limit = None
        self.recorder = None
        self._set_state("error", force=True)
        self._post("failed", (message, node, int(step)))

    # --- commands ------------------------------------------------------------------------------
    def _handle(self, cmd) -> None:
        name, args = cmd[0], cmd[1:]
        if name == "quit":
            self._quit = True
            self.running = False
        elif name == "build":
            graph, run = args
            self.graph = graph
            self._build()
            if run:
                self._start()
            else:
                self._set_state("paused", force=True)
        elif name == "run":
            if self.sim is None:
                return
            self.limit = None
            self._start()
        elif name == "run_for":
            if self.sim is None:
                return
            self.limit = self.sim.t + int(args[0])
            self._start()
        elif name == "pause":
            if self.running:
                self.running = False
                self._set_state("paused", force=True)
        elif name == "step":
            if self.sim is None:
                return
            self.running = False
            self._run_one_chunk(steps=self.chunk)
            self._set_state("paused", force=True)
        elif name == "stop":
            self.running = False
            self.limit = None
            self.sim = None
            self.recorder = None
            self.gen += 1
            self.mailbox.clear()
            self._set_state("idle", force=True)
        elif name == "reset":
            if self.sim is None:
                return
            self.sim.reset()
            self.gen += 1
            self.mailbox.clear()
            self._episode_last.clear()
            self._weights_due.clear()
            if self.plan is not None:
                self.recorder = DiskRecorder(self.plan, self.sim.model.dt, self.sim.model.dtype, 0)
            self.running = False
            self._set_state("paused", force=True)
        elif name == "set_param":
            self._set_param(*args)
        elif name == "speed":
            self.factor = args[0]
            self._reanchor()
        elif name == "display":
            self.display = bool(args[0])
            self._apply_record()
            self._reanchor()
        elif name == "request":
            self.request = args[0]
            self._weights_due.clear()
            self._apply_record()
        elif name == "chunk":
            self.chunk = max(1, int(args[0]))
        elif name == "record":
            self.plan = args[0]
            self.recorder = None
            if self.sim is not None and self.plan is not None:
                self.recorder = DiskRecorder(self.plan, self.sim.model.dt, self.sim.model.dtype,
                                             self.sim.t)
            self._apply_record()

    def _set_param(self, node, name, value) -> None:
        if self.sim is None:
            return
        try:
            self.sim.set_param(node, name, value)
        except StructuralEdit as exc:
            self._post("structural", str(exc))
        except GraphError as exc:
            self._post("rejected", list(exc.problems))

    # --- building ------------------------------------------------------------------------------
    def _build(self, note: str = "") -> None:
        self._set_state("compiling", force=True)
        self.sim = None
        self.sim = Simulation(self.graph, chunk=self.chunk)
        self.compiles += 1
        self._compiled = set()
        self._plastic = {}
        self.gen += 1
        self.mailbox.clear()
        self._episode_last.clear()
        self._weights_due.clear()
        self.recorder = None
        if self.plan is not None:
            self.recorder = DiskRecorder(self.plan, self.sim.model.dt, self.sim.model.dtype, 0)
        self._apply_record()
        self._emit_status(note=note)

    def _apply_record(self) -> None:
        """What the engine records (full arrays: raster, traces, ...) and counts (spike totals
        summed inside the scan: rates and badges) from the next chunk on. Display off: only
        what a disk recording needs.

        Rates never make the engine record a spike array: a port that only rate monitors and
        badges need is counted in the scan (``Simulation(count=...)``); one that a raster
        records anyway is counted from that record (counting it twice would cost more)."""
        if self.sim is None:
            return
        sim = self.sim
        have = sim.model.rnodes
        ports = set(self.plan.ports) if self.plan is not None else set()
        counts: tuple[str, ...] = ()
        if self.display:
            ports |= set(self.request.record_ports())
        sim.record = tuple(sorted(p for p in ports if p.rsplit(".", 1)[0] in have))
        if self.display:
            # a port that is recorded anyway (a raster shows it) is counted from the record
            counts = tuple(sorted(p for p in set(self.request.counts)
                                  if p.rsplit(".", 1)[0] in have and p not in sim.record))
        if counts != tuple(sim.count):
            for p in counts:
                if p not in sim.totals:
                    size = sim.model.port_size(have[p.rsplit(".", 1)[0]], sim.model.port(p))
                    sim.totals[p] = np.zeros(size, np.int64)
            sim.count = counts

    # --- running -------------------------------------------------------------------------------
    def _start(self) -> None:
        self.running = True
        self._reanchor()
        self._set_state("running", force=True)

    def _reanchor(self) -> None:
        now = time.perf_counter()
        self._anchor = (now, self._t())
        self._next_due = now
        self._speed.clear()

    def _t(self) -> int:
        return self.sim.t if self.sim is not None else 0

    def _run_one_chunk(self, steps: int | None = None) -> None:
        sim = self.sim
        if sim is None:
            self.running = False
            return
        k = int(steps or self.chunk)
        if self.limit is not None:
            k = min(k, self.limit - sim.t)
            if k <= 0:
                self.running = False
                self.limit = None
                self._set_state("paused", force=True)
                return
        key = (k, tuple(sim.record), tuple(sim.watch), tuple(sim.count))
        if key not in self._compiled:  # first chunk of this shape: JAX compiles it now
            self._compiled.add(key)
            self._set_state("compiling", force=True)
        t0 = sim.t
        self._counted = {p: int(sim.totals[p].sum()) for p in sim.count}
        recs = sim.advance(k, k)
        t1 = sim.t
        if self.state == "compiling":
            self._set_state("running" if self.running else "paused", force=True)
            self._reanchor()
        if self.recorder is not None:
            self.recorder.add(recs)
            if self.recorder.done:
                rec, self.recorder, self.plan = self.recorder, None, None
                self._apply_record()
                self._post("recorded", rec.save())
        if self.display:
            frame = self._frame(recs, t0, t1)
            if self.mailbox.put(frame):
                self.frame_ready.emit()
        now = time.perf_counter()
        self._speed.append((now, t1))
        while len(self._speed) > 2 and now - self._speed[0][0] > 1.0:
            self._speed.popleft()
        if self.limit is not None and t1 >= self.limit:
            self.running = False
            self.limit = None
            self._set_state("paused", force=True)
        self._pace(now)
        self._emit_status()

    def _pace(self, now: float) -> None:
        if not self.factor or self.sim is None:
            self._next_due = now
            return
        w0, s0 = self._anchor
        target = w0 + (self.sim.t - s0) * self.sim.model.dt / 1000.0 / self.factor
        if target < now - 0.25:   # far behind (slow machine): do not try to catch up in a burst
            self._anchor = (now, self.sim.t)
            target = now
        self._next_due = target

    def _frame(self, recs: dict, t0: int, t1: int) -> dict:
        sim, req = self.sim, self.request
        dt = sim.model.dt
        n = t1 - t0
        steps = np.arange(t0, t1, dtype=np.int64)
        frame = {"gen": self.gen, "t0": t0, "t1": t1, "dt": dt, "window": req.window,
                 "events": {}, "rates": {}, "counts": {}, "traces": {}, "values": {},
                 "episodes": {}, "weights": {}}
        for port in req.raster:
            if port in recs:
                s, i = np.nonzero(recs[port])
                frame["events"][port] = (s.astype(np.int64) + t0, i.astype(np.int32))
        for port in req.counts:
            if not n:
                continue
            if port in self._counted:
                total = sim.totals[port]
                c = int(total.sum()) - self._counted[port]
                size = int(total.shape[0])
            elif port in recs:
                c, size = int(np.count_nonzero(recs[port])), int(recs[port].shape[1])
            else:
                continue
            frame["counts"][port] = (c, n, size)
            rate = c / max(size * n * dt / 1000.0, 1e-12)
            frame["rates"][port] = (np.array([t1 * dt]), np.array([rate]))
        for port, idx in req.traces.items():
            if port in recs:
                idx = np.asarray([i for i in idx if 0 <= i < recs[port].shape[1]], np.int64)
                frame["traces"][port] = (steps, np.asarray(recs[port])[:, idx], idx)
        for port in req.values:
            if port in recs:
                frame["values"][port] = (steps, np.asarray(recs[port]))
        for port in req.episodes:
            if port not in recs:
                continue
            vals = np.asarray(recs[port]).reshape(n, -1)[:, 0]
            trigger = req.counters.get(port)
            # an episode ends where the node's episode counter steps up, or (without a
            # counter) where the port's value changes
            sig = np.asarray(recs[trigger]).reshape(n, -1)[:, 0] if trigger in recs else vals
            last = self._episode_last.get(port, 0.0)
            prev = np.concatenate([[last], sig[:-1]])
            ends = np.flatnonzero(sig != prev)
            self._episode_last[port] = float(sig[-1]) if n else last
            if ends.size:
                frame["episodes"][port] = [float(v) for v in vals[ends]]
        now = time.perf_counter()
        for node in req.weights:
            due = self._weights_due.get(node, 0.0)
            if now >= due:
                W = weight_matrix(sim, node)
                if W is not None:
                    frame["weights"][node] = np.array(W, copy=True)
                if node not in self._plastic:  # (reading the state costs: ask once per build)
                    self._plastic[node] = is_plastic(sim, node)
                self._weights_due[node] = (now + WEIGHTS_PERIOD_S) if self._plastic[node] \
                    else float("inf")
        return frame

    # --- status --------------------------------------------------------------------------------
    def _set_state(self, state: str, force: bool = False) -> None:
        self.state = state
        self._emit_status(force=force)

    def _emit_status(self, force: bool = False, note: str = "") -> None:
        now = time.perf_counter()
        if not force and not note and now - self._last_status < STATUS_PERIOD_S:
            return
        self._last_status = now
        sps = 0.0
        if len(self._speed) >= 2 and self.running:
            (w0, s0), (w1, s1) = self._speed[0], self._speed[-1]
            sps = (s1 - s0) / max(w1 - w0, 1e-9)
        sim = self.sim
        self._post("status", {"state": self.state, "t": sim.t if sim else 0,
                          "time_ms": sim.time_ms if sim else 0.0, "sps": sps, "gen": self.gen,
                          "note": note, "compiles": self.compiles,
                          "merged": self.mailbox.merged, "display": self.display})
