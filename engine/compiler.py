"""Compile a validated graph into a Model: initial state + a jitted chunk of K steps (lax.scan).

The Model is pure data and functions; ``engine.simulation.Simulation`` drives it. Pytree layout:

* ``params[node][name]``  live parameter values (editable between chunks without recompiling)
* ``consts[node]``        read-only arrays (connectivity, fixed weights), drawn per seed
* ``state``               {"t": step, "key": PRNG key, "nodes": {node: state}, "prev": {...}}

``chunk(K, record)(params, consts, state) -> (state, records, last, finite)`` runs K steps;
``records[name]`` stacks the recorded port over the K steps, ``last[name]`` holds the value at
the last step of every watched port, ``finite[i]`` says whether node i's state is all finite.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from components.base import ACTION, SPIKES, Ctx

from .fusion import FusedEvents
from .graph import Graph
from .problems import GraphError, Problem
from .registry import registry
from .schedule import order_nodes
from .validate import Analysis, require_valid

__all__ = ["Model", "StatePacker", "compile_graph", "node_rng", "node_hash"]


def node_hash(node_id: str) -> int:
    return zlib.crc32(node_id.encode()) & 0x7FFFFFFF


def node_rng(seed: int, node_id: str) -> np.random.Generator:
    """The NumPy generator a node draws its connectivity and initial state from."""
    return np.random.default_rng([int(seed), node_hash(node_id)])


def enable_float64():
    jax.config.update("jax_enable_x64", True)


@dataclass
class RNode:
    """A node as the runtime sees it (a graph node, or a fused group)."""

    id: str
    comp: object
    inputs: dict            # port -> Port
    outputs: dict           # port -> Port
    sources: dict = field(default_factory=dict)  # input port -> list of "node.port"
    category: str = ""


class Model:
    """A compiled graph. Build with ``compile_graph``."""

    def __init__(self, graph: Graph, analysis: Analysis, dtype: str | None = None,
                 fuse: bool = True, keep_unfused: tuple[str, ...] = ()):
        self.graph = graph.copy()
        self.dtype_name = dtype or graph.settings.get("dtype", "float32")
        if self.dtype_name == "float64":
            enable_float64()
        self.dtype = np.dtype(self.dtype_name)
        self.dt = float(graph.settings["dt"])
        reg = registry()
        self.rnodes: dict[str, RNode] = {}
        for nid, node in graph.nodes.items():
            info = analysis.nodes[nid]
            cls = reg.get(node.type)
            comp = cls(info.config, info.sizes, self.dt, self.dtype)
            self.rnodes[nid] = RNode(nid, comp, info.inputs, info.outputs, category=cls.category)
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
                                           for prm in cls.params
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

    def group_params(self, params, gid):
        """The live parameters of a group: every member's value, one entry per neuron."""
        mem = self.groups[gid]
        names = self.rnodes[mem[0][0]].comp.live_params().keys()
        return {name: jnp.concatenate([jnp.broadcast_to(params[m][name], (n,))
                                       for m, _, n in mem]) for name in names}

    def member_view(self, tree, nid):
        """Graph node ``nid``'s part of its group's state or const pytree."""
        for m, off, n in self.groups[self.group_of[nid]]:
            if m == nid:
                return jax.tree_util.tree_map(lambda x: x[off:off + n], tree)
        raise KeyError(nid)

    # --- fusion --------------------------------------------------------------------------------
    def _fuse(self, edges, keep):
        outgoing: dict[str, list[str]] = {}
        for s, d in edges:
            outgoing.setdefault(s, []).append(d)
        incoming = {d: s for s, d in edges}
        groups: dict[int, list[str]] = {}
        for nid, r in self.rnodes.items():
            comp = r.comp
            if (type(comp).type_name == "projection" and not comp.dense and nid not in keep
                    and len(outgoing.get(f"{nid}.events", [])) == 1
                    and f"{nid}.pre" in incoming):
                groups.setdefault(comp.config["delay_steps"], []).append(nid)
        for delay, members in sorted(groups.items()):
            if len(members) < 2:
                continue
            gid = f"__fused_events_d{delay}"
            sources, dests, mem = [], [], []
            for nid in members:
                src = incoming[f"{nid}.pre"]
                dst = outgoing[f"{nid}.events"][0]
                if src not in [s[0] for s in sources]:
                    sn, sp = src.rsplit(".", 1)
                    sources.append((src, sp, self.rnodes[nid].comp.n_pre))
                if dst not in [d[0] for d in dests]:
                    dests.append((dst, "", self.rnodes[nid].comp.n_post))
                si = [s[0] for s in sources].index(src)
                di = [d[0] for d in dests].index(dst)
                mem.append((self.rnodes[nid].comp, nid, si, di))
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
        seed = int(self.graph.settings.get("seed", 0) if seed is None else seed)
        params, consts, nodes = {}, {}, {}
        def init_one(nid, r):
            try:
                if isinstance(r.comp, FusedEvents):
                    const, state = r.comp.init_fused(lambda m: node_rng(seed, m))
                else:
                    key = jax.random.fold_in(jax.random.PRNGKey(seed), node_hash(nid))
                    const, state = r.comp.init(key, node_rng(seed, nid))
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
            consts[nid] = jax.tree_util.tree_map(jnp.asarray, const)
            nodes[nid] = jax.tree_util.tree_map(jnp.asarray, state)
        prev = {name: self._zeros(name) for name in self.delayed_ports}
        state = {"t": jnp.asarray(0, jnp.int32), "key": jax.random.PRNGKey(seed),
                 "nodes": nodes, "prev": prev}
        params = jax.tree_util.tree_map(jnp.asarray, params)
        return params, consts, state

    def port(self, name: str):
        nid, p = name.rsplit(".", 1)
        r = self.rnodes[nid]
        return r.outputs.get(p) or r.inputs[p]

    def port_size(self, r: RNode, port) -> int:
        return r.comp.size(port.size)

    def _zeros(self, name: str):
        nid, p = name.rsplit(".", 1)
        r = self.rnodes[nid]
        port = r.outputs.get(p) or r.inputs[p]
        dt = jnp.int32 if port.kind == ACTION else self.dtype
        return jnp.zeros(self.port_size(r, port), dt)

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
            k = jax.random.fold_in(jax.random.fold_in(key, node_hash(nid)), t)
            return Ctx(t, self.dt, k, consts[nid])

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
                p = self.group_params(params, nid)
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

    def chunk(self, n_steps: int, record: tuple[str, ...] = (), watch: tuple[str, ...] = (),
              count: tuple[str, ...] = ()):
        """The jitted function running ``n_steps`` steps (cached per arguments).

        ``count`` names ports whose values are summed over the chunk inside the scan (cheap
        spike counts); the sums come back in ``last`` under "sum:" + name.
        """
        key = (int(n_steps), tuple(record), tuple(watch), tuple(count))
        if key in self._chunks:
            return self._chunks[key]
        for name in record + watch + count:
            self.check_probe(name)
        spikes = {name for name in record if self.port(name).kind == SPIKES}
        ids = self.ids

        def run(params, consts, state):
            last0 = {name: self._zeros(name) for name in watch}
            last0.update({"sum:" + n: jnp.zeros_like(self._zeros(n), dtype=jnp.int32)
                          for n in count})

            def body(carry, _):
                st, prev_last = carry
                st, vals = self.step(params, consts, st)
                rec = {n: (vals[n] > 0 if n in spikes else vals[n]) for n in record}
                last = {n: vals[n] for n in watch}
                last.update({"sum:" + n: prev_last["sum:" + n] + (vals[n] > 0).astype(jnp.int32)
                             for n in count})
                return (st, last), rec

            (state, last), recs = jax.lax.scan(body, (state, last0), None, length=int(n_steps))
            finite = jnp.stack([_all_finite(state["nodes"][nid]) for nid in ids]) \
                if ids else jnp.zeros(0, bool)
            return state, recs, last, finite

        fn = jax.jit(run)
        self._chunks[key] = fn
        return fn

    def packed_chunk(self, packer: StatePacker, ppacker: StatePacker, n_steps: int, record=(),
                     watch=(), count=()):
        """Like ``chunk`` but params and state go in packed (see StatePacker): the fast path
        the Simulation uses between chunks. The input state is not donated, so the state at the
        start of a failed chunk is still there to replay it step by step."""
        key = ("packed", int(n_steps), tuple(record), tuple(watch), tuple(count))
        if key in self._chunks:
            return self._chunks[key]
        inner = self.chunk(n_steps, record, watch, count)

        def run(pparams, consts, packed):
            params = ppacker.unpack(pparams)
            state, recs, last, _per_node = inner(params, consts, packer.unpack(packed))
            out = packer.pack(state)
            # one reduction per packed buffer (the per-node check is left to the replay)
            finite = jnp.stack([jnp.all(jnp.isfinite(v)) for v in out.values()
                                if jnp.issubdtype(v.dtype, jnp.floating)] or [jnp.asarray(True)])
            return out, recs, last, finite

        fn = jax.jit(run)
        self._chunks[key] = fn
        return fn


class StatePacker:
    """Packs a state pytree into one flat buffer per dtype, and back.

    Each output buffer of a jitted call costs several microseconds on the CPU, so the
    Simulation keeps the state packed between chunks (a handful of buffers instead of dozens);
    inside a chunk the scan carries the unpacked tree, so the per-step cost is unchanged.
    """

    def __init__(self, example):
        flat, self.treedef = jax.tree_util.tree_flatten_with_path(example)
        leaves = [leaf for _, leaf in flat]
        # path (tuple of dict keys) -> slot index, for writing one leaf into a packed buffer
        self.index = {tuple(getattr(k, "key", k) for k in path): i
                      for i, (path, _) in enumerate(flat)}
        self.slots = []  # (group dtype, offset, shape)
        sizes: dict[str, int] = {}
        for leaf in leaves:
            dt = jnp.asarray(leaf).dtype.name
            n = int(np.prod(np.shape(leaf)))
            self.slots.append((dt, sizes.get(dt, 0), tuple(np.shape(leaf))))
            sizes[dt] = sizes.get(dt, 0) + n
        self.groups = sorted(sizes)

    def pack(self, tree):
        leaves = jax.tree_util.tree_leaves(tree)
        parts: dict[str, list] = {g: [] for g in self.groups}
        for (dt, _off, _shape), leaf in zip(self.slots, leaves):
            parts[dt].append(jnp.ravel(leaf))
        return {g: (jnp.concatenate(v) if len(v) > 1 else v[0]) for g, v in parts.items()}

    def pack_host(self, tree) -> dict:
        """Pack into NumPy buffers on the host (no device work)."""
        leaves = jax.tree_util.tree_leaves(tree)
        parts: dict[str, list] = {g: [] for g in self.groups}
        for (dt, _off, _shape), leaf in zip(self.slots, leaves):
            parts[dt].append(np.ravel(np.asarray(leaf)))
        return {g: np.concatenate(v).astype(g) for g, v in parts.items()}

    def unpack(self, packed):
        leaves = []
        for dt, off, shape in self.slots:
            n = int(np.prod(shape))
            leaves.append(packed[dt][off:off + n].reshape(shape))
        return jax.tree_util.tree_unflatten(self.treedef, leaves)


def _all_finite(tree) -> jax.Array:
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]
    if not leaves:
        return jnp.asarray(True)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def compile_graph(graph: Graph, dtype: str | None = None, fuse: bool = True,
                  keep_unfused: tuple[str, ...] = (), source: str | None = None) -> Model:
    """Validate ``graph`` (raising GraphError with every problem) and compile it."""
    analysis = require_valid(graph, source)
    return Model(graph, analysis, dtype=dtype, fuse=fuse, keep_unfused=keep_unfused)
