"""Exact arithmetic, parsing and output at width (issue 14): the fast paths give what the slow ones did.

- exact_matmul: products of rational matrices equal numpy's product of the fractions entry for entry
  (sizes, signs, long and short numerators, 1-D operands, chunked limb products);
- symbolic.compile_array: a rational function over whole arrays equals the entry-by-entry closure;
- symbolic._short and _to_mpf: the MPFR and low-level paths equal mpmath's operators;
- yamlflow: a text read with its number sequences taken from the text gives the same data and the
  same positions as libyaml alone, for random flow sequences and for traps (comments, strings,
  block scalars, trailing commas, spaced scalars);
- exact.plain_decimal and the spec reader: the same Fractions and the same messages;
- wide diagonal Jacobians: written as their diagonal above jacobians.DENSE_LIMIT, in full below it
  and with --jacobians dense, and the two agree.
No timings here (bench/width_speed.py prints them).
"""

from __future__ import annotations

import json
import random
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import QQ

from backprop_check import exact_matmul, yamlflow, yamlsource
from backprop_check.cli import main
from backprop_check.engines import rationals, symbolic
from backprop_check.errors import InputError
from backprop_check.exact import NumberError, parse_number, plain_decimal
from backprop_check.jacobians import DENSE_LIMIT, Diagonal
from backprop_check.ops import FUNCTIONS
from backprop_check.spec import parse_problem

MPQ = type(QQ(1))


# ------------------------------------------------------------------ exact matrix products

def _rationals(rng: random.Random, rows: int, cols: int, long: bool) -> np.ndarray:
    def one():
        if long:  # a 45-digit binary fraction, as tanh leaves them, or a long decimal product
            return MPQ(rng.getrandbits(150) - (1 << 149), 1 << rng.randint(0, 160))
        return MPQ(rng.randint(-1000, 1000), rng.choice([1, 4, 10, 100, 1000, 3]))
    return np.array([[one() for _ in range(cols)] for _ in range(rows)], dtype=object)


def _same(a, b) -> bool:
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    return a.shape == b.shape and all(type(x) is type(y) and x == y for x, y in zip(a.flat, b.flat))


@pytest.mark.parametrize("shape", [(40, 40, 12), (12, 64, 40), (33, 9, 50), (8, 200, 8), (3, 5, 7), (1, 30, 1)])
@pytest.mark.parametrize("long_a", [False, True])
@pytest.mark.parametrize("long_b", [False, True])
def test_exact_products_equal_numpys_product_of_the_fractions(shape, long_a, long_b):
    n, k, m = shape
    rng = random.Random(hash((shape, long_a, long_b)) & 0xFFFF)
    a, b = _rationals(rng, n, k, long_a), _rationals(rng, k, m, long_b)
    if min(n, m) >= exact_matmul.MIN_REUSE and k >= exact_matmul.MIN_INNER:
        assert exact_matmul._rational_product(a, b) is not None or long_a or long_b  # the integer path ran
    assert _same(exact_matmul.matmul(a, b), np.matmul(a, b))
    assert _same(exact_matmul.matmul(a[0], b), np.matmul(a[0], b))  # a row on the left
    assert _same(exact_matmul.matmul(a, b[:, 0]), np.matmul(a, b[:, 0]))  # a column on the right


def test_limb_products_in_chunks_equal_one_product(monkeypatch):
    rng = random.Random(7)
    a, b = _rationals(rng, 30, 80, True), _rationals(rng, 80, 20, True)
    assert _same(exact_matmul._rational_product(a, b), np.matmul(a, b))  # long integers: limbs
    monkeypatch.setattr(exact_matmul, "CHUNK_ENTRIES", 500)  # a few rows of a at a time
    assert _same(exact_matmul._rational_product(a, b), np.matmul(a, b))


@pytest.mark.parametrize("by_gmp", [False, True])
def test_both_ways_to_multiply_long_integers_equal_numpys_product(monkeypatch, by_gmp):
    """GMP's products one by one and the limbs by BLAS: each chosen by its cost, each exact."""
    monkeypatch.setattr(exact_matmul, "_by_gmp", lambda *sizes: by_gmp)
    rng = random.Random(17)
    a, b = _rationals(rng, 20, 9, True), _rationals(rng, 9, 24, True)
    a[2, :] = MPQ(-(1 << 2000) + 3, 1 << 150)  # as deep in a net's backward pass
    assert _same(exact_matmul._rational_product(a, b), np.matmul(a, b))
    fa, fb = (np.vectorize(lambda v: Fraction(int(v.numerator), int(v.denominator)), otypes=[object])(x)
              for x in (a, b))
    product = exact_matmul._rational_product(fa, fb)  # Fractions: Fractions of Python's integers
    assert _same(product, np.matmul(fa, fb))
    assert all(type(v.numerator) is int and type(v.denominator) is int for v in product.flat)


def test_the_cost_model_picks_gmp_for_long_integers_and_limbs_for_short_ones():
    assert exact_matmul._by_gmp(128, 15, 128, 2400, 160)  # a deep net's dW: 2,000-bit gradients
    assert not exact_matmul._by_gmp(128, 128, 15, 7, 160)  # W @ a: data times 45-digit values
    assert not exact_matmul._by_gmp(16, 4096, 16, 170, 165)  # a wide batch's dW


def test_products_with_zeros_negatives_and_huge_integers():
    rng = random.Random(11)
    a = _rationals(rng, 16, 16, True)
    a[3, :] = MPQ(0)
    a[:, 5] = MPQ(-(1 << 400) + 1, 7)  # past any limb count a 45-digit value needs
    b = _rationals(rng, 16, 16, False)
    assert _same(exact_matmul.matmul(a, b), np.matmul(a, b))
    assert _same(exact_matmul.matmul(b, a), np.matmul(b, a))


def test_read_only_operands_and_their_views_give_the_same_products_again():
    """The rows over common denominators of a read-only operand are kept per view: every view of
    it (the array, its transpose, a slice) and every later product still equal numpy's."""
    rng = random.Random(13)
    for _ in range(3):
        a, b = _rationals(rng, 24, 20, True), _rationals(rng, 20, 30, False)
        b.flags.writeable = False
        for _ in range(2):
            assert _same(exact_matmul.matmul(a, b), np.matmul(a, b))
            assert _same(exact_matmul.matmul(a[:, :20] @ b[:, :20].T * 0 + a[:, :20], b), np.matmul(a[:, :20], b))
            assert _same(exact_matmul.matmul(b.T, a.T), np.matmul(b.T, a.T))
            assert _same(exact_matmul.matmul(b[:, 3:25].T, a.T), np.matmul(b[:, 3:25].T, a.T))
        c = b.copy()  # writeable again: never taken from what was kept
        c[0, 0] = MPQ(7, 3)
        assert _same(exact_matmul.matmul(a, c), np.matmul(a, c))


def test_anything_but_rationals_is_numpys_product():
    a = np.array([[1.5, 2.0]] * 20, dtype=object)
    b = np.array([[MPQ(1, 3)] * 20] * 2, dtype=object)
    assert _same(exact_matmul.matmul(a, b), np.matmul(a, b))
    floats = np.ones((20, 20))
    assert np.array_equal(exact_matmul.matmul(floats, floats), floats @ floats)


# ------------------------------------------------------------------ elementwise, whole arrays

@pytest.mark.parametrize("name,params", [("relu", ()), ("leaky_relu", (Fraction(1, 10),)), ("abs", ()),
                                         ("step", ()), ("max", ()), ("pow", (3,)), ("mul", ())])
def test_rational_functions_over_whole_arrays_equal_entry_by_entry(monkeypatch, name, params):
    rng = random.Random(3)
    z = np.array([MPQ(rng.randint(-300, 300), rng.choice([1, 10, 100])) for _ in range(300)], dtype=object)
    z[:7] = MPQ(0)  # the kink
    f = FUNCTIONS[name]
    args = [z] if f.arity == 1 else [z, z[::-1].copy()]
    assert rationals._compiled_arrays(f, f.fill(params))[0] is not None  # the whole-array path is taken
    arithmetic = rationals.Rationals()
    whole = arithmetic.function(f, args, params), arithmetic.partials(f, args, params)
    monkeypatch.setattr(rationals, "_compiled_arrays", lambda f, p: (None, [None] * f.arity, None))
    single = arithmetic.function(f, args, params), arithmetic.partials(f, args, params)
    assert _same(whole[0], single[0])
    assert all(_same(x, y) for x, y in zip(whole[1], single[1]))


def test_transcendental_functions_are_not_exact_rational_array_code():
    value, slopes, jointly = rationals._compiled_arrays(FUNCTIONS["tanh"], ())
    assert value is None and slopes == [None] and jointly is not None  # MPFR's (tests/test_mpfr_arrays.py)


def test_shortening_and_mpf_conversion_are_mpmaths():
    rng = random.Random(5)
    with mpmath.workdps(symbolic.DPS):
        for _ in range(2000):
            v = MPQ(rng.getrandbits(rng.randint(1, 700)) * rng.choice([1, -1]), rng.getrandbits(rng.randint(1, 700)) | 1)
            mp = mpmath.mpf(int(v.numerator)) / int(v.denominator)  # what mpmath's operators give
            assert symbolic._to_mpf(v)._mpf_ == mp._mpf_
            expected = v if max(int(v.numerator).bit_length(), int(v.denominator).bit_length()) <= 256 \
                else symbolic.to_rational(mp)
            assert symbolic._short(v, 256) == expected


# ------------------------------------------------------------------ parsing

def _paths(value, path=()):
    yield path
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, path + (i,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))


def _read_both(text: str):
    """(yamlsource.parse, libyaml alone): each a Document or the message of its InputError."""
    out = []
    for found in (None, {}):
        try:
            out.append(yamlsource.parse(text, "p.yaml") if found is None else yamlsource._parse(text, "p.yaml", {}))
        except InputError as exc:
            out.append(str(exc))
    return out


def _assert_same_reading(text: str):
    fast, slow = _read_both(text)
    if isinstance(slow, str):
        assert fast == slow
        return
    assert fast.data == slow.data
    for path in _paths(slow.data):
        assert fast.where(path) == slow.where(path), path
        assert fast.where(path + (0, 3)) == slow.where(path + (0, 3))  # a path deeper than the data


_scalar = st.one_of(st.integers(-10 ** 6, 10 ** 6).map(str), st.decimals(-1000, 1000, places=3).map(str),
                    st.sampled_from(["1e-3", "-.5", "+2.", "3/4", "1.2.3", "x", "-", "nan", "1 2", "'q'", "[]"]))
_flow = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=5).map(
    lambda items: "[" + ", ".join(items) + "]"), max_leaves=30)
_gap = st.sampled_from([" ", "", "\n  ", "  # [1, 2]\n  ", "\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_flow, min_size=1, max_size=4), _gap)
def test_flow_sequences_read_from_the_text_equal_libyamls_reading(values, gap):
    lines = [f"k{i}:{gap}{v}" if i % 2 else f"k{i}: {v.replace(', ', ',' + gap)}" for i, v in enumerate(values)]
    _assert_same_reading("\n".join(lines) + "\n")


@pytest.mark.parametrize("text", [
    'title: "a [1, 2] b"\nW: [[1, 2], [3, 4]]\n',  # brackets in a quoted string
    "W: [[1, 2],\n  [3, 4]]  # [5, 6]\nb: [7]\n",  # in a comment
    "k: |\n  [1, 2]\nm: [3]\n",  # in a block scalar
    "a: &x [1, 2]\nb: *x\n",  # an anchor and its alias
    "a: [1,]\n", "b: [,1]\n", "c: [1,,2]\n", "d: [1 2]\n", "e: [[1]2]\n", "f: [1, [2]3]\n",  # not plain sequences
    "[1, 2]: 3\n",  # a sequence as a key
    "a: [1, 2\n",  # unclosed
    "a: [1, 2]\r\nb: [[3, 4],\r\n [5, 6]]\r\n",  # Windows line ends
    "a: " + "[" * 70 + "1" + "]" * 70 + "\n",  # deeper than yamlsource's bound
    "a:\n  - [1, 2]\n  - [3, 4]\nb: [[[1, [2]], []], [[]]]\n",
])
def test_hard_texts_read_as_libyaml_reads_them(text):
    _assert_same_reading(text)


def test_an_error_inside_a_number_sequence_names_its_line_and_column():
    text = ("bpcheck: 1\nid: p\nnetwork:\n  layers:\n    - {weight: W1, activation: relu}\n"
            "params:\n  W1: [[0.5, 1],\n       [2, 1e-3x]]\ndata:\n  x: [[1], [2]]\n  y: [[1], [2]]\n"
            "loss: {type: mse}\n")
    assert yamlflow.find(text)  # the weights are read from the text
    with pytest.raises(InputError) as exc:
        parse_problem(text, "p.yaml")
    assert str(exc.value).startswith("p.yaml:8:12: params.W1[1][1]: '1e-3x' is not a number")


@given(st.one_of(st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str),
                 st.integers().map(str), st.from_regex(r"[+-]?[0-9]{0,5}\.?[0-9]{0,5}", fullmatch=True)))
def test_plain_decimals_parse_to_the_same_fraction(text):
    plain = plain_decimal(text)
    try:
        slow = _slow_parse(text)
    except NumberError:
        assert plain is None
        return
    if plain is not None:
        assert Fraction(plain[0], 10 ** plain[1]) == slow
    assert parse_number(text) == slow


def _slow_parse(text: str) -> Fraction:
    """parse_number without its plain-decimal path."""
    import backprop_check.exact as exact

    saved = exact.plain_decimal
    exact.plain_decimal = lambda t: None
    try:
        return exact.parse_number(text)
    finally:
        exact.plain_decimal = saved


def test_plain_decimal_refuses_what_is_not_one():
    for text in ["", ".", "-", "+", "1e3", "1 ", " 1", "1_000", "١٢", "1.2.3", "--1", "0x10", 1.5, None]:
        assert plain_decimal(text) is None, text
    assert plain_decimal("-0.250") == (-250, 3) and plain_decimal("7.") == (7, 0) and plain_decimal(".5") == (5, 1)


@pytest.mark.parametrize("number,message", [("2000000", "is too large"), ("1e-301", "is too small"),
                                            ("0.0000001e-299", "is too small"), ("1000000.1", "is too large")])
def test_the_readers_magnitude_limits_hold_on_the_quick_path(number, message):
    text = ("bpcheck: 1\nid: p\nnetwork:\n  layers:\n    - {weight: W1, activation: relu}\n"
            f"params:\n  W1: [[0.5, {number}]]\ndata:\n  x: [[1], [2]]\n  y: [[1]]\nloss: {{type: mse}}\n")
    with pytest.raises(InputError) as exc:
        parse_problem(text, "p.yaml")
    assert str(exc.value).startswith("p.yaml:7:14: params.W1[0][1]: ") and message in str(exc.value)


# ------------------------------------------------------------------ wide diagonal Jacobians

def _wide(width: int, activation: str = "tanh") -> str:
    rng = random.Random(width)
    w1 = ", ".join(f"[{rng.randint(-9, 9) / 10}]" for _ in range(width))
    w2 = ", ".join(str(rng.randint(-9, 9) / 10) for _ in range(width))
    return ("bpcheck: 1\nid: wide\nnetwork:\n  layers:\n"
            f"    - {{weight: W1, activation: {activation}}}\n    - {{weight: W2, activation: identity}}\n"
            f"params:\n  W1: [{w1}]\n  W2: [[{w2}]]\ndata:\n  x: [[0.7]]\n  y: [[0.25]]\nloss: {{type: mse}}\n")


def _solve(tmp_path, text: str, *args: str) -> dict:
    path = tmp_path / "wide.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["solve", str(path), "--format", "json", *args])
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.output)["quantities"]


def test_a_wide_diagonal_jacobian_is_written_as_its_diagonal(tmp_path):
    width = 257  # 66,049 entries: past the limit
    assert width * width > DENSE_LIMIT
    compact = _solve(tmp_path, _wide(width))
    dense = _solve(tmp_path, _wide(width), "--jacobians", "dense")
    diagonal = compact["dz2/dz1"]["diagonal"]
    full = np.array(dense["dz2/dz1"])
    assert full.shape == (width, width) and np.array_equal(np.diag(full), diagonal)
    assert not np.any(full - np.diag(np.diag(full)))
    z1 = np.array(compact["z1"]).reshape(-1)  # tanh'(z1) = 1 - tanh(z1)^2, from the forward values
    assert np.allclose(diagonal, 1 - np.tanh(z1) ** 2, rtol=1e-12)
    assert {k: v for k, v in compact.items() if k != "dz2/dz1"} == {k: v for k, v in dense.items() if k != "dz2/dz1"}


def test_a_jacobian_within_the_limit_is_written_in_full(tmp_path):
    quantities = _solve(tmp_path, _wide(256))  # 65,536 entries: at the limit
    assert np.array(quantities["dz2/dz1"]).shape == (256, 256)


def test_diagonal_is_the_full_matrix_to_numpy():
    d = Diagonal(np.array([1.5, -2.0, 0.25]))
    assert d.shape == (3, 3) and np.shape(d) == (3, 3)
    assert np.array_equal(np.asarray(d, dtype=float), np.diag([1.5, -2.0, 0.25]))
    assert d.rows("0")[1] == ["0", -2.0, "0"]
