"""fixed_fan_in connectivity drawn straight into the padded tables of event propagation.

A projection's synapses are drawn as (pre, post) index arrays sorted by pre, then post, and
their weights in that order (components/projection.py ``synapses``); event propagation then
pads them into one row per pre neuron (``padded_tables``). For fixed_fan_in with one delay this
module builds the same two tables without the intermediate arrays of every synapse (for 10^8
synapses: 1.6 GB of indices and 0.8 GB of weights): the post neurons are written into the
target table directly from the drawn rows (components/native/draws.cc, else a stable sort),
and the weights are drawn TABLE_BLOCK pre neurons at a time (the same stream: each weight
factor is one draw after the other) and written into their rows. The tables are the same,
entry for entry (tests/test_setup_draws.py), in less memory and time.

The tables are allocated 64-byte aligned and returned read-only, so the compiler's upload
(engine/compiler.py ``_init_array``) can hand them to XLA's CPU client without a copy.
"""
from __future__ import annotations

import math

import numpy as np

from .native import draws

TABLE_BLOCK = 2**12   # pre neurons whose table rows are filled at once (temporaries of a
                      # few MB, which the allocator reuses instead of fresh pages each time)
ALIGN = 64            # bytes: XLA's CPU client uses such host buffers in place


def aligned_empty(shape, dtype) -> np.ndarray:
    """``np.empty(shape, dtype)`` whose data starts on an ALIGN-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + ALIGN, np.uint8)
    off = (-raw.ctypes.data) % ALIGN
    return raw[off:off + nbytes].view(dtype).reshape(shape)


def aligned_full(shape, fill, dtype) -> np.ndarray:
    """``np.full(shape, fill, dtype)`` whose data starts on an ALIGN-byte boundary."""
    out = aligned_empty(shape, dtype)
    out.fill(fill)
    return out


def fan_in_rows(rng: np.random.Generator, m: int, k: int, n_post: int, exclude_own: bool):
    """Row j: ``rng.choice(m, k, replace=False)`` (one call per post neuron j, in order), with
    indices >= j moved up by one when ``exclude_own`` (so j itself is never chosen). The
    NumPy form of ``native.draws.fan_in_rows``."""
    rows = np.empty((n_post, k), np.int32 if m < 2**31 else np.int64)
    for j in range(n_post):
        idx = rng.choice(m, size=k, replace=False)
        rows[j] = idx + (idx >= j) if exclude_own else idx
    return rows


def draw_rows(cfg, n_pre: int, n_post: int, rng: np.random.Generator) -> np.ndarray:
    """The fixed_fan_in draw: row j holds the fan_in distinct pre neurons of post neuron j
    (all pre neurons, or all but j without autapses between equal sizes), in drawn order."""
    k = cfg["fan_in"]
    excl = (not cfg["autapses"]) and n_pre == n_post
    # choosing k of the m = n_pre (- 1) indices and skipping j draws the same stream as
    # choosing from the list of allowed neurons, in O(k) instead of O(n_pre)
    m = n_pre - 1 if excl else n_pre
    rows = draws.fan_in_rows(rng, m, k, n_post, excl)   # the same draws, in C++
    return fan_in_rows(rng, m, k, n_post, excl) if rows is None else rows


def leading_blocks(counts: np.ndarray, block: int = TABLE_BLOCK):
    """For rows whose first counts[p] entries take consecutive values in order: (first row,
    rows, first value, end value, mask of the block's leading entries), ``block`` rows at a
    time (no index arrays as large as the values)."""
    fan = int(counts.max()) if counts.size else 0
    cols = np.arange(max(fan, 1))
    e0 = 0
    for i0 in range(0, counts.size, block):
        c = counts[i0:i0 + block]
        e1 = e0 + int(c.sum())
        yield i0, c.size, e0, e1, cols < c[:, None]
        e0 = e1


def pre_counts(rows: np.ndarray, n_pre: int) -> np.ndarray:
    """How many synapses each pre neuron has in ``rows`` (``np.bincount`` in blocks: on the
    whole, it would first convert every index to 64 bits)."""
    flat = rows.reshape(-1)
    counts = np.zeros(n_pre, np.int64)
    step = max(2**22, n_pre)
    for e0 in range(0, flat.size, step):
        counts += np.bincount(flat[e0:e0 + step], minlength=n_pre)
    return counts


def fan_in_tables(cfg, n_pre: int, n_post: int, rng: np.random.Generator, dtype):
    """(targets, weights) as ``padded_tables`` of the projection's ``synapses`` (the same
    draws from ``rng``, the same tables), both read-only and 64-byte aligned."""
    from .projection import draw_weights
    rows = draw_rows(cfg, n_pre, n_post, rng)
    counts = pre_counts(rows, n_pre)
    fan = max(int(counts.max()) if n_pre else 0, 1)
    targets = aligned_full((n_pre + 1, fan), n_post, np.int32)   # extra row: "no spike"
    if not draws.fill_targets(rows, targets[:n_pre]):
        # pre neuron after pre neuron, each one's posts ascending: a stable sort by pre
        post = np.argsort(rows.reshape(-1), kind="stable") // rows.shape[1]
        for i0, r, e0, e1, used in leading_blocks(counts):
            targets[i0:i0 + r][used] = post[e0:e1]
        del post
    del rows
    weights = aligned_full((n_pre + 1, fan), 0, dtype)
    for i0, r, e0, e1, used in leading_blocks(counts):
        pre = np.repeat(np.arange(i0, i0 + r, dtype=np.int64), counts[i0:i0 + r])
        weights[i0:i0 + r][used] = draw_weights(cfg, pre, n_pre, rng)
    targets.flags.writeable = False
    weights.flags.writeable = False
    return targets, weights
