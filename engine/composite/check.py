"""Validation of graphs that use composite components.

Every definition is checked on its own (its structure, then its inside flattened and analyzed by
engine/validate.py with its promoted parameters at their defaults and its boundary inputs counted
as connected), then the graph is flattened and analyzed as a whole. Each problem found in a
flattened graph is traced back (engine/composite/flatten.py ``Flat``):

* a parameter whose value came from a promoted parameter -> the instance (or, for a default,
  the definition) and the promoted parameter;
* an inner port an instance port maps to -> the instance and its port (the boundary);
* anything else inside an instance -> the definition and its inner node (``Problem.definition``),
  reported once for all instances (with "(in col2)" when only one instance has it).

Everything is listed at once; identical problems once.
"""
from __future__ import annotations

import re

from spark_snn.components.base import Port

from ..graph import Graph
from ..problems import Problem
from ..validate import Analysis, NodeInfo, analyze, check_value
from .flatten import MAX_FLAT_NODES, MAX_NESTING, Flat, expanded_size, flatten_level
from .model import Definition, check_name, split_ref
from .types import Types


def uses_composites(graph: Graph, reg=None) -> bool:
    """True when ``graph`` embeds definitions or has a node of a library definition's type."""
    if graph.definitions:
        return True
    types = Types(graph, reg)
    return any(types.definition(n.type) is not None for n in graph.nodes.values())


def used_definitions(graph: Graph, types: Types | None = None,
                      node_ids=None) -> dict[str, Definition]:
    """The definitions the nodes ``node_ids`` (default: all) use, directly or nested, in order of
    first use."""
    types = types or Types(graph)
    ids = graph.nodes if node_ids is None else node_ids
    return definitions_closure(types, [graph.nodes[n].type for n in ids])


def definitions_closure(types: Types, names) -> dict[str, Definition]:
    """The definitions among the type ``names`` and those they use, nested, first use first."""
    out: dict[str, Definition] = {}
    todo = list(names)
    while todo:
        name = todo.pop(0)
        defn = types.definition(name)
        if defn is None or name in out:
            continue
        out[name] = defn
        todo += defn.uses()
    return out


def find_cycles(defs: dict[str, Definition], types: Types) -> list[tuple[str, ...]]:
    """Each cycle of definitions containing themselves, as (a, b, ..., a), once."""
    cycles, seen = [], set()

    def visit(name, stack):
        if len(stack) > MAX_NESTING:
            return  # reported by flattening
        if name in stack:
            cyc = tuple(stack[stack.index(name):]) + (name,)
            key = frozenset(cyc)
            if key not in seen:
                seen.add(key)
                cycles.append(cyc)
            return
        defn = types.definition(name)
        if defn is None:
            return
        for t in defn.uses():
            visit(t, stack + [name])

    for name in defs:
        visit(name, [])
    return cycles


def check_definition(defn: Definition, types: Types) -> list[Problem]:
    """Problems of a definition's own structure: names, ports and promoted parameters."""
    name = defn.type_name
    out: list[Problem] = []
    if types.component(name) is not None:
        out.append(Problem(f"a built-in node type is called '{name}'; give the component "
                           "another name", definition=name))
    out += _check_ports(defn)
    out += _check_promoted(defn, types)
    return out


def _check_ports(defn: Definition) -> list[Problem]:
    out = []
    for way, ports in (("input", defn.inputs), ("output", defn.outputs)):
        seen = set()
        for bp in ports:
            msgs = [check_name(bp.name, f"{way} port name")]
            if bp.name in seen:
                msgs.append(f"two {way} ports are called '{bp.name}'")
            seen.add(bp.name)
            msgs += [f"{way} port '{bp.name}' maps to '{ref}', but there is no inner node "
                     f"'{split_ref(ref)[0]}'" for ref in bp.targets
                     if split_ref(ref)[0] not in defn.nodes]
            out += [Problem(m, port=bp.name, definition=defn.type_name) for m in msgs if m]
    return out


def _check_promoted(defn: Definition, types: Types) -> list[Problem]:
    out: list[Problem] = []
    driven: dict[str, str] = {}
    seen = set()
    for p in defn.params:
        msgs = [check_name(p.name, "promoted parameter name")]
        if p.name in seen:
            msgs.append(f"two promoted parameters are called '{p.name}'")
        seen.add(p.name)
        kinds = {}
        for ref in p.drives:
            target, why = _driven_param(defn, p.name, ref, types)
            if target is None:
                msgs.append(why)
                continue
            kinds[ref] = target.kind
            if ref in driven:
                msgs.append(f"'{ref}' is driven by two promoted parameters ('{driven[ref]}' and "
                            f"'{p.name}')")
            driven[ref] = p.name
        spec = types.promoted_spec(defn, p)
        if len(set(kinds.values())) > 1:
            msgs.append(f"promoted parameter '{p.name}' drives parameters of different kinds: "
                        + ", ".join(f"{r} ({k})" for r, k in kinds.items()))
        elif spec is not None and check_value(spec, p.default):
            msgs.append(f"default of promoted parameter '{p.name}': "
                        f"{check_value(spec, p.default)}")
        out += [Problem(m, param=p.name, definition=defn.type_name) for m in msgs if m]
    return out


def _driven_param(defn: Definition, pname: str, ref: str, types: Types):
    """(the inner Param that ``ref`` names, None) or (None, why there is none)."""
    import difflib
    nid, q = split_ref(ref)
    node = defn.nodes.get(nid)
    if node is None:
        return None, (f"promoted parameter '{pname}' drives '{ref}', but there is no inner "
                      f"node '{nid}'")
    target = types.target_param(defn, ref)
    if target is not None:
        return target, None
    names = [t.name for t in types.params_of(node.type, values=node.params)]
    close = difflib.get_close_matches(q, names, n=1, cutoff=0.5)
    hint = f"; did you mean '{nid}.{close[0]}'?" if close else ""
    return None, (f"promoted parameter '{pname}' drives '{ref}', but node '{nid}' "
                  f"({node.type}) has no parameter '{q}'{hint}")


def _level_ends(flat: Flat, ref: str, way: str):
    """(flat "node.port" ends, or None when unknown) of a boundary port target at the level of
    a definition checked on its own."""
    nid, q = split_ref(ref)
    inst = flat.instances.get(nid)
    if inst is not None:
        table = inst.inputs if way == "in" else inst.outputs
        got = table.get(q)
        return None if got is None else (list(got) if way == "in" else [got])
    return [ref] if nid in flat.graph.nodes else None


def _check_boundary(defn: Definition, flat: Flat, infos: dict) -> list[Problem]:
    """Boundary targets that are no port of the right direction, or mix kinds."""
    out = []
    for way, ports in (("in", defn.inputs), ("out", defn.outputs)):
        word = "input" if way == "in" else "output"
        for bp in ports:
            kinds = {}
            for ref in bp.targets:
                nid, q = split_ref(ref)
                if nid not in defn.nodes:
                    continue  # reported by check_definition
                ends = _level_ends(flat, ref, way)
                if ends is None:
                    inst = flat.instances.get(nid)
                    if inst is not None:
                        out.append(Problem(f"{word} port '{bp.name}' maps to '{ref}', but "
                                           f"component '{inst.definition}' has no {word} port "
                                           f"'{q}'", port=bp.name, definition=defn.type_name))
                    continue
                for end in ends:
                    en, ep = split_ref(end)
                    info = infos.get(en)
                    if info is None:
                        continue
                    table = info.inputs if way == "in" else info.outputs
                    if ep not in table:
                        out.append(Problem(
                            f"{word} port '{bp.name}' maps to '{ref}', but node '{nid}' has no "
                            f"{word} port '{q}' (it has: {', '.join(table) or 'none'})",
                            port=bp.name, definition=defn.type_name))
                        continue
                    kinds[ref] = table[ep].kind
            if len(set(kinds.values())) > 1:
                out.append(Problem(f"input port '{bp.name}' maps to ports of different kinds: "
                                   + ", ".join(f"{r} ({k})" for r, k in kinds.items()),
                                   port=bp.name, definition=defn.type_name))
    return out


def _strip(message: str, path: str) -> str:
    """``message`` with the flat prefix ``path.`` taken off the ids it mentions."""
    if not path:
        return message
    return re.sub(rf"(?<![\w.-]){re.escape(path)}\.", "", message)


def _trace(p: Problem, flat: Flat, container: str | None, standalone: set) -> Problem:
    """A problem of a flattened graph, told where it is in the composite graph."""
    def at(definition, ctx, msg, **where):
        msg = _strip(msg, ctx)
        if definition is not None and ctx and (definition, where.get("node"),
                                               where.get("param"), where.get("port"),
                                               msg) not in standalone:
            msg = f"{msg} (in {ctx})"
        return Problem(msg, severity=p.severity, definition=definition, **where)

    if p.node is None or p.node not in flat.origin:
        return p if p.node is None or container is None else Problem(
            p.message, p.node, p.param, p.port, severity=p.severity, definition=container)
    parent, cont, local = flat.origin[p.node]
    src = flat.param_source.get((p.node, p.param)) if p.param else None
    if src is not None:
        path, pname = src
        what = f"{_strip(p.message, parent)} (through {local}.{p.param})"
        if path == "":
            return Problem(f"default of promoted parameter '{pname}': {what}", param=pname,
                           severity=p.severity, definition=container)
        inst = flat.instances[path]
        return at(inst.container, inst.parent, what, node=inst.local, param=pname)
    if p.port is not None:
        hit = flat.boundary.get((p.node, p.port, "in")) or flat.boundary.get(
            (p.node, p.port, "out"))
        if hit is not None:
            inst = flat.instances[hit[0]]
            return at(inst.container, inst.parent, p.message, node=inst.local, port=hit[1])
    return at(cont, parent, p.message, node=local, param=p.param, port=p.port)


def _key(p: Problem):
    return (p.definition, p.node, p.param, p.port, p.message)


def _standalone(defn: Definition, graph: Graph, types: Types,
                standalone: set) -> tuple[list[Problem], Flat, Analysis]:
    """A definition checked on its own (see the module docstring)."""
    flat = flatten_level(graph, types, defn)
    external = set()
    for bp in defn.inputs:
        for ref in bp.targets:
            for end in _level_ends(flat, ref, "in") or ():
                external.add(tuple(split_ref(end)))
    a = analyze(flat.graph, external=frozenset(external))
    # (the settings' own problems are the graph's, reported by its own pass)
    probs = [_trace(p, flat, defn.type_name, standalone) for p in a.problems
             if p.node is not None]
    probs += flat.problems + _override_problems(flat, types)
    return probs + _check_boundary(defn, flat, a.nodes), flat, a


def analyze_definition(graph: Graph, type_name: str) -> list[Problem]:
    """Every problem of one definition (of ``graph`` or the library) on its own, each with
    ``definition`` set: what the editor shows while the definition is open in its own tab.
    Its boundary inputs count as connected; nothing about its instances is included."""
    types = Types(graph)
    defn = types.definition(type_name)
    if defn is None:
        raise KeyError(f"no component called '{type_name}'")
    problems = check_definition(defn, types)
    cycles = find_cycles({type_name: defn}, types)
    problems += [Problem(f"component '{c[0]}' contains itself: {' -> '.join(c)}",
                         definition=c[0]) for c in cycles]
    if not cycles and expanded_size(types, type_name, {}) <= MAX_FLAT_NODES:
        standalone: set = set()
        for inner in _inner_first(definitions_closure(types, defn.uses()), types):
            standalone |= {_key(p) for p in _standalone(inner, graph, types, standalone)[0]}
        problems += _standalone(defn, graph, types, standalone)[0]
    return _unique(problems)


def analyze_composite(graph: Graph) -> Analysis:
    """``engine.analyze`` for a graph that uses composites (see the module docstring)."""
    types = Types(graph)
    problems: list[Problem] = list(graph.load_problems)
    defs = dict(graph.definitions)
    defs.update(used_definitions(graph, types))
    cycles = find_cycles(defs, types)
    in_cycle = {n for c in cycles for n in c}
    for c in cycles:
        problems.append(Problem(f"component '{c[0]}' contains itself: {' -> '.join(c)}",
                                definition=c[0]))
    standalone: set = set()
    sizes: dict = {}
    for defn in _inner_first(defs, types):
        problems += check_definition(defn, types)
        if defn.type_name in in_cycle or \
                expanded_size(types, defn.type_name, sizes) > MAX_FLAT_NODES:
            continue  # (too large: its instances say so)
        probs, _, _ = _standalone(defn, graph, types, standalone)
        problems += probs
        standalone |= {_key(p) for p in probs}
    flat = flatten_level(graph, types)
    a = analyze(flat.graph)
    problems += flat.problems
    problems += _override_problems(flat, types)
    said = {(p.definition, p.node, p.param) for p in problems if p.param}
    for p in a.problems:
        t = _trace(p, flat, None, standalone)
        if t.param and t.port is None and (t.definition, t.node, t.param) in said \
                and t.node in {i.local for i in flat.instances.values()}:
            continue  # the override itself is already reported as out of range
        problems.append(_suggest_types(t, flat, types))
    nodes = dict(a.nodes)
    nodes.update(instance_infos(flat, a.nodes, types))
    return Analysis(_unique(problems), nodes, flat=flat)


def _suggest_types(p: Problem, flat: Flat, types: Types) -> Problem:
    """An unknown type's problem, with the composites of the graph among the suggestions."""
    node = flat.graph.nodes.get(p.node) if p.node is not None else None
    if node is None or types.known(node.type) or "did you mean" in p.message \
            or not p.message.startswith("unknown node type"):
        return p
    import difflib
    close = difflib.get_close_matches(node.type, types.names(), n=3, cutoff=0.5)
    if not close:
        return p
    return Problem(f"{p.message}; did you mean {' or '.join(repr(c) for c in close)}?", p.node,
                   p.param, p.port, severity=p.severity, definition=p.definition)


def _inner_first(defs: dict, types: Types) -> list[Definition]:
    """``defs`` with every definition after the ones it contains (cycles: in any order)."""
    out, seen = [], set()

    def visit(name, stack):
        d = types.definition(name) if name not in defs else defs[name]
        if d is None or name in seen or name in stack or len(stack) > MAX_NESTING:
            return
        for t in d.uses():
            visit(t, stack + (name,))
        seen.add(name)
        if name in defs:
            out.append(d)

    for name in defs:
        visit(name, ())
    return out


def _override_problems(flat: Flat, types: Types) -> list[Problem]:
    """Overrides out of their promoted parameter's range, each reported once, on the outermost
    instance whose value it is."""
    out, said = [], set()
    for inst in flat.instances.values():
        defn = types.definition(inst.definition)
        for k in inst.overrides:
            spec = types.promoted_spec(defn, defn.promoted(k))
            msg = check_value(spec, inst.values[k]) if spec is not None else None
            if msg:
                src = flat.param_source.get((inst.path, k))
                if src is not None and src[0] != inst.path:
                    outer = flat.instances.get(src[0])
                    if outer is not None:
                        if (outer.path, src[1]) not in said:
                            said.add((outer.path, src[1]))
                            out.append(Problem(f"{msg} (through {inst.local}.{k})",
                                               node=outer.local, param=src[1],
                                               definition=outer.container))
                        continue
                said.add((inst.path, k))
                out.append(Problem(msg, node=inst.local, param=k, definition=inst.container))
    return out


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def instance_infos(flat: Flat, infos: dict, types: Types) -> dict[str, NodeInfo]:
    """A NodeInfo for every instance (its promoted values and boundary ports), inner ones first
    so that a boundary mapping to an inner instance's port finds it."""
    out: dict[str, NodeInfo] = {}
    for path in sorted(flat.instances, key=lambda p: -p.count(".")):
        inst = flat.instances[path]
        defn = types.definition(inst.definition)
        ins = {bp.name: _boundary_port(bp, defn, inst, infos, out, "in") for bp in defn.inputs}
        outs = {bp.name: _boundary_port(bp, defn, inst, infos, out, "out")
                for bp in defn.outputs}
        out[path] = NodeInfo(dict(inst.values), ins, outs)
    return out


def _boundary_port(bp, defn, inst, infos, done, way) -> Port:
    """The Port an instance shows for boundary port ``bp``."""
    kind, size, multi, required = None, None, True, False
    fed_inside = {e.dst for e in defn.edges}
    for ref in bp.targets:
        nid, q = split_ref(ref)
        info = infos.get(f"{inst.path}.{nid}") or done.get(f"{inst.path}.{nid}")
        if info is None:
            continue
        port = (info.inputs if way == "in" else info.outputs).get(q)
        if port is None:
            continue
        kind = kind or port.kind
        n = info.port_size(port)
        size = size if n is None else n
        multi = multi and port.multi
        required = required or (port.required and ref not in fed_inside)
    return Port(bp.name, kind or "value", size if size is not None else f"?{bp.name}",
                multi=multi if way == "in" else False, required=required and way == "in",
                help=bp.help)


def lone_instance_info(defn: Definition, types: Types, config: dict) -> NodeInfo:
    """The NodeInfo of one unconnected instance of ``defn`` with promoted values ``config``."""
    from ..graph import Node
    g = Graph(definitions=dict(types.defs))
    g.definitions[defn.type_name] = defn
    g.nodes["x"] = Node("x", defn.type_name, dict(config))
    flat = flatten_level(g, Types(g, types.reg))
    a = analyze(flat.graph)
    return instance_infos(flat, a.nodes, types).get("x") or NodeInfo(dict(config), {}, {})
