"""Formulas made to compute with subnormal floats (issue 14's review): `subnormals`, `formula_cost`.

A student's `sum(tanh(exp(-740 - z1 z1ᵀ)) @ exp(-740 - z1))` computes with
floats below 2.2e-308, which x86 computes with 10-40 times slower; one answers
file took 5.3 s CPU within the limits. Formulas are now evaluated with
subnormals flushed to zero, and exp's slow underflowing band is charged.

- Flushing holds inside an evaluation only (the thread's state is restored,
  an error raised inside included) and changes no value that never met a
  subnormal: hand-sized formulas are computed bit for bit as before.
- Verdicts are the same with and without flushing, in an answers file and in
  a write-up, which take the same path.
- The cost bookkeeping: the review's answer on a 1024-wide problem is refused
  unevaluated by its estimate; the largest allowed subnormal terms share the
  file's budget, which is spent and never overdrawn.

No timings here (project policy): bench/worst_formula.py prints them.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from backprop_check import equivalence, formula_cost, subnormals
from backprop_check import formulas as F
from backprop_check.classroom import Grader
from backprop_check.formula_products import Rules, Sized
from backprop_check.formula_syntax import parse
from backprop_check.solve import solve
from backprop_check.spec import load_problem
from test_formula_cost import COSTLY, ENV, _budgets, _fit, _never, _trees, _wide_spec, wide, wide_path  # noqa: F401

TINY = np.finfo(float).tiny
REVIEW = "sum(tanh(exp(-740 - z1 z1^T)) @ exp(-740 - z1))"
flushing = pytest.mark.skipif(not subnormals.available(), reason="no flush-to-zero switch on this platform")


def _subnormal(value) -> bool:
    a = np.abs(np.asarray(value, dtype=float))
    return bool(np.any((a > 0) & (a < TINY)))


@contextmanager
def _unflushed():
    """Formulas evaluated as numpy computes them, subnormals kept."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(F, "flushed", nullcontext)
        yield


@contextmanager
def _grading():
    """As while an answers file of a problem that allows flushing is graded."""
    policy = subnormals._Policy(None)
    policy.on = True
    token = subnormals._POLICY.set(policy)
    try:
        yield
    finally:
        subnormals._POLICY.reset(token)


# ------------------------------------------------------------- flushing, and only there

@flushing
def test_an_underflowing_formula_evaluates_to_zeros_and_the_thread_is_restored():
    env = {"z1": np.linspace(-1.5, 1.5, 16).reshape(16, 1)}
    assert _subnormal(np.exp(-740 - env["z1"] @ env["z1"].T))  # numpy itself: subnormal (exp(-740) ≈ 4e-322)
    node = parse("exp(-740 - z1 z1^T)", ["z1"])
    assert _subnormal(F.evaluate(node, env))  # not grading: formulas are IEEE arithmetic (the key's checks)
    with _grading():
        value = F.evaluate(node, env)
        assert value.shape == (16, 16) and not np.any(value)
        assert np.exp(-740.0) > 0  # outside the evaluation, subnormals are back
        with pytest.raises(F.FormulaError):
            F.evaluate(parse("exp(-740 - z1) + nowhere", ["z1", "nowhere"]), env)
        assert np.exp(-740.0) > 0  # restored after an error too


@flushing
def test_nested_flushing_keeps_flushing_until_the_outermost_block_ends():
    with _grading():
        with subnormals.flushed():
            with subnormals.flushed():
                assert np.exp(-740.0) == 0
            assert np.exp(-740.0) == 0
        assert np.exp(-740.0) > 0
    with subnormals.flushed():  # outside an answers file's grading: no flushing
        assert np.exp(-740.0) > 0


def _values(node, env):
    """Every subtree's value, evaluated alone (as `formula_cost`'s tests count them)."""
    out = []
    for sub in equivalence._subtrees(node):
        try:
            value = F.evaluate(sub, env, Rules(outer=True))
        except F.FormulaError:
            continue
        if not isinstance(value, Sized):
            out.append(value)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees())
def test_a_formula_that_never_meets_a_subnormal_is_computed_bit_for_bit_as_without_flushing(node):
    """Hand-sized values (1 to 6, ½, 2, 3; every operation): flushing changes nothing unless a
    subtree's own value, computed as numpy does, holds a subnormal."""
    with np.errstate(all="ignore"), _grading():
        try:
            flushed = F.evaluate(node, ENV, Rules(outer=True))
        except F.FormulaError:
            flushed = F.FormulaError
        with _unflushed():
            try:
                plain = F.evaluate(node, ENV, Rules(outer=True))
            except F.FormulaError:
                plain = F.FormulaError
            met = any(_subnormal(v) for v in _values(node, ENV))
    if met:
        return
    if plain is F.FormulaError or isinstance(plain, Sized):
        assert type(flushed) is type(plain) or flushed is plain, F.to_code(node)
        return
    assert np.shape(flushed) == np.shape(plain)
    assert np.array_equal(flushed, plain, equal_nan=True), F.to_code(node)


# ------------------------------------------------------------- verdicts

@pytest.fixture(scope="module")
def narrow(tmp_path_factory):
    """The 1-8-1 version of the wide problem: every formula below is within the limits."""
    path = tmp_path_factory.mktemp("narrow") / "narrow.yaml"
    path.write_text(_wide_spec(8))
    return path


ANSWERS = {  # quantity: (formula, verdict): a subnormal term added to a right answer leaves it right
    "z2": ("tanh(z1) + sum(exp(-740 - z1 z1^T) exp(-340 - z1))", "correct"),
    "z3": ("W2 z2 + b2 + exp(-720) * exp(-30)", "correct"),
    "loss": (REVIEW, "incorrect"),  # about 1e-640: 0, not the loss
    "dl/dz2": ("W2^T dl/dz3 + exp(-740 - z2)", "correct"),
}
WRITEUP = r"""# Homework 1

$$ z_2 = \tanh(z_1) + \sum \exp(-740 - z_1 z_1^T) \exp(-340 - z_1) $$

$$ z_3 = W_2 z_2 + b_2 + \exp(-720) \exp(-30) $$

$$ L = \sum \tanh(\exp(-740 - z_1 z_1^T)) \exp(-740 - z_1) $$
"""


def _statuses(problem: Path, path: Path) -> dict:
    result = Grader(problem=problem).grade(path)
    assert result.error is None
    return {f.quantity: f.status for f in result.findings if f.status != "missing"}


def test_subnormal_terms_give_the_verdicts_their_values_say_flushed_or_not(narrow, tmp_path, monkeypatch):
    answers = tmp_path / "s.answers.yaml"
    answers.write_text(f"bpcheck: 1\nproblem: {narrow}\nstudent: s\nanswers:\n" +
                       "".join(f"  {q}: \"{text}\"\n" for q, (text, _) in ANSWERS.items()))
    expected = {q: verdict for q, (_, verdict) in ANSWERS.items()}
    assert subnormals._safe(solve(load_problem(narrow), exact=False))  # so the file is graded flushed
    assert _statuses(narrow, answers) == expected
    with _unflushed():
        assert _statuses(narrow, answers) == expected


@pytest.mark.parametrize("suffix, document", [
    (".md", WRITEUP),
    (".tex", "\\documentclass{article}\n\\begin{document}\n" + WRITEUP.replace("# Homework 1", "")
     .replace("$$ ", "\\[ ").replace(" $$", " \\]") + "\\end{document}\n")])
def test_a_write_up_takes_the_same_path(narrow, tmp_path, monkeypatch, suffix, document):
    """The write-up's formulas are evaluated flushed, with the answers file's verdicts."""
    entered = []

    @contextmanager
    def recording():
        entered.append(subnormals._POLICY.get() is not None)  # inside the file's grading
        with subnormals.flushed():
            yield
    writeup = tmp_path / f"s{suffix}"
    writeup.write_text(document)
    monkeypatch.setattr(F, "flushed", recording)
    assert _statuses(narrow, writeup) == {"z2": "correct", "z3": "correct", "loss": "incorrect"}
    assert any(entered)  # (the key's own checks, solving it first, are not inside)


# ------------------------------------------------------------- what they cost

def test_the_review_answer_on_a_wide_problem_is_refused_unevaluated(wide, monkeypatch):
    """Its exp, tanh and subtraction each take 1024² entries: at least (exp + tanh + sub) × 1024²
    operations an evaluation, POINTS evaluations: past the per-check limit."""
    node = parse(REVIEW, equivalence.names_of(wide))
    floor = (formula_cost.WEIGHT["exp"] + formula_cost.WEIGHT["tanh"] + formula_cost.WEIGHT["-"]) * 1024 ** 2
    assert formula_cost.estimate(node, wide.env) >= floor
    assert floor * formula_cost.POINTS > formula_cost.MAX_CHECK_OPS
    monkeypatch.setattr(F, "evaluate", _never)
    v = equivalence.grade_text(wide, "loss", REVIEW, _fit)
    assert v.status == "invalid" and COSTLY.search(v.message), v.message


def test_functions_that_take_exp_cost_at_least_exp():
    """sigmoid and softmax take one exp an entry, and exp's results underflow slowly (-745 to -708)."""
    for fn in ("sigmoid", "softmax"):
        assert formula_cost.WEIGHT[fn] >= formula_cost.WEIGHT["exp"], fn
    node = parse("exp(a)", ["a"])
    n = 1000
    ops = formula_cost.estimate(node, {"a": np.zeros((n, 1))})
    assert ops == 2 * formula_cost.NODE + formula_cost.WEIGHT["exp"] * n  # a name, then exp of its n entries


def test_the_largest_allowed_subnormal_terms_share_the_file_budget(wide_path, wide, tmp_path, monkeypatch):
    """Each answer passes the per-check limit alone; each evaluation was charged before it ran;
    together they spend the file's budget, never overdrawn, and the rest are not checked."""
    names = equivalence.names_of(wide)
    heavy = "sum(exp(-710 - z1 @ ones(300).T))"  # every entry in exp's slowest band
    answers_of = {"z2": "tanh(z1)", "z3": "W2 @ z2 + b2", "y_hat": "z3", "loss": "sum((y_hat - y)**2)",
                  "dl/dy_hat": "2 * (y_hat - y)", "dl/dz3": "dl/dy_hat", "dl/dW2": "dl/dz3 @ z2.T",
                  "dl/db2": "dl/dz3"}
    for formula in answers_of.values():
        ops = formula_cost.estimate(parse(f"{formula} + {heavy}", names), wide.env)
        assert ops * formula_cost.POINTS <= formula_cost.MAX_CHECK_OPS
    answers = tmp_path / "subnormal.answers.yaml"
    answers.write_text(f"bpcheck: 1\nproblem: {wide_path}\nstudent: s\nanswers:\n" +
                       "".join(f"  {q}: \"{f} + {heavy}\"\n" for q, f in answers_of.items()))
    grader = Grader()
    grader.grade(answers)  # the key solved first
    real, evaluated = F.evaluate, []

    def charged(node, env, rules=None):  # each evaluation of an answer: within the budget it had left
        budget = formula_cost.current()
        if budget is not None and "ones(300)" in F.to_code(node):
            evaluated.append(formula_cost.estimate(node, env))
        return real(node, env, rules)
    monkeypatch.setattr(F, "evaluate", charged)
    with _budgets(monkeypatch) as opened:
        result = grader.grade(answers)
    assert opened[0].ops == 0  # spent, and never overdrawn
    assert evaluated and sum(evaluated) <= formula_cost.MAX_FILE_OPS
    messages = [f.message for f in result.findings if f.status == "invalid"]
    assert any(m.startswith("not checked: this answers file's formulas together would take more than")
               for m in messages), messages


# ------------------------------------------------------------- problems that live near the subnormals

GRAPHS = {  # (nodes, the answer: the node's own formula); the review's cases
    "a subnormal value, scaled up": ({"a": "exp(x)", "b": "sqrt(a)"}, ("b", "sqrt(a)")),
    "a subnormal value times exp(700)": ({"a": "exp(x)", "b": "a * exp(700)"}, ("b", "a * exp(700)")),
    "a subnormal step inside a node": ({"b": "exp(x) * exp(700)"}, ("b", "exp(x) * exp(700)")),
}


@flushing
@pytest.mark.parametrize("what", GRAPHS)
def test_a_problem_whose_values_need_subnormals_solves_and_grades_its_own_formulas_right(tmp_path, what):
    """Flushing would turn exp(-720) into 0: the key's checks never flush, and a problem whose
    values or sheet formulas change when flushed is graded unflushed."""
    nodes, (quantity, answer) = GRAPHS[what]
    spec = tmp_path / "g.yaml"
    body = "".join(f"    {n}: {f}\n" for n, f in nodes.items())
    spec.write_text(f"bpcheck: 1\nid: near-subnormal\ngraph:\n  inputs: {{x: -720}}\n  nodes:\n{body}"
                    f"questions:\n  - {{quantity: {quantity}, points: 1, form: expression}}\n")
    solution = solve(load_problem(spec))  # both engines and the formula checks: no disagreement
    assert float(np.asarray(solution.entries[quantity].value, dtype=float)) > 1e-200
    answers = tmp_path / "s.answers.yaml"
    answers.write_text(f"bpcheck: 1\nproblem: {spec}\nstudent: s\nanswers:\n  {quantity}: \"{answer}\"\n")
    assert _statuses(spec, answers) == {quantity: "correct"}
    assert not subnormals._safe(solve(load_problem(spec), exact=False))
