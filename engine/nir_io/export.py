"""Spark graph -> NIR graph (``to_nir``); see the package docstring and the README's *NIR* section.

Per node (the flattened graph: composite instances are expanded, then nested again as NIRGraphs):

* ``lif`` -> CubaLIF when spikes reach it through its exponential synapse (``syn``), else LIF.
  tau_mem = tau_m, tau_syn, v_leak = v_rest, v_threshold = v_th, v_reset, in seconds; r = 1;
  CubaLIF's w_in = tau_syn / dt, so that a Linear weight w is the jump of the synaptic current
  a spike causes in Spark (the convention snnTorch writes). A LIF's Linear weights are Spark's
  voltage jumps times tau_m / dt. t_ref > 0 and ``v_init = uniform`` are reported.
* projections (``projection``, ``matrix_projection``, the plastic ones) -> Linear, or Affine when
  a ``matrix_projection`` has a bias, weight shape (post, pre), plus a Delay of (delay_steps - 1)
  dt when delay_steps > 1. Plastic projections are exported with their initial weights, reported.
* ``host_input`` -> Input (the values the host sets are not part of NIR: reported).
* any other node cannot be expressed: it is left out and reported; where its output fed an
  exported node, an Input of its name stands in for it, and an exported pool feeding it gets an
  Output (named ``<node>_<port>``). Pools whose spikes feed nothing get an Output ``<pool>_out``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph import free_name
from ..problems import GraphError, Problem
from . import require_nir
from .units import from_ms

PLASTIC_CATEGORY = "Plasticity"


@dataclass
class Piece:
    """The NIR nodes one Spark node (or one edge of a projection) becomes, at one level."""

    level: str
    nodes: dict
    entry: str
    exit: str
    in_size: int
    out_size: int
    edges: list = field(default_factory=list)


@dataclass
class Level:
    """One NIRGraph under construction: the top graph ("") or a composite instance's."""

    path: str
    local: str = ""
    definition: str | None = None
    nodes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)    # boundary port -> Input node name
    outputs: dict = field(default_factory=dict)   # boundary port -> Output node name

    def name(self, base: str) -> str:
        return free_name(base, self.nodes)

    def edge(self, a: str, b: str) -> None:
        if (a, b) not in self.edges:
            self.edges.append((a, b))


def _full(n: int, value) -> np.ndarray:
    return np.full(n, float(value), np.float64)


class _Exporter:
    def __init__(self, graph, source):
        from spark_snn import engine

        self.nir = require_nir()
        self.reg = engine.registry()
        analysis = engine.analyze(graph)
        if analysis.errors:
            raise GraphError(analysis.errors, source)
        self.graph = graph
        self.flatinfo = analysis.flat
        self.flat = analysis.flat.graph if analysis.flat is not None else graph
        self.infos = analysis.nodes
        self.dt = float(self.flat.settings.get("dt", 0.1))
        self.warnings: list[Problem] = []
        self.kind: dict[str, str | None] = {}
        self.pieces: dict[str, Piece] = {}           # pools and inputs
        self.proj_pieces: dict[tuple, Piece] = {}    # (projection, edge index) -> Piece
        self.levels: dict[str, Level] = {"": Level("")}
        self.standins: dict[tuple, str] = {}
        self._sim = None
        if self.flatinfo is not None:
            for path, inst in self.flatinfo.instances.items():
                self.levels[path] = Level(path, inst.local, inst.definition)

    # --- helpers ------------------------------------------------------------------------------
    def warn(self, node: str, message: str) -> None:
        self.warnings.append(Problem(message, node=node, severity="warning"))

    def level_of(self, fid: str) -> str:
        return self.flatinfo.origin[fid][0] if self.flatinfo is not None else ""

    def local(self, fid: str) -> str:
        return self.flatinfo.origin[fid][2] if self.flatinfo is not None else fid

    def size(self, fid: str, port: str, way: str) -> int:
        info = self.infos[fid]
        p = (info.outputs if way == "out" else info.inputs)[port]
        return int(info.port_size(p))

    def drawn_weights(self, fid: str) -> np.ndarray:
        """A static projection's (n_pre, n_post) weights, drawn as the compiler draws them (the
        node's own random stream), without building a Simulation."""
        from ..compiler import node_rng

        node, info = self.flat.nodes[fid], self.infos[fid]
        dtype = np.float64 if self.flat.settings.get("dtype") == "float64" else np.float32
        comp = self.reg.get(node.type)(info.config, info.sizes, self.dt, dtype)
        seed = int(self.flat.settings.get("seed", 0))
        key = fid if node.seed_id is None else node.seed_id
        return comp.weight_matrix(*comp.synapses(node_rng(seed, key)))

    def sim(self):
        if self._sim is None:
            from spark_snn import engine
            self._sim = engine.Simulation(self.graph)
        return self._sim

    # --- classification -----------------------------------------------------------------------
    def classify(self) -> None:
        for fid, node in self.flat.nodes.items():
            cls = self.reg.get(node.type)
            info = self.infos[fid]
            if node.type == "lif":
                self.kind[fid] = "pool"
            elif node.type == "host_input":
                self.kind[fid] = "input"
            elif ("pre" in info.inputs and "events" in info.outputs
                  and cls.category in ("Projections", PLASTIC_CATEGORY)):
                self.kind[fid] = "proj"
            else:
                self.kind[fid] = None
                self.warn(fid, f"'{node.type}' ({cls.description or cls.title}) cannot be "
                               "expressed in NIR: left out")

    def pool_piece(self, fid: str) -> Piece:
        c = self.infos[fid].config
        n = int(c["size"])
        ports = {e.dst_port for e in self.flat.edges_into(fid)}
        cuba = "syn" in ports or not ports
        s = lambda ms: _full(n, from_ms(ms))  # noqa: E731 - seconds
        if cuba:
            node = self.nir.CubaLIF(tau_syn=s(c["tau_syn"]), tau_mem=s(c["tau_m"]),
                                    r=_full(n, 1.0), v_leak=_full(n, c["v_rest"]),
                                    v_threshold=_full(n, c["v_th"]), v_reset=_full(n, c["v_reset"]),
                                    w_in=_full(n, c["tau_syn"] / self.dt))
            for port in sorted(ports & {"current", "jump"}):
                self.warn(fid, f"input '{port}' enters the membrane directly, but a CubaLIF "
                               "takes every input through its synapse: those edges are left out")
        else:
            node = self.nir.LIF(tau=s(c["tau_m"]), r=_full(n, 1.0), v_leak=_full(n, c["v_rest"]),
                                v_threshold=_full(n, c["v_th"]), v_reset=_full(n, c["v_reset"]))
        if c["t_ref"] > 0:
            self.warn(fid, f"refractory period t_ref = {c['t_ref']:g} ms cannot be expressed "
                           "in NIR (no refractoriness): left out")
        if c["v_init"] != "rest":
            self.warn(fid, f"v_init = '{c['v_init']}' (random initial potentials) cannot be "
                           "expressed in NIR: a reader starts the pool as it chooses")
        name = self.local(fid)
        return Piece(self.level_of(fid), {name: node}, name, name, n, n)

    def accepts(self, fid: str, port: str) -> bool:
        """Whether exported pool ``fid`` takes an edge into ``port``."""
        node = self.pieces[fid].nodes[self.pieces[fid].entry]
        cuba = isinstance(node, self.nir.CubaLIF)
        return port == "syn" if cuba else port in ("current", "jump")

    def proj_piece(self, fid: str, k: int, dst: str, dst_port: str) -> Piece:
        node = self.flat.nodes[fid]
        cls = self.reg.get(node.type)
        c = self.infos[fid].config
        n_pre, n_post = self.size(fid, "pre", "in"), self.size(fid, "events", "out")
        bias = None
        if node.type == "matrix_projection":
            w = np.asarray(c["weights"], np.float64).reshape(n_post, n_pre)
            bias = np.asarray(c["bias"], np.float64) if c["bias"] else None
        elif node.type == "projection":
            w = self.drawn_weights(fid).T
        else:
            w = np.asarray(self.sim().weights(fid)).T
        if dst_port == "jump":   # a voltage jump is the box current w tau_m / dt for one step
            scale = self.infos[dst].config["tau_m"] / self.dt
            w = w * scale
            bias = None if bias is None else bias * scale
        level = self.levels[self.level_of(fid)]
        base = self.local(fid) if k == 0 else f"{self.local(fid)}_{k + 1}"
        name = level.name(base)
        if bias is not None:
            nodes = {name: self.nir.Affine(weight=w, bias=bias)}
        else:
            nodes = {name: self.nir.Linear(weight=w)}
        piece = Piece(level.path, nodes, name, name, n_pre, n_post)
        level.nodes.update(nodes)
        d = int(c.get("delay_steps", 1))
        if d > 1:
            dname = level.name(f"{name}_delay")
            nodes[dname] = self.nir.Delay(delay=_full(n_post, from_ms((d - 1) * self.dt)))
            level.nodes[dname] = nodes[dname]
            piece.edges.append((name, dname))
            piece.exit = dname
        if cls.category == PLASTIC_CATEGORY and k == 0:
            self.warn(fid, f"plasticity ('{node.type}') cannot be expressed in NIR: exported "
                           "with its initial weights, which stay fixed")
        return piece

    def build_pieces(self) -> None:
        for fid, kind in self.kind.items():
            if kind == "pool":
                self.pieces[fid] = self.pool_piece(fid)
            elif kind == "input":
                c = self.infos[fid].config
                n = int(c["size"])
                name = self.local(fid)
                self.pieces[fid] = Piece(self.level_of(fid),
                                         {name: self.nir.Input(input_type={"input": np.array([n])})},
                                         name, name, n, n)
                self.warn(fid, f"host input exported as NIR Input '{name}' ({n} values): the "
                               "values the host sets are not part of NIR")
        for piece in self.pieces.values():
            self.levels[piece.level].nodes.update(piece.nodes)
        for fid, kind in self.kind.items():
            if kind != "proj":
                continue
            for k, e in enumerate(self.flat.edges_from(fid)):
                if self.kind.get(e.dst_node) == "pool" and self.accepts(e.dst_node, e.dst_port):
                    self.proj_pieces[(fid, k)] = self.proj_piece(fid, k, e.dst_node, e.dst_port)
                elif self.kind.get(e.dst_node) == "pool":
                    pass   # reported with the pool
                else:
                    self.warn(fid, f"its events go to '{e.dst}', which NIR cannot express: "
                                   "that edge is left out")

    # --- edges --------------------------------------------------------------------------------
    def chain(self, level: str) -> list[str]:
        out = [level]
        while level:
            level = self.flatinfo.instances[level].parent
            out.append(level)
        return out

    def route(self, src: tuple, dst: tuple) -> None:
        """Connect (level, name, flat "node.port") ``src`` to ``dst``, through the boundary
        Inputs and Outputs of the composite levels in between."""
        (sl, sname, sref), (dl, dname, dref) = src, dst
        if sl == dl:
            self.levels[sl].edge(sname, dname)
            return
        up, down = self.chain(sl), self.chain(dl)
        common = next(lv for lv in up if lv in down)
        cur = sname
        for lv in up[:up.index(common)]:
            inst, level = self.flatinfo.instances[lv], self.levels[lv]
            q = next((p for p in inst.outputs if self.flatinfo.port(f"{lv}.{p}") == sref), "out")
            if q not in level.outputs:
                size = self.size(*sref.rsplit(".", 1), "out")
                level.outputs[q] = level.name(q)
                level.nodes[level.outputs[q]] = self.nir.Output(output_type={"output": np.array([size])})
            level.edge(cur, level.outputs[q])
            cur = f"{inst.local}.{q}"
        target = dname
        for lv in down[:down.index(common)]:
            inst, level = self.flatinfo.instances[lv], self.levels[lv]
            r = next((p for p, ends in inst.inputs.items() if dref in ends), "in")
            if r not in level.inputs:
                size = self.size(*dref.rsplit(".", 1), "in")
                level.inputs[r] = level.name(r)
                level.nodes[level.inputs[r]] = self.nir.Input(input_type={"input": np.array([size])})
            level.edge(level.inputs[r], target)
            target = f"{inst.local}.{r}"
        self.levels[common].edge(cur, target)

    def standin(self, fid: str, port: str, way: str) -> tuple:
        """An Input (way 'out': node ``fid`` feeds exported nodes) or Output (way 'in': an
        exported pool feeds it) standing in for unexported node ``fid``."""
        key = (fid, port, way)
        level = self.levels[self.level_of(fid)]
        if key not in self.standins:
            n = self.size(fid, port, way)
            if way == "out":
                name = level.name(self.local(fid))
                level.nodes[name] = self.nir.Input(input_type={"input": np.array([n])})
                self.warn(fid, f"stands in the NIR graph as Input '{name}' ({n} values)")
            else:
                name = level.name(f"{self.local(fid)}_{port}")
                level.nodes[name] = self.nir.Output(output_type={"output": np.array([n])})
            self.standins[key] = name
        return (level.path, self.standins[key], f"{fid}.{port}")

    def connect(self) -> None:
        consumed = set()   # pools and inputs whose output went somewhere
        for piece in list(self.pieces.values()) + list(self.proj_pieces.values()):
            for a, b in piece.edges:
                self.levels[piece.level].edge(a, b)
        for e in self.flat.edges:
            sk, dk = self.kind.get(e.src_node), self.kind.get(e.dst_node)
            if sk == "proj":
                continue   # a projection's pieces are connected to their pools below
            if dk == "pool":
                p = self.pieces[e.dst_node]
                targets = [(p.level, p.entry, e.dst)] if self.accepts(e.dst_node, e.dst_port) \
                    else []
            elif dk == "proj":
                targets = [(p.level, p.entry, e.dst) for (fid, _k), p in self.proj_pieces.items()
                           if fid == e.dst_node and e.dst_port == "pre"]
            elif sk == "pool" and e.src_port == "spikes":
                targets = [self.standin(e.dst_node, e.dst_port, "in")]
            else:
                targets = []
            srcs = self.sources(e, sk) if targets else None
            if not srcs:
                continue
            for s in srcs:
                for t in targets:
                    self.route(s, t)
            if targets:
                consumed.add(e.src_node)
        for (fid, k), p in self.proj_pieces.items():
            e = self.flat.edges_from(fid)[k]
            d = self.pieces[e.dst_node]
            self.route((p.level, p.exit, e.src), (d.level, d.entry, e.dst))
        for fid, kind in self.kind.items():
            if kind == "pool" and fid not in consumed:
                p = self.pieces[fid]
                level = self.levels[p.level]
                name = level.name(f"{p.exit}_out")
                level.nodes[name] = self.nir.Output(output_type={"output": np.array([p.out_size])})
                level.edge(p.exit, name)

    def sources(self, e, sk) -> list[tuple] | None:
        """The NIR source(s) of flat edge ``e`` (an exported node or a stand-in), or None."""
        if sk == "pool":
            if e.src_port != "spikes":
                self.warn(e.src_node, f"output '{e.src_port}' cannot be exported to NIR (only "
                                      "spikes leave a neuron): the edge to "
                                      f"'{e.dst}' is left out")
                return None
            p = self.pieces[e.src_node]
            return [(p.level, p.exit, e.src)]
        if sk == "input":
            p = self.pieces[e.src_node]
            return [(p.level, p.exit, e.src)]
        if self.kind.get(e.dst_node) in ("pool", "proj"):
            return [self.standin(e.src_node, e.src_port, "out")]
        return None

    # --- assembly -----------------------------------------------------------------------------
    def simplify(self) -> None:
        """'inst.port' -> 'inst' where the instance's graph has a single Input (Output), the
        form every NIR reader understands; several ports keep the dotted form."""
        for level in self.levels.values():
            fixed = []
            for a, b in level.edges:
                fixed.append((self._short(level, a, "out"), self._short(level, b, "in")))
            level.edges = fixed

    def _short(self, level: Level, end: str, way: str) -> str:
        inst, dot, port = end.partition(".")
        if not dot:
            return end
        sub = self.levels.get(f"{level.path}.{inst}" if level.path else inst)
        if sub is None:
            return end
        table = sub.outputs if way == "out" else sub.inputs
        if len(table) == 1:
            return inst
        self.warn(sub.path, f"component instance with {len(table)} "
                            f"{'outputs' if way == 'out' else 'inputs'}: its edges name them "
                            f"('{end}'), which not every NIR reader understands")
        return f"{inst}.{table.get(port, port)}"

    def assemble(self):
        built = {}
        for path in sorted(self.levels, key=lambda p: -len(self.chain(p)) if p else 0):
            level = self.levels[path]
            nodes = dict(level.nodes)
            for sub_path, sub in self.levels.items():
                if sub_path and self.flatinfo.instances[sub_path].parent == path:
                    nodes[sub.local] = built[sub_path]
            meta = ({"spark_type": level.definition} if level.definition else
                    {"generator": "spark", "time_unit": "s", "spark_dt_ms": self.dt})
            built[path] = self.nir.NIRGraph(nodes=nodes, edges=list(level.edges),
                                            metadata=meta, type_check=False)
        return built[""]

    def run(self):
        self.classify()
        self.build_pieces()
        self.connect()
        self.simplify()
        seen, unique = set(), []
        for w in self.warnings:
            if str(w) not in seen:
                seen.add(str(w))
                unique.append(w)
        return self.assemble(), unique


def to_nir(graph, source: str | None = None):
    """(nir.NIRGraph, warnings) for Spark ``graph`` (an engine.Graph, valid); ``warnings`` is a
    list of engine.Problem (severity "warning"), one for each thing NIR cannot express. Raises
    GraphError for an invalid graph and NIRError when ``nir`` is missing."""
    return _Exporter(graph, source).run()
