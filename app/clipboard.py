"""Copy, cut, paste and duplicate of canvas nodes.

The clipboard holds the selected nodes and the edges between them as JSON (MIME type
``application/x-spark-nodes``, and as text): ``{"spark-clipboard": 1, "nodes": [...],
"edges": [...], "definitions": [...]}`` with nodes, edges and the composite components the
nodes use (nested ones too) as in a graph file. Pasting inserts copies with fresh ids (one undo
step), together in the free space nearest to the originals (moved right and down by at least
``NUDGE``), so that they cover no node, original or other; the components come along into a
graph that lacks them (a graph that has a different component of the same name keeps its own,
and the status bar says so).
"""
from __future__ import annotations

import json

from PySide6 import QtCore, QtWidgets

from spark_snn.engine import GraphError, fileio, jsontext
from spark_snn.engine.composite import (LIBRARY_TAG, loads_library, merge_definitions,
                                        used_definitions)
from spark_snn.engine.graph import FORMAT_TAG, FORMAT_VERSION, Edge, Graph, Node

from .placement import bounding, free_spot

CLIP_MIME = "application/x-spark-nodes"
NUDGE = 40.0  # copies go at least this far right and down of where the originals were


def checked_payload(payload: dict) -> dict | str:
    """The clipboard payload's nodes and edges read by the graph-file reader (same checks:
    ids, types, params objects, positions, edge form), keeping only edges between its own
    nodes, and the composite definitions it carries; or why it cannot be pasted."""
    g = fileio.graph_from_dict({"format": FORMAT_TAG, "version": FORMAT_VERSION,
                                "nodes": payload.get("nodes", []),
                                "edges": payload.get("edges", [])})
    if g.load_problems:
        return str(g.load_problems[0])
    out = {"nodes": [n.to_dict() for n in g.nodes.values()],
           "edges": [{"from": e.src, "to": e.dst} for e in g.edges
                     if e.src_node in g.nodes and e.dst_node in g.nodes]}
    if payload.get("definitions"):  # read as a library file is, when pasted (_definitions)
        out["definitions"] = payload["definitions"]
    return out


class Clipboard(QtCore.QObject):
    """The clipboard commands of one window."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window

    def payload(self, ids) -> dict:
        """The clipboard content for the nodes ``ids`` (file order) and the edges among them."""
        g = self.w.graph
        chosen = set(ids)
        ids = [n for n in g.nodes if n in chosen]  # file order, whatever the selection order
        nodes = [{"id": n, "type": g.nodes[n].type, "params": json.loads(json.dumps(g.nodes[n].params)),
                  "position": list(g.nodes[n].position)} for n in ids]
        edges = [{"from": e.src, "to": e.dst} for e in g.edges
                 if e.src_node in ids and e.dst_node in ids]
        out = {"spark-clipboard": 1, "nodes": nodes, "edges": edges}
        defs = used_definitions(g, node_ids=ids)
        if defs:
            out["definitions"] = [d.to_dict() for d in defs.values()]
        return out

    def copy(self) -> int:
        ids = self.w.canvas.selected_ids()
        if not ids:
            return 0
        mime = QtCore.QMimeData()
        text = json.dumps(self.payload(ids))
        mime.setData(CLIP_MIME, text.encode())
        mime.setText(text)
        QtWidgets.QApplication.clipboard().setMimeData(mime)
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
        try:  # the clipboard may hold anything: read it as a graph file is read
            payload = jsontext.parse(text)
        except GraphError:
            return []
        if not isinstance(payload, dict) or payload.get("spark-clipboard") != 1:
            return []
        checked = checked_payload(payload)
        if isinstance(checked, str):
            self.w.status(f"Cannot paste: {checked}")
            return []
        return self.insert(checked, "paste")

    def duplicate(self) -> list[str]:
        ids = self.w.canvas.selected_ids()
        if not ids:
            return []
        return self.insert(self.payload(ids), "duplicate")

    def insert(self, payload, label: str) -> list[str]:
        """Add the payload's nodes (fresh ids, in free space) and edges as one undo step."""
        g = self.w.graph
        taken = set(g.nodes)
        mapping = {}
        new_nodes = []
        for nd in payload.get("nodes", []):
            base = nd["id"]
            nid = Graph(nodes={k: None for k in taken}).unique_id(base)
            taken.add(nid)
            mapping[base] = nid
            x, y = nd.get("position", [0, 0])
            new_nodes.append(Node(nid, nd["type"], dict(nd.get("params", {})),
                                  (float(x), float(y))))
        if not new_nodes:
            return []
        defs = self._definitions(payload)
        new_edges = []
        for ed in payload.get("edges", []):
            s = Edge(ed["from"], ed["to"])
            new_edges.append(Edge(f"{mapping[s.src_node]}.{s.src_port}",
                                  f"{mapping[s.dst_node]}.{s.dst_port}"))
        trial, conflicts = merge_definitions(g, defs)
        box = bounding([self.w.edits.footprint(n, graph=trial) for n in new_nodes])
        x, y = free_spot(self.w.canvas.node_rects().values(), box[2:],
                         (box[0] + NUDGE, box[1] + NUDGE))
        for n in new_nodes:
            n.position = (n.position[0] + x - box[0], n.position[1] + y - box[1])

        def mutate(gr):
            gr.definitions = merge_definitions(gr, defs)[0].definitions
            for n in new_nodes:
                gr.add_node(n.copy())
            for e in new_edges:
                gr.connect(e.src, e.dst)
        self.w.doc.edit(f"{label} {len(new_nodes)} node(s)", mutate)
        if conflicts:
            self.w.status("Pasted; this graph has its own " + ", ".join(
                f"'{c}'" for c in conflicts) + ", which the pasted nodes now use")
        ids = [n.id for n in new_nodes]
        self.w.canvas.select(ids)
        self.w.canvas.reveal(ids)
        return ids

    def _definitions(self, payload) -> list:
        """The composite components a payload carries (read as a library file would be)."""
        items = payload.get("definitions")
        if not items:
            return []
        text = json.dumps({"format": LIBRARY_TAG, "version": FORMAT_VERSION,
                           "definitions": items})
        try:
            return loads_library(text, "the clipboard")
        except GraphError as exc:
            self.w.status(f"The clipboard's components cannot be read: {exc}")
            return []
