"""The sympy engine's non-rational functions over whole arrays, by MPFR.

`symbolic.compile_expr` evaluates a function's sympy form (tanh(z), its slope
1 − tanh(z)², a sigmoid, a custom formula) one entry at a time with mpmath at
`DPS` digits, 153 bits: some 15-30 µs an entry, most of a wide tanh solve.
`compile_mpfr` compiles the same form into a closure over whole lists of
entries in which every operation is one gmpy2 (MPFR) call at the same binary
precision with the same roundings, following compile_expr's rules step by step:
- each node is statically an exact rational, a 153-bit binary float or a truth
  value; a rational meeting a float is converted as `symbolic._to_mpf` does it
  (the numerator rounded, then one rounded division by the denominator), and
  rationals among themselves stay exact;
- +, ×, comparisons, abs, integer powers up to the sixth and the powers ±½,
  ±3/2, ±5/2 are correctly rounded by both libraries (mpmath computes such
  powers exactly and rounds once, with the same extra bits for reciprocals
  and roots, which this follows), so those agree bit for bit;
- exp, log, tanh and erf are correctly rounded by MPFR; mpmath's are within a
  unit in the last place, and differ from MPFR's in about one value in 5,000,
  by 2^-153 relative, far below the 30 digits the engine promises and prints
  (tests/test_mpfr_arrays.py compares both to a 600-bit reference);
- a subexpression without the variables (π^(-1/2), √2) is evaluated once by
  compile_expr itself, so its value is the entry-by-entry path's.
Anything else (another power, a choice between a rational and a float), and
any overflow, NaN, division by zero or value past float64's range in any entry
makes the closure return None: the caller then evaluates entry by entry as
before, so that the errors and their messages are exactly those.
"""

from __future__ import annotations

import operator
from typing import Callable

import gmpy2
import mpmath
import numpy as np
import sympy as sp

from .symbolic import DPS, MAX_MAGNITUDE_BITS, MAX_VALUE_BITS, MPQ, _short, compile_expr

PREC = mpmath.libmp.dps_to_prec(DPS)  # mpmath's working precision at DPS digits
_RANGE = dict(emax=gmpy2.get_emax_max(), emin=gmpy2.get_emin_min())  # mpmath's exponents are unbounded
_CONTEXT = gmpy2.context(precision=PREC, **_RANGE)
_CONTEXT_5 = gmpy2.context(precision=PREC + 5, **_RANGE)  # mpmath's reciprocal of a power: 5 bits more
_CONTEXT_10 = gmpy2.context(precision=PREC + 10, **_RANGE)  # and of a square root: 10 more
_TRANSCENDENTAL = {sp.exp: "exp", sp.log: "log", sp.tanh: "tanh", sp.erf: "erf"}
_COMPARE = {sp.StrictGreaterThan: operator.gt, sp.GreaterThan: operator.ge, sp.StrictLessThan: operator.lt,
            sp.LessThan: operator.le, sp.Equality: operator.eq}
Q, R, B = "rational", "float", "truth"  # the kinds of a node's values
MIXED = "rational or float"  # a choice between a rational and a float (ELU): only as a result


class Unsupported(ValueError):
    """The form uses something this module does not follow exactly: entry by entry instead.
    (A ValueError: met while evaluating, it too sends the entries to the mpmath path.)"""


class _Env:
    """One evaluation: the variables' entries, the contexts in use, the values computed so far."""

    def __init__(self, lists: list, n: int, contexts: tuple):
        self.lists, self.n = lists, n
        self.ctx, self.ctx5, self.ctx10 = contexts
        self.memo: dict = {}


class _Node:
    """A compiled node: its kind, whether it is a constant (one value, not a list), its evaluation."""

    def __init__(self, kind: str, const: bool, run: Callable):
        self.kind, self.const, self._run = kind, const, run

    def __call__(self, env: _Env):
        kept = env.memo.get(id(self))
        if kept is None:
            kept = env.memo[id(self)] = self._run(env)
        return kept


def compile_mpfr(exprs: list, symbols: tuple) -> Compiled | None:
    """The expressions over broadcast object arrays of rationals, evaluated together (a common
    subexpression, tanh(z) in tanh and its slope, once): a `Compiled`, or None if none of them
    is followed here (a None expression is not)."""
    seen: dict = {}
    roots = [_root(e, symbols, seen) if e is not None else None for e in exprs]
    if all(r is None for r in roots):
        return None
    return Compiled(roots)


class Compiled:
    """Compiled expressions: called on a list of arrays, a list with, for each expression, an
    object array of rationals (the exact values of the binary floats), or None for one not
    followed here; None when an entry needs the mpmath path. `first` defers all but the first."""

    def __init__(self, roots: list):
        self.roots = roots
        self.followed = [r is not None for r in roots]

    def __call__(self, arrays: list):
        evaluation = _Evaluation.start(self.roots, arrays)
        return None if evaluation is None else evaluation.results(range(len(self.roots)))

    def first(self, arrays: list):
        """(the first expression's values, a closure giving the others' list as a call would, or
        None), worked out when it is called, from the same subexpressions: a function's slopes,
        not wanted after a training's last pass; None when the first needs the mpmath path."""
        evaluation = _Evaluation.start(self.roots, arrays)
        found = None if evaluation is None else evaluation.results([0])
        if found is None or found[0] is None:
            return None
        return found[0], lambda: evaluation.results(range(1, len(self.roots)))


class _Evaluation:
    """Compiled expressions over one list of arrays: each asked for in one MPFR context, the values
    of the subexpressions found so far kept for the next ones asked."""

    def __init__(self, roots: list, lists: list, shape: tuple):
        self.roots, self.lists, self.shape = roots, lists, shape
        self.memo: dict = {}

    @classmethod
    def start(cls, roots: list, arrays: list):
        """None unless every entry is an exact rational."""
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
        lists = [np.broadcast_to(a, shape).ravel().tolist() for a in arrays]
        if not all(type(v) is MPQ for entries in lists for v in entries):
            return None
        return cls(roots, lists, shape)

    def results(self, which) -> list | None:
        roots = [self.roots[i] for i in which]
        n = int(np.prod(self.shape, dtype=np.int64))
        ctx5, ctx10 = gmpy2.context(_CONTEXT_5), gmpy2.context(_CONTEXT_10)  # copies: their flags are clear
        with _CONTEXT as ctx:  # a copy too, the current context: Python's operators on floats use it
            env = _Env(self.lists, n, (ctx, ctx5, ctx10))
            env.memo = self.memo  # (what earlier results found: tanh(z) for its slope)
            try:
                values = [None if r is None else _list(env, r) for r in roots]
            except (ArithmeticError, ValueError, TypeError):
                return None
            if any(_troubled(c) for c in (ctx, ctx5, ctx10)):
                return None
            exact = [v if r is None else _kept(v) if r.kind == Q else _rationals(v) for r, v in zip(roots, values)]
        if any(e is None and r is not None for e, r in zip(exact, roots)):
            return None
        return [None if e is None else _array(e, self.shape) for e in exact]


def _root(expr, symbols: tuple, seen: dict):
    """A compiled expression, or None if it is not followed here (or is a truth value)."""
    try:
        node = _compile(expr, symbols, seen)
    except Unsupported:
        return None
    return None if node.kind == B else node


def _array(values: list, shape: tuple) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape(shape)


def _troubled(ctx) -> bool:
    return ctx.overflow or ctx.underflow or ctx.invalid or ctx.divzero or ctx.erange


def _kept(v):
    """A rational result as the entry-by-entry path keeps it: shortened past MAX_VALUE_BITS."""
    if isinstance(v, list):
        return [_kept(x) for x in v]
    if v.numerator.bit_length() <= MAX_VALUE_BITS and v.denominator.bit_length() <= MAX_VALUE_BITS:
        return v
    return _short(v, MAX_VALUE_BITS)


def _rationals(values: list):
    """Binary floats as exact rationals, as `symbolic.to_rational` makes them; None if one is past
    float64's range (to_rational's error, which the entry-by-entry path raises with its message).
    (At most 1,100 + 153 bits each: never shortened.)"""
    out = []
    for x in values:
        if type(x) is MPQ:  # (a rational branch of a choice)
            out.append(_kept(x))
            continue
        if not x:
            out.append(MPQ(0))
            continue
        magnitude = gmpy2.get_exp(x)  # (MPFR's exponent is mpmath's mag)
        if magnitude > MAX_MAGNITUDE_BITS:
            return None
        out.append(MPQ(*x.as_integer_ratio()) if magnitude >= -MAX_MAGNITUDE_BITS else MPQ(0))
    return out


# ------------------------------------------------------------------ compiling

def _compile(expr, symbols: tuple, seen: dict) -> _Node:
    node = seen.get(expr)
    if node is None:
        node = seen[expr] = _compile_new(expr, symbols, seen)
    return node


def _compile_new(expr, symbols: tuple, seen: dict) -> _Node:
    if expr in symbols:
        index = symbols.index(expr)
        return _Node(Q, False, lambda env: env.lists[index])
    if not (expr.free_symbols & set(symbols)):
        return _constant(expr, symbols)
    args = [_compile(a, symbols, seen) for a in expr.args] if not isinstance(expr, sp.Piecewise) else []
    if any(a.kind == MIXED for a in args):  # (each entry's kind would have to be followed)
        raise Unsupported("a choice between a rational and a float inside a formula")
    if any(a.kind == B for a in args) and not isinstance(expr, (sp.And, sp.Or, sp.Not, sp.ITE)):
        raise Unsupported("a truth value in arithmetic")
    if isinstance(expr, (sp.Add, sp.Mul)):
        return _fold(operator.add if isinstance(expr, sp.Add) else operator.mul,
                     "add" if isinstance(expr, sp.Add) else "mul", args)
    if isinstance(expr, sp.Pow):
        return _power(args[0], expr.args[1])
    if type(expr) in _TRANSCENDENTAL:
        name, inner = _TRANSCENDENTAL[type(expr)], args[0]
        return _Node(R, False, lambda env: list(map(getattr(env.ctx, name), _floats(env, inner))))
    if isinstance(expr, (sp.Max, sp.Min)):
        return _pick(max if isinstance(expr, sp.Max) else min, args)
    if isinstance(expr, sp.Piecewise):
        return _piecewise([(_compile(e, symbols, seen), _compile(c, symbols, seen)) for e, c in expr.args])
    if isinstance(expr, sp.ITE):
        return _piecewise([(args[1], args[0]), (args[2], _Node(B, True, lambda env: True))])
    if type(expr) in _COMPARE:
        return _compare(_COMPARE[type(expr)], *args)
    if isinstance(expr, (sp.And, sp.Or, sp.Not)):
        return _logic(all if isinstance(expr, sp.And) else any if isinstance(expr, sp.Or) else None, args)
    if isinstance(expr, sp.Abs):
        return _Node(args[0].kind, False, lambda env: list(map(abs, _list(env, args[0]))))
    if isinstance(expr, sp.sign):
        sign = lambda v: MPQ((v > 0) - (v < 0))  # noqa: E731
        return _Node(Q, False, lambda env: list(map(sign, _list(env, args[0]))))
    raise Unsupported(type(expr).__name__)


def _constant(expr, symbols: tuple) -> _Node:
    """A subexpression without the variables, evaluated once by compile_expr at DPS digits."""
    closure = compile_expr(expr, symbols)  # (its numbers made now, as the entry-by-entry closure's)
    with mpmath.workdps(DPS):
        value = closure(())
    if isinstance(value, bool):
        return _Node(B, True, lambda env: value)
    if type(value) is MPQ:
        return _Node(Q, True, lambda env: value)
    if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value):
        raise Unsupported("a complex or infinite constant")
    sign, man, exp, bc = value._mpf_
    exact = MPQ(-man if sign else man) * (MPQ(2) ** exp)
    as_float = gmpy2.mpfr(exact, max(int(bc), 1))  # exact: its own precision, as mpmath keeps it
    return _Node(R, True, lambda env: as_float)


def _floats(env: _Env, node: _Node):
    """A node's values as binary floats: rationals as `symbolic._to_mpf` converts them."""
    values = node(env)
    if node.kind == R:
        return [values] * env.n if node.const else values
    if node.kind != Q:
        raise Unsupported("a truth value in arithmetic")
    convert = _converter(env.ctx)
    return [convert(values)] * env.n if node.const else list(map(convert, values))


def _converter(ctx):
    div, mpfr = ctx.div, gmpy2.mpfr

    def convert(q):
        x = mpfr(q.numerator, PREC)  # rounded to nearest, as mpmath's from_int
        return x if q.denominator == 1 else div(x, q.denominator)  # one rounding, by the exact integer
    return convert


def _spread(env: _Env, value, const: bool) -> list:
    return [value] * env.n if const else value


def _list(env: _Env, node: _Node) -> list:
    values = node(env)
    return [values] * env.n if node.const else values


def _fold(exact_op, name: str, args: list) -> _Node:
    """A sum or product, left to right as compile_expr folds it: exact while both sides are
    rational, in binary floats (each partial result rounded) from the first float on."""
    kinds = [a.kind for a in args]
    if B in kinds:
        raise Unsupported("a truth value in arithmetic")
    steps, kind = [], args[0].kind
    for a in args[1:]:
        kind = Q if kind == Q and a.kind == Q else R
        steps.append(kind)
    const = all(a.const for a in args)

    def run(env: _Env):
        # constants stay one value while every term so far is one (1 − tanh(z)²: the 1 and the −1
        # are converted to floats once, not once per entry)
        value, value_kind, value_const = args[0](env), args[0].kind, args[0].const
        float_op, convert = getattr(env.ctx, name), _converter(env.ctx)
        for a, kind in zip(args[1:], steps):
            if kind == Q:
                value = exact_op(value, a(env)) if value_const and a.const else \
                    list(map(exact_op, _spread(env, value, value_const), _list(env, a)))
            else:
                left = value if value_kind == R else convert(value) if value_const else list(map(convert, value))
                if value_const and a.const:
                    value = float_op(left, a(env) if a.kind == R else convert(a(env)))
                else:
                    value = list(map(float_op, _spread(env, left, value_const), _floats(env, a)))
            value_kind, value_const = kind, value_const and a.const
        return value
    return _Node(kind, const, run)


def _power(base: _Node, exponent) -> _Node:
    """base ** exponent (a rational exponent), as compile_expr's `_pow` and mpmath's mpf_pow_int
    and mpf_pow compute it."""
    if not exponent.is_Rational:
        raise Unsupported("a power that is not a rational number")
    p, q = int(exponent.p), int(exponent.q)
    if base.kind == B:
        raise Unsupported("a power of a truth value")
    if q == 1 and base.kind == Q:
        return _Node(Q, False, lambda env: [v ** p for v in _list(env, base)])
    if q == 1 and abs(p) > 6:  # mpmath's binary powering past bc·n >= 1000 bits rounds its own way
        raise Unsupported(f"the power {p} of a float")
    if q == 1:
        return _Node(R, False, lambda env: _integer_power(env, _floats(env, base), p))
    if q != 2 or abs(p) not in (1, 3, 5):
        raise Unsupported(f"the power {p}/{q}")

    def root_power(env: _Env):  # mpf_pow: s**(k/2) = sqrt(s)**k, the root to 10 bits more unless k = 1
        xs = _floats(env, base)
        if p == 1:
            return list(map(env.ctx.sqrt, xs))
        return _integer_power(env, list(map(env.ctx10.sqrt, xs)), p)
    return _Node(R, False, root_power)


def _integer_power(env: _Env, xs: list, n: int) -> list:
    """mpf_pow_int(x, n) at PREC for |n| <= 6: x itself, x·x, x**n exact then rounded once, or
    the reciprocal of |n|'s power taken to 5 bits more (mpmath's own steps, each rounded as there)."""
    ctx = env.ctx
    if n == 0:
        one = gmpy2.mpfr(1)
        return [one] * len(xs)
    if n == 1:
        return list(map(ctx.plus, xs))
    if n == -1:
        return [ctx.div(1, x) for x in xs]
    if n > 0:
        return [ctx.pow(x, n) for x in xs]
    return [ctx.div(1, env.ctx5.pow(x, -n)) for x in xs]


def _pick(pick, args: list) -> _Node:
    """max or min entry by entry: the first largest (smallest), compared exactly, as Python's max."""
    if len({a.kind for a in args}) != 1 or args[0].kind == B:
        raise Unsupported("a max or min of a rational and a float")
    return _Node(args[0].kind, False, lambda env: list(map(pick, *(_list(env, a) for a in args))))


def _piecewise(branches: list) -> _Node:
    """Each entry takes the first branch whose condition holds; every branch is computed for every
    entry (an error in a branch not taken means entry by entry instead)."""
    kinds = {value.kind for value, _ in branches}
    if B in kinds or MIXED in kinds or any(cond.kind != B for _, cond in branches):
        raise Unsupported("a choice of truth values")

    def run(env: _Env):
        values = [_list(env, value) for value, _ in branches]
        conds = [_list(env, cond) for _, cond in branches]
        out = []
        for i in range(env.n):
            for value, cond in zip(values, conds):
                if cond[i]:
                    out.append(value[i])
                    break
            else:
                raise ValueError("no branch of a piecewise function holds")
        return out
    return _Node(kinds.pop() if len(kinds) == 1 else MIXED, False, run)


def _compare(relation, a: _Node, b: _Node) -> _Node:
    """A comparison: exact between rationals, between binary floats when either side is one."""
    if B in (a.kind, b.kind):
        raise Unsupported("a comparison of truth values")
    if a.kind == Q and b.kind == Q:
        return _Node(B, False, lambda env: list(map(relation, _list(env, a), _list(env, b))))
    return _Node(B, False, lambda env: list(map(relation, _floats(env, a), _floats(env, b))))


def _logic(pick, args: list) -> _Node:
    if any(a.kind != B for a in args):
        raise Unsupported("logic on numbers")
    if pick is None:  # Not
        return _Node(B, False, lambda env: [not v for v in _list(env, args[0])])
    return _Node(B, False, lambda env: [pick(vs) for vs in zip(*(_list(env, a) for a in args))])
