"""Problems found in a graph: each names where it is (node, parameter or port) and what is wrong."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem. ``node`` and ``param``/``port`` are None where they do not apply.

    ``definition`` names the composite component whose inside the problem is in (``node`` is
    then an inner node of that definition, or None for the definition itself); None for the
    graph's own nodes.
    """

    message: str
    node: str | None = None
    param: str | None = None
    port: str | None = None
    line: int | None = None
    column: int | None = None
    severity: str = "error"  # "error" or "warning"
    definition: str | None = None

    def where(self) -> str:
        parts = []
        if self.definition is not None:
            parts.append(f"component '{self.definition}'")
        if self.line is not None:
            parts.append(f"line {self.line}, column {self.column}")
        if self.node is not None:
            parts.append(f"node '{self.node}'")
        if self.param is not None:
            parts.append(f"parameter '{self.param}'")
        if self.port is not None:
            parts.append(f"port '{self.port}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        w = self.where()
        text = f"{w}: {self.message}" if w else self.message
        if len(text) > MAX_SHOWN:  # a hostile file's names can be 100,000 characters long
            text = text[:MAX_SHOWN] + f"... ({len(text):,} characters)"
        return text


MAX_SHOWN = 1000  # characters of one problem as text


def shown(value, limit: int = 60) -> str:
    """``repr(value)``, shortened to about ``limit`` characters (for messages about values a
    file may make huge: a string of 100,000 characters, a list of a million numbers)."""
    if isinstance(value, (list, tuple, dict)) and len(value) > 8:
        items = list(value.items() if isinstance(value, dict) else value)[:8]
        head = repr(dict(items) if isinstance(value, dict) else list(items))[:-1]
        if len(head) > limit:
            head = head[:limit]
        close = "}" if isinstance(value, dict) else "]"
        return f"{head}, ... ({len(value):,} entries){close}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"


class GraphError(Exception):
    """Raised when a graph cannot be loaded, validated or compiled; carries every problem found."""

    def __init__(self, problems: list[Problem], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        n = len(self.problems)
        lines = [f"{head}{n} problem{'s' if n != 1 else ''}:"] + [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))
