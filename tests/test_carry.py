"""Error carried forward (backprop_check/carry.py), graded through `grade_file`.

Every value a student "computed from their own mistake" is derived here with
numpy from the mistaken value, by the textbook backward pass of a two-layer
ReLU net (or by hand for the graph), never read off bpcheck's engines.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backprop_check import carry
from backprop_check import formulas as F
from backprop_check.answers import load_answers
from backprop_check.grade import grade_file
from backprop_check.solve import solve
from backprop_check.spec import load_problem

NET = """\
bpcheck: 1
id: ecf-net
network:
  layers:
    - {weight: W1, bias: b1, activation: relu}
    - {weight: W2, bias: b2, activation: identity}
params:
  W1: [[0.5, -0.3], [-0.4, 0.2], [0.3, 0.7]]
  b1: [0.1, 0.1, 0.2]
  W2: [[0.7, -0.5, 0.4]]
  b2: [0.2]
data:
  layout: columns
  x: [[0.6, -0.2, 1.0], [-0.4, 0.9, 0.5]]
  y: [[1.0, -0.5, 0.3]]
loss: {type: mse}
train: {lr: 0.1, steps: 1}
"""
W1 = np.array([[0.5, -0.3], [-0.4, 0.2], [0.3, 0.7]])
B1 = np.array([[0.1], [0.1], [0.2]])
W2 = np.array([[0.7, -0.5, 0.4]])
B2 = np.array([[0.2]])
X = np.array([[0.6, -0.2, 1.0], [-0.4, 0.9, 0.5]])
Y = np.array([[1.0, -0.5, 0.3]])
LR = 0.1


def questions(*names, form: str = "") -> str:
    extra = f", form: {form}" if form else ""
    return "questions:\n" + "".join(f"  - {{quantity: {n}, points: 2{extra}}}\n" for n in names)


def forward(z1=None):
    z1 = W1 @ X + B1 if z1 is None else z1
    z2 = np.maximum(z1, 0)
    return {"z1": z1, "z2": z2, "y_hat": W2 @ z2 + B2}


def backward(f: dict, dy_hat=None) -> dict:
    """The backward pass and one SGD step from forward values `f` (and a given dl/dy_hat)."""
    dz3 = 2 * (f["y_hat"] - Y) if dy_hat is None else dy_hat
    dz1 = (W2.T @ dz3) * (f["z1"] > 0)
    g = {"dl/dy_hat": dz3, "dl/dW2": dz3 @ f["z2"].T, "dl/db2": dz3.sum(axis=1), "dl/dz1": dz1,
         "dl/dW1": dz1 @ X.T, "dl/db1": dz1.sum(axis=1)}
    g["step1.W1"] = W1 - LR * g["dl/dW1"]
    g["step1.W2"] = W2 - LR * g["dl/dW2"]
    g["loss"] = float(((f["y_hat"] - Y) ** 2).sum())
    return g


def rounded(v, places: int = 5):
    return np.round(np.asarray(v, dtype=float), places).tolist()


def grade(tmp_path: Path, spec: str, answers: dict) -> tuple[dict, object]:
    """quantity -> Finding, and the FileResult."""
    problem_path = tmp_path / "p.yaml"
    problem_path.write_text(spec, encoding="utf-8")
    lines = ["bpcheck: 1", "problem: p.yaml", "student: s", "answers:"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in answers.items()]
    answers_path = tmp_path / "a.answers.yaml"
    answers_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problem = load_problem(problem_path)
    result = grade_file(load_answers(answers_path), problem, solve(problem))
    assert result.error is None
    return {f.quantity: f for f in result.findings}, result


def assert_ecf(finding, given: str, score: float = 2.0):
    assert finding.status == "correct", finding.message
    assert finding.tags[0] == "ecf" and finding.score == pytest.approx(score)
    assert finding.message == f"correct given your {given} (error carried forward)"


def assert_lost(finding):
    assert finding.status == "incorrect" and finding.score == 0 and "ecf" not in finding.tags, finding.message


# ------------------------------------------------------------------ numbers through the chain

WRONG_Y_HAT = np.array([[0.95, -0.1, 0.5]])  # the truth is [0.574, 0.186, 0.638]


def test_a_wrong_y_hat_carries_through_quantities_nobody_asked(tmp_path):
    """dl/dz3 and dl/dz2 are not asked: dl/dW2, dl/db2, dl/dz1 and dl/dW1 follow from ŷ through them."""
    truth = forward()
    assert not np.allclose(truth["y_hat"], WRONG_Y_HAT, atol=0.05)
    theirs = backward({**truth, "y_hat": WRONG_Y_HAT})
    spec = NET + questions("y_hat", "dl/dW2", "dl/db2", "dl/dz1", "dl/dW1")
    answers = {"y_hat": WRONG_Y_HAT.reshape(-1).tolist()}  # a flat list binds in ŷ's shape (1, 3)
    answers.update((q, rounded(theirs[q], 4)) for q in ("dl/dW2", "dl/db2", "dl/dz1", "dl/dW1"))
    found, result = grade(tmp_path, spec, answers)
    assert_lost(found["y_hat"])
    for q in ("dl/dW2", "dl/db2", "dl/dz1", "dl/dW1"):
        assert_ecf(found[q], "y_hat")
    assert result.score == result.max_score - 2


def test_a_made_up_answer_earns_nothing(tmp_path):
    """Wrong and unrelated to the student's ŷ: a different ŷ, a scaled value, noise."""
    truth = forward()
    other = backward({**truth, "y_hat": WRONG_Y_HAT + 0.3})
    spec = NET + questions("y_hat", "dl/dW2", "dl/db2", "dl/dW1")
    rng = np.random.default_rng(3)
    found, _ = grade(tmp_path, spec, {"y_hat": WRONG_Y_HAT.tolist(), "dl/dW2": rounded(other["dl/dW2"]),
                                      "dl/db2": rounded(1.37 * backward(truth)["dl/db2"]),
                                      "dl/dW1": rounded(rng.normal(size=(3, 2)))})
    for q in ("y_hat", "dl/dW2", "dl/db2", "dl/dW1"):
        assert_lost(found[q])


def test_one_dropped_factor_2_costs_one_question(tmp_path):
    """dl/dy_hat written as (ŷ − y): every gradient and the step after it follow."""
    truth = forward()
    right = backward(truth)
    theirs = backward(truth, dy_hat=truth["y_hat"] - Y)
    asked = ("y_hat", "loss", "dl/dy_hat", "dl/dW2", "dl/db2", "dl/dz1", "dl/dW1", "step1.W1")
    answers = {"y_hat": rounded(truth["y_hat"]), "loss": right["loss"]}
    answers.update((q, rounded(theirs[q])) for q in asked[2:])
    found, result = grade(tmp_path, NET + questions(*asked), answers)
    assert found["y_hat"].status == found["loss"].status == "correct"
    assert_lost(found["dl/dy_hat"])
    assert "factor-2" in found["dl/dy_hat"].tags
    for q in asked[3:]:
        assert_ecf(found[q], "dl/dy_hat")
    assert result.score == result.max_score - 2  # not 2 × 6

    off, result = grade(tmp_path, NET + "ecf: false\n" + questions(*asked), answers)
    for q in asked[2:]:
        assert_lost(off[q])
    assert result.score == 4

    half, result = grade(tmp_path, NET + "ecf_share: 1/2\n" + questions(*asked), answers)
    for q in asked[3:]:
        assert_ecf(half[q], "dl/dy_hat", score=1.0)
    assert result.score == 4 + 5 * 1


def test_ecf_and_its_share_per_question(tmp_path):
    """`ecf: false` on one question holds it to the truth; `ecf_share` on another halves it."""
    truth = forward()
    theirs = backward(truth, dy_hat=truth["y_hat"] - Y)
    spec = NET + ("questions:\n  - {quantity: dl/dy_hat}\n  - {quantity: dl/dW2, ecf: false}\n"
                  "  - {quantity: dl/db2, ecf_share: 0.25}\n  - {quantity: dl/dW1}\n")
    found, _ = grade(tmp_path, spec, {q: rounded(theirs[q]) for q in ("dl/dy_hat", "dl/dW2", "dl/db2", "dl/dW1")})
    assert_lost(found["dl/dW2"])
    assert_ecf(found["dl/db2"], "dl/dy_hat", score=0.25)
    assert_ecf(found["dl/dW1"], "dl/dy_hat", score=1.0)


def test_each_mistake_costs_once_and_later_answers_name_them(tmp_path):
    """A wrong ŷ, then dl/dy_hat from it but without the 2: two roots, each costing its own question."""
    truth = forward()
    mine = {**truth, "y_hat": WRONG_Y_HAT}
    theirs = backward(mine, dy_hat=WRONG_Y_HAT - Y)
    asked = ("y_hat", "loss", "dl/dy_hat", "dl/dW2", "dl/dz1")
    answers = {"y_hat": WRONG_Y_HAT.tolist(), "loss": backward(mine)["loss"]}
    answers.update((q, rounded(theirs[q])) for q in asked[2:])
    found, _ = grade(tmp_path, NET + questions(*asked), answers)
    assert_lost(found["y_hat"])
    assert_ecf(found["loss"], "y_hat")
    assert_lost(found["dl/dy_hat"])  # not 2(ŷ − y) of their ŷ either: a mistake of its own
    assert_ecf(found["dl/dW2"], "dl/dy_hat")
    assert_ecf(found["dl/dz1"], "dl/dy_hat")


def test_a_correct_answer_carries_no_error(tmp_path):
    """A right dl/dy_hat after a wrong ŷ: later answers are held to the true gradient."""
    truth = forward()
    theirs = backward({**truth, "y_hat": WRONG_Y_HAT})
    right = backward(truth)
    spec = NET + questions("y_hat", "dl/dy_hat", "dl/dW2")
    found, _ = grade(tmp_path, spec, {"y_hat": WRONG_Y_HAT.tolist(), "dl/dy_hat": rounded(right["dl/dy_hat"]),
                                      "dl/dW2": rounded(theirs["dl/dW2"])})
    assert found["dl/dy_hat"].status == "correct" and "ecf" not in found["dl/dy_hat"].tags
    assert_lost(found["dl/dW2"])


def test_degenerate_upstream_earns_nothing(tmp_path):
    """z1 of zeros: z2 = relu(0) = 0 and dl/dW2 = dl/dz3 @ 0ᵀ = 0 take no arithmetic."""
    zero = forward(np.zeros((3, 3)))
    theirs = backward(zero)
    spec = NET + questions("z1", "z2", "dl/dW2", "dl/db2")
    found, _ = grade(tmp_path, spec, {"z1": [[0] * 3] * 3, "z2": [[0] * 3] * 3,
                                      "dl/dW2": [[0, 0, 0]], "dl/db2": rounded(theirs["dl/db2"])})
    for q in ("z2", "dl/dW2", "dl/db2"):
        assert_lost(found[q])
        assert "no credit is carried forward" in found[q].message and "your z1 is all zeros" in found[q].message


def test_an_unasked_answer_starts_no_carry(tmp_path):
    """A made-up z2 that no question asks for must not earn dl/dW2 its points."""
    made_up = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0], [2.0, 0.0, 1.0]])
    theirs = backward(forward())
    claimed = theirs["dl/dy_hat"] @ made_up.T
    found, _ = grade(tmp_path, NET + questions("dl/dW2"), {"z2": made_up.tolist(), "dl/dW2": rounded(claimed)})
    assert_lost(found["dl/dW2"])


# ------------------------------------------------------------------ formulas

def test_a_formula_built_on_the_students_own_wrong_formula(tmp_path):
    """dl/dy_hat = ŷ − y (the 2 dropped): dl/dW2, dl/db2 and dl/dW1 written consistently with it."""
    spec = NET + questions("dl/dy_hat", "dl/dW2", "dl/db2", "dl/dW1", form="expression")
    answers = {"dl/dy_hat": "y_hat - y", "dl/dW2": "(y_hat - y) @ z2.T", "dl/db2": "sum(y_hat - y, 1)",
               "dl/dW1": "((W2.T @ (y_hat - y)) * step(z1)) @ x.T"}
    found, result = grade(tmp_path, spec, answers)
    assert_lost(found["dl/dy_hat"])
    for q in ("dl/dW2", "dl/db2", "dl/dW1"):
        assert_ecf(found[q], "dl/dy_hat")
    # a formula that follows from nothing they wrote earns nothing: dl/dW1 with x where xᵀ belongs
    found, _ = grade(tmp_path, spec, {**answers, "dl/dW1": "((W2.T @ (y_hat - y)) * z1) @ x.T"})
    assert_lost(found["dl/dW1"])
    off, _ = grade(tmp_path, NET + "ecf: false\n" + questions("dl/dy_hat", "dl/dW2", form="expression"),
                   answers)
    assert_lost(off["dl/dW2"])


def test_a_formula_answer_carries_into_later_numbers(tmp_path):
    """Their dl/dy_hat formula, evaluated at the problem's values, is what their numbers follow from."""
    truth = forward()
    theirs = backward(truth, dy_hat=truth["y_hat"] - Y)
    found, _ = grade(tmp_path, NET + questions("dl/dy_hat", "dl/dW2", form="any"),
                     {"dl/dy_hat": "y_hat - y", "dl/dW2": rounded(theirs["dl/dW2"])})
    assert_lost(found["dl/dy_hat"])
    assert_ecf(found["dl/dW2"], "dl/dy_hat")


def test_a_zero_formula_upstream_earns_nothing(tmp_path):
    spec = NET + questions("dl/dy_hat", "dl/dW2", form="expression")
    found, _ = grade(tmp_path, spec, {"dl/dy_hat": "0 * y", "dl/dW2": "(0 * y) @ z2.T"})
    assert_lost(found["dl/dW2"])
    assert "no credit is carried forward" in found["dl/dW2"].message


# ------------------------------------------------------------------ graph problems

NEURON = """\
bpcheck: 1
id: neuron
graph:
  inputs: {w: [0.5, -0.3], b: 0.1}
  nodes:
    z: w[0]*x[0] + w[1]*x[1] + b
    h: sigmoid(z)
    L: (h - y)**2
data:
  x: [[1, 2], [1, 3], [2, 2]]
  y: [1, 0, 1]
train: {lr: 0.5, steps: 1}
questions:
  - {quantity: sample2.z}
  - {quantity: L}
  - {quantity: dL/dw}
  - {quantity: dL/db}
  - {quantity: step1.w}
"""


def test_a_graph_carries_a_wrong_sample_value_into_the_sum_and_the_step(tmp_path):
    """sample2.z wrong: h, L and the derivatives of sample 2 follow (unasked), then the sums and the step."""
    xs, ys, w, b = np.array([[1.0, 2.0], [1.0, 3.0], [2.0, 2.0]]), np.array([1.0, 0.0, 1.0]), np.array([0.5, -0.3]), 0.1
    z = xs @ w + b
    z[1] = -0.25  # the truth is -0.3
    h = 1 / (1 + np.exp(-z))
    dz = 2 * (h - ys) * h * (1 - h)
    theirs = {"sample2.z": -0.25, "L": float(((h - ys) ** 2).sum()), "dL/dw": (dz @ xs).tolist(),
              "dL/db": float(dz.sum()), "step1.w": (w - 0.5 * dz @ xs).tolist()}
    found, _ = grade(tmp_path, NEURON, theirs)
    assert_lost(found["sample2.z"])
    for q in ("L", "dL/dw", "dL/db", "step1.w"):
        assert_ecf(found[q], "sample2.z", score=1.0)


SCALAR = """\
bpcheck: 1
id: scalar-graph
graph:
  inputs: {w1: 1, w2: 2.3, w3: 5.7}
  nodes:
    s: w1 + w2
    L: s * w3
train: {lr: 0.01, steps: 1, params: [w1, w2, w3]}
questions:
  - {quantity: dL/dw3, form: expression}
  - {quantity: step1.w3, form: expression}
"""


def test_a_graph_formula_built_on_a_wrong_one(tmp_path):
    """dL/dw3 = w1 (for s = w1 + w2): the step written with it follows."""
    found, _ = grade(tmp_path, SCALAR, {"dL/dw3": "w1", "step1.w3": "w3 - 0.01 * w1"})
    assert_lost(found["dL/dw3"])
    assert_ecf(found["step1.w3"], "dL/dw3", score=1.0)
    found, _ = grade(tmp_path, SCALAR, {"dL/dw3": "w1", "step1.w3": "w3 - 0.01 * w2"})
    assert_lost(found["step1.w3"])


# ------------------------------------------------------------------ the walk's pieces

def test_dependency_order_puts_inputs_first():
    n = F.Name
    sheet = {"L": n("s"), "dL/dw1": F.mul(n("dL/ds"), n("ds/dw1")), "dL/ds": n("w3"), "ds/dw1": F.num(1),
             "s": F.add(n("w1"), n("w2"))}
    order = carry.dependency_order(sheet)
    assert sorted(order) == sorted(sheet)
    assert order.index("s") < order.index("L")
    assert order.index("ds/dw1") < order.index("dL/dw1") and order.index("dL/ds") < order.index("dL/dw1")


def test_fit_binds_a_vector_in_the_references_shape_only():
    assert carry.fit([1, 2, 3], (1, 3)).shape == (1, 3)
    assert carry.fit([[1], [2], [3]], (1, 3)).shape == (1, 3)
    assert carry.fit([[1, 2], [3, 4]], (2, 2)).tolist() == [[1, 2], [3, 4]]
    assert carry.fit([[1, 2, 3], [4, 5, 6]], (3, 2)) is None  # a transposed matrix is not bound
    assert carry.fit([1, 2], (1, 3)) is None
