"""Reading JSON text that may be hostile: limits are checked before the parser does large work.

Python's ``json`` module recurses once per nesting level (a file of 100,000 ``[`` ends in a
RecursionError), keeps the last of two equal keys without a word, and parses any size it is
given. Graph and library files, the clipboard and recovery files are read through ``parse``
instead, which refuses with a GraphError (a Problem with line and column where there is one):

* text longer than MAX_BYTES (a file's size is checked before it is read: ``read_text``);
* nesting deeper than MAX_DEPTH and strings (or keys) longer than MAX_STRING characters, found
  by a scan of the text with one regular expression (strings, brackets), without recursion,
  before the parser runs;
* not JSON, including numbers of more digits than Python converts (4,300);
* duplicate keys in an object, each named with where it is (``nodes[2].params``) and the node
  it belongs to.
"""
from __future__ import annotations

import json
import os
import re

from .problems import GraphError, Problem

MAX_BYTES = 16 * 2**20     # a 20,000-node graph file is about 5 MB
MAX_DEPTH = 64             # a graph file needs 7 levels; ``meta`` is free-form but bounded too
MAX_STRING = 100_000       # characters of one string or key (a model text is at most 20,000)

_LONG_NUMBER = re.compile(r"(?<![\w.\"])\d{4301,}")
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _size_text(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def read_text(path, source: str | None = None) -> str:
    """The UTF-8 text of the file at ``path``; GraphError when it cannot be read, is larger
    than MAX_BYTES (checked before reading; at most MAX_BYTES + 1 bytes are ever read, so a
    device or pipe cannot make it read forever) or is not UTF-8."""
    source = str(path) if source is None else source
    try:
        with open(path, "rb") as fh:
            try:
                size = os.fstat(fh.fileno()).st_size
            except OSError:
                size = 0
            if size > MAX_BYTES:
                raise GraphError([Problem(f"the file is too large ({_size_text(size)}; graph "
                                          f"files are limited to {_size_text(MAX_BYTES)})")],
                                 source)
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise GraphError([Problem(f"cannot read the file: {exc.strerror or exc}")],
                         source) from None
    if len(data) > MAX_BYTES:
        raise GraphError([Problem(f"the file is too large (more than {_size_text(MAX_BYTES)})")],
                         source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GraphError([Problem(f"not a UTF-8 text file ({exc.reason} at byte {exc.start})")],
                         source) from None


def check_shape(text: str, source: str | None = None) -> None:
    """Refuse (GraphError) text that is too long, nested too deeply or holds an over-long
    string, before anything parses it (see the module docstring)."""
    if len(text) > MAX_BYTES:
        raise GraphError([Problem(f"the text is too large ({len(text):,} characters; the limit "
                                  f"is {_size_text(MAX_BYTES)})")], source)
    depth = 0
    for m in _TOKEN.finditer(text):
        start = m.start()
        c = text[start]
        if c == '"':
            if m.end() - start - 2 > MAX_STRING:
                line, col = _line_col(text, start)
                head = text[start + 1:start + 31]
                raise GraphError([Problem(
                    f"a string of {m.end() - start - 2:,} characters (starting {head!r}...) is "
                    f"longer than the limit of {MAX_STRING:,}", line=line, column=col)], source)
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line, col = _line_col(text, start)
                raise GraphError([Problem(
                    f"nested more than {MAX_DEPTH} levels deep (objects and lists inside each "
                    f"other); a Spark file needs far fewer", line=line, column=col)], source)
        else:
            depth -= 1


def parse(text: str, source: str | None = None):
    """The value of JSON ``text``; GraphError listing what is wrong (see the module
    docstring). ``NaN`` and ``Infinity`` are read as floats, for validation to refuse where a
    number must be finite (naming the node and parameter)."""
    check_shape(text, source)
    repeated: list[tuple[dict, list[str]]] = []

    def pairs_hook(pairs):
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            twice = [k for k, _ in pairs if k in seen or seen.add(k)]
            repeated.append((obj, list(dict.fromkeys(twice))))
        return obj

    try:
        data = json.loads(text, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        raise GraphError([Problem(f"not valid JSON: {exc.msg}", line=exc.lineno,
                                  column=exc.colno)], source) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        if "digits" not in str(exc):
            raise GraphError([Problem(f"not valid JSON: {exc}")], source) from None
        m = _LONG_NUMBER.search(text)
        if m is None:
            raise GraphError([Problem("a number has too many digits")], source) from None
        line, col = _line_col(text, m.start())
        raise GraphError([Problem(f"a number of {len(m.group()):,} digits is more than Spark "
                                  "reads (4,300)", line=line, column=col)], source) from None
    if repeated:
        raise GraphError(_duplicate_problems(data, repeated), source)
    return data


def _duplicate_problems(data, repeated) -> list[Problem]:
    """One Problem per repeated key, with the path of its object and the node it belongs to."""
    wanted = {id(obj): keys for obj, keys in repeated}
    found: list[Problem] = []
    stack: list[tuple[object, tuple]] = [(data, ())]
    while stack:  # depth is bounded by MAX_DEPTH; iterative anyway
        obj, path = stack.pop()
        if isinstance(obj, dict):
            for key in wanted.get(id(obj), ()):
                found.append(_duplicate(data, path, key))
            stack.extend((v, path + (k,)) for k, v in obj.items())
        elif isinstance(obj, list):
            stack.extend((v, path + (i,)) for i, v in enumerate(obj))
    return sorted(found, key=lambda p: p.message)


def _duplicate(data, path: tuple, key: str) -> Problem:
    where = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p)
                    for i, p in enumerate(path)) or "the top level"
    node = definition = None
    try:
        if path[:1] == ("definitions",) and len(path) >= 2:
            definition = data["definitions"][path[1]].get("type")
            if path[2:3] == ("nodes",) and len(path) >= 4:
                node = data["definitions"][path[1]]["nodes"][path[3]].get("id")
        elif path[:1] == ("nodes",) and len(path) >= 2:
            node = data["nodes"][path[1]].get("id")
    except (AttributeError, IndexError, KeyError, TypeError):
        pass
    node = node if isinstance(node, str) else None
    definition = definition if isinstance(definition, str) else None
    shown = key if len(key) <= 60 else key[:60] + "..."
    return Problem(f"duplicate key '{shown}' in {where} (a key may appear only once in an "
                   "object)", node=node, definition=definition)
