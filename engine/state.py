"""Saved simulation states: one file holds everything a run needs to go on exactly where it
stopped, and names the graph structure it belongs to.

A state file is a NumPy ``.npz`` archive (read with ``allow_pickle=False``: opening one runs no
code) with

* ``header``: a UTF-8 JSON document (format tag ``spark-state``, version, the structural
  fingerprint and the structure it was computed from, seed, step, dt, dtype, the host-side
  nodes' state, and the path of every array below);
* ``a0``, ``a1``, ...: one array per value: every state variable of every node (membrane
  potentials, traces, plastic weights, delay buffers, an in-graph environment), the JAX RNG key,
  the step counter, the values carried over a cycle (``prev``), every live parameter (the ones a
  host-side node writes too) and every node's constants (connectivity, static weights).

Values are stored per graph node, not in the compiled layout: a pool that runs inside a group
of equal pools, or a projection fused into a shared kernel, is saved under its own id as if it
ran alone, so a state saved by one Simulation loads into another one of the same graph that
records, counts or fuses differently (the app and ``spark run``, for instance).

Structure: node ids, types, structural parameters (every parameter that is not live), port
sizes, edges, dt and dtype. Its SHA-256 (first 16 hex digits) is the fingerprint. A state loads
only into a graph with the same structure; otherwise ``StateError`` names every difference
(which node, which parameter). Live parameters may differ: ``load_state`` says which, and uses
the state's values (``params="state"``, an exact continuation) or keeps the simulation's
(``params="graph"``).
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field

import jax
import numpy as np

STATE_FORMAT = "spark-state"
STATE_VERSION = 1

__all__ = ["StateError", "SavedState", "LoadReport", "structure", "fingerprint",
           "structure_differences", "read_state", "write_state", "canonical_nodes",
           "runtime_nodes", "canonical_consts"]


class StateError(ValueError):
    """A state file that cannot be read, or that does not belong to this graph; ``reasons``
    lists every difference found."""

    def __init__(self, message: str, reasons=()):
        self.reasons = list(reasons)
        super().__init__(message)


# --- structure ----------------------------------------------------------------------------------

def structure(model) -> dict:
    """What fixes the layout of ``model``'s state (see the module docstring), as plain JSON."""
    return json.loads(json.dumps({
        "dt": float(model.dt), "dtype": model.dtype_name,
        "nodes": {nid: model.structure[nid] for nid in sorted(model.structure)},
        "edges": sorted([e.src, e.dst] for e in model.graph.edges)}, default=_plain))


def fingerprint(struct: dict) -> str:
    """16 hex digits naming ``struct`` (the same for equal structures, whatever their order)."""
    text = json.dumps(struct, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def structure_differences(saved: dict, here: dict) -> list[str]:
    """Every structural difference between a state's graph (``saved``) and this one."""
    out = []
    if saved.get("dt") != here.get("dt"):
        out.append(f"time step dt: {saved.get('dt'):g} ms in the state, {here.get('dt'):g} ms "
                   "here")
    if saved.get("dtype") != here.get("dtype"):
        out.append(f"precision: {saved.get('dtype')} in the state, {here.get('dtype')} here")
    a, b = saved.get("nodes", {}), here.get("nodes", {})
    for nid in a:
        if nid not in b:
            out.append(f"node '{nid}' ({a[nid].get('type')}) is not in this graph")
    for nid in b:
        if nid not in a:
            out.append(f"node '{nid}' ({b[nid].get('type')}) is not in the state's graph")
    for nid in (n for n in a if n in b):
        sa, sb = a[nid], b[nid]
        if sa.get("type") != sb.get("type"):
            out.append(f"node '{nid}': type '{sa.get('type')}' in the state, '{sb.get('type')}' "
                       "here")
            continue
        pa, pb = sa.get("params", {}), sb.get("params", {})
        for name in dict.fromkeys(list(pa) + list(pb)):
            if pa.get(name) != pb.get(name):
                out.append(f"node '{nid}', parameter '{name}': {_show(pa.get(name))} in the "
                           f"state, {_show(pb.get(name))} here")
        za, zb = sa.get("sizes", {}), sb.get("sizes", {})
        for name in dict.fromkeys(list(za) + list(zb)):
            if za.get(name) != zb.get(name):
                out.append(f"node '{nid}', size '{name}': {za.get(name)} in the state, "
                           f"{zb.get(name)} here")
    ea = {tuple(e) for e in saved.get("edges", [])}
    eb = {tuple(e) for e in here.get("edges", [])}
    out += [f"edge {s} -> {d} is not in this graph" for s, d in sorted(ea - eb)]
    out += [f"edge {s} -> {d} is not in the state's graph" for s, d in sorted(eb - ea)]
    return out


def _show(v) -> str:
    if v is None:
        return "(none)"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


# --- per-node (canonical) layout <-> the compiled layout ------------------------------------------

def canonical_nodes(model, nodes: dict) -> dict:
    """The compiled state's ``nodes`` (runtime ids: groups, fused kernels) -> one entry per graph
    node, as if every node ran alone (NumPy arrays)."""
    out = {}
    for rid in model.ids:
        st = jax.tree_util.tree_map(np.asarray, nodes[rid])
        if rid in model.groups:
            for m, _, _ in model.groups[rid]:
                out[m] = model.member_view(st, m)
        elif rid in model.fused:
            out.update(_split_fused(model, rid, st))
        else:
            out[rid] = st
    return out


def runtime_nodes(model, canon: dict, template: dict) -> dict:
    """The inverse of ``canonical_nodes``: per-graph-node values -> the compiled layout, checked
    leaf by leaf against ``template`` (the compiled ``nodes`` of this model); StateError naming
    the node and variable when a value is missing or has another shape or type."""
    out = {}
    for rid in model.ids:
        if rid in model.groups:
            parts = [_need(canon, m) for m, _, _ in model.groups[rid]]
            tree = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *parts)
        elif rid in model.fused:
            tree = _join_fused(model, rid, canon)
        else:
            tree = _need(canon, rid)
        out[rid] = _conform(tree, template[rid], rid)
    return out


def _need(canon, nid):
    """Node ``nid``'s saved values ({} for a node without state: nothing was stored)."""
    return canon.get(nid, {})


def _conform(tree, template, rid):
    flat_t, treedef = jax.tree_util.tree_flatten_with_path(template)
    got = dict(_flat(tree))
    leaves = []
    for path, want in flat_t:
        key = tuple(_key(k) for k in path)
        name = "/".join(map(str, key)) or "(value)"
        if key not in got:
            raise StateError(f"node '{rid}': the state has no '{name}'")
        a = np.asarray(got[key])
        w = np.asarray(want)
        if a.shape != w.shape or a.dtype != w.dtype:
            raise StateError(f"node '{rid}', state '{name}': {a.dtype}{list(a.shape)} in the "
                             f"state, {w.dtype}{list(w.shape)} here")
        leaves.append(a)
    return jax.tree_util.tree_unflatten(treedef, leaves)


def _split_fused(model, rid, st) -> dict:
    """A fused kernel's delay buffer (spike bit sets of all its sources) -> each member
    projection's own buffer ((delay, n_pre) of 0/1 in the model dtype, as it keeps it alone)."""
    comp = model.rnodes[rid].comp
    buf = np.asarray(st["buf"], np.uint32)
    bits = (buf[..., None] >> np.arange(32, dtype=np.uint32)) & np.uint32(1)
    bits = bits.reshape(buf.shape[0], -1)
    out = {}
    for _pcomp, nid, si, _di in comp.members:
        lo, hi = int(comp.src_off[si]), int(comp.src_off[si + 1])
        out[nid] = {"buf": bits[:, lo:hi].astype(model.dtype)}
    return out


def _join_fused(model, rid, canon) -> dict:
    comp = model.rnodes[rid].comp
    delay, n = int(comp.delay), int(comp.src_off[-1])
    spikes = np.zeros((delay, n + (-n) % 32), bool)
    for _pcomp, nid, si, _di in comp.members:
        lo, hi = int(comp.src_off[si]), int(comp.src_off[si + 1])
        buf = np.asarray(_need(canon, nid)["buf"])
        if buf.shape != (delay, hi - lo):
            raise StateError(f"node '{nid}', state 'buf': shape {list(buf.shape)} in the state, "
                             f"{[delay, hi - lo]} here")
        spikes[:, lo:hi] = buf > 0
    words = spikes.reshape(delay, -1, 32).astype(np.uint32) << np.arange(32, dtype=np.uint32)
    return {"buf": words.sum(axis=-1, dtype=np.uint32)}


def canonical_consts(model, consts: dict, seed: int) -> dict:
    """Every graph node's constants (connectivity, static weights) as if it ran alone; a fused
    projection's are drawn again from its random stream (exactly the ones in use)."""
    from .compiler import node_rng

    out = {}
    for rid in model.ids:
        c = jax.tree_util.tree_map(np.asarray, consts.get(rid, {}))
        if rid in model.groups:
            for m, _, _ in model.groups[rid]:
                out[m] = model.member_view(c, m)
        elif rid in model.fused:
            for pcomp, nid, _si, _di in model.rnodes[rid].comp.members:
                out[nid] = pcomp.init(None, node_rng(seed, model.seed_key(nid)))[0]
        else:
            out[rid] = c
    return out


# --- the file -------------------------------------------------------------------------------------

def _key(k):
    return getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))


def _flat(tree, prefix=()):
    """[(path tuple, leaf)] of a nested dict of arrays."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(prefix + tuple(_key(k) for k in path), leaf) for path, leaf in flat]


def _nest(pairs) -> dict:
    out: dict = {}
    for path, leaf in pairs:
        d = out
        for k in path[:-1]:
            d = d.setdefault(k, {})
        d[path[-1]] = leaf
    return out


@dataclass
class SavedState:
    """A state file read into memory: ``header`` (dict) and the arrays by path."""

    path: str
    header: dict
    arrays: dict = field(repr=False)   # path tuple -> ndarray

    def part(self, *prefix) -> dict:
        """The nested dict of the arrays under ``prefix`` (e.g. ``part("state", "nodes")``)."""
        n = len(prefix)
        return _nest((p[n:], a) for p, a in self.arrays.items() if p[:n] == prefix and len(p) > n)

    def get(self, *path):
        return self.arrays.get(tuple(path))

    @property
    def t(self) -> int:
        return int(self.header["t"])

    @property
    def seed(self) -> int:
        return int(self.header["seed"])

    @property
    def fingerprint(self) -> str:
        return self.header["fingerprint"]

    @property
    def structure(self) -> dict:
        return self.header["structure"]


def write_state(path, model, *, nodes: dict, t: int, key, prev: dict, params: dict,
                consts: dict, seed: int, host: dict | None = None, meta: dict | None = None) -> str:
    """Write a state file (see the module docstring) from per-graph-node ``nodes``, the step
    ``t``, the RNG ``key``, the cycle values ``prev``, the live ``params`` and per-graph-node
    ``consts``; ``host`` maps host-side nodes to their (JSON) state. Written to a temporary file
    first and moved into place, so a failed write never leaves half a file. Returns the path."""
    struct = structure(model)
    pairs = (_flat(nodes, ("state", "nodes")) + _flat(prev, ("state", "prev"))
             + [(("state", "t"), np.asarray(t, np.int32)), (("state", "key"), np.asarray(key))]
             + _flat({n: v for n, v in params.items() if v}, ("params",))
             + _flat({n: v for n, v in consts.items() if v}, ("consts",)))
    arrays = {f"a{i}": np.asarray(leaf) for i, (_p, leaf) in enumerate(pairs)}
    header = {
        "format": STATE_FORMAT, "version": STATE_VERSION,
        "fingerprint": fingerprint(struct), "structure": struct,
        "seed": int(seed), "t": int(t), "dt": float(model.dt), "time_ms": int(t) * float(model.dt),
        "dtype": model.dtype_name, "host": host or {},
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "meta": meta or {},
        "arrays": [list(p) for p, _ in pairs],
    }
    blob = np.frombuffer(json.dumps(header, default=_plain).encode("utf-8"), np.uint8)
    path = str(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".spark-state-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, header=blob, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_state(path) -> SavedState:
    """Read a state file; StateError when it is not one (or of a newer version)."""
    path = str(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if "header" not in z.files:
                raise StateError(f"{path}: not a Spark state file (no header)")
            header = json.loads(bytes(z["header"]).decode("utf-8"))
            if header.get("format") != STATE_FORMAT:
                raise StateError(f"{path}: not a Spark state file (format "
                                 f"{header.get('format')!r})")
            if int(header.get("version", 0)) > STATE_VERSION:
                raise StateError(f"{path}: state file version {header.get('version')} is newer "
                                 f"than this Spark reads ({STATE_VERSION})")
            arrays = {tuple(p): z[f"a{i}"] for i, p in enumerate(header["arrays"])}
    except StateError:
        raise
    except FileNotFoundError:
        raise StateError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise StateError(f"{path}: not a readable Spark state file ({exc})") from None
    return SavedState(path, header, arrays)


@dataclass
class LoadReport:
    """What ``Simulation.load_state`` did: the step it continues from, and what differed."""

    path: str
    t: int
    time_ms: float
    seed: int
    param_differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.path}: state at step {self.t} (t = {self.time_ms:g} ms), seed {self.seed}"]
        lines += [f"  {n}" for n in self.notes]
        lines += [f"  {d}" for d in self.param_differences]
        return "\n".join(lines)


def check_structure(saved: SavedState, model) -> None:
    """StateError naming every difference when ``saved`` belongs to another structure."""
    here = structure(model)
    if saved.fingerprint == fingerprint(here):
        return
    reasons = structure_differences(saved.structure, here) or [
        "the graph structure differs (fingerprints "
        f"{saved.fingerprint} and {fingerprint(here)})"]
    shown = "; ".join(reasons[:8]) + (f"; and {len(reasons) - 8} more" if len(reasons) > 8 else "")
    raise StateError(f"{saved.path}: the state belongs to a structurally different graph: "
                     f"{shown}", reasons)


def same_arrays(a, b) -> bool:
    """Whether two pytrees of arrays are equal bit for bit (same paths, shapes and values)."""
    fa, fb = dict(_flat(a)), dict(_flat(b))
    if fa.keys() != fb.keys():
        return False
    for k, x in fa.items():
        x, y = np.asarray(x), np.asarray(fb[k])
        if x.shape != y.shape or x.dtype != y.dtype or x.tobytes() != y.tobytes():
            return False
    return True


# --- a Simulation <-> a file ----------------------------------------------------------------------

def host_states(sim) -> dict:
    """The state of every host-side node (``host_state()`` of its component, plain JSON);
    StateError for a node whose component cannot give one."""
    out = {}
    for nid in sim.host_nodes:
        comp = sim.model.rnodes[nid].comp
        fn = getattr(comp, "host_state", None)
        if fn is None:
            raise StateError(f"node '{nid}' ({sim.graph.nodes[nid].type}) runs on the host and "
                             "cannot save its state")
        try:
            out[nid] = json.loads(json.dumps(fn(), default=_plain))
        except StateError:
            raise
        except Exception as exc:
            raise StateError(f"node '{nid}': cannot save its host-side state: {exc}") from exc
    return out


def restore_hosts(sim, host: dict) -> None:
    for nid in sim.host_nodes:
        if nid not in host:
            raise StateError(f"the state has no host-side state for node '{nid}'")
        sim.model.rnodes[nid].comp.host_restore(sim, nid, host[nid])


def save_simulation(sim, path, meta: dict | None = None) -> str:
    """Write ``sim``'s complete state to ``path`` (see the module docstring)."""
    model = sim.model
    tree = sim._runtime_tree()
    params = {n: v for n, v in sim.params.items() if n in model.graph.nodes}
    return write_state(path, model, nodes=canonical_nodes(model, tree["nodes"]), t=sim.t,
                       key=tree["key"], prev=tree["prev"], params=params,
                       consts=canonical_consts(model, sim.consts, sim.seed), seed=sim.seed,
                       host=host_states(sim), meta=meta)


def load_simulation(sim, path, params: str = "state") -> LoadReport:
    """Put the state saved in ``path`` into ``sim`` (same structure, else StateError naming the
    differences). ``params="state"`` sets the live parameters to the saved values (an exact
    continuation), ``"graph"`` keeps ``sim``'s own (those a host-side node writes are always
    restored); either way the differences are listed in the report."""
    import jax.numpy as jnp

    if params not in ("state", "graph"):
        raise ValueError("params must be 'state' or 'graph'")
    saved = read_state(path)
    model = sim.model
    check_structure(saved, model)
    notes = []
    if saved.seed != sim.seed:
        notes.append(f"seed {saved.seed} from the state (the graph says {sim.seed}): its "
                     "connectivity and noise are the saved ones")
        sim.reset(seed=saved.seed)
    # constants: the saved ones (a fused kernel's are checked against a fresh draw)
    stored = saved.part("consts")
    consts = dict(sim.consts)
    for rid in model.ids:
        if rid in model.fused:
            fresh = canonical_consts(model, {}, saved.seed)
            for m in model.fused[rid]:
                if not same_arrays(stored.get(m, {}), fresh[m]):
                    raise StateError(f"{saved.path}: the weights of projection '{m}' in the "
                                     "state are not the ones its seed draws here")
            continue
        template = jax.tree_util.tree_map(np.asarray, sim.consts.get(rid, {}))
        if rid in model.groups:
            parts = [stored.get(m, {}) for m, _, _ in model.groups[rid]]
            tree = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *parts) \
                if template else {}
        else:
            tree = stored.get(rid, {})
        consts[rid] = jax.tree_util.tree_map(jnp.asarray, _conform(tree, template, rid))
    # the state itself
    here = sim._runtime_tree()
    nodes = runtime_nodes(model, saved.part("state", "nodes"), here["nodes"])
    prev = _conform(saved.part("state", "prev"), here["prev"], "(cycle values)")
    t = _conform(saved.get("state", "t"), here["t"], "(step)")
    key = _conform(saved.get("state", "key"), here["key"], "(random key)")
    with model.precision():
        sim.consts = consts
        sim._put_runtime_tree({"t": t, "key": key, "nodes": nodes, "prev": prev})
    diffs = apply_params(sim, saved.part("params"), use_saved=params == "state")
    restore_hosts(sim, saved.header.get("host", {}))
    sim._after_jump()
    return LoadReport(saved.path, saved.t, saved.t * model.dt, saved.seed, diffs, notes)


def apply_params(sim, stored: dict, use_saved: bool) -> list[str]:
    """Set ``sim``'s live parameters from ``stored`` ({node: {name: array}}): the host-written
    ones always, the others when ``use_saved``. Returns the differences, as sentences."""
    from .registry import registry

    diffs = []
    for nid, vals in stored.items():
        # a fused kernel's parameters (runtime ids, not graph nodes) never change: skipped
        if nid not in sim.params or nid not in sim.graph.nodes:
            continue
        cls = registry().get(sim.graph.nodes[nid].type)
        for name, v in vals.items():
            cur = sim.params[nid].get(name)
            if cur is None:
                continue
            v, cur = np.asarray(v), np.asarray(cur)
            if v.shape == cur.shape and v.tobytes() == cur.tobytes():
                continue
            try:
                host_written = cls.node_param(sim.graph.nodes[nid].params, name).host_written
            except KeyError:
                host_written = False
            if not host_written:
                what = "the state's value is used" if use_saved else "this graph's value is kept"
                diffs.append(f"node '{nid}', parameter '{name}': {_value(v)} in the state, "
                             f"{_value(cur)} here ({what})")
            if host_written or use_saved:
                sim.set_param(nid, name, v)
    return diffs


def _value(a: np.ndarray) -> str:
    if a.ndim == 0 or a.size == 1:
        return f"{float(a.reshape(-1)[0]):g}"
    if np.all(a == a.reshape(-1)[0]):
        return f"{float(a.reshape(-1)[0]):g} (x{a.size})"
    return f"[{', '.join(f'{x:g}' for x in a.reshape(-1)[:3])}, ...] ({a.size} values)"


@dataclass
class Snapshot:
    """A simulation's state kept in memory (``Simulation.snapshot``): the packed state, the live
    parameters and the host-side state at step ``t``; ``nbytes`` is what it holds."""

    t: int
    seed: int
    packed: np.ndarray = field(repr=False)
    params: dict = field(repr=False)
    host: dict = field(repr=False)

    @property
    def nbytes(self) -> int:
        return int(self.packed.nbytes + sum(np.asarray(v).nbytes
                                            for vals in self.params.values()
                                            for v in vals.values()))
