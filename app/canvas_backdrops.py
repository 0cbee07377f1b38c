"""The backdrops of the canvas: titled frames drawn from the graph's ``meta.backdrops``.

``Backdrops.sync(specs)`` makes the drawn NodeGraphQt backdrops match the list in the graph
(id, title, rect, colour); ``items`` maps a backdrop id to its NodeGraphQt node and ``ids``
maps NodeGraphQt's id back to the backdrop id.
"""
from __future__ import annotations

from NodeGraphQt import BackdropNode


class Backdrops:
    """The drawn backdrops of one NodeGraphQt graph."""

    def __init__(self, ngraph):
        self.ngraph = ngraph
        self.items: dict[str, BackdropNode] = {}
        self.ids: dict[str, str] = {}

    def selected(self) -> list[str]:
        return [self.ids[n.id] for n in self.ngraph.selected_nodes() if n.id in self.ids]

    def rects(self) -> dict[str, list[float]]:
        """Each backdrop's ``[x, y, width, height]`` as drawn (after a drag or resize)."""
        out = {}
        for bid, bd in self.items.items():
            x, y = bd.view.xy_pos
            out[bid] = [float(x), float(y), float(bd.view.width), float(bd.view.height)]
        return out

    def sync(self, specs: list) -> None:
        """Match the drawn backdrops to ``specs`` (the graph's ``meta.backdrops``)."""
        seen = set()
        for spec in specs if isinstance(specs, list) else []:
            if not isinstance(spec, dict) or "id" not in spec:
                continue
            bid = str(spec["id"])
            seen.add(bid)
            bd = self.items.get(bid)
            if bd is None:
                bd = BackdropNode()
                self.ngraph.add_node(bd, selected=False, push_undo=False)
                self.items[bid] = bd
                self.ids[bd.id] = bid
            x, y, w, h = (list(spec.get("rect", [0, 0, 300, 200])) + [0, 0, 300, 200])[:4]
            if tuple(bd.view.xy_pos) != (x, y):
                bd.view.xy_pos = [x, y]
                bd.model.pos = [x, y]
            if (bd.view.width, bd.view.height) != (w, h):
                bd.view.width, bd.view.height = w, h
                bd.model.width, bd.model.height = w, h
            title = str(spec.get("title", ""))
            if bd.model.name != title or bd.view.name != title:
                bd.model.name = title
                bd.view.name = title
                bd.view.update()  # NodeGraphQt's name setter does not repaint the title
            color = spec.get("color")
            if isinstance(color, list) and len(color) == 3:
                bd.view.color = (*color, 255)
                bd.model.color = (*color, 255)
        for bid in [b for b in self.items if b not in seen]:
            bd = self.items.pop(bid)
            self.ids.pop(bd.id, None)
            self.ngraph.remove_node(bd, push_undo=False)
