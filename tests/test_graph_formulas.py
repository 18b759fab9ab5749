"""Formula answers on graph problems: D(F∘G) by the chain rule by name, the feed rule,
and the sheet's own formulas, with expectations worked out by hand for F∘G at (x, y) = (1, 2):
G = [x − 4y, xy, x + y], F = [2·G0·G1, G1 − G2], so dF/d(x,y) = [[2(G1 + G0·y), 2(−4G1 + G0·x)],
[y − 1, x − 1]] = [[−24, −30], [1, 0]]."""

from __future__ import annotations

from pathlib import Path

import pytest

from backprop_check import equivalence, grade as grade_module
from backprop_check.solve import solve
from backprop_check.spec import parse_problem

SPEC = """\
bpcheck: 1
id: composition
graph:
  inputs: {x: 1, y: 2, z: -1}
  nodes:
    G: [x - 4*y, x*y, x + y]
    F: ["2*G[0]*G[1]", "G[1] - G[2]"]
questions:
  - {quantity: "dG/d(x,y)"}
  - {quantity: "dF/d(x,y)", form: expression}
"""


@pytest.fixture(scope="module")
def solution():
    return solve(parse_problem(SPEC, "g.yaml"))


def fit(e, s):
    return grade_module.fit_shape(e, s, "the shape")


def test_the_stacked_jacobian_by_hand(solution):
    assert solution.entries["dF/d(x,y)"].value == [[-24.0, -30.0], [1.0, 0.0]]
    assert solution.entries["dG/d(x,y)"].value == [[1.0, -4.0], [2.0, 1.0], [1.0, 1.0]]


@pytest.mark.parametrize("formula, status", [
    ("dF/dG @ dG/d(x, y)", "correct"),             # the chain rule, naming the stacked Jacobian
    ("dF/dG @ dG/d(x,y)", "correct"),
    ("[[2*(x*y) + 2*(x - 4*y)*y, -8*(x*y) + 2*(x - 4*y)*x], [y - 1, x - 1]]", "correct"),  # directly
    ("[[2*(x*y) + 2*(x - 4*y)*y, -8*(x*y) + 2*(x - 4*y)*x], [y - 1, x + 1]]", "incorrect"),  # x + 1
    ("2 * dF/dG @ dG/d(x, y)", "incorrect"),
    ("[dF/dx, dF/dy].T", "invalid"),  # its own columns: read off the answer itself
])
def test_formula_answers_to_the_stacked_jacobian(solution, formula, status):
    verdict = equivalence.grade_text(solution, "dF/d(x,y)", formula, fit)
    assert verdict.status == status, verdict.message


def test_the_sheet_writes_the_stacked_jacobian_from_its_columns_formulas(solution):
    from backprop_check import formulas as F

    assert F.to_code(solution.entries["dF/d(x,y)"].formula) == "[dF/dG @ dG/dx, dF/dG @ dG/dy].T"


def test_a_copy_node_is_its_own_value():
    """c: a is a value of its own: do/dc = 1 (only o uses c), do/da = 2 (through c as well)."""
    s = solve(parse_problem("bpcheck: 1\nid: copy\ngraph:\n  inputs: {x: 0.5, y: -1.5}\n  nodes:\n"
                            "    a: x*y\n    c: a\n    o: c + a\n", "c.yaml"))
    assert s.entries["do/dc"].value == 1.0 and s.entries["do/da"].value == 2.0
    assert s.entries["do/dx"].value == pytest.approx(2 * -1.5)


def _solved(nodes: str, inputs: str):
    return solve(parse_problem(f"bpcheck: 1\nid: edge\ngraph:\n  inputs: {inputs}\n  nodes:\n{nodes}", "e.yaml"))


def test_the_softmax_of_one_number_is_one_and_has_no_slope():
    """L = softmax(x)·x: softmax of a scalar is 1 whatever x is, so dL/dx = 1 (by hand)."""
    s = _solved("    a: softmax(x)\n    L: a * x\n", "{x: 3}")
    assert s.entries["a"].value == 1.0 and s.entries["dL/da"].value == 3.0
    assert s.entries["dL/dx"].value == 1.0


def test_the_diagonal_taken_from_a_square_matrix():
    """X = diag(A) takes A's diagonal; L = sum(X*X): dL/dA = 2·A on the diagonal, 0 elsewhere."""
    s = _solved("    X: diag(A)\n    L: sum(X*X)\n", "{A: [[1, 2], [0.5, -0.3]]}")
    assert s.entries["X"].value == [1.0, -0.3]
    assert s.entries["dL/dA"].value == [[2.0, 0.0], [0.0, -0.6]]


def test_formulas_evaluated_for_all_samples_at_once_are_each_samples_own():
    """graph_sheet evaluates a per-sample formula of scalars (or a list of them) once for all
    samples: the sheet it keeps and the values are those of evaluating each sample's formula."""
    import sys

    import numpy as np

    from backprop_check import formulas as F
    from backprop_check import graph_formulas, graph_sheet
    from backprop_check import graph_quantities as Q
    from backprop_check.solve import solve
    from backprop_check.spec import load_problem, parse_problem

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_graph_passes import SAMPLES_SIDE_BY_SIDE

    root = Path(__file__).resolve().parent.parent / "problems" / "graphs"
    problems = [load_problem(p) for p in sorted(root.glob("*.yaml"))] + [parse_problem(SAMPLES_SIDE_BY_SIDE)]
    for problem in [p for p in problems if p.data]:
        env = solve(problem).env
        names = tuple(dict.fromkeys([*Q.quantities(problem), *(q.quantity for q in problem.questions)]))
        kept, values = graph_sheet.formulas(problem, env, names)
        assert len(graph_sheet._all_samples(problem, graph_formulas.sheet(problem, names)[1], env)) > 0
        for name, tree in graph_formulas.formulas(problem, names).items():
            try:
                alone = np.asarray(F.evaluate(tree, env), dtype=float)
            except (F.FormulaError, ValueError):
                assert name not in kept
                continue
            assert (name in kept) == (name in env and alone.size == np.size(env[name])), name
            if name in kept:
                assert alone.shape == values[name].shape
                assert np.allclose(alone, values[name], rtol=1e-14, atol=0, equal_nan=True), name
