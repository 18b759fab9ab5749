"""Draw a solved problem: its computation graph with every value and gradient on it.

A graph problem is drawn as written: its inputs, data names and nodes, an
edge from every name a node's expression uses to the node. A network is drawn
as its layer graph: x → z1 = W1 x + b1 → z2 = f(z1) → … → loss ← y, with each
layer's parameters feeding their layer. Each box holds the name (the spec's
alias where it gives one), how the node is computed, its value (green, on the
forward pass) and its gradient dO/d(node) (red, from the backward pass), in
the style of the CS231n circuit diagrams.

`diagram` builds that picture as plain data (a `Diagram`), `place` lays it
out left to right (longest-path columns), and the renderers draw it: DOT here
(Graphviz does its own layout), SVG in `drawing_svg`, TikZ in `drawing_tex`.
With `data:`, a graph's nodes have values per sample only: the drawing shows
the first sample's (when the solution holds them: solve with `drawn_samples`) and the
inputs' gradients summed or averaged over the samples, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import formulas as F
from .escape import line

VALUE_COLOUR = "#1b7a2e"  # forward values: green
GRADIENT_COLOUR = "#c0262d"  # gradients: red
MAX_INLINE = 6  # entries shown one by one; a larger array is shown by its shape
DRAWN_SAMPLE = 1  # with data:, the sample whose values a graph's drawing shows


@dataclass(frozen=True)
class Box:
    """One node of a drawing; every string is untrusted (spec names) until a renderer escapes it."""

    id: str  # n0, n1, …: never spec text
    name: str  # as the spec shows it (its alias)
    detail: str  # how it is computed ("W1 x + b1"), or its role ("input", "parameter")
    value: str  # short text of the value
    gradient: str  # "dl/dz1 = …", or "" where there is none
    role: str  # "input" | "parameter" | "node" | "output"


@dataclass
class Diagram:
    title: str
    note: str  # what the values are (which sample), or ""
    boxes: list = field(default_factory=list)
    edges: list = field(default_factory=list)  # (from id, to id)


def drawn_samples(problem) -> set:
    """The samples to solve for a drawing: a graph with data: has node values per sample only."""
    return {DRAWN_SAMPLE} if getattr(problem, "graph", None) is not None and problem.data else set()


# ------------------------------------------------------------------ values as short text

def number(v: float) -> str:
    """A number to 4 significant figures (no "-0")."""
    text = f"{float(v):.4g}"
    return "0" if text in ("-0", "0") else text


def short(value) -> str:
    """A value in a few characters: a scalar, a small vector [a, b], a small matrix [a b; c d],
    or a larger array by its shape (3×4)."""
    if value is None:
        return "per sample"
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return number(arr)
    if arr.size > MAX_INLINE or arr.ndim > 2:
        return "×".join(str(n) for n in arr.shape)
    if arr.ndim == 1:
        return "[" + ", ".join(number(v) for v in arr) + "]"
    return "[" + "; ".join(" ".join(number(v) for v in row) for row in arr) + "]"


# ------------------------------------------------------------------ building the picture

def diagram(solution) -> Diagram:
    """The drawing of a solved problem (a graph problem or a network)."""
    p = solution.problem
    if getattr(p, "graph", None) is not None:
        return _graph_diagram(solution)
    return _network_diagram(solution)


class _Builder:
    def __init__(self, diagram: Diagram):
        self.d = diagram
        self.ids: dict = {}

    def add(self, key: str, name: str, detail: str, value: str, gradient: str, role: str) -> None:
        self.ids[key] = f"n{len(self.ids)}"
        self.d.boxes.append(Box(self.ids[key], name, detail, value, gradient, role))

    def edge(self, a: str, b: str) -> None:
        if a in self.ids and b in self.ids:
            self.d.edges.append((self.ids[a], self.ids[b]))


def _graph_diagram(solution) -> Diagram:
    p = solution.problem
    out = p.graph.output
    show = _shown(p.display)
    entries = solution.entries
    sample = DRAWN_SAMPLE if p.data else None

    def look(name, top=None):  # with data: a node's (and dO/d node's) on the drawn sample, else None
        per_sample = p.data and (top or name) not in p.graph.inputs
        key = f"sample{sample}.{name}" if per_sample else name
        return entries[key].value if key in entries else None

    def gradient(name):
        key = f"d{out}/d{name}"
        label = p.display.get(key) or f"d{show(out)}/d{show(name)}"
        value = look(key, name)
        return f"{label} = {short(value)}" if value is not None else ""

    note = ""
    if p.data:
        shown = any(n.startswith(f"sample{sample}.") for n in entries)
        which = f"sample {sample} of {p.n_samples}" if shown else f"per sample (N = {p.n_samples}), not shown"
        note = f"node values and gradients: {which}; the inputs' gradients: the {p.reduce} over the samples"
    d = Diagram(p.title, note)
    b = _Builder(d)
    for name in p.graph.inputs:
        b.add(name, show(name), "input", short(look(name)), gradient(name), "parameter")
    for name in p.data:
        b.add(name, show(name), f"data (N = {p.n_samples})", short(look(name)), gradient(name), "input")
    renamed = {k: F.Name(v) for k, v in p.display.items() if "/" not in k}
    for name, tree in p.graph.nodes:
        b.add(name, show(name), F.to_code(F.substitute(tree, renamed)), short(look(name)), gradient(name),
              "output" if name == out else "node")
        for used in sorted(F.names_in(tree)):
            b.edge(used, name)
    return d


def _network_diagram(solution) -> Diagram:
    p = solution.problem
    show = _shown(p.display)
    e = solution.entries
    env = solution.env

    def gradient(name):
        key = f"dl/d{name}"
        label = p.display.get(key) or f"dl/d{show(name)}"
        return f"{label} = {short(e[key].value)}" if key in e else ""

    def data(name):
        value = np.asarray(env[name], dtype=float)
        value = value.T if p.rows else value
        return value.reshape(-1) if p.vector or value.shape[-1] == 1 else value

    d = Diagram(p.title, "" if p.n_samples == 1 else f"N = {p.n_samples} samples")
    b = _Builder(d)
    b.add("x", show("x"), "input", short(data("x")), "", "input")
    previous = "x"
    last = 2 * len(p.layers)
    for i, layer in enumerate(p.layers, start=1):
        pre, post = f"z{2 * i - 1}", f"z{2 * i}"
        b.add(layer.weight, show(layer.weight), "weight", short(np.asarray(env[layer.weight], float)),
              gradient(layer.weight), "parameter")
        affine = f"{show(layer.weight)} {show(previous)}"
        if layer.bias:
            b.add(layer.bias, show(layer.bias), "bias", short(np.asarray(env[layer.bias], float).reshape(-1)),
                  gradient(layer.bias), "parameter")
            affine += f" + {show(layer.bias)}"
        b.add(pre, show(pre), affine, short(e[pre].value), gradient(pre), "node")
        for source in (previous, layer.weight, layer.bias):
            b.edge(source or "", pre)
        name = show(post) if 2 * i != last else f"{show(post)} = {show('y_hat')}"
        activation = F.to_code(layer.activation.formula(F.Name(show(pre))))
        if activation == show(pre):  # the identity: say so, not just "z3"
            activation = f"{layer.activation.label()}({activation})"
        b.add(post, name, activation, short(e[post].value), gradient("y_hat" if 2 * i == last else post), "node")
        b.edge(pre, post)
        previous = post
    b.add("y", show("y"), "target", short(data("y")), "", "input")
    b.add("loss", "loss", f"loss({show('y_hat')}, {show('y')}): {p.loss.label()}", short(e["loss"].value),
          "dl/dl = 1", "output")
    b.edge(previous, "loss")
    b.edge("y", "loss")
    return d


def _shown(display: dict):
    return lambda name: display.get(name, name)


# ------------------------------------------------------------------ layout (SVG and TikZ)

def columns(d: Diagram) -> dict:
    """Each box's column: longest path from a source; an input or parameter sits in the column
    just before the first node that uses it (next to its layer, not all at the far left)."""
    preds: dict = {b.id: [] for b in d.boxes}
    succs: dict = {b.id: [] for b in d.boxes}
    for a, b in d.edges:
        preds[b].append(a)
        succs[a].append(b)
    column: dict = {}
    for box in d.boxes:  # boxes come in evaluation order: every predecessor is placed first
        column[box.id] = 1 + max((column[a] for a in preds[box.id]), default=-1)
    for box in d.boxes:
        if not preds[box.id] and succs[box.id]:
            column[box.id] = min(column[s] for s in succs[box.id]) - 1
    low = min(column.values(), default=0)
    return {k: v - low for k, v in column.items()}


def lines(box: Box) -> list:
    """A box's lines of text: (text, kind) with kind name, detail, value or gradient."""
    out = [(box.name, "name"), (box.detail, "detail")]
    for text, kind in ((box.value, "value"), (box.gradient, "gradient")):
        rows = text.split("; ") if text.endswith("]") else [text]  # a matrix: a line per row
        out += [(row + (";" if i + 1 < len(rows) else ""), kind) for i, row in enumerate(rows) if row]
    return out


def _ordered(d: Diagram, column: dict) -> dict:
    """column -> its box ids, top to bottom: in evaluation order, then each box moved to the
    mean rank of its predecessors (left to right) and a source to its successors' (right to
    left), the barycentre heuristic that removes most crossings of small graphs."""
    by_column: dict = {}
    for box in d.boxes:
        by_column.setdefault(column[box.id], []).append(box.id)
    preds: dict = {b.id: [] for b in d.boxes}
    succs: dict = {b.id: [] for b in d.boxes}
    for a, b in d.edges:
        preds[b].append(a)
        succs[a].append(b)
    for near, sweep in ((preds, sorted(by_column)), (succs, sorted(by_column, reverse=True))):
        rank = {i: n for ids in by_column.values() for n, i in enumerate(ids)}
        for c in sweep:
            ids = by_column[c]
            mean = {i: sum(rank[j] for j in near[i]) / len(near[i]) if near[i] else rank[i] for i in ids}
            ids.sort(key=lambda i: mean[i])  # stable: ties keep their order
            rank.update({i: n for n, i in enumerate(ids)})
    return by_column


def place(d: Diagram, char: float, line_h: float, pad: float, gap_x: float, gap_y: float) -> dict:
    """id -> (x, y, width, height) of each box, y growing downwards; columns left to right,
    each box as wide as its longest line (`char` per character, monospaced), columns centred."""
    column = columns(d)
    size = {b.id: (max(len(t) for t, _ in lines(b)) * char + 2 * pad, len(lines(b)) * line_h + 2 * pad)
            for b in d.boxes}
    by_column = _ordered(d, column)
    heights = {c: sum(size[i][1] for i in ids) + gap_y * (len(ids) - 1) for c, ids in by_column.items()}
    tallest = max(heights.values(), default=0)
    out, x = {}, 0.0
    for c in sorted(by_column):
        width = max(size[i][0] for i in by_column[c])
        y = (tallest - heights[c]) / 2
        for i in by_column[c]:
            w, h = size[i]
            out[i] = (x + (width - w) / 2, y, w, h)
            y += h + gap_y
        x += width + gap_x
    return out


# ------------------------------------------------------------------ DOT

def _html(text: str) -> str:
    """Text for a Graphviz HTML-like label: one line, &, <, > and quotes as entities."""
    return (line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


_FONT = {"name": ('<B>', '</B>'), "detail": ('<FONT POINT-SIZE="10">', '</FONT>'),
         "value": (f'<FONT COLOR="{VALUE_COLOUR}">', '</FONT>'),
         "gradient": (f'<FONT COLOR="{GRADIENT_COLOUR}">', '</FONT>')}
_SHAPE = {"input": 'shape=box, style="rounded", color="#555555"',
          "parameter": 'shape=box, style="rounded,filled", fillcolor="#f3f3f3", color="#555555"',
          "node": 'shape=box, style="rounded", color="#222222"',
          "output": 'shape=box, style="rounded,bold", color="#222222"'}


def render_dot(solution) -> str:
    """The drawing as Graphviz DOT (`dot -Tsvg`, `dot -Tpdf`): left to right, values green,
    gradients red; every spec string is in an HTML-like label, escaped."""
    d = diagram(solution)
    caption = _html(d.title) + (f'<BR/><FONT POINT-SIZE="10">{_html(d.note)}</FONT>' if d.note else "")
    key = (f'<BR/><FONT POINT-SIZE="10" COLOR="{VALUE_COLOUR}">value</FONT>  '
           f'<FONT POINT-SIZE="10" COLOR="{GRADIENT_COLOUR}">gradient</FONT>')
    out = ["digraph bpcheck {", '  charset="UTF-8";', "  rankdir=LR;", "  nodesep=0.3; ranksep=0.6;",
           f'  label=<{caption}{key}>; labelloc="t";', '  node [fontname="Helvetica", fontsize=12];',
           '  edge [color="#444444", arrowsize=0.7];']
    for box in d.boxes:
        rows = "".join(f"<TR><TD>{_FONT[kind][0]}{_html(text)}{_FONT[kind][1]}</TD></TR>" for text, kind in lines(box))
        out.append(f'  {box.id} [{_SHAPE[box.role]}, label=<<TABLE BORDER="0" CELLBORDER="0" '
                   f'CELLSPACING="0" CELLPADDING="1">{rows}</TABLE>>];')
    out += [f"  {a} -> {b};" for a, b in d.edges]
    out.append("}")
    return "\n".join(out) + "\n"
