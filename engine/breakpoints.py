"""Breakpoints: conditions on signals, checked at every step inside the compiled chunk.

A condition is a short text (parsed here by a small tokenizer and parser; nothing is evaluated
as Python):

    exc.rate > 50            the pool's population rate over the last 10 ms, in Hz
    exc.rate(25 ms) < 2      ... over a window of your choice
    readout.value > 0.8      any element of a node's output above 0.8
    exc.v[3] >= -52          one element of it
    critic.td_error crosses 0     the value passes 0 (either way) between two steps
    episode                  an environment's episode ended (its ``done`` output)
    nan                      a state variable became NaN or infinite
    t >= 120 ms              simulated time (ms, s, or steps)

Comparisons (``>``, ``<``, ``>=``, ``<=``) and ``nan`` are *levels*: they stop the run at the
step where they become true (false at the step before, or when watching began), not at every
step they stay true, so a run continued after a stop goes on until the next time. ``crosses``
and ``episode`` are events and stop the run whenever they happen. A population rate counts the
pool's spikes over a sliding window of whole steps ending at the current step (rate = spikes /
(neurons x window)); it is false until the window has filled since watching began.

``Watch`` compiles a list of conditions for one model: ``init()`` gives the values it carries
from step to step (the rate windows, the last values), ``check(carry, values, state)`` runs in
the traced step and says which conditions fired. engine/chunks.py freezes the state from the
step a condition fired on, so the simulation stops exactly there.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from spark_snn.components.base import SPIKES

RATE_WINDOW_MS = 10.0
COMPARE = (">=", "<=", ">", "<")

__all__ = ["Condition", "ConditionError", "parse", "Watch", "Hit", "RATE_WINDOW_MS"]


class ConditionError(ValueError):
    """A condition that cannot be parsed or does not fit the model (says where and why)."""


@dataclass(frozen=True)
class Condition:
    """One parsed condition. ``kind``: compare, crosses, rate, episode, nan or time."""

    text: str
    kind: str
    node: str | None = None
    port: str | None = None
    index: int | None = None
    op: str | None = None
    value: float | None = None
    window_ms: float | None = None
    unit: str = ""

    def __str__(self) -> str:
        return self.text


_TOKEN = re.compile(r"""\s*(?:
    (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*)
  | (?P<op>>=|<=|>|<)
  | (?P<punct>[\[\]()])
)""", re.VERBOSE)

TIME_UNITS = {"ms": 1.0, "s": 1000.0}


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ConditionError(f"'{text}': unexpected '{text[pos:].strip()[:10]}' at "
                                 f"character {pos + 1}")
        kind = m.lastgroup
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, kind=None, value=None):
        if self.i >= len(self.toks):
            return None
        k, v, _ = self.toks[self.i]
        if (kind and k != kind) or (value is not None and v != value):
            return None
        return v

    def take(self, kind=None, value=None, what=""):
        v = self.peek(kind, value)
        if v is None:
            got = self.toks[self.i][1] if self.i < len(self.toks) else "the end"
            raise ConditionError(f"'{self.text}': expected {what or value or kind}, got '{got}'"
                                 if got != "the end" else
                                 f"'{self.text}': expected {what or value or kind} at the end")
        self.i += 1
        return v

    def number(self) -> float:
        x = float(self.take("num", what="a number"))
        if not math.isfinite(x):
            raise ConditionError(f"'{self.text}': expected a finite number")
        return x

    def done(self):
        if self.i < len(self.toks):
            raise ConditionError(f"'{self.text}': unexpected '{self.toks[self.i][1]}' at "
                                 f"character {self.toks[self.i][2] + 1}")


def parse(text: str) -> Condition:
    """Parse a condition (see the module docstring); ConditionError says what is wrong."""
    text = " ".join(str(text).split())
    if not text:
        raise ConditionError("empty condition")
    p = _Parser(text)
    first = p.take("name", what="a signal (node.port), 't', 'episode' or 'nan'")
    if first in ("nan", "episode") and p.peek() is None:
        return Condition(text, first)
    if first == "t":
        op = p.take("op", what="a comparison (>, <, >=, <=)")
        value = p.number()
        unit = p.peek("name") or "ms"
        if p.peek("name"):
            p.take("name")
        if unit not in ("ms", "s", "steps"):
            raise ConditionError(f"'{text}': unknown time unit '{unit}' (ms, s or steps)")
        p.done()
        return Condition(text, "time", op=op, value=value, unit=unit)
    if "." not in first:
        raise ConditionError(f"'{text}': '{first}' is not a signal; write node.port "
                             "(e.g. exc.rate > 50), or t, episode or nan")
    node, _, port = first.rpartition(".")
    window = None
    index = None
    if p.peek("punct", "("):
        p.take()
        window = p.number()
        unit = p.take("name", what="ms or s")
        if unit not in TIME_UNITS:
            raise ConditionError(f"'{text}': the window needs ms or s, got '{unit}'")
        window *= TIME_UNITS[unit]
        p.take("punct", ")")
        if window <= 0:
            raise ConditionError(f"'{text}': the window must be positive")
    elif p.peek("punct", "["):
        p.take()
        raw = p.number()
        if raw != int(raw) or raw < 0:
            raise ConditionError(f"'{text}': an element index is a whole number >= 0")
        index = int(raw)
        p.take("punct", "]")
    if p.peek("name", "crosses"):
        p.take()
        value = p.number()
        p.done()
        return Condition(text, "crosses", node, port, index, value=value, window_ms=window)
    op = p.take("op", what="a comparison (>, <, >=, <=) or 'crosses'")
    value = p.number()
    if p.peek("name") in ("Hz", "hz"):
        p.take()
    p.done()
    kind = "rate" if port == "rate" and index is None else "compare"
    return Condition(text, kind, node, port, index, op, value,
                     window if window is not None else (RATE_WINDOW_MS if kind == "rate"
                                                        else None))


@dataclass
class Hit:
    """Where a run stopped: after ``t`` steps (the state is that of step ``t``), because of
    ``conditions`` (those that became true at that step); ``node`` is the node to show."""

    t: int
    time_ms: float
    conditions: tuple
    node: str | None = None

    def __str__(self) -> str:
        what = "; ".join(c.text for c in self.conditions)
        return f"stopped at step {self.t} (t = {self.time_ms:g} ms): {what}"


def _whole_bound(op: str, x: float) -> tuple[str, int]:
    """``n op x`` for whole numbers n, as ``n >= k`` or ``n <= k`` (x within 1e-9 of a whole
    number counts as that number: 12.35 ms / 0.1 ms is 123.5, 120 ms / 0.1 ms is 1200)."""
    lo = math.ceil(x - 1e-9)     # the smallest whole number >= x
    hi = math.floor(x + 1e-9)    # the largest whole number <= x
    return {">=": (">=", lo), ">": (">=", hi + 1), "<=": ("<=", hi), "<": ("<=", lo - 1)}[op]


def _cmp(op, a, b):
    return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]


class Watch:
    """Conditions bound to one model (see the module docstring). ``ports`` are the
    "node.port" values the conditions read (a projection's must not be fused away)."""

    def __init__(self, model, conditions):
        self.model = model
        self.conditions = tuple(parse(c) if isinstance(c, str) else c for c in conditions)
        self.key = tuple(c.text for c in self.conditions)
        self.dt = float(model.dt)
        self._plans = [self._bind(c) for c in self.conditions]

    # --- binding ------------------------------------------------------------------------------
    @property
    def ports(self) -> tuple[str, ...]:
        out = []
        for plan in self._plans:
            out += [p for p in plan.get("ports", ())]
        return tuple(dict.fromkeys(out))

    def _node(self, c: Condition):
        graph = self.model.graph
        if c.node not in graph.nodes:
            raise ConditionError(f"'{c.text}': no node '{c.node}' in this graph")
        return self.model.rnodes.get(c.node)

    def _bind(self, c: Condition) -> dict:
        m = self.model
        if c.kind == "nan":
            return {}
        if c.kind == "time":
            steps = c.value if c.unit == "steps" else c.value * TIME_UNITS[c.unit] / self.dt
            return {"bound": _whole_bound(c.op, steps)}
        if c.kind == "episode":
            envs = [nid for nid, r in m.rnodes.items()
                    if "done" in r.outputs and r.category == "Environments"]
            if not envs:
                raise ConditionError(f"'{c.text}': this graph has no environment")
            return {"ports": tuple(f"{e}.done" for e in envs), "envs": envs}
        r = self._node(c)
        if r is None:
            raise ConditionError(f"'{c.text}': node '{c.node}' was fused into a shared kernel; "
                                 "name the condition when the simulation is built")
        if c.kind == "rate" and "rate" not in r.outputs:
            spikes = [n for n, p in r.outputs.items() if p.kind == SPIKES]
            if not spikes:
                raise ConditionError(f"'{c.text}': node '{c.node}' has no spike output to take "
                                     "a rate of")
            size = m.port_size(r, r.outputs[spikes[0]])
            w = max(1, int(round(c.window_ms / self.dt)))
            # the rate compared as a whole spike count over the window (no rounding inside)
            return {"ports": (f"{c.node}.{spikes[0]}",), "window": w,
                    "bound": _whole_bound(c.op, c.value * size * w * self.dt / 1000.0)}
        port = "rate" if c.kind == "rate" else c.port
        if port not in r.outputs:
            raise ConditionError(f"'{c.text}': node '{c.node}' has no output '{port}' "
                                 f"(outputs: {', '.join(r.outputs) or 'none'})")
        size = m.port_size(r, r.outputs[port])
        if c.index is not None and c.index >= size:
            raise ConditionError(f"'{c.text}': '{c.node}.{port}' has {size} elements "
                                 f"(indices 0 to {size - 1})")
        return {"ports": (f"{c.node}.{port}",), "size": size}

    # --- carried values -----------------------------------------------------------------------
    def init(self) -> list:
        """The values carried from step to step, at the start of watching (NumPy)."""
        out = []
        for c, plan in zip(self.conditions, self._plans):
            d = {"prev": np.zeros((), bool)}
            if c.kind == "rate" and "window" in plan:
                d.update(ring=np.zeros(plan["window"], np.int32), n=np.zeros((), np.int32))
            if c.kind == "crosses":
                n = 1 if c.index is not None else plan["size"]
                d.update(last=np.zeros(n, self.model.dtype), have=np.zeros((), bool))
            out.append(d)
        return out

    def _value(self, c, plan, vals):
        v = vals[plan["ports"][0]]
        return v[c.index:c.index + 1] if c.index is not None else v

    def check(self, carry, vals, state):
        """(new carry, fired: bool vector, one per condition) after one step (traced)."""
        new, fired = [], []
        for c, plan, d in zip(self.conditions, self._plans, carry):
            d = dict(d)
            level = True
            if c.kind == "nan":
                from .compiler import _all_finite
                now = ~_all_finite(state["nodes"])
            elif c.kind == "time":
                op, k = plan["bound"]
                now = _cmp(op, state["t"], jnp.int32(k))
            elif c.kind == "episode":
                now = jnp.any(jnp.stack([jnp.any(vals[p] > 0) for p in plan["ports"]]))
                level = False
            elif c.kind == "rate" and "window" in plan:
                w = plan["window"]
                count = jnp.sum(vals[plan["ports"][0]] > 0).astype(jnp.int32)
                ring = d["ring"].at[d["n"] % w].set(count)
                n = jnp.minimum(d["n"] + 1, jnp.int32(2 ** 30))   # (no overflow)
                d.update(ring=ring, n=n)
                op, k = plan["bound"]
                now = (n >= w) & _cmp(op, jnp.sum(ring), jnp.int32(k))
            elif c.kind == "crosses":
                v = self._value(c, plan, vals)
                x = jnp.asarray(c.value, v.dtype)
                last = d["last"]
                now = d["have"] & jnp.any(((last < x) & (v >= x)) | ((last > x) & (v <= x)))
                d.update(last=v, have=jnp.ones((), bool))
                level = False
            else:
                v = self._value(c, plan, vals)
                now = jnp.any(_cmp(c.op, v, jnp.asarray(c.value, v.dtype)))
            hit = (now & ~d["prev"]) if level else now
            d["prev"] = jnp.asarray(now, bool)
            new.append(d)
            fired.append(jnp.asarray(hit, bool))
        return new, jnp.stack(fired)

    def node_of(self, c: Condition) -> str | None:
        """The node a hit of ``c`` is about (None for ``t`` and ``nan``: the Simulation finds
        the node that went NaN itself)."""
        if c.kind == "episode":
            return self._plans[self.conditions.index(c)]["envs"][0]
        return c.node
