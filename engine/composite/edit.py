"""Editing composites: every function takes a Graph and returns new Graph(s), never changing its
input, so that the editor can make each call one undo step.

Behaviour is kept exactly by ``make_component`` and ``unpack``:

* random numbers: the new instance draws under the scope its nodes drew under before
  (``seed_id = ""``), unpacked nodes under the names they drew under inside the instance, so
  every node keeps its connectivity, initial state and noise;
* order: the instance takes the place of the first selected node; inner nodes and edges keep
  their order (engine/composite/flatten.py describes the flattened order). When the selection
  is contiguous in file order (and an inner input port summing three or more edges has its
  inner edges before its outside ones) the flattened program is the original one, operation for
  operation; otherwise the nodes in between move after the instance, which can change only the
  rounding order of sums of three or more terms.
"""
from __future__ import annotations

from ..graph import Edge, Graph, Node, free_name
from ..problems import GraphError
from .check import check_definition, definitions_closure, find_cycles, used_definitions
from .flatten import centroid, flatten_level
from .model import (COMPOSITE_CATEGORY, BoundaryPort, CompositeError, Definition, Promoted,
                    check_name, join_seed, split_ref)
from .types import Types

__all__ = ["infer_boundary", "make_component", "unpack", "update_definition", "flatten",
           "instantiate", "merge_definitions", "embed_used", "definition_graph", "with_body",
           "current_value"]


def _selection(graph: Graph, node_ids) -> list[str]:
    chosen = set(node_ids)
    missing = sorted(chosen - set(graph.nodes))
    if missing:
        raise CompositeError(f"no node {', '.join(repr(m) for m in missing)} in the graph")
    if not chosen:
        raise CompositeError("select at least one node to make a component")
    return [n for n in graph.nodes if n in chosen]



def infer_boundary(graph: Graph, node_ids) -> tuple[list[BoundaryPort], list[BoundaryPort]]:
    """The boundary ports a component made of ``node_ids`` would get, with default names.

    One output per inner output port read from outside. One input per inner input port fed from
    outside, except that inner inputs fed by the same outside ports (in the same order) share
    one input. A default name is the inner port's name, or ``node_port`` where that is taken.
    """
    sel = set(_selection(graph, node_ids))
    feeds: dict[str, list[str]] = {}
    reads: list[str] = []
    for e in graph.edges:
        if e.dst_node in sel and e.src_node not in sel:
            feeds.setdefault(e.dst, []).append(e.src)
        elif e.src_node in sel and e.dst_node not in sel and e.src not in reads:
            reads.append(e.src)
    groups: dict[tuple, list[str]] = {}
    for dst, srcs in feeds.items():
        groups.setdefault(tuple(srcs), []).append(dst)
    inputs = _named([targets for targets in groups.values()])
    outputs = _named([[src] for src in reads])
    return inputs, outputs


def _named(target_lists: list[list[str]]) -> list[BoundaryPort]:
    """Boundary ports with default names for ``target_lists`` (see infer_boundary)."""
    simple = []
    for targets in target_lists:
        names = {split_ref(t)[1] for t in targets}
        simple.append(names.pop() if len(names) == 1 else None)
    out, taken = [], set()
    for targets, name in zip(target_lists, simple):
        if name is None or simple.count(name) > 1:
            node, port = split_ref(targets[0])
            name = f"{node}_{port}"
        name = free_name(name, taken)
        taken.add(name)
        out.append(BoundaryPort(name, list(targets)))
    return out


def current_value(graph: Graph, ref: str, types: Types | None = None):
    """The value in force of parameter "node.param" of a graph node (its default if unset)."""
    types = types or Types(graph)
    nid, q = split_ref(ref)
    node = graph.nodes.get(nid)
    if node is None:
        raise CompositeError(f"no node '{nid}'")
    if q in node.params:
        return node.params[q]
    prm = types.param_of(node.type, q, values=node.params)
    if prm is None:
        raise CompositeError(f"node '{nid}' ({node.type}) has no parameter '{q}'")
    if prm.required:
        raise CompositeError(f"parameter '{ref}' has no value")
    return prm.default


def _rename_ports(ports: list[BoundaryPort], names: dict, way: str) -> list[BoundaryPort]:
    out = []
    for bp in ports:
        new = names.get(f"{way}:{bp.name}", names.get(bp.name, bp.name))
        bad = check_name(new, "port name")
        if bad:
            raise CompositeError(bad)
        out.append(BoundaryPort(new, list(bp.targets), bp.help))
    seen = [bp.name for bp in out]
    dup = sorted({n for n in seen if seen.count(n) > 1})
    if dup:
        raise CompositeError(f"two {way}put ports would be called {', '.join(map(repr, dup))}")
    return out


def _promoted(graph: Graph, sel: list[str], promoted, types: Types) -> tuple[list[Promoted],
                                                                             dict]:
    """Complete the promoted parameters (defaults from the current values); the instance's
    overrides where a given default differs from the current value."""
    out, overrides, seen = [], {}, set()
    for p in promoted:
        bad = check_name(p.name, "promoted parameter name")
        if bad:
            raise CompositeError(bad)
        if p.name in seen:
            raise CompositeError(f"two promoted parameters are called '{p.name}'")
        seen.add(p.name)
        if not p.drives:
            raise CompositeError(f"promoted parameter '{p.name}' drives nothing")
        values, kinds = [], set()
        for ref in p.drives:
            nid, q = split_ref(ref)
            if nid not in sel:
                raise CompositeError(f"promoted parameter '{p.name}' drives '{ref}', which is "
                                     "not in the selection")
            prm = types.param_of(graph.nodes[nid].type, q, values=graph.nodes[nid].params)
            if prm is None:
                raise CompositeError(f"node '{nid}' ({graph.nodes[nid].type}) has no parameter "
                                     f"'{q}'")
            kinds.add(prm.kind)
            values.append(current_value(graph, ref, types))
        if len(kinds) > 1:
            raise CompositeError(f"promoted parameter '{p.name}' drives parameters of different "
                                 f"kinds ({', '.join(sorted(kinds))})")
        if any(v != values[0] for v in values):
            shown = ", ".join(f"{r} = {v!r}" for r, v in zip(p.drives, values))
            raise CompositeError(f"promoted parameter '{p.name}' would give one value to "
                                 f"parameters that differ now ({shown}); promote them apart")
        q = p.copy()
        if q.default is None:
            q.default = values[0]
        elif q.default != values[0]:
            overrides[q.name] = values[0]
        out.append(q)
    return out, overrides


def make_component(graph: Graph, node_ids, type_name: str, category: str = COMPOSITE_CATEGORY,
                   description: str = "", port_names: dict | None = None,
                   promoted=(), instance_id: str | None = None) -> tuple[Graph, Definition]:
    """Replace the nodes ``node_ids`` by one instance of a new component ``type_name``.

    ``port_names`` renames inferred boundary ports ({inferred: new}, or "in:x"/"out:x" for one
    direction); ``promoted`` lists Promoted parameters (``default`` None: the current value).
    Returns (new graph, the definition). The connections are kept and so is the behaviour (see
    the module docstring). Raises CompositeError with the reason when it cannot be done.
    """
    types = Types(graph)
    sel = _selection(graph, node_ids)
    bad = check_name(type_name, "component name")
    if bad:
        raise CompositeError(bad)
    if types.known(type_name):
        raise CompositeError(f"a node type called '{type_name}' already exists")
    inputs, outputs = infer_boundary(graph, sel)
    names = dict(port_names or {})
    inputs = _rename_ports(inputs, names, "in")
    outputs = _rename_ports(outputs, names, "out")
    params, overrides = _promoted(graph, sel, list(promoted), types)
    chosen = set(sel)
    defn = Definition(type_name, category, description,
                      {n: graph.nodes[n].copy() for n in sel},
                      [e for e in graph.edges if e.src_node in chosen and e.dst_node in chosen],
                      inputs, outputs, params)
    rest = [n for n in graph.nodes if n not in chosen]
    iid = instance_id or free_name(type_name, set(rest))
    if iid in rest or check_name(iid, "node id"):
        raise CompositeError(f"cannot use '{iid}' as the instance's id: "
                             + ("it is taken" if iid in rest else check_name(iid, "node id")))
    cx, cy = centroid(graph.nodes[n] for n in sel)
    inst = Node(iid, type_name, overrides, (cx, cy), seed_id="")
    new = graph.copy()
    new.nodes = {}
    for nid, node in graph.nodes.items():
        if nid == sel[0]:
            new.nodes[iid] = inst
        if nid not in chosen:
            new.nodes[nid] = node.copy()
    in_port = {t: bp.name for bp in inputs for t in bp.targets}
    out_port = {bp.targets[0]: bp.name for bp in outputs}
    edges, seen = [], set()
    for e in graph.edges:
        a, b = e.src_node in chosen, e.dst_node in chosen
        if a and b:
            continue
        edge = Edge(e.src, f"{iid}.{in_port[e.dst]}") if b else (
            Edge(f"{iid}.{out_port[e.src]}", e.dst) if a else e)
        if edge not in seen:
            seen.add(edge)
            edges.append(edge)
    new.edges = edges
    _replace_in_backdrops(new.meta, chosen, [iid])
    for name, d in used_definitions(graph, types, sel).items():
        new.definitions.setdefault(name, d.copy())
    new.definitions[type_name] = defn
    return new, defn.copy()


def _replace_in_backdrops(meta: dict, old: set, new: list[str]) -> None:
    backdrops = meta.get("backdrops")
    if not isinstance(backdrops, list):
        return
    for b in backdrops:
        if isinstance(b, dict) and isinstance(b.get("nodes"), list):
            if any(n in old for n in b["nodes"]):
                kept = [n for n in b["nodes"] if n not in old]
                b["nodes"] = kept + [n for n in new if n not in kept]


def unpack(graph: Graph, instance_id: str) -> Graph:
    """Replace instance ``instance_id`` by its inner nodes (one level; inner instances stay
    instances), with the values its promoted parameters gave them and the same connections and
    random numbers. The definition stays in the graph."""
    types = Types(graph)
    node = graph.nodes.get(instance_id)
    if node is None:
        raise CompositeError(f"no node '{instance_id}'")
    defn = types.definition(node.type)
    if defn is None:
        raise CompositeError(f"'{instance_id}' ({node.type}) is not a composite component")
    inner = {n.id: n.copy() for n in defn.nodes.values()}
    for p in defn.params:
        value = node.params.get(p.name, p.default)
        for ref in p.drives:
            nid, q = split_ref(ref)
            if nid in inner and (q in inner[nid].params or value != _default(types, inner[nid], q)):
                inner[nid].params[q] = value  # (a value equal to the default stays implicit)
    taken = set(graph.nodes) - {instance_id}
    ids = {}
    for x in inner:
        ids[x] = x if x not in taken else free_name(f"{instance_id}_{x}", taken)
        taken.add(ids[x])
    scope = join_seed("", instance_id if node.seed_id is None else node.seed_id)
    cx, cy = centroid(inner.values())
    placed = []
    for x, n in inner.items():
        key = join_seed(scope, x if n.seed_id is None else n.seed_id)
        placed.append(Node(ids[x], n.type, n.params,
                           (n.position[0] - cx + node.position[0],
                            n.position[1] - cy + node.position[1]),
                           None if key == ids[x] else key))
    edges = _unpacked_edges(graph, node, defn, ids)
    new = graph.copy()
    new.nodes = {}
    for nid, n in graph.nodes.items():
        if nid == instance_id:
            new.nodes.update({p.id: p for p in placed})
        else:
            new.nodes[nid] = n.copy()
    new.edges = list(dict.fromkeys(edges))
    _replace_in_backdrops(new.meta, {instance_id}, [p.id for p in placed])
    for name, d in used_definitions(graph, types, [instance_id]).items():
        new.definitions.setdefault(name, d.copy())
    return new


def _unpacked_edges(graph: Graph, node: Node, defn: Definition, ids: dict) -> list[Edge]:
    """The inner edges (renamed by ``ids``) first, then the graph's edges with the ends at the
    instance ``node`` moved to the inner ports they map to."""
    ins = {bp.name: bp.targets for bp in defn.inputs}
    outs = {bp.name: bp.targets[0] for bp in defn.outputs}

    def inner_ref(ref):
        nid, q = split_ref(ref)
        return f"{ids[nid]}.{q}"

    edges = [Edge(inner_ref(e.src), inner_ref(e.dst)) for e in defn.edges]
    for e in graph.edges:
        srcs, dsts = [e.src], [e.dst]
        for end, way, table in ((e.src, "leaves from", outs), (e.dst, "goes into", ins)):
            nid, port = split_ref(end)
            if nid != node.id:
                continue
            if port not in table:
                raise CompositeError(f"cannot unpack: edge {e.src} -> {e.dst} {way} a port "
                                     f"'{node.type}' does not have")
            if way == "leaves from":
                srcs = [inner_ref(table[port])]
            else:
                dsts = [inner_ref(t) for t in table[port]]
        edges += [Edge(s, d) for s in srcs for d in dsts]
    return edges


def _default(types: Types, node: Node, name: str):
    prm = types.param_of(node.type, name, values=node.params)
    return None if prm is None or prm.required else prm.default


def _check_cycles(defs: dict, types: Types, name: str) -> None:
    for cyc in find_cycles({name: defs[name]}, types):
        raise CompositeError(f"component '{cyc[0]}' would contain itself: {' -> '.join(cyc)}")


def update_definition(graph: Graph, definition: Definition, *, renamed_from: str | None = None,
                      port_renames: dict | None = None,
                      param_renames: dict | None = None) -> Graph:
    """The graph with ``definition`` in place of the one of its name (or of ``renamed_from``):
    every instance follows. ``port_renames``/``param_renames`` ({old: new}) carry renamed
    boundary ports and promoted parameters over to the edges and overrides of every instance
    (in the graph and inside other definitions). A definition containing itself, directly or
    through others, is refused with the cycle named."""
    name = definition.type_name
    old = renamed_from or name
    bad = check_name(name, "component name")
    if bad:
        raise CompositeError(bad)
    types = Types(graph)
    if name != old and types.known(name):
        raise CompositeError(f"a node type called '{name}' already exists")
    if types.component(name) is not None:
        raise CompositeError(f"a built-in node type is called '{name}'")
    new = graph.copy()
    defs = {(name if k == old else k): d for k, d in new.definitions.items()}
    defs[name] = definition.copy()
    trial = Types(new, types.reg, defs)
    _check_cycles(defs, trial, name)
    ports = dict(port_renames or {})
    params = dict(param_renames or {})
    new.nodes, new.edges = _follow(new.nodes, new.edges, old, name, ports, params)
    for k, d in defs.items():
        if k == name:
            continue
        d.nodes, d.edges = _follow(d.nodes, d.edges, old, name, ports, params)
        for bp in d.inputs + d.outputs:
            bp.targets = [_rename_ref(r, d.nodes, name, ports) for r in bp.targets]
        for p in d.params:
            p.drives = [_rename_ref(r, d.nodes, name, params) for r in p.drives]
    new.definitions = defs
    return new


def _rename_ref(ref: str, nodes: dict, type_name: str, renames: dict) -> str:
    nid, q = split_ref(ref)
    node = nodes.get(nid)
    if node is not None and node.type == type_name and q in renames:
        return f"{nid}.{renames[q]}"
    return ref


def _follow(nodes: dict, edges: list, old: str, name: str, ports: dict, params: dict):
    """Nodes and edges of one level with instances of ``old`` turned into ``name``, their
    overrides and edges renamed."""
    out = {}
    for nid, n in nodes.items():
        n = n.copy()
        if n.type == old:
            n.type = name
            n.params = {params.get(k, k): v for k, v in n.params.items()}
        out[nid] = n
    new_edges = [Edge(_rename_ref(e.src, out, name, ports), _rename_ref(e.dst, out, name, ports))
                 for e in edges]
    return out, list(dict.fromkeys(new_edges))


def flatten(graph: Graph) -> Graph:
    """The equivalent graph without composites: inner nodes under dotted ids, the same
    behaviour (engine/composite/flatten.py). Raises GraphError when the composites are broken
    (a cycle, a missing port or parameter of a definition, ...)."""
    types = Types(graph)
    flat = flatten_level(graph, types)
    problems = list(flat.problems)
    for defn in used_definitions(graph, types).values():
        problems += check_definition(defn, types)
    if problems:
        raise GraphError(problems)
    return flat.graph


def instantiate(graph: Graph, type_name: str, position=(0.0, 0.0),
                node_id: str | None = None) -> tuple[Graph, str]:
    """The graph with a new node of ``type_name`` (a definition from the graph or the library,
    embedded with the ones it uses; or a built-in type with its defaults); returns (graph, id)."""
    types = Types(graph)
    if not types.known(type_name):
        raise CompositeError(f"unknown node type '{type_name}'")
    nid = node_id or graph.unique_id(type_name)
    if nid in graph.nodes:
        raise CompositeError(f"a node with id '{nid}' already exists")
    new = graph.copy()
    cls = types.component(type_name)
    params = {} if cls is None else {p.name: p.default for p in cls.params if not p.required}
    new.nodes[nid] = Node(nid, type_name, params, (float(position[0]), float(position[1])))
    for name, d in used_definitions(new, types, [nid]).items():
        new.definitions.setdefault(name, d.copy())
    return new, nid


def merge_definitions(graph: Graph, definitions) -> tuple[Graph, list[str]]:
    """The graph with ``definitions`` (a dict or list) added where it has none of that name;
    returns (graph, names it already had with a different content: not replaced)."""
    items = definitions.values() if isinstance(definitions, dict) else definitions
    new = graph.copy()
    conflicts = []
    for d in items:
        have = new.definitions.get(d.type_name)
        if have is None:
            new.definitions[d.type_name] = d.copy()
        elif have != d:
            conflicts.append(d.type_name)
    return new, conflicts


def embed_used(graph: Graph) -> Graph:
    """``graph`` itself, or a copy with the library definitions it uses (nested ones too)
    embedded, so that the file opens anywhere."""
    types = Types(graph)
    wanted = definitions_closure(types, [n.type for n in graph.nodes.values()]
                                 + [t for d in graph.definitions.values() for t in d.uses()])
    missing = {k: d for k, d in wanted.items() if k not in graph.definitions}
    if not missing:
        return graph
    new = graph.copy()
    for k, d in missing.items():
        new.definitions[k] = d.copy()
    return new


def definition_graph(graph: Graph, type_name: str) -> Graph:
    """A definition's inside as a Graph to edit in its own canvas (the host's settings and
    definitions, so nested instances resolve). Save it back with ``with_body`` and
    ``update_definition``."""
    defn = Types(graph).definition(type_name)
    if defn is None:
        raise CompositeError(f"no component called '{type_name}'")
    g = Graph(dict(graph.settings), {k: n.copy() for k, n in defn.nodes.items()},
              list(defn.edges), dict(defn.meta),
              {k: d.copy() for k, d in graph.definitions.items()})
    return g


def with_body(definition: Definition, body: Graph) -> Definition:
    """``definition`` with the nodes, edges and meta of ``body`` (its ports and promoted
    parameters unchanged; validation reports those that no longer fit)."""
    d = definition.copy()
    d.nodes = {k: n.copy() for k, n in body.nodes.items()}
    d.edges = list(body.edges)
    d.meta = dict(body.meta)
    return d
