"""Notation from the seeds' write-ups (issue 10): each row is text as students write it and
the parse it must give, compared as `formulas.to_code` (which parses back to the same tree).

Juxtaposition is the product by shape and renders as `a b`; `^` is a power and `^T` a
transpose; `sigmoid'(z)` is the activation's derivative formula; `I`, `eye`, `ones`, `𝟙`;
the learning rate by name; subscripted and aliased names; dL/dW for dl/dW.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backprop_check import equivalence
from backprop_check import formula_syntax as S
from backprop_check import formulas as F
from backprop_check.formula_syntax import FormulaSyntaxError
from backprop_check.solve import solve
from backprop_check.spec import load_problem, parse_problem

ROOT = Path(__file__).resolve().parent.parent
P2A = ROOT / "problems" / "dsga1008-2022-p2a.yaml"  # tanh then sigmoid, one sample, no lr
SEED = ROOT / "problems" / "assignment1-ex2.yaml"  # the seed-003 exercise: lr 0.5, four samples

NAMES = {"x", "y", "W1", "W2", "b1", "b2", "z1", "z2", "z3", "y_hat", "N", "K", "loss", "dl/dy_hat",
         "dl/dz3", "dl/dz2", "dl/dz1", "dl/dW1", "dl/dW2", "dl/db1", "dl/db2", "dz2/dz1", "dy_hat/dz3",
         "dz3/dz2", "step1.W1"}
ALIASES = {"v": "W2", "S1": "z1", "delta_2": "dl/dz3", "Z1": "z2"}
CONSTANTS = {"lr": F.num("0.5"), "eta": F.num("0.5"), "alpha": F.num("0.5")}


def parse(text: str) -> F.Node:
    return S.parse(text, NAMES, ALIASES.get, constants=CONSTANTS)


NOTATION = [
    # implicit multiplication (seed 000: 2(ŷ − y)ᵀ, σ(z3)(1 − σ(z3)), 5ReLU(·), W^(1)x)
    ("2(y_hat - y).T", "2 (y_hat - y).T"),
    ("2(ŷ − y)ᵀ", "2 (y_hat - y).T"),
    ("sigmoid(z3)(1 - sigmoid(z3))", "sigmoid(z3) (1 - sigmoid(z3))"),
    ("σ(z3)(1 − σ(z3))", "sigmoid(z3) (1 - sigmoid(z3))"),
    ("2x", "2 x"),
    ("(x)(y)", "x y"),
    ("(y_hat - y)(y_hat - y)", "(y_hat - y) (y_hat - y)"),
    ("W2 z2", "W2 z2"),
    ("W1x + b1", "W1 x + b1"),
    ("W1 x + b1", "W1 x + b1"),
    ("5relu(z1)", "5 relu(z1)"),
    ("5ReLU(W1x + b1)", "5 relu(W1 x + b1)"),
    ("5 max(0, W1 x + b1)", "5 relu(W1 x + b1)"),
    ("W2 5 relu(z1)", "W2 (5) relu(z1)"),
    ("dl/dz3 z2.T", "dl/dz3 z2.T"),
    ("dl/dy_hat dy_hat/dz3 W2 dz2/dz1", "dl/dy_hat dy_hat/dz3 W2 dz2/dz1"),
    ("dl/dy_hat dy_hat/dz3 W2 dz2/dz1 x.T", "dl/dy_hat dy_hat/dz3 W2 dz2/dz1 x.T"),
    ("dl/dy_hat dy_hat/dz3 z2^T", "dl/dy_hat dy_hat/dz3 z2.T"),
    ("W2.T dl/dz3", "W2.T dl/dz3"),
    ("(W2^T dl/dz3) * (1 - tanh(z1)^2)", "(W2.T dl/dz3) * (1 - tanh(z1) ** 2)"),
    ("1/2 (y_hat - y)", "0.5 (y_hat - y)"),
    ("x.T(1)", "x.T (1)"),
    ("2 3 x", "6 x"),
    ("1 - 0.01(5.7)", "0.943"),
    ("-2x", "-2 x"),
    ("2(y_hat - y)/N", "(2 (y_hat - y)) / N"),
    ("x(1 - x)", "x (1 - x)"),
    ("x (-y)", "x (-y)"),
    # ^ as power, ^T and ' as transpose
    ("x^2", "x ** 2"),
    ("(y_hat - y)^2", "(y_hat - y) ** 2"),
    ("2x^2", "2 x ** 2"),
    ("-x^2", "-x ** 2"),
    ("x^-1", "x ** (-1)"),
    ("x^(1/2)", "x ** 0.5"),
    ("1 - tanh(z1)^2", "1 - tanh(z1) ** 2"),
    ("x^T", "x.T"),
    ("(y_hat - y)^T", "(y_hat - y).T"),
    ("x'", "x.T"),
    ("W2' dl/dz3", "W2.T dl/dz3"),
    ("e^(-z3)", "exp(-z3)"),
    ("(1 + e^(-z3))^-1", "(1 + exp(-z3)) ** (-1)"),
    ("sum((y_hat - y)^2)", "sum((y_hat - y) ** 2)"),
    # an activation's derivative, from the operation registry
    ("sigmoid'(z3)", "sigmoid(z3) * (1 - sigmoid(z3))"),
    ("σ'(z3)", "sigmoid(z3) * (1 - sigmoid(z3))"),
    ("σ′(z3)", "sigmoid(z3) * (1 - sigmoid(z3))"),
    ("tanh'(z1)", "1 - tanh(z1) ** 2"),
    ("relu'(z1)", "step(z1)"),
    ("ReLU'(z1)", "step(z1)"),
    ("5relu'(z1)", "5 step(z1)"),
    ("dl/dz2 * tanh'(z1)", "dl/dz2 * (1 - tanh(z1) ** 2)"),
    ("diag(sigmoid'(z3))", "diag(sigmoid(z3) * (1 - sigmoid(z3)))"),
    # I, eye, ones, 𝟙
    ("I", "I"),
    ("I_3", "eye(3)"),
    ("I_N", "eye(N)"),
    ("eye(2)", "eye(2)"),
    ("5I", "5 I"),
    ("ones(N)", "ones(N)"),
    ("𝟙_N", "ones(N)"),
    ("ones_N", "ones(N)"),
    ("dl/dz3 𝟙_N", "dl/dz3 ones(N)"),
    ("dl/dz3 ones", "dl/dz3 ones()"),
    # the learning rate by name
    ("W1 - lr dl/dW1", "W1 - 0.5 dl/dW1"),
    ("W1 - η dl/dW1", "W1 - 0.5 dl/dW1"),
    ("W1 - eta * dl/dW1", "W1 - 0.5 * dl/dW1"),
    ("W1 - α dl/dW1", "W1 - 0.5 dl/dW1"),
    ("W1 - alpha dl/dW1", "W1 - 0.5 dl/dW1"),
    # subscripted names, the loss as L, aliases (values and gradients)
    ("W_2", "W2"),
    ("z_1", "z1"),
    ("W_1 x + b_1", "W1 x + b1"),
    ("dl/dW_2", "dl/dW2"),
    ("dl/dz_3 z_2^T", "dl/dz3 z2.T"),
    ("∂ℓ/∂z3 z2ᵀ", "dl/dz3 z2.T"),
    ("v z2 + b2", "W2 z2 + b2"),
    ("v.T delta_2", "W2.T dl/dz3"),
    ("delta_2 Z1^T", "dl/dz3 z2.T"),
    ("S1", "z1"),
]


@pytest.mark.parametrize("text, code", NOTATION)
def test_notation_parses_to_its_formula(text, code):
    node = parse(text)
    assert F.to_code(node) == code
    assert parse(F.to_code(node)) == node  # the answer syntax reads back the same tree


def test_the_table_is_large_enough():
    assert len(NOTATION) >= 60


REFUSED = [
    ("2^2^2^2^2^2", "an exponent must be a number"),
    ("x^(99999)", "exponent 99999 is too large"),
    ("x^(10^10)", "an exponent must be a number"),
    ("x^x", "an exponent must be a number"),
    ("(x^16)^16", "powers of powers beyond degree"),
    ("x " * 1000, "more than 400 parts"),
    ("x" + " x" * 450, "more than 400 parts"),
    ("x " * 10_000, "characters; the limit is"),
    ("f'(z1)", "names no function"),
    ("sum'(x)", "is not an activation's derivative"),
    ("'x'", "a quote ' is only allowed"),
    ("x % y", "'%' is not allowed"),
    ("x // y", "'//' is not allowed"),
    ("x = 1", "'=' is not allowed"),
    ("I_0", "from 1 to 1024"),
    ("I_9999", "from 1 to 1024"),
    ("ones(x)", "takes N, K or a whole number"),
    ("relu", "relu is a function"),
    ("(x", "never closed"),
    ("x)", "without its '('"),
    ("x, y", "a tuple"),
    ("x.real", "'.real' is not allowed"),
    ("x.sum()", "only plain function names can be called"),
    ("lambda: x", "a lambda is not allowed"),
    ("x if y else x", "if/else is not allowed"),
    ("", "an empty formula"),
    ("unknown_thing 2", "unknown name 'unknown_thing'"),
]


@pytest.mark.parametrize("text, message", REFUSED)
def test_refused_notation_says_why_in_plain_words(text, message):
    with pytest.raises(FormulaSyntaxError) as info:
        parse(text)
    assert message in str(info.value)
    for jargon in ("BitXor", "line continuation", "invalid syntax", "EOF", "Traceback"):
        assert jargon not in str(info.value)


# ------------------------------------------------------------------ through a solved problem

@pytest.fixture(scope="module")
def p2a():
    return solve(load_problem(P2A))


def test_i_takes_the_size_its_product_needs(p2a):
    env = p2a.env
    for text, expected in [("I W2", env["W2"]), ("W2 I", env["W2"]), ("2 I W2", 2 * env["W2"]),
                           ("W2 @ I", env["W2"])]:
        value = equivalence.evaluate(equivalence.parse_answer(p2a, text), env)[0]
        assert value.tolist() == expected.tolist(), text


def test_ones_sums_over_the_samples():
    solution = solve(load_problem(SEED))
    node = equivalence.parse_answer(solution, "dl/dz1 𝟙_N")
    value = equivalence.evaluate(node, solution.env)[0]
    assert value.shape == (3, 1)
    assert value.ravel().tolist() == pytest.approx(solution.env["dl/dz1"].sum(axis=1).tolist())


def test_learning_rate_names_are_the_problem_s_lr():
    solution = solve(load_problem(SEED))
    for lr in ("lr", "eta", "η", "alpha", "α"):
        node = equivalence.parse_answer(solution, f"W2 - {lr} dl/dW2")
        assert F.to_code(node) == "W2 - 0.5 dl/dW2"


def test_the_loss_may_be_written_L_J_E_or_loss(p2a):
    for top in ("L", "J", "E", "loss", "ℓ", "l"):
        node = equivalence.parse_answer(p2a, f"d{top}/dz3 z2^T")
        assert F.to_code(node) == "dl/dz3 z2.T", top


def test_a_parameter_alias_and_a_gradient_alias_are_usable_in_formulas():
    text = P2A.read_text().replace("questions:", "names: {W2: v}\nquestions:")
    solution = solve(parse_problem(text, "aliased.yaml"))
    verdict = equivalence.grade_text(solution, "dl/dz2", "v.T dl/dz3", _fit)
    assert verdict.status == "correct", verdict.message


def _fit(e, s):
    from backprop_check.grade import fit_shape
    return fit_shape(e, s, "the shape")


def test_eye_and_ones_are_no_larger_than_the_problem(p2a, monkeypatch):
    """eye(1024) passes the parser's bound, but forty of them juxtaposed would take a minute per point:
    refused when parsed, before anything is evaluated (bench/limits_speed.py times it)."""
    text = "sum(" + " ".join(["eye(1024)"] * 40) + ") W1"

    def never(*args, **kwargs):
        raise AssertionError("the formula was evaluated")
    monkeypatch.setattr(F, "evaluate", never)
    v = equivalence.grade_text(p2a, "dl/dW1", text, _fit)
    assert v.status == "invalid" and "take n up to 3 here" in v.message
