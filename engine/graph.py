"""The graph model: plain dataclasses that the editor edits and the file format stores.

A ``Graph`` holds simulation settings, nodes (stable id, registry type, parameter values, canvas
position) and directed edges from an output port to an input port, each written ``"node.port"``.
It knows nothing of Qt or JAX. ``to_dict`` maps it to the file layout (version 2, see
engine/fileio.py and the README). ``definitions`` holds the composite components the graph uses
(engine/composite): a node whose ``type`` names one of them is an instance of it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

FORMAT_TAG = "spark-graph"
FORMAT_VERSION = 2

DEFAULT_SETTINGS = {"dt": 0.1, "seed": 0, "dtype": "float32"}

# What each setting means (for the README, the validator and the editor).
SETTINGS_SPEC = {
    "dt": ("float", "ms", "simulation time step", 1e-4, 10.0),
    "seed": ("int", "", "random seed of initial state, connectivity and noise", 0, 2**31 - 1),
    "dtype": ("choice", "", "floating-point precision", ("float32", "float64"), None),
}


def free_name(base: str, taken) -> str:
    """``base``, or ``base_2``, ``base_3``, ... : the first that is not in ``taken``."""
    if base not in taken:
        return base
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


@dataclass
class Node:
    """One node: ``type`` is a registry key or a composite definition, ``params`` the values given
    in the file.

    ``seed_id`` (usually None) is the name the node's random numbers are drawn under instead of
    its id; for a composite instance, the scope its inner nodes draw under ("" for the enclosing
    scope). ``make_component``, ``unpack`` and ``flatten`` set it so that a network keeps drawing
    exactly the same numbers (engine/composite).
    """

    id: str
    type: str
    params: dict = field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)
    seed_id: str | None = None

    def copy(self) -> "Node":
        return Node(self.id, self.type, copy.deepcopy(self.params), tuple(self.position),
                    self.seed_id)

    def to_dict(self) -> dict:
        d = {"id": self.id, "type": self.type, "params": dict(self.params),
             "position": [float(self.position[0]), float(self.position[1])]}
        if self.seed_id is not None:
            d["seed_id"] = self.seed_id
        return d


@dataclass(frozen=True)
class Edge:
    """A connection from ``src`` ("node.port", an output) to ``dst`` ("node.port", an input)."""

    src: str
    dst: str

    @property
    def src_node(self) -> str:
        return self.src.rsplit(".", 1)[0]

    @property
    def src_port(self) -> str:
        return self.src.rsplit(".", 1)[-1]

    @property
    def dst_node(self) -> str:
        return self.dst.rsplit(".", 1)[0]

    @property
    def dst_port(self) -> str:
        return self.dst.rsplit(".", 1)[-1]


@dataclass
class Graph:
    """A whole network: settings, nodes in file order, and edges."""

    settings: dict = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    # type name -> engine.composite.Definition (composite components embedded in the file)
    definitions: dict = field(default_factory=dict)
    # problems found while reading the file (duplicate ids, malformed entries); not saved
    load_problems: list = field(default_factory=list, compare=False, repr=False)

    # --- editing helpers ----------------------------------------------------------------------
    def add_node(self, node: Node) -> Node:
        if node.id in self.nodes:
            raise ValueError(f"a node with id '{node.id}' already exists")
        self.nodes[node.id] = node
        return node

    def remove_node(self, node_id: str) -> None:
        del self.nodes[node_id]
        self.edges = [e for e in self.edges if e.src_node != node_id and e.dst_node != node_id]

    def connect(self, src: str, dst: str) -> Edge:
        edge = Edge(src, dst)
        if edge not in self.edges:
            self.edges.append(edge)
        return edge

    def disconnect(self, src: str, dst: str) -> None:
        self.edges = [e for e in self.edges if not (e.src == src and e.dst == dst)]

    def rename_node(self, old: str, new: str) -> None:
        if new in self.nodes:
            raise ValueError(f"a node with id '{new}' already exists")
        node = self.nodes[old]
        node.id = new
        self.nodes = {(new if k == old else k): v for k, v in self.nodes.items()}

        def fix(end: str) -> str:
            n, p = end.rsplit(".", 1)
            return f"{new}.{p}" if n == old else end

        self.edges = [Edge(fix(e.src), fix(e.dst)) for e in self.edges]

    def unique_id(self, base: str) -> str:
        base = "".join(c if c.isalnum() or c in "_-" else "_" for c in base) or "node"
        return free_name(base, self.nodes)

    def edges_into(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.dst_node == node_id]

    def edges_from(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src_node == node_id]

    def copy(self) -> "Graph":
        return Graph(dict(self.settings), {k: n.copy() for k, n in self.nodes.items()},
                     list(self.edges), copy.deepcopy(self.meta),
                     {k: d.copy() for k, d in self.definitions.items()})

    # --- file layout --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {
            "format": FORMAT_TAG,
            "version": FORMAT_VERSION,
            "settings": dict(self.settings),
            "nodes": [n.to_dict() for n in self.nodes.values()],
            "edges": [{"from": e.src, "to": e.dst} for e in self.edges],
        }
        if self.definitions:
            d["definitions"] = [defn.to_dict() for defn in self.definitions.values()]
        if self.meta:
            d["meta"] = copy.deepcopy(self.meta)
        return d

    def __eq__(self, other) -> bool:
        return isinstance(other, Graph) and self.to_dict() == other.to_dict()
