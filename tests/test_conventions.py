"""Conventions a TA accepts in formula answers (issue 10), each on by default, each noted in
the message and the tags, each turned off by its spec key: `orientation`, `outer_product`,
`diagonal_jacobian`. Also: a wrong formula is shown at the problem's own values first, in
short numbers; real student formulas graded through `bpcheck grade`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_check import conventions as C
from backprop_check import equivalence
from backprop_check.cli import main
from backprop_check.grade import fit_shape
from backprop_check.solve import solve
from backprop_check.spec import load_problem

ROOT = Path(__file__).resolve().parent.parent
P2A = ROOT / "problems" / "dsga1008-2022-p2a.yaml"  # tanh then sigmoid, MSE, one sample, K = 2


def fit(e, s):
    return fit_shape(e, s, "the shape")


@pytest.fixture(scope="module")
def p2a():
    return solve(load_problem(P2A))


def grade(solution, quantity, text, **off):
    conv = C.Conventions(**off) if off else None
    return equivalence.grade_text(solution, quantity, text, fit, conv)


CASES = [
    # quantity, formula, tag, note, key that turns it off, status when off
    ("dl/dy_hat", "2(y_hat - y)^T", "orientation", "read as the column dl/dy_hat", "orientation", "invalid"),
    ("dl/dz1", "dl/dy_hat dy_hat/dz3 W2 dz2/dz1", "orientation", "as a row", "orientation", "invalid"),
    ("dl/db1", "dl/dy_hat dy_hat/dz3 W_2 dz2/dz1", "orientation", "numerator layout", "orientation", "invalid"),
    ("dl/dW1", "dl/dz1 x", "outer-product", "read as an outer product", "outer_product", "invalid"),
    ("dl/dW2", "dl/dz3 z2", "outer-product", "read as an outer product", "outer_product", "invalid"),
    ("dz2/dz1", "1 - tanh(z1)^2", "diagonal-jacobian", "read as the diagonal of dz2/dz1", "diagonal_jacobian", "invalid"),
    ("dz2/dz1", "tanh'(z1)", "diagonal-jacobian", "an elementwise Jacobian is diagonal", "diagonal_jacobian", "invalid"),
    ("dy_hat/dz3", "sigmoid(z3)(1 - sigmoid(z3))", "diagonal-jacobian", "read as the diagonal", "diagonal_jacobian",
     "invalid"),
]


@pytest.mark.parametrize("quantity, text, tag, note, key, off_status", CASES)
def test_each_convention_is_accepted_with_a_note_and_refused_when_off(p2a, quantity, text, tag, note, key,
                                                                      off_status):
    on = grade(p2a, quantity, text)
    assert on.status == "correct", on.message
    assert tag in on.tags and note in on.message
    off = grade(p2a, quantity, text, **{key: False})
    assert off.status == off_status, off.message
    assert tag not in off.tags


def test_row_chains_follow_the_student_s_own_rows(p2a):
    """Told how the student wrote dl/dy_hat, only a row of theirs is read as a row."""
    written = C.student_vectors(p2a, {"dl/dy_hat": _Answer(formula="2(y_hat - y)^T")})
    assert written == {"dl/dy_hat": "row"}
    told = equivalence.grade_text(p2a, "dl/dz1", "dl/dy_hat dy_hat/dz3 W2 dz2/dz1", fit,
                                  C.Conventions(rows=frozenset(written)))
    assert told.status == "correct" and "as your own answer wrote it" in told.message
    written = C.student_vectors(p2a, {"dl/dy_hat": _Answer(formula="2(y_hat - y)")})
    assert written == {"dl/dy_hat": "column"}
    columns = equivalence.grade_text(p2a, "dl/dz1", "dl/dy_hat dy_hat/dz3 W2 dz2/dz1", fit,
                                     C.Conventions(columns=frozenset(written)))
    assert columns.status == "invalid"  # their dl/dy_hat was a column: the chain does not fit


def test_the_plain_column_reading_carries_no_note(p2a):
    v = grade(p2a, "dl/dz2", "W2^T dl/dz3")
    assert (v.status, v.tags, v.message) == ("correct", [], "correct (equal to the reference formula)")


def test_conventions_are_read_from_the_problem_and_the_question():
    class Problem:
        options = {"outer_product": False}

    class Question:
        quantity = "dl/dz1"
        orientation = False
        outer_product = None
        diagonal_jacobian = None

    conv = C.Conventions.of(Problem(), Question(), {"dl/dy_hat": "row", "z1": "column"})
    assert (conv.orientation, conv.outer_product, conv.diagonal_jacobian) == (False, False, True)
    assert (conv.rows, conv.columns, conv.name) == ({"dl/dy_hat"}, {"z1"}, "dl/dz1")


def test_one_set_of_tags_for_numbers_formulas_and_the_spec():
    from backprop_check import credit, specread
    assert set(C.KEYS) == set(specread.CONVENTION_KEYS)
    assert set(C.TAGS) == set(credit.CONVENTION_TAGS) == {"orientation", "outer-product", "diagonal-jacobian"}


def test_a_wrong_formula_is_shown_at_the_problem_s_values_in_short_numbers(p2a):
    v = grade(p2a, "dl/dy_hat", "3(y_hat - y)")
    assert v.status == "incorrect"
    assert v.message.startswith("differs from the reference at the problem's values: your formula gives [")
    assert "array(" not in v.message and "e-0" not in v.message
    shown = v.message.split("gives ")[1].split("]")[0]
    assert all(len(n.strip(" [-")) <= 7 for n in shown.split(","))  # 4 significant figures


def test_the_student_s_name_and_the_canonical_one_are_both_shown(p2a):
    v = grade(p2a, "dl/dz2", "3 W_2^T dL/dz3")
    assert v.status == "incorrect"
    assert "your W_2 is W2" in v.message and "your dL/dz3 is dl/dz3" in v.message


def test_show_is_short_and_flat():
    import numpy as np
    assert C.show(np.array([[0.123456], [-2.0]])) == "[0.1235, -2]"
    assert C.show(np.eye(2)) == "[[1, 0], [0, 1]]"
    assert C.show(np.arange(20.0)).endswith(", …]")


class _Answer:
    def __init__(self, value=None, formula=None):
        self.value, self.formula, self.error = value, formula, None


# ------------------------------------------------------------------ real student formulas through the CLI

SEED_000 = {  # seed 000, problem 2 (f = tanh, g = σ, ‖ŷ − y‖²), as the student wrote it, in plain syntax
    "z1": "W1x + b1",
    "z2": "tanh(W_1 x + b_1)",
    "z3": "W2 tanh(W1 x + b1) + b2",
    "y_hat": "1/(1 + exp(-z3))",
    "loss": "sum((y_hat - y)^2)",
    "dl/dy_hat": "2(y_hat - y)^T",
    "dy_hat/dz3": "sigma(z3)(1 - sigma(z3))",
    "dz2/dz1": "1 - tanh(W1 x + b1)^2",
    "dl/dW2": "dl/dy_hat dy_hat/dz3 tanh(W1 x + b1)^T",
    "dl/db2": "dl/dy_hat dy_hat/dz3",
    "dl/dW1": "dl/dy_hat dy_hat/dz3 W2 dz2/dz1 x^T",
    "dl/db1": "dl/dy_hat dy_hat/dz3 W2 dz2/dz1",
}


def _any_form(tmp_path: Path, extra: str = "") -> Path:
    """The shipped problem with every question answerable by a formula (`form: any`)."""
    text = P2A.read_text(encoding="utf-8").replace("points: 1}", "points: 1, form: any}")
    spec = tmp_path / f"p2a{extra.split(':')[0]}.yaml"
    spec.write_text(text.replace("points: 2}", "points: 2, form: any}").replace("questions:", extra + "questions:"),
                    encoding="utf-8")
    return spec


def test_seed_000_problem_2_formulas_score_full_marks_with_notes(tmp_path):
    answers = tmp_path / "seed000.answers.yaml"
    lines = ["bpcheck: 1", f"problem: {json.dumps(str(_any_form(tmp_path)))}", "student: seed-000", "answers:"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in SEED_000.items()]
    answers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["grade", str(answers), "--format", "json"])
    assert "Traceback" not in result.output, result.output
    (r,) = json.loads(result.stdout)["results"]
    got = {q["quantity"]: q for q in r["questions"]}
    for quantity in SEED_000:
        assert got[quantity]["status"] == "correct", (quantity, got[quantity]["message"])
    assert "orientation" in got["dl/dy_hat"]["tags"]
    assert "diagonal-jacobian" in got["dz2/dz1"]["tags"] and "diagonal-jacobian" in got["dy_hat/dz3"]["tags"]
    assert "orientation" in got["dl/dW1"]["tags"]


def test_seed_001_x_for_x_transpose_is_an_outer_product_unless_turned_off(tmp_path):
    """Seed 001 writes dl/dW1 with x where xᵀ belongs; by juxtaposition that is read as an outer product."""
    spec = _any_form(tmp_path, "outer_product: false\n")
    answers = tmp_path / "a.answers.yaml"
    answers.write_text("bpcheck: 1\nanswers:\n  dl/dW1: \"(W2^T dl/dz3 * tanh'(z1)) x\"\n", encoding="utf-8")
    for problem, status in ((_any_form(tmp_path), "correct"), (spec, "invalid")):
        result = CliRunner().invoke(main, ["grade", str(answers), "--problem", str(problem), "--format", "json"])
        if result.exit_code == 2 and "outer_product" in result.output:
            pytest.skip("the spec reader does not know outer_product yet (spec.py, another engineer)")
        (r,) = json.loads(result.stdout)["results"]
        q = next(q for q in r["questions"] if q["quantity"] == "dl/dW1")
        assert q["status"] == status, q["message"]


# ------------------------------------------------------------------ the student's own rows, through grading

CHAIN = "dl/dy_hat dy_hat/dz3 W2 dz2/dz1"  # dl/db1 = dl/dz1 read left to right: dl/dy_hat must be a row


def _grade_formulas(tmp_path: Path, answers: dict, extra: str = "", question: str = "") -> dict:
    spec = _any_form(tmp_path, extra)
    if question:  # a question-level key on dl/db1's question
        text = spec.read_text(encoding="utf-8")
        spec.write_text(text.replace("quantity: dl/db1,", f"quantity: dl/db1, {question},", 1), encoding="utf-8")
    f = tmp_path / "a.answers.yaml"
    lines = ["bpcheck: 1", f"problem: {json.dumps(str(spec))}", "answers:"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in answers.items()]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["grade", str(f), "--format", "json"])
    assert "Traceback" not in result.output, result.output
    return {q["quantity"]: q for q in json.loads(result.stdout)["results"][0]["questions"]}


def test_a_row_dl_dy_hat_makes_the_later_row_chain_right(tmp_path):
    got = _grade_formulas(tmp_path, {"dl/dy_hat": "2(y_hat - y)^T", "dl/db1": CHAIN})
    assert got["dl/db1"]["status"] == "correct", got["dl/db1"]["message"]
    assert "as your own answer wrote it" in got["dl/db1"]["message"]
    assert "orientation" in got["dl/db1"]["tags"]


def test_a_column_dl_dy_hat_is_never_read_as_a_row(tmp_path):
    got = _grade_formulas(tmp_path, {"dl/dy_hat": "2(y_hat - y)", "dl/db1": CHAIN})
    assert got["dl/dy_hat"]["status"] == "correct"
    assert got["dl/db1"]["status"] == "invalid", got["dl/db1"]["message"]


def test_a_question_level_orientation_false_turns_the_row_chain_off(tmp_path):
    got = _grade_formulas(tmp_path, {"dl/dy_hat": "2(y_hat - y)^T", "dl/db1": CHAIN}, question="orientation: false")
    assert got["dl/dy_hat"]["status"] == "correct"  # the problem's convention holds for it
    assert got["dl/db1"]["status"] == "invalid", got["dl/db1"]["message"]


def test_a_row_chain_on_a_wrong_row_earns_ecf(tmp_path):
    """dl/dy_hat without its factor 2, as a row; the row chain written out with it follows from it (ECF)."""
    got = _grade_formulas(tmp_path, {"dl/dy_hat": "(y_hat - y)^T", "dl/db1": "(y_hat - y)^T dy_hat/dz3 W2 dz2/dz1"})
    assert got["dl/dy_hat"]["status"] == "incorrect"
    assert got["dl/db1"]["status"] == "correct" and "ecf" in got["dl/db1"]["tags"], got["dl/db1"]["message"]
    assert got["dl/db1"]["message"] == "correct given your dl/dy_hat (error carried forward)"
