"""A graph problem's solution-sheet formulas, evaluated at the engines' values.

A formula the rules write in a form that does not evaluate to its quantity's
shape is left out of the sheet. With `data:`, sample n's formulas are one
sample's formulas in sample n's names (`graph_formulas.sheet`); one that is
plainly scalar arithmetic of scalars (entries of arrays included: x[1],
W[0, 2]) is evaluated once for all samples, their values side by side on a
last axis, rather than once per sample: the same float64 operations on the
same numbers, issued together. Any other formula is evaluated per sample.
"""

from __future__ import annotations

import numpy as np

from . import formulas as F
from . import graph_formulas
from . import graph_quantities as Q
from .ops import FUNCTIONS

_ARITHMETIC = {"+", "-", "*", "/", "**"}


def formulas(problem, env: dict, names: tuple) -> tuple[dict, dict]:
    """The sheet's formulas that evaluate to the quantity's shape, and their values in `env`."""
    trees, base = graph_formulas.sheet(problem, names)
    together = _all_samples(problem, base, env) if base else {}
    out, values = {}, {}
    with np.errstate(all="ignore"):
        for name, tree in trees.items():
            value = _sample_value(together, name)
            if value is None:
                try:
                    value = np.asarray(F.evaluate(tree, env), dtype=float)
                except (F.FormulaError, ValueError):
                    continue
            if name in env and value.size == np.size(env[name]):
                out[name], values[name] = tree, value
    return out, values


def _sample_value(together: dict, name: str):
    """Sample n's value of a formula evaluated for all samples at once (None if it was not)."""
    if not together:
        return None
    kind, k, top, bottoms = Q.parse(name)
    if kind != "sample":
        return None
    column = together.get(Q.spell(None, None, top, bottoms))
    return None if column is None else np.asarray(column[..., k - 1] if column.ndim else column)


def _all_samples(problem, base: dict, env: dict) -> dict:
    """One sample's name -> the values of its scalar formulas on every sample (last axis)."""
    n = problem.n_samples
    stacked: dict = {}  # a per-sample name -> its values side by side, made when first used
    inputs = problem.graph.inputs

    def value(name: str):
        if name in inputs:
            return env.get(name)
        if name not in stacked:
            columns = [env.get(f"sample{k}.{name}") for k in range(1, n + 1)]
            stacked[name] = None if any(c is None for c in columns) else \
                np.stack([np.asarray(c, dtype=float) for c in columns], axis=-1)
        return stacked[name]

    out = {}
    with np.errstate(all="ignore"):
        for name, tree in base.items():
            used = _scalar_names(tree)
            if used is None:
                continue
            bound = {u: value(u) for u in used if u in inputs or u not in F.CONSTANTS}  # (pi: evaluate's)
            if any(v is None or np.ndim(v) != (0 if u in inputs else 1) + used[u] for u, v in bound.items()):
                continue  # a name that is not there, or not of the shape the formula reads it in
            try:
                out[name] = np.asarray(F.evaluate(tree, bound), dtype=float)
            except (F.FormulaError, ValueError):
                continue  # evaluated per sample, which decides
    return out


def _scalar_names(tree: F.Node) -> dict | None:
    """name -> the axes it must have per sample (0 used whole, len(at) as a[at]) when the tree is
    elementwise arithmetic and functions of scalars; None for anything else (@, lists, sums, …)."""
    found: dict = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, F.Num):
            continue
        if isinstance(node, F.Name):
            dims = 0
        elif isinstance(node, F.Index) and isinstance(node.arg, F.Name):
            node, dims = node.arg, len(node.at)
        elif isinstance(node, F.Neg):
            stack.append(node.arg)
            continue
        elif isinstance(node, F.Bin) and node.op in _ARITHMETIC:
            stack += [node.left, node.right]
            continue
        elif isinstance(node, F.Call) and node.fn in FUNCTIONS and node.args:
            stack += list(node.args)
            continue
        else:
            return None
        if found.setdefault(node.id, dims) != dims:
            return None
    return found
