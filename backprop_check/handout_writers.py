"""Render a handout's blocks as Markdown or as a LaTeX document (pdflatex).

A handout (`handout`) is a list of plain blocks: headings, paragraphs of
pieces (`Text` to escape, `Math` already LaTeX, `Code` to show as written),
display math, tables, numbered lists and a verbatim block. Every string that
comes from a spec or a roster is a `Text` or a `Code`, escaped here for its
format, so no title or student id can add markup: Markdown through
`formats.escape.markdown`, LaTeX through `tex`, which also keeps pdflatex
compiling on any Unicode (letters it has no glyph for are written U+XXXX).
Math comes only from bpcheck's own renderers (`formulas.to_latex`), never from
spec text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .formats.escape import line, markdown


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Math:
    tex: str


@dataclass(frozen=True)
class Code:
    text: str


# ------------------------------------------------------------------ LaTeX escaping

_TEX = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%", "#": r"\#",
        "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
        ">": r"\textgreater{}", "|": r"\textbar{}", '"': r"\textquotedbl{}", "`": r"\textasciigrave{}",
        "'": r"\textquotesingle{}", "-": "-{}", "[": "{[}", "]": "{]}"}  # no ligatures, no optional args
_SYMBOLS = {"–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''", "…": r"\ldots{}",
            "→": r"$\to$", "←": r"$\leftarrow$", "×": r"$\times$", "·": r"$\cdot$", "∂": r"$\partial$",
            "∑": r"$\sum$", "√": r"$\surd$", "≤": r"$\le$", "≥": r"$\ge$", "≠": r"$\ne$", "∈": r"$\in$",
            "∞": r"$\infty$", "−": "-{}", "\u00a0": "~", "\u00ad": ""}
_GREEK = re.compile(r"GREEK (SMALL|CAPITAL) LETTER (\w+)$")
_UPPER_GREEK = {"GAMMA", "DELTA", "THETA", "LAMDA", "XI", "PI", "SIGMA", "UPSILON", "PHI", "PSI", "OMEGA"}


def _tex_char(ch: str) -> str:
    if ch in _TEX:
        return _TEX[ch]
    if ch < "\x7f":
        return ch
    if ch in _SYMBOLS:
        return _SYMBOLS[ch]
    if "\u00c0" <= ch <= "\u00ff" and ch not in "×÷":
        return ch  # Latin-1 letters: pdflatex's utf8 input and T1 fonts have them
    greek = _GREEK.match(unicodedata.name(ch, ""))
    if greek:
        name = greek.group(2).replace("LAMDA", "LAMBDA")
        if greek.group(1) == "SMALL" and name not in ("OMICRON", "FINAL SIGMA"):
            return rf"$\{name.lower()}$"
        if name in _UPPER_GREEK:
            return rf"$\{name.title()}$"
    return rf"\texttt{{U+{ord(ch):04X}}}"


def tex(value: object) -> str:
    """Any text as one line of LaTeX text: no command, group or math of the writer's own."""
    return "".join(_tex_char(ch) for ch in line(value))


def _code_md(value: object) -> str:
    text = line(value)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# ------------------------------------------------------------------ Markdown

def _md_pieces(pieces) -> str:
    out = []
    for piece in pieces:
        if isinstance(piece, Math):
            out.append("$" + piece.tex.replace("|", r"\vert ") + "$")  # a table cell ends at |
        elif isinstance(piece, Code):
            out.append(_code_md(piece.text))
        else:
            out.append(markdown(piece.text if isinstance(piece, Text) else piece))
    return "".join(out)


def render_markdown(blocks: list) -> str:
    out: list[str] = []
    for kind, *args in blocks:
        if kind in ("h1", "h2"):
            out += [("# " if kind == "h1" else "## ") + _md_pieces(args[0]), ""]
        elif kind == "p":
            out += [_md_pieces(args[0]), ""]
        elif kind == "display":
            out += ["$$", args[0], "$$", ""]
        elif kind == "table":
            header, rows = args
            out.append("| " + " | ".join(_md_pieces(c) for c in header) + " |")
            out.append("|" + "---|" * len(header))
            out += ["| " + " | ".join(_md_pieces(c) for c in row) + " |" for row in rows]
            out.append("")
        elif kind == "list":
            out += [f"{i}. {_md_pieces(item)}" for i, item in enumerate(args[0], start=1)] + [""]
        elif kind == "verbatim":
            lines = [line(text) for text in args[0]]
            fence = "~" * max(3, 1 + max((len(r) for t in lines for r in re.findall(r"~+", t)), default=0))
            out += [fence + "yaml", *lines, fence, ""]
    return "\n".join(out).rstrip("\n") + "\n"


# ------------------------------------------------------------------ LaTeX

# Packages of a minimal TeX install (texlive-latex-base); Latin Modern where it is installed.
PREAMBLE = [r"\documentclass[11pt]{article}", r"\usepackage[T1]{fontenc}", r"\usepackage[utf8]{inputenc}",
            r"\IfFileExists{lmodern.sty}{\usepackage{lmodern}}{}", r"\usepackage{amsmath,amssymb}",
            r"\usepackage[margin=2cm]{geometry}", r"\setlength{\parindent}{0pt}", r"\setlength{\parskip}{\medskipamount}"]


def _tex_pieces(pieces) -> str:
    out = []
    for piece in pieces:
        if isinstance(piece, Math):
            out.append(f"${piece.tex}$")
        elif isinstance(piece, Code):
            out.append(rf"\texttt{{{tex(piece.text)}}}")
        else:
            out.append(tex(piece.text if isinstance(piece, Text) else piece))
    return "".join(out)


def _columns(blocks: list) -> int:
    """The widest matrix (amsmath's bmatrix takes 10 columns unless told)."""
    widest = 10
    for kind, *args in blocks:
        if kind == "display":
            for row in re.split(r"\\\\", args[0]):
                widest = max(widest, row.count("&") + 1)
    return widest


def render_latex(blocks: list) -> str:
    out = [*PREAMBLE, rf"\setcounter{{MaxMatrixCols}}{{{_columns(blocks)}}}", r"\begin{document}"]
    for kind, *args in blocks:
        if kind == "h1":
            out += [rf"\section*{{{_tex_pieces(args[0])}}}"]
        elif kind == "h2":
            out += [rf"\subsection*{{{_tex_pieces(args[0])}}}"]
        elif kind == "p":
            out += [_tex_pieces(args[0]), ""]
        elif kind == "display":
            out += [r"\[", args[0], r"\]"]
        elif kind == "table":
            header, rows = args
            out += [r"\begin{center}", rf"\begin{{tabular}}{{{'l' * len(header)}}}", r"\hline",
                    " & ".join(_tex_pieces(c) for c in header) + r" \\ \hline"]
            out += [" & ".join(_tex_pieces(c) for c in row) + r" \\" for row in rows]
            out += [r"\hline", r"\end{tabular}", r"\end{center}"]
        elif kind == "list":
            out += [r"\begin{enumerate}"] + [rf"\item {_tex_pieces(item)}" for item in args[0]] + [r"\end{enumerate}"]
        elif kind == "verbatim":
            body = r"\\".join(r"\mbox{}" + tex(text).replace(" ", "~") for text in args[0])
            out += [r"\begin{quote}\ttfamily", body, r"\end{quote}"]
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


RENDERERS = {"markdown": render_markdown, "latex": render_latex}
