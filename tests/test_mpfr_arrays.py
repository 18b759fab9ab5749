"""The sympy engine's MPFR array path (engines/mpfr_arrays) against its entry-by-entry mpmath path.

- every built-in non-rational function and its partial derivatives, and custom formulas using
  exp, log, tanh, erf, square roots, powers, abs, max and choices: the same exact rationals as
  mpmath's entry by entry, except where a correctly rounded exp, log, tanh or erf differs from
  mpmath's in the last of its 153 bits; then both agree to 45 digits, the MPFR one is the nearer
  to a 600-bit reference, and both round to the same 30 digits the engine prints;
- what the array path does not follow (another power, an overflow, a NaN, a complex value, a
  value past float64's range) leaves the entries to mpmath, whose errors are then raised.
No timings here (bench/width_speed.py prints them).
"""

from __future__ import annotations

import random
from fractions import Fraction

import gmpy2
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import QQ

from backprop_check.engines import mpfr_arrays, rationals, symbolic
from backprop_check.ops import FUNCTIONS

MPQ = type(QQ(1))
BUILT_IN = [("tanh", ()), ("sigmoid", ()), ("gelu", ()), ("elu", (Fraction(1, 2),)), ("softplus", (Fraction(2),)),
            ("exp", ()), ("erf", ()), ("log", ()), ("sqrt", ()), ("pow", (Fraction(3, 2),)), ("pow", (Fraction(-2),)),
            ("pow", (Fraction(-1, 2),))]
POSITIVE = {"log", "sqrt", "pow"}


def _entry_by_entry(f, args, params):
    with pytest.MonkeyPatch.context() as m:
        m.setattr(rationals, "_compiled_arrays", lambda f, p: (None, [None] * f.arity, None))
        arithmetic = rationals.Rationals()
        return [arithmetic.function(f, args, params)] + list(arithmetic.partials(f, args, params))


def _by_arrays(f, args, params):
    arithmetic = rationals.Rationals()
    return [arithmetic.function(f, args, params)] + list(arithmetic.partials(f, args, params))


def _outcome(evaluate, *args):
    try:
        return evaluate(*args)
    except ArithmeticError as e:
        return str(e)


def _reference(expr, symbol, x: MPQ):
    """expr to 600 bits, by sympy's own evaluation (an independent path), at x as both paths take
    it: rounded to the working precision (so the result is the function's, not the rounding's)."""
    with mpmath.workdps(rationals.DPS):
        rounded = symbolic.to_rational(symbolic._to_mpf(x))
    return sp.N(expr.subs(symbol, sp.Rational(int(rounded.numerator), int(rounded.denominator))), 180)


def _agree(new, old, at, expr, primitive: bool) -> None:
    """Equal, or a few units apart in the 153rd bit of the value or of the terms it was computed
    from (one exp a unit off moves a quotient of it a unit or two, and e^z/2 − 1/2 at z ≈ 0 the
    difference by a unit of 1/2); for exp, log, tanh and erf themselves, the new one no farther
    from the truth."""
    for x, a, b in zip(at, np.asarray(new).flat, np.asarray(old).flat):
        if a == b:
            continue
        assert abs(a - b) <= max(abs(b), MPQ(1)) * MPQ(1, 2 ** 148), (x, a, b)  # the last bits, no more
        if primitive:
            truth = _reference(expr, sp.Symbol("a0", real=True), x)
            assert abs(sp.Rational(int(a.numerator), int(a.denominator)) - truth) <= \
                abs(sp.Rational(int(b.numerator), int(b.denominator)) - truth)
        if abs(b) < MPQ(1, 10 ** 15):  # a difference of terms of order 1 cancelled: only noise is left
            continue
        assert mpmath.nstr(mpmath.mpf(a.numerator) / a.denominator, 30) == \
            mpmath.nstr(mpmath.mpf(b.numerator) / b.denominator, 30)


rationals_st = st.builds(lambda p, q: MPQ(p, q), st.integers(-4000, 4000), st.sampled_from([1, 3, 7, 10, 100, 1024, 10 ** 6]))
binary_st = st.builds(lambda m, e: MPQ(m, 2 ** e), st.integers(-(2 ** 160), 2 ** 160), st.integers(150, 170))


@pytest.mark.parametrize("name,params", BUILT_IN)
@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.one_of(rationals_st, binary_st), min_size=1, max_size=40))
def test_built_in_functions_equal_mpmaths_entry_by_entry(name, params, values):
    f = FUNCTIONS[name]
    z = np.array([abs(v) + MPQ(1, 10) if name in POSITIVE else v for v in values], dtype=object)
    assert rationals._compiled_arrays(f, f.fill(params))[2] is not None  # the MPFR path is taken
    new, old = _outcome(_by_arrays, f, [z], params), _outcome(_entry_by_entry, f, [z], params)
    if isinstance(old, str) or isinstance(new, str):  # exp(763) is past float64: the same error
        assert new == old
        return
    _, form, partials = rationals._forms(f, f.fill(params))
    for k, (a, b, expr) in enumerate(zip(new, old, [form, *partials])):
        assert np.shape(a) == np.shape(b)
        assert all(type(v) is MPQ for v in np.asarray(a).flat)
        _agree(a, b, list(z.flat), expr, k == 0 and name in ("exp", "log", "tanh", "erf"))


def test_many_tanh_and_exp_values_differ_only_in_the_last_bit():
    """Enough entries that mpmath's last bit does differ from MPFR's correctly rounded one somewhere."""
    rng = random.Random(1)
    z = np.array([MPQ(rng.randint(-50000, 50000), 10000) for _ in range(20000)], dtype=object)
    for name in ("tanh", "exp"):
        f = FUNCTIONS[name]
        new, old = _by_arrays(f, [z], ()), _entry_by_entry(f, [z], ())
        differ = [i for i in range(z.size) if new[0][i] != old[0][i]]
        assert len(differ) < z.size // 500
        _, form, _ = rationals._forms(f, ())
        _agree(new[0][differ], old[0][differ], z[differ], form, True)


FORMULAS = ["exp(z/3) - log(1 + z**2) + erf(z) * sqrt(3 + z**2) + (1 + z**2)**(3/2)/9",
            "sigmoid(tanh(z)) * gelu(z) + exp(-z**2)", "z / (1 + abs(z)) + max(z, tanh(z)) + pi * e / 10",
            "elu(z, 0.3) + softplus(z, 3) - tanh(z)**5 + (2 + tanh(z))**(-3)"]


def _spec(activation: str, seed: int) -> str:
    rng = random.Random(seed)
    num = lambda: f"{rng.randint(-150, 150) / 100:.2f}"  # noqa: E731
    row = lambda n: "[" + ", ".join(num() for _ in range(n)) + "]"  # noqa: E731
    return "\n".join(["bpcheck: 1", "id: t", "network:", "  layers:",
                      f"    - {{weight: W1, bias: b1, activation: {activation}}}",
                      "    - {weight: W2, bias: b2, activation: identity}", "params:",
                      f"  W1: [{row(3)}, {row(3)}, {row(3)}, {row(3)}]", f"  b1: {row(4)}",
                      f"  W2: [{row(4)}, {row(4)}]", f"  b2: {row(2)}", "data:", "  layout: columns",
                      f"  x: [{row(5)}, {row(5)}, {row(5)}]", f"  y: [{row(5)}, {row(5)}]",
                      "loss: {type: mse}", "train: {lr: 0.01, steps: 2}", ""])


@pytest.mark.parametrize("activation", ['"' + text + '"' for text in FORMULAS] + ["tanh", "sigmoid", "gelu", "elu",
                                                                                  "{softplus: {beta: 2}}"])
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_networks_equal_mpmaths_entry_by_entry(activation, seed):
    """A whole solve's exact values (a pass and two training steps), custom formulas op by op."""
    from backprop_check.solve import case_of
    from backprop_check.spec import parse_problem

    problem = parse_problem(_spec(activation, seed), "p.yaml")
    case = case_of(problem)

    def values():
        first = symbolic.run(case)
        return {**first, **symbolic.train(case, problem.lr, 2, first=first)}
    new = _outcome(values)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(rationals, "_compiled_arrays", lambda f, p: (None, [None] * f.arity, None))
        old = _outcome(values)
    if isinstance(old, str) or isinstance(new, str):  # the values overflow float64: the same error
        assert new == old
        return
    assert new.keys() == old.keys()
    for name in new:
        a, b = new[name], old[name]
        a, b = (a.to_list(), b.to_list()) if hasattr(a, "to_list") else ([[a]], [[b]])
        for x, y in zip(np.ravel(np.array(a, dtype=object)), np.ravel(np.array(b, dtype=object))):
            assert x == y or abs(x - y) <= abs(y) * MPQ(1, 2 ** 130), name  # the last bits at most


def test_what_is_not_followed_is_left_to_mpmath():
    a = sp.Symbol("a0", real=True)
    assert mpfr_arrays.compile_mpfr([a ** sp.Rational(1, 3)], (a,)) is None  # a cube root
    assert mpfr_arrays.compile_mpfr([sp.tanh(a) ** 9], (a,)) is None  # a ninth power of a float
    assert mpfr_arrays.compile_mpfr([a ** 9 * sp.tanh(a)], (a,)) is not None  # (of a rational: exact)
    evaluate = mpfr_arrays.compile_mpfr([sp.log(a), sp.exp(a), sp.sqrt(a)], (a,))
    z = np.array([MPQ(-1), MPQ(2)], dtype=object)
    assert evaluate([z]) is None  # log(−1): NaN, left to mpmath's complex value and its message
    assert evaluate([np.array([MPQ(10 ** 9)], dtype=object)]) is None  # exp(10⁹) is past float64
    assert evaluate([np.array([MPQ(0)], dtype=object)]) is None  # log(0) = −∞
    f = FUNCTIONS["log"]
    with pytest.raises(ArithmeticError, match="complex"):
        rationals.Rationals().function(f, [z], ())
    with pytest.raises(ArithmeticError, match="float64's range"):
        rationals.Rationals().function(FUNCTIONS["exp"], [np.array([MPQ(10 ** 9)], dtype=object)], ())


def test_constants_are_the_entry_by_entry_closures():
    """π and e as compile_expr makes them (a 53-bit π when compiled outside workdps), √2 at 45 digits."""
    a = sp.Symbol("a0", real=True)
    expr = a * sp.pi + sp.sqrt(2) * a - sp.E
    evaluate = mpfr_arrays.compile_mpfr([expr], (a,))
    z = np.array([MPQ(1, 3), MPQ(-7, 10)], dtype=object)
    closure = symbolic.compile_expr(expr, (a,))
    with mpmath.workdps(rationals.DPS):
        expected = [symbolic.to_rational(closure((v,))) for v in z]
    assert list(evaluate([z])[0]) == expected


def test_constants_carry_the_working_digits():
    """π, e and a float constant are made at DPS + 10 digits, not at mpmath's default 53 bits (π was
    16 digits: GELU's and erf's slopes were right to 1e-17, not to the promised 45 digits)."""
    a = sp.Symbol("a0", real=True)
    for constant, exact in [(sp.pi, mpmath.pi), (sp.E, mpmath.e)]:
        value = symbolic.compile_expr(constant, (a,))(())
        with mpmath.workdps(80):
            assert abs(value - exact) <= mpmath.mpf(10) ** -(rationals.DPS + 8)
    slope = rationals._compiled(FUNCTIONS["gelu"], ())[1][0]
    with mpmath.workdps(rationals.DPS):
        got = symbolic.to_rational(slope((MPQ(7, 10),)))
    x = sp.Rational(7, 10)
    truth = sp.N((1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi), 80)
    assert abs(sp.Rational(int(got.numerator), int(got.denominator)) - truth) < sp.Float(10) ** -44


def test_the_same_function_of_the_same_array_kept_again_is_counted_once(monkeypatch):
    """A graph input's tanh, pass after pass: the slopes kept are replaced, not counted again (the
    count only grew, and past MAX_ENTRIES every later keep threw out all the others; review)."""
    slopes = rationals._Slopes()
    monkeypatch.setattr(rationals, "_SLOPES", slopes)
    xs = np.array([MPQ(i, 7) for i in range(1000)], dtype=object)
    for _ in range(5):
        rationals.Rationals().function(FUNCTIONS["tanh"], [xs], ())
    assert len(slopes.kept) == 1 and slopes.entries == 1000
    ys = np.array([MPQ(i, 9) for i in range(10)], dtype=object)
    rationals.Rationals().function(FUNCTIONS["tanh"], [ys], ())
    assert len(slopes.kept) == 2 and slopes.entries == 1010


def test_the_first_value_now_and_the_others_later_are_the_joint_evaluations():
    """`first` gives the value at once and the slopes when asked (a training's last pass never
    asks), the same numbers as evaluating them together; a slope that overflows leaves the value
    to MPFR and only the slope to mpmath, where together both went to mpmath."""
    a = sp.Symbol("a0", real=True)
    compiled = mpfr_arrays.compile_mpfr([sp.tanh(a), 1 - sp.tanh(a) ** 2, None, a * sp.tanh(a)], (a,))
    z = np.array([[MPQ(1, 3), MPQ(-7, 10)], [MPQ(0), MPQ(123456789, 1000)]], dtype=object)
    together = compiled([z])
    value, later = compiled.first([z])
    assert compiled.followed == [True, True, False, True]
    assert value.shape == z.shape and list(value.flat) == list(together[0].flat)
    rest = later()
    assert rest[1] is None and all(list(x.flat) == list(y.flat) for x, y in zip(rest[::2], together[1::2]))
    steep = mpfr_arrays.compile_mpfr([sp.tanh(a), sp.exp(a)], (a,))
    big = np.array([MPQ(10 ** 9)], dtype=object)
    assert steep([big]) is None  # exp(10⁹) is past float64: both to mpmath when together
    value, later = steep.first([big])
    assert list(value) == [MPQ(1)] and later() is None  # tanh(10⁹) rounds to 1; the slope is left to mpmath
