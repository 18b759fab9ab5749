"""The shipped graph problems (problems/graphs/) through the command line.

Each loads as a graph problem, says in its title where its numbers come from,
solves in every format with exit 0, and `--key` writes an answer key that
`bpcheck grade` scores at full marks. The values in the JSON are held to
numbers derived by hand (or given by the source, the CS231n notes).

They live in a folder of their own: the tests that walk problems/*.yaml
(test_cli, test_spec, test_formulas, …) are written for network problems.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from backprop_check.cli import SOLVE_FORMATS, main
from backprop_check.graphspec import GraphProblem
from backprop_check.solve import solve
from backprop_check.spec import load_problem

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = sorted((ROOT / "problems" / "graphs").glob("*.yaml"))
IDS = [p.stem for p in GRAPHS]
SOURCE = re.compile(r"FORMAT\.md|CS231n|chosen for this example")


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _json(runner, path) -> dict:
    result = runner.invoke(main, ["solve", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["quantities"]


def test_the_shipped_graph_problems():
    assert set(IDS) == {"scalar-graph-sgd", "two-path-graph", "neuron-node-by-node", "composition-jacobian",
                        "vector-graph", "cs231n-sigmoid-neuron"}


@pytest.mark.parametrize("path", GRAPHS, ids=IDS)
def test_loads_as_a_graph_with_a_sourced_title(path):
    problem = load_problem(path)
    assert isinstance(problem, GraphProblem)
    assert problem.id == path.stem
    assert SOURCE.search(problem.title), problem.title
    assert problem.questions
    assert all(q.form != "expression" for q in problem.questions)


@pytest.mark.parametrize("path", GRAPHS, ids=IDS)
def test_solves_with_both_engines_and_finite_differences(path):
    solution = solve(load_problem(path))
    assert solution.report.compared > 0
    scalar_output = np.ndim(solution.entries[solution.problem.graph.output].value) == 0
    assert solution.report.fd_checked > 0 or not scalar_output


@pytest.mark.parametrize("fmt", SOLVE_FORMATS)
@pytest.mark.parametrize("path", GRAPHS, ids=IDS)
def test_solves_in_every_format(runner, path, fmt):
    result = runner.invoke(main, ["solve", str(path), "--format", fmt])
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.output and result.stderr == ""
    assert result.stdout.strip()
    problem = load_problem(path)
    if fmt == "json":
        data = json.loads(result.stdout)
        assert set(data) == {"problem", "quantities"} and data["problem"] == problem.id
        assert problem.graph.output in data["quantities"]
        for q in problem.questions:
            assert q.quantity in data["quantities"], q.quantity
    elif fmt == "yaml":
        assert isinstance(yaml.safe_load(result.stdout), dict)
    elif fmt == "latex":
        assert "\\" in result.stdout


@pytest.mark.parametrize("path", GRAPHS, ids=IDS)
def test_key_grades_at_full_marks(runner, tmp_path, path):
    key = tmp_path / "key.answers.yaml"
    result = runner.invoke(main, ["solve", str(path), "--format", "json", "--key", str(key)])
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(key.read_text(encoding="utf-8"))
    problem = load_problem(path)
    assert set(data["answers"]) == {q.quantity for q in problem.questions}
    assert (key.parent / data["problem"]).resolve() == path.resolve()
    quantities = json.loads(result.stdout)["quantities"]
    for name, answer in data["answers"].items():
        np.testing.assert_allclose(np.array(answer, dtype=float), quantities[name], rtol=1e-12, atol=1e-15)
    graded = runner.invoke(main, ["grade", str(key), "--format", "json"])
    assert graded.exit_code == 0, graded.output
    (r,) = json.loads(graded.stdout)["results"]
    assert r["score"] == r["max_score"] > 0, [(q["quantity"], q["message"]) for q in r["questions"]]


@pytest.mark.parametrize("path", GRAPHS, ids=IDS)
def test_a_wrong_answer_loses_its_points(runner, tmp_path, path):
    key = tmp_path / "key.answers.yaml"
    assert runner.invoke(main, ["solve", str(path), "--key", str(key)]).exit_code == 0
    data = yaml.safe_load(key.read_text(encoding="utf-8"))
    first = next(iter(data["answers"]))
    data["answers"][first] = (np.array(data["answers"][first], dtype=float) * 2 + 1).tolist()
    wrong = tmp_path / "wrong.answers.yaml"
    wrong.write_text(yaml.safe_dump(data), encoding="utf-8")
    graded = runner.invoke(main, ["grade", str(wrong), "--format", "json"])
    assert graded.exit_code == 1, graded.output
    (r,) = json.loads(graded.stdout)["results"]
    assert r["score"] < r["max_score"]
    assert {q["quantity"]: q["status"] for q in r["questions"]}[first] != "correct"


# ------------------------------------------------------------------ the numbers, by hand

def _path(stem):
    return ROOT / "problems" / "graphs" / f"{stem}.yaml"


def test_scalar_graph_numbers(runner):
    q = _json(runner, _path("scalar-graph-sgd"))
    assert q["L"] == pytest.approx(3.3 * 5.7, rel=1e-15)
    assert q["dL/ds"] == q["dL/dw1"] == pytest.approx(5.7) and q["dL/dw3"] == pytest.approx(3.3)
    assert (q["step1.w1"], q["step1.w2"], q["step1.w3"]) == pytest.approx((0.943, 2.243, 5.667), rel=1e-15)
    assert q["step1.L"] == pytest.approx((0.943 + 2.243) * 5.667, rel=1e-15)


def test_two_path_numbers(runner):
    q = _json(runner, _path("two-path-graph"))
    # x, y, z = 1, 2, 3: a = 5, b = 10, w = 50; db/dx = 2a + 2xy = 14; dw/dx = 2a² + 4axy = 90
    assert (q["a"], q["b"], q["w"]) == (5, 10, 50)
    assert (q["db/da"], q["db/dx"], q["dw/da"], q["dw/dx"], q["dw/dy"]) == (2, 14, 20, 90, 20)
    assert q["dw/d(x,y)"] == [90, 20]


def test_composition_numbers(runner):
    q = _json(runner, _path("composition-jacobian"))
    # G = [−7, 2, 3], F = [−28, −1]; dF/dG = [[2G1, 2G0, 0], [0, 1, −1]], dG/d(x,y) = [[1, −4], [y, x], [1, 1]]
    assert q["G"] == [-7, 2, 3] and q["F"] == [-28, -1]
    assert q["dF/dG"] == [[4, -14, 0], [0, 1, -1]]
    assert q["dG/d(x,y)"] == [[1, -4], [2, 1], [1, 1]]
    assert q["dF/d(x,y)"] == (np.array(q["dF/dG"]) @ np.array(q["dG/d(x,y)"])).tolist() == [[-24, -30], [1, 0]]


def test_vector_graph_numbers(runner):
    q = _json(runner, _path("vector-graph"))
    W, x, b = np.array([[0.5, -1], [0.25, 0.75], [-0.5, 0.5]]), np.array([1.0, 2]), np.array([0.1, -0.2, 0.3])
    h = W @ x + b
    a = np.tanh(h)
    ds_dh = 2 * a * (1 - a * a)
    np.testing.assert_allclose(q["h"], h, rtol=1e-15)
    assert q["s"] == pytest.approx(float(a @ a), rel=1e-14)
    np.testing.assert_allclose(q["da/dh"], np.diag(1 - a * a), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(q["dh/dx"], W, rtol=1e-15)
    np.testing.assert_allclose(q["ds/dh"], ds_dh, rtol=1e-14)
    np.testing.assert_allclose(q["ds/dW"], np.outer(ds_dh, x), rtol=1e-14)
    np.testing.assert_allclose(q["ds/dx"], W.T @ ds_dh, rtol=1e-14)


def test_neuron_numbers(runner):
    q = _json(runner, _path("neuron-node-by-node"))
    w = np.array([0.1, 0.5, -0.25])
    xs, ys = np.array([[1.0, 2], [2, -1], [-1, 1]]), np.array([1.0, 0, 1])
    rows = np.hstack([np.ones((3, 1)), xs])  # bias first
    z = rows @ w
    h = 1 / (1 + np.exp(-z))
    L = np.mean((h - ys) ** 2)
    dz = 2 * (h - ys) * h * (1 - h)
    grad = rows.T @ dz / 3
    assert q["sample1.z"] == pytest.approx(z[0], rel=1e-15) and q["sample2.h"] == pytest.approx(h[1], rel=1e-14)
    assert q["sample2.dL/dz"] == pytest.approx(dz[1], rel=1e-13)
    assert q["L"] == pytest.approx(L, rel=1e-14)
    np.testing.assert_allclose(q["dL/dw"], grad, rtol=1e-13)
    np.testing.assert_allclose(q["step1.w"], w - 0.5 * grad, rtol=1e-13)


def test_cs231n_numbers(runner):
    q = _json(runner, _path("cs231n-sigmoid-neuron"))
    sig = 1 / (1 + math.exp(-1))
    local = sig * (1 - sig)  # 0.19661…
    assert q["dot"] == 1 and q["f"] == pytest.approx(0.7310585786300049, rel=1e-15)
    assert q["df/ddot"] == pytest.approx(local, rel=1e-15)
    np.testing.assert_allclose(q["df/dw"], [-local, -2 * local, local], rtol=1e-14)
    np.testing.assert_allclose(q["df/dx"], [2 * local, -3 * local], rtol=1e-14)
    # the notes' rounded figures: dw = [−0.2, −0.39, 0.2], dx = [0.39, −0.59]
    assert np.round(q["df/dw"], 1).tolist() == [-0.2, -0.4, 0.2] and round(q["df/dw"][1], 2) == -0.39
    assert np.round(q["df/dx"], 2).tolist() == [0.39, -0.59]


@pytest.mark.parametrize("path", GRAPHS, ids=IDS)
def test_questions_asked_as_formulas_are_keyed_at_full_marks(runner, tmp_path, path):
    """Every question whose quantity has a formula, asked with form: expression: the key gets them all right."""
    solution = solve(load_problem(path))
    text = path.read_text(encoding="utf-8")

    def ask(m):
        entry = solution.entries.get(solution.problem.canonical(m.group(2).strip('"')))
        return m.group(1) + (", form: expression}" if entry is not None and entry.formula is not None else "}")

    text = re.sub(r"(  - \{quantity: ([^,]+), points: [0-9.]+)\}", ask, text)
    spec = tmp_path / path.name
    spec.write_text(text, encoding="utf-8")
    asked = [q for q in load_problem(spec).questions if q.form == "expression"]
    assert asked, "no question of a shipped graph problem has a formula"
    key = tmp_path / "key.answers.yaml"
    result = runner.invoke(main, ["solve", str(spec), "--key", str(key)])
    assert result.exit_code == 0, result.stderr
    written = yaml.safe_load(key.read_text(encoding="utf-8"))["answers"]
    assert all(isinstance(written[q.quantity], str) for q in asked)
    graded = runner.invoke(main, ["grade", str(key), "--format", "json"])
    (r,) = json.loads(graded.stdout)["results"]
    assert graded.exit_code == 0 and r["score"] == r["max_score"], \
        [(q["quantity"], q["message"]) for q in r["questions"] if q["status"] != "correct"]
