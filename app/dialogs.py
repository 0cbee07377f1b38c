"""File dialogs that start where the user last was.

Every file dialog of the app (Open, Save As, a monitor's Export, Record) starts in the folder
of the last file the user opened, saved or exported (``session.last_folder``, kept between
runs), not in the home folder or wherever the app was started from, and remembers the folder
of the file chosen.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from . import session


def start_path(name: str = "", fallback: str | None = None) -> str:
    """``name`` in the last folder used (else in ``fallback``, else the home folder)."""
    folder = session.last_folder() or fallback or str(Path.home())
    return str(Path(folder) / name) if name else folder


def save_file_name(parent, caption: str, name: str, filters: str, start: str | None = None) -> str:
    """Ask where to save; ``start`` (a full path) overrides the last folder. "" when cancelled."""
    path, _ = QtWidgets.QFileDialog.getSaveFileName(parent, caption, start or start_path(name),
                                                    filters)
    if path:
        session.remember_folder(path)
    return path


def open_file_name(parent, caption: str, filters: str, start: str | None = None) -> str:
    """Ask which file to open, starting in ``start`` or the last folder. "" when cancelled."""
    path, _ = QtWidgets.QFileDialog.getOpenFileName(parent, caption, start or start_path(),
                                                    filters)
    if path:
        session.remember_folder(path)
    return path
