"""The multi-class hinge loss (FORMAT.md section 1) against hand arithmetic.

Per sample Σ_{j≠c} max(0, ŷ_j − ŷ_c + margin), c the target class of a one-hot
y; its derivative is H(ŷ_j − ŷ_c + margin) for j ≠ c and −Σ_{j≠c} H(…) for c,
with H(0) = 0 at exactly the hinge. The expected values are written out here
with Fractions and numpy loops, independently of the package.
"""

from __future__ import annotations

import json
from fractions import Fraction as Q
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_check import formulas as F
from backprop_check.cli import main
from backprop_check.engines import numeric, symbolic
from backprop_check.errors import InputError
from backprop_check.losses import Loss, hinge
from backprop_check.solve import case_of, solve
from backprop_check.spec import parse_problem

ROOT = Path(__file__).resolve().parent.parent


def hinge_by_hand(scores, target: int, margin=Q(1)):
    """(loss, d loss / d scores) of one sample."""
    c = scores[target]
    loss, grad = 0, [0] * len(scores)
    for j, s in enumerate(scores):
        if j == target:
            continue
        loss += max(0, s - c + margin)
        if s - c + margin > 0:  # exactly on the hinge: derivative 0
            grad[j] += 1
            grad[target] -= 1
    return loss, grad


SCORES = """\
bpcheck: 1
id: hinge-test
network:
  layers:
    - {weight: W1, bias: b1, activation: identity}
params:
  W1: [[1, -0.5], [0.5, 1], [-1, 0.25]]
  b1: [0, 0.5, 0]
data:
  layout: rows
  x: [[1, 1], [2, 1], [-2, 0], [0.5, -1]]
  y: [[0, 0, 1], [0, 1, 0], [0, 0, 1], [1, 0, 0]]
loss: LOSS
"""


def _problem(loss="{type: hinge}", text=SCORES, **subs):
    text = text.replace("LOSS", loss)
    for old, new in subs.items():
        text = text.replace(old, new)
    return parse_problem(text, "p.yaml")


def _exact(entry):
    p = entry.precise
    return Q(p) if isinstance(p, str) else np.vectorize(Q, otypes=[object])(np.asarray(p, dtype=object))


@pytest.mark.parametrize("margin", [Q(1), Q(1, 2), Q(0), Q(3)])
@pytest.mark.parametrize("average", ["none", "samples"])
def test_scores_by_hand_with_a_sample_on_the_hinge(margin, average):
    """Sample 2 lies exactly on the hinge for margin 1 (1.5 − 2.5 + 1 = 0)."""
    p = _problem(f"{{type: hinge, margin: {margin}, average: {average}}}")
    s = solve(p)
    W = [[Q(1), Q(-1, 2)], [Q(1, 2), Q(1)], [Q(-1), Q(1, 4)]]
    b = [Q(0), Q(1, 2), Q(0)]
    xs = [[Q(1), Q(1)], [Q(2), Q(1)], [Q(-2), Q(0)], [Q(1, 2), Q(-1)]]
    targets = [2, 1, 2, 0]
    div = len(xs) if average == "samples" else 1
    total, dyhat, dW = Q(0), [], [[Q(0)] * 2 for _ in range(3)]
    for x, t in zip(xs, targets):
        scores = [sum(W[i][k] * x[k] for k in range(2)) + b[i] for i in range(3)]
        loss, grad = hinge_by_hand(scores, t, margin)
        total += loss
        dyhat.append([g / div for g in grad])
        for i in range(3):
            for k in range(2):
                dW[i][k] += grad[i] * x[k] / div
    assert _exact(s.entries["loss"]) == total / div
    assert _exact(s.entries["dl/dy_hat"]).tolist() == dyhat  # rows layout: one row per sample
    assert _exact(s.entries["dl/dW1"]).tolist() == dW
    if margin == 1:
        assert dyhat[1] == [0, 0, 0]  # on the hinge: derivative 0


def test_softmax_outputs_by_hand():
    text = SCORES.replace("activation: identity", "activation: softmax")
    p = _problem("{type: hinge, margin: 0.25}", text)
    s = solve(p)
    W = np.array([[1, -0.5], [0.5, 1], [-1, 0.25]])
    b = np.array([0, 0.5, 0])
    x = np.array([[1, 1], [2, 1], [-2, 0], [0.5, -1]], dtype=float)
    targets = [2, 1, 2, 0]
    total, dW = 0.0, np.zeros((3, 2))
    dyhat = []
    for xi, t in zip(x, targets):
        z = W @ xi + b
        e = np.exp(z - z.max())
        prob = e / e.sum()
        loss, grad = hinge_by_hand(list(prob), t, 0.25)
        total += loss
        g = np.array(grad, dtype=float)
        dyhat.append(g)
        dz = prob * (g - prob @ g)  # softmax's vector-Jacobian product
        dW += np.outer(dz, xi)
    assert float(s.entries["loss"].value) == pytest.approx(total, rel=1e-13)
    assert np.allclose(np.asarray(s.entries["dl/dy_hat"].value), dyhat, rtol=0, atol=0)
    assert np.allclose(np.asarray(s.entries["dl/dW1"].value), dW, rtol=1e-12, atol=1e-15)


def test_engines_agree_and_finite_differences_hold():
    text = SCORES.replace("activation: identity", "activation: tanh").replace(
        "    - {weight: W1, bias: b1, activation: tanh}",
        "    - {weight: W1, bias: b1, activation: tanh}\n    - {weight: W2, activation: identity}").replace(
        "  b1: [0, 0.5, 0]", "  b1: [0, 0.5, 0]\n  W2: [[0.8, -0.3, 0.5], [0.2, 0.9, -0.4], [-0.6, 0.1, 0.7]]")
    p = _problem("{type: hinge, margin: 0.5, factor: 3/4, average: all}", text)
    s = solve(p)
    assert s.report.compared > 0 and s.report.fd_checked == 6 + 3 + 9 and s.report.formulas_checked > 0
    case = case_of(p)
    exact, fast = symbolic.run(case), numeric.run(case)
    for name in ("loss", "dl/dy_hat", "dl/dW1", "dl/dW2"):
        a = np.array([[float(v) for v in row] for row in exact[name].to_list()]) \
            if hasattr(exact[name], "to_list") else float(exact[name])
        assert np.allclose(a, fast[name], rtol=1e-12, atol=1e-15), name
    # central differences of our own float hinge, written here
    W1 = np.array([[1, -0.5], [0.5, 1], [-1, 0.25]])
    b1 = np.array([0, 0.5, 0])
    W2 = np.array([[0.8, -0.3, 0.5], [0.2, 0.9, -0.4], [-0.6, 0.1, 0.7]])
    x = np.array([[1, 1], [2, 1], [-2, 0], [0.5, -1]], dtype=float)
    targets = [2, 1, 2, 0]

    def loss(W):
        return 0.75 * sum(hinge_by_hand(list(W2 @ np.tanh(W @ xi + b1)), t, 0.5)[0]
                          for xi, t in zip(x, targets)) / 12

    grad = np.asarray(s.entries["dl/dW1"].value)
    for i, k in np.ndindex(W1.shape):
        h = 1e-6
        up, down = W1.copy(), W1.copy()
        up[i, k] += h
        down[i, k] -= h
        assert (loss(up) - loss(down)) / (2 * h) == pytest.approx(grad[i, k], rel=1e-6, abs=1e-9)


def test_on_the_hinge_exactly_in_floats_too():
    """ŷ_j − ŷ_c + margin = 0 exactly: relu′ = 0 in both engines (H(0) = 0)."""
    p = _problem("{type: hinge}")
    fast = numeric.run(case_of(p))
    assert fast["dl/dy_hat"][:, 1].tolist() == [0.0, 0.0, 0.0]


def test_formulas_in_both_layouts():
    loss = Loss(hinge(Q(1, 2)), Q(1), "samples")
    yh, y = F.Name("y_hat"), F.Name("y")
    assert F.to_code(loss.formula(yh, y)) == "sum(relu(y_hat + 0.5 - sum(y * y_hat, 0)) * (1 - y)) / N"
    assert F.to_code(loss.dformula(yh, y, rows=True)) == (
        "(step(y_hat + 0.5 - sum(y * y_hat, 1)) * (1 - y) - y * sum(step(y_hat + 0.5 - sum(y * y_hat, 1)) "
        "* (1 - y), 1)) / N")
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(4, 3))  # rows: samples
    targets = rng.integers(0, 3, size=4)
    onehot = np.eye(3)[targets]
    env = {"y_hat": scores, "y": onehot, "N": 4.0}
    want = sum(hinge_by_hand(list(s_), int(t), 0.5)[0] for s_, t in zip(scores, targets)) / 4
    dwant = np.array([hinge_by_hand(list(s_), int(t), 0.5)[1] for s_, t in zip(scores, targets)]) / 4
    assert float(F.evaluate(loss.formula(yh, y, rows=True), env)) == pytest.approx(want, rel=1e-14)
    assert np.allclose(F.evaluate(loss.dformula(yh, y, rows=True), env), dwant, rtol=1e-14)
    env = {"y_hat": scores.T, "y": onehot.T, "N": 4.0}
    assert float(F.evaluate(loss.formula(yh, y), env)) == pytest.approx(want, rel=1e-14)
    assert np.allclose(F.evaluate(loss.dformula(yh, y), env), dwant.T, rtol=1e-14)
    assert hinge(Q(1, 2)) is hinge(Q(1, 2)) and hinge() is not hinge(Q(2))
    assert Loss(hinge(Q(2))).label() == "hinge, margin 2" and Loss(hinge()).label() == "hinge"


@pytest.mark.parametrize("loss, y, message, line", [
    ("{type: hinge}", "  y: [[0, 0, 1], [0, 1, 0], [0, 0, 1], [1, 0, 1]]", "sample 4 is ['1', '0', '1']", 12),
    ("{type: hinge}", "  y: [[0, 0, 1], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]]", "one-hot per sample", 12),
    ("{type: hinge}", "  y: [[0, 0, 1], [0, 1, 0], [0, 0, 1], [0, 0, 0]]", "one-hot per sample", 12),
    ("{type: hinge}", "  y: [[0, 0, 1], [0, 1, 0], [0, 0, 1], [2, -1, 0]]", "one-hot per sample", 12),
    ("{type: hinge, margin: -1}", None, "loss.margin must not be negative", 13),
    ("{type: mse, margin: 1}", None, "margin belongs to the hinge loss", 13),
    ("{type: hinge, margin: one}", None, "loss.margin", 13),
    ("{type: hinge, marign: 1}", None, "did you mean 'margin'?", 13),
    ("{type: hnge}", None, "unknown loss type 'hnge'; use one of mse, bce, cross_entropy, hinge", 13),
])
def test_bad_hinge_specs(loss, y, message, line):
    subs = {"  y: [[0, 0, 1], [0, 1, 0], [0, 0, 1], [1, 0, 0]]": y} if y else {}
    with pytest.raises(InputError) as info:
        _problem(loss, **subs)
    assert message in info.value.message, info.value.message
    assert info.value.line == line and info.value.file == "p.yaml"


def test_one_output_is_refused():
    text = """\
bpcheck: 1
id: one
network:
  layers:
    - {weight: W1, activation: identity}
params:
  W1: [[1, 2]]
data:
  x: [1, 2]
  y: [1]
loss: {type: hinge}
"""
    with pytest.raises(InputError) as info:
        parse_problem(text, "p.yaml")
    assert "two outputs or more" in info.value.message and info.value.line == 10


def test_shipped_example_and_formula_grading(tmp_path):
    result = CliRunner().invoke(main, ["solve", str(ROOT / "problems" / "hinge-scores.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    q = json.loads(result.output)["quantities"]
    assert q["loss"] == 2.0 and q["dl/dy_hat"][1] == [0.0, 0.0, 0.0]
    spec = tmp_path / "p.yaml"
    spec.write_text(SCORES.replace("LOSS", "{type: hinge, average: samples}")
                    + "questions:\n  - {quantity: dl/dy_hat, form: expression}\n"
                    + "  - {quantity: loss, form: expression}\n")
    answers = tmp_path / "a.answers.yaml"
    # another correct way to write it: the target's own entry is −(number of active margins)
    answers.write_text(
        "bpcheck: 1\nproblem: p.yaml\nanswers:\n"
        "  dl/dy_hat: \"(step(y_hat - sum(y * y_hat, 1) + 1) * (1 - y)"
        " - y * (sum(step(y_hat - sum(y * y_hat, 1) + 1), 1) - 1)) / N\"\n"
        "  loss: \"sum(relu(y_hat - sum(y * y_hat, 1) + 1)) / N - 1\"\n")
    result = CliRunner().invoke(main, ["grade", str(answers), "--format", "json"])
    statuses = [q["status"] for q in json.loads(result.output)["results"][0]["questions"]]
    assert statuses == ["correct", "correct"], result.output
