"""Drawing frames into the monitors and the pool rate badges, paced to what the GUI can afford.

Frames are drawn when the worker signals one (if the last draw is old enough) and by a steady
timer otherwise. Each monitor draws inside its own guard: one that fails shows its error in its
own panel and the others, and the badges, go on.
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

    def start(self) -> None:
        if not self.timer.isActive():
            self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick_at = 0.0

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
        frame = self.mailbox.take()
        if frame is None or frame.get("gen") != self.gen():
            return    # nothing new, or a frame of a run that was reset or stopped since
        t0 = time.perf_counter()
        self._last_draw = t0
        for m in list(self.monitors()):
            try:    # (a monitor that failed in this run skips its frames: Monitor.update_frame)
                m.update_frame(frame)
            except Exception as exc:
                m.gen = frame.get("gen")
                m.show_error(f"{type(exc).__name__}: {exc}")
                traceback.print_exc()
        try:
            self.update_badges(frame)
        except Exception:
            traceback.print_exc()
        self.frames_drawn += 1
        self.draw_seconds += time.perf_counter() - t0

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
