"""The model text as data: limits, tokens, the expression tree and the declarations (parser.py
reads a text into these; nothing here runs anything).

Every node records where it came from (line, first column, column after the last character, all
1-based) so that a problem can be shown on its line and under its term.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# --- limits (a text past them is refused before anything else is done) ----------------------
MAX_TEXT = 20_000      # characters in a model text
MAX_LINES = 400
MAX_LINE = 400         # characters in one line
MAX_DEPTH = 40         # nesting of parentheses, function calls and unary operators
MAX_NAME = 64          # characters in a name
MAX_DECLS = 200        # declarations (parameters, variables, ports)
MAX_POWER = 16         # |exponent| of a power of a quantity with a unit


@dataclass(frozen=True)
class Span:
    line: int
    col: int
    end: int


@dataclass
class ModelError(Exception):
    """A problem in a model text: 1-based line and columns (``end`` is exclusive), the offending
    term as written, and the message. ``line`` 0 means the whole text."""

    line: int
    column: int
    end_column: int
    message: str
    term: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        return where + self.message

    @classmethod
    def at(cls, span: Span | None, message: str, term: str = "") -> "ModelError":
        if span is None:
            return cls(0, 0, 0, message, term)
        return cls(span.line, span.col, span.end, message, term)


@dataclass(frozen=True)
class Token:
    kind: str      # "num", "name", "op", "end"
    text: str
    span: Span
    value: float = 0.0


# --- expressions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expr:
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Num(Expr):
    value: float = 0.0


@dataclass(frozen=True)
class Quantity(Expr):
    """A number with a unit written after it (``20 ms``): ``value`` as written, the unit's
    internal scale and dimension."""

    value: float = 0.0
    unit: object = None    # a UnitSpec


@dataclass(frozen=True)
class Name(Expr):
    id: str = ""


@dataclass(frozen=True)
class Unary(Expr):
    op: str = "-"          # "-", "+", "not"
    operand: Expr = None


@dataclass(frozen=True)
class Binary(Expr):
    op: str = "+"          # + - * / ^ < <= > >= == != and or
    left: Expr = None
    right: Expr = None


@dataclass(frozen=True)
class Call(Expr):
    func: str = ""
    args: tuple = ()


@dataclass(frozen=True)
class UnitSpec:
    """A unit as written (``mV/ms``), its dimension and internal scale."""

    text: str
    dim: object
    scale: float


PRECEDENCE = {"or": 1, "and": 2, "not": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "==": 4, "!=": 4,
              "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "^": 8}


def unparse(e: Expr) -> str:
    """The expression written back as text (fully determined by the tree; parses to it again)."""
    if isinstance(e, Num):
        return _num(e.value)
    if isinstance(e, Quantity):
        return f"{_num(e.value)} {e.unit.text}"
    if isinstance(e, Name):
        return e.id
    if isinstance(e, Call):
        return f"{e.func}({', '.join(unparse(a) for a in e.args)})"
    if isinstance(e, Unary):
        inner = _wrap(e.operand, PRECEDENCE["not" if e.op == "not" else "neg"], right=True)
        return f"not {inner}" if e.op == "not" else f"{e.op}{inner}"
    if isinstance(e, Binary):
        p = PRECEDENCE[e.op]
        if e.op == "^":  # right-associative
            return f"{_wrap(e.left, p + 1)} ^ {_wrap(e.right, p)}"
        left = _wrap(e.left, p + 1 if p == 4 else p)  # comparisons do not chain
        if isinstance(e.left, Quantity) and e.op in "*/":
            left = f"({left})"  # "2 mV / ms" would read as the unit mV/ms
        return f"{left} {e.op} {_wrap(e.right, p + 1)}"
    raise TypeError(type(e).__name__)  # pragma: no cover


def _num(v: float) -> str:
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") and "e" not in text else text


def _prec(e: Expr) -> int:
    if isinstance(e, Binary):
        return PRECEDENCE[e.op]
    if isinstance(e, Unary):
        return PRECEDENCE["not" if e.op == "not" else "neg"]
    if isinstance(e, (Num, Quantity)) and (e.value < 0 or isinstance(e, Quantity)):
        return PRECEDENCE["neg"]
    return 99


def _wrap(e: Expr, need: int, right: bool = False) -> str:
    text = unparse(e)
    return f"({text})" if _prec(e) < need else text


def walk(e: Expr):
    """Every node of ``e``, parents before children."""
    yield e
    if isinstance(e, Unary):
        yield from walk(e.operand)
    elif isinstance(e, Binary):
        yield from walk(e.left)
        yield from walk(e.right)
    elif isinstance(e, Call):
        for a in e.args:
            yield from walk(a)


def names_in(e: Expr) -> set[str]:
    return {n.id for n in walk(e) if isinstance(n, Name)}


# --- declarations -------------------------------------------------------------------------------
@dataclass
class ParamDecl:
    name: str
    value: float
    unit: UnitSpec
    lo: float | None
    hi: float | None
    lo_open: bool
    hi_open: bool
    help: str
    span: Span


@dataclass
class VarDecl:
    """A variable: role ``state`` (pools), ``synapse``/``pre``/``post``/``weight`` (plasticity)."""

    role: str
    name: str
    unit: UnitSpec | None      # None: taken from the initial value
    init: Expr | None
    help: str
    span: Span


@dataclass
class InputDecl:
    name: str
    unit: UnitSpec
    kind: str
    help: str
    span: Span


@dataclass
class OutputDecl:
    name: str
    kind: str
    expr: Expr | None          # None: the variable of that name
    help: str
    span: Span


@dataclass
class Equation:
    var: str
    expr: Expr
    unless_refractory: bool
    span: Span                 # the left side "dv/dt"


@dataclass
class Statement:
    target: str
    op: str
    expr: Expr
    span: Span                 # the target


@dataclass
class Block:
    event: str                 # "reset", "on_pre", "on_post", "on_step" or "on NAME"
    statements: list
    span: Span


@dataclass
class Directive:
    kind: str                  # "threshold", "refractory"
    expr: Expr
    span: Span


@dataclass
class Clip:
    var: str
    lo: Expr
    hi: Expr
    span: Span


@dataclass
class Parsed:
    """Everything read from a model text, in text order, and the errors met."""

    params: list = field(default_factory=list)
    variables: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    equations: list = field(default_factory=list)
    blocks: list = field(default_factory=list)
    directives: list = field(default_factory=list)
    clips: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def declared(self) -> list:
        return self.params + self.variables + self.inputs
