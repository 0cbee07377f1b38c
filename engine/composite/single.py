"""One node made into a library component: a one-node definition exposing all of the node.

``node_component`` wraps a node (an equation-defined pool, synapse or rule, or any other) in a
definition whose boundary ports are all of the node's ports and whose promoted parameters are
its parameters (for an equation-defined node: ``size`` or the connectivity and the parameters
its model text declares), the text itself staying fixed inside: the new type is the model. An
instance then reads like a built-in node of that model. ``save_to_library`` writes one
definition as its own library file, so the registry lists it (and the palette shows it) after
``engine.registry.registry(refresh=True)``.
"""
from __future__ import annotations

from pathlib import Path

from ..graph import Graph, Node
from .check import check_definition
from .model import BoundaryPort, CompositeError, Definition, Promoted, check_name
from .library import library_dirs, save_library
from .types import Types


def node_component(graph: Graph, node_id: str, type_name: str, category: str,
                   description: str = "", inner_id: str = "node",
                   fixed=("model",)) -> Definition:
    """A definition ``type_name`` holding a copy of node ``node_id`` as ``inner_id``: every port
    of the node is a port of the component (same name and help), every parameter but ``fixed``
    a promoted parameter (same name; default: the node's current value; unit, range and help
    those of the node's parameter). Raises CompositeError with the reason when the name is not
    usable or the node cannot be wrapped (a model text with errors: fix it first)."""
    types = Types(graph)
    node = graph.nodes.get(node_id)
    if node is None:
        raise CompositeError(f"no node '{node_id}'")
    cls = types.component(node.type)
    if cls is None:
        raise CompositeError(f"node '{node_id}' is a component itself ({node.type}); save "
                             "that one instead")
    for what, name in (("component name", type_name), ("inner node id", inner_id)):
        bad = check_name(name, what)
        if bad:
            raise CompositeError(bad)
    if types.component(type_name) is not None:
        raise CompositeError(f"'{type_name}' is a built-in node type; choose another name")
    try:
        params = cls.node_params(node.params)
        ins, outs = cls.ports({p.name: node.params.get(p.name, p.default)
                               for p in params if not p.required or p.name in node.params})
    except Exception as exc:  # DeclarationError (a text with errors) and the like
        raise CompositeError(f"node '{node_id}' has problems: {exc}") from None
    inner = Node(inner_id, node.type, dict(node.params), (0.0, 0.0))
    promoted = [Promoted(p.name, [f"{inner_id}.{p.name}"], node.params.get(p.name, p.default))
                for p in params
                if p.name not in fixed and not p.host_written
                and (p.name in node.params or not p.required)]
    defn = Definition(type_name, category, description, {inner_id: inner}, [],
                      [BoundaryPort(p.name, [f"{inner_id}.{p.name}"], p.help) for p in ins],
                      [BoundaryPort(p.name, [f"{inner_id}.{p.name}"], p.help) for p in outs],
                      promoted)
    problems = check_definition(defn, types)
    if problems:
        raise CompositeError("; ".join(p.message for p in problems))
    return defn


def library_file(type_name: str, folder=None) -> Path:
    """Where ``save_to_library`` writes the component ``type_name``: ``TYPE.json`` in ``folder``
    (default: the first library folder, ``library_dirs()[0]``)."""
    base = Path(folder) if folder is not None else library_dirs()[0]
    return base / f"{type_name}.json"


def save_to_library(definition: Definition, folder=None, replace: bool = False) -> Path:
    """Write ``definition`` as a library file of its own (``library_file``) and return its
    path; the folder is created if needed. An existing file is replaced only with
    ``replace`` (else FileExistsError)."""
    path = library_file(definition.type_name, folder)
    if path.exists() and not replace:
        raise FileExistsError(f"{path} exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_library(path, [definition])
    return path
