"""Simulation: drive a compiled Model chunk by chunk (reset, advance, live edits, recording).

The host intervenes only between chunks: it sets inputs and parameters, reads watched outputs
and checks that every state stayed finite. A run that produces NaN or Inf stops with a
SimulationError naming the node, the state variable and the exact step (found by replaying the
failing chunk one step at a time from its saved start state).

Reading a running simulation (outputs, node states, weights) is the mixin ``Reading``
(engine/sim_reading.py), editing its live parameters the mixin ``Editing``
(engine/sim_editing.py), saving and restoring its state the mixin ``SavedStates``
(engine/sim_states.py); the compiled chunks come from engine/chunks.py.
"""
from __future__ import annotations

import time
from typing import Callable

import jax
import numpy as np

from spark_snn.components.base import SPIKES

from . import memory
from .compiler import Model, StatePacker, compile_graph
from .graph import Graph
from .problems import GraphError
from .shared_params import same_scalar, uniform_group_params
from .sim_editing import Editing, StructuralEdit  # noqa: F401  (imported from here)
from .sim_reading import Reading
from .sim_states import SavedStates


class SimulationError(RuntimeError):
    """A run failed at a known node and step."""

    def __init__(self, message: str, node: str | None = None, step: int | None = None,
                 variable: str | None = None):
        self.node, self.step, self.variable = node, step, variable
        super().__init__(message)


class Simulation(Reading, Editing, SavedStates):
    """A running instance of a graph.

    ``record``: "node.port" names stacked every step and returned by ``advance``.
    ``watch``:  "node.port" names whose value at the end of each chunk ``output()`` returns.
    """

    def __init__(self, graph: Graph, *, dtype: str | None = None, seed: int | None = None,
                 record: tuple[str, ...] | list[str] = (), watch: tuple[str, ...] | list[str] = (),
                 count: tuple[str, ...] | list[str] = (), chunk: int = 100, fuse: bool = True,
                 check_finite: bool = True, source: str | None = None,
                 breakpoints: tuple[str, ...] | list[str] = ()):
        self._record = tuple(record)
        self._count = tuple(count)
        keep = tuple(n.rsplit(".", 1)[0] for n in self._record + tuple(watch) + self._count)
        keep += _condition_nodes(breakpoints)
        self.model: Model = compile_graph(graph, dtype=dtype, fuse=fuse, keep_unfused=keep,
                                          source=source)
        self.graph = self.model.graph
        # Host-side nodes (e.g. a Gymnasium environment) exchange data with the host every
        # ``host_period`` steps: the sources feeding their inputs are watched automatically.
        self.host_nodes = [nid for nid, r in self.model.rnodes.items()
                           if getattr(r.comp, "host_side", False)]
        extra = [s for nid in self.host_nodes
                 for srcs in self.model.rnodes[nid].sources.values() for s in srcs]
        self.watch = tuple(dict.fromkeys(tuple(watch) + tuple(extra)))
        self.default_chunk = int(chunk)
        self.check_finite = check_finite
        self.seed = int(graph.settings.get("seed", 0) if seed is None else seed)
        # each host node is exchanged exactly at the multiples of its own period
        self._host_periods = {n: int(self.model.rnodes[n].comp.host_period())
                              for n in self.host_nodes}
        self._aux = None
        self._stop = None          # the breakpoints' compiled conditions (a Watch), if any
        self._stop_carry = None
        self.hit = None            # where the last advance stopped (engine.breakpoints.Hit)
        self._op_running = None    # the name of the operation whose function is being called
        self.reset()
        if breakpoints:
            self.breakpoints = breakpoints

    # --- state -------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Back to step 0 with fresh initial state (same seed unless one is given).

        Live parameter edits made so far are kept.
        """
        self._not_in_operation("reset")
        if seed is not None:
            self.seed = int(seed)
        old = getattr(self, "_params", None)
        params, self.consts, state = self.model.init(self.seed)
        if not hasattr(self, "_packer"):  # the layouts depend on the model only
            self._build_packers(params, state)
        self.state = state
        self.params = params if old is None else old
        self._aux = None
        self.totals = {n: np.zeros(self.port_size(n), np.int64) for n in self.count}
        self._stop_carry = None
        self.hit = None
        for nid in self.host_nodes:
            self.model.rnodes[nid].comp.host_reset(self, nid, self.seed)

    def _build_packers(self, params, state):
        """Packers of the state, the two parameter buffers and the host-read values."""
        model = self.model
        self._packer = StatePacker(state)
        self._fed_ids = {nid for nid in model.ids if model.host_fed(nid)}
        # group parameters all members share stay one scalar (engine/shared_params.py)
        self._shared = uniform_group_params(model, params, skip=self._fed_ids)
        self._build_param_packers(params)

    def _build_param_packers(self, params):
        """Packers of the two parameter buffers (for the current shared parameters); the
        compiled chunks of an earlier layout are dropped."""
        model = self.model
        fed, rest = self._split(model.runtime_params(params, self._shared))
        self._fpacker, self._rpacker = StatePacker(fed), StatePacker(rest)
        # the large buffer goes to the device completed by the components' prepared values
        # (decay factors, ...), computed once per parameter change instead of every chunk
        self._rest_ids = frozenset(rest)
        self._prep, self._dpacker = model.prepared_rest(self._rpacker, self._rest_ids)
        self._param_specs = {}
        self._fns = {}  # (steps, record, watch, count) -> (jitted chunk, aux layout)
        model.drop_packed_chunks()

    def _unshare(self, keys) -> None:
        """Give the shared group parameters ``keys`` their per-neuron form (a new layout)."""
        self._shared = self._shared - set(keys)
        self._build_param_packers(self._params)

    def _split(self, rt):
        """Runtime parameters -> (host-fed nodes' tree, everyone else's tree)."""
        return ({n: v for n, v in rt.items() if n in self._fed_ids},
                {n: v for n, v in rt.items() if n not in self._fed_ids})

    @property
    def params(self):
        """Live parameter values: {node: {name: array}} (set them with set_param)."""
        return self._params

    @params.setter
    def params(self, tree):
        self._params = tree
        split = {k for k in self._shared if not same_scalar(self.model, tree, *k)}
        if split:
            self._unshare(split)
        fed, rest = self._split(self.model.runtime_params(tree, self._shared))
        # host copies of the two packed parameter buffers (host-fed, rest), written by set_param
        self._host = [self._fpacker.pack_host(fed), self._rpacker.pack_host(rest)]
        self._rest_dev = None  # device copy of the large buffer (None: stale)

    def _device_params(self):
        """The two parameter buffers for the next chunk call. The small host-fed one goes in as
        NumPy (the call copies it in a few microseconds, cheaper than an upload of its own); the
        large one is uploaded once after every change and then stays on the device."""
        if self._rest_dev is None:  # a copy: the host buffer is edited in place afterwards
            self._rest_dev = self._prep(self._host[1].copy())
        return self._host[0], self._rest_dev

    @property
    def state(self):
        """The full state pytree (unpacked on demand from the packed buffers).

        Nodes that run inside a group (engine/compiler.py) appear under their own id as well, as
        slices of the group's state; assigning a tree writes such member entries back.
        """
        tree = self._packer.unpack(np.asarray(self._packed))
        nodes = dict(tree["nodes"])
        for m in self.model.group_of:
            nodes[m] = self.model.member_view(nodes[self.model.group_of[m]], m)
        return {**tree, "nodes": nodes}

    @state.setter
    def state(self, tree):
        nodes = dict(tree["nodes"])
        for gid, mem in self.model.groups.items():
            if any(m in nodes for m, _, _ in mem):
                parts = [nodes.pop(m) if m in nodes else self.model.member_view(nodes[gid], m)
                         for m, _, _ in mem]
                nodes[gid] = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs),
                                                    *parts)
        # packed on the host (NumPy): no small device kernels to compile per leaf shape
        self._packed = jax.device_put(self._packer.pack_host({**tree, "nodes": nodes}))
        self._t = int(tree["t"])

    def _runtime_tree(self) -> dict:
        """The state in the compiled layout (runtime ids), as NumPy arrays."""
        return self._packer.unpack(np.asarray(self._packed))

    def _put_runtime_tree(self, tree) -> None:
        self._packed = jax.device_put(self._packer.pack_host(tree))
        self._t = int(tree["t"])

    def _after_jump(self) -> None:
        """Bookkeeping after the state was replaced (a loaded state, a snapshot): no watched
        values yet, spike totals count from here, breakpoints start watching afresh."""
        self._aux = None
        self.totals = {n: np.zeros(self.port_size(n), np.int64) for n in self.count}
        self._stop_carry = None

    @property
    def t(self) -> int:
        """Steps simulated since reset."""
        return self._t

    @property
    def time_ms(self) -> float:
        return self.t * self.model.dt

    @property
    def dt(self) -> float:
        """The time step in ms."""
        return self.model.dt

    @property
    def dtype(self) -> np.dtype:
        """The model's float dtype (float32 or float64)."""
        return self.model.dtype

    # --- what is recorded and counted ----------------------------------------------------------
    @property
    def record(self) -> tuple[str, ...]:
        """"node.port" names stacked every step and returned by ``advance``. Assignable between
        chunks (the next chunk of a new combination compiles once); every name must pass
        ``has_port``, else KeyError."""
        return self._record

    @record.setter
    def record(self, names) -> None:
        self._record = self._checked_ports(names)

    @property
    def count(self) -> tuple[str, ...]:
        """Spike ports whose spikes are summed inside the compiled chunk into ``totals[name]``
        (per neuron, int64, since reset) without recording them. Assignable between chunks: a
        newly counted port starts from zero, ports counted before keep their totals."""
        return self._count

    @count.setter
    def count(self, names) -> None:
        names = self._checked_ports(names)
        for n in names:
            if n not in self.totals:
                self.totals[n] = np.zeros(self.port_size(n), np.int64)
        self._count = names

    def _checked_ports(self, names) -> tuple[str, ...]:
        names = tuple(names)
        for n in names:
            if not self.has_port(n):
                raise KeyError(f"'{n}' is not a port of this model (a port of a projection the "
                               "compiler fused needs it named at construction: record=, count=)")
        return names

    def has_port(self, name: str) -> bool:
        """Whether "node.port" can be recorded, watched or counted in this model without a
        rebuild: False for an unknown name, and for the ports of a static projection that the
        compiler fused into a shared kernel (name it in ``record``/``count``/``watch`` at
        construction to keep it apart)."""
        nid, _, port = str(name).rpartition(".")
        r = self.model.rnodes.get(nid)
        return r is not None and (port in r.outputs or port in r.inputs)

    def port_size(self, name: str) -> int:
        """Number of values "node.port" carries per step (KeyError when ``has_port`` is False)."""
        if not self.has_port(name):
            raise KeyError(f"'{name}' is not a port of this model")
        return self.model.port_size(self.model.rnodes[name.rsplit(".", 1)[0]],
                                    self.model.port(name))

    # --- running -----------------------------------------------------------------------------
    def advance(self, n_steps: int, chunk: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
        """Run ``n_steps`` steps in chunks of ``chunk``; return the recorded arrays.

        Recorded spikes come back as bool arrays of shape (n_steps, size), everything else in the
        model dtype. ``progress(done, total)`` is called after every chunk. When a breakpoint
        condition becomes true (``breakpoints``), the run stops at that very step: ``hit`` says
        where and why, and the arrays hold the steps run until then.
        """
        n_steps = int(n_steps)
        if n_steps < 0:
            raise ValueError("n_steps must be >= 0")
        self._not_in_operation("advance")
        k = int(chunk or self.default_chunk)
        if k < 1:
            raise ValueError("chunk must be >= 1")
        record = self.record
        self._check_recording_memory(n_steps, record)
        parts: dict[str, list] = {n: [] for n in record}
        done = 0
        self.hit = None
        while done < n_steps and self.hit is None:
            m = min(k, n_steps - done)
            for per in self._host_periods.values():  # stop at the next exchange of any
                m = min(m, per - self._t % per)
            t0 = self._t
            recs = self._run_chunk(m)
            for n in record:
                parts[n].append(np.asarray(recs[n])[:self._t - t0])
            done += self._t - t0
            if progress is not None:
                progress(done, n_steps)
        return {n: (np.concatenate(v) if v else self._empty(n)) for n, v in parts.items()}

    def operate(self, n_steps: int, fn: Callable, every: int = 1, inputs=(),
                name: str | None = None) -> dict[str, np.ndarray]:
        """Run ``n_steps`` steps calling ``fn(io)`` every ``every`` steps (Brian2's
        network_operation): at steps t, t + every, ... before the block of steps starting there.
        ``io`` (engine.operations.OperationIO) holds ``t``, ``counts`` (each ``count`` port's
        spikes in the previous block), ``watched`` (each watched port's value) and ``inputs``
        (writable values of the host input nodes named in ``inputs``, held for the next block).

        With the native host calls the run is one compiled program that calls ``fn`` from inside
        (microseconds per call); otherwise, and with breakpoints or host-side nodes, a Python
        loop of ``advance(every)``: the same results. Returns the recorded arrays (as
        ``advance``). If ``fn`` raises (OperationError, the exception chained), writes a NaN
        input (GraphError) or a state becomes non-finite (SimulationError), the simulation is
        back where it was before the call. ``fn`` must not call ``advance``, ``set_param``,
        ``set_input``, ``reset`` or ``operate`` (RuntimeError): it writes ``io.inputs`` instead.
        """
        from .operations import operate
        return operate(self, n_steps, fn, every, inputs, name)

    def _not_in_operation(self, what: str) -> None:
        if self._op_running is not None:
            raise RuntimeError(f"{what} called from inside operation '{self._op_running}': an "
                               "operation writes io.inputs[...] and cannot run or edit the "
                               "simulation itself")

    def _check_recording_memory(self, n_steps: int, record) -> None:
        """GraphError (naming the largest recorded node) when recording ``record`` for
        ``n_steps`` steps needs more memory than this process can still allocate."""
        est = memory.Estimate({k: 0 for k in memory.KINDS}, {})
        for name in record:
            if not self.has_port(name):
                continue  # refused by name when the chunk is built (check_probe)
            each = 1 if self.model.port(name).kind == SPIKES else self.model.dtype.itemsize
            b = 2 * n_steps * self.port_size(name) * each  # the chunks, then joined
            est.parts["recordings"] += b
            nid = name.rsplit(".", 1)[0]
            est.nodes[nid] = est.nodes.get(nid, 0) + b
        est.nodes = dict(sorted(est.nodes.items(), key=lambda kv: -kv[1]))
        too_big = memory.problems(est, f"recording {', '.join(record)} for {n_steps:,} steps")
        if too_big:
            raise GraphError(too_big)

    def compile(self, chunk: int | None = None) -> float:
        """Compile the chunk function for ``chunk`` steps ahead of time (the state is untouched);
        returns the seconds it took. ``advance`` compiles on first use anyway."""
        t0 = time.perf_counter()
        fn, _ = self._chunk_fn(int(chunk or self.default_chunk))
        args = (*self._device_params(), self.consts, self._packed)
        if self._stop is not None:
            args += (self._stop_carry_now(),)
        jax.block_until_ready(fn(*args))
        return time.perf_counter() - t0

    # --- breakpoints ---------------------------------------------------------------------------
    @property
    def breakpoints(self) -> tuple[str, ...]:
        """Conditions (engine/breakpoints.py: ``"exc.rate > 50"``, ``"t >= 120 ms"``, ...)
        checked at every step inside the compiled chunk: ``advance`` stops at the step where
        one becomes true and sets ``hit``. Assignable between chunks (ConditionError for a
        condition that does not parse or names what this model lacks); conditions kept from
        the previous assignment keep watching where they were."""
        return () if self._stop is None else self._stop.key

    @breakpoints.setter
    def breakpoints(self, conditions) -> None:
        from .breakpoints import Watch
        conditions = tuple(conditions)
        old = self._stop
        watch = Watch(self.model, conditions) if conditions else None
        if watch is not None:
            for port in watch.ports:
                if not self.has_port(port):
                    from .breakpoints import ConditionError
                    raise ConditionError(f"'{port}' was fused into a shared kernel: name the "
                                         "condition when the simulation is built")
        carry = None
        if watch is not None and old is not None and self._stop_carry is not None:
            kept = dict(zip(old.key, self._stop_carry))
            fresh = watch.init()
            carry = [kept.get(c, f) for c, f in zip(watch.key, fresh)]
        self._stop, self._stop_carry = watch, carry

    def _stop_carry_now(self):
        if self._stop_carry is None:
            self._stop_carry = self._stop.init()
        return self._stop_carry

    def _chunk_fn(self, m: int, key=None):
        """(jitted chunk of ``m`` steps, aux layout) for the current record/watch/count (and
        breakpoints)."""
        key = key or self._fn_key(m)
        got = self._fns.get(key)
        if got is None:
            stop = self._stop
            apacker, at = self._aux_layout(stop)
            fn = self.model.packed_chunk(self._packer, self._fpacker, self._dpacker, apacker, m,
                                         self.record, self.watch, self.count,
                                         prepared=self._rest_ids, stop=stop)
            got = self._fns[key] = (fn, at)
        return got

    def _aux_layout(self, stop=None):
        """(packer of the aux buffer a chunk returns, where each host-read value sits in it:
        (part, name) -> (offset, uint32 words, dtype), "ok" -> offset) for the current
        watch/count and breakpoint Watch ``stop``: ``aux[off:off + words].view(dtype)``."""
        apacker = StatePacker(self.model.aux_example(
            self.watch, self.count, None if stop is None else len(stop.conditions)))
        at = {}
        for part, names in (("last", self.watch), ("sum", self.count)):
            for n in names:
                off, size, w, d = apacker.slot((part, n))
                at[(part, n)] = (off, size * w, d)
        at["ok"] = apacker.slot(("ok",))[0]
        if stop is not None:
            at["stop_n"] = apacker.slot(("stop_n",))[0]
            off, size, _w, d = apacker.slot(("stop_fired",))
            at["stop_fired"] = (off, size)
        return apacker, at

    def _fn_key(self, m: int):
        return (m, self.record, self.watch, self.count, self.breakpoints)

    def _empty(self, name):
        kind = self.model.port(name).kind
        return np.zeros((0, self.port_size(name)), bool if kind == SPIKES else self.model.dtype)

    def _run_chunk(self, m: int):
        key = self._fn_key(m)
        fn, at = self._fns.get(key) or self._chunk_fn(m, key)
        start = self._packed
        fired = None
        if self._stop is None:
            packed, recs, aux = fn(*self._device_params(), self.consts, start)
            aux = np.asarray(aux)  # the one read-back per chunk (waits for the chunk)
            n = m
        else:
            packed, recs, aux, carry = fn(*self._device_params(), self.consts, start,
                                          self._stop_carry_now())
            aux = np.asarray(aux)
            n = int(aux[at["stop_n"]])
            off, size = at["stop_fired"]
            fired = aux[off:off + size].astype(bool)
            self._stop_carry = carry
        nan_stop = fired is not None and any(
            f and c.kind == "nan" for f, c in zip(fired, self._stop.conditions))
        if self.check_finite and not aux[at["ok"]] and not nan_stop:
            self._locate_failure(self._packer.unpack(np.asarray(start)), n)
        self._packed = packed
        self._t += n
        self._aux, self._aux_at = aux, at
        for name in self.count:
            off, words, d = at[("sum", name)]
            self.totals[name] += aux[off:off + words].view(d)
        for nid, per in self._host_periods.items():
            if self._t % per == 0:
                self.model.rnodes[nid].comp.host_exchange(self, nid)
        if fired is not None and fired.any():
            self.hit = self._make_hit(fired)
        return recs

    def _make_hit(self, fired):
        from .breakpoints import Hit
        conds = tuple(c for f, c in zip(fired, self._stop.conditions) if f)
        node = None
        for c in conds:
            node = self._nan_node() if c.kind == "nan" else self._stop.node_of(c)
            if node:
                break
        return Hit(self._t, self._t * self.model.dt, conds, node)

    def _nan_node(self) -> str | None:
        """The first graph node whose state is not finite (None when all are)."""
        nodes = self.state["nodes"]
        for nid in self.model.graph.nodes:
            if nid in nodes and _bad_leaf(nodes[nid]) != "?":
                return nid
        for gid, members in self.model.fused.items():
            if _bad_leaf(nodes.get(gid, {})) != "?":
                return members[0]
        return None

    @property
    def host_periods(self) -> dict[str, int]:
        """Steps between the host exchanges of each host-side node (empty when none)."""
        return dict(self._host_periods)

    def _locate_failure(self, start, m: int):
        """Replay the failed chunk step by step to name the node, variable and step."""
        one = self.model.chunk(1, (), ())
        st = start
        for _ in range(m):
            t = int(st["t"])
            st, _r, _l, finite = one(self.params, self.consts, st)
            bad = np.flatnonzero(~np.asarray(finite))
            if bad.size:
                nid = self.model.ids[int(bad[0])]
                node_st = st["nodes"][nid]
                for m, _, _ in self.model.groups.get(nid, ()):  # name the member
                    view = self.model.member_view(node_st, m)
                    if _bad_leaf(view) != "?":
                        nid, node_st = m, view
                        break
                members = self.model.fused.get(nid)
                var = _bad_leaf(node_st)
                where = f"node '{nid}'" if not members else f"projections {', '.join(members)}"
                raise SimulationError(
                    f"{where}: state '{var}' became NaN or infinite at step {t} "
                    f"(t = {t * self.model.dt:g} ms); check its parameters and inputs",
                    node=nid if not members else members[0], step=t, variable=var)
        raise SimulationError("a state became NaN or infinite in this chunk")  # pragma: no cover


def _condition_nodes(conditions) -> tuple[str, ...]:
    """The nodes breakpoint ``conditions`` read (kept out of fused kernels)."""
    from .breakpoints import parse
    return tuple(c.node for c in map(parse, conditions) if c.node)


def _bad_leaf(tree) -> str:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    for path, leaf in flat:
        a = np.asarray(leaf)
        if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
            return "/".join(str(getattr(k, "key", k)) for k in path)
    return "?"


def run_steps_per_second(sim: Simulation, n_steps: int, chunk: int) -> float:
    """Wall-clock speed of ``advance`` (after a warm-up chunk); for scripts, not tests."""
    sim.advance(chunk, chunk)
    t0 = time.perf_counter()
    sim.advance(n_steps, chunk)
    return n_steps / (time.perf_counter() - t0)
