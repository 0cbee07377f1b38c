"""What a node type name means in one graph, and definitions seen as node types.

A type name is a built-in component (the registry's classes win), else a definition embedded in
the graph, else a definition of the component library (engine/composite/library.py).
``DefinitionType`` presents a definition with the attributes the editor reads from a component
class (``type_name``, ``title``, ``category``, ``description``, ``params``, ``ports(config)``), so
the palette, the inspector and the canvas treat composites like any other node type.
"""
from __future__ import annotations

from spark_snn.components.base import Param, Port

from ..graph import Graph
from ..registry import registry
from .model import Definition, Promoted, split_ref


class Types:
    """Type lookup for one graph (see the module docstring)."""

    def __init__(self, graph: Graph | None = None, reg=None, definitions: dict | None = None):
        self.reg = reg or registry()
        self.defs = dict(graph.definitions if graph is not None else {})
        if definitions:
            self.defs.update(definitions)

    def component(self, name: str):
        return self.reg.types.get(name)

    def definition(self, name: str) -> Definition | None:
        if name in self.reg.types:
            return None
        return self.defs.get(name) or getattr(self.reg, "definitions", {}).get(name)

    def known(self, name: str) -> bool:
        return name in self.reg.types or self.definition(name) is not None

    def names(self) -> list[str]:
        return sorted(set(self.reg.types) | set(self.defs)
                      | set(getattr(self.reg, "definitions", {})))

    def params_of(self, type_name: str, _stack=(), values: dict | None = None) -> list[Param]:
        """The parameters a node of ``type_name`` takes (a definition's: its promoted ones).
        ``values``: the node's own values, for a type whose parameters follow from them (an
        equation-defined node declares parameters in its model text)."""
        cls = self.component(type_name)
        if cls is not None:
            return list(cls.params if values is None else cls.shown_params(values))
        defn = self.definition(type_name)
        if defn is None or type_name in _stack:
            return []
        out = []
        for p in defn.params:
            spec = self.promoted_spec(defn, p, _stack + (type_name,))
            if spec is not None:
                out.append(spec)
        return out

    def param_of(self, type_name: str, name: str, _stack=(),
                 values: dict | None = None) -> Param | None:
        """Parameter ``name`` of a node of ``type_name`` (``values`` as in ``params_of``)."""
        cls = self.component(type_name)
        if cls is not None:
            return next((p for p in self.params_of(type_name, values=values)
                         if p.name == name), None)
        defn = self.definition(type_name)
        if defn is None or type_name in _stack:
            return None
        p = defn.promoted(name)
        return None if p is None else self.promoted_spec(defn, p, _stack + (type_name,))

    def target_param(self, defn: Definition, ref: str, _stack=()) -> Param | None:
        """The inner parameter "node.param" of ``defn`` (None when there is none)."""
        node_id, name = split_ref(ref)
        node = defn.nodes.get(node_id)
        if node is None:
            return None
        return self.param_of(node.type, name, _stack, node.params)

    def promoted_spec(self, defn: Definition, p: Promoted, _stack=()) -> Param | None:
        """The promoted parameter as a component Param: its kind, choices and (unless it sets
        its own) unit and range come from the first inner parameter it drives."""
        found = [self.target_param(defn, ref, _stack or (defn.type_name,)) for ref in p.drives]
        found = [t for t in found if t is not None]
        if not found:
            return None
        target = found[0]
        return Param(p.name, target.kind, default=p.default,
                     unit=target.unit if p.unit is None else p.unit,
                     min=target.min if p.min is None else p.min,
                     max=target.max if p.max is None else p.max,
                     min_exclusive=target.min_exclusive and p.min is None,
                     max_exclusive=target.max_exclusive and p.max is None,
                     choices=target.choices, help=p.help or target.help,
                     structural=any(t.structural for t in found))


class DefinitionType:
    """A definition presented like a component class (see the module docstring)."""

    latched = False
    elementwise = False

    def __init__(self, defn: Definition, types: Types):
        self.definition = defn
        self.types = types
        self.type_name = defn.type_name
        self.title = defn.type_name
        self.category = defn.category
        self.description = defn.description
        self.params = tuple(types.params_of(defn.type_name))
        self._ports: dict[str, tuple] = {}

    def param(self, name: str) -> Param:
        for prm in self.params:
            if prm.name == name:
                return prm
        raise KeyError(name)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def ports(self, config: dict | None = None) -> tuple[list[Port], list[Port]]:
        """(inputs, outputs) of an instance with promoted values ``config``: kinds from the inner
        ports, sizes where the inside fixes them (else a symbol, bound by what is connected)."""
        import json

        from .check import lone_instance_info
        key = json.dumps(config or {}, sort_keys=True, default=repr)
        if key not in self._ports:
            info = lone_instance_info(self.definition, self.types, dict(config or {}))
            self._ports[key] = (list(info.inputs.values()), list(info.outputs.values()))
        ins, outs = self._ports[key]
        return list(ins), list(outs)


def types_by_category(graph: Graph | None = None) -> dict[str, list]:
    """Category -> node types for a palette: the built-in component classes, and as
    DefinitionType the library's definitions and the graph's own (which win over the
    library's of the same name)."""
    types = Types(graph)
    out: dict[str, list] = {}
    for name in types.names():
        t = types.component(name)
        if t is None:
            t = DefinitionType(types.definition(name), types)
        out.setdefault(t.category, []).append(t)
    return out


def node_type(graph: Graph, type_name: str):
    """The component class, or a DefinitionType, for ``type_name`` in ``graph`` (None if
    unknown)."""
    types = Types(graph)
    cls = types.component(type_name)
    if cls is not None:
        return cls
    defn = types.definition(type_name)
    return DefinitionType(defn, types) if defn is not None else None
