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

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QDoubleSpinBox, QHBoxLayout,
                               QHeaderView,
                               QLabel, QProgressBar, QPushButton, QSpinBox, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from .rewind import DEFAULT_BUDGET_MB, DEFAULT_INTERVAL_MS, MAX_BUDGET_MB, Timeline

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
        self.setMinimumHeight(self.TOP + self.LANE_H + 12)
        self.setMouseTracking(False)

    def sizeHint(self) -> QSize:
        return QSize(600, self.TOP + self.LANE_H * max(1, len(self.branches())) + 14)

    def set_timeline(self, tl: Timeline) -> None:
        self.timeline = tl
        if self.selection is not None and all(m.id != self.selection for m in tl.marks):
            self.selection = None
        self.setMinimumHeight(self.TOP + self.LANE_H * max(1, len(self.branches())) + 14)
        self.update()

    def branches(self) -> list[int]:
        tl = self.timeline
        return sorted({m.branch for m in tl.marks} | {tl.branch})

    def _span(self) -> tuple[float, float]:
        tl = self.timeline
        times = [m.time_ms for m in tl.marks] + [tl.time_ms] + [f[1] for f in tl.forks.values()]
        lo, hi = min(times), max(times)
        if hi - lo < 1e-9:
            hi = lo + max(tl.interval_ms, 1.0)
        return lo, hi

    def _x(self, ms: float) -> float:
        lo, hi = self._span()
        width = max(10.0, self.width() - 2 * self.PAD_X)
        return self.PAD_X + (ms - lo) / (hi - lo) * width

    def _y(self, branch: int) -> float:
        return self.TOP + self.LANE_H * (self.branches().index(branch) + 0.5)

    def mark_at(self, pos: QPointF, radius: float = 10.0) -> int | None:
        best, best_d = None, radius
        for m in self.timeline.marks:
            d = ((self._x(m.time_ms) - pos.x()) ** 2 + (self._y(m.branch) - pos.y()) ** 2) ** .5
            if d <= best_d:
                best, best_d = m.id, d
        return best

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
        marks_of: dict[int, list] = {}
        for m in tl.marks:
            marks_of.setdefault(m.branch, []).append(m)
        for b in self.branches():
            y, col = self._y(b), lane_colour(b)
            parent, fork_ms = tl.forks.get(b, (0, lo))
            start = fork_ms if parent else min([fork_ms] + [m.time_ms for m in marks_of.get(b, [])])
            end = max([m.time_ms for m in marks_of.get(b, [])] + [start]
                      + ([tl.time_ms] if b == tl.branch else []))
            pen = QPen(col, 3 if b == tl.branch else 2)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            if parent and parent in self.branches():       # the fork, from the parent's lane
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
        # dots as large as their spacing allows (4.5 px at most, 2 at least)
        gap = min([self._x(b.time_ms) - self._x(a.time_ms)
                   for a, b in zip(tl.marks, tl.marks[1:]) if b.branch == a.branch
                   and b.time_ms > a.time_ms] or [20.0])
        r = max(2.0, min(4.5, gap / 2.6))
        for m in tl.marks:
            x, y, col = self._x(m.time_ms), self._y(m.branch), lane_colour(m.branch)
            p.setPen(QPen(pal.base().color(), 1.0 if r < 3.5 else 1.5))
            p.setBrush(col)
            p.drawEllipse(QPointF(x, y), r, r)
            if m.id == self.selection:
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.setPen(QPen(text, 2))
                p.drawEllipse(QPointF(x, y), 8, 8)
        if tl.branch in self.branches():   # where the simulation is now
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
        head = self.tree.header()
        head.setStretchLastSection(False)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
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
        self.view.selected.connect(self.select)
        self.tree.itemSelectionChanged.connect(self._tree_selected)
        self.show_timeline(Timeline())

    # --- showing ----------------------------------------------------------------------------
    def show_timeline(self, tl: Timeline) -> None:
        self.timeline = tl
        self.view.set_timeline(tl)
        keep = self.selected_id()
        self._filling = True
        self.tree.clear()
        by_branch: dict[int, list] = {}
        for m in tl.marks:
            by_branch.setdefault(m.branch, []).append(m)
        for b in sorted(set(by_branch) | {tl.branch}):
            parent, fork = tl.forks.get(b, (0, 0.0))
            title = f"Branch {b}" + (f" (from branch {parent} at {show_time(fork)})"
                                     if parent else "") + ("  ◀ running here"
                                                           if b == tl.branch else "")
            top = QTreeWidgetItem([title, "", show_bytes(sum(m.nbytes
                                                             for m in by_branch.get(b, [])))])
            top.setData(0, Qt.ItemDataRole.UserRole, ("branch", b))
            top.setForeground(0, lane_colour(b))
            f = top.font(0)
            f.setBold(b == tl.branch)
            top.setFont(0, f)
            self.tree.addTopLevelItem(top)
            for m in sorted(by_branch.get(b, []), key=lambda m: m.t):
                item = QTreeWidgetItem([f"t = {show_time(m.time_ms)}", f"{m.t:,}",
                                        show_bytes(m.nbytes)])
                item.setData(0, Qt.ItemDataRole.UserRole, ("snap", m.id))
                top.addChild(item)
                if m.id == keep:
                    item.setSelected(True)
            top.setExpanded(True)
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
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                item = top.child(j)
                if item.data(0, Qt.ItemDataRole.UserRole) == ("snap", sid):
                    self.tree.setCurrentItem(item)
                    return

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
        if settings is not None:
            dock.interval_box.setValue(float(settings.value("rewind/interval_ms",
                                                            DEFAULT_INTERVAL_MS)) / 1000.0)
            dock.budget_box.setValue(int(settings.value("rewind/budget_mb", DEFAULT_BUDGET_MB)))
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
    def on_timeline(self, tl: Timeline) -> None:
        self.timeline = tl
        self.dock.show_timeline(tl)

    def on_jumped(self, payload) -> None:
        t, ms, branch, diffs = payload
        self.last_jump = payload
        text = f"Back at t = {show_time(ms)} (step {t:,}) on branch {branch}: Run goes on from here"
        if diffs:
            text += "; parameters now differ from then: " + "; ".join(diffs)
        self.ctl.window.status(text)
