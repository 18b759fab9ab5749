"""Matrices as aligned text: one precision for the whole matrix, columns lined up.

Every entry keeps at least the six significant figures `%.6g` would show it
with, but the matrix is printed with one number format (the most decimals any
entry needs, or scientific notation for all when one entry would need it), so
that decimal points line up and a column can be read down. A matrix wider
than the space it has is split into blocks of columns, each labelled, so that
nothing is cut: every entry is printed exactly once.
"""

from __future__ import annotations

import math

import numpy as np

SIGNIFICANT = 6
MAX_DECIMALS = 8  # past this, fixed notation is mostly zeros: scientific for the whole matrix
GAP = "  "
_SHOWN = f"{{:.{SIGNIFICANT}g}}"


def _special(v: float) -> str | None:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def _spec(a: np.ndarray) -> str:
    """One format spec for all of the flat array `a`: fixed with common decimals, or scientific for all."""
    finite = a[np.isfinite(a)]
    shown = list(map(_SHOWN.format, finite[finite != 0].tolist()))
    decimals = max(map(len, (t.partition(".")[2] for t in shown)), default=0)
    if "e" in "".join(shown) or decimals > MAX_DECIMALS:
        return f".{_digits(shown)}e"
    return f".{decimals}f"


def _digits(shown: list[str]) -> int:
    """The most significant digits after the first that any of `shown` (`%.6g` texts) has."""
    most = 0
    for text in shown:
        mantissa = text.partition("e")[0].lstrip("-").replace(".", "").lstrip("0")
        most = max(most, len(mantissa) - 1)
        if most == SIGNIFICANT - 1:
            break  # as many as `%.6g` shows: no entry can need more
    return most


def _zero(spec: str) -> str:
    """An exact zero is "0", padded in fixed notation so that where its decimal point would be lines up."""
    decimals = int(spec[1:-1])
    return "0" + " " * (decimals + 1) if spec.endswith("f") and decimals else "0"


def _table(value) -> np.ndarray:
    """A value as rows of columns: a number is 1×1, a vector one row, more axes stacked as rows."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return a.reshape(1, 1)
    return a.reshape(1, -1) if a.ndim == 1 else a.reshape(-1, a.shape[-1])


def cells(value) -> list[list[str]]:
    """Every entry as text, in one common format, row by row."""
    a = _table(value)
    spec = _spec(a.ravel())
    # Formatting every entry in one `map` is most of the speed of a wide solution's
    # terminal output; zeros and nan/inf are the exceptions, written over afterwards.
    entry = ("{:" + spec + "}").format
    grid = [list(map(entry, row)) for row in a.tolist()]
    for i, j in zip(*np.nonzero((a == 0) | ~np.isfinite(a))):
        grid[i][j] = _special(a[i, j]) or _zero(spec)
    return grid


def is_scalar(value) -> bool:
    return np.ndim(value) == 0


def lines(value, width: int | None = None, grid: list[list[str]] | None = None) -> list[str]:
    """`value` as aligned text lines no wider than `width` (a number is one line, no brackets).

    A matrix too wide is split into column blocks, each headed "columns i–j of n:".
    `grid` is `cells(value)` when the caller already has it.
    """
    grid = cells(value) if grid is None else grid
    if is_scalar(value):
        return [grid[0][0]]
    widths = [max(map(len, column)) for column in zip(*grid)]
    blocks = _blocks(widths, width)
    out: list[str] = []
    for start, stop in blocks:
        if len(blocks) > 1:
            out.append(f"columns {start}–{stop - 1} of {len(widths)}:" if stop - start > 1
                       else f"column {start} of {len(widths)}:")
        shown = widths[start:stop]
        out += ["[" + GAP.join(map(str.rjust, row[start:stop], shown)) + "]" for row in grid]
    return out


def _blocks(widths: list[int], width: int | None) -> list[tuple[int, int]]:
    """Runs of columns whose bracketed row fits `width` (at least one column each)."""
    if width is None:
        return [(0, len(widths))]
    blocks, start, used = [], 0, 2  # the brackets
    for j, w in enumerate(widths):
        extra = w + (len(GAP) if j > start else 0)
        if j > start and used + extra > width:
            blocks.append((start, j))
            start, used, extra = j, 2, w
        used += extra
    blocks.append((start, len(widths)))
    return blocks

