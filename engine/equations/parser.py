"""Tokenizer and parser of the model text: text -> ``Parsed`` (declarations and expression trees).

A hand-written tokenizer and recursive-descent parser, not Python's ``ast``: the language is not
Python (``20 ms``, ``dv/dt = ...``, ``reset:`` blocks), every node must carry its line and
columns for the editor, and the limits (text length, nesting depth) are enforced while reading,
so a hostile text cannot exhaust the stack or memory before it is refused. Nothing here runs any
part of the text: the result is plain data that check.py checks and translate.py turns into
jax.numpy calls from a fixed table.

Each line is parsed on its own, so one bad line yields one error and the others are still read
(the editor shows them all).
"""
from __future__ import annotations

import math
import re

from . import units as U
from .syntax import (MAX_DECLS, MAX_DEPTH, MAX_LINE, MAX_LINES, MAX_NAME, MAX_TEXT, Binary,
                     Block, Call, Clip, Directive, Equation, Expr, InputDecl, ModelError, Name,
                     Num, OutputDecl, ParamDecl, Parsed, Quantity, Span, Statement, Token, Unary,
                     UnitSpec, VarDecl)

KEYWORDS = {"and", "or", "not", "in", "unless", "refractory", "inf", "true", "false"}
DECL_WORDS = ("param", "state", "synapse", "pre", "post", "weight", "input", "output")
BLOCKS = ("reset", "on_pre", "on_post", "on_step")
DIRECTIVES = ("threshold", "refractory", "clip")
PHASES = ("integration", "threshold")  # "on NAME after PHASE:" (default: the start of the step)
INPUT_KINDS = ("current", "value", "events", "spikes", "modulator")
OUTPUT_KINDS = ("value", "current", "events")
ASSIGN_OPS = ("=", "+=", "-=", "*=", "/=")
_OPS = ["**", "+=", "-=", "*=", "/=", "<=", ">=", "==", "!=", "+", "-", "*", "/", "^", "(", ")",
        ",", ":", ";", "=", "<", ">", "[", "]"]
_NUM = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- tokens -------------------------------------------------------------------------------------
def tokenize(text: str, line: int, offset: int = 0) -> list[Token]:
    """Tokens of one line (comment already removed); columns are 1-based."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        col = offset + i + 1
        m = _NUM.match(text, i)
        if m and (c.isdigit() or c == "."):
            s = m.group(0)
            v = float(s)
            if not math.isfinite(v):
                raise ModelError(line, col, col + len(s), f"number {s} is too large", s)
            out.append(Token("num", s, Span(line, col, col + len(s)), v))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            s = m.group(0)
            if len(s) > MAX_NAME:
                raise ModelError(line, col, col + len(s), f"name longer than {MAX_NAME} "
                                 "characters", s[:MAX_NAME] + "...")
            out.append(Token("name", s, Span(line, col, col + len(s))))
            i = m.end()
            continue
        for op in _OPS:
            if text.startswith(op, i):
                out.append(Token("op", "^" if op == "**" else op,
                                 Span(line, col, col + len(op))))
                i += len(op)
                break
        else:
            shown = c if c.isprintable() else repr(c)
            raise ModelError(line, col, col + 1, f"unexpected character {shown!r}", shown)
    end = offset + n + 1
    out.append(Token("end", "", Span(line, end, end)))
    return out


class _Reader:
    """Recursive-descent reader over one line's tokens."""

    def __init__(self, tokens: list[Token], source: str):
        self.toks = tokens
        self.i = 0
        self.depth = 0
        self.source = source  # the whole line, for terms in messages

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> Token:
        t = self.toks[self.i]
        if t.kind != "end":
            self.i += 1
        return t

    def at(self, *texts: str) -> bool:
        return self.tok.kind in ("op", "name") and self.tok.text in texts

    def expect(self, text: str, what: str = "") -> Token:
        if not self.at(text):
            raise self.error(f"expected '{text}'{(' ' + what) if what else ''}")
        return self.take()

    def name(self, what: str) -> Token:
        t = self.tok
        if t.kind != "name" or t.text in KEYWORDS:
            raise self.error(f"expected {what}")
        return self.take()

    def error(self, message: str, tok: Token | None = None) -> ModelError:
        t = tok or self.tok
        if t.kind == "end":
            return ModelError.at(t.span, message + ", found the end of the line")
        return ModelError.at(t.span, f"{message}, found '{t.text}'", t.text)

    def done(self) -> None:
        if self.tok.kind != "end":
            raise self.error("unexpected text")

    def term(self, span: Span) -> str:
        return self.source[span.col - 1:span.end - 1]

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ModelError.at(self.tok.span, f"expression nested deeper than {MAX_DEPTH} levels")

    # -- expressions -----------------------------------------------------------------------------
    def expr(self) -> Expr:
        self._enter()
        try:
            return self._or()
        finally:
            self.depth -= 1

    def _binary(self, ops, sub) -> Expr:
        left = sub()
        while self.at(*ops):
            op = self.take().text
            right = sub()
            left = Binary(Span(left.span.line, left.span.col, right.span.end), op, left, right)
        return left

    def _or(self):
        return self._binary(("or",), self._and)

    def _and(self):
        return self._binary(("and",), self._not)

    def _not(self):
        if self.at("not"):
            t = self.take()
            self._enter()
            try:
                inner = self._not()
            finally:
                self.depth -= 1
            return Unary(Span(t.span.line, t.span.col, inner.span.end), "not", inner)
        return self._compare()

    def _compare(self):
        left = self._sum()
        if self.at("<", "<=", ">", ">=", "==", "!="):
            op = self.take().text
            right = self._sum()
            left = Binary(Span(left.span.line, left.span.col, right.span.end), op, left, right)
            if self.at("<", "<=", ">", ">=", "==", "!="):
                raise self.error("comparisons cannot be chained (write 'a < b and b < c')")
        return left

    def _sum(self):
        return self._binary(("+", "-"), self._product)

    def _product(self):
        return self._binary(("*", "/"), self._unary)

    def _unary(self):
        if self.at("-", "+"):
            t = self.take()
            self._enter()
            try:
                inner = self._unary()
            finally:
                self.depth -= 1
            return Unary(Span(t.span.line, t.span.col, inner.span.end), t.text, inner)
        return self._power()

    def _power(self):
        base = self._atom()
        if self.at("^"):
            self.take()
            self._enter()
            try:
                exp = self._unary()  # right-associative; 2^-1 is allowed
            finally:
                self.depth -= 1
            return Binary(Span(base.span.line, base.span.col, exp.span.end), "^", base, exp)
        return base

    def _atom(self) -> Expr:
        t = self.tok
        if t.kind == "num":
            self.take()
            if self.tok.kind == "name" and self.tok.text in U.UNITS:
                unit = self.unit()
                return Quantity(Span(t.span.line, t.span.col, self.toks[self.i - 1].span.end),
                                t.value, unit)
            return Num(t.span, t.value)
        if t.kind == "name" and t.text not in KEYWORDS - {"inf", "true", "false"}:
            self.take()
            if self.at("("):
                self.take()
                self._enter()
                try:
                    args = []
                    if not self.at(")"):
                        args.append(self.expr())
                        while self.at(","):
                            self.take()
                            args.append(self.expr())
                    close = self.expect(")", "to close the call")
                finally:
                    self.depth -= 1
                return Call(Span(t.span.line, t.span.col, close.span.end), t.text, tuple(args))
            return Name(t.span, t.text)
        if self.at("("):
            self.take()
            inner = self.expr()
            self.expect(")", "to close '('")
            return inner
        raise self.error("expected a number, a name or '('")

    # -- units -----------------------------------------------------------------------------------
    def unit(self) -> UnitSpec:
        """A unit: ``mV``, ``mV/ms``, ``1/ms``, ``nA*Mohm``, ``mV^2``; ``1`` is dimensionless."""
        start = self.tok
        dim, scale = U.ONE, 1.0
        if self.tok.kind == "num" and self.tok.value == 1.0:
            self.take()
        elif self.at("/"):
            pass  # "/ms" after a number: the numerator is 1
        else:
            dim, scale = self._unit_factor()
        while self.at("*", "/") and (self.peek().text in U.UNITS):
            op = self.take().text
            d, s = self._unit_factor()
            dim, scale = (dim * d, scale * s) if op == "*" else (dim / d, scale / s)
        end = self.toks[self.i - 1].span.end
        text = self.source[start.span.col - 1:end - 1].replace(" ", "")
        return UnitSpec("1" + text if text.startswith("/") else text, dim, scale)

    def _unit_factor(self):
        t = self.tok
        if t.kind != "name" or t.text not in U.UNITS:
            raise self.error("expected a unit (e.g. mV, ms, nS, pF, Hz, 1)")
        self.take()
        u = U.UNITS[t.text]
        if self.at("^"):
            self.take()
            sign = -1.0 if self.at("-") else 1.0
            if self.at("-", "+"):
                self.take()
            if self.tok.kind != "num" or self.tok.value != int(self.tok.value) \
                    or self.tok.value > 8:
                raise self.error("expected a whole power of at most 8")
            n = sign * self.take().value
            return u.dim ** n, u.scale ** n
        return u.dim, u.scale

    def signed_number(self, what: str) -> float:
        sign = 1.0
        if self.at("-", "+"):
            sign = -1.0 if self.take().text == "-" else 1.0
        if self.at("inf"):
            self.take()
            return sign * math.inf
        if self.tok.kind != "num":
            raise self.error(f"expected {what}")
        return sign * self.take().value


# --- lines --------------------------------------------------------------------------------------
def split_comment(line: str) -> tuple[str, str]:
    i = line.find("#")
    return (line, "") if i < 0 else (line[:i], line[i + 1:].strip())


def parse(text: str) -> Parsed:
    """Parse a whole model text. Never raises for bad text: problems go to ``Parsed.errors``."""
    out = Parsed()
    if not isinstance(text, str):
        out.errors.append(ModelError(0, 0, 0, "the model text must be a string"))
        return out
    if len(text) > MAX_TEXT:
        out.errors.append(ModelError(0, 0, 0, f"the model text is longer than {MAX_TEXT} "
                                              f"characters ({len(text)})"))
        return out
    lines = text.split("\n")
    if len(lines) > MAX_LINES:
        out.errors.append(ModelError(0, 0, 0, f"the model text has more than {MAX_LINES} lines"))
        return out
    block: Block | None = None
    for ln, raw in enumerate(lines, start=1):
        raw = raw.rstrip("\r")
        if len(raw) > MAX_LINE:
            out.errors.append(ModelError(ln, 1, len(raw) + 1,
                                         f"line longer than {MAX_LINE} characters"))
            continue
        code, comment = split_comment(raw)
        bad = next((i for i, c in enumerate(code) if ord(c) > 126 or (ord(c) < 32 and c != "\t")),
                   None)
        if bad is not None:
            ch = code[bad]
            out.errors.append(ModelError(ln, bad + 1, bad + 2, f"unexpected character {ch!r} "
                                         "(only ASCII outside comments)", ch))
            continue
        if not code.strip():
            continue
        indented = code[0] in " \t"
        try:
            toks = tokenize(code, ln)
            r = _Reader(toks, code)
            if indented and block is not None:
                _statements(r, block)
                continue
            block = None
            block = _line(r, out, comment)
        except ModelError as err:
            out.errors.append(err)
            if not indented:
                block = None
        if len(out.declared()) > MAX_DECLS:
            out.errors.append(ModelError(ln, 1, 2, f"more than {MAX_DECLS} declarations"))
            break
    return out


def _line(r: _Reader, out: Parsed, help_text: str) -> Block | None:
    """Parse one top-level line into ``out``; returns the block it opens, if any."""
    t = r.tok
    if t.kind != "name":
        raise r.error("expected a declaration, an equation 'dx/dt = ...' or a block")
    word = t.text
    if word.startswith("d") and r.peek().text == "/" and r.peek(2).text == "dt" \
            and r.peek(3).text == "=":
        return _equation(r, out)
    if word in DECL_WORDS and r.peek().kind == "name":
        r.take()
        {"param": _param, "input": _input, "output": _output}.get(word, _variable)(
            r, out, help_text, word)
        return None
    if word in BLOCKS or (word == "on" and r.peek().kind == "name"):
        r.take()
        event = word
        if word == "on":
            event = "on " + r.name("an input name after 'on'").text
            if r.at("after"):
                r.take()
                if not r.at(*PHASES):
                    raise r.error("expected 'after integration' or 'after threshold'")
                event += " after " + r.take().text
        r.expect(":", f"after '{event}'")
        block = Block(event, [], t.span)
        out.blocks.append(block)
        if r.tok.kind != "end":
            _statements(r, block)
        return block
    if word in ("threshold", "refractory") and r.peek().text == ":":
        r.take()
        r.take()
        e = r.expr()
        r.done()
        out.directives.append(Directive(word, e, t.span))
        return None
    if word == "clip" and r.peek().kind == "name":
        r.take()
        var = r.name("a variable name")
        r.expect("in")
        r.expect("[")
        lo = r.expr()
        r.expect(",")
        hi = r.expr()
        r.expect("]")
        r.done()
        out.clips.append(Clip(var.text, lo, hi, var.span))
        return None
    if r.peek().text in ASSIGN_OPS:
        raise r.error("a statement must be inside a block (reset:, on NAME:, on_pre:, "
                      "on_post:, on_step:); indent it under the block's header", r.peek())
    known = ", ".join(DECL_WORDS + BLOCKS + DIRECTIVES)
    raise ModelError.at(t.span, f"unknown line start '{word}' (expected dx/dt = ..., or one of: "
                                f"{known}, on NAME)", word)


def _equation(r: _Reader, out: Parsed) -> None:
    lhs = r.take()
    r.take()
    end = r.take()
    r.take()  # "="
    e = r.expr()
    unless = False
    if r.at("unless"):
        r.take()
        r.expect("refractory", "after 'unless'")
        unless = True
    r.done()
    out.equations.append(Equation(lhs.text[1:], e, unless,
                                  Span(lhs.span.line, lhs.span.col, end.span.end)))


def _statements(r: _Reader, block: Block) -> None:
    while True:
        target = r.name("a variable to assign")
        if not r.at(*ASSIGN_OPS):
            raise r.error("expected '=', '+=', '-=', '*=' or '/='")
        op = r.take().text
        e = r.expr()
        block.statements.append(Statement(target.text, op, e, target.span))
        if r.at(";"):
            r.take()
            if r.tok.kind == "end":
                return
            continue
        r.done()
        return


def _param(r: _Reader, out: Parsed, help_text: str, _word: str) -> None:
    name = r.name("a parameter name")
    unit = None
    if r.at(":"):
        r.take()
        unit = r.unit()
    r.expect("=", "and a default value")
    value = r.signed_number("a number (a parameter's default is a number, not an expression)")
    if math.isinf(value):
        raise r.error("a parameter's default must be finite")
    if r.tok.kind == "name" and r.tok.text in U.UNITS or r.at("/"):
        written = r.unit()
        if unit is not None and (written.dim != unit.dim or written.scale != unit.scale):
            raise ModelError.at(name.span, f"'{name.text}' is declared in {unit.text} but its "
                                f"default is written in {written.text}", name.text)
        unit = written
    unit = unit or UnitSpec("1", U.ONE, 1.0)
    lo = hi = None
    lo_open = hi_open = False
    if r.at("in"):
        r.take()
        if not r.at("[", "("):
            raise r.error("expected a range such as [0, 100] or (0, inf)")
        lo_open = r.take().text == "("
        lo = r.signed_number("the lower bound")
        _same_unit(r, unit)
        r.expect(",")
        hi = r.signed_number("the upper bound")
        _same_unit(r, unit)
        if not r.at("]", ")"):
            raise r.error("expected ']' or ')' to close the range")
        hi_open = r.take().text == ")"
        lo = None if lo == -math.inf else lo
        hi = None if hi == math.inf else hi
        if lo is not None and hi is not None and lo > hi:
            raise ModelError.at(name.span, f"the range of '{name.text}' is empty", name.text)
    r.done()
    out.params.append(ParamDecl(name.text, value, unit, lo, hi, lo_open, hi_open, help_text,
                                name.span))


def _same_unit(r: _Reader, unit: UnitSpec) -> None:
    if r.tok.kind == "name" and r.tok.text in U.UNITS:
        written = r.unit()
        if written.dim != unit.dim or written.scale != unit.scale:
            raise r.error(f"a range is written in the parameter's unit ({unit.text})",
                          r.toks[r.i - 1])


def _variable(r: _Reader, out: Parsed, help_text: str, role: str) -> None:
    name = r.name("a variable name")
    unit = None
    if r.at(":"):
        r.take()
        unit = r.unit()
    init = None
    if role != "weight":
        if r.at("="):
            r.take()
            init = r.expr()
        elif unit is None:
            raise r.error(f"expected ': UNIT' or '= initial value' after '{name.text}'")
    r.done()
    out.variables.append(VarDecl(role, name.text, unit, init, help_text, name.span))


def _input(r: _Reader, out: Parsed, help_text: str, _word: str) -> None:
    name = r.name("an input name")
    unit = UnitSpec("1", U.ONE, 1.0)
    if r.at(":"):
        r.take()
        unit = r.unit()
    if r.tok.kind != "name" or r.tok.text not in INPUT_KINDS:
        raise r.error(f"expected the input's kind ({', '.join(INPUT_KINDS)})")
    kind = r.take().text
    r.done()
    out.inputs.append(InputDecl(name.text, unit, kind, help_text, name.span))


def _output(r: _Reader, out: Parsed, help_text: str, _word: str) -> None:
    name = r.name("an output name")
    kind = "value"
    if r.at(":"):
        r.take()
        if r.tok.kind != "name" or r.tok.text not in OUTPUT_KINDS:
            raise r.error(f"expected the output's kind ({', '.join(OUTPUT_KINDS)})")
        kind = r.take().text
    expr = None
    if r.at("="):
        r.take()
        expr = r.expr()
    r.done()
    out.outputs.append(OutputDecl(name.text, kind, expr, help_text, name.span))
