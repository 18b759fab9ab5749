"""Parse formula text (untrusted) into `formulas` trees, safely.

The syntax is numpy-like: `@` matrix product, `*` `/` `**` elementwise with
scalar broadcasting, `.T` transpose, functions such as relu, sigmoid, tanh,
exp, log, sqrt, abs, softplus, step, diag, sum, mean and max(0, ·), and the
problem's names (x, y, W1, b1, z1 … y_hat, dl/dz3, step1.W1, N, K and the
spec's display aliases).

Text is parsed with Python's `ast` module and converted node by node through
a whitelist; nothing is ever evaluated, executed, sympified or lambdified.
With `indexing=True` (graph problems: FORMAT.md section 5) it also reads
0-based indexing by whole-number constants (`v[0]`, `A[1, 0]`, `G[1]`) into
`Index` and list literals (`[a, b, c]`, nested: a matrix) into `Stack`.

Before parsing, the text is bounded in length and bracket depth (CPython's
parser itself can be exhausted by deep nesting), derivative names such as
`dl/dz3` are turned into placeholder identifiers, and a few Unicode symbols
(ᵀ ⊙ · − ŷ σ ∂ℓ) become their ASCII spellings. Every rejection is a
`FormulaSyntaxError` whose message says what is not allowed.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from fractions import Fraction
from typing import Iterable

from . import formulas as F

MAX_LENGTH = 2000
MAX_DEPTH = 40  # brackets, and the depth of the tree
MAX_NODES = 400
MAX_TREE_DEPTH = 200
MAX_EXPONENT = 16  # |p| in a ** p
MAX_DEGREE = 64  # (z**16)**16 would be degree 256: sympy would expand it for minutes
MAX_CONSTANT = 10 ** 15
MAX_CONSTANT_CHARS = 40
MAX_INDEX = 4096  # a position in v[i]: past any value a spec can hold

FUNCTIONS = {  # name -> (min args, max args)
    "relu": (1, 1), "step": (1, 2), "sigmoid": (1, 1), "tanh": (1, 1), "exp": (1, 1), "log": (1, 1),
    "sqrt": (1, 1), "abs": (1, 1), "softplus": (1, 2), "leaky_relu": (1, 2), "elu": (1, 2),
    "gelu": (1, 1), "erf": (1, 1), "softmax": (1, 2), "diag": (1, 1), "sum": (1, 2), "mean": (1, 2),
    "max": (2, 2), "eye": (1, 1),
}
ALIASES = {"σ": "sigmoid", "sigma": "sigmoid", "H": "step", "heaviside": "step", "ln": "log",
           "np_maximum": "max", "maximum": "max", "transpose": None}
CONSTANTS = {"pi", "e"}

_UNICODE = [("ᵀ", ".T"), ("⊙", "*"), ("∘", "*"), ("·", "*"), ("×", "*"), ("−", "-"), ("ŷ", "y_hat"),
            ("∂ℓ", "dl"), ("∂l", "dl"), ("∂", "d"), ("σ", "sigmoid"), ("²", "**2")]
_DERIVATIVE = re.compile(r"(?<![A-Za-z0-9_.])d([A-Za-z][A-Za-z0-9_]*)/d([A-Za-z][A-Za-z0-9_]*)")
# dF/d(x,y): a graph's Jacobian in stacked scalar inputs, named as a whole
_STACKED = re.compile(r"(?<![A-Za-z0-9_.])d([A-Za-z][A-Za-z0-9_]*)/d\(\s*([A-Za-z][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z][A-Za-z0-9_]*)+)\s*\)")
_PREFIXED = re.compile(r"(?<![A-Za-z0-9_.])((?:step|sample)[1-9][0-9]{0,3})\.([A-Za-z][A-Za-z0-9_]*(?:/d[A-Za-z][A-Za-z0-9_]*)?)")


class FormulaSyntaxError(ValueError):
    """The text is not a formula bpcheck accepts; the message says why."""


def parse(text: str, names: Iterable[str], resolve=None, indexing: bool = False) -> F.Node:
    """Parse `text` into a formula tree over `names` (and constants).

    `resolve(name)` maps an alias to its canonical name (or returns None);
    names are checked after resolving. `indexing` also allows `v[0]`,
    `A[1, 0]` and list literals `[a, b]` (graph problems).
    """
    if not isinstance(text, str):
        raise FormulaSyntaxError("a formula must be text")
    if len(text) > MAX_LENGTH:
        raise FormulaSyntaxError(f"a formula of {len(text)} characters; the limit is {MAX_LENGTH}")
    source, placeholders = _prepare(text)
    _check_depth(source)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise FormulaSyntaxError(f"not a formula: {exc.msg} (at character {exc.offset or '?'})") from None
    except (MemoryError, RecursionError, ValueError):
        raise FormulaSyntaxError("not a formula: too deeply nested or malformed") from None
    known = set(names)
    builder = _Builder(known, placeholders, resolve, source, indexing)
    return builder.build(tree.body, 0)


def _prepare(text: str) -> tuple[str, dict]:
    s = unicodedata.normalize("NFC", text.strip())  # y + combining circumflex is ŷ
    for a, b in _UNICODE:
        s = s.replace(a, b)
    if not s.isascii():
        bad = next(c for c in s if not c.isascii())
        raise FormulaSyntaxError(f"character {bad!r} is not allowed in a formula")
    if "__" in s:
        raise FormulaSyntaxError("'__' is not allowed in a formula")
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


_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@", ast.Pow: "**"}


class _Builder:
    def __init__(self, known: set, placeholders: dict, resolve, source: str, indexing: bool = False):
        self.source = source
        self.indexing = indexing
        self.known = known
        self.placeholders = placeholders
        self.resolve = resolve
        self.count = 0

    def build(self, node: ast.AST, depth: int) -> F.Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise FormulaSyntaxError(f"a formula of more than {MAX_NODES} parts")
        if depth > MAX_TREE_DEPTH:  # a long chain a*b*c*… is deep as a tree, flat as text
            raise FormulaSyntaxError(f"a formula nested more than {MAX_TREE_DEPTH} deep")
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise FormulaSyntaxError(f"{_describe(node)} is not allowed in a formula")
        return method(node, depth + 1)

    def _BinOp(self, node: ast.BinOp, depth: int) -> F.Node:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise FormulaSyntaxError(f"the operator {type(node.op).__name__} is not allowed "
                                     "(use + - * / @ **)")
        left = self.build(node.left, depth)
        right = self.build(node.right, depth)
        if op == "**" and left == F.Name("e"):
            return F.call("exp", right)  # e**(-z) as written on paper
        if isinstance(left, F.Num) and isinstance(right, F.Num) and op in "+-*/":
            return _fold(op, left.value, right.value)  # 1/2 is the number one half
        if op == "**":
            _check_exponent(right)
            if _degree(left) * abs(right.value if isinstance(right, F.Num) else 1) > MAX_DEGREE:
                raise FormulaSyntaxError(f"powers of powers beyond degree {MAX_DEGREE}")
        return F.Bin(op, left, right)

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> F.Node:
        inner = self.build(node.operand, depth)
        if isinstance(node.op, ast.USub):
            return F.Num(-inner.value) if isinstance(inner, F.Num) else F.Neg(inner)
        if isinstance(node.op, ast.UAdd):
            return inner
        raise FormulaSyntaxError(f"the operator {type(node.op).__name__} is not allowed")

    def _Constant(self, node: ast.Constant, depth: int) -> F.Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FormulaSyntaxError(f"{_short(repr(value))} is not a number")
        if isinstance(value, int) and abs(value) > MAX_CONSTANT:
            raise FormulaSyntaxError(f"the number {_short(str(value))} is too large (limit {MAX_CONSTANT:g})")
        written = (ast.get_source_segment(self.source, node) or repr(value)).replace("_", "")
        if len(written) > MAX_CONSTANT_CHARS or value != value or abs(value) > MAX_CONSTANT:
            raise FormulaSyntaxError(f"the number {_short(written)} is out of range (limit {MAX_CONSTANT:g})")
        try:
            exact = Fraction(written)  # the digits as written: 0.1 is 1/10, not a binary float
        except ValueError:
            exact = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
        if exact and abs(exact) < Fraction(1, MAX_CONSTANT):
            raise FormulaSyntaxError(f"the number {_short(written)} is out of range (limit {MAX_CONSTANT:g})")
        return F.Num(exact)

    def _Name(self, node: ast.Name, depth: int) -> F.Node:
        name = self.placeholders.get(node.id, node.id)
        if self.resolve is not None:
            name = self.resolve(name) or name
        if name in self.known or name in CONSTANTS:
            return F.Name(name)
        if name in FUNCTIONS or name in ALIASES:
            raise FormulaSyntaxError(f"{name} is a function: write {name}(…)")
        raise FormulaSyntaxError(f"unknown name {_short(name)!r}")

    def _Attribute(self, node: ast.Attribute, depth: int) -> F.Node:
        if node.attr != "T":
            raise FormulaSyntaxError(f"'.{_short(node.attr)}' is not allowed (only .T, the transpose)")
        return F.T(self.build(node.value, depth))

    def _Call(self, node: ast.Call, depth: int) -> F.Node:
        if not isinstance(node.func, ast.Name):
            raise FormulaSyntaxError("only plain function names can be called, e.g. relu(z1)")
        if node.keywords:
            raise FormulaSyntaxError("keyword arguments are not allowed")
        fn = ALIASES.get(node.func.id, node.func.id)
        if node.func.id == "transpose":
            fn = "transpose"
        if fn not in FUNCTIONS and fn != "transpose":
            raise FormulaSyntaxError(f"unknown function {_short(node.func.id)!r}")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise FormulaSyntaxError("*arguments are not allowed")
        args = [self.build(a, depth) for a in node.args]
        if fn == "transpose":
            if len(args) != 1:
                raise FormulaSyntaxError("transpose takes one argument")
            return F.T(args[0])
        low, high = FUNCTIONS[fn]
        if not low <= len(args) <= high:
            raise FormulaSyntaxError(f"{fn} takes {low if low == high else f'{low} or {high}'} argument"
                                     f"{'s' if high > 1 else ''}, not {len(args)}")
        if fn in ("softplus", "leaky_relu", "elu", "step") and len(args) == 2:
            if not isinstance(args[1], F.Num) or (fn == "softplus" and args[1].value <= 0):
                raise FormulaSyntaxError(f"{fn}'s second argument must be a number"
                                         + (" above 0" if fn == "softplus" else ""))
        if fn == "max":
            return _max(args)
        if fn in ("sum", "mean", "softmax") and len(args) == 2:
            if not (isinstance(args[1], F.Num) and args[1].value in (0, 1)):
                raise FormulaSyntaxError(f"{fn}'s second argument is an axis: 0 or 1")
        if fn == "eye" and not (args[0] in (F.Name("N"), F.Name("K")) or (
                isinstance(args[0], F.Num) and args[0].value.denominator == 1 and 1 <= args[0].value <= 1024)):
            raise FormulaSyntaxError("eye(n) takes N, K or a whole number n from 1 to 1024")
        return F.Call(fn, tuple(args))

    def _Tuple(self, node, depth):
        raise FormulaSyntaxError("a tuple (a comma outside a call) is not allowed")

    def _Subscript(self, node: ast.Subscript, depth: int) -> F.Node:
        if not self.indexing:
            raise FormulaSyntaxError("indexing [...] is not allowed in a formula")
        positions = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if not 1 <= len(positions) <= 2:
            raise FormulaSyntaxError("an index is one or two whole numbers: v[0], A[1, 0]")
        at = tuple(_position(p) for p in positions)
        arg = self.build(node.value, depth)
        if isinstance(arg, F.Num):
            raise FormulaSyntaxError("a number cannot be indexed")
        return F.Index(arg, at)

    def _List(self, node: ast.List, depth: int) -> F.Node:
        if not self.indexing:
            raise FormulaSyntaxError("a list is not allowed in a formula")
        if not node.elts:
            raise FormulaSyntaxError("an empty list [] is not a value")
        rows = [isinstance(e, ast.List) for e in node.elts]
        if any(rows) and not all(rows):
            raise FormulaSyntaxError("a matrix [[…], […]] has lists for all its rows, not some")
        if all(rows):
            if any(isinstance(x, ast.List) for e in node.elts for x in e.elts):
                raise FormulaSyntaxError("lists nest at most two deep (a matrix)")
            if len({len(e.elts) for e in node.elts}) > 1:
                raise FormulaSyntaxError("the rows of a matrix [[…], […]] must be equally long")
        return F.Stack(tuple(self.build(e, depth) for e in node.elts))


def _position(node: ast.AST) -> int:
    """A constant, non-negative whole-number index."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        raise FormulaSyntaxError("negative indices are not allowed: indices count from 0")
    if isinstance(node, ast.Slice):
        raise FormulaSyntaxError("slices [a:b] are not allowed: index one entry, v[0] or A[1, 0]")
    if not isinstance(node, ast.Constant) or isinstance(node.value, bool) or not isinstance(node.value, int):
        raise FormulaSyntaxError("an index must be a whole number written out (v[0], A[1, 0]), "
                                 "not a name or a formula")
    if node.value > MAX_INDEX:
        raise FormulaSyntaxError(f"index {_short(str(node.value))} is too large (limit {MAX_INDEX})")
    return node.value


def _fold(op: str, a: Fraction, b: Fraction) -> F.Num:
    if op == "/" and b == 0:
        raise FormulaSyntaxError("division by zero")
    value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else a}[op]
    if abs(value) > MAX_CONSTANT or (value and abs(value) < Fraction(1, MAX_CONSTANT)):
        raise FormulaSyntaxError(f"a constant out of range (limit {MAX_CONSTANT:g})")
    return F.Num(value)


def _max(args: list) -> F.Node:
    """max(0, a) and max(a, 0) are relu(a); other maxima are elementwise."""
    a, b = args
    if a == F.Num(Fraction(0)):
        return F.call("relu", b)
    if b == F.Num(Fraction(0)):
        return F.call("relu", a)
    return F.Call("max", (a, b))


def _degree(node: F.Node) -> Fraction:
    """How far nested powers raise the degree (products add, powers multiply)."""
    if isinstance(node, F.Bin) and node.op == "**" and isinstance(node.right, F.Num):
        return _degree(node.left) * abs(node.right.value)
    if isinstance(node, F.Bin) and node.op in "*@":
        return _degree(node.left) + _degree(node.right)
    children = F.children(node)
    return max((_degree(c) for c in children), default=Fraction(1))


def _check_exponent(node: F.Node) -> None:
    value = node.value if isinstance(node, F.Num) else (
        -node.arg.value if isinstance(node, F.Neg) and isinstance(node.arg, F.Num) else None)
    if value is None:
        raise FormulaSyntaxError("an exponent must be a number, e.g. ** 2")
    if abs(value) > MAX_EXPONENT:
        raise FormulaSyntaxError(f"exponent {value} is too large (|p| <= {MAX_EXPONENT})")


def _describe(node: ast.AST) -> str:
    return {"Subscript": "indexing [...]", "Lambda": "a lambda", "Compare": "a comparison",
            "BoolOp": "and/or", "IfExp": "if/else", "Dict": "a dict", "List": "a list", "Set": "a set",
            "ListComp": "a comprehension", "GeneratorExp": "a generator", "DictComp": "a comprehension",
            "SetComp": "a comprehension", "JoinedStr": "an f-string", "NamedExpr": "':='",
            "Await": "await", "Yield": "yield", "Starred": "*"}.get(type(node).__name__, type(node).__name__)


def _short(s: str) -> str:
    return s if len(s) <= 30 else s[:27] + "..."
