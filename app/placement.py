"""Where a new node (or a pasted group of nodes) goes: the free place nearest to where it was
asked for, so that it never covers another node or its ports.

Rectangles are ``(x, y, width, height)`` tuples in canvas (scene) coordinates. ``free_spot``
searches outwards from the wished-for top-left corner, ring by ring on a grid, and returns the
first corner at which the rectangle keeps ``GAP`` from every occupied one. No Qt here.
"""
from __future__ import annotations

import math

GAP = 30.0        # clear space kept around every node (its ports stick out ~18 px)
STEP = 20.0       # search grid
MAX_RINGS = 400   # 8,000 scene units in every direction

# drawn node geometry (NodeGraphQt 0.6, measured: width 160+, 60 px tall for one row of ports,
# 26 + 23.1 px per row for more), plus the type caption above the node and the problem marker / rate badge below it
NODE_WIDTH = 200.0
ROW_HEIGHT = 23.1
EXTRA_HEIGHT = 30.0
BODY_OFFSET = (20.0, 15.0)  # a node's position (its body's corner) inside its footprint


def node_size(n_inputs: int, n_outputs: int) -> tuple[float, float]:
    """The space a drawn node takes (ports, caption and marker included), a little generous."""
    rows = max(1, n_inputs, n_outputs)
    return NODE_WIDTH, max(60.0, 26.0 + ROW_HEIGHT * rows) + EXTRA_HEIGHT


def overlaps(a, b, gap: float = 0.0) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return (ax < bx + bw + gap and bx < ax + aw + gap
            and ay < by + bh + gap and by < ay + ah + gap)


def free_spot(occupied, size, wish, gap: float = GAP, step: float = STEP) -> tuple[float, float]:
    """A top-left corner near ``wish`` (the nearest on the search grid, ring by ring) where a ``size`` (w, h) rectangle clears every
    rectangle in ``occupied`` by ``gap``. ``wish`` itself when it is free."""
    w, h = size
    wx, wy = wish
    rects = [tuple(map(float, r)) for r in occupied]

    def free(x, y):
        return not any(overlaps((x, y, w, h), r, gap) for r in rects)

    if free(wx, wy):
        return float(wx), float(wy)
    for ring in range(1, MAX_RINGS + 1):
        # the grid points on the square ring at this distance, nearest (Euclidean) first
        pts = [(i, j) for i in range(-ring, ring + 1) for j in (-ring, ring)]
        pts += [(i, j) for j in range(-ring + 1, ring) for i in (-ring, ring)]
        pts.sort(key=lambda p: (math.hypot(*p), p[1], p[0]))
        for i, j in pts:
            x, y = wx + i * step, wy + j * step
            if free(x, y):
                return float(x), float(y)
    return float(wx), float(wy)  # nowhere free within reach: the wish (never happens in practice)


def bounding(rects):
    """The rectangle around ``rects`` (at least one)."""
    x0 = min(r[0] for r in rects)
    y0 = min(r[1] for r in rects)
    x1 = max(r[0] + r[2] for r in rects)
    y1 = max(r[1] + r[3] for r in rects)
    return x0, y0, x1 - x0, y1 - y0
