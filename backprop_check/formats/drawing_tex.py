r"""The drawings for the LaTeX solution sheet: the graph as TikZ, the activations as pgfplots.

`tikz_figure(problem, solution)` is the picture of `drawing` (the same boxes,
columns and order as the SVG), placed at coordinates computed here, so TeX
does no layout of its own: each box is as wide as its longest line in
\ttfamily\footnotesize (cmtt: 0.525 em a character). A figure wider than the
text is scaled down to \linewidth, never cut. `activation_plots_tikz(problem)`
draws f and f′ of each of the problem's activations (`activation_plots`).

Both return fragments for a document body. The preamble they need:
\usepackage{tikz}, \usepackage{graphicx} (the scaling) and, for the plots,
\usepackage{pgfplots} (Debian/Ubuntu: texlive-pictures holds pgf/TikZ and
pgfplots; graphicx and xcolor are in texlive-latex-base/-recommended).
Every spec string passes through `handout_writers.tex` (no command, group or
math of the writer's own; pdflatex-safe Unicode).
"""

from __future__ import annotations

from ..handout_writers import tex
from .activation_plots import activations_of, bounds, curve
from .drawing import GRADIENT_COLOUR, VALUE_COLOUR, diagram, lines, place

CHAR = 0.525 * 8 / 28.45  # cm: a cmtt character at \footnotesize (8 pt)
LINE = 0.36  # cm per line
PAD = 0.12
GAP_X, GAP_Y = 0.9, 0.3
PREAMBLE = r"\usepackage{tikz}" + "\n" + r"\usepackage{graphicx}" + "\n" + r"\usepackage{pgfplots}" + "\n" \
    + r"\pgfplotsset{compat=1.16}"
_COLOURS = (rf"\definecolor{{bpvalue}}{{HTML}}{{{VALUE_COLOUR[1:].upper()}}}"
            rf"\definecolor{{bpgradient}}{{HTML}}{{{GRADIENT_COLOUR[1:].upper()}}}")
_TEXT = {"name": r"\textbf{%s}", "detail": r"\textcolor{black!70}{%s}", "value": r"\textcolor{bpvalue}{%s}",
         "gradient": r"\textcolor{bpgradient}{%s}"}
_DRAW = {"input": "draw=black!70", "parameter": "draw=black!70, fill=black!5", "node": "draw=black",
         "output": "draw=black, very thick"}


def _n(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") or "0"


def _fit(picture: list) -> list:
    """A picture at its size, or scaled to \\linewidth when it is wider (never cut)."""
    return [r"\begingroup" + _COLOURS, r"\setbox0=\hbox{%"] + picture + [
        r"}%", r"\ifdim\wd0>\linewidth\resizebox{\linewidth}{!}{\box0}\else\box0\fi", r"\endgroup"]


def tikz_figure(problem, solution) -> str:
    """The computation graph (or layer graph) with every value (green) and gradient (red), left
    to right, as a TikZ picture in a centred block of its own."""
    d = diagram(solution)
    boxes = place(d, CHAR, LINE, PAD, GAP_X, GAP_Y)
    out = [r"\begin{tikzpicture}[x=1cm, y=1cm, font=\ttfamily\footnotesize, >=stealth]"]
    for box in d.boxes:
        x, y, w, h = boxes[box.id]
        text = r"\\".join(_TEXT[kind] % tex(t) for t, kind in lines(box))
        out.append(rf"\node[{_DRAW[box.role]}, rounded corners=2pt, inner sep=0pt, align=center, "
                   rf"minimum width={_n(w)}cm, minimum height={_n(h)}cm] ({box.id}) at ({_n(x + w / 2)},{_n(-y - h / 2)}) "
                   rf"{{{text}}};")
    out += [rf"\draw[->, black!70] ({a}.east) to[out=0, in=180] ({b}.west);" for a, b in d.edges]
    bottom = -max((y + h for _, y, _, h in boxes.values()), default=0) - 0.5
    note = (tex(d.note) + r"\quad ") if d.note else ""
    out.append(rf"\node[anchor=north west, font=\footnotesize] at (0,{_n(bottom)}) {{{note}"
               r"\textcolor{bpvalue}{value (forward)}\quad \textcolor{bpgradient}{gradient (backward)}};")
    out.append(r"\end{tikzpicture}")
    return "\n".join([r"\begin{center}"] + _fit(out) + [r"\end{center}"]) + "\n"


def _coordinates(zs, ys) -> str:
    return " ".join(f"({_n(z)},{float(y):.5g})" for z, y in zip(zs, ys))


def plot_tikz(activation) -> str:
    """One activation's f and f′ as a pgfplots axis in a tikzpicture."""
    c = curve(activation)
    low, high = bounds(c)
    out = [r"\begin{tikzpicture}",
           rf"\begin{{axis}}[width=0.48\linewidth, height=4.6cm, title={{{tex(c.label)}}}, xlabel={{$z$}}, "
           rf"xmin={_n(c.z[0])}, xmax={_n(c.z[-1])}, ymin={low:.4g}, ymax={high:.4g}, grid=major, "
           r"grid style={black!10}, axis lines=middle, axis line style={black!60}, "
           r"legend style={font=\footnotesize, at={(0.03,0.97)}, anchor=north west}, legend cell align=left]",
           rf"\addplot[bpvalue, thick] coordinates {{{_coordinates(c.z, c.f)}}};",
           r"\addlegendentry{$f(z)$}"]
    for i, (zs, ds) in enumerate(c.pieces):
        hide = "" if i == 0 else ", forget plot"  # one legend entry for all pieces
        out.append(rf"\addplot[bpgradient, thick, dashed{hide}] coordinates {{{_coordinates(zs, ds)}}};")
        if i == 0:
            out.append(r"\addlegendentry{$f'(z)$}")
    out += [r"\end{axis}", r"\end{tikzpicture}"]
    return "\n".join(out)


def activation_plots_tikz(problem, chosen: list | None = None) -> str:
    """The problem's activations (or `chosen` Activation objects), two plots a row; "" when there
    are none to draw (a graph of sums and products, a network of identities)."""
    acts = chosen if chosen is not None else activations_of(problem)
    if not acts:
        return ""
    plots = [plot_tikz(a) for a in acts]
    body = "\n".join(p + ("\n\\hfill" if i % 2 == 0 and i + 1 < len(plots) else "\n\n\\medskip")
                     for i, p in enumerate(plots))
    return "\n".join([r"\begingroup" + _COLOURS, r"\noindent", body, r"\endgroup"]) + "\n"


def standalone(body: str) -> str:
    """A whole document around a fragment (for `bpcheck plot --format tikz` and the tests)."""
    return "\n".join([r"\documentclass{article}", r"\usepackage[T1]{fontenc}", r"\usepackage[utf8]{inputenc}",
                      r"\usepackage[margin=2cm]{geometry}", PREAMBLE, r"\begin{document}", body,
                      r"\end{document}"]) + "\n"
