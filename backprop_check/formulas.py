"""Matrix formulas as small immutable trees: build, render, evaluate.

Solve writes every quantity's formula the way a solution sheet does
(dl/dW1 = ((W2ᵀ dl/dz3) ⊙ f′(z1)) xᵀ); the grader parses students' formulas
into the same trees. A tree renders three ways: `text` (Unicode, for people),
`latex` (for solution sheets) and `code` (the answer syntax: numpy-like, `@`
for the matrix product, `*` elementwise, `.T` for the transpose). `evaluate`
computes a tree with numpy from bound names; solve uses it to check every
formula against the engines' values.

Students' juxtaposition (`2(ŷ − y)ᵀ`, `W2 h`) is one more operation, JUXT, the
product by shape: a scalar times anything is elementwise; otherwise a matrix
product where the inner dimensions fit; otherwise elementwise where the shapes
are equal; otherwise an error (or, when the grader's `Rules` allow it, the
outer product of two vectors, noted). `I` and `ones` without a size are
`eye()` / `ones()` calls whose size the product they are in decides (`Sized`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Mapping, Union

import numpy as np

from . import formula_products as P
from .subnormals import flushed


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Num:
    value: Fraction


@dataclass(frozen=True)
class Neg:
    arg: "Node"


@dataclass(frozen=True)
class Bin:
    op: str  # one of + - * / @ ** and JUXT
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple


@dataclass(frozen=True)
class T:
    arg: "Node"


@dataclass(frozen=True)
class Index:
    """`v[0]`, `A[1, 0]`: 0-based, constant positions (graph nodes)."""
    arg: "Node"
    at: tuple  # ints


@dataclass(frozen=True)
class Stack:
    """`[a, b, c]`: a vector of scalar trees, or a matrix of vector ones."""
    items: tuple


Node = Union[Name, Num, Neg, Bin, Call, T, Index, Stack]

JUXT = "juxt"  # juxtaposition, `a b`: the product by shape


def num(value) -> Num:
    return Num(Fraction(value))


def add(a: Node, b: Node) -> Node:
    return Bin("+", a, b)


def sub(a: Node, b: Node) -> Node:
    return Bin("-", a, b)


def mul(a: Node, b: Node) -> Node:
    """Elementwise (or scalar) product, dropping a factor of exactly 1."""
    if a == Num(Fraction(1)):
        return b
    if b == Num(Fraction(1)):
        return a
    if isinstance(a, Num) and isinstance(b, Bin) and b.op == "*" and isinstance(b.left, Num):
        return mul(Num(a.value * b.left.value), b.right)  # 1/2 * (2 * e) -> e
    return Bin("*", a, b)


def div(a: Node, b: Node) -> Node:
    return Bin("/", a, b)


def matmul(a: Node, b: Node) -> Node:
    return Bin("@", a, b)


def call(fn: str, *args: Node) -> Call:
    return Call(fn, tuple(args))


def substitute(node: Node, bindings: Mapping[str, Node]) -> Node:
    """Replace names by trees (used to expand a formula down to dl/dy_hat)."""
    if isinstance(node, Name):
        return bindings.get(node.id, node)
    if isinstance(node, Neg):
        return Neg(substitute(node.arg, bindings))
    if isinstance(node, T):
        return T(substitute(node.arg, bindings))
    if isinstance(node, Bin):
        return Bin(node.op, substitute(node.left, bindings), substitute(node.right, bindings))
    if isinstance(node, Call):
        return Call(node.fn, tuple(substitute(a, bindings) for a in node.args))
    if isinstance(node, Index):
        return Index(substitute(node.arg, bindings), node.at)
    if isinstance(node, Stack):
        return Stack(tuple(substitute(a, bindings) for a in node.items))
    return node


def children(node: Node) -> tuple:
    """The direct subtrees of a node."""
    if isinstance(node, (Neg, T, Index)):
        return (node.arg,)
    if isinstance(node, Stack):
        return node.items
    if isinstance(node, Bin):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()


def names_in(node: Node) -> set[str]:
    """Every name a formula refers to."""
    if isinstance(node, Name):
        return {node.id}
    out: set[str] = set()
    for child in children(node):
        out |= names_in(child)
    return out


# ---------------------------------------------------------------- rendering
# In formula_render (text, LaTeX and the answer syntax); it reads the classes above.

from .formula_render import decimal, to_code, to_latex, to_text  # noqa: E402,F401


# ---------------------------------------------------------------- evaluation

class FormulaError(ValueError):
    """A formula cannot be evaluated (unknown name, shapes that do not fit)."""


CONSTANTS = {"pi": math.pi, "e": math.e}


def evaluate(node: Node, env: Mapping[str, np.ndarray], rules=None):
    """Evaluate a formula with numpy, names bound by `env` (float64).

    `rules` (`formula_products.Rules`): how loosely written products may be
    read; the conventions used are noted in it. The result is an array, or a
    `Sized` I or ones when the formula is only that (the caller sizes it).
    Subnormal values are flushed to zero (`subnormals`): a formula made to
    produce them would otherwise run many times longer than its estimate.
    """
    with flushed():
        return _value(node, env, rules)


def _value(node: Node, env: Mapping[str, np.ndarray], rules):
    if isinstance(node, Name):
        if node.id in env:
            return np.asarray(env[node.id], dtype=float)
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise FormulaError(f"unknown name {node.id!r}")
    if isinstance(node, Num):
        return float(node.value)
    if isinstance(node, Neg):
        inner = _value(node.arg, env, rules)
        return inner.times(-1) if isinstance(inner, P.Sized) else -inner
    if isinstance(node, T):
        inner = _value(node.arg, env, rules)
        return inner.transposed() if isinstance(inner, P.Sized) else np.asarray(inner).T
    if isinstance(node, Call) and not node.args and node.fn in ("eye", "ones"):
        return P.Sized(node.fn)
    if isinstance(node, (Index, Stack, Call)):
        return _evaluate_structure(node, env, rules)
    a, b = _value(node.left, env, rules), _value(node.right, env, rules)
    try:
        with np.errstate(all="ignore"):
            if node.op == JUXT:
                return P.by_shape(a, b, rules, lambda: (to_text(node.left), to_text(node.right)))
            if isinstance(a, P.Sized) or isinstance(b, P.Sized):
                if node.op == "**":
                    raise P.ShapeError("a power of I or ones: write eye(n) or ones(n)")
                return P.sized_binary(node.op, a, b)
            return _BINARY[node.op](a, b)
    except P.ShapeError as exc:
        raise FormulaError(str(exc)) from None
    except ValueError as exc:
        raise FormulaError(f"shapes do not fit for {node.op!r}: {np.shape(a)} and {np.shape(b)}") from exc


def _evaluate_structure(node: Node, env, rules):
    """Indexing, lists and calls: their arguments must have a size (no bare I or ones)."""
    args = [_value(a, env, rules) for a in (node.items if isinstance(node, Stack) else
                                               (node.arg,) if isinstance(node, Index) else node.args)]
    if any(isinstance(a, P.Sized) for a in args):
        raise FormulaError("the size of I or ones cannot be told inside a function, a list or an index: "
                           "write eye(n) or ones(n)")
    if isinstance(node, Index):
        try:
            return np.asarray(args[0])[node.at]
        except IndexError as exc:
            raise FormulaError(f"{to_code(node)}: {exc}") from None
    if isinstance(node, Stack):
        try:
            return np.stack([np.asarray(a, dtype=float) for a in args])
        except ValueError as exc:
            raise FormulaError(f"the entries of {to_code(node)} have different shapes") from exc
    apply = _function(node)
    try:
        with np.errstate(all="ignore"):
            return apply(*args)
    except (ValueError, TypeError, IndexError, np.exceptions.AxisError) as exc:
        raise FormulaError(f"{node.fn}() cannot take {', '.join(str(np.shape(a)) for a in args)}: {exc}") from exc


def _function(node: Call) -> Callable:
    """A call's numpy value, from the operation registry (`ops`)."""
    from .engines.floats import Floats  # late: ops and the engines build on these trees
    from .ops import FUNCTIONS, STRUCTURAL

    if node.fn == "eye":
        return lambda n: np.eye(int(n))
    if node.fn == "ones":
        return lambda n: np.ones((int(n), 1))
    if node.fn in FUNCTIONS:
        f = FUNCTIONS[node.fn]
        params = tuple(a.value for a in node.args[f.arity:] if isinstance(a, Num))
        if len(params) != len(node.args) - f.arity:
            raise FormulaError(f"{node.fn}'s parameters must be numbers")
        filled = f.fill(params)
        return lambda *args: f.numpy(*args[:f.arity], *filled)
    if node.fn in STRUCTURAL:
        op = STRUCTURAL[node.fn]
        return lambda *args: op.forward(Floats(), *args)
    raise FormulaError(f"unknown function {node.fn!r}")


_BINARY = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
    "@": np.matmul, "**": np.power,
}
