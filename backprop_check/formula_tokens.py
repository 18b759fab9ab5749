"""Split formula text (untrusted, already ASCII) into tokens for `formula_syntax`.

A token is (kind, text, position): `num` (a decimal, `.5`, `1e-3`), `name`
(an identifier, possibly a placeholder `_q0` for a derivative name), `op`
(`+ - * / @ ** ^ ( ) [ ] , : '`) or `attr` (`.T`, `.real`: a dot and the name
after it). Letters right after digits start a new token, so `2x` is `2` `x`
(the parser reads that as a product). Every character outside this small
alphabet is refused here, with a message that names it and says what to
write instead, never with a Python parser's words.
"""

from __future__ import annotations

import re

MAX_TOKENS = 2000  # the text is at most 2000 characters: one token per character at worst

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ATTR = re.compile(r"\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_SPACE = " \t\r\n"
_OPS = ("**", "+", "-", "*", "/", "@", "^", "(", ")", "[", "]", ",", ":", "'")

# What students (or attackers) type that a formula has no use for, and what to say about it.
_REFUSED = {
    "//": "'//' is not allowed (use / for division)",
    "=": "'=' is not allowed: write only the formula, without a left-hand side or a comparison",
    "<": "a comparison ('<', '>') is not allowed",
    ">": "a comparison ('<', '>') is not allowed",
    "%": "'%' is not allowed (use + - * / @ ^)",
    "|": "'|' is not allowed (write sum(v ^ 2) for a squared norm)",
    "&": "'&' is not allowed (use + - * / @ ^)",
    "~": "'~' is not allowed (use + - * / @ ^)",
    "!": "'!' is not allowed (no factorials or negations in a formula)",
    ";": "';' is not allowed: a formula is one expression",
    "{": "braces { } are not allowed (use parentheses)",
    "}": "braces { } are not allowed (use parentheses)",
    '"': "quotes are not allowed in a formula",
    "`": "backquotes are not allowed in a formula",
    "#": "'#' is not allowed in a formula",
    "$": "'$' is not allowed here (LaTeX answers go in $...$ as a whole)",
    "\\": "a backslash is not allowed here (LaTeX is read only as a whole answer)",
    "?": "'?' is not allowed in a formula",
}


class TokenError(ValueError):
    """The text holds something no formula can; the message says what."""


def tokens(text: str) -> list:
    """The tokens of `text`, in order; TokenError for a character no formula has."""
    out: list = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            i += 1
            continue
        m = _NUMBER.match(text, i)
        if m and (c.isdigit() or c == "."):
            if text.startswith(".", m.end()) and m.end() + 1 < n and text[m.end() + 1].isdigit():
                raise TokenError(f"{text[i:m.end() + 2]}… is not a number (two decimal points)")
            out.append(("num", m.group(), i))
            i = m.end()
            continue
        if c == ".":
            m = _ATTR.match(text, i)
            if not m:
                raise TokenError(f"a '.' that is not part of a number or of .T (at character {i + 1})")
            out.append(("attr", m.group(1), i))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            out.append(("name", m.group(), i))
            i = m.end()
            continue
        refused = next((k for k in sorted(_REFUSED, key=len, reverse=True) if text.startswith(k, i)), None)
        if refused:
            raise TokenError(_REFUSED[refused])
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op is None:
            raise TokenError(f"character {c!r} is not allowed in a formula")
        out.append(("op", op, i))
        i += len(op)
        if len(out) > MAX_TOKENS:
            raise TokenError("a formula of too many parts")
    return out
