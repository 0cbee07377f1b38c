"""Translate a checked model into functions of jax.numpy (in the step) or NumPy (at initialisation).

An expression tree becomes a tree of Python closures, each calling one operator or one
whitelisted function (functions.py) on the values of its children; names are looked up in an
environment dict the node builds each step. No text is ever evaluated, compiled or imported:
the closures are made here from the node types, and sub-trees without names (numbers and units)
are folded into one constant first.

Integration methods (``METHODS``), for the equations dx/dt = f(x) of one node, step h = dt,
inputs held over the step:

* ``euler``: x + h f(x)
* ``rk2``: midpoint, x + h f(x + h/2 f(x))
* ``rk4``: the classical fourth-order Runge-Kutta
* ``exponential_euler``: each variable's right side is split into a part linear in that
  variable, a(.) x (a may depend on the other variables, held at the start of the step), and the
  rest; x + h f(x) exprel(h a), exprel(z) = (e^z - 1)/z. Exact for a linear equation with
  constant input, stable for any h when a < 0; for conditionally linear equations it is Brian2's
  ``exponential_euler``
* ``exact``: for linear systems dx/dt = A x + b (A from parameters only, b from parameters,
  inputs and variables without an equation): x <- e^{hA} x + (int_0^h e^{sA} ds) b, the
  matrix exponentials computed per step (one per distinct coefficient); exact for inputs that
  are constant over the step. A diagonal A (uncoupled equations) needs no matrix exponential.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from .check import Model
from .functions import FUNCTIONS, RANDOM, array_function, random_draw
from .syntax import (Binary, Call, Expr, ModelError, Name, Num, Quantity, Unary, names_in,
                     unparse)

METHODS = ("auto", "exact", "exponential_euler", "euler", "rk2", "rk4")

_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
           "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
           "==": operator.eq, "!=": operator.ne}


class Fn:
    """A compiled expression: ``fn(env)``; ``const`` is its value when it has no names."""

    __slots__ = ("fn", "const")

    def __init__(self, fn=None, const=None):
        self.fn = fn
        self.const = const

    def __call__(self, env):
        return self.const if self.fn is None else self.fn(env)


def compile_expr(e: Expr, model: Model, xp, rng=None, size: int = 1) -> Fn:
    """Closures computing ``e`` with module ``xp`` (see the module docstring). ``rng`` and
    ``size`` serve ``uniform``/``normal`` in initial values."""
    if isinstance(e, Num):
        return Fn(const=float(e.value))
    if isinstance(e, Quantity):
        return Fn(const=float(e.value) * e.unit.scale)
    if isinstance(e, Name):
        sym = model.symbols.get(e.id)
        if sym is not None and sym.role == "unit":
            return Fn(const=sym.scale)
        if sym is None:
            return Fn(const={"true": True, "false": False, "inf": math.inf}[e.id])
        key = e.id
        return Fn(lambda env: env[key])
    if isinstance(e, Unary):
        a = compile_expr(e.operand, model, xp, rng, size)
        if e.op == "not":
            return Fn(lambda env: xp.logical_not(a(env)))
        if e.op == "+":
            return a
        if a.const is not None:
            return Fn(const=-a.const)
        return Fn(lambda env: -a(env))
    if isinstance(e, Binary):
        return _binary(e, model, xp, rng, size)
    if isinstance(e, Call):
        args = [compile_expr(x, model, xp, rng, size) for x in e.args]
        if FUNCTIONS[e.func].rule == RANDOM:
            name = e.func
            return Fn(lambda env: random_draw(name, rng, args[0](env), args[1](env), size))
        f = array_function(e.func, xp)
        if all(a.const is not None for a in args) and e.func != "where":
            with np.errstate(all="ignore"):
                return Fn(const=float(array_function(e.func, np)(*[a.const for a in args])))
        return Fn(lambda env: f(*[a(env) for a in args]))
    raise TypeError(type(e).__name__)  # pragma: no cover


def _binary(e: Binary, model, xp, rng, size) -> Fn:
    a = compile_expr(e.left, model, xp, rng, size)
    b = compile_expr(e.right, model, xp, rng, size)
    if e.op in ("and", "or"):
        f = xp.logical_and if e.op == "and" else xp.logical_or
        return Fn(lambda env: f(a(env), b(env)))
    if e.op == "^":
        if b.const is not None and float(b.const).is_integer() and abs(b.const) <= 64:
            n = int(b.const)  # an integer power: repeated multiplication, exact like v * v
            if a.const is not None:
                return Fn(const=_fold(lambda: a.const ** n))
            return Fn(lambda env: a(env) ** n)
        if a.const is not None and b.const is not None:
            return Fn(const=_fold(lambda: a.const ** b.const))
        return Fn(lambda env: xp.power(a(env), b(env)))
    op = _BINARY[e.op]
    if a.const is not None and b.const is not None:
        return Fn(const=_fold(lambda: op(a.const, b.const)))
    if a.const is not None:
        c = a.const
        return Fn(lambda env: op(c, b(env)))
    if b.const is not None:
        c = b.const
        return Fn(lambda env: op(a(env), c))
    return Fn(lambda env: op(a(env), b(env)))


def _fold(thunk):
    try:
        return thunk()
    except ZeroDivisionError:
        return math.nan
    except OverflowError:
        return math.inf


# --- linearity ------------------------------------------------------------------------------------
def _add(a, b, span):
    if a is None:
        return b
    if b is None:
        return a
    return Binary(span, "+", a, b)


def _neg(a, span):
    return None if a is None else Unary(span, "-", a)


def linear_coefficient(e: Expr, x: str):
    """(a, linear): ``e`` = a * x + (terms without x) when ``linear``; else ``a`` is the
    coefficient of the terms linear in x and the remaining terms hold x non-linearly.
    ``a`` is an expression without x, or None for 0."""
    if x not in names_in(e):
        return None, True
    if isinstance(e, Name):
        return Num(e.span, 1.0), True
    if isinstance(e, Unary) and e.op in ("-", "+"):
        a, lin = linear_coefficient(e.operand, x)
        return (_neg(a, e.span) if e.op == "-" else a), lin
    if isinstance(e, Binary) and e.op in ("+", "-"):
        a1, l1 = linear_coefficient(e.left, x)
        a2, l2 = linear_coefficient(e.right, x)
        return _add(a1, _neg(a2, e.span) if e.op == "-" else a2, e.span), l1 and l2
    if isinstance(e, Binary) and e.op == "*":
        if x not in names_in(e.left):
            a, lin = linear_coefficient(e.right, x)
            return (None if a is None else Binary(e.span, "*", e.left, a)), lin
        if x not in names_in(e.right):
            a, lin = linear_coefficient(e.left, x)
            return (None if a is None else Binary(e.span, "*", a, e.right)), lin
    if isinstance(e, Binary) and e.op == "/" and x not in names_in(e.right):
        a, lin = linear_coefficient(e.left, x)
        return (None if a is None else Binary(e.span, "/", a, e.right)), lin
    return None, False


def nonlinear_term(e: Expr, x: str):
    """The first sub-expression of ``e`` that holds ``x`` non-linearly (for messages)."""
    if isinstance(e, Unary) and e.op in ("-", "+"):
        return nonlinear_term(e.operand, x)
    if isinstance(e, Binary) and e.op in ("+", "-"):
        return nonlinear_term(e.left, x) or nonlinear_term(e.right, x)
    if isinstance(e, Binary) and e.op == "*" and x not in names_in(e.left):
        return nonlinear_term(e.right, x)
    if isinstance(e, Binary) and e.op in ("*", "/") and x not in names_in(e.right):
        return nonlinear_term(e.left, x)
    if isinstance(e, Name) or x not in names_in(e):
        return None
    return e


def _step_term(e: Expr, model: Model, xp):
    """(negative, fn): fn(scope, h) is h * e, or h * (-e) when ``negative`` (e = -g, (-a)/b or
    (-a)*b); a quotient a/b as (h a)/b. The same value as h * e up to rounding, written the way
    the built-in models write their updates."""
    negative = False
    if isinstance(e, Unary) and e.op == "-":
        negative, e = True, e.operand
    elif isinstance(e, Binary) and e.op in ("*", "/") and isinstance(e.left, Unary) \
            and e.left.op == "-":
        negative, e = True, Binary(e.span, e.op, e.left.operand, e.right)
    if isinstance(e, Binary) and e.op == "/":
        num, den = compile_expr(e.left, model, xp), compile_expr(e.right, model, xp)
        return negative, lambda scope, h: (h * num(scope)) / den(scope)
    f = compile_expr(e, model, xp)
    return negative, lambda scope, h: h * f(scope)


def _zero_at_origin(e: Expr, odes) -> bool:
    """True when the linear expression ``e`` is 0 whenever every variable in ``odes`` is 0."""
    if isinstance(e, Name):
        return e.id in odes
    if isinstance(e, Num):
        return e.value == 0
    if isinstance(e, Unary):
        return _zero_at_origin(e.operand, odes)
    if isinstance(e, Binary) and e.op in ("+", "-"):
        return _zero_at_origin(e.left, odes) and _zero_at_origin(e.right, odes)
    if isinstance(e, Binary) and e.op == "*":
        return _zero_at_origin(e.left, odes) or _zero_at_origin(e.right, odes)
    if isinstance(e, Binary) and e.op == "/":
        return _zero_at_origin(e.left, odes)
    return False


def _decay_couplings(model: Model, fixed: set, xp) -> dict:
    """For exponential Euler: {x: {y: compiled c_xy}} for every variable y that only decays
    (dy/dt = a_y y, a_y from parameters) and enters dx/dt linearly as c_xy y (c_xy from
    parameters), as a synaptic current enters a membrane equation. Such a y is integrated
    exactly into x (the built-in pools' treatment of their synaptic current)."""
    odes = set(model.equations)
    decaying = set()
    for y, eq in model.equations.items():
        a, lin = linear_coefficient(eq.expr, y)
        if a is not None and lin and names_in(eq.expr) & odes == {y} \
                and _zero_at_origin(eq.expr, {y}) and names_in(a) <= fixed:
            decaying.add(y)
    out = {}
    for x, eq in model.equations.items():
        for y in sorted(decaying - {x}):
            c, lin = linear_coefficient(eq.expr, y)
            if c is not None and lin and names_in(c) <= fixed:
                out.setdefault(x, {})[y] = compile_expr(c, model, xp)
    return out


def _two_layers(system: dict, model: Model):
    """(leaves, driven) when the linear system has the shape _two_layer_exact solves, else
    None: leaves depend on themselves only, driven variables on themselves and on leaves whose
    equations have no constant part."""
    leaves = [x for x, row in system.items() if set(row) <= {x}]
    driven = [x for x in system if x not in leaves]
    for v in driven:
        for j in system[v]:
            if j != v and (j not in leaves
                           or not _zero_at_origin(model.equations[j].expr, set(system))):
                return None
    return (leaves, driven) if driven else None


def linear_system(model: Model):
    """For ``exact``: {var: {var_j: coefficient expression}} when every equation is linear in
    the variables with equations and no coefficient depends on a variable, an input or t;
    otherwise raise ModelError at the first offending term."""
    odes = list(model.equations)
    varying = set(odes) | {s.name for s in model.symbols.values()
                           if s.role in ("input", "builtin") and s.name != "dt"}
    out = {}
    for x, eq in model.equations.items():
        row = {}
        for y in odes:
            a, lin = linear_coefficient(eq.expr, y)
            if not lin:
                bad = nonlinear_term(eq.expr, y)
                raise ModelError.at(bad.span, f"exact integration needs linear equations: "
                                    f"'{unparse(bad)}' in d{x}/dt is not linear in '{y}' (use "
                                    "exponential_euler, rk4, rk2 or euler)", unparse(bad))
            if a is not None:
                bad = names_in(a) & varying
                if bad:
                    raise ModelError.at(a.span, f"exact integration needs constant "
                                        f"coefficients: the factor of '{y}' in d{x}/dt depends "
                                        f"on '{sorted(bad)[0]}'", unparse(a))
                row[y] = a
        if "t" in names_in(eq.expr):
            raise ModelError.at(eq.expr.span, f"exact integration needs equations that do not "
                                              f"depend on t explicitly (d{x}/dt does)")
        out[x] = row
    return out


def choose_method(model: Model, method: str) -> str:
    """The method ``auto`` stands for: exact for linear systems, otherwise exponential Euler."""
    if method != "auto":
        return method
    try:
        linear_system(model)
        return "exact"
    except ModelError:
        return "exponential_euler"


# --- integration ------------------------------------------------------------------------------------
class Integrator:
    """Advances the variables that have equations by one step ``h`` (see the module docstring).

    ``advance(vals, env, h)``: ``vals`` maps variables to arrays; ``env`` holds everything else
    (parameters, inputs, t) and is read, not changed. Returns the new values of the variables
    with equations. ``reshape`` gives each variable's result its stored shape.
    """

    def __init__(self, model: Model, method: str, xp):
        self.model = model
        self.xp = xp
        self.method = choose_method(model, method)
        self.vars = list(model.equations)
        self.f = {x: compile_expr(eq.expr, model, xp) for x, eq in model.equations.items()}
        # the one-stage methods add h f as written here: f = -g subtracts h g (one negation
        # fewer), f = a / b computes (h a) / b (XLA then folds h / b when b is a scalar)
        self.step_term = {x: _step_term(eq.expr, model, xp) for x, eq in model.equations.items()}
        fixed = {s.name for s in model.symbols.values() if s.role in ("param", "unit")} | {"dt"}
        self.fixed_rate = set()  # variables whose coefficient a depends on parameters only
        if self.method == "exponential_euler":
            self.a = {}
            for x, eq in model.equations.items():
                a, _lin = linear_coefficient(eq.expr, x)
                self.a[x] = None if a is None else compile_expr(a, model, xp)
                if a is not None and names_in(a) <= fixed:
                    self.fixed_rate.add(x)
            self.couplings = _decay_couplings(model, fixed, xp)
        elif self.method == "exact":
            system = linear_system(model)
            self.diagonal = all(set(row) <= {x} for x, row in system.items())
            self.layered = _two_layers(system, model)
            self.coef = {x: {y: compile_expr(a, model, xp) for y, a in row.items()}
                         for x, row in system.items()}
            self.fixed_rate = {x for x, row in system.items() if x in row}

    def prepare(self, scope, h) -> dict:
        """The factors of the exponential methods that depend on parameters only (e^{a h},
        exprel(a h), the coupling gains G), keyed ``__...`` (no declared name starts so). The
        step computes them itself when they are not in its scope; an engine that prepares
        values once per chunk (Component.prepare) saves that work per step."""
        if self.method not in ("exact", "exponential_euler"):
            return {}
        exprel = array_function("exprel", self.xp)
        out = {}
        for x in self.fixed_rate:
            out[f"__exprel_{x}"] = exprel(self._rate(x)(scope) * h)
        if self.method == "exponential_euler":
            for x, row in self.couplings.items():
                if x in self.fixed_rate:
                    out.update(self._gains(x, row, scope, h))
        if self.method == "exact" and self.layered:
            for v in self.layered[1]:
                a_v = self._rate_value(v, scope)
                e_v = self.xp.exp(a_v * h)
                out[f"__e_{v}"] = e_v
                for j, c in self.coef[v].items():
                    if j != v:
                        a_j = self._rate_value(j, scope)
                        out[f"__G_{v}_{j}"] = c(scope) * (h * e_v * exprel((a_j - a_v) * h))
        return out

    def _gains(self, x, row, scope, h) -> dict:
        """G_xy = c_xy h e^{a_x h} exprel((a_y - a_x) h): the exact effect on x over a step
        of a decaying variable y (y' = a_y y) that enters dx/dt as c_xy y."""
        exprel = array_function("exprel", self.xp)
        a_x = self._rate_value(x, scope)
        e_x = self.xp.exp(a_x * h)
        return {f"__G_{x}_{y}": c(scope) * (h * e_x * exprel((self._rate_value(y, scope) - a_x)
                                                             * h)) for y, c in row.items()}

    def _rate(self, x):
        """The compiled coefficient a of x in dx/dt (None: 0)."""
        return self.a[x] if self.method == "exponential_euler" else self.coef[x].get(x)

    def _rate_value(self, x, scope):
        a = self._rate(x)
        return 0.0 if a is None else a(scope)

    def derivatives(self, vals, env):
        scope = {**env, **vals}
        return {x: self.f[x](scope) for x in self.vars}

    def advance(self, vals, env, h):
        m = self.method
        if not self.vars:
            return {}
        if m == "euler":
            scope = {**env, **vals}
            out = {}
            for x in self.vars:
                negative, hf = self.step_term[x]
                out[x] = vals[x] - hf(scope, h) if negative else vals[x] + hf(scope, h)
            return out
        if m == "rk2":
            k1 = self.derivatives(vals, env)
            mid = {**vals, **{x: vals[x] + (0.5 * h) * k1[x] for x in self.vars}}
            k2 = self.derivatives(mid, self._at(env, 0.5 * h))
            return {x: vals[x] + h * k2[x] for x in self.vars}
        if m == "rk4":
            return self._rk4(vals, env, h)
        if m == "exponential_euler" or (m == "exact" and self.diagonal):
            return self._exponential(vals, env, h)
        if self.layered:
            return self._two_layer_exact(vals, env, h)
        return self._matrix_exponential(vals, env, h)

    def _two_layer_exact(self, vals, env, h):
        """Exact step of a linear system whose variables are leaves (dx/dt = a x + b) and
        variables driven by leaves without input (dv/dt = a_v v + sum_j c_j x_j + b_v, each
        x_j' = a_j x_j): closed form per element, no matrix exponential. With
        G_j = h e^{a_v h} exprel((a_j - a_v) h) (stays exact when a_j = a_v):
        v <- e^{a_v h} v + h exprel(a_v h) b_v + sum_j c_j G_j x_j."""
        scope = {**env, **vals}
        if "__e_" + self.layered[1][0] not in scope:
            scope.update(self.prepare(scope, h))
        out = self._exponential(vals, scope, h, only=self.layered[0])
        origin = {**scope, **{x: 0.0 for x in self.vars}}
        for v in self.layered[1]:
            phi = h * scope.get(f"__exprel_{v}", 1.0)  # h exprel(a_v h); h when a_v = 0
            acc = scope[f"__e_{v}"] * vals[v] + phi * self.f[v](origin)
            for j in self.coef[v]:
                if j != v:
                    acc = acc + scope[f"__G_{v}_{j}"] * vals[j]
            out[v] = acc
        return out

    def _at(self, env, dh):
        return {**env, "t": env["t"] + dh} if "t" in env else env

    def _rk4(self, vals, env, h):
        xs = self.vars
        k1 = self.derivatives(vals, env)
        mid_env = self._at(env, 0.5 * h)
        k2 = self.derivatives({**vals, **{x: vals[x] + (0.5 * h) * k1[x] for x in xs}}, mid_env)
        k3 = self.derivatives({**vals, **{x: vals[x] + (0.5 * h) * k2[x] for x in xs}}, mid_env)
        k4 = self.derivatives({**vals, **{x: vals[x] + h * k3[x] for x in xs}},
                              self._at(env, h))
        return {x: vals[x] + (h / 6.0) * (k1[x] + 2.0 * k2[x] + 2.0 * k3[x] + k4[x]) for x in xs}

    def _exponential(self, vals, env, h, only=None):
        scope = {**env, **vals}
        exprel = array_function("exprel", self.xp)
        out = {}
        couplings = self.couplings if self.method == "exponential_euler" else {}
        for x in (self.vars if only is None else only):
            a = self._rate(x)
            negative, hf = self.step_term[x]
            row = couplings.get(x)
            # decaying variables coupled into x are taken out of f and added exactly (gains)
            at = scope if not row else {**scope, **{y: 0.0 for y in row}}
            if a is None:
                term = hf(at, h)
            else:
                factor = scope.get(f"__exprel_{x}")
                term = hf(at, h) * (exprel(a(scope) * h) if factor is None else factor)
            new = vals[x] - term if negative else vals[x] + term
            if row:
                gains = {k: scope[k] for k in (f"__G_{x}_{y}" for y in row) if k in scope} \
                    or self._gains(x, row, scope, h)
                for y in row:
                    new = new + gains[f"__G_{x}_{y}"] * vals[y]
            out[x] = new
        return out

    def _matrix_exponential(self, vals, env, h):
        """x <- E x + Phi b for the coupled linear system; b = f(x) - A x at the start."""
        import jax.numpy as jnp  # the step runs under JAX
        from jax.scipy.linalg import expm
        xs = self.vars
        k = len(xs)
        scope = {**env, **vals}
        A = [[self.coef[x][y](scope) if y in self.coef[x] else 0.0 for y in xs] for x in xs]
        shape = np.broadcast_shapes(*[np.shape(a) for row in A for a in row])
        dtype = jnp.result_type(*[vals[x] for x in xs])
        M = jnp.zeros(shape + (2 * k, 2 * k), dtype)
        for i in range(k):
            for j in range(k):
                M = M.at[..., i, j].set(jnp.broadcast_to(A[i][j] * h, shape))
            M = M.at[..., i, k + i].set(h)
        P = expm(M)
        # the constant part b = f(0) (the equations are linear); then x <- E x + Phi b
        origin = {**scope, **{x: 0.0 for x in xs}}
        b = [self.f[y](origin) for y in xs]
        out = {}
        for i, x in enumerate(xs):
            acc = 0.0
            for j, z in enumerate(xs):
                acc = acc + P[..., i, j] * vals[z] + P[..., i, k + j] * b[j]
            out[x] = acc
        return out
