"""A graph problem's solution-sheet formulas, evaluated at the engines' values.

A formula the rules write in a form that does not evaluate to its quantity's
shape is left out of the sheet. With `data:`, sample n's formulas are one
sample's formulas in sample n's names (`graph_formulas.sheet`); one that is
plainly scalar arithmetic of scalars (entries of arrays included: x[1],
W[0, 2]), or a list of such (a Jacobian entry by entry), is evaluated once
for all samples, their values side by side on a last axis, rather than once
per sample: the same float64 operations on the same numbers, issued
together. Any other formula is evaluated per sample (`formulas.evaluate`).
"""

from __future__ import annotations

import numpy as np

from . import formulas as F
from . import graph_formulas
from .ops import FUNCTIONS
from .sample_formulas import Sheet

_ARITHMETIC = {"+", "-", "*", "/", "**"}
_BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}  # as F.evaluate


def formulas(problem, env: dict, asked: tuple) -> tuple[Sheet, dict]:
    """The sheet's formulas that evaluate to the quantity's shape, and their values in `env`
    (`asked`: quantities beyond the problem's own, as `graph_formulas.sheet` takes them)."""
    trees, base = graph_formulas.sheet(problem, asked)
    together = _all_samples(problem, base, env) if base else {}
    kept, values = [], {}
    with np.errstate(all="ignore"):
        for name in trees:
            value = _sample_value(together, trees.sample_of(name))
            if value is None:
                try:
                    value = np.asarray(F.evaluate(trees[name], env), dtype=float)
                except (F.FormulaError, ValueError):
                    continue
            if name in env and value.size == np.asarray(env[name]).size:
                kept.append(name)
                values[name] = value
    return trees.only(kept), values


def _sample_value(together: dict, sample: tuple | None):
    """Sample n's value of a formula evaluated for all samples at once, a float64 array (None if
    it was not); `sample`: (n, its one-sample name), None for a formula of no sample."""
    found = together.get(sample[1]) if sample is not None else None
    if found is None:
        return None
    column, many = found  # (one with the sample axis is a float64 array)
    return column[..., sample[0] - 1] if many else np.asarray(column, dtype=float)


def _all_samples(problem, base: dict, env: dict) -> dict:
    """One sample's name -> the values of its formula on every sample (a last axis; none where
    the value is the same on every sample), for the formulas `_Together` can evaluate."""
    together = _Together(problem, env)
    out = {}
    with np.errstate(all="ignore"):
        for name, tree in base.items():
            try:
                out[name] = together.value(tree)
            except _NotTogether:
                continue  # evaluated per sample, which decides
    return out


class _NotTogether(Exception):
    """A formula that is not evaluated for all samples at once."""


class _Together:
    """Scalar arithmetic and elementwise functions of scalars (names, entries of arrays: x[1],
    W[0, 2]), and lists of such scalars (a Jacobian written entry by entry), evaluated on every
    sample at once: a per-sample scalar is its N values, side by side."""

    def __init__(self, problem, env: dict):
        self.env, self.inputs, self.n = env, problem.graph.inputs, problem.n_samples
        self.stacked: dict = {}  # a per-sample name -> its values side by side, made when first used

    def value(self, node: F.Node) -> tuple:
        """(value, whether it carries the sample axis, last)."""
        if isinstance(node, F.Num):
            return float(node.value), False
        if isinstance(node, F.Name):
            return self._scalar(node.id, ())
        if isinstance(node, F.Index) and isinstance(node.arg, F.Name):
            return self._scalar(node.arg.id, node.at)
        if isinstance(node, F.Neg):
            v, many = self._of_scalar(node.arg)
            return -v, many
        if isinstance(node, F.Bin) and node.op in _ARITHMETIC:
            (a, left), (b, right) = self._of_scalar(node.left), self._of_scalar(node.right)
            return _BINARY[node.op](a, b), left or right
        if isinstance(node, F.Call) and node.fn in FUNCTIONS:
            return self._call(node)
        if isinstance(node, F.Stack) and node.items:
            return self._stack(node)
        raise _NotTogether

    def _of_scalar(self, node: F.Node) -> tuple:
        v, many = self.value(node)
        if np.ndim(v) != int(many):
            raise _NotTogether  # a list inside arithmetic: per sample
        return v, many

    def _scalar(self, name: str, at: tuple) -> tuple:
        if name in self.inputs:
            v, many = self.env.get(name), False
        elif name in F.CONSTANTS:
            return F.CONSTANTS[name], False
        else:
            v, many = self._side_by_side(name), True
        if v is None or np.ndim(v) != len(at) + many:
            raise _NotTogether  # not there, or not a scalar once indexed
        try:
            return (v[tuple(at)] if at else v), many
        except IndexError:
            raise _NotTogether from None

    def _side_by_side(self, name: str):
        if name not in self.stacked:
            columns = [self.env.get(f"sample{k}.{name}") for k in range(1, self.n + 1)]
            self.stacked[name] = None if any(c is None for c in columns) else \
                np.stack([np.asarray(c, dtype=float) for c in columns], axis=-1)
        return self.stacked[name]

    def _call(self, node: F.Call) -> tuple:
        f = FUNCTIONS[node.fn]
        arrays, params = node.args[:f.arity], node.args[f.arity:]
        if len(arrays) != f.arity or not all(isinstance(p, F.Num) for p in params):
            raise _NotTogether
        values = [self._of_scalar(a) for a in arrays]
        result = f.numpy(*[v for v, _ in values], *f.fill(tuple(p.value for p in params)))
        return np.asarray(result, dtype=float), any(many for _, many in values)

    def _stack(self, node: F.Stack) -> tuple:
        items = [self.value(i) for i in node.items]
        many = any(m for _, m in items)
        shapes = {np.shape(v)[:np.ndim(v) - m] for v, m in items}  # per sample
        if len(shapes) != 1:
            raise _NotTogether  # entries of different shapes: per sample (where it fails)
        if many:
            full = shapes.pop() + (self.n,)
            # a value the same on every sample is given the sample axis too, to stack with the others
            return np.stack([np.broadcast_to(v if m else np.asarray(v, dtype=float)[..., None], full)
                             for v, m in items]), True
        return np.stack([np.asarray(v, dtype=float) for v, _ in items]), False
