"""Where a new node (or a pasted group of nodes) goes: the free place nearest to where it was
asked for, so that it never covers another node or its ports.

Rectangles are ``(x, y, width, height)`` tuples in canvas (scene) coordinates. ``free_spot``
searches outwards from the wished-for top-left corner, ring by ring on a grid, for the corner
at which the rectangle keeps ``GAP`` from every occupied one and which is nearest by ``cost``
(moving right is cheaper than moving left, up or down). No Qt here.
"""
from __future__ import annotations

import math

GAP = 30.0        # clear space kept around every node (its ports stick out ~18 px)
STEP = 20.0       # search grid
MAX_RINGS = 400   # 8,000 scene units in every direction
DETOUR = 4.0      # moving left, up or down counts this much more than moving right

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


def cost(dx: float, dy: float) -> float:
    """How far a node moved by (dx, dy) from where it was wished is felt to be: moving right
    (downstream, the way graphs are read) costs its distance, moving left, up or down
    ``DETOUR`` times that, so repeated adds line up from left to right."""
    return math.hypot(dx if dx >= 0 else DETOUR * dx, DETOUR * dy)


def free_spot(occupied, size, wish, gap: float = GAP, step: float = STEP) -> tuple[float, float]:
    """The top-left corner of least ``cost`` from ``wish`` (on the search grid) where a
    ``size`` (w, h) rectangle clears every rectangle in ``occupied`` by ``gap``. ``wish``
    itself when it is free."""
    w, h = size
    wx, wy = wish
    rects = [tuple(map(float, r)) for r in occupied]

    def free(x, y):
        return not any(overlaps((x, y, w, h), r, gap) for r in rects)

    if free(wx, wy):
        return float(wx), float(wy)
    best = None
    for ring in range(1, MAX_RINGS + 1):
        if best is not None and ring * step > best[0]:
            break  # every point further out costs more than the best found
        # the grid points on the square ring at this distance
        pts = [(i, j) for i in range(-ring, ring + 1) for j in (-ring, ring)]
        pts += [(i, j) for j in range(-ring + 1, ring) for i in (-ring, ring)]
        for i, j in pts:
            x, y = wx + i * step, wy + j * step
            key = (cost(i * step, j * step), -i, j)
            if (best is None or key < best) and free(x, y):
                best = key
    if best is None:
        return float(wx), float(wy)  # nowhere free within reach (never happens in practice)
    return float(wx - best[1] * step), float(wy + best[2] * step)


def bounding(rects):
    """The rectangle around ``rects`` (at least one)."""
    x0 = min(r[0] for r in rects)
    y0 = min(r[1] for r in rects)
    x1 = max(r[0] + r[2] for r in rects)
    y1 = max(r[1] + r[3] for r in rects)
    return x0, y0, x1 - x0, y1 - y0
