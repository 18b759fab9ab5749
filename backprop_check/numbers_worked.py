"""Worked arithmetic on typeset numbers: `[…] [...]^T`, `\\frac{1}{4} […]`, as students write steps.

A step of a write-up (`\\delta_2 Z_1^T = [−0.2253 …] [0.458 …]^T = [−0.1029 …]`) is
often a product of matrices the student typed, each entry rounded. This module
evaluates such a tree (numbers, list literals, + − * / @, juxtaposition, `.T`,
whole powers; no names, no functions) and carries with each entry the error
its rounding allows: a number written with at least two significant figures
is off by up to one unit of its last decimal, and the units propagate to first
order (|a|·u_b + u_a·|b| for a product). The grader adds these units to its
tolerance, so the product of correctly rounded matrices is not marked wrong.

The tree comes from `formula_syntax.parse` (bounded in size); nothing is eval'd.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from . import formulas as F
from .tolerance import unit_of

MAX_POWER = 16


class NotWorked(ValueError):
    """The tree is not arithmetic of typeset numbers."""


_DECIMAL = re.compile(r"(?<![\w.])\d*\.\d+(?:[eE][-+]?\d+)?")


def worked(node: F.Node, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(value, rounding error) of a names-free arithmetic tree parsed from `source`, or NotWorked.

    Only numbers written as decimals in `source` carry a rounding error (one unit
    of their last decimal, as the last-digit rule grants); `1/4` or `3` are exact.
    """
    rounded = {Fraction(m.group()) for m in _DECIMAL.finditer(source)}
    return _worked(node, rounded)


def _worked(node: F.Node, rounded: set) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(node, F.Num):
        unit = _unit(abs(node.value)) if abs(node.value) in rounded else 0.0
        return np.array(float(node.value)), np.array(unit)
    if isinstance(node, F.Stack):
        pairs = [_worked(item, rounded) for item in node.items]
        shapes = {p[0].shape for p in pairs}
        if len(shapes) != 1 or len(next(iter(shapes))) > 1:
            raise NotWorked("rows of different lengths")
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
    if isinstance(node, F.Neg):
        value, unit = _worked(node.arg, rounded)
        return -value, unit
    if isinstance(node, F.T):
        value, unit = _worked(node.arg, rounded)
        return _column_t(value), _column_t(unit)
    if isinstance(node, F.Bin) and node.op in _RULES:
        return _RULES[node.op](_worked(node.left, rounded), _worked(node.right, rounded))
    raise NotWorked("not arithmetic of numbers")


def _column_t(a: np.ndarray) -> np.ndarray:
    """The transpose, a flat vector taken as a column (its transpose is a row)."""
    return a.reshape(1, -1) if a.ndim == 1 else a.T


def _unit(value: Fraction) -> float:
    """One unit of the last decimal of an exact decimal (`tolerance.unit_of`: 0 below two
    significant figures, for an integer, or for a value that is no terminating decimal)."""
    digits, scaled = 0, value
    while scaled.denominator != 1:
        if digits > 15:
            return 0.0  # not a terminating decimal (1/3): exact as written
        scaled *= 10
        digits += 1
    return unit_of(digits or None, float(value))


def _add(a, b):
    return a[0] + b[0], a[1] + b[1]


def _sub(a, b):
    return a[0] - b[0], a[1] + b[1]


def _mul(a, b):
    return a[0] * b[0], np.abs(a[0]) * b[1] + a[1] * np.abs(b[0])


def _div(a, b):
    if np.any(b[0] == 0):
        raise NotWorked("a division by zero")
    return a[0] / b[0], a[1] / np.abs(b[0]) + np.abs(a[0]) * b[1] / b[0] ** 2


def _matmul(a, b):
    return a[0] @ b[0], np.abs(a[0]) @ b[1] + a[1] @ np.abs(b[0])


def _power(a, b):
    k = b[0]
    if k.ndim or b[1] or k != int(k) or abs(k) > MAX_POWER or (k < 0 and np.any(a[0] == 0)):
        raise NotWorked("only whole powers up to 16 of numbers")
    k = int(k)
    return a[0] ** k, abs(k) * np.abs(a[0]) ** (k - 1) * a[1] if k else np.zeros_like(a[1])


def _juxtaposed(a, b):
    """The product by shape: numbers scale, fitting matrices multiply, equal shapes elementwise."""
    x, y = a[0], b[0]
    if x.ndim == 0 or y.ndim == 0:
        return _mul(a, b)
    if x.ndim == 2 and y.ndim == 2 and x.shape[1] == y.shape[0]:
        return _matmul(a, b)
    if x.shape == y.shape:
        return _mul(a, b)
    raise NotWorked(f"a product of {x.shape} and {y.shape} that fits no way")


def _checked(rule):
    def apply(a, b):
        try:
            with np.errstate(all="raise"):
                return rule(a, b)
        except (ValueError, FloatingPointError) as exc:
            raise NotWorked(str(exc)) from None
    return apply


_RULES = {op: _checked(rule) for op, rule in
          {"+": _add, "-": _sub, "*": _mul, "/": _div, "@": _matmul, "**": _power, F.JUXT: _juxtaposed}.items()}
