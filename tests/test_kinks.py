"""Kinks on purpose: pre-activations exactly on a kink, and one ulp either side.

The random-network property tests draw parameters k/20 and rarely land on a
kink; these construct the cases instead. Expected values are exact fractions
computed here (the piecewise-linear definitions, written out below), never
read from the package:

- activation level: relu, leaky_relu and elu (numpy forms, sympy derivatives,
  formula trees) at 0, −0, the smallest subnormals either side and
  `math.nextafter` steps away from 0;
- engine level: random piecewise-linear networks whose biases are chosen so
  that chosen units sit exactly on 0 for chosen samples (in exact arithmetic;
  float64 then lands within a rounding error of it, on either side), or a
  hair beside it; both engines must give the exact gradients.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings, strategies as st

from backprop_check import activations as A
from backprop_check import formulas as F
from backprop_check.engines import Case, numeric, symbolic
from backprop_check.losses import KINDS as LOSSES, Loss
from backprop_check.spec import Layer

TINY = math.nextafter(0.0, 1.0)  # 5e-324, the smallest subnormal

# (name, params, scale): the kinked activations, parameters written as literals
KINKED = [
    ("relu", {}, Fraction(1)),
    ("relu", {"grad_at_zero": Fraction(1, 2)}, Fraction(1)),
    ("relu", {"grad_at_zero": Fraction(1)}, Fraction(3)),
    ("leaky_relu", {}, Fraction(1)),
    ("leaky_relu", {"slope": Fraction(1, 10)}, Fraction(1)),
    ("leaky_relu", {"slope": Fraction(1, 5), "grad_at_zero": Fraction(1)}, Fraction(2)),
    ("leaky_relu", {"slope": Fraction(1, 10), "grad_at_zero": Fraction(1, 2)}, Fraction(1)),
    ("elu", {}, Fraction(1)),
    ("elu", {"alpha": Fraction(1, 2)}, Fraction(1)),
]


def exact_f(name: str, params: dict, scale: Fraction, z: Fraction) -> Fraction | None:
    """f(z) exactly (None for elu left of 0, which is transcendental)."""
    if name == "relu":
        return scale * max(z, Fraction(0))
    if name == "leaky_relu":
        slope = params.get("slope", Fraction(1, 100))  # the documented default, 0.01
        return scale * (z if z > 0 else slope * z)
    if name == "elu":
        return scale * z if z >= 0 else None
    if name == "identity":
        return scale * z
    raise AssertionError(name)


def exact_df(name: str, params: dict, scale: Fraction, z: Fraction) -> Fraction | None:
    """f′(z) exactly, with the spec's conventions at 0 (None for elu left of 0)."""
    g0 = params.get("grad_at_zero", Fraction(0))  # the documented default: ReLU′(0) = 0
    if name == "relu":
        return scale * (Fraction(1) if z > 0 else g0 if z == 0 else Fraction(0))
    if name == "leaky_relu":
        slope = params.get("slope", Fraction(1, 100))
        return scale * (Fraction(1) if z > 0 else slope + (1 - slope) * g0 if z == 0 else slope)
    if name == "elu":
        alpha = params.get("alpha", Fraction(1))
        return None if z < 0 else scale * (Fraction(1) if z > 0 else alpha)
    if name == "identity":
        return scale
    raise AssertionError(name)


def _near_kink_points() -> list:
    pts = [0.0, -0.0, TINY, -TINY, 2 * TINY, -2 * TINY, 1e-300, -1e-300, 2.0 ** -1074 * 3]
    z = 0.0
    for _ in range(3):
        z = math.nextafter(z, 1.0)
        pts.append(z)
        pts.append(-z)
    return pts


POINTS = _near_kink_points()


def _formula(node, z: float) -> float:
    return float(np.asarray(F.evaluate(node, {"z": np.array([[z]])})).reshape(-1)[0])


@settings(max_examples=60, deadline=None)
@given(which=st.sampled_from(KINKED), z=st.sampled_from(POINTS))
def test_activation_at_and_beside_the_kink_is_the_exact_piecewise_value(which, z):
    name, params, scale = which
    act = A.make(name, params, scale)
    q = Fraction(z)  # the float's exact value: 0, or ± a subnormal
    f, df = exact_f(name, params, scale, q), exact_df(name, params, scale, q)
    got_f = float(act.numpy(np.array([z]))[0])
    got_df = float(act.numpy_derivative(np.array([z]))[0])
    if f is not None:  # scale·slope·z rounds twice: within two roundings (or 2 subnormals)
        ulps = 2 * TINY + 4.5e-16 * abs(float(f))
        assert abs(got_f - float(f)) <= ulps and (got_f == 0 or (got_f > 0) == (f > 0)), (name, z, got_f)
        assert abs(_formula(act.formula(F.Name("z")), z) - float(f)) <= ulps
    else:  # elu just left of 0: α(e^z − 1) = αz to within one rounding, z being tiny
        assert got_f == pytest.approx(float(scale * params.get("alpha", 1)) * z, rel=1e-15, abs=0)
    if df is not None:
        assert got_df == float(df), (name, z, got_df)
        assert _formula(act.dformula(F.Name("z")), z) == float(df)
        if name != "elu":  # sympy's derivative, exactly, at the float's exact value
            d = act.sympy_derivative().subs(A.Z, sp.Rational(q.numerator, q.denominator))
            assert Fraction(int(d.p), int(d.q)) == df
    else:  # elu′ just left of 0 is α e^z = α to within one rounding
        assert got_df == pytest.approx(float(scale * params.get("alpha", 1)), rel=1e-15)


# ------------------------------------------------------------- engines, kinks constructed

PIECEWISE = [k for k in KINKED if k[0] != "elu"] + [("identity", {}, Fraction(1))]


def _mat(draw, rows: int, cols: int, d: int = 20) -> list:
    return [[Fraction(draw(st.integers(-10, 10)), d) for _ in range(cols)] for _ in range(rows)]


@st.composite
def kinked_cases(draw):
    """A network whose chosen units sit on 0 for chosen samples, exactly, or just beside.

    Each layer's bias is set, unit by unit, to −(W a)[i, j] for a drawn sample j (plus
    an offset of 0, or ± 1e-9 when `beside`), with a computed exactly from the
    previous layers: so z[i, j] is exactly the offset."""
    depth = draw(st.integers(1, 3))
    n = draw(st.integers(1, 3))
    widths = [draw(st.integers(1, 3)) for _ in range(depth + 1)]
    offset = draw(st.sampled_from([Fraction(0), Fraction(0), Fraction(1, 10 ** 9), Fraction(-1, 10 ** 9)]))
    x = _mat(draw, widths[0], n, 10)
    layers, params, a = [], {}, x
    for l in range(depth):
        name, p, scale = draw(st.sampled_from(PIECEWISE))
        act = A.make(name, p, scale)
        W = _mat(draw, widths[l + 1], widths[l])
        wa = [[sum((W[i][m] * a[m][j] for m in range(widths[l])), Fraction(0)) for j in range(n)]
              for i in range(widths[l + 1])]
        b = []
        for i in range(widths[l + 1]):
            on = draw(st.booleans())
            j = draw(st.integers(0, n - 1))
            b.append([-wa[i][j] + offset if on else Fraction(draw(st.integers(-10, 10)), 20)])
        z = [[wa[i][j] + b[i][0] for j in range(n)] for i in range(widths[l + 1])]
        a = [[exact_f(name, p, scale, v) for v in row] for row in z]
        layers.append(Layer(f"W{l + 1}", f"b{l + 1}", act))
        params[f"W{l + 1}"] = tuple(map(tuple, W))
        params[f"b{l + 1}"] = tuple(map(tuple, b))
    y = _mat(draw, widths[-1], n)
    factor = draw(st.sampled_from([Fraction(1), Fraction(1, 2)]))
    return Case(tuple(layers), params, tuple(map(tuple, x)), tuple(map(tuple, y)), Loss(LOSSES["mse"], factor))


def exact_backprop(case: Case) -> dict:
    """Loss, pre-activations and every parameter gradient, in fractions."""
    def matmul(A_, B_):
        return [[sum((A_[i][k] * B_[k][j] for k in range(len(B_))), Fraction(0)) for j in range(len(B_[0]))]
                for i in range(len(A_))]

    a, inputs, pres = [list(r) for r in case.x], [], []
    for layer in case.layers:
        W, b = case.params[layer.weight], case.params[layer.bias]
        z = [[v + b[i][0] for v in row] for i, row in enumerate(matmul(W, a))]
        inputs.append(a)
        pres.append(z)
        act = layer.activation
        a = [[exact_f(act.name, act.p, act.scale, v) for v in row] for row in z]
    y = case.y
    factor = case.loss.factor
    out = {"loss": factor * sum((a[i][j] - y[i][j]) ** 2 for i in range(len(a)) for j in range(len(a[0])))}
    g = [[factor * 2 * (a[i][j] - y[i][j]) for j in range(len(a[0]))] for i in range(len(a))]
    for l in range(len(case.layers), 0, -1):
        layer, z = case.layers[l - 1], pres[l - 1]
        act = layer.activation
        delta = [[g[i][j] * exact_df(act.name, act.p, act.scale, z[i][j]) for j in range(len(z[0]))]
                 for i in range(len(z))]
        out[f"z{2 * l - 1}"] = z
        out[f"dl/d{layer.weight}"] = matmul(delta, [list(c) for c in zip(*inputs[l - 1])])
        out[f"dl/d{layer.bias}"] = [[sum(row, Fraction(0))] for row in delta]
        W = case.params[layer.weight]
        g = matmul([list(c) for c in zip(*W)], delta)
    return out


def _q(v) -> Fraction:
    return Fraction(int(v.numerator), int(v.denominator))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=kinked_cases())
def test_engines_on_constructed_kinks_give_the_exact_gradients(case):
    want = exact_backprop(case)
    exact, fast = symbolic.run(case), numeric.run(case)
    for name, value in want.items():
        if name == "loss":
            assert _q(exact["loss"]) == value
            assert float(fast["loss"]) == pytest.approx(float(value), rel=1e-12, abs=1e-15)
            continue
        assert [[_q(v) for v in row] for row in exact[name].to_list()] == value, name
        w = np.array([[float(v) for v in row] for row in value])
        floor = 1e-12 * max(float(np.max(np.abs(w))), 1.0)
        assert np.allclose(fast[name], w, rtol=1e-9, atol=floor), (name, fast[name].tolist(), w.tolist())


# ------------------------------------------------------------- the kink snapping, by hand

def _one_unit(w: Fraction, x: Fraction, b: Fraction, act: str = "relu") -> Case:
    return Case((Layer("W1", "b1", A.make(act)),), {"W1": ((w,),), "b1": ((b,),)},
                ((x,),), ((Fraction(1),),), Loss(LOSSES["mse"]))


def test_a_pre_activation_that_cancels_to_zero_is_on_the_kink():
    """0.1·0.9 − 0.09 is exactly 0, but 1.4e-17 in float64: ReLU′ must take its value at 0
    (0 by default), so dl/dW1 = 2(0 − 1)·0·0.9 = 0 and dl/db1 = 0."""
    case = _one_unit(Fraction(1, 10), Fraction(9, 10), Fraction(-9, 100))
    assert 0.1 * 0.9 + -0.09 > 0  # the float64 residue that snapping removes
    out = numeric.run(case)
    assert out["z1"].tolist() == [[0.0]]
    assert out["dl/dW1"].tolist() == [[0.0]] and out["dl/db1"].tolist() == [[0.0]]


def test_a_pre_activation_a_hair_above_zero_is_not_snapped():
    """0.1·0.9 − 0.09 + 1e-12 = 1e-12 > 0, five times the snapping bound 1e-12 × 0.18 (the
    size of the summed terms): ReLU′ = 1, dl/dW1 = 2(1e-12 − 1)·0.9."""
    case = _one_unit(Fraction(1, 10), Fraction(9, 10), Fraction(-9, 100) + Fraction(1, 10 ** 12))
    out = numeric.run(case)
    assert out["z1"][0, 0] == pytest.approx(1e-12, rel=1e-3)
    assert out["dl/dW1"][0, 0] == pytest.approx(2 * (1e-12 - 1) * 0.9, rel=1e-12)


def test_snapping_is_relative_to_the_size_of_the_terms():
    """With terms of size 1e6 (1000·1000), a residue of 1e-7 is rounding (1e-12 × 2e6 = 2e-6)
    and is snapped; the same residue beside terms of size 0.18 is a real value."""
    big = _one_unit(Fraction(1000), Fraction(1000), Fraction(-10 ** 6) + Fraction(1, 10 ** 7))
    out = numeric.run(big)
    assert out["z1"].tolist() == [[0.0]] and out["dl/dW1"].tolist() == [[0.0]]
    small = _one_unit(Fraction(1, 10), Fraction(9, 10), Fraction(-9, 100) + Fraction(1, 10 ** 7))
    assert numeric.run(small)["dl/dW1"][0, 0] == pytest.approx(2 * (1e-7 - 1) * 0.9, rel=1e-12)


@pytest.mark.parametrize("act, g", [("leaky_relu", 0.01), ("elu", 1.0)])
def test_snapped_pre_activation_takes_the_convention_of_each_kinked_activation(act, g):
    """leaky_relu′(0) = its slope 0.01 and elu′(0) = α = 1 (defaults written here)."""
    out = numeric.run(_one_unit(Fraction(1, 10), Fraction(9, 10), Fraction(-9, 100), act))
    assert out["z1"].tolist() == [[0.0]]
    # dl/dz1 = 2(f(0) − 1)·f′(0) = −2g; dl/dW1 = −2g·0.9
    assert out["dl/dz1"][0, 0] == pytest.approx(-2 * g, rel=1e-12)
    assert out["dl/dW1"][0, 0] == pytest.approx(-2 * g * 0.9, rel=1e-12)
