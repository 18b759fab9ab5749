"""Every activation against textbook formulas written here with `math`.

Each activation has three independent implementations in the package (the
sympy definition and derivative, the hand-written numpy form and derivative,
and the solution-sheet formula trees); all three are held to the textbook
value and derivative at points on both sides of 0 and exactly at 0, where the
kink conventions of the spec apply.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from backprop_check import activations as A
from backprop_check import formulas as F
from backprop_check.engines import Case, numeric
from backprop_check.losses import KINDS as LOSS_KINDS, Loss
from backprop_check.spec import Layer


# ------------------------------------------------------------- textbook

def _sig(t: float) -> float:
    if t >= 0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


def _Phi(z: float) -> float:  # standard normal CDF, accurate in both tails
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _phi(z: float) -> float:  # standard normal density
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _softplus(t: float) -> float:
    return max(t, 0.0) + math.log1p(math.exp(-abs(t)))


# name -> (params for make, scale, f(z), f'(z)); params are Fractions, textbook in floats.
def _textbook(name: str, p: dict, scale: Fraction):
    c = float(scale)
    if name == "identity":
        return lambda z: c * z, lambda z: c * 1.0
    if name == "relu":
        g0 = float(p.get("grad_at_zero", 0))
        return (lambda z: c * max(0.0, z),
                lambda z: c * (1.0 if z > 0 else (g0 if z == 0 else 0.0)))
    if name == "leaky_relu":
        a = float(p.get("slope", Fraction(1, 100)))
        return (lambda z: c * (z if z > 0 else a * z),
                lambda z: c * (1.0 if z > 0 else a))
    if name == "tanh":
        # 1 - tanh² written as 1/cosh² so that the textbook value keeps its digits
        return lambda z: c * math.tanh(z), lambda z: c / math.cosh(z) ** 2
    if name == "sigmoid":
        return lambda z: c * _sig(z), lambda z: c * _sig(z) * (1.0 - _sig(z))
    if name == "softplus":
        b = float(p.get("beta", 1))
        return lambda z: c * _softplus(b * z) / b, lambda z: c * _sig(b * z)
    if name == "gelu":
        return lambda z: c * z * _Phi(z), lambda z: c * (_Phi(z) + z * _phi(z))
    if name == "elu":
        al = float(p.get("alpha", 1))
        return (lambda z: c * (z if z > 0 else al * math.expm1(z)),
                lambda z: c * (1.0 if z > 0 else al * math.exp(z)))
    raise AssertionError(name)


CONFIGS = [
    ("identity", {}, Fraction(1)),
    ("identity", {}, Fraction(3)),
    ("relu", {}, Fraction(1)),
    ("relu", {}, Fraction(5)),
    ("relu", {}, Fraction(1, 2)),
    ("leaky_relu", {}, Fraction(1)),
    ("leaky_relu", {"slope": Fraction(1, 10)}, Fraction(1)),
    ("leaky_relu", {"slope": Fraction(1, 5)}, Fraction(2)),
    ("tanh", {}, Fraction(1)),
    ("tanh", {}, Fraction(3, 2)),
    ("sigmoid", {}, Fraction(1)),
    ("sigmoid", {}, Fraction(2)),
    ("softplus", {}, Fraction(1)),
    ("softplus", {"beta": Fraction(2)}, Fraction(1)),
    ("softplus", {"beta": Fraction(1, 2)}, Fraction(3)),
    ("gelu", {}, Fraction(1)),
    ("gelu", {}, Fraction(1, 2)),
    ("elu", {}, Fraction(1)),
    ("elu", {"alpha": Fraction(1, 2)}, Fraction(1)),
    ("elu", {"alpha": Fraction(2)}, Fraction(3)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in p.items())}-x{s}" for n, p, s in CONFIGS]

POINTS = [Fraction(-4), Fraction(-1), Fraction(-1, 2), Fraction(-1, 1000), Fraction(0),
          Fraction(1, 1000), Fraction(1, 2), Fraction(1), Fraction(4), Fraction(-37, 7), Fraction(13, 3)]


def _near(got: float, want: float, rtol: float = 1e-12, atol: float = 1e-14) -> bool:
    return abs(got - want) <= atol + rtol * abs(want)


def _sympy_at(expr: sp.Expr, z: Fraction) -> float:
    value = expr.subs(A.Z, sp.Rational(z.numerator, z.denominator))
    return float(sp.N(value, 30))


def _formula_at(node: F.Node, z: float) -> float:
    return float(np.asarray(F.evaluate(node, {"z": np.array([[z]])})).reshape(-1)[0])


# ------------------------------------------------------------- (a) values

@pytest.mark.parametrize("name,params,scale", CONFIGS, ids=IDS)
def test_values_match_textbook(name, params, scale):
    act = A.make(name, params, scale)
    f, _ = _textbook(name, act.p, scale)
    expr = act.sympy_expr()
    zs = np.array([float(z) for z in POINTS])
    numpy_values = act.numpy(zs)
    tree = act.formula(F.Name("z"))
    for z, nv in zip(POINTS, numpy_values):
        want = f(float(z))
        assert _near(_sympy_at(expr, z), want), (name, z, "sympy")
        assert _near(float(nv), want), (name, z, "numpy")
        assert _near(_formula_at(tree, float(z)), want), (name, z, "formula")


# ------------------------------------------------------------- (b) derivatives

@pytest.mark.parametrize("name,params,scale", CONFIGS, ids=IDS)
def test_derivatives_match_textbook(name, params, scale):
    act = A.make(name, params, scale)
    _, df = _textbook(name, act.p, scale)
    dexpr = act.sympy_derivative()
    zs = np.array([float(z) for z in POINTS])
    numpy_slopes = act.numpy_derivative(zs)
    tree = act.dformula(F.Name("z"))
    for z, nv in zip(POINTS, numpy_slopes):
        want = df(float(z))
        assert _near(_sympy_at(dexpr, z), want), (name, z, "sympy_derivative")
        assert _near(float(nv), want), (name, z, "numpy_derivative")
        assert _near(_formula_at(tree, float(z)), want), (name, z, "dformula")


@pytest.mark.parametrize("name,params,scale", [c for c in CONFIGS if c[0] not in ("relu", "leaky_relu", "elu")],
                         ids=[i for c, i in zip(CONFIGS, IDS) if c[0] not in ("relu", "leaky_relu", "elu")])
def test_smooth_sympy_derivative_is_the_derivative_of_the_form(name, params, scale):
    act = A.make(name, params, scale)
    assert sp.simplify(act.sympy_derivative() - sp.diff(act.sympy_expr(), A.Z)) == 0


@settings(max_examples=30, deadline=None)
@given(z=st.floats(-12, 12, allow_nan=False).filter(lambda v: v != 0.0),
       which=st.integers(0, len(CONFIGS) - 1))
def test_numpy_and_formulas_match_textbook_anywhere(z, which):
    name, params, scale = CONFIGS[which]
    act = A.make(name, params, scale)
    f, df = _textbook(name, act.p, scale)
    # float64 forms: relative 1e-12, or an absolute error of a few ulps of 1
    # (forms built on 1 + tanh / 1 + erf would cancel in the tails)
    atol = 1e-15 * float(scale)
    assert _near(float(act.numpy(np.array([z]))[0]), f(z), 1e-12, atol)
    assert _near(float(act.numpy_derivative(np.array([z]))[0]), df(z), 1e-12, atol)
    assert _near(_formula_at(act.formula(F.Name("z")), z), f(z), 1e-12, atol)
    assert _near(_formula_at(act.dformula(F.Name("z")), z), df(z), 1e-12, atol)


@settings(max_examples=30, deadline=None)
@given(k=st.integers(-400, 400), which=st.integers(0, len(CONFIGS) - 1))
def test_sympy_matches_textbook_at_rationals(k, which):
    name, params, scale = CONFIGS[which]
    act = A.make(name, params, scale)
    f, df = _textbook(name, act.p, scale)
    z = Fraction(k, 40)
    # The sympy forms are exact / 45 digits; the textbook side is float64 `math`, whose
    # own cancellation (1 - s with s near 1) costs up to ~1e-11 relative in the tails.
    assert _near(_sympy_at(act.sympy_expr(), z), f(float(z)), 1e-9, 1e-300)
    assert _near(_sympy_at(act.sympy_derivative(), z), df(float(z)), 1e-9, 1e-300)


# ------------------------------------------------------------- kink conventions

def _slope_at_zero(act) -> tuple:
    zero = np.array([0.0])
    return (_sympy_at(act.sympy_derivative(), Fraction(0)),
            float(act.numpy_derivative(zero)[0]),
            _formula_at(act.dformula(F.Name("z")), 0.0))


def test_relu_derivative_at_zero_is_zero_by_default():
    assert _slope_at_zero(A.make("relu")) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("g0", [Fraction(1), Fraction(1, 2), Fraction(1, 4)])
def test_relu_derivative_at_zero_follows_grad_at_zero(g0):
    assert _slope_at_zero(A.make("relu", {"grad_at_zero": g0})) == (float(g0),) * 3
    # a scaled ReLU scales its slope at the kink too
    assert _slope_at_zero(A.make("relu", {"grad_at_zero": g0}, Fraction(5))) == (5 * float(g0),) * 3


@pytest.mark.parametrize("slope", [Fraction(1, 100), Fraction(1, 10), Fraction(3, 10)])
def test_leaky_relu_derivative_at_zero_is_the_slope_by_default(slope):
    act = A.make("leaky_relu", {"slope": slope})
    assert _slope_at_zero(act) == (float(slope),) * 3
    # grad_at_zero = 1 takes the right-hand slope
    assert _slope_at_zero(A.make("leaky_relu", {"slope": slope, "grad_at_zero": 1})) == (1.0,) * 3


@pytest.mark.parametrize("alpha", [Fraction(1), Fraction(1, 2), Fraction(2)])
def test_elu_derivative_at_zero_is_alpha(alpha):
    assert _slope_at_zero(A.make("elu", {"alpha": alpha})) == (float(alpha),) * 3


def test_values_at_zero():
    for name, params, scale in CONFIGS:
        act = A.make(name, params, scale)
        f, _ = _textbook(name, act.p, scale)
        assert _sympy_at(act.sympy_expr(), Fraction(0)) == pytest.approx(f(0.0), abs=1e-15)
        assert float(act.numpy(np.array([0.0]))[0]) == pytest.approx(f(0.0), abs=1e-15)


def test_exact_flags_and_kinks():
    exact = {n for n, k in A.KINDS.items() if k.exact}
    assert exact == {"identity", "relu", "leaky_relu"}
    assert A.KINDS["relu"].kinks == (0.0,) and A.KINDS["leaky_relu"].kinks == (0.0,)
    assert A.KINDS["elu"].kinks == (0.0,)
    assert not A.KINDS["softmax"].elementwise
    assert all(k.elementwise for n, k in A.KINDS.items() if n != "softmax")


def test_exact_activations_stay_rational():
    for name, params in [("identity", {}), ("relu", {}), ("leaky_relu", {"slope": Fraction(1, 10)})]:
        act = A.make(name, params, Fraction(3, 2))
        for z in POINTS:
            v = act.sympy_expr().subs(A.Z, sp.Rational(z.numerator, z.denominator))
            d = act.sympy_derivative().subs(A.Z, sp.Rational(z.numerator, z.denominator))
            assert v.is_Rational and d.is_Rational, (name, z)


def test_make_rejects_unknown_names_and_parameters():
    with pytest.raises(KeyError):
        A.make("swish")
    with pytest.raises(KeyError):
        A.make("relu", {"slope": 1})


def test_labels():
    assert A.make("relu", scale=Fraction(5)).label() == "5·relu"
    assert A.make("leaky_relu", {"slope": Fraction(1, 10)}).label() == "leaky_relu(slope=1/10)"
    assert A.make("tanh").label() == "tanh"


# ------------------------------------------------------------- softmax

def _softmax_textbook(z):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    return [v / sum(e) for v in e]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-40, 40), min_size=1, max_size=5),
       st.lists(st.integers(-20, 20), min_size=5, max_size=5))
def test_softmax_numpy_form_and_engine_jacobian(zk, wk):
    k = len(zk)
    z = [Fraction(v, 10) for v in zk]
    s = _softmax_textbook([float(v) for v in z])
    got = A.make("softmax").numpy(np.array([[float(v)] for v in z]))
    assert np.allclose(got[:, 0], s, rtol=1e-13, atol=1e-16)
    # numpy engine's Jacobian on a one-layer identity-weight net: dy_hat/dz1 = diag(s) - s sᵀ
    eye = tuple(tuple(Fraction(int(i == j)) for j in range(k)) for i in range(k))
    y = tuple((Fraction(v, 20),) for v in wk[:k])
    case = Case((Layer("W1", None, A.make("softmax")),), {"W1": eye},
                tuple((v,) for v in z), y, Loss(LOSS_KINDS["mse"]))
    out = numeric.run(case, jacobians=True)
    s_col = np.array(s).reshape(-1, 1)
    want = np.diag(s) - s_col @ s_col.T
    assert np.allclose(out["dy_hat/dz1"], want, rtol=1e-12, atol=1e-15)
    # and the backward pass uses the same Jacobian: dl/dz1 = Jᵀ dl/dy_hat
    assert np.allclose(out["dl/dz1"], want.T @ out["dl/dy_hat"], rtol=1e-10, atol=1e-14)
    # formula tree for softmax
    assert np.allclose(F.evaluate(A.make("softmax").formula(F.Name("z")), {"z": s_col * 0 + np.array(
        [[float(v)] for v in z])})[:, 0], s, rtol=1e-13, atol=1e-16)


# ------------------------------------------------------------- tails

TAILS = [("sigmoid", {}, -20.0, "value"), ("sigmoid", {}, -40.0, "value"),
         ("tanh", {}, 10.0, "slope"), ("softplus", {}, -30.0, "slope"),
         ("gelu", {}, -8.0, "value"), ("gelu", {}, -8.0, "slope")]


@pytest.mark.parametrize("name,params,z,what", TAILS, ids=[f"{n}-{w}-{z}" for n, _, z, w in TAILS])
def test_numpy_forms_keep_relative_precision_in_the_tails(name, params, z, what):
    act = A.make(name, params)
    f, df = _textbook(name, act.p, Fraction(1))
    got = act.numpy(np.array([z]))[0] if what == "value" else act.numpy_derivative(np.array([z]))[0]
    want = f(z) if what == "value" else df(z)
    assert _near(float(got), want, 1e-9, 0.0)


# ------------------------------------------------------------- defaults and far tails (issue 8)
# The defaults are the README's, written here as literals: a test that takes its expected
# default from the package cannot notice the default changing.

def test_documented_defaults_are_literal():
    assert A.make("relu").p == {"grad_at_zero": Fraction(0)}
    assert A.make("leaky_relu").p == {"slope": Fraction(1, 100), "grad_at_zero": Fraction(0)}
    assert A.make("softplus").p == {"beta": Fraction(1)}
    assert A.make("elu").p == {"alpha": Fraction(1)}
    assert A.make("tanh").p == {} and A.make("relu").scale == 1


def test_default_leaky_relu_slope_is_one_hundredth_everywhere():
    act = A.make("leaky_relu")
    z = np.array([-2.0, -1.0, 3.0])
    assert act.numpy(z).tolist() == [-0.02, -0.01, 3.0]
    assert act.numpy_derivative(z).tolist() == [0.01, 0.01, 1.0]
    assert act.sympy_expr().subs(A.Z, -1) == sp.Rational(-1, 100)
    assert act.sympy_derivative().subs(A.Z, -1) == sp.Rational(1, 100)
    assert act.sympy_derivative().subs(A.Z, 0) == sp.Rational(1, 100)
    assert _formula_at(act.formula(F.Name("z")), -1.0) == pytest.approx(-0.01, rel=1e-15)
    assert _formula_at(act.dformula(F.Name("z")), -1.0) == pytest.approx(0.01, rel=1e-15)
    assert act.label() == "leaky_relu"  # the default is not spelled out
    assert A.make("leaky_relu", {"slope": Fraction(1, 50)}).label() == "leaky_relu(slope=1/50)"


def test_other_defaults_by_value():
    assert float(A.make("softplus").numpy(np.array([0.0]))[0]) == pytest.approx(math.log(2), rel=1e-15)
    assert float(A.make("softplus").numpy_derivative(np.array([0.0]))[0]) == 0.5
    assert float(A.make("elu").numpy(np.array([-1.0]))[0]) == pytest.approx(math.exp(-1) - 1, rel=1e-15)
    assert float(A.make("elu").numpy_derivative(np.array([-1.0]))[0]) == pytest.approx(math.exp(-1), rel=1e-15)
    assert float(A.make("relu").numpy_derivative(np.array([0.0]))[0]) == 0.0


def _sympy_tail(expr, z: int) -> float:
    return float(sp.N(expr.subs(A.Z, z), 30))


@pytest.mark.parametrize("z", [-800, -400, -200, -100, 100, 200, 400, 800])
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_derivatives_far_in_the_tails_are_finite_and_right(name, z):
    """sech²(200) = 4e^-400/(1 + e^-400)² ≈ 7.6e-174 and σ′(400) ≈ 1.9e-174 are float64
    numbers: the numpy forms must not overflow into inf/inf or 0 on the way."""
    act = A.make(name)
    got = float(act.numpy_derivative(np.array([float(z)]))[0])
    want = _sympy_tail(sp.sech(A.Z) ** 2 if name == "tanh" else sp.exp(-A.Z) / (1 + sp.exp(-A.Z)) ** 2, z)
    assert math.isfinite(got)
    assert _near(got, want, 1e-12, 1e-320), (got, want)


@pytest.mark.parametrize("z", [-800.0, -50.0, 50.0, 800.0])
def test_sigmoid_far_in_the_tails(z):
    got = float(A.make("sigmoid").numpy(np.array([z]))[0])
    want = _sympy_tail(1 / (1 + sp.exp(-A.Z)), int(z))
    assert math.isfinite(got) and _near(got, want, 1e-12, 1e-320)


# ------------------------------------------------------------- kinds and custom formulas (issue 8)

def test_builtin_kinds_are_plain_immutable_and_known():
    import dataclasses

    for name, kind in A.KINDS.items():
        assert kind.kinks_unknown is False and kind.custom is False and kind.degree == 1, name
    with pytest.raises(dataclasses.FrozenInstanceError):
        A.KINDS["relu"].name = "other"
    assert A.Activation(A.KINDS["tanh"]).scale == 1 and A.Activation(A.KINDS["tanh"]).params == ()


@pytest.mark.parametrize("name, params, written", [
    ("relu", {}, "relu(z)"), ("relu", {"grad_at_zero": Fraction(1, 2)}, "relu(z)"),  # f itself: no convention
    ("softplus", {}, "softplus(z)"), ("softplus", {"beta": Fraction(2)}, "softplus(z, 2)"),
    ("elu", {}, "elu(z)"), ("elu", {"alpha": Fraction(1, 2)}, "elu(z, 1/2)"),
    ("leaky_relu", {}, "leaky_relu(z, 1/100)"), ("tanh", {}, "tanh(z)"),
])
def test_sheet_formulas_drop_parameters_at_their_defaults(name, params, written):
    text = F.to_code(A.make(name, params).formula(F.Name("z")))
    assert text.replace(" ", "").replace("0.01", "1/100").replace("0.5", "1/2") == written.replace(" ", "")


@pytest.mark.parametrize("text, kinks, unknown, exact, degree", [
    ("5*relu(z) - 0.1*z", (0.0,), False, True, 1),
    ("relu(z - 1)", (1.0,), False, True, 1),
    ("z*sigmoid(z)", (), False, False, 2),  # a product of two factors of degree 1
    ("z**3", (), False, True, 3),
    ("relu(z**2 - 1)", (), True, True, 2),
])
def test_custom_activation_kinds(text, kinks, unknown, exact, degree):
    kind = A.custom(text).kind
    assert (tuple(kind.kinks), kind.kinks_unknown, kind.exact, kind.custom) == (kinks, unknown, exact, True)
    assert kind.degree == degree
