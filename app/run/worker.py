"""The simulation worker: owns the engine.Simulation in its own thread.

Commands arrive on a thread-safe queue (``SimWorker.send``); results leave through Qt signals,
which are queued to the GUI thread because the receivers live there. Frames go through a merging
``Mailbox`` (see frames.py), so drawing never slows the simulation down. The GUI thread never
touches the Simulation, so it never waits on JAX (compiling included). The worker uses only the
engine's public API (``Simulation``: advance, set_param, record/count, totals, weights, render).

Commands (tuples): build(graph, run, gen) / run / pause / step / run_for(n) / stop(gen) /
reset(gen) / set_param(node, name, value) / rename(old, new) / speed(factor or None) /
display(bool) / request(DisplayRequest) / chunk(k) / record(RecordingPlan or None) /
breakpoints(conditions) / quit. A breakpoint that hits pauses the run at that step and posts
"hit" (breakpoint_worker.py).
``gen`` numbers the runs (the controller's): every frame carries the one it belongs to, so a
frame of a run that was reset or stopped is never drawn.
``extensions`` add hooks and commands without growing this class: rewind.py (snapshots, jump
back, branches, saved states) is one.

Whatever fails in here (a component that raises, NaN, running out of memory while compiling,
even SystemExit) stops the run with a "failed" message; the thread itself goes on, and a
recording in progress is written with what it holds.
"""
from __future__ import annotations

import queue
import time
from collections import deque

from PySide6.QtCore import QObject, Signal, Slot

from spark_snn.engine import GraphError, Simulation, SimulationError, StructuralEdit

from . import breakpoint_worker
from .frames import DisplayRequest, FrameBuilder, Mailbox, Names
from .recording import DiskRecorder, RecordingPlan

STATUS_PERIOD_S = 0.05   # at most 20 status updates per second

__all__ = ["DisplayRequest", "SimWorker", "failure_text"]


def failure_text(exc: BaseException) -> str:
    """A message for an unexpected failure; running out of memory is said in plain words."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MemoryError) or "RESOURCE_EXHAUSTED" in str(exc) \
            or "out of memory" in str(exc).lower():
        return ("out of memory while building or running the model (make the network, its "
                f"recordings or the chunk smaller): {text}")
    return text


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
        self.conditions: tuple[str, ...] = ()   # breakpoints, node ids as shown
        self.names = Names()
        self.frames = FrameBuilder()
        self.gen = 0
        self.compiles = 0          # Simulations built (tests check edits do not rebuild)
        self._quit = False
        self._anchor = (0.0, 0)
        self._next_due = 0.0
        self._speed = deque()
        self._last_status = 0.0
        self._compiled: set = set()
        self._rec_src: dict[str, str] = {}   # recorded port -> its name in the model
        # objects with hooks new_run(w) / stopped(w) / before_chunk(w) and commands
        # cmd_NAME(w, ...) (rewind.py: snapshots and saved states)
        self.extensions: list = []

    # --- called from any thread ----------------------------------------------------------------
    def send(self, *cmd) -> None:
        self.queue.put(cmd)

    def _post(self, kind: str, payload) -> None:
        """Hand (kind, payload) to the GUI thread: "status" (dict), "failed" (message, node,
        step), "rejected" (problems), "structural" (message), "recorded" (paths, steps,
        requested steps, why it ended) or "record_failed" (message)."""
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
        self._end_recording("the app closed")
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
        except BaseException as exc:  # anything else (SystemExit too): stop the run, keep going
            self._fail(failure_text(exc), "", self._t())

    def _fail(self, message: str, node: str, step: int) -> None:
        self.running = False
        self.limit = None
        # the failure first: whoever sees the "error" state can already read what failed
        self._post("failed", (message, node, int(step)))
        self._set_state("error", force=True)
        self._end_recording("the run failed")   # said after the failure, so it stays in view

    # --- commands ------------------------------------------------------------------------------
    def _handle(self, cmd) -> None:
        name, args = cmd[0], cmd[1:]
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is not None:
            handler(*args)
        for ext in self.extensions:
            fn = getattr(ext, f"cmd_{name}", None)
            if fn is not None:
                fn(self, *args)

    def _extend(self, hook: str) -> None:
        for ext in self.extensions:
            fn = getattr(ext, hook, None)
            if fn is not None:
                fn(self)

    def _cmd_quit(self):
        self._quit = True
        self.running = False

    def _cmd_build(self, graph, run, gen):
        self.graph = graph
        self.gen = gen
        self._build()
        if run:
            self._start()
        else:
            self._set_state("paused", force=True)

    def _cmd_run(self):
        if self.sim is not None:
            self.limit = None
            self._start()

    def _cmd_run_for(self, n):
        if self.sim is not None:
            self.limit = self.sim.t + int(n)
            self._start()

    def _cmd_pause(self):
        if self.running:
            self.running = False
            self._set_state("paused", force=True)

    def _cmd_step(self):
        if self.sim is not None:
            self.running = False
            self._run_one_chunk(steps=self.chunk)
            self._set_state("paused", force=True)

    def _cmd_stop(self, gen):
        self.running = False
        self.limit = None
        self._end_recording("the run was stopped")
        self.plan = None
        self.sim = None
        self.gen = gen
        self.mailbox.clear()
        self._set_state("idle", force=True)
        self._extend("stopped")

    def _cmd_reset(self, gen):
        if self.sim is None:
            return
        self._end_recording("the run was reset")
        self.sim.reset()
        self.gen = gen
        self.running = False
        self._new_run()
        self._set_state("paused", force=True)

    def _cmd_set_param(self, node, name, value):
        if self.sim is None:
            return
        try:
            self.sim.set_param(self.names.node(node), name, value)
        except StructuralEdit as exc:
            self._post("structural", f"'{node}.{name}' cannot change while running ({exc})")
        except GraphError as exc:
            self._post("rejected", list(exc.problems))

    def _cmd_rename(self, old, new):
        if self.sim is not None:
            self.names.rename(old, new)
        if self.plan is not None and self.recorder is None:  # a recording not started yet
            self.plan = self.plan.renamed(old, new)           # (one in progress keeps its names)

    def _cmd_speed(self, factor):
        self.factor = factor
        self._reanchor()

    def _cmd_display(self, on):
        self.display = bool(on)
        self._apply_record()
        self._reanchor()
        if self.display:
            self._first_frame()

    def _cmd_request(self, req):
        self.request = req
        self.frames.weights_due.clear()
        self.frames.image_due.clear()
        self._apply_record()
        self._first_frame()

    def _cmd_chunk(self, k):
        self.chunk = max(1, int(k))

    def _cmd_breakpoints(self, conditions):
        self.conditions = tuple(conditions)
        if self.sim is not None:
            breakpoint_worker.apply(self.sim, self.conditions, self.names, self._post)

    def _cmd_record(self, plan):
        self._end_recording("a new recording replaced it")
        self.plan = plan
        if self.sim is not None and plan is not None:
            self._start_recorder()
        self._apply_record()

    # --- recording -----------------------------------------------------------------------------
    def _start_recorder(self) -> None:
        """Allocate the recorder for ``plan`` from the current step; refused (run unharmed)
        when the memory is not there."""
        try:
            self.recorder = DiskRecorder(self.plan, self.sim.dt, self.sim.dtype, self.sim.t)
            self._rec_src = {p: self.names.port(p) for p in self.plan.ports}  # model names
        except MemoryError as exc:
            self.recorder, self.plan = None, None
            self._post("record_failed", f"not enough memory for the recording: {exc}")

    def _end_recording(self, why: str) -> None:
        """Write what the recording in progress holds (a valid file of the steps recorded so
        far) and say where. A plan that has not started recording yet is dropped."""
        rec, self.recorder = self.recorder, None
        if rec is None:
            return
        self.plan = None
        if rec.filled == 0:
            self._post("recorded", ([], 0, rec.plan.n_steps, why))
            return
        self._save(rec, why)

    def _save(self, rec: DiskRecorder, why: str) -> None:
        try:
            paths = rec.save()
        except Exception as exc:  # disk full, no permission, ...: the run itself goes on
            self._post("record_failed", f"could not write {rec.plan.path}: "
                                        f"{type(exc).__name__}: {exc}")
            return
        self._post("recorded", (paths, rec.filled, rec.plan.n_steps, why))

    # --- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        self._end_recording("the model was rebuilt")
        self._set_state("compiling", force=True)
        self.sim = None
        self.sim = breakpoint_worker.make_simulation(Simulation, self.graph, self.chunk,
                                                     self.conditions, self._post)
        self.compiles += 1
        self._compiled = set()
        self.names = Names()
        self._new_run()
        self._emit_status()

    def _new_run(self) -> None:
        """Fresh per-run bookkeeping after a build or a reset (t = 0)."""
        self.mailbox.clear()
        self.frames.reset()
        if self.plan is not None:
            self._start_recorder()
        self._apply_record()
        self._first_frame()
        self._extend("new_run")

    def _first_frame(self) -> None:
        """A frame of no steps: the monitors of this run clear, and show at once what can be
        read without running (the weights, the environment's picture)."""
        if self.sim is None or not self.display:
            return
        t = self.sim.t
        self.frames.before_chunk(self.sim)
        frame = self.frames.build(self.sim, self.request, self.names, self.gen, {}, t, t)
        if self.mailbox.put(frame):
            self.frame_ready.emit()

    def _apply_record(self) -> None:
        """What the engine records (full arrays: raster, traces, ...) and counts (spike totals
        summed inside the scan: rates and badges) from the next chunk on. Display off: only
        what a disk recording needs.

        Rates never make the engine record a spike array: a port that only rate monitors and
        badges need is counted in the scan (``Simulation(count=...)``); one that a raster
        records anyway is counted from that record (counting it twice would cost more)."""
        sim = self.sim
        if sim is None:
            return
        ports = {self.names.port(p) for p in self.plan.ports} if self.plan is not None else set()
        counts: tuple[str, ...] = ()
        if self.display:
            ports |= {self.names.port(p) for p in self.request.record_ports()}
        sim.record = tuple(sorted(p for p in ports if sim.has_port(p)))
        if self.display:
            counts = tuple(sorted(p for p in {self.names.port(q) for q in self.request.counts}
                                  if sim.has_port(p) and p not in sim.record))
        if counts != tuple(sim.count):
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
        key = (k, tuple(sim.record), tuple(sim.count))
        if key not in self._compiled:  # first chunk of this shape: JAX compiles it now
            self._compiled.add(key)
            self._set_state("compiling", force=True)
        self._extend("before_chunk")
        t0 = sim.t
        self.frames.before_chunk(sim)
        recs = sim.advance(k, k)
        t1 = sim.t
        if sim.hit is not None:   # a breakpoint: pause at exactly that step
            self.running = False
            self.limit = None
        if self.state == "compiling":
            self._set_state("running" if self.running else "paused", force=True)
            self._reanchor()
        self._record_chunk(recs)
        if self.display:
            # the last frame before a pause: the painter shows its rates at once, and the
            # pictures (weights, environments) are those of the step it stops at
            final = not self.running or (self.limit is not None and t1 >= self.limit)
            frame = self.frames.build(sim, self.request, self.names, self.gen, recs, t0, t1,
                                      final=final)
            frame["final"] = final
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
        if sim.hit is not None:
            self._set_state("paused", force=True)
            self._post("hit", breakpoint_worker.hit_payload(sim, self.names))

    def _record_chunk(self, recs: dict) -> None:
        if self.recorder is None:
            return
        self.recorder.add({p: recs[src] for p, src in self._rec_src.items()})
        if self.recorder.done:
            rec, self.recorder, self.plan = self.recorder, None, None
            self._apply_record()
            self._save(rec, "")

    def _pace(self, now: float) -> None:
        if not self.factor or self.sim is None:
            self._next_due = now
            return
        w0, s0 = self._anchor
        target = w0 + (self.sim.t - s0) * self.sim.dt / 1000.0 / self.factor
        if target < now - 0.25:   # far behind (slow machine): do not try to catch up in a burst
            self._anchor = (now, self.sim.t)
            target = now
        self._next_due = target

    # --- status --------------------------------------------------------------------------------
    def _set_state(self, state: str, force: bool = False) -> None:
        self.state = state
        self._emit_status(force=force)

    def _emit_status(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_status < STATUS_PERIOD_S:
            return
        self._last_status = now
        sps = 0.0
        if len(self._speed) >= 2 and self.running:
            (w0, s0), (w1, s1) = self._speed[0], self._speed[-1]
            sps = (s1 - s0) / max(w1 - w0, 1e-9)
        sim = self.sim
        self._post("status", {"state": self.state, "t": sim.t if sim else 0,
                              "time_ms": sim.time_ms if sim else 0.0, "sps": sps,
                              "gen": self.gen, "compiles": self.compiles,
                              "merged": self.mailbox.merged, "display": self.display})
