"""Conventions a TA accepts in a formula answer, each on by default (issue 10).

- `orientation`: a vector may come out in either orientation (a formula for
  the column dl/dz1 that gives its row is right), and a formula may use a
  vector quantity's name in the orientation the student's own answer gave it
  (numerator layout: with dl/dŷ answered as the row 2(ŷ − y)ᵀ, the chain
  `dl/dy_hat dy_hat/dz3 W2 dz2/dz1` is read left to right with dl/dŷ a row).
- `outer_product`: juxtaposed vectors that fit only as an outer product
  (`dl/dz1 x`, both columns) are read as one (`formula_products`).
- `diagonal_jacobian`: an elementwise Jacobian (a diagonal matrix such as
  dz2/dz1) answered by its diagonal (`1 - tanh(z1)^2`) is right.
Each is reported in the verdict's message as a note and in its tags, so the
student learns the convention, and each is turned off by the spec key of its
name set to false (per question, or for the whole problem).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import formulas as F
from .quantities import group_of, parts

KEYS = ("orientation", "outer_product", "diagonal_jacobian")
TAG = {"orientation": "orientation", "outer_product": "outer-product", "diagonal_jacobian": "diagonal"}


@dataclass(frozen=True)
class Conventions:
    orientation: bool = True
    outer_product: bool = True
    diagonal_jacobian: bool = True
    rows: frozenset | None = None  # names the student's own answers wrote as rows; None: not known

    @classmethod
    def of(cls, problem, question=None, rows=None) -> "Conventions":
        """The problem's (and the question's) choices: `orientation: false` and so on."""
        def on(key: str) -> bool:
            value = getattr(question, key, None)
            if value is None:
                value = getattr(problem, "options", {}).get(key, True)
            return bool(value)
        return cls(*(on(k) for k in KEYS), rows=None if rows is None else frozenset(rows))


def is_column(value) -> bool:
    a = np.asarray(value)
    return a.ndim == 2 and a.shape[1] == 1 and a.shape[0] > 1


def student_rows(solution, answers: dict) -> frozenset:
    """The column quantities a student's own answers gave as rows (numbers 1×n or formulas).

    `answers`: canonical name -> `answers.Answer`. For grade.py to pass on as
    `Conventions(rows=…)`; formulas are read by `parse_and_value`.
    """
    from .equivalence import value_of  # late: equivalence builds on this module
    rows = set()
    for name, answer in answers.items():
        truth = solution.env.get(name)
        if truth is None or not is_column(truth):
            continue
        value = getattr(answer, "value", None)
        if value is None and getattr(answer, "formula", None):
            value = value_of(solution, answer.formula)
        if value is not None and np.shape(value) == np.shape(truth)[::-1]:
            rows.add(name)
    return frozenset(rows)


def readings(solution, node: F.Node, conv: Conventions) -> list:
    """The sets of names to bind as rows, in the order tried: none first.

    With the student's rows known, those of them the formula uses; else (not
    told) every column gradient dl/d… the formula uses: the numerator layout.
    """
    out = [frozenset()]
    if not conv.orientation:
        return out
    used = F.names_in(node)
    env = solution.env
    pool = conv.rows if conv.rows is not None else {n for n in used if n.startswith("dl/d")}
    rows = frozenset(n for n in used & set(pool) if n in env and is_column(env[n]))
    return out + [rows] if rows else out


def bind(env: dict, rows: frozenset) -> dict:
    """`env` with the names in `rows` bound as rows."""
    if not rows:
        return env
    return {**env, **{n: np.asarray(env[n]).T for n in rows if n in env}}


def rows_note(rows: frozenset, conv: Conventions) -> str:
    names = ", ".join(sorted(rows))
    why = "as your own answer wrote it" if conv.rows is not None else "numerator layout"
    return f"read with {names} as a row ({why}), the chain taken left to right"


@dataclass(frozen=True)
class Shaped:
    """How a formula's value is compared: `transform` applied at every point, with its note."""
    transform: object = None
    note: str = ""
    tag: str = ""
    refusal: str = ""  # a convention that is off: why the shape is wrong


def shape_of_answer(solution, quantity: str, got: np.ndarray, conv: Conventions) -> Shaped:
    """A row for a column, or the diagonal of an elementwise Jacobian: read (with a note) or refused."""
    truth = np.asarray(solution.env.get(quantity, solution.array(quantity)))
    g = np.asarray(got)
    if is_column(truth) and g.shape == truth.shape[::-1]:
        n = truth.shape[0]
        if not conv.orientation:
            return Shaped(refusal=f"expected {n}×1 (a column), your formula gives 1×{n} (a row): transposed? "
                                  "(this question takes the column only)", tag="transposed")
        return Shaped(lambda v: np.asarray(v).T, f"read as the column {quantity} (your formula gives its row)",
                      TAG["orientation"])
    if _diagonal(solution, quantity, truth) and g.size == truth.shape[0] and (g.ndim == 1 or 1 in g.shape):
        if not conv.diagonal_jacobian:
            return Shaped()  # the shape check says "the diagonal only?"
        return Shaped(lambda v: np.diagflat(np.asarray(v).ravel()),
                      f"read as the diagonal of {quantity} (an elementwise Jacobian is diagonal)",
                      TAG["diagonal_jacobian"])
    return Shaped()


def _diagonal(solution, quantity: str, truth: np.ndarray) -> bool:
    if group_of(parts(quantity)[2]) != "local" or truth.ndim != 2 or truth.shape[0] != truth.shape[1] \
            or truth.shape[0] < 2:
        return False
    formula = getattr(solution.entries.get(quantity), "formula", None)
    if formula is not None:
        return isinstance(formula, F.Call) and formula.fn == "diag"  # diagonal everywhere, not by chance
    return bool(np.all(truth == np.diag(np.diag(truth))))


def show(value, limit: int = 12) -> str:
    """Short numbers (4 significant figures), a column shown flat: [0.5, -1], [[1, 0], [0, 1]]."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim == 0:
        return _num(float(a))
    if a.ndim == 1:
        items = [_num(float(v)) for v in a[:limit]]
        return "[" + ", ".join(items) + (", …" if a.size > limit else "") + "]"
    rows = [show(r, limit) for r in a[:limit]]
    return "[" + ", ".join(rows) + (", …" if a.shape[0] > limit else "") + "]"


def _num(v: float) -> str:
    text = f"{v:.4g}"
    return "0" if text == "-0" else text
