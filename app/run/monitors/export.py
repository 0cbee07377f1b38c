"""Exporting a monitor's plots as PNG or SVG: what the panel shows, on white, readable in print.

Both formats are drawn the same way: the panel's plots are switched to a light style for the
moment of the export (white background, dark axes, labels and legend text, a light raster
background), written, and switched back. PNG goes through pyqtgraph's ImageExporter. SVG is
rendered with Qt's QSvgGenerator at the screen's resolution (at its default 72 dpi the text and
axes come out at 3/4 of the data's scale), then every group that Qt wrote with a coordinate
transform is flattened (the transform applied to the points), so strokes keep their width in
every SVG viewer and a white background is added. (pyqtgraph's own SVGExporter cannot parse the
path syntax of Qt 6.12.)
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from contextlib import contextmanager

import pyqtgraph as pg
from pyqtgraph import exporters
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter

INK = (30, 30, 30)           # axes, ticks, labels and legend text in exports
PAPER = (255, 255, 255)
SVG_NS = "http://www.w3.org/2000/svg"


@contextmanager
def light_style(view: pg.GraphicsLayoutWidget):
    """Temporarily draw ``view``'s plots dark on white (restored afterwards)."""
    undo = []
    old_bg = view.backgroundBrush()
    view.setBackground(PAPER)
    undo.append(lambda: view.setBackgroundBrush(old_bg))
    for item in view.scene().items():
        if isinstance(item, pg.AxisItem):
            pen, text = item.pen(), item.textPen()
            item.setPen(pg.mkPen(INK))
            item.setTextPen(pg.mkPen(INK))
            undo.append(lambda i=item, p=pen, t=text: (i.setPen(p), i.setTextPen(t)))
        elif isinstance(item, pg.LegendItem):
            for _sample, label in item.items:
                old = label.opts.get("color")
                label.setText(label.text, color=INK)
                undo.append(lambda lb=label, o=old: lb.setText(lb.text, color=o))
        elif isinstance(item, pg.ImageItem) and getattr(item, "paper_lut", None) is not None:
            lut = item.lut
            item.setLookupTable(item.paper_lut)
            undo.append(lambda i=item, lt=lut: i.setLookupTable(lt))
    try:
        yield
    finally:
        for fn in reversed(undo):
            fn()


def export_view(view: pg.GraphicsLayoutWidget, path: str, width: int = 1200) -> str:
    """Write ``view``'s plots to ``path`` (.png or .svg; another suffix gets .png); return it."""
    path = str(path)
    item = view.ci
    with light_style(view):
        if path.lower().endswith(".svg"):
            write_svg(item, path, view.logicalDpiX())
            return path
        if not path.lower().endswith(".png"):
            path += ".png"
        exp = exporters.ImageExporter(item)
        exp.parameters()["width"] = int(width)
        exp.parameters()["background"] = QColor(*PAPER)
        exp.export(path)
    return path


def write_svg(item, path: str, dpi: int = 96) -> None:
    """Render ``item``'s scene area to an SVG file, then flatten its transforms."""
    from PySide6.QtSvg import QSvgGenerator

    rect = item.sceneBoundingRect()
    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setResolution(int(dpi))
    gen.setSize(rect.size().toSize())
    gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    gen.setTitle("Spark monitor")
    painter = QPainter(gen)
    try:
        painter.fillRect(QRectF(0, 0, rect.width(), rect.height()), QColor(*PAPER))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        item.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect,
                            Qt.AspectRatioMode.IgnoreAspectRatio)
    finally:
        painter.end()
    flatten_svg(path)


_MATRIX = re.compile(r"matrix\(([^)]*)\)")
_TOKEN = re.compile(r"[MLCQZmlcqz]|-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _apply(m, x, y):
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _map_points(text: str, m) -> str:
    nums = [float(v) for v in re.findall(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", text)]
    pts = [_apply(m, nums[i], nums[i + 1]) for i in range(0, len(nums) - 1, 2)]
    return " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in pts)


def _map_path(d: str, m) -> str | None:
    out, nums = [], []
    for tok in _TOKEN.findall(d):
        if tok.isalpha():
            if tok.islower():
                return None   # relative commands: leave this path as Qt wrote it
            if nums:
                return None
            out.append(tok)
        else:
            nums.append(float(tok))
            if len(nums) == 2:
                x, y = _apply(m, *nums)
                out.append(f"{_fmt(x)},{_fmt(y)}")
                nums = []
    return " ".join(out)


def flatten_svg(path: str) -> None:
    """Apply each group's ``transform="matrix(...)"`` to the polylines and paths it holds and
    drop the transform, so that strokes are not scaled (Qt writes data curves in data
    coordinates under a scaling transform and relies on ``non-scaling-stroke``, which many
    viewers ignore). Groups with text or images keep their transform."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    tree = ET.parse(path)
    for g in tree.getroot().iter(f"{{{SVG_NS}}}g"):
        mt = _MATRIX.fullmatch(g.get("transform", "").strip())
        if mt is None:
            continue
        kids = list(g)
        if not kids or any(k.tag not in (f"{{{SVG_NS}}}polyline", f"{{{SVG_NS}}}path")
                           for k in kids):
            continue
        m = [float(v) for v in re.split(r"[ ,]+", mt.group(1).strip())]
        mapped = []
        for k in kids:
            if k.tag.endswith("polyline"):
                mapped.append((k, "points", _map_points(k.get("points", ""), m)))
            else:
                d = _map_path(k.get("d", ""), m)
                if d is None:
                    break
                mapped.append((k, "d", d))
        else:
            for k, attr, value in mapped:
                k.set(attr, value)
                k.attrib.pop("vector-effect", None)
            del g.attrib["transform"]
            _join_polylines(g)
    tree.write(path, encoding="UTF-8", xml_declaration=True)


def _join_polylines(g) -> None:
    """Qt writes a curve as one two-point polyline per segment: join runs of polylines that
    continue each other into one (a far smaller file, drawn the same)."""
    prev = None
    for k in list(g):
        if not k.tag.endswith("polyline"):
            prev = None
            continue
        pts = k.get("points", "").split()
        if prev is not None and pts and prev[1] == pts[0] and \
                dict(k.attrib, points="") == dict(prev[0].attrib, points=""):
            prev[0].set("points", prev[0].get("points") + " " + " ".join(pts[1:]))
            prev = (prev[0], pts[-1])
            g.remove(k)
        elif pts:
            prev = (k, pts[-1])
