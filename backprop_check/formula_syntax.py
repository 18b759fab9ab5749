"""Parse formula text (untrusted) into `formulas` trees, safely.

The syntax is numpy-like and also as students write on paper: `@` matrix
product, `*` `/` elementwise with scalar broadcasting, `**` or `^` power,
`.T`, `^T`, `'` or `ᵀ` transpose, juxtaposition (`2(y_hat - y)`, `W2 h`,
`sigmoid(z)(1 - sigmoid(z))`) as the product by shape, functions such as
relu, sigmoid, tanh, exp, log, sqrt, abs, softplus, step, diag, sum, mean,
max(0, ·), eye(n), ones(n), an activation's derivative `sigmoid'(z)`, `I`
and `ones` (sized by the product they are in), and the problem's names
(x, y, W1, b1, z1 … y_hat, dl/dz3, step1.W1, N, K, the spec's aliases,
subscripted spellings such as W_2, and named constants such as lr).

Text is split by `formula_tokens` and read by a small precedence-climbing
parser into trees; every piece is checked against a whitelist as it is
built; nothing is ever evaluated, executed, sympified or lambdified. With
`indexing=True` (graph problems: FORMAT.md section 5) it also reads 0-based
indexing by whole-number constants (`v[0]`, `A[1, 0]`) into `Index` and list
literals (`[a, b, c]`, nested: a matrix) into `Stack`. LaTeX answers go
through `latex_syntax.translate` first, when that module is present.

Before parsing, the text is bounded in length and bracket depth, derivative
names such as `dl/dz3` become placeholder identifiers, and a few Unicode
symbols (ᵀ ⊙ · − ŷ σ ∂ℓ η α 𝟙) become their ASCII spellings. Every rejection
is a `FormulaSyntaxError` whose message says what is not allowed.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction
from typing import Iterable, Mapping

from . import formulas as F
from .errors import shortened
from .formula_tokens import TokenError, tokens

MAX_LENGTH = 2000
MAX_DEPTH = 40  # brackets
MAX_NODES = 400
MAX_TREE_DEPTH = 200
MAX_EXPONENT = 16  # |p| in a ** p
MAX_DEGREE = 64  # (z**16)**16 would be degree 256: sympy would expand it for minutes
MAX_CONSTANT = 10 ** 15
MAX_CONSTANT_CHARS = 40
MAX_INDEX = 4096  # a position in v[i]: past any value a spec can hold
MAX_EYE = 1024

FUNCTIONS = {  # name -> (min args, max args)
    "relu": (1, 1), "step": (1, 2), "sigmoid": (1, 1), "tanh": (1, 1), "exp": (1, 1), "log": (1, 1),
    "sqrt": (1, 1), "abs": (1, 1), "softplus": (1, 2), "leaky_relu": (1, 2), "elu": (1, 2),
    "gelu": (1, 1), "erf": (1, 1), "softmax": (1, 2), "diag": (1, 1), "sum": (1, 2), "mean": (1, 2),
    "max": (2, 2), "eye": (0, 1), "ones": (0, 1),
}
ALIASES = {"σ": "sigmoid", "sigma": "sigmoid", "H": "step", "heaviside": "step", "ln": "log",
           "np_maximum": "max", "maximum": "max", "transpose": None}
CONSTANTS = {"pi", "e"}
LEARNING_RATE = ("lr", "eta", "alpha", "learning_rate")  # η and α are read as eta and alpha

_UNICODE = [("ᵀ", ".T"), ("⊙", "*"), ("∘", "*"), ("·", "*"), ("×", "*"), ("−", "-"), ("ŷ", "y_hat"),
            ("∂ℓ", "dl"), ("∂l", "dl"), ("∂", "d"), ("σ", "sigmoid"), ("²", "**2"), ("³", "**3"),
            ("′", "'"), ("η", "eta"), ("α", "alpha"), ("δ", "delta"), ("𝟙", "ones"), ("ℓ", "loss")]
_DERIVATIVE = re.compile(r"(?<![A-Za-z0-9_.])d([A-Za-z][A-Za-z0-9_]*)/d([A-Za-z][A-Za-z0-9_]*)")
# dF/d(x,y): a graph's Jacobian in stacked scalar inputs, named as a whole
_STACKED = re.compile(r"(?<![A-Za-z0-9_.])d([A-Za-z][A-Za-z0-9_]*)/d\(\s*([A-Za-z][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z][A-Za-z0-9_]*)+)\s*\)")
_PREFIXED = re.compile(r"(?<![A-Za-z0-9_.])((?:step|sample)[1-9][0-9]{0,3})\.([A-Za-z][A-Za-z0-9_]*(?:/d[A-Za-z][A-Za-z0-9_]*)?)")
_SUBSCRIPT = re.compile(r"(?<=[A-Za-z])_(?=\d)")  # W_2 is W2, dl/dz_1 is dl/dz1
_SIZED = re.compile(r"(I|ones)_?(\d{1,4}|N|K)")  # I_3, I_N, ones_N: eye(3), eye(N), ones(N)
_KEYWORDS = {"for": "a comprehension ('for … in')", "in": "a comprehension ('for … in')",
             "lambda": "a lambda", "if": "if/else", "else": "if/else", "and": "and/or/not",
             "or": "and/or/not", "not": "and/or/not", "import": "import", "None": "None", "True": "True",
             "False": "False", "await": "await", "yield": "yield", "is": "'is'", "def": "def",
             "class": "class", "return": "return", "del": "del", "global": "global", "with": "with",
             "async": "async", "from": "from", "as": "as", "while": "while", "exec": "exec"}


class FormulaSyntaxError(ValueError):
    """The text is not a formula bpcheck accepts; the message says why."""


def parse(text: str, names: Iterable[str], resolve=None, indexing: bool = False,
          constants: Mapping[str, F.Node] | None = None, spellings: dict | None = None) -> F.Node:
    """Parse `text` into a formula tree over `names` (and constants).

    `resolve(name)` maps an alias to its canonical name (or returns None);
    names are checked after resolving. `indexing` also allows `v[0]`,
    `A[1, 0]` and list literals `[a, b]` (graph problems). `constants` names
    further values (lr: the learning rate). `spellings`, when given, is
    filled with each name as written -> its canonical name, where they differ.
    """
    if not isinstance(text, str):
        raise FormulaSyntaxError("a formula must be text")
    if len(text) > MAX_LENGTH:
        raise FormulaSyntaxError(f"a formula of {len(text)} characters; the limit is {MAX_LENGTH}")
    text = _from_latex(text)
    source, placeholders = _prepare(text)
    _check_depth(source)
    try:
        toks = tokens(source)
    except TokenError as exc:
        raise FormulaSyntaxError(str(exc)) from None
    from .formula_parser import Parser  # the grammar; it needs this module's tables and error type
    parser = Parser(toks, set(names), placeholders, resolve, indexing, dict(constants or {}), spellings)
    node = parser.parse()
    if tree_depth(node) > MAX_TREE_DEPTH:  # a long chain a*b*c*… is deep as a tree, flat as text
        raise FormulaSyntaxError(f"a formula nested more than {MAX_TREE_DEPTH} deep")
    return node


def _from_latex(text: str) -> str:
    """LaTeX answers are translated to this syntax first (when `latex_syntax` is present)."""
    latex = _latex_module()
    if latex is None or not latex.looks_like_latex(text):
        return text
    try:
        out = latex.translate(text)
    except latex.LatexSyntaxError as exc:
        raise FormulaSyntaxError(str(exc)) from None
    if not isinstance(out, str) or len(out) > MAX_LENGTH:
        raise FormulaSyntaxError(f"a formula longer than {MAX_LENGTH} characters once read from LaTeX")
    return out


_LATEX: list = []


def _latex_module():
    """latex_syntax, imported on first use (it parses through this module), or None without it."""
    if not _LATEX:
        try:
            from . import latex_syntax
        except (ImportError, SyntaxError):  # absent, or mid-edit in a shared checkout
            latex_syntax = None
        _LATEX.append(latex_syntax)
    return _LATEX[0]


def _prepare(text: str) -> tuple[str, dict]:
    s = unicodedata.normalize("NFC", text.strip())  # y + combining circumflex is ŷ
    for a, b in _UNICODE:
        s = s.replace(a, b)
    if not s.isascii():
        bad = next(c for c in s if not c.isascii())
        raise FormulaSyntaxError(f"character {bad!r} is not allowed in a formula")
    if "__" in s:
        raise FormulaSyntaxError("'__' is not allowed in a formula")
    if not s:
        raise FormulaSyntaxError("an empty formula")
    placeholders: dict[str, str] = {}

    def hold(name: str) -> str:
        key = f"_q{len(placeholders)}"  # a leading _ is never a spec name
        placeholders[key] = name
        return key

    s = _PREFIXED.sub(lambda m: hold(f"{m.group(1)}.{m.group(2)}"), s)
    s = _STACKED.sub(lambda m: hold(f"d{m.group(1)}/d({','.join(x.strip() for x in m.group(2).split(','))})"), s)
    s = _DERIVATIVE.sub(lambda m: hold(f"d{m.group(1)}/d{m.group(2)}"), s)
    return s, placeholders


def _check_depth(source: str) -> None:
    depth = 0
    for c in source:
        if c in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise FormulaSyntaxError(f"brackets nested more than {MAX_DEPTH} deep")
        elif c in ")]}":
            depth -= 1


def tree_depth(node: F.Node) -> int:
    """The depth of a tree, without recursion (a chain of 400 products is 400 deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in F.children(n))
    return deepest


def spellings_of(name: str) -> list:
    """The names `name` may stand for, most literal first: W_2 -> [W_2, W2]."""
    plain = _SUBSCRIPT.sub("", name)
    return [name] if plain == name else [name, plain]


def sized(name: str) -> F.Node | None:
    """I, I_3, I_N, ones, ones_N as eye/ones calls (no argument: sized by their product)."""
    if name in ("I", "ones"):
        return F.Call("eye" if name == "I" else "ones", ())
    m = _SIZED.fullmatch(name)
    if not m:
        return None
    size = F.Name(m.group(2)) if m.group(2) in ("N", "K") else F.num(int(m.group(2)))
    check_size("eye" if m.group(1) == "I" else "ones", size)
    return F.Call("eye" if m.group(1) == "I" else "ones", (size,))


def check_size(fn: str, arg: F.Node) -> None:
    if not (arg in (F.Name("N"), F.Name("K")) or (
            isinstance(arg, F.Num) and arg.value.denominator == 1 and 1 <= arg.value <= MAX_EYE)):
        raise FormulaSyntaxError(f"{fn}(n) takes N, K or a whole number n from 1 to {MAX_EYE}")


def keyword(name: str) -> str | None:
    """Why a Python keyword is not part of a formula, or None."""
    what = _KEYWORDS.get(name)
    return f"{what} is not allowed in a formula" if what else None


def number(written: str) -> F.Num:
    """A number token, exactly as written (0.1 is 1/10, not a binary float)."""
    if len(written) > MAX_CONSTANT_CHARS:
        raise FormulaSyntaxError(f"the number {shortened(written)} is out of range (limit {MAX_CONSTANT:g})")
    exponent = re.search(r"[eE]([-+]?\d+)$", written)
    if exponent and abs(int(exponent.group(1))) > 30:  # Fraction("1e999999999") would build the number
        raise FormulaSyntaxError(f"the number {shortened(written)} is out of range (limit {MAX_CONSTANT:g})")
    exact = Fraction(written)
    if abs(exact) > MAX_CONSTANT or (exact and abs(exact) < Fraction(1, MAX_CONSTANT)):
        raise FormulaSyntaxError(f"the number {shortened(written)} is out of range (limit {MAX_CONSTANT:g})")
    return F.Num(exact)


def fold(op: str, a: Fraction, b: Fraction) -> F.Num:
    if op == "/" and b == 0:
        raise FormulaSyntaxError("division by zero")
    value = {"+": a + b, "-": a - b, "*": a * b, F.JUXT: a * b, "/": a / b if b else a}[op]
    if abs(value) > MAX_CONSTANT or (value and abs(value) < Fraction(1, MAX_CONSTANT)):
        raise FormulaSyntaxError(f"a constant out of range (limit {MAX_CONSTANT:g})")
    return F.Num(value)


def maximum(args: list) -> F.Node:
    """max(0, a) and max(a, 0) are relu(a); other maxima are elementwise."""
    a, b = args
    if a == F.Num(Fraction(0)):
        return F.call("relu", b)
    if b == F.Num(Fraction(0)):
        return F.call("relu", a)
    return F.Call("max", (a, b))


def degree(node: F.Node) -> Fraction:
    """How far nested powers raise the degree (products add, powers multiply)."""
    if isinstance(node, F.Bin) and node.op == "**" and isinstance(node.right, F.Num):
        return degree(node.left) * abs(node.right.value)
    if isinstance(node, F.Bin) and node.op in ("*", "@", F.JUXT):
        return degree(node.left) + degree(node.right)
    return max((degree(c) for c in F.children(node)), default=Fraction(1))


def check_power(base: F.Node, exponent: F.Node) -> None:
    """Only small constant exponents: x^(10^10) and towers 2^2^2^2 are refused unbuilt."""
    value = exponent.value if isinstance(exponent, F.Num) else (
        -exponent.arg.value if isinstance(exponent, F.Neg) and isinstance(exponent.arg, F.Num) else None)
    if value is None:
        raise FormulaSyntaxError("an exponent must be a number, e.g. ** 2 or ^2")
    if abs(value) > MAX_EXPONENT:
        raise FormulaSyntaxError(f"exponent {shortened(str(value))} is too large (|p| <= {MAX_EXPONENT})")
    if degree(base) * abs(value) > MAX_DEGREE:
        raise FormulaSyntaxError(f"powers of powers beyond degree {MAX_DEGREE}")

