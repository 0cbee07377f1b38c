"""How much memory a network will need, estimated before anything is allocated, and how much
the machine has.

``estimate(analysis)`` adds up every node's ``Component.memory`` (its synapses, state and delay
buffers, from its parameters and resolved sizes alone: nothing is drawn or allocated) and, for a
run, what recording needs (``steps`` x the recorded ports). ``available()`` is what this process
may still allocate: the system's MemAvailable, the cgroup's limit less its usage, and the
address-space limit (RLIMIT_AS) less the address space in use, whichever is least. ``problems``
turns an estimate larger than that into a Problem naming the largest nodes, which validation
(``engine.analyze``), every compile and ``Simulation.advance`` (for recordings) report, so a
network too large for the machine is refused in a fraction of a second instead of running the
machine out of memory.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .problems import Problem
from .registry import registry

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None

KINDS = ("synapses", "state", "delay buffers", "recordings")


@dataclass
class Estimate:
    """Estimated bytes: ``parts`` by kind (KINDS), ``nodes`` by node (largest first)."""

    parts: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def text(self) -> str:
        """'2.1 GiB (synapses 2.0 GiB, state 80.0 MiB)'."""
        parts = ", ".join(f"{k} {size_text(v)}" for k, v in self.parts.items() if v)
        return f"{size_text(self.total)}" + (f" ({parts})" if parts else "")


def size_text(n: float) -> str:
    """Bytes for people: 512 bytes, 3.2 MiB, 14.6 GiB, 2.0e+05 TiB."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            v = n / scale
            return f"{v:.1f} {unit}" if v < 1e5 else f"{v:.1e} {unit}"
    return f"{int(n)} bytes"


def estimate(analysis, graph=None, dtype: str | None = None, record=(), steps: int = 0
             ) -> Estimate:
    """The estimate for the nodes of ``analysis`` (engine.analyze's result: the flattened
    graph's nodes when there are composites). ``dtype`` defaults to the graph's setting;
    ``record`` ("node.port" names) and ``steps`` add the recorded arrays of a run of that many
    steps. Nodes that could not be checked count nothing."""
    if dtype is None:
        settings = graph.settings if graph is not None else {}
        dtype = settings.get("dtype", "float32")
    # only the two model dtypes count; anything else in a (broken) file is reported by the
    # settings check, and np.dtype must never see it (a dict there raises ValueError)
    itemsize = 8 if dtype == "float64" else 4
    flat = analysis.flat.graph if getattr(analysis, "flat", None) is not None else graph
    reg = registry()
    est = Estimate({k: 0 for k in KINDS}, {})
    for nid, info in analysis.nodes.items():
        node = flat.nodes.get(nid) if flat is not None else None
        if node is None or node.type not in reg:
            continue
        try:
            parts = reg.get(node.type).memory(info.config, info.sizes, itemsize)
        except Exception:  # a component's own estimate failing must not stop validation
            continue
        for k, v in parts.items():
            est.parts[k] = est.parts.get(k, 0) + int(v)
        est.nodes[nid] = sum(int(v) for v in parts.values())
    for name in record:
        nid, _, port = str(name).rpartition(".")
        info = analysis.nodes.get(nid)
        p = None if info is None else (info.outputs.get(port) or info.inputs.get(port))
        if p is None:
            continue
        n = info.port_size(p) or 0
        each = 1 if p.kind == "spikes" else itemsize
        # the chunks' arrays and their joining at the end: twice the recording
        b = 2 * int(steps) * int(n) * each
        est.parts["recordings"] += b
        est.nodes[nid] = est.nodes.get(nid, 0) + b
    est.nodes = dict(sorted(est.nodes.items(), key=lambda kv: -kv[1]))
    return est


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _proc_status(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def available() -> tuple[int | None, str]:
    """(bytes this process may still allocate, what limits it), or (None, "") where the system
    does not say (then nothing is refused)."""
    found: list[tuple[int, str]] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found.append((int(line.split()[1]) * 1024, "the system's available memory"))
    except (OSError, ValueError, IndexError):
        pass
    limit = _read_int("/sys/fs/cgroup/memory.max")
    usage = _read_int("/sys/fs/cgroup/memory.current")
    if limit is not None and usage is not None:
        found.append((max(limit - usage, 0), "the memory limit of this process's cgroup"))
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS) if resource else (-1, -1)
    if resource and soft != resource.RLIM_INFINITY:
        used = _proc_status("VmSize") or 0
        found.append((max(soft - used, 0), "the address-space limit (ulimit -v)"))
    if not found:
        return None, ""
    return min(found)


# below this an estimate is never refused (the machine's figures are too coarse for it)
NEGLIGIBLE = 64 * 2**20


def problems(est: Estimate, what: str = "this network") -> list[Problem]:
    """A Problem when ``est`` is more than this process can allocate (none otherwise), naming
    the largest nodes (``SPARK_MEMORY_CHECK=0`` turns the check off)."""
    if os.environ.get("SPARK_MEMORY_CHECK", "1") == "0" or est.total <= NEGLIGIBLE:
        return []
    avail, why = available()
    if avail is None or est.total <= avail:
        return []
    top = list(est.nodes.items())[:3]
    largest = ", ".join(f"'{nid}' {size_text(b)}" for nid, b in top if b)
    node = top[0][0] if top else None
    return [Problem(
        f"{what} needs about {est.text()} of memory, more than the {size_text(avail)} this "
        f"process can still allocate ({why}); largest: {largest}. Make it smaller (sizes, connection "
        "probability, delays, recorded steps) or run it on a larger machine", node=node)]
