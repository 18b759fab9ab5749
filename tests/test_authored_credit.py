"""Issue 10: instructor-authored credit and feedback for diagnosed mistakes, gradient
aliases, and quantity names as students write them (LaTeX, W_1, dL/dW1).

problems/dsga1008-2020-p1.yaml by hand: z2 = [0.52, 0, 0.1], y_hat = 0.604, dl/dy_hat =
0.604 - 1 = -0.396, dl/dW2 = -0.396 * z2^T = [[-0.20592, 0, -0.0396]] (1x3), dl/db2 = -0.396.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_check import credit, diagnose
from backprop_check.cli import main
from backprop_check.quantities import normalise_name

ROOT = Path(__file__).resolve().parent.parent
P1 = ROOT / "problems" / "dsga1008-2020-p1.yaml"
DW2 = [[-0.20592, 0, -0.0396]]
DW2_T = [[-0.20592], [0], [-0.0396]]  # seed 001's mistake: z2 where z2^T belongs


def spec(tmp_path: Path, extra: str, question: str | None = None) -> Path:
    text = P1.read_text().replace("questions:", extra + "questions:", 1)
    if question:
        text = text.replace("  - {quantity: dl/dW2, points: 2}", question)
    out = tmp_path / "p1.yaml"
    out.write_text(text)
    return out


def grade(tmp_path: Path, problem: Path, answers: dict) -> dict:
    f = tmp_path / "a.answers.yaml"
    f.write_text(f"bpcheck: 1\nproblem: {json.dumps(str(problem))}\nanswers:\n"
                 + "".join(f"  {json.dumps(k)}: {json.dumps(v)}\n" for k, v in answers.items()))
    result = CliRunner().invoke(main, ["grade", str(f), "--format", "json"])
    assert "Traceback" not in result.output, result.output
    data = json.loads(result.stdout)["results"][0]
    data["by"] = {q["quantity"]: q for q in data["questions"]}
    return data


def test_the_tag_tables_are_the_catalogues():
    assert credit.MISTAKE_TAGS == diagnose.TAGS


# ------------------------------------------------------------------ credit and feedback

def test_problem_credit_and_feedback_for_a_transposed_gradient(tmp_path):
    problem = spec(tmp_path, 'credit: {transposed: 0.5}\nfeedback: {transposed: "dl/dW has the shape of W."}\n')
    q = grade(tmp_path, problem, {"dl/dW2": DW2_T})["by"]["dl/dW2"]
    assert q["status"] == "invalid" and q["tags"] == ["transposed"]
    assert q["score"] == 1.0 and q["max_score"] == 2.0  # half of 2 points
    assert "dl/dW has the shape of W." in q["message"]


def test_question_credit_wins_over_the_problem(tmp_path):
    problem = spec(tmp_path, "credit: {transposed: 0.5}\n",
                   "  - {quantity: dl/dW2, points: 2, credit: {transposed: 0.25}}")
    q = grade(tmp_path, problem, {"dl/dW2": DW2_T})["by"]["dl/dW2"]
    assert q["score"] == 0.5


def test_credit_for_a_diagnosed_numeric_mistake(tmp_path):
    # the sign flipped: [[0.20592, 0, 0.0396]]
    problem = spec(tmp_path, "credit: {sign-flipped: 0.25, factor-2: 0.5}\n")
    q = grade(tmp_path, problem, {"dl/dW2": [[0.20592, 0, 0.0396]]})["by"]["dl/dW2"]
    assert q["status"] == "incorrect" and "sign-flipped" in q["tags"] and q["score"] == 0.5


def test_no_credit_for_an_undiagnosed_wrong_answer_nor_for_a_correct_one(tmp_path):
    problem = spec(tmp_path, "credit: {sign-flipped: 0.25}\nfeedback: {sign-flipped: \"Check the sign.\"}\n")
    result = grade(tmp_path, problem, {"dl/dW2": [[1, 2, 3]], "dl/db2": -0.396})
    assert result["by"]["dl/dW2"]["score"] == 0 and "Check the sign." not in result["by"]["dl/dW2"]["message"]
    assert result["by"]["dl/db2"]["score"] == 1 and result["by"]["dl/db2"]["message"] == "correct"


def test_feedback_on_a_convention(tmp_path):
    problem = spec(tmp_path, 'feedback: {orientation: "In this course vectors are columns."}\n')
    q = grade(tmp_path, problem, {"z2": [[0.52, 0, 0.1]]})["by"]["z2"]
    assert q["status"] == "correct" and "In this course vectors are columns." in q["message"]


def test_credit_on_a_formula_finding(tmp_path):
    problem = spec(tmp_path, "credit: {transposed: 0.5}\n",
                   "  - {quantity: dl/dW2, points: 2, form: expression}")
    q = grade(tmp_path, problem, {"dl/dW2": "dl/dy_hat * z2"})["by"]["dl/dW2"]  # z2 for z2^T: 1x1 * 3x1
    assert "transposed" in q["tags"] and q["score"] == 1.0


@pytest.mark.parametrize("extra, bad, message", [
    ("credit: {transpose: 0.5}\n", "transpose", "did you mean 'transposed'"),
    ("credit: {transposed: 1.5}\n", "transposed", "between 0 and 1"),
    ("credit: 0.5\n", "credit", "mapping"),
    ("feedback: {factor-2: [a, b]}\n", "factor-2", "message"),
    ("feedback: {nonsense: \"x\"}\n", "nonsense", "not a diagnosis tag"),
    ("credit: {orientation: 0.5}\n", "orientation", "not a diagnosis tag"),  # a convention is no mistake
])
def test_a_bad_credit_or_feedback_is_a_spec_error_with_file_and_line(tmp_path, extra, bad, message):
    problem = spec(tmp_path, extra)
    line = problem.read_text().splitlines().index(extra.strip()) + 1
    result = CliRunner().invoke(main, ["solve", str(problem)])
    assert result.exit_code == 2, result.output
    assert f"{problem.name}:{line}" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_a_bad_question_credit_names_its_line(tmp_path):
    problem = spec(tmp_path, "", "  - {quantity: dl/dW2, points: 2, credit: {fctor-2: 0.5}}")
    line = next(i for i, l in enumerate(problem.read_text().splitlines(), 1) if "fctor-2" in l)
    result = CliRunner().invoke(main, ["solve", str(problem)])
    assert result.exit_code == 2 and f"{problem.name}:{line}" in result.output
    assert "did you mean 'factor-2'" in result.output


# ------------------------------------------------------------------ aliases of gradients and students' names

def test_a_gradient_alias_answers_its_quantity(tmp_path):
    problem = spec(tmp_path, "names: {z1: S1, dl/dz3: delta_2, dL/dW2: grad_W2}\n")
    result = grade(tmp_path, problem, {"delta_2": -0.396, "grad_W2": DW2, "S1": [0.52, -0.22, 0.1]})
    assert result["by"]["dl/dW2"]["status"] == "correct"
    assert result["by"]["z1"]["status"] == "correct"
    assert result["by"]["dl/db2"]["status"] == "missing"  # dl/dz3 is not asked in this problem


@pytest.mark.parametrize("extra, message", [
    ("names: {dl/dz3: W1}\n", "already a name"),        # collides with a parameter
    ("names: {dl/dz3: S, z1: S}\n", "already a name"),  # two quantities, one alias
    ("names: {dl/dz9: d9}\n", "not a value of this network"),
])
def test_bad_gradient_aliases_are_spec_errors(tmp_path, extra, message):
    problem = spec(tmp_path, extra)
    line = problem.read_text().splitlines().index(extra.strip()) + 1
    result = CliRunner().invoke(main, ["solve", str(problem)])
    assert result.exit_code == 2 and message in result.output
    assert f"{problem.name}:{line}" in result.output


@pytest.mark.parametrize("written, name", [
    ("W_1", "W1"), ("W^{(1)}", "W1"), ("W^{[2]}", "W2"), (r"\mathbf{W}^{(2)}", "W2"), (r"\hat{y}", "y_hat"),
    (r"\frac{\partial \mathcal{L}}{\partial W_1}", "dl/dW1"), (r"\frac{\partial \ell}{\partial \hat{y}}", "dl/dy_hat"),
    ("∂ℓ/∂W1", "dl/dW1"), ("dJ/dz_3", "dl/dz3"), ("dz_2/dz_1", "dz2/dz1"), ("step1.W_1", "step1.W1"),
    ("delta_2", "delta_2"), ("v_W1", "v_W1"), ("L", "loss"), ("$W_2$", "W2"),
])
def test_normalise_name(written, name):
    assert normalise_name(written) == name


def test_latex_keys_in_an_answers_file(tmp_path):
    result = grade(tmp_path, P1, {r"\frac{\partial \mathcal{L}}{\partial W_2}": DW2, r"\hat{y}": 0.604,
                                  "dL/db2": -0.396})
    assert result["by"]["dl/dW2"]["status"] == "correct"
    assert result["by"]["y_hat"]["status"] == "correct"
    assert result["by"]["dl/db2"]["status"] == "correct"
    assert result["warnings"] == []
