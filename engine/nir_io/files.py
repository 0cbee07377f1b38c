"""Reading and writing NIR files (HDF5, through the ``nir`` package), with errors that name the
file and the node: a file that is not HDF5, lacks the graph, or holds a node that ``nir`` cannot
build (a missing field, parameters of different shapes) raises NIRError. The structure and the
values (edges to unknown nodes, shapes that do not fit, NaN) are checked by ``from_nir``."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import NIRError, require_nir


def _text(x) -> str:
    return x.decode("utf8", "replace") if isinstance(x, bytes) else str(x)


def _read_graph(group, name: str, source: str):
    nir = require_nir()
    from nir.serialization import read_node

    where = f"graph '{name}'" if name else "the top graph"
    if "type" not in group or _text(group["type"][()]) != "NIRGraph":
        raise NIRError(f"{source}: {where} is not a NIRGraph")
    if "nodes" not in group:
        raise NIRError(f"{source}: {where} has no nodes")
    if "edges" not in group:
        raise NIRError(f"{source}: {where} has no edges")
    nodes = {}
    for key, sub in group["nodes"].items():
        full = f"{name}.{key}" if name else key
        try:
            kind = _text(sub["type"][()])
        except Exception:
            raise NIRError(f"{source}: node '{full}' has no type") from None
        if kind == "NIRGraph":
            nodes[key] = _read_graph(sub, full, source)
            continue
        try:
            nodes[key] = read_node(sub)
        except Exception as exc:
            why = str(exc) or type(exc).__name__
            if isinstance(exc, KeyError):
                why = f"a field is missing ({why})"
            raise NIRError(f"{source}: node '{full}' ({kind}): cannot be read: {why}") from None
    raw = group["edges"][()]
    edges = []
    try:
        for pair in raw:
            a, b = pair
            edges.append((_text(a), _text(b)))
    except (TypeError, ValueError):
        raise NIRError(f"{source}: {where}: the edges are not pairs of node names") from None
    meta = {}
    if "metadata" in group:
        meta = {k: (_text(v[()]) if isinstance(v[()], bytes) else v[()])
                for k, v in group["metadata"].items() if hasattr(v, "shape")}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False)


def read_nir(path):
    """The NIRGraph stored in ``path`` (not type-checked by ``nir``: ``from_nir`` checks it and
    names the node at fault), or NIRError."""
    require_nir()
    import h5py

    source = str(path)
    p = Path(path)
    if not p.is_file():
        raise NIRError(f"{source}: no such file")
    if not h5py.is_hdf5(p):
        raise NIRError(f"{source}: not a NIR file (NIR files are HDF5; this one is not)")
    try:
        with h5py.File(p, "r") as f:
            if "node" not in f:
                raise NIRError(f"{source}: not a NIR file (HDF5 without a 'node' graph)")
            return _read_graph(f["node"], "", source)
    except OSError as exc:
        raise NIRError(f"{source}: cannot read: {exc}") from None


def write_nir(path, graph) -> None:
    """Write ``graph`` (a NIRGraph) to ``path`` atomically (a temporary file in the same folder
    replaces the target)."""
    nir = require_nir()
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        nir.write(tmp, graph)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m
