"""The timeline dock: the snapshots the worker keeps while running (rewind.py), drawn and listed
by branch, with Jump back, Branch here and Discard branch, and the snapshot settings (every how
much simulated time, within how much memory) with the memory in use.

``TimelineView`` draws one lane per branch along simulated time: a dot per snapshot, a branch
starting from its parent's lane where it forks, a marker where the simulation is now. A click
selects the nearest snapshot, a double click jumps to it. ``TimelineDock`` holds the view, the
list and the controls; ``Rewinder`` ties them to the RunController: it sends the worker its
commands and handles the "timeline" and "jumped" messages.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QDoubleSpinBox, QHBoxLayout,
                               QHeaderView,
                               QLabel, QProgressBar, QPushButton, QSpinBox, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from .rewind import DEFAULT_BUDGET_MB, DEFAULT_INTERVAL_MS, MAX_BUDGET_MB, Timeline

SHOW_EVERY_MS = 250
ASK_EVERY_MS = 200
LANE_COLOURS = ["#3b82c4", "#d9822b", "#3a9d5d", "#b5489b", "#8c6d3f", "#c0392b", "#5d6d7e"]


def lane_colour(branch: int) -> QColor:
    return QColor(LANE_COLOURS[(branch - 1) % len(LANE_COLOURS)])


def show_bytes(n: int) -> str:
    if n < 1 << 20:
        return f"{n / 1024:.1f} KiB"
    if n < 1 << 30:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n / (1 << 30):.2f} GiB"


def show_time(ms: float) -> str:
    return f"{ms:,.0f} ms" if abs(ms) < 10_000 else f"{ms / 1000:,.2f} s"


class TimelineView(QWidget):
    """The drawing; see the module docstring. ``selected`` (snapshot id) is emitted on a click,
    ``activated`` on a double click."""

    selected = Signal(int)
    activated = Signal(int)

    PAD_X, LANE_H, TOP = 28, 26, 22

    def __init__(self, parent=None):
        super().__init__(parent)
        self.timeline = Timeline()
        self.selection: int | None = None
        self._lanes: list[int] = [1]            # branches, top to bottom
        self._lo, self._hi = 0.0, 1.0           # the time span drawn (ms)
        self._tms = np.zeros(0)
        self._br = np.zeros(0, np.int64)
        self._ids = np.zeros(0, np.int64)
        self.setMinimumHeight(self.TOP + self.LANE_H + 12)
        self.setMouseTracking(False)

    def sizeHint(self) -> QSize:
        return QSize(600, self.TOP + self.LANE_H * max(1, len(self._lanes)) + 14)

    def set_timeline(self, tl: Timeline) -> None:
        self.timeline = tl
        if self.selection is not None and all(m.id != self.selection for m in tl.marks):
            self.selection = None
        # arrays of the marks' times, branches and ids (drawing thousands stays cheap)
        self._tms = np.fromiter((m.time_ms for m in tl.marks), float, len(tl.marks))
        self._br = np.fromiter((m.branch for m in tl.marks), np.int64, len(tl.marks))
        self._ids = np.fromiter((m.id for m in tl.marks), np.int64, len(tl.marks))
        self._lanes = sorted(set(np.unique(self._br).tolist()) | {tl.branch})
        times = [tl.time_ms] + [f[1] for f in tl.forks.values()]
        if tl.marks:
            times += [float(self._tms.min()), float(self._tms.max())]
        self._lo, self._hi = min(times), max(times)
        if self._hi - self._lo < 1e-9:
            self._hi = self._lo + max(tl.interval_ms, 1.0)
        self.setMinimumHeight(self.TOP + self.LANE_H * max(1, len(self._lanes)) + 14)
        self.update()

    def branches(self) -> list[int]:
        return list(self._lanes)

    def _span(self) -> tuple[float, float]:
        return self._lo, self._hi

    def _x(self, ms: float) -> float:
        width = max(10.0, self.width() - 2 * self.PAD_X)
        return self.PAD_X + (ms - self._lo) / (self._hi - self._lo) * width

    def _y(self, branch: int) -> float:
        return self.TOP + self.LANE_H * (self._lanes.index(branch) + 0.5)

    def mark_at(self, pos: QPointF, radius: float = 10.0) -> int | None:
        """The id of the snapshot drawn nearest ``pos`` (within ``radius`` px), or None."""
        if not self._ids.size:
            return None
        ys = self.TOP + self.LANE_H * (np.searchsorted(self._lanes, self._br) + 0.5)
        d = np.hypot(self._x(self._tms) - pos.x(), ys - pos.y())
        i = int(np.argmin(d))
        return int(self._ids[i]) if d[i] <= radius else None

    def mousePressEvent(self, ev):
        sid = self.mark_at(ev.position())
        if sid is not None:
            self.selection = sid
            self.update()
            self.selected.emit(sid)

    def mouseDoubleClickEvent(self, ev):
        sid = self.mark_at(ev.position())
        if sid is not None:
            self.activated.emit(sid)

    def paintEvent(self, _ev):
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        tl = self.timeline
        text = pal.text().color()
        dim = QColor(text)
        dim.setAlpha(110)
        lo, hi = self._span()
        self._axis(p, lo, hi, dim)
        for b in self._lanes:
            y, col = self._y(b), lane_colour(b)
            parent, fork_ms = tl.forks.get(b, (0, lo))
            mine = self._tms[self._br == b]
            first, last = (float(mine.min()), float(mine.max())) if mine.size \
                else (fork_ms, fork_ms)
            start = fork_ms if parent else min(fork_ms, first)
            end = max([last, start] + ([tl.time_ms] if b == tl.branch else []))
            pen = QPen(col, 3 if b == tl.branch else 2)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            if parent and parent in self._lanes:       # the fork, from the parent's lane
                path = QPainterPath(QPointF(self._x(fork_ms), self._y(parent)))
                path.cubicTo(QPointF(self._x(fork_ms), y), QPointF(self._x(fork_ms), y),
                             QPointF(self._x(fork_ms) + 6, y))
                p.setPen(QPen(pal.base().color(), 7))   # it passes over the lanes between
                p.drawPath(path)
                p.setPen(pen)
                p.drawPath(path)
            p.drawLine(QPointF(self._x(start), y), QPointF(self._x(end), y))
            p.setPen(dim if b != tl.branch else text)
            f = QFont(self.font())
            f.setPointSizeF(f.pointSizeF() * 0.85)
            f.setBold(b == tl.branch)
            p.setFont(f)
            p.drawText(QRectF(0, y - 9, self.PAD_X - 4, 18),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{b}")
        # dots as large as their spacing allows (4.5 px at most, 2 at least); of the dots
        # that would overlap, one is drawn (thousands of snapshots cost a few hundred dots)
        xs = self._x(self._tms)
        steps = np.diff(xs)[(np.diff(self._br) == 0) & (np.diff(xs) > 0)]
        r = max(2.0, min(4.5, float(steps.min()) / 2.6 if steps.size else 4.5))
        keys = self._br * 1_000_000 + (xs / (2 * r + 1)).astype(np.int64)
        shown = set(np.unique(keys, return_index=True)[1].tolist())
        shown |= set(np.flatnonzero(self._ids == (self.selection or -1)).tolist())
        lanes = {b: (self._y(b), lane_colour(b)) for b in self._lanes}
        edge = QPen(pal.base().color(), 1.0 if r < 3.5 else 1.5)
        for i in sorted(shown):
            x, (y, col) = float(xs[i]), lanes[int(self._br[i])]
            p.setPen(edge)
            p.setBrush(col)
            p.drawEllipse(QPointF(x, y), r, r)
            if int(self._ids[i]) == self.selection:
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.setPen(QPen(text, 2))
                p.drawEllipse(QPointF(x, y), 8, 8)
        if tl.branch in self._lanes:   # where the simulation is now
            x, y = self._x(tl.time_ms), self._y(tl.branch)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(text)
            p.drawPolygon(QPolygonF([QPointF(x - 5, y - 13), QPointF(x + 5, y - 13),
                                     QPointF(x, y - 6)]))
        p.end()

    def _axis(self, p, lo, hi, colour):
        p.setPen(QPen(colour, 1))
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 0.8)
        p.setFont(f)
        step = _nice_step((hi - lo) / max(2, self.width() // 110))
        k = int(lo // step)
        while k * step <= hi + 1e-9:
            t = k * step
            if t >= lo - 1e-9:
                x = self._x(t)
                p.drawLine(QPointF(x, self.TOP - 6), QPointF(x, self.height() - 4))
                label = f"{t / 1000:g} s" if step >= 1000 else f"{t:g} ms"
                p.drawText(QRectF(x - 50, 2, 100, 14), Qt.AlignmentFlag.AlignCenter, label)
            k += 1


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    import math
    e = 10 ** math.floor(math.log10(max(raw, 1e-9)))
    for f in (1, 2, 5, 10):
        if f * e >= raw:
            return f * e
    return 10 * e


class TimelineDock(QDockWidget):
    """The dock: view, list, buttons and settings (see the module docstring)."""

    def __init__(self, parent=None):
        super().__init__("Timeline", parent)
        self.setObjectName("timeline_dock")
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 4, 6, 6)
        lay.setSpacing(4)
        self.view = TimelineView()
        lay.addWidget(self.view, 2)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Snapshot", "step", "size"])
        self.tree.setRootIsDecorated(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)   # thousands of rows stay cheap
        head = self.tree.header()
        head.setStretchLastSection(False)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        metrics = self.tree.fontMetrics()      # fixed widths: measuring every row is slow
        for c, sample in ((1, "00,000,000,000"), (2, "000.0 KiB")):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.Fixed)
            head.resizeSection(c, metrics.horizontalAdvance(sample) + 16)
        lay.addWidget(self.tree, 3)
        row = QHBoxLayout()
        self.jump_button = QPushButton("Jump back")
        self.jump_button.setToolTip("Put the simulation back to the selected snapshot (Run goes "
                                    "on from there; this branch's later snapshots are replaced)")
        self.branch_button = QPushButton("Branch here")
        self.branch_button.setToolTip("Jump back and start a new branch: edit parameters and "
                                      "Run; the old branch stays listed until discarded")
        self.discard_button = QPushButton("Discard branch")
        self.discard_button.setToolTip("Forget the selected branch's snapshots")
        for b in (self.jump_button, self.branch_button, self.discard_button):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(QLabel("Snapshot every"))
        self.interval_box = QDoubleSpinBox()
        self.interval_box.setRange(0.001, 3600.0)
        self.interval_box.setDecimals(3)
        self.interval_box.setSuffix(" s")
        self.interval_box.setValue(DEFAULT_INTERVAL_MS / 1000.0)
        self.interval_box.setToolTip("Simulated time between two snapshots")
        row.addWidget(self.interval_box)
        row.addWidget(QLabel("within"))
        self.budget_box = QSpinBox()
        self.budget_box.setRange(1, MAX_BUDGET_MB)
        self.budget_box.setSuffix(" MiB")
        self.budget_box.setValue(DEFAULT_BUDGET_MB)
        self.budget_box.setToolTip("Memory for the snapshots: the oldest are dropped to stay "
                                   "within it")
        row.addWidget(self.budget_box)
        row.addStretch(1)
        lay.addLayout(row)
        self.usage_bar = QProgressBar()
        self.usage_bar.setRange(0, 1000)
        self.usage_bar.setTextVisible(True)
        lay.addWidget(self.usage_bar)
        self.setWidget(body)
        self.timeline = Timeline()
        self._filling = False
        self._tops: dict[int, QTreeWidgetItem] = {}     # branch -> its row
        self._items: dict[int, QTreeWidgetItem] = {}    # snapshot id -> its row
        self.view.selected.connect(self.select)
        self.tree.itemSelectionChanged.connect(self._tree_selected)
        self.show_timeline(Timeline())

    # --- showing ----------------------------------------------------------------------------
    def show_timeline(self, tl: Timeline) -> None:
        self.timeline = tl
        self.view.set_timeline(tl)
        self._filling = True
        self.tree.setUpdatesEnabled(False)
        try:
            self._fill_tree(tl)
        finally:
            self.tree.setUpdatesEnabled(True)
            self._filling = False
        self._show_settings(tl)
        used, budget = tl.used, max(tl.budget, 1)
        self.usage_bar.setValue(int(1000 * min(used / budget, 1.0)))
        self.usage_bar.setFormat(f"{len(tl.marks)} snapshot{'s' if len(tl.marks) != 1 else ''}"
                                 f": {show_bytes(used)} of {show_bytes(tl.budget)}"
                                 + (f" ({tl.dropped} oldest dropped)" if tl.dropped else ""))
        if tl.need:
            self.usage_bar.setFormat(f"The budget is too small: one snapshot needs "
                                     f"{show_bytes(tl.need)}")
        if tl.note:
            self.usage_bar.setFormat(tl.note[:1].upper() + tl.note[1:])
        self.usage_bar.setToolTip(tl.note or "Memory the snapshots use, of the budget")
        self._enable()

    def _fill_tree(self, tl: Timeline) -> None:
        """Bring the list up to date: only the rows that came or went change (thousands of
        snapshots are listed without rebuilding the list at every one)."""
        by_branch: dict[int, list] = {}
        for m in tl.marks:
            by_branch.setdefault(m.branch, []).append(m)
        branches = sorted(set(by_branch) | {tl.branch})
        ids = {m.id for m in tl.marks}
        for sid in [i for i in self._items if i not in ids]:
            item = self._items.pop(sid)
            item.parent().removeChild(item)
        for b in [b for b in self._tops if b not in branches]:
            top = self._tops.pop(b)
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(top))
        for b in branches:
            top = self._tops.get(b)
            if top is None:
                top = QTreeWidgetItem()
                top.setData(0, Qt.ItemDataRole.UserRole, ("branch", b))
                top.setForeground(0, lane_colour(b))
                self._tops[b] = top
                self.tree.insertTopLevelItem(sorted(self._tops).index(b), top)
                top.setExpanded(True)
            parent, fork = tl.forks.get(b, (0, 0.0))
            top.setText(0, f"Branch {b}" + (f" (from branch {parent} at {show_time(fork)})"
                                            if parent else "")
                        + ("  ◀ running here" if b == tl.branch else ""))
            top.setText(2, show_bytes(sum(m.nbytes for m in by_branch.get(b, []))))
            f = top.font(0)
            f.setBold(b == tl.branch)
            top.setFont(0, f)
            for m in by_branch.get(b, []):
                if m.id in self._items:
                    continue
                item = QTreeWidgetItem([f"t = {show_time(m.time_ms)}", f"{m.t:,}",
                                        show_bytes(m.nbytes)])
                item.setData(0, Qt.ItemDataRole.UserRole, ("snap", m.id))
                self._items[m.id] = item
                at = top.childCount()     # in time order (new ones are nearly always last)
                while at > 0 and self._step_of(top.child(at - 1)) > m.t:
                    at -= 1
                top.insertChild(at, item)

    @staticmethod
    def _step_of(item) -> int:
        return int(item.text(1).replace(",", ""))

    def _show_settings(self, tl: Timeline) -> None:
        """The boxes follow settings made elsewhere (a script); whole MiB only."""
        for box, value in ((self.interval_box, tl.interval_ms / 1000.0),
                           (self.budget_box, tl.budget / (1 << 20))):
            if abs(box.value() - value) > 1e-9 and (box is self.interval_box
                                                    or float(value).is_integer()):
                box.blockSignals(True)
                box.setValue(value if box is self.interval_box else int(value))
                box.blockSignals(False)

    def selected_id(self) -> int | None:
        items = self.tree.selectedItems()
        data = items[0].data(0, Qt.ItemDataRole.UserRole) if items else None
        return data[1] if data and data[0] == "snap" else None

    def selected_branch(self) -> int | None:
        items = self.tree.selectedItems()
        data = items[0].data(0, Qt.ItemDataRole.UserRole) if items else None
        if not data:
            return None
        if data[0] == "branch":
            return data[1]
        return next((m.branch for m in self.timeline.marks if m.id == data[1]), None)

    def select(self, sid: int) -> None:
        """Select snapshot ``sid`` in the list and the drawing."""
        item = self._items.get(sid)
        if item is not None:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)

    def _tree_selected(self):
        if self._filling:
            return
        self.view.selection = self.selected_id()
        self.view.update()
        self._enable()

    def _enable(self):
        sid = self.selected_id()
        self.jump_button.setEnabled(sid is not None)
        self.branch_button.setEnabled(sid is not None)
        b = self.selected_branch()
        self.discard_button.setEnabled(b is not None and b != self.timeline.branch)


class Rewinder:
    """Glue between the dock and the RunController (``ctl``): settings go to the worker, the
    buttons become commands, the worker's "timeline" and "jumped" messages are shown."""

    def __init__(self, ctl, dock: TimelineDock, settings=None):
        self.ctl, self.dock, self.settings = ctl, dock, settings
        self.timeline = Timeline()
        self.last_jump = None    # (t, time ms, branch, parameter differences), for tests
        # the dock is redrawn at most every SHOW_EVERY_MS (a fast run takes dozens of
        # snapshots a second), and only while it is open
        self._timer = QTimer(dock)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SHOW_EVERY_MS)
        self._timer.timeout.connect(self.refresh)
        dock.visibilityChanged.connect(lambda shown: shown and self.refresh())
        # the worker's timeline is asked for every ASK_EVERY_MS while a model runs or is
        # paused (one request at a time)
        self._asked = False
        self._poll = QTimer(dock)
        self._poll.setInterval(ASK_EVERY_MS)
        self._poll.timeout.connect(self.ask)
        self._poll.start()
        if settings is not None:
            try:   # (a value edited by hand that is no number: the defaults)
                ms = float(settings.value("rewind/interval_ms", DEFAULT_INTERVAL_MS))
                mb = int(float(settings.value("rewind/budget_mb", DEFAULT_BUDGET_MB)))
            except (TypeError, ValueError):
                ms, mb = DEFAULT_INTERVAL_MS, DEFAULT_BUDGET_MB
            dock.interval_box.setValue(ms / 1000.0)   # (the boxes keep them in range)
            dock.budget_box.setValue(mb)
        dock.interval_box.valueChanged.connect(lambda _v: self.apply_settings(remember=True))
        dock.budget_box.valueChanged.connect(lambda _v: self.apply_settings(remember=True))
        dock.jump_button.clicked.connect(lambda: self.jump(dock.selected_id()))
        dock.branch_button.clicked.connect(lambda: self.branch(dock.selected_id()))
        dock.discard_button.clicked.connect(lambda: self.discard(dock.selected_branch()))
        dock.view.activated.connect(self.jump)
        dock.tree.itemDoubleClicked.connect(lambda *_: self.jump(dock.selected_id()))
        self.apply_settings()

    def set_settings(self, interval_ms: float, budget_mb: float) -> None:
        """Every ``interval_ms`` of simulated time, within ``budget_mb`` MiB (scripts, tests:
        the budget may be a fraction)."""
        self.ctl.worker.send("snap_settings", float(interval_ms), int(budget_mb * (1 << 20)))

    def apply_settings(self, remember: bool = False) -> None:
        """Send the dock's settings to the worker (``remember``: and keep them for the next
        session)."""
        ms, mb = self.dock.interval_box.value() * 1000.0, self.dock.budget_box.value()
        if remember and self.settings is not None:
            self.settings.setValue("rewind/interval_ms", ms)
            self.settings.setValue("rewind/budget_mb", mb)
        self.set_settings(ms, mb)

    def _can_jump(self, sid) -> bool:
        ctl = self.ctl
        if sid is None:
            return False
        if ctl.state in ("idle", "error") or ctl.dirty or ctl._needs_rebuild:
            ctl.window.status("Cannot jump back: the snapshots belong to a model that is no "
                              "longer running (rebuild and run to take new ones)")
            return False
        return True

    def jump(self, sid) -> None:
        """Back to snapshot ``sid``; Run goes on from there (paused meanwhile)."""
        if self._can_jump(sid):
            self.ctl.worker.send("jump", int(sid), self.ctl._next_run())

    def branch(self, sid) -> None:
        """Back to snapshot ``sid`` on a new branch (the current one is kept)."""
        if self._can_jump(sid):
            self.ctl.worker.send("branch", int(sid), self.ctl._next_run())

    def discard(self, branch) -> None:
        if branch is not None:
            self.ctl.worker.send("discard", int(branch))

    # --- worker messages ----------------------------------------------------------------------
    def ask(self) -> None:
        if self.ctl.state != "idle" and not self._asked:
            self._asked = True
            self.ctl.worker.send("timeline")

    def on_timeline(self, tl: Timeline) -> None:
        self.timeline = tl
        self._asked = False
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        """Show the latest timeline in the dock (when it is open). The next update waits at
        least ten times what this one took (the GUI keeps 90 % of its time)."""
        if not self.dock.isHidden() and self.dock.timeline is not self.timeline:
            t0 = time.perf_counter()
            self.dock.show_timeline(self.timeline)
            spent_ms = (time.perf_counter() - t0) * 1000.0
            self._timer.setInterval(int(max(SHOW_EVERY_MS, 10 * spent_ms)))

    def on_jumped(self, payload) -> None:
        t, ms, branch, diffs = payload
        self.last_jump = payload
        text = f"Back at t = {show_time(ms)} (step {t:,}) on branch {branch}: Run goes on from here"
        if diffs:
            text += "; parameters now differ from then: " + "; ".join(diffs)
        self.ctl.window.status(text)
