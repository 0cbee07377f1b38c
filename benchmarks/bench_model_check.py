"""How long the model editor's check of a text takes (engine.equations.check_model, uncached).

The editor checks the text on the GUI thread after each pause in typing; this measures that
check for every shipped model text and for a long text near the language's limits (100
parameters, 100 variables, 100 equations: 300 lines). Median of --repeats runs, the texts
alternating within each round. Usage: .venv/bin/python benchmarks/bench_model_check.py
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spark_snn.engine.equations import LIBRARY, check_model  # noqa: E402
from spark_snn.engine.equations.check import _check_cached  # noqa: E402  (to time uncached checks)

KIND = {"stdp": "plasticity", "three_factor": "plasticity", "exp_synapse": "synapse"}


def long_text(n: int = 100) -> str:
    lines = [f"param tau{i} = {10 + i} ms in (0, inf)   # time constant {i}" for i in range(n)]
    lines += [f"state x{i} = {i} mV" for i in range(n)]
    lines += [f"dx{i}/dt = (x{(i + 1) % n} - x{i}) / tau{i}" for i in range(n)]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args()
    texts = {k: (t, KIND.get(k, "neuron")) for k, t in LIBRARY.items()}
    texts["long (300 lines)"] = (long_text(), "neuron")
    for text, kind in texts.values():
        assert not check_model(text, kind).errors
    times = {k: [] for k in texts}
    for _ in range(args.repeats):
        for k, (text, kind) in texts.items():
            _check_cached.cache_clear()
            t0 = time.perf_counter()
            check_model(text, kind)
            times[k].append(time.perf_counter() - t0)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    print(f"{platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'text':<18} {'lines':>5} {'median ms':>9} {'max ms':>8}")
    for k, (text, _kind) in texts.items():
        print(f"{k:<18} {text.count(chr(10)):>5} {statistics.median(times[k]) * 1e3:>9.2f} "
              f"{max(times[k]) * 1e3:>8.2f}")


if __name__ == "__main__":
    main()
