"""Connectivity draws in C++ (``draws.cc``): the fixed_fan_in choice and its sort by pre neuron.

``fan_in_rows`` draws, for every post neuron, what NumPy's ``Generator.choice(m, k,
replace=False)`` on a PCG64 generator draws, from the same stream, leaving the generator in the
same state: a 10^6-neuron network's 10^8 synapses in about a second instead of half a minute of
one ``choice`` call per neuron. Built on first use like the kernels (components/native: the
same compiler, cache folder and ``SPARK_NATIVE`` switch), into a library of its own with no
JAX headers. Each function returns None when the library is not there (``SPARK_NATIVE=0``, no
compiler, a failed build) or does not apply (another bit generator): the caller then draws
with NumPy, the same numbers.
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from . import _compiler, _cpu_signature, cache_dir, wanted

SOURCE = Path(__file__).with_name("draws.cc")
FLAGS = ["-O2", "-std=c++17", "-shared", "-fPIC", "-march=native", "-w"]

_log = logging.getLogger("spark.native")
_lock = threading.Lock()
_state: dict = {}   # "lib": the loaded library or None, "why": why not
_i64 = ctypes.c_int64
_MASK64 = (1 << 64) - 1


def _load():
    cxx = _compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler found (set CXX, or install g++)")
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    h = hashlib.sha256()
    for part in (SOURCE.read_bytes(), version.encode(), " ".join(FLAGS).encode(),
                 _cpu_signature()):
        h.update(part)
    path = cache_dir() / f"spark_draws_{h.hexdigest()[:16]}.so"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=path.parent)
        os.close(fd)
        try:
            res = subprocess.run([cxx, *FLAGS, str(SOURCE), "-o", tmp], capture_output=True,
                                 text=True, timeout=300)
            if res.returncode != 0:
                raise RuntimeError(f"{Path(cxx).name} failed: {res.stderr.strip()[-800:]}")
            os.replace(tmp, path)   # atomic: a concurrent build of the same file is harmless
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    lib = ctypes.cdll.LoadLibrary(str(path))
    lib.spark_fan_in.restype = ctypes.c_int
    lib.spark_fan_in.argtypes = [ctypes.c_void_p, _i64, _i64, _i64, ctypes.c_int32,
                                 ctypes.c_void_p]
    lib.spark_sort_rows.restype = ctypes.c_int
    lib.spark_sort_rows.argtypes = [ctypes.c_void_p, _i64, _i64, _i64, ctypes.c_void_p,
                                    ctypes.c_void_p]
    lib.spark_pairs_below.restype = ctypes.c_int64
    lib.spark_pairs_below.argtypes = [ctypes.c_void_p, _i64, _i64, ctypes.c_double,
                                      ctypes.c_void_p, ctypes.c_void_p, _i64]
    lib.spark_fill_targets.restype = ctypes.c_int
    lib.spark_fill_targets.argtypes = [ctypes.c_void_p, _i64, _i64, _i64, _i64, ctypes.c_void_p]
    return lib


def library():
    """The loaded library (built on the first call), or None (``SPARK_NATIVE=0``, no compiler,
    a failed build: logged once)."""
    if not wanted():
        return None
    with _lock:
        if "lib" not in _state:
            try:
                _state["lib"] = _load()
            except Exception as exc:   # no compiler, a failed build: NumPy draws instead
                _state["lib"] = None
                _log.warning("native draws unavailable, using NumPy: %s", exc)
        return _state["lib"]


def _check(rc: int, what: str) -> None:
    if rc == 1:
        raise MemoryError(f"{what}: out of memory")
    if rc:
        raise ValueError(f"{what}: sizes out of range")


def _get_state(bitgen) -> np.ndarray:
    """A PCG64's state as the six words draws.cc reads and writes."""
    s = bitgen.state
    return np.array([s["state"]["state"] >> 64, s["state"]["state"] & _MASK64,
                     s["state"]["inc"] >> 64, s["state"]["inc"] & _MASK64,
                     s["has_uint32"], s["uinteger"]], np.uint64)


def _set_state(bitgen, st: np.ndarray) -> None:
    v = [int(x) for x in st]
    bitgen.state = {"bit_generator": "PCG64",
                    "state": {"state": (v[0] << 64) | v[1], "inc": (v[2] << 64) | v[3]},
                    "has_uint32": v[4], "uinteger": v[5]}


def _pcg64(rng):
    """The library and rng's bit generator when both can be used, else (None, None)."""
    lib = library()
    bitgen = rng.bit_generator
    if lib is None or type(bitgen) is not np.random.PCG64:
        return None, None
    return lib, bitgen


def pairs_below(rng: np.random.Generator, n_rows: int, n_cols: int, p: float, capacity: int):
    """(rows, columns) int64 of the entries of ``rng.random((n_rows, n_cols)) < p``, in row
    order, drawn as NumPy draws them (``rng`` advanced alike); None when the library is
    unavailable, ``rng`` is not PCG64 or there are more than ``capacity`` (``rng`` is then
    left as it was)."""
    lib, bitgen = _pcg64(rng)
    if lib is None:
        return None
    pre = np.empty(capacity, np.int64)
    post = np.empty(capacity, np.int64)
    st = _get_state(bitgen)
    n = lib.spark_pairs_below(st.ctypes.data, n_rows, n_cols, float(p), pre.ctypes.data,
                              post.ctypes.data, capacity)
    if n < 0:
        return None
    _set_state(bitgen, st)
    return pre[:n], post[:n]


def fan_in_rows(rng: np.random.Generator, m: int, k: int, n_post: int, exclude_own: bool):
    """An (n_post, k) int32 array whose row j is ``rng.choice(m, k, replace=False)``, drawn
    row after row, with indices >= j moved up by one when ``exclude_own``; ``rng`` is advanced
    as those calls advance it. None when the library is unavailable, ``rng`` is not PCG64 or m
    is 2^31 or more."""
    lib, bitgen = _pcg64(rng)
    if lib is None or not 0 <= k <= m < 2**31:
        return None
    rows = np.empty((n_post, k), np.int32)
    st = _get_state(bitgen)
    _check(lib.spark_fan_in(st.ctypes.data, m, k, n_post, int(exclude_own), rows.ctypes.data),
           "fan_in_rows")
    _set_state(bitgen, st)
    return rows


def sort_rows(rows: np.ndarray, n_pre: int):
    """(pre, post) int64 of the synapses ``rows[j]`` -> j (int32 rows, distinct within a row),
    ordered by pre, then post; None when the library is unavailable."""
    lib = library()
    if lib is None or n_pre >= 2**31:
        return None
    rows = np.ascontiguousarray(rows, np.int32)
    n_post, k = rows.shape
    pre = np.empty(n_post * k, np.int64)
    post = np.empty(n_post * k, np.int64)
    _check(lib.spark_sort_rows(rows.ctypes.data, n_post, k, n_pre, pre.ctypes.data,
                               post.ctypes.data), "sort_rows")
    return pre, post


def fill_targets(rows: np.ndarray, targets: np.ndarray) -> bool:
    """Write the synapses ``rows[j]`` -> j (int32 rows) into the padded table ``targets``
    (int32, C order, n_pre x fan, already holding the padding value): row p gets pre neuron
    p's post neurons in ascending order. False when the library is unavailable."""
    lib = library()
    if lib is None or rows.dtype != np.int32 or not rows.flags.c_contiguous:
        return False
    if targets.dtype != np.int32 or not targets.flags.c_contiguous:
        raise TypeError("fill_targets: targets must be a C-ordered int32 array")
    n_post, k = rows.shape
    n_pre, fan = targets.shape
    _check(lib.spark_fill_targets(rows.ctypes.data, n_post, k, n_pre, fan, targets.ctypes.data),
           "fill_targets")
    return True
