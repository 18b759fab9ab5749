"""A solution sheet in Markdown: the same parts as the LaTeX sheet (`sheet_latex`).

The given part is the handout's (`handout_writers.render_markdown`, every spec
string escaped there); then each group of quantities, each quantity with its
formula twice (in the answer syntax, to copy into a key, and in textbook
LaTeX, which GitHub and most Markdown viewers typeset) and its value. A matrix
is a fenced block with one column width per column and the numbers right
aligned, so columns read down; nothing is cut.
"""

from __future__ import annotations

from .. import formulas as F
from .. import handout_writers as W
from ..formula_render import to_sheet_latex
from . import sheet_text as S
from .escape import line, markdown


def aligned(value) -> list[str]:
    """A value as lines of text: a number, or a matrix with its columns aligned (vectors as columns)."""
    rows = S.rows(value)
    if rows is None:
        return [S.number(value)]
    cells = S.number_rows(rows)
    widths = [max((len(row[c]) for row in cells), default=0) for c in range(len(cells[0]) if cells else 0)]
    return ["[" + "  ".join(cell.rjust(w) for cell, w in zip(row, widths)) + "]" for row in cells]


def _math(tex: str) -> str:
    return "$" + tex.replace("|", r"\vert ") + "$"


def _entry(e, aliases: dict) -> list[str]:
    shape = "scalar" if not e.shape else "×".join(map(str, e.shape))
    head = f"### {_math(S.latex_name(e.name, aliases))}{S.step_words(e.name)}: `{line(e.name)}` ({shape})"
    out = [head, ""]
    code = e.written(F.to_code)
    if code is not None:
        out.append(f"- formula: `{line(code)}`")
        out.append(f"- as in a textbook: {_math(e.written(to_sheet_latex, aliases))}")
    if e.expanded is not None and e.expanded != e.formula:
        out.append(f"- expanded: {_math(to_sheet_latex(e.expanded, aliases))}")
    fence = "```"
    return out + ["", fence, *aligned(e.value), fence, ""]


def _activations(solution, aliases: dict) -> list[str]:
    rows = S.activation_rows(solution)
    if not rows:
        return []
    out = ["## Activations and their derivatives", "", "| layer | f(z) | f′(z) |", "|---|---|---|"]
    for label, f, d in rows:
        derivative = to_sheet_latex(d, aliases) if d is not None else S.SOFTMAX_JACOBIAN
        out.append(f"| {markdown(label)} | {_math(to_sheet_latex(f, aliases))} | {_math(derivative)} |")
    return out + [""]


def render_markdown(solution) -> str:
    aliases = S.aliases(solution.problem)
    out = [W.render_markdown(S.given_blocks(solution.problem)).rstrip("\n"), "", *_activations(solution, aliases)]
    for group, entries in S.grouped(solution).items():
        out += [f"## {S.GROUP_TITLES[group]}", ""]
        for e in entries:
            out += _entry(e, aliases)
    return "\n".join(out).rstrip("\n") + "\n"
