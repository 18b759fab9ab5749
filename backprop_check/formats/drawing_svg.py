"""The drawing of a solved problem as a self-contained SVG, laid out by bpcheck itself.

Why not Graphviz: `dot -Tsvg` lays out better, but it is a system tool that a
student's laptop, a Gradescope image or a CI runner may lack, and its output
changes between versions. This SVG needs nothing but bpcheck, is the same byte
for byte on every machine, and is well-formed XML (no scripts, no external
fonts or images). Who wants Graphviz's layout pipes `--format dot` into it.

The layout is `drawing.place`: boxes in columns by longest path, left to
right, each box as wide as its longest line in a monospaced font (so the text
always fits), edges as cubic curves from a box's right side to the next box's
left side.
"""

from __future__ import annotations

import textwrap

from .drawing import GRADIENT_COLOUR, VALUE_COLOUR, diagram, lines, place
from .escape import line

FONT = 12  # px
CHAR = 0.6 * FONT  # the advance of a monospaced font (DejaVu Sans Mono, Menlo, Consolas: 0.6 em)
LINE = 16  # px per line of a box
PAD = 8
GAP_X, GAP_Y = 56, 18
MARGIN = 16
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
_STYLE = {"name": 'font-weight="bold" fill="#111111"', "detail": 'fill="#444444"',
          "value": f'fill="{VALUE_COLOUR}"', "gradient": f'fill="{GRADIENT_COLOUR}"'}
_BOX = {"input": ('#ffffff', '#555555', 1), "parameter": ('#f3f3f3', '#555555', 1),
        "node": ('#ffffff', '#222222', 1), "output": ('#ffffff', '#222222', 2.2)}


def xml(text: object) -> str:
    """Text for XML content or a quoted attribute: one line (no control character, which XML 1.0
    forbids), with &, <, >, " and ' as entities."""
    return (line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def _n(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def header(width: float, height: float, title: str) -> list:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{MONO}" font-size="{FONT}">',
            f"<title>{xml(title)}</title>", f'<rect width="100%" height="100%" fill="#ffffff"/>']


def render_svg(solution) -> str:
    """The problem's graph with values (green) and gradients (red), as an SVG document."""
    d = diagram(solution)
    boxes = place(d, CHAR, LINE, PAD, GAP_X, GAP_Y)
    width = max((x + w for x, _, w, _ in boxes.values()), default=0)
    height = max((y + h for _, y, _, h in boxes.values()), default=0)
    wrap = max(60, int(width / CHAR))
    caption = textwrap.wrap(line(d.title), wrap) + textwrap.wrap(line(d.note), wrap)
    top = MARGIN + LINE * (len(caption) + 1) + 8  # the caption, then the colour key
    total_w = max(width, wrap * CHAR) + 2 * MARGIN
    out = header(total_w, top + height + MARGIN, d.title)
    out += ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
            'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#444444"/></marker></defs>']
    for i, text in enumerate(caption):
        bold = ' font-weight="bold"' if i == 0 else ""
        out.append(f'<text x="{MARGIN}" y="{MARGIN + LINE * (i + 1) - 4}" fill="#111111"{bold}>{xml(text)}</text>')
    key_y = MARGIN + LINE * (len(caption) + 1) - 4
    out.append(f'<text x="{MARGIN}" y="{key_y}"><tspan fill="{VALUE_COLOUR}">value (forward)</tspan>'
               f'<tspan fill="#444444">   </tspan><tspan fill="{GRADIENT_COLOUR}">gradient (backward)</tspan></text>')
    out.append(f'<g transform="translate({MARGIN},{_n(top)})">')
    out += [_edge(boxes[a], boxes[b]) for a, b in d.edges]
    for box in d.boxes:
        out += _box(box, *boxes[box.id])
    out += ["</g>", "</svg>"]
    return "\n".join(out) + "\n"


def _edge(a: tuple, b: tuple) -> str:
    x1, y1 = a[0] + a[2], a[1] + a[3] / 2
    x2, y2 = b[0], b[1] + b[3] / 2
    mid = (x1 + x2) / 2
    return (f'<path d="M{_n(x1)},{_n(y1)} C{_n(mid)},{_n(y1)} {_n(mid)},{_n(y2)} {_n(x2)},{_n(y2)}" '
            f'fill="none" stroke="#444444" stroke-width="1.2" marker-end="url(#arrow)"/>')


def _box(box, x: float, y: float, w: float, h: float) -> list:
    fill, stroke, thick = _BOX[box.role]
    out = [f'<g class="node {box.role}" id="{box.id}">',
           f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="6" fill="{fill}" '
           f'stroke="{stroke}" stroke-width="{thick}"/>']
    for i, (text, kind) in enumerate(lines(box)):
        baseline = y + PAD + LINE * (i + 1) - 4
        out.append(f'<text class="{kind}" x="{_n(x + w / 2)}" y="{_n(baseline)}" text-anchor="middle" '
                   f'{_STYLE[kind]}>{xml(text)}</text>')
    out.append("</g>")
    return out
