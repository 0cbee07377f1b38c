"""Pack a pytree of arrays into one flat uint32 buffer and back (StatePacker).

The Simulation keeps its state, its parameters and the values it reads back per chunk packed
this way between chunks (engine/simulation.py); the compiled chunks (engine/chunks.py) unpack
and pack them around the scan.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["StatePacker"]

_WORD = np.dtype(np.uint32)
_LARGE_LEAF = 1024  # words: a leaf this large is packed in place (StatePacker.pack)
_EXPONENT = {4: 0x7F800000, 8: 0x7FF00000}  # float32 exponent; float64 exponent (high word)


class StatePacker:
    """Packs a pytree of arrays into ONE flat uint32 buffer, and back.

    Every buffer a jitted call takes or returns costs microseconds on the CPU, so the Simulation
    keeps state and parameters packed between chunks; inside a chunk the scan carries the
    unpacked tree, so the per-step cost is unchanged. A leaf keeps its exact bits: 32-bit values
    take one word, 64-bit values two (little-endian, low word first), smaller types one word per
    element (converted). Floating-point leaves come first, so the finiteness of a whole packed
    state is one reduction over the leading words (``all_finite``).
    """

    def __init__(self, example):
        flat, self.treedef = jax.tree_util.tree_flatten_with_path(example)
        self.paths = [tuple(getattr(k, "key", k) for k in path) for path, _ in flat]
        self.index = {p: i for i, p in enumerate(self.paths)}
        self.dtypes = [np.dtype(getattr(leaf, "dtype", None) or np.asarray(leaf).dtype)
                       for _, leaf in flat]
        self.shapes = [tuple(np.shape(leaf)) for _, leaf in flat]
        for path, d in zip(self.paths, self.dtypes):
            if d.kind not in "fiub" or d.itemsize not in (1, 2, 4, 8):
                raise TypeError(f"cannot pack {'/'.join(map(str, path))}: dtype {d} (use bool, "
                                "integer or floating-point arrays of at most 64 bits)")
        # floating-point leaves first, grouped by size, so each size's words are contiguous
        floats = sorted((i for i, d in enumerate(self.dtypes) if d.kind == "f"
                         and d.itemsize in _EXPONENT), key=lambda i: self.dtypes[i].itemsize)
        order = floats + [i for i in range(len(flat)) if i not in floats]
        self.slots: list = [None] * len(flat)  # (offset in words, elements, words per element)
        off = 0
        self.float_words: dict[int, tuple[int, int]] = {}  # itemsize -> (first word, end word)
        for i in order:
            d, n = self.dtypes[i], int(np.prod(self.shapes[i], dtype=np.int64))
            w = 2 if d.itemsize == 8 else 1
            if d.kind == "f" and d.itemsize in _EXPONENT:
                lo, _hi = self.float_words.get(d.itemsize, (off, off))
                self.float_words[d.itemsize] = (lo, off + n * w)
            self.slots[i] = (off, n, w)
            off += n * w
        self.size = off
        self._order = order

    # in a traced function ------------------------------------------------------------------
    def pack(self, tree):
        leaves = jax.tree_util.tree_leaves(tree)
        parts = [_to_words(jnp.ravel(jnp.asarray(leaves[i], self.dtypes[i])), self.dtypes[i])
                 for i in self._order]
        if not parts:
            return jnp.zeros(0, jnp.uint32)
        # runs of small leaves are concatenated; large leaves are written into the buffer in
        # place. XLA's classic emitter (engine/xla_options.py) computes a concatenation element
        # by element, finding each element's operand: 23 us for the 7-pool network's 21,731
        # words against 3 us in place.
        pieces, run = [], []
        for part in parts:
            if part.shape[0] >= _LARGE_LEAF:
                pieces.extend(([jnp.concatenate(run)] if len(run) > 1 else run) + [part])
                run = []
            else:
                run.append(part)
        pieces.extend([jnp.concatenate(run)] if len(run) > 1 else run)
        if len(pieces) == 1:
            return pieces[0]
        buf, off = jnp.zeros(self.size, jnp.uint32), 0
        for piece in pieces:
            buf = jax.lax.dynamic_update_slice(buf, piece, (off,))
            off += piece.shape[0]
        return buf

    def all_finite(self, buf):
        """True when no floating-point leaf of the packed ``buf`` holds a NaN or an infinity
        (all exponent bits set), as a JAX scalar."""
        ok = jnp.asarray(True)
        for size, (lo, hi) in self.float_words.items():
            words = buf[lo:hi] if size == 4 else buf[lo:hi].reshape(-1, 2)[:, 1]
            e = jnp.uint32(_EXPONENT[size])
            ok = ok & ~jnp.any((words & e) == e)
        return ok

    def unpack(self, buf):
        """The tree back from a packed buffer: JAX arrays from a JAX buffer (traced or not),
        NumPy views from a NumPy buffer (no copy for 32- and 64-bit leaves)."""
        host = isinstance(buf, np.ndarray)
        leaves = []
        for (off, n, w), d, shape in zip(self.slots, self.dtypes, self.shapes):
            seg = buf[off:off + n * w]
            if host:
                x = seg.view(d) if d.itemsize in (4, 8) else _small_from_words(seg, d)
            else:
                x = _from_words(seg, d)
            leaves.append(x.reshape(shape))
        return jax.tree_util.tree_unflatten(self.treedef, leaves)

    # on the host ------------------------------------------------------------------------------
    def pack_host(self, tree) -> np.ndarray:
        """Pack into a NumPy buffer (no device work)."""
        out = np.empty(self.size, _WORD)
        for (off, n, w), d, leaf in zip(self.slots, self.dtypes, jax.tree_util.tree_leaves(tree)):
            self.write(out, off, n, w, d, leaf)
        return out

    def slot(self, path: tuple):
        """(offset, elements, words per element, dtype) of the leaf at ``path``."""
        i = self.index[path]
        return (*self.slots[i], self.dtypes[i])

    @staticmethod
    def write(buf: np.ndarray, off: int, n: int, w: int, d: np.dtype, value) -> None:
        """Write ``value`` (one value for all ``n`` elements of dtype ``d``, or ``n`` values)
        into the packed ``buf`` in place."""
        a = np.asarray(value)
        if a.ndim > 1:
            a = a.reshape(n)
        if d.itemsize in (4, 8):
            buf[off:off + n * w].view(d)[...] = a
        elif d.kind == "f":  # half precision: its 16 bits in the low half of the word
            buf[off:off + n] = np.broadcast_to(np.asarray(a, d), (n,)).view(np.uint16)
        else:
            buf[off:off + n] = np.asarray(a, d).astype(_WORD)


def _to_words(x, d: np.dtype):
    if d.itemsize == 4:
        return jax.lax.bitcast_convert_type(x, jnp.uint32)
    if d.itemsize == 8:
        return jax.lax.bitcast_convert_type(x, jnp.uint32).reshape(-1)
    if d.kind == "f":
        return jax.lax.bitcast_convert_type(x, jnp.uint16).astype(jnp.uint32)
    return x.astype(jnp.uint32)


def _from_words(seg, d: np.dtype):
    if d.itemsize == 4:
        return jax.lax.bitcast_convert_type(seg, d)
    if d.itemsize == 8:
        return jax.lax.bitcast_convert_type(seg.reshape(-1, 2), d)
    if d.kind == "f":
        return jax.lax.bitcast_convert_type(seg.astype(jnp.uint16), d)
    return seg.astype(d)


def _small_from_words(seg: np.ndarray, d: np.dtype) -> np.ndarray:
    if d.kind == "f":
        return seg.astype(np.uint16).view(d)
    return seg.astype(d)


def _all_finite(tree) -> jax.Array:
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]
    if not leaves:
        return jnp.asarray(True)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))
