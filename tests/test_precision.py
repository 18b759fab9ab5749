"""What the exact engine keeps of a value (engines/precision.py).

- `precision.bounded`: a fraction longer than ROUND_PAST_BITS becomes the nearest binary fraction
  of MANTISSA_BITS bits (checked against exact rational arithmetic), a short one or a short binary
  fraction is left as it is, zero stays zero and the sign is kept;
- a deep tanh net (not exact): the engine's values, whose gradients it rounds, agree with the same
  pass computed without rounding to 45 digits and more in every entry, and rounding did happen;
- an exact net (leaky ReLU and identity) whose fractions grow far past MANTISSA_BITS: every value is
  the exact fraction a forward and backward pass written here in Python's Fractions gives.
"""

from __future__ import annotations

import random
from fractions import Fraction

import gmpy2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import QQ

from backprop_check import activations as A
from backprop_check import network
from backprop_check.engines import Case, symbolic
from backprop_check.engines.precision import MANTISSA_BITS, ROUND_PAST_BITS, bounded
from backprop_check.engines.rationals import Rationals
from backprop_check.losses import KINDS as LOSSES, Loss
from backprop_check.spec import Layer

MPQ = type(QQ(1))


def _fraction(v) -> Fraction:
    return Fraction(int(v.numerator), int(v.denominator))


def _bits(v) -> int:
    return max(int(v.numerator).bit_length(), int(v.denominator).bit_length())


# ------------------------------------------------------------------ one value

@settings(max_examples=300, deadline=None)
@given(st.integers(-(1 << 2000), 1 << 2000), st.integers(1, 1 << 2000))
def test_a_long_fraction_becomes_the_nearest_short_binary_fraction(p, q):
    v = MPQ(p, q)
    r = bounded(v)
    assert type(r) is MPQ
    exact = Fraction(p, q)
    num, den = int(v.numerator), int(v.denominator)
    if num.bit_length() <= ROUND_PAST_BITS and den.bit_length() <= ROUND_PAST_BITS:
        assert r is v  # short: left as it is
        return
    if abs(num).bit_length() <= MANTISSA_BITS and den & (den - 1) == 0:
        assert r is v  # a short binary fraction: what a rounding would give
        return
    if exact == 0:
        assert r == 0
        return
    got = _fraction(r)
    den = got.denominator
    assert den & (den - 1) == 0  # a binary fraction …
    odd = abs(got.numerator) // (abs(got.numerator) & -abs(got.numerator))
    assert odd.bit_length() <= MANTISSA_BITS  # … of at most MANTISSA_BITS significant bits
    assert (got > 0) == (exact > 0)
    assert abs(got - exact) <= abs(exact) / 2 ** MANTISSA_BITS  # round to nearest: half an ulp at most
    # the nearest: the neighbouring binary fractions of the same exponent are farther away
    e = (abs(got.numerator).bit_length() - 1) - (den.bit_length() - 1)  # got's exponent (2^e <= |got|)
    ulp = Fraction(2) ** (e - MANTISSA_BITS + 1)
    assert abs(got - exact) <= ulp / 2
    assert bounded(r) == r  # a rounded value is rounded no further


def test_short_binary_fractions_zero_and_arrays():
    small = MPQ((1 << MANTISSA_BITS) - 1, 1 << 900)  # a long denominator, but a short binary fraction
    assert bounded(small) is small
    assert bounded(MPQ(0)) == 0
    values = np.array([[MPQ(1, 3) ** 400, MPQ(-(3 ** 500), 7)], [MPQ(5, 4), MPQ(0)]], dtype=object)
    out = bounded(values)
    assert out.shape == values.shape and out.dtype == object
    assert out[1, 0] is values[1, 0] and out[1, 1] == 0
    assert out[0, 1] < 0 and _bits(out[0, 1]) <= MANTISSA_BITS + 1100
    assert abs(_fraction(out[0, 0]) / _fraction(values[0, 0]) - 1) <= Fraction(1, 2 ** MANTISSA_BITS)
    with gmpy2.context(round=gmpy2.RoundUp, precision=53):  # gmpy2's global context plays no part
        assert bounded(values)[0, 0] == out[0, 0]
    floats = np.array([1.5, 2.5])
    assert bounded(floats) is floats  # the other engine's values: nothing to round


# ------------------------------------------------------------------ whole nets

def _net(rng: random.Random, acts: list, widths: list, n: int, denominator: int) -> Case:
    def mat(rows, cols, scale=1):
        return tuple(tuple(Fraction(rng.randint(-denominator * scale, denominator * scale), denominator)
                           for _ in range(cols)) for _ in range(rows))
    layers, params = [], {}
    for l, act in enumerate(acts, start=1):
        layers.append(Layer(f"W{l}", f"b{l}", act))
        params[f"W{l}"] = mat(widths[l], widths[l - 1])
        params[f"b{l}"] = mat(widths[l], 1)
    return Case(tuple(layers), params, mat(widths[0], n), mat(widths[-1], n), Loss(LOSSES["mse"], Fraction(1), "none"))


def _quantities(values: dict) -> dict:
    return {k: np.asarray(v, dtype=object) for k, v in values.items() if not k.startswith("d") or k.startswith("dl/")}


def test_a_deep_tanh_net_keeps_45_digits_where_it_rounds():
    rng = random.Random(14)
    depth = 12
    acts = [A.make("tanh")] * (depth - 1) + [A.make("identity")]
    case = _net(rng, acts, [4] * (depth + 1), 3, 100)
    assert not case.exact
    rounded = _quantities(network.run(case, Rationals(exact_problem=False)))
    reference = _quantities(network.run(case, Rationals(exact_problem=True)))  # the rounding disabled
    assert rounded.keys() == reference.keys()
    # the reference's gradients grow far past what is kept (153 bits more at every tanh) …
    assert max(_bits(v) for v in reference["dl/dW1"].flat) > 4 * MANTISSA_BITS
    assert max(_bits(v) for v in rounded["dl/dW1"].flat) < 2 * MANTISSA_BITS
    # … and the rounded values differ from them, by less than 1e-45 of each entry
    assert any(a != b for a, b in zip(rounded["dl/dW1"].flat, reference["dl/dW1"].flat))
    tolerance = Fraction(1, 10 ** 45)
    for name, exact in reference.items():
        for got, want in zip(rounded[name].flat, exact.flat):
            assert abs(_fraction(got) - _fraction(want)) <= tolerance * abs(_fraction(want)), name
    # the engine as solve runs it rounds a case that is not exact: the same values
    engine = symbolic.run(case)
    for name in ("dl/dW1", "dl/db1", "loss"):
        values = engine[name]
        values = values.to_list() if hasattr(values, "to_list") else values
        assert np.array_equal(np.asarray(values, dtype=object).reshape(rounded[name].shape), rounded[name]), name


def _reference_exact(case: Case, slope: Fraction) -> dict:
    """Forward and backward passes of a leaky-ReLU / identity net with squared error (factor 1,
    summed), in Fractions: dl/dW and dl/db of every layer."""
    x = np.array(case.x, dtype=object)
    acts, zs = [x], []
    for layer in case.layers:
        z = np.array(case.params[layer.weight], dtype=object).dot(acts[-1]) + np.array(case.params[layer.bias],
                                                                                       dtype=object)
        zs.append(z)
        leaky = layer.activation.name == "leaky_relu"
        acts.append(np.vectorize(lambda v: v if v > 0 or not leaky else slope * v, otypes=[object])(z))
    g = 2 * (acts[-1] - np.array(case.y, dtype=object))
    out = {}
    for l in range(len(case.layers), 0, -1):
        layer = case.layers[l - 1]
        leaky = layer.activation.name == "leaky_relu"
        dz = g * np.vectorize(lambda v: Fraction(1) if v > 0 or not leaky else slope, otypes=[object])(zs[l - 1])
        out[f"dl/d{layer.weight}"] = dz.dot(acts[l - 1].T)
        out[f"dl/d{layer.bias}"] = dz.sum(axis=1).reshape(-1, 1)
        g = np.array(case.params[layer.weight], dtype=object).T.dot(dz)
    return out


def test_an_exact_net_keeps_its_exact_fractions():
    rng = random.Random(7)
    depth = 8
    acts = [A.make("leaky_relu"), A.make("identity")] * (depth // 2)
    case = _net(rng, acts, [3] * (depth + 1), 2, 3 ** 40)  # 64-bit denominators: 500 bits by the first layer
    assert case.exact
    want = _reference_exact(case, Fraction(1, 100))
    assert max(_bits(v) for v in want["dl/dW1"].flat) > 2 * MANTISSA_BITS  # long enough to be rounded, were it
    got = symbolic.run(case)
    for name, exact in want.items():
        values = np.asarray(got[name].to_list(), dtype=object).reshape(exact.shape)
        assert [_fraction(v) for v in values.flat] == list(exact.flat), name
