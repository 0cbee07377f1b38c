"""The whitelist of functions a model text may call, with their unit rules.

Nothing else can be called: a name followed by ``(`` that is not in ``FUNCTIONS`` is an error.
Each entry maps to a jax.numpy (in the step) or NumPy (at initialisation) function chosen here,
never looked up from the text.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# unit rules: how the result's dimension follows from the arguments'
DIMENSIONLESS = "dimensionless"   # every argument dimensionless, result dimensionless
SAME = "same"                     # every argument of one unit, result of that unit
SQRT = "sqrt"                     # one argument, result has half its exponents
WHERE = "where"                   # (condition, a, b): a and b of one unit
RANDOM = "random"                 # (a, b) of one unit; initial values only


@dataclass(frozen=True)
class Function:
    name: str
    arity: int
    rule: str
    help: str


_DEFS = [
    ("exp", 1, DIMENSIONLESS, "exponential"),
    ("expm1", 1, DIMENSIONLESS, "exp(x) - 1, accurate for small x"),
    ("exprel", 1, DIMENSIONLESS, "(exp(x) - 1)/x, 1 at x = 0 (rate functions)"),
    ("log", 1, DIMENSIONLESS, "natural logarithm"),
    ("log10", 1, DIMENSIONLESS, "base-10 logarithm"),
    ("log1p", 1, DIMENSIONLESS, "log(1 + x), accurate for small x"),
    ("sin", 1, DIMENSIONLESS, "sine"),
    ("cos", 1, DIMENSIONLESS, "cosine"),
    ("tan", 1, DIMENSIONLESS, "tangent"),
    ("tanh", 1, DIMENSIONLESS, "hyperbolic tangent"),
    ("sinh", 1, DIMENSIONLESS, "hyperbolic sine"),
    ("cosh", 1, DIMENSIONLESS, "hyperbolic cosine"),
    ("arctan", 1, DIMENSIONLESS, "inverse tangent"),
    ("sigmoid", 1, DIMENSIONLESS, "1/(1 + exp(-x))"),
    ("sqrt", 1, SQRT, "square root"),
    ("abs", 1, SAME, "absolute value"),
    ("sign", 1, SAME, "-1, 0 or 1 (same unit as the argument)"),
    ("floor", 1, SAME, "round down"),
    ("ceil", 1, SAME, "round up"),
    ("min", 2, SAME, "the smaller of two values"),
    ("max", 2, SAME, "the larger of two values"),
    ("clip", 3, SAME, "clip(x, lo, hi): x limited to [lo, hi]"),
    ("where", 3, WHERE, "where(condition, a, b): a where the condition holds, else b"),
    ("uniform", 2, RANDOM, "uniform(lo, hi): random initial values (initial values only)"),
    ("normal", 2, RANDOM, "normal(mean, sd): random initial values (initial values only)"),
]
FUNCTIONS = {name: Function(name, n, rule, h) for name, n, rule, h in _DEFS}


def array_function(name: str, xp):
    """The implementation of whitelisted function ``name`` in module ``xp`` (jax.numpy or numpy)."""
    if name == "exprel":
        def exprel(x):
            safe = xp.where(x == 0, 1.0, x)
            return xp.where(x == 0, 1.0, xp.expm1(safe) / safe)
        return exprel
    if name == "sigmoid":
        return lambda x: 1.0 / (1.0 + xp.exp(-x))
    if name == "min":
        return xp.minimum
    if name == "max":
        return xp.maximum
    table = {"exp": xp.exp, "expm1": xp.expm1, "log": xp.log, "log10": xp.log10,
             "log1p": xp.log1p, "sin": xp.sin, "cos": xp.cos, "tan": xp.tan, "tanh": xp.tanh,
             "sinh": xp.sinh, "cosh": xp.cosh, "arctan": xp.arctan, "sqrt": xp.sqrt,
             "abs": xp.abs, "sign": xp.sign, "floor": xp.floor, "ceil": xp.ceil,
             "clip": xp.clip, "where": xp.where}
    return table[name]


def random_draw(name: str, rng: np.random.Generator, a, b, n: int):
    """``uniform``/``normal`` at initialisation: ``n`` values from the node's generator."""
    if name == "uniform":
        lo, hi = (a, b) if np.all(np.asarray(a) <= np.asarray(b)) else (b, a)
        return rng.uniform(lo, hi, n)
    return rng.normal(a, b, n)
