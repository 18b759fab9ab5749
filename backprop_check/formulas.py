"""Matrix formulas as small immutable trees: build, render, evaluate.

Solve writes every quantity's formula the way a solution sheet does
(dl/dW1 = ((W2ᵀ dl/dz3) ⊙ f′(z1)) xᵀ); the grader parses students' formulas
into the same trees. A tree renders three ways: `text` (Unicode, for people),
`latex` (for solution sheets) and `code` (the answer syntax: numpy-like, `@`
for the matrix product, `*` elementwise, `.T` for the transpose). `evaluate`
computes a tree with numpy from bound names; solve uses it to check every
formula against the engines' values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Mapping, Union

import numpy as np


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
    op: str  # one of + - * / @ **
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

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "**": 4}
_ATOM = 9


def _prec(node: Node) -> int:
    if isinstance(node, Bin):
        return _PREC[node.op]
    if isinstance(node, Neg):
        return 3
    if isinstance(node, Num) and node.value < 0:
        return 2  # "-3" needs brackets as a factor
    if isinstance(node, Num) and node.value.denominator != 1 and decimal(node.value) is None:
        return 2  # so does "1/3"
    return _ATOM


MAX_WHOLE_BITS = 3000  # about 900 digits before the point


def decimal(value: Fraction, max_digits: int = 20) -> str | None:
    """The exact decimal of a fraction (0.0001), or None when 1/3-like or longer than max_digits."""
    if value.numerator.bit_length() > value.denominator.bit_length() + MAX_WHOLE_BITS:
        return None  # a whole part of thousands of digits: past Python's int-to-str limit
    d, digits = value.denominator, 0
    while d % 10 == 0 or d % 2 == 0 or d % 5 == 0:
        if d % 10 == 0:
            d //= 10
        elif d % 2 == 0:
            d //= 2
        else:
            d //= 5
        digits += 1
    if d != 1 or digits > max_digits:
        return None
    text = f"{value.numerator * 10 ** digits // value.denominator}"
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-").rjust(digits + 1, "0")
    whole, frac = text[:-digits] if digits else text, text[-digits:] if digits else ""
    return sign + whole + ("." + frac.rstrip("0") if frac.rstrip("0") else "")


class _Style:
    """How one output syntax spells each piece of a formula."""

    def name(self, ident: str) -> str:
        return ident

    def number(self, value: Fraction) -> str:
        # the answer syntax reads decimals exactly; 1/3 stays a quotient
        return decimal(value) or str(value)

    def paren(self, s: str) -> str:
        return f"({s})"

    def binary(self, op: str, a: str, b: str) -> str:
        return f"{a} {'*' if op == '·' else op} {b}"

    def transpose(self, s: str) -> str:
        return f"{s}.T"

    def call(self, fn: str, args: list[str]) -> str:
        return f"{fn}({', '.join(args)})"

    def index(self, s: str, at: tuple) -> str:
        return f"{s}[{', '.join(map(str, at))}]"

    def stack(self, items: list[str]) -> str:
        return f"[{', '.join(items)}]"


class _Text(_Style):
    _GREEK = {"y_hat": "ŷ"}
    _OPS = {"*": "⊙", "@": " ", "/": "/", "+": "+", "-": "−"}
    _FN = {"sigmoid": "σ", "step": "H"}

    def name(self, ident: str) -> str:
        if ident.startswith("d") and "/d" in ident:
            top, bottom = ident[1:].split("/d", 1)
            top = "ℓ" if top == "l" else self.name(top)
            return f"∂{top}/∂{self.name(bottom)}"
        return self._GREEK.get(ident, ident)

    def binary(self, op: str, a: str, b: str) -> str:
        if op == "@":
            return f"{a} {b}"
        if op == "**":
            return f"{a}^{b}"
        if op == "·":
            return f"{a}·{b}"
        return f"{a} {self._OPS[op]} {b}"

    def transpose(self, s: str) -> str:
        return f"{s}ᵀ"

    def call(self, fn: str, args: list[str]) -> str:
        return f"{self._FN.get(fn, fn)}({', '.join(args)})"


class _Latex(_Style):
    _FN = {"sigmoid": r"\sigma", "tanh": r"\tanh", "exp": r"\exp", "log": r"\log",
           "step": r"H", "sum": r"\sum", "max": r"\max"}

    def name(self, ident: str) -> str:
        if ident.startswith("d") and "/d" in ident:
            top, bottom = ident[1:].split("/d", 1)
            top = r"\ell" if top == "l" else self.name(top)
            return rf"\frac{{\partial {top}}}{{\partial {self.name(bottom)}}}"
        if ident == "y_hat":
            return r"\hat{y}"
        m = re.fullmatch(r"([A-Za-z]+)(\d+)", ident)
        if m:
            return f"{m.group(1)}_{{{m.group(2)}}}"
        return ident.replace("_", r"\_")

    def number(self, value: Fraction) -> str:
        if value.denominator == 1:
            return str(value)
        sign = "-" if value < 0 else ""
        return rf"{sign}\tfrac{{{abs(value.numerator)}}}{{{value.denominator}}}"

    def paren(self, s: str) -> str:
        return rf"\left({s}\right)"

    def binary(self, op: str, a: str, b: str) -> str:
        if op == "@":
            return f"{a} {b}"
        if op == "*":
            return rf"{a} \odot {b}"
        if op == "·":
            return rf"{a} \, {b}"
        if op == "/":
            return rf"{a} \oslash {b}"
        if op == "**":
            return f"{{{a}}}^{{{b}}}"
        return f"{a} {op} {b}"

    def transpose(self, s: str) -> str:
        return rf"{s}^{{\top}}"

    def stack(self, items: list[str]) -> str:
        return r"\begin{bmatrix} " + r" \\ ".join(items) + r" \end{bmatrix}"

    def call(self, fn: str, args: list[str]) -> str:
        escaped = fn.replace("_", "\\_")
        head = self._FN.get(fn, rf"\operatorname{{{escaped}}}")
        return rf"{head}\left({', '.join(args)}\right)"


def _render(node: Node, style: _Style) -> str:
    if isinstance(node, Name):
        return style.name(node.id)
    if isinstance(node, Num):
        return style.number(node.value)
    if isinstance(node, Neg):
        inner = _render(node.arg, style)
        return "-" + (style.paren(inner) if _prec(node.arg) <= 3 else inner)
    if isinstance(node, T):
        inner = _render(node.arg, style)
        wrap = _prec(node.arg) < _ATOM or isinstance(node.arg, Num)  # (0).T, not 0.T
        return style.transpose(style.paren(inner) if wrap else inner)
    if isinstance(node, Call):
        return style.call(node.fn, [_render(a, style) for a in node.args])
    if isinstance(node, Index):
        inner = _render(node.arg, style)
        return style.index(inner if _prec(node.arg) == _ATOM else style.paren(inner), node.at)
    if isinstance(node, Stack):
        return style.stack([_render(a, style) for a in node.items])
    p = _PREC[node.op]
    left, right = _render(node.left, style), _render(node.right, style)
    # Mixed products (A @ B * C) get brackets although Python would not need
    # them: a reader should not have to know that @ and * bind alike.
    mixed = isinstance(node.left, Bin) and node.left.op != node.op and p == 2
    if _prec(node.left) < p or (node.op == "**" and _prec(node.left) <= p) or mixed:
        left = style.paren(left)
    if _prec(node.right) < p or (_prec(node.right) == p and node.op in "-/@*"):
        right = style.paren(right)
    scalar = node.op == "*" and (isinstance(node.left, Num) or isinstance(node.right, Num))
    return style.binary("·" if scalar else node.op, left, right)


def to_code(node: Node) -> str:
    """The answer syntax: `W2.T @ (dl/dz3 * step(z1))`."""
    return _render(node, _Style())


def to_text(node: Node) -> str:
    """Unicode for people: `W2ᵀ (∂ℓ/∂z3 ⊙ H(z1))`."""
    return _render(node, _Text())


def to_latex(node: Node) -> str:
    """LaTeX for solution sheets."""
    return _render(node, _Latex())


# ---------------------------------------------------------------- evaluation

class FormulaError(ValueError):
    """A formula cannot be evaluated (unknown name, shapes that do not fit)."""


CONSTANTS = {"pi": math.pi, "e": math.e}


def evaluate(node: Node, env: Mapping[str, np.ndarray]):
    """Evaluate a formula with numpy, names bound by `env` (float64)."""
    if isinstance(node, Name):
        if node.id in env:
            return np.asarray(env[node.id], dtype=float)
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise FormulaError(f"unknown name {node.id!r}")
    if isinstance(node, Num):
        return float(node.value)
    if isinstance(node, Neg):
        return -evaluate(node.arg, env)
    if isinstance(node, T):
        return np.asarray(evaluate(node.arg, env)).T
    if isinstance(node, Index):
        try:
            return np.asarray(evaluate(node.arg, env))[node.at]
        except IndexError as exc:
            raise FormulaError(f"{to_code(node)}: {exc}") from None
    if isinstance(node, Stack):
        items = [np.asarray(evaluate(a, env), dtype=float) for a in node.items]
        try:
            return np.stack(items)
        except ValueError as exc:
            raise FormulaError(f"the entries of {to_code(node)} have different shapes") from exc
    if isinstance(node, Call):
        apply = _function(node)
        args = [evaluate(a, env) for a in node.args]
        try:
            with np.errstate(all="ignore"):
                return apply(*args)
        except (ValueError, TypeError, IndexError, np.exceptions.AxisError) as exc:
            raise FormulaError(f"{node.fn}() cannot take {', '.join(str(np.shape(a)) for a in args)}: {exc}") from exc
    a, b = evaluate(node.left, env), evaluate(node.right, env)
    try:
        with np.errstate(all="ignore"):
            return _BINARY[node.op](a, b)
    except ValueError as exc:
        raise FormulaError(f"shapes do not fit for {node.op!r}: {np.shape(a)} and {np.shape(b)}") from exc


def _function(node: Call) -> Callable:
    """A call's numpy value, from the operation registry (`ops`)."""
    from .engines.floats import Floats  # late: ops and the engines build on these trees
    from .ops import FUNCTIONS, STRUCTURAL

    if node.fn == "eye":
        return lambda n: np.eye(int(n))
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
