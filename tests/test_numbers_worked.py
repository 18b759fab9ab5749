"""Worked arithmetic on typeset numbers: values and the rounding units they carry, by hand."""

import numpy as np
import pytest

from backprop_check.answers import Answer, answer_from_text
from backprop_check.formula_syntax import parse
from backprop_check.numbers_worked import NotWorked, worked


def work(source: str):
    return worked(parse(source, (), indexing=True), source)


def test_a_product_of_typed_matrices_carries_first_order_units():
    value, unit = work("[[1.25, 2]] @ [[0.5], [0.25]]")
    assert value.tolist() == [[1.125]]  # 1.25 * 0.5 + 2 * 0.25
    # 1.25 and 0.25 are written to 0.01 (2+ figures); 2 and 0.5 are exact or too short to round:
    # |1.25| * 0 + 0.01 * |0.5| + |2| * 0.01 + 0 * |0.25| = 0.025
    assert np.allclose(unit, [[0.025]])


def test_juxtaposed_matrices_multiply_and_a_scalar_scales():
    value, unit = work("(1 / 4) ([[0.36, 0.44]])")
    assert np.allclose(value, [[0.09, 0.11]]) and np.allclose(unit, [[0.0025, 0.0025]])  # 0.01 / 4
    value, _ = work("[[1, 2], [3, 4]] ([[1], [1]])")
    assert value.tolist() == [[3], [7]]


def test_a_transposed_literal_keeps_each_entrys_unit():
    value, unit = work("[[-0.1029], [-0.2059], [0.0176]].T")
    assert value.tolist() == [[-0.1029, -0.2059, 0.0176]]
    assert np.allclose(unit, [[1e-4, 1e-4, 1e-4]])


@pytest.mark.parametrize("source", ["[[1, 2]] ([[1, 2, 3]])", "x + 1", "exp(1)", "[[1, 2], [3]]",
                                    "2 ** 40", "1 / 0"])
def test_what_is_not_arithmetic_of_numbers_is_refused(source):
    with pytest.raises((NotWorked, Exception)) as info:
        work(source)
    assert info.type.__name__ in ("NotWorked", "FormulaSyntaxError")


def test_a_latex_step_of_the_seed_reads_as_a_value_with_units():
    answer = Answer("dl/dW2")
    answer_from_text(answer, r"\begin{bmatrix} -0.1029 \\ -0.2059 \\ 0.0176 \end{bmatrix}^T")
    assert answer.formula is None and answer.value.shape == (1, 3)
    assert np.allclose(answer.ulp, 1e-4)
    product = Answer("z1")
    answer_from_text(product, r"\begin{bmatrix} 0.6 & 0.01 \end{bmatrix} \begin{bmatrix} 0.75 \\ 0.8 \end{bmatrix}")
    assert np.allclose(product.value, [[0.458]])  # 0.6 * 0.75 + 0.01 * 0.8
