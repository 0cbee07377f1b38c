"""Check a parsed model text: names, roles, units and where each thing may be used.

``check_model(text, kind)`` parses and checks a text for one of three node kinds:

* ``neuron``: a pool; per-neuron ``state`` variables, optional ``threshold``, ``reset`` and
  ``refractory``, ``on INPUT:`` blocks for event inputs;
* ``synapse``: the same per-neuron machinery without spikes (synaptic dynamics on the input
  side of a pool: it turns events into a current);
* ``plasticity``: a projection; ``synapse`` variables (one per synapse), ``pre``/``post``
  variables (one per pre- or post-synaptic neuron), exactly one transmitted ``weight``,
  ``on_pre``/``on_post``/``on_step`` blocks, ``clip`` bounds and modulator inputs.

The result, a ``Model``, lists every declared name (``symbols``, for completion) and every
problem (``errors``: line, columns, term, message). A Model without errors is what translate.py
compiles.
"""
from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field

from . import units as U
from .functions import DIMENSIONLESS, FUNCTIONS, RANDOM, SAME, SQRT, WHERE
from .parser import KEYWORDS, Block, Parsed, parse
from .syntax import (MAX_POWER, Binary, Call, Expr, ModelError, Name, Num, Quantity, Span, Unary,
                     walk)

KINDS = ("neuron", "synapse", "plasticity")
LEVELS = {"scalar": 0, "elem": 1, "pre": 1, "post": 1, "syn": 2}
ROLE_LEVEL = {"state": "elem", "pre": "pre", "post": "post", "synapse": "syn", "weight": "syn"}
BUILTINS = {"t": ("current time", U.TIME), "dt": ("time step", U.TIME)}


@dataclass
class Symbol:
    """A name the text may use: what it is, its unit and (for arrays) one value per what."""

    name: str
    role: str          # param, state, synapse, pre, post, weight, input, builtin, unit
    dim: U.Dim
    scale: float = 1.0  # the declared unit in the internal system (a file value times this)
    unit: str = ""     # the unit as written
    level: str = "scalar"
    kind: str = ""     # inputs: current, value, events, spikes, modulator
    help: str = ""
    span: Span | None = None


@dataclass
class Model:
    """A checked model text (see the module docstring)."""

    kind: str
    parsed: Parsed
    symbols: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    equations: dict = field(default_factory=dict)    # var -> Equation
    blocks: dict = field(default_factory=dict)       # event -> Block
    threshold: Expr | None = None
    refractory: Expr | None = None
    clips: dict = field(default_factory=dict)        # var -> Clip
    var_dims: dict = field(default_factory=dict)     # var -> (Dim, scale, unit text)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def params(self):
        return self.parsed.params

    @property
    def variables(self):
        return self.parsed.variables

    @property
    def inputs(self):
        return self.parsed.inputs

    @property
    def outputs(self):
        return self.parsed.outputs

    def declared(self) -> list[Symbol]:
        """The names declared in the text, in text order (for the editor's completion)."""
        return [s for s in self.symbols.values() if s.span is not None]


@dataclass
class _Info:
    """What the checker knows about a sub-expression."""

    dim: U.Dim
    zero: bool = False      # the literal 0: fits any unit
    boolean: bool = False
    const: float | None = None
    level: str = "scalar"


class _Checker:
    def __init__(self, model: Model, lines: list[str]):
        self.m = model
        self.lines = lines
        self.context = ""          # what is being checked, for messages
        self.allow_random = False
        self.event_input = None    # the input whose 'on' block is being checked

    # -- helpers ---------------------------------------------------------------------------------
    def term(self, e_or_span) -> str:
        s = e_or_span.span if isinstance(e_or_span, Expr) else e_or_span
        if s is None or not (0 < s.line <= len(self.lines)):
            return ""
        return self.lines[s.line - 1][s.col - 1:s.end - 1]

    def fail(self, where, message: str):
        span = where.span if isinstance(where, Expr) else where
        raise ModelError.at(span, message, self.term(span))

    def show(self, e: Expr, info: _Info) -> str:
        return f"'{self.term(e)}' is {'boolean' if info.boolean else U.format_dim(info.dim)}"

    # -- expressions -----------------------------------------------------------------------------
    def infer(self, e: Expr) -> _Info:
        if isinstance(e, Num):
            return _Info(U.ONE, zero=(e.value == 0), const=e.value)
        if isinstance(e, Quantity):
            return _Info(e.unit.dim, zero=(e.value == 0), const=e.value * e.unit.scale)
        if isinstance(e, Name):
            return self.name(e)
        if isinstance(e, Unary):
            a = self.infer(e.operand)
            if e.op == "not":
                if not a.boolean:
                    self.fail(e.operand, f"'not' needs a condition; {self.show(e.operand, a)}")
                return a
            if a.boolean:
                self.fail(e.operand, "a condition cannot be negated with '-'; use 'not'")
            const = None if a.const is None else (-a.const if e.op == "-" else a.const)
            return _Info(a.dim, a.zero, False, const, a.level)
        if isinstance(e, Binary):
            return self.binary(e)
        if isinstance(e, Call):
            return self.call(e)
        raise TypeError(type(e).__name__)  # pragma: no cover

    def name(self, e: Name) -> _Info:
        sym = self.m.symbols.get(e.id)
        if sym is None:
            if e.id in ("true", "false"):
                return _Info(U.ONE, boolean=True)
            if e.id == "inf":
                return _Info(U.ONE, const=float("inf"))
            if e.id in FUNCTIONS:
                self.fail(e, f"'{e.id}' is a function: call it as {e.id}(...)")
            close = difflib.get_close_matches(e.id, list(self.m.symbols), n=2, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            self.fail(e, f"unknown name '{e.id}'{hint}")
        if sym.role == "input" and sym.kind in ("events", "spikes") \
                and self.event_input != e.id:
            self.fail(e, f"'{e.id}' is an {sym.kind} input: use it in its block 'on {e.id}:'")
        if sym.role == "unit":
            return _Info(sym.dim, const=sym.scale)
        if self.allow_random and sym.role in ("input", "builtin"):
            self.fail(e, f"an initial value cannot use '{e.id}' ({sym.role})")
        return _Info(sym.dim, level=sym.level)

    def binary(self, e: Binary) -> _Info:
        a, b = self.infer(e.left), self.infer(e.right)
        level = _join(a.level, b.level)
        op = e.op
        if op in ("and", "or"):
            for side, info in ((e.left, a), (e.right, b)):
                if not info.boolean:
                    self.fail(side, f"'{op}' joins conditions; {self.show(side, info)}")
            return _Info(U.ONE, boolean=True, level=level)
        for side, info in ((e.left, a), (e.right, b)):
            if info.boolean:
                self.fail(side, f"a condition cannot be used as a number in '{op}'")
        if op in ("+", "-", "<", "<=", ">", ">=", "==", "!="):
            if a.dim != b.dim and not (a.zero or b.zero):
                verb = "add" if op == "+" else "subtract" if op == "-" else "compare"
                self.fail(e, f"cannot {verb} '{self.term(e.left)}' ({U.format_dim(a.dim)}) "
                             f"and '{self.term(e.right)}' ({U.format_dim(b.dim)})")
            dim = b.dim if a.zero else a.dim
            if op in ("+", "-"):
                const = None
                if a.const is not None and b.const is not None:
                    const = a.const + b.const if op == "+" else a.const - b.const
                return _Info(dim, a.zero and b.zero, False, const, level)
            return _Info(U.ONE, boolean=True, level=level)
        if op in ("*", "/"):
            dim = a.dim * b.dim if op == "*" else a.dim / b.dim
            const = None
            if a.const is not None and b.const is not None and (op == "*" or b.const != 0):
                const = a.const * b.const if op == "*" else a.const / b.const
            return _Info(dim, a.zero, False, const, level)
        if op == "^":
            if not b.dim.dimensionless:
                self.fail(e.right, f"an exponent must be dimensionless; "
                                   f"{self.show(e.right, b)}")
            if a.dim.dimensionless:
                const = None
                if a.const is not None and b.const is not None:
                    try:
                        const = float(a.const ** b.const)
                    except (OverflowError, ZeroDivisionError, TypeError):
                        const = None
                return _Info(U.ONE, False, False, const, level)
            if b.const is None:
                self.fail(e.right, f"the power of a quantity with a unit "
                                   f"({U.format_dim(a.dim)}) must be a constant number")
            if abs(b.const) > MAX_POWER:
                self.fail(e.right, f"a power of a quantity with a unit must be at most "
                                   f"{MAX_POWER}")
            return _Info(a.dim ** b.const, False, False, None, level)
        raise TypeError(op)  # pragma: no cover

    def call(self, e: Call) -> _Info:
        f = FUNCTIONS.get(e.func)
        if f is None:
            if e.func in self.m.symbols:
                self.fail(e, f"'{e.func}' is not a function (write '{e.func} * (...)' "
                             "to multiply)")
            close = difflib.get_close_matches(e.func, list(FUNCTIONS), n=2, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(c) + '()' for c in close)}?" if close else ""
            self.fail(e, f"unknown function '{e.func}'{hint} (allowed: "
                         f"{', '.join(sorted(FUNCTIONS))})")
        if len(e.args) != f.arity:
            self.fail(e, f"{e.func}() takes {f.arity} argument{'s' * (f.arity != 1)}, "
                         f"got {len(e.args)}")
        infos = [self.infer(a) for a in e.args]
        level = functools.reduce(_join, (i.level for i in infos), "scalar")
        if f.rule == RANDOM:
            if not self.allow_random:
                self.fail(e, f"{e.func}() draws random initial values: use it only in an "
                             "initial value")
            return self._same(e, e.args, infos, level)
        if f.rule == WHERE:
            if not infos[0].boolean:
                self.fail(e.args[0], f"where() needs a condition first; "
                                     f"{self.show(e.args[0], infos[0])}")
            return self._same(e, e.args[1:], infos[1:], level)
        for a, i in zip(e.args, infos):
            if i.boolean:
                self.fail(a, f"{e.func}() takes a number, not a condition")
        if f.rule == DIMENSIONLESS:
            for a, i in zip(e.args, infos):
                if not i.dim.dimensionless and not i.zero:
                    self.fail(a, f"{e.func}() needs a dimensionless argument; "
                                 f"{self.show(a, i)}")
            return _Info(U.ONE, level=level)
        if f.rule == SQRT:
            return _Info(infos[0].dim ** 0.5, level=level)
        assert f.rule == SAME
        return self._same(e, e.args, infos, level)

    def _same(self, e, args, infos, level) -> _Info:
        real = [(a, i) for a, i in zip(args, infos) if not i.zero]
        for a, i in real[1:]:
            if i.dim != real[0][1].dim:
                self.fail(a, f"the arguments of {e.func}() must have one unit: "
                             f"'{self.term(real[0][0])}' is {U.format_dim(real[0][1].dim)}, "
                             f"'{self.term(a)}' is {U.format_dim(i.dim)}")
        return _Info(real[0][1].dim if real else U.ONE, not real, False, None, level)

    def expect(self, e: Expr, dim: U.Dim, what: str, max_level: str | None = None) -> _Info:
        info = self.infer(e)
        if info.boolean:
            self.fail(e, f"{what}: expected a value in {U.format_dim(dim)}, got a condition")
        if info.dim != dim and not info.zero:
            self.fail(e, f"{what}: the left side is {U.format_dim(dim)}, the right side is "
                         f"{U.format_dim(info.dim)}")
        if max_level is not None and LEVELS[info.level] > LEVELS[max_level] \
                or (max_level in ("pre", "post") and info.level not in ("scalar", max_level)):
            self.fail(e, f"{what}: the right side varies {_LEVEL_WORDS[info.level]} but the "
                         f"variable holds one value {_LEVEL_WORDS[max_level]}")
        return info


_LEVEL_WORDS = {"scalar": "per node", "elem": "per neuron", "pre": "per pre-synaptic neuron",
                "post": "per post-synaptic neuron", "syn": "per synapse"}


def _join(a: str, b: str) -> str:
    if a == b:
        return a
    if a == "scalar":
        return b
    if b == "scalar":
        return a
    return "syn"  # pre with post, or anything with syn


# --- the model ------------------------------------------------------------------------------------
def check_model(text: str, kind: str, reserved: tuple[str, ...] = ()) -> Model:
    """Parse and check ``text`` for node kind ``kind`` (see the module docstring); ``reserved``
    names (the node's own parameters, such as ``size``) cannot be declared. Never raises for a
    bad text."""
    return _check_cached(text if isinstance(text, str) else None, kind, tuple(reserved))


@functools.lru_cache(maxsize=256)
def _check_cached(text, kind: str, reserved: tuple) -> Model:
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}")
    parsed = parse(text)
    m = Model(kind, parsed)
    m.errors = list(parsed.errors)
    lines = text.split("\n") if isinstance(text, str) else []
    c = _Checker(m, lines)
    _declare(m, c, reserved)
    for step in (_check_inits, _check_equations, _check_directives, _check_blocks,
                 _check_clips, _check_outputs, _check_kind_rules):
        step(m, c)
    m.errors.sort(key=lambda err: (err.line, err.column))
    return m


def _guard(m: Model, fn, *args):
    try:
        return fn(*args)
    except ModelError as err:
        m.errors.append(err)
        return None


def _declare(m: Model, c: _Checker, reserved) -> None:
    for name, (helptext, dim) in BUILTINS.items():
        m.symbols[name] = Symbol(name, "builtin", dim, 1.0, "ms", "scalar", help=helptext)
    for name, u in U.UNITS.items():
        m.symbols[name] = Symbol(name, "unit", u.dim, u.scale, name, help=u.title)
    p = m.parsed
    allowed_roles = ("state",) if m.kind != "plasticity" else ("synapse", "pre", "post",
                                                               "weight")
    decls = [(d, "param") for d in p.params] + [(d, d.role) for d in p.variables] \
        + [(d, "input") for d in p.inputs]
    decls.sort(key=lambda x: (x[0].span.line, x[0].span.col))
    for d, role in decls:
        def one(d=d, role=role):
            if d.name in m.symbols:
                old = m.symbols[d.name]
                what = {"unit": "a unit", "builtin": "built in"}.get(old.role)
                if what:
                    raise ModelError.at(d.span, f"'{d.name}' is {what} ({old.help}); choose "
                                                "another name", d.name)
                raise ModelError.at(d.span, f"'{d.name}' is declared twice (first on line "
                                            f"{old.span.line})", d.name)
            if d.name in reserved:
                raise ModelError.at(d.span, f"'{d.name}' is a parameter of the node itself; "
                                            "choose another name", d.name)
            if d.name in FUNCTIONS or d.name in KEYWORDS:
                raise ModelError.at(d.span, f"'{d.name}' is reserved; choose another name",
                                    d.name)
            if d.name.startswith("__"):
                raise ModelError.at(d.span, "names may not start with '__'", d.name)
            if role == "param":
                m.symbols[d.name] = Symbol(d.name, "param", d.unit.dim, d.unit.scale,
                                           d.unit.text, "scalar" if m.kind == "plasticity"
                                           else "elem", help=d.help, span=d.span)
            elif role == "input":
                level = "scalar" if d.kind == "modulator" else "elem"
                if m.kind != "plasticity" and d.kind == "modulator":
                    raise ModelError.at(d.span, "a pool's inputs hold a value per neuron "
                                                "(current, value, events, spikes); modulator "
                                                "inputs belong to plasticity rules", d.name)
                if m.kind == "plasticity" and d.kind != "modulator":
                    raise ModelError.at(d.span, "a plasticity rule takes only modulator inputs "
                                                "(its pre and post spikes are implicit)", d.name)
                m.symbols[d.name] = Symbol(d.name, "input", d.unit.dim, d.unit.scale,
                                           d.unit.text, level, d.kind, d.help, d.span)
            else:
                if role not in allowed_roles:
                    raise ModelError.at(d.span, f"'{role}' variables belong to "
                                        f"{'plasticity rules' if m.kind != 'plasticity' else 'pools'}"
                                        f"; use {' / '.join(allowed_roles)}", role)
                dim = d.unit.dim if d.unit else None
                m.symbols[d.name] = Symbol(d.name, role, dim, 1.0,
                                           d.unit.text if d.unit else "", ROLE_LEVEL[role],
                                           help=d.help, span=d.span)
        _guard(m, one)


def _check_inits(m: Model, c: _Checker) -> None:
    seen = set()
    for v in m.parsed.variables:
        sym = m.symbols.get(v.name)
        if sym is None or sym.span is not v.span:
            continue

        def one(v=v, sym=sym):
            if v.init is None:
                return
            for n in walk(v.init):
                if isinstance(n, Name) and n.id in m.symbols \
                        and m.symbols[n.id].role in ROLE_LEVEL and n.id not in seen:
                    c.fail(n, f"an initial value can use only parameters and variables declared "
                              f"above it; '{n.id}' is not")
            c.allow_random = True
            try:
                info = c.infer(v.init)
            finally:
                c.allow_random = False
            if info.boolean:
                c.fail(v.init, "an initial value must be a number")
            if sym.dim is None:
                sym.dim = info.dim
                sym.unit = U.format_dim(info.dim).split(" (")[0]
            elif info.dim != sym.dim and not info.zero:
                c.fail(v.init, f"initial value of '{v.name}': the variable is {sym.unit}, the "
                               f"value is {U.format_dim(info.dim)}")
            if LEVELS[info.level] > LEVELS[sym.level]:
                c.fail(v.init, f"initial value of '{v.name}' varies "
                               f"{_LEVEL_WORDS[info.level]}")
        _guard(m, one)
        seen.add(v.name)
        if sym.dim is None:
            sym.dim = U.ONE
        scale = v.unit.scale if v.unit else 1.0
        m.var_dims[v.name] = (sym.dim, scale, sym.unit)


def _variable(m: Model, c: _Checker, name: str, span: Span, what: str) -> Symbol:
    sym = m.symbols.get(name)
    if sym is None:
        role = "state" if m.kind != "plasticity" else "synapse"
        raise ModelError.at(span, f"{what} '{name}' is not declared (declare it with "
                                  f"'{role} {name} = ...')", name)
    if sym.role not in ROLE_LEVEL:
        raise ModelError.at(span, f"'{name}' is a {sym.role}, not a variable: it cannot be "
                                  "changed", name)
    return sym


def _check_equations(m: Model, c: _Checker) -> None:
    for eq in m.parsed.equations:
        def one(eq=eq):
            sym = _variable(m, c, eq.var, eq.span, "the variable of")
            if eq.var in m.equations:
                raise ModelError.at(eq.span, f"d{eq.var}/dt is given twice", f"d{eq.var}/dt")
            m.equations[eq.var] = eq
            if eq.unless_refractory and m.kind != "neuron":
                raise ModelError.at(eq.span, "'unless refractory' needs a neuron with a "
                                             "refractory period", "unless refractory")
            c.expect(eq.expr, sym.dim / U.TIME, f"d{eq.var}/dt", sym.level)
        _guard(m, one)


def _check_directives(m: Model, c: _Checker) -> None:
    for d in m.parsed.directives:
        def one(d=d):
            if m.kind != "neuron":
                raise ModelError.at(d.span, f"'{d.kind}' belongs to neuron pools", d.kind)
            if (m.threshold if d.kind == "threshold" else m.refractory) is not None:
                raise ModelError.at(d.span, f"'{d.kind}' is given twice", d.kind)
            if d.kind == "threshold":
                info = c.infer(d.expr)
                if not info.boolean:
                    c.fail(d.expr, f"the threshold must be a condition such as 'v > v_th'; "
                                   f"{c.show(d.expr, info)}")
                m.threshold = d.expr
            else:
                c.expect(d.expr, U.TIME, "refractory period")
                m.refractory = d.expr
        _guard(m, one)


_BLOCK_KINDS = {"neuron": ("reset",), "synapse": (), "plasticity": ("on_pre", "on_post",
                                                                    "on_step")}
_TARGETS = {"on_pre": ("pre", "syn"), "on_post": ("post", "syn"),
            "on_step": ("pre", "post", "syn")}


def _check_blocks(m: Model, c: _Checker) -> None:
    for b in m.parsed.blocks:
        def header(b=b):
            if b.event in m.blocks:
                raise ModelError.at(b.span, f"'{b.event}:' is given twice", b.event)
            if b.event.startswith("on "):
                name, _, phase = b.event[3:].partition(" after ")
                if phase == "threshold" and m.threshold is None:
                    raise ModelError.at(b.span, "'after threshold' needs a 'threshold:'",
                                        b.event)
                sym = m.symbols.get(name)
                if m.kind == "plasticity":
                    raise ModelError.at(b.span, "a plasticity rule reacts with on_pre:, "
                                                "on_post: and on_step:", b.event)
                if sym is None or sym.role != "input" or sym.kind not in ("events", "spikes"):
                    raise ModelError.at(b.span, f"'on {name}:' needs an events or spikes input "
                                        f"'{name}' (declare 'input {name} : mV events')", name)
            elif b.event not in _BLOCK_KINDS[m.kind]:
                raise ModelError.at(b.span, f"'{b.event}:' does not belong to a {m.kind} "
                                            "model", b.event)
            m.blocks[b.event] = b
            return True
        if not _guard(m, header):
            continue
        c.event_input = b.event[3:].partition(" ")[0] if b.event.startswith("on ") else None
        try:
            for st in b.statements:
                _guard(m, _statement, m, c, b, st)
        finally:
            c.event_input = None
    if "reset" in m.blocks and m.threshold is None:
        m.errors.append(ModelError.at(m.blocks["reset"].span, "'reset:' needs a 'threshold:'",
                                      "reset"))
    if m.refractory is not None and m.threshold is None:
        m.errors.append(ModelError(0, 0, 0, "'refractory:' needs a 'threshold:'"))


def _statement(m: Model, c: _Checker, b: Block, st) -> None:
    sym = _variable(m, c, st.target, st.span, "assigned variable")
    allowed = _TARGETS.get(b.event)
    if allowed and sym.level not in allowed:
        raise ModelError.at(st.span, f"'{st.target}' holds one value "
                            f"{_LEVEL_WORDS[sym.level]}: {b.event} may change only "
                            f"{' and '.join(_LEVEL_WORDS[a][4:] for a in allowed)} variables",
                            st.target)
    what = f"{b.event}: {st.target} {st.op}"
    if st.op in ("*=", "/="):
        c.expect(st.expr, U.ONE, what, sym.level)
    else:
        c.expect(st.expr, sym.dim, what, sym.level)


def _check_clips(m: Model, c: _Checker) -> None:
    for cl in m.parsed.clips:
        def one(cl=cl):
            sym = _variable(m, c, cl.var, cl.span, "clipped variable")
            if cl.var in m.clips:
                raise ModelError.at(cl.span, f"'{cl.var}' is clipped twice", cl.var)
            for e in (cl.lo, cl.hi):
                c.expect(e, sym.dim, f"bound of '{cl.var}'", "scalar")
            m.clips[cl.var] = cl
        _guard(m, one)


def _check_outputs(m: Model, c: _Checker) -> None:
    names = set()
    for o in m.parsed.outputs:
        def one(o=o):
            if m.kind == "plasticity":
                raise ModelError.at(o.span, "a plasticity rule has one output, 'events' "
                                            "(the spikes weighted by its weight variable)", o.name)
            if o.name in names or (o.name == "spikes" and m.threshold is not None):
                raise ModelError.at(o.span, f"output '{o.name}' is declared twice"
                                    + (" ('spikes' comes with the threshold)"
                                       if o.name == "spikes" else ""), o.name)
            if o.name in m.symbols and m.symbols[o.name].role == "input":
                raise ModelError.at(o.span, f"'{o.name}' is an input", o.name)
            names.add(o.name)
            if o.expr is None:
                sym = m.symbols.get(o.name)
                if sym is None or sym.role not in ROLE_LEVEL:
                    raise ModelError.at(o.span, f"output '{o.name}' is not a variable: declare "
                                        f"it, or give its value ('output {o.name} = ...')",
                                        o.name)
            else:
                if o.name in m.symbols and m.symbols[o.name].span is not None:
                    raise ModelError.at(o.span, f"'{o.name}' is already declared; an output "
                                        "with a value needs a new name", o.name)
                info = c.infer(o.expr)
                if info.boolean:
                    c.fail(o.expr, "an output must be a number")
        _guard(m, one)


def _check_kind_rules(m: Model, c: _Checker) -> None:
    p = m.parsed
    if m.kind == "plasticity":
        _check_shared_targets(m)
        weights = [v for v in p.variables if v.role == "weight"]
        if len(weights) != 1:
            span = weights[1].span if len(weights) > 1 else None
            m.errors.append(ModelError.at(span, "a plasticity rule declares exactly one "
                                                "transmitted variable: 'weight w : mV'"))
    elif m.kind == "synapse" and not p.outputs and not p.errors:
        m.errors.append(ModelError(0, 0, 0, "a synapse model needs an output, e.g. "
                                            "'output I_syn : current'"))
    if m.kind != "plasticity":
        for v in p.variables:
            if v.init is None and v.role == "state":
                m.errors.append(ModelError.at(v.span, f"'{v.name}' needs an initial value "
                                                      f"('state {v.name} = ...')", v.name))


def _check_shared_targets(m: Model) -> None:
    """on_pre and on_post run on the same values and their changes are added: a variable both
    change must be changed by increments (+=, -=) only."""
    pre, post = m.blocks.get("on_pre"), m.blocks.get("on_post")
    if pre is None or post is None:
        return
    for st in pre.statements + post.statements:
        other = post if st in pre.statements else pre
        if st.op not in ("+=", "-=") and any(o.target == st.target for o in other.statements):
            m.errors.append(ModelError.at(st.span, f"'{st.target}' is changed in both on_pre "
                                          "and on_post: use += or -= there (their changes are "
                                          "added)", st.target))
