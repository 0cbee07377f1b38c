"""Units of the model text: a small dimension algebra, checked on the expression tree.

A dimension is a vector of rational exponents over five base dimensions: time, voltage, current,
length and amount of substance. Every quantity is computed in ONE coherent internal system,
chosen so that Spark's usual units have scale 1: ms, mV and nA. The derived internal units
follow from them: conductance uS (nA/mV), capacitance nF (nA ms/mV), resistance MOhm (mV/nA),
frequency kHz (1/ms); length um, amount amol (so that concentration mM is 1). Single-letter
symbols (s, V, A, S, F, C) are not units here, so that they stay free as variable names
(``C`` for a capacitance): write ``second``, ``volt``, ``amp``... or a prefixed unit. So ``20 ms``, ``-65 mV``
and ``0.5 nA`` are 20, -65 and 0.5 internally, ``281 pF`` is 0.281 and ``30 nS`` is 0.03.

Why not pint, brainunit, unyt or quantities (see the README): the check runs once, on the parsed
tree, before anything is computed; it has to name the line and the term at fault and to fold
unit scales into constants, and every unit the text may use is a reserved name the editor can
complete. A package would carry values with units at run time (which the compiled step must
not) and its own unit-string parser; the algebra needed here is about 150 lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

BASE = ("time", "voltage", "current", "length", "amount")
# how each base dimension is written in messages (the internal unit of that dimension)
BASE_SYMBOL = ("ms", "mV", "nA", "um", "amol")


@dataclass(frozen=True)
class Dim:
    """A physical dimension: rational exponents over ``BASE``."""

    exps: tuple = (0, 0, 0, 0, 0)

    def __mul__(self, other: "Dim") -> "Dim":
        return Dim(tuple(a + b for a, b in zip(self.exps, other.exps)))

    def __truediv__(self, other: "Dim") -> "Dim":
        return Dim(tuple(a - b for a, b in zip(self.exps, other.exps)))

    def __pow__(self, n) -> "Dim":
        f = Fraction(n).limit_denominator(1000)
        return Dim(tuple(a * f for a in self.exps))

    @property
    def dimensionless(self) -> bool:
        return not any(self.exps)

    def __str__(self) -> str:
        return format_dim(self)


ONE = Dim()
TIME = Dim((1, 0, 0, 0, 0))
VOLTAGE = Dim((0, 1, 0, 0, 0))
CURRENT = Dim((0, 0, 1, 0, 0))
LENGTH = Dim((0, 0, 0, 1, 0))
AMOUNT = Dim((0, 0, 0, 0, 1))
CONDUCTANCE = CURRENT / VOLTAGE
CAPACITANCE = CURRENT * TIME / VOLTAGE
RESISTANCE = VOLTAGE / CURRENT
CHARGE = CURRENT * TIME
FREQUENCY = ONE / TIME
CONCENTRATION = AMOUNT / LENGTH ** 3

NAMED_DIMS = {CONDUCTANCE: "conductance", CAPACITANCE: "capacitance",
              RESISTANCE: "resistance", CHARGE: "charge", CONCENTRATION: "concentration"}


def _power(sym: str, e: Fraction) -> str:
    e = Fraction(e)
    if e == 1:
        return sym
    return f"{sym}^{e}" if e.denominator == 1 else f"{sym}^({e})"


def format_dim(d: Dim) -> str:
    """Write a dimension in the internal units, e.g. ``mV/ms``, ``1/ms``, ``nA/mV`` or ``1``."""
    num = [_power(s, e) for s, e in zip(BASE_SYMBOL, d.exps) if e > 0]
    den = [_power(s, -e) for s, e in zip(BASE_SYMBOL, d.exps) if e < 0]
    top = "*".join(num) or "1"
    if not den:
        text = top
    elif len(den) == 1:
        text = f"{top}/{den[0]}"
    else:
        text = f"{top}/({'*'.join(den)})"
    name = NAMED_DIMS.get(d)
    return f"{text} ({name})" if name else text


@dataclass(frozen=True)
class Unit:
    """A named unit: its dimension and its value in the internal system."""

    name: str
    dim: Dim
    scale: float
    title: str


def _table() -> dict[str, Unit]:
    out: dict[str, Unit] = {}

    def add(name, dim, scale, title):
        out[name] = Unit(name, dim, float(scale), title)

    prefixes = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3, "u": 1e-6, "n": 1e-9,
                "p": 1e-12, "f": 1e-15}
    # (symbol, long name, dimension, value of 1 SI unit in the internal system, prefixes)
    si = [
        ("s", "second", TIME, 1e3, "mun"),
        ("V", "volt", VOLTAGE, 1e3, "mu"),
        ("A", "ampere", CURRENT, 1e9, "munpf"),
        ("S", "siemens", CONDUCTANCE, 1e6, "munp"),
        ("F", "farad", CAPACITANCE, 1e9, "munpf"),
        ("ohm", "ohm", RESISTANCE, 1e-6, "kMG"),
        ("Hz", "hertz", FREQUENCY, 1e-3, "k"),
        ("C", "coulomb", CHARGE, 1e12, "munpf"),
    ]
    for sym, long, dim, scale, pre in si:
        if len(sym) > 1:  # single letters (s, V, A, S, F, C) stay free for variable names
            add(sym, dim, scale, long)
        add(long, dim, scale, long)
        for p in pre:
            add(p + sym, dim, scale * prefixes[p], f"{'' if not p else _PREFIX_NAMES[p]}{long}")
    add("amp", CURRENT, 1e9, "ampere")
    add("metre", LENGTH, 1e6, "metre")
    for p in ("c", "m", "u", "n"):
        add(p + "m", LENGTH, 1e6 * {"c": 1e-2, "m": 1e-3, "u": 1e-6, "n": 1e-9}[p],
            f"{_PREFIX_NAMES[p]}metre")
    add("mol", AMOUNT, 1e18, "mole")
    add("mmol", AMOUNT, 1e15, "millimole")
    add("umol", AMOUNT, 1e12, "micromole")
    # molar: mol per litre; 1 litre = 1e15 um^3, so 1 mM is 1 amol/um^3 = 1 internally
    for sym, scale in (("mM", 1e-3), ("uM", 1e-6), ("nM", 1e-9)):
        add(sym, CONCENTRATION, 1e18 * scale / 1e15, f"{_PREFIX_NAMES[sym[0]]}molar")
    return out


_PREFIX_NAMES = {"k": "kilo", "M": "mega", "G": "giga", "m": "milli", "u": "micro", "n": "nano",
                 "p": "pico", "f": "femto", "c": "centi"}

UNITS: dict[str, Unit] = _table()
