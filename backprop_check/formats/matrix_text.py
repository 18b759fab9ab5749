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
from typing import Callable

import numpy as np

SIGNIFICANT = 6
MAX_DECIMALS = 8  # past this, fixed notation is mostly zeros: scientific for the whole matrix
GAP = "  "


def _special(v: float) -> str | None:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def number_format(values) -> Callable[[float], str]:
    """One format for all of `values`: fixed with common decimals, or scientific for all."""
    a = np.asarray(values, dtype=float).ravel()
    finite = a[np.isfinite(a)]
    shown = [f"{v:.{SIGNIFICANT}g}" for v in finite[finite != 0].tolist()]
    mantissas = [t.partition("e")[0] for t in shown]
    digits = max((len(m.lstrip("-").replace(".", "").lstrip("0")) - 1 for m in mantissas), default=0)
    scientific = any("e" in t for t in shown)
    decimals = max((len(t.partition(".")[2]) for t in shown if "e" not in t), default=0)
    if scientific or decimals > MAX_DECIMALS:
        return lambda v: _special(v) or ("0" if v == 0 else f"{v:.{max(digits, 0)}e}")
    # an exact zero is "0", padded so that where its decimal point would be lines up
    zero = "0" + " " * (decimals + 1 if decimals else 0)
    return lambda v: _special(v) or (zero if v == 0 else f"{v:.{decimals}f}")


def _table(value) -> np.ndarray:
    """A value as rows of columns: a number is 1×1, a vector one row, more axes stacked as rows."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return a.reshape(1, 1)
    return a.reshape(1, -1) if a.ndim == 1 else a.reshape(-1, a.shape[-1])


def cells(value) -> list[list[str]]:
    """Every entry as text, in one common format, row by row."""
    a = _table(value)
    fmt = number_format(a)
    return [[fmt(float(v)) for v in row] for row in a]


def is_scalar(value) -> bool:
    return np.ndim(value) == 0


def lines(value, width: int | None = None) -> list[str]:
    """`value` as aligned text lines no wider than `width` (a number is one line, no brackets).

    A matrix too wide is split into column blocks, each headed "columns i–j of n:".
    """
    grid = cells(value)
    if is_scalar(value):
        return [grid[0][0]]
    widths = [max(len(row[j]) for row in grid) for j in range(len(grid[0]))]
    blocks = _blocks(widths, width)
    out: list[str] = []
    for start, stop in blocks:
        if len(blocks) > 1:
            out.append(f"columns {start}–{stop - 1} of {len(widths)}:" if stop - start > 1
                       else f"column {start} of {len(widths)}:")
        out += ["[" + GAP.join(row[j].rjust(widths[j]) for j in range(start, stop)) + "]" for row in grid]
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


def block_width(value) -> int:
    """The width of `value`'s lines when not split."""
    return max(len(line) for line in lines(value))
