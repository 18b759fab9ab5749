"""The pieces of plain-syntax text that latex_syntax builds, and how they join.

Each piece is text tagged with its kind (a name, a number, a call, a sum …),
so that joining two pieces brackets exactly the operands that need it: a
juxtaposed factor `(2)` or `((y_hat - y).T)`, a denominator `(1 - y_hat)`,
a power's base `(1 + exp(-z))**2`. The plain syntax's own precedence is
never relied on for implicit products: whatever kind of product the other
parser gives juxtaposition, the brackets say what the student wrote.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .errors import shortened
from .formula_syntax import MAX_EXPONENT
from .latex_tokens import LatexSyntaxError, Token

MAX_POWER_OF_TEN = 15  # 1e15: formula_syntax.MAX_CONSTANT
BARE = {"name", "call", "group", "list", "deriv"}  # bare as a juxtaposed factor
ATOM = {"name", "call", "group", "list"}  # bare under ** and .T
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_FRACTION = re.compile(r"\(?(-?[0-9]+(?:\.[0-9]+)?) / ([0-9]+(?:\.[0-9]+)?)\)?")


class Piece(NamedTuple):
    text: str
    kind: str  # name num func call group list deriv partial postfix power neg product juxt sum
    diff: str = ""  # a differential `dX` (in \frac{dl}{dz}): X
    sci: bool = False  # 10^{k}, written 1ek, to join 2.5 \cdot 10^{-3}


def wrap(piece: Piece, bare) -> str:
    return piece.text if piece.kind in bare else f"({piece.text})"


def group(piece: Piece) -> Piece:
    return piece if piece.kind == "group" else Piece(f"({piece.text})", "group")


def used(piece: Piece) -> Piece:
    """A piece inside a larger formula: a lone ∂x or an unapplied function cannot be."""
    if piece.kind == "func":
        raise LatexSyntaxError(f"the function {piece.text} needs its argument: {piece.text}(…)")
    if piece.kind == "partial":
        raise LatexSyntaxError("`\\partial` is read only in a derivative: \\frac{\\partial A}{\\partial B} "
                               "or \\partial A / \\partial B")
    return piece


def combine(left: Piece, op: str, right: Piece) -> Piece:
    if op == "/" and left.kind == right.kind == "partial":
        return Piece(f"d{left.diff}/d{right.diff}", "deriv")
    if op == "juxt" and left.kind == "num" and not left.sci and right.sci and "e" not in left.text:
        return Piece(left.text + right.text[1:], "num")  # 2.5 \cdot 10^{-3} is the number 2.5e-3
    if op == "/":
        return divide(left, right)
    if op == "*":
        return Piece(f"{wrap(used(left), ATOM | {'num', 'postfix', 'power', 'product', 'deriv'})} * "
                     f"{wrap(used(right), ATOM | {'num', 'postfix', 'power', 'deriv'})}", "product")
    diff = right.text if left.kind == "name" and left.text == "d" and right.kind == "name" else ""
    # A matrix after another factor is bracketed: `A [[1], [2]]` would read as indexing A.
    if left.kind == "juxt":  # a chain a b c stays flat
        return Piece(f"{left.text} {wrap(used(right), BARE - {'list'})}", "juxt", diff=diff)
    return Piece(f"{wrap(used(left), BARE)} {wrap(used(right), BARE - {'list'})}", "juxt", diff=diff)


def divide(top: Piece, bottom: Piece) -> Piece:
    if top.kind == bottom.kind == "partial" or (top.diff and bottom.diff and top.kind != "partial"):
        return Piece(f"d{top.diff}/d{bottom.diff}", "deriv")  # ∂ℓ/∂ŷ, dl/dz: a quantity's name
    # spaces around /: `dim/dout` would read as a derivative name
    return Piece(f"{wrap(used(top), ATOM | {'num', 'postfix', 'power', 'deriv'})} / "
                 f"{wrap(used(bottom), ATOM | {'num'})}", "product")


def transpose(piece: Piece) -> Piece:
    return Piece(f"{wrap(used(piece), ATOM | {'postfix'})}.T", "postfix")


def raise_to(base: Piece, power: Piece, tokens: list[Token]) -> Piece:
    written = "".join(t.src for t in tokens)
    value = _exponent(power.text)
    if value is None:
        raise LatexSyntaxError(f"the superscript `{shortened(written)}` is not supported here (^T transposes, "
                               "^{(l)} is a layer, ^{2} a power by a number, e^{x} the exponential)")
    if abs(value) > MAX_EXPONENT:
        raise LatexSyntaxError(f"the exponent {shortened(written)} is too large (at most {MAX_EXPONENT})")
    if base.kind == "num" and base.text == "10" and re.fullmatch(r"-?[0-9]+", power.text):
        if abs(int(power.text)) > MAX_POWER_OF_TEN:
            raise LatexSyntaxError(f"10^{{{power.text}}} is out of range")
        return Piece(f"1e{power.text}", "num", sci=True)
    exponent = power.text if power.kind == "num" and value >= 0 else f"({power.text.strip('()')})"
    return Piece(f"{wrap(used(base), ATOM | {'num'})}**{exponent}", "power")


def _exponent(text: str) -> float | None:
    """The value of a number exponent (2, -1, 1/2, 0.5); None for anything else."""
    if len(text) > 40:
        return None
    if _NUMBER.fullmatch(text.strip("()")):
        return float(text.strip("()"))
    m = _FRACTION.fullmatch(text)
    return float(m.group(1)) / float(m.group(2)) if m and float(m.group(2)) else None


SIDES = {">": "+", ">=": "+", "<": "-", "<=": "-", "=": "="}


def compare(left: Piece, side: str, right: Piece) -> tuple[str, str]:
    """z > 0 is ("+", "z"); 0 < z too; a > b is ("+", "a - b")."""
    if left.text == "0" and side != "=":
        left, right, side = right, left, {"+": "-", "-": "+"}[side]
    if right.text == "0":
        return side, left.text
    return side, f"{left.text} - {wrap(right, ATOM | {'num', 'postfix', 'power', 'product', 'juxt'})}"


def piecewise(rows: list) -> Piece:
    """cases: an elementwise definition, the rows weighted by step: (v1) * step(z) + (v2) * (1 - step(z))."""
    rows = [case for row in rows for case in row]
    subjects = {against for _, (side, against) in rows if side != "otherwise"}
    kept = [(v, side) for v, (side, _) in rows if side != "="]  # z = 0: the kink, its value does not count
    if any(isinstance(v, Token) for v, side in kept):
        raise LatexSyntaxError("`undefined` is read only at the kink, in a row whose condition is `= 0`")
    sides = [side for _, side in kept]
    if len(subjects) != 1 or not kept or len(kept) > 2 or len(set(sides)) != len(sides) or sides == ["otherwise"]:
        raise LatexSyntaxError("\\begin{cases} is read as an elementwise definition by the sign of one "
                               "expression: rows for z > 0 and z < 0 (or \\text{otherwise}), z = 0 optional")
    subject = subjects.pop()
    if "otherwise" in sides:
        other = "-" if "+" in sides else "+"
        sides = [other if s == "otherwise" else s for s in sides]
    weight = {"+": f"step({subject})", "-": f"(1 - step({subject}))"}
    terms = [f"({v.text}) * {weight[side]}" for (v, _), side in zip(kept, sides)]
    return Piece(" + ".join(terms), "sum" if len(terms) > 1 else "product")


def matrix(rows: list, env: str) -> Piece:
    if not rows or any(cell.kind == "list" for row in rows for cell in row):
        raise LatexSyntaxError(f"`\\begin{{{env}}}` holds numbers or expressions, not an empty row or a matrix")
    if len({len(r) for r in rows}) > 1:
        raise LatexSyntaxError(f"the rows of `\\begin{{{env}}}` have different lengths")
    return Piece("[" + ", ".join("[" + ", ".join(c.text for c in r) + "]" for r in rows) + "]", "list")


def sum_index(tokens: list[Token]) -> str:
    tokens = strip(tokens)
    written = "".join(t.src for t in tokens)
    if len(tokens) == 1 and tokens[0].kind == "word" and len(tokens[0].value) == 1:
        return tokens[0].value
    if (len(tokens) == 3 and tokens[0].kind == "word" and len(tokens[0].value) == 1 and
            tokens[1].value == "=" and tokens[2].kind in ("num", "word")):
        return tokens[0].value
    raise LatexSyntaxError(f"`\\sum_{{{shortened(written)}}}` is not supported here: a sum is read over all "
                           "the entries (\\sum_i y_i is sum(y))")


def strip(tokens: list[Token]) -> list[Token]:
    """{{T}} is T: fonts leave their braces (\\mathsf{T})."""
    while len(tokens) >= 2 and tokens[0].kind == "{" and tokens[-1].kind == "}":
        level = 0
        for i, t in enumerate(tokens):
            level += (t.kind == "{") - (t.kind == "}")
            if level == 0 and i < len(tokens) - 1:
                return tokens  # {a}{b}: two groups, not one
        tokens = tokens[1:-1]
    return tokens


def stray(tok: Token):
    if tok.kind == "rel":
        if tok.value == "=":
            raise LatexSyntaxError("`=` is not supported here: give one expression (the value), not an equation")
        raise LatexSyntaxError(f"`{tok.src}` compares: it is read only in a \\begin{{cases}} condition")
    if tok.kind == "&" or tok.kind == "rowsep":
        raise LatexSyntaxError(f"`{tok.src}` is read only inside \\begin{{bmatrix}} or \\begin{{cases}}")
    if tok.kind == "op" and tok.value == ",":
        raise LatexSyntaxError("a comma is not supported here: give one expression "
                               "(a vector is \\begin{bmatrix}…\\end{bmatrix})")
    if tok.kind in ("close", "}", "bar"):
        raise LatexSyntaxError(f"unbalanced brackets: `{tok.src}` closes nothing")
    raise LatexSyntaxError(f"`{shortened(tok.src)}` is not supported here")


def missing(tok: Token) -> str:
    if tok.kind == "op" and tok.value in ("juxt", "*", "/"):
        return f"`{tok.src}` needs a value on each side"
    if tok.kind in ("^", "_", "prime", "transpose"):
        return f"`{tok.src}` needs something before it"
    if tok.kind in ("close", "}", "&", "rowsep", "end", "rel", "op", "bar"):
        return f"a value is missing before `{shortened(tok.src)}`"
    return f"`{shortened(tok.src)}` is not supported here"


def _shown(tok: Token) -> str:
    return f"`{shortened(tok.src)}`"
