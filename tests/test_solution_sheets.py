"""Solution sheets against their real consumers: every LaTeX sheet compiles with pdflatex, nothing is
overfull, and pdftotext reads every solved value back from the PDF (each as many times as the sheet
has it); Markdown sheets have every value with aligned columns; hostile titles come out as written.

Needs pdflatex (texlive-latex-base, texlive-latex-recommended, texlive-fonts-recommended; the
drawings add texlive-pictures) and pdftotext (poppler-utils); skipped without them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from backprop_check.formats.sheet_latex import render_latex
from backprop_check.formats.sheet_markdown import render_markdown
from backprop_check.solve import solve
from backprop_check.spec import load_problem, parse_problem

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "problems").glob("*.yaml")) + sorted((ROOT / "problems" / "graphs").glob("*.yaml"))
TOOLS = shutil.which("pdflatex") and shutil.which("pdftotext")
needs_tex = pytest.mark.skipif(not TOOLS, reason="pdflatex or pdftotext (poppler-utils) is not installed")
OVERFULL_PT = 1.0  # TeX's own rounding; anything wider is a value or formula off the page


def _wide_spec() -> str:
    """10 inputs, 8 hidden units, 3 outputs, a batch of 6 as columns: a matrix wider than the page."""
    def matrix(rows, cols, seed):
        return [[round(((i * 7 + j * 3 + seed) % 13 - 6) / 10, 2) for j in range(cols)] for i in range(rows)]
    rows = lambda m: "[" + ", ".join("[" + ", ".join(str(v) for v in r) + "]" for r in m) + "]"  # noqa: E731
    return f"""bpcheck: 1
id: wide-net
title: "Wide net: 10 inputs, 8 hidden, batch 6 \\\\ | < > _ % # & $ ~ ^ ü"
network:
  layers:
    - {{weight: W1, bias: b1, activation: sigmoid}}
    - {{weight: W2, activation: identity}}
params:
  W1: {rows(matrix(8, 10, 1))}
  b1: [0.1, -0.1, 0.2, 0, 0.3, -0.2, 0.05, 0.15]
  W2: {rows(matrix(3, 8, 5))}
data:
  layout: columns
  x: {rows(matrix(10, 6, 2))}
  y: {rows(matrix(3, 6, 4))}
loss: {{type: mse, average: samples}}
train: {{lr: 0.1, steps: 1}}
"""


def _problems() -> list:
    shipped = [pytest.param(lambda path=path: load_problem(path), id=path.stem) for path in SHIPPED]
    return shipped + [pytest.param(lambda: parse_problem(_wide_spec(), "wide.yaml"), id="wide-net")]


def _printed(v: float) -> str:
    """A value as the sheet prints it, written independently: %.6g, -0 as 0, e-notation as m·10^k."""
    text = f"{float(v):.6g}"
    text = "0" if text == "-0" else text
    m = re.fullmatch(r"(-?[\d.]+)e([+-])0*(\d+)", text)
    return f"{m.group(1)}·10{'-' if m.group(2) == '-' else ''}{m.group(3)}" if m else text


def _flat(value):
    if isinstance(value, list):
        for v in value:
            yield from _flat(v)
    else:
        yield value


def _tokens(text: str) -> Counter:
    """Numbers in pdftotext's output (its minus is U+2212; a superscript exponent follows ·10)."""
    text = text.replace("\u2212", "-").replace("\u22c5", "·")
    text = re.sub(r"\s*·\s*10\s*(-?)\s*(\d+)", r"·10\1\2", text)
    return Counter(re.findall(r"-?\d+(?:\.\d+)?(?:·10-?\d+)?", text))


def _compile(tex: str, tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "sheet.tex").write_text(tex, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "sheet.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    log = (tmp_path / "sheet.log").read_text(encoding="utf-8", errors="replace")
    assert run.returncode == 0, log[-3000:]
    text = subprocess.run(["pdftotext", "sheet.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                          check=True).stdout
    return log, text


@needs_tex
@pytest.mark.parametrize("load", _problems())
def test_every_value_is_on_the_compiled_page(load, tmp_path):
    solution = solve(load())
    log, text = _compile(render_latex(solution), tmp_path)
    overfull = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= OVERFULL_PT for w in overfull), overfull
    expected = Counter(_printed(v) for e in solution.entries.values() for v in _flat(e.value))
    found = _tokens(text)
    missing = {v: n - found[v] for v, n in expected.items() if found[v] < n}
    assert not missing, missing
    for heading in ("Given", "Forward pass", "Backward pass"):
        assert heading in text or solution.problem.graph is not None, heading


def test_the_wide_matrix_is_split_into_column_blocks():
    tex = render_latex(solve(parse_problem(_wide_spec(), "wide.yaml")))
    assert r"_{\text{columns 1-" in tex and r"\allowdisplaybreaks" in tex and r"\usepackage[T1]{fontenc}" in tex
    for matrix in re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", tex):
        assert matrix.split(r"\\")[0].count("&") < 10  # no block of W1's 10 columns in one line


@needs_tex
def test_a_hostile_title_is_printed_as_written(tmp_path):
    _, text = _compile(render_latex(solve(parse_problem(_wide_spec(), "wide.yaml"))), tmp_path)
    assert "batch 6 \\ | < > _ % # & $ ~ ^ ü" in text


def test_textbook_notation_and_the_spec_names_on_the_sheet():
    tex = render_latex(solve(load_problem(ROOT / "problems" / "assignment1-ex2.yaml")))
    solved = tex.split("Forward pass", 1)[1]  # (the given part is the handout's, which explains \oslash)
    for piece in (r"\frac{1}{N}", r"S_{1} = W_{1} X", r"Y_{\text{out}}", r"\delta_{2}", r"{W_{1}}^{(1)}"):
        assert piece in tex, piece
    for code in (r"\oslash", "step1", r"\operatorname{eye}", "e^{- z}"):
        assert code not in solved, code
    rows_tex = render_latex(solve(load_problem(ROOT / "problems" / "batch-rows-softmax.yaml")))
    assert r"\mathbf{1}^{\top} \frac{\partial \ell}{\partial z_{1}}" in rows_tex  # dl/db1: column sums
    sig = render_latex(solve(load_problem(ROOT / "problems" / "dsga1008-2022-p2a.yaml")))
    assert r"f'(z) = \sigma\left(z\right) \odot \left(1 - \sigma\left(z\right)\right)" in sig


@pytest.mark.parametrize("load", _problems())
def test_markdown_sheet_has_every_value_in_aligned_columns(load):
    solution = solve(load())
    md = render_markdown(solution)
    assert "## Given" in md
    blocks = re.findall(r"```\n(.*?)\n```", md, re.S)
    found = Counter(t for b in blocks for t in re.findall(r"-?[\d.]+(?:e[+-]\d+)?|nan|-?inf", b))
    expected = Counter(_printed(v).replace("·10", "e") for e in solution.entries.values() for v in _flat(e.value))
    found = Counter(re.sub(r"e([+-])0*", r"e\1", t).replace("e+", "e") for t in found.elements())
    assert not {v for v, n in expected.items() if found[v] < n}
    for block in blocks:
        lines = block.splitlines()
        assert len({len(ln) for ln in lines}) == 1, block  # right-aligned columns: rows of one width
