"""Drawings (formats/drawing*.py, activation_plots.py, bpcheck plot) against their real consumers.

Graphviz's `dot` must read the DOT, xml.etree the SVG and pdflatex the TikZ and
pgfplots; each drawing must hold every node with its value and gradient, the
numbers computed here by hand, and hostile spec text must come out as text.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_check.cli import main
from backprop_check.formats import activation_plots as plots
from backprop_check.formats import drawing, drawing_svg, drawing_tex
from backprop_check.solve import solve
from backprop_check.spec import load_problem, parse_problem

ROOT = Path(__file__).resolve().parents[1]
TWO_PATH = ROOT / "problems" / "graphs" / "two-path-graph.yaml"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (Debian: graphviz)")
needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
                               reason="pdflatex/pdftotext not installed (Debian: texlive-latex-base, "
                                      "texlive-latex-recommended, texlive-pictures, poppler-utils)")

NET = """\
bpcheck: 1
id: tiny-net
title: one sample, two layers
network:
  layers:
    - {weight: W1, bias: b1, activation: relu}
    - {weight: W2, bias: b2, activation: sigmoid}
params:
  W1: [[0.5, -1], [2, 0.25]]
  b1: [0.1, -0.3]
  W2: [[1.5, -0.75]]
  b2: [0.2]
data: {x: [1, 0.5], y: [1]}
loss: {type: mse}
"""


def g(v: float) -> str:
    return "0" if f"{v:.4g}" in ("0", "-0") else f"{v:.4g}"


def two_path_expected() -> dict:
    """w = a b with a = x y + z, b = 2 x a at x, y, z = 1, 2, 3, differentiated by hand:
    w = 2 x a², so dw/da = 4 x a, dw/db = a, dw/dx = 2 a² + 4 x a y, dw/dy = 4 x a x, dw/dz = 4 x a."""
    x, y, z = 1.0, 2.0, 3.0
    a = x * y + z
    b = 2 * x * a
    w = a * b
    return {"x": (x, 2 * a * a + 4 * x * a * y), "y": (y, 4 * x * a * x), "z": (z, 4 * x * a),
            "a": (a, 4 * x * a), "b": (b, a), "w": (w, 1.0)}


def tiny_net_expected() -> dict:
    """The tiny network's values and gradients, by hand with numpy (mse: mean of squares)."""
    W1, b1 = np.array([[0.5, -1], [2, 0.25]]), np.array([0.1, -0.3])
    W2, b2 = np.array([[1.5, -0.75]]), np.array([0.2])
    x, y = np.array([1, 0.5]), np.array([1.0])
    z1 = W1 @ x + b1
    z2 = np.maximum(z1, 0)
    z3 = W2 @ z2 + b2
    z4 = 1 / (1 + np.exp(-z3))
    loss = float(np.mean((z4 - y) ** 2))
    d4 = 2 * (z4 - y)
    d3 = d4 * z4 * (1 - z4)
    d2 = W2.T @ d3
    d1 = d2 * (z1 > 0)
    return {"z1": (z1, d1), "z2": (z2, d2), "z3": (z3, d3), "z4": (z4, d4), "W1": (W1, np.outer(d1, x)),
            "b1": (b1, d1), "W2": (W2, np.outer(d3, z2)), "b2": (b2, d3), "loss": (loss, 1.0)}


def vector(v) -> str:
    v = np.asarray(v, dtype=float)
    if v.ndim == 0:
        return g(float(v))
    if v.ndim == 1:
        return "[" + ", ".join(g(e) for e in v) + "]"
    return "[" + "; ".join(" ".join(g(e) for e in row) for row in v) + "]"


def graphviz_texts(dot_source: str) -> str:
    svg = subprocess.run(["dot", "-Tsvg"], input=dot_source, capture_output=True, text=True, check=True).stdout
    return "\n".join("".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text"))


def svg_texts(svg: str) -> str:
    return "\n".join("".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text"))


@pytest.fixture(scope="module")
def two_path():
    return solve(load_problem(TWO_PATH))


@pytest.fixture(scope="module")
def tiny_net():
    return solve(parse_problem(NET, "tiny.yaml"))


# ------------------------------------------------------------------ the picture

def test_two_path_boxes_hold_hand_computed_values_and_gradients(two_path):
    boxes = {b.name: b for b in drawing.diagram(two_path).boxes}
    for name, (value, grad) in two_path_expected().items():
        assert boxes[name].value == g(value)
        assert boxes[name].gradient == f"dw/d{name} = {g(grad)}"
    assert drawing.columns(drawing.diagram(two_path)) == {"n0": 0, "n1": 0, "n2": 0, "n3": 1, "n4": 2, "n5": 3}


def test_network_boxes_hold_hand_computed_values_and_gradients(tiny_net):
    boxes = {b.name.split(" = ")[0]: b for b in drawing.diagram(tiny_net).boxes}
    for name, (value, grad) in tiny_net_expected().items():
        shown = vector(value)
        assert boxes[name].value == shown
        assert boxes[name].gradient.endswith(" = " + vector(grad))


def test_short_values():
    assert drawing.short(2 / 3) == "0.6667"
    assert drawing.short(-0.0) == "0"
    assert drawing.short([1, 2.5]) == "[1, 2.5]"
    assert drawing.short([[1, 2], [3, 4]]) == "[1 2; 3 4]"
    assert drawing.short(np.zeros((3, 4))) == "3×4"
    assert drawing.short(None) == "per sample"


def test_boxes_do_not_overlap_and_columns_run_left_to_right(tiny_net):
    d = drawing.diagram(tiny_net)
    placed = drawing.place(d, 7.2, 16, 8, 56, 18)
    rects = list(placed.values())
    for i, (x, y, w, h) in enumerate(rects):
        for (u, v, p, q) in rects[i + 1:]:
            assert x + w <= u or u + p <= x or y + h <= v or v + q <= y
    for a, b in d.edges:
        assert placed[a][0] + placed[a][2] < placed[b][0]


def test_graph_with_data_draws_the_first_sample():
    p = load_problem(ROOT / "problems" / "graphs" / "neuron-node-by-node.yaml")
    solution = solve(p, drawing.drawn_samples(p))
    boxes = {b.name: b for b in drawing.diagram(solution).boxes}
    w = np.array([0.1, 0.5, -0.25])
    z = w[0] + w[1] * 1 + w[2] * 2  # sample 1: x = [1, 2], y = 1
    h = 1 / (1 + math.exp(-z))
    assert boxes["z"].value == g(z) and boxes["h"].value == g(h)
    assert boxes["L"].value == g((h - 1) ** 2)
    assert boxes["h"].gradient == f"dL/dh = {g(2 * (h - 1))}"
    assert "sample 1 of 3" in drawing.diagram(solution).note
    whole = dataclasses.replace(solution, entries={k: e for k, e in solution.entries.items()
                                                   if not k.startswith("sample")})
    bare = drawing.diagram(whole)  # a solution without the sample: said, not guessed
    assert {b.name: b.value for b in bare.boxes}["z"] == "per sample" and "not shown" in bare.note


# ------------------------------------------------------------------ DOT through Graphviz, SVG through xml.etree

@needs_dot
def test_two_path_dot_renders_in_graphviz_with_every_value_and_gradient(two_path):
    texts = graphviz_texts(drawing.render_dot(two_path))
    for name, (value, grad) in two_path_expected().items():
        assert re.search(rf"^{name}$", texts, re.M)
        assert re.search(rf"^{re.escape(g(value))}$", texts, re.M)
        assert f"dw/d{name} = {g(grad)}" in texts


@needs_dot
def test_network_dot_renders_in_graphviz_with_every_value_and_gradient(tiny_net):
    texts = graphviz_texts(drawing.render_dot(tiny_net))
    for name, (value, grad) in tiny_net_expected().items():
        for row in vector(value).split("; ") + vector(grad).split("; "):  # a matrix: a line per row
            assert row.strip("[]") in texts, name


def test_svg_is_well_formed_and_holds_the_same_labels(two_path, tiny_net):
    texts = svg_texts(drawing_svg.render_svg(two_path))
    for name, (value, grad) in two_path_expected().items():
        assert f"dw/d{name} = {g(grad)}" in texts and re.search(rf"^{re.escape(g(value))}$", texts, re.M)
    svg = drawing_svg.render_svg(tiny_net)
    texts = svg_texts(svg)
    for name, (value, grad) in tiny_net_expected().items():
        for row in vector(value).split("; ") + vector(grad).split("; "):
            assert row.strip("[]") in texts, name
    assert "http://" not in svg.replace("http://www.w3.org/2000/svg", "")  # self-contained
    assert drawing_svg.render_svg(tiny_net) == svg  # deterministic


def hostile(solution):
    """The solution with a title and an alias of a node holding every character that means something."""
    bad = 'a"<b>&\\}{$%#_^~\']]>--\x07\u202e'
    problem = dataclasses.replace(solution.problem, title=f"T {bad} end", display={"a": bad})
    return dataclasses.replace(solution, problem=problem), bad


@needs_dot
def test_hostile_names_are_text_in_dot(two_path):
    solution, bad = hostile(two_path)
    texts = graphviz_texts(drawing.render_dot(solution))
    assert 'a"<b>&\\}{$%#_^~\']]>--\\x07\\u202e' in texts  # the controls shown as escapes


def test_hostile_names_are_text_in_svg(two_path):
    solution, bad = hostile(two_path)
    texts = svg_texts(drawing_svg.render_svg(solution))
    assert 'a"<b>&\\}{$%#_^~\']]>--\\x07\\u202e' in texts
    assert "<b>" not in drawing_svg.render_svg(solution)


# ------------------------------------------------------------------ TikZ and pgfplots through pdflatex

def compile_pdf(tmp_path: Path, body: str) -> str:
    (tmp_path / "f.tex").write_text(drawing_tex.standalone(body), encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "f.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout[-2000:]
    return subprocess.run(["pdftotext", "-layout", "f.pdf", "-"], cwd=tmp_path, capture_output=True,
                          text=True, check=True).stdout


@needs_tex
def test_tikz_figures_compile_with_every_value(tmp_path, two_path, tiny_net):
    text = compile_pdf(tmp_path, drawing_tex.tikz_figure(two_path.problem, two_path)
                       + drawing_tex.tikz_figure(tiny_net.problem, tiny_net))
    for name, (value, grad) in two_path_expected().items():
        assert f"dw/d{name} = {g(grad)}" in text
    assert f"dl/dW2 = [{g(tiny_net_expected()['W2'][1][0, 0])}" in text


@needs_tex
def test_hostile_names_compile_in_tikz(tmp_path, two_path):
    solution, _ = hostile(two_path)
    text = compile_pdf(tmp_path, drawing_tex.tikz_figure(solution.problem, solution))
    assert "}{$%#_^~" in text.replace(" ", "")


@needs_tex
def test_activation_plots_compile(tmp_path):
    p = parse_problem(NET, "tiny.yaml")
    assert [a.name for a in plots.activations_of(p)] == ["relu", "sigmoid"]
    chosen = [plots.parse(t) for t in ("relu", "leaky_relu(z, 0.1)", "softplus", "gelu")]
    text = compile_pdf(tmp_path, drawing_tex.activation_plots_tikz(p) + drawing_tex.activation_plots_tikz(None, chosen))
    assert "sigmoid" in text and "gelu" in text


# ------------------------------------------------------------------ the curves and the plot command

def test_curves_are_the_activations_own_values_broken_at_kinks():
    c = plots.curve(plots.parse("leaky_relu(z, 0.1)"))
    assert np.allclose(c.f, np.where(c.z > 0, c.z, 0.1 * c.z))
    assert len(c.pieces) == 2
    left, right = c.pieces
    assert np.allclose(left[1], 0.1) and np.allclose(right[1], 1.0) and left[0].max() < 0 < right[0].min()
    gelu = plots.curve(plots.parse("gelu"))
    phi = np.array([0.5 * math.erfc(-z / math.sqrt(2)) for z in gelu.z])
    assert len(gelu.pieces) == 1 and np.allclose(gelu.f, gelu.z * phi)


def test_activations_of_a_graph_are_its_calls():
    p = load_problem(ROOT / "problems" / "graphs" / "vector-graph.yaml")
    assert [a.label() for a in plots.activations_of(p)] == ["tanh(z)"]


def test_plot_command(tmp_path):
    runner = CliRunner()
    out = tmp_path / "a.svg"
    result = runner.invoke(main, ["plot", "relu", "leaky_relu(z, 0.1)", "softplus", "gelu", "-o", str(out)])
    assert result.exit_code == 0, result.output
    root = ET.fromstring(out.read_text(encoding="utf-8"))
    assert len([g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "plot"]) == 4
    bad = runner.invoke(main, ["plot", "nosuch("])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert runner.invoke(main, ["plot"]).exit_code == 2


@pytest.mark.parametrize("fmt", ["dot", "svg"])
def test_solve_formats(fmt):
    result = CliRunner().invoke(main, ["solve", str(TWO_PATH), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "dw/dx = 90" in result.output
