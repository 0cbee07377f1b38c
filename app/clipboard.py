"""Copy, cut, paste and duplicate of canvas nodes.

The clipboard holds the selected nodes and the edges between them as JSON (MIME type
``application/x-spark-nodes``, and as text): ``{"spark-clipboard": 1, "nodes": [...],
"edges": [...]}`` with nodes and edges as in a graph file. Pasting inserts copies with fresh
ids (one undo step), offset so that they do not cover the originals.
"""
from __future__ import annotations

import json

from PySide6 import QtCore, QtWidgets

from engine.graph import Edge, Graph, Node

CLIP_MIME = "application/x-spark-nodes"


class Clipboard(QtCore.QObject):
    """The clipboard commands of one window."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.paste_count = 0

    def payload(self, ids) -> dict:
        """The clipboard content for the nodes ``ids`` (file order) and the edges among them."""
        g = self.w.graph
        chosen = set(ids)
        ids = [n for n in g.nodes if n in chosen]  # file order, whatever the selection order
        nodes = [{"id": n, "type": g.nodes[n].type, "params": json.loads(json.dumps(g.nodes[n].params)),
                  "position": list(g.nodes[n].position)} for n in ids]
        edges = [{"from": e.src, "to": e.dst} for e in g.edges
                 if e.src_node in ids and e.dst_node in ids]
        return {"spark-clipboard": 1, "nodes": nodes, "edges": edges}

    def copy(self) -> int:
        ids = self.w.canvas.selected_ids()
        if not ids:
            return 0
        mime = QtCore.QMimeData()
        text = json.dumps(self.payload(ids))
        mime.setData(CLIP_MIME, text.encode())
        mime.setText(text)
        QtWidgets.QApplication.clipboard().setMimeData(mime)
        self.paste_count = 0
        self.w.status(f"Copied {len(ids)} node(s)")
        return len(ids)

    def cut(self):
        if self.copy():
            self.w.edits.delete_selection()

    def paste(self) -> list[str]:
        mime = QtWidgets.QApplication.clipboard().mimeData()
        text = ""
        if mime is not None and mime.hasFormat(CLIP_MIME):
            text = bytes(mime.data(CLIP_MIME).data()).decode()
        elif mime is not None and mime.hasText():
            text = mime.text()
        try:
            payload = json.loads(text)
        except ValueError:
            return []
        if not isinstance(payload, dict) or payload.get("spark-clipboard") != 1:
            return []
        self.paste_count += 1
        return self.insert(payload, 40.0 * self.paste_count, "paste")

    def duplicate(self) -> list[str]:
        ids = self.w.canvas.selected_ids()
        if not ids:
            return []
        return self.insert(self.payload(ids), 40.0, "duplicate")

    def insert(self, payload, offset: float, label: str) -> list[str]:
        """Add the payload's nodes (fresh ids, moved by ``offset``) and edges as one step."""
        g = self.w.graph
        taken = set(g.nodes)
        mapping = {}
        new_nodes = []
        for nd in payload.get("nodes", []):
            base = nd["id"]
            trial = Graph(nodes={k: None for k in taken})
            nid = trial.unique_id(base)
            taken.add(nid)
            mapping[base] = nid
            x, y = nd.get("position", [0, 0])
            new_nodes.append(Node(nid, nd["type"], dict(nd.get("params", {})),
                                  (float(x) + offset, float(y) + offset)))
        new_edges = []
        for ed in payload.get("edges", []):
            s = Edge(ed["from"], ed["to"])
            new_edges.append(Edge(f"{mapping[s.src_node]}.{s.src_port}",
                                  f"{mapping[s.dst_node]}.{s.dst_port}"))
        if not new_nodes:
            return []

        def mutate(gr):
            for n in new_nodes:
                gr.add_node(n.copy())
            for e in new_edges:
                gr.connect(e.src, e.dst)
        self.w.doc.edit(f"{label} {len(new_nodes)} node(s)", mutate)
        ids = [n.id for n in new_nodes]
        self.w.canvas.select(ids)
        return ids
