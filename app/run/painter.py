"""Drawing frames into the monitors and the pool rate badges, paced to what the GUI can afford.

Frames are drawn when the worker signals one (if the last draw is old enough) and by a steady
timer otherwise. Each monitor draws inside its own guard: one that fails shows its error in its
own panel and the others, and the badges, go on.

A frame is drawn in slices: the monitors take their turn in order, and once the slice's
estimated cost (each monitor's recent time to update plus the time its view took to paint)
passes ``SLICE_S`` the rest wait for the next pass of the event loop (a zero-time timer), so
the window repaints what changed and timers and input get their turn in between. Every monitor
draws every frame it is given; the next frame is taken from the mailbox only once all monitors
have drawn this one (the worker's frames merge there meanwhile), so no monitor misses data.
"""
from __future__ import annotations

import time
import traceback

from PySide6.QtCore import QObject, Qt, QTimer

from .monitors import paint_seconds

FRAME_INTERVAL_S = 1.0 / 25.0   # draw at most 25 frames per second ...
SLOWEST_FRAME_S = 0.25          # ... and at least 4 when drawing overloads the GUI thread
BUSY_HIGH = 0.4                 # share of the GUI thread's time spent drawing and painting
BUSY_LOW = 0.25                 # the plots (smoothed) above which frames are spaced out, and
                                # below which the interval shrinks back
BADGE_INTERVAL_S = 0.5          # pool rate badges: rates over half a second, 2 updates/s
SLICE_S = 0.008                 # estimated drawing and painting per pass of the event loop
FIRST_COST_S = 0.004            # the estimate for a monitor that has not drawn yet


class FramePainter(QObject):
    """Takes frames from the worker's mailbox and draws them (see the module docstring).

    ``monitors()`` gives the open monitors, ``gen()`` the current run's number (frames of
    another run are dropped), ``set_badge(node, text)`` writes a badge on the canvas."""

    def __init__(self, parent, mailbox, monitors, gen, set_badge):
        super().__init__(parent)
        self.mailbox, self.monitors, self.gen, self.set_badge = mailbox, monitors, gen, set_badge
        self.frames_drawn = 0
        self.draw_seconds = 0.0
        self.badges: dict[str, str] = {}
        self.badge_pools: tuple[str, ...] = ()   # the pools that show a rate badge
        self._badge_counts: dict[str, list] = {}
        self._last_badge = 0.0
        self._last_draw = 0.0
        self.frame_interval = FRAME_INTERVAL_S   # adapted to the GUI's load (see pace)
        self._tick_at = 0.0
        self._spent_at = 0.0
        self._busy = 0.0
        # a steady timer (not a restarted single-shot one) leaves other timers their turn;
        # precise: a coarse timer may fire up to 5 % of its interval late on purpose, which
        # ``pace`` would take for an overloaded event loop
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(int(FRAME_INTERVAL_S * 1000))
        self.timer.timeout.connect(self._on_timer)
        # a frame in progress: the monitors still to draw it (see the module docstring)
        self._frame: dict | None = None
        self._todo: list = []
        self._cost: dict[int, float] = {}     # id(monitor) -> recent update + paint seconds
        self._painted: dict[int, float] = {}  # id(monitor) -> its view's paint total then
        self._more = QTimer(self)             # the next slice, once the event loop had a pass
        self._more.setSingleShot(True)
        self._more.setInterval(0)
        self._more.timeout.connect(self._draw_slice)

    def start(self) -> None:
        if not self.timer.isActive():
            self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick_at = 0.0

    @property
    def drawing(self) -> bool:
        """Whether a frame is drawn in slices right now (some monitors have not drawn it)."""
        return self._frame is not None

    def on_frame_ready(self) -> None:
        if time.perf_counter() - self._last_draw >= self.frame_interval:
            self.draw()

    def _on_timer(self) -> None:
        self.pace()
        self.draw()

    def pace(self) -> None:
        """Adapt the frame interval to what drawing costs the GUI thread. Each timer tick
        measures the share of the wall time since the previous tick spent updating the plots
        and painting them (a slow machine, a CPU shared with the simulation, many monitors):
        above BUSY_HIGH frames are spaced out (up to 1/4 s apart), so that the event loop
        keeps time for input, menus and the canvas; below BUSY_LOW the interval shrinks back
        to 1/25 s. Lateness caused by something else (other programs) does not slow the plots
        down, since drawing less would not help."""
        now = time.perf_counter()
        spent = self.draw_seconds + paint_seconds()
        if self._tick_at:
            busy = (spent - self._spent_at) / max(now - self._tick_at, 1e-6)
            self._busy = 0.7 * self._busy + 0.3 * busy
            f = self.frame_interval
            if self._busy > BUSY_HIGH:
                f = min(SLOWEST_FRAME_S, f * 1.3)
            elif self._busy < BUSY_LOW:
                f = max(FRAME_INTERVAL_S, f / 1.15)
            if f != self.frame_interval:
                self.frame_interval = f
                self.timer.setInterval(int(round(f * 1000)))
        self._tick_at = now
        self._spent_at = spent

    def draw(self) -> None:
        """Take the next frame from the mailbox and draw it (its first slice now, the rest in
        later passes of the event loop); nothing while a frame is still being drawn."""
        if self._frame is not None:
            return
        frame = self.mailbox.take()
        if frame is None or frame.get("gen") != self.gen():
            return    # nothing new, or a frame of a run that was reset or stopped since
        t0 = time.perf_counter()
        self._last_draw = t0
        try:
            self.update_badges(frame)
        except Exception:
            traceback.print_exc()
        self._frame, self._todo = frame, list(self.monitors())
        open_now = {id(m) for m in self._todo}    # (forget the estimates of closed monitors)
        self._cost = {k: v for k, v in self._cost.items() if k in open_now}
        self._painted = {k: v for k, v in self._painted.items() if k in open_now}
        self.draw_seconds += time.perf_counter() - t0
        self._draw_slice()

    def _draw_slice(self) -> None:
        """Draw the frame in progress into monitors until the slice's estimated cost passes
        SLICE_S (at least one monitor); schedule the rest."""
        frame = self._frame
        if frame is None:
            return
        if frame.get("gen") != self.gen():    # the run was reset or stopped meanwhile
            self._frame, self._todo = None, []
            return
        t0 = time.perf_counter()
        open_now = {id(m) for m in self.monitors()}
        spent, drawn = 0.0, 0
        while self._todo:
            m = self._todo[0]
            if id(m) not in open_now:
                self._todo.pop(0)     # closed since the frame began
                continue
            cost = self._cost.get(id(m), FIRST_COST_S)
            if drawn and spent + cost > SLICE_S:
                break
            self._todo.pop(0)
            self._draw_one(m, frame)
            spent += cost
            drawn += 1
        if self._todo:
            self._more.start()
        else:
            self._frame = None
            self.frames_drawn += 1
        self.draw_seconds += time.perf_counter() - t0

    def _draw_one(self, m, frame) -> None:
        """``m.update_frame(frame)`` inside its guard; its cost estimate follows the time the
        update took plus the time its view spent painting since its previous update."""
        view = getattr(m, "layout_widget", None)
        painted = getattr(view, "paint_seconds", 0.0)
        t0 = time.perf_counter()
        try:    # (a monitor that failed in this run skips its frames: Monitor.update_frame)
            m.update_frame(frame)
        except Exception as exc:
            m.gen = frame.get("gen")
            m.show_error(f"{type(exc).__name__}: {exc}")
            traceback.print_exc()
        cost = time.perf_counter() - t0 + max(0.0, painted - self._painted.get(id(m), painted))
        self._painted[id(m)] = painted
        old = self._cost.get(id(m))
        self._cost[id(m)] = cost if old is None else 0.7 * old + 0.3 * cost

    def update_badges(self, frame) -> None:
        """Pool firing rates on the canvas, from the engine's in-scan spike counts. Counts are
        summed over ``BADGE_INTERVAL_S`` and only badges whose text changed are touched (the
        canvas draws them as opaque labels: a new text repaints the label and nothing else)."""
        for port, (c, n, size) in frame["counts"].items():
            acc = self._badge_counts.setdefault(port, [0, 0, size])
            acc[0] += c
            acc[1] += n
        now = time.perf_counter()
        if now - self._last_badge < BADGE_INTERVAL_S and not frame.get("final"):
            return    # (a run that pauses shows its rates at once, however short it was)
        self._last_badge = now
        dt = frame["dt"]
        pools = set(self.badge_pools)
        for port, (c, n, size) in self._badge_counts.items():
            node = port.rsplit(".", 1)[0]
            if n and node in pools:
                text = f"{c / (size * n * dt / 1000.0):.1f} Hz"
                if self.badges.get(node) != text:
                    self.badges[node] = text
                    self.set_badge(node, text)
        self._badge_counts = {}

    def rename_badge(self, old: str, new: str) -> None:
        if old in self.badges:
            self.badges[new] = self.badges.pop(old)

    def clear_badges(self) -> None:
        for node in list(self.badges):
            try:
                self.set_badge(node, "")
            except Exception:   # the node left the canvas already
                pass
        self.badges = {}
        self._badge_counts = {}
