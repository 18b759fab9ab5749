"""Solve's JSON writer (`formats.json_text` with ensure_ascii, as `formats.solution` calls it) writes what json.dumps(value, indent=2) writes,
character for character, for the values a solution holds: numbers, vectors, matrices, deeper lists,
nan and infinities, and mixtures of ints, floats, bools and None."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from backprop_check.formats import json_text

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
                    st.sampled_from([0.0, -0.0, 1.0, 5e-324, 1e16, 1.7976931348623157e308]))
scalars = st.one_of(numbers, st.booleans(), st.none())
rows = st.lists(numbers, min_size=0, max_size=5)
matrices = st.integers(1, 4).flatmap(lambda n: st.lists(st.lists(numbers, min_size=n, max_size=n), max_size=4))
values = st.recursive(st.one_of(scalars, rows, matrices), lambda inner: st.lists(inner, max_size=4), max_leaves=30)


@given(st.dictionaries(st.text(max_size=5), values, max_size=4))
def test_the_writer_is_json_dumps_with_indent_2(value):
    assert json_text.dumps(value, ensure_ascii=True) == json.dumps(value, indent=2)


def test_a_matrix_and_a_vector_by_hand():
    assert json_text.dumps([[1.5, -2.0], [3e-20, 4]], ensure_ascii=True) == "[\n  [\n    1.5,\n    -2.0\n  ],\n  [\n    3e-20,\n    4\n  ]\n]"
    assert json_text.dumps({"v": [1.0, float("nan")]}, ensure_ascii=True) == '{\n  "v": [\n    1.0,\n    NaN\n  ]\n}'
