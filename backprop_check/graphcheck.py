"""A graph spec's nodes computed once in float64, before any engine runs.

Every node is evaluated on the given values (the first sample of the data),
one operation at a time, with `formulas.evaluate`: a shape that does not fit,
an index out of range, a division by zero, the log of a negative number or an
overflow is reported at its node and operation. The same pass counts the
work (entries computed, a matrix product's multiplications, transcendental
functions dearer) and the polynomial degree through the nodes, against the
limits networks have (`budget`).
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from . import budget
from . import formulas as F
from .errors import shortened
from .graph import Graph
from .specread import Reader

_RATIONAL = {"relu", "step", "abs", "diag", "eye", "sum", "mean", "max", "leaky_relu"}  # cheap when exact


def check(r: Reader, graph: Graph, data: dict, steps: int) -> dict:
    """Every node once in float64 on the first sample: shapes, finite values, the work budget."""
    env = {name: _float(v) for name, v in graph.inputs.items()}
    env.update((name, _float(samples[0])) for name, samples in data.items())
    shapes = {name: np.shape(v) for name, v in env.items()}
    passes = (len(next(iter(data.values()))) if data else 1) * (1 + steps)
    work, degrees = 0, {}
    for name, tree in graph.nodes:
        path = ("graph", "nodes", name)
        with np.errstate(all="ignore"):  # (a value that is not finite is reported by `_run`)
            value, cost = _run(r, path, name, tree, env, bool(data))
        work += cost * passes
        if work > budget.MAX_WORK:
            raise r.fail(path, f"the graph by node {name!r}, over {passes // (1 + steps)} sample(s) and "
                               f"{steps} training step(s), needs about {work:,} operations; the limit is "
                               f"{budget.MAX_WORK:,} (use fewer samples, smaller values or fewer steps)")
        degrees[name] = _degree(tree, degrees)
        if degrees[name] > budget.MAX_DEGREE:
            raise r.fail(path, f"node {name!r} is a polynomial of degree {degrees[name]} in the inputs; the "
                               f"limit is {budget.MAX_DEGREE} (float64 could not follow the exact values)")
        env[name] = value
        shapes[name] = np.shape(value)
    return shapes


def _float(value) -> np.ndarray:
    return np.asarray(value, dtype=float) if isinstance(value, np.ndarray) else np.float64(value)


def _run(r: Reader, path: tuple, node: str, tree: F.Node, env: dict, first: bool) -> tuple:
    """(value, operations) of one node's tree, evaluated one operation at a time."""
    if isinstance(tree, (F.Name, F.Num)):
        return np.asarray(F.evaluate(tree, env), dtype=float), 0
    kids = F.children(tree)
    local, cost, args = {}, 0, []
    for i, kid in enumerate(kids):
        if isinstance(kid, F.Num) and not isinstance(tree, (F.Bin, F.Stack, F.Neg, F.T)):
            args.append(kid)  # a constant parameter (an exponent, an axis, a slope)
            continue
        local[f"_{i}"], c = _run(r, path, node, kid, env, first)
        cost += c
        args.append(F.Name(f"_{i}"))
    shallow = _rebuild(tree, args)
    where = lambda: f"node {node!r}: {shortened(F.to_code(tree), 50)}"  # noqa: E731 (only when it fails)
    if isinstance(tree, F.Bin) and tree.op == "@":
        a, b = (np.shape(local.get(f"_{i}", ())) for i in (0, 1))
        own = int(np.prod(a or (1,))) * (b[-1] if len(b) == 2 else 1)
    else:
        own = max([np.size(v) for v in local.values()] + [1])
    if cost + own > budget.MAX_WORK:
        raise r.fail(path, f"{where()} needs about {cost + own:,} operations; the limit is {budget.MAX_WORK:,}")
    try:
        value = np.asarray(F.evaluate(shallow, local), dtype=float)  # (inside `check`'s errstate)
    except F.FormulaError as exc:
        said = re.sub(r"\b_(\d+)\b", lambda m: F.to_code(kids[int(m.group(1))]), str(exc))
        raise r.fail(path, f"{where()}: {said}") from None
    if value.ndim > 2:
        raise r.fail(path, f"{where()} would have shape {_shape(value.shape)}; values are at most matrices")
    if not np.isfinite(value).all():
        raise r.fail(path, f"{where()}: {_not_finite(tree, list(local.values()))} at the given values"
                           + (" (the first sample of data)" if first else ""))
    if isinstance(tree, F.Call) and tree.fn not in _RATIONAL:
        own *= budget.NODE_WORK
    return value, cost + own


def _rebuild(tree: F.Node, args: list) -> F.Node:
    if isinstance(tree, F.Bin):
        return F.Bin(tree.op, args[0], args[1])
    if isinstance(tree, F.Neg):
        return F.Neg(args[0])
    if isinstance(tree, F.T):
        return F.T(args[0])
    if isinstance(tree, F.Index):
        return F.Index(args[0], tree.at)
    if isinstance(tree, F.Stack):
        return F.Stack(tuple(args))
    return F.Call(tree.fn, tuple(args))


def _not_finite(tree: F.Node, args: list) -> str:
    if isinstance(tree, F.Bin) and tree.op == "/" and np.any(np.asarray(args[-1]) == 0):
        return "division by zero"
    if isinstance(tree, F.Bin) and tree.op == "**" and args and np.any(np.asarray(args[0]) == 0):
        return "zero to a negative power (division by zero)"
    if isinstance(tree, F.Bin) and tree.op == "**" and args and np.any(np.asarray(args[0]) < 0):
        return "a negative number to a fractional power"
    if isinstance(tree, F.Call) and tree.fn == "log" and args and np.any(np.asarray(args[0]) <= 0):
        return "the log of a negative number or of zero"
    if isinstance(tree, F.Call) and tree.fn == "sqrt" and args and np.any(np.asarray(args[0]) < 0):
        return "the square root of a negative number"
    return "overflows float64 (or is not a number)"


def _degree(tree: F.Node, degrees: dict) -> Fraction:
    """How far products and powers raise the degree in the inputs, through earlier nodes."""
    if isinstance(tree, F.Name):
        return degrees.get(tree.id, Fraction(1))
    if isinstance(tree, F.Num):
        return Fraction(0)
    if isinstance(tree, F.Bin) and tree.op == "**" and isinstance(tree.right, F.Num):
        return _degree(tree.left, degrees) * abs(tree.right.value)
    if isinstance(tree, F.Bin) and tree.op in "*@":
        return _degree(tree.left, degrees) + _degree(tree.right, degrees)
    return max((_degree(c, degrees) for c in F.children(tree)), default=Fraction(1))


def _shape(shape: tuple) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"
