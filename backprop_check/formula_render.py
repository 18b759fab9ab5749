"""Render formula trees three ways: `to_code` (the answer syntax, which
`formula_syntax` reads back), `to_text` (Unicode, for people) and `to_latex`
(solution sheets). Precedence decides the brackets; juxtaposition (JUXT) is
written `a b`, and bracketed where `a -b` or `2 3` would read otherwise.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .formulas import JUXT, Bin, Call, Index, Name, Neg, Node, Num, Stack, T

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, JUXT: 2, "**": 4}
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
        if op == JUXT:
            return f"{a} {b}"
        return f"{a} {'*' if op == '·' else op} {b}"

    def transpose(self, s: str) -> str:
        return f"{s}.T"

    def call(self, fn: str, args: list[str]) -> str:
        if not args and fn in ("eye", "ones"):  # sized by their product
            return "I" if fn == "eye" else "ones()"
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
        if op in ("@", JUXT):
            return f"{a} {b}"
        if op == "**":
            return f"{a}^{b}"
        if op == "·":
            return f"{a}·{b}"
        return f"{a} {self._OPS[op]} {b}"

    def transpose(self, s: str) -> str:
        return f"{s}ᵀ"

    def call(self, fn: str, args: list[str]) -> str:
        if not args and fn in ("eye", "ones"):
            return "I" if fn == "eye" else "𝟙"
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
        if op == JUXT:
            return rf"{a} \, {b}"
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
        if not args and fn in ("eye", "ones"):
            return "I" if fn == "eye" else r"\mathbb{1}"
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
    if _prec(node.right) < p or (_prec(node.right) == p and node.op in ("-", "/", "@", "*", JUXT)) \
            or (node.op == JUXT and (isinstance(node.right, Neg) or _starts_with_number(node.right))):
        right = style.paren(right)  # a -b is a subtraction and 2 3 reads as one number: write a (-b), 2 (3)
    scalar = node.op == "*" and (isinstance(node.left, Num) or isinstance(node.right, Num))
    return style.binary("·" if scalar else node.op, left, right)


def _starts_with_number(node: Node) -> bool:
    while isinstance(node, Bin):
        node = node.left
    return isinstance(node, Num)


def to_code(node: Node) -> str:
    """The answer syntax: `W2.T @ (dl/dz3 * step(z1))`."""
    return _render(node, _Style())


def to_text(node: Node) -> str:
    """Unicode for people: `W2ᵀ (∂ℓ/∂z3 ⊙ H(z1))`."""
    return _render(node, _Text())


def to_latex(node: Node) -> str:
    """LaTeX for solution sheets."""
    return _render(node, _Latex())


