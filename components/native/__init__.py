"""Native CPU kernels for event-driven propagation and plasticity (no node type here).

On one CPU core the engine's event loops cost XLA about a microsecond per loop iteration, that
is per spiking neuron (and per age of a delayed spike), whatever the fan-out. ``kernels.cc``
does the same work as XLA FFI handlers: one call per projection and step, a spike costing only
its fan-out. They replace the XLA loops of the "serial" strategy on the CPU
(``components.projection.propagation_strategy`` returns "native"), with the same visits in the
same order and the same rounding, so spikes and weights do not change (tests/test_native.py).

Built on first use with the C++ compiler (``$CXX``, else ``g++``/``c++``) against the FFI headers
that ship with jaxlib, for the host's instruction set, into ``$SPARK_NATIVE_DIR`` (default
``~/.cache/spark/native``), one library per source, jaxlib, compiler and CPU; a build takes a
few seconds once. Without a
compiler, or with ``SPARK_NATIVE=0``, the engine uses its XLA loops: the same results, slower on
a CPU. ``status()`` says which and why.
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).with_name("kernels.cc")
ENV = "SPARK_NATIVE"
# For the host's instruction set with multiply-adds fused, as XLA:CPU compiles its own loops:
# then the kernels round exactly as the XLA path (weights bit-identical, tests/test_native.py).
FLAGS = ["-O2", "-std=c++17", "-shared", "-fPIC", "-march=native", "-ffp-contract=fast", "-w"]
KERNELS = ("Propagate", "DeliverDelayed", "PlasticUpdate", "LifStep")

_log = logging.getLogger("spark.native")
_lock = threading.Lock()
_state: dict = {}   # "ok": bool, "why": str, "path": Path


def cache_dir() -> Path:
    """Where built kernel libraries are kept."""
    if os.environ.get("SPARK_NATIVE_DIR"):
        return Path(os.environ["SPARK_NATIVE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spark" / "native"


def wanted() -> bool:
    """False when the user turned the native kernels off (``SPARK_NATIVE=0``)."""
    v = os.environ.get(ENV, "auto").strip().lower()
    if v not in ("auto", "0", "1", "on", "off", "true", "false"):
        raise ValueError(f"{ENV}={v!r}: expected auto, 0 or 1")
    return v not in ("0", "off", "false")


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cpu_signature() -> bytes:
    """The host's instruction-set flags (the library is built for them: ``-march=native``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line.encode()
    except OSError:
        pass
    import platform
    return (platform.machine() + platform.processor()).encode()


def _library_path(cxx: str, source: Path) -> Path:
    import jaxlib
    try:
        version = subprocess.run([cxx, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        version = ""
    h = hashlib.sha256()
    for part in (source.read_bytes(), jaxlib.__version__.encode(), version.encode(),
                 " ".join(FLAGS).encode(), _cpu_signature()):
        h.update(part)
    return cache_dir() / f"spark_{source.stem}_{h.hexdigest()[:16]}.so"


def build_library(source: Path) -> Path:
    """The shared library of ``source`` (a C++ file of FFI handlers next to this one), built
    into ``cache_dir()`` unless it is there already; RuntimeError without a compiler or when
    the build fails."""
    cxx = _compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler found (set CXX, or install g++)")
    path = _library_path(cxx, source)
    if not path.exists():
        _build(cxx, path, source)
    return path


def _build(cxx: str, target: Path, source: Path) -> None:
    import jax.ffi
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        cmd = [cxx, *FLAGS, f"-I{jax.ffi.include_dir()}", str(source), "-o", tmp]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            raise RuntimeError(f"{Path(cxx).name} failed: {res.stderr.strip()[-800:]}")
        os.replace(tmp, target)   # atomic: another process building the same file is harmless
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load() -> None:
    import jax
    path = build_library(SOURCE)
    lib = ctypes.cdll.LoadLibrary(str(path))
    for kernel in KERNELS:
        for suffix in ("F32", "F64"):
            fn = getattr(lib, f"Spark{kernel}{suffix}")
            jax.ffi.register_ffi_target(f"spark_{kernel}_{suffix}", jax.ffi.pycapsule(fn),
                                        platform="cpu")
    _state["path"], _state["lib"] = path, lib


def available() -> bool:
    """Whether the native kernels are built and registered (building them on the first call);
    False with ``SPARK_NATIVE=0`` or when building failed (``status()`` says why)."""
    return load_once(_state, _load, "native kernels unavailable, using XLA loops")


def load_once(state: dict, load, warning: str) -> bool:
    """Whether ``load()`` succeeded, running it on the first call only (False with
    ``SPARK_NATIVE=0``); a failure (no compiler, no headers, a failed build) is logged once with
    ``warning`` and kept in ``state["why"]``."""
    if not wanted():
        return False
    with _lock:
        if "ok" not in state:
            try:
                load()
                state.update(ok=True, why="")
            except Exception as exc:
                state.update(ok=False, why=str(exc))
                _log.warning("%s: %s", warning, exc)
        return state["ok"]


def status() -> str:
    """One line: whether the native kernels are used, and why not."""
    if not wanted():
        return f"native kernels off ({ENV}=0): XLA loops"
    if available():
        return f"native kernels: {_state['path']}"
    return f"native kernels unavailable ({_state['why']}): XLA loops"


def _suffix(dtype) -> str:
    d = np.dtype(dtype)
    if d == np.float32:
        return "F32"
    if d == np.float64:
        return "F64"
    raise TypeError(f"native kernels support float32 and float64, not {d}")


def _call(kernel, out_shape, dtype, *args, aliases=None, **attrs):
    import jax
    return jax.ffi.ffi_call(f"spark_{kernel}_{_suffix(dtype)}",
                            jax.ShapeDtypeStruct(out_shape, dtype), vmap_method="sequential",
                            input_output_aliases=aliases)(*args, **attrs)


def _i32(x):
    import jax.numpy as jnp
    return jnp.asarray(x, jnp.int32)


def _segments(tables, spread: bool):
    """The delay segments (components.spike_history.delay_segments) of a projection whose
    synapses have their own delays; placeholders otherwise (the kernels visit whole rows)."""
    if spread:
        return _i32(tables["seg_perm"]), _i32(tables["seg_start"])
    return _i32(np.zeros((1, 1), np.int32)), _i32(np.zeros((1, 1), np.int32))


def propagate(words, targets, weights, n_out: int):
    """Sum of the target rows of the neurons set in ``words`` (components.projection
    ``event_propagate_words``): a vector of ``n_out``."""
    return _call("Propagate", (n_out,), weights.dtype, words, _i32(targets), weights)


def deliver_delayed(ring, t, d_min: int, tables, weights, n_out: int, spread: bool):
    """Weighted arrivals at step t of the spikes in ``ring`` (components.spike_history
    ``deliver``; ``tables`` holds targets, delays and sign)."""
    perm, start = _segments(tables, spread)
    return _call("DeliverDelayed", (n_out,), weights.dtype, ring, _i32(t),
                 _i32(tables["targets"]), perm, start,
                 tables["sign"].astype(weights.dtype), weights,
                 d_min=np.int64(d_min), spread=np.int64(bool(spread)))


def plastic_update(ring, t, W, c, y, r, x, sf, g, d_min: int, spread: bool):
    """The row and column passes of components.event_plasticity for one step: the new
    weights (same layout as ``W``)."""
    import jax.numpy as jnp
    f = W.dtype
    coef = jnp.stack([jnp.asarray(c[k], f) for k in ("alpha", "beta", "gamma", "delta",
                                                      "w_max")])
    perm, start = _segments(c, spread)
    args = (ring, _i32(t), W, _i32(c["targets"]), perm, start, _i32(c["kinds"]),
            _i32(c["tpre"]), _i32(c["tpost"]), y.astype(f), r.astype(f), x.astype(f),
            sf.astype(f), jnp.asarray(g, f), coef, _i32(c["col_pos"]), _i32(c["col_src"]),
            _i32(c["col_delay"]), _i32(c["col_kind"]), jnp.asarray(c["col_valid"], bool))
    return _call("PlasticUpdate", W.shape, f, *args, aliases={2: 0},
                 d_min=np.int64(d_min), spread=np.int64(bool(spread)))


LIF_PARAMS = ("v_rest", "v_reset", "v_th", "e_m", "k_syn", "e_syn")


def lif_step(state, inputs, p, open_inputs=frozenset()):
    """components.lif ``LIF.step`` in one call: (v, I_syn, since, spikes), the same values as
    the XLA expression. State is updated in place (its buffers alias the results); a parameter
    or input may be a scalar (shared by every neuron) or a vector of the pool's size. Under
    ``jax.vmap`` every argument is broadcast to the batch (the kernel reads strides). The
    inputs named in ``open_inputs`` (fed by nothing) go in as one zero, not a vector of zeros."""
    import jax
    import jax.numpy as jnp
    v = state["v"]
    f = v.dtype

    def vec(x, dtype=f):  # scalars as (1,): a batched scalar must not look like a vector
        x = jnp.asarray(x, dtype)
        return x.reshape(1) if x.ndim == 0 else x

    def given(name):
        return vec(0.0) if name in open_inputs else vec(inputs[name])

    args = (v, state["I_syn"], state["since"], given("current"), given("syn"), given("jump"),
            *(vec(p[k]) for k in LIF_PARAMS), vec(p["n_ref"], jnp.int32))
    n = v.shape
    out = (jax.ShapeDtypeStruct(n, f), jax.ShapeDtypeStruct(n, f),
           jax.ShapeDtypeStruct(n, jnp.int32), jax.ShapeDtypeStruct(n, f))
    return jax.ffi.ffi_call(f"spark_LifStep_{_suffix(f)}", out, vmap_method="broadcast_all",
                            input_output_aliases={0: 0, 1: 1, 2: 2})(*args)
