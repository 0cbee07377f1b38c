"""fixed_fan_in connectivity drawn straight into the padded tables of event propagation.

A projection's synapses are drawn as (pre, post) index arrays sorted by pre, then post, and
their weights in that order (components/projection.py ``synapses``); event propagation then
pads them into one row per pre neuron (``padded_tables``). For fixed_fan_in with one delay this
module builds the same two tables without the intermediate arrays of every synapse (for 10^8
synapses: 1.6 GB of indices and 0.8 GB of weights): the post neurons are written into the
target table directly from the drawn rows (components/native/draws.cc, else ``fill_targets``
block by block), and the weights are drawn TABLE_BLOCK pre neurons at a time (the same stream: each weight
factor is one draw after the other) and written into their rows. The tables are the same,
entry for entry (tests/test_setup_draws.py), in less memory and time.

The tables are allocated 64-byte aligned and returned read-only, so the compiler's upload
(engine/compiler.py ``_to_device``) can hand them to XLA's CPU client without a copy.

The rows themselves (``fan_in_rows``) are NumPy's ``Generator.choice`` per post neuron; without
the C++ library ``_floyd_rows`` computes them for a block of rows at once from the generator's
raw output, exactly as ``choice`` does one row (tests/test_setup_draws.py).
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
    NumPy form of ``native.draws.fan_in_rows``: ROW_BLOCK rows at a time by ``_floyd_rows``
    where NumPy's choice uses Floyd's method on a PCG64 generator, else one call per row."""
    rows = np.empty((n_post, k), np.int32 if m < 2**31 else np.int64)
    floyd = (type(rng.bit_generator) is np.random.PCG64 and 0 < k <= m < 2**31
             and not (m > 10000 and k > m // 50))
    for j0 in range(0, n_post, ROW_BLOCK if floyd else max(n_post, 1)):
        j1 = min(n_post, j0 + ROW_BLOCK)
        if floyd:
            rows[j0:j1] = _floyd_rows(rng, m, k, j1 - j0)
        else:
            for j in range(j0, n_post):
                rows[j] = rng.choice(m, size=k, replace=False)
    if exclude_own:
        rows += rows >= np.arange(n_post, dtype=rows.dtype)[:, None]
    return rows


ROW_BLOCK = 2048     # rows _floyd_rows draws at once
_WINDOW = 16384      # bounded draws checked for rejection at once


def _floyd_rows(rng: np.random.Generator, m: int, k: int, n_rows: int) -> np.ndarray:
    """``n_rows`` rows of ``rng.choice(m, k, replace=False)`` (PCG64, Floyd's method: k < m /
    50 or m <= 10000), computed as NumPy computes them but for all rows at once: the 32-bit
    draws are the halves of the generator's 64-bit outputs (low first, a leftover high half
    kept for the next draw), each bounded draw in [0, r] is Lemire's (x * (r + 1)) >> 32,
    repeated with the next 32 bits while its low word is below (2^32 - 1 - r) mod (r + 1);
    Floyd takes v drawn in [0, i] for i = m-k .. m-1, or i when v was taken before; then the
    row is shuffled (i = k-1 .. 1 swapped with a draw in [0, i]). The generator ends in the
    state those calls leave it in."""
    bitgen = rng.bit_generator
    bounds = np.concatenate([np.arange(m - k, m), np.arange(k - 1, 0, -1)]).astype(np.uint64)
    drawn = bounds > 0                   # a draw in [0, 0] takes no bits
    span = bounds[drawn] + np.uint64(1)
    thresh = (np.uint64(2**32 - 1) - bounds[drawn]) % span
    d = span.size
    total = n_rows * d
    s0 = bitgen.state
    lead = [s0["uinteger"]] if s0["has_uint32"] else []
    raws = [bitgen.random_raw((total + total // 64 + 64) // 2 + 1)]
    u = _halves(lead, raws[0])
    vals = np.empty(total, np.uint64)
    t = skip = 0                         # draws done, 32-bit words rejected so far
    while t < total:
        e = min(total, t + _WINDOW)
        while e + skip > u.size:          # more rejections than foreseen: more bits
            raws.append(bitgen.random_raw(_WINDOW))
            u = np.concatenate([u, _halves([], raws[-1])])
        b = np.arange(t, e) % d
        prod = u[t + skip:e + skip] * span[b]
        bad = (prod & np.uint64(0xFFFFFFFF)) < thresh[b]
        if bad.any():                   # a rejection: that draw takes the next word
            f = int(np.argmax(bad))
            vals[t:t + f] = prod[:f] >> np.uint64(32)
            t, skip = t + f, skip + 1
        else:
            vals[t:e] = prod >> np.uint64(32)
            t = e
    bitgen.state = s0                   # then advanced by what was used
    if total + skip:
        used = total + skip - len(lead)  # 32-bit halves of raw outputs
        n64 = (used + 1) // 2
        bitgen.advance(n64)
        st = bitgen.state
        st["has_uint32"] = used % 2
        st["uinteger"] = (int(np.concatenate(raws)[n64 - 1] >> np.uint64(32)) if n64
                          else s0["uinteger"])
        bitgen.state = st
    vals = vals.reshape(n_rows, d).astype(np.int64)
    n_floyd = k - int(bounds[0] == 0)
    picks, swaps = vals[:, :n_floyd], vals[:, n_floyd:]
    if bounds[0] == 0:                  # i = 0 (k = m): v = 0 without a draw
        picks = np.concatenate([np.zeros((n_rows, 1), np.int64), picks], axis=1)
    out = picks.copy()
    ordered = np.sort(picks, axis=1)
    for r in np.nonzero(np.any(ordered[:, 1:] == ordered[:, :-1], axis=1))[0]:
        taken: set = set()               # a repeat in the row: Floyd's rule, in order
        for c, v in enumerate(picks[r].tolist()):
            x = v if v not in taken else m - k + c
            taken.add(x)
            out[r, c] = x
    rows = np.arange(n_rows)
    for c, i in enumerate(range(k - 1, 0, -1)):
        s = swaps[:, c]
        a = out[rows, i].copy()
        out[rows, i] = out[rows, s]
        out[rows, s] = a
    return out


def _halves(lead, raw: np.ndarray) -> np.ndarray:
    """The 32-bit words of 64-bit outputs in the order NumPy draws them (low, then high),
    after ``lead`` (a kept half), as uint64."""
    u = np.empty(len(lead) + 2 * raw.size, np.uint64)
    u[:len(lead)] = lead
    u[len(lead)::2] = raw & np.uint64(0xFFFFFFFF)
    u[len(lead) + 1::2] = raw >> np.uint64(32)
    return u


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


def fill_targets(rows: np.ndarray, targets: np.ndarray) -> None:
    """NumPy's ``native.draws.fill_targets``: row p of ``targets`` gets the post neurons j
    whose ``rows[j]`` holds p, ascending, from its first entry on; ROW_BLOCK rows at a time, each
    block's synapses put in order of pre neuron by a stable sort (post ascending within each)."""
    k = rows.shape[1]
    used = np.zeros(targets.shape[0], np.int64)     # entries of each row filled so far
    for j0 in range(0, rows.shape[0], ROW_BLOCK):
        pre = rows[j0:j0 + ROW_BLOCK].reshape(-1)
        order = np.argsort(pre, kind="stable")
        ps = pre[order].astype(np.int64)
        rank = np.arange(ps.size) - np.searchsorted(ps, ps)   # among equal pre neurons
        targets[ps, used[ps] + rank] = j0 + order // k
        first = np.flatnonzero(np.diff(ps, prepend=-1))
        used[ps[first]] += np.diff(np.append(first, ps.size))


def fan_in_tables(cfg, n_pre: int, n_post: int, rng: np.random.Generator, dtype):
    """(targets, weights) as ``padded_tables`` of the projection's ``synapses`` (the same
    draws from ``rng``, the same tables), both read-only and 64-byte aligned."""
    from .projection import draw_weights
    rows = draw_rows(cfg, n_pre, n_post, rng)
    counts = pre_counts(rows, n_pre)
    fan = max(int(counts.max()) if n_pre else 0, 1)
    targets = aligned_full((n_pre + 1, fan), n_post, np.int32)   # extra row: "no spike"
    if not draws.fill_targets(rows, targets[:n_pre]):
        fill_targets(rows, targets)
    del rows
    weights = aligned_full((n_pre + 1, fan), 0, dtype)
    for i0, r, e0, e1, used in leading_blocks(counts):
        pre = np.repeat(np.arange(i0, i0 + r, dtype=np.int64), counts[i0:i0 + r])
        weights[i0:i0 + r][used] = draw_weights(cfg, pre, n_pre, rng)
    targets.flags.writeable = False
    weights.flags.writeable = False
    return targets, weights
