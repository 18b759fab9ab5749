"""Every registered operation (`ops.FUNCTIONS`, `ops.STRUCTURAL`) against itself and the textbook.

For an elementwise function the registry holds four descriptions that must
agree (autograd's check_vjp idea, applied to each one): the hand-written
numpy value and partials, the sympy form (and `dsympy` at kinks) and the
derivative formula trees. At random points inside each function's domain and
away from its kinks:
  (a) `numpy` equals the sympy form evaluated at 30 digits;
  (b) each `dnumpy` partial equals central finite differences of `numpy` and
      `sympy.diff` of the form (or `dsympy`);
  (c) each `dformula` tree, evaluated by `formulas.evaluate`, equals `dnumpy`.
Textbook values (σ′(0) = 1/4, …) are literals here, not computed by the package.

A structural operation's `vjp` is held to finite differences through a
random projection: ⟨v, J u⟩ (numerical, along a random direction u) equals
Σ ⟨u_i, vjp_i(v)⟩, in float64 and on exact object arrays of rationals, whose
result must match the float one to 1e-12.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from backprop_check import formulas as F
from backprop_check import ops
from backprop_check.engines.floats import Floats
from backprop_check.engines.rationals import Rationals, array

RNG_SEED = 20240609
POINTS = 12

# Argument domains other than the default [-3, 3] (a new function with a smaller domain must add one).
DOMAINS = {
    "log": [(0.05, 5.0)],
    "sqrt": [(0.05, 5.0)],
    "div": [(-3.0, 3.0), (0.3, 3.0)],  # the divisor away from 0 (sign drawn separately)
}
# Parameter sets to try besides the defaults (Fractions, as the tape passes them).
PARAMS = {
    "pow": [(Fraction(2),), (Fraction(3),), (Fraction(-1),), (Fraction(1, 2),), (Fraction(5, 2),), (Fraction(0),)],
    "relu": [(), (Fraction(1, 2),), (Fraction(1),)],
    "step": [(), (Fraction(1),)],
    "leaky_relu": [(), (Fraction(1, 5),), (Fraction(1, 5), Fraction(1))],
    "softplus": [(), (Fraction(2),), (Fraction(1, 3),)],
    "elu": [(), (Fraction(1, 2),), (Fraction(2),)],
}
# pow with a fractional or negative exponent: positive bases only
POSITIVE_FOR_PARAMS = {"pow": lambda p: p[0].denominator != 1 or p[0] < 0}
KINK_MARGIN = 0.05


def _fill(f: ops.Function, params: tuple) -> tuple:
    return f.fill(params)


def _points(f: ops.Function, params: tuple, rng: random.Random) -> list:
    """POINTS argument tuples inside the domain and at least KINK_MARGIN from every kink."""
    domains = DOMAINS.get(f.name, [(-3.0, 3.0)] * f.arity)
    positive = f.name in POSITIVE_FOR_PARAMS and POSITIVE_FOR_PARAMS[f.name](f.fill(params))
    out = []
    while len(out) < POINTS:
        xs = []
        for k, (lo, hi) in enumerate(domains):
            v = rng.uniform(0.1 if positive else lo, hi)
            if f.name == "div" and k == 1 and rng.random() < 0.5:
                v = -v
            xs.append(v)
        if f.arity == 1 and any(abs(xs[0] - k) < KINK_MARGIN for k in f.kinks):
            continue
        if f.name == "max" and abs(xs[0] - xs[1]) < KINK_MARGIN:
            continue
        out.append(tuple(xs))
    return out


def _cases():
    for name, f in ops.FUNCTIONS.items():
        for params in PARAMS.get(name, [()]):
            yield pytest.param(name, params, id=f"{name}{list(map(str, params)) if params else ''}")


def _symbols(f):
    return tuple(sp.Symbol(f"a{i}", real=True) for i in range(f.arity))


def _sym_params(filled):
    return tuple(sp.Rational(p.numerator, p.denominator) for p in filled)


def _at(expr, symbols, xs) -> float:
    value = expr.subs({s: sp.Float(x, 30) for s, x in zip(symbols, xs)}).evalf(30)
    return float(value)


def test_every_function_has_a_test_domain_and_parameters():
    """The tables above name only registered functions (a renamed function must be renamed here)."""
    assert set(DOMAINS) <= set(ops.FUNCTIONS)
    assert set(PARAMS) <= set(ops.FUNCTIONS)
    for name, f in ops.FUNCTIONS.items():
        assert len(f.dnumpy) == f.arity == len(f.dformula), name
        assert f.dsympy is None or len(f.dsympy) == f.arity, name
        for sets in PARAMS.get(name, []):
            assert len(sets) <= len(f.params), name


@pytest.mark.parametrize("name, params", list(_cases()))
def test_function_value_partials_and_formulas_agree(name, params):
    f = ops.FUNCTIONS[name]
    rng = random.Random(f"{RNG_SEED}-{name}-{params}")
    filled = _fill(f, params)
    symbols = _symbols(f)
    form = f.sympy(*symbols, *_sym_params(filled))
    if f.dsympy:
        dforms = [d(*symbols, *_sym_params(filled)) for d in f.dsympy]
        for d, s in zip(dforms, symbols):  # dsympy is sympy.diff away from the kinks
            assert isinstance(d, sp.Basic)
    else:
        dforms = [sp.diff(form, s) for s in symbols]
    trees = tuple(F.Name(f"a{i}") for i in range(f.arity))
    for xs in _points(f, params, rng):
        args = [np.float64(x) for x in xs]
        value = float(f.numpy(*args, *filled))
        # (a) numpy value = sympy form
        assert math.isclose(value, _at(form, symbols, xs), rel_tol=1e-12, abs_tol=1e-14), (name, xs)
        for i in range(f.arity):
            d = float(np.asarray(f.dnumpy[i](*args, *filled), dtype=float))
            # (b) hand-written partial = central differences of the numpy value ...
            h = 1e-6 * max(1.0, abs(xs[i]))
            up, down = list(args), list(args)
            up[i], down[i] = args[i] + h, args[i] - h
            fd = (float(f.numpy(*up, *filled)) - float(f.numpy(*down, *filled))) / (2 * h)
            assert math.isclose(d, fd, rel_tol=1e-6, abs_tol=1e-7), (name, xs, i, d, fd)
            # ... = sympy.diff of the form (or dsympy)
            assert math.isclose(d, _at(dforms[i], symbols, xs), rel_tol=1e-12, abs_tol=1e-14), (name, xs, i)
            # ... and by sympy.diff also where dsympy is given (away from the kinks they agree)
            assert math.isclose(d, _at(sp.diff(form, symbols[i]), symbols, xs), rel_tol=1e-12, abs_tol=1e-14)
            # (c) the derivative formula tree evaluates to the same
            tree = f.dformula[i](*trees, *filled)
            env = {f"a{k}": np.float64(x) for k, x in enumerate(xs)}
            got = float(np.asarray(F.evaluate(tree, env), dtype=float))
            assert math.isclose(got, d, rel_tol=1e-12, abs_tol=1e-14), (name, xs, i, F.to_code(tree))


@pytest.mark.parametrize("name", [n for n, f in ops.FUNCTIONS.items() if f.arity == 1])
def test_elementwise_on_arrays_matches_entry_by_entry(name):
    """numpy and dnumpy work entrywise on arrays (as the engines call them on vectors and matrices)."""
    f = ops.FUNCTIONS[name]
    rng = random.Random(f"{RNG_SEED}-array-{name}")
    filled = _fill(f, ())
    xs = np.array([p[0] for p in _points(f, (), rng)[:6]]).reshape(2, 3)
    values = np.asarray(f.numpy(xs, *filled), dtype=float)
    partial = np.asarray(f.dnumpy[0](xs, *filled), dtype=float)
    assert values.shape == partial.shape == (2, 3)
    for idx in np.ndindex(2, 3):
        assert values[idx] == pytest.approx(float(f.numpy(np.float64(xs[idx]), *filled)), rel=1e-15)
        assert partial[idx] == pytest.approx(float(np.asarray(f.dnumpy[0](np.float64(xs[idx]), *filled))), rel=1e-15)


# ------------------------------------------------------------------ textbook values

def _value(name, *args, params=()):
    f = ops.FUNCTIONS[name]
    return float(np.asarray(f.numpy(*map(np.float64, args), *f.fill(params)), dtype=float))


def _slope(name, *args, params=(), i=0):
    f = ops.FUNCTIONS[name]
    return float(np.asarray(f.dnumpy[i](*map(np.float64, args), *f.fill(params)), dtype=float))


def _sympy_slope(name, *args, params=(), i=0):
    """The exact engine's derivative (dsympy at kinks), exactly, at rational points."""
    f = ops.FUNCTIONS[name]
    symbols = _symbols(f)
    sym_params = _sym_params(f.fill(params))
    d = f.dsympy[i](*symbols, *sym_params) if f.dsympy else sp.diff(f.sympy(*symbols, *sym_params), symbols[i])
    return d.subs({s: sp.nsimplify(a) for s, a in zip(symbols, args)})


def _formula_slope(name, *args, params=(), i=0):
    f = ops.FUNCTIONS[name]
    trees = tuple(F.Name(f"a{k}") for k in range(f.arity))
    tree = f.dformula[i](*trees, *f.fill(params))
    return float(np.asarray(F.evaluate(tree, {f"a{k}": np.float64(a) for k, a in enumerate(args)})))


TEXTBOOK_SLOPES = [
    # (function, args, params, partial index, exact slope)
    ("sigmoid", (0,), (), 0, sp.Rational(1, 4)),
    ("tanh", (0,), (), 0, sp.Integer(1)),
    ("relu", (0,), (), 0, sp.Integer(0)),  # ReLU′(0) = 0 by default
    ("relu", (0,), (Fraction(1, 2),), 0, sp.Rational(1, 2)),  # … and g0 when given
    ("relu", (0,), (Fraction(1),), 0, sp.Integer(1)),
    ("relu", (2,), (), 0, sp.Integer(1)),
    ("relu", (-2,), (), 0, sp.Integer(0)),
    ("step", (0,), (), 0, sp.Integer(0)),
    ("softplus", (0,), (), 0, sp.Rational(1, 2)),
    ("softplus", (0,), (Fraction(2),), 0, sp.Rational(1, 2)),  # σ(βz) at 0 whatever β
    ("leaky_relu", (-1,), (), 0, sp.Rational(1, 100)),  # slope 0.01 by default
    ("leaky_relu", (0,), (), 0, sp.Rational(1, 100)),  # at the kink: the left slope (g0 = 0)
    ("leaky_relu", (0,), (Fraction(1, 100), Fraction(1)), 0, sp.Integer(1)),  # g0 = 1: the right slope
    ("leaky_relu", (3,), (), 0, sp.Integer(1)),
    ("exp", (0,), (), 0, sp.Integer(1)),
    ("log", (2,), (), 0, sp.Rational(1, 2)),
    ("sqrt", (4,), (), 0, sp.Rational(1, 4)),
    ("erf", (0,), (), 0, 2 / sp.sqrt(sp.pi)),
    ("gelu", (0,), (), 0, sp.Rational(1, 2)),
    ("elu", (-1,), (), 0, sp.exp(-1)),
    ("elu", (2,), (), 0, sp.Integer(1)),
    ("abs", (-3,), (), 0, sp.Integer(-1)),
    ("abs", (3,), (), 0, sp.Integer(1)),
    ("max", (1, 2), (), 0, sp.Integer(0)),
    ("max", (1, 2), (), 1, sp.Integer(1)),
    ("pow", (2,), (Fraction(3),), 0, sp.Integer(12)),
    ("pow", (4,), (Fraction(1, 2),), 0, sp.Rational(1, 4)),
    ("div", (1, 2), (), 0, sp.Rational(1, 2)),
    ("div", (1, 2), (), 1, sp.Rational(-1, 4)),
    ("mul", (3, 5), (), 0, sp.Integer(5)),
    ("mul", (3, 5), (), 1, sp.Integer(3)),
    ("sub", (3, 5), (), 1, sp.Integer(-1)),
    ("neg", (3,), (), 0, sp.Integer(-1)),
]


@pytest.mark.parametrize("name, args, params, i, slope", TEXTBOOK_SLOPES,
                         ids=[f"{c[0]}{c[1]}{list(map(str, c[2]))}d{c[3]}" for c in TEXTBOOK_SLOPES])
def test_textbook_slopes(name, args, params, i, slope):
    expected = float(slope)
    assert _slope(name, *args, params=params, i=i) == pytest.approx(expected, rel=1e-15, abs=0)
    assert sp.simplify(_sympy_slope(name, *args, params=params, i=i) - slope) == 0
    if name not in ("leaky_relu", "relu") or args[0] != 0:  # a formula tree at the kink: see below
        assert _formula_slope(name, *args, params=params, i=i) == pytest.approx(expected, rel=1e-15, abs=0)


def test_kink_formula_trees_use_the_convention():
    """At the kink the derivative formulas give the spec's value too (step(0) = 0, or g0)."""
    assert _formula_slope("relu", 0) == 0.0
    assert _formula_slope("relu", 0, params=(Fraction(1, 2),)) == 0.5
    assert _formula_slope("leaky_relu", 0) == pytest.approx(0.01, rel=1e-15)
    assert _formula_slope("leaky_relu", 0, params=(Fraction(1, 100), Fraction(1))) == 1.0
    assert _value("step", 0) == 0.0 and _value("step", 0, params=(Fraction(1),)) == 1.0


TEXTBOOK_VALUES = [
    ("sigmoid", (0,), (), 0.5),
    ("tanh", (0,), (), 0.0),
    ("relu", (-2,), (), 0.0),
    ("relu", (2.5,), (), 2.5),
    ("leaky_relu", (-2,), (), -0.02),
    ("leaky_relu", (-2,), (Fraction(1, 5),), -0.4),
    ("softplus", (0,), (), math.log(2)),
    ("softplus", (0,), (Fraction(2),), math.log(2) / 2),
    ("exp", (1,), (), math.e),
    ("log", (math.e,), (), 1.0),
    ("sqrt", (9,), (), 3.0),
    ("erf", (0,), (), 0.0),
    ("gelu", (0,), (), 0.0),
    ("elu", (-1,), (), math.exp(-1) - 1),
    ("elu", (-1,), (Fraction(1, 2),), (math.exp(-1) - 1) / 2),
    ("abs", (-3,), (), 3.0),
    ("max", (1, 2), (), 2.0),
    ("pow", (2,), (), 4.0),  # the exponent 2 by default
    ("pow", (2,), (Fraction(-1),), 0.5),
    ("step", (1,), (), 1.0),
    ("step", (-1,), (), 0.0),
]


@pytest.mark.parametrize("name, args, params, expected", TEXTBOOK_VALUES,
                         ids=[f"{c[0]}{c[1]}{list(map(str, c[2]))}" for c in TEXTBOOK_VALUES])
def test_textbook_values(name, args, params, expected):
    assert _value(name, *args, params=params) == pytest.approx(expected, rel=1e-15, abs=1e-300)


def test_default_parameters():
    assert dict(ops.FUNCTIONS["leaky_relu"].params)["slope"] == Fraction(1, 100)
    assert dict(ops.FUNCTIONS["relu"].params)["grad_at_zero"] == 0
    assert dict(ops.FUNCTIONS["softplus"].params)["beta"] == 1
    assert dict(ops.FUNCTIONS["elu"].params)["alpha"] == 1
    assert dict(ops.FUNCTIONS["pow"].params)["exponent"] == 2


def test_tails_are_finite_and_accurate():
    """The hand-written forms are careful where the naive ones overflow or cancel."""
    assert _value("sigmoid", -800) == 0.0 and _value("sigmoid", 800) == 1.0
    assert _slope("sigmoid", -800) == 0.0 and _slope("sigmoid", 800) == 0.0
    assert _value("sigmoid", -40) == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-14)
    assert _slope("tanh", 30) == pytest.approx(4 * math.exp(-60), rel=1e-12)  # 1 − tanh² without cancelling
    assert _value("softplus", 800) == 800.0
    assert _value("gelu", -10) == pytest.approx(-10 * 0.5 * math.erfc(10 / math.sqrt(2)), rel=1e-12)


# ------------------------------------------------------------------ structural operations

def _rand(shape, rng: random.Random):
    """Random eighths in [-3, 3] (exactly representable: both engines get the same inputs)."""
    size = int(np.prod(shape)) if shape else 1
    vals = [Fraction(rng.randint(-24, 24), 8) for _ in range(size)]
    return np.array(vals, dtype=object).reshape(shape) if shape else vals[0]


STRUCTURAL_CASES = [
    # (op, argument shapes, params)
    ("matmul", [(2, 3), (3, 4)], ()),
    ("matmul", [(2, 3), (3,)], ()),
    ("matmul", [(3,), (3, 2)], ()),
    ("matmul", [(3,), (3,)], ()),
    ("matmul", [(1, 3), (3, 1)], ()),
    ("transpose", [(2, 3)], ()),
    ("transpose", [(3,)], ()),
    ("sum", [(2, 3)], ()),
    ("sum", [(2, 3)], (Fraction(0),)),
    ("sum", [(2, 3)], (Fraction(1),)),
    ("sum", [(4,)], ()),
    ("sum", [(4,)], (Fraction(0),)),
    ("mean", [(2, 3)], ()),
    ("mean", [(2, 3)], (Fraction(0),)),
    ("mean", [(2, 3)], (Fraction(1),)),
    ("mean", [(5,)], ()),
    ("softmax", [(4,)], ()),
    ("softmax", [(2, 3)], (Fraction(0),)),
    ("softmax", [(2, 3)], (Fraction(1),)),
    ("diag", [(3,)], ()),  # a vector into a diagonal matrix
    ("diag", [(3, 3)], ()),  # a square matrix's diagonal
    ("diag", [(3, 1)], ()),  # a column into a diagonal matrix
    ("diag", [(1, 3)], ()),  # a row into a diagonal matrix
    ("index", [(4,)], (Fraction(2),)),
    ("index", [(2, 3)], (Fraction(1), Fraction(0))),
    ("index", [(2, 3)], (Fraction(1),)),  # a row
    ("stack", [(), (), ()], ()),
    ("stack", [(3,), (3,)], ()),
    ("stack", [(2, 2), (2, 2), (2, 2)], ()),
]


def _floats(v):
    return np.asarray(np.vectorize(float, otypes=[float])(v) if np.ndim(v) else float(v), dtype=float)


def test_every_structural_operation_is_covered():
    assert {c[0] for c in STRUCTURAL_CASES} == set(ops.STRUCTURAL)


@pytest.mark.parametrize("name, shapes, params", STRUCTURAL_CASES,
                         ids=[f"{c[0]}{c[1]}{list(map(str, c[2]))}" for c in STRUCTURAL_CASES])
def test_structural_vjp_against_finite_differences_and_exact(name, shapes, params):
    op = ops.STRUCTURAL[name]
    rng = random.Random(f"{RNG_SEED}-{name}-{shapes}-{params}")
    fl, ex = Floats(), Rationals()
    exact_args = [_rand(s, rng) for s in shapes]
    float_args = [_floats(a) for a in exact_args]
    out = np.asarray(op.forward(fl, *float_args, *params), dtype=float)

    def f(*arrays):
        return np.asarray(op.forward(fl, *arrays, *params), dtype=float)

    for trial in range(3):
        v = np.asarray(_floats(_rand(out.shape, rng)))  # the cotangent
        us = [np.asarray(_floats(_rand(np.shape(a), rng))) for a in float_args]  # the direction
        grads = op.vjp(v if v.ndim else float(v), f(*float_args), float_args, params)
        assert len(grads) == len(float_args)
        for g, a in zip(grads, float_args):
            assert np.shape(g) == np.shape(a), (name, np.shape(g), np.shape(a))
        lhs = sum(float(np.sum(np.asarray(g, dtype=float) * u)) for g, u in zip(grads, us))
        h = 1e-5
        plus = f(*[a + h * u for a, u in zip(float_args, us)])
        minus = f(*[a - h * u for a, u in zip(float_args, us)])
        rhs = float(np.sum(v * (plus - minus) / (2 * h)))
        assert lhs == pytest.approx(rhs, rel=1e-7, abs=1e-8), (name, trial)

        # the same on exact rationals: forward and vjp are array code for both engines
        exact_in = [array(a) for a in exact_args]
        exact_out = op.forward(ex, *exact_in, *params)
        np.testing.assert_allclose(_floats(exact_out), out, rtol=1e-12, atol=1e-15)
        exact_v = array(np.vectorize(Fraction, otypes=[object])(v) if v.ndim else Fraction(float(v)))
        exact_grads = op.vjp(exact_v, exact_out, exact_in, params)
        for eg, g in zip(exact_grads, grads):
            np.testing.assert_allclose(_floats(eg), np.asarray(g, dtype=float), rtol=1e-12, atol=1e-15)
        if name != "softmax":  # a rearrangement of rationals stays rational: exactly equal
            for eg, g in zip(exact_grads, grads):
                assert np.all(_floats(eg) == np.asarray(g, dtype=float)), name


def test_structural_textbook_values():
    fl = Floats()
    s = np.asarray(ops.STRUCTURAL["softmax"].forward(fl, np.zeros(4)))
    assert np.allclose(s, 0.25)
    # softmax's vjp of a one-hot row is the Jacobian's row: s_i(δ_ij − s_j)
    (g,) = ops.STRUCTURAL["softmax"].vjp(np.array([1.0, 0, 0, 0]), s, [np.zeros(4)], ())
    assert np.allclose(g, [0.25 - 0.0625, -0.0625, -0.0625, -0.0625])
    a, b = np.array([[1.0, 2], [3, 4]]), np.array([5.0, 6])
    ga, gb = ops.STRUCTURAL["matmul"].vjp(np.array([1.0, 1]), a @ b, [a, b], ())
    assert ga.tolist() == [[5, 6], [5, 6]] and gb.tolist() == [4, 6]  # g bᵀ and aᵀ g
    assert ops.STRUCTURAL["mean"].vjp(1.0, None, [np.zeros((2, 3))], ())[0].tolist() == [[1 / 6] * 3] * 2
    d = ops.STRUCTURAL["diag"].forward(fl, np.array([1.0, 2, 3]))
    assert d.tolist() == [[1, 0, 0], [0, 2, 0], [0, 0, 3]]
    assert ops.STRUCTURAL["diag"].forward(fl, d).tolist() == [1, 2, 3]
