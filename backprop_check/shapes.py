"""Fit a submitted array to the expected shape, under the conventions a TA accepts.

`fit_shape` either reshapes the answer to the quantity's shape or says why it
cannot (with a "transposed?" or "not summed over the batch?" hint and a tag).
The conventions of issue 10 (`conventions.Conventions`: `orientation`,
`diagonal_jacobian`) are applied here to numbers and reported as a note and a
tag, so that the student learns the convention. A flat list answers a vector
in either orientation without a note (FORMAT.md section 3). Conventions are
None for callers that want the plain check (the formula checker's own tests).
"""

from __future__ import annotations

import numpy as np

from . import graph_quantities as GQ
from . import optimizers
from .conventions import TAG, Conventions
from .quantities import parts

def dims(shape: tuple) -> str:
    return "×".join(map(str, shape)) if shape else "a scalar"


def fit_shape(expected: np.ndarray, submitted: np.ndarray, owner: str, samples: int | None = None,
              conventions: Conventions | None = None):
    """(submitted reshaped like expected, note or None, tag or None) or (None, message, tag).

    `samples`: None for a network; for a graph problem its number of samples
    (0 without data), which decides the "not summed over the samples?" hint.
    A note comes with a convention that was applied (its tag: `orientation`,
    `diagonal-jacobian`).
    """
    e, s = expected.shape, submitted.shape
    if s == e:
        return submitted, None, None
    if submitted.size == expected.size and (expected.ndim < 2 or 1 in e) and submitted.ndim <= 1:
        return submitted.reshape(e), None, None  # a flat list answers a vector either way
    if expected.ndim == 1 and submitted.ndim == 2 and 1 in s and submitted.size == expected.size:
        return _oriented(expected, submitted, owner, conventions)
    if expected.ndim == 0 and submitted.size == 1:
        return submitted.reshape(()), None, None
    if _diagonal_of(e, submitted):
        return _diagonal(e, submitted, owner, conventions)
    if len(s) == 2 and len(e) == 2 and s == e[::-1]:
        return None, f"expected {dims(e)} ({owner}), got {dims(s)}: transposed?", "transposed"
    if samples is None and expected.ndim == 1 and len(s) == 2 and expected.size in s:
        return None, (f"expected {dims(e)} ({owner}), got {dims(s)}: "
                      f"not summed over the batch?"), "bias-not-summed"
    if samples and samples > 1 and submitted.size == samples * max(expected.size, 1) and samples in s \
            and (expected.size in s or expected.ndim == 0):
        return None, (f"expected {dims(e)} ({owner}), got {dims(s)}: "
                      f"one value per sample? (not summed over the samples)"), None
    return None, f"expected {dims(e)} ({owner}), got {dims(s)}", None


def _oriented(expected: np.ndarray, submitted: np.ndarray, owner: str, c: Conventions | None):
    """A row or a column for a flat vector: its own orientation silently, the other by the convention."""
    fitted = submitted.reshape(expected.shape)
    if c is None or expected.size == 1:
        return fitted, None, None
    own, other = ("row", "column") if c.row_layout else ("column", "row")
    given = "row" if submitted.shape[0] == 1 else "column"
    if given == own:
        return fitted, None, None
    n = expected.size
    own_dims = dims((1, n) if own == "row" else (n, 1))
    if not c.orientation:
        return None, (f"expected a {own} {own_dims} ({owner}), got a {other} {dims(submitted.shape)}: "
                      f"transposed? (vectors are {own}s in this problem)"), "transposed"
    return fitted, (f"note: {c.name or 'this vector'} is a {own} ({own_dims}) here; you wrote it as a "
                    f"{other}, which is accepted (either orientation)"), TAG["orientation"]


def _diagonal_of(e: tuple, submitted: np.ndarray) -> bool:
    """n entries (flat, a row or a column) where an n×n matrix belongs, n > 1."""
    return (len(e) == 2 and e[0] == e[1] and e[0] > 1 and submitted.size == e[0]
            and (submitted.ndim == 1 or (submitted.ndim == 2 and 1 in submitted.shape)))


def _diagonal(e: tuple, submitted: np.ndarray, owner: str, c: Conventions | None):
    if c is not None and c.diagonal:
        return np.diag(submitted.reshape(-1)), (
            f"note: {c.name or 'this Jacobian'} is the {dims(e)} diagonal matrix of these entries "
            "(an elementwise Jacobian); its diagonal is accepted"), TAG["diagonal_jacobian"]
    return None, (f"expected {dims(e)} ({owner}), got {dims(submitted.shape)}: the diagonal only? "
                  "write the whole matrix, e.g. [[a, 0], [0, b]]"), None


def fit_units(ulp, fitted: np.ndarray, tag: str | None):
    """The answer's written units in the fitted shape (as `fit_shape` moved the entries)."""
    if ulp is None:
        return None
    unit = np.asarray(ulp, dtype=float)
    if tag == TAG["diagonal_jacobian"]:
        return np.diag(unit.reshape(-1))
    return unit.reshape(fitted.shape) if unit.size == fitted.size else None


# ------------------------------------------------------------------ what the shape is

def shape_owner(name: str, problem) -> str:
    """'the shape of W1' for dl/dW1 and step1.W1; values add their layout."""
    if getattr(problem, "graph", None) is not None:
        return _graph_shape_owner(name, problem)
    base = parts(name)[2]
    target = base[4:] if base.startswith("dl/d") else base
    layout = f" in the {problem.layout} layout" if target.startswith(("z", "y_hat")) else ""
    return f"the shape of {target}{layout}"


def _graph_shape_owner(name: str, problem) -> str:
    """Where a graph quantity's shape comes from (FORMAT.md section 5): 'the shape of w' for w,
    dL/dw, step1.w and step1.v_w; "F's 2 entries by G's 3" for the Jacobian dF/dG."""
    kind, _, top, bottoms = GQ.parse(name)
    shapes = problem.shapes

    def size(n: str) -> int:
        return int(np.prod(shapes.get(n, ()), dtype=int))

    if kind == "step":
        state = next((p for p in problem.train_params if top in optimizers.state_names(problem.optimizer, p)),
                     None)
        return f"the shape of {state or top}"
    if not bottoms:
        return f"the shape of {top}"
    scalar_top = shapes.get(top, ()) == ()
    if len(bottoms) > 1:
        inputs = ", ".join(bottoms)
        return (f"one entry per input {inputs}" if scalar_top
                else f"{top}'s {size(top)} entries by the {len(bottoms)} inputs {inputs}")
    bottom = bottoms[0]
    if scalar_top:
        return f"the shape of {bottom}"
    if shapes.get(bottom, ()) == ():
        return f"{top}'s {size(top)} entries"
    return f"{top}'s {size(top)} entries by {bottom}'s {size(bottom)}"
