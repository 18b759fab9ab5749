"""The sympy engine: exact where the numbers allow, 45 digits otherwise.

Matrices are sympy `DomainMatrix` objects over QQ, so every matrix product,
sum and update is exact rational arithmetic (fast with gmpy2). Activations
and losses are evaluated elementwise from their sympy definitions
(`activations`, `losses`), differentiated with `sympy.diff`. A function whose
value at a rational point is rational (ReLU, leaky ReLU, identity, squared
error) keeps the result exact; a transcendental one (tanh, exp, log, erf) is
evaluated with mpmath at `DPS` digits and the result is stored as the exact
rational of that binary float, so later products lose nothing more.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable

import gmpy2
import mpmath
import numpy as np
import sympy as sp
from mpmath.libmp import from_int, mpf_div, mpf_pow_int
from sympy import QQ
from sympy.polys.matrices import DomainMatrix

from ..jacobians import Diagonal
from . import Case

DPS = 45  # working digits for transcendental functions (>= 30 are promised)
MPQ = type(QQ(1))  # the QQ elements: gmpy2's mpq
_ROUNDING = gmpy2.context(precision=mpmath.libmp.dps_to_prec(DPS))  # mpmath's binary precision at DPS digits
MAX_MAGNITUDE_BITS = 1100  # 2**1100: past float64's range either way
MAX_VALUE_BITS = 2048  # an activation's or loss's exact value beyond this is rounded to DPS digits


# --------------------------------------------------------- scalar evaluation

def _is_mpf(v) -> bool:
    return isinstance(v, mpmath.mpf)


def _to_mpf(v):
    """mpf(p) / q at the working precision, as mpmath's own operators do it (p rounded, then one
    correctly rounded division by the exact q), without their dispatch."""
    if _is_mpf(v):
        return v
    if isinstance(v, mpmath.mpc):
        raise ArithmeticError("a complex value (the log or square root of a negative number)")
    prec, rounding = mpmath.mp._prec_rounding
    key = (v, prec, rounding)  # a value's tanh and its slope 1 − tanh² both convert it; so do constants
    kept = _MPF_OF.get(key)
    if kept is None:
        if len(_MPF_OF) >= _SEEN_KEPT:
            _MPF_OF.clear()
        q = int(v.denominator)
        x = from_int(int(v.numerator), prec, rounding)
        kept = _MPF_OF[key] = mpmath.mp.make_mpf(x if q == 1 else mpf_div(x, from_int(q), prec, rounding))
    return kept


def to_rational(v):
    """An mpf (a binary fraction) or rational as an exact QQ element."""
    if type(v) is MPQ:
        return v
    if isinstance(v, mpmath.mpc):
        raise ArithmeticError("a complex value (the log or square root of a negative number)")
    if not _is_mpf(v):
        return MPQ(int(v.numerator), int(v.denominator))
    sign, man, exp, bc = v._mpf_  # ±man·2^exp, man odd (mpmath normalizes): already in lowest terms
    if not man:
        if exp:
            raise ArithmeticError("a value overflowed to infinity or NaN")
        return QQ(0)
    if exp + bc > MAX_MAGNITUDE_BITS:  # (exp + bc is mpmath.mag)
        # beyond float64: as an exact fraction it would have ~10⁹ bits and stall every product
        raise ArithmeticError("a value beyond float64's range")
    if exp + bc < -MAX_MAGNITUDE_BITS:
        return QQ(0)  # below float64's smallest subnormal: both engines see 0
    man = -int(man) if sign else int(man)
    return MPQ(man << exp, 1) if exp >= 0 else MPQ(man, 1 << -exp)


def _arith(op: Callable) -> Callable:
    """Lift a binary operation: stay rational unless one side is an mpf."""
    def apply(a, b):
        if _is_mpf(a) or _is_mpf(b):
            return op(_to_mpf(a), _to_mpf(b))
        return op(a, b)
    return apply


_add = _arith(lambda a, b: a + b)
_mul = _arith(lambda a, b: a * b)

_TRANSCENDENTAL = {
    sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh, sp.erf: mpmath.erf,
}


_MPF_OF: dict = {}  # (rational, working precision, rounding) -> its mpf
_SEEN: dict = {}  # (function, argument, working precision) -> its value
_SEEN_KEPT = 1 << 16


def _transcendental(fn, x):
    """fn(x) by mpmath, each (fn, x, precision) computed once: a value and its derivative need the
    same one (tanh(z) and 1 − tanh(z)², exp(−z) in σ(z) and σ′(z)), and mpmath's answer is a
    function of these alone, so a kept one is the same number."""
    key = (fn, x._mpf_, mpmath.mp.prec)
    value = _SEEN.get(key)
    if value is None:
        if len(_SEEN) >= _SEEN_KEPT:
            _SEEN.clear()
        value = _SEEN[key] = fn(x)
    return value


def _pow(base, exponent):
    if exponent.denominator == 1 and not _is_mpf(base):
        return base ** int(exponent)
    if exponent.denominator == 1:  # what mpmath.power does for a whole exponent, without its dispatch
        prec, rounding = mpmath.mp._prec_rounding
        return mpmath.mp.make_mpf(mpf_pow_int(base._mpf_, int(exponent), prec, rounding))
    return mpmath.power(_to_mpf(base), _to_mpf(exponent))


def _compare(rel, a, b) -> bool:
    if isinstance(a, mpmath.mpc) or isinstance(b, mpmath.mpc):
        raise ArithmeticError("a complex value (the log or square root of a negative number)")
    a, b = (_to_mpf(a), _to_mpf(b)) if (_is_mpf(a) or _is_mpf(b)) else (a, b)
    return {sp.StrictGreaterThan: a > b, sp.GreaterThan: a >= b, sp.StrictLessThan: a < b,
            sp.LessThan: a <= b, sp.Equality: a == b}[rel]


def _leaf(expr: sp.Expr, symbols: tuple) -> Callable | None:
    """A variable, an exact rational or a truth value, the same for one entry or a whole array
    (`compile_expr`, `compile_array`); None for anything else."""
    if expr in symbols:
        index = symbols.index(expr)
        return lambda env: env[index]
    if expr.is_Rational:
        q = QQ(int(expr.p), int(expr.q))
        return lambda env: q
    if expr is sp.true or expr is sp.false:
        value = bool(expr)
        return lambda env: value
    return None


def compile_expr(expr: sp.Expr, symbols: tuple) -> Callable:
    """Turn a sympy expression into a fast closure over QQ/mpf values.

    Only the node types our own definitions use are accepted; this is not a
    general evaluator and never sees user text.
    """
    leaf = _leaf(expr, symbols)
    if leaf is not None:
        return leaf
    if expr.is_Number or expr in (sp.pi, sp.E):
        with mpmath.workdps(DPS + 10):  # (made at mpmath's default 53 bits, π was 16 digits)
            value = mpmath.mpf(sp.N(expr, DPS + 10))
        return lambda env: value
    args = [compile_expr(a, symbols) for a in expr.args] if not isinstance(expr, sp.Piecewise) else None
    if isinstance(expr, sp.Add):
        return lambda env: _fold(_add, args, env)
    if isinstance(expr, sp.Mul):
        return lambda env: _fold(_mul, args, env)
    if isinstance(expr, sp.Pow):
        exponent = expr.args[1]
        if not exponent.is_Rational:
            raise TypeError(f"unsupported exponent {exponent}")
        e = Fraction(int(exponent.p), int(exponent.q))
        return lambda env: _pow(args[0](env), e)
    if type(expr) in _TRANSCENDENTAL:
        fn = _TRANSCENDENTAL[type(expr)]
        return lambda env: _transcendental(fn, _to_mpf(args[0](env)))
    if isinstance(expr, (sp.Max, sp.Min)):
        pick = max if isinstance(expr, sp.Max) else min
        return lambda env: pick((f(env) for f in args), key=lambda v: _to_mpf(v) if _is_mpf(v) else v)
    if isinstance(expr, sp.Piecewise):
        branches = [(compile_expr(e, symbols), compile_expr(c, symbols)) for e, c in expr.args]
        return lambda env: next(value(env) for value, cond in branches if cond(env))
    if isinstance(expr, sp.core.relational.Relational):
        return lambda env: _compare(type(expr), args[0](env), args[1](env))
    if isinstance(expr, (sp.And, sp.Or)):
        pick = all if isinstance(expr, sp.And) else any
        return lambda env: pick(f(env) for f in args)
    if isinstance(expr, sp.Not):
        return lambda env: not args[0](env)
    if isinstance(expr, sp.ITE):  # sympy's form of a comparison of a Piecewise (relu(relu(z)))
        return lambda env: args[1](env) if args[0](env) else args[2](env)
    if isinstance(expr, sp.Abs):
        return lambda env: abs(args[0](env))
    if isinstance(expr, sp.sign):
        return lambda env: QQ((_positive(args[0](env))) - _positive(-args[0](env)))
    raise TypeError(f"the symbolic engine cannot evaluate {type(expr).__name__}")


def compile_array(expr: sp.Expr, symbols: tuple) -> Callable | None:
    """The same expression over numpy object arrays of exact rationals, every entry at once, when
    it needs nothing but +, −, ×, integer powers, comparisons and choices (ReLU, leaky ReLU, squared
    error, their derivatives); None otherwise (a transcendental function is evaluated entry by
    entry by `compile_expr`). Exact rationals are the same numbers however they are computed; a
    choice computes every branch for every entry, so an error in one (a division by zero) makes
    the caller evaluate entry by entry instead."""
    leaf = _leaf(expr, symbols)
    if leaf is not None:
        return leaf
    if isinstance(expr, sp.Piecewise):
        branches = [(compile_array(e, symbols), compile_array(c, symbols)) for e, c in expr.args]
        if any(f is None for pair in branches for f in pair):
            return None
        return lambda env: _choose([(value(env), _truth(cond(env))) for value, cond in branches])
    if isinstance(expr, sp.Pow) and not (expr.args[1].is_Integer and expr.args[1] >= 0):
        return None  # a root or a reciprocal: entry by entry (its errors, its rounding)
    args = [compile_array(a, symbols) for a in expr.args]
    if any(f is None for f in args):
        return None
    array_op = _ARRAY_OPS.get(type(expr)) or next((op for kind, op in _ARRAY_KINDS if isinstance(expr, kind)), None)
    if array_op is None:
        return None
    return lambda env: array_op(*[f(env) for f in args])


def _truth(cond) -> np.ndarray:
    return np.asarray(cond, dtype=bool)


def _choose(branches: list):
    """Piecewise over arrays: each entry takes the first branch whose condition holds."""
    out, chosen = None, None
    for value, cond in branches:
        take = cond if chosen is None else cond & ~chosen
        out = np.where(take, value, out if out is not None else QQ(0))
        chosen = take if chosen is None else chosen | take
    if not np.all(chosen):
        raise ArithmeticError("no branch of a piecewise function holds")
    return out


def _fold_arrays(op):
    def apply(*values):
        total = values[0]
        for v in values[1:]:
            total = op(total, v)
        return total
    return apply


_ARRAY_OPS = {sp.Abs: np.abs, sp.Not: np.logical_not, sp.ITE: lambda c, a, b: np.where(_truth(c), a, b)}
_ARRAY_KINDS = [
    (sp.Add, _fold_arrays(lambda a, b: a + b)), (sp.Mul, _fold_arrays(lambda a, b: a * b)),
    (sp.Pow, lambda base, n: base ** int(n)), (sp.Max, _fold_arrays(np.maximum)), (sp.Min, _fold_arrays(np.minimum)),
    (sp.And, _fold_arrays(lambda a, b: _truth(a) & _truth(b))), (sp.Or, _fold_arrays(lambda a, b: _truth(a) | _truth(b))),
    (sp.StrictGreaterThan, lambda a, b: _truth(a > b)), (sp.GreaterThan, lambda a, b: _truth(a >= b)),
    (sp.StrictLessThan, lambda a, b: _truth(a < b)), (sp.LessThan, lambda a, b: _truth(a <= b)),
    (sp.Equality, lambda a, b: _truth(a == b)),
]


def _positive(v) -> int:
    return int((_to_mpf(v) if _is_mpf(v) else v) > 0)


def _fold(op, fns, env):
    value = fns[0](env)
    for f in fns[1:]:
        value = op(value, f(env))
    return value


# --------------------------------------------------------- the passes

def matrix(rows) -> DomainMatrix:
    """Nested rows of Fractions/QQ as a DomainMatrix over QQ."""
    return DomainMatrix([[QQ(int(v.numerator), int(v.denominator)) for v in row] for row in rows],
                        (len(rows), len(rows[0])), QQ)


def domain(value):
    """An exact object array as a DomainMatrix (a scalar stays a QQ element; a wide diagonal
    Jacobian stays its diagonal, a DomainMatrix row)."""
    if isinstance(value, Diagonal):
        return Diagonal(domain(np.asarray(value.diagonal).reshape(1, -1)))
    if np.ndim(value) == 0:
        return QQ.convert(value.item() if isinstance(value, np.ndarray) else value)
    rows = np.asarray(value, dtype=object)
    rows = rows.reshape(rows.shape[0], -1)
    listed = rows.tolist()
    if not all(type(v) is MPQ for row in listed for v in row):  # (the engine's values are QQ elements already)
        listed = [[QQ.convert(v) for v in row] for row in listed]
    return DomainMatrix(listed, rows.shape, QQ)


def run(case: Case, jacobians: bool = False) -> dict:
    """Forward values, loss, gradients (and local Jacobians) of one case, exactly."""
    from .. import network
    from .rationals import Rationals

    return {name: domain(v) for name, v in network.run(case, Rationals(), jacobians).items()}


MAX_EXACT_BITS = 256  # beyond this, exact training steps round to DPS digits


def train(case: Case, lr: Fraction, steps: int, first: dict | None = None, optimizer=None) -> dict:
    """Parameters, optimizer state and loss after each of `steps` training steps, exactly
    (`optimizers`; default SGD), as DomainMatrix values like `run`'s.

    Exact arithmetic doubles the size of the fractions at every step (a
    1×1 net at 12 steps takes minutes); once a value's numerator or
    denominator passes MAX_EXACT_BITS, it is rounded to DPS digits, as the
    transcendental activations are (Adam's square roots are taken at DPS
    digits too). `first`: `run(case)`, when the caller has it already.
    """
    from .. import network, optimizers
    from .rationals import Rationals

    arithmetic = Rationals()
    # the case's parameters as `run` took them: converted once, and read-only (the steps make new arrays)
    params = {name: arithmetic.input(network.exact_array(value)) for name, value in case.params.items()}
    if first is None:
        first = network.run(case, arithmetic)
    grads = {p: _objects(first[f"dl/d{p}"]) for p in params}

    def evaluate(new: dict):
        loss, gradients = network.loss_and_gradients(case, arithmetic, new)  # (the next step's, if one follows)
        return gradients, {"loss": loss}

    out = optimizers.train(optimizer or optimizers.SGD, lr, steps, params, grads, evaluate,
                           optimizers.exact_arithmetic())
    return {name: domain(value) for name, value in out.items()}


def _objects(value):
    """A DomainMatrix (or an object array) as an object array of QQ."""
    if hasattr(value, "to_list"):
        return np.array(value.to_list(), dtype=object).reshape(value.shape)
    return value


def _short(v, bits: int):
    """v, or v rounded to DPS digits once its numerator or denominator passes `bits`.

    z**16 multiplies a fraction's size by 16 at every layer: exactly, eight
    such layers would take hours. Rounded at 45 digits, the values still
    agree with float64 far beyond the 1e-9 the checks ask.
    """
    p, q = v.numerator, v.denominator  # (gmpy2's mpz for QQ elements: no conversion to int)
    if p.bit_length() <= bits and q.bit_length() <= bits:
        return v
    # What mpmath gives at DPS digits, mpf(p) / q (p rounded to the working precision, then one
    # correctly rounded division by q), by MPFR: the same two roundings to nearest, in C.
    x = _ROUNDING.div(gmpy2.mpfr(p, _ROUNDING.precision), q)
    if not gmpy2.is_finite(x):
        raise ArithmeticError("a value overflowed to infinity or NaN")
    if x and gmpy2.get_exp(x) > MAX_MAGNITUDE_BITS:  # (as to_rational: MPFR's exponent is mpmath's mag)
        raise ArithmeticError("a value beyond float64's range")
    if x and gmpy2.get_exp(x) < -MAX_MAGNITUDE_BITS:
        return QQ(0)
    return MPQ(*x.as_integer_ratio())
