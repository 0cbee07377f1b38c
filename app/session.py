"""Where the app keeps its settings and recovery files.

Settings are QSettings of organisation "Spark", application "Spark". Setting the environment
variable ``SPARK_SETTINGS_DIR`` puts them (as an INI file) and the recovery folder under that
directory instead: the tests use it so they never touch a user's settings. Otherwise recovery
files live in the platform's app-data folder under ``recovery/``.

A recovery file is JSON: ``{"spark-recovery": 1, "pid": ..., "path": original file or null,
"saved_at": unix time, "graph": <graph file dict>}``, written atomically every
``AUTOSAVE_SECONDS`` while there are unsaved changes, and removed on save or a clean exit. One
left behind by a process that is no longer running is offered back at the next start.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from PySide6 import QtCore

from spark_snn.engine import GraphError, jsontext

ORG = "Spark"
APP = "Spark"
AUTOSAVE_SECONDS = 30
RECENT_MAX = 10


def settings() -> QtCore.QSettings:
    """The app's QSettings (an INI file under SPARK_SETTINGS_DIR when that is set)."""
    base = os.environ.get("SPARK_SETTINGS_DIR")
    if base:
        return QtCore.QSettings(str(Path(base) / "spark.ini"), QtCore.QSettings.IniFormat)
    return QtCore.QSettings(ORG, APP)


def recovery_dir() -> Path:
    base = os.environ.get("SPARK_SETTINGS_DIR")
    if base:
        d = Path(base) / "recovery"
    else:
        loc = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.AppLocalDataLocation)
        d = Path(loc or Path.home() / ".spark") / "recovery"
    d.mkdir(parents=True, exist_ok=True)
    return d


def recent_files() -> list[str]:
    value = settings().value("recent", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])]


def add_recent(path: str) -> list[str]:
    path = str(Path(path).resolve())
    items = [p for p in recent_files() if p != path]
    items.insert(0, path)
    items = items[:RECENT_MAX]
    s = settings()
    s.setValue("recent", items)
    s.sync()
    return items


def last_folder() -> str | None:
    """The folder of the last file the user opened, saved or exported (None at first)."""
    value = settings().value("files/last_folder")
    return str(value) if value and Path(str(value)).is_dir() else None


def remember_folder(path: str) -> None:
    """Remember the folder of ``path`` (a file) for the next file dialog."""
    s = settings()
    s.setValue("files/last_folder", str(Path(path).resolve().parent))
    s.sync()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class Recovery:
    """Writes this session's recovery file and finds those of crashed sessions."""

    def __init__(self):
        self.dir = recovery_dir()
        self.path = self.dir / f"spark-{os.getpid()}-{int(time.time() * 1000)}.json"
        self._last_text: str | None = None

    def write(self, graph_dict: dict, original: str | None) -> bool:
        """Write the recovery file; False when nothing changed since the last write."""
        text = json.dumps({"spark-recovery": 1, "pid": os.getpid(), "path": original,
                           "saved_at": time.time(), "graph": graph_dict}, indent=1)
        key = json.dumps([original, graph_dict], sort_keys=True)
        if key == self._last_text:
            return False
        fd, tmp = tempfile.mkstemp(prefix=".recovery.", dir=str(self.dir))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, self.path)
        self._last_text = key
        return True

    def clear(self) -> None:
        self._last_text = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def orphans(self) -> list[tuple[Path, dict]]:
        """Recovery files left by sessions that are no longer running (newest first)."""
        out = []
        for f in sorted(self.dir.glob("spark-*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
            if f == self.path:
                continue
            try:  # written by Spark, but read as any file is: bounded, no recursion
                data = jsontext.parse(jsontext.read_text(f))
            except GraphError:
                continue
            if not isinstance(data, dict) or data.get("spark-recovery") != 1:
                continue
            pid = data.get("pid")
            if isinstance(pid, int) and _alive(pid) and pid != os.getpid():
                continue
            out.append((f, data))
        return out
