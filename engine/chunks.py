"""The chunk-building half of a compiled Model (engine/compiler.py): the jitted functions that
run K steps in one ``lax.scan`` (``chunk``, ``chunk_function``), their packed form the
Simulation calls between chunks (``packed_chunk``, ``aux_example``, see engine/packing.py)
and the components' prepared parameter values (``prepare``, ``prepared_rest``).

``ChunkBuilder`` is a mixin of ``Model``: it uses the model's runtime nodes, ``step``, ``jit``
and the compiled-function cache ``_chunks`` that ``Model`` sets up.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from spark_snn.components.base import SPIKES

from .packing import StatePacker, _all_finite


class ChunkBuilder:
    """Builds and caches the compiled chunks of a Model (mixed into ``Model``)."""

    def chunk(self, n_steps: int, record: tuple[str, ...] = (), watch: tuple[str, ...] = (),
              count: tuple[str, ...] = ()):
        """The jitted function running ``n_steps`` steps (cached per arguments).

        ``count`` names ports whose values are summed over the chunk inside the scan (cheap
        spike counts); the sums come back in ``last`` under "sum:" + name.
        """
        key = (int(n_steps), tuple(record), tuple(watch), tuple(count))
        if key not in self._chunks:
            self._chunks[key] = self.jit(self.chunk_function(n_steps, record, watch, count))
        return self._chunks[key]

    def chunk_function(self, n_steps: int, record: tuple[str, ...] = (),
                       watch: tuple[str, ...] = (), count: tuple[str, ...] = (),
                       prepared: frozenset = frozenset(), stop=None):
        """The plain (not jitted) function behind ``chunk``, for callers that transform it
        (``jax.vmap`` in engine/train.py); call it in ``self.precision()``. It adds the
        components' prepared values (``prepare``) to the parameters once, before the scan,
        except for the runtime nodes in ``prepared`` (whose parameters hold them already).

        ``stop`` (an engine.breakpoints.Watch): the function takes and returns the watch's
        carried values as a fourth argument / fifth result, together with the steps run and
        which conditions fired: ``(state, records, last, finite, (carry, n_run, fired))``.
        From the step a condition fired on, the state, the watched values and the counts stay
        frozen (the scan goes on without effect), so the state returned is the state of that
        step; records past it are meaningless."""
        record, watch, count = tuple(record), tuple(watch), tuple(count)
        for name in record + watch + count:
            self.check_probe(name)
        spikes = {name for name in record if self.port(name).kind == SPIKES}
        ids = self.ids

        todo = [nid for nid in self.ids if nid not in prepared]

        def observe(vals, prev_last):
            rec = {n: (vals[n] > 0 if n in spikes else vals[n]) for n in record}
            last = {n: vals[n] for n in watch}
            last.update({"sum:" + n: prev_last["sum:" + n] + (vals[n] > 0).astype(jnp.int32)
                         for n in count})
            return rec, last

        def finite_of(state):
            return jnp.stack([_all_finite(state["nodes"][nid]) for nid in ids]) \
                if ids else jnp.zeros(0, bool)

        def start(params):
            params = self.prepare(params, todo)
            last0 = {name: self._zeros(name) for name in watch}
            last0.update({"sum:" + n: jnp.zeros_like(self._zeros(n), dtype=jnp.int32)
                          for n in count})
            return params, last0

        def run(params, consts, state):
            params, last0 = start(params)

            def body(carry, _):
                st, prev_last = carry
                st, vals = self.step(params, consts, st)
                rec, last = observe(vals, prev_last)
                return (st, last), rec

            (state, last), recs = jax.lax.scan(body, (state, last0), None, length=int(n_steps))
            return state, recs, last, finite_of(state)

        def run_until(params, consts, state, scarry):
            params, last0 = start(params)
            n = len(stop.conditions)

            def body(carry, _):
                st, prev_last, sc, stopped, fired_at, n_run = carry
                st2, vals = self.step(params, consts, st)
                rec, last = observe(vals, prev_last)
                sc2, fired = stop.check(sc, vals, st2)
                go = ~stopped

                def keep(new, old):
                    return jax.tree_util.tree_map(lambda a, b: jnp.where(go, a, b), new, old)

                hit = go & jnp.any(fired)
                carry = (keep(st2, st), keep(last, prev_last), keep(sc2, sc), stopped | hit,
                         jnp.where(hit, fired, fired_at), n_run + go.astype(jnp.int32))
                return carry, rec

            init = (state, last0, scarry, jnp.zeros((), bool), jnp.zeros(n, bool),
                    jnp.zeros((), jnp.int32))
            (state, last, sc, _s, fired, n_run), recs = jax.lax.scan(
                body, init, None, length=int(n_steps))
            return state, recs, last, finite_of(state), (sc, n_run, fired)

        return run if stop is None else run_until

    def drop_packed_chunks(self) -> None:
        """Forget the compiled ``packed_chunk`` functions (their packers' layouts changed)."""
        self._chunks = {k: v for k, v in self._chunks.items() if k[0] != "packed"}

    def packed_chunk(self, packer: StatePacker, fed: StatePacker, rest: StatePacker,
                     aux: StatePacker, n_steps: int, record=(), watch=(), count=(),
                     prepared: frozenset = frozenset(), stop=None):
        """Like ``chunk`` but state, parameters and host-read values travel packed (see
        StatePacker): ``fn(fed, rest, consts, packed) -> (packed, records, aux)``, the fast path
        the Simulation uses between chunks.

        ``fed`` holds the runtime parameters of host-fed nodes, ``rest`` every other runtime
        parameter (``runtime_params``, groups expanded per neuron, with the prepared values of
        the nodes in ``prepared`` already added: see ``prepared_rest``); ``aux`` packs
        {"ok": all float state finite, "last": watched values, "sum": counts}, the one buffer
        the host reads back per chunk. The input state is not donated, so the state at the
        start of a failed chunk is still there to replay it step by step.

        With ``stop`` (a breakpoints Watch) the function is ``fn(fed, rest, consts, packed,
        carry) -> (packed, records, aux, carry)`` and ``aux`` also holds "stop_n" (the steps
        run before the chunk stopped) and "stop_fired" (which conditions fired).
        """
        key = ("packed", int(n_steps), tuple(record), tuple(watch), tuple(count),
               frozenset(prepared), None if stop is None else stop.key)
        if key in self._chunks:
            return self._chunks[key]
        inner = self.chunk_function(n_steps, record, watch, count, frozenset(prepared), stop)

        def finish(state, last, extra):
            # materialise the packed state before the finiteness check reads it (otherwise XLA
            # fuses the last step's arithmetic into the check and computes it twice)
            out = jax.lax.optimization_barrier(packer.pack(state))
            tree = {"ok": packer.all_finite(out)[None],
                    "last": {n: last[n] for n in watch},
                    "sum": {n: last["sum:" + n] for n in count}, **extra}
            return out, aux.pack(tree)

        def run(pfed, prest, consts, packed):
            params = {**rest.unpack(prest), **fed.unpack(pfed)}
            state, recs, last, _per_node = inner(params, consts, packer.unpack(packed))
            out, a = finish(state, last, {})
            return out, recs, a

        def run_until(pfed, prest, consts, packed, scarry):
            params = {**rest.unpack(prest), **fed.unpack(pfed)}
            state, recs, last, _per_node, (sc, n_run, fired) = inner(
                params, consts, packer.unpack(packed), scarry)
            out, a = finish(state, last, {"stop_n": n_run[None], "stop_fired": fired})
            return out, recs, a, sc

        fn = self.jit(run if stop is None else run_until)
        self._chunks[key] = fn
        return fn

    def prepare(self, params, ids=None):
        """``params`` with every runtime node's parameters completed by its component's
        prepared values (Component.prepare: decay factors, step counts), groups expanded per
        neuron; for the runtime nodes ``ids`` (default all). Traced, or eager on the host."""
        out = dict(params)
        for nid in self.ids if ids is None else ids:
            if nid in out:
                base = out[nid]
            elif nid in self.groups:
                base = self.group_params(params, nid)
            else:
                continue
            extra = self.rnodes[nid].comp.prepare(base)
            out[nid] = {**base, **extra} if extra else base
        return out

    def prepared_rest(self, packer: StatePacker, ids):
        """(jitted fn, packer of its output): the packed runtime parameters of ``packer``'s
        layout -> the same completed by the prepared values of the runtime nodes ``ids``, packed.
        The Simulation runs it once after each parameter change, not at every chunk."""
        ids = [nid for nid in self.ids if nid in set(ids)]
        with self.precision():
            zeros = packer.unpack(np.zeros(packer.size, np.uint32))  # only the layout counts
            shapes = jax.eval_shape(lambda t: self.prepare(t, ids), zeros)
            example = jax.tree_util.tree_map(lambda x: np.zeros(x.shape, x.dtype), shapes)
        out = StatePacker(example)
        return self.jit(lambda buf: out.pack(self.prepare(packer.unpack(buf), ids))), out

    def aux_example(self, watch=(), count=(), stops: int | None = None) -> dict:
        """The tree ``packed_chunk`` packs into its ``aux`` output (for building its packer);
        ``stops``: the number of breakpoint conditions, if any."""
        out = {"ok": np.ones(1, bool),
               "last": {n: self.zeros_host(n) for n in watch},
               "sum": {n: np.zeros(np.shape(self.zeros_host(n)), np.int32) for n in count}}
        if stops is not None:
            out.update(stop_n=np.zeros(1, np.int32), stop_fired=np.zeros(stops, bool))
        return out
