"""The sheets' numbers (`sheet_text.numbers`, formatted together) are what the one-number rule
writes: %.6g, nan and inf as str writes them, no "-0"; LaTeX writes powers of ten out."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from backprop_check.formats import sheet_latex, sheet_text


def _one(v: float) -> str:
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    text = "%.6g" % v
    return "0" if text == "-0" else text


@given(st.lists(st.one_of(st.floats(), st.integers(-10**6, 10**6), st.sampled_from([0.0, -0.0, 5e-324]))))
def test_numbers_together_are_each_number_alone(values):
    assert sheet_text.numbers(values) == [_one(v) for v in values] == [sheet_text.number(v) for v in values]


def test_latex_rows_by_hand():
    rows = sheet_text.number_rows([[0.0, -0.0, 1.5e-7], [float("nan"), float("-inf"), 123456789.0]])
    assert rows == [["0", "0", "1.5e-07"], ["nan", "-inf", "1.23457e+08"]]
    assert sheet_latex._matrix(rows) == (r"\begin{bmatrix} 0 & 0 & 1.5 \cdot 10^{-7} \\ "
                                         r"\text{nan} & -\infty & 1.23457 \cdot 10^{8} \end{bmatrix}")
