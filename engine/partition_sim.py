"""PartitionedSimulation: run one network split by neurons over several devices (and processes).

The same calls as ``engine.Simulation`` for a headless run: ``advance`` (recorded ports come back
whole), ``totals`` (spike counts of the counted ports), ``reset``, ``set_param``/``set_input``,
``compile``, ``t``/``time_ms``/``dt``/``dtype``. engine/partition.py describes what is split and
what is exchanged.

    from spark_snn import engine
    sim = engine.PartitionedSimulation(engine.load("net.json"), devices=4,
                                       record=["exc.spikes"], count=["exc.spikes"])
    rec = sim.advance(10_000, chunk=1000)   # the same spikes as engine.Simulation's
"""
from __future__ import annotations

from typing import Callable

import jax
import numpy as np

from spark_snn.components.base import SPIKES

from .graph import Graph
from .partition import compile_partitioned, device_mesh, fetch, put
from .problems import GraphError, Problem
from .simulation import SimulationError, StructuralEdit
from .validate import check_value


class PartitionedSimulation:
    """A graph run with its neurons split over ``devices`` devices (default: all devices of all
    processes). ``record``: "node.port" names returned by ``advance`` (whole, every step);
    ``count``: spike ports summed into ``totals`` (per neuron, since reset)."""

    def __init__(self, graph: Graph, devices: int | None = None, *, dtype: str | None = None,
                 seed: int | None = None, record=(), count=(), chunk: int = 100,
                 check_finite: bool = True, source: str | None = None):
        self.record = tuple(record)
        self.count = tuple(count)
        self.mesh = device_mesh(devices)
        self.devices = int(self.mesh.devices.size)
        keep = tuple(n.rsplit(".", 1)[0] for n in self.record + self.count)
        self.model = compile_partitioned(graph, self.devices, dtype=dtype, keep_unfused=keep,
                                         source=source)
        for name in self.record + self.count:
            self.model.check_probe(name)
        self.graph = self.model.graph
        self.default_chunk = int(chunk)
        self.check_finite = check_finite
        self.seed = int(graph.settings.get("seed", 0) if seed is None else seed)
        self.hit = None   # no breakpoints here (the CLI's summary reads it)
        self.params = None
        self.reset()

    @property
    def t(self) -> int:
        """Steps simulated since reset."""
        return self._t

    @property
    def dt(self) -> float:
        return self.model.dt

    @property
    def time_ms(self) -> float:
        return self._t * self.model.dt

    @property
    def dtype(self) -> np.dtype:
        return self.model.dtype

    def port_size(self, name: str) -> int:
        """Values "node.port" carries per step (the whole port)."""
        return self.model.full_size[name]

    def reset(self, seed: int | None = None) -> None:
        """Back to step 0 with fresh initial state (live parameter edits are kept)."""
        if seed is not None:
            self.seed = int(seed)
        whole: dict = {}
        _params, consts, state = self.model.init(self.seed, whole)
        if self.params is None:
            self.params = whole
        x64 = self.model.x64
        self._consts = put(consts, self.mesh, x64)
        self._state = put(state, self.mesh, x64)
        self._params_dev = None
        self._t = 0
        self.totals = {n: np.zeros(self.port_size(n), np.int64) for n in self.count}

    def set_param(self, node: str, name: str, value) -> None:
        """Change a live parameter between chunks (no recompilation); StructuralEdit for one
        that changes the structure, GraphError naming node and parameter for a bad value."""
        if node not in self.params:
            raise GraphError([Problem("no such node (or it has no live parameters)",
                                      node=node, param=name)])
        old = self.params[node].get(name)
        if old is None:
            cls = type(self.model.whole_comp(node))
            if any(p.name == name for p in cls.node_params(self.graph.nodes[node].params)):
                raise StructuralEdit(f"{node}.{name} changes the model's structure: rebuild")
            raise GraphError([Problem("no such live parameter", node=node, param=name)])
        arr = np.asarray(value, dtype=self.model.dtype)
        if arr.ndim == 0:
            prm = next(p for p in type(self.model.whole_comp(node)).node_params(
                self.graph.nodes[node].params) if p.name == name)
            msg = check_value(prm, float(arr))
            if msg:
                raise GraphError([Problem(msg, node=node, param=name)])
            arr = np.broadcast_to(arr, old.shape)
        elif arr.shape != old.shape or not np.isfinite(arr).all():
            raise GraphError([Problem(f"expected {old.shape} finite values, got {arr.shape}",
                                      node=node, param=name)])
        self.params = {**self.params, node: {**self.params[node], name: arr}}
        self._params_dev = None

    def set_input(self, node: str, value) -> None:
        """Set the vector a host-input node presents from the next chunk on."""
        self.set_param(node, "value", value)

    def _device_params(self):
        if self._params_dev is None:
            self._params_dev = put(self.model.split_params(self.params), self.mesh,
                                   self.model.x64)
        return self._params_dev

    def compile(self, chunk: int | None = None) -> None:
        """Compile the chunk function for ``chunk`` steps ahead of time (state untouched)."""
        fn = self.model.sharded_chunk(self.mesh, int(chunk or self.default_chunk),
                                      self.record, self.count)
        jax.block_until_ready(fn(self._device_params(), self._consts, self._state))

    def advance(self, n_steps: int, chunk: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
        """Run ``n_steps`` steps in chunks of ``chunk``; return the recorded ports, whole
        (spikes as bool arrays of shape (n_steps, size))."""
        n_steps, k = int(n_steps), int(chunk or self.default_chunk)
        if n_steps < 0 or k < 1:
            raise ValueError("n_steps must be >= 0 and chunk >= 1")
        parts = {n: [] for n in self.record}
        done = 0
        while done < n_steps:
            m = min(k, n_steps - done)
            fn = self.model.sharded_chunk(self.mesh, m, self.record, self.count)
            state, recs, sums, ok = fn(self._device_params(), self._consts, self._state)
            if self.check_finite and not bool(fetch(ok)):
                raise SimulationError(
                    f"a state value became NaN or Inf between steps {self._t} and "
                    f"{self._t + m}; run the graph on one device (engine.Simulation) to find "
                    "the node and the exact step", step=self._t)
            self._state = state
            self._t += m
            done += m
            for n in self.record:
                parts[n].append(fetch(recs[n]))
            for n in self.count:
                self.totals[n] += fetch(sums[n])
            if progress is not None:
                progress(done, n_steps)
        return {n: (np.concatenate(v) if v else self._empty(n)) for n, v in parts.items()}

    def _empty(self, name: str) -> np.ndarray:
        spikes = self.model.port(name).kind == SPIKES
        return np.zeros((0, self.port_size(name)), bool if spikes else self.model.dtype)



# --- spark run --partition ----------------------------------------------------------------------
def wanted(args) -> bool:
    """Whether ``spark run`` was asked for a partitioned run (--partition, or the options of
    several processes)."""
    from . import distributed
    return args.partition is not None or distributed.wanted(args)


def start(args) -> str | None:
    """Check the options of a partitioned ``spark run`` and join the processes (before JAX is
    used); what is wrong with them, or None."""
    from . import distributed
    if args.partition is not None and args.partition < 1:
        return "--partition must be at least 1"
    for opt, given in (("--load-state", args.load_state), ("--save-state", args.save_state),
                       ("--until", args.until)):
        if given:
            return f"{opt} is not available with --partition"
    if distributed.wanted(args):
        problem = distributed.check(args)
        if problem:
            return problem
        distributed.initialize(args)
    return None


def summary(sim: PartitionedSimulation) -> dict:
    """What the run summary adds for a partitioned run."""
    from .partition import exchange_bytes
    return {"devices": sim.devices, "processes": jax.process_count(),
            "process": jax.process_index(), "platform": sim.mesh.devices.flat[0].platform,
            "exchange_bytes_per_step": exchange_bytes(sim.model)}


def describe(s: dict) -> str:
    return (f"partitioned over {s['devices']} {s['platform']} devices in {s['processes']} "
            f"process{'es' if s['processes'] > 1 else ''}; each device receives "
            f"{s['exchange_bytes_per_step']:,} bytes of spikes per step")
