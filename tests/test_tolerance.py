"""`Tolerance`: rtol/atol, the automatic atol, sigfigs, decimals, non-finite
submissions, and `from_spec` merging the problem's and a question's settings."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from backprop_check.spec import parse_problem
from backprop_check.tolerance import AUTO_ATOL, DEFAULT_RTOL, Tolerance, fraction_digits, significant_digits


def accepts(tol: Tolerance, expected, submitted) -> np.ndarray:
    return tol.accepts(np.asarray(expected, dtype=float), np.asarray(submitted, dtype=float))


# ------------------------------------------------------------------ rtol / atol

@pytest.mark.parametrize("expected", [0.5, -2.0, 10.0, 1234.5])
def test_rtol_atol_bound_is_atol_plus_rtol_times_expected(expected):
    tol = Tolerance(rtol=1e-2, atol=1e-3)
    bound = 1e-3 + 1e-2 * abs(expected)
    assert accepts(tol, expected, expected + 0.999 * bound)
    assert accepts(tol, expected, expected - 0.999 * bound)
    assert not accepts(tol, expected, expected + 1.001 * bound)
    assert not accepts(tol, expected, expected - 1.001 * bound)


def test_rtol_atol_is_elementwise():
    tol = Tolerance(rtol=1e-3, atol=0.0)
    ok = accepts(tol, [[1.0, 100.0], [-5.0, 2.0]], [[1.0009, 100.2], [-5.004, 2.0]])
    assert ok.tolist() == [[True, False], [True, True]]


def test_rtol_alone_uses_relative_error_only():
    tol = Tolerance(rtol=0.1, atol=0.0)
    assert accepts(tol, 1000.0, 1099.0)
    assert not accepts(tol, 1000.0, 1101.0)
    assert accepts(tol, 1e-6, 1.09e-6)
    assert not accepts(tol, 1e-6, 1.11e-6)


def test_explicit_zero_atol_grades_exact_zero_exactly():
    tol = Tolerance(rtol=1e-3, atol=0.0)
    assert accepts(tol, 0.0, 0.0)
    assert not accepts(tol, 0.0, 1e-12)


def test_defaults():
    tol = Tolerance()
    assert tol.rtol == DEFAULT_RTOL == 5e-3
    assert tol.atol is None and tol.sigfigs is None and tol.decimals is None
    assert "rtol" in tol.describe() and "auto" in tol.describe()


# ------------------------------------------------------------------ automatic atol

def test_auto_atol_grades_exact_zeros_by_the_scale_of_the_quantity():
    # a dead ReLU's gradient: an exact 0 next to entries of size 10
    tol = Tolerance(rtol=1e-3)  # atol automatic: 1e-3 × max |expected| = 0.01
    assert AUTO_ATOL == 1e-3
    expected = [0.0, 10.0, -4.0]
    assert accepts(tol, expected, [0.009, 10.0, -4.0]).all()
    assert accepts(tol, expected, [-0.009, 10.0, -4.0]).all()
    assert accepts(tol, expected, [0.011, 10.0, -4.0]).tolist() == [False, True, True]


def test_auto_atol_scales_with_the_largest_entry():
    tol = Tolerance(rtol=0.0)
    assert accepts(tol, [0.0, 1000.0], [0.9, 1000.0]).all()
    assert not accepts(tol, [0.0, 1.0], [0.9, 1.0]).all()
    assert accepts(tol, [0.0, 1.0], [0.0009, 1.0]).all()


def test_auto_atol_with_all_zero_expected_is_tiny_but_not_zero():
    tol = Tolerance()
    assert accepts(tol, [0.0, 0.0], [0.0, 0.0]).all()
    assert accepts(tol, [0.0, 0.0], [1e-12, -1e-12]).all()  # float noise
    assert not accepts(tol, [0.0, 0.0], [1e-4, 0.0]).all()


# ------------------------------------------------------------------ sigfigs

@pytest.mark.parametrize("expected, good, bad", [
    (0.012345, [0.0123, 0.01235, 0.012345, 0.01234], [0.0124, 0.0122, 0.01229, 0.01240]),
    (123.45, [123, 123.4, 123.5, 123.45], [124, 122, 122.9]),
    (-123.45, [-123, -123.4], [-124, -122]),
    (0.5, [0.5, 0.5004, 0.4996], [0.501, 0.499]),
    (98765.0, [98800, 98715.1], [98700, 98600, 98900]),
    (1.0, [1.00, 1.0004], [1.01, 0.99]),
])
def test_sigfigs_accept_within_half_a_unit_of_the_last_required_digit(expected, good, bad):
    tol = Tolerance(sigfigs=3)
    for s in good:
        assert accepts(tol, expected, s), (expected, s)
    for s in bad:
        assert not accepts(tol, expected, s), (expected, s)


def test_sigfigs_is_per_entry_not_per_quantity():
    # each entry's own magnitude sets its last digit
    tol = Tolerance(sigfigs=2)
    ok = accepts(tol, [1234.0, 0.001234], [1200.0, 0.0012])
    assert ok.all()
    ok = accepts(tol, [1234.0, 0.001234], [1200.0, 0.0013])
    assert ok.tolist() == [True, False]


def test_sigfigs_ignores_rtol():
    tol = Tolerance(rtol=1.0, sigfigs=3)  # rtol 100% would accept anything near
    assert not accepts(tol, 0.012345, 0.0124)
    assert "3 significant figures" == tol.describe()


def test_sigfigs_exact_zero_falls_back_to_atol():
    tol = Tolerance(sigfigs=3)  # automatic atol: 1e-3 × 2.5
    ok = accepts(tol, [0.0, 2.5], [0.002, 2.5])
    assert ok.all()
    assert not accepts(tol, [0.0, 2.5], [0.003, 2.5])[0]


# ------------------------------------------------------------------ decimals

@pytest.mark.parametrize("expected, decimals, good, bad", [
    (0.12345, 2, [0.12, 0.124, 0.1234], [0.13, 0.11]),
    (0.12345, 4, [0.1234, 0.1235], [0.1233, 0.1236]),
    (123.456, 0, [123, 123.4], [122, 124]),
    (-2.71828, 3, [-2.718, -2.7183], [-2.717, -2.719]),
    (0.0, 2, [0.0, 0.004, -0.004], [0.01, -0.006]),
])
def test_decimals_accept_within_half_a_unit_of_the_last_decimal(expected, decimals, good, bad):
    tol = Tolerance(decimals=decimals)
    for s in good:
        assert accepts(tol, expected, s), (expected, s)
    for s in bad:
        assert not accepts(tol, expected, s), (expected, s)
    assert tol.describe() == f"{decimals} decimal places"


def test_decimals_boundary_of_half_a_unit_is_inclusive():
    tol = Tolerance(decimals=2)
    assert accepts(tol, 0.125, 0.13)  # |0.13 − 0.125| = 0.005: rounding half up
    assert accepts(tol, 0.125, 0.12)  # and half to even


def test_decimals_is_absolute_for_large_values():
    tol = Tolerance(decimals=1)
    assert accepts(tol, 12345.67, 12345.7)
    assert not accepts(tol, 12345.67, 12345.5)


# ------------------------------------------------------------------ non-finite submissions

@pytest.mark.parametrize("tol", [Tolerance(), Tolerance(rtol=1e6, atol=1e6), Tolerance(sigfigs=1),
                                 Tolerance(decimals=0)], ids=["default", "huge", "sigfigs", "decimals"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_submissions_are_rejected(tol, bad):
    ok = accepts(tol, [1.0, 2.0, 0.0], [bad, 2.0, bad])
    assert ok.tolist() == [False, True, False]
    assert not accepts(tol, 1.0, bad)


def test_accepts_returns_a_boolean_array_of_the_expected_shape():
    tol = Tolerance()
    ok = accepts(tol, np.zeros((3, 2)), np.zeros((3, 2)))
    assert ok.shape == (3, 2) and ok.dtype == bool
    assert accepts(tol, 1.0, 1.0).shape == ()


# ------------------------------------------------------------------ from_spec

def test_from_spec_with_nothing_gives_the_defaults():
    assert Tolerance.from_spec() == Tolerance()
    assert Tolerance.from_spec(None, None) == Tolerance()
    assert Tolerance.from_spec({}, None) == Tolerance()


def test_from_spec_reads_fractions_from_the_spec_parser():
    tol = Tolerance.from_spec({"rtol": Fraction(1, 1000), "atol": Fraction(1, 10000)})
    assert tol.rtol == pytest.approx(1e-3) and tol.atol == pytest.approx(1e-4)
    assert isinstance(tol.rtol, float) and isinstance(tol.atol, float)


def test_from_spec_question_keys_override_problem_keys():
    tol = Tolerance.from_spec({"rtol": Fraction(1, 1000), "atol": Fraction(1, 10000)},
                              {"rtol": Fraction(1, 100)})
    assert tol.rtol == pytest.approx(1e-2)
    assert tol.atol == pytest.approx(1e-4)  # kept from the problem
    assert tol.sigfigs is None and tol.decimals is None


def test_from_spec_question_sigfigs_replace_the_problem_mode():
    tol = Tolerance.from_spec({"rtol": Fraction(1, 1000), "atol": Fraction(1, 10000)}, {"sigfigs": 3})
    assert tol.sigfigs == 3 and tol.decimals is None
    assert tol.describe() == "3 significant figures"
    assert accepts(tol, 0.012345, 0.0123) and not accepts(tol, 0.012345, 0.0124)


def test_from_spec_sigfigs_and_decimals_exclude_each_other():
    tol = Tolerance.from_spec({"sigfigs": 3}, {"decimals": 2})
    assert tol.decimals == 2 and tol.sigfigs is None
    tol = Tolerance.from_spec({"decimals": 2}, {"sigfigs": 4})
    assert tol.sigfigs == 4 and tol.decimals is None


def test_from_spec_question_without_tolerance_keeps_the_problem_mode():
    tol = Tolerance.from_spec({"sigfigs": 3}, None)
    assert tol.sigfigs == 3
    tol = Tolerance.from_spec({"decimals": 1}, {})
    assert tol.decimals == 1


def test_from_spec_question_rtol_overrides_a_problem_sigfigs_default():
    tol = Tolerance.from_spec({"sigfigs": 3}, {"rtol": Fraction(5, 100), "atol": Fraction(0)})
    assert tol.sigfigs is None
    assert accepts(tol, 0.012345, 0.0128)  # within 5%


SPEC = """\
bpcheck: 1
id: tol
network:
  layers:
    - {weight: W1, activation: identity}
params:
  W1: [[2]]
data:
  x: [[1]]
  y: [[0]]
loss: {type: mse}
tolerance: %s
questions:
  - {quantity: z1}
  - {quantity: loss, tolerance: {sigfigs: 2}}
  - {quantity: dl/dW1, tolerance: {rtol: 0.5}}
"""


def test_from_spec_on_a_parsed_problem_merges_problem_then_question():
    p = parse_problem(SPEC % "{rtol: 1e-3, atol: '1/10000'}")
    by = {q.quantity: Tolerance.from_spec(p.tolerance, q.tolerance) for q in p.questions}
    # issue 10: a tolerance the instructor wrote turns the last-digit rule off
    assert by["z1"] == Tolerance(rtol=1e-3, atol=1e-4, last_digit=False)
    assert by["loss"].sigfigs == 2 and by["loss"].atol == pytest.approx(1e-4)
    assert by["dl/dW1"].rtol == pytest.approx(0.5) and by["dl/dW1"].atol == pytest.approx(1e-4)


def test_from_spec_on_a_parsed_problem_with_decimals_default():
    p = parse_problem(SPEC % "{decimals: 3}")
    by = {q.quantity: Tolerance.from_spec(p.tolerance, q.tolerance) for q in p.questions}
    assert by["z1"].decimals == 3
    assert by["loss"].sigfigs == 2 and by["loss"].decimals is None


# ------------------------------------------------------------------ tests that bite (issue 8)
# Expectations below are literals worked out by hand, never read back from the module.

def test_question_with_rtol_only_drops_the_problem_sigfigs_mode():
    tol = Tolerance.from_spec({"sigfigs": 3}, {"rtol": Fraction(5, 100)})
    assert tol.sigfigs is None and tol.decimals is None
    assert tol.rtol == pytest.approx(0.05) and tol.atol is None
    assert tol.describe() == "rtol 0.05, atol auto"


def test_question_with_atol_only_drops_the_problem_decimals_mode():
    tol = Tolerance.from_spec({"decimals": 2}, {"atol": Fraction(1, 1000)})
    assert tol.decimals is None and tol.sigfigs is None
    assert tol.rtol == pytest.approx(5e-3) and tol.atol == pytest.approx(1e-3)
    assert tol.describe() == "rtol 0.005, atol 0.001"


def test_problem_rtol_is_kept_under_a_question_sigfigs():
    tol = Tolerance.from_spec({"rtol": Fraction(1, 100)}, {"sigfigs": 3})
    assert tol.sigfigs == 3 and tol.rtol == pytest.approx(0.01)


@pytest.mark.parametrize("sigfigs, expected, submitted", [
    (2, 1.05, 1.1), (2, 1.05, 1.0), (2, 10.5, 11.0), (2, 10.5, 10.0), (2, 0.105, 0.11),
    (3, 1.005, 1.01), (3, 1.005, 1.0), (3, 0.1005, 0.101), (3, 10.05, 10.1), (3, -1.005, -1.01),
])
def test_sigfigs_accept_an_exact_half_unit_rounded_either_way(sigfigs, expected, submitted):
    """1.05 to 2 significant figures is 1.0 or 1.1, whichever way the student rounds half;
    in float64 |1.1 − 1.05| is 0.050000000000000044, a hair past half a unit."""
    assert accepts(Tolerance(sigfigs=sigfigs), expected, submitted)


@pytest.mark.parametrize("sigfigs, expected, submitted", [
    (2, 1.05, 1.2), (2, 1.0501, 1.0), (3, 1.005, 1.02), (3, 1.0051, 1.0),
])
def test_sigfigs_reject_past_the_half_unit(sigfigs, expected, submitted):
    assert not accepts(Tolerance(sigfigs=sigfigs), expected, submitted)


@pytest.mark.parametrize("decimals, expected, submitted", [
    (2, 0.125, 0.13), (2, 0.125, 0.12), (3, 0.0105, 0.011), (3, 0.0105, 0.010), (1, -2.25, -2.3),
])
def test_decimals_accept_an_exact_half_unit_rounded_either_way(decimals, expected, submitted):
    assert accepts(Tolerance(decimals=decimals), expected, submitted)


def test_tolerance_is_immutable_and_hashable():
    tol = Tolerance(sigfigs=3)
    with pytest.raises(AttributeError):
        tol.sigfigs = 4  # nothing downstream may loosen a question's tolerance in place
    assert len({Tolerance(), Tolerance(), tol}) == 2


@pytest.mark.parametrize("text, digits", [
    ("0.0176", 4), ("-0.50", 2), (" 0.5 ", 1), ("12.", 0), ("1.76e-2", 4), ("1.25E-3", 5), ("1.25e3", -1),
    ("3", None), ("1e-3", None), ("3/4", None), ("1.5/2", None), ("-7", None),
])
def test_fraction_digits_counts_written_decimals(text, digits):
    assert fraction_digits(text) == digits


@pytest.mark.parametrize("value, text, figures", [
    (0.0176, "0.0176", 3), (123.45, "123.45", 5), (0.5, "0.5", 1), (0.5, "0.50", 2),
    (-0.5, "-0.500", 3), (0.0001, "0.0001", 1), (1.0, "1.000", 4), (9.99, "9.99", 3),
    (12.0, "12.", 2), (1250.0, "1.25e3", 3), (0.00125, "1.25e-3", 3), (0.0176, "1.760e-2", 4),
    (0.0, "0.000", None), (0.001, "1e-3", None), (0.75, "3/4", None), (4.0, "4", None),
])
def test_significant_digits_of_a_written_decimal(value, text, figures):
    # exponent notation counts the mantissa's figures: 1.25e3 and 1.25e-3 have three
    assert significant_digits(value, text) == figures
