"""graph_floats.floats_of: every value converted exactly as the float engine's `input` converts it."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from gmpy2 import mpq
from hypothesis import given, strategies as st

from backprop_check.engines.floats import Floats
from backprop_check.graph_floats import floats_of

rationals = st.fractions(max_denominator=10**30).map(lambda f: mpq(f.numerator, f.denominator))
sparse = st.one_of(st.just(mpq(0)), rationals)  # zeros often, as in a node's Jacobian by a weight matrix


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal as float64 arrays, bit for bit (the sign of a zero too), and shaped alike."""
    return a.dtype == b.dtype == np.float64 and a.shape == b.shape and a.tobytes() == b.tobytes()


@given(st.lists(sparse, min_size=1, max_size=30), st.lists(st.one_of(rationals, st.floats(allow_nan=False)),
                                                            max_size=10))
def test_each_value_as_input_converts_it(entries, numbers):
    values = {"m": np.array(entries, dtype=object).reshape(len(entries), 1),
              **{f"n{i}": v for i, v in enumerate(numbers)},
              "f": np.array([-0.0, 1.5]), "np": np.float64(-0.0), "frac": Fraction(1, 3)}
    out = floats_of(values)
    assert list(out) == list(values)
    for name, v in values.items():
        assert _same(out[name], Floats().input(v)), name


def test_numbers_are_zero_dimensional_arrays():
    out = floats_of({"a": mpq(1, 3), "b": 2.5})
    assert out["a"].shape == () and float(out["a"]) == 1 / 3 and float(out["b"]) == 2.5


def test_an_exact_array_with_no_zeros_and_one_of_zeros_only():
    ones = np.array([[mpq(1, 3), mpq(-2, 7)]], dtype=object)
    zeros = np.array([mpq(0)] * 4, dtype=object)
    out = floats_of({"ones": ones, "zeros": zeros})
    assert out["ones"].tolist() == [[1 / 3, -2 / 7]] and out["zeros"].tolist() == [0.0] * 4
    assert not np.signbit(out["zeros"]).any()


def test_the_converted_arrays_are_their_own():
    source = np.array([1.0, 2.0])
    out = floats_of({"x": source})
    out["x"][0] = 9.0
    assert source[0] == 1.0
