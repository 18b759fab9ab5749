"""Solution-sheet formulas of a computation-graph problem, and random worlds to check formulas in.

Each node's value is its expression. The local derivative on an edge, ∂A/∂B,
is A's expression differentiated in B (`graph_partials`): a number or a vector
for a scalar B, a Jacobian for a vector B that A uses entry by entry,
elementwise (diag(f′)) or linearly (M for M @ B). The chain rule then
writes each derivative of the output from the ones above it, as a sheet
does: dL/dw1 = dL/ds * ds/dw1, and dF/dx = dF/dG @ dG/dx for vectors
(numerator layout). Where a node's form
defeats these rules (a vector B summed inside a function, say), the quantity
has no formula; its value is still computed and checked by the engines.
With `data:`, sample n's formulas are the graph's in that sample's names
(`sample2.dL/dz = sample2.dL/dh * sample2.dh/dz`), and the reduced output
and its derivatives sum (or average) the samples' (`dL/dw = sample1.dL/dw +
sample2.dL/dw + …`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import formulas as F
from . import graph_quantities as Q
from . import optimizers
from .graph import Graph
from .graph_partials import partials
from .sample_formulas import Sheet

N = F.Name
_ZERO = F.num(0)


def formulas(problem, asked: tuple = ()) -> Sheet:
    """name -> tree, in dependency order: node values, then derivatives of the output, then edges
    (and `asked`: the questions' quantities beyond those, such as dF/d(x,y))."""
    return sheet(problem, asked)[0]


def sheet(problem, asked: tuple = ()) -> tuple[Sheet, dict]:
    """(`formulas`, and with `data:` one sample's formulas by their unprefixed names, of which
    every sample's are renamings: their values can be had for all samples at once; else {})."""
    if problem.data:
        return _per_sample(problem, asked)
    return Sheet.of(_formulas(problem, asked)), {}


def _formulas(problem, asked: tuple) -> dict:
    """The sheet of a problem without data."""
    graph, output, shapes = problem.graph, problem.graph.output, problem.shapes
    trees = dict(graph.nodes)
    out: dict = {name: tree for name, tree in graph.nodes}
    names = list(dict.fromkeys([*Q.quantities(problem), *asked]))  # (asked: every sample's, unprefixed)
    edges, order = {}, Q._order(problem)
    for a, tree in graph.nodes:
        for b, local in partials(tree, Q.written(tree, order), shapes, shapes.get(a, ())).items():
            if local is not None:
                edges[(a, b)] = local
    for name in names:
        kind, _, top, bottoms = Q.parse(name)
        if kind or not bottoms or name in out:
            continue
        tree = _derivative(problem, trees, edges, top, bottoms[0], output) if len(bottoms) == 1 \
            else _stacked(problem, out, top, bottoms)
        if tree is not None:
            out[name] = tree
    if problem.lr is not None and problem.steps:  # the first step's update, as the optimizer writes it
        out.update(optimizers.formulas(problem.optimizer, problem.train_params, problem.lr,
                                       lambda p: f"d{output}/d{p}"))
    return {name: out[name] for name in names if name in out}


def _per_sample(problem, asked: tuple) -> tuple[Sheet, dict]:
    """With `data:`: each sample's formulas are the graph's, in that sample's names (sample2.h,
    sample2.x; made when asked for), and the reduced output and its input derivatives sum (or
    average) the samples'."""
    base = _formulas(replace(_one_sample(problem), lr=None), tuple(_unprefixed(n) for n in asked))
    renamed = frozenset(_names(base) - set(problem.graph.inputs))
    out = {}
    output, count = problem.graph.output, problem.n_samples
    for name in [output] + [f"d{output}/d{x}" for x in problem.graph.inputs]:
        total = N(f"sample1.{name}")
        for n in range(2, count + 1):
            total = F.add(total, N(f"sample{n}.{name}"))
        out[name] = F.div(total, F.num(count)) if problem.reduce == "mean" else total
    if problem.lr is not None and problem.steps:
        out.update(optimizers.formulas(problem.optimizer, problem.train_params, problem.lr,
                                       lambda p: f"d{output}/d{p}"))
    return Sheet(base, renamed, count, out), base


def _one_sample(problem):
    """The problem as one sample's graph: its data names as inputs, no `data:`."""
    inputs = {**problem.graph.inputs, **{d: v[0] for d, v in problem.data.items()}}
    return replace(problem, data={}, graph=Graph(inputs, problem.graph.nodes, problem.graph.output))


def _unprefixed(name: str) -> str:
    kind, _, top, bottoms = Q.parse(name)
    return Q.spell(None, None, top, bottoms)


def _names(trees: dict) -> set:
    """Every name the trees use, and the names they define."""
    found = set(trees)
    for tree in trees.values():
        found |= F.names_in(tree)
    return found - {"pi", "e"}


def _stacked(problem, columns: dict, top: str, bottoms: tuple) -> F.Node | None:
    """dA/d(x,y): the formulas of dA/dx, dA/dy side by side (a vector for a scalar A); written
    out, not by those names, which a student's answer may not use (they are its own entries)."""
    trees = [columns.get(f"d{top}/d{b}") for b in bottoms]
    if any(t is None for t in trees):
        return None
    stacked = F.Stack(tuple(trees))
    return stacked if problem.shapes.get(top, ()) == () else F.T(stacked)


def allowed(problem, quantity: str) -> list:
    """What a formula for `quantity` may use: the inputs, and the quantities it does not feed:
    a node's value, the nodes before it; dO/dX, every value, the derivatives of O above X and
    the edges; an edge dA/dB, the values."""
    kind, k, top, bottoms = Q.parse(quantity)
    if kind == "step":  # an update: everything of the pass before it, and the earlier steps
        names = list(Q.quantities(problem))
        before = names[:names.index(quantity)] if quantity in names else names
        return list(problem.graph.inputs) + before
    if kind == "sample":  # the graph's rule, in sample k's names
        inner = allowed(_one_sample(problem), Q.spell(None, None, top, bottoms))
        return [n if n in problem.graph.inputs else f"sample{k}.{n}" for n in inner]
    if problem.data:  # the reduced output and its derivatives: from what the samples give
        return list(problem.graph.inputs) + [n for n in Q.quantities(problem) if Q.parse(n)[0] == "sample"]
    inputs = list(problem.graph.inputs) + list(problem.data)
    nodes = [n for n, _ in problem.graph.nodes]
    if not bottoms:
        return inputs + nodes[:nodes.index(top)] if top in nodes else inputs
    asked = [q.quantity for q in problem.questions]
    names = [n for n in dict.fromkeys([*Q.quantities(problem), *asked]) if Q.parse(n)[0] is None]
    if top != problem.graph.output:
        return inputs + nodes
    trees = dict(problem.graph.nodes)
    fed = {c for c in nodes if any(b in _ancestors(trees, c) for b in bottoms)}  # what X feeds
    above = [n for n in names if Q.parse(n)[2] == top and len(Q.parse(n)[3]) == 1
             and Q.parse(n)[3][0] in fed and Q.parse(n)[3][0] not in bottoms]
    edges = [n for n in names if Q.parse(n)[3] and Q.parse(n)[2] != top]
    return inputs + nodes + [n for n in above if n != quantity] + edges


def _derivative(problem, trees, edges, top, bottom, output):
    """d top / d bottom by the chain rule over the children of `bottom` that lead to `top`."""
    if top == bottom:
        return None  # dO/dO: the identity, nothing to write
    if top != output:  # an edge quantity dA/dB: A's expression in B, when B reaches A only directly
        local = edges.get((top, bottom))
        if local is None or any(bottom in _ancestors(trees, p) for p in _parents(trees, top) if p != bottom):
            return None
        return local
    terms = []
    for child in _users(trees, bottom):
        if not _leads(trees, child, top):
            continue
        local = edges.get((child, bottom))
        if local is None:
            return None
        direct = not any(bottom in _ancestors(trees, p) for p in _parents(trees, child) if p != bottom)
        # the edge's own quantity names it, except on the output (dL/ds is what is being written)
        factor = N(f"d{child}/d{bottom}") if direct and child != top else local
        upstream = N(f"d{top}/d{child}") if child != top else None
        term = factor if upstream is None else _times(upstream, factor, problem.shapes, child, top, bottom)
        if term is None:
            return None
        terms.append(term)
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = F.add(total, t)
    return total


def _times(upstream: F.Node, local: F.Node, shapes: dict, child: str, top: str, bottom: str) -> F.Node | None:
    """dO/dC · dC/dX: a product for a scalar C, the matrix product (numerator layout) otherwise
    (None for a vector O through a scalar C to a vector X: an outer product the syntax does not write)."""
    if shapes.get(child, ()) != ():
        return F.matmul(upstream, local)
    if shapes.get(top, ()) != () and shapes.get(bottom, ()) != ():
        return None
    return F.mul(upstream, local)


def _parents(trees: dict, name: str) -> set:
    return {n for n in _names_in(trees, name) if n in trees} if name in trees else set()


_CACHE: dict = {}  # id of a node table -> (the table, its names, ancestors and users by node)


def _names_in(trees: dict, name: str) -> set:
    return _maps(trees)[0][name]


def _ancestors(trees: dict, name: str) -> set:
    """Every name `name` is computed from (inputs included)."""
    return _maps(trees)[1].get(name, set())


def _users(trees: dict, name: str) -> list:
    """The nodes whose expressions use `name`, in order."""
    return _maps(trees)[2].get(name, [])


def _maps(trees: dict) -> tuple:
    """The names each node uses, everything it is computed from, and the nodes that use each
    name, found once per table."""
    hit = _CACHE.get(id(trees))
    if hit is None or hit[0] is not trees:
        if len(_CACHE) > 16:
            _CACHE.clear()
        uses = {name: F.names_in(tree) for name, tree in trees.items()}
        found: dict = {}
        users: dict = {}
        for name in trees:  # in order: a node's parents are found before it
            found[name] = set().union(*({n} | found.get(n, set()) for n in uses[name])) if uses[name] else set()
            for n in uses[name]:
                users.setdefault(n, []).append(name)
        hit = _CACHE[id(trees)] = (trees, uses, found, users)
    return hit[1:]


def _leads(trees: dict, start: str, goal: str) -> bool:
    return start == goal or start in _ancestors(trees, goal)


# ------------------------------------------------------------------ random worlds

def world(problem, rng, scale: float, near: bool = False, names: tuple = ()) -> dict | None:
    """Every quantity of the problem (and `names`) at randomly drawn inputs (None where undefined).

    `near`: each input moved by up to 10% from the problem's own (a narrow domain).
    """
    from .engines.floats import Floats
    from .graph_solve import Run, train

    arithmetic = Floats()
    drawn = {}
    for name, value in problem.graph.inputs.items():
        shape = np.shape(value)
        if near:
            own = np.asarray(arithmetic.input(value), dtype=float)
            drawn[name] = own * (1 + 0.1 * rng.uniform(-1, 1, shape)) + 0.01 * rng.uniform(-1, 1, shape)
        else:
            drawn[name] = scale * rng.uniform(0.2, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
    given = {k: np.asarray(v, dtype=float) for k, v in drawn.items()}
    run = Run(problem, arithmetic, given)
    out = dict(drawn)
    try:
        with np.errstate(all="ignore"):
            for name in dict.fromkeys([*Q.quantities(problem), *names]):
                if Q.parse(name)[0] != "step":
                    out[name] = np.asarray(run.quantity(name), dtype=float)
            if problem.lr is not None and problem.steps:
                out.update((k, np.asarray(v, dtype=float))
                           for k, v in train(problem, arithmetic, optimizers.FLOATS, given).items())
    except (ArithmeticError, ValueError, KeyError):
        return None
    if not all(np.all(np.isfinite(v)) for v in out.values()):
        return None
    return out
