"""Graph validation: collect every problem at once, each naming its node and parameter or port.

``analyze(graph)`` returns an ``Analysis``: the problems, and for every node that could be checked
its full configuration (file values with defaults filled in), its ports, and the sizes its port
symbols resolved to. The compiler builds from an Analysis without errors, so what validates is
exactly what runs.
"""
from __future__ import annotations

import difflib
import math
import sys
from dataclasses import dataclass, field

from spark_snn.components.base import KIND_HELP, DeclarationError, Param, Port

from . import memory
from .graph import SETTINGS_SPEC, Graph
from .problems import GraphError, Problem, shown
from .registry import registry


@dataclass
class NodeInfo:
    config: dict
    inputs: dict[str, Port]
    outputs: dict[str, Port]
    sizes: dict[str, int] = field(default_factory=dict)

    def port_size(self, port: Port) -> int | None:
        return port.size if isinstance(port.size, int) else self.sizes.get(port.size)


@dataclass
class Analysis:
    problems: list[Problem]
    nodes: dict[str, NodeInfo]
    # engine.composite.Flat when the graph uses composite components: the flattened graph the
    # compiler builds (``flat.graph``) and where its parts came from; None otherwise
    flat: object = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_FLOAT_MAX = sys.float_info.max


def check_value(prm: Param, value) -> str | None:
    """Return why ``value`` is not acceptable for ``prm``, or None."""
    k = prm.kind
    if k == "float":
        if not _is_number(value):
            return f"expected a number, got {type(value).__name__} {shown(value)}"
        if isinstance(value, int) and abs(value) > _FLOAT_MAX:
            return f"{shown(value)} is too large for a floating-point number"
        if not math.isfinite(value):
            return f"expected a finite number, got {shown(value)}"
        return _range(prm, value)
    if k == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return f"expected an integer, got {type(value).__name__} {shown(value)}"
        return _range(prm, value)
    if k == "bool":
        return None if isinstance(value, bool) else f"expected true or false, got {shown(value)}"
    if k == "choice":
        if value not in prm.choices:
            opts = ", ".join(repr(c) for c in prm.choices)
            return f"expected one of {opts}, got {shown(value)}" + (
                _suggest(value, prm.choices) if isinstance(value, str) else "")
        return None
    if k in ("str", "text"):
        return None if isinstance(value, str) else f"expected a string, got {shown(value)}"
    if k == "floats":
        if not isinstance(value, list) or not all(_is_number(v) for v in value):
            return f"expected a list of numbers, got {shown(value)}"
        if any(isinstance(v, int) and abs(v) > _FLOAT_MAX for v in value):
            return "a number in the list is too large for a floating-point number"
        if not all(math.isfinite(v) for v in value):
            return "expected finite numbers"
        for v in value:
            msg = _range(prm, v)
            if msg:
                return msg
        return None
    return f"unknown parameter kind {k}"  # pragma: no cover


def _range(prm: Param, v) -> str | None:
    lo, hi = prm.min, prm.max
    if lo is not None and (v < lo or (prm.min_exclusive and v == lo)):
        return f"{shown(v)} is out of range {prm.range_text()}{(' ' + prm.unit) if prm.unit else ''}"
    if hi is not None and (v > hi or (prm.max_exclusive and v == hi)):
        return f"{shown(v)} is out of range {prm.range_text()}{(' ' + prm.unit) if prm.unit else ''}"
    return None


def check_settings(settings: dict) -> list[Problem]:
    out = []
    for key, value in settings.items():
        if key not in SETTINGS_SPEC:
            out.append(Problem(f"unknown setting {shown(key)}{_suggest(key, SETTINGS_SPEC)}",
                               param=key))
            continue
        kind, unit, _help, lo, hi = SETTINGS_SPEC[key]
        prm = Param(key, kind, unit=unit, min=lo if kind != "choice" else None,
                    max=hi if kind != "choice" else None,
                    choices=lo if kind == "choice" else (), min_exclusive=(key == "dt"))
        msg = check_value(prm, value)
        if msg:
            out.append(Problem(f"setting: {msg}", param=key))
    return out


def node_params(cls, params: dict, node_id: str) -> tuple[tuple[Param, ...] | None,
                                                           list[Problem]]:
    """The node's declared parameters (``Component.node_params``), or None and the problems
    that keep them from being known (e.g. an equation-defined node's model-text errors)."""
    try:
        return tuple(cls.node_params(params)), []
    except DeclarationError as exc:
        return None, [Problem(msg, node=node_id, param=pname) for pname, msg in exc.problems]


def node_config(cls, params: dict, node_id: str) -> tuple[dict, list[Problem]]:
    """Type-check a node's parameters and fill defaults."""
    declared, problems = node_params(cls, params, node_id)
    if declared is None:
        return {}, problems
    names = {p.name for p in declared}
    for key in params:
        if key not in names:
            problems.append(Problem(f"unknown parameter {shown(key)} for type '{cls.type_name}'"
                                    f"{_suggest(key, names)}", node=node_id, param=key))
    config = {}
    for prm in declared:
        if prm.name in params:
            value = params[prm.name]
            msg = check_value(prm, value)
            if msg:
                problems.append(Problem(msg, node=node_id, param=prm.name))
                if prm.required:
                    continue
                value = prm.default  # so ports and edges can still be checked
            elif prm.kind == "float":
                value = float(value)
            config[prm.name] = value
        elif prm.required:
            problems.append(Problem("missing required value", node=node_id, param=prm.name))
        else:
            config[prm.name] = prm.default
    if not problems:
        try:
            for pname, msg in cls.check(config):
                problems.append(Problem(msg, node=node_id, param=pname))
        except Exception as exc:
            problems.append(Problem(f"the component's own check failed: {type(exc).__name__}: "
                                    f"{exc}", node=node_id))
    return config, problems


def analyze(graph: Graph, external: frozenset = frozenset()) -> Analysis:
    """Check everything about ``graph``; see the module docstring.

    A graph using composite components is checked by engine/composite/check.py (which calls
    this on the flattened graph). ``external``: (node, port) inputs fed from outside the graph
    (a composite's boundary): not reported as unconnected or of unknown size.
    """
    from .composite.check import analyze_composite, uses_composites
    if uses_composites(graph):
        return analyze_composite(graph)
    reg = registry()
    problems: list[Problem] = list(graph.load_problems)
    problems += check_settings(graph.settings)
    infos: dict[str, NodeInfo] = {}

    for nid, node in graph.nodes.items():
        if node.type not in reg:
            problems.append(Problem(f"unknown node type {shown(node.type)}"
                                    f"{_suggest(node.type, reg.names())}", node=nid))
            continue
        cls = reg.get(node.type)
        config, probs = node_config(cls, node.params, nid)
        problems += probs
        declared = node_params(cls, node.params, nid)[0]
        if declared is None or any(prm.name not in config for prm in declared):
            continue  # a required value is missing: its ports cannot be known
        dt = graph.settings.get("dt")
        if not probs and isinstance(dt, (int, float)) and not isinstance(dt, bool) and dt > 0:
            try:
                for pname, msg in cls.check_dt(config, float(dt)):
                    problems.append(Problem(msg, node=nid, param=pname))
            except Exception as exc:
                problems.append(Problem(f"the component's own check failed: "
                                        f"{type(exc).__name__}: {exc}", node=nid))
        try:
            ins, outs = cls.ports(config)
        except Exception as exc:
            problems.append(Problem(f"could not determine ports: {type(exc).__name__}: {exc}",
                                    node=nid))
            continue
        infos[nid] = NodeInfo(config, {p.name: p for p in ins}, {p.name: p for p in outs})

    # --- edges: endpoints exist, direction, kinds --------------------------------------------
    good_edges = []
    into_count: dict[tuple[str, str], int] = {}
    for e in graph.edges:
        ok = True
        for end, want in ((e.src, "output"), (e.dst, "input")):
            nid, port = end.rsplit(".", 1)
            if nid not in graph.nodes:
                problems.append(Problem(f"edge {e.src} -> {e.dst}: no node '{nid}'"
                                        f"{_suggest(nid, graph.nodes)}", node=nid, port=port))
                ok = False
                continue
            info = infos.get(nid)
            if info is None:
                ok = False  # the node's own problems are already reported
                continue
            table = info.outputs if want == "output" else info.inputs
            if port not in table:
                other = info.inputs if want == "output" else info.outputs
                other_kind = "input" if want == "output" else "output"
                close_other = difflib.get_close_matches(port, list(other), n=1, cutoff=0.6)
                hint = (f"; '{port}' is an {other_kind} port" if port in other else
                        _suggest(port, table) or (f"; '{close_other[0]}' is an {other_kind} port"
                                                  if close_other else ""))
                problems.append(Problem(
                    f"edge {e.src} -> {e.dst}: node '{nid}' ({graph.nodes[nid].type}) has no "
                    f"{want} port '{port}' (it has: {', '.join(table) or 'none'}){hint}",
                    node=nid, port=port))
                ok = False
        if not ok:
            continue
        sp = infos[e.src_node].outputs[e.src_port]
        dp = infos[e.dst_node].inputs[e.dst_port]
        if sp.kind != dp.kind:
            problems.append(Problem(
                f"edge {e.src} -> {e.dst}: incompatible signals: {KIND_HELP[sp.kind]} cannot "
                f"feed {KIND_HELP[dp.kind]}", node=e.dst_node, port=e.dst_port))
            continue
        key = (e.dst_node, e.dst_port)
        into_count[key] = into_count.get(key, 0) + 1
        good_edges.append(e)

    for (nid, port), n in into_count.items():
        if n > 1 and not infos[nid].inputs[port].multi:
            srcs = [e.src for e in good_edges if e.dst_node == nid and e.dst_port == port]
            problems.append(Problem(f"input port '{port}' takes a single edge but has {n}: "
                                    f"{', '.join(srcs)}", node=nid, port=port))

    for nid, info in infos.items():
        for pname, port in info.inputs.items():
            if port.required and (nid, pname) not in into_count and (nid, pname) not in external:
                problems.append(Problem(f"required input '{pname}' is not connected", node=nid,
                                        port=pname))

    problems += _resolve_sizes(infos, good_edges, external)
    for nid, info in infos.items():
        cls = reg.get(graph.nodes[nid].type)
        try:
            for pname, msg in cls.check_sizes(info.config, info.sizes):
                problems.append(Problem(msg, node=nid, param=pname))
        except KeyError:
            pass  # a size it needs is unknown; already reported
    # before anything is allocated: would the network fit in this machine's memory?
    analysis = Analysis(problems, infos)
    problems += memory.problems(memory.estimate(analysis, graph))
    return analysis


def _resolve_sizes(infos: dict[str, NodeInfo], edges, external=frozenset()) -> list[Problem]:
    """Bind size symbols from connected ports; report conflicts and what stays unknown."""
    problems = []
    reported = set()
    changed = True
    while changed:
        changed = False
        for e in edges:
            si, di = infos[e.src_node], infos[e.dst_node]
            sp, dp = si.outputs[e.src_port], di.inputs[e.dst_port]
            a, b = si.port_size(sp), di.port_size(dp)
            if a is not None and b is not None:
                if a != b and e not in reported:
                    reported.add(e)
                    problems.append(Problem(
                        f"edge {e.src} -> {e.dst}: size mismatch: output has {a} values, "
                        f"input expects {b}", node=e.dst_node, port=e.dst_port))
            elif a is not None:
                di.sizes[dp.size] = a
                changed = True
            elif b is not None:
                si.sizes[sp.size] = b
                changed = True
    for nid, info in infos.items():
        for port in list(info.inputs.values()) + list(info.outputs.values()):
            if isinstance(port.size, str) and port.size not in info.sizes \
                    and (nid, port.name) not in external:
                problems.append(Problem(
                    f"the size of port '{port.name}' ({port.size}) is unknown: connect it",
                    node=nid, port=port.name))
                info.sizes[port.size] = None  # report each symbol once
    for info in infos.values():
        for k in [k for k, v in info.sizes.items() if v is None]:
            del info.sizes[k]
    return problems


def validate(graph: Graph) -> list[Problem]:
    """Every problem in ``graph`` (an empty list when it is valid)."""
    return analyze(graph).problems


def require_valid(graph: Graph, source: str | None = None) -> Analysis:
    """Analyze and raise GraphError listing every error, or return the Analysis."""
    a = analyze(graph)
    if a.errors:
        raise GraphError(a.errors, source)
    return a
