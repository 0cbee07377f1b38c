"""NIR graph -> Spark graph (``from_nir``); see the package docstring and the README's *NIR* section.

1. Nested NIRGraphs are expanded (their Input and Output nodes become plain connections), and
   every node is checked: supported type, finite values, shapes that fit along every edge.
2. Every path from a source (an Input or a neuron node) through Affine, Linear, Scale, Delay and
   Flatten nodes to a neuron node becomes one ``matrix_projection`` (the product of the matrices,
   the bias carried through, the delays added) into the pool's ``syn`` input (CubaLIF) or
   ``jump`` input (LIF), its weights multiplied by the post neuron's input gain:
   CubaLIF r w_in dt / tau_syn, LIF r dt / tau (a spike is a pulse of height 1 lasting one
   step, as snnTorch and Norse simulate NIR graphs; its area dt, divided by the time constant,
   is the jump it causes). An Input that only drives LIF nodes directly (r = 1, no delay)
   becomes a ``host_input`` current into their ``current`` input; any other Input a
   ``host_input`` of spikes.
3. Nested graphs become composite components again (engine.composite.make_component).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import DEFAULT_SETTINGS, Graph, Node
from ..problems import Problem
from . import NIRError, TimeUnitUnknown, require_nir
from .units import UNITS, clean, detect_time_unit

DEFAULT_DT = 0.1
FIELDS = {"LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
          "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
          "Affine": ("weight", "bias"), "Linear": ("weight",), "Delay": ("delay",),
          "Scale": ("scale",), "Input": (), "Output": (), "Flatten": ()}
TIMES = {"LIF": ("tau",), "CubaLIF": ("tau_syn", "tau_mem"), "Delay": ("delay",)}
NEURONS = ("LIF", "CubaLIF")
WIRES = ("Affine", "Linear", "Scale", "Delay", "Flatten")
HINTS = {"LI": "a leaky integrator without spikes", "CubaLI": "a leaky integrator without spikes",
         "IF": "an integrate-and-fire neuron without leak", "I": "a plain integrator",
         "Threshold": "a threshold without a membrane", "Conv1d": "convolutions",
         "Conv2d": "convolutions", "SumPool2d": "pooling", "AvgPool2d": "pooling"}


@dataclass
class Path:
    src: str
    dst: str
    matrix: np.ndarray | None   # (n_dst, n_src); None: identity
    bias: np.ndarray | None
    delay_ms: float
    name: str                   # the first Affine/Linear on the way, else the first wire, else ""


def _kind(node) -> str:
    return type(node).__name__


def _sanitize(name: str) -> str:
    out = "".join(c if c.isalnum() or c in "_-" else "_" for c in name) or "node"
    return out if (out[0].isalpha() or out[0] == "_") else f"n{out}"


class _Importer:
    def __init__(self, graph, dt, time_unit, source):
        self.nir = require_nir()
        self.where = f"{source}: " if source else ""
        self.notes: list[Problem] = []
        self.nodes: dict = {}
        self.edges: list[tuple[str, str]] = []
        self.groups: list[tuple[str, dict]] = []
        self.meta = dict(getattr(graph, "metadata", None) or {})
        self.passthrough: set[str] = set()
        if not isinstance(graph, self.nir.NIRGraph):
            raise NIRError(f"{self.where}not a NIR graph ({type(graph).__name__})")
        self.expand(graph, "")
        self.remove_passthrough()
        self.check_nodes()
        self.unit = self.choose_unit(time_unit)
        self.dt = self.choose_dt(dt)

    def fail(self, msg: str):
        raise NIRError(self.where + msg)

    def note(self, node: str | None, msg: str) -> None:
        self.notes.append(Problem(msg, node=node, severity="warning"))

    # --- 1. structure ---------------------------------------------------------------------------
    def expand(self, g, prefix: str) -> None:
        for key, node in g.nodes.items():
            full = prefix + str(key)
            if isinstance(node, self.nir.NIRGraph):
                self.groups.append((full, dict(node.metadata or {})))
                self.expand(node, full + ".")
            else:
                self.nodes[full] = node
                if prefix and _kind(node) in ("Input", "Output"):
                    self.passthrough.add(full)
        for edge in g.edges:
            if len(edge) != 2:
                self.fail(f"graph '{prefix[:-1] or 'top'}': edge {edge!r} is not a pair of names")
            a, b = (str(x) for x in edge)
            self.edges.append((self.resolve(g, prefix, a, "out", (a, b)),
                               self.resolve(g, prefix, b, "in", (a, b))))

    def resolve(self, g, prefix: str, name: str, way: str, edge) -> str:
        if name in g.nodes:
            node = g.nodes[name]
            if not isinstance(node, self.nir.NIRGraph):
                return prefix + name
            want = "Output" if way == "out" else "Input"
            ends = [k for k, n in node.nodes.items() if _kind(n) == want]
            if len(ends) != 1:
                self.fail(f"edge {edge[0]!r} -> {edge[1]!r}: graph '{prefix + name}' has "
                          f"{len(ends)} {want} nodes; the edge must name one ('{name}.<{want}>')")
            return f"{prefix}{name}.{ends[0]}"
        head, dot, rest = name.partition(".")
        if dot and isinstance(g.nodes.get(head), self.nir.NIRGraph):
            return self.resolve(g.nodes[head], f"{prefix}{head}.", rest, way, edge)
        where = f" in graph '{prefix[:-1]}'" if prefix else ""
        self.fail(f"edge {edge[0]!r} -> {edge[1]!r}: there is no node '{name}'{where}")

    def remove_passthrough(self) -> None:
        for p in sorted(self.passthrough):
            preds = [a for a, b in self.edges if b == p]
            succs = [b for a, b in self.edges if a == p]
            self.edges = [(a, b) for a, b in self.edges if p not in (a, b)]
            self.edges += [(a, b) for a in preds for b in succs if (a, b) not in self.edges]
            del self.nodes[p]

    def arr(self, name: str, fieldname: str) -> np.ndarray:
        try:
            return np.asarray(getattr(self.nodes[name], fieldname), np.float64)
        except (TypeError, ValueError):
            self.fail(f"node '{name}' ({_kind(self.nodes[name])}): {fieldname} is not numeric")

    def check_nodes(self) -> None:
        for name, node in self.nodes.items():
            k = _kind(node)
            if k not in FIELDS:
                hint = f" ({HINTS[k]})" if k in HINTS else ""
                self.fail(f"node '{name}' ({k}): Spark cannot import NIR's {k}{hint}")
            for f in FIELDS[k]:
                a = self.arr(name, f)
                if np.isnan(a).any():
                    self.fail(f"node '{name}' ({k}): {f} contains NaN")
                if not np.isfinite(a).all():
                    self.fail(f"node '{name}' ({k}): {f} contains an infinite value")
            for f in TIMES.get(k, ()):
                a = self.arr(name, f)
                if (a < 0).any() or (f != "delay" and (a <= 0).any()):
                    self.fail(f"node '{name}' ({k}): {f} must be positive, got {a.min():g}")
            if k in ("Affine", "Linear"):
                w = self.arr(name, "weight")
                if w.ndim != 2:
                    self.fail(f"node '{name}' ({k}): weight has shape {w.shape}; Spark imports "
                              "2-D (out, in) matrices")
                if k == "Affine" and self.arr(name, "bias").shape not in ((w.shape[0],), ()):
                    self.fail(f"node '{name}' (Affine): bias has shape "
                              f"{self.arr(name, 'bias').shape}, the weight {w.shape} needs "
                              f"({w.shape[0]},)")
            if k in NEURONS:
                sizes = {self.arr(name, f).size for f in FIELDS[k]}
                if len(sizes - {1}) > 1:
                    self.fail(f"node '{name}' ({k}): its parameters have different lengths "
                              f"{sorted(sizes)}")
        for a, b in self.edges:
            if _kind(self.nodes[b]) == "Input":
                self.fail(f"edge '{a}' -> '{b}': an Input node cannot receive an edge")
            if _kind(self.nodes[a]) == "Output":
                self.fail(f"edge '{a}' -> '{b}': an Output node cannot send an edge")

    def size(self, name: str) -> int:
        node, k = self.nodes[name], _kind(self.nodes[name])
        if k == "Input":
            return int(np.prod(np.asarray(node.input_type["input"]).astype(int)))
        if k == "Output":
            return int(np.prod(np.asarray(node.output_type["output"]).astype(int)))
        n = max(self.arr(name, f).size for f in FIELDS[k])
        if n == 1:   # scalar parameters: the size comes from the matrices feeding the node
            for a, b in self.edges:
                if b == name and _kind(self.nodes[a]) in ("Affine", "Linear"):
                    return int(self.arr(a, "weight").shape[0])
        return n

    # --- units ----------------------------------------------------------------------------------
    def choose_unit(self, time_unit) -> str:
        if time_unit is not None:
            if time_unit not in UNITS:
                self.fail(f"time unit must be 's' or 'ms', got {time_unit!r}")
            return time_unit
        given = self.meta.get("time_unit")
        if isinstance(given, bytes):
            given = given.decode()
        if given in UNITS:
            self.note(None, f"time constants read in {given} (as the file's metadata says)")
            return given
        values = [v for n, node in self.nodes.items() for f in TIMES.get(_kind(node), ())
                  for v in self.arr(n, f).ravel()]
        unit = detect_time_unit(values)
        if unit is None:
            vals = [v for v in values if v > 0]
            raise TimeUnitUnknown(
                f"{self.where}the time constants and delays range from {min(vals):g} to "
                f"{max(vals):g}: they could be seconds or milliseconds; say which (--time-unit s "
                "or ms)")
        if values:
            self.note(None, f"time constants read in {unit}: they range from "
                            f"{min(values):g} to {max(values):g} (pass --time-unit to override)")
        return unit

    def choose_dt(self, dt) -> float:
        if dt is None:
            dt = self.meta.get("spark_dt_ms")
            if dt is not None:
                return float(dt)
            self.note(None, f"time step dt = {DEFAULT_DT:g} ms (the default: pass --dt with the "
                            "time step the network was made for)")
            return DEFAULT_DT
        if not (float(dt) > 0):
            self.fail(f"dt must be positive, got {dt!r}")
        return float(dt)

    def ms(self, x) -> np.ndarray:
        return np.asarray(x, np.float64) * UNITS[self.unit]

    # --- 2. paths -------------------------------------------------------------------------------
    def paths(self) -> list[Path]:
        out: list[Path] = []
        for src, node in self.nodes.items():
            if _kind(node) in NEURONS or _kind(node) == "Input":
                self.walk(src, src, None, None, 0.0, self.size(src), (), "", out)
        return out

    def walk(self, src, at, M, b, delay, width, seen, name, out) -> None:
        for a, nxt in self.edges:
            if a != at:
                continue
            node, k = self.nodes[nxt], _kind(self.nodes[nxt])
            if k in NEURONS or k == "Output":
                if width != self.size(nxt):
                    self.fail(f"edge '{at}' -> '{nxt}': '{at}' gives {width} values, '{nxt}' "
                              f"({k}) takes {self.size(nxt)}")
                out.append(Path(src, nxt, M, b, delay, name))
                continue
            if nxt in seen:
                self.fail(f"node '{nxt}' ({k}): a loop of {', '.join(WIRES)} nodes without a "
                          "neuron in it")
            M2, b2, d2, w2 = M, b, delay, width
            if k in ("Affine", "Linear"):
                W = self.arr(nxt, "weight")
                if W.shape[1] != width:
                    self.fail(f"edge '{at}' -> '{nxt}': '{at}' gives {width} values, '{nxt}' "
                              f"({k}, weight {W.shape[0]} x {W.shape[1]}) takes {W.shape[1]}")
                M2 = W if M is None else W @ M
                b2 = None if b is None else W @ b
                if k == "Affine":
                    b2 = self.arr(nxt, "bias") + (0.0 if b2 is None else b2)
                w2 = W.shape[0]
            elif k == "Scale":
                s = self.arr(nxt, "scale").ravel()
                if s.size not in (1, width):
                    self.fail(f"edge '{at}' -> '{nxt}': '{at}' gives {width} values, '{nxt}' "
                              f"(Scale) takes {s.size}")
                S = np.diag(np.broadcast_to(s, (width,)))
                M2 = S if M is None else S @ M
                b2 = None if b is None else S @ b
            elif k == "Delay":
                d = self.ms(self.arr(nxt, "delay")).ravel()
                if d.size not in (1, width):
                    self.fail(f"edge '{at}' -> '{nxt}': '{at}' gives {width} values, '{nxt}' "
                              f"(Delay) takes {d.size}")
                if not np.allclose(d, d[0], rtol=1e-9, atol=0.0):
                    self.fail(f"node '{nxt}' (Delay): the delays differ between neurons (from "
                              f"{d.min():g} to {d.max():g} ms); Spark's projections have one "
                              "delay")
                d2 = delay + float(d[0])
            first = name or (nxt if k in ("Affine", "Linear") else "")
            self.walk(src, nxt, M2, b2, d2, w2, seen + (nxt,), first, out)

    # --- 3. Spark nodes -------------------------------------------------------------------------
    def one(self, name: str, fieldname: str, unit_ms: bool = False) -> float:
        a = self.arr(name, fieldname).ravel()
        if unit_ms:
            a = self.ms(a)
        if not np.allclose(a, a[0], rtol=1e-9, atol=0.0):
            self.fail(f"node '{name}' ({_kind(self.nodes[name])}): {fieldname} differs between "
                      f"neurons (from {a.min():g} to {a.max():g}); a Spark lif pool has one "
                      f"{fieldname} for all its neurons")
        return clean(a[0])

    def pool_params(self, name: str) -> dict:
        k = _kind(self.nodes[name])
        cuba = k == "CubaLIF"
        p = {"size": self.size(name),
             "tau_m": self.one(name, "tau_mem" if cuba else "tau", True),
             "v_rest": self.one(name, "v_leak"), "v_reset": self.one(name, "v_reset"),
             "v_th": self.one(name, "v_threshold"), "t_ref": 0.0, "v_init": "rest"}
        if cuba:
            p["tau_syn"] = self.one(name, "tau_syn", True)
        if p["v_reset"] >= p["v_th"]:
            self.fail(f"node '{name}' ({k}): v_reset ({p['v_reset']:g}) must be below "
                      f"v_threshold ({p['v_th']:g}) in Spark")
        return p

    def gain(self, name: str) -> np.ndarray:
        """What a pulse of height 1 lasting one step adds to I_syn (CubaLIF) or v (LIF)."""
        n = self.size(name)
        r = np.broadcast_to(self.arr(name, "r").ravel(), (n,))
        if _kind(self.nodes[name]) == "CubaLIF":
            w_in = np.broadcast_to(self.arr(name, "w_in").ravel(), (n,))
            tau = np.broadcast_to(self.ms(self.arr(name, "tau_syn")).ravel(), (n,))
            return r * w_in * self.dt / tau
        tau = np.broadcast_to(self.ms(self.arr(name, "tau")).ravel(), (n,))
        return r * self.dt / tau

    def direct_current(self, p: Path) -> bool:
        return (p.matrix is None and p.bias is None and p.delay_ms == 0.0
                and _kind(self.nodes[p.dst]) == "LIF"
                and np.allclose(self.arr(p.dst, "r"), 1.0, rtol=1e-12, atol=0))

    def build(self) -> tuple[Graph, dict]:
        g = Graph(settings={**DEFAULT_SETTINGS, "dt": self.dt})
        ids: dict[str, str] = {}
        local: dict[str, str] = {}

        def add(base: str, full: str, type_: str, params: dict) -> str:
            nid = g.unique_id(_sanitize(base.replace(".", "_")))
            g.add_node(Node(nid, type_, params))
            local[nid] = _sanitize(base.rsplit(".", 1)[-1])
            self.group_of[nid] = full.rsplit(".", 1)[0] if "." in full else ""
            return nid

        self.group_of: dict[str, str] = {}
        paths = self.paths()
        for name, node in self.nodes.items():
            if _kind(node) in NEURONS:
                ids[name] = add(name, name, "lif", self.pool_params(name))
        inputs = {n for n, node in self.nodes.items() if _kind(node) == "Input"}
        current = {n for n in inputs
                   if any(p.src == n for p in paths if _kind(self.nodes[p.dst]) != "Output")
                   and all(self.direct_current(p) for p in paths
                           if p.src == n and _kind(self.nodes[p.dst]) != "Output")}
        for n in sorted(inputs, key=list(self.nodes).index):
            ids[n] = add(n, n, "host_input", {"size": self.size(n),
                                              "kind": "current" if n in current else "spikes"})
        outputs = []
        for p in paths:
            src_port = f"{ids[p.src]}.{'out' if p.src in inputs else 'spikes'}"
            if _kind(self.nodes[p.dst]) == "Output":
                if p.matrix is None and p.bias is None and p.delay_ms == 0.0 and p.src not in inputs:
                    outputs.append(ids[p.src])
                elif p.src not in inputs:
                    self.note(p.dst, f"Output reads a weighted or delayed signal of '{p.src}', "
                                     "which Spark does not compute on its own: left out")
                continue
            if p.src in current:
                g.connect(src_port, f"{ids[p.dst]}.current")
                continue
            self.projection(g, p, src_port, ids, add)
        return g, {"outputs": list(dict.fromkeys(outputs)), "local": local}

    def projection(self, g: Graph, p: Path, src_port: str, ids: dict, add) -> None:
        n_src, n_dst = self.size(p.src), self.size(p.dst)
        M = np.eye(n_src) if p.matrix is None else p.matrix
        if p.matrix is None and not p.name:
            self.note(p.dst, f"'{p.src}' feeds it without a weight matrix: connected through "
                             "an identity matrix_projection (one step, like any projection)")
        gain = self.gain(p.dst)
        steps = p.delay_ms / self.dt
        if abs(steps - round(steps)) > 1e-6:
            self.note(p.name or p.dst, f"delay {p.delay_ms:g} ms is not a multiple of dt "
                                       f"{self.dt:g} ms: rounded to {round(steps)} steps")
        params = {"weights": [float(x) for x in (gain[:, None] * M).ravel()],
                  "bias": [] if p.bias is None or not np.any(p.bias) else
                  [float(x) for x in gain * np.broadcast_to(p.bias, (n_dst,))],
                  "delay_steps": 1 + int(round(steps))}
        base = p.name or f"{p.src}_to_{p.dst}"
        nid = add(base, base, "matrix_projection", params)
        port = "syn" if _kind(self.nodes[p.dst]) == "CubaLIF" else "jump"
        g.connect(src_port, f"{nid}.pre")
        g.connect(f"{nid}.events", f"{ids[p.dst]}.{port}")


def _layout(g: Graph) -> None:
    """Columns by distance from the inputs (projections between their two ends)."""
    depth = {n: 0 for n, node in g.nodes.items() if node.type == "host_input"}
    pools = [n for n, node in g.nodes.items() if node.type == "lif"]
    for _ in range(len(g.nodes)):
        changed = False
        for e in g.edges:
            if e.src_node in depth and e.dst_node not in depth:
                depth[e.dst_node] = depth[e.src_node] + 1
                changed = True
        if not changed:
            break
    for n in pools:
        depth.setdefault(n, 0)
    rows: dict[int, int] = {}
    for n, node in g.nodes.items():
        d = depth.get(n, 0)
        rows[d] = rows.get(d, 0) + 1
        node.position = (260.0 * d, 160.0 * (rows[d] - 1))


def _composites(g: Graph, importer: _Importer, local: dict) -> Graph:
    from ..composite import make_component
    from ..composite.edit import CompositeError

    member_of = dict(importer.group_of)   # Spark id -> group (full NIR name) it sits in
    for full, meta in sorted(importer.groups, key=lambda x: -x[0].count(".")):
        members = [n for n, grp in member_of.items() if grp == full and n in g.nodes]
        if not members:
            continue
        for n in members:   # local names inside the component, where they are free
            want = local.get(n, n)
            if want != n and want not in g.nodes:
                g.rename_node(n, want)
                member_of[want] = member_of.pop(n)
                local[want] = want
        members = [n for n, grp in member_of.items() if grp == full and n in g.nodes]
        type_name = meta.get("spark_type")
        type_name = type_name.decode() if isinstance(type_name, bytes) else type_name
        base = _sanitize(full.rsplit(".", 1)[-1])
        if not isinstance(type_name, str) or type_name in g.definitions:
            type_name = base
        while type_name in g.definitions or type_name in g.nodes:
            type_name += "_c"
        inst = g.unique_id(_sanitize(full.replace(".", "_")))
        try:
            g, _ = make_component(g, members, type_name, instance_id=inst)
        except CompositeError as exc:
            importer.note(full, f"kept as plain nodes, not a component: {exc}")
            continue
        for n in members:
            member_of.pop(n, None)
        member_of[inst] = full.rsplit(".", 1)[0] if "." in full else ""
        local[inst] = base
    return g


def from_nir(graph, dt: float | None = None, time_unit: str | None = None,
             source: str | None = None):
    """(Spark Graph, notes) for the NIRGraph ``graph``.

    ``dt``: the time step in ms (default: the file's own ``spark_dt_ms`` metadata, else 0.1 ms,
    with a note). ``time_unit``: 's' or 'ms' for the file's time constants and delays (default:
    the file's ``time_unit`` metadata, else read from their magnitudes; NIRError when those do
    not tell). ``notes`` lists engine.Problem warnings about what was assumed or approximated.
    Raises NIRError, naming the node, for anything Spark cannot import."""
    from spark_snn import engine

    imp = _Importer(graph, dt, time_unit, source)
    g, info = imp.build()
    _layout(g)
    if imp.groups:
        g = _composites(g, imp, info["local"])
    g.meta["nir"] = {"outputs": [o for o in info["outputs"] if o in g.nodes]}
    pools = [n for n, node in g.nodes.items() if node.type == "lif"]
    if pools:   # the app opens it with a raster of its pools (app/run/layouts.py)
        g.meta["monitors"] = {"version": 1, "panels": [{"kind": "raster", "nodes": pools,
                                                        "area": "bottom"}]}
    problems = engine.analyze(g).errors
    if problems:   # pragma: no cover - the checks above should have caught it
        raise NIRError(imp.where + "the imported graph is not valid: "
                       + "; ".join(str(p) for p in problems))
    return g, imp.notes
