"""The component registry: every node type, found by scanning ``components/`` and entry points.

Built-in components are the modules of the ``components`` package; third-party packages add
theirs through the entry-point group ``spark.components`` (each entry point names a Component
subclass or a module holding some, or component library files: see engine/composite/library.py).
A module that fails to import is reported, not fatal.

Composite components from the user library folder and from packages are listed too
(``definitions``, by type name, with ``definition_origin``); a definition never replaces a
built-in type.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from importlib import metadata

from spark_snn import components
from spark_snn.components.base import Component

ENTRY_POINT_GROUP = "spark.components"
# node types that live in the engine because they need it (equation-defined nodes compile a
# model text with engine/equations)
ENGINE_COMPONENTS = ("spark_snn.engine.equations.nodes",)

_cache: "Registry | None" = None


class Registry:
    """Type name -> component class, with where each came from and any load failures."""

    def __init__(self):
        self.types: dict[str, type[Component]] = {}
        self.origin: dict[str, str] = {}
        self.load_errors: list[str] = []
        self.definitions: dict = {}          # type name -> engine.composite.Definition
        self.definition_origin: dict[str, str] = {}

    def add(self, cls: type[Component], origin: str) -> None:
        name = cls.type_name
        if name in self.types and self.types[name] is not cls:
            self.load_errors.append(
                f"{origin}: node type {name!r} is already defined by {self.origin[name]}; ignored")
            return
        self.types[name] = cls
        self.origin[name] = origin

    def add_module(self, module, origin: str) -> None:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Component) and obj.type_name and obj.__module__ == module.__name__:
                self.add(obj, origin)

    def add_definition(self, defn, origin: str) -> None:
        """Add a library definition (the first of a name wins; built-in types always do)."""
        name = defn.type_name
        if name in self.types:
            self.load_errors.append(f"{origin}: component '{name}' has the name of a built-in "
                                    f"node type ({self.origin[name]}); ignored")
        elif name in self.definitions:
            self.load_errors.append(f"{origin}: component '{name}' is already defined by "
                                    f"{self.definition_origin[name]}; ignored")
        else:
            self.definitions[name] = defn
            self.definition_origin[name] = origin

    def get(self, name: str) -> type[Component]:
        return self.types[name]

    def __contains__(self, name: str) -> bool:
        return name in self.types

    def names(self) -> list[str]:
        return sorted(self.types)

    def suggest(self, name: str) -> list[str]:
        return difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)

    def by_category(self, definitions: bool = False) -> dict[str, list]:
        """Category -> component classes (with ``definitions``: library definitions too, as
        engine.composite.DefinitionType objects, which read like classes)."""
        out: dict[str, list] = {}
        for name in self.names():
            cls = self.types[name]
            out.setdefault(cls.category, []).append(cls)
        if definitions:
            from .composite.types import DefinitionType, Types
            types = Types(reg=self)
            for name in sorted(self.definitions):
                d = self.definitions[name]
                out.setdefault(d.category, []).append(DefinitionType(d, types))
        return out


def _discover() -> Registry:
    from .composite import library
    from .problems import GraphError

    reg = Registry()
    libraries = []
    for info in sorted(pkgutil.iter_modules(components.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        modname = f"spark_snn.components.{info.name}"
        try:
            reg.add_module(importlib.import_module(modname), modname)
        except Exception as exc:  # a broken component must not take the app down
            reg.load_errors.append(f"{modname}: {type(exc).__name__}: {exc}")
    for modname in ENGINE_COMPONENTS:
        try:
            reg.add_module(importlib.import_module(modname), modname)
        except Exception as exc:
            reg.load_errors.append(f"{modname}: {type(exc).__name__}: {exc}")
    try:
        eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception:  # pragma: no cover - very old importlib.metadata
        eps = []
    for ep in eps:
        try:
            obj = ep.load()
        except Exception as exc:
            reg.load_errors.append(f"entry point {ep.name}: {type(exc).__name__}: {exc}")
            continue
        files = library.entry_point_files(obj)
        if inspect.isclass(obj) and issubclass(obj, Component):
            reg.add(obj, f"entry point {ep.name}")
        elif inspect.ismodule(obj):
            reg.add_module(obj, f"entry point {ep.name}")
        elif files is not None:
            libraries += [(f, f"entry point {ep.name} ({f})") for f in files]
        else:
            reg.load_errors.append(f"entry point {ep.name}: not a Component subclass or module, "
                                   "nor component library files")
    found, errors = library.scan_library()
    for defn, origin in found:
        reg.add_definition(defn, origin)
    reg.load_errors += errors
    for f, origin in libraries:
        try:
            for d in library.load_library(f):
                reg.add_definition(d, origin)
        except GraphError as exc:
            reg.load_errors.append(f"{origin}: {exc}")
    return reg


def registry(refresh: bool = False) -> Registry:
    """The process-wide registry (discovered once; ``refresh=True`` scans again)."""
    global _cache
    if _cache is None or refresh:
        _cache = _discover()
    return _cache
