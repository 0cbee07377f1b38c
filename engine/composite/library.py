"""Component library files, the user library folder, and definitions shipped by packages.

A library file is plain JSON holding definitions only::

    {"format": "spark-library", "version": 2, "definitions": [ ...as in a graph file... ]}

It shares the graph format's version number and migrations (engine/fileio.py).

The user library is every ``*.json`` library file in the library folders, scanned when the
registry is built (``engine.registry.registry()``; ``registry(refresh=True)`` scans again):
``SPARK_LIBRARY_PATH`` (folders separated by ``os.pathsep``) when set, else
``$SPARK_SETTINGS_DIR/components`` when that is set, else the per-user data folder
(``~/.local/share/Spark/components`` on Linux, ``%APPDATA%/Spark/components`` on Windows,
``~/Library/Application Support/Spark/components`` on macOS). ``set_library_dirs`` overrides
all of these (the editor's preferences).

Packages ship library files through the ``spark.components`` entry points: an entry point whose
object is a path (str, os.PathLike or an ``importlib.resources`` file), or a list of them, names
library files, e.g. ``my_columns = "my_package:LIBRARY"`` with
``LIBRARY = importlib.resources.files("my_package") / "columns.json"``.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..graph import FORMAT_VERSION, Graph
from ..problems import GraphError, Problem
from .model import Definition, definitions_from_list

LIBRARY_TAG = "spark-library"
_override: list[Path] | None = None


# --- files --------------------------------------------------------------------------------------
def library_dumps(definitions) -> str:
    """The text of a library file holding ``definitions`` (a dict or a list)."""
    items = definitions.values() if isinstance(definitions, dict) else definitions
    data = {"format": LIBRARY_TAG, "version": FORMAT_VERSION,
            "definitions": [d.to_dict() for d in items]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def save_library(path, definitions) -> None:
    """Write a library file atomically."""
    from ..fileio import write_atomic
    write_atomic(path, library_dumps(definitions))


def loads_library(text: str, source: str | None = None) -> list[Definition]:
    """Definitions from library-file text; GraphError listing every problem."""
    from ..fileio import migrate, parse_json
    data = migrate(parse_json(text, source, tag=LIBRARY_TAG), source)
    problems: list[Problem] = []
    for key in data:
        if key not in ("format", "version", "definitions"):
            problems.append(Problem(f"unknown top-level key '{key}' in a library file "
                                    "(expected format, version, definitions)"))
    defs = definitions_from_list(data.get("definitions", []), problems)
    if problems:
        raise GraphError(problems, source)
    return list(defs.values())


def load_library(path) -> list[Definition]:
    """Read a library file (a path or an importlib.resources file)."""
    from ..jsontext import read_text
    source = str(path)
    if hasattr(path, "read_text") and not isinstance(path, Path):  # importlib.resources
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GraphError([Problem(f"cannot read the file: {exc}")], source) from None
    else:
        text = read_text(path, source)
    return loads_library(text, source)


# --- folders ------------------------------------------------------------------------------------
def user_library_dir() -> Path:
    """The per-user library folder (see the module docstring)."""
    settings = os.environ.get("SPARK_SETTINGS_DIR")
    if settings:
        return Path(settings) / "components"
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "Spark" / "components"


def library_dirs() -> list[Path]:
    """The folders scanned for library files, in order (the first definition of a name wins)."""
    if _override is not None:
        return list(_override)
    env = os.environ.get("SPARK_LIBRARY_PATH")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [user_library_dir()]


def set_library_dirs(dirs) -> None:
    """Use ``dirs`` as the library folders (None: back to the environment/default); call
    ``engine.registry.registry(refresh=True)`` afterwards to rescan."""
    global _override
    _override = None if dirs is None else [Path(d) for d in dirs]


def scan_library(dirs=None) -> tuple[list[tuple[Definition, str]], list[str]]:
    """Every definition in the library files of ``dirs`` (default: ``library_dirs()``) with the
    file it came from, and the files that could not be read (one message each)."""
    found, errors = [], []
    for folder in library_dirs() if dirs is None else [Path(d) for d in dirs]:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            try:
                found += [(d, str(path)) for d in load_library(path)]
            except GraphError as exc:
                errors.append(str(exc))
    return found, errors


def entry_point_files(obj) -> list | None:
    """The library files an entry point's object names (None when it names none)."""
    items = obj if isinstance(obj, (list, tuple)) else [obj]
    if not items:
        return None
    ok = all(isinstance(i, (str, os.PathLike)) or (hasattr(i, "read_text") and hasattr(i, "name"))
             for i in items)
    return list(items) if ok else None


# --- library versus embedded copies -------------------------------------------------------------
@dataclass
class LibraryDifference:
    """A definition embedded in a graph that differs from the library's of the same name."""

    type_name: str
    origin: str             # the library file
    embedded: Definition
    library: Definition
    changes: list[str]      # what differs, one line each (library relative to embedded)

    def __str__(self) -> str:
        return (f"component '{self.type_name}' differs from the library's ({self.origin}): "
                + "; ".join(self.changes))


def library_differences(graph: Graph, reg=None) -> list[LibraryDifference]:
    """The graph's embedded definitions whose library version (same name) differs. The editor
    offers, for each, to keep the embedded copy or to take the library's (``take_from_library``)."""
    from ..registry import registry
    reg = reg or registry()
    out = []
    for name, d in graph.definitions.items():
        lib = reg.definitions.get(name)
        if lib is not None and lib != d:
            out.append(LibraryDifference(name, reg.definition_origin.get(name, "library"), d,
                                         lib, describe_changes(d, lib)))
    return out


def take_from_library(graph: Graph, names, reg=None) -> Graph:
    """The graph with its embedded definitions ``names`` replaced by the library's."""
    from ..registry import registry
    from .edit import update_definition
    reg = reg or registry()
    for name in names:
        if name not in reg.definitions:
            raise KeyError(f"no component '{name}' in the library")
        graph = update_definition(graph, reg.definitions[name])
    return graph


def describe_changes(old: Definition, new: Definition) -> list[str]:
    """What changed from ``old`` to ``new``, one short line each."""
    out = []
    for key in ("category", "description"):
        if getattr(old, key) != getattr(new, key):
            out.append(f"{key} changed")
    for word, a, b in (("input", old.inputs, new.inputs), ("output", old.outputs, new.outputs)):
        am, bm = {p.name: p for p in a}, {p.name: p for p in b}
        out += [f"{word} port '{n}' added" for n in bm if n not in am]
        out += [f"{word} port '{n}' removed" for n in am if n not in bm]
        out += [f"{word} port '{n}' now maps to {', '.join(bm[n].targets)}"
                for n in am if n in bm and am[n].targets != bm[n].targets]
    am, bm = {p.name: p for p in old.params}, {p.name: p for p in new.params}
    out += [f"parameter '{n}' added" for n in bm if n not in am]
    out += [f"parameter '{n}' removed" for n in am if n not in bm]
    for n in am:
        if n in bm and am[n] != bm[n]:
            if am[n].default != bm[n].default:
                out.append(f"parameter '{n}' default {am[n].default!r} -> {bm[n].default!r}")
            if am[n].drives != bm[n].drives:
                out.append(f"parameter '{n}' now drives {', '.join(bm[n].drives)}")
            if (am[n].unit, am[n].min, am[n].max, am[n].help) != \
                    (bm[n].unit, bm[n].min, bm[n].max, bm[n].help):
                out.append(f"parameter '{n}' unit, range or help changed")
    out += [f"inner node '{n}' added" for n in new.nodes if n not in old.nodes]
    out += [f"inner node '{n}' removed" for n in old.nodes if n not in new.nodes]
    for n, node in old.nodes.items():
        other = new.nodes.get(n)
        if other is None:
            continue
        if other.type != node.type:
            out.append(f"inner node '{n}' is now a {other.type}")
        elif other.params != node.params:
            keys = sorted(set(node.params) | set(other.params),
                          key=lambda k: (k not in node.params, k))
            diff = [k for k in keys if node.params.get(k) != other.params.get(k)]
            out.append(f"inner node '{n}': {', '.join(diff)} changed")
    ae, be = set(old.edges), set(new.edges)
    if ae != be:
        out.append(f"connections: {len(be - ae)} added, {len(ae - be)} removed")
    if not out and old != new:
        out.append("layout changed")
    return out

