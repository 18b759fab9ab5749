"""Every operation a formula or a graph node can use, defined once.

An elementwise `Function` carries, in one place:
- `numpy` and `dnumpy`: its float64 value and partial derivatives, written by
  hand (numerically careful in the tails) for the numpy engine;
- `sympy`: its exact definition, which the sympy engine evaluates and
  differentiates with `sympy.diff` (`dsympy` where a kink needs the spec's
  convention for the value at the kink), so the engines share no derivative
  of a nonlinear function;
- `dformula`: its derivative as a formula tree, for solution sheets;
- `kinks` (where the argument makes it non-differentiable) and `rational`
  (rationals in, rationals out: the sympy engine stays exact).
Constant parameters (leaky_relu's slope, a power's exponent) follow the
array arguments and are never differentiated.

A `Structural` operation (matmul, transpose, sum, softmax, indexing, …)
rearranges or combines arrays linearly, or nearly: its `forward` and `vjp`
are plain array code that runs on float64 arrays and on the sympy engine's
exact object arrays alike (`xp` gives what differs: how to take exp).

Adding an operation is adding one entry here (and its name to the formula
parser's `FUNCTIONS` table if formulas may call it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Callable

import numpy as np

from .lazy import sp
from . import formulas as F
from .exact_matmul import matmul


@dataclass(frozen=True, eq=False)
class Function:
    name: str
    arity: int  # array arguments
    numpy: Callable  # (*arrays, *params) -> array
    dnumpy: tuple  # one (*arrays, *params) -> array per array argument
    sympy: Callable  # (*symbols, *params) -> sympy expression
    dformula: tuple  # one (*trees, *params) -> tree per array argument
    params: tuple = ()  # ((name, default), …)
    dsympy: tuple | None = None  # derivatives that differ from sympy.diff (at kinks)
    kinks: tuple = ()  # argument values where it is not differentiable
    rational: bool = False
    text: str | None = None  # how people write it (σ), for the text style
    latex: str | None = None

    def fill(self, params: tuple) -> tuple:
        """The constant parameters with their defaults filled in, as Fractions."""
        if not params and not self.params:
            return ()  # most functions (add, mul, tanh) take none: every pass asks, per step
        return _filled(self, tuple(params))


@lru_cache(maxsize=1024)
def _filled(f: Function, params: tuple) -> tuple:
    given = list(params) + [d for _, d in f.params[len(params):]]
    return tuple(Fraction(p) for p in given)


@dataclass(frozen=True, eq=False)
class Structural:
    name: str
    forward: Callable  # (xp, *arrays, *params) -> array
    vjp: Callable  # (g, out, arrays, params) -> tuple of gradients, one per array argument
    arity: int = 1


# ------------------------------------------------------------------ numpy helpers

def _sigmoid(z):
    e = np.exp(-np.abs(z))  # exp of −|z| only: no overflow, full precision in both tails
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _dsigmoid(z):
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


def _sech2(z):
    """1 − tanh²(z) without the cancellation for large |z|."""
    e = np.exp(-2.0 * np.abs(z))
    return 4.0 * e / (1.0 + e) ** 2


_erf = np.vectorize(math.erf, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])


def _phi(z):
    return 0.5 * _erfc(-z / np.sqrt(2.0))  # erfc, not 1 + erf: no cancellation for z ≪ 0


def _step(z, at_zero=0):
    return np.where(z > 0, 1.0, np.where(z == 0, float(at_zero), 0.0))


def _kink(a, left, right, at_zero):
    """Slopes left/right meeting at a = 0, with the spec's value at 0."""
    return sp.Piecewise((right, a > 0), (at_zero, sp.Eq(a, 0)), (left, True))


def _ones(z, *_):
    return np.ones_like(np.asarray(z, dtype=float))


def _n(v) -> F.Num:
    return F.Num(Fraction(v))


def _step_tree(a, at_zero=Fraction(0)):
    return F.call("step", a) if at_zero == 0 else F.call("step", a, F.Num(at_zero))


# ------------------------------------------------------------------ elementwise functions

FUNCTIONS: dict[str, Function] = {f.name: f for f in [
    Function("add", 2, lambda a, b: a + b, (_ones, _ones), lambda a, b: a + b,
             (lambda a, b: _n(1), lambda a, b: _n(1)), rational=True),
    Function("sub", 2, lambda a, b: a - b, (_ones, lambda a, b: -_ones(b)), lambda a, b: a - b,
             (lambda a, b: _n(1), lambda a, b: _n(-1)), rational=True),
    Function("mul", 2, lambda a, b: a * b, (lambda a, b: b * _ones(a), lambda a, b: a * _ones(b)),
             lambda a, b: a * b, (lambda a, b: b, lambda a, b: a), rational=True),
    Function("div", 2, lambda a, b: a / b, (lambda a, b: 1.0 / b * _ones(a), lambda a, b: -a / b ** 2),
             lambda a, b: a / b,
             (lambda a, b: F.div(_n(1), b), lambda a, b: F.Neg(F.div(a, F.Bin("**", b, _n(2))))),
             rational=True),
    # a node that names another (c: a) is a value of its own: perturbing it alone moves only what uses it
    Function("copy", 1, lambda a: a, (_ones,), lambda a: a, (lambda a: _n(1),), rational=True),
    Function("neg", 1, lambda a: -a, (lambda a: -_ones(a),), lambda a: -a, (lambda a: _n(-1),), rational=True),
    Function("pow", 1, lambda a, p: np.power(a, float(p)), (lambda a, p: float(p) * np.power(a, float(p) - 1),),
             lambda a, p: a ** p, (lambda a, p: F.mul(F.Num(p), F.Bin("**", a, F.Num(p - 1))),),
             params=(("exponent", Fraction(2)),)),
    Function("relu", 1, lambda a, g0=0: np.maximum(a, 0.0), (lambda a, g0=0: _step(a, g0),),
             lambda a, g0=0: sp.Piecewise((a, a > 0), (0, True)), (lambda a, g0=0: _step_tree(a, g0),),
             params=(("grad_at_zero", Fraction(0)),), dsympy=(lambda a, g0=0: _kink(a, 0, 1, g0),),
             kinks=(0,), rational=True),
    Function("step", 1, _step, (lambda a, g0=0: 0.0 * _ones(a),),
             lambda a, g0=0: _kink(a, 0, 1, g0), (lambda a, g0=0: _n(0),),
             params=(("at_zero", Fraction(0)),), kinks=(0,), rational=True, text="H", latex="H"),
    Function("leaky_relu", 1, lambda a, s, g0=0: np.where(a > 0, a, float(s) * a),
             (lambda a, s, g0=0: np.where(a > 0, 1.0, np.where(a == 0, float(s + (1 - s) * g0), float(s))),),
             lambda a, s, g0=0: sp.Piecewise((a, a > 0), (s * a, True)),
             (lambda a, s, g0=0: F.add(F.Num(s), F.mul(F.Num(1 - s), _step_tree(a, g0))),),
             params=(("slope", Fraction(1, 100)), ("grad_at_zero", Fraction(0))),
             dsympy=(lambda a, s, g0=0: _kink(a, s, 1, s + (1 - s) * g0),), kinks=(0,), rational=True),
    Function("abs", 1, np.abs, (lambda a: _step(a) - _step(-a),),
             lambda a: sp.Piecewise((a, a > 0), (-a, a < 0), (0, True)),
             (lambda a: F.sub(F.call("step", a), F.call("step", F.Neg(a))),), kinks=(0,), rational=True),
    Function("max", 2, np.maximum, (lambda a, b: _step(a - b), lambda a, b: 1.0 - _step(a - b)),
             lambda a, b: sp.Piecewise((a, a > b), (b, True)),
             (lambda a, b: F.call("step", F.sub(a, b)), lambda a, b: F.sub(_n(1), F.call("step", F.sub(a, b)))),
             kinks=(0,), rational=True),
    Function("sigmoid", 1, _sigmoid, (_dsigmoid,), lambda a: 1 / (1 + sp.exp(-a)),
             (lambda a: F.mul(F.call("sigmoid", a), F.sub(_n(1), F.call("sigmoid", a))),),
             text="σ", latex=r"\sigma"),
    Function("tanh", 1, np.tanh, (_sech2,), lambda a: sp.tanh(a),
             (lambda a: F.sub(_n(1), F.Bin("**", F.call("tanh", a), _n(2))),), latex=r"\tanh"),
    Function("exp", 1, np.exp, (np.exp,), lambda a: sp.exp(a), (lambda a: F.call("exp", a),), latex=r"\exp"),
    Function("log", 1, np.log, (lambda a: 1.0 / a,), lambda a: sp.log(a), (lambda a: F.div(_n(1), a),), latex=r"\log"),
    Function("sqrt", 1, np.sqrt, (lambda a: 0.5 / np.sqrt(a),), lambda a: a ** sp.Rational(1, 2),
             (lambda a: F.div(_n(Fraction(1, 2)), F.call("sqrt", a)),)),
    Function("erf", 1, _erf, (lambda a: 2.0 / math.sqrt(math.pi) * np.exp(-a * a),), lambda a: sp.erf(a),
             (lambda a: F.div(F.mul(_n(2), F.call("exp", F.Neg(F.Bin("**", a, _n(2))))),
                              F.call("sqrt", F.Name("pi"))),)),
    Function("softplus", 1, lambda a, b: np.logaddexp(0.0, float(b) * a) / float(b),
             (lambda a, b: _sigmoid(float(b) * a),), lambda a, b: sp.log(1 + sp.exp(b * a)) / b,
             (lambda a, b: F.call("sigmoid", F.mul(F.Num(b), a)),), params=(("beta", Fraction(1)),)),
    Function("elu", 1, lambda a, al: np.where(a > 0, a, float(al) * np.expm1(np.minimum(a, 0.0))),
             (lambda a, al: np.where(a > 0, 1.0, float(al) * np.exp(np.minimum(a, 0.0))),),
             lambda a, al: sp.Piecewise((a, a > 0), (al * (sp.exp(a) - 1), True)),
             (lambda a, al: F.add(F.call("step", a), F.mul(F.sub(_n(1), F.call("step", a)),
                                                          F.mul(F.Num(al), F.call("exp", a)))),),
             params=(("alpha", Fraction(1)),), kinks=(0,)),
    Function("gelu", 1, lambda a: a * _phi(a),
             (lambda a: _phi(a) + a * np.exp(-0.5 * a * a) / np.sqrt(2.0 * np.pi),),
             lambda a: a * (1 + sp.erf(a / sp.sqrt(2))) / 2,
             (lambda a: F.add(
                 F.mul(_n(Fraction(1, 2)), F.add(_n(1), F.call("erf", F.div(a, F.call("sqrt", _n(2)))))),
                 F.div(F.mul(a, F.call("exp", F.div(F.Neg(F.Bin("**", a, _n(2))), _n(2)))),
                       F.call("sqrt", F.mul(_n(2), F.Name("pi"))))),)),
]}

# The formula syntax's operators, by the elementwise function each one is.
BINARY = {"+": "add", "-": "sub", "*": "mul", "/": "div"}


# ------------------------------------------------------------------ structural operations

def unbroadcast(g, shape: tuple):
    """Sum a gradient over the axes along which an argument of `shape` was broadcast."""
    g = np.asarray(g)
    if g.shape == tuple(shape):
        return g
    while g.ndim > len(shape):
        g = np.asarray(g.sum(axis=0))  # an object array's last sum is a scalar: keep it an array
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g.reshape(shape)


def _matmul_vjp(g, out, args, params):
    a, b = (np.asarray(v) for v in args)
    a2 = a.reshape(1, -1) if a.ndim == 1 else a  # numpy's 1-D rules: a row on the left,
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b  # a column on the right
    g2 = np.asarray(g).reshape(a2.shape[0], b2.shape[1])
    return matmul(g2, b2.T).reshape(a.shape), matmul(a2.T, g2).reshape(b.shape)


def _sum(xp, a, axis=None):
    a = np.asarray(a)
    return a.sum() if axis is None else a.sum(axis=int(axis), keepdims=True)


def _count(a, axis) -> int:
    a = np.asarray(a)
    return a.size if axis is None else a.shape[int(axis)]


def _softmax_vjp(g, s, args, params):
    if np.ndim(s) == 0:
        return (g * 0,)  # the softmax of one number is 1 whatever it is
    axis = int(params[0]) if params else 0
    return (s * (g - (s * g).sum(axis=axis, keepdims=True)),)


def _diag(xp, a):
    a = np.asarray(a)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    return np.diag(a)


def _diag_vjp(g, out, args, params):
    a = np.asarray(args[0])
    if a.ndim == 2 and 1 not in a.shape:  # the diagonal of a square matrix was taken
        full = zeros(a)
        np.fill_diagonal(full, g)
        return (full,)
    return (np.diagonal(np.asarray(g)).reshape(a.shape),)


def zeros(a: np.ndarray) -> np.ndarray:
    """Zeros of a's kind: float zeros, or exact ones (an int 0 would later divide into a float)."""
    return np.zeros_like(a) if a.dtype != object else a * 0


def _index_vjp(g, out, args, params):
    a = np.asarray(args[0])
    grad = zeros(a)
    g = np.asarray(g)
    grad[tuple(int(i) for i in params)] = g.item() if g.ndim == 0 else g  # not a 0-d array inside an object array
    return (grad,)


STRUCTURAL: dict[str, Structural] = {s.name: s for s in [
    Structural("matmul", lambda xp, a, b: matmul(a, b), _matmul_vjp, arity=2),
    Structural("transpose", lambda xp, a: np.asarray(a).T, lambda g, out, args, p: (np.asarray(g).T,)),
    Structural("sum", _sum, lambda g, out, args, p: (g * np.ones_like(args[0]),)),
    Structural("mean", lambda xp, a, axis=None: _sum(xp, a, axis) / _count(a, axis),
               lambda g, out, args, p: (g * np.ones_like(args[0]) / _count(args[0], p[0] if p else None),)),
    Structural("softmax", lambda xp, a, axis=0: xp.softmax(a, int(axis)), _softmax_vjp),
    Structural("diag", _diag, _diag_vjp),
    Structural("index", lambda xp, a, *at: np.asarray(a)[tuple(int(i) for i in at)], _index_vjp),
    Structural("stack", lambda xp, *items: xp.stack(items),
               lambda g, out, args, p: tuple(np.asarray(g)[i] for i in range(len(args))), arity=-1),
]}
