"""Render formula trees three ways: `to_code` (the answer syntax, which
`formula_syntax` reads back), `to_text` (Unicode, for people) and `to_latex`
(solution sheets). Precedence decides the brackets; juxtaposition (JUXT) is
written `a b`, and bracketed where `a -b` or `2 3` would read otherwise.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .formulas import JUXT, Bin, Call, Index, Name, Neg, Node, Num, Stack, T

SAMPLE = "\x00"  # where a marked name's `sample{n}` goes (no name, number or word of a style holds it)
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, JUXT: 2, "**": 4}
_ATOM = 9


def _prec(node: Node, style=None) -> int:
    if isinstance(style, _Latex):
        if isinstance(node, Call) and node.fn == "sum" and node.args:
            return 2  # \sum X, \mathbf{1}^\top X, X \mathbf{1}: products
        if isinstance(node, Bin) and node.op == "/":
            return 2 if isinstance(node.right, Name) and _long(node.left) else _ATOM  # \frac{1}{N} X, \frac{a}{b}
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
    """How one output syntax spells each piece of a formula; a name in `marked` as sample n's
    (`sample{n}.h`) with n left open (`SAMPLE`)."""

    def __init__(self, marked: frozenset = frozenset()):
        self.marked = marked

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
    r"""Textbook LaTeX: \frac for quotients (\frac{1}{N} before a long numerator), sums over an
    axis as products with \mathbf{1}, `I`, \sqrt, σ, ℓ, a training step as a superscript
    (W_{1}^{(1)}), names with subscripts (S_{1}, Y_{\text{out}}, \delta_{2}). latex_syntax
    reads every formula written here back (tests/test_latex_syntax.py)."""

    _FN = {"sigmoid": r"\sigma", "tanh": r"\tanh", "exp": r"\exp", "log": r"\log",
           "step": r"H", "max": r"\max", "relu": r"\operatorname{ReLU}"}
    _GREEK = set("alpha beta gamma delta epsilon eta theta lambda mu nu pi rho sigma tau phi chi psi omega".split())
    _HATS = {"mhat": r"\hat{m}", "vhat": r"\hat{v}"}

    def name(self, ident: str) -> str:
        if "." in ident:  # step1.W1, sample2.z1: as latex_syntax reads them back
            return ident.replace("_", r"\_")
        if ident.startswith("d") and "/d" in ident:
            top, bottom = ident[1:].split("/d", 1)
            top = r"\ell" if top == "l" else self.name(top)
            return rf"\frac{{\partial {top}}}{{\partial {self.name(bottom)}}}"
        if ident == "y_hat":
            return r"\hat{y}"
        if ident == "loss":
            return r"\ell"
        m = re.fullmatch(r"([A-Za-z]+)_?(\d+)", ident)
        if m:
            return f"{self._letters(m.group(1))}_{{{m.group(2)}}}"
        m = re.fullmatch(r"([A-Za-z]+)_([A-Za-z0-9]+)", ident)
        if m:  # Y_out, m_W1, mhat_W1: a subscript (a word upright; nested subscripts are not read back)
            head, sub = m.group(1), m.group(2)
            head = self._HATS.get(head) or self._letters(head)
            word = r"\text{" + sub + "}" if sub.isalpha() and len(sub) > 1 else sub
            return f"{head}_{{{word}}}"
        return self._letters(ident).replace("_", r"\_")

    def _letters(self, word: str) -> str:
        return f"\\{word}" if word in self._GREEK else word

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
            return rf"\frac{{{a}}}{{{b}}}"
        if op == "**":
            return f"{{{a}}}^{{{b}}}"
        return f"{a} {op} {b}"

    def transpose(self, s: str) -> str:
        braced = "^" in s and not s.endswith(r"\right)")  # W^{(1)} transposed: one superscript each
        return rf"{{{s}}}^{{\top}}" if braced else rf"{s}^{{\top}}"

    def stack(self, items: list[str]) -> str:
        return r"\begin{bmatrix} " + r" \\ ".join(items) + r" \end{bmatrix}"

    def call(self, fn: str, args: list[str]) -> str:
        if fn in ("eye", "ones"):  # sized by the product they stand in
            return "I" if fn == "eye" else r"\mathbf{1}"
        if fn == "sqrt" and len(args) == 1:
            return rf"\sqrt{{{args[0]}}}"
        escaped = fn.replace("_", "\\_")
        head = self._FN.get(fn, rf"\operatorname{{{escaped}}}")
        return rf"{head}\left({', '.join(args)}\right)"


class _Sheet(_Latex):
    """A solution sheet's LaTeX: the spec's own names (`names:` S1 for z1) and a training step as a
    superscript (W_{1}^{(1)}: W1 after step 1). Not read back by latex_syntax, which takes
    W^{(1)} for layer 1: answers and write-ups use `to_latex`."""

    _STEP = re.compile(r"step(\d+)\.(.+)")

    def __init__(self, aliases: dict[str, str] | None = None, marked: frozenset = frozenset()):
        super().__init__(marked)
        self.aliases = aliases or {}

    def name(self, ident: str) -> str:
        step = self._STEP.fullmatch(ident)
        if step:
            return f"{{{self.name(step.group(2))}}}^{{({step.group(1)})}}"
        if ident in self.aliases:
            return super().name(self.aliases[ident])
        if ident.startswith("dl/d") and ident[4:] in self.aliases:
            return super().name("dl/d" + self.aliases[ident[4:]])
        return super().name(ident)


def _latex_special(node: Node, style: _Latex) -> str | None:
    """Quotients and sums as a textbook writes them: \\frac{a}{b}, \\frac{1}{N} (…),
    \\mathbf{1}^\\top X (column sums), X \\mathbf{1} (row sums), \\sum X (all entries)."""
    if isinstance(node, Bin) and node.op == "/":
        top, bottom = _render(node.left, style), _render(node.right, style)
        if isinstance(node.right, Name) and _long(node.left):  # \frac{1}{N} before a long numerator
            if isinstance(node.left, Neg):
                inner = _render(node.left.arg, style)
                return rf"-\frac{{1}}{{{bottom}}} \, " + (style.paren(inner) if _prec(node.left.arg, style) < 2 else inner)
            return rf"\frac{{1}}{{{bottom}}} \, " + (style.paren(top) if _prec(node.left, style) < 2 else top)
        return style.binary("/", top, bottom)
    if isinstance(node, Call) and node.fn == "sum" and node.args:
        inner = _render(node.args[0], style)
        if _prec(node.args[0], style) < _ATOM:
            inner = style.paren(inner)
        if len(node.args) == 1:
            return rf"\sum {inner}"
        axis = node.args[1]
        if isinstance(axis, Num) and axis.value in (0, 1):
            return rf"\mathbf{{1}}^{{\top}} {inner}" if axis.value == 0 else rf"{inner} \mathbf{{1}}"
    return None


def _long(node: Node) -> bool:
    """A numerator worth writing after \\frac{1}{N} rather than inside it."""
    return isinstance(node, (Bin, Neg, Call)) and not (isinstance(node, Bin) and node.op == "/")


def _render(node: Node, style: _Style) -> str:
    if isinstance(style, _Latex):
        special = _latex_special(node, style)
        if special is not None:
            return special
    if isinstance(node, Name):
        return style.name(f"{SAMPLE}.{node.id}" if node.id in style.marked else node.id)
    if isinstance(node, Num):
        return style.number(node.value)
    if isinstance(node, Neg):
        inner = _render(node.arg, style)
        return "-" + (style.paren(inner) if _prec(node.arg, style) <= 3 else inner)
    if isinstance(node, T):
        inner = _render(node.arg, style)
        wrap = _prec(node.arg, style) < _ATOM or isinstance(node.arg, Num)  # (0).T, not 0.T
        return style.transpose(style.paren(inner) if wrap else inner)
    if isinstance(node, Call):
        return style.call(node.fn, [_render(a, style) for a in node.args])
    if isinstance(node, Index):
        inner = _render(node.arg, style)
        return style.index(inner if _prec(node.arg, style) == _ATOM else style.paren(inner), node.at)
    if isinstance(node, Stack):
        return style.stack([_render(a, style) for a in node.items])
    p = _PREC[node.op]
    left, right = _render(node.left, style), _render(node.right, style)
    # Mixed products (A @ B * C) get brackets although Python would not need
    # them: a reader should not have to know that @ and * bind alike.
    mixed = isinstance(node.left, Bin) and node.left.op != node.op and p == 2
    if _prec(node.left, style) < p or (node.op == "**" and _prec(node.left, style) <= p) or mixed:
        left = style.paren(left)
    # a sum on the right of a product reads as one in a book (c \sum X), wherever it is written with \sum
    summed = isinstance(style, _Latex) and p == 2 and isinstance(node.right, Call) and node.right.fn == "sum" \
        and len(node.right.args) == 1  # (y \odot (X \mathbf{1}) keeps its brackets)
    if not summed and (_prec(node.right, style) < p or (_prec(node.right, style) == p and node.op in (
            "-", "/", "@", "*", JUXT)) or (node.op == JUXT and (isinstance(node.right, Neg) or _starts_with_number(node.right)))):
        right = style.paren(right)  # a -b is a subtraction and 2 3 reads as one number: write a (-b), 2 (3)
    scalar = node.op == "*" and (isinstance(node.left, Num) or isinstance(node.right, Num))
    return style.binary("·" if scalar else node.op, left, right)


def _starts_with_number(node: Node) -> bool:
    while isinstance(node, Bin):
        node = node.left
    return isinstance(node, Num)


def to_code(node: Node, marked: frozenset = frozenset()) -> str:
    """The answer syntax: `W2.T @ (dl/dz3 * step(z1))`.

    `marked` (here and below): names written as sample n's with n left open: the text's
    `.replace(SAMPLE, "sample2")` is the text of the tree with those names renamed (h to
    sample2.h), since every style spells a dotted name alike whatever its prefix."""
    return _render(node, _Style(marked))


def to_text(node: Node, marked: frozenset = frozenset()) -> str:
    """Unicode for people: `W2ᵀ (∂ℓ/∂z3 ⊙ H(z1))`."""
    return _render(node, _Text(marked))


def to_latex(node: Node, marked: frozenset = frozenset()) -> str:
    """Textbook LaTeX that latex_syntax reads back (messages, handouts, write-up examples)."""
    return _render(node, _Latex(marked))


def to_sheet_latex(node: Node, aliases: dict[str, str] | None = None, marked: frozenset = frozenset()) -> str:
    """LaTeX for solution sheets: as `to_latex`, with the spec's names (`aliases`: canonical -> shown)
    and training steps as superscripts."""
    return _render(node, _Sheet(aliases, marked))
