"""Parameter sweeps: every combination of some live parameters, run as ONE compiled program.

``spark sweep FILE --param exc.tau_m=10:30:5 --param drive.amplitude=15:25:3 --steps N --out DIR``
builds the model once, stacks the parameter values of all combinations on a leading axis and
runs the model's step ``jax.vmap``-ed over that axis inside one ``lax.scan`` (chunks of
``chunk`` steps; the state of every combination stays on the device between chunks). When the
combinations do not fit the memory budget they run in batches of equal size (one compilation);
with several local devices each batch is split over them with JAX's sharding (the combination
axis is sharded, the constants are replicated).

Every combination starts from the same initial state, connectivity and noise (the graph's seed):
only the swept parameters differ. Only live parameters can be swept; a structural one (a size,
the connectivity, a delay) is refused with the reason. Host-side nodes (a Gymnasium environment)
cannot take part: they step outside the compiled program.

Measures, one value per combination (columns of ``sweep.csv``):

* ``pool.rate_hz`` and ``pool.spikes``: every neuron pool's mean rate and total spike count;
* ``env.episodes`` and ``env.episode_length_mean``: finished episodes and their mean length
  (environment steps) for every in-graph environment;
* ``node.port_mean``: the mean over steps and elements of each output named with ``measures``.

A combination whose state became NaN or infinite gets NaN measures and is listed in
``failed``.
"""
from __future__ import annotations

import csv
import itertools
import math
import time
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from spark_snn.components.base import SPIKES

from .compiler import StatePacker, compile_graph
from .graph import Graph
from .problems import GraphError, Problem
from .registry import registry
from .validate import check_value

MEMORY_BUDGET = 512 * 2**20   # bytes of state (x3 for the scan's copies) per batch, by default

__all__ = ["SweepParam", "SweepResult", "SweepCancelled", "parse_param", "sweep"]


class SweepCancelled(RuntimeError):
    """The sweep was cancelled (``cancelled()`` returned True between chunks)."""


@dataclass
class SweepParam:
    """One swept parameter: ``node``'s live parameter ``name`` over ``values``."""

    node: str
    name: str
    values: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.node}.{self.name}"


def parse_param(spec: str) -> SweepParam:
    """``node.param=lo:hi:n`` (n values from lo to hi, both included) or ``node.param=a,b,c``;
    ValueError saying what is wrong."""
    left, eq, right = str(spec).partition("=")
    node, _, name = left.strip().rpartition(".")
    if not eq or not node or not name:
        raise ValueError(f"'{spec}': write node.param=lo:hi:n or node.param=v1,v2,...")
    right = right.strip()
    try:
        if ":" in right:
            parts = right.split(":")
            if len(parts) != 3:
                raise ValueError
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 1:
                raise ValueError
            values = np.linspace(lo, hi, n)
        else:
            values = np.asarray([float(x) for x in right.split(",")], np.float64)
    except ValueError:
        raise ValueError(f"'{spec}': expected lo:hi:n (n a whole number >= 1) or a list of "
                         "numbers after '='") from None
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"'{spec}': the values must be finite numbers")
    return SweepParam(node, name, values)


@dataclass
class SweepResult:
    """The measures of every combination (rows in ``itertools.product`` order of the params)."""

    params: list[SweepParam]
    grid: np.ndarray                      # (rows, len(params)) parameter values
    measures: dict[str, np.ndarray]       # name -> (rows,)
    steps: int
    dt: float
    wall_s: float = 0.0
    compile_s: float = 0.0
    batch: int = 0
    devices: int = 1
    failed: list[int] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(p.values) for p in self.params)

    def grid_of(self, measure: str) -> np.ndarray:
        """A measure as an array of shape ``shape`` (one axis per parameter)."""
        return self.measures[measure].reshape(self.shape)

    def columns(self) -> list[str]:
        return [p.label for p in self.params] + list(self.measures)

    def write_csv(self, path) -> None:
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(self.columns())
            for i in range(self.grid.shape[0]):
                w.writerow([repr(float(x)) for x in self.grid[i]]
                           + [_cell(self.measures[m][i]) for m in self.measures])


def _cell(x) -> str:
    x = float(x)
    if math.isnan(x):
        return "nan"
    return str(int(x)) if x == int(x) and abs(x) < 2**53 else repr(x)


def _check_params(model, params: list[SweepParam]) -> None:
    problems = []
    graph = model.graph
    for sp in params:
        node = graph.nodes.get(sp.node)
        if node is None:
            problems.append(Problem("no such node (inside a component, use its dotted id)",
                                    node=sp.node))
            continue
        cls = registry().get(node.type)
        try:
            prm = cls.node_param(node.params, sp.name)
        except KeyError:
            problems.append(Problem(f"unknown parameter for type '{node.type}'", node=sp.node,
                                    param=sp.name))
            continue
        if prm.host_written:
            problems.append(Problem("written by the node itself while running: not a setting "
                                    "to sweep", node=sp.node, param=sp.name))
        elif not prm.live:
            problems.append(Problem("structural (it changes the model's layout or "
                                    "connectivity): only live parameters can be swept in one "
                                    "program", node=sp.node, param=sp.name))
        elif sp.node not in model.rnodes and model.group_of.get(sp.node) is None:
            problems.append(Problem("this node was fused into a shared kernel", node=sp.node,
                                    param=sp.name))
        else:
            for v in sp.values:
                msg = check_value(prm, float(v))
                if msg:
                    problems.append(Problem(f"value {v:g}: {msg}", node=sp.node, param=sp.name))
                    break
    labels = [p.label for p in params]
    for lab in set(labels):
        if labels.count(lab) > 1:
            node, _, name = lab.rpartition(".")
            problems.append(Problem("swept twice", node=node, param=name))
    if problems:
        raise GraphError(problems)


def _measured(model, extra):
    # (members of a group of equal pools stay in rnodes under their own ids)
    pools = [nid for nid in model.graph.nodes if nid in model.rnodes
             and model.rnodes[nid].category == "Neurons"
             and "spikes" in model.rnodes[nid].outputs
             and model.rnodes[nid].outputs["spikes"].kind == SPIKES]
    envs = [nid for nid, r in model.rnodes.items() if r.category == "Environments"
            and "done" in r.outputs and "episode_length" in r.outputs]
    for name in extra:
        nid, _, port = name.rpartition(".")
        r = model.rnodes.get(nid)
        if nid not in model.graph.nodes or r is None or port not in r.outputs:
            raise GraphError([Problem(f"cannot measure '{name}': no such output", node=nid or name,
                                      port=port)])
    return pools, envs, list(extra)


def sweep(graph: Graph, params, steps: int, *, chunk: int = 1000, measures=(),
          dtype: str | None = None, seed: int | None = None, batch: int | None = None,
          memory_budget: int = MEMORY_BUDGET, progress=None, cancelled=None) -> SweepResult:
    """Run every combination of ``params`` (SweepParam or "node.param=lo:hi:n" strings) for
    ``steps`` steps (see the module docstring). ``progress(done_steps, total_steps)`` is called
    after every chunk (of every batch); ``cancelled()`` returning True stops the sweep
    (SweepCancelled). GraphError names a bad parameter, node or measure."""
    params = [p if isinstance(p, SweepParam) else parse_param(p) for p in params]
    if not params:
        raise ValueError("nothing to sweep: give at least one parameter")
    steps, chunk = int(steps), max(1, int(chunk))
    if steps < 1:
        raise ValueError("steps must be >= 1")
    if seed is not None:
        graph = graph.copy()
        graph.settings["seed"] = int(seed)
    keep = tuple(m.rpartition(".")[0] for m in measures)
    model = compile_graph(graph, dtype=dtype, keep_unfused=keep)
    host = [nid for nid, r in model.rnodes.items() if getattr(r.comp, "host_side", False)]
    if host:
        raise GraphError([Problem("runs on the host between chunks: a sweep runs every "
                                  "combination inside one compiled program, without the host",
                                  node=host[0])])
    _check_params(model, params)
    pools, envs, extra = _measured(model, measures)
    grid = np.asarray(list(itertools.product(*[p.values for p in params])), np.float64)
    rows = grid.shape[0]

    p0, consts, s0 = model.init()
    state_bytes = StatePacker(s0).size * 4
    devices = jax.local_devices()
    ndev = len(devices)
    if batch is None:
        batch = max(1, int(memory_budget // max(3 * state_bytes, 1)))
    batch = min(int(batch), rows)
    batch = -(-batch // ndev) * ndev      # a multiple of the device count
    runner = _Runner(model, params, pools, envs, extra, p0, consts, s0, batch, devices)

    out = {name: np.full(rows, np.nan) for name in runner.measure_names()}
    failed: list[int] = []
    total = rows * steps
    t0 = time.perf_counter()
    for b0 in range(0, rows, batch):
        idx = np.arange(b0, min(b0 + batch, rows))
        values = grid[np.concatenate([idx, np.full(batch - idx.size, idx[-1])])]
        acc, finite = runner.run(values, steps, chunk, lambda done, b0=b0: (
            progress(b0 * steps + done * idx.size, total) if progress else None), cancelled)
        for name, col in runner.measures(acc, steps).items():
            out[name][idx] = col[:idx.size]
        bad = idx[~finite[:idx.size]]
        for name in out:
            out[name][bad] = np.nan
        failed += [int(i) for i in bad]
    wall = time.perf_counter() - t0
    return SweepResult(params, grid, out, steps, float(model.dt), wall, runner.compile_s, batch,
                       ndev, failed)


class _Runner:
    """The vmapped chunk functions of one sweep and how a batch goes through them."""

    def __init__(self, model, params, pools, envs, extra, p0, consts, s0, batch, devices):
        self.model, self.params, self.batch = model, params, batch
        self.pools, self.envs, self.extra = pools, envs, extra
        self.p0, self.consts, self.s0 = p0, consts, s0
        self.sizes = {p: model.port_size(model.rnodes[p], model.rnodes[p].outputs["spikes"])
                      for p in pools}
        self.compile_s = 0.0
        self._fns: dict[int, object] = {}
        self.shard = self.replicate = self.mesh = None
        if len(devices) > 1:
            from jax.sharding import Mesh, NamedSharding, PartitionSpec
            mesh = self.mesh = Mesh(np.asarray(devices), ("combination",))
            self.shard = NamedSharding(mesh, PartitionSpec("combination"))
            self.replicate = NamedSharding(mesh, PartitionSpec())
        swept = {}
        for sp in params:
            swept.setdefault(sp.node, set()).add(sp.name)
        self.axes = {n: {k: (0 if k in swept.get(n, ()) else None) for k in v}
                     for n, v in p0.items()}

    def measure_names(self) -> list[str]:
        names = []
        for p in self.pools:
            names += [f"{p}.rate_hz", f"{p}.spikes"]
        for e in self.envs:
            names += [f"{e}.episodes", f"{e}.episode_length_mean"]
        names += [f"{name}_mean" for name in self.extra]
        return names

    def _acc0(self):
        dt = self.model.dtype
        return {"spikes": {p: np.zeros(self.batch, np.int32) for p in self.pools},
                "episodes": {e: np.zeros(self.batch, np.int32) for e in self.envs},
                "lengths": {e: np.zeros(self.batch, dt) for e in self.envs},
                "sums": {n: np.zeros(self.batch, dt) for n in self.extra}}

    def _fn(self, n: int):
        fn = self._fns.get(n)
        if fn is not None:
            return fn
        model = self.model
        pools, envs, extra = self.pools, self.envs, self.extra

        def run(params, consts, state, acc):
            params = model.prepare(params)

            def body(carry, _):
                st, a = carry
                st, vals = model.step(params, consts, st)
                done = {e: vals[f"{e}.done"][0] > 0 for e in envs}
                a = {"spikes": {p: a["spikes"][p] + jnp.sum(vals[f"{p}.spikes"] > 0,
                                                            dtype=jnp.int32) for p in pools},
                     "episodes": {e: a["episodes"][e] + done[e].astype(jnp.int32)
                                  for e in envs},
                     "lengths": {e: a["lengths"][e] + jnp.where(
                         done[e], vals[f"{e}.episode_length"][0], 0) for e in envs},
                     "sums": {m: a["sums"][m] + jnp.mean(vals[m]) for m in extra}}
                return (st, a), None

            (state, acc), _ = jax.lax.scan(body, (state, acc), None, length=n)
            from .compiler import _all_finite
            return state, acc, _all_finite(state["nodes"])

        fn = jax.vmap(run, in_axes=(self.axes, None, 0, 0))
        if self.mesh is not None:
            # each device runs its own combinations (the native kernels are opaque to XLA's
            # automatic partitioning, which would feed them every combination on every device)
            from jax.sharding import PartitionSpec as P
            c = P("combination")
            params_spec = {nd: {k: (c if ax == 0 else P()) for k, ax in v.items()}
                           for nd, v in self.axes.items()}
            fn = jax.shard_map(fn, mesh=self.mesh, in_specs=(params_spec, P(), c, c),
                               out_specs=c, check_vma=False)
        fn = model.jit(fn, throughput=True)
        self._fns[n] = fn
        return fn

    def _put(self, tree, batched: bool):
        if self.shard is None:
            return tree
        return jax.device_put(tree, self.shard if batched else self.replicate)

    def run(self, values, steps, chunk, progress, cancelled):
        model = self.model
        b = self.batch
        params = {n: dict(v) for n, v in self.p0.items()}
        for j, sp in enumerate(self.params):
            shape = np.shape(self.p0[sp.node][sp.name])
            params[sp.node][sp.name] = np.stack(
                [np.broadcast_to(np.asarray(v, model.dtype), shape) for v in values[:, j]])
        state = jax.tree_util.tree_map(
            lambda x: np.broadcast_to(np.asarray(x), (b,) + np.shape(x)).copy(), self.s0)
        with model.precision():
            params = {n: {k: self._put(v, self.axes[n][k] == 0) for k, v in d.items()}
                      for n, d in params.items()}
            consts = self._put(self.consts, False)
            state, acc = self._put(state, True), self._put(self._acc0(), True)
            done = 0
            finite = np.ones(b, bool)
            while done < steps:
                if cancelled is not None and cancelled():
                    raise SweepCancelled("the sweep was cancelled")
                n = min(chunk, steps - done)
                first = n not in self._fns
                t0 = time.perf_counter()
                state, acc, ok = self._fn(n)(params, consts, state, acc)
                finite &= np.asarray(ok)
                if first:
                    self.compile_s += time.perf_counter() - t0
                done += n
                progress(done)
        return jax.tree_util.tree_map(np.asarray, acc), finite

    def measures(self, acc, steps) -> dict[str, np.ndarray]:
        seconds = steps * self.model.dt / 1000.0
        out = {}
        for p in self.pools:
            count = acc["spikes"][p].astype(np.float64)
            out[f"{p}.rate_hz"] = count / (self.sizes[p] * seconds)
            out[f"{p}.spikes"] = count
        for e in self.envs:
            k = acc["episodes"][e].astype(np.float64)
            out[f"{e}.episodes"] = k
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"{e}.episode_length_mean"] = np.where(
                    k > 0, acc["lengths"][e].astype(np.float64) / np.maximum(k, 1), np.nan)
        for m in self.extra:
            out[f"{m}_mean"] = acc["sums"][m].astype(np.float64) / steps
        return out
