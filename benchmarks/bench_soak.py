"""Soak benchmark: the live app's memory over a long run at full speed with every monitor open.

For each graph (default: the cartpole example and the 7-pool network) a fresh process opens it
in the editor window (QT_QPA_PLATFORM=offscreen is fine), opens every monitor the graph offers
(``bench_live.open_monitors``: raster and rates of all pools, a membrane trace, the
neuromodulator, the environment, its episodes, plastic weights), runs as fast as possible for
``--minutes`` and samples the process's resident memory (VmRSS) every ``--every`` seconds, with
the simulated steps and the frames drawn so far. Then the parent writes

* ``OUT.csv``: every sample (graph, seconds, RSS MiB, steps, frames);
* ``OUT.png``: RSS over time, one curve per graph (drawn with pyqtgraph, white background);
* a Markdown table on stdout: RSS every ``--table-every`` minutes, and per graph the growth
  from the end of the first minute (warm-up: compiling, first frames) to the end, and the slope
  of a straight line fitted to the samples after the warm-up (MiB per hour).

Usage:  QT_QPA_PLATFORM=offscreen python benchmarks/bench_soak.py [GRAPH ...] [--minutes 30]
        [--every 10] [--out benchmarks/soak]
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
EXAMPLES = ROOT / "resources" / "examples"
DEFAULT = [EXAMPLES / "cartpole.json", EXAMPLES / "benchmark_7pools.json"]
WARMUP_S = 60.0


def rss_mib() -> float:
    """Resident memory of this process (Linux /proc; psutil is not needed)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def soak_one(path: str, minutes: float, every: float, out_csv: str) -> None:
    """In this process: run ``path`` live with every monitor for ``minutes``; write samples."""
    from PySide6.QtWidgets import QApplication

    from bench_live import make_window, open_monitors, pump

    app = QApplication.instance() or QApplication(["bench_soak"])
    try:
        from spark_snn.app.theme import apply_theme
        apply_theme(app)
    except Exception:
        pass
    win, ctl, _kind = make_window(path)
    ctl.popups = False
    ctl.confirm = lambda *a: False
    win.resize(1600, 1000)
    win.show()
    pump(app, 0.5)
    open_monitors(ctl, win)
    kinds = sorted(m.kind for m in ctl.monitors)
    print(f"{Path(path).name}: monitors {', '.join(kinds)}", flush=True)
    ctl.run()
    t0 = time.perf_counter()
    rows = []
    name = Path(path).stem
    end = t0 + minutes * 60.0
    next_sample = t0
    while True:
        now = time.perf_counter()
        if now >= next_sample:
            rows.append((name, round(now - t0, 1), round(rss_mib(), 1), ctl.t, ctl.frames_drawn))
            next_sample += every
            if len(rows) % 30 == 1:
                print(f"  {rows[-1][1]:7.0f} s  RSS {rows[-1][2]:8.1f} MiB  t = {ctl.t:,} "
                      f"steps  {ctl.frames_drawn:,} frames  state {ctl.state}", flush=True)
        if now >= end:
            break
        pump(app, min(1.0, max(0.01, next_sample - now)))
        if ctl.state == "error":
            raise SystemExit(f"the run failed: {ctl.last_error}")
    ctl.pause()
    pump(app, 30.0, lambda: ctl.state == "paused")
    ctl.shutdown()
    with open(out_csv, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["graph", "seconds", "rss_mib", "steps", "frames"])
        w.writerows(rows)


def plot(samples: dict, png: str) -> None:
    """RSS (MiB) against minutes, one curve per graph, saved as PNG (dark on white)."""
    import pyqtgraph as pg
    from pyqtgraph import exporters
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["bench_soak"])  # noqa: F841
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    view = pg.GraphicsLayoutWidget()
    view.resize(900, 450)
    p = view.addPlot()
    p.setLabel("bottom", "time", "min")
    p.setLabel("left", "resident memory", "MiB")
    p.getAxis("left").enableAutoSIPrefix(False)
    p.showGrid(x=True, y=True, alpha=0.25)
    legend = p.addLegend(offset=(10, 10))
    colours = [(30, 100, 200), (220, 100, 20), (40, 160, 60), (180, 40, 60)]
    top = 0.0
    for k, (name, rows) in enumerate(samples.items()):
        t = np.array([r[0] for r in rows]) / 60.0
        m = np.array([r[1] for r in rows])
        top = max(top, float(m.max()))
        c = p.plot(t, m, pen=pg.mkPen(colours[k % len(colours)], width=2))
        legend.addItem(c, name)
    p.setYRange(0, top * 1.15, padding=0)
    view.show()
    exp = exporters.ImageExporter(p)
    exp.parameters()["width"] = 900
    exp.export(png)


def summarise(samples: dict, table_every_min: float) -> str:
    lines = []
    names = list(samples)
    lines.append("| minute | " + " | ".join(f"{n} RSS (MiB)" for n in names) + " |")
    lines.append("|---|" + "---|" * len(names))
    longest = max(max(r[0] for r in rows) for rows in samples.values())
    marks = np.arange(0.0, longest / 60.0 + 1e-9, table_every_min)
    for mk in marks:
        cells = []
        for n in names:
            rows = samples[n]
            near = min(rows, key=lambda r: abs(r[0] - mk * 60.0))
            cells.append(f"{near[1]:,.1f}" if abs(near[0] - mk * 60.0) <= 30 else "")
        lines.append(f"| {mk:g} | " + " | ".join(cells) + " |")
    lines.append("")
    for n, rows in samples.items():
        t = np.array([r[0] for r in rows])
        m = np.array([r[1] for r in rows])
        after = t >= WARMUP_S
        slope = np.polyfit(t[after] / 3600.0, m[after], 1)[0] if after.sum() > 2 else float("nan")
        first = m[after][0] if after.any() else float("nan")
        steps, frames = rows[-1][2], rows[-1][3]
        lines.append(f"{n}: {t[-1] / 60.0:.1f} min, {steps:,} steps ({steps / t[-1]:,.0f}/s), "
                     f"{frames:,} frames drawn; RSS {m[0]:,.1f} MiB at the start, "
                     f"{first:,.1f} after the first minute, {m[-1]:,.1f} at the end "
                     f"(max {m.max():,.1f}); after the first minute {m[-1] - first:+.1f} MiB, "
                     f"fitted slope {slope:+.1f} MiB/hour")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("graphs", nargs="*", default=[str(p) for p in DEFAULT])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--table-every", type=float, default=2.0, help="minutes between table rows")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "soak"))
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)   # child process: one graph
    ap.add_argument("--csv", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        soak_one(args.one, args.minutes, args.every, args.csv)
        return 0
    load0 = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M")
    samples: dict[str, list] = {}
    for g in args.graphs:
        part = f"{args.out}.{Path(g).stem}.part.csv"
        subprocess.run([sys.executable, __file__, "--one", str(g), "--csv", part,
                        "--minutes", str(args.minutes), "--every", str(args.every)], check=True)
        with open(part) as fh:
            rows = list(csv.DictReader(fh))
        samples[Path(g).stem] = [(float(r["seconds"]), float(r["rss_mib"]), int(r["steps"]),
                                  int(r["frames"])) for r in rows]
        os.unlink(part)
    with open(f"{args.out}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["graph", "seconds", "rss_mib", "steps", "frames"])
        for name, rows in samples.items():
            for r in rows:
                w.writerow([name, *r])
    plot(samples, f"{args.out}.png")
    load1 = os.getloadavg()
    print(f"\nSoak benchmark, started {started}: {args.minutes:g} min per graph, a sample every "
          f"{args.every:g} s; machine {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}; load average "
          f"{load0[0]:.2f} at the start, {load1[0]:.2f} at the end\n")
    print(summarise(samples, args.table_every))
    print(f"\nsamples: {args.out}.csv; plot: {args.out}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
