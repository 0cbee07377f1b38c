"""The one workaround for PySide6 6.12.0's reference-count bug on CPython < 3.12.

The bug: PySide6 6.12.0's abi3 wheels hand ``None`` back from every void Qt method and ``True``
back from ``Signal.emit`` *without taking a reference*, as if
those objects were immortal. From Python 3.12 on they are (PEP 683), so there the bug is
harmless. On 3.11 each such call takes one reference away: ``label.setText("x")`` lowers
``sys.getrefcount(None)`` by one. None starts with a few thousand references, and pyqtgraph
makes dozens of void calls per redraw, so after seconds of a live run the interpreter aborts
with "Fatal Python error: none_dealloc" (or ``bool_dealloc``).

The mechanism: ``apply()`` first *measures* whether this PySide6 leaks (``leaks()``: 32 void
calls and 32 emits on a throw-away QObject, comparing the reference counts before and after).
Only when it does, and only on CPython < 3.12, it adds ``PIN`` (2**40) to the reference counts
of None, True and False (False too: it is the same kind of singleton, and any Qt call returning
a bool without a reference would take it down the same way). No program makes 2**40 calls, and these three singletons are never
freed anyway, so this is what Python 3.12 does by making them immortal. Nothing else changes.

Importing this module applies it (once: later imports and calls are no-ops). Every entry point
of the app imports it before creating any widget: ``app/__init__.py``, ``app/main.py``,
``app/main_window.py`` and ``app/run/__init__.py`` (the last three because an old editable
install may load ``app`` as a namespace package, which skips ``__init__.py``).
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

PIN = 1 << 40        # references added to None, True and False when the bug is present
PROBE_CALLS = 32
SINGLETONS = (None, True, False)

_applied = False


class _Probe(QObject):
    fired = Signal()


def leaks() -> bool:
    """True when void PySide6 calls or ``Signal.emit`` lose references to None/True/False."""
    probe = _Probe()
    before = [sys.getrefcount(o) for o in SINGLETONS]
    for _ in range(PROBE_CALLS):
        probe.setObjectName("probe")  # a void method: returns None
        probe.fired.emit()            # returns True
    after = [sys.getrefcount(o) for o in SINGLETONS]
    # other code may take or drop a few references meanwhile: demand most of the calls to leak
    return any(b - a >= PROBE_CALLS * 3 // 4 for b, a in zip(before, after))


def needed() -> bool:
    """Whether this interpreter and this PySide6 need the workaround."""
    return (sys.implementation.name == "cpython" and sys.version_info < (3, 12)
            and leaks())


def applied() -> bool:
    """Whether the workaround is in place in this process."""
    return _applied


def _pin(obj) -> None:
    # CPython (3.11, non-debug build): the reference count is the first word of every object
    ctypes.c_ssize_t.from_address(id(obj)).value += PIN


def apply() -> bool:
    """Install the workaround when this PySide6 needs it (once); return whether it is in place."""
    global _applied
    if _applied:
        return True
    if not needed():
        return False
    for obj in SINGLETONS:
        _pin(obj)
    _applied = True
    return True


apply()
