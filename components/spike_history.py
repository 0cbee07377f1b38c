"""Per-synapse delays: the last spikes of a pre-synaptic pool kept as bit sets (no node type here).

A projection whose synapses each have their own delay d_ij (whole steps, d_min <= d_ij <= d_max)
keeps the pre-synaptic spikes of the last d_max steps, one bit set per step (spike_words), in a
ring of d_max slots: the spikes of step u live in slot u % d_max. At step t the synapses that
receive a spike are those (i, j) with neuron i spiking at t - d_ij, i.e. in slot
(t - d_ij) % d_max; ``arrival_words`` keeps the slots whose age k = t - u lies in [d_min, d_max],
and ``for_each_bit`` visits every spike of those slots once (the visit of neuron i with age k
touches only the synapses of i with d_ij = k). So a spike emitted at step u arrives at step
u + d_ij exactly, and the work per step grows with the spikes of the last d_max steps times the
fan-out, never with n_pre x n_post. The ring is read before the spikes of step t are stored
(``push_words``), as a latched node reads its state before it updates.

Delays are drawn uniformly on the whole numbers d_min .. d_max (``draw_delays``), each with
probability 1 / (d_max - d_min + 1).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import lax

from .projection import spike_words


def n_words(n: int) -> int:
    """32-bit words needed for a bit set of ``n`` neurons."""
    return -(-n // 32)


def draw_delays(rng: np.random.Generator, n: int, d_min: int, d_max: int) -> np.ndarray:
    """``n`` delays (steps), uniform on the whole numbers d_min .. d_max."""
    return rng.integers(d_min, d_max + 1, n).astype(np.int32)


def delay_segments(targets: np.ndarray, delays: np.ndarray, n_post: int, depth: int):
    """For the native kernels (components/native): each row's columns ordered by delay (stable;
    padding, target >= n_post, last) and where each delay's run starts, so a spike of age k
    visits only the synapses with delay k. (perm (rows, F), start (rows, depth + 2)): the
    columns with delay k are perm[i, start[i, k]:start[i, k + 1]]."""
    key = np.where(targets < n_post, delays, depth + 1)
    perm = np.argsort(key, axis=1, kind="stable").astype(np.int32)
    start = np.stack([(key < k).sum(axis=1) for k in range(depth + 2)], axis=1)
    return perm, start.astype(np.int32)


def empty_ring(depth: int, n: int) -> np.ndarray:
    """A ring of ``depth`` empty bit sets for ``n`` neurons."""
    return np.zeros((depth, n_words(n)), np.uint32)


def slot_age(t, depth: int):
    """Age k (1 .. depth) at step t of the spikes stored in each slot of a ring of ``depth``
    slots, read before the spikes of step t are stored: slot (t - k) % depth holds step t - k."""
    return (t - 1 - jnp.arange(depth)) % depth + 1


def arrival_words(ring, t, d_min: int):
    """The ring with the slots younger than d_min steps cleared: its set bits are the spikes
    that reach at least one synapse at step t."""
    keep = slot_age(t, ring.shape[0]) >= d_min
    return jnp.where(keep[:, None], ring, jnp.uint32(0))


def push_words(ring, t, spikes):
    """The ring after storing this step's spikes (slot t % depth)."""
    return store_slot(ring, t, spike_words(spikes))


def store_slot(ring, t, row):
    """``ring`` with ``row`` in slot t % depth. A ring of one slot is replaced outright: no
    index to compute and bound-check at every step (two XLA kernels of a step's ten)."""
    if ring.shape[0] == 1:
        return row[None]
    return ring.at[t % ring.shape[0]].set(row)


def read_slot(ring, t):
    """Slot t % depth of ``ring`` (store_slot's counterpart; slot 0 of a one-slot ring)."""
    return ring[0] if ring.shape[0] == 1 else ring[t % ring.shape[0]]


def for_each_bit(words, body, carry):
    """``carry = body(carry, q, b)`` for every set bit b of every word q of ``words`` (any shape,
    read flattened), in ascending order; one loop iteration per set bit (lowest set bit of the
    first non-zero word, as components.projection.event_propagate_words)."""

    def step(c):
        acc, w = c
        q = jnp.argmax(w != 0)
        x = w[q]
        low = x & (~x + jnp.uint32(1))
        b = (31 - lax.clz(low)).astype(jnp.int32)
        return body(acc, q.astype(jnp.int32), b), w.at[q].set(x ^ low)

    out, _ = lax.while_loop(lambda c: jnp.any(c[1] != 0), step, (carry, words.reshape(-1)))
    return out


def ring_bit(q, b, t, depth: int, nw: int):
    """(neuron, age) of bit b of flattened word q of a ring read at step t."""
    slot = q // nw
    return (q % nw) * 32 + b, (t - 1 - slot) % depth + 1


def deliver(ring, t, d_min: int, tables, weights, n_post: int, spread: bool):
    """Weighted spike arrivals at step t: sum over arriving synapses of their weight.

    ``ring``: the projection's ring of recent spikes (read before this step's are stored); only
    spikes at least ``d_min`` steps old arrive (``arrival_words``). ``tables``: dict with
    ``targets`` (n_pre + 1, F; padding = n_post), ``delays`` (same shape) and ``sign``
    (n_pre + 1), and for the native kernels the delay segments; ``weights`` (n_pre + 1, F)
    magnitudes (or signed weights with sign 1). With ``spread`` False every synapse has the same
    delay and the age test is skipped."""
    from .projection import propagation_strategy
    if propagation_strategy() == "native":
        from . import native
        return native.deliver_delayed(ring, t, d_min, tables, weights, n_post, spread)
    words = arrival_words(ring, t, d_min)
    depth = ring.shape[0]
    nw = words.shape[1]
    tgt, dly, sgn = tables["targets"], tables["delays"], tables["sign"]

    def body(acc, q, b):
        i, k = ring_bit(q, b, t, depth, nw)
        w = weights[i] * sgn[i]
        if spread:
            w = jnp.where(dly[i] == k, w, 0.0)
        return acc.at[tgt[i]].add(w, mode="promise_in_bounds")

    return for_each_bit(words, body, jnp.zeros(n_post + 1, weights.dtype))[:n_post]
