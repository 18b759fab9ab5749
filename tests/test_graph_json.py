"""Solve's JSON writer (`json_text`, ensure_ascii as json's default) on matrices like a large graph's Jacobians (mostly rows of zeros): still what
json.dumps(value, indent=2) writes, character for character, -0.0, ints, nan and ragged rows included."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from backprop_check.formats import json_text

entries = st.one_of(st.just(0.0), st.just(0.0), st.just(-0.0), st.floats(allow_nan=True, allow_infinity=True),
                    st.just(0), st.just(False))
floats = st.one_of(st.just(0.0), st.just(0.0), st.just(-0.0), st.floats(allow_nan=False, allow_infinity=False))
zero_rows = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.one_of(st.just([0.0] * n), st.lists(floats, min_size=n, max_size=n)), min_size=1,
                       max_size=8))
any_rows = st.lists(st.lists(entries, max_size=4), min_size=1, max_size=5)


@given(st.one_of(zero_rows, any_rows))
def test_a_matrix_is_written_as_json_dumps_writes_it(matrix):
    assert json_text.dumps({"m": matrix}, ensure_ascii=True) == json.dumps({"m": matrix}, indent=2)


def test_a_row_of_zeros_keeps_a_negative_zero():
    matrix = [[0.0, 0.0], [0.0, -0.0], [1.5, 0.0]]
    assert json_text.dumps(matrix, ensure_ascii=True) == json.dumps(matrix, indent=2)
    assert "-0.0" in json_text.dumps(matrix, ensure_ascii=True)


def test_a_row_of_integer_zeros_is_written_as_integers():
    matrix = [[0, 0], [0.0, 0.0]]
    assert json_text.dumps(matrix, ensure_ascii=True) == json.dumps(matrix, indent=2)
