"""formula_syntax: untrusted formula text is parsed, never run.

A hostile corpus (code injection, resource exhaustion, parser bombs, tricky
Unicode) must each be rejected with a FormulaSyntaxError, quickly and
without effect; valid formulas (ASCII and the Unicode spellings) parse and
render back; and random formulas built from a grammar, with junk spliced
in, either parse and grade to a Verdict or are rejected, nothing else.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import backprop_check.grade
from backprop_check.formula_products import Sized
from backprop_check import equivalence, formula_reading
from backprop_check import formula_syntax as S
from backprop_check import formulas as F
from backprop_check.formula_syntax import FormulaSyntaxError
from backprop_check.solve import solve
from backprop_check.spec import load_problem

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "dsga1008-2022-p1.yaml"
STATUSES = {"correct", "incorrect", "invalid"}
_CACHE: dict = {}


def _solved():
    """The problem, solved once per module (the fixture and the strategies share it)."""
    if "solution" not in _CACHE:
        _CACHE["solution"] = solve(load_problem(PROBLEM))
    return _CACHE["solution"]


def fit(e, s):
    return backprop_check.grade.fit_shape(e, s, "the shape")


@pytest.fixture(scope="module")
def solution():
    return _solved()


@pytest.fixture(scope="module")
def names(solution):
    return formula_reading.names_of(solution)


# ----------------------------------------------------------------- the hostile corpus
# MARKER is replaced by a file in tmp_path: if anything ran, it would exist.

HOSTILE = {
    # introspection and escapes
    "dunder-mro": "x.__class__.__mro__",
    "tuple-class": "().__class__",
    "subclasses": "().__class__.__bases__[0].__subclasses__()",
    "dunder-import": "__import__('os').system('touch MARKER')",
    "dunder-builtins": "__builtins__",
    "dunder-spaced": "x . __class__",
    "import-stmt": "import os",
    "import-after-semicolon": "x; import os",
    "import-after-newline": "x\nimport os",
    "exec": "exec(\"open('MARKER', 'w')\")",
    "eval": "eval('1')",
    "compile": "compile('1', 'f', 'eval')",
    "open-passwd": "open('/etc/passwd')",
    "open-marker": "open('MARKER', 'w')",
    "os-system": "os.system('touch MARKER')",
    "getattr": "getattr(x, 'T')",
    "globals": "globals()",
    "locals": "locals()",
    "vars": "vars()",
    "breakpoint": "breakpoint()",
    "print": "print(1)",
    "type-call": "type(x)",
    "lambda": "lambda: open('MARKER', 'w')",
    "lambda-called": "(lambda q: q)(x)",
    "list-comp": "[q for q in (1, 2)]",
    "dict-comp": "{q: 1 for q in (1,)}",
    "generator": "sum(q for q in W1)",
    "subscript": "x[0]",
    "subscript-2d": "W1[0][1]",
    "slice": "W1[:, 0]",
    "attribute-call": "x.sum()",
    "attribute-call-after-T": "x.T.sum()",
    "attribute-other": "dl/dW1.real",
    "call-on-attribute": "x.real(1)",  # x.T(1) is now xᵀ times 1 (juxtaposition, issue 10)
    "keyword-arg": "sum(x, axis=0)",
    "starred-arg": "relu(*x)",
    "double-starred-arg": "relu(**x)",
    "walrus": "(q := x)",
    "augmented-assign": "x @= W1",
    "assign": "x = 1",
    "f-string": "f'{x}'",
    "string": "'x'",
    "string-double": "\"open('MARKER', 'w')\"",
    "bytes": "b'x'",
    "complex": "1j",
    "none": "None",
    "ellipsis": "...",
    "true": "True",
    "list": "[x, y]",
    "set": "{x}",
    "dict": "{}",
    "tuple": "x, y",
    "await": "await x",
    "yield": "(yield x)",
    # operators outside + - * / @ **
    "if-else": "x if y else W1",
    "compare-lt": "x < y",
    "compare-eq": "x == y",
    "chained-compare": "0 < x < 1",
    "and": "x and y",
    "or": "x or y",
    "not": "not x",
    "modulo": "x % y",
    "floordiv": "x // y",
    "shift": "x << 1",
    "invert": "~x",
    "xor": "x ^ y",
    "bitor": "x | y",
    # resource exhaustion: powers, factorials, constants
    "power-tower-2": "2**10**10",
    "power-tower-9": "9**9**9",
    "float-exponent": "x**1e9",
    "negative-exponent": "x**-1e9",
    "exponent-99": "x ** 99",
    "exponent-name": "x ** N",
    "factorial-call": "factorial(1000)",
    "factorial-bang": "x!",
    "huge-int": "1" * 100000,
    "big-int-in-limit": "1" * 1999,
    "big-float-product": "1e308*1e308",
    "float-overflow": "1e400",
    "hex-huge": "0x" + "f" * 40,
    "eye-too-big": "eye(100000)",
    "eye-zero": "eye(0)",
    "eye-of-name": "eye(x)",
    "eye-of-formula": "eye(N + 1)",
    "exponent-e-power": "x ** e ** x",
    "power-tower-under-e": "e ** 2 ** 10 ** 10",
    "axis-2": "sum(x, 2)",
    "arity-0": "relu()",
    "arity-2": "relu(x, y)",
    "max-one-arg": "max(x)",
    "unknown-function": "softmin(x)",
    "function-as-name": "relu + x",
    "unknown-name": "w1_secret",
    # deep nesting and parser bombs
    "parens-10000": "(" * 10000 + "x" + ")" * 10000,
    "parens-999": "(" * 999 + "x" + ")" * 999,
    "parens-41": "(" * 41 + "x" + ")" * 41,
    "minus-100000": "-" * 100000 + "x",
    "minus-1999": "-" * 1999 + "x",
    "unicode-minus-1999": "−" * 1999 + "x",
    "not-chain": "not " * 499 + "x",
    "relu-500": "relu(" * 500 + "x" + ")" * 500,
    "relu-300": "relu(" * 300 + "x" + ")" * 300,
    "transpose-999": "x" + ".T" * 999,
    "transpose-unicode-1999": "x" + "ᵀ" * 1999,
    "brackets-999": "[" * 999 + "x" + "]" * 999,
    "many-nodes": "+".join(["x"] * 999),
    "one-megabyte": "x+" * 500_000 + "x",
    "unbalanced-open": "relu(x",
    "unbalanced-close": ")x(",
    "empty": "",
    "blank": "   ",
    # bytes and characters
    "null-byte": "x\x00",
    "null-only": "\x00",
    "null-in-name": "W\x001",
    "cyrillic-x": "х",  # U+0445
    "fullwidth-x": "ｘ",  # NFKC would make this x
    "math-bold-one": "W𝟏",  # NFKC would make this W1
    "superscript-one": "W¹",
    "greek-omicron": "relu(ο)",
    "bidi-override": "x\u202e + y",
    "zero-width-space": "x\u200b+y",
    "non-breaking-space": "x\u00a0+ y",
    "line-separator": "x\u2028+y",
    # issue 10: ^, juxtaposition, primes and sized names open no new way to large work
    "caret-tower": "2^2^2^2^2^2",
    "caret-huge-exponent": "x^(99999)",
    "caret-exponent-of-power": "x^(10^10)",
    "caret-name-exponent": "x^N",
    "caret-degree": "(x^16)^16",
    "caret-e-tower": "e^2^10^10",
    "juxtaposed-10000-names": "x " * 10_000,
    "juxtaposed-999-names": "x " * 999,
    "juxtaposed-glued-names": "W1" * 999,
    "juxtaposed-parens-500": "(x)" * 500,
    "juxtaposed-numbers-huge": "9" * 30 + " " + "9" * 30,
    "prime-of-a-non-activation": "sum'(x)",
    "prime-unknown": "f'(x)",
    "prime-chain": "sigmoid''(x)",
    "eye-huge": "I_99999",
    "ones-zero": "ones(0)",
    "quote-string": "'open'",
    "latex-input": "\\input{/etc/passwd}",
}


def _arm(text: str, marker: Path) -> str:
    return text.replace("MARKER", str(marker))


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_formula_is_rejected_quickly_and_without_effect(text, names, tmp_path):
    marker = tmp_path / "pwned"
    text = _arm(text, marker)
    start = time.process_time()  # CPU time: the same on a busy machine (bench/limits_speed.py times it)
    with pytest.raises(FormulaSyntaxError) as info:
        S.parse(text, names)
    cpu = time.process_time() - start
    assert cpu < 2.0, f"{cpu:.2f} s of CPU to reject"
    assert not marker.exists()
    assert list(tmp_path.iterdir()) == []
    message = str(info.value)
    assert message and len(message) < 300  # says why, without echoing a megabyte back


def test_hostile_corpus_is_large_enough():
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_formula_grades_as_invalid(text, solution, tmp_path):
    """Through the grader too: an `invalid` verdict, never an exception."""
    marker = tmp_path / "pwned"
    verdict = equivalence.grade_text(solution, "dl/dW1", _arm(text, marker), fit)
    assert verdict.status == "invalid"
    assert verdict.message.startswith("not a formula bpcheck can read")
    assert not marker.exists()


def test_non_string_is_rejected(names):
    for value in (None, 1, b"x", ["x"], {"x": 1}):
        with pytest.raises(FormulaSyntaxError):
            S.parse(value, names)


# ----------------------------------------------------------------- valid formulas

VALID = [
    ("W1 @ x + b1", "W1 @ x + b1"),
    ("5 * relu(z1)", "5 * relu(z1)"),
    ("W2 @ z2 + b2", "W2 @ z2 + b2"),
    ("sum((y_hat - y) ** 2)", "sum((y_hat - y) ** 2)"),
    ("2 * (y_hat - y)", "2 * (y_hat - y)"),
    ("dl/dz1 @ x.T", "dl/dz1 @ x.T"),
    ("dl/dz3 @ z2.T", "dl/dz3 @ z2.T"),
    ("diag(5 * step(z1))", "diag(5 * step(z1))"),
    ("eye(2)", "eye(2)"),
    ("W2.T @ (dl/dz3 * step(z1))", "W2.T @ (dl/dz3 * step(z1))"),
    ("step1.W1 - W1", "step1.W1 - W1"),
    ("max(0, z1)", "relu(z1)"),
    ("max(z1, 0)", "relu(z1)"),
    ("sigmoid(z1) * (1 - sigmoid(z1))", "sigmoid(z1) * (1 - sigmoid(z1))"),
    ("sum(dl/dz3, 1)", "sum(dl/dz3, 1)"),
    ("transpose(x)", "x.T"),
]


@pytest.mark.parametrize("text,code", VALID)
def test_valid_formula_parses_and_renders_back(text, code, names):
    node = S.parse(text, names)
    assert F.to_code(node) == code
    assert S.parse(F.to_code(node), names) == node


UNICODE = [
    ("W2ᵀ @ (dl/dz3 ⊙ step(z1))", "W2.T @ (dl/dz3 * step(z1))"),
    ("2 · (ŷ − y)", "2 * (y_hat - y)"),
    ("σ(z1) ⊙ (1 − σ(z1))", "sigmoid(z1) * (1 - sigmoid(z1))"),
    ("∂ℓ/∂z1 @ xᵀ", "dl/dz1 @ x.T"),
    ("sum((ŷ − y)²)", "sum((y_hat - y) ** 2)"),
    ("W1 − 0.1 · ∂ℓ/∂W1", "W1 - 0.1 * dl/dW1"),
]


@pytest.mark.parametrize("text,ascii_text", UNICODE)
def test_unicode_spellings_are_accepted(text, ascii_text, names):
    assert S.parse(text, names) == S.parse(ascii_text, names)


def test_unicode_formulas_grade_correct(solution):
    for quantity, text in [("dl/dW1", "∂ℓ/∂z1 @ xᵀ"), ("dl/dy_hat", "2 · (ŷ − y)"),
                           ("loss", "sum((ŷ − y)²)"), ("step1.W1", "W1 − 0.1 · ∂ℓ/∂W1")]:
        verdict = equivalence.grade_text(solution, quantity, text, fit)
        assert verdict.status == "correct", (quantity, text, verdict.message)


# Known bug: to_code (the answer syntax, also used to write answer keys) can write
# formulas that parse rejects. Each case below parses, but its to_code does not.
RENDER_BUGS = {
    "fractional-exponent": "x ** 0.5",  # -> x ** (1/2): "an exponent must be a number"
    "negative-fractional-exponent": "x ** -0.5",  # -> x ** (-1/2)
    "transposed-zero": "(0).T",  # -> 0.T: "invalid decimal literal"
    "transposed-whole-number": "(2).T * x",  # -> 2.T * x
    "tiny-constant": "1e-10 * x",  # -> 1/10000000000 * x: "the number 10000000000 is too large"
    "long-decimal": "0.1234567891 * x",  # -> 1234567891/10000000000 * x
}


@pytest.mark.parametrize("text", list(RENDER_BUGS.values()), ids=list(RENDER_BUGS))
def test_to_code_of_a_parsed_formula_parses_back(text, names):
    node = S.parse(text, names)
    S.parse(F.to_code(node), names)


# ----------------------------------------------------------------- random formulas

EXTRA_NAMES = ["yhat", "ŷ", "z4", "pi", "e", "N", "K", "xx", "foo", "inf", "nan", "step1.W1", "step2.W1",
               "step1.loss", "sample1.x", "dz9/dz1", "∂ℓ/∂z3", "dl/dfoo", "_q0", "W3"]
FUNCTION_NAMES = sorted(S.FUNCTIONS) + sorted(S.ALIASES) + ["σ", "factorial", "print"]
JUNK = ["(", ")", "[", "]", ".", ",", "'", '"', "\x00", "__", "!", ":=", "lambda ", " if ", ";", "\n",
        "#", "é", "ᵀ", "⊙", "·", "−", "σ", "²", "**", "@", "{", "}", "*", "=", "1e999", ".real", ".T",
        "-", "~", "%", "\\", "`", "$", " ", "0", "e", "j", "_", "/d", "dl/d"]
NUMBERS = st.one_of(
    st.integers(-10 ** 12, 10 ** 12).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0", "1", "2", "0.5", "1e-3", "1e308", "1e-400", "0x1F", "1_0", "16", "17", "-16",
                     "1024", "1025", "0.1", "3.14159"]),
)


def _extend(children):
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "@", "**"]), children).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}")
    power = st.tuples(children, st.sampled_from(["2", "-1", "0.5", "16", "17", "-3", "1e9", "(2)", "(-2)"])).map(
        lambda t: f"{t[0]} ** {t[1]}")
    call = st.tuples(st.sampled_from(FUNCTION_NAMES), st.lists(children, max_size=3)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})")
    axis = st.tuples(st.sampled_from(["sum", "mean", "softmax", "step", "softplus", "leaky_relu", "elu"]),
                     children, st.sampled_from(["0", "1", "2", "0.5", "-1"])).map(
        lambda t: f"{t[0]}({t[1]}, {t[2]})")
    return st.one_of(
        binary, power, call, axis,
        children.map(lambda s: f"-{s}"),
        children.map(lambda s: f"({s})"),
        children.map(lambda s: f"({s}).T"),
        children.map(lambda s: f"{s}.T"),
        children.map(lambda s: f"({s})ᵀ"),
    )


def _formula_texts(solution_names: list) -> st.SearchStrategy:
    leaves = st.one_of(st.sampled_from(solution_names + EXTRA_NAMES), NUMBERS)
    formula = st.recursive(leaves, _extend, max_leaves=12)
    junk = st.lists(st.tuples(st.integers(0, 10 ** 6), st.sampled_from(JUNK)), min_size=1, max_size=3)
    splices = st.one_of(st.just([]), st.just([]), junk)  # junk in about a third of the formulas

    def splice(drawn):
        text, pieces = drawn
        for position, piece in pieces:
            at = position % (len(text) + 1)
            text = text[:at] + piece + text[at:]
        return text

    return st.tuples(formula, splices).map(splice)


def _quantities(solution) -> list:
    return [q.quantity for q in solution.problem.questions if solution.entries[q.quantity].formula is not None]


# built once, on first use, over the problem's own names
FORMULAS = st.deferred(lambda: _formula_texts(sorted(formula_reading.names_of(_solved()))))
QUANTITIES = st.deferred(lambda: st.sampled_from(_quantities(_solved())))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=FORMULAS, quantity=QUANTITIES)
@example(text="dl/dz1 @ x.T", quantity="dl/dW1")
@example(text="sum((ŷ − y)²)", quantity="loss")
@example(text="log(0 * x) @ x.T / 0", quantity="dl/dW1")
@example(text="exp(exp(exp(W1))) ** 16 - exp(exp(exp(W1))) ** 16", quantity="step1.W1")
@example(text="softplus(W1, 0) + elu(W1, 1e9) * 1e9 * 1e9", quantity="step1.W1")
@example(text="eye(1024) @ eye(1024)", quantity="dz2/dz1")
@example(text="step(W1, sum(x, 0))", quantity="step1.W1")
@example(text="diag(diag(W1)) @ diag(1)", quantity="dz2/dz1")
@example(text="-" * 41 + "x", quantity="z1")
def test_random_formula_parses_and_grades_or_is_rejected(text, quantity):
    solution = _solved()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning must not escape as an exception
        start = time.process_time()
        try:
            equivalence.parse_answer(solution, text)
        except FormulaSyntaxError:
            parsed = False
        else:
            parsed = True
        verdict = equivalence.grade_text(solution, quantity, text, fit)
        cpu = time.process_time() - start
    assert isinstance(verdict, equivalence.Verdict)
    assert verdict.status in STATUSES
    assert isinstance(verdict.message, str) and verdict.message
    if not parsed:
        assert verdict.status == "invalid"
        assert verdict.message.startswith("not a formula bpcheck can read")
    assert cpu < 20.0, f"{cpu:.1f} s of CPU"  # bounded work, not a speed goal (bench/formula_speed.py)


def _value(node, env):
    try:
        with np.errstate(all="ignore"):
            value = F.evaluate(node, env)
    except F.FormulaError:
        return None
    if isinstance(value, Sized):
        return None  # I or ones alone: no size until a product gives it one (formulas.evaluate)
    return np.asarray(value, dtype=float)


def _known_render_bug(node) -> bool:
    """Trees that to_code is known to render unparseably (see RENDER_BUGS)."""
    if isinstance(node, F.Num):
        v = abs(node.value)
        return v.numerator > S.MAX_CONSTANT or v.denominator > S.MAX_CONSTANT
    if isinstance(node, F.Bin):
        if node.op == "**" and isinstance(node.right, F.Num) and node.right.value.denominator != 1:
            return True
        return _known_render_bug(node.left) or _known_render_bug(node.right)
    if isinstance(node, F.T) and isinstance(node.arg, F.Num) and node.arg.value >= 0 \
            and node.arg.value.denominator == 1:
        return True
    if isinstance(node, (F.Neg, F.T)):
        return _known_render_bug(node.arg)
    if isinstance(node, F.Call):
        return any(_known_render_bug(a) for a in node.args)
    return False


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=FORMULAS)
def test_parsed_formula_renders_to_code_that_means_the_same(text):
    """to_code is the answer syntax (answer keys are written with it): it parses back, same values."""
    solution = _solved()
    try:
        node = equivalence.parse_answer(solution, text)
    except FormulaSyntaxError:
        return
    if _known_render_bug(node):
        return
    again = equivalence.parse_answer(solution, F.to_code(node))
    a, b = _value(node, solution.env), _value(again, solution.env)
    assert (a is None) == (b is None)
    if a is not None:
        assert a.shape == b.shape
        assert np.allclose(a, b, rtol=1e-12, atol=0, equal_nan=True)


# ----------------------------------------------------------------- near-miss formulas
# Rewrites of the reference formula: those that keep its value must grade correct,
# the others grade to a verdict (and a plain sign flip is incorrect), never an exception.

SAME = [lambda s: f"({s}) + 0", lambda s: f"1 * ({s})", lambda s: f"(({s}).T).T", lambda s: f"2 * ({s}) / 2",
        lambda s: f"-(-({s}))", lambda s: f"({s}) * 1.0", lambda s: f"relu({s}) - relu(-({s}))",
        lambda s: f"({s})ᵀᵀ", lambda s: f"0.5 · ({s}) + 0.5 · ({s})"]
CHANGED = [lambda s: f"2 * ({s})", lambda s: f"({s}).T", lambda s: f"relu({s})", lambda s: f"({s}) + 1",
           lambda s: f"tanh({s})", lambda s: f"({s}) ** 2", lambda s: f"({s}) / N", lambda s: f"exp({s})",
           lambda s: f"({s}) @ ({s})", lambda s: f"sum({s})", lambda s: f"({s}) * 1e9 * 1e9 * 1e9",
           lambda s: f"log(({s}) - ({s}))", lambda s: f"({s}) / 0", lambda s: f"diag({s})"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quantity=QUANTITIES, rewrites=st.lists(st.tuples(st.booleans(), st.integers(0, 100)), max_size=3))
def test_rewritten_reference_formula_grades_consistently(quantity, rewrites):
    solution = _solved()
    text = F.to_code(solution.entries[quantity].formula)
    changed = False
    for change, i in rewrites:
        pool = CHANGED if change else SAME
        text = pool[i % len(pool)](text)
        changed = changed or change
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        verdict = equivalence.grade_text(solution, quantity, text, fit)
    assert verdict.status in STATUSES, (text, verdict.message)
    if not changed:
        assert verdict.status == "correct", (text, verdict.message)


@pytest.mark.parametrize("quantity", ["z1", "dl/dW1", "dl/db2", "dz2/dz1", "dl/dy_hat", "step1.W2"])
def test_sign_flipped_reference_is_incorrect_and_diagnosed(solution, quantity):
    text = f"-({F.to_code(solution.entries[quantity].formula)})"
    verdict = equivalence.grade_text(solution, quantity, text, fit)
    assert verdict.status == "incorrect", verdict.message
    assert "sign-flipped" in verdict.tags


# ----------------------------------------------------------------- indexing and list literals
# Graph problems (FORMAT.md section 5) parse with indexing=True: 0-based constant
# indices into Index, list literals into Stack. Without it both stay refused.

GRAPH_NAMES = ["v", "A", "G", "x", "y", "z"]

INDEXED = [
    ("v[0]", F.Index(F.Name("v"), (0,)), "v[0]"),
    ("A[1, 0]", F.Index(F.Name("A"), (1, 0)), "A[1, 0]"),
    ("A[(1, 0)]", F.Index(F.Name("A"), (1, 0)), "A[1, 0]"),
    ("A[1][0]", F.Index(F.Index(F.Name("A"), (1,)), (0,)), "A[1][0]"),
    ("G[1]", F.Index(F.Name("G"), (1,)), "G[1]"),
    ("(x * y)[0]", F.Index(F.Bin("*", F.Name("x"), F.Name("y")), (0,)), "(x * y)[0]"),
    ("A.T[0]", F.Index(F.T(F.Name("A")), (0,)), "A.T[0]"),
    ("[x - 4*y, x*y, x + y]",
     F.Stack((F.Bin("-", F.Name("x"), F.Bin("*", F.num(4), F.Name("y"))), F.Bin("*", F.Name("x"), F.Name("y")),
              F.Bin("+", F.Name("x"), F.Name("y")))), "[x - 4 * y, x * y, x + y]"),
    ("[[x, 1], [0, y]]", F.Stack((F.Stack((F.Name("x"), F.num(1))), F.Stack((F.num(0), F.Name("y"))))),
     "[[x, 1], [0, y]]"),
    ("[2*G[0]*G[1], G[1] - G[2]]",
     F.Stack((F.Bin("*", F.Bin("*", F.num(2), F.Index(F.Name("G"), (0,))), F.Index(F.Name("G"), (1,))),
              F.Bin("-", F.Index(F.Name("G"), (1,)), F.Index(F.Name("G"), (2,))))),
     "[2 * G[0] * G[1], G[1] - G[2]]"),
    ("[v]", F.Stack((F.Name("v"),)), "[v]"),
]


@pytest.mark.parametrize("text,tree,code", INDEXED)
def test_indexing_and_lists_parse_into_index_and_stack(text, tree, code):
    node = S.parse(text, GRAPH_NAMES, indexing=True)
    assert node == tree
    assert F.to_code(node) == code
    assert S.parse(code, GRAPH_NAMES, indexing=True) == node


def test_indexed_formulas_evaluate_like_numpy():
    env = {"v": np.array([1.0, 2.0, 3.0]), "A": np.array([[1.0, 2.0], [3.0, 4.0]]), "x": 2.0, "y": 3.0}
    assert F.evaluate(S.parse("v[2] * A[1, 0]", GRAPH_NAMES, indexing=True), env) == 9.0
    value = F.evaluate(S.parse("[x - 4*y, x*y, x + y]", GRAPH_NAMES, indexing=True), env)
    assert value.tolist() == [-10.0, 6.0, 5.0]
    assert F.evaluate(S.parse("[[x, 1], [0, y]]", GRAPH_NAMES, indexing=True), env).shape == (2, 2)


BAD_INDEXING = [
    ("v[-1]", "negative indices are not allowed"),
    ("A[-1, 0]", "negative indices are not allowed"),
    ("v[x]", "must be a whole number written out"),
    ("v[1 + 1]", "must be a whole number written out"),
    ("v[1.0]", "must be a whole number written out"),
    ("v[True]", "must be a whole number written out"),
    ("v['0']", "must be a whole number written out"),
    ("v[0:2]", "slices [a:b] are not allowed"),
    ("A[:, 0]", "slices [a:b] are not allowed"),
    ("A[1, 2, 3]", "one or two whole numbers"),
    ("v[5000]", "index 5000 is too large"),
    ("v[" + "9" * 50 + "]", "too large"),
    ("3[0]", "a number cannot be indexed"),
    ("[]", "an empty list"),
    ("[[x], y]", "lists for all its rows"),
    ("[[x, y], [x]]", "equally long"),
    ("[[[x]]]", "at most two deep"),
    ("[x for x in v]", "comprehension"),
    ("v[unknown]", "must be a whole number written out"),
    ("[w, x]", "unknown name 'w'"),
    ("[" + ", ".join(["x"] * 500) + "]", "more than 400 parts"),
    ("[" * 41 + "x" + "]" * 41, "nested more than 40 deep"),
    ("v[0] ** x", "an exponent must be a number"),
    ("[x, y] ** 99", "exponent 99 is too large"),
]


@pytest.mark.parametrize("text,message", BAD_INDEXING)
def test_bad_indexing_and_lists_are_refused_with_a_reason(text, message):
    with pytest.raises(FormulaSyntaxError, match=re.escape(message)):
        S.parse(text, GRAPH_NAMES, indexing=True)


@pytest.mark.parametrize("text,message", [("v[0]", "indexing [...] is not allowed"),
                                          ("[x, y]", "a list is not allowed")])
def test_indexing_and_lists_stay_refused_without_indexing(text, message):
    with pytest.raises(FormulaSyntaxError, match=re.escape(message)):
        S.parse(text, GRAPH_NAMES)
