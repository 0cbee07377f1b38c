"""The compiled run of a network operation (engine/operations.py): blocks of steps with a native
host call (components/native/hostio.py) before each.

One program per (every, record, watch, count, check_finite) and, when steps are recorded, per
number of blocks (the records have a static shape); without recording the number of blocks is
an argument of the program. Its loop carries the unpacked state, the last block's aux buffer
(what the host reads: watched values, spike counts, finiteness) and the spike counts of the
whole run; each iteration calls the host with that aux buffer, gets back the host-fed parameter
buffer of the block, and runs the block's steps exactly as a chunk of ``advance`` does.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .operations import aux_layout, bad_input_check, call, failed
from .simulation import SimulationError


def program(sim, every: int, n_blocks: int | None):
    """The jitted ``fn(slot, n_blocks, prest, consts, packed, aux0) -> (packed, records, aux,
    run counts, the last host call's block number)``; ``n_blocks`` None: a loop whose length
    is the argument (no records)."""
    record, watch, count = sim.record, sim.watch, sim.count
    check = bool(sim.check_finite)
    key = ("operate", every, n_blocks, record, watch, count, check)
    got = sim._fns.get(key)
    if got is not None:
        return got
    from spark_snn.components.native import hostio
    if not hostio.available():  # registers the handler the program calls
        raise RuntimeError("native host calls unavailable: operations run a Python loop")
    host_call = hostio.host_call
    model = sim.model
    inner = model.chunk_function(every, record, watch, count, prepared=sim._rest_ids)
    packer, fed, rest = sim._packer, sim._fpacker, sim._dpacker
    apacker, at = aux_layout(sim)
    ok_at = at["ok"]

    def run(slot, n, prest, consts, packed, aux0):
        base = rest.unpack(prest)

        def block(b, carry):
            state, aux, total, _alive = carry
            pfed, alive = host_call(slot, b, aux, fed.size)
            params = {**base, **fed.unpack(pfed)}
            state, recs, last, _ = inner(params, consts, state)
            aux = apacker.pack({"ok": jnp.ones(1, bool), "last": {k: last[k] for k in watch},
                                "sum": {k: last["sum:" + k] for k in count}})
            total = {k: total[k] + last["sum:" + k] for k in count}
            return (state, aux, total, alive), recs

        zeros = {k: jnp.zeros(sim.port_size(k), jnp.int32) for k in count}
        carry = (packer.unpack(packed), aux0, zeros, jnp.zeros((), jnp.uint32))
        if n_blocks is None:
            carry = jax.lax.fori_loop(0, n, lambda b, c: block(b, c)[0], carry)
            recs = {}
        else:
            carry, recs = jax.lax.scan(lambda c, b: block(b, c), carry,
                                       jnp.arange(n_blocks, dtype=jnp.int32))
            recs = {k: v.reshape((n_blocks * every,) + v.shape[2:]) for k, v in recs.items()}
        state, aux, total, alive = carry
        out = packer.pack(state)
        ok = packer.all_finite(out) if check else jnp.asarray(True)
        return out, recs, aux.at[ok_at].set(ok.astype(jnp.uint32)), total, alive

    got = sim._fns[key] = model.jit(run)
    return got


def run_native(sim, io, fn, n_steps: int, every: int) -> dict:
    """Run ``n_steps`` steps with the operation, the full blocks in one compiled call, a last
    partial block from Python; returns the recorded arrays."""
    n_blocks, rest = divmod(n_steps, every)
    parts = {n: [] for n in sim.record}
    if n_blocks:
        recs = _compiled_blocks(sim, io, fn, n_blocks, every)
        for n, v in recs.items():
            parts[n].append(np.asarray(v))
    if rest:
        call(sim, io, fn, sim.t)
        sim._host[0] = io.fed.copy()
        for n, v in sim.advance(rest, chunk=rest).items():
            parts[n].append(v)
    return {n: (np.concatenate(v) if v else sim._empty(n)) for n, v in parts.items()}


def _i32(x):
    return np.asarray(x, np.int32)


class _Host:
    """The function the native handler calls: sets ``io.t`` and calls the operation; an
    exception is kept for the caller (nonzero return: the handler stops the run)."""

    def __init__(self, sim, io, fn, every: int):
        self.sim, self.io, self.fn, self.every = sim, io, fn, every
        self.t0 = sim.t
        self.error = None      # (exception, step) when the function raised

    def __call__(self, _slot, block):
        t = self.t0 + block * self.every
        try:  # everything: an exception escaping a ctypes callback would be lost (Ctrl-C too)
            self.io.t = t
            self.sim._op_running = self.io.name
            self.fn(self.io)
        except BaseException as exc:
            self.error = (exc, t)
            return 1
        finally:
            self.sim._op_running = None
        return 0


def _compiled_blocks(sim, io, fn, n_blocks: int, every: int) -> dict:
    from spark_snn.components.native.hostio import Binding
    recording = bool(sim.record)
    prog = program(sim, every, n_blocks if recording else None)
    host = _Host(sim, io, fn, every)
    t0 = sim.t
    _prest_fed, prest = sim._device_params()
    aux0 = io.aux.copy()
    with Binding(host, io.aux, io.fed, io._floats) as b:
        try:
            packed, recs, aux, total, _alive = prog(_i32(b.slot), _i32(n_blocks), prest,
                                                    sim.consts, sim._packed, aux0)
            aux = np.asarray(aux)
        except Exception as exc:
            _explain(io, host, t0, exc)
            raise
    if sim.check_finite and not aux[io.at["ok"]]:
        raise SimulationError(
            f"a state became NaN or infinite during operation '{io.name}' (steps {t0} to "
            f"{t0 + n_blocks * every}); the simulation is back at step {t0}, where the run "
            f"started (run the same loop with advance({every}) to find the node and step)",
            step=t0)
    sim._packed = packed
    sim._t = t0 + n_blocks * every
    sim._aux, sim._aux_at = aux, io.at
    io.aux[...] = aux
    for n, v in total.items():
        sim.totals[n] += np.asarray(v)
    return recs


def _explain(io, host, t0: int, exc) -> None:
    """Raise the error a stopped compiled run stands for (the user's exception chained), or
    return to let ``exc`` itself propagate."""
    if host.error is not None:
        err, t = host.error
        if not isinstance(err, Exception):  # KeyboardInterrupt, SystemExit: as they are
            raise err
        raise failed(io, t, t0) from err
    if "NaN or infinite input" in str(exc):
        bad_input_check(io, io.t)
