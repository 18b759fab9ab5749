"""Spec validation (FORMAT.md section 1): every bad input is an InputError that
points at the offending line (and column) and says what is wrong.

Specs are built from one small valid template by exact text substitution, so
each case differs from a known-good spec in exactly one place.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import pytest

from backprop_check.errors import InputError
from backprop_check.quantities import UnknownQuantity
from backprop_check.spec import Problem, load_problem, parse_problem

ROOT = Path(__file__).resolve().parent.parent

PROBLEMS = sorted((Path(__file__).resolve().parent.parent / "problems").glob("*.yaml"))

TEMPLATE = """\
bpcheck: 1
id: tiny
title: Tiny net
network:
  layers:
    - {weight: W1, bias: b1, activation: relu}
    - {weight: W2, activation: identity}
params:
  W1: [[1, 2], [3, 4], [5, 6]]
  b1: [0, 0, 0]
  W2: [[1, 1, 1]]
data:
  layout: columns
  x: [[1, 2], [3, 4]]
  y: [[1, 0]]
loss: {type: mse, factor: 1/2}
train: {lr: 0.1, steps: 1}
questions:
  - {quantity: loss, points: 1}
"""

# Lines of the template, for readability of the expectations below.
L_VERSION, L_ID, L_TITLE = 1, 2, 3
L_LAYER1, L_LAYER2 = 6, 7
L_PARAMS, L_W1, L_B1, L_W2 = 8, 9, 10, 11
L_X, L_Y = 14, 15
L_LOSS, L_TRAIN, L_Q1 = 16, 17, 19


def make(*subs: tuple[str, str]) -> str:
    """The template with each (old, new) substitution applied exactly once."""
    text = TEMPLATE
    for old, new in subs:
        assert text.count(old) == 1, f"template fragment {old!r} is not unique"
        text = text.replace(old, new)
    return text


def where(text: str, needle: str) -> tuple[int, int]:
    """1-based (line, column) of the first occurrence of `needle` in `text`.

    `"x: |[[1, 2]]"` finds the first `x: [[1, 2]]` and points after the `|`.
    """
    prefix, _, target = needle.rpartition("|")
    i = text.index(prefix + target) + len(prefix)
    line = text.count("\n", 0, i) + 1
    column = i - (text.rfind("\n", 0, i) + 1) + 1
    return line, column


def bad(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        parse_problem(text, "p.yaml")
    err = info.value
    assert err.file == "p.yaml"
    assert "Traceback" not in str(err)
    return err


def test_template_is_valid():
    p = parse_problem(TEMPLATE, "p.yaml")
    assert isinstance(p, Problem)
    assert p.id == "tiny" and p.n_samples == 2 and p.steps == 1
    assert [q.quantity for q in p.questions] == ["loss"]


# --------------------------------------------------------------- the table
#
# (case id, substitutions, needle whose position the error must point at,
#  check the column too?, distinctive substring of the message)

CASES = [
    # broken YAML
    ("bad-indentation", [("  b1: [0, 0, 0]", "   b1: [0, 0, 0]")], "   b1", False, "broken YAML"),
    ("tab-indentation", [("  b1: [0, 0, 0]", "\tb1: [0, 0, 0]")], "\tb1", True, "broken YAML"),
    # structure: unknown keys
    ("unknown-top-level-key", [("title: Tiny net", "titel: Tiny net")], "titel", False,
     "unknown key 'titel' in the document; did you mean 'title'?"),
    ("unknown-top-level-key-no-match", [("title: Tiny net", "zzzz: Tiny net")], "zzzz", False,
     "unknown key 'zzzz'"),
    ("unknown-key-in-layer", [("{weight: W2, activation: identity}", "{weight: W2, activaton: identity}")],
     "activaton", False, "unknown key 'activaton' in network.layers[1]; did you mean 'activation'?"),
    ("unknown-key-in-data", [("  layout: columns", "  layuot: columns")], "layuot", False,
     "unknown key 'layuot' in data"),
    ("unknown-key-in-loss", [("factor: 1/2}", "factr: 1/2}")], "factr", False,
     "did you mean 'factor'?"),
    ("missing-required-key", [("id: tiny\n", "")], "bpcheck", True, "missing required key 'id'"),
    ("layer-without-weight", [("{weight: W2, activation: identity}", "{activation: identity}")],
     "{activation: identity}", False, "layer 2 has no 'weight'"),
    ("parameter-used-twice", [("{weight: W2, activation", "{weight: W1, activation"), ("  W2: [[1, 1, 1]]\n", "")],
     "W1, activation: identity", True, "'W1' is used by two layers"),
    # params
    ("missing-weight", [("  W2: [[1, 1, 1]]\n", "")], "  W1:", False, "missing parameter 'W2' (the weight of layer 2)"),
    ("missing-bias", [("  b1: [0, 0, 0]\n", "")], "  W1:", False, "missing parameter 'b1' (the bias of layer 1)"),
    ("unused-param", [("  W2: [[1, 1, 1]]\n", "  W2: [[1, 1, 1]]\n  W3: [[1]]\n")], "W3:", False,
     "parameter 'W3' is not used by any layer"),
    ("weight-shape-mismatch", [("W2: [[1, 1, 1]]", "W2: [[1, 1]]")], "[[1, 1]]", True,
     "W2 is 1×2 but layer 1 outputs 3 values: it must have 3 columns"),
    ("bias-length-mismatch", [("b1: [0, 0, 0]", "b1: [0, 0]")], "[0, 0]", True,
     "b1 has 2 entries but W1 has 3 rows"),
    ("ragged-weight-rows", [("W1: [[1, 2], [3, 4], [5, 6]]", "W1: [[1, 2], [3, 4], [5]]")], "[5]", True,
     "params.W1 row 3 has 1 entries, row 1 has 2: rows must be equally long"),
    ("ragged-x-rows", [("x: [[1, 2], [3, 4]]", "x: [[1, 2], [3]]")], "[3]]", True,
     "data.x row 2 has 1 entries"),
    ("weight-not-nested", [("W2: [[1, 1, 1]]", "W2: [1, 1, 1]")], "[1, 1, 1]", True,
     "params.W2 must be a nested list"),
    ("bias-nested", [("b1: [0, 0, 0]", "b1: [[0], [0], [0]]")], "[[0], [0], [0]]", True,
     "params.b1 must be a non-empty flat list of numbers"),
    # data
    ("x-wrong-features-transposed", [("x: [[1, 2], [3, 4]]", "x: [[1, 2], [3, 4], [5, 6]]")],
     "x: |[[1, 2], [3, 4], [5, 6]]", True, "data.x is 3×2 but the network needs 2×N"),
    ("x-wrong-features-rows-transposed", [("layout: columns", "layout: rows"), ("x: [[1, 2], [3, 4]]", "x: [[1, 2, 3], [4, 5, 6]]")],
     "[[1, 2, 3], [4, 5, 6]]", True, "data.x is 2×3 but the network needs N×2"),
    ("x-flat-wrong-length", [("x: [[1, 2], [3, 4]]", "x: [1, 2, 3]"), ("y: [[1, 0]]", "y: [1]")],
     "[1, 2, 3]", True, "data.x has 3 entries; the network needs 2"),
    ("y-wrong-samples", [("y: [[1, 0]]", "y: [[1, 0, 1]]")], "[[1, 0, 1]]", True,
     "data.y has 3 samples but data.x has 2"),
    ("y-flat-but-batch", [("y: [[1, 0]]", "y: [1]")], "y: [1]", False, "data.y is one sample but data.x has 2"),
    ("y-wrong-outputs", [("y: [[1, 0]]", "y: [[1, 0], [0, 1]]")], "[[1, 0], [0, 1]]", True,
     "data.y is 2×2 but the network needs 1×N"),
    ("missing-x", [("  x: [[1, 2], [3, 4]]\n", "")], "layout", False, "missing data.x"),
    ("bad-layout", [("layout: columns", "layout: cols")], "cols", True, "data.layout must be 'columns' or 'rows'"),
    # activations
    ("unknown-activation", [("activation: relu", "activation: rleu")], "rleu", True,
     "unknown activation 'rleu'; did you mean 'relu'?"),
    ("softmax-on-hidden-layer", [("activation: relu", "activation: softmax")], "softmax", True,
     "softmax is allowed on the last layer only"),
    ("unknown-activation-parameter", [("activation: relu", "activation: {leaky_relu: {slop: 2}}")],
     "{leaky_relu", True, "leaky_relu has no parameter 'slop'; did you mean 'slope'?"),
    ("activation-parameters-not-mapping", [("activation: relu", "activation: {relu: 5}")], "5}", True,
     "parameters of 'relu' must be a mapping"),
    ("activation-mapping-two-keys", [("activation: relu", "activation: {relu: {}, tanh: {}}")], "{relu", True,
     "exactly one key"),
    ("activation-scale-zero", [("activation: relu", "activation: {relu: {scale: 0}}")], "{relu", True,
     "scale 0 makes the layer output constant"),
    # loss
    ("bce-targets-outside-0-1", [("type: mse, factor: 1/2", "type: bce"), ("activation: identity", "activation: sigmoid"),
                                 ("y: [[1, 0]]", "y: [[2, 0]]")], "[[2, 0]]", True, "bce needs targets between 0 and 1"),
    ("bce-with-identity-output", [("type: mse, factor: 1/2", "type: bce")], "{type: bce}", True,
     "bce needs outputs in (0, 1): the last activation must be sigmoid or softmax, not identity"),
    ("cross-entropy-with-sigmoid", [("type: mse, factor: 1/2", "type: cross_entropy"), ("activation: identity", "activation: sigmoid")],
     "{type: cross_entropy}", True, "the last activation must be softmax"),
    ("cross-entropy-targets-not-summing-to-1",
     [("type: mse, factor: 1/2", "type: cross_entropy"), ("activation: identity", "activation: softmax"),
      ("W2: [[1, 1, 1]]", "W2: [[1, 1, 1], [1, 0, 0]]"), ("y: [[1, 0]]", "y: [[1, 0], [0.5, 1]]")],
     "[[1, 0], [0.5, 1]]", True, "cross_entropy targets must sum to 1 per sample; sample 1 sums to 3/2"),
    ("unknown-loss-type", [("type: mse", "type: mae")], "{type: mae", True, "unknown loss type 'mae'; use one of mse, bce, cross_entropy"),
    ("unknown-loss-string", [("loss: {type: mse, factor: 1/2}", "loss: msee")], "msee", True, "unknown loss type 'msee'"),
    ("bad-average", [("factor: 1/2}", "factor: 1/2, average: batch}")], "batch", True,
     "loss.average must be one of none, samples, outputs, all"),
    ("negative-factor", [("factor: 1/2", "factor: -1/2")], "-1/2", True, "loss.factor must be positive"),
    ("zero-factor", [("factor: 1/2", "factor: 0")], "0}", True, "loss.factor must be positive"),
    # train
    ("steps-zero", [("steps: 1", "steps: 0")], "0}", True, "train.steps must be a whole number from 1 to 50"),
    ("steps-too-many", [("steps: 1", "steps: 51")], "51", True, "train.steps must be a whole number from 1 to 50"),
    ("steps-fractional", [("steps: 1", "steps: 1.5")], "1.5", True, "train.steps must be a whole number"),
    ("steps-negative", [("steps: 1", "steps: -3")], "-3", True, "train.steps must be a whole number"),
    ("lr-zero", [("lr: 0.1", "lr: 0")], "lr: |0,", True, "train.lr must be positive"),
    ("train-without-lr", [("train: {lr: 0.1, steps: 1}", "train: {steps: 1}")], "{steps", True,
     "train needs a learning rate 'lr'"),
    # duplicate keys (the second one is the offender)
    ("duplicate-top-level-key", [("title: Tiny net", "title: Tiny net\ntitle: again")], "title: again", True,
     "duplicate key 'title'"),
    ("duplicate-key-in-flow-mapping", [("{weight: W2, activation: identity}", "{weight: W2, weight: W3}")],
     "weight: W3", True, "duplicate key 'weight'"),
    ("duplicate-param", [("  b1: [0, 0, 0]", "  b1: [0, 0, 0]\n  b1: [1, 1, 1]")], "b1: [1, 1, 1]", True,
     "duplicate key 'b1'"),
    # questions
    ("unknown-quantity", [("quantity: loss", "quantity: los")], "los,", True,
     "unknown quantity 'los'; did you mean 'loss'?"),
    ("unknown-quantity-step", [("quantity: loss", "quantity: step2.W1")], "step2.W1", True,
     "unknown quantity 'step2.W1'; did you mean 'step1.W1'?"),
    ("quantity-asked-twice", [("  - {quantity: loss, points: 1}", "  - {quantity: y_hat, points: 1}\n  - {quantity: z4, points: 1}")],
     "z4", True, "y_hat is asked twice"),  # z4 is the output, i.e. y_hat
    ("bad-form", [("points: 1}", "points: 1, form: formula}")], "formula", True, "form must be one of value, expression, any"),
    ("negative-points", [("points: 1}", "points: -1}")], "-1}", True, "points must be between 0 and 10000"),
    # version and id
    ("version-2", [("bpcheck: 1", "bpcheck: 2")], "2\nid", True, "unsupported format version '2'; this bpcheck reads version 1"),
    ("version-1.0", [("bpcheck: 1", "bpcheck: 1.0")], "1.0", True, "unsupported format version '1.0'"),
    ("version-null", [("bpcheck: 1", "bpcheck: ~")], "~", True, "unsupported format version"),
    ("missing-version", [("bpcheck: 1\n", "")], "id", True, "missing required key 'bpcheck'"),
    ("id-upper-case", [("id: tiny", "id: Tiny")], "Tiny\n", True, "id must be an id of lower-case letters"),
    ("id-space", [("id: tiny", "id: tiny net")], "tiny net", True, "id must be an id of lower-case letters"),
    ("id-slash", [("id: tiny", "id: ../etc/passwd")], "../etc", True, "id must be an id of lower-case letters"),
    ("id-unicode", [("id: tiny", "id: tïny")], "tïny", True, "id must be an id of lower-case letters"),
    ("id-shell", [("id: tiny", "id: 'tiny;rm -rf'")], "'tiny;", True, "id must be an id of lower-case letters"),
    # names (display aliases)
    ("names-alias-is-real-name", [("questions:", "names: {z1: z3}\nquestions:")], "z3}", True,
     "alias 'z3' is already a name of this network"),
    ("names-alias-is-param", [("questions:", "names: {z1: W2}\nquestions:")], "W2}", True,
     "alias 'W2' is already a name of this network"),
    ("names-alias-is-data", [("questions:", "names: {z1: x}\nquestions:")], "x}", True,
     "alias 'x' is already a name of this network"),
    ("names-alias-is-y_hat", [("questions:", "names: {z1: y_hat}\nquestions:")], "y_hat}", True,
     "alias 'y_hat' is already a name"),
    ("names-alias-twice", [("questions:", "names: {z1: S, z2: S}\nquestions:")], "S}", True,
     "alias 'S' is already a name"),
    ("names-unknown-value", [("questions:", "names: {z9: S1}\nquestions:")], "z9:", True,
     "names: 'z9' is not a value of this network"),
    # tolerance
    ("tolerance-negative", [("questions:", "tolerance: {rtol: -1e-3}\nquestions:")], "-1e-3", True,
     "rtol must not be negative"),
    ("tolerance-unknown-key", [("questions:", "tolerance: {rtl: 1e-3}\nquestions:")], "rtl", False,
     "did you mean 'rtol'?"),
    ("tolerance-both", [("questions:", "tolerance: {sigfigs: 3, decimals: 2}\nquestions:")], "{sigfigs", True,
     "use sigfigs or decimals, not both"),
]

@pytest.mark.parametrize("subs, needle, check_column, message",
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_spec(subs, needle, check_column, message):
    text = make(*subs)
    err = bad(text)
    line, column = where(text, needle)
    assert message in err.message
    assert err.line == line, f"{err} (expected line {line})"
    if check_column:
        assert err.column == column, f"{err} (expected column {column})"


# --------------------------------------------------------------- broken YAML

def test_unclosed_bracket():
    text = make(("W2: [[1, 1, 1]]", "W2: [[1, 1, 1]"))
    err = bad(text)
    assert err.message.startswith("broken YAML")
    # PyYAML notices the missing ']' at the next token (line 12); line 11 opened it.
    assert err.line in (L_W2, L_W2 + 1)
    assert err.column is not None


def test_unclosed_bracket_at_end_of_file():
    text = make() + "names: {z1: S1\n"
    err = bad(text)
    assert err.message.startswith("broken YAML")
    assert err.line is not None and err.line >= 20


def test_second_document_is_rejected():
    err = bad(TEMPLATE + "---\nid: other\n")
    assert "broken YAML" in err.message and err.line == 20


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(text):
    err = bad(text)
    assert "empty" in err.message
    assert err.line == 1


@pytest.mark.parametrize("text", ["- 1\n- 2\n", "hello\n", "42\n"])
def test_document_not_a_mapping(text):
    err = bad(text)
    assert "must be a mapping" in err.message
    assert err.line == 1 and err.column == 1


def test_document_marker_only():
    err = bad("---\n")
    assert "must be a mapping" in err.message or "empty" in err.message
    assert err.line in (1, 2)


# --------------------------------------------------------------- numbers

@pytest.mark.parametrize("value", ["nan", ".nan", ".NaN", "NaN", "'nan'", "inf", ".inf", "-.inf", "+.inf",
                                   "'-infinity'"])
def test_non_finite_numbers_rejected(value):
    text = make(("b1: [0, 0, 0]", f"b1: [0, {value}, 0]"))
    err = bad(text)
    assert "is not a finite number" in err.message
    assert "params.b1[1]" in err.message
    assert (err.line, err.column) == where(text, value)


@pytest.mark.parametrize("value", ["abc", "0x10", "0o7", "1:30", "1e", "1/2/3", "''"])
def test_non_number_strings_rejected(value):
    text = make(("b1: [0, 0, 0]", f"b1: [0, {value}, 0]"))
    err = bad(text)
    assert "is not a number (write e.g. 0.25, -1e-3 or 3/4)" in err.message
    assert (err.line, err.column) == where(text, value)


@pytest.mark.parametrize("value", ["~", "null"])
def test_null_number_rejected(value):
    text = make(("b1: [0, 0, 0]", f"b1: [0, {value}, 0]"))
    err = bad(text)
    assert "expected a number, got nothing (null)" in err.message
    assert (err.line, err.column) == where(text, value)


def test_division_by_zero_rejected():
    text = make(("lr: 0.1", "lr: '1/0'"))
    err = bad(text)
    assert "divides by zero" in err.message
    assert (err.line, err.column) == where(text, "'1/0'")


def test_huge_exponent_rejected_quickly():
    text = make(("lr: 0.1", "lr: 1e99999"))
    start = time.process_time()  # CPU time, not wall clock: load-independent
    err = bad(text)
    assert time.process_time() - start < 4
    assert "exponent 99999 is out of range" in err.message
    assert (err.line, err.column) == where(text, "1e99999")


def test_overlong_number_rejected():
    digits = "1" * 201
    text = make(("lr: 0.1", f"lr: {digits}"))
    err = bad(text)
    assert "more than 200 characters" in err.message
    assert err.line == L_TRAIN


# YAML 1.1 traps: every scalar is text to bpcheck, so `no` is not False and 1e-3 is not a string.

@pytest.mark.parametrize("subs, needle, where_in_message", [
    (("steps: 1", "steps: no"), "no}", "train.steps"),
    (("lr: 0.1", "lr: no"), "no,", "train.lr"),
    (("factor: 1/2", "factor: off"), "off", "loss.factor"),
    (("x: [[1, 2], [3, 4]]", "x: [[1, yes], [3, 4]]"), "yes", "data.x[0][1]"),
    (("b1: [0, 0, 0]", "b1: [0, true, 0]"), "true", "params.b1[1]"),
])
def test_yaml11_booleans_are_not_numbers(subs, needle, where_in_message):
    text = make(subs)
    err = bad(text)
    assert where_in_message in err.message and "is not a number" in err.message
    assert (err.line, err.column) == where(text, needle)


@pytest.mark.parametrize("written, exact", [
    ("1e-3", Fraction(1, 1000)),
    ("1E-3", Fraction(1, 1000)),
    ("0.6", Fraction(3, 5)),
    ("0.1", Fraction(1, 10)),
    ('"1/3"', Fraction(1, 3)),
    ("1/3", Fraction(1, 3)),
    ("'2.5e-1'", Fraction(1, 4)),
    ("1e+2", Fraction(100)),
    (".5", Fraction(1, 2)),
])
def test_numbers_are_exact(written, exact):
    p = parse_problem(make(("lr: 0.1", f"lr: {written}")), "p.yaml")
    assert isinstance(p.lr, Fraction)
    assert p.lr == exact


def test_exact_numbers_in_matrices():
    p = parse_problem(make(("W1: [[1, 2], [3, 4], [5, 6]]", "W1: [[0.6, 1e-3], ['1/3', 3/4], [-0.25, 7]]")), "p.yaml")
    assert p.params["W1"] == ((Fraction(3, 5), Fraction(1, 1000)), (Fraction(1, 3), Fraction(3, 4)),
                              (Fraction(-1, 4), Fraction(7)))
    assert p.params["b1"] == ((0,), (0,), (0,))  # a bias is stored as an out×1 column


# --------------------------------------------------------------- sizes

def test_weight_with_2000_columns_rejected():
    wide = "[[" + ", ".join(["1"] * 2000) + "]]"
    text = make(("W2: [[1, 1, 1]]", "W2: " + wide))
    start = time.process_time()  # CPU time, not wall clock: load-independent
    err = bad(text)
    assert time.process_time() - start < 10
    assert "has 2000 entries; the limit is 1024" in err.message
    assert err.line == L_W2


def test_too_many_samples_rejected():
    n = 4097  # data.x is checked before data.y is read, so y can stay small
    text = make(("layout: columns", "layout: rows"),
                ("x: [[1, 2], [3, 4]]", "x: [" + ", ".join(["[1, 2]"] * n) + "]"))
    err = bad(text)
    assert "4097" in err.message and "the limit is 4096" in err.message
    assert err.line == L_X


def _deep(n: int) -> str:
    layers = "".join(f"    - {{weight: W{i}, activation: tanh}}\n" for i in range(1, n + 1))
    params = "".join(f"  W{i}: [[1]]\n" for i in range(1, n + 1))
    return (f"bpcheck: 1\nid: deep\nnetwork:\n  layers:\n{layers}params:\n{params}"
            "data:\n  x: [1]\n  y: [1]\nloss: mse\n")


def test_too_many_layers_rejected():
    err = bad(_deep(17))
    assert "17 layers; the limit is 16" in err.message
    assert err.line == 5  # the first item of network.layers


def test_sixteen_layers_accepted():
    assert len(parse_problem(_deep(16), "p.yaml").layers) == 16


def test_weight_with_2000_rows_rejected():
    n = 2000
    text = (f"bpcheck: 1\nid: tall\nnetwork:\n  layers:\n    - {{weight: W1}}\n"
            f"params:\n  W1: [{', '.join(['[1, 2]'] * n)}]\n"
            f"data:\n  x: [1, 2]\n  y: [{', '.join(['[0]'] * n)}]\nloss: mse\n")
    err = bad(text)
    assert "limit" in err.message
    assert err.line == 7


# --------------------------------------------------------------- hostile input

def test_alias_bomb_rejected_quickly():
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for c in "bcdefghij":
        bomb += f"{c}: &{c} [" + ", ".join(["*" + prev] * 9) + "]\n"
        prev = c
    text = make(("title: Tiny net", "title: Tiny net\ndescription:\n" + "".join("  " + l + "\n" for l in bomb.splitlines())))
    start = time.process_time()  # CPU time, not wall clock: load-independent
    err = bad(text)
    assert time.process_time() - start < 10
    assert "aliases are expanded" in err.message


def test_alias_bomb_error_names_a_line():
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for c in "bcdefghij":
        bomb += f"{c}: &{c} [" + ", ".join(["*" + prev] * 9) + "]\n"
        prev = c
    err = bad("bpcheck: 1\ndescription:\n" + "".join("  " + l + "\n" for l in bomb.splitlines()))
    assert err.line is not None


def test_yaml_anchor_reuse_is_fine():
    p = parse_problem(make(("  b1: [0, 0, 0]", "  b1: &zeros [0, 0, 0]"),
                           ("questions:", "description: *zeros\nquestions:")), "p.yaml")
    assert p.params["b1"] == ((0,), (0,), (0,))


@pytest.mark.parametrize("tagged", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/object:os.system {{cmd: 'touch {marker}'}}",
    "!!python/name:os.system",
    "!!python/module:os",
])
@pytest.mark.parametrize("place", ["title", "lr", "b1-entry", "description"])
def test_python_tags_never_construct_objects(tmp_path, tagged, place):
    marker = tmp_path / "PWNED"
    value = tagged.format(marker=marker)
    subs = {"title": ("title: Tiny net", f"title: {value}"),
            "lr": ("lr: 0.1", f"lr: {value}"),
            "b1-entry": ("b1: [0, 0, 0]", f"b1: [0, {value}, 0]"),
            "description": ("title: Tiny net", f"title: Tiny net\ndescription: {value}")}[place]
    try:
        p = parse_problem(make(subs), "p.yaml")
    except InputError as err:
        assert err.line is not None
    else:  # accepted: then only as plain text, never as a Python object
        for v in (p.title, p.lr, p.params["b1"]):
            assert isinstance(v, (str, Fraction, tuple))
    assert not marker.exists()


def test_other_tags_are_plain_text():
    p = parse_problem(make(("lr: 0.1", "lr: !!float 0.1"), ("title: Tiny net", "title: !!binary aGVsbG8=")), "p.yaml")
    assert p.lr == Fraction(1, 10)
    assert p.title == "aGVsbG8="


def test_complex_mapping_key_rejected():
    text = make(("title: Tiny net", "? [a, b]\n: 1"))
    err = bad(text)
    assert "a mapping key must be a plain name" in err.message
    assert err.line == 3


@pytest.mark.parametrize("length", [1000, 5000, 100_000])
def test_very_long_key_names(length):
    key = "k" * length
    text = make(("title: Tiny net", f"title: Tiny net\n{key}: 1"))
    start = time.process_time()  # CPU time, not wall clock: load-independent
    err = bad(text)
    assert time.process_time() - start < 10
    assert err.line == 4
    # short enough for a YAML simple key: an unknown key; longer: PyYAML refuses it
    assert "unknown key" in err.message or "broken YAML" in err.message


def test_unicode_text_is_kept():
    p = parse_problem(make(("title: Tiny net", 'title: "Réseau ✓ 网络 \\u00e9"')), "p.yaml")
    assert p.title == "Réseau ✓ 网络 é"


def test_unicode_key_gets_suggestion():
    text = make(("title: Tiny net", "tïtle: Tiny net"))
    err = bad(text)
    assert "unknown key 'tïtle' in the document; did you mean 'title'?" in err.message
    assert err.line == L_TITLE


def test_utf8_bom_is_accepted():
    assert parse_problem("\ufeff" + TEMPLATE, "p.yaml").id == "tiny"


@pytest.mark.parametrize("value", ["৪", "１", "٣.٥"])
def test_non_ascii_digits_rejected(value):
    text = make(("b1: [0, 0, 0]", f"b1: [0, {value}, 0]"))
    err = bad(text)
    assert "is not a number" in err.message


# --------------------------------------------------------------- known gaps (package bugs)

@pytest.mark.parametrize("subs, key", [
    (("questions:", "tolerence:\n  rtol: 1e-3\nquestions:"), "tolerence"),
    (("  W2: [[1, 1, 1]]\n", "  W2: [[1, 1, 1]]\n  W3:\n    - [1]\n"), "W3"),
    (("    - {weight: W2, activation: identity}", "    - weight: W2\n      activaton:\n        identity"), "activaton"),
    (("title: Tiny net", "titel: Tiny net"), "titel"),  # flow: right line, but the column is the value's
])
def test_unknown_key_error_points_at_the_key(subs, key):
    text = make(subs)
    err = bad(text)
    assert (err.line, err.column) == where(text, key + ":")


@pytest.mark.parametrize("alias", ["loss", "yhat"])
def test_alias_may_not_shadow_a_quantity_spelling(alias):
    text = make(("questions:", f"names: {{z1: {alias}}}\nquestions:"))
    err = bad(text)
    assert "already a name" in err.message
    assert err.line == where(text, "names:")[0]


@pytest.mark.parametrize("name", ["z1", "z3", "x", "y", "N", "y_hat", "loss"])
def test_parameter_named_like_a_quantity_rejected(name):
    text = make(("{weight: W2,", f"{{weight: {name},"), ("  W2: [[1, 1, 1]]", f"  {name}: [[1, 1, 1]]"))
    err = bad(text)
    assert err.line == L_LAYER2


def test_softplus_beta_zero_rejected():
    text = make(("activation: relu", "activation: {softplus: {beta: 0}}"))
    err = bad(text)
    assert "beta" in err.message
    assert err.line == L_LAYER1


# --------------------------------------------------------------- positive tests

@pytest.mark.parametrize("path", PROBLEMS, ids=[p.stem for p in PROBLEMS])
def test_shipped_problems_load(path):
    p = load_problem(path)
    assert p.id == path.stem
    assert p.file == str(path)
    assert len(p.questions) > 0
    assert len(p.x[0]) == len(p.y[0]) == p.n_samples


def test_there_are_shipped_problems():
    assert len(PROBLEMS) >= 8


def test_rows_layout_is_stored_transposed():
    # three samples of two features, written one sample per row
    p = parse_problem(make(("layout: columns", "layout: rows"),
                           ("x: [[1, 2], [3, 4]]", "x: [[1, 2], [3, 4], [5, 6]]"),
                           ("y: [[1, 0]]", "y: [[7], [8], [9]]")), "p.yaml")
    assert p.layout == "rows" and p.vector is False
    assert p.x == ((1, 3, 5), (2, 4, 6))  # in × N
    assert p.y == ((7, 8, 9),)  # out × N
    assert p.n_samples == 3


def test_columns_layout_is_stored_as_written():
    p = parse_problem(TEMPLATE, "p.yaml")
    assert p.layout == "columns" and p.vector is False
    assert p.x == ((1, 2), (3, 4)) and p.y == ((1, 0),)


@pytest.mark.parametrize("layout", ["columns", "rows"])
def test_flat_x_is_one_sample_vector(layout):
    p = parse_problem(make(("layout: columns", f"layout: {layout}"),
                           ("x: [[1, 2], [3, 4]]", "x: [1, -2]"), ("y: [[1, 0]]", "y: [0.5]")), "p.yaml")
    assert p.vector is True
    assert p.x == ((1,), (-2,))
    assert p.y == ((Fraction(1, 2),),)
    assert p.n_samples == 1


def test_default_layout_is_columns():
    p = parse_problem(make(("  layout: columns\n", "")), "p.yaml")
    assert p.layout == "columns" and p.x == ((1, 2), (3, 4))


def test_relu_grad_at_zero_flows_into_activations():
    p = parse_problem(make(("title: Tiny net", "title: Tiny net\nrelu_grad_at_zero: 1/2"),
                           ("activation: identity", "activation: {leaky_relu: {slope: 0.1}}")), "p.yaml")
    assert p.layers[0].activation.p["grad_at_zero"] == Fraction(1, 2)
    assert p.layers[1].activation.p["grad_at_zero"] == Fraction(1, 2)
    assert p.layers[1].activation.p["slope"] == Fraction(1, 10)


def test_relu_grad_at_zero_defaults_to_zero_and_can_be_set_per_layer():
    p = parse_problem(TEMPLATE, "p.yaml")
    assert p.layers[0].activation.p["grad_at_zero"] == 0
    p = parse_problem(make(("title: Tiny net", "title: Tiny net\nrelu_grad_at_zero: 1/2"),
                           ("activation: relu", "activation: {relu: {grad_at_zero: 1}}")), "p.yaml")
    assert p.layers[0].activation.p["grad_at_zero"] == 1  # the layer's own setting wins


def test_activation_scale_and_parameters():
    p = parse_problem(make(("activation: relu", "activation: {relu: {scale: 5}}")), "p.yaml")
    assert p.layers[0].activation.scale == 5
    assert p.layers[0].activation.label() == "5·relu"


def test_no_bias_key_means_no_bias():
    p = parse_problem(TEMPLATE, "p.yaml")
    assert p.layers[0].bias == "b1" and p.layers[1].bias is None
    assert set(p.params) == {"W1", "b1", "W2"}


def test_loss_and_train_are_read():
    p = parse_problem(make(("factor: 1/2}", "factor: 1/2, average: samples}"), ("steps: 1", "steps: 3")), "p.yaml")
    assert p.loss.name == "mse" and p.loss.factor == Fraction(1, 2) and p.loss.average == "samples"
    assert p.lr == Fraction(1, 10) and p.steps == 3


def test_names_aliases_are_accepted_in_questions():
    p = parse_problem(make(("questions:", "names: {z1: S1}\nquestions:"), ("quantity: loss", "quantity: dl/dS1")), "p.yaml")
    assert p.names == {"S1": "z1"} and p.display == {"z1": "S1"}
    assert p.questions[0].quantity == "dl/dz1"
    assert p.questions[0].position == where(make(("questions:", "names: {z1: S1}\nquestions:")), "{quantity")


def test_quoted_version_and_id_are_accepted():
    p = parse_problem(make(("bpcheck: 1", "bpcheck: '1'"), ("id: tiny", "id: a.b_c-9")), "p.yaml")
    assert p.id == "a.b_c-9"


@pytest.mark.parametrize("name, message", [
    ("sample1.z1", "unknown quantity 'sample1.z1'; did you mean 'z1'?"),  # one sample: no sample prefix
    ("dl/dw1", "unknown quantity 'dl/dw1'; did you mean 'dl/dW1'?"),
])
def test_a_suggestion_is_never_the_name_itself(name, message):
    problem = load_problem(ROOT / "problems" / "dsga1008-2022-p1.yaml")
    with pytest.raises(UnknownQuantity) as err:
        problem.canonical(name)
    assert str(err.value) == message


def test_a_file_that_is_not_a_spec_is_not_quoted(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root: $6$secret-hash\ndaemon: x\n")
    with pytest.raises(InputError) as err:
        load_problem(secret)
    assert "secret" not in err.value.message and "root" not in err.value.message
    assert "not a bpcheck problem spec" in err.value.message
