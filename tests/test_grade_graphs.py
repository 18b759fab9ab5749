"""Grading numeric answers on graph problems (FORMAT.md section 5).

Every expected value and every mistaken value is computed here by hand
(plain Python and numpy), never read off bpcheck's engines: the scalar graph
L = (w1 + w2)·w3, a sigmoid neuron written node by node over three samples,
and the composition F∘G of vector functions. The CLI tests run `bpcheck
grade` on a graph problem in the JSON and human formats.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_check import formulas as F
from backprop_check.answers import load_answers
from backprop_check.cli import main
from backprop_check.diagnose import CATALOGUE, MAX_SQUARE_WALK, _squares
from backprop_check.formula_syntax import parse as parse_formula
from backprop_check.grade import grade_file
from backprop_check.solve import solve
from backprop_check.spec import load_problem

STATUSES = {"correct", "incorrect", "invalid", "missing"}

SCALAR = """\
bpcheck: 1
id: scalar-graph
graph:
  inputs: {w1: 1, w2: 2.3, w3: 5.7}
  nodes:
    s: w1 + w2
    L: s * w3
  output: L
train: {lr: 0.01, steps: 1, params: [w1, w2, w3]}
"""

# z = w·x + b, h = σ(z), L = (h − y)², summed over three samples; one SGD step
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
  - {quantity: L}
  - {quantity: dL/dw}
  - {quantity: dL/db}
  - {quantity: sample2.h}
  - {quantity: sample3.dL/dz}
  - {quantity: sample1.dh/dz}
  - {quantity: step1.w}
  - {quantity: step1.b}
  - {quantity: step1.L}
"""

COMPOSITION = """\
bpcheck: 1
id: composition
graph:
  inputs: {x: 1, y: 2}
  nodes:
    G: [x - 4*y, x*y, x + y]
    F: ["2*G[0]*G[1]", "G[1] - G[2]"]
names: {G: g, F: Fout}
questions:
  - {quantity: "dF/d(x,y)"}
  - {quantity: dF/dG}
  - {quantity: dG/dx}
  - {quantity: G}
  - {quantity: F}
"""


# ------------------------------------------------------------------ helpers

def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def answers_file(tmp_path: Path, problem: Path, answers: dict, name: str = "answers.yaml") -> Path:
    lines = ["bpcheck: 1", f"problem: {json.dumps(problem.name)}", "student: s", "answers:"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in answers.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def grade(tmp_path: Path, spec: str, answers: dict) -> dict:
    """quantity -> Finding, graded in process."""
    problem_path = write(tmp_path, spec)
    problem = load_problem(problem_path)
    solution = solve(problem)
    result = grade_file(load_answers(answers_file(tmp_path, problem_path, answers)), problem, solution)
    assert result.error is None
    return {f.quantity: f for f in result.findings}


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


X = [(1.0, 2.0), (1.0, 3.0), (2.0, 2.0)]
Y = [1.0, 0.0, 1.0]


def neuron(w=(0.5, -0.3), b=0.1, factor=2.0, divisor=1.0) -> dict:
    """The neuron by hand: L = Σ (h − y)² (× factor/2, / divisor) and its gradients."""
    out = {"L": 0.0, "dL/dw": np.zeros(2), "dL/db": 0.0}
    for n, ((x0, x1), y) in enumerate(zip(X, Y), start=1):
        z = w[0] * x0 + w[1] * x1 + b
        h = sigmoid(z)
        dz = factor * (h - y) * h * (1 - h) / divisor
        out["L"] += factor / 2 * (h - y) ** 2 / divisor
        out["dL/dw"] = out["dL/dw"] + dz * np.array([x0, x1])
        out["dL/db"] += dz
        out[f"sample{n}.h"] = h
        out[f"sample{n}.dL/dz"] = 2 * (h - y) * h * (1 - h)
        out[f"sample{n}.dh/dz"] = h * (1 - h)
    return out


def neuron_step(lr: float, **kw) -> dict:
    g = neuron(**kw)
    w = np.array([0.5, -0.3]) - lr * g["dL/dw"]
    b = 0.1 - lr * g["dL/db"]
    return {"step1.w": w, "step1.b": b, "step1.L": neuron(w=tuple(w), b=b)["L"]}


def key() -> dict:
    """Every question of NEURON answered right (to 6 significant figures)."""
    g = neuron()
    out = {q: _round(g[q]) for q in ("L", "dL/dw", "dL/db", "sample2.h", "sample3.dL/dz", "sample1.dh/dz")}
    out.update((q, _round(v)) for q, v in neuron_step(0.5).items())
    return out


def _round(v):
    return [float(f"{e:.6g}") for e in v] if np.ndim(v) else float(f"{v:.6g}")


def tags(finding) -> list:
    return [t for t in finding.tags if t != "ecf"]


# ------------------------------------------------------------------ numbers

def test_the_scalar_graph_graded_against_values_by_hand(tmp_path):
    found = grade(tmp_path, SCALAR, {
        "s": 3.3, "L": 18.81, "dL/ds": 5.7, "dL/dw1": 5.7, "dL/dw2": "5.7", "dL/dw3": [3.3],
        "ds/dw1": [[1]], "ds/dw2": 1, "step1.w1": 0.943, "step1.w2": 2.243, "step1.w3": 5.667,
        "step1.L": (1 - 0.057 + 2.3 - 0.057) * (5.7 - 0.033)})
    # without questions: every quantity solve lists, except the given inputs and dL/dL
    assert set(found) == {"s", "L", "dL/ds", "dL/dw1", "dL/dw2", "dL/dw3", "ds/dw1", "ds/dw2",
                          "step1.w1", "step1.w2", "step1.w3", "step1.L"}
    assert {f.status for f in found.values()} == {"correct"}


def test_tolerance_wrong_and_missing(tmp_path):
    spec = SCALAR + "questions:\n  - {quantity: L}\n  - {quantity: s}\n  - {quantity: dL/dw3}\n"
    found = grade(tmp_path, spec, {"L": 18.81 * (1 + 4e-3), "s": 3.3 * (1 + 6e-3)})
    assert found["L"].status == "correct"  # within the default rtol 5e-3
    assert found["s"].status == "incorrect" and "expected 3.3" in found["s"].message
    assert found["dL/dw3"].status == "missing"
    spec = spec.replace("train:", "tolerance: {sigfigs: 2}\ntrain:")
    found = grade(tmp_path, spec, {"L": 19, "s": 3.4})
    assert found["L"].status == "correct" and found["s"].status == "incorrect"


def test_neuron_key_and_vectors_in_either_orientation(tmp_path):
    answers = key()
    found = grade(tmp_path, NEURON, answers)
    assert {q: f.status for q, f in found.items()} == {q: "correct" for q in answers}
    w = answers["dL/dw"]
    for written in ([[w[0]], [w[1]]], [w], [str(w[0]), str(w[1])]):
        found = grade(tmp_path, NEURON, {**answers, "dL/dw": written})
        assert found["dL/dw"].status == "correct", written
    found = grade(tmp_path, NEURON, {**answers, "L": [answers["L"]], "dL/db": [[answers["dL/db"]]]})
    assert found["L"].status == found["dL/db"].status == "correct"


def test_per_sample_answers(tmp_path):
    g = neuron()
    found = grade(tmp_path, NEURON, {**key(), "sample2.h": 0.4256, "sample3.dL/dz": -g["sample3.dL/dz"],
                                     "sample1.dh/dz": 0.3})
    assert found["sample2.h"].status == "correct"
    assert found["sample3.dL/dz"].status == "incorrect" and tags(found["sample3.dL/dz"]) == ["sign-flipped"]
    assert found["sample1.dh/dz"].status == "incorrect"
    assert found["sample1.dh/dz"].expected == pytest.approx(0.25)


def test_a_node_value_with_data_is_a_sample_quantity(tmp_path):
    problem_path = write(tmp_path, NEURON)
    path = answers_file(tmp_path, problem_path, {**key(), "h": 0.5})
    problem = load_problem(problem_path)
    result = grade_file(load_answers(path), problem, solve(problem))
    assert result.passed
    assert any("'h'" in message and "sample1.h" in message for _, message in result.warnings)


def test_wrong_shapes_name_the_graphs_own_names(tmp_path):
    per_sample = [[-0.25, -0.5], [0.21, 0.62], [-0.35, -0.35]]  # 3×2: one row per sample
    found = grade(tmp_path, NEURON, {**key(), "dL/dw": per_sample, "L": [0.25, 0.18, 0.14],
                                     "step1.w": [1, 2, 3]})
    assert found["dL/dw"].status == "invalid"
    assert found["dL/dw"].message == ("expected 2 (the shape of w), got 3×2: one value per sample? "
                                      "(not summed over the samples)")
    assert found["dL/dw"].tags == []  # a network's bias-not-summed does not apply
    assert found["L"].message.startswith("expected a scalar (the shape of L), got 3: one value per sample?")
    assert found["step1.w"].message == "expected 2 (the shape of w), got 3"
    momentum = NEURON.replace("steps: 1}", "steps: 1, optimizer: {momentum: {mu: 0.9}}}") + \
        "  - {quantity: step1.v_w}\n"
    found = grade(tmp_path, momentum, {"step1.v_w": [1, 2, 3]})
    assert found["step1.v_w"].message == "expected 2 (the shape of w), got 3"
    two_paths = ("bpcheck: 1\nid: two-paths\ngraph:\n  inputs: {x: 1, y: 2, z: 3}\n  nodes:\n"
                 "    a: x*y + z\n    b: (x + x)*a\n    w: a*b\nquestions:\n  - {quantity: db/dx}\n"
                 "  - {quantity: \"dw/d(x, y)\"}\n")
    # a = 5, b = 10; db/dx = 2a + 2x·y = 14; w = 2x·a², dw/dx = 2a² + 4x·a·y = 90, dw/dy = 4x·a·x = 20
    found = grade(tmp_path, two_paths, {"db/dx": 14, "dw/d(x,y)": [[90, 20], [0, 0]]})
    assert found["db/dx"].status == "correct"
    assert found["dw/d(x,y)"].message == "expected 2 (one entry per input x, y), got 2×2"
    found = grade(tmp_path, two_paths, {"dw/d(x,y)": [[90], [20]]})
    assert found["dw/d(x,y)"].status == "correct"


def test_jacobians_shapes_and_transposes(tmp_path):
    # G = [x − 4y, xy, x + y] = [−7, 2, 3]; F = [2 G0 G1, G1 − G2] = [−28, −1] at (1, 2)
    dF_dG = [[2 * 2, 2 * -7, 0], [0, 1, -1]]
    dG_dxy = [[1, -4], [2, 1], [1, 1]]
    dF_dxy = (np.array(dF_dG) @ np.array(dG_dxy)).tolist()
    assert dF_dxy == [[-24, -30], [1, 0]]
    right = {"dF/d(x,y)": dF_dxy, "dF/dG": dF_dG, "dG/dx": [1, 2, 1], "G": [-7, 2, 3], "F": [-28, -1]}
    found = grade(tmp_path, COMPOSITION, right)
    assert {f.status for f in found.values()} == {"correct"}
    found = grade(tmp_path, COMPOSITION, {
        "dFout/d(x,y)": np.array(dF_dxy).T.tolist(),  # square: graded, and diagnosed
        "dF/dg": np.array(dF_dG).T.tolist(),  # 3×2 for 2×3: refused with the hint
        "dG/dx": [[1], [2], [1]], "G": [[-7, 2, 3]], "F": [[-28], [-1]]})
    assert found["dF/d(x,y)"].status == "incorrect" and tags(found["dF/d(x,y)"]) == ["transposed"]
    assert found["dF/dG"].status == "invalid" and found["dF/dG"].tags == ["transposed"]
    assert found["dF/dG"].message == "expected 2×3 (F's 2 entries by G's 3), got 3×2: transposed?"
    for q in ("dG/dx", "G", "F"):
        assert found[q].status == "correct", q
    found = grade(tmp_path, COMPOSITION, {"dF/d(x,y)": [1, 2, 3], "dG/dx": [[1, 2]]})
    assert found["dF/d(x,y)"].message == "expected 2×2 (F's 2 entries by the 2 inputs x, y), got 3"
    assert found["dG/dx"].message == "expected 3 (G's 3 entries), got 1×2"


def test_every_answer_to_every_quantity_grades_without_an_internal_error(tmp_path):
    """Numbers of every shape, for every quantity of three graph problems."""
    for spec in (SCALAR, NEURON, COMPOSITION):
        problem_path = write(tmp_path, spec)
        problem = load_problem(problem_path)
        solution = solve(problem)
        for i, variant in enumerate(_variants):
            answers = {name: variant(np.asarray(solution.entries[name].value, dtype=float))
                       for name in solution.entries}
            path = answers_file(tmp_path, problem_path, answers, f"a{i}.yaml")
            result = grade_file(load_answers(path), problem, solution)
            for f in result.findings:
                assert f.status in STATUSES


_variants = (
    lambda v: v.tolist(),
    lambda v: (v * 1.5 + 0.1).tolist(),
    lambda v: (-v).tolist(),
    lambda v: v.T.tolist(),
    lambda v: v.reshape(-1).tolist(),
    lambda v: np.zeros(v.shape).tolist(),
    lambda v: [[1, 2], [3, 4]],
    lambda v: "not a number",
    lambda v: [1e300, -1e300],
)


# ------------------------------------------------------------------ diagnosis

def test_sign_power_of_ten_step_up_and_learning_rate_on_the_scalar_graph(tmp_path):
    found = grade(tmp_path, SCALAR, {"L": -18.81, "dL/dw1": 57, "s": 0.33, "step1.w1": 1 + 0.01 * 5.7,
                                     "step1.w2": 2.3 - 0.02 * 5.7, "step1.w3": 5.7 - 0.05 * 3.3,
                                     "step1.L": (1 + 0.057 + 2.3 + 0.057) * (5.7 + 0.033)})
    assert tags(found["L"]) == ["sign-flipped"]
    assert tags(found["dL/dw1"]) == ["power-of-ten"] and "10^1" in found["dL/dw1"].message
    assert tags(found["s"]) == ["power-of-ten"] and "10^-1" in found["s"].message
    assert tags(found["step1.w1"]) == ["step-up"]
    assert tags(found["step1.L"]) == ["step-up"]
    for q, rate in (("step1.w2", "0.02"), ("step1.w3", "0.05")):
        assert tags(found[q]) == ["learning-rate"], q
        assert found[q].message.endswith(f"with a learning rate of {rate} instead of 1/100")


def test_no_factor_2_where_nothing_is_squared(tmp_path):
    found = grade(tmp_path, SCALAR, {"L": 2 * 18.81, "dL/dw1": 5.7 / 2})
    assert "factor-2" not in found["L"].tags and "factor-2" not in found["dL/dw1"].tags


def test_factor_2_on_a_squared_output(tmp_path):
    half = neuron(factor=1.0)  # ½(h − y)² for (h − y)²
    double = neuron(factor=4.0)
    found = grade(tmp_path, NEURON, {**key(), "dL/dw": list(half["dL/dw"]), "dL/db": double["dL/db"],
                                     "L": half["L"], "step1.w": list(neuron_step(0.5, factor=1.0)["step1.w"])})
    for q in ("dL/dw", "dL/db", "L"):
        assert tags(found[q]) == ["factor-2"], (q, found[q].message)
    # half the gradient or half the rate: one step cannot tell them apart, and both are named
    assert tags(found["step1.w"]) == ["factor-2", "learning-rate"]
    assert "as if L were scaled by 1/2" in found["dL/dw"].message
    assert "as if L were scaled by 2" in found["dL/db"].message


def test_factor_2_on_a_squared_inner_node(tmp_path):
    # s = (x − 3)², o = s·w: ds/dx = 2(x − 3) = −2 at x = 2; the student's (x − 3) = −1
    spec = ("bpcheck: 1\nid: inner\ngraph:\n  inputs: {x: 2, w: 5}\n  nodes:\n    s: (x - 3)**2\n"
            "    o: s * w\nquestions:\n  - {quantity: ds/dx}\n  - {quantity: do/dx}\n  - {quantity: do/dw}\n")
    found = grade(tmp_path, spec, {"ds/dx": -1, "do/dx": -5, "do/dw": 0.5})
    assert tags(found["ds/dx"]) == ["factor-2"] and "as if s were scaled by 1/2" in found["ds/dx"].message
    # o = s·w is no sum of squares: its derivatives are not offered the factor 2
    for q in ("do/dx", "do/dw"):
        assert tags(found[q]) == [], q
    # do/dx = do/ds · ds/dx = 5 · (their −1): it follows from their ds/dx (ECF, on by default)
    assert found["do/dx"].status == "correct" and found["do/dx"].tags == ["ecf"]
    assert found["do/dw"].status == "incorrect"


def test_squares_are_sums_of_squared_terms():
    def squared(text: str, **nodes) -> bool:
        known = {"h", "y", "u", "v", "w", "z", "a", "b", "s", "x", *nodes}
        trees = {name: parse_formula(t, known) for name, t in nodes.items()}
        return _squares(parse_formula(text, known), trees, [MAX_SQUARE_WALK])

    assert squared("(h - y)**2")
    assert squared("0.5 * sum((h - y)**2) / 3")
    assert squared("sum(u * u) + 2 * w**2")
    assert squared("-mean(e)", e="(a - b)**2")
    assert not squared("(h - y)**2 + w")
    assert not squared("sigmoid(z**2)")
    assert not squared("(h - y)**3")
    assert not squared("s * w", s="(x - 3)**2")
    assert not squared("u * v")


def test_mean_vs_sum_over_the_samples(tmp_path):
    mean = neuron(divisor=3.0)
    found = grade(tmp_path, NEURON, {**key(), "dL/dw": list(mean["dL/dw"]), "L": mean["L"],
                                     "step1.b": neuron_step(0.5, divisor=3.0)["step1.b"]})
    for q in ("dL/dw", "L"):
        assert tags(found[q]) == ["mean-vs-sum"], (q, found[q].message)
    assert tags(found["step1.b"]) == ["mean-vs-sum", "learning-rate"]  # a third of the gradient, or of the rate
    assert "averaged over the 3 samples" in found["L"].message
    summed = grade(tmp_path, NEURON.replace("train:", "reduce: mean\ntrain:"), {"dL/db": neuron()["dL/db"]})
    assert tags(summed["dL/db"]) == ["mean-vs-sum"] and "summed over" in summed["dL/db"].message


def test_step_up_and_learning_rate_on_the_neuron(tmp_path):
    up = neuron_step(-0.5)
    slow = neuron_step(0.1)
    found = grade(tmp_path, NEURON, {**key(), "step1.w": list(up["step1.w"]), "step1.L": up["step1.L"],
                                     "step1.b": slow["step1.b"]})
    assert tags(found["step1.w"]) == ["step-up"] and tags(found["step1.L"]) == ["step-up"]
    assert tags(found["step1.b"]) == ["learning-rate"]
    assert found["step1.b"].message.endswith("with a learning rate of 0.1 instead of 1/2")


def test_learning_rate_with_adam_reads_the_rate_off_the_sign(tmp_path):
    spec = NEURON.replace("train: {lr: 0.5, steps: 1}", "train: {lr: 0.5, steps: 1, optimizer: adam}")
    g = neuron()
    # Adam's first step moves by lr·g/(|g| + eps): by lr·sign(g), to 1e-8
    w = np.array([0.5, -0.3]) - 0.05 * np.sign(g["dL/dw"])
    found = grade(tmp_path, spec, {"step1.w": list(w)})
    assert tags(found["step1.w"]) == ["learning-rate"]
    assert "a learning rate of 0.05" in found["step1.w"].message


def test_network_only_mistakes_are_not_tried_on_graphs():
    applies = {m.tag for m in CATALOGUE if m.graphs is not None}
    assert applies == {"sign-flipped", "transposed", "factor-2", "mean-vs-sum", "step-up", "learning-rate",
                       "power-of-ten", "rounding-carried"}


def test_a_wrong_answer_that_matches_no_mistake_has_no_tag(tmp_path):
    found = grade(tmp_path, NEURON, {**key(), "dL/dw": [0.123, 0.456]})
    assert found["dL/dw"].status == "incorrect" and found["dL/dw"].tags == []


# ------------------------------------------------------------------ formulas' uses: ECF, rounding

def _needs_formulas(tmp_path, spec: str, *names: str):
    solution = solve(load_problem(write(tmp_path, spec, "check.yaml")))
    if any(solution.entries[n].formula is None for n in names):
        pytest.skip("graph quantities have no formulas yet")
    return solution


ECF = SCALAR + """\
ecf: true
questions:
  - {quantity: s}
  - {quantity: L}
  - {quantity: dL/ds}
  - {quantity: dL/dw3}
  - {quantity: dL/dw1}
"""


def test_error_carried_forward_through_node_and_chain_rule_formulas(tmp_path):
    _needs_formulas(tmp_path, ECF, "L", "dL/dw3", "dL/dw1")
    # s wrong (3.0 for 3.3); L = s·w3 and dL/dw3 = s follow from it; dL/ds wrong, dL/dw1 = dL/ds·ds/dw1
    found = grade(tmp_path, ECF, {"s": 3.0, "L": 3.0 * 5.7, "dL/dw3": 3.0, "dL/ds": 6.0, "dL/dw1": 6.0})
    assert found["s"].status == found["dL/ds"].status == "incorrect"
    for q, used in (("L", "s"), ("dL/dw3", "s"), ("dL/dw1", "dL/ds")):
        assert found[q].status == "correct" and found[q].tags[0] == "ecf", q
        assert found[q].message == f"correct given your {used} (error carried forward)"
        assert found[q].score == 1
    # an answer that follows from nothing the student got wrong earns nothing
    found = grade(tmp_path, ECF, {"s": 3.3, "L": 3.0 * 5.7})
    assert found["L"].status == "incorrect"


def test_error_carried_forward_needs_ecf_and_arithmetic(tmp_path):
    _needs_formulas(tmp_path, ECF, "L")
    found = grade(tmp_path, ECF.replace("ecf: true\n", "ecf: false\n"), {"s": 3.0, "L": 3.0 * 5.7})
    assert found["L"].status == "incorrect"
    found = grade(tmp_path, ECF, {"s": 0, "L": 0})
    assert found["L"].status == "incorrect" and "no credit is carried forward" in found["L"].message


ROUNDING = """\
bpcheck: 1
id: rounding
graph:
  inputs: {x: 0.37, y: 1.9}
  nodes:
    s: x * y
    t: s / 3
    L: t * 7.3
questions:
  - {quantity: L}
"""


def test_rounding_carried_through_a_node(tmp_path):
    _needs_formulas(tmp_path, ROUNDING, "L")
    truth = 0.37 * 1.9 / 3 * 7.3  # 1.7106…; t = 0.2343… rounded to 0.23 gives 1.679
    assert abs(1.68 - truth) > 5e-3 * truth
    found = grade(tmp_path, ROUNDING, {"L": "1.68"})
    assert found["L"].status == "incorrect" and tags(found["L"]) == ["rounding-carried"]
    assert "rounded to 2 decimals" in found["L"].message


# ------------------------------------------------------------------ the command line

def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_grades_a_graph_problem_in_json_and_human(tmp_path):
    problem = write(tmp_path, COMPOSITION)
    right = {"dF/d(x,y)": [[-24, -30], [1, 0]], "dF/dG": [[4, -14, 0], [0, 1, -1]], "dG/dx": [1, 2, 1],
             "G": [-7, 2, 3], "F": [-28, -1]}
    good = answers_file(tmp_path, problem, right, "good.answers.yaml")
    result = _cli("grade", good, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["results"][0]
    assert data["problem"] == "composition" and data["score"] == data["max_score"] == 5
    bad = answers_file(tmp_path, problem, {**right, "dF/d(x,y)": [[-24, 1], [-30, 0]],
                                           "dF/dG": [[4, 0], [-14, 1], [0, -1]], "G": [7, -2, -3]},
                       "bad.answers.yaml")
    result = _cli("grade", bad, "--format", "json")
    assert result.exit_code == 1, result.output
    q = {x["quantity"]: x for x in json.loads(result.stdout)["results"][0]["questions"]}
    assert q["dF/d(x,y)"]["status"] == "incorrect" and q["dF/d(x,y)"]["tags"] == ["transposed"]
    assert q["dF/dG"]["status"] == "invalid" and "F's 2 entries by G's 3" in q["dF/dG"]["message"]
    assert q["G"]["tags"] == ["sign-flipped"]
    assert q["F"]["status"] == "correct"
    human = _cli("grade", bad, "--format", "human", "--no-color")
    assert human.exit_code == 1
    assert "composition" in human.output and "2/5" in human.output
    flowing = " ".join(human.output.split())  # the report wraps its lines at the terminal's width
    assert "expected 2×3 (F's 2 entries by G's 3), got 3×2: transposed?" in flowing
    assert "Traceback" not in human.output and "internal error" not in human.output
    pinned = _cli("grade", bad, "--problem", problem, "--pass", "40%", "--format", "json")
    assert pinned.exit_code == 0


def test_cli_grades_a_graph_problem_with_data_and_training(tmp_path):
    problem = write(tmp_path, NEURON)
    answers = answers_file(tmp_path, problem, {**key(), "step1.w": list(neuron_step(-0.5)["step1.w"])})
    result = _cli("grade", answers, "--format", "json")
    assert result.exit_code == 1, result.output
    q = {x["quantity"]: x for x in json.loads(result.stdout)["results"][0]["questions"]}
    assert q["step1.w"]["tags"] == ["step-up"]
    assert sum(x["status"] == "correct" for x in q.values()) == len(q) - 1
