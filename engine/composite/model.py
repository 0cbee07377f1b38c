"""The composite model: a Definition (a type made of other nodes) and how it is written to files.

A *definition* holds inner nodes and edges (a small graph), *boundary ports* (each instance port
maps to one or more inner ports) and *promoted parameters* (each with its own name, default, unit,
range and help, driving one or several inner parameters). An *instance* is a plain graph node
whose ``type`` names a definition and whose ``params`` hold only overrides of promoted
parameters. Definitions are values: the editing functions (engine/composite/edit.py) never change
one in place, they return new ones.

File layout of one definition (inside a graph file's ``definitions`` list, or a library file)::

    {"type": "column", "category": "Composites", "description": "...",
     "inputs":  [{"name": "in", "to": ["exc.syn", "inh.syn"], "help": "..."}],
     "outputs": [{"name": "spikes", "from": "exc.spikes"}],
     "params":  [{"name": "drive", "drives": ["drive.amplitude"], "default": 20.0,
                  "unit": "mV", "min": 0, "max": 100, "help": "..."}],
     "nodes": [...], "edges": [...], "meta": {...}}

``unit``, ``min``, ``max`` and ``help`` of a promoted parameter are optional (the first inner
parameter's are used); ``help`` of a port, ``description`` and ``meta`` are optional too.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from ..graph import Edge, Node
from ..problems import Problem

COMPOSITE_CATEGORY = "Composites"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class CompositeError(ValueError):
    """An edit of composites that cannot be done (the message says why)."""


def check_name(name, what: str) -> str | None:
    """Why ``name`` is not a valid type, port, parameter or node name (None when it is)."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        return (f"{what} {name!r} is not a valid name (letters, digits, '_' and '-', "
                "starting with a letter or '_')")
    return None


def split_ref(ref: str) -> tuple[str, str]:
    """'node.name' -> (node, name)."""
    node, _, name = ref.rpartition(".")
    return node, name


@dataclass
class BoundaryPort:
    """A port of the composite: ``targets`` are inner "node.port" (an input may feed several
    inner inputs; an output reads exactly one inner output)."""

    name: str
    targets: list[str]
    help: str = ""

    def copy(self) -> "BoundaryPort":
        return BoundaryPort(self.name, list(self.targets), self.help)


@dataclass
class Promoted:
    """A parameter of the composite driving the inner parameters ``drives`` ("node.param";
    an inner instance's promoted parameter counts). ``unit``/``min``/``max`` None: those of the
    first inner parameter."""

    name: str
    drives: list[str]
    default: Any
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    help: str = ""

    def copy(self) -> "Promoted":
        return Promoted(self.name, list(self.drives), copy.deepcopy(self.default), self.unit,
                        self.min, self.max, self.help)

    def to_dict(self) -> dict:
        d = {"name": self.name, "drives": list(self.drives), "default": self.default}
        for key in ("unit", "min", "max"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.help:
            d["help"] = self.help
        return d


@dataclass
class Definition:
    """A composite component type (see the module docstring)."""

    type_name: str
    category: str = COMPOSITE_CATEGORY
    description: str = ""
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    inputs: list[BoundaryPort] = field(default_factory=list)
    outputs: list[BoundaryPort] = field(default_factory=list)
    params: list[Promoted] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.type_name

    def copy(self) -> "Definition":
        return Definition(self.type_name, self.category, self.description,
                          {k: n.copy() for k, n in self.nodes.items()}, list(self.edges),
                          [p.copy() for p in self.inputs], [p.copy() for p in self.outputs],
                          [p.copy() for p in self.params], copy.deepcopy(self.meta))

    def promoted(self, name: str) -> Promoted | None:
        return next((p for p in self.params if p.name == name), None)

    def input(self, name: str) -> BoundaryPort | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> BoundaryPort | None:
        return next((p for p in self.outputs if p.name == name), None)

    def uses(self) -> list[str]:
        """The node types of the inner nodes (in order, without repeats)."""
        return list(dict.fromkeys(n.type for n in self.nodes.values()))

    def to_dict(self) -> dict:
        d: dict = {"type": self.type_name, "category": self.category}
        if self.description:
            d["description"] = self.description
        d["inputs"] = [_port_dict(p, "to") for p in self.inputs]
        d["outputs"] = [_port_dict(p, "from") for p in self.outputs]
        d["params"] = [p.to_dict() for p in self.params]
        d["nodes"] = [n.to_dict() for n in self.nodes.values()]
        d["edges"] = [{"from": e.src, "to": e.dst} for e in self.edges]
        if self.meta:
            d["meta"] = copy.deepcopy(self.meta)
        return d

    def __eq__(self, other) -> bool:
        return isinstance(other, Definition) and self.to_dict() == other.to_dict()


def _port_dict(p: BoundaryPort, key: str) -> dict:
    d = {"name": p.name, key: list(p.targets) if key == "to" else p.targets[0]}
    if p.help:
        d["help"] = p.help
    return d


# --- reading ----------------------------------------------------------------------------------
_DEF_KEYS = ("type", "category", "description", "inputs", "outputs", "params", "nodes", "edges",
             "meta")
_PROMOTED_KEYS = ("name", "drives", "default", "unit", "min", "max", "help")


def definitions_from_list(items, problems: list[Problem]) -> dict[str, Definition]:
    """Definitions from a file's ``definitions`` list; malformed entries become ``problems``
    (each naming its definition), nothing is silently dropped."""
    out: dict[str, Definition] = {}
    if not isinstance(items, list):
        problems.append(Problem("'definitions' must be a list"))
        return out
    for i, item in enumerate(items):
        defn = definition_from_dict(item, problems, f"definitions[{i}]")
        if defn is None:
            continue
        if defn.type_name in out:
            problems.append(Problem(f"definitions[{i}]: a component named '{defn.type_name}' is "
                                    "defined twice", definition=defn.type_name))
            continue
        out[defn.type_name] = defn
    return out


def definition_from_dict(data, problems: list[Problem], where: str) -> Definition | None:
    """One definition from its file dict (None when it has no usable type name)."""
    if not isinstance(data, dict):
        problems.append(Problem(f"{where} must be an object"))
        return None
    name = data.get("type")
    if not isinstance(name, str) or not name:
        problems.append(Problem(f"{where} has no string 'type' (the component's name)"))
        return None
    probs: list[Problem] = []
    bad = check_name(name, "component name")
    if bad:
        probs.append(Problem(bad))
    for key in data:
        if key not in _DEF_KEYS:
            probs.append(Problem(f"unknown key '{key}' in the definition (expected one of "
                                 f"{', '.join(_DEF_KEYS)})"))
    defn = Definition(name)
    for key in ("category", "description"):
        value = data.get(key, getattr(defn, key))
        if isinstance(value, str):
            setattr(defn, key, value)
        else:
            probs.append(Problem(f"'{key}' must be a string"))
    meta = data.get("meta", {})
    if isinstance(meta, dict):
        defn.meta = copy.deepcopy(meta)
    else:
        probs.append(Problem("'meta' must be an object"))
    defn.nodes, defn.edges = _inner_graph(data, probs)
    defn.inputs = _ports(data.get("inputs", []), "inputs", "to", probs)
    defn.outputs = _ports(data.get("outputs", []), "outputs", "from", probs)
    defn.params = _promoted(data.get("params", []), probs)
    problems += [Problem(p.message, p.node, p.param, p.port, p.line, p.column, p.severity,
                         definition=name) for p in probs]
    return defn


def _inner_graph(data: dict, problems: list[Problem]):
    """Inner nodes and edges, read by the graph file reader itself (same checks)."""
    from .. import fileio
    from ..graph import FORMAT_TAG, FORMAT_VERSION

    sub = {"format": FORMAT_TAG, "version": FORMAT_VERSION}
    for key in ("nodes", "edges"):
        if key in data:
            sub[key] = data[key]
    g = fileio.graph_from_dict(sub)
    problems += g.load_problems
    for nid in g.nodes:
        if "." in nid:
            problems.append(Problem("an inner node id may not contain '.'", node=nid))
    return g.nodes, g.edges


def _ports(items, key: str, end: str, problems: list[Problem]) -> list[BoundaryPort]:
    out = []
    if not isinstance(items, list):
        problems.append(Problem(f"'{key}' must be a list"))
        return out
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            problems.append(Problem(f"{key}[{i}] must be an object with a string 'name'"))
            continue
        for k in item:
            if k not in ("name", end, "help"):
                problems.append(Problem(f"unknown key '{k}' in {key}[{i}]", port=item["name"]))
        refs = item.get(end)
        if end == "from":
            refs = [refs] if isinstance(refs, str) else None
        if (not isinstance(refs, list) or not refs
                or not all(isinstance(r, str) and "." in r for r in refs)):
            form = '["node.port", ...]' if end == "to" else '"node.port"'
            problems.append(Problem(f"{key}[{i}]: '{end}' must be {form}", port=item["name"]))
            continue
        helptext = item.get("help", "")
        out.append(BoundaryPort(item["name"], list(refs),
                                helptext if isinstance(helptext, str) else ""))
    return out


def _promoted(items, problems: list[Problem]) -> list[Promoted]:
    out = []
    if not isinstance(items, list):
        problems.append(Problem("'params' must be a list"))
        return out
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            problems.append(Problem(f"params[{i}] must be an object with a string 'name'"))
            continue
        name = item["name"]
        for k in item:
            if k not in _PROMOTED_KEYS:
                problems.append(Problem(f"unknown key '{k}' in a promoted parameter", param=name))
        drives = item.get("drives")
        if (not isinstance(drives, list) or not drives
                or not all(isinstance(r, str) and "." in r for r in drives)):
            problems.append(Problem("'drives' must be a list of \"node.param\"", param=name))
            continue
        if "default" not in item:
            problems.append(Problem("a promoted parameter needs a 'default'", param=name))
            continue
        p = Promoted(name, list(drives), item["default"])
        for k, types in (("unit", str), ("min", (int, float)), ("max", (int, float)),
                         ("help", str)):
            if k in item:
                v = item[k]
                if isinstance(v, types) and not isinstance(v, bool):
                    setattr(p, k, v)
                else:
                    problems.append(Problem(f"'{k}' has the wrong type ({v!r})", param=name))
        out.append(p)
    return out


# --- names in a scope -------------------------------------------------------------------------
def join_seed(scope: str, key: str) -> str:
    """The seed name of ``key`` inside an instance drawing under ``scope``."""
    if not scope:
        return key
    if not key:
        return scope
    return f"{scope}.{key}"
