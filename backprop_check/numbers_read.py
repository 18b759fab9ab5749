"""Numbers as students write them (FORMAT.md sections 3 and 8): untrusted text.

A numeric answer entry may be

- a plain number: a decimal, `1e-3` or a fraction `3/4` (`exact.parse_number`);
  a plain decimal also carries one unit of its last written decimal place,
  which the default tolerance grants (`tolerance.written_unit`);
- written arithmetic of numbers: `1 - 0.01*(5.7)`, `0.5*(3 - 1)`, `2^-3`, read
  by `formula_syntax.parse` with no names allowed and evaluated here exactly,
  over fractions (nothing is eval'd; a power, a function or a constant that
  leaves the rationals makes the text "not a written number");
- LaTeX (`\\frac{1}{4}`, `\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}`), which
  `latex_syntax.translate` turns into plain syntax (a matrix into a nested
  list literal) before it is read as above.

Only plainly written decimals earn the last-digit rule: arithmetic and LaTeX
fractions are exact as written, so their unit is 0. Entries of a LaTeX matrix
that are plain decimals keep theirs.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

import numpy as np

from . import formulas as F
from .errors import shortened
from .exact import MAX_NUMBER_CHARS, PLAIN_DECIMAL, NumberError, parse_number, plain_decimal
from .formula_syntax import FormulaSyntaxError, parse
from .tolerance import unit_of, written_unit


MAX_BITS = 4096  # numerator or denominator of an intermediate value: (10^15)^16 fits, towers do not
MAX_TEXT = 10_000
MAX_ENTRIES = 100_000


def plain(text: object) -> tuple[float, float]:
    """(value, unit of its last written decimal) of a plain number, or NumberError.

    A nonzero number that float64 would turn into 0 is refused, not zeroed;
    OverflowError for one too large for float64.
    """
    decimal = plain_decimal(text)
    if decimal is not None:
        # Nearly every entry: float() of the text is the correctly rounded value of n / 10**k,
        # as float() of that fraction is (but -0.0 is 0, as the fraction is); its at most
        # MAX_NUMBER_CHARS characters keep it far from float64's underflow and overflow.
        n, k = decimal
        value = float(text) if n else 0.0
        return value, unit_of(k if "." in text else None, value)
    exact = parse_number(text)
    value = float(exact)
    if value == 0.0 and exact != 0:
        raise NumberError(f"{str(text)[:40]} is too small for float64 (write 0 for zero)")
    return value, written_unit(str(text), value)


# A row of plain decimals, one a line (`plain_decimal`'s syntax), checked in one match
_PLAIN_ROW = re.compile(f"(?:{PLAIN_DECIMAL}\n)*", re.ASCII)


def plain_row(texts: list) -> tuple[list, list] | None:
    """(values, units) of a row whose every entry is a plain decimal string, as `plain` gives them
    entry by entry; None for any other row. An answer of 100,000 numbers is mostly such rows:
    one regex match and C maps instead of three Python calls an entry (0.5 s -> 0.15 s)."""
    if set(map(type, texts)) != {str} or max(map(len, texts)) > MAX_NUMBER_CHARS:
        return None
    lines = "\n".join(texts) + "\n"
    if lines.count("\n") != len(texts) or not _PLAIN_ROW.fullmatch(lines):  # (an entry may hold a newline)
        return None
    values = [float(t) or 0.0 for t in texts]  # (-0 is 0, as plain gives it)
    return values, [unit_of(len(t) - 1 - t.find("."), v) if "." in t else 0.0 for t, v in zip(texts, values)]


def scalar(text: object) -> tuple[float, float]:
    """One entry: a plain number, else written arithmetic (unit 0); NumberError if neither."""
    return entry(text)[:2]


def entry(text: object) -> tuple[float, float, bool]:
    """`scalar`, and whether the text is a plain number (arithmetic is not)."""
    try:
        return (*plain(text), True)
    except NumberError:
        if not isinstance(text, str):
            raise
    value = arithmetic(_plain_syntax(text))
    if value is None:
        raise NumberError(f"{shortened(text)!r} is not a number (write e.g. 0.25, -1e-3, 3/4 or 1 - 0.5*0.2)")
    return _float(value, text), 0.0, False


def written(text: str, propagate: bool = False):
    """A string answer that is not a plain number: (values, texts, units) if it is written
    arithmetic or a LaTeX number or matrix, else None (it is a formula). NumberError when it
    is a matrix whose entries cannot be read as numbers."""
    if len(text) > MAX_TEXT:
        return None
    source = _plain_syntax(text)
    if source is None:
        return None
    if source.lstrip().startswith("["):
        split = _split_matrix(source)
        if split is not None:
            return _matrix(split)
    value = arithmetic(source)
    if value is None:
        return _worked(source, propagate)
    return np.array(_float(value, text)), None, np.array(0.0)


def _worked(source: str, propagate: bool):
    """Arithmetic on typeset matrices (`[[1, 2]] ([[3, 4]]).T`): (values, None, units) or None.

    The rounding units propagated through products are for a write-up's steps only
    (`propagate`): as an answer's tolerance they could be made as large as one likes
    (50.5 * 9.5 - 478.6). An answer keeps the units of a typed matrix, or of its transpose."""
    from .numbers_worked import NotWorked, worked  # typeset matrices only: a file of numbers never needs it

    node = _parsed(source, True)
    if node is None:
        return None
    try:
        values, units = worked(node, source)
    except (NotWorked, RecursionError):
        return None
    if values.size > MAX_ENTRIES or not np.all(np.isfinite(values)):
        return None
    if not propagate and not isinstance(node.arg if isinstance(node, F.T) else node, F.Stack):
        units = np.zeros_like(units)
    return values, None, units


def arithmetic(source: str | None) -> Fraction | None:
    """The exact value of arithmetic of numbers, or None when `source` is anything else."""
    if source is None:
        return None
    try:
        node = _parsed(source, False)
        return None if node is None else _exact(node)
    except (FormulaSyntaxError, F.FormulaError, RecursionError, ValueError, ZeroDivisionError,
            OverflowError, TypeError):
        return None


@lru_cache(maxsize=1024)
def _parsed(source: str, indexing: bool) -> F.Node | None:
    """`source` parsed over no names, or None when it is no arithmetic. Once per text: every
    formula answer is first tried as written numbers, and a class writes the same formulas."""
    try:
        return parse(source, (), indexing=indexing)
    except (FormulaSyntaxError, RecursionError):
        return None


def _exact(node) -> Fraction | None:
    """Fold a tree of numbers and + - * / ** exactly; None for anything else."""
    if isinstance(node, F.Num):
        return Fraction(node.value)
    if isinstance(node, F.Neg):
        inner = _exact(node.arg)
        return None if inner is None else -inner
    if not isinstance(node, F.Bin) or node.op not in _OPS:
        return None  # a function, a name (pi, e), a transpose: not a number written by hand
    a, b = _exact(node.left), _exact(node.right)
    if a is None or b is None:
        return None
    value = _OPS[node.op](a, b)
    if value is not None and max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
        raise OverflowError("a number too large to be read")
    return value


def _power(a: Fraction, b: Fraction) -> Fraction | None:
    if b.denominator != 1:
        return None  # a root: not rational in general
    if a == 0 and b < 0:
        raise ZeroDivisionError
    return a ** int(b)


def _divide(a: Fraction, b: Fraction) -> Fraction:
    return a / b  # ZeroDivisionError is caught by `arithmetic`


_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
        "/": _divide, "**": _power}


def _float(value: Fraction, text: str) -> float:
    out = float(value)  # OverflowError past float64, as for a plain number
    if out == 0.0 and value != 0:
        raise NumberError(f"{shortened(text)!r} is too small for float64 (write 0 for zero)")
    return out


def _plain_syntax(text: str) -> str | None:
    """The text in plain syntax: LaTeX translated (None when it cannot be), else as written."""
    if "\\" not in text and "$" not in text:
        return text  # no LaTeX (its scanner, imported only for LaTeX, would say the same)
    from . import latex_syntax
    from .latex_tokens import LatexSyntaxError

    if latex_syntax.looks_like_latex(text):
        try:
            return latex_syntax.translate(text)
        except LatexSyntaxError:  # LaTeX it cannot read is "not a number" (the formula grader says why)
            return None
    return None  # a $ or a backslash, yet not LaTeX as `looks_like_latex` reads it: the formula grader says why


def _split_matrix(source: str):
    """`[[a, b], [c, d]]` into (rows of entry texts, True), `[a, b]` into ([row], False);
    entries may hold brackets of their own (`(1)/(4)`); None when the text is not such a literal."""
    text = source.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return None
    inner = text[1:-1].strip()
    if inner.startswith("["):
        parts = _top_level(inner)
        if parts is None or not all(p.startswith("[") and p.endswith("]") for p in parts):
            return None
        rows = [_top_level(p[1:-1]) for p in parts]
        return None if any(r is None for r in rows) else (rows, True)
    row = _top_level(inner)
    return None if row is None else ([row], False)


def _top_level(text: str) -> list | None:
    """Split at commas outside brackets; None when brackets do not balance."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if depth:
        return None
    parts.append(text[start:].strip())
    return parts if all(parts) else None


def _matrix(split):
    """(rows of entry texts, nested) -> (values, texts, units); None when an entry is not a
    number (a list literal of names is a formula: graph problems allow them)."""
    rows, nested = split
    if sum(len(r) for r in rows) > MAX_ENTRIES:
        raise NumberError(f"more than {MAX_ENTRIES} entries")
    try:
        read = [[scalar(entry) for entry in row] for row in rows]
    except NumberError:
        return None
    if len({len(r) for r in rows}) != 1:
        raise NumberError("rows of different lengths: " + ", ".join(str(len(r)) for r in rows))
    values = [[v for v, _ in row] for row in read]
    units = [[u for _, u in row] for row in read]
    texts = [[t if _is_plain(t) else None for t in row] for row in rows]
    if not nested:
        return np.array(values[0]), texts[0], np.array(units[0])
    return np.array(values), texts, np.array(units)


def _is_plain(text: str) -> bool:
    try:
        parse_number(text)
        return True
    except NumberError:
        return False


