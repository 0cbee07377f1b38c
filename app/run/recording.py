"""Recording chosen ports of a run to disk (.npz, plus population rates as CSV for spike ports).

The recorder allocates its arrays up front (steps x size x itemsize each), so the memory it will
use is known, and shown, before the run starts; it fills them chunk by chunk in the worker thread
and writes the files once the requested number of steps is in.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class RecordingPlan:
    """What to record: "node.port" names, how many steps, where to, and the CSV rate bin."""

    ports: tuple[str, ...]
    n_steps: int
    path: str
    rate_bin_ms: float = 1.0
    sizes: dict = field(default_factory=dict)      # port -> size
    spikes: tuple[str, ...] = ()                   # which of the ports are spike ports

    def renamed(self, old: str, new: str) -> "RecordingPlan":
        """The same plan after node ``old`` was renamed ``new``."""
        def fix(port):
            n, _, p = port.rpartition(".")
            return f"{new}.{p}" if n == old else port
        return RecordingPlan(tuple(fix(p) for p in self.ports), self.n_steps, self.path,
                             self.rate_bin_ms, {fix(p): s for p, s in self.sizes.items()},
                             tuple(fix(p) for p in self.spikes))


class DiskRecorder:
    """Collects ``plan.n_steps`` steps of ``plan.ports`` starting at step ``t_start``."""

    def __init__(self, plan: RecordingPlan, dt: float, float_dtype, t_start: int):
        self.plan, self.dt, self.t_start = plan, float(dt), int(t_start)
        n = int(plan.n_steps)
        self.arrays = {p: np.zeros((n, plan.sizes[p]),
                                   bool if p in plan.spikes else float_dtype)
                       for p in plan.ports}
        self.filled = 0

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())

    @property
    def done(self) -> bool:
        return self.filled >= self.plan.n_steps

    def add(self, recs: dict) -> None:
        """Append one chunk of recorded arrays (as returned by Simulation.advance)."""
        if self.done:
            return
        first = next(iter(recs.values())) if recs else None
        n = 0 if first is None else first.shape[0]
        take = min(n, self.plan.n_steps - self.filled)
        for p, arr in self.arrays.items():
            arr[self.filled:self.filled + take] = recs[p][:take]
        self.filled += take

    def save(self) -> list[str]:
        """Write the .npz (and the rates .csv when spike ports were recorded); return the paths."""
        path = Path(self.plan.path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        n = self.filled
        out = {p.replace(".", "__"): a[:n] for p, a in self.arrays.items()}
        out["time_ms"] = (self.t_start + np.arange(n)) * self.dt
        out["ports"] = np.array(list(self.arrays))
        np.savez_compressed(path, **out)
        written = [str(path)]
        spikes = [p for p in self.arrays if p in self.plan.spikes]
        if spikes:
            csv_path = path.with_suffix(".rates.csv")
            write_rates_csv(csv_path, {p: self.arrays[p][:n] for p in spikes}, self.dt,
                            self.t_start, self.plan.rate_bin_ms)
            written.append(str(csv_path))
        return written


def binned_rates(spikes: np.ndarray, dt: float, bin_steps: int) -> np.ndarray:
    """Population rate (Hz) per bin of ``bin_steps`` steps of a (steps, size) spike array."""
    n, size = spikes.shape
    nb = n // bin_steps
    if nb == 0 or size == 0:
        return np.zeros(0)
    counts = spikes[:nb * bin_steps].reshape(nb, bin_steps, size).sum(axis=(1, 2))
    return counts / (size * bin_steps * dt / 1000.0)


def write_rates_csv(path, spikes: dict, dt: float, t_start: int, bin_ms: float) -> None:
    """CSV with a column time_ms (bin start) and one rate column (Hz) per spike port."""
    bin_steps = max(1, int(round(bin_ms / dt)))
    cols = {p: binned_rates(a, dt, bin_steps) for p, a in spikes.items()}
    nb = min((c.size for c in cols.values()), default=0)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time_ms"] + [f"{p}_hz" for p in cols])
        for b in range(nb):
            w.writerow([f"{(t_start + b * bin_steps) * dt:g}"] + [f"{cols[p][b]:.6g}" for p in cols])
