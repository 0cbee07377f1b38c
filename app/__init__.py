"""Spark's desktop app (PySide6 + NodeGraphQt): the graph editor and, in app/run, the live run UI.

Only this package imports Qt; it edits an ``engine.Graph`` and never owns the model itself.
Importing it applies the PySide6 reference-count workaround (app/qtfix.py) before any widget
exists.
"""
from . import qtfix  # noqa: F401  (applies itself on import; see its docstring)
