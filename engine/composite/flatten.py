"""Flattening: composite instances replaced by their inner nodes, under dotted ids.

An instance ``col1`` of a definition with inner nodes ``exc`` and ``inh`` becomes the plain nodes
``col1.exc`` and ``col1.inh`` (nested: ``area.col1.exc``); the promoted parameters' values (the
instance's overrides, else the defaults) are written into the inner parameters they drive; an
edge into an instance port becomes edges into every inner port it maps to, an edge out of one
an edge from the inner port it reads.

Order (it decides the order of floating-point sums and of fused kernels, so it is fixed): an
instance's inner nodes take its place in the node order; the edges are, level by level, the
inner edges of every instance (in node order) and then the level's own edges, each expanded in
place. Random numbers: a node draws under its seed name (engine/graph.py ``Node.seed_id``),
``scope.id`` inside an instance whose scope is the instance's own seed name.

``flatten_level`` records where everything came from (``Flat``) so that validation can name the
definition, inner node, instance and promoted parameter of a problem, and a Simulation can set a
promoted parameter live.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ..graph import Edge, Graph, Node
from ..problems import Problem
from .model import Definition, join_seed, split_ref
from .types import Types


@dataclass
class Instance:
    """One expanded instance: where it sits and what its ports and parameters became."""

    path: str                 # flat id ("area.col1")
    local: str                # id at its own level ("col1")
    container: str | None     # the definition it sits in (None: the graph itself)
    parent: str               # flat id of the enclosing instance ("" at the top)
    definition: str
    values: dict              # promoted parameter -> value in force
    overrides: tuple = ()     # the promoted parameters the instance sets itself
    inputs: dict = field(default_factory=dict)    # port -> [flat "node.port", ...]
    outputs: dict = field(default_factory=dict)   # port -> flat "node.port"
    targets: dict = field(default_factory=dict)   # promoted -> [(flat node, param), ...]


@dataclass
class Flat:
    """A flattened graph and where each of its parts came from."""

    graph: Graph
    problems: list[Problem] = field(default_factory=list)
    instances: dict[str, Instance] = field(default_factory=dict)
    # flat node id -> (enclosing instance path or "", containing definition or None, local id)
    origin: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)
    # (flat node, param) -> (instance path, promoted name): the value came from a promoted
    # parameter (instance path "" for the definition being checked on its own)
    param_source: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # (flat node, port, "in"/"out") -> (instance path, port): the outermost instance port
    # mapping to that inner port
    boundary: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)   # definitions expanded, first use first

    def port(self, name: str) -> str:
        """The flat "node.port" that ``name`` reads: an instance's output port (``c3.spikes``)
        becomes the inner output it maps to (``c3.exc.spikes``); any other name is returned as
        it is. For monitors and recordings of an instance's outputs."""
        node, _, port = name.rpartition(".")
        inst = self.instances.get(node)
        if inst is not None and inst.outputs.get(port):
            return self.port(inst.outputs[port])
        return name

    def instance_of(self, flat_id: str) -> Instance | None:
        """The instance whose inside holds flat node ``flat_id`` (None at the top)."""
        parent = self.origin.get(flat_id, ("", None, ""))[0]
        return self.instances.get(parent)


MAX_NESTING = 40         # components inside components, at most (a hostile file: no crash)
MAX_FLAT_NODES = 50_000   # nodes once every instance is expanded, at most


def expanded_size(types: Types, type_name: str, memo: dict, depth: int = 0) -> int:
    """How many plain nodes one node of ``type_name`` expands to (cycles count as 1; deeper
    than MAX_NESTING counts as more than MAX_FLAT_NODES)."""
    if type_name in memo:
        return memo[type_name]
    defn = types.definition(type_name)
    if defn is None:
        return 1
    if depth > MAX_NESTING:
        return MAX_FLAT_NODES + 1
    memo[type_name] = 1  # a cycle (reported elsewhere) stops here
    memo[type_name] = sum(expanded_size(types, n.type, memo, depth + 1)
                          for n in defn.nodes.values())
    return memo[type_name]


class _Flattener:
    def __init__(self, types: Types, settings: dict):
        self.types = types
        self.out = Flat(Graph(settings=dict(settings)))
        self.cycles: set[tuple[str, ...]] = set()
        self.sizes: dict[str, int] = {}

    def problem(self, msg, container, **where):
        self.out.problems.append(Problem(msg, definition=container, **where))

    # --- one level: the graph's own nodes, or a definition's inner nodes -----------------------
    def level(self, nodes: list[Node], edges: list[Edge], prefix: str, scope: str,
              container: str | None, stack: tuple, sources: dict,
              shift=(0.0, 0.0)) -> dict[str, Instance]:
        out = self.out
        insts: dict[str, Instance] = {}
        plain: set[str] = set()
        dropped: set[str] = set()
        for node in nodes:
            fid = prefix + node.id
            key = join_seed(scope, node.id if node.seed_id is None else node.seed_id)
            defn = self.types.definition(node.type)
            if fid in out.graph.nodes or fid in out.instances:
                self.problem(f"node id '{fid}' is used twice once instances are expanded",
                             container, node=node.id)
                dropped.add(node.id)
                continue
            if defn is None:
                pos = (node.position[0] + shift[0], node.position[1] + shift[1])
                out.graph.nodes[fid] = Node(fid, node.type, dict(node.params), pos,
                                            None if key == fid else key)
                out.origin[fid] = (prefix[:-1], container, node.id)
                self.inherit(fid, node.id, sources)
                plain.add(node.id)
                continue
            inst = self.instance(node, defn, fid, key, prefix, container, stack, sources, shift)
            if inst is None:
                dropped.add(node.id)
            else:
                insts[node.id] = inst
        seen = set(out.graph.edges)
        for e in edges:
            srcs = self.end(e, e.src_node, e.src_port, "out", insts, plain, dropped, prefix,
                            container)
            dsts = self.end(e, e.dst_node, e.dst_port, "in", insts, plain, dropped, prefix,
                            container)
            for s in srcs:
                for d in dsts:
                    fe = Edge(s, d)
                    if fe not in seen:
                        seen.add(fe)
                        out.graph.edges.append(fe)
        return insts

    def end(self, e: Edge, nid, port, way, insts, plain, dropped, prefix, container) -> list[str]:
        """Flat "node.port" ends of one end of edge ``e`` at a level."""
        if nid in plain:
            return [f"{prefix}{nid}.{port}"]
        if nid in dropped:
            return []
        inst = insts.get(nid)
        if inst is None:
            known = sorted(plain | set(insts))
            close = difflib.get_close_matches(nid, known, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            self.problem(f"edge {e.src} -> {e.dst}: no node '{nid}'{hint}", container,
                         node=nid, port=port)
            return []
        table = inst.inputs if way == "in" else inst.outputs
        if port not in table:
            kind = "input" if way == "in" else "output"
            self.problem(f"edge {e.src} -> {e.dst}: component '{inst.definition}' has no {kind} "
                         f"port '{port}' (it has: {', '.join(table) or 'none'})", container,
                         node=nid, port=port)
            return []
        got = table[port]  # None or []: the definition's own problem, reported with it
        return [] if not got else (list(got) if way == "in" else [got])

    # --- one instance ----------------------------------------------------------------------------
    def instance(self, node: Node, defn: Definition, fid: str, key: str, prefix: str,
                 container: str | None, stack: tuple, sources: dict,
                 shift=(0.0, 0.0)) -> Instance | None:
        name = defn.type_name
        if not self.expandable(name, node, container, stack):
            return None
        if name not in self.out.used:
            self.out.used.append(name)
        values = {p.name: node.params.get(p.name, p.default) for p in defn.params}
        for k in node.params:
            if defn.promoted(k) is None:
                close = difflib.get_close_matches(k, [p.name for p in defn.params], n=1,
                                                  cutoff=0.5)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.problem(f"unknown parameter '{k}' for component '{name}'{hint}", container,
                             node=node.id, param=k)
        inst = Instance(fid, node.id, container, prefix[:-1], name, values,
                        tuple(k for k in node.params if defn.promoted(k) is not None))
        self.out.instances[fid] = inst
        self.inherit(fid, node.id, sources)
        inner = [n.copy() for n in defn.nodes.values()]
        by_id = {n.id: n for n in inner}
        inner_sources = {}
        for p in defn.params:
            src = sources.get((node.id, p.name), (fid, p.name))
            for nid, q in self.driven(defn, p, by_id):
                by_id[nid].params[q] = values[p.name]
                inner_sources[(nid, q)] = src
        cx, cy = centroid(inner)
        inner_shift = (node.position[0] + shift[0] - cx, node.position[1] + shift[1] - cy)
        subs = self.level(inner, defn.edges, fid + ".", key, name, stack + (name,),
                          inner_sources, inner_shift)
        self.connect(inst, defn, subs, by_id)
        return inst

    def expandable(self, name: str, node: Node, container, stack: tuple) -> bool:
        """False (with the problem reported) for a cycle, or an expansion too large."""
        if name in stack:
            cycle = stack[stack.index(name):] + (name,)
            if cycle not in self.cycles:
                self.cycles.add(cycle)
                self.problem(f"component '{name}' contains itself: {' -> '.join(cycle)}", name)
            return False
        if len(stack) >= MAX_NESTING or expanded_size(self.types, name, self.sizes) \
                > MAX_FLAT_NODES:
            self.problem(f"component '{name}' expands to more than {MAX_FLAT_NODES:,} nodes or "
                         f"nests components more than {MAX_NESTING} deep; it is not expanded",
                         container, node=node.id)
            return False
        return True

    def inherit(self, fid: str, local: str, sources: dict) -> None:
        """Record which of node ``local``'s parameters an enclosing promoted parameter set."""
        for (nid, param), src in sources.items():
            if nid == local:
                self.out.param_source[(fid, param)] = src

    def connect(self, inst: Instance, defn: Definition, subs: dict, by_id: dict) -> None:
        """Fill the instance's boundary map and promoted targets from its expanded inside."""
        fid = inst.path
        for bp in defn.inputs:
            inst.inputs[bp.name] = [t for ref in bp.targets
                                    for t in self.inner_ends(ref, subs, by_id, fid, "in")]
        for bp in defn.outputs:
            got = self.inner_ends(bp.targets[0], subs, by_id, fid, "out")
            inst.outputs[bp.name] = got[0] if got else None
        for way, table in (("in", inst.inputs), ("out", inst.outputs)):
            for port, ends in table.items():
                for end in ([ends] if way == "out" else ends) if ends else ():
                    n, q = split_ref(end)
                    self.out.boundary[(n, q, way)] = (fid, port)
        for p in defn.params:
            inst.targets[p.name] = []
            for ref in p.drives:
                nid, q = split_ref(ref)
                if nid in subs:
                    inst.targets[p.name] += subs[nid].targets.get(q, [])
                elif nid in by_id:
                    inst.targets[p.name].append((f"{fid}.{nid}", q))

    def driven(self, defn: Definition, p, by_id: dict):
        """(inner node, parameter) pairs promoted parameter ``p`` drives (those that exist:
        the others are the definition's own problem, reported with it)."""
        for ref in p.drives:
            nid, q = split_ref(ref)
            if nid in by_id and self.types.param_of(by_id[nid].type, q,
                                                      values=by_id[nid].params) is not None:
                yield nid, q

    @staticmethod
    def inner_ends(ref: str, subs: dict, by_id: dict, fid: str, way: str) -> list[str]:
        nid, q = split_ref(ref)
        if nid in subs:
            table = subs[nid].inputs if way == "in" else subs[nid].outputs
            got = table.get(q)
            return [] if got is None else (list(got) if way == "in" else [got])
        if nid in by_id:
            return [f"{fid}.{nid}.{q}"]
        return []


def centroid(nodes) -> tuple[float, float]:
    """Mean canvas position of ``nodes`` ((0, 0) for none)."""
    nodes = list(nodes)
    if not nodes:
        return 0.0, 0.0
    return (sum(n.position[0] for n in nodes) / len(nodes),
            sum(n.position[1] for n in nodes) / len(nodes))


def flatten_level(graph: Graph, types: Types | None = None,
                  definition: Definition | None = None) -> Flat:
    """Flatten ``graph`` (or, with ``definition``, that definition's inside on its own, its
    promoted parameters at their defaults) and record where everything came from."""
    types = types or Types(graph)
    f = _Flattener(types, graph.settings)
    if definition is None:
        f.level(list(graph.nodes.values()), graph.edges, "", "", None, (), {})
        f.out.graph.meta = _flat_meta(graph.meta, f.out)
    else:
        name = definition.type_name
        inner = [n.copy() for n in definition.nodes.values()]
        by_id = {n.id: n for n in inner}
        sources = {}
        for p in definition.params:
            for nid, q in f.driven(definition, p, by_id):
                by_id[nid].params[q] = p.default
                sources[(nid, q)] = ("", p.name)
        f.level(inner, definition.edges, "", "", name, (name,), sources)
    return f.out


def _flat_meta(meta: dict, flat: Flat) -> dict:
    """The graph's meta with every backdrop listing an instance listing its flat nodes."""
    import copy
    meta = copy.deepcopy(meta)
    for b in meta.get("backdrops", []) if isinstance(meta.get("backdrops"), list) else []:
        if isinstance(b, dict) and isinstance(b.get("nodes"), list):
            out = []
            for n in b["nodes"]:
                if isinstance(n, str) and n in flat.instances:
                    out += [f for f in flat.graph.nodes if f.startswith(n + ".")]
                else:
                    out.append(n)
            b["nodes"] = out
    return meta
