"""Work around the reference-count bug of PySide6 6.12.0 on Python 3.11.

Its wheels (abi3) return ``None`` from every void method and ``True`` from ``Signal.emit``
without taking a reference, as if those objects were immortal (they are from Python 3.12 on, so
there the bug is harmless). On 3.11 each such call takes one reference away; after a few thousand
calls (pyqtgraph makes dozens per redraw) the interpreter aborts with "Fatal Python error:
none_dealloc" or "bool_dealloc".

``apply()`` checks whether this PySide6 has the bug and, only then, gives None, True and False a
reference count so large (2**40) that no run can exhaust it, which is what Python 3.12 does by
making them immortal. These singletons are never freed anyway, so nothing else changes. Call it
once, as early as possible (before building widgets); it is idempotent.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

PIN = 1 << 40
_applied = False


class _Probe(QObject):
    fired = Signal()


def leaks() -> bool:
    """True when void PySide6 calls or Signal.emit lose references to None/True."""
    p = _Probe()
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(32):
        p.setObjectName("probe")   # a void method
        p.fired.emit()
    none_lost = none0 - sys.getrefcount(None)
    true_lost = true0 - sys.getrefcount(True)
    return none_lost >= 24 or true_lost >= 24


def _pin(obj) -> None:
    # CPython (non-debug build): the reference count is the first word of the object
    ctypes.c_ssize_t.from_address(id(obj)).value += PIN


def apply() -> bool:
    """Install the workaround when this PySide6 needs it; return whether it is in place."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or not leaks():
        return False
    for obj in (None, True, False):
        _pin(obj)
    _applied = True
    return True
