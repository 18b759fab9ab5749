"""A solution sheet in LaTeX (pdflatex), to hand out as it is.

The sheet opens with what the problem gives, exactly as the handout states it
(`handout.given_blocks`: the network or graph, every given number, the loss
and its definition, the training rule), then solves it group by group:
forward pass, loss, backward pass, local Jacobians, update. Each quantity is
its formula in textbook notation (`formula_render.to_sheet_latex`: the spec's
own names, \\frac{1}{N}, \\mathbf{1}^\\top, ⊙, W_1^{(1)} after step 1) and its
value.

Nothing may fall off the page: a matrix wider than the text is cut into
blocks of columns (each labelled, every entry printed once), a tall one into
blocks of rows, every block its own line of an `align*` with
\\allowdisplaybreaks, so pages break between blocks; a formula wider than the
line is scaled down to fit it (`\\fitmath`). Every spec string is escaped by
`handout_writers.tex` (T1 fonts, any Unicode).
"""

from __future__ import annotations

import re
from .. import formulas  # noqa: F401 - first: formulas loads formula_render at its end
from .. import handout_writers as W
from ..formula_render import to_sheet_latex
from . import sheet_text as S

# Widths in points of the text (A4 or letter with 2 cm margins: at least 455pt), one character of a
# number in a matrix (10pt digits with a minus sign's room) and the space bmatrix puts between columns.
LINE_PT, CHAR_PT, COLSEP_PT, LEFT_PT = 455, 5.6, 11.0, 110
MAX_ROWS = 24  # rows of a matrix in one block: a block never runs past a page

FIT = [r"\usepackage{graphicx}", r"\newsavebox{\fitbox}",  # a formula wider than the line is scaled to the line; others as they are
       r"\newcommand{\fitmath}[1]{\sbox{\fitbox}{$\displaystyle #1$}\ifdim\wd\fitbox>\linewidth"
       r"\resizebox{\linewidth}{!}{\usebox{\fitbox}}\else\usebox{\fitbox}\fi}",
       r"\allowdisplaybreaks", r"\setcounter{MaxMatrixCols}{40}"]


def number(v: float) -> str:
    """A value as the sheet prints it: 6 significant figures, powers of ten written out."""
    return _tex(S.number(v))


def _tex(text: str) -> str:
    """`sheet_text.number`'s text of a value in LaTeX."""
    if "e" not in text and "n" not in text:  # no power of ten, nan or inf: as it is
        return text
    m = re.fullmatch(r"(-?[\d.]+)e([+-])0*(\d+)", text)
    if m:
        return rf"{m.group(1)} \cdot 10^{{{'-' if m.group(2) == '-' else ''}{m.group(3)}}}"
    return {"nan": r"\text{nan}", "inf": r"\infty", "-inf": r"-\infty"}.get(text, text)


def _blocks(cells: list, n_cols: int) -> list[tuple[str, list, str]]:
    """(label, rows, zeros) pieces of a matrix that each fit the line and a page: `cells` holds each
    row's numbers' texts, or None for a row of zeros, whose text in a piece is `zeros`."""
    widest = max((len(t) for row in cells if row is not None for t in row), default=1)
    per_block = max(1, int((LINE_PT - LEFT_PT) // (widest * CHAR_PT + COLSEP_PT)))
    n_rows = len(cells) if n_cols else 0
    out = []
    for c in range(0, n_cols, per_block):
        stop = min(c + per_block, n_cols)
        zeros = " & ".join(["0"] * (stop - c))
        for r in range(0, n_rows, MAX_ROWS):
            rows = cells[r:r + MAX_ROWS]
            label = []
            if n_cols > per_block:
                label.append(S.span("column", c, stop))
            if n_rows > MAX_ROWS:
                label.append(S.span("row", r, min(r + MAX_ROWS, n_rows)))
            part = rows if stop - c == n_cols else [row and row[c:stop] for row in rows]
            out.append((", ".join(label), part, zeros))
    return out


def _matrix(rows: list, zeros: str = "") -> str:
    """A bmatrix of rows of numbers' texts (None: a row of zeros, written `zeros`): entries by &, rows
    by \\\\, a power of ten, nan or inf in LaTeX."""
    body = r" \\ ".join([zeros if row is None else " & ".join(row) for row in rows])
    if "e" in body or "n" in body:  # (rare: then row by row)
        body = r" \\ ".join([zeros if row is None else " & ".join(map(_tex, row)) for row in rows])
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def _value_lines(value) -> list[str]:
    """The right-hand sides of one value: a number, or a matrix in as many blocks as it needs."""
    rows = S.rows(value)
    if rows is None:
        return [number(value)]
    n_cols = len(rows[0]) if rows else 0
    zero = [0.0] * n_cols  # (0, -0.0 and False are written 0 too: `sheet_text.number`)
    zeros = [row == zero for row in rows]  # most rows of a Jacobian by a weight matrix
    texts = S.numbers([v for row, z in zip(rows, zeros) if not z for v in row])  # the others', formatted together
    if not any(zeros):
        cells = [texts[at:at + n_cols] for at in range(0, len(texts), n_cols)]
    else:
        cells, at = [], 0
        for z in zeros:
            cells.append(None if z else texts[at:at + n_cols])
            at += 0 if z else n_cols
    return [_matrix(part, zeros) + (rf"_{{\text{{{label}}}}}" if label else "")
            for label, part, zeros in _blocks(cells, n_cols)]


def _entry(solution, e, aliases: dict) -> list[str]:
    left = S.latex_name(e.name, aliases)
    out = []
    formula = e.written(to_sheet_latex, aliases)
    if formula is not None:
        out.append(rf"\noindent\fitmath{{{left} = {formula}}}")
    if e.expanded is not None and e.expanded != e.formula:
        out.append(rf"\\ \fitmath{{\phantom{{{left}}} = {to_sheet_latex(e.expanded, aliases)}}}")
    values = _value_lines(e.value)
    lines = [rf"{left} &= {values[0]}"] + [rf"&\phantom{{=}}\ {v}" for v in values[1:]]
    out += [r"\begin{align*}", " \\\\\n".join(lines), r"\end{align*}"]
    return out


def _activations(solution, aliases: dict) -> list[str]:
    """Each layer's f and f′ (σ′ as σ(z)(1 − σ(z)), from the activation's own derivative formula)."""
    rows = S.activation_rows(solution)
    if not rows:
        return []
    out = [r"\subsection*{Activations and their derivatives}"]
    for label, f, d in rows:
        derivative = to_sheet_latex(d, aliases) if d is not None else S.SOFTMAX_JACOBIAN
        out += [rf"\noindent {W.tex(label)}:\\", rf"\fitmath{{f(z) = {to_sheet_latex(f, aliases)}, \qquad "
                                                 rf"f'(z) = {derivative}}}", ""]
    return out


def figure(solution) -> tuple[list[str], list[str]]:
    """(preamble, body) of the drawings: the computation graph (values and gradients) and the plots of
    the activations, from `formats.drawing_tex` (issue 13's drawings); none while it is absent."""
    try:
        from . import drawing_tex  # noqa: PLC0415 - the drawings are another part of issue 13
    except ImportError:
        return [], []
    body = [r"\subsection*{The computation graph}", drawing_tex.tikz_figure(solution.problem, solution)]
    plots = drawing_tex.activation_plots_tikz(solution.problem)
    if plots:
        body += [r"\subsection*{The activations}", plots]
    return drawing_tex.PREAMBLE.splitlines(), body


def render_latex(solution) -> str:
    """The whole sheet: the handout's given part, the figure, then every solved quantity."""
    given = W.render_latex(S.given_blocks(solution.problem))
    head, _, body = given.partition(r"\begin{document}")
    body = body.rsplit(r"\end{document}", 1)[0]
    head = head.replace(r"\setcounter{MaxMatrixCols}", "%")  # set once below, for every block
    aliases = S.aliases(solution.problem)
    tikz_head, tikz = figure(solution)
    out = [head.rstrip(), *FIT, *tikz_head, r"\begin{document}", body.strip(), *tikz,
           *_activations(solution, aliases)]
    for group, entries in S.grouped(solution).items():
        out.append(rf"\subsection*{{{S.GROUP_TITLES[group]}}}")
        for e in entries:
            out += _entry(solution, e, aliases)
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"
