"""What the editor needs to know about node types once composites exist (no widgets here).

A node's type is a built-in component class or a composite definition (embedded in the graph
or in the user library); ``engine.composite.node_type`` answers both with objects that read
alike (``title``, ``category``, ``description``, ``params``, ``ports(config)``). These helpers
add what the canvas, the inspector and the editing commands ask of a node: its ports from its
current values, whether it is an instance, and the default of a promoted parameter.

An instance's ports come from flattening a lone copy of it (the engine's job), which costs a few
milliseconds; the canvas asks on every redraw, so the answer is cached by the definitions
involved and the instance's values.
"""
from __future__ import annotations

import json

from spark_snn.engine.composite import DefinitionType, Types, definitions_closure, node_type
from spark_snn.engine.validate import check_value

_PORTS_CACHE: dict = {}
_CACHE_LIMIT = 512


def type_of(graph, type_name: str):
    """The component class or DefinitionType of ``type_name`` in ``graph`` (None: unknown)."""
    try:
        return node_type(graph, type_name)
    except Exception:  # a broken definition (a cycle, ...) must never stop the editor
        return None


def is_definition_type(t) -> bool:
    return isinstance(t, DefinitionType)


def is_instance(graph, node_id: str) -> bool:
    """Whether node ``node_id`` of ``graph`` is an instance of a composite component."""
    node = graph.nodes.get(node_id)
    return node is not None and is_definition_type(type_of(graph, node.type))


def instance_config(t: DefinitionType, params: dict) -> dict:
    """The promoted values of an instance with overrides ``params`` (invalid ones: defaults)."""
    cfg = {}
    for prm in t.params:
        v = params.get(prm.name, prm.default)
        cfg[prm.name] = v if check_value(prm, v) is None else prm.default
    return cfg


def definition_key(graph, type_name: str) -> str:
    """A text that changes whenever ``type_name`` or a definition it uses changes."""
    defs = definitions_closure(Types(graph), [type_name])
    return json.dumps([d.to_dict() for d in defs.values()], sort_keys=True, default=repr)


def instance_ports(graph, node):
    """(inputs, outputs) of an instance ``node`` (None when its type is no definition)."""
    t = type_of(graph, node.type)
    if not is_definition_type(t):
        return None
    cfg = instance_config(t, node.params)
    key = (node.type, definition_key(graph, node.type),
           json.dumps(cfg, sort_keys=True, default=repr))
    if key not in _PORTS_CACHE:
        if len(_PORTS_CACHE) > _CACHE_LIMIT:
            _PORTS_CACHE.clear()
        ins, outs = t.ports(cfg)
        _PORTS_CACHE[key] = (list(ins), list(outs))
    ins, outs = _PORTS_CACHE[key]
    return list(ins), list(outs)


def is_default_override(graph, node, name: str) -> bool:
    """Whether instance ``node`` stores promoted parameter ``name`` at its default (an
    instance keeps only the values that differ from its definition's)."""
    t = type_of(graph, node.type)
    if not is_definition_type(t) or name not in node.params:
        return False
    try:
        return same_value(node.params[name], t.param(name).default)
    except KeyError:
        return False


def same_value(a, b) -> bool:
    """Equal as parameter values (20 equals 20.0; True does not equal 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b
