"""Read a student's LaTeX formula into bpcheck's plain formula syntax (text).

`translate(r"2(\\hat{y} - y)^T")` is `"(2) ((y_hat - y).T)"`, which
`formula_syntax.parse` then parses: this module never evaluates anything and
never uses a LaTeX-to-sympy converter (they evaluate, fold case and drop
transposes). `latex_tokens` scans the text against a whitelist; a recursive
descent parser, bounded by the same depth as formula_syntax, builds the plain
text piece by piece, each piece tagged with its kind so that brackets are
added where the plain syntax needs them.

Conventions of the output: `*` elementwise (`\\odot`, `\\circ`), `/`, `**`
power, `.T` transpose, and juxtaposition (`2(…)`, `\\delta_2 Z_1^T`,
`\\cdot`, `\\times`) as the operands separated by a space, each bracketed
unless a name, a call, a bracket or a derivative name: the plain syntax reads
that as the product by shape. No `@` is ever written: a product of matrices is
a juxtaposition. Names keep their subscripts and layer superscripts with an
underscore (`W^{(2)}` → `W_2`); formula_syntax resolves them to the spec's
names. The README's section on LaTeX answers lists every rule.
"""

from __future__ import annotations

import re

from .errors import shortened
from .formula_syntax import MAX_DEPTH
from .latex_pieces import (ATOM, BARE, SIDES, Piece, combine, compare, divide, group, matrix, missing,
                           piecewise, raise_to, stray, strip, sum_index, transpose, used, wrap)
from .latex_tokens import LOST, Cursor, LatexSyntaxError, Token, check_text, tokenize

__all__ = ["LatexSyntaxError", "looks_like_latex", "translate"]

WORD_FUNCTIONS = {"relu": "relu", "ReLU": "relu", "Relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh",
                  "exp": "exp", "log": "log", "ln": "log", "softmax": "softmax", "diag": "diag", "max": "max",
                  "sum": "sum", "mean": "mean", "sqrt": "sqrt", "abs": "abs", "softplus": "softplus",
                  "step": "step", "H": "step", "leaky_relu": "leaky_relu", "elu": "elu", "gelu": "gelu",
                  "erf": "erf", "eye": "eye", "ones": "ones"}
_PREFIX = re.compile(r"(?:step|sample)[1-9][0-9]{0,3}")
_WRAPS = [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")]


def looks_like_latex(text: str) -> bool:
    """Wrapped in $…$, $$…$$, \\(…\\), \\[…\\], or holding a backslash command."""
    if not isinstance(text, str):
        return False
    s = text.strip()
    return "\\" in s or (len(s) >= 2 and s[0] == "$" and s[-1] == "$")


def translate(text: str) -> str:
    """The plain-syntax text of a LaTeX formula, or LatexSyntaxError naming what was not understood."""
    tokens = tokenize(_unwrap(check_text(text)))
    while tokens and tokens[-1].kind == "op" and tokens[-1].value in ",.;":
        tokens.pop()  # "… = 2(ŷ - y)^T." ends a sentence, not the value
    if not tokens:
        raise LatexSyntaxError("the formula is empty")
    return used(_Parser(tokens).whole()).text


def _unwrap(text: str) -> str:
    s = text.strip()
    for a, b in _WRAPS:
        if s.startswith(a) and s.endswith(b) and len(s) >= len(a) + len(b):
            return s[len(a):len(s) - len(b)]
    return s


class _Parser(Cursor):
    """The grammar: each method reads one construct and returns its piece of plain text."""

    def __init__(self, tokens: list[Token], depth: int = 0, index: frozenset = frozenset()):
        super().__init__(tokens)
        self.depth = depth
        self.index = index  # the letters a \sum runs over: y_i in its summand is y
        self.bars: list[str] = []  # open |…| and ‖…‖: the next such bar closes

    def sub(self, tokens: list[Token], what: str) -> Piece:
        """Parse an argument's tokens as one expression (a fresh parser, one level deeper)."""
        if not tokens:
            raise LatexSyntaxError(f"{what} is empty")
        return _Parser(tokens, self.depth + 1, self.index).whole()

    # ------------------------------------------------------------ grammar
    def whole(self) -> Piece:
        piece = self.expr()
        if self.peek() is not None:
            stray(self.peek())
        return piece

    def expr(self) -> Piece:
        piece = self.term()
        while self.is_("op", "+") or self.is_("op", "-"):
            op = self.take().value
            right = self.term()
            right = used(right).text if right.kind != "sum" else f"({right.text})"  # a cases sum
            piece = Piece(f"{used(piece).text} {op} {right}", "sum")
        return piece

    def term(self) -> Piece:
        piece = self.unary()
        while True:
            tok = self.peek()
            if tok is not None and tok.kind == "op" and tok.value in ("*", "/", "juxt"):
                self.take()
                piece = combine(piece, tok.value, self.unary())
            elif tok is not None and self.starts_value(tok):
                piece = combine(piece, "", self.unary())
            else:
                return piece

    def unary(self) -> Piece:
        signs = 0
        while self.is_("op", "-") or self.is_("op", "+"):
            signs += self.take().value == "-"  # a loop, not recursion: ------x is not deep
        piece = self.postfix()
        if signs % 2:
            return Piece("-" + wrap(used(piece), BARE | {"num", "postfix", "power"}), "neg")
        return piece

    def starts_value(self, tok: Token) -> bool:
        if tok.kind == "bar":
            return not (self.bars and self.bars[-1] == tok.value)
        return tok.kind in ("num", "word", "name", "func", "open", "{", "begin", "ones", "cmd", "accent",
                            "text", "otherwise", "undefined")

    def postfix(self) -> Piece:
        """A value and what follows it: scripts, primes, ᵀ, a function's arguments."""
        self.depth += 1  # every nesting passes here: brackets, \frac, \sqrt, \tanh \tanh x …
        if self.depth > MAX_DEPTH:
            raise LatexSyntaxError(f"a formula nested more than {MAX_DEPTH} deep")
        try:
            return self.scripts(self.primary())
        finally:
            self.depth -= 1

    def scripts(self, piece: Piece) -> Piece:
        primed = False
        while True:
            if self.is_("^"):
                self.take()
                piece, primed = self.superscript(piece, primed)
            elif self.is_("_"):
                escaped = self.take().src == "\\_"  # Y\_out, as formulas.to_latex writes names: all of `out`
                piece = self.subscript(piece, [self.take()] if escaped and self.is_("word") else None)
            elif self.is_("prime"):
                self.take()
                primed = True
            elif self.is_("transpose"):
                self.take()
                piece = transpose(piece)
            elif (self.is_("open", "(") and primed) or (piece.kind == "func" and self.peek() is not None
                                                          and self.starts_value(self.peek())):
                piece, primed = self.apply(piece, primed), False
            else:
                return transpose(piece) if primed else piece  # W' is Wᵀ; f'(z) was a call

    def primary(self) -> Piece:
        tok = self.take()
        method = _PRIMARY.get(tok.kind)
        if method is None or (tok.kind == "bar" and self.bars and self.bars[-1] == tok.value):
            raise LatexSyntaxError(missing(tok))
        return method(self, tok)

    # ------------------------------------------------------------ primaries
    def number(self, tok: Token) -> Piece:
        return Piece(tok.value, "num")

    def word(self, tok: Token) -> Piece:
        if tok.value in LOST and self.is_("{"):
            raise LatexSyntaxError(f"`{tok.value}{{` looks like `{LOST[tok.value]}` with its backslash lost "
                                   "(a string escape): write the command in full")
        if tok.value in WORD_FUNCTIONS and self.is_("open", "("):
            return Piece(WORD_FUNCTIONS[tok.value], "func")
        return self.name(tok)

    def name(self, tok: Token) -> Piece:
        if _PREFIX.fullmatch(tok.value) and self.is_("op", ".") and self.at + 1 < len(self.tokens) \
                and self.tokens[self.at + 1].kind == "word":  # step1.W1, sample2.x: a state's or sample's name
            self.take()
            tok = Token("word", f"{tok.value}.{self.take().value}", tok.src)
        diff = tok.value[1:] if tok.value[:1] == "d" and tok.value[1:2].isalpha() else ""
        return Piece(tok.value, "name", diff=diff)

    def text(self, tok: Token) -> Piece:
        raise LatexSyntaxError(f"`{shortened(tok.src)}` is not understood here")

    def function(self, tok: Token) -> Piece:
        return Piece(tok.value, "func")

    def ones(self, tok: Token) -> Piece:
        if self.is_("_"):  # \mathbb{1}_N: N ones
            self.take()
            return Piece(f"ones({self.fragment(self.single(), '𝟙')})", "call")
        return Piece("ones", "name")

    def bracket(self, tok: Token) -> Piece:
        close = ")" if tok.value == "(" else "]"
        items = self.arguments(close, f"`{tok.src}`")
        if len(items) > 1:
            raise LatexSyntaxError(f"a list `{tok.src}a, b{close}` is not supported here: a vector is "
                                   "\\begin{bmatrix}…\\end{bmatrix}, arguments belong to a function")
        return group(items[0])

    def arguments(self, close: str, what: str) -> list[Piece]:
        items = [used(self.expr())]
        while self.is_("op", ","):
            self.take()
            items.append(used(self.expr()))
        self.expect("close", close, f"{what} is never closed by `{close}`")
        return items

    def brace(self, tok: Token) -> Piece:
        if self.is_("}"):
            raise LatexSyntaxError("empty braces `{}` are not a value")
        piece = self.expr()
        self.expect("}", "}", "a `{` is closed by something else")
        if piece.kind == "name" and piece.text in WORD_FUNCTIONS and self.is_("open", "("):
            return Piece(WORD_FUNCTIONS[piece.text], "func")  # \mathrm{diag}(v)
        return piece if piece.kind in ATOM | {"num", "deriv", "partial", "func"} else group(piece)

    def bar(self, tok: Token) -> Piece:
        self.bars.append(tok.value)
        inner = used(self.expr())
        self.expect("bar", tok.value, f"`{tok.src}` is never closed")
        self.bars.pop()
        if tok.value == "|":
            return Piece(f"abs({inner.text})", "call")
        return self.norm(inner)

    def norm(self, inner: Piece) -> Piece:
        """‖v‖², ‖v‖_2^2, ‖V‖_F^2: the sum of squares, the only norm the plain syntax can write."""
        squared = False
        while self.is_("_") or self.is_("^"):
            script = self.take().kind
            value = "".join(t.value for t in self.single())
            if (script, value) not in (("_", "2"), ("_", "F"), ("^", "2")):
                raise LatexSyntaxError(f"a norm with `{script}{value}` is not supported here (‖v‖^2, ‖v‖_F^2)")
            squared = squared or script == "^"
        if not squared:
            raise LatexSyntaxError("a norm ‖v‖ is read only squared, ‖v‖^2 (the sum of squares)")
        return Piece(f"sum({wrap(inner, ATOM)}**2)", "call")

    def command(self, tok: Token) -> Piece:
        return _COMMANDS[tok.value](self, tok)

    def frac(self, tok: Token) -> Piece:
        top = self.sub(self.single(), "the numerator of \\frac")
        bottom = self.sub(self.single(), "the denominator of \\frac")
        return divide(top, bottom)

    def sqrt(self, tok: Token) -> Piece:
        if self.is_("open", "["):
            raise LatexSyntaxError("`\\sqrt[n]{…}` is not supported here (only the square root)")
        arg = used(self.sub(self.single(), "the argument of \\sqrt"))
        return Piece(f"sqrt({arg.text})", "call")

    def partial(self, tok: Token) -> Piece:
        if self.is_("^"):
            raise LatexSyntaxError("second derivatives `\\partial^2` are not supported here")
        of = self.postfix()
        if of.kind != "name":
            raise LatexSyntaxError("`\\partial` is read only before a quantity's name, as in "
                                   "\\frac{\\partial \\ell}{\\partial W_2}")
        return Piece("∂" + of.text, "partial", diff=of.text)

    def summation(self, tok: Token) -> Piece:
        """\\sum, \\sum_i, \\sum_{i=1}^{N} of a term: sum(term), its names' index i dropped (y_i is y)."""
        index = ""
        if self.is_("open", "("):  # \sum(A, 1): numpy's sum, with an axis (as formulas.to_latex writes it)
            return self.apply(Piece("sum", "func"), False)
        while self.is_("_") or self.is_("^"):
            script, arg = self.take().kind, self.single()
            if script == "_":
                index = sum_index(arg)
        summand = _Parser(self.tokens, self.depth + 1, self.index | {index} - {""})
        summand.at, summand.bars = self.at, self.bars
        piece = used(summand.term())
        self.at = summand.at
        return Piece(f"sum({piece.text})", "call")

    def accent(self, tok: Token) -> Piece:
        base = self.sub(self.single(), f"the argument of `{tok.src}`")
        if base.kind != "name":
            raise LatexSyntaxError(f"`{tok.src}` is read only over a name, e.g. \\hat{{y}}")
        return Piece(f"{base.text}_{tok.value}", "name")

    def environment(self, tok: Token) -> Piece:
        rows, row, end = [], [], Token("end", tok.value, "")
        cases = tok.value in ("cases", "dcases")
        while not self.is_("end"):  # rows of cells: `a & b \\ c & d`; a last `\\` may end it
            row.append(self.case() if cases else used(self.expr()))
            sep = self.take()
            if sep.kind == "rowsep" or sep.kind == "end":
                rows.append(row)
                row = []
            elif sep.kind != "&" or cases:
                raise LatexSyntaxError(f"`{shortened(sep.src)}` is not supported in `\\begin{{{tok.value}}}` "
                                       "(cells are separated by &, rows by \\\\)")
            if sep.kind == "end":
                end = sep
                break
        else:
            end = self.take()
        if end.value != tok.value:
            raise LatexSyntaxError(f"`\\begin{{{tok.value}}}` is closed by `{end.src}`")
        return piecewise(rows) if cases else matrix(rows, tok.value)

    def case(self) -> tuple:
        """One cases row: `value & condition` (`,` and `\\text{if}` allowed), as (value, side, against)."""
        value = self.take() if self.is_("undefined") else used(self.expr())
        if self.is_("op", ","):
            self.take()
        self.expect("&", "&", "a \\begin{cases} row is `value & condition`: the `&` is missing")
        if self.is_("otherwise"):
            self.take()
            condition = ("otherwise", "")
        else:
            left = used(self.expr())
            rel = self.take()
            if rel.kind != "rel" or rel.value not in SIDES:
                raise LatexSyntaxError(f"a condition compares with >, <, \\geq, \\leq or =; found `{shortened(rel.src)}`")
            condition = compare(left, SIDES[rel.value], used(self.expr()))
        while self.is_("op", ",") or self.is_("op", "."):
            self.take()
        return value, condition

    def misplaced(self, tok: Token) -> Piece:
        raise LatexSyntaxError(f"`{shortened(tok.src)}` is read only in a \\begin{{cases}} row")

    # ------------------------------------------------------------ scripts
    def superscript(self, piece: Piece, primed: bool) -> tuple[Piece, bool]:
        tokens = strip(self.single())
        kinds = [t.kind for t in tokens]
        if kinds == ["transpose"] or (len(tokens) == 1 and tokens[0].value == "T" and
                                      tokens[0].kind in ("word", "text")):
            return transpose(piece), primed
        if kinds == ["prime"]:
            return piece, True
        if len(tokens) == 1 and tokens[0].kind == "op" and tokens[0].value == "+":
            return Piece(f"relu({used(piece).text if piece.kind != 'group' else piece.text[1:-1]})", "call"), primed
        if (len(tokens) >= 3 and kinds[0] == "open" and kinds[-1] == "close" and piece.kind == "name"
                and all(k in ("num", "word", "name", "text") for k in kinds[1:-1])):
            return self.subscript(piece, tokens[1:-1], "the layer `^"), primed  # W^{(2)} is W_2
        power = self.sub(tokens, "the superscript")
        if piece.kind == "func":  # \tanh^2(z) is tanh(z)**2
            return raise_to(self.apply(piece, primed), power, tokens), False
        if piece.kind == "name" and piece.text == "e":
            return Piece(f"exp({power.text[1:-1] if power.kind == 'group' else power.text})", "call"), primed
        return raise_to(piece, power, tokens), primed

    def subscript(self, piece: Piece, tokens: list[Token] | None = None, what: str = "the subscript `_") -> Piece:
        tokens = self.single() if tokens is None else tokens
        if piece.kind not in ("name", "func") or (piece.kind == "func" and piece.text == "sigmoid"):
            raise LatexSyntaxError(f"a subscript on `{shortened(piece.text)}` is not supported here "
                                   "(subscripts belong to names: W_2)")
        part = self.fragment(tokens, f"{what}{{{shortened(''.join(t.src for t in tokens))}}}`")
        for i in self.index:  # in \sum_i: y_i is y, z_{3i} is z_3
            if part == i:
                return piece
            if part.endswith(i) and part[:-len(i)].isdigit():
                part = part[:-len(i)]
        return Piece(f"{piece.text}_{part}", piece.kind, diff=f"{piece.diff}_{part}" if piece.diff else "")

    def fragment(self, tokens: list[Token], what: str) -> str:
        """A name part: letters and digits (`2`, `out`, `\\text{gt}`, `\\ell`)."""
        tokens = strip(tokens)
        if not tokens or any(t.kind not in ("num", "word", "name", "text") for t in tokens):
            raise LatexSyntaxError(f"{what} is not supported here (a name's subscript is letters and digits)")
        part = "".join(t.value for t in tokens)
        if not re.fullmatch(r"[A-Za-z0-9_]{1,30}", part) or "__" in part:
            raise LatexSyntaxError(f"{what} is not supported here (a name's subscript is letters and digits)")
        return part

    def apply(self, piece: Piece, primed: bool) -> Piece:
        """f(x, y), or (for \\log x, \\exp z) the function of the next factor."""
        if not self.is_("open", "("):
            if self.peek() is None or not self.starts_value(self.peek()):
                raise LatexSyntaxError(f"the function {piece.text} needs its argument")
            arg = used(self.postfix())
            return Piece(f"{piece.text}{chr(39) if primed else ''}({arg.text})", "call")
        self.take()
        args = self.arguments(")", f"the `(` of {piece.text}")
        name = WORD_FUNCTIONS.get(piece.text, piece.text) if primed else piece.text
        return Piece(f"{name}{chr(39) if primed else ''}({', '.join(a.text for a in args)})", "call")


_PRIMARY = {"num": _Parser.number, "word": _Parser.word, "name": _Parser.name, "text": _Parser.text,
            "func": _Parser.function, "ones": _Parser.ones, "open": _Parser.bracket, "{": _Parser.brace,
            "bar": _Parser.bar, "cmd": _Parser.command, "accent": _Parser.accent,
            "begin": _Parser.environment, "otherwise": _Parser.misplaced, "undefined": _Parser.misplaced}
_COMMANDS = {"frac": _Parser.frac, "sqrt": _Parser.sqrt, "partial": _Parser.partial, "sum": _Parser.summation}
