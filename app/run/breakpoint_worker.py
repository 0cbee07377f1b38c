"""The worker's side of breakpoints (app/run/breakpoints.py is the GUI's side).

The conditions travel as text (engine/breakpoints.py's language, with node ids as the editor
shows them). The worker hands them to the engine, which checks them at every step inside the
compiled chunk and stops ``advance`` at the step one became true (``Simulation.hit``). These
helpers build the Simulation with them, change them between chunks, translate node ids to the
running model's (a node renamed during a run keeps its old id in the model) and turn a hit into
the message the GUI gets. No Qt here.
"""
from __future__ import annotations

from spark_snn.engine.breakpoints import ConditionError, parse


def _mapped(node: str, table: dict) -> str:
    """``node`` through a rename table; an id inside a composite ("col.exc") follows the
    rename of its instance ("col")."""
    if node in table:
        return table[node]
    head, dot, rest = node.partition(".")
    return f"{table[head]}.{rest}" if dot and head in table else node


def to_model(text: str, names) -> str:
    """``text`` with its node id as the running model knows it (``names``: frames.Names)."""
    c = parse(text)
    if not c.node:
        return c.text
    return _mapped(c.node, names.to_model) + c.text[len(c.node):]


def make_simulation(simulation, graph, chunk: int, conditions, post):
    """A ``simulation`` (engine.Simulation, the class) watching ``conditions`` (the nodes
    they read stay out of fused kernels).
    A condition the model cannot take is left out and ``post("breakpoint_refused", (text,
    reason))`` says why; the run itself is built anyway."""
    conditions = tuple(conditions)
    if conditions:
        try:
            return simulation(graph, chunk=chunk, breakpoints=conditions)
        except ConditionError:
            pass   # find the culprits one by one below
    usable = []
    for text in conditions:
        try:
            simulation(graph, chunk=chunk, breakpoints=(text,))
            usable.append(text)
        except ConditionError as exc:
            post("breakpoint_refused", (text, str(exc)))
    if usable:
        return simulation(graph, chunk=chunk, breakpoints=tuple(usable))
    return simulation(graph, chunk=chunk)


def apply(sim, conditions, names, post) -> None:
    """Watch ``conditions`` (shown ids) from the next chunk on; each one the model cannot take
    is refused with the reason (the others still watch)."""
    usable: list[str] = []
    for text in conditions:
        try:
            model_text = to_model(text, names)
            sim.breakpoints = usable + [model_text]
        except ConditionError as exc:
            reason = str(exc)
            if "fused into a shared kernel" in reason:
                reason = (f"'{text}': the running model merged this node into a shared kernel; "
                          "it is watched from the next build (Stop, then Run)")
            post("breakpoint_refused", (text, reason))
            continue
        usable.append(model_text)
    sim.breakpoints = usable


def hit_payload(sim, names) -> dict:
    """What the GUI needs to show a hit: the step, the time, the conditions (as shown) and the
    node to highlight (its shown id, or None)."""
    hit = sim.hit
    texts = []
    for c in hit.conditions:
        node = c.node
        texts.append(_mapped(node, names.to_view) + c.text[len(node):] if node else c.text)
    node = _mapped(hit.node, names.to_view) if hit.node else None
    return {"t": int(hit.t), "time_ms": float(hit.time_ms), "conditions": texts, "node": node}
