"""Read and validate a graph problem spec (FORMAT.md section 5): `graph:` in place of a network.

```yaml
graph:
  inputs: {w1: 1, w2: 2.3, w3: 5.7}   # numbers, flat lists (vectors), nested lists (matrices)
  nodes: {s: w1 + w2, L: s * w3}      # in order; a YAML list of expressions is a vector node
  output: L                           # default: the last node
data: {x: [[1, 2], [1, 3]], y: [8, 11]}   # optional: one value per sample
reduce: sum                           # or mean: how the output combines over the samples
train: {lr: 0.01, steps: 1, params: [w1, w2]}
```

Node expressions are instructor text: they are parsed only by `formula_syntax`
(with indexing and list literals), over the inputs, the data names and the
nodes before them; nothing is evaluated by Python. Then every node is computed
once in float64 on the given values (the first sample of the data), one
operation at a time, so that a shape that does not fit, a division by zero, the
log of a negative number or an overflow is reported at its node, before the
engines run. Like a network spec, a graph spec has a work budget, and every
failure is one InputError with the file, line and column.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from . import graphcheck, optimizers, specread, variant_spec
from . import formula_syntax as S
from . import formulas as F
from . import graph_quantities as GQ
from .graph import Graph
from .quantities import UnknownQuantity, read_name
from .specread import IDENT, MAX_ENTRIES, MAX_SAMPLES, Reader, label, suggest

MAX_NODES = 400
MAX_LIST = 1024  # entries of a node written as a YAML list (a vector or a matrix of expressions)
TOP_KEYS = {"bpcheck", "id", "title", "description", "graph", "data", "reduce", "train", "tolerance",
            "questions", "names", "sha256", "random", *specread.OPTION_KEYS}
GRAPH_KEYS = {"inputs", "nodes", "output", "reduce"}
REDUCTIONS = ("sum", "mean")
RESERVED = {"N", "K", "T", "pi", "e", "y_hat", "yhat"} | set(S.FUNCTIONS) | set(S.ALIASES)
_PREFIXED = re.compile(r"(step|sample)\d*")


@dataclass(frozen=True)
class GraphProblem:
    file: str
    id: str
    title: str
    graph: Graph  # inputs: name -> Fraction | 1-D or 2-D object array of Fractions
    data: dict  # name -> tuple of per-sample exact values (the kinds of inputs); {} without data
    reduce: str  # "sum" | "mean": how the output combines over the samples
    lr: Fraction | None
    steps: int
    train_params: tuple  # the inputs a step updates
    train: dict  # {"optimizer": as written (plain data) or None}
    tolerance: dict
    questions: tuple
    names: dict  # alias -> canonical
    display: dict  # canonical -> alias
    options: dict = field(default_factory=dict)
    sha256: str | None = None
    digest: str = ""
    shapes: dict = field(default_factory=dict)  # name -> float64 shape on the first sample
    optimizer: optimizers.Optimizer = optimizers.SGD  # train.optimizer, validated (FORMAT.md section 6)
    random: variant_spec.Randomness | None = None  # per-student variants (FORMAT.md section 7)

    @property
    def n_samples(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 1

    def canonical(self, name: str) -> str:
        """As GQ.canonical, after a whole-name alias of a quantity (`grad_w` for dL/dw) and the
        names students write (`\\frac{\\partial L}{\\partial w}`, `∂L/∂w`; the output keeps its name)."""
        try:
            return GQ.canonical(self.names.get(str(name).strip(), name), self)
        except UnknownQuantity:
            spelled = read_name(str(name), network=False)
            if spelled == str(name).strip():
                raise
            try:
                return GQ.canonical(self.names.get(spelled, spelled), self)
            except UnknownQuantity:
                pass
            raise


def build(r: Reader, text: str) -> GraphProblem:
    """The GraphProblem of a spec whose top level has `graph:`."""
    top = r.mapping((), TOP_KEYS)
    pid, title = specread.header(r, top, ("bpcheck", "id", "graph"))
    r.mapping(("graph",), GRAPH_KEYS)
    taken: dict = {}  # name -> where it was defined ("an input", …)
    inputs = _values(r, ("graph", "inputs"), taken)
    data = _data(r, taken)
    nodes = _nodes(r, taken)
    output = _output(r, nodes)
    reduce = _reduce(r, data)
    train = specread.train(r, {"params"})
    steps = train["steps"] if train else 0
    shapes = graphcheck.check(r, Graph(inputs, nodes, output), data, steps)
    params = _train_params(r, train, inputs)
    optimizer = _optimizer(r, train, taken)
    if train and shapes[output] != ():
        raise r.fail(("train",), f"a training step needs a scalar output; {output} has shape "
                                 f"{_shape(shapes[output])}")
    names, display = specread.names(r, set(taken), _reserved, "this graph", _derivative_of(taken))
    tolerance = specread.tolerance(r, ("tolerance",)) if "tolerance" in top else {}
    options = specread.options(r)
    problem = GraphProblem(
        file=r.doc.file, id=pid, title=title, graph=Graph(inputs, nodes, output), data=data,
        reduce=reduce, lr=train["lr"] if train else None, steps=steps, train_params=params,
        train={"optimizer": train["optimizer"] if train else None}, tolerance=tolerance, questions=(),
        names=names, display=display, options=options, sha256=specread.sha256(r, text),
        digest=specread.file_digest(text), shapes=shapes, optimizer=optimizer,
        random=variant_spec.for_graph(r, text, inputs, data, nodes))
    questions = specread.questions(r, problem.canonical, _formula_free(output))
    return GraphProblem(**{**problem.__dict__, "questions": questions})


def _derivative_of(taken: dict):
    """`names:` may alias a derivative dA/dB of the graph's names (`dL/dw: grad_w`)."""
    def quantity(key: str) -> str | None:
        m = re.fullmatch(r"d([A-Za-z]\w*)/d([A-Za-z]\w*)", read_name(key, network=False))
        return m.group(0) if m and m.group(1) in taken and m.group(2) in taken else None
    return quantity


def _formula_free(output: str):
    def free(name: str) -> bool:
        kind, k, top, bottoms = GQ.parse(name)
        return kind == "step" and (k > 1 or top == output)  # the first step's formulas exist
    return free


def _optimizer(r: Reader, train: dict | None, taken: dict) -> optimizers.Optimizer:
    if not train or train["optimizer"] is None:
        return optimizers.SGD
    optimizer = optimizers.read(r, ("train", "optimizer"))
    clash = optimizers.clash(optimizer, taken)
    if clash:
        raise r.fail(("train", "optimizer"), f"{optimizer.name} keeps a state {clash!r} for an input, but "
                                             f"{clash} is also a name of the graph: rename it")
    return optimizer


# ------------------------------------------------------------------ names and values

def _reserved(name: str) -> bool:
    return name in RESERVED or keyword.iskeyword(name) or bool(_PREFIXED.fullmatch(name))


def _name(r: Reader, path: tuple, taken: dict, what: str) -> str:
    name = path[-1]
    if not isinstance(name, str) or not IDENT.fullmatch(name):
        raise r.doc.key_error(path, f"{str(name)[:40]!r} is not a plain name (a letter, then letters, "
                                    "digits or _; at most 32 characters)")
    if _reserved(name):
        raise r.doc.key_error(path, f"{name!r} is a reserved name (a constant, a function, a keyword or a "
                                    "quantity prefix such as step1/sample1): choose another")
    if name in taken:
        raise r.doc.key_error(path, f"{name!r} is already {taken[name]}: every name is defined once")
    taken[name] = what
    return name


def _value(r: Reader, path: tuple):
    """A number (Fraction), a flat list (1-D object array) or a nested list (2-D)."""
    raw = r.get(path)
    if isinstance(raw, list) and raw and isinstance(raw[0], list):
        return np.array([list(row) for row in r.matrix(path)], dtype=object)
    if isinstance(raw, list):
        return np.array(list(r.vector(path)), dtype=object)
    if isinstance(raw, dict):
        raise r.fail(path, f"{label(path)} must be a number or a (nested) list of numbers")
    return r.number(path)


def _size(value) -> int:
    return value.size if isinstance(value, np.ndarray) else 1


def _values(r: Reader, path: tuple, taken: dict) -> dict:
    if path[-1] not in r.get(path[:-1]):
        raise r.fail(path[:-1], f"missing {label(path)}: the given values")
    out, total = {}, 0
    if not r.mapping(path):
        raise r.fail(path, f"{label(path)} must give at least one value")
    for key in r.mapping(path):
        name = _name(r, path + (key,), taken, "an input")
        out[name] = _value(r, path + (key,))
        total += _size(out[name])
        if total > MAX_ENTRIES:
            raise r.fail(path + (key,), f"more than {MAX_ENTRIES} entries in {label(path)}")
    return out


def _data(r: Reader, taken: dict) -> dict:
    if "data" not in r.doc.data:
        return {}
    out, total, count = {}, 0, None
    for key in r.mapping(("data",)):
        path = ("data", key)
        name = _name(r, path, taken, "a data name")
        raw = r.get(path)
        if not isinstance(raw, list) or not raw:
            raise r.fail(path, f"data.{name} must be a list with one value per sample")
        if len(raw) > MAX_SAMPLES:
            raise r.fail(path, f"data.{name} has {len(raw)} samples; the limit is {MAX_SAMPLES}")
        if count is not None and len(raw) != count:
            raise r.fail(path, f"data.{name} has {len(raw)} samples but data.{next(iter(out))} has {count}")
        count = len(raw)
        samples = tuple(_value(r, path + (n,)) for n in range(len(raw)))
        for n, sample in enumerate(samples):
            if np.shape(sample) != np.shape(samples[0]):
                raise r.fail(path + (n,), f"sample {n + 1} of data.{name} has shape {_shape(np.shape(sample))}, "
                                          f"sample 1 has {_shape(np.shape(samples[0]))}")
        total += sum(_size(s) for s in samples)
        if total > MAX_ENTRIES:
            raise r.fail(path, f"more than {MAX_ENTRIES} entries in data")
        out[name] = samples
    return out


def _nodes(r: Reader, taken: dict) -> tuple:
    path = ("graph", "nodes")
    if "nodes" not in r.get(("graph",)):
        raise r.fail(("graph",), "missing graph.nodes: the computed values, in order")
    raw = r.mapping(path)
    if not raw:
        raise r.fail(path, "graph.nodes must name at least one node")
    if len(raw) > MAX_NODES:
        raise r.fail(path, f"{len(raw)} nodes; the limit is {MAX_NODES}")
    names = [_name(r, path + (key,), dict(taken), "a node") for key in raw]  # checked, not yet defined
    later = {name: i for i, name in enumerate(names)}
    nodes = []
    for i, name in enumerate(names):
        tree = _expression(r, path + (name,), set(taken) | set(later), 0)
        for used in GQ.written(tree, later):
            if used in later and later[used] >= i:
                raise r.fail(path + (name,), _order_error(r, name, used, names))
        taken[name] = "a node"
        nodes.append((name, tree))
    return tuple(nodes)


def _expression(r: Reader, path: tuple, known: set, depth: int) -> F.Node:
    raw = r.get(path)
    if isinstance(raw, list):
        if not raw:
            raise r.fail(path, f"{label(path)} is an empty list")
        entries = sum(len(item) if isinstance(item, list) else 1 for item in raw)
        if entries > MAX_LIST:
            raise r.fail(path, f"{label(path)} has {entries} entries; the limit is {MAX_LIST}")
        if depth == 1 and any(isinstance(item, list) for item in raw) or depth > 1:
            raise r.fail(path, f"{label(path)}: lists nest at most two deep (a matrix)")
        items = tuple(_expression(r, path + (i,), known, depth + 1) for i in range(len(raw)))
        rows = [isinstance(item, list) for item in raw]
        if any(rows) and (not all(rows) or len({len(item) for item in raw}) > 1):
            raise r.fail(path, f"{label(path)}: a matrix is a list of equally long lists of expressions")
        return F.Stack(items)
    if not isinstance(raw, str) or not raw.strip():
        raise r.fail(path, f"{label(path)} must be an expression (text) or a list of expressions")
    try:
        return S.parse(raw, known, indexing=True)
    except S.FormulaSyntaxError as exc:
        message = str(exc)
        unknown = re.fullmatch(r"unknown name '(.+)'", message)
        if unknown:
            message += suggest(unknown.group(1), known).replace(" (allowed:", " (known:")
        raise r.fail(path, f"{label(path)}: {message}") from None


def _order_error(r: Reader, name: str, used: str, names: list) -> str:
    if used == name:
        return f"node {name!r} uses itself: a cycle (a node is an expression of inputs and earlier nodes)"
    chain = _path_back(used, name, names, r)
    if chain:
        return (f"node {name!r} uses {used!r}, which uses {name!r}: a cycle "
                f"({' -> '.join([name] + chain)}); a node is an expression of inputs and earlier nodes")
    return (f"node {name!r} uses {used!r}, which is defined after it: nodes are in order, each an "
            f"expression of inputs and earlier nodes (move {used} before {name})")


def _path_back(start: str, goal: str, names: list, r: Reader) -> list | None:
    """A chain start -> … -> goal through the nodes as written (the raw text, names only)."""
    words = {n: set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(r.get(("graph", "nodes", n))))) for n in names}
    seen, stack = set(), [(start, [start])]
    while stack:
        node, chain = stack.pop()
        if goal in words.get(node, ()):
            return chain + [goal]
        for nxt in words.get(node, ()):
            if nxt in words and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, chain + [nxt]))
    return None


def _output(r: Reader, nodes: tuple) -> str:
    names = [n for n, _ in nodes]
    if "output" not in r.get(("graph",)):
        return names[-1]
    out = r.get(("graph", "output"))
    if out not in names:
        inputs = r.get(("graph", "inputs"))
        what = "an input" if isinstance(out, str) and out in inputs else f"not a node{suggest(out, names)}"
        raise r.fail(("graph", "output"), f"graph.output {str(out)[:40]!r} is {what}: the output is one of "
                                          "the nodes")
    return out


def _reduce(r: Reader, data: dict) -> str:
    places = [p for p in (("reduce",), ("graph", "reduce")) if p[-1] in r.get(p[:-1])]
    if not places:
        return "sum"
    if len(places) > 1:
        raise r.fail(places[1], "reduce is given twice (at the top and in graph:); keep one")
    value = r.get(places[0])
    if value not in REDUCTIONS:
        raise r.fail(places[0], f"reduce must be sum or mean, not {str(value)[:40]!r}")
    if not data:
        raise r.fail(places[0], "reduce combines the output over the samples of data:, and there is no data")
    return value


def _train_params(r: Reader, train: dict | None, inputs: dict) -> tuple:
    if not train or "params" not in train:
        return tuple(inputs)
    path = ("train", "params")
    raw = train["params"]
    if not isinstance(raw, list) or not raw:
        raise r.fail(path, "train.params must be a non-empty list of input names")
    seen: list = []
    others = set(r.get(("graph", "nodes"))) | set(r.doc.data.get("data") or ())
    for i, name in enumerate(raw):
        if name not in inputs:
            what = "a node or a data name" if isinstance(name, str) and name in others else \
                f"not an input{suggest(name, inputs)}"
            raise r.fail(path + (i,), f"train.params: {str(name)[:40]!r} is {what}; a step updates inputs only")
        if name in seen:
            raise r.fail(path + (i,), f"train.params: {name!r} is listed twice")
        seen.append(name)
    return tuple(seen)


def _shape(shape: tuple) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"
