"""A problem's statement for students (`bpcheck handout`): what is given and what is asked.

The handout shows the title, the network (its layers and activations) or the
graph (its nodes as expressions), every given number of the problem as loaded
(a student's variant when the caller passes one), the loss and its
definition, the training (optimizer, learning rate, steps) and the numbered
questions with their points, each quantity in readable notation beside the
name an answers file uses, and a skeleton answers file. It never solves the
problem: nothing computed can appear in it. The blocks are rendered by
`handout_writers` as Markdown or as a LaTeX document.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction

from . import formulas as F
from .handout_writers import RENDERERS, Code, Math, Text
from .quantities import all_names, parts, state_of

FORMATS = tuple(RENDERERS)

# The update rule of each optimizer, as FORMAT.md section 6 defines it (g: the gradient, t: the step).
UPDATES = {
    "sgd": r"p \leftarrow p - \eta\, g",
    "momentum": r"v \leftarrow \mu v + g, \quad p \leftarrow p - \eta\, v \quad (v = 0 \text{ at first})",
    "adam": r"m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad "
            r"\hat{m} = \frac{m}{1 - \beta_1^t}, \quad \hat{v} = \frac{v}{1 - \beta_2^t}, \quad "
            r"p \leftarrow p - \eta \frac{\hat{m}}{\sqrt{\hat{v}} + \epsilon}",
}
STATE_TEX = {"m": "m", "v": "v", "mhat": r"\hat{m}", "vhat": r"\hat{v}"}
FORMS = {"expression": " (answer with a formula)", "any": " (a value or a formula)"}


def render(problem, fmt: str, student: str | None = None) -> str:
    """The handout of `problem` (already the student's variant, if any) in `fmt`."""
    return RENDERERS[fmt](blocks(problem, student))


def blocks(problem, student: str | None = None) -> list:
    graph = getattr(problem, "graph", None) is not None
    head = [Text("Problem "), Code(problem.id)]
    if student is not None:
        head += [Text(", for student "), Code(student)]
    out = [("h1", [Text(problem.title)]), ("p", head + [Text(".")])]
    out += _graph(problem) if graph else _network(problem)
    out += _training(problem, graph) + _questions(problem, graph) + _skeleton(problem, student, graph)
    return out


# ------------------------------------------------------------------ numbers and names

def number(v: Fraction) -> str:
    """An exact number: a terminating decimal as one (0.25, -3, 0.00000001), else a fraction."""
    v = Fraction(v)
    rest, digits = v.denominator, 0
    for prime in (2, 5):
        count = 0
        while rest % prime == 0:
            rest, count = rest // prime, count + 1
        digits = max(digits, count)
    if rest != 1:
        return rf"{'-' if v < 0 else ''}\tfrac{{{abs(v.numerator)}}}{{{v.denominator}}}"
    units = abs(v.numerator) * (10 ** digits // v.denominator)
    text = f"{units:0{digits + 1}d}"
    whole, part = text[:len(text) - digits], text[len(text) - digits:]
    return ("-" if v < 0 else "") + whole + ("." + part if part else "")


def number_text(v: Fraction) -> str:
    """As `number`, in plain text (3/4 rather than \\tfrac)."""
    text = number(v)
    m = re.fullmatch(r"(-?)\\tfrac\{(\d+)\}\{(\d+)\}", text)
    return f"{m.group(1)}{m.group(2)}/{m.group(3)}" if m else text


def matrix(rows) -> str:
    """Rows of exact numbers as a bmatrix (one row: a row vector; rows of one: a column)."""
    body = r" \\ ".join(" & ".join(number(v) for v in row) for row in rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def value(v) -> str:
    """A graph value: a number, a vector (shown as a column) or a matrix (object arrays of Fractions)."""
    shape = getattr(v, "shape", ())
    if not shape:
        return number(v)
    return matrix([[x] for x in v] if len(shape) == 1 else [list(row) for row in v])


def name(n: str) -> str:
    return F.to_latex(F.Name(n))


def readable(quantity: str, problem, graph: bool) -> tuple[str, str]:
    """(LaTeX of the quantity, words for its prefix): (W_{1}, " after training step 1")."""
    kind, k, base = parts(quantity)
    state = None if graph and base in getattr(problem.graph, "inputs", {}) else \
        state_of(base, problem.optimizer.state) if kind == "step" else None
    if state:
        tex = f"{STATE_TEX[state[0]]}_{{{name(state[1])}}}"
    elif base == "loss" and not graph:
        tex = r"\ell"
    else:
        tex = name(base)
    words = {"step": f" after training step {k}", "sample": f" on sample {k} alone"}.get(kind, "")
    return tex, words


def _alias(quantity: str, problem) -> str | None:
    """The quantity spelled with the spec's display alias (z1 -> S1, dl/dz1 -> dl/dS1), if any."""
    kind, k, base = parts(quantity)
    shown = problem.display.get(base)
    if shown is None and base.startswith("dl/d") and base[4:] in problem.display:
        shown = "dl/d" + problem.display[base[4:]]
    return None if shown is None else (f"{kind}{k}." if kind else "") + shown


# ------------------------------------------------------------------ the network

def _network(p) -> list:
    count = len(p.layers)
    rows = []
    for i, layer in enumerate(p.layers, start=1):
        z_in = "x" if i == 1 else f"z{2 * i - 2}"
        bias = f" + {name(layer.bias)}" if layer.bias else ""
        linear = f"{name(f'z{2 * i - 1}')} = {name(layer.weight)} \\, {name(z_in)}{bias}"
        act = f"{name(f'z{2 * i}')} = {F.to_latex(layer.activation.formula(F.Name(f'z{2 * i - 1}')))}"
        rows.append([[Text(str(i))], [Math(linear)], [Math(act)], [Text(layer.activation.label())]])
    out = [("h2", [Text("The network")]),
           ("p", [Text(f"{count} layer{'s' if count > 1 else ''}, each a linear map then an activation, "
                       "applied to each sample "), Math("x"), Text(":")]),
           ("table", [[Text("layer")], [Text("linear")], [Text("activation")], [Text("as named")]], rows),
           ("p", [Text("The output is "), Math(rf"\hat{{y}} = {name(f'z{2 * count}')}"), Text(".")])]
    out += _kinks(p) + _aliases(p) + _loss(p) + _given_network(p)
    return out


def _kinks(p) -> list:
    at_zero = {a.p["grad_at_zero"] for a in (l.activation for l in p.layers) if a.p.get("grad_at_zero")}
    return [("p", [Text("Take the derivative of ReLU at exactly 0 to be "), Math(number(g)), Text(".")])
            for g in sorted(at_zero)]


def _aliases(p) -> list:
    if not p.display:
        return []
    pieces: list = [Text("Names used in this problem: ")]
    for i, (canonical, alias) in enumerate(p.display.items()):
        pieces += [Text(", " if i else ""), Code(alias), Text(" is "), Code(canonical)]
    return [("p", pieces + [Text(".")])]


def _loss(p) -> list:
    formula = F.to_latex(p.loss.formula(F.Name("y_hat"), F.Name("y"), p.rows))
    n, k = p.n_samples, len(p.y)
    return [("h2", [Text("Loss")]),
            ("p", [Text(f"The loss is {p.loss.label()}:")]),
            ("display", rf"\ell = {formula}"),
            ("p", [Text("where the sum runs over every entry, "), Math(r"\odot"), Text(" and "), Math(r"\oslash"),
                   Text(" act entry by entry, "), Math(f"N = {n}"), Text(f" sample{'s' if n > 1 else ''} and "),
                   Math(f"K = {k}"), Text(f" output{'s' if k > 1 else ''}.")])]


def _given_network(p) -> list:
    out: list = [("h2", [Text("Given")])]
    for layer in p.layers:
        out.append(("display", f"{name(layer.weight)} = {matrix(p.params[layer.weight])}"))
        if layer.bias:
            out.append(("display", f"{name(layer.bias)} = {matrix(p.params[layer.bias])}"))
    if p.vector:
        where = "One sample: x and y are column vectors."
    elif p.rows:
        where = "Samples are the rows of x and y (one sample per row)."
    else:
        where = "Samples are the columns of x and y (one sample per column)."
    out.append(("p", [Text(where)]))
    for key, data in (("x", p.x), ("y", p.y)):
        out.append(("display", f"{name(key)} = {matrix(list(zip(*data)) if p.rows else data)}"))
    return out


# ------------------------------------------------------------------ the graph

def _graph(p) -> list:
    g = p.graph
    rows = [[[Code(n)], [Math(f"{name(n)} = {F.to_latex(tree)}")], [Code(F.to_code(tree))]] for n, tree in g.nodes]
    out = [("h2", [Text("The computation graph")]),
           ("p", [Text("Each node is computed from the inputs and the nodes before it; the output is "),
                  Math(name(g.output)), Text(". Products "), Math(r"\odot"), Text(" and quotients "),
                  Math(r"\oslash"), Text(" act entry by entry; "), Math(r"W x"), Text(" is a matrix product; "),
                  Code("v[0]"), Text(" is the first entry of v.")]),
           ("table", [[Text("node")], [Text("definition")], [Text("as written")]], rows)]
    out += _aliases(p) + [("h2", [Text("Given")])]
    out += [("display", f"{name(n)} = {value(v)}") for n, v in g.inputs.items()]
    if p.data:
        how = "summed" if p.reduce == "sum" else "averaged"
        out.append(("p", [Text(f"The nodes are computed once per sample, and the output is {how} over the "
                               f"{p.n_samples} samples:")]))
        header = [[Text("sample")]] + [[Math(name(n))] for n in p.data]
        rows = [[[Text(str(i + 1))]] + [[Math(value(p.data[n][i]))] for n in p.data] for i in range(p.n_samples)]
        out.append(("table", header, rows))
    return out


# ------------------------------------------------------------------ training and questions

def _training(p, graph: bool) -> list:
    if p.lr is None:
        return []
    steps = f"{p.steps} step{'s' if p.steps > 1 else ''}"
    pieces = [Text(f"Train with {p.optimizer.label()}, learning rate "), Math(rf"\eta = {number(p.lr)}"),
              Text(f", for {steps}" + (" on the whole batch" if not graph and p.n_samples > 1 else ""))]
    if graph:
        pieces += [Text(", updating ")] + _listed(p.train_params)
    out = [("h2", [Text("Training")]), ("p", pieces + [Text(". Each step updates each parameter p with its "
                                                            "gradient g:")])]
    return out + [("display", UPDATES[p.optimizer.name])] if p.optimizer.name in UPDATES else out


def _listed(names) -> list:
    pieces: list = []
    for i, n in enumerate(names):
        pieces += [Text(", " if i else ""), Math(name(n))]
    return pieces


def asked(problem, graph: bool) -> tuple:
    """The questions; without any, every quantity at one point (as `grade` asks)."""
    if problem.questions:
        return problem.questions
    from . import graph_quantities as GQ
    from .grade import questions_of

    names = GQ.quantities(problem) if graph else all_names(problem.structure)

    class Listing:  # questions_of reads the quantity names of a solution: here, without solving
        entries = dict.fromkeys(names)

    return questions_of(problem, Listing())


def _questions(p, graph: bool) -> list:
    items = []
    for q in asked(p, graph):
        tex, words = readable(q.quantity, p, graph)
        points = f"{number_text(q.points)} point{'' if q.points == 1 else 's'}"
        item = [Text(f"({points}) "), Math(tex), Text(words + ": answer as "), Code(q.quantity)]
        alias = _alias(q.quantity, p)
        if alias:
            item += [Text(" or "), Code(alias)]
        item.append(Text(FORMS.get(q.form, "") + _rounding(q.tolerance or p.tolerance) + "."))
        items.append(item)
    total = sum((q.points for q in asked(p, graph)), Fraction(0))
    out = [("h2", [Text("Questions")]), ("list", items), ("p", [Text(f"Total: {number_text(total)} points.")])]
    if p.tolerance.get("rtol") or p.tolerance.get("atol"):
        out.append(("p", [Text("A number counts as correct within a relative tolerance of "
                               f"{number_text(p.tolerance.get('rtol', 0))} and an absolute tolerance of "
                               f"{number_text(p.tolerance.get('atol', 0))}.")]))
    return out


def _rounding(tolerance: dict) -> str:
    if "sigfigs" in tolerance:
        return f", to {tolerance['sigfigs']} significant figures"
    if "decimals" in tolerance:
        return f", to {tolerance['decimals']} decimals"
    return ""


def _skeleton(p, student: str | None, graph: bool) -> list:
    """An answers file to fill in (FORMAT.md section 3)."""
    lines = ["bpcheck: 1", f"student: {json.dumps(student) if student is not None else 'YOUR-ID'}", "answers:"]
    for i, q in enumerate(asked(p, graph), start=1):
        key = q.quantity if re.fullmatch(r"[A-Za-z0-9_./]+", q.quantity) else json.dumps(q.quantity)
        lines.append(f"  {key}:   # question {i}")
    return [("h2", [Text("How to answer")]),
            ("p", [Text("Write an answers file (numbers, lists for vectors, lists of rows for matrices, or "
                        "formulas in quotes) and check it with "), Code("bpcheck grade answers.yaml"), Text(":")]),
            ("verbatim", lines)]
