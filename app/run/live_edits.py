"""What an edit changed, as the running simulation sees it (no Qt; easy to test).

The run UI does not trust the editor to describe its edits: after every change (a single or a
multi-node inspector edit, undo, redo, paste, a rename, ...) it compares the graph before and
after (``diff_graphs``) and gets

* the renames (a node that kept its type, parameters, position and edges under a new id),
  which the running model follows without a rebuild;
* the live parameter changes (numeric, non-structural: ``Param.live``), which go to the
  running simulation as they are;
* everything else, described for the user ("'pool.size' changed", "node 'lif_2' added",
  "edge a.spikes -> b.pre removed", "setting 'dt' changed"): the model must be rebuilt.

Positions and ``meta`` (backdrops) do not concern the simulation. ``structure_key`` is what a
model is built from (everything but live values, positions and meta): the run is up to date
when the key of the graph equals the key of the graph it was built from (undoing a structural
change that was not applied makes it so again).

Composite components: a promoted parameter of an instance is live when the inner parameters
it sets are (the engine sets them all); a changed definition ("component 'column' changed",
e.g. saved from its tab in the editor) is a structural change.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from spark_snn.components.base import DeclarationError
from spark_snn.engine import Graph, registry
from spark_snn.engine.composite import DefinitionType, node_type


@dataclass
class GraphChange:
    """The differences between two versions of a graph (see the module docstring)."""

    renames: list[tuple[str, str]] = field(default_factory=list)   # (old id, new id)
    live: list[tuple[str, str, object]] = field(default_factory=list)  # (node, param, value)
    structural: list[str] = field(default_factory=list)            # what changed, in words

    def __bool__(self) -> bool:
        return bool(self.renames or self.live or self.structural)

    def summary(self, limit: int = 4) -> str:
        """The structural changes in one line (at most ``limit`` named, then a count)."""
        items = self.structural[:limit]
        more = len(self.structural) - len(items)
        return "; ".join(items) + (f"; and {more} more change(s)" if more > 0 else "")


def _param_spec(node, name: str, graph: Graph | None = None):
    """The declared Param of ``node`` (its own parameters: an equation-defined node's come from
    its model text; an instance's, its component's promoted one), or None (an unknown type or
    parameter, or a model text with errors)."""
    reg = registry()
    if node.type not in reg:
        t = _definition_type(graph, node.type)
        try:
            return t.param(name) if t is not None else None
        except KeyError:
            return None
    try:
        return reg.get(node.type).node_param(node.params, name)
    except (KeyError, DeclarationError):
        return None


def _definition_type(graph, type_name: str):
    if graph is None:
        return None
    try:
        t = node_type(graph, type_name)
    except Exception:  # a broken definition: its instances' parameters count as structural
        return None
    return t if isinstance(t, DefinitionType) else None


def _value(node, name, graph=None):
    if name in node.params:
        return node.params[name]
    prm = _param_spec(node, name, graph)
    return None if prm is None or prm.required else prm.default


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return float(a) == float(b)
    return a == b and type(a) is type(b)


def _is_live(node, name: str, graph=None) -> bool:
    prm = _param_spec(node, name, graph)
    return prm is not None and prm.live


def _renamed_edges(edges, mapping):
    def fix(end):
        n, p = end.rsplit(".", 1)
        return f"{mapping.get(n, n)}.{p}"
    return [(fix(e.src), fix(e.dst)) for e in edges]


def _find_renames(before: Graph, after: Graph) -> dict[str, str]:
    """old id -> new id for nodes that only changed their id (same type, parameters and
    position; the edges are checked by the caller)."""
    gone = [n for n in before.nodes if n not in after.nodes]
    new = [n for n in after.nodes if n not in before.nodes]
    mapping: dict[str, str] = {}
    for old in gone:
        a = before.nodes[old]
        for cand in new:
            b = after.nodes[cand]
            if cand not in mapping.values() and a.type == b.type and a.params == b.params \
                    and tuple(a.position) == tuple(b.position):
                mapping[old] = cand
                break
    return mapping


def diff_graphs(before: Graph, after: Graph) -> GraphChange:
    """What changed from ``before`` to ``after`` (see the module docstring)."""
    change = GraphChange()
    mapping = _find_renames(before, after)
    if mapping and _renamed_edges(before.edges, mapping) != _renamed_edges(after.edges, {}):
        mapping = {}   # the edges changed too: not a plain rename
    change.renames = list(mapping.items())

    for key in sorted(set(before.settings) | set(after.settings)):
        if not _same(before.settings.get(key), after.settings.get(key)):
            change.structural.append(f"setting '{key}' changed")

    kept = {mapping.get(n, n) for n in before.nodes}
    removed = [n for n in before.nodes if mapping.get(n, n) not in after.nodes]
    added = [n for n in after.nodes if n not in kept]
    if removed:
        change.structural.append(_nodes_text(removed, "removed"))
    if added:
        change.structural.append(_nodes_text(added, "added"))
    common_before = [mapping.get(n, n) for n in before.nodes if mapping.get(n, n) in after.nodes]
    common_after = [n for n in after.nodes if n in set(common_before)]
    if common_before != common_after:
        change.structural.append("the order of the nodes changed")

    for old, node_b in before.nodes.items():
        nid = mapping.get(old, old)
        node_a = after.nodes.get(nid)
        if node_a is None:
            continue
        if node_a.type != node_b.type:
            change.structural.append(f"'{nid}' changed type to '{node_a.type}'")
            continue
        for name in sorted(set(node_b.params) | set(node_a.params),
                           key=lambda k: (k not in node_a.params, k)):
            va, vb = _value(node_a, name, after), _value(node_b, name, before)
            if _same(va, vb):
                continue
            if _is_live(node_a, name, after) and va is not None:
                change.live.append((nid, name, va))
            else:
                change.structural.append(f"'{nid}.{name}' changed")

    eb = _renamed_edges(before.edges, mapping)
    ea = _renamed_edges(after.edges, {})
    for s, d in ea:
        if (s, d) not in eb:
            change.structural.append(f"edge {s} -> {d} added")
    for s, d in eb:
        if (s, d) not in ea:
            change.structural.append(f"edge {s} -> {d} removed")
    if set(ea) == set(eb) and ea != eb:
        change.structural.append("the order of the edges changed")
    for name in sorted(set(before.definitions) | set(after.definitions)):
        if before.definitions.get(name) != after.definitions.get(name):
            change.structural.append(f"component '{name}' changed")
    return change


def _nodes_text(ids, what: str) -> str:
    names = ", ".join(f"'{n}'" for n in ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5
                                                    else "")
    return f"node{'s' if len(ids) > 1 else ''} {names} {what}"


def structure_key(graph: Graph, rename: dict[str, str] | None = None):
    """Everything a model is built from except live parameter values, positions and meta,
    with node ids mapped through ``rename`` (old -> new): equal keys, equal models."""
    rename = rename or {}
    nodes = []
    for nid, node in graph.nodes.items():
        names = set(node.params)
        if node.type in registry():
            names |= {p.name for p in registry().get(node.type).shown_params(node.params)}
        fixed = tuple(sorted((k, repr(_value(node, k, graph))) for k in names
                             if not _is_live(node, k, graph)))
        nodes.append((rename.get(nid, nid), node.type, fixed))
    defs = tuple(sorted((k, repr(d.to_dict())) for k, d in graph.definitions.items()))
    return (tuple(sorted((k, repr(v)) for k, v in graph.settings.items())), tuple(nodes),
            tuple(_renamed_edges(graph.edges, rename)), defs)
