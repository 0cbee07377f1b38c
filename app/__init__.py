"""Spark's desktop app (PySide6 + NodeGraphQt): the graph editor and, in app/run, the live run UI.

Only this package imports Qt; it edits an ``engine.Graph`` and never owns the model itself.

PySide6 6.12 on CPython 3.11 releases one reference to ``None`` too many on every call of a
Qt method that returns nothing (``label.setText(...)`` lowers ``sys.getrefcount(None)`` by one;
see tests/test_app_editor.py::test_none_refcount_guard). None starts with a few thousand
references, so an app that has made that many calls aborts with "Fatal Python error:
none_dealloc". From CPython 3.12 on, None is immortal and the bug is harmless; on 3.11 we give
None a practically endless reference count once, when the app package is imported.
"""
import ctypes as _ctypes
import sys as _sys

if _sys.version_info < (3, 12) and _sys.implementation.name == "cpython":
    _refcnt = _ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt, the first field of PyObject
    if _refcnt.value < (1 << 40):
        _refcnt.value += 1 << 50
