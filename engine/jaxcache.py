"""JAX's persistent compilation cache for Spark: compiled programs are kept on disk, so opening
a graph that was run before (or that differs only in live parameter values) skips XLA's
compilation. Set up at ``from spark_snn import engine``, before anything is compiled.

* Where: ``SPARK_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/spark/jax``, else
  ``~/.cache/spark/jax``. A user who configured JAX's own cache (``JAX_COMPILATION_CACHE_DIR``)
  keeps theirs, and ``SPARK_JAX_CACHE=0`` turns the cache off.
* What: every program, however quick to compile (JAX's default keeps only those over a second,
  which is none of a typical graph's). At import the folder is trimmed to ``MAX_BYTES``, the
  files least recently used going first (a graph's programs take tens to hundreds of KB).
* Safe: the key is the program itself (its HLO, shapes, dtypes, JAX and XLA versions, backend),
  so a cached program is exactly what compiling would give: results do not change
  (tests/test_jax_cache.py compares spikes with and without it). XLA:CPU checks on loading that
  the machine has the instruction set the program was compiled for and recompiles otherwise, so
  a cache shared between different machines is safe too. A folder that cannot be written only
  costs the speed-up.
"""
from __future__ import annotations

import os
from pathlib import Path

MAX_BYTES = 512 * 2**20


def cache_dir() -> Path | None:
    """The folder Spark's compilation cache uses, or None when it is off (or JAX's own is set)."""
    if os.environ.get("SPARK_JAX_CACHE", "1") == "0" or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return None
    if os.environ.get("SPARK_CACHE_DIR"):
        return Path(os.environ["SPARK_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spark" / "jax"


def configure(jax) -> Path | None:
    """Point JAX's persistent cache at ``cache_dir()``; returns the folder (None: left alone)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None   # no cache, no harm: everything is compiled as without one
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    trim(folder, MAX_BYTES)
    return folder


def trim(folder: Path, limit: int) -> int:
    """Delete the least recently used files of ``folder`` until it holds at most ``limit``
    bytes; returns the bytes deleted. Files that vanish or cannot be deleted are passed over
    (another Spark process may be trimming too)."""
    files = []
    for f in folder.iterdir():
        try:
            st = f.stat()
        except OSError:
            continue
        if f.is_file():
            files.append((max(st.st_atime, st.st_mtime), st.st_size, f))
    total = sum(size for _, size, _ in files)
    freed = 0
    for _, size, f in sorted(files, key=lambda x: x[0]):
        if total - freed <= limit:
            break
        try:
            f.unlink()
            freed += size
        except OSError:
            continue
    return freed
