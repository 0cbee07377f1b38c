"""Calls from inside a compiled run back into Python (``hostio.cc``), for network operations.

``Simulation.operate`` (engine/operations.py) compiles a run of many blocks of steps with one
``host_call`` between two blocks. The call carries only a slot number; ``Binding`` ties a slot,
for the duration of one run, to a Python function and two NumPy buffers (the block's host-read
values, the host-fed parameters the function rewrites). A call costs a few microseconds (a ctypes
callback and two small copies), far less than JAX's own ``io_callback``.

Built like the kernels (components/native/__init__.py) into its own small library; unavailable
under the same conditions (``SPARK_NATIVE=0``, no compiler), where the engine runs the same
operations from a Python loop instead.
"""
from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import numpy as np

from . import build_library, load_once

SOURCE = Path(__file__).with_name("hostio.cc")
TARGET = "spark_host_call"
# the C signature of the bound function: int fn(int64 slot, int64 block); nonzero stops the run
HOST_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int64, ctypes.c_int64)

_lock = threading.Lock()
_state: dict = {}    # "ok", "why", "lib", "free" (slots not in use)


def _load() -> None:
    import jax
    lib = ctypes.cdll.LoadLibrary(str(build_library(SOURCE)))
    jax.ffi.register_ffi_target(TARGET, jax.ffi.pycapsule(lib.SparkHostCall), platform="cpu")
    u32p = ctypes.POINTER(ctypes.c_uint32)
    i64 = ctypes.c_int64
    lib.spark_hostio_bind.argtypes = [i64, HOST_FN, u32p, i64, u32p, i64, i64, i64, i64, i64]
    lib.spark_hostio_bind.restype = ctypes.c_int
    lib.spark_hostio_slots.restype = ctypes.c_int64
    _state.update(lib=lib, free=list(range(int(lib.spark_hostio_slots()) - 1, -1, -1)))


_kept = threading.local()  # .done on the threads whose Python thread state is kept alive


def keep_thread_state() -> None:
    """Keep the calling thread's Python thread state for the life of the process.

    The handler calls into Python from one of XLA's worker threads, which have no Python thread
    state of their own: ctypes then creates one for the call and destroys it after, and with
    it the frame stack (an mmap and munmap per call, and page faults: 3-4 microseconds, more
    than the call itself). One extra ``PyGILState_Ensure`` that is never released keeps the
    state; ctypes' own calls then only take and release the GIL. Called with the GIL held, from
    inside a callback."""
    if not getattr(_kept, "done", False):
        ctypes.pythonapi.PyGILState_Ensure.restype = ctypes.c_int
        ctypes.pythonapi.PyGILState_Ensure()
        _kept.done = True


def available() -> bool:
    """Whether host calls can be compiled into a run (building the library on the first call)."""
    return load_once(_state, _load, "native host calls unavailable, operations run a Python loop")


def host_call(slot, block, aux, fed_words: int):
    """In a traced function: call the function bound to ``slot`` with the block number, after
    handing it ``aux`` (uint32 words). Returns (the host-fed parameter buffer it leaves,
    ``fed_words`` uint32 words; a uint32 scalar that the caller must carry into its outputs).

    The call is not marked as having side effects (that would take JAX's fast dispatch path
    away): the scalar, kept alive to the end, is what stops XLA from removing it, and the data
    it depends on (``aux``) orders it."""
    import jax
    import jax.numpy as jnp
    out = jax.ffi.ffi_call(TARGET, jax.ShapeDtypeStruct((fed_words + 1,), jnp.uint32))(
        jnp.asarray(slot, jnp.int32), jnp.asarray(block, jnp.int32), aux)
    return out[:fed_words], out[fed_words]


class Binding:
    """Slot ``self.slot`` bound to ``fn(slot, block) -> int`` and the buffers ``aux`` (written
    before each call) and ``fed`` (read after it), while the ``with`` block lasts.

    ``floats``: {itemsize: (first word, end word)} of ``fed``'s floating-point values
    (StatePacker.float_words), which must stay finite. The buffers and the ctypes callback are
    kept alive here until the slot is released.
    """

    def __init__(self, fn, aux: np.ndarray, fed: np.ndarray, floats: dict):
        if not available():
            raise RuntimeError(f"native host calls unavailable: {_state.get('why', 'off')}")
        for name, buf in (("aux", aux), ("fed", fed)):
            if buf.dtype != np.uint32 or not buf.flags.c_contiguous or buf.ndim != 1:
                raise TypeError(f"{name}: a contiguous 1-D uint32 buffer is needed")
        self.fn, self.aux, self.fed, self.floats = fn, aux, fed, dict(floats)
        self.slot = None
        self._cfn = None

    def __enter__(self) -> "Binding":
        with _lock:
            if not _state["free"]:
                raise RuntimeError("too many operations running at once (all host-call slots "
                                   "are in use)")
            self.slot = _state["free"].pop()
        fn, kept = self.fn, _kept

        def call(slot, block):
            if not getattr(kept, "done", False):
                keep_thread_state()
            return fn(slot, block)
        self._cfn = HOST_FN(call)
        u32p = ctypes.POINTER(ctypes.c_uint32)
        lo4, hi4 = self.floats.get(4, (0, 0))
        lo8, hi8 = self.floats.get(8, (0, 0))
        _state["lib"].spark_hostio_bind(
            self.slot, self._cfn, self.aux.ctypes.data_as(u32p), self.aux.size,
            self.fed.ctypes.data_as(u32p), self.fed.size, lo4, hi4, lo8, hi8)
        return self

    def __exit__(self, *exc) -> None:
        _state["lib"].spark_hostio_bind(self.slot, HOST_FN(), None, 0, None, 0, 0, 0, 0, 0)
        with _lock:
            _state["free"].append(self.slot)
        self.slot = None
