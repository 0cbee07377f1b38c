"""Reading and writing graph files (format ``spark-graph``, version 2; see the README).

Version 2 added composite components: a top-level ``definitions`` list (engine/composite/model.py),
a node's optional ``seed_id``, and dotted node ids (``col1.exc``, as ``spark flatten`` writes
them). A version-1 file is a version-2 file without those, so its migration only renumbers it.
Defaults never change meaning: a parameter a file leaves out means the same in every version
(what a node added in the editor starts with is ``Param.start``, stored in the file).

Reading never silently drops anything: malformed entries become Problems attached to the graph
(``graph.load_problems``) so that validation reports them together with everything else. A file
that is not JSON, not a Spark graph, or from a newer version raises GraphError at once.
Writing is atomic: the new content goes to a temporary file in the same folder which then
replaces the target, so a crash never leaves a half-written graph; the file's mode is the
usual one for a new file and is kept for an overwritten one.
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from . import jsontext
from .graph import DEFAULT_SETTINGS, FORMAT_TAG, FORMAT_VERSION, Edge, Graph, Node
from .problems import GraphError, Problem, shown

MAX_ID = 256          # characters of a node id
MAX_COORD = 1e9       # canvas coordinates (a NaN or infinite position would break the canvas)

# from_version -> function(dict) -> dict of version from_version + 1
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def migration(from_version: int):
    """Decorator registering the upgrade of a file dict from ``from_version`` to the next."""

    def deco(fn):
        MIGRATIONS[from_version] = fn
        return fn

    return deco


def migrate(data: dict, source: str | None = None) -> dict:
    """Bring a parsed file up to FORMAT_VERSION, or raise GraphError."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise GraphError([Problem(f"'version' must be an integer, got {shown(version)}")], source)
    if version > FORMAT_VERSION:
        raise GraphError([Problem(
            f"this file is format version {version}, newer than this Spark understands "
            f"(version {FORMAT_VERSION}); update Spark to open it")], source)
    while version < FORMAT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise GraphError([Problem(f"no migration from format version {version}")], source)
        data = step(dict(data))
        if data.get("version") != version + 1:
            raise GraphError([Problem(f"migration from version {version} did not produce "
                                      f"version {version + 1}")], source)
        version += 1
    return data


@migration(1)
def _v1_to_v2(data: dict) -> dict:
    """Version 2 only added things (composite definitions, seed ids, dotted ids): nothing to
    convert, so a version-1 file saved again differs only in its version number."""
    data["version"] = 2
    return data


def parse_json(text: str, source: str | None = None, tag: str = FORMAT_TAG) -> dict:
    """Parse file text into a dict whose ``format`` is ``tag``, or raise GraphError (the limits
    and checks of engine/jsontext.py: size, depth, string length, duplicate keys)."""
    data = jsontext.parse(text, source)
    if not isinstance(data, dict):
        raise GraphError([Problem("a graph file must hold a JSON object")], source)
    got = data.get("format")
    if got != tag:
        what = "graph" if tag == FORMAT_TAG else "component library"
        raise GraphError([Problem(f"'format' must be '{tag}', got {shown(got)}; "
                                  f"this is not a Spark {what} file")], source)
    return data


def graph_from_dict(data: dict, source: str | None = None) -> Graph:
    """Build a Graph from a (migrated) file dict; shape problems go to ``graph.load_problems``."""
    data = migrate(data, source)
    problems: list[Problem] = []
    known_top = {"format", "version", "settings", "nodes", "edges", "definitions", "meta"}
    for key in data:
        if key not in known_top:
            problems.append(Problem(f"unknown top-level key {shown(key)} (expected one of "
                                    f"{', '.join(sorted(known_top))})"))
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        problems.append(Problem("'settings' must be an object"))
        settings = {}
    merged = dict(DEFAULT_SETTINGS)
    merged.update(settings)
    graph = Graph(settings=merged, meta=data.get("meta", {}) if isinstance(data.get("meta", {}), dict) else {})

    nodes = data.get("nodes", [])
    if not isinstance(nodes, list):
        problems.append(Problem("'nodes' must be a list"))
        nodes = []
    for i, nd in enumerate(nodes):
        if not isinstance(nd, dict):
            problems.append(Problem(f"nodes[{i}] must be an object"))
            continue
        nid = nd.get("id")
        if not isinstance(nid, str) or not nid:
            problems.append(Problem(f"nodes[{i}] has no string 'id'"))
            continue
        if len(nid) > MAX_ID:
            problems.append(Problem(f"nodes[{i}]: the id '{nid[:40]}...' is longer than "
                                    f"{MAX_ID} characters"))
            continue
        if "" in nid.split("."):
            problems.append(Problem("a node id may not start or end with '.' or hold '..'",
                                    node=nid))
        for key in nd:
            if key not in ("id", "type", "params", "position", "seed_id"):
                problems.append(Problem(f"unknown key {shown(key)} in node entry", node=nid))
        seed_id = nd.get("seed_id")
        if seed_id is not None and not isinstance(seed_id, str):
            problems.append(Problem("'seed_id' must be a string", node=nid))
            seed_id = None
        ntype = nd.get("type")
        if not isinstance(ntype, str):
            problems.append(Problem("missing or non-string 'type'", node=nid))
            ntype = ""
        params = nd.get("params", {})
        if not isinstance(params, dict):
            problems.append(Problem("'params' must be an object", node=nid))
            params = {}
        pos = nd.get("position", [0.0, 0.0])
        if (not isinstance(pos, list) or len(pos) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and abs(v) <= MAX_COORD for v in pos)):
            problems.append(Problem(f"'position' must be [x, y], two finite numbers of at most "
                                    f"{MAX_COORD:g} in size", node=nid))
            pos = [0.0, 0.0]
        if nid in graph.nodes:
            problems.append(Problem(f"duplicate node id '{nid}' (nodes[{i}]); ids must be unique",
                                    node=nid))
            continue
        graph.nodes[nid] = Node(nid, ntype, dict(params), (float(pos[0]), float(pos[1])),
                                seed_id)

    edges = data.get("edges", [])
    if not isinstance(edges, list):
        problems.append(Problem("'edges' must be a list"))
        edges = []
    seen_edges: set[Edge] = set()
    for i, ed in enumerate(edges):
        if not isinstance(ed, dict) or not isinstance(ed.get("from"), str) \
                or not isinstance(ed.get("to"), str):
            problems.append(Problem(f"edges[{i}] must be {{\"from\": \"node.port\", "
                                    f"\"to\": \"node.port\"}}"))
            continue
        extra = [k for k in ed if k not in ("from", "to")]
        if extra:
            names = ", ".join(f"'{k[:40]}'" for k in extra)
            problems.append(Problem(f"edges[{i}] ({ed['from'][:80]} -> {ed['to'][:80]}): unknown "
                                    f"key{'s' if len(extra) > 1 else ''} {names} (an edge has "
                                    "only 'from' and 'to')", node=ed["to"].rsplit(".", 1)[0][:80]))
        bad = [end for end in (ed["from"], ed["to"]) if "." not in end]
        if bad:
            problems.append(Problem(f"edges[{i}]: '{bad[0]}' is not of the form 'node.port'"))
            continue
        edge = Edge(ed["from"], ed["to"])
        if edge in seen_edges:
            problems.append(Problem(f"edges[{i}]: duplicate edge {edge.src} -> {edge.dst}",
                                    node=edge.dst_node))
            continue
        seen_edges.add(edge)
        graph.edges.append(edge)
    if "definitions" in data:
        from .composite.model import definitions_from_list
        graph.definitions = definitions_from_list(data["definitions"], problems)
    graph.load_problems = problems
    return graph


def loads(text: str, source: str | None = None) -> Graph:
    """Parse graph-file text."""
    return graph_from_dict(parse_json(text, source), source)


def load(path: str | os.PathLike) -> Graph:
    """Read a graph file. Raises GraphError for unreadable, non-Spark or too-new files."""
    return loads(jsontext.read_text(path), str(path))


def dumps(graph: Graph) -> str:
    """The file text of ``graph``, with the library definitions it uses embedded."""
    from .composite.edit import embed_used
    return json.dumps(embed_used(graph).to_dict(), indent=2, ensure_ascii=False) + "\n"


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: the only portable way to read it is to set it
    os.umask(mask)
    return mask


def save(graph: Graph, path: str | os.PathLike) -> None:
    """Write ``graph`` to ``path`` atomically (see ``write_atomic``)."""
    write_atomic(path, dumps(graph))


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same folder, fsync, rename.
    A new file gets the mode any new file gets (0666 less the umask), an overwritten one keeps
    its mode, and a symbolic link keeps pointing at the (updated) file."""
    path = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent or "."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
