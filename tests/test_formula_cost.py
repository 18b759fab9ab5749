"""Bounded work per formula answer (issue 14): `formula_cost`.

- Hostile formulas within the parser's limits (78 × sum(erf(eye(1024))) held a
  worker for 21 s) are refused as invalid with the estimate in the message, and
  the evaluator is never called on them (it is made to fail if it is).
- A wrong formula substituted into later ones by error carried forward (a DAG
  whose tree grows exponentially) is never evaluated whole.
- Every reference formula of every shipped problem, the seeds' student formulas
  and write-ups pass the cost model with a wide margin, inside one file's budget.
- The estimate infers the shape numpy computes, says "fails" only where
  evaluation fails, bounds the entries computed and multiply-adds counted on
  the evaluated subtrees, and grows with the sizes.

No timings here (project policy): bench/worst_formula.py prints them.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_check import equivalence, formula_cost, formula_reading
from backprop_check import formulas as F
from backprop_check.classroom import Grader
from backprop_check.formula_products import Rules, Sized, reading
from backprop_check.formula_syntax import parse
from backprop_check.grade import fit_shape
from backprop_check.solve import solve
from backprop_check.spec import load_problem

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "problems").glob("*.yaml")) + sorted((ROOT / "problems" / "graphs").glob("*.yaml"))
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")  # random trees print long
COSTLY = re.compile(r"would take about [\d,.]+ million operations to evaluate; the limit is [\d,]+ million")


def _fit(e, s):
    return fit_shape(e, s, "the shape")


def _wide_spec(width: int = 1024) -> str:
    """One input, `width` tanh units, one output: eye(1024) is within the problem's sizes."""
    rng = np.random.default_rng(7)
    w1 = [[round(float(v), 3)] for v in rng.uniform(-1, 1, width)]
    b1 = [round(float(v), 3) for v in rng.uniform(-1, 1, width)]
    w2 = [[round(float(v), 3) for v in rng.uniform(-0.1, 0.1, width)]]
    return f"""bpcheck: 1
id: wide-{width}
title: one input, {width} tanh units, one output
network:
  layers:
    - {{weight: W1, bias: b1, activation: tanh}}
    - {{weight: W2, bias: b2, activation: identity}}
params:
  W1: {json.dumps(w1)}
  b1: {json.dumps(b1)}
  W2: {json.dumps(w2)}
  b2: [0.1]
data:
  layout: columns
  x: [0.5]
  y: [1]
loss: {{type: mse}}
questions:
""" + "".join(f"  - {{quantity: {q}, form: any}}\n" for q in ASKED)


ASKED = ("z1", "z2", "z3", "y_hat", "loss", "dl/dy_hat", "dl/dz3", "dl/dW2", "dl/db2", "dl/dz2", "dl/dz1",
         "dl/dW1", "dl/db1", "dz2/dz1")


@pytest.fixture(scope="module")
def wide_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("wide") / "wide.yaml"
    path.write_text(_wide_spec())
    return path


@pytest.fixture(scope="module")
def wide(wide_path):
    return solve(load_problem(wide_path))


def _never(*args, **kwargs):
    raise AssertionError("the formula was evaluated")


# ------------------------------------------------------------- hostile formulas are refused unevaluated

SUM_ERF = "sum(erf(eye(1024)))"
HOSTILE = {
    "the issue's answer: 78 × sum(erf(eye(1024)))": " + ".join([SUM_ERF] * 78),
    "one sum(erf(eye(1024)))": SUM_ERF,
    "juxtaposed": " ".join([SUM_ERF] * 78),
    "the same in LaTeX": "$" + " + ".join([r"\sum \operatorname{erf}(I_{1024})"] * 50) + "$",
    "an outer product under erf": "sum(erf(z1 z1^T))",
    "gelu' of an outer product": "sum(gelu'(W1 W1^T))",
    "a chain of 1024-square products": "sum(eye(1024) eye(1024) eye(1024))",
    "a float power of a 1024 square": "sum((W1 W1^T)**3) + sum((W1 W1^T)**3)",
    "softplus of sizes I decides": "sum(softplus(I + W1 W1^T))",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=list(HOSTILE))
def test_a_hostile_formula_is_invalid_with_its_cost_and_never_evaluated(wide, monkeypatch, text):
    assert len(text) <= 2000
    monkeypatch.setattr(F, "evaluate", _never)
    v = equivalence.grade_text(wide, "loss", text, _fit)
    assert v.status == "invalid"
    assert COSTLY.search(v.message), v.message
    assert v.message.endswith("simplify it")


def test_the_issue_answers_file_grades_invalid_without_evaluating(wide_path, tmp_path, monkeypatch):
    """Graded end to end (grade_file's budget, value_of, carry): the formula is never evaluated."""
    answers = tmp_path / "a.answers.yaml"
    formula = " + ".join([SUM_ERF] * 78)
    answers.write_text(f"bpcheck: 1\nproblem: {wide_path}\nstudent: s\nanswers:\n  loss: \"{formula}\"\n")
    grader = Grader()
    grader.grade(answers)  # the key solved first, with the real evaluator
    monkeypatch.setattr(F, "evaluate", _never)
    result = grader.grade(answers)
    found = {f.quantity: f for f in result.findings}
    assert found["loss"].status == "invalid" and COSTLY.search(found["loss"].message)


def test_the_estimate_states_its_figures(wide):
    """The message's figures are the estimate's: POINTS evaluations, and the stated limit."""
    node = parse(SUM_ERF, formula_reading.names_of(wide))
    ops = formula_cost.estimate(node, wide.env) * formula_cost.POINTS
    assert ops > formula_cost.MAX_CHECK_OPS
    with pytest.raises(formula_cost.TooCostly) as info:
        formula_cost.refuse(node, wide.env)
    assert f"about {ops / 1e6:,.0f} million" in str(info.value)
    assert f"the limit is {formula_cost.MAX_CHECK_OPS / 1e6:,.0f} million" in str(info.value)


# ------------------------------------------------------------- the file's budget

@contextmanager
def _budgets(monkeypatch):
    """Every Budget that grade_file opens, to read what was spent."""
    opened, real = [], formula_cost.opened

    @contextmanager
    def recording(budget=None):
        with real(budget) as b:
            opened.append(b)
            yield b
    monkeypatch.setattr(formula_cost, "opened", recording)
    yield opened


def test_costly_but_allowed_formulas_share_the_file_budget(wide_path, tmp_path, monkeypatch):
    """Each formula passes alone; together they pass the file's budget, and the rest are not checked."""
    heavy = "sum(tanh(W1 W1^T))"  # a 1024 square under tanh: allowed alone
    node = parse(heavy, ["W1"])
    env = {"W1": np.zeros((1024, 1))}
    assert formula_cost.estimate(node, env) * formula_cost.POINTS <= formula_cost.MAX_CHECK_OPS
    answers_of = {"z1": "W1 @ x + b1", "z2": "tanh(z1)", "z3": "W2 @ z2 + b2", "y_hat": "z3",
                  "loss": "sum((y_hat - y)**2)", "dl/dy_hat": "2 * (y_hat - y)", "dl/dz3": "dl/dy_hat",
                  "dl/dW2": "dl/dz3 @ z2.T", "dl/db2": "dl/dz3"}
    lines = "".join(f"  {q}: \"{f} + {heavy}\"\n" for q, f in answers_of.items())
    answers = tmp_path / "heavy.answers.yaml"
    answers.write_text(f"bpcheck: 1\nproblem: {wide_path}\nstudent: s\nanswers:\n{lines}")
    with _budgets(monkeypatch) as opened:
        result = Grader().grade(answers)
    # the first budget opened is the file's (carry_sheet opens its own for what it reads once per solution)
    assert opened[0].ops == 0  # spent, and never overdrawn
    messages = [f.message for f in result.findings if f.status == "invalid"]
    assert any(m.startswith("not checked: this answers file's formulas together would take more than")
               for m in messages), messages


def test_the_budget_bounds_what_is_charged(monkeypatch):
    budget = formula_cost.Budget(ops=100)
    budget.spend(60)
    with pytest.raises(formula_cost.TooCostly):
        budget.spend(41)
    assert budget.ops == 0
    monkeypatch.setattr(formula_cost, "MAX_FILE_OPS", 5)
    assert formula_cost.Budget().ops == 5
    steps = formula_cost.Budget(steps=2)
    assert [steps.step() for _ in range(3)] == [True, True, False]


def test_nothing_is_charged_outside_a_file():
    formula_cost.spend(10 ** 18)  # no budget open: nothing to run out of
    assert formula_cost.current() is None


# ------------------------------------------------------------- error carried forward cannot grow a tree

FORMULAS = ROOT / "fixtures" / "problems" / "dsga1008-2022-p1-formulas.yaml"  # 5 relu, every question a formula


def test_formulas_substituted_into_formulas_are_never_evaluated_whole(tmp_path, monkeypatch):
    """Each wrong formula uses the one before 40 times: carry substitutes them into each other, a
    tree of 40^4 copies of z1's formula. No evaluation may be larger than the per-check limit."""
    many = lambda name: " + ".join([name] * 40)  # noqa: E731
    answers = tmp_path / "chain.answers.yaml"
    answers.write_text(f"""bpcheck: 1
problem: {FORMULAS}
student: s
answers:
  z1: "W1 @ x + 2 * b1"
  z2: "5 * relu({many('z1')})"
  z3: "W2 @ ({many('z2')}) + b2"
  y_hat: "{many('z3')}"
  loss: "sum(({many('y_hat')} - y) ** 2)"
  dl/dW2: "2 * ({many('y_hat')} - y) @ z2.T"
""")
    grader = Grader()
    grader.grade(answers)  # the key solved first
    real, depth = F.evaluate, [0]

    def bounded(node, env, rules=None):
        if depth[0] == 0:  # a whole formula: its estimate is within the per-check limit
            assert formula_cost.estimate(node, env) * formula_cost.POINTS <= formula_cost.MAX_CHECK_OPS
        depth[0] += 1
        try:
            return real(node, env, rules)
        finally:
            depth[0] -= 1
    monkeypatch.setattr(F, "evaluate", bounded)
    result = grader.grade(answers)
    assert result.error is None
    assert {f.quantity: f.status for f in result.findings}["z2"] == "incorrect"


def test_a_tree_deeper_than_evaluation_recurses_is_refused():
    node = F.Name("x")
    for _ in range(formula_cost.MAX_DEPTH):
        node = F.Neg(node)
    with pytest.raises(formula_cost.TooCostly, match="nested more than"):
        formula_cost.estimate(node, {"x": np.zeros(3)})


def test_a_shared_subtree_costs_as_often_as_it_is_used():
    x = F.call("tanh", F.Name("x"))
    twice = F.add(x, x)
    env = {"x": np.zeros((100, 100))}
    one = formula_cost.estimate(x, env)
    assert formula_cost.estimate(twice, env) == 2 * one + formula_cost.NODE + formula_cost.WEIGHT["+"] * 10_000
    chain = x
    for _ in range(60):  # 2^60 copies: counted without walking them
        chain = F.add(chain, chain)
    assert formula_cost.estimate(chain, env) > 2 ** 60 * one


# ------------------------------------------------------------- legitimate formulas pass comfortably

@pytest.fixture(scope="module")
def shipped():
    return [(path, solve(load_problem(path))) for path in SHIPPED]


def test_every_reference_formula_of_every_shipped_problem_passes_comfortably(shipped):
    checked = 0
    for path, solution in shipped:
        for name, entry in solution.entries.items():
            if entry.formula is None:
                continue
            formula_cost.refuse(entry.formula, solution.env)
            ops = formula_cost.estimate(entry.formula, solution.env) * formula_cost.POINTS
            assert ops <= formula_cost.MAX_CHECK_OPS / 30, (path.name, name, ops)
            checked += 1
    assert checked > 200


def test_every_reference_formula_graded_as_an_answer_fits_one_file_budget(shipped):
    """All of a problem's reference formulas, checked as one file's answers, within a fifth of its budget."""
    for path, solution in shipped:
        with formula_cost.opened() as budget:
            for name, entry in solution.entries.items():
                if entry.formula is None or name.startswith("sample"):
                    continue
                v = equivalence.grade_text(solution, name, F.to_code(entry.formula), _fit)
                assert not COSTLY.search(v.message) and "not checked" not in v.message, (path.name, name, v.message)
        assert formula_cost.MAX_FILE_OPS - budget.ops <= formula_cost.MAX_FILE_OPS / 5, path.name


FIXTURES = ROOT / "fixtures"
SEEDS = [(p, None) for p in sorted((FIXTURES / "seeds").glob("*.answers.yaml"))] + [
    (FIXTURES / "writeups" / "seed-000.md", FIXTURES / "problems" / "dsga1008-2022-p1-formulas.yaml"),
    (FIXTURES / "writeups" / "seed-001.md", FIXTURES / "problems" / "dsga1008-2020-p1-formulas.yaml"),
    (FIXTURES / "writeups" / "seed-003.md", ROOT / "problems" / "assignment1-ex2.yaml")]


@pytest.mark.parametrize("path, problem", SEEDS, ids=lambda p: getattr(p, "name", ""))
def test_the_seeds_formulas_and_write_ups_pass_within_a_fifth_of_the_budget(path, problem, monkeypatch):
    with _budgets(monkeypatch) as opened:
        result = Grader(problem=problem).grade(path)
    assert result.error is None
    for f in result.findings:
        assert not COSTLY.search(f.message) and "not checked: this answers file" not in f.message, f.message
    assert formula_cost.MAX_FILE_OPS - opened[0].ops <= formula_cost.MAX_FILE_OPS / 5


def test_the_wide_problem_reference_formulas_pass_its_million_entry_jacobian_included(wide):
    """dz2/dz1 of 1024 units is a 1024×1024 diagonal: its formula is the only way to answer it
    (an answers file holds at most 100,000 numbers), so it must pass, with room to spare."""
    with formula_cost.opened() as budget:
        for name, entry in wide.entries.items():
            if entry.formula is None:
                continue
            v = equivalence.grade_text(wide, name, F.to_code(entry.formula), _fit)
            assert v.status == "correct", (name, v.message)
    assert formula_cost.MAX_FILE_OPS - budget.ops <= formula_cost.MAX_FILE_OPS / 2


# ------------------------------------------------------------- the estimate against numpy

ENV = {"a": np.arange(1.0, 4.0).reshape(3, 1), "b": np.arange(1.0, 4.0).reshape(1, 3), "c": np.eye(3) + 0.5,
       "d": np.arange(1.0, 4.0), "r": np.arange(1.0, 7.0).reshape(2, 3), "s": np.array(0.7)}
LEAVES = [F.Name(n) for n in ENV] + [F.num(2), F.num(Fraction(1, 2)), F.call("eye", F.num(3)),
                                     F.call("ones", F.num(3)), F.Call("eye", ()), F.Call("ones", ())]
UNARY = ["tanh", "sigmoid", "exp", "relu", "abs", "erf", "sum", "mean", "diag", "softmax", "step"]
OPS = ["+", "-", "*", "/", "@", F.JUXT, "**"]


def _trees():
    def extend(children):
        return st.one_of(
            st.builds(F.Neg, children), st.builds(F.T, children),
            st.builds(lambda fn, a: F.call(fn, a), st.sampled_from(UNARY), children),
            st.builds(lambda fn, a, axis: F.call(fn, a, F.num(axis)), st.sampled_from(["sum", "mean", "softmax"]),
                      children, st.sampled_from([0, 1])),
            st.builds(lambda a, p: F.Bin("**", a, F.num(p)), children, st.sampled_from([2, 3])),
            st.builds(lambda op, a, b: F.Bin(op, a, b), st.sampled_from(OPS[:-1]), children, children),
            st.builds(lambda a: F.Index(a, (0,)), children))
    return st.recursive(st.sampled_from(LEAVES), extend, max_leaves=8)


def _counted(node: F.Node, env) -> int:
    """Entries computed by every subtree and multiply-adds of every matrix product, counted on numpy's results."""
    total = 0
    for sub in equivalence._subtrees(node):
        value = F.evaluate(sub, env, Rules(outer=True))
        if isinstance(value, Sized):
            continue
        total += int(np.size(value))
        if isinstance(sub, F.Bin) and sub.op in ("@", F.JUXT):
            a, b = (F.evaluate(c, env, Rules(outer=True)) for c in (sub.left, sub.right))
            if not isinstance(a, Sized) and not isinstance(b, Sized) and \
                    (sub.op == "@" or reading(np.shape(a), np.shape(b), True) == "matmul"):
                total += int(np.size(a)) * (np.shape(b)[-1] if np.ndim(b) > 1 else 1)
    return total


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees())
def test_the_estimate_follows_numpy(node):
    """Where evaluation succeeds, the inferred shape is numpy's and the estimate bounds the counted
    operations; where the walk says evaluation fails, it does (else its ancestors would go uncounted)."""
    try:
        with np.errstate(all="ignore"):
            value = F.evaluate(node, ENV, Rules(outer=True))
    except F.FormulaError:
        value = None
    shape, ops, _ = formula_cost.walk(node, ENV)
    if shape is None:
        assert value is None, F.to_code(node)
        return
    if value is None:
        return  # a failure the walk does not foresee: counted as if it went on (an upper bound)
    if isinstance(value, Sized):
        assert isinstance(shape, formula_cost.Bare)
        return
    assert shape == np.shape(value), F.to_code(node)
    with np.errstate(all="ignore"):
        assert ops >= _counted(node, ENV), F.to_code(node)


@pytest.mark.parametrize("text, shapes, matmul, entries", [
    # (formula, shapes, multiply-adds, entries computed by each operation) from the rule
    # "a·b·c for a product, n for n entries", independently of the weights
    ("W @ x", {"W": (3, 2), "x": (2, 1)}, 6, 3),
    ("W @ x + b", {"W": (3, 2), "x": (2, 1), "b": (3, 1)}, 6, 6),
    ("tanh(A B)", {"A": (4, 5), "B": (5, 6)}, 120, 48),
    ("x x^T", {"x": (7, 1)}, 7 * 7, 49),
    ("sum(eye(5))", {}, 0, 25 + 1),
])
def test_a_few_formulas_against_counted_operations(text, shapes, matmul, entries):
    node = parse(text, shapes)
    env = {n: np.zeros(s) for n, s in shapes.items()}
    ops = formula_cost.estimate(node, env)
    nodes = len(equivalence._subtrees(node))
    assert ops >= formula_cost.NODE * nodes + formula_cost.MATMUL * matmul + entries
    heaviest = max([*formula_cost.WEIGHT.values(), formula_cost.COPY])
    assert ops <= formula_cost.NODE * nodes + formula_cost.MATMUL * matmul + heaviest * entries


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.sampled_from(
    ["sum(erf(eye(n)))", "tanh(A A^T)", "diag(v) A", "sum(A) + mean(v)", "sigmoid'(A A^T) @ A", "A^T (v * v)"]))
def test_the_estimate_grows_with_the_sizes(n, m, text):
    small, large = sorted((n, m))

    def cost(k):
        env = {"A": np.broadcast_to(0.0, (k, 3)), "v": np.broadcast_to(0.0, (k, 1)), "n": k}
        node = parse(text.replace("eye(n)", f"eye({k})"), ["A", "v"])
        return formula_cost.estimate(node, env)
    assert cost(small) <= cost(large)
    if text == "sum(erf(eye(n)))":
        assert cost(large) >= formula_cost.WEIGHT["erf"] * large * large


def test_a_check_evaluates_at_the_problem_values_and_every_world():
    from backprop_check.equivalence_worlds import WORLDS
    assert formula_cost.POINTS == 1 + WORLDS
