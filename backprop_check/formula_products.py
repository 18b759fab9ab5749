"""The products students write loosely, for `formulas.evaluate`.

- `by_shape(a, b)`: juxtaposition (`2(ŷ − y)ᵀ`, `W2 h`, `δ x`): a scalar times
  anything is elementwise; otherwise a matrix product where the inner
  dimensions fit; otherwise elementwise where the shapes are equal (or one
  side has a single entry); otherwise, when the grader's `Rules` allow it and
  both sides are vectors, their outer product (a column times a row), noted
  in `rules.notes` so that the student learns the convention; else an error.
- `Sized`: `I` and `ones` written without a size; the product or sum they are
  in decides it (`I A` is A, `A 𝟙` sums A's rows, `𝟙ᵀ A` its columns, `A + I`
  adds the identity of A's size). Anywhere else their size cannot be told,
  and the formula is refused with a message that says to write eye(n), ones(n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


class ShapeError(ValueError):
    """Shapes that no reading of the product fits; the message says which."""


@dataclass
class Rules:
    """How products a student writes loosely may be read (equivalence's conventions)."""
    outer: bool = False  # two juxtaposed vectors that fit only as an outer product
    notes: list = field(default_factory=list)  # what was read by a convention, in words

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass(frozen=True)
class Sized:
    """I (kind "eye") or a vector of ones (kind "ones", a column unless `row`), times `scale`."""
    kind: str
    scale: float = 1.0
    row: bool = False

    def times(self, k) -> "Sized":
        return Sized(self.kind, self.scale * float(k), self.row)

    def transposed(self) -> "Sized":
        return Sized(self.kind, self.scale, not self.row if self.kind == "ones" else False)

    def like(self, shape: tuple) -> np.ndarray:
        """This value in `shape` (the shape an answer or a sum needs)."""
        if self.kind == "eye":
            if len(shape) != 2 or shape[0] != shape[1]:
                raise ShapeError(f"I cannot have the shape {_dims(shape)} (it is square)")
            return self.scale * np.eye(shape[0])
        return self.scale * np.ones(shape)


def dims(shape: tuple) -> str:
    return _dims(shape)


def _dims(shape: tuple) -> str:
    return "×".join(map(str, shape)) if shape else "a scalar"


def reading(a: tuple, b: tuple, outer: bool = False) -> str | None:
    """How `a b` (juxtaposed, of shapes a and b) is read: "scale", "matmul", "elementwise",
    "outer" (only when `outer`: the conventions allow it), or None when nothing fits.
    One rule for `by_shape` and for `formula_cost`, which infers the work before evaluating."""
    if not a or not b:
        return "scale"
    if a[-1] == (b[0] if len(b) == 1 else b[-2]):  # a @ b is defined (numpy's rules for 1-D and 2-D)
        return "matmul"
    if a == b or math.prod(a) == 1 or math.prod(b) == 1:
        return "elementwise"
    if outer and _vector(a) and _vector(b):
        return "outer"
    return None


def _vector(shape: tuple) -> bool:
    return len(shape) == 1 or (len(shape) == 2 and 1 in shape)


def by_shape(a, b, rules: Rules | None = None, shown=lambda: ("", "")):
    """The product by shape of a and b (see the module docstring).

    `shown()`: how they were written, rendered only for a note (rendering at every product
    would make a chain of juxtapositions quadratic)."""
    if isinstance(a, Sized) or isinstance(b, Sized):
        return sized_binary("@", a, b)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    how = reading(a.shape, b.shape, rules is not None and rules.outer)
    if how in ("scale", "elementwise"):
        return a * b
    if how == "matmul":
        return np.matmul(a, b)
    if how == "outer":
        left, right = shown()
        rules.note(f"read as an outer product: {left} times {right}, two vectors, is taken as a column "
                   "times a row" if left else "read as an outer product (a column times a row)")
        return np.outer(a.ravel(), b.ravel())
    raise ShapeError(f"a product of {_dims(a.shape)} and {_dims(b.shape)} fits neither as a matrix "
                     "product nor elementwise")


def sized_binary(op: str, a, b):
    """A binary operation with I or ones on one side (JUXT comes here as "@")."""
    if isinstance(a, Sized) and isinstance(b, Sized):
        raise ShapeError("the sizes of I and ones cannot be told here: write eye(n) or ones(n)")
    left = isinstance(a, Sized)
    s, other = (a, b) if left else (b, a)
    o = np.asarray(other, dtype=float)
    if o.ndim == 0:
        if op in ("*", "@") or (op == "/" and left):
            return s.times(o if op != "/" else 1.0 / o)
        raise ShapeError(f"the size of {_name(s)} cannot be told in a sum with a number: write eye(n) or ones(n)")
    if op == "@":
        return _sized_product(s, o, left)
    if op in ("*", "+", "-", "/"):
        full = s.like(o.shape)
        x, y = (full, o) if left else (o, full)
        return {"*": np.multiply, "+": np.add, "-": np.subtract, "/": np.divide}[op](x, y)
    raise ShapeError(f"the size of {_name(s)} cannot be told here: write eye(n) or ones(n)")


def _sized_product(s: Sized, o: np.ndarray, left: bool):
    if s.kind == "eye":
        return s.scale * o
    if o.ndim == 2 and left and s.row:  # 𝟙ᵀ A: A's column sums
        return s.scale * o.sum(axis=0, keepdims=True)
    if o.ndim == 2 and not left and not s.row:  # A 𝟙: A's row sums
        return s.scale * o.sum(axis=1, keepdims=True)
    if o.ndim == 1:
        return s.scale * o.sum()
    raise ShapeError("the size of ones cannot be told here: write ones(n)")


def _name(s: Sized) -> str:
    return "I" if s.kind == "eye" else "ones"
