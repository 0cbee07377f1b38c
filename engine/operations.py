"""Network operations: a Python function called every ``every`` steps of one compiled run.

``Simulation.operate(n_steps, fn, every, inputs=...)`` is the engine's counterpart of Brian2's
``network_operation``: ``fn(io)`` runs at steps t0, t0 + every, t0 + 2 every, ... (before the
block of ``every`` steps that starts there), reads what the last block produced
(``io.counts``: the spikes of each ``count`` port in that block; ``io.watched``: each watched
port's value at its last step) and writes the host inputs of the next block
(``io.inputs[node][:] = ...``, the values ``set_input`` sets).

With the native host calls (components/native/hostio.py) the whole run is one compiled program:
a loop over blocks, each running its ``every`` steps inside XLA and then calling back into Python
through our own FFI handler (a few microseconds, instead of a chunk dispatch per block). Without
them (``SPARK_NATIVE=0``, no compiler), on a GPU, and whenever the simulation has breakpoints
or host-side nodes (Gymnasium environments), the same calls happen from a Python loop of
``advance(every)``: the same spikes, counts and state.

A failure (the function raises, writes a NaN or infinite input, or a state becomes non-finite)
stops the run and puts the simulation back where it was before the call: state, step, spike
totals, inputs and watched values as they were.
"""
from __future__ import annotations

import numpy as np

from .problems import GraphError, Problem
from .registry import registry


class OperationError(RuntimeError):
    """The function of a network operation raised; the run stopped. The simulation is back at
    step ``start`` (where the call began); the function's exception is ``__cause__``."""

    def __init__(self, message: str, name: str, step: int, start: int):
        self.name, self.step, self.start = name, step, start
        super().__init__(message)


class OperationIO:
    """What an operation's function gets at every call (valid during the call only: copy what
    you keep).

    ``t``, ``time_ms``: the step (and time) the next block starts at. ``counts[name]``: int32
    spikes per neuron of each counted port in the previous block (zeros at the first call of a
    run). ``watched[name]``: each watched port's value at the last step run. ``inputs[node]``:
    writable arrays (model dtype) holding the host inputs named in ``operate(inputs=...)``; what
    the function leaves there is held for the next block, and kept after the run.
    """

    def __init__(self, sim, inputs, name: str, every: int):
        self.name, self.every = name, every
        self.dt = sim.model.dt
        self.t = self.start = sim.t
        self.fed = np.array(sim._host[0], copy=True)
        self._floats = dict(sim._fpacker.float_words)
        self._apacker, self.at = aux_layout(sim)
        self.aux = np.zeros(self._apacker.size, np.uint32)
        self.aux[self.at["ok"]] = 1
        self.counts = {n: self._aux_view(("sum", n)) for n in sim.count}
        self.watched = {n: self._aux_view(("last", n)) for n in sim.watch}
        for n, v in self.watched.items():
            v[...] = sim.output(n)
        self.inputs = {}
        for node in inputs:
            _prm, shape, _i, (off, size, w, d) = _input_spec(sim, node)
            self.inputs[node] = self.fed[off:off + size * w].view(d).reshape(shape)

    def _aux_view(self, key):
        off, words, d = self.at[key]
        return self.aux[off:off + words].view(d)

    @property
    def time_ms(self) -> float:
        return self.t * self.dt

    def set(self, node: str, values) -> None:
        """``inputs[node][...] = values`` (a value or a vector of the node's size)."""
        self.inputs[node][...] = values

    def bad_input(self) -> str | None:
        """The first input node holding a NaN or an infinity (None when all are finite)."""
        for node, v in self.inputs.items():
            if not np.isfinite(v).all():
                return node
        return None


def aux_layout(sim):
    """(packer, offsets) of the aux buffer of a block (Simulation._aux_layout, cached)."""
    key = ("operate aux", sim.watch, sim.count)
    got = sim._fns.get(key)
    if got is None:
        got = sim._fns[key] = sim._aux_layout(None)
    return got


def _input_spec(sim, node: str):
    """The packed location of host input ``node``'s value; GraphError naming the node when it is
    not a host input of this model."""
    if node not in sim.graph.nodes:
        raise GraphError([Problem("operate(inputs=...): no such node", node=node)])
    cls = registry().get(sim.graph.nodes[node].type)
    if not getattr(cls, "fed_by_host", False):
        raise GraphError([Problem(
            f"operate(inputs=...): a '{sim.graph.nodes[node].type}' node is not a host input "
            "(operations write the value of host_input nodes)", node=node, param="value")])
    spec = sim._param_specs.get((node, "value")) or sim._param_spec(node, "value")
    if spec[2] != 0:  # pragma: no cover - every fed_by_host node travels in the fed buffer
        raise GraphError([Problem("not fed by the host", node=node, param="value")])
    return spec


class _Saved:
    """The simulation as it was before an operate call, to put back after a failure."""

    def __init__(self, sim):
        self.sim = sim
        self.snap = None
        if sim.host_nodes:  # their environments too, where they can say their state
            from .state import StateError
            try:
                self.snap = sim.snapshot()
            except StateError:
                pass
        self.packed, self.t, self.host0 = sim._packed, sim.t, sim._host[0]
        self.params, self.aux = sim._params, (sim._aux, getattr(sim, "_aux_at", None))
        self.totals = {n: v.copy() for n, v in sim.totals.items()}
        self.hit, self.stop_carry = sim.hit, sim._stop_carry

    def restore(self) -> None:
        sim = self.sim
        if self.snap is not None:
            sim.restore(self.snap)
        sim._packed, sim._t, sim._host[0], sim._params = (self.packed, self.t, self.host0,
                                                          self.params)
        sim._aux, sim._aux_at = self.aux
        sim.totals = self.totals
        sim.hit, sim._stop_carry = self.hit, self.stop_carry


def operate(sim, n_steps: int, fn, every: int = 1, inputs=(), name: str | None = None):
    """Simulation.operate (see there)."""
    n_steps, every = _checked(n_steps, "n_steps", 0), _checked(every, "every", 1)
    if not callable(fn):
        raise TypeError(f"operate: fn must be callable, not {type(fn).__name__}")
    sim._not_in_operation("operate")
    name = str(name or getattr(fn, "__name__", None) or "operation")
    inputs = tuple(dict.fromkeys([inputs] if isinstance(inputs, str) else inputs))
    io = OperationIO(sim, inputs, name, every)
    record = sim.record
    sim._check_recording_memory(n_steps, record)
    saved = _Saved(sim)
    sim.hit = None
    try:
        if _native_ok(sim):
            from .operations_native import run_native
            recs = run_native(sim, io, fn, n_steps, every)
        else:
            recs = run_loop(sim, io, fn, n_steps, every)
    except BaseException:
        saved.restore()
        raise
    _keep_inputs(sim, io)
    return recs


def _checked(value, what: str, least: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < least:
        raise ValueError(f"operate: {what} must be an integer >= {least}, got {value!r}")
    return int(value)


def _native_ok(sim) -> bool:
    """Whether the run can be one compiled program (else a Python loop): on the CPU backend
    (the handler is a CPU one; a GPU run takes the loop), without breakpoints or host-side
    nodes, the host-call library built."""
    import jax
    if sim.host_nodes or sim._stop is not None or jax.default_backend() != "cpu":
        return False
    from spark_snn.components.native import hostio
    return hostio.available()


def call(sim, io: OperationIO, fn, t: int) -> None:
    """One call of the operation at step ``t`` from Python (the loop, a last partial block):
    OperationError when it raises, GraphError when it leaves a NaN or infinite input."""
    io.t = t
    sim._op_running = io.name
    try:
        fn(io)
    except Exception as exc:
        raise failed(io, t, io.start) from exc
    finally:
        sim._op_running = None
    bad_input_check(io, t)


def failed(io: OperationIO, t: int, start: int) -> OperationError:
    return OperationError(f"operation '{io.name}' raised at step {t} (t = {t * io.dt:g} ms); "
                          f"the simulation is back at step {start}, where the run started",
                          io.name, t, start)


def bad_input_check(io: OperationIO, t: int) -> None:
    node = io.bad_input()
    if node is not None:
        raise GraphError([Problem(f"operation '{io.name}' wrote a NaN or infinite value at step "
                                  f"{t}", node=node, param="value")])


def run_loop(sim, io: OperationIO, fn, n_steps: int, every: int) -> dict:
    """The operation from a Python loop: ``fn`` then ``advance(every, chunk=every)``."""
    parts = {n: [] for n in sim.record}
    before = {n: v.copy() for n, v in sim.totals.items()}
    done = 0
    while done < n_steps:
        io.fed[...] = sim._host[0]  # what host-side nodes wrote into it in the last block
        call(sim, io, fn, sim.t)
        sim._host[0] = io.fed.copy()
        m = min(every, n_steps - done)
        for n, v in sim.advance(m, chunk=every).items():
            parts[n].append(v)
        done += m
        for n, c in io.counts.items():
            c[...] = sim.totals[n] - before[n]
            before[n] = sim.totals[n].copy()
        for n, v in io.watched.items():
            v[...] = sim.output(n)
        if sim.hit is not None:
            break
    return {n: (np.concatenate(v) if v else sim._empty(n)) for n, v in parts.items()}


def _keep_inputs(sim, io: OperationIO) -> None:
    """After a run: the inputs the operation left become the simulation's (as set_input)."""
    sim._host[0] = io.fed.copy()
    for node, v in io.inputs.items():
        sim._params = {**sim._params, node: {**sim._params[node], "value": v.copy()}}
