"""Snapshots for rewinding, and saved states, on the worker's side (its thread).

``Rewind`` is an extension of the SimWorker (worker.py calls its hooks): before a chunk, when
``interval_ms`` of simulated time have passed since the last snapshot, it takes one with the
engine's ``Simulation.snapshot()`` and keeps it while the snapshots together fit in
``budget_bytes`` (the oldest are dropped first). Everything that touches the Simulation happens
here, in the worker thread; the GUI receives a summary (``Timeline``: ids, times, branches,
sizes, no arrays) through the worker's outbox as a "timeline" message.

Branches: snapshots belong to a branch (numbered from 1). ``jump`` puts a snapshot back
(``Simulation.restore``, the current live parameters kept, so the run goes on with what the
editor shows); when the run then goes on, the snapshots of that branch after the jump point are
dropped (they are of the future just left; running again remakes them). ``branch`` jumps too,
but starts a new branch there and keeps every snapshot of the old one, until ``discard``.

Taking a snapshot posts nothing: the GUI asks for the timeline (a "timeline" command) a few
times a second, so a fast run that takes dozens a second does not flood it; the commands below
and a new run post it at once.

Commands (worker.send): timeline, snap_settings(interval_ms, budget_bytes), jump(id, gen),
branch(id, gen), discard(branch), save_state(path, meta), load_state(path, gen).
Messages posted: "timeline" (Timeline), "jumped" (t, time ms, notes), "state_saved" (path, t),
"state_loaded" (LoadReport), "state_error" (what was being done, message, reasons).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter

DEFAULT_INTERVAL_MS = 1000.0          # a snapshot every second of simulated time
DEFAULT_BUDGET_MB = 256                # at most this much memory for them (MiB)
MAX_BUDGET_MB = 16384


@dataclass(frozen=True)
class Mark:
    """What the GUI knows of a snapshot."""

    id: int
    branch: int
    t: int
    time_ms: float
    nbytes: int


@dataclass(eq=False)
class Entry:
    """One snapshot kept in memory, and its mark."""

    mark: Mark
    snap: object = field(repr=False)

    id = property(lambda self: self.mark.id)
    branch = property(lambda self: self.mark.branch)
    t = property(lambda self: self.mark.t)
    time_ms = property(lambda self: self.mark.time_ms)
    nbytes = property(lambda self: self.mark.nbytes)


@dataclass(frozen=True)
class Timeline:
    """What the GUI knows of all of them: the marks (oldest first), each branch's start
    (branch -> (parent branch or 0, time ms it forks at)), where the simulation is now, and
    the memory used and allowed."""

    marks: tuple = ()
    forks: dict = field(default_factory=dict)
    branch: int = 1
    time_ms: float = 0.0
    used: int = 0
    budget: int = DEFAULT_BUDGET_MB << 20
    interval_ms: float = DEFAULT_INTERVAL_MS
    dropped: int = 0
    note: str = ""
    need: int = 0        # the size of a snapshot that did not fit in the budget at all


_MARK, _BRANCH = attrgetter("mark"), attrgetter("branch")


class Rewind:
    """The worker's snapshot keeper; see the module docstring."""

    def __init__(self, interval_ms: float = DEFAULT_INTERVAL_MS,
                 budget_bytes: int = DEFAULT_BUDGET_MB << 20):
        self.interval_ms = float(interval_ms)
        self.budget = int(budget_bytes)
        self.entries: list[Entry] = []
        self.used = 0               # their bytes
        self.forks: dict[int, tuple[int, float]] = {1: (0, 0.0)}
        self.branch = 1
        self.dropped = 0            # snapshots dropped for the budget since the last clear
        self.note = ""              # why snapshots are off (a node that cannot be saved)
        self.need = 0               # a snapshot larger than the whole budget (0: none)
        self._next_id = 1
        self._next_branch = 2
        self._due = 0               # the step at or after which the next snapshot is taken
        self._cut_after: int | None = None   # drop this branch's snapshots after this step
        self._keep = False          # a jump is calling _new_run: keep the snapshots

    # --- hooks the worker calls ------------------------------------------------------------
    def new_run(self, w) -> None:
        """A build, a reset or a loaded state: a fresh timeline from the current step."""
        if self._keep:
            return
        self._keep_only(lambda e: False)
        self.forks = {1: (0, w.sim.time_ms if w.sim is not None else 0.0)}
        self.branch, self._next_branch = 1, 2
        self.dropped, self.note = 0, ""
        self._due = w.sim.t if w.sim is not None else 0
        self._cut_after = None
        self._publish(w)

    def stopped(self, w) -> None:
        self._keep_only(lambda e: False)
        self.forks = {1: (0, 0.0)}
        self.branch, self._next_branch, self._due = 1, 2, 0
        self._publish(w)

    def before_chunk(self, w) -> None:
        sim = w.sim
        if sim is None:
            return
        if self._cut_after is not None:     # the run goes on after a jump: a new future
            cut, self._cut_after = self._cut_after, None
            self._keep_only(lambda e: not (e.branch == self.branch and e.t > cut))
        if sim.t >= self._due and self.interval_ms > 0 and not self.note:
            self.take(w)

    # --- taking and keeping -----------------------------------------------------------------
    def take(self, w) -> Entry | None:
        sim = w.sim
        try:
            snap = sim.snapshot()
        except ValueError as exc:   # engine.state.StateError: a node cannot save its state
            self.note = f"snapshots are off: {exc}"
            self._publish(w)
            return None
        # the next one is due on a grid of ``steps`` (taken at the first chunk boundary at or
        # after it: on average one every interval, whatever the chunk)
        steps = max(1, int(round(self.interval_ms / sim.dt)))
        self._due += steps * max(1, -(-(sim.t + 1 - self._due) // steps))
        entry = Entry(Mark(self._next_id, self.branch, sim.t, sim.time_ms, snap.nbytes), snap)
        self._next_id += 1
        self.entries.append(entry)
        self.used += entry.nbytes
        self._fit()
        self.need = 0 if self.entries and self.entries[-1] is entry else entry.nbytes
        return entry     # (the GUI asks for the timeline when it wants to show it)

    def _fit(self) -> None:
        """Drop the oldest snapshots until the rest fit in the budget."""
        while self.entries and self.used > self.budget:
            self.used -= self.entries.pop(0).nbytes
            self.dropped += 1

    def _keep_only(self, keep) -> None:
        self.entries = [e for e in self.entries if keep(e)]
        self.used = sum(e.nbytes for e in self.entries)

    def find(self, sid: int) -> Entry | None:
        return next((e for e in self.entries if e.id == sid), None)

    def timeline(self, w) -> Timeline:
        sim = w.sim
        marks = tuple(map(_MARK, self.entries))
        live = set(map(_BRANCH, marks)) | {self.branch}
        return Timeline(marks,
                        {b: f for b, f in self.forks.items() if b in live}, self.branch,
                        sim.time_ms if sim is not None else 0.0, self.used, self.budget,
                        self.interval_ms, self.dropped, self.note, self.need)

    def _publish(self, w) -> None:
        w._post("timeline", self.timeline(w))

    # --- commands ---------------------------------------------------------------------------
    def cmd_timeline(self, w):
        self._publish(w)

    def cmd_snap_settings(self, w, interval_ms, budget_bytes):
        self.interval_ms = max(0.0, float(interval_ms))
        self.budget = max(0, int(budget_bytes))
        if w.sim is not None:
            self._due = min(self._due, w.sim.t + max(1, int(round(self.interval_ms / w.sim.dt))))
        self._fit()
        self._publish(w)

    def cmd_jump(self, w, sid, gen):
        self._go(w, sid, gen, new_branch=False)

    def cmd_branch(self, w, sid, gen):
        self._go(w, sid, gen, new_branch=True)

    def _go(self, w, sid, gen, new_branch):
        entry = self.find(sid)
        if w.sim is None or entry is None:
            w._post("state_error", ("jump", "that snapshot is no longer kept", []))
            return
        w._end_recording("the run jumped back")
        diffs = w.sim.restore(entry.snap, params=False)
        w.running, w.limit = False, None
        if new_branch:
            self.branch = self._next_branch
            self._next_branch += 1
            self.forks[self.branch] = (entry.branch, entry.time_ms)
            self._cut_after = None
        else:
            self.branch = entry.branch
            self._cut_after = entry.t
        self._due = entry.t + max(1, int(round(self.interval_ms / w.sim.dt)))
        w.gen = gen
        self._keep = True
        try:
            w._new_run()
        finally:
            self._keep = False
        w._set_state("paused", force=True)
        self._publish(w)
        w._post("jumped", (entry.t, entry.time_ms, self.branch, diffs))

    def cmd_discard(self, w, branch):
        if branch == self.branch:
            return   # the branch the simulation is on stays
        self._keep_only(lambda e: e.branch != branch)
        self.forks.pop(branch, None)
        self._publish(w)

    def cmd_save_state(self, w, path, meta):
        if w.sim is None:
            w._post("state_error", ("save", "there is no simulation to save: run it first", []))
            return
        try:
            w.sim.save_state(path, meta=meta)
        except (OSError, ValueError) as exc:
            w._post("state_error", ("save", _text(exc), list(getattr(exc, "reasons", []))))
            return
        w._post("state_saved", (str(path), w.sim.t, w.sim.time_ms))

    def cmd_load_state(self, w, path, gen):
        sim = w.sim
        if sim is None:
            w._post("state_error", ("open", "the graph could not be built", []))
            return
        before = sim.snapshot() if not self.note else None
        try:
            report = sim.load_state(path, params="graph")
        except (OSError, ValueError) as exc:   # StateError is a ValueError
            if before is not None and _changed(sim, before):   # a half-done load: undone
                sim.restore(before)
            w._post("state_error", ("open", _text(exc), list(getattr(exc, "reasons", []))))
            return
        w._end_recording("a saved state was opened")
        w.running, w.limit = False, None
        w.gen = gen
        w._new_run()
        w._set_state("paused", force=True)
        w._post("state_loaded", report)


def _changed(sim, before) -> bool:
    """Whether ``sim`` is no longer at snapshot ``before`` (its step, seed or state)."""
    now = sim.snapshot()
    return now.t != before.t or now.seed != before.seed or \
        now.packed.tobytes() != before.packed.tobytes()


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
