"""Losses against textbook formulas: per-element terms, their derivatives, divisors."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from backprop_check import formulas as F
from backprop_check.losses import AVERAGES, KINDS, Loss, Y, YH


def _mse(yh, y):
    return (yh - y) ** 2, 2.0 * (yh - y)


def _bce(yh, y):
    term = -(y * math.log(yh) + (1.0 - y) * math.log(1.0 - yh))
    return term, -y / yh + (1.0 - y) / (1.0 - yh)


def _ce(yh, y):
    return -y * math.log(yh), -y / yh


TEXTBOOK = {"mse": _mse, "bce": _bce, "cross_entropy": _ce}

# (y_hat, y) pairs: mse anywhere; bce / cross_entropy with y_hat in (0, 1), y in [0, 1]
PAIRS = {
    "mse": [(0.3, 1.0), (-1.5, 0.25), (2.0, 2.0), (0.0, -3.0), (Fraction(7, 20), Fraction(-1, 4))],
    "bce": [(0.3, 1.0), (0.3, 0.0), (0.9, 0.25), (0.5, 0.5), (1e-4, 1.0), (Fraction(3, 20), Fraction(1, 2))],
    "cross_entropy": [(0.3, 1.0), (0.3, 0.0), (0.01, 1.0), (0.999, 1.0), (Fraction(9, 20), Fraction(1))],
}
CASES = [(k, yh, y) for k, pairs in PAIRS.items() for yh, y in pairs]


def _sympy_at(expr, yh, y) -> float:
    q = lambda v: sp.Rational(Fraction(v).numerator, Fraction(v).denominator)  # noqa: E731
    return float(sp.N(expr.subs({YH: q(yh), Y: q(y)}), 30))


@pytest.mark.parametrize("kind,yh,y", CASES)
def test_term_and_dterm_match_textbook(kind, yh, y):
    lk = KINDS[kind]
    term, dterm = TEXTBOOK[kind](float(yh), float(y))
    a, b = np.array([[float(yh)]]), np.array([[float(y)]])
    assert float(lk.numpy_term(a, b)[0, 0]) == pytest.approx(term, rel=1e-13, abs=1e-15)
    assert float(lk.numpy_dterm(a, b)[0, 0]) == pytest.approx(dterm, rel=1e-12, abs=1e-15)
    assert _sympy_at(lk.sympy_term, yh, y) == pytest.approx(term, rel=1e-13, abs=1e-15)
    assert _sympy_at(sp.diff(lk.sympy_term, YH), yh, y) == pytest.approx(dterm, rel=1e-12, abs=1e-15)
    env = {"y_hat": a, "y": b}
    assert float(np.asarray(F.evaluate(lk.formula(F.Name("y_hat"), F.Name("y")), env)).reshape(-1)[0]) \
        == pytest.approx(term, rel=1e-13, abs=1e-15)
    assert float(np.asarray(F.evaluate(lk.dformula(F.Name("y_hat"), F.Name("y")), env)).reshape(-1)[0]) \
        == pytest.approx(dterm, rel=1e-12, abs=1e-15)


@settings(max_examples=30, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), p=st.integers(1, 99), q=st.integers(0, 20), r=st.integers(-60, 60))
def test_terms_match_textbook_anywhere(kind, p, q, r):
    yh = Fraction(p, 100) if kind != "mse" else Fraction(r, 20)
    y = Fraction(q, 20) if kind != "mse" else Fraction(q - 10, 7)
    test_term_and_dterm_match_textbook(kind, yh, y)


def test_mse_is_exact_and_rational():
    assert KINDS["mse"].exact and not KINDS["bce"].exact and not KINDS["cross_entropy"].exact
    v = KINDS["mse"].sympy_term.subs({YH: sp.Rational(7, 20), Y: sp.Rational(-1, 4)})
    d = sp.diff(KINDS["mse"].sympy_term, YH).subs({YH: sp.Rational(7, 20), Y: sp.Rational(-1, 4)})
    assert v == sp.Rational(9, 25) and d == sp.Rational(6, 5)


def test_bce_dterm_simplifies_to_the_textbook_fraction():
    d = sp.diff(KINDS["bce"].sympy_term, YH)
    assert sp.simplify(d - (YH - Y) / (YH * (1 - YH))) == 0


@pytest.mark.parametrize("average,n,k,want", [
    ("none", 4, 3, 1), ("samples", 4, 3, 4), ("outputs", 4, 3, 3), ("all", 4, 3, 12),
    ("none", 1, 1, 1), ("samples", 1, 5, 1), ("outputs", 7, 1, 1), ("all", 2, 5, 10),
])
def test_divisor(average, n, k, want):
    assert Loss(KINDS["mse"], Fraction(1, 2), average).divisor(n, k) == want


def test_averages_are_the_four_of_the_spec():
    assert set(AVERAGES) == {"none", "samples", "outputs", "all"}
    assert Loss(KINDS["mse"]).average == "none" and Loss(KINDS["mse"]).factor == 1


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("average", AVERAGES)
def test_total_loss_formula_and_gradient(kind, average):
    """factor × Σ term / divisor, and its gradient, against a textbook total."""
    rng = np.random.default_rng(7)
    k, n = 3, 4
    if kind == "mse":
        yh, y = rng.normal(size=(k, n)), rng.normal(size=(k, n))
    elif kind == "bce":
        yh, y = rng.uniform(0.05, 0.95, size=(k, n)), rng.uniform(0, 1, size=(k, n))
    else:
        e = np.exp(rng.normal(size=(k, n)))
        yh, y = e / e.sum(axis=0), np.eye(k)[:, rng.integers(0, k, size=n)]
    loss = Loss(KINDS[kind], Fraction(3, 4), average)
    div = {"none": 1, "samples": n, "outputs": k, "all": n * k}[average]
    fn = TEXTBOOK[kind]
    want = 0.75 * sum(fn(yh[i, j], y[i, j])[0] for i in range(k) for j in range(n)) / div
    dwant = 0.75 * np.array([[fn(yh[i, j], y[i, j])[1] for j in range(n)] for i in range(k)]) / div
    env = {"y_hat": yh, "y": y, "N": float(n), "K": float(k)}
    got = float(F.evaluate(loss.formula(F.Name("y_hat"), F.Name("y")), env))
    assert got == pytest.approx(want, rel=1e-13)
    assert np.allclose(F.evaluate(loss.dformula(F.Name("y_hat"), F.Name("y")), env), dwant, rtol=1e-12, atol=0)
    assert loss.divisor(n, k) == div


def test_scaled_formula_drops_the_factor_two():
    """½ Σ (ŷ − y)² has the sheet derivative ŷ − y, written without 1/2 · 2."""
    loss = Loss(KINDS["mse"], Fraction(1, 2), "none")
    assert F.to_code(loss.dformula(F.Name("y_hat"), F.Name("y"))) == "y_hat - y"
    loss = Loss(KINDS["mse"], Fraction(1, 2), "samples")
    assert F.to_code(loss.dformula(F.Name("y_hat"), F.Name("y"))) == "(y_hat - y) / N"


def test_labels():
    assert Loss(KINDS["mse"]).label() == "mse"
    assert Loss(KINDS["mse"], Fraction(1, 2), "samples").label() == "mse, factor 1/2, averaged over samples"


# ------------------------------------------------------------- custom terms, identity (issue 8)

def test_custom_loss_must_use_y_hat():
    from backprop_check.elementwise import FormulaSyntaxError
    from backprop_check.losses import custom

    with pytest.raises(FormulaSyntaxError, match="a loss term must use y_hat"):
        custom("(y - 1)**2")
    kind = custom("(y_hat - y)**4")
    assert kind.name == "custom" and kind.exact
    # (ŷ − y)⁴ and its derivative 4(ŷ − y)³ at ŷ = 0.5, y = −0.5, written here
    assert float(np.asarray(kind.numpy_term(np.array([0.5]), np.array([-0.5])))[0]) == 1.0
    assert float(np.asarray(kind.numpy_dterm(np.array([0.5]), np.array([-0.5])))[0]) == 4.0


def test_custom_abs_loss_differentiates_over_the_reals():
    """d|ŷ − y|/dŷ = sign(ŷ − y) for real ŷ, y: sympy gets that only from real symbols."""
    from backprop_check.losses import custom

    kind = custom("abs(y_hat - y)")
    d = sp.diff(kind.sympy_term, YH)
    assert d.subs({YH: sp.Rational(3, 4), Y: sp.Rational(1, 4)}) == 1
    assert d.subs({YH: sp.Rational(-3, 4), Y: sp.Rational(1, 4)}) == -1
    assert YH.is_real and Y.is_real


def test_loss_kinds_are_immutable_and_compared_by_identity():
    import dataclasses

    mse = KINDS["mse"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        mse.name = "other"
    twin = dataclasses.replace(mse)
    assert twin != mse and mse == KINDS["mse"]  # identity: a copy is another loss
    loss = Loss(mse, Fraction(1, 2), "samples")
    with pytest.raises(dataclasses.FrozenInstanceError):
        loss.average = "none"
    assert {loss: 1}[Loss(mse, Fraction(1, 2), "samples")] == 1  # a Loss is a value


def test_builtin_loss_kinds_are_plain():
    for name, kind in KINDS.items():
        assert (kind.kinks, kind.kinks_unknown, kind.degree, kind.margin) == (None, False, 1, None), name


@pytest.mark.parametrize("text, placeable, exact, degree", [
    ("abs(y_hat - y)", True, True, 1),
    ("(y_hat - y)**4", False, True, 4),     # no kink at all: nothing to place
    ("relu(y_hat**2 - y)", None, True, 2),  # a kink bpcheck cannot place
    ("-y*log(y_hat)", False, False, 2),      # a product of two factors of degree 1
])
def test_custom_loss_kinds(text, placeable, exact, degree):
    from backprop_check.losses import custom

    kind = custom(text)
    assert kind.exact is exact and kind.degree == degree
    assert kind.kinks_unknown is (placeable is None)
    assert (kind.kinks is not None) is bool(placeable)
    if placeable:  # |ŷ − y| has its kink at ŷ = y
        (at,) = kind.kinks(np.array([0.25]))
        assert np.asarray(at).tolist() == [0.25]


@pytest.mark.parametrize("margin, label", [(1, "hinge"), (2, "hinge, margin 2"), (Fraction(1, 2), "hinge, margin 1/2")])
def test_hinge_label_names_a_margin_other_than_one(margin, label):
    from backprop_check.losses import hinge

    assert Loss(hinge(Fraction(margin))).label() == label
    assert hinge(Fraction(margin)) is hinge(Fraction(margin))  # one kind per margin
    assert Loss(hinge(), Fraction(1, 2), "samples").label() == "hinge, factor 1/2, averaged over samples"


def test_piecewise_linear_losses_are_exact():
    """(ŷ − y)², |ŷ − y| and the hinge map rationals to rationals; the logs do not."""
    from backprop_check.losses import custom, hinge

    assert KINDS["mse"].exact and hinge().exact and hinge(Fraction(2)).exact and custom("abs(y_hat - y)").exact
    assert not KINDS["bce"].exact and not KINDS["cross_entropy"].exact
