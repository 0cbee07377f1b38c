"""Compile a validated graph into a Model: initial state + a jitted chunk of K steps (lax.scan).

The Model is pure data and functions; ``engine.simulation.Simulation`` drives it. Pytree layout:

* ``params[node][name]``  live parameter values (editable between chunks without recompiling)
* ``consts[node]``        read-only arrays (connectivity, fixed weights), drawn per seed
* ``state``               {"t": step, "key": PRNG key, "nodes": {node: state}, "prev": {...}}

``chunk(K, record)(params, consts, state) -> (state, records, last, finite)`` runs K steps;
``records[name]`` stacks the recorded port over the K steps, ``last[name]`` holds the value at
the last step of every watched port, ``finite[i]`` says whether node i's state is all finite.
Those chunk functions are built by ``ChunkBuilder`` (engine/chunks.py), a mixin of Model; the
packed buffers the Simulation keeps between chunks by ``StatePacker`` (engine/packing.py).
"""
from __future__ import annotations

import contextlib
import zlib
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from spark_snn.components.base import ACTION, Ctx

from . import memory, threefry
from .chunks import ChunkBuilder
from .fusion import FusedEvents
from .graph import Graph
from .packing import StatePacker, _all_finite  # noqa: F401  (imported from here)
from .problems import GraphError, Problem
from .registry import registry
from .schedule import order_nodes
from .validate import Analysis, require_valid
from .xla_options import compiler_options

# small dense projections of one delay fused into one event kernel from this many on (_fuse).
# Fewer cost at most a few seconds of compilation and keep their exact matrix product; the
# shipped examples have at most 16 (columns.json), so their numbers do not change.
FUSE_SMALL_DENSE = 64

__all__ = ["Model", "StatePacker", "compile_graph", "node_rng", "node_hash", "precision"]


def node_hash(node_id: str) -> int:
    return zlib.crc32(node_id.encode()) & 0x7FFFFFFF


def node_rng(seed: int, node_id: str) -> np.random.Generator:
    """The NumPy generator a node draws its connectivity and initial state from."""
    return np.random.default_rng([int(seed), node_hash(node_id)])


def precision(x64: bool):
    """A context in which JAX traces and runs with 64-bit types on (``x64``) or off.

    Every model runs in its own precision: a float64 model turns JAX's 64-bit mode on only
    around its own calls (``jax.enable_x64`` is thread-local and part of the jit cache key), so a
    float32 run after a float64 run in the same process is the same as in a fresh process.
    Nothing is entered when the current setting already matches (cheaper per chunk)."""
    if _X64.value == bool(x64):
        return contextlib.nullcontext()
    return _X64(bool(x64))


_X64 = jax.enable_x64  # the thread-local setting (reading .value is cheaper than jax.config)


class InPrecision:
    """A jitted function that always traces and runs in its model's precision."""

    def __init__(self, fn, x64: bool):
        self.fn, self.x64 = fn, bool(x64)

    def __call__(self, *args):
        if _X64.value == self.x64:  # the usual case: no context to enter (per-chunk cost)
            return self.fn(*args)
        with _X64(self.x64):
            return self.fn(*args)

    def __getattr__(self, name):  # the jitted function's own attributes (_cache_size, ...)
        return getattr(self.fn, name)


class StepCtx(Ctx):
    """The Ctx a step gets, whose ``key`` is derived only when the component reads it.

    Most components (neuron pools, projections) draw no random numbers; deriving a key for every
    node at every step anyway put two Threefry hashes per node into the traced step, which XLA
    then had to compile and throw away: with thousands of small nodes most of the compilation
    time (benchmarks/bench_many_nodes.py). The key is the same whenever it is read.

    ``open_inputs``: the names of the node's input ports that nothing feeds (their values are
    zeros), so that a step may skip reading them."""

    def __new__(cls, t, dt, const, make_key):
        self = super().__new__(cls, t, dt, None, const)
        self._make_key = make_key
        return self

    @property
    def key(self):
        got = self.__dict__.get("_key")
        if got is None:
            got = self.__dict__["_key"] = self._make_key()
        return got


@dataclass
class RNode:
    """A node as the runtime sees it (a graph node, or a fused group)."""

    id: str
    comp: object
    inputs: dict            # port -> Port
    outputs: dict           # port -> Port
    sources: dict = field(default_factory=dict)  # input port -> list of "node.port"
    category: str = ""


class Model(ChunkBuilder):
    """A compiled graph. Build with ``compile_graph``."""

    def __init__(self, graph: Graph, analysis: Analysis, dtype: str | None = None,
                 fuse: bool = True, keep_unfused: tuple[str, ...] = ()):
        # a graph with composites runs flattened (inner nodes under dotted ids); ``composite``
        # says where each flat node came from (engine/composite/flatten.py), None without any
        self.composite = analysis.flat
        self.source_graph = graph.copy()
        if analysis.flat is not None:
            graph = analysis.flat.graph
        self.graph = graph.copy()
        self.dtype_name = dtype or graph.settings.get("dtype", "float32")
        self.x64 = self.dtype_name == "float64"
        self.dtype = np.dtype(self.dtype_name)
        with precision(self.x64):
            self._build(graph, analysis, fuse, keep_unfused)

    def _build(self, graph, analysis, fuse, keep_unfused):
        self.dt = float(graph.settings["dt"])
        reg = registry()
        self.rnodes: dict[str, RNode] = {}
        self.structure: dict[str, dict] = {}
        for nid, node in graph.nodes.items():
            info = analysis.nodes[nid]
            cls = reg.get(node.type)
            comp = cls(info.config, info.sizes, self.dt, self.dtype)
            self.rnodes[nid] = RNode(nid, comp, info.inputs, info.outputs, category=cls.category)
            # what fixes this node's layout (engine/state.py fingerprints saved states with it)
            self.structure[nid] = {
                "type": node.type,
                "params": {prm.name: comp.config.get(prm.name) for prm in comp.declared
                           if not prm.live},
                "sizes": {k: int(v) for k, v in sorted(info.sizes.items())}}
        edges = [(e.src, e.dst) for e in graph.edges]
        self.fused: dict[str, list[str]] = {}
        if fuse:
            edges = self._fuse(edges, set(keep_unfused))
        for src, dst in edges:
            dn, dp = dst.rsplit(".", 1)
            self.rnodes[dn].sources.setdefault(dp, []).append(src)
        deps = [(s.rsplit(".", 1)[0], d.rsplit(".", 1)[0]) for s, d in edges]
        # groups of equal elementwise nodes: gid -> [(member id, offset, size)]; the members
        # stay in rnodes (their ports, sources and configs) but run as one runtime node
        self.groups: dict[str, list[tuple[str, int, int]]] = {}
        self.group_of: dict[str, str] = {}
        ids = list(self.rnodes)
        self.latched = [n for n in ids if self.rnodes[n].comp.latched]
        self.order, self.delayed = order_nodes(ids, set(self.latched), deps)
        if fuse:
            self._group(deps)
            ids = self._runtime_ids()
            self.order, self.delayed = order_nodes(ids, set(self.latched), self._rdeps(deps))
        self.delayed_ports = sorted({s for s, d in edges
                                     if (self.rid(s.rsplit(".", 1)[0]),
                                         self.rid(d.rsplit(".", 1)[0])) in self.delayed})
        self.ids = ids
        self._chunks: dict = {}
        self._largest = None  # the largest port's size (``jit``)

    def seed_key(self, nid: str) -> str:
        """The name node ``nid`` draws its random numbers under (its ``seed_id``, else its id)."""
        node = self.graph.nodes.get(nid)
        return nid if node is None or node.seed_id is None else node.seed_id

    def precision(self):
        """The context this model's JAX work runs in (64-bit types on for float64 only)."""
        return precision(self.x64)

    def jit(self, fn, throughput: bool = False) -> InPrecision:
        """``jax.jit(fn)``, always traced and called in this model's precision, compiled with
        the options engine/xla_options.py chooses for this network (``throughput``: a vmapped
        or sharded program, of training, sweeps or a partitioned network)."""
        if self._largest is None:
            self._largest = max((self.port_size(r, p) for r in self.rnodes.values()
                                 for p in (*r.inputs.values(), *r.outputs.values())), default=0)
        options = compiler_options(self._largest, throughput)
        return InPrecision(jax.jit(fn, compiler_options=options), self.x64)

    # --- grouping of equal elementwise nodes ---------------------------------------------------
    def rid(self, nid: str) -> str:
        """The runtime node that computes graph node ``nid`` (its group, or itself)."""
        return self.group_of.get(nid, nid)

    def _rdeps(self, deps):
        return [(self.rid(a), self.rid(b)) for a, b in deps]

    def _runtime_ids(self) -> list[str]:
        ids = []
        for nid in self.rnodes:
            if nid in self.groups:
                continue
            g = self.group_of.get(nid)
            if g is None:
                ids.append(nid)
            elif self.groups[g][0][0] == nid:  # a group sits where its first member was
                ids.append(g)
        return ids

    def _group(self, deps):
        """Merge the elementwise nodes of one type with equal structural settings (see
        components/base.py) into one runtime node, unless that would change which edges
        deliver the previous step's value (a same-step path between two members)."""
        cands: dict[tuple, list[str]] = {}
        for nid, r in self.rnodes.items():
            comp, cls = r.comp, type(r.comp)
            if (not cls.elementwise or cls.latched
                    or getattr(comp, "host_side", False)):
                continue
            key = (cls.type_name,) + tuple((prm.name, repr(comp.config.get(prm.name)))
                                           for prm in comp.declared
                                           if not prm.live and prm.name != "size")
            cands.setdefault(key, []).append(nid)
        for k, members in enumerate(m for m in cands.values() if len(m) >= 2):
            gid = f"__group{k}_{type(self.rnodes[members[0]].comp).type_name}"
            for m in members:
                self.group_of[m] = gid
            self.groups[gid] = [(m, 0, 0) for m in members]  # tentative: only the order counts
            ids = self._runtime_ids()
            _, delayed = order_nodes(ids, set(self.latched), self._rdeps(deps))
            if any(((a, b) in self.delayed) != ((self.rid(a), self.rid(b)) in delayed)
                   for a, b in deps):
                for m in members:  # a member feeds another within the step: keep them apart
                    del self.group_of[m]
                del self.groups[gid]
                continue
            off, self.groups[gid] = 0, []
            for m in members:
                n = int(self.rnodes[m].comp.config["size"])
                self.groups[gid].append((m, off, n))
                off += n
            first = self.rnodes[members[0]].comp
            cls = type(first)
            comp = cls({**first.config, "size": off}, first.sizes, self.dt, self.dtype)
            ins, outs = cls.ports(comp.config)
            self.rnodes[gid] = RNode(gid, comp, {p.name: p for p in ins},
                                     {p.name: p for p in outs}, category=cls.category)

    def group_params(self, params, gid, xp=jnp, scalars=()):
        """The live parameters of a group: every member's value, one entry per neuron (``xp``:
        jax.numpy inside a traced step, numpy on the host); the names in ``scalars``, which
        every member holds as the same scalar (engine/shared_params.py), as that one value."""
        mem = self.groups[gid]
        names = self.rnodes[mem[0][0]].comp.live_params().keys()
        return {name: xp.asarray(params[mem[0][0]][name], self.dtype) if name in scalars else
                xp.concatenate([xp.broadcast_to(xp.asarray(params[m][name], self.dtype), (n,))
                                for m, _, n in mem])
                for name in names}

    def _member(self, nid: str) -> tuple[str, int, int]:
        """(group id, offset, size) of group member ``nid``."""
        gid = self.group_of[nid]
        for m, off, n in self.groups[gid]:
            if m == nid:
                return gid, off, n
        raise KeyError(nid)  # pragma: no cover

    def member_view(self, tree, nid):
        """Graph node ``nid``'s part of its group's state or const pytree."""
        _, off, n = self._member(nid)
        return jax.tree_util.tree_map(lambda x: x[off:off + n], tree)

    def runtime_params(self, params, shared=frozenset()) -> dict:
        """The live parameters as the packed chunk takes them (NumPy): one entry per runtime node,
        a group's holding every member's values one entry per neuron (so the chunk does no
        per-call expansion), except the (group, name) pairs in ``shared``: one scalar each."""
        out = {}
        for nid in self.ids:
            if nid in self.groups:
                out[nid] = self.group_params(params, nid, np,
                                             {name for g, name in shared if g == nid})
            elif nid in params:
                out[nid] = {k: np.asarray(v) for k, v in params[nid].items()}
        return out

    def param_location(self, nid: str) -> tuple[str, int, int | None]:
        """Where graph node ``nid``'s live parameters sit in ``runtime_params``: (runtime node,
        offset, count), count None for a node that is its own runtime node."""
        if nid not in self.group_of:
            return nid, 0, None
        return self._member(nid)

    def host_fed(self, nid: str) -> bool:
        """True for a runtime node whose parameters the host rewrites between most chunks
        (host inputs, host-side nodes): they travel in their own small buffer."""
        comp = self.rnodes[nid].comp
        return bool(getattr(comp, "host_side", False) or comp.fed_by_host)

    # --- fusion --------------------------------------------------------------------------------
    def _fuse(self, edges, keep):
        """Replace the event-driven projections of one delay by one FusedEvents node each
        (engine/fusion.py). Small projections that chose dense propagation themselves
        (``propagation: auto``) join them when there are at least FUSE_SMALL_DENSE of one
        delay: each would be a matrix product and a delay buffer of its own, and XLA's
        compilation time grows with their number (1,000 one-neuron pools with their projections
        took 23 s to compile, fused 0.7 s: benchmarks/bench_many_nodes.py), while fused they
        cost one event loop; fewer keep their matrix product (and their exact sums)."""
        outgoing: dict[str, list[str]] = {}
        for s, d in edges:
            outgoing.setdefault(s, []).append(d)
        incoming = {d: s for s, d in edges}
        groups: dict[int, list[str]] = {}
        small: dict[int, list[str]] = {}
        for nid, r in self.rnodes.items():
            comp = r.comp
            if (type(comp).type_name == "projection" and not comp.per_synapse_delays
                    and nid not in keep
                    and len(outgoing.get(f"{nid}.events", [])) == 1
                    and f"{nid}.pre" in incoming):
                delay = comp.config["delay_steps"]
                if not comp.dense:
                    groups.setdefault(delay, []).append(nid)
                elif comp.config["propagation"] == "auto":
                    small.setdefault(delay, []).append(nid)
        at = {nid: i for i, nid in enumerate(self.rnodes)}
        for delay, members in small.items():
            if len(members) >= FUSE_SMALL_DENSE:  # in file order, as the event-driven ones
                groups[delay] = sorted(groups.get(delay, []) + members, key=at.__getitem__)
        for delay, members in sorted(groups.items()):
            if len(members) < 2:
                continue
            gid = f"__fused_events_d{delay}"
            sources, dests, mem = [], [], []
            src_at: dict[str, int] = {}  # port -> its index in sources / dests
            dst_at: dict[str, int] = {}
            for nid in members:
                src = incoming[f"{nid}.pre"]
                dst = outgoing[f"{nid}.events"][0]
                if src not in src_at:
                    src_at[src] = len(sources)
                    sources.append((src, src.rsplit(".", 1)[1], self.rnodes[nid].comp.n_pre))
                if dst not in dst_at:
                    dst_at[dst] = len(dests)
                    dests.append((dst, "", self.rnodes[nid].comp.n_post))
                mem.append((self.rnodes[nid].comp, nid, src_at[src], dst_at[dst]))
            comp = FusedEvents(gid, mem, sources, dests, delay, self.dt, self.dtype)
            r = RNode(gid, comp, {p.name: p for p in comp.in_ports()},
                      {p.name: p for p in comp.out_ports()}, category="Projections")
            drop = set(members)
            edges = [(s, d) for s, d in edges
                     if s.rsplit(".", 1)[0] not in drop and d.rsplit(".", 1)[0] not in drop]
            edges += [(src, f"{gid}.pre{k}") for k, (src, _, _) in enumerate(sources)]
            edges += [(f"{gid}.slot{k}", dst) for k, (dst, _, _) in enumerate(dests)]
            for nid in members:
                del self.rnodes[nid]
            self.rnodes[gid] = r
            self.fused[gid] = members
        return edges

    # --- initial values ------------------------------------------------------------------------
    def init(self, seed: int | None = None):
        """(params, consts, state) for ``seed`` (default: the graph's seed)."""
        with self.precision():
            return self._init(seed)

    def _init(self, seed):
        seed = int(self.graph.settings.get("seed", 0) if seed is None else seed)
        params, consts, nodes = {}, {}, {}
        keys = self._init_keys(seed)

        def init_one(nid, r):
            try:
                if isinstance(r.comp, FusedEvents):
                    const, state = r.comp.init_fused(
                        lambda m: node_rng(seed, self.seed_key(m)))
                else:
                    sk = self.seed_key(nid)
                    const, state = r.comp.init(_to_device(keys[nid]), node_rng(seed, sk))
                params[nid] = r.comp.live_params()
            except Exception as exc:
                raise GraphError([Problem(f"could not initialise: {type(exc).__name__}: {exc}",
                                          node=nid)]) from exc
            return const, state

        for nid in self.ids:
            r = self.rnodes[nid]
            if nid in self.groups:  # every member draws its own values, then they are joined
                parts = [init_one(m, self.rnodes[m]) for m, _, _ in self.groups[nid]]
                const, state = (jax.tree_util.tree_map(lambda *xs: np.concatenate(xs),
                                                       *[p[i] for p in parts]) for i in (0, 1))
            else:
                const, state = init_one(nid, r)
            consts[nid] = jax.tree_util.tree_map(self._init_array, const)
            nodes[nid] = jax.tree_util.tree_map(self._init_array, state)
        prev = {name: self._zeros(name) for name in self.delayed_ports}
        key = threefry.prng_key(seed)     # NumPy: nothing to compile
        key = jax.random.PRNGKey(seed) if key is None else _to_device(key)
        state = {"t": _to_device(np.int32(0)), "key": key,
                 "nodes": nodes, "prev": prev}
        # the live parameters stay NumPy arrays (of the model's dtype): the chunk functions take
        # them as they are, and thousands of small uploads here cost a second per 2,500 nodes
        return params, consts, state

    # where ``init`` puts the drawn arrays: the default device (engine/partition.py keeps them
    # on the host to send each device its share)
    _init_array = staticmethod(lambda x: _to_device(x))

    def _init_keys(self, seed: int) -> dict:
        """Each graph node's JAX key for ``init``: fold_in(PRNGKey(seed), node_hash(seed
        name)), derived for all nodes in one call (one call per node cost about a millisecond
        each: seconds for thousands of nodes), as NumPy arrays."""
        nids = [nid for nid, r in self.rnodes.items() if not isinstance(r.comp, FusedEvents)]
        if not nids:
            return {}
        hashes = np.array([node_hash(self.seed_key(n)) for n in nids], np.uint32)
        base = threefry.prng_key(seed)
        keys = None if base is None else threefry.fold_in(base, hashes)   # NumPy
        if keys is None:
            base = jax.random.PRNGKey(seed)
            keys = np.asarray(jax.vmap(lambda h: jax.random.fold_in(base, h))(hashes))
        return dict(zip(nids, keys))

    def port(self, name: str):
        nid, p = name.rsplit(".", 1)
        r = self.rnodes[nid]
        return r.outputs.get(p) or r.inputs[p]

    def port_size(self, r: RNode, port) -> int:
        return r.comp.size(port.size)

    def _port_shape(self, name: str):
        nid, p = name.rsplit(".", 1)
        r = self.rnodes[nid]
        port = r.outputs.get(p) or r.inputs[p]
        return self.port_size(r, port), (np.int32 if port.kind == ACTION else self.dtype)

    def zeros_host(self, name: str) -> np.ndarray:
        """Zeros of the size and type of port ``name`` (NumPy: no JAX work on the host)."""
        return np.zeros(*self._port_shape(name))

    def _zeros(self, name: str):
        return _to_device(self.zeros_host(name))

    # --- one step ------------------------------------------------------------------------------
    def _gather(self, r: RNode, vals: dict, prev: dict):
        inputs = {}
        for pname, port in r.inputs.items():
            srcs = r.sources.get(pname, [])
            acc = None
            for s in srcs:
                sn = s.rsplit(".", 1)[0]
                v = prev[s] if (self.rid(sn), self.rid(r.id)) in self.delayed else vals[s]
                acc = v if acc is None else acc + v
            inputs[pname] = self._zeros(f"{r.id}.{pname}") if acc is None else acc
        return inputs

    def _open_inputs(self, nid: str) -> frozenset:
        """The input ports of runtime node ``nid`` that nothing feeds (in a group: no member's),
        which its step receives as zeros (StepCtx.open_inputs)."""
        members = [m for m, _, _ in self.groups[nid]] if nid in self.groups else [nid]
        return frozenset(p for p in self.rnodes[nid].inputs
                         if not any(self.rnodes[m].sources.get(p) for m in members))

    def _call(self, r: RNode, what: str, fn, *args):
        try:
            out = fn(*args)
        except GraphError:
            raise
        except Exception as exc:
            raise GraphError([Problem(f"{what} failed: {type(exc).__name__}: {exc}",
                                      node=r.id)]) from exc
        return out

    def _check_outputs(self, r: RNode, outs: dict):
        for pname, port in r.outputs.items():
            if pname not in outs:
                raise GraphError([Problem("the component did not produce this output",
                                          node=r.id, port=pname)])
            n = self.port_size(r, port)
            if tuple(outs[pname].shape) != (n,):
                raise GraphError([Problem(f"output has shape {tuple(outs[pname].shape)}, "
                                          f"expected ({n},)", node=r.id, port=pname)])

    def step(self, params, consts, state):
        """One simulation step (traced inside the chunk). Returns (state, values)."""
        t, key = state["t"], state["key"]
        nodes = dict(state["nodes"])
        vals: dict = {}

        def ctx(nid):
            h = node_hash(self.seed_key(nid))
            c = StepCtx(t, self.dt, consts[nid],
                        lambda: jax.random.fold_in(jax.random.fold_in(key, h), t))
            c.open_inputs = self._open_inputs(nid)
            return c

        for nid in self.latched:
            r = self.rnodes[nid]
            outs = self._call(r, "read", r.comp.read, params[nid], state["nodes"][nid], ctx(nid))
            self._check_outputs(r, outs)
            vals.update({f"{nid}.{k}": v for k, v in outs.items()})
        for nid in self.order:
            r = self.rnodes[nid]
            if nid in self.groups:
                mem = self.groups[nid]
                parts = [self._gather(self.rnodes[m], vals, state["prev"]) for m, _, _ in mem]
                inputs = {pn: jnp.concatenate([q[pn] for q in parts]) for pn in r.inputs}
                p = params[nid] if nid in params else self.group_params(params, nid)
            else:
                inputs = self._gather(r, vals, state["prev"])
                p = params[nid]
            ns, outs = self._call(r, "step", r.comp.step, p, state["nodes"][nid], inputs,
                                  ctx(nid))
            self._check_outputs(r, outs)
            nodes[nid] = ns
            if nid in self.groups:
                vals.update({f"{m}.{k}": v[off:off + n] for m, off, n in self.groups[nid]
                             for k, v in outs.items()})
            else:
                vals.update({f"{nid}.{k}": v for k, v in outs.items()})
        for nid in self.latched:
            r = self.rnodes[nid]
            inputs = self._gather(r, vals, state["prev"])
            nodes[nid] = self._call(r, "update", r.comp.update, params[nid],
                                    state["nodes"][nid], inputs, ctx(nid))
        prev = {name: vals[name] for name in self.delayed_ports}
        return {"t": t + 1, "key": key, "nodes": nodes, "prev": prev}, vals

    # --- chunks --------------------------------------------------------------------------------
    def check_probe(self, name: str) -> None:
        nid, _, p = name.rpartition(".")
        if nid not in self.graph.nodes:
            raise GraphError([Problem(f"cannot record '{name}': no such node", node=nid or name)])
        r = self.rnodes.get(nid)
        if r is None:  # fused away: the caller must compile with keep_unfused
            raise GraphError([Problem(f"cannot record '{name}': this projection was fused; "
                                      "record it with keep_unfused", node=nid, port=p)])
        if p not in r.outputs:
            raise GraphError([Problem(f"cannot record '{name}': node has no output port '{p}' "
                                      f"(outputs: {', '.join(r.outputs)})", node=nid, port=p)])


def _to_device(x):
    """``jnp.asarray(x)`` without its small XLA program per shape and type (about 15 ms each
    on a cold start): NumPy values go by ``jax.device_put`` (the same type rules). A read-only
    NumPy array (a component's promise that it will not change it: components/fan_in.py's
    tables) is handed over as it is, which on the CPU uses a 64-byte aligned buffer in place
    (10^8 synapses: 1.2 GB not copied); a writable one is copied first (into an aligned buffer:
    one copy, as before), so that changing it later cannot reach the device's copy."""
    if isinstance(x, np.ndarray):
        if x.flags.writeable:
            from spark_snn.components.fan_in import aligned_empty
            copy = aligned_empty(x.shape, x.dtype)
            copy[...] = x
            x = copy
        return jax.device_put(x)
    if isinstance(x, np.generic):
        return jax.device_put(x)
    return jnp.asarray(x)


def compile_graph(graph: Graph, dtype: str | None = None, fuse: bool = True,
                  keep_unfused: tuple[str, ...] = (), source: str | None = None) -> Model:
    """Validate ``graph`` (raising GraphError with every problem) and compile it."""
    analysis = require_valid(graph, source)
    if dtype is not None and dtype != graph.settings.get("dtype", "float32"):
        # validation checked the memory in the graph's own precision
        too_big = memory.problems(memory.estimate(analysis, graph, dtype))
        if too_big:
            raise GraphError(too_big, source)
    return Model(graph, analysis, dtype=dtype, fuse=fuse, keep_unfused=keep_unfused)
