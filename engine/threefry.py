"""JAX's default random keys computed with NumPy: no XLA program to compile at set-up.

``jax.random.PRNGKey(seed)`` and ``jax.random.fold_in(key, data)`` with the default
Threefry-2x32 implementation are tiny programs, but each is traced and compiled by XLA the first
time (a third of a second for the vectorised fold_in of the nodes' keys on a cold start). The
same numbers come from the cipher written out here (Salmon et al. 2011, 20 rounds, as
jax._src.prng applies it): ``prng_key(seed)`` is [seed >> 32, seed & 0xFFFFFFFF] and
``fold_in(key, d)`` is the cipher of the block (0, d) under ``key``. Both return None when JAX is
set to another random number implementation, and the caller asks JAX
(tests/test_setup_draws.py compares them with JAX for many values).
"""
from __future__ import annotations

import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _default_impl() -> bool:
    import jax
    return (jax.config.jax_default_prng_impl == "threefry2x32"
            and not jax.config.jax_enable_custom_prng)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(k0, k1, x0, x1):
    """The Threefry-2x32 block cipher (20 rounds) of the words (x0, x1) under the key (k0, k1),
    element-wise over uint32 arrays."""
    k0, k1 = np.uint32(k0), np.uint32(k1)
    ks = (k0, k1, k0 ^ k1 ^ _PARITY)
    x0 = np.asarray(x0, np.uint32) + ks[0]
    x1 = np.asarray(x1, np.uint32) + ks[1]
    with np.errstate(over="ignore"):
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x0 = x0 + x1
                x1 = _rotl(x1, r) ^ x0
            x0 = x0 + ks[(i + 1) % 3]
            x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def prng_key(seed: int):
    """``jax.random.PRNGKey(seed)`` as a NumPy uint32[2] array (0 <= seed < 2^31), else None."""
    if not (0 <= seed < 2**31 and _default_impl()):
        return None
    return np.array([0, seed], np.uint32)


def fold_in(key: np.ndarray, data) -> np.ndarray | None:
    """``jax.random.fold_in(key, d)`` for every uint32 d in ``data``: an array (len(data), 2)
    of keys; None under another random number implementation."""
    if not _default_impl():
        return None
    data = np.asarray(data, np.uint32)
    y0, y1 = threefry2x32(key[0], key[1], np.zeros_like(data), data)
    return np.stack([y0, y1], axis=-1)
