"""Issue 10: numbers as students write them, and the conventions a TA accepts.

problems/dsga1008-2020-p1.yaml by hand: x = [0.6, -0.4], W1 = [[0.5, -0.3], [-0.4, 0.2],
[0.3, 0.7]], b1 = [0.1, 0.1, 0.2]: z1 = [0.52, -0.22, 0.1] (0.3 + 0.12 + 0.1, -0.24 - 0.08
+ 0.1, 0.18 - 0.28 + 0.2), z2 = relu(z1) = [0.52, 0, 0.1], dz2/dz1 = diag(1, 0, 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_check.cli import main

ROOT = Path(__file__).resolve().parent.parent
P1 = ROOT / "problems" / "dsga1008-2020-p1.yaml"
Z1 = [0.52, -0.22, 0.1]


def spec(tmp_path: Path, extra: str = "") -> Path:
    out = tmp_path / "p1.yaml"
    out.write_text(P1.read_text().replace("questions:", extra + "questions:", 1))
    return out


def grade_one(tmp_path: Path, problem: Path, quantity: str, value) -> dict:
    f = tmp_path / "a.answers.yaml"
    f.write_text(f"bpcheck: 1\nproblem: {json.dumps(str(problem))}\nanswers:\n"
                 f"  {json.dumps(quantity)}: {json.dumps(value)}\n")
    result = CliRunner().invoke(main, ["grade", str(f), "--format", "json"])
    assert "Traceback" not in result.output, result.output
    found = {q["quantity"]: q for q in json.loads(result.stdout)["results"][0]["questions"]}
    return found[quantity]


# ------------------------------------------------------------------ written numbers

@pytest.mark.parametrize("written", [
    ["0.3 + 0.12 + 0.1", "-0.24 - 0.08 + 0.1", "0.18 - 0.28 + 0.2"],   # arithmetic per entry
    ["13/25", "-11/50", "1/10"],                                      # fractions
    ["0.5*0.6 + 0.3*0.4 + 0.1", "-(0.24 + 0.08) + 0.1", "0.1"],
])
def test_written_arithmetic_is_a_number(tmp_path, written):
    q = grade_one(tmp_path, P1, "z1", written)
    assert q["status"] == "correct", q["message"]


def test_a_scalar_written_as_arithmetic(tmp_path):
    # loss = (0.604 - 1)^2 / 2 = 0.078408
    q = grade_one(tmp_path, P1, "loss", "(0.604 - 1)**2 / 2")
    assert q["status"] == "correct", q["message"]
    q = grade_one(tmp_path, P1, "loss", "(0.604 - 1)**2")  # the factor 1/2 forgotten
    assert q["status"] == "incorrect" and "factor-2" in q["tags"]


def test_arithmetic_is_never_evaluated_as_python(tmp_path):
    q = grade_one(tmp_path, P1, "loss", "__import__('os').system('true')")
    assert q["status"] == "invalid"


def test_a_wrong_written_number_is_wrong(tmp_path):
    q = grade_one(tmp_path, P1, "z1", ["0.3 + 0.12", "-0.22", "0.1"])  # b1 forgotten in entry 1
    assert q["status"] == "incorrect"


# ------------------------------------------------------------------ orientation

def test_a_row_for_a_column_vector_is_correct_with_a_note(tmp_path):
    q = grade_one(tmp_path, P1, "z1", [Z1])  # 1x3 row; z1 of one sample is a column
    assert q["status"] == "correct" and q["tags"] == ["orientation"]
    assert "either orientation" in q["message"]


def test_the_vectors_own_orientation_and_a_flat_list_need_no_note(tmp_path):
    for value in ([[v] for v in Z1], Z1):
        q = grade_one(tmp_path, P1, "z1", value)
        assert q["status"] == "correct" and q["tags"] == [] and q["message"] == "correct"


def test_orientation_false_wants_the_column(tmp_path):
    problem = spec(tmp_path, "orientation: false\n")
    q = grade_one(tmp_path, problem, "z1", [Z1])
    assert q["status"] == "invalid" and q["tags"] == ["transposed"]
    assert "column" in q["message"]
    assert grade_one(tmp_path, problem, "z1", Z1)["status"] == "correct"  # a flat list still answers


def test_orientation_can_be_turned_off_per_question(tmp_path):
    problem = tmp_path / "q.yaml"
    problem.write_text(P1.read_text().replace("  - {quantity: z1, points: 1}",
                                              "  - {quantity: z1, points: 1, orientation: false}"))
    assert grade_one(tmp_path, problem, "z1", [Z1])["status"] == "invalid"
    assert grade_one(tmp_path, problem, "z2", [[0.52, 0, 0.1]])["status"] == "correct"


def test_a_weight_gradient_is_no_vector(tmp_path):
    # dl/dW2 is 1x3 (the shape of W2): a 3x1 column is seed 001's real mistake, not a convention
    q = grade_one(tmp_path, P1, "dl/dW2", [[-0.20592], [0], [-0.0396]])
    assert q["status"] == "invalid" and q["tags"] == ["transposed"]


# ------------------------------------------------------------------ diagonal Jacobians

@pytest.mark.parametrize("value", [[1, 0, 1], [[1, 0, 1]], [[1], [0], [1]]])
def test_an_elementwise_jacobian_by_its_diagonal(tmp_path, value):
    q = grade_one(tmp_path, P1, "dz2/dz1", value)
    assert q["status"] == "correct" and q["tags"] == ["diagonal-jacobian"]
    assert "diagonal" in q["message"]


def test_a_wrong_diagonal_is_wrong(tmp_path):
    q = grade_one(tmp_path, P1, "dz2/dz1", [1, 1, 1])  # ReLU' of z1 = -0.22 is 0
    assert q["status"] == "incorrect"


def test_diagonal_jacobian_false_wants_the_matrix(tmp_path):
    problem = spec(tmp_path, "diagonal_jacobian: false\n")
    q = grade_one(tmp_path, problem, "dz2/dz1", [1, 0, 1])
    assert q["status"] == "invalid" and "the diagonal only?" in q["message"]
    assert grade_one(tmp_path, problem, "dz2/dz1", [[1, 0, 0], [0, 0, 0], [0, 0, 1]])["status"] == "correct"


def test_a_linear_jacobian_is_not_diagonal(tmp_path):
    # dy_hat/dz3 is elementwise (identity) but 1x1; dz3/dz2 = W2 is not elementwise: 1x3 anyway.
    # A problem with a square non-elementwise Jacobian: dz3/dz2 = W2 of a 3-3 layer.
    square = tmp_path / "sq.yaml"
    square.write_text("""bpcheck: 1
id: sq
network:
  layers:
    - {weight: W1, activation: relu}
    - {weight: W2, activation: identity}
params:
  W1: [[1, 0], [0, 1]]
  W2: [[2, 0], [0, 3]]
data: {x: [1, 2], y: [0, 0]}
loss: {type: mse}
""")
    q = grade_one(tmp_path, square, "dz3/dz2", [2, 3])  # W2's diagonal: W2 is no elementwise map
    assert q["status"] == "invalid"


# ------------------------------------------------------------------ spec keys

@pytest.mark.parametrize("extra, where", [
    ("orientation: maybe\n", "orientation"),
    ("diagonal_jacobian: 2\n", "diagonal_jacobian"),
    ("outer_product: sometimes\n", "outer_product"),
])
def test_a_bad_convention_key_is_a_spec_error_with_file_and_line(tmp_path, extra, where):
    problem = spec(tmp_path, extra)
    line = problem.read_text().splitlines().index(extra.strip()) + 1
    result = CliRunner().invoke(main, ["solve", str(problem)])
    assert result.exit_code == 2
    assert f"{problem.name}:{line}" in result.output and where in result.output
    assert "Traceback" not in result.output


# ------------------------------------------------------------------ LaTeX numbers

def test_a_latex_matrix_and_fraction_are_numbers(tmp_path):
    pytest.importorskip("backprop_check.latex_syntax")
    q = grade_one(tmp_path, P1, "z2", r"\begin{bmatrix} 0.52 \\ 0 \\ \frac{1}{10} \end{bmatrix}")
    assert q["status"] == "correct", q["message"]
    q = grade_one(tmp_path, P1, "dl/dW2", r"\begin{bmatrix} -0.20592 & 0 & -0.0396 \end{bmatrix}")
    assert q["status"] == "correct", q["message"]
    q = grade_one(tmp_path, P1, "dl/dW2", r"\begin{bmatrix} -0.20592 \\ 0 \\ -0.0396 \end{bmatrix}")
    assert q["status"] == "invalid" and q["tags"] == ["transposed"]


def test_plain_decimals_inside_a_latex_matrix_keep_their_last_digit(tmp_path):
    pytest.importorskip("backprop_check.latex_syntax")
    from backprop_check.numbers_read import written
    values, texts, units = written(r"\begin{bmatrix} 0.0985 & \frac{1}{4} \end{bmatrix}")
    assert values.tolist() == [[0.0985, 0.25]]
    assert units[0].tolist() == pytest.approx([1e-4, 0.0])
