"""One network partitioned by neurons across devices (JAX's own sharding: ``shard_map``).

Each of D devices owns a contiguous slice of every neuron pool: neuron i of a pool of n lives on
device i // L with L = ceil(n / D) rounded up to a multiple of 32, a whole number of 32-bit
words (the last slices may be short or empty; they are padded, and the padding never reaches a
real neuron). Per step:

* every device steps its own slice of each *split* node (the elementwise nodes: neuron pools,
  elementwise synapse nodes, current sources, host inputs);
* every static ``projection`` (fused into one kernel per delay or not) keeps only the synapses
  whose POST neuron the device owns (the tables restricted by post, targets made local), and
  delivers to its own post slice;
* the only exchange is ONE all-gather per step of the spikes of every split node's port that
  a projection reads, as 32-bit words (one bit per neuron: a pool of n neurons costs about
  n / 8 bytes per step to every device). Slices being whole words, the gathered words are
  those of the whole spike vector, which a fused kernel stores as they are (its delay buffer
  holds words); an unfused projection unpacks them. A node that runs whole and reads a pool
  mid-step gathers that pool's words on its own;
* the remaining nodes that are neither elementwise nor latched (Poisson sources, rate encoders,
  spike counters, readouts) run *whole* on every device, on the gathered inputs, and each device
  takes its slice of what they output.

Connectivity and initial state are drawn exactly as the single-device compile draws them (the
same NumPy streams, on the host), then split, and each post neuron receives its arrivals in the
same order (ascending pre neuron), so the spikes are identical to the single-device run (tested
on the CPU with 2, 3 and 4 host devices and with two processes). Not supported, refused with the
node named: host-side nodes (Gymnasium environments), latched nodes other than static
projections (plastic projections, environments in the compiled run), projections with
per-synapse delays.

Several processes (``jax.distributed``, engine/distributed.py) take part in one mesh over all
their devices; every process draws the whole network on its host and sends its devices their
slices.
"""
from __future__ import annotations

import contextlib
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from spark_snn.components.base import SPIKES
from spark_snn.components.spike_history import store_slot
from spark_snn.components.projection import Projection, spike_words, word_bits

from .compiler import Model
from .fusion import FusedEvents
from .graph import Graph
from .problems import GraphError, Problem
from .validate import require_valid

AXIS = "neurons"   # the mesh axis the neurons are split along

__all__ = ["AXIS", "PartitionedModel", "compile_partitioned", "local_size"]


def local_size(n: int, devices: int) -> int:
    """Neurons per device for a node of ``n``: ceil(n / devices) rounded up to a whole number
    of 32-bit words (the last devices' slices may be short, or empty)."""
    return 32 * -(-int(n) // (32 * int(devices)))


class PartitionedModel(Model):
    """A compiled graph whose step runs on one device's share of the neurons (inside
    ``shard_map`` over the mesh axis ``AXIS``). Build with ``compile_partitioned``.

    ``kind[node]`` is "split" (elementwise: the device holds its slice), "projection" (static
    synapses restricted by post: the device holds those onto its neurons) or "whole" (run
    entirely on every device)."""

    def __init__(self, graph: Graph, analysis, devices: int, dtype: str | None = None,
                 keep_unfused: tuple[str, ...] = ()):
        if int(devices) < 1:
            raise ValueError("devices must be at least 1")
        self.devices = int(devices)
        super().__init__(graph, analysis, dtype=dtype, fuse=True, keep_unfused=keep_unfused)
        with self.precision():
            self._localise()

    # where the compiler's ``init`` puts what it draws: on the host (then split, see ``init``)
    _init_array = staticmethod(np.asarray)

    # which node runs how ----------------------------------------------------------------------
    def _localise(self):
        """Record every node's whole form, then switch to the per-device form: split nodes
        (and groups of equal elementwise nodes, each member split on its own) hold their slice,
        projections the synapses onto the device's neurons."""
        self.kind: dict[str, str] = {}
        self.full_size: dict[str, int] = {}      # "node.port" -> values the whole port carries
        self._full: dict[str, tuple] = {}        # node -> (comp, inputs, outputs) of the whole
        self._local: dict[str, tuple] = {}
        self._full_groups = self.groups
        members = [m for mem in self.groups.values() for m, _, _ in mem]
        refused = [p for nid in self.ids for p in self._refusals(nid, self.rnodes[nid].comp)]
        if refused:
            raise GraphError(refused)
        for nid in members + list(self.ids):     # a group's members before the group
            r = self.rnodes[nid]
            for pname, port in {**r.inputs, **r.outputs}.items():
                self.full_size[f"{nid}.{pname}"] = self.port_size(r, port)
            self.kind[nid] = self._kind_of(r.comp)
            self._full[nid] = (r.comp, r.inputs, r.outputs)
            self._local[nid] = self._local_node(nid, r)
        self._local_groups = {}
        for gid, mem in self.groups.items():
            off, self._local_groups[gid] = 0, []
            for m, _, n in mem:
                self._local_groups[gid].append((m, off, local_size(n, self.devices)))
                off += local_size(n, self.devices)
        self._use(whole=False)

    @staticmethod
    def _refusals(nid: str, comp) -> list[Problem]:
        """Why runtime node ``nid`` cannot be partitioned (empty when it can)."""
        cls = type(comp)
        why = None
        if getattr(comp, "host_side", False):
            why = f"type '{cls.type_name}' runs on the host between chunks"
        elif cls is Projection and comp.per_synapse_delays:
            why = ("a projection with per-synapse delays (max_delay_steps) is not supported; "
                   "give every synapse the same delay")
        elif cls.latched and cls is not Projection and not isinstance(comp, FusedEvents):
            why = (f"type '{cls.type_name}' is not supported (only static 'projection' nodes "
                   "among the latched types: no plasticity or environments in a partitioned "
                   "run)")
        return [] if why is None else [
            Problem(f"cannot be partitioned across devices: {why}", node=nid)]

    @staticmethod
    def _kind_of(comp) -> str:
        cls = type(comp)
        if isinstance(comp, FusedEvents) or cls is Projection:
            return "projection"
        if cls.elementwise and "size" in comp.config:
            return "split"
        return "whole"

    def _local_node(self, nid: str, r) -> tuple:
        """(comp, inputs, outputs) of node ``nid`` as one device runs it."""
        comp, kind, d = r.comp, self.kind[nid], self.devices
        cls = type(comp)
        if kind == "split":
            size = sum(local_size(n, d) for n in self._sizes(nid))
            cfg = {**comp.config, "size": size}
            local = cls(cfg, comp.sizes, self.dt, self.dtype)
            ins, outs = cls.ports(cfg)
        elif isinstance(comp, FusedEvents):
            dests = [(name, port, local_size(n, d)) for name, port, n in comp.dests]
            local = SplitFusedEvents(comp.gid, comp.members, comp.sources, dests,
                                     comp.delay, self.dt, self.dtype)
            ins, outs = local.in_ports(), local.out_ports()
        elif kind == "projection":
            sizes = {**comp.sizes, "n_post": local_size(comp.n_post, d)}
            local = cls(comp.config, sizes, self.dt, self.dtype)
            ins, outs = cls.ports(comp.config)
        else:
            return r.comp, r.inputs, r.outputs
        return local, {p.name: p for p in ins}, {p.name: p for p in outs}

    def _use(self, whole: bool) -> None:
        for nid, (comp, ins, outs) in (self._full if whole else self._local).items():
            r = self.rnodes[nid]
            r.comp, r.inputs, r.outputs = comp, ins, outs
        self.groups = self._full_groups if whole else self._local_groups

    @contextlib.contextmanager
    def _whole_nodes(self):
        """Within: every node is its whole self again (to draw the initial values)."""
        self._use(whole=True)
        try:
            yield
        finally:
            self._use(whole=False)

    def _sizes(self, nid: str) -> list[int]:
        """The whole sizes of a split node's parts: its members' for a group, else its own."""
        if nid in self._full_groups:
            return [n for _, _, n in self._full_groups[nid]]
        return [int(self._full[nid][0].config["size"])]

    def local_port(self, name: str) -> bool:
        """True when a device holds only its slice of port ``name`` (split nodes, and the
        arrivals a projection delivers)."""
        return self.kind[name.rsplit(".", 1)[0]] != "whole" and not self._is_pre(name)

    def _is_pre(self, name: str) -> bool:
        nid, port = name.rsplit(".", 1)
        return self.kind[nid] == "projection" and port in self.rnodes[nid].inputs

    def whole_comp(self, nid: str):
        """Node ``nid``'s component as the single-device compile builds it (whole sizes)."""
        return self._full[nid][0]

    # initial values, split ---------------------------------------------------------------------
    def split_params(self, params: dict) -> dict:
        """Live parameters {node: {name: value}} (whole) with the device axis of ``init``."""
        return {nid: {k: self._split_leaf(nid, v) for k, v in p.items()}
                for nid, p in params.items()}

    def init(self, seed: int | None = None, whole_params: dict | None = None):
        """(params, consts, state) as NumPy trees whose every leaf has a leading axis of one
        entry per device (device k's share at index k): drawn whole, as the single-device
        compile draws them, then split. ``whole_params``, if a dict, receives the live
        parameters before the split."""
        with self.precision(), self._whole_nodes():
            params, consts, state = self._init(seed)
        if whole_params is not None:
            whole_params.update(params)
        d = self.devices
        params = self.split_params(params)
        consts = {nid: self._split_const(nid, c) for nid, c in consts.items()}
        nodes = {nid: self._split_tree(nid, s) for nid, s in state["nodes"].items()}
        prev = {name: np.zeros((d, *np.shape(self.zeros_host(name))), self.zeros_host(name).dtype)
                for name in self.delayed_ports}
        state = {"t": _copies(state["t"], d), "key": _copies(state["key"], d),
                 "nodes": nodes, "prev": prev}
        return params, consts, state

    def _split_leaf(self, nid: str, x):
        """One leaf of node ``nid``: its per-neuron axis cut into the devices' slices (split
        nodes), or one copy per device."""
        x, d = np.asarray(x), self.devices
        sizes = self._sizes(nid) if self.kind[nid] == "split" else []
        if not sizes or x.ndim == 0 or x.shape[0] != sum(sizes):
            return _copies(x, d)
        parts, off = [], 0
        for n in sizes:   # each part padded with copies of its last neuron
            loc = local_size(n, d)
            pad = [(0, loc * d - n)] + [(0, 0)] * (x.ndim - 1)
            parts.append(np.pad(x[off:off + n], pad, mode="edge").reshape(d, loc, *x.shape[1:]))
            off += n
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def _split_tree(self, nid, tree):
        return jax.tree_util.tree_map(lambda x: self._split_leaf(nid, x), tree)

    def _split_const(self, nid: str, const):
        if self.kind[nid] != "projection":
            return self._split_tree(nid, const)
        comp, d = self._full[nid][0], self.devices
        if "W" in const:   # dense: each device its columns
            w = np.asarray(const["W"])
            loc = local_size(comp.n_post, d)
            w = np.pad(w, [(0, 0), (0, loc * d - w.shape[1])])
            return {"W": np.ascontiguousarray(w.reshape(w.shape[0], d, loc).transpose(1, 0, 2))}
        if isinstance(comp, FusedEvents):
            segs = [(int(comp.dst_off[k]), n, local_size(n, d))
                    for k, (_, _, n) in enumerate(comp.dests)]
        else:
            segs = [(0, comp.n_post, local_size(comp.n_post, d))]
        t, w = split_tables(np.asarray(const["targets"]), np.asarray(const["weights"]), segs, d)
        return {**{k: _copies(np.asarray(v), d) for k, v in const.items()},
                "targets": t, "weights": w}

    # one step on one device -----------------------------------------------------------------
    def _gather(self, r, vals: dict, prev: dict):
        whole_in = self.kind[r.id] != "split"
        if r.comp.latched and ("\0exchanged",) not in vals:
            self._exchange(vals, prev)   # the projections update last: one exchange for all
        words_in = isinstance(r.comp, SplitFusedEvents)
        inputs = {}
        for pname in r.inputs:
            acc = None
            for s in r.sources.get(pname, []):
                late = (self.rid(s.rsplit(".", 1)[0]), self.rid(r.id)) in self.delayed
                src = prev if late else vals
                if words_in:   # a fused kernel takes every source as whole spike words
                    acc = self._words(s, src, vals, late)
                    continue
                v = self._adapted(s, src, vals, whole_in, late)
                acc = v if acc is None else acc + v
            inputs[pname] = self._zeros(f"{r.id}.{pname}") if acc is None else acc
        return inputs

    def _adapted(self, s: str, src: dict, vals: dict, whole: bool, late: bool):
        """Output ``s`` as the consumer needs it: the whole vector (gathered from every device
        once per step and cached in ``vals``) or this device's slice."""
        local = self.local_port(s)
        if local == (not whole):
            return src[s]
        n = self.full_size[s]
        if whole:
            key = ("\0whole", s, late)
            if key not in vals:
                if self.port(s).kind != SPIKES:
                    vals[key] = lax.all_gather(src[s], AXIS, tiled=True)[:n]
                else:
                    vals[key] = _unpack(self._words(s, src, vals, late), n, src[s].dtype)
            return vals[key]
        loc = local_size(n, self.devices)
        v = jnp.pad(src[s], (0, loc * self.devices - n))
        return lax.dynamic_slice(v, (lax.axis_index(AXIS) * loc,), (loc,))

    def _words(self, s: str, src: dict, vals: dict, late: bool):
        """The whole spike vector of port ``s`` as words (``spike_words``): from the step's
        exchange, gathered on its own (a node that runs whole reading it mid-step), or packed
        here (a port every device has whole)."""
        key = ("\0words", s, late)
        if key not in vals:
            if not self.local_port(s):
                vals[key] = spike_words(src[s])
            else:
                got = lax.all_gather(spike_words(src[s]), AXIS)
                vals[key] = _whole_words(got.reshape(-1), self.full_size[s])
        return vals[key]

    def _exchange(self, vals: dict, prev: dict) -> None:
        """Gather, in ONE all-gather, the spike words of every split node's port that a
        projection reads, into ``vals`` where ``_words`` finds them. A device's slice is a
        whole number of words, so the gathered words are those of the whole vector."""
        vals[("\0exchanged",)] = True
        wanted = {}
        for nid in self.latched:
            for s in (s for srcs in self.rnodes[nid].sources.values() for s in srcs):
                late = (self.rid(s.rsplit(".", 1)[0]), self.rid(nid)) in self.delayed
                if (self.local_port(s) and self.port(s).kind == SPIKES
                        and ("\0words", s, late) not in vals):
                    wanted[("\0words", s, late)] = spike_words((prev if late else vals)[s])
        if not wanted:
            return
        got = lax.all_gather(jnp.concatenate(list(wanted.values())), AXIS)  # (devices, words)
        at = 0
        for key, w in wanted.items():
            mine = got[:, at:at + w.shape[0]].reshape(-1)
            vals[key] = _whole_words(mine, self.full_size[key[1]])
            at += w.shape[0]

    def whole(self, name: str, v, axis: int = 0):
        """Port ``name``'s values ``v`` (this device's) made whole along ``axis`` (for what the
        host reads back: records, counts)."""
        n = self.full_size[name]
        if not self.local_port(name):
            return v
        got = lax.all_gather(v, AXIS, axis=axis, tiled=True)
        return lax.slice_in_dim(got, 0, n, axis=axis)

    # the compiled chunk ---------------------------------------------------------------------
    def sharded_chunk(self, mesh: Mesh, n_steps: int, record=(), count=()):
        """``fn(params, consts, state) -> (state, records, sums, ok)``, jitted over ``mesh``:
        the inputs and the state carry the leading device axis of ``init``; ``records`` (steps
        x size), ``sums`` (spikes per neuron over the chunk) and ``ok`` (all state finite) come
        back whole, the same on every device."""
        key = ("sharded", int(n_steps), tuple(record), tuple(count), mesh.devices.shape)
        if key in self._chunks:
            return self._chunks[key]
        inner = self.chunk_function(n_steps, record, (), count)

        def one(tree):
            return jax.tree_util.tree_map(lambda x: x[0], tree)

        def per_device(params, consts, state):
            state, recs, last, finite = inner(one(params), one(consts), one(state))
            recs = {n: self.whole(n, v, axis=1) for n, v in recs.items()}
            sums = {n: self.whole(n, last["sum:" + n]) for n in count}
            ok = jnp.all(lax.all_gather(jnp.all(finite), AXIS))
            return jax.tree_util.tree_map(lambda x: x[None], state), recs, sums, ok

        fn = jax.shard_map(per_device, mesh=mesh, in_specs=(P(AXIS), P(AXIS), P(AXIS)),
                           out_specs=(P(AXIS), P(), P(), P()), check_vma=False)
        self._chunks[key] = got = self.jit(fn, throughput=True)
        return got


def _whole_words(words, n: int):
    """The words of a spike vector of ``n`` neurons from the gathered words of the padded
    vector: the first ceil(n / 32), the bits of padding neurons in the last one cleared."""
    out = words[:-(-n // 32)]
    if n % 32:
        out = out.at[-1].set(out[-1] & jnp.uint32((1 << (n % 32)) - 1))
    return out


def _unpack(words, n: int, dtype):
    """The spike vector (0/1 of ``dtype``) of ``n`` neurons from its words."""
    return word_bits(words, n).astype(dtype)


def concat_words(parts):
    """The words of the concatenation of spike vectors given as (words, neurons) pairs: each
    part shifted to its bit offset and added in (the parts' bits never overlap)."""
    total = sum(n for _, n in parts)
    out = jnp.zeros(-(-total // 32) + 1, jnp.uint32)
    off = 0
    for w, n in parts:
        q, r = divmod(off, 32)
        if r == 0:
            out = out.at[q:q + w.shape[0]].add(w)
        else:
            out = out.at[q:q + w.shape[0]].add(w << r)
            out = out.at[q + 1:q + 1 + w.shape[0]].add(w >> (32 - r))
        off += n
    return out[:-(-total // 32)]


class SplitFusedEvents(FusedEvents):
    """A fused kernel as one device runs it: its targets are the device's post slices, and
    ``update`` takes every source as the words of its whole spike vector (what the exchange
    brings), so the spikes are never unpacked."""

    def update(self, p, state, inputs, ctx):
        words = concat_words([(inputs[f"pre{k}"], n)
                              for k, (_, _, n) in enumerate(self.sources)])
        return {"buf": store_slot(state["buf"], ctx.t, words)}


def _copies(x, d: int):
    x = np.asarray(x)
    return np.broadcast_to(x, (d, *x.shape))


def split_tables(targets: np.ndarray, weights: np.ndarray, segments, devices: int):
    """Padded synapse tables (one row per pre neuron plus the no-spike row; targets index a
    concatenation of post ports, padding = their total) cut by post neuron: (targets, weights)
    with a leading device axis, device k's holding the synapses onto the neurons it owns with
    targets renumbered in the concatenation of its slices (padding = its total). ``segments``:
    (offset, size, slice size) of each post port. Every row keeps its order, so each post
    neuron still receives its arrivals in the same order.

    Vectorised over the rows: each row's entries are grouped by device with a stable sort of
    their device numbers (a radix sort of small integers), then each device's group is read
    out from its start in every row."""
    off = np.array([s[0] for s in segments], np.int64)
    loc = np.array([s[2] for s in segments], np.int64)
    loc_off = np.concatenate([[0], np.cumsum(loc)[:-1]])
    total = int(sum(s[1] for s in segments))
    real = targets < total
    if len(segments) == 1:
        q = targets.astype(np.int64)
        seg_loc, seg_base = loc[0], 0
    else:
        seg = np.clip(np.searchsorted(off, targets, side="right") - 1, 0, len(segments) - 1)
        q = targets - off[seg]
        seg_loc, seg_base = loc[seg], loc_off[seg]
    dev = np.where(real, q // seg_loc, devices).astype(np.int16)    # padding: "device" D
    local = (seg_base + q - (q // seg_loc) * seg_loc).astype(np.int32)
    del q
    order = np.argsort(dev, axis=1, kind="stable")
    dev = np.take_along_axis(dev, order, axis=1)
    local = np.take_along_axis(local, order, axis=1)
    w = np.take_along_axis(weights, order, axis=1)
    del order
    counts = np.stack([(dev == k).sum(axis=1) for k in range(devices)])   # (devices, rows)
    starts = np.cumsum(counts, axis=0) - counts
    fan = max(int(counts.max()) if counts.size else 0, 1)
    cols = np.arange(fan)
    sentinel = int(loc.sum())
    tt = np.empty((devices, targets.shape[0], fan), np.int32)
    ww = np.empty((devices, targets.shape[0], fan), weights.dtype)
    for k in range(devices):
        idx = np.minimum(starts[k][:, None] + cols, targets.shape[1] - 1)
        mine = cols < counts[k][:, None]
        tt[k] = np.where(mine, np.take_along_axis(local, idx, axis=1), sentinel)
        ww[k] = np.where(mine, np.take_along_axis(w, idx, axis=1), 0)
    return tt, ww


def compile_partitioned(graph: Graph, devices: int, dtype: str | None = None,
                        keep_unfused: tuple[str, ...] = (),
                        source: str | None = None) -> PartitionedModel:
    """Validate ``graph`` (GraphError with every problem) and compile it for ``devices``
    devices; GraphError naming the node for what cannot be partitioned."""
    analysis = require_valid(graph, source)
    return PartitionedModel(graph, analysis, devices, dtype=dtype, keep_unfused=keep_unfused)


def device_mesh(devices: int | None = None) -> Mesh:
    """A one-axis mesh over the first ``devices`` of all devices (every process's, with
    jax.distributed; default all of them)."""
    devs = jax.devices()
    n = len(devs) if devices is None else int(devices)
    if not 1 <= n <= len(devs):
        raise ValueError(f"{n} devices asked for, {len(devs)} available "
                         f"({', '.join(sorted({d.platform for d in devs}))}); on a CPU, "
                         "XLA_FLAGS=--xla_force_host_platform_device_count=N makes N")
    if jax.process_count() > 1 and n != len(devs):
        raise ValueError(f"with {jax.process_count()} processes every device takes part: "
                         f"use all {len(devs)}")
    return Mesh(np.asarray(devs[:n]), (AXIS,))


def put(tree, mesh: Mesh, x64: bool):
    """``tree`` (NumPy leaves with a leading device axis) onto the mesh, device k getting
    index k; each process sends only its own devices' shares."""
    sharding = NamedSharding(mesh, P(AXIS))

    def one(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

    from .compiler import precision
    with precision(x64):
        return jax.tree_util.tree_map(one, tree)


def fetch(x) -> np.ndarray:
    """A replicated result as NumPy (from this process's first device: every process has it)."""
    return np.asarray(x.addressable_data(0))


def exchange_bytes(model: PartitionedModel) -> int:
    """Bytes each device receives per step: the spike words of every gathered spike port
    (whole vectors of other kinds count their values)."""
    gathered = {s for nid in model.ids if model.kind[nid] != "split"
                for srcs in model.rnodes[nid].sources.values() for s in srcs
                if model.local_port(s)}
    total = 0
    for s in gathered:
        n = model.full_size[s]
        total += (math.ceil(local_size(n, model.devices) / 32) * 4 * model.devices
                  if model.port(s).kind == SPIKES else n * model.dtype.itemsize)
    return total
