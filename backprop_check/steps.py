"""Check the steps of a derivation in a write-up, and name the first wrong one.

A write-up answers a quantity with the last member of a chain
(`dl/dW2 = \\delta_2 Z_1^T = [...] [...]^T = [...]`); every member between is a
step. Each step is read as an answer is: a number or matrix (possibly typeset
matrices multiplied, `\\frac{1}{4}[…]`, written arithmetic) is compared with
the quantity's value at the tolerance for hand arithmetic; anything else is a
formula in the problem's names, checked by `equivalence` like a formula
answer. A step that cannot be read (a derivative of an expression, prose) is
not judged: it is listed as unchecked, never as wrong.

The feedback names the first step that is not equal to the quantity, quoting
it and its line, also when the final answer is right. By default that is
feedback only; the spec's `step_penalty` (a share of the points, problem or
question level) makes it cost points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import equivalence, formula_cost
from .answers import Answer, answer_from_text
from .tolerance import Tolerance

MAX_STEPS = 32  # per quantity
MAX_FORMULA_STEPS = formula_cost.MAX_FORMULA_STEPS  # per write-up: each is a whole formula check


@dataclass(frozen=True)
class StepVerdict:
    index: int  # 1-based among the steps
    line: int
    text: str
    status: str  # 'correct', 'incorrect' or 'unchecked'
    message: str


def check(solution, quantity: str, steps: list, fit, tol: Tolerance, conventions=None,
          budget: formula_cost.Budget | None = None) -> list[StepVerdict]:
    """Verdicts for the steps of the derivation of `quantity`, up to the first wrong one.

    Only the first wrong step is reported, so checking stops there; at most MAX_STEPS, and
    formula steps only while `budget` (the answers file's `formula_cost.Budget`: formula
    steps and operations) lasts; the rest are 'unchecked'. `conventions`: the question's
    (`conventions.Conventions`), as its answer is graded.
    """
    expected, budget = solution.array(quantity), budget or formula_cost.current() or formula_cost.Budget()
    verdicts = []
    for i, step in enumerate(steps[:MAX_STEPS], start=1):
        verdicts.append(_verdict(solution, quantity, i, step, expected, fit, tol, conventions, budget))
        if verdicts[-1].status == "incorrect":
            break
    return verdicts


def _verdict(solution, quantity, index, step, expected, fit, tol, conventions, budget) -> StepVerdict:
    answer = Answer(quantity, line=step.line)
    answer_from_text(answer, step.text, step=True)
    if answer.error:
        return StepVerdict(index, step.line, step.text, "unchecked", answer.error)
    if answer.value is not None:
        status, message = _numeric(expected, answer, fit, tol)
    elif not budget.step():
        status, message = "unchecked", f"not checked: a write-up's steps get {MAX_FORMULA_STEPS} formula checks"
    else:
        verdict = equivalence.grade_text(solution, quantity, answer.formula, fit, conventions)
        status = {"correct": "correct", "incorrect": "incorrect"}.get(verdict.status, "unchecked")
        message = verdict.message
    return StepVerdict(index, step.line, step.text, status, message)


def _numeric(expected: np.ndarray, answer: Answer, fit, tol: Tolerance) -> tuple[str, str]:
    submitted, problem, _ = fit(expected, np.asarray(answer.value, dtype=float))
    if submitted is None:
        return "incorrect", problem
    unit = answer.ulp
    if unit is not None and np.size(unit) == submitted.size and np.ndim(unit) == answer.value.ndim:
        unit = np.reshape(unit, submitted.shape) if np.shape(unit) == answer.value.shape else None
    ok = tol.accepts(expected, submitted, unit if np.shape(unit) == submitted.shape else None)
    if ok.all():
        return "correct", "correct"
    return "incorrect", f"{int((~ok).sum())} of {ok.size} entries differ from the value"


def apply(solution, questions, findings: list, steps: dict, fit_for, tol_for, option,
          conventions_for=lambda q: None) -> None:
    """Check the steps of every answered question of a write-up, in place on its finding.

    `steps`: quantity -> its `Step`s; `fit_for(q)`, `tol_for(q)`, `conventions_for(q)`:
    the question's shape fitter, tolerance and conventions; `option(q, key, default)`:
    its option over the problem's.
    """
    budget = formula_cost.current() or formula_cost.Budget()  # the file's, when grade_file opened one
    for q, finding in zip(questions, findings):
        chain = steps.get(q.quantity)
        if not chain or finding.status not in ("correct", "incorrect"):
            continue
        verdicts = check(solution, q.quantity, chain, fit_for(q), tol_for(q), conventions_for(q), budget)
        said = feedback(q.quantity, verdicts, finding.status == "correct")
        if said is None:
            continue
        finding.message += "; " + said
        finding.tags = finding.tags + ["wrong-step"]
        finding.score *= 1 - float(option(q, "step_penalty", 0))


def first_wrong(verdicts: list[StepVerdict]) -> StepVerdict | None:
    return next((v for v in verdicts if v.status == "incorrect"), None)


def feedback(quantity: str, verdicts: list[StepVerdict], final_correct: bool) -> str | None:
    """The sentence the finding gets about its steps, or None when there is nothing to say."""
    wrong = first_wrong(verdicts)
    if wrong is None:
        return None
    tail = "; the final answer is right" if final_correct else ""
    return (f"step {wrong.index} of {quantity} (line {wrong.line}), `{_quote(wrong.text)}`: "
            f"{wrong.message}{tail}")


def _quote(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
