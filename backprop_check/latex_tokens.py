"""Tokenize a student's LaTeX formula for `latex_syntax`: a whitelist, nothing expanded.

TeX itself is a programming language (`\\def`, `\\input`, `\\csname` …), so
this is not TeX: it is a small, hand-written scanner for the math that
students write in backpropagation answers. It reads the text once, left to
right (linear time, no backtracking regexes), and turns it into a list of
`Token(kind, value, src)`:

  num 0.5 · word W, ReLU · name delta, y_hat, l · func tanh, sigmoid ·
  op + - * / juxt , . · rel = < > <= >= · open ( [ · close ) ] · { } ^ _ & ·
  rowsep (\\\\) · prime · transpose · bar | ‖ · begin/end (environment) ·
  cmd frac sqrt partial sum · accent hat tilde bar · ones · text (a \\text
  word) · otherwise · undefined

Spacing, sizing and font commands (`\\,`, `\\left`, `\\mathbf` …) leave no
token: a font's braces remain, as a group. Any command not in the tables
below is rejected with a message that names it; the dangerous ones (`\\input`,
`\\def` …) with a message of their own. A hand-written scanner was chosen
over pylatexenc: the whitelist, the messages and the few special forms
(`\\text{…}` words, `\\mathbb{1}`, `{,}` decimal commas) would need as much
code around pylatexenc's node walker as this scanner is, plus a dependency.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from .errors import shortened
from .formula_syntax import MAX_CONSTANT_CHARS, MAX_DEPTH, MAX_LENGTH

MAX_TOKENS = 1000


class LatexSyntaxError(ValueError):
    """The LaTeX is not a formula bpcheck reads; the message says what was not understood."""


class Token(NamedTuple):
    kind: str
    value: str
    src: str  # as written, for messages


GREEK = {g: g for g in (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa mu nu xi pi rho tau upsilon phi chi "
    "psi omega Gamma Delta Theta Xi Pi Sigma Upsilon Phi Psi Omega").split()}
GREEK.update({"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi", "varrho": "rho",
              "lambda": "lam", "Lambda": "Lam",  # `lambda` is a Python keyword: the plain parser cannot read it
              "ell": "l"})
FUNCTION_COMMANDS = {"tanh": "tanh", "exp": "exp", "log": "log", "ln": "log", "max": "max",
                     "sigma": "sigmoid", "sqrt": "sqrt"}
OPERATOR_COMMANDS = {"odot": ("op", "*"), "circ": ("op", "*"), "oslash": ("op", "/"), "div": ("op", "/"),
                     "cdot": ("op", "juxt"), "times": ("op", "juxt"),
                     "ge": ("rel", ">="), "geq": ("rel", ">="), "geqslant": ("rel", ">="), "gt": ("rel", ">"),
                     "le": ("rel", "<="), "leq": ("rel", "<="), "leqslant": ("rel", "<="), "lt": ("rel", "<"),
                     "top": ("transpose", "T"), "intercal": ("transpose", "T"), "prime": ("prime", "'"),
                     "|": ("bar", "‖"), "Vert": ("bar", "‖"), "lVert": ("bar", "‖"), "rVert": ("bar", "‖"),
                     "vert": ("bar", "|"), "lvert": ("bar", "|"), "rvert": ("bar", "|"), "\\": ("rowsep", "")}
STRUCTURE_COMMANDS = {"frac": "frac", "dfrac": "frac", "tfrac": "frac", "sqrt": "sqrt", "partial": "partial",
                      "sum": "sum"}
ACCENTS = {"hat": "hat", "widehat": "hat", "tilde": "tilde", "widetilde": "tilde", "bar": "bar"}
IGNORED = set("left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr middle displaystyle "
              "textstyle limits nolimits quad qquad enspace thinspace".split()) | set(",;:!> ")
SIZED = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
         "Biggl", "Biggr", "middle"}  # `\left.` is an invisible delimiter: its dot goes too
FONTS = set("mathbf boldsymbol bm mathrm mathit mathsf mathnormal mathtt mathcal pmb".split())
TEXTS = set("text textrm textit textbf textsf textnormal textup mbox operatorname".split())
ENVIRONMENTS = {"bmatrix", "pmatrix", "matrix", "smallmatrix", "cases", "dcases"}
FORBIDDEN = set("input include def edef gdef xdef newcommand renewcommand providecommand csname endcsname "
                "catcode write immediate read openin openout closein closeout let futurelet expandafter "
                "usepackage documentclass special jobname loop makeatletter newenvironment renewenvironment "
                "verbatiminput lstinputlisting includegraphics href url InputIfFileExists".split())
HINTS = {name: "write every entry" for name in ("cdots", "ldots", "vdots", "ddots", "dots")}
HINTS.update({"nabla": "write the derivative as \\frac{\\partial \\ell}{\\partial W}",
              "langle": "inner products are not read: write the product"})
FILLER = {"", "if", "where", "for", "when", "and", "with", "s.t.", "is", "since", "so"}
OTHERWISE = {"otherwise", "else", "otherwise.", "else."}
TEXT_FUNCTIONS = {"diag", "relu", "ReLU", "softmax", "sigmoid", "tanh", "exp", "log", "max", "softplus"}
UNICODE = {"ᵀ": ("transpose", "T"), "⊤": ("transpose", "T"), "⊙": ("op", "*"), "∘": ("op", "*"),
           "·": ("op", "juxt"), "⋅": ("op", "juxt"), "×": ("op", "juxt"), "−": ("op", "-"),
           "ŷ": ("name", "y_hat"), "ℓ": ("name", "l"), "∂": ("cmd", "partial"), "∑": ("cmd", "sum"),
           "≥": ("rel", ">="), "≤": ("rel", "<="), "‖": ("bar", "‖"), "𝟙": ("ones", ""), "′": ("prime", "'"),
           "σ": ("func", "sigmoid")}
CHARS = {"+": "op", "-": "op", "*": "op", "/": "op", ",": "op", ".": "op", ";": "op", ":": "op",
         "=": "rel", "<": "rel", ">": "rel", "(": "open", "[": "open", ")": "close", "]": "close",
         "{": "{", "}": "}", "^": "^", "_": "_", "&": "&", "'": "prime", "|": "bar"}

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}  # \frac in "…" YAML is a form feed + rac
LOST = {"rac": "\\frac", "egin": "\\begin", "ext": "\\text"}  # what is left of them when the escape was dropped
_SCAN = re.compile(r"(?P<space>[ \t\r\n~]+)|(?P<num>[0-9]+(?:\{,\}[0-9]+)*(?:\.[0-9]+)?|\.[0-9]+)"
                   r"|(?P<word>[A-Za-z]+[0-9]*)|(?P<cmd>\\(?:[A-Za-z]+|[\s\S]))|(?P<comment>%[^\n]*)|(?P<char>[\s\S])")
_ONE = re.compile(r"\s*(?:\{\s*1\s*\}|1(?![0-9.]))")  # \mathbb{1}, \mathbf 1
_ENV = re.compile(r"\s*\{([A-Za-z*]{1,20})\}")
_DOT = re.compile(r"\s*\.")


def tokenize(text: str) -> list[Token]:
    """The tokens of `text` (already unwrapped from $…$), or LatexSyntaxError."""
    tokens: list[Token] = []
    pos, depth, braces = 0, 0, 0
    while pos < len(text):
        m = _SCAN.match(text, pos)
        kind, src = m.lastgroup, m.group()
        pos = m.end()
        if kind == "cmd":
            new, pos = _command(src[1:], text, pos)
        elif kind == "num":
            new = [Token("num", _number(src), src)]
        elif kind == "word":
            new = [Token("word", src, src)]
        elif kind == "char":
            new = _char(src)
        else:
            new = []  # spaces and % comments
        for tok in new:
            braces += (tok.kind == "{") - (tok.kind == "}")
            depth += (tok.kind in ("{", "open", "begin")) - (tok.kind in ("}", "close", "end"))
            if braces < 0:
                raise LatexSyntaxError("unbalanced braces: a `}` closes nothing")
            if depth > MAX_DEPTH:
                raise LatexSyntaxError(f"brackets and braces nested more than {MAX_DEPTH} deep")
            depth = max(depth, 0)
        tokens.extend(new)
        if len(tokens) > MAX_TOKENS:
            raise LatexSyntaxError(f"a formula of more than {MAX_TOKENS} symbols")
    if braces:
        raise LatexSyntaxError("unbalanced braces: a `{` is never closed")
    return tokens


def _command(name: str, text: str, pos: int) -> tuple[list[Token], int]:
    src = "\\" + name
    if name in FORBIDDEN:
        raise LatexSyntaxError(f"`{src}` is not allowed in an answer")
    if name in IGNORED:
        if name in SIZED and (m := _DOT.match(text, pos)):
            pos = m.end()
        return [], pos
    if name in FONTS or name == "mathbb":
        m = _ONE.match(text, pos)
        if m:
            return [Token("ones", "", src + m.group().strip())], m.end()
        if name == "mathbb":
            raise LatexSyntaxError(f"`{src}{_peek(text, pos)}` is not supported here")
        return [], pos  # the font goes; its {…} stays as a group
    if name in TEXTS:
        return _text(name, text, pos)
    if name in ("begin", "end"):
        m = _ENV.match(text, pos)
        if not m:
            raise LatexSyntaxError(f"`{src}` needs an environment name in braces, e.g. {src}{{bmatrix}}")
        if m.group(1) not in ENVIRONMENTS:
            raise LatexSyntaxError(f"`\\begin{{{m.group(1)}}}` is not supported here "
                                   "(matrices: bmatrix, pmatrix, matrix; definitions: cases)")
        return [Token(name, m.group(1), f"{src}{{{m.group(1)}}}")], m.end()
    for table, kind in ((GREEK, "name"), (STRUCTURE_COMMANDS, "cmd"), (FUNCTION_COMMANDS, "func"),
                        (ACCENTS, "accent")):
        if name in table:
            return [Token(kind, table[name], src)], pos
    if name in OPERATOR_COMMANDS:
        kind, value = OPERATOR_COMMANDS[name]
        return [Token(kind, value, src)], pos
    if name == "_":
        return [Token("_", "_", src)], pos  # Y\_out, as formulas.to_latex escapes names
    hint = HINTS.get(name)
    shown = src if len(src) <= 30 else src[:27] + "..."
    raise LatexSyntaxError(f"`{shown}` is not supported here" + (f": {hint}" if hint else ""))


def _text(name: str, text: str, pos: int) -> tuple[list[Token], int]:
    """\\text{…}: words, read by what they say (a function, filler, 'otherwise', a name part)."""
    start = pos
    while start < len(text) and text[start] in " \t\r\n":
        start += 1
    if start >= len(text) or text[start] != "{":
        raise LatexSyntaxError(f"`\\{name}` needs its words in braces: \\{name}{{…}}")
    level, end = 0, start
    for end in range(start, len(text)):  # the matching brace, nested braces counted
        level += (text[end] == "{") - (text[end] == "}")
        if level == 0:
            break
    if level:
        raise LatexSyntaxError("unbalanced braces: a `{` is never closed")
    raw = text[start + 1:end]
    src = f"\\{name}{{{raw}}}"
    words = raw.replace("\\_", "_").replace("\\ ", " ").strip()
    if words in FILLER or (words.startswith("(") and words.endswith(")")):
        return [], end + 1  # "if", or a remark such as "(A vector)": not part of the value
    if words.lower() in OTHERWISE:
        return [Token("otherwise", words, src)], end + 1
    if words.startswith("undefined"):
        return [Token("undefined", words, src)], end + 1
    if words.startswith("if ") or words.startswith("for "):
        raise LatexSyntaxError(f"`{shortened(src)}`: write the condition in math, e.g. \\text{{if }} z > 0")
    if words in TEXT_FUNCTIONS or (name == "operatorname" and re.fullmatch(r"[A-Za-z_]{1,20}", words)):
        return [Token("word", words, src)], end + 1
    return [Token("text", words, src)], end + 1


def _char(c: str) -> list[Token]:
    if c in CHARS:
        return [Token(CHARS[c], c, c)]
    if c in UNICODE:
        kind, value = UNICODE[c]
        return [Token(kind, value, c)]
    if c in "²³":
        return [Token("^", "^", c), Token("num", "23"[c == "³"], c)]
    greek = _greek(c)
    if greek:
        return [Token("name", greek, c)]
    if c == "$":
        raise LatexSyntaxError("`$` inside a formula is not supported here (one $…$ around it all)")
    if not c.isprintable():
        raise LatexSyntaxError(f"the control character U+{ord(c):04X} is not allowed in a formula")
    raise LatexSyntaxError(f"`{c}` is not supported here")


def _greek(c: str) -> str | None:
    """δ → delta, Δ → Delta: the same names as \\delta, \\Delta."""
    name = unicodedata.name(c, "")
    for prefix, case in (("GREEK SMALL LETTER ", str.lower), ("GREEK CAPITAL LETTER ", str.capitalize)):
        if name.startswith(prefix):
            return GREEK.get(case(name[len(prefix):]))
    return None


def _number(src: str) -> str:
    """Digits as written; `{,}` is a decimal comma (0{,}5) or, repeated, a thousands separator."""
    if "{,}" not in src:
        return _checked(src)
    head, *groups = src.split("{,}")
    last, dot, frac = groups[-1].partition(".")
    if len(groups) == 1 and not dot:
        if len(last) == 3 and head[0] != "0" and len(head) <= 3:
            raise LatexSyntaxError(f"`{src}` could be a thousand or a decimal: write it with a point or "
                                   "without the comma")
        return _checked(f"{head}.{last}")
    if all(len(g) == 3 for g in groups[:-1] + [last]):
        return _checked(head + "".join(groups[:-1]) + last + dot + frac)
    raise LatexSyntaxError(f"cannot read the number `{src}`")


def _checked(digits: str) -> str:
    if len(digits) > MAX_CONSTANT_CHARS:
        raise LatexSyntaxError(f"the number {digits[:20]}… is too long")
    return digits


def _peek(text: str, pos: int) -> str:
    return shortened(text[pos:pos + 12].split("}")[0] + "}") if "}" in text[pos:pos + 12] else ""


def check_text(text) -> str:
    """Text of bounded length, without control characters (NUL …), NFC (y + ◌̂ is ŷ)."""
    if not isinstance(text, str):
        raise LatexSyntaxError("a formula must be text")
    if len(text) > MAX_LENGTH:
        raise LatexSyntaxError(f"a formula of {len(text)} characters; the limit is {MAX_LENGTH}")
    text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)  # no-break spaces
    bad = next((c for c in text if not c.isprintable() and c not in "\t\r\n"), None)
    if bad is not None:
        escape = _ESCAPES.get(bad)
        raise LatexSyntaxError(f"the control character U+{ord(bad):04X} is not allowed in a formula" + (
            f" (was the `{escape}` of a command read as a string escape? In YAML use single quotes)"
            if escape else ""))
    return unicodedata.normalize("NFC", text)


class Cursor:
    """A position in a token list, for the recursive-descent parser (`latex_syntax`)."""

    def __init__(self, tokens: list[Token]):
        self.tokens, self.at = tokens, 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise LatexSyntaxError("the formula ends too early: a value is missing")
        self.at += 1
        return tok

    def is_(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == kind and (value is None or tok.value == value)

    def expect(self, kind: str, value: str, what: str) -> None:
        if not self.is_(kind, value):
            tok = self.peek()
            raise LatexSyntaxError(f"{what}, found {f'`{shortened(tok.src)}`'}" if tok else f"{what}: the formula ends first")
        self.at += 1

    def single(self) -> list[Token]:
        """One TeX argument: a {group}'s tokens, or a single token (of `23`, only the `2`)."""
        tok = self.take()
        if tok.kind == "{":
            start, level = self.at, 1
            while level:
                level += self.is_("{") - self.is_("}")
                self.take()
            return self.tokens[start:self.at - 1]
        if tok.kind in ("num", "word") and len(tok.value) > 1:
            self.at -= 1
            self.tokens[self.at] = Token(tok.kind, tok.value[1:], tok.src[1:])
            return [Token(tok.kind, tok.value[0], tok.src[0])]
        return [tok]
