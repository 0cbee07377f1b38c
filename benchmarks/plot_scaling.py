"""The scaling curve of ``bench_scaling.py`` as an SVG (no plotting library needed).

    python benchmarks/plot_scaling.py RESULTS.txt OUT.svg

RESULTS.txt is what ``bench_scaling.py`` printed (its markdown table rows are read). The plot
shows steps per second against the number of neurons on log-log axes for Spark and Brian2 C++
standalone, the ratio at each size, and a dotted line of slope -1 through Spark's smallest size:
the cost of a step growing in proportion to the network (spikes x fan-out), no faster.
"""
from __future__ import annotations

import math
import sys

W, H = 640, 420
LEFT, RIGHT, TOP, BOTTOM = 80, 20, 40, 60
COLORS = {"Spark": "#d9480f", "Brian2 C++ standalone": "#1c7ed6"}


def parse(text: str) -> list[tuple[int, float, float]]:
    """(neurons, Spark steps/s, Brian2 steps/s) of each table row with both figures."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 13 or not cells[0].replace(",", "").isdigit():
            continue
        try:
            rows.append((int(cells[0].replace(",", "")), float(cells[5].replace(",", "")),
                         float(cells[9].replace(",", ""))))
        except ValueError:
            continue  # a size Brian2 did not run ("-")
    return rows


def _label(e: int) -> str:
    """10**e as a short label: 1, 10, 100, 1k, 10k, 100k, 1M, ..."""
    for k, unit in ((9, "G"), (6, "M"), (3, "k")):
        if e >= k:
            return f"{10 ** (e - k)}{unit}"
    return str(10 ** e)


def _ticks(lo: float, hi: float) -> list[int]:
    return list(range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1))


def svg(rows, title: str = "One recurrent LIF network, 100 synapses per neuron, one core") -> str:
    xs = [r[0] for r in rows]
    ys = [v for r in rows for v in r[1:]]
    ex, ey = _ticks(min(xs), max(xs)), _ticks(min(ys), max(ys))

    def px(n):
        return LEFT + (math.log10(n) - ex[0]) / (ex[-1] - ex[0]) * (W - LEFT - RIGHT)

    def py(v):
        return H - BOTTOM - (math.log10(v) - ey[0]) / (ey[-1] - ey[0]) * (H - TOP - BOTTOM)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>']
    for e in ex:
        x = px(10 ** e)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{H - BOTTOM}" '
                   'stroke="#e9ecef"/>')
        out.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 18}" text-anchor="middle">'
                   f'{_label(e)}</text>')
    for e in ey:
        y = py(10 ** e)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" '
                   'stroke="#e9ecef"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{_label(e)}</text>')
    out.append(f'<text x="{W / 2}" y="{H - 18}" text-anchor="middle">neurons</text>')
    out.append(f'<text x="18" y="{H / 2}" text-anchor="middle" '
               f'transform="rotate(-90 18 {H / 2})">steps per second</text>')
    n0, s0 = rows[0][0], rows[0][1]
    n1 = rows[-1][0]
    out.append(f'<line x1="{px(n0):.1f}" y1="{py(s0):.1f}" x2="{px(n1):.1f}" '
               f'y2="{py(s0 * n0 / n1):.1f}" stroke="#868e96" stroke-dasharray="2,4"/>')
    for k, (name, color) in enumerate(COLORS.items()):
        pts = [(px(r[0]), py(r[1 + k])) for r in rows]
        out.append('<polyline fill="none" stroke-width="2" stroke="{}" points="{}"/>'.format(
            color, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"/>' for x, y in pts]
        ly = TOP + 16 + 18 * k
        out.append(f'<line x1="{W - 250}" y1="{ly - 4}" x2="{W - 225}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{W - 218}" y="{ly}">{name}</text>')
    out.append(f'<text x="{W - 218}" y="{TOP + 52}" fill="#868e96">slope -1 (cost in '
               'proportion to N)</text>')
    for n, s, b in rows:
        out.append(f'<text x="{px(n) + (8 if n == rows[0][0] else 0):.1f}" '
                   f'y="{min(py(s), py(b)) - 10:.1f}" text-anchor="middle" fill="#d9480f">{s / b:.2f}\u00d7</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    rows = parse(open(argv[0]).read())
    if not rows:
        print(f"{argv[0]}: no rows with both Spark and Brian2 figures", file=sys.stderr)
        return 1
    with open(argv[1], "w") as fh:
        fh.write(svg(rows))
    print(f"wrote {argv[1]} ({len(rows)} sizes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
