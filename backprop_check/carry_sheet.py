"""What carrying errors forward (`carry`) reads once per solved problem.

The sheet's formulas in dependency order, each with the names it uses, its
true value and the cost of evaluating it; and each formula answer as the
grader read it, with its value at the problem's values. A class grades the
same sheet and writes the same formulas again and again, so these are kept
on the solution (`Solution.variants`), bounded.
"""

from __future__ import annotations

import numpy as np

from . import equivalence, formula_cost
from . import formulas as F
from .conventions import Conventions
from .formula_products import Rules
from .kept import array_key


class Entry:
    """A sheet formula as the walk reads it: its name, tree, the names it uses, the true value,
    and what evaluating it at the problem's shapes costs (`formula_cost`), or None if unknown."""

    def __init__(self, name: str, ref: F.Node, env: dict):
        self.name, self.ref = name, ref
        self.truth = np.asarray(env[name], dtype=float)
        self.inputs = F.names_in(ref)
        # Every value the walk binds has the problem's shape (`fit`), so the estimate is the same
        # for every student: its walk's own charge to the file's budget and the evaluation's,
        # measured here once on a budget of its own, charged per file as the estimate would be.
        with formula_cost.opened() as budget:
            before = budget.ops
            try:
                ops = formula_cost.estimate(ref, env)
            except formula_cost.TooCostly:
                ops = None
        self.cost = None if ops is None else (before - budget.ops, ops)


def sheet(solution) -> tuple:
    """The sheet's formulas in dependency order, once per solution (the same for every file)."""
    key = ("carried sheet", None)
    if key not in solution.variants:
        sheet = solution.variants.get(("formulas", None)) or {}
        # (every sheet name has a value; a formula without one carries nothing)
        solution.variants[key] = tuple(Entry(name, sheet[name], solution.env)
                                       for name in dependency_order(sheet) if name in solution.env)
    return solution.variants[key]


def dependency_order(sheet: dict) -> list:
    """The sheet's names with every name after the sheet names its formula uses.

    A graph's sheet lists the chain rule (dL/dw1 = dL/ds * ds/dw1) before
    the edges it multiplies; the walk needs each input settled first.
    """
    order, seen = [], set()

    def visit(name: str, path: tuple) -> None:
        if name in seen or name in path:
            return
        for used in sorted(F.names_in(sheet[name]) & sheet.keys()):
            visit(used, path + (name,))
        seen.add(name)
        order.append(name)

    for name in sheet:
        visit(name, ())
    return order


def value(node: F.Node, env: dict, shape: tuple | None, ops=None):
    """The formula's value (in `shape` when given and it fits), or None where it is undefined;
    TooCostly past the file's budget. `ops`: its estimate, an int, or (the estimate's own
    walk's charge, the estimate).

    Juxtaposed vectors are read as an outer product: a formula graded with
    that convention off could not be evaluated, so it was invalid and is
    not carried.
    """
    if isinstance(ops, tuple):
        formula_cost.spend(ops[0])  # as the estimate's walk would have
        ops = ops[1]
    out, _ = equivalence.evaluate(node, env, Rules(outer=True), shape, ops)
    if out is None or not np.all(np.isfinite(out)):
        return None
    return out if shape is None else fit(out, shape)


MAX_CACHED_VALUES = 8192  # per solved problem


def kept_value(solution, node: F.Node, names, env: dict, shape: tuple):
    """`value` of a tree the solution keeps (a sheet formula, a formula answer as graded) at the
    carried values `env` of the `names` it uses, kept per solved problem by the tree and those
    values: the students who wrote the same formulas carry the same values into the next ones.
    A kept value charges the file's budget what computing it did (TooCostly past it, as
    computing it would raise)."""
    inputs = frozenset((n, array_key(env.get(n))) for n in names)
    if any(key is None for _, key in inputs):  # a value whose inputs hold many entries is computed afresh
        return value(node, env, shape)
    key = (id(node), shape, inputs)  # the tree is kept with its value: its identity names no other
    cache = solution.variants.setdefault(("carried values", None), {})
    return formula_cost.kept(cache, key, lambda: (node, value(node, env, shape)), MAX_CACHED_VALUES)[1]


MAX_CACHED_READINGS = 4096  # per solved problem: a class writes the same few formulas


def reading(solution, name: str, text: str, conventions: Conventions) -> tuple:
    """(the formula answer as graded, the names it uses, (its value at the problem's values,
    what evaluating it there charges the file's budget)), with (None, None, None) when no
    reading has the quantity's shape; FormulaSyntaxError (TooCostly too) as
    `equivalence.parse_answer` and `as_graded` raise it.

    Kept per solved problem, by quantity, text and the conventions of the names it uses:
    as_graded reads no more of the student's orientations (`conventions.readings`), and the
    value depends on the problem's values alone. A kept reading charges the file's budget
    what as_graded did; the value's charge is the caller's, where it uses the value.
    """
    parsed = equivalence.parse_answer(solution, text)
    names = F.names_in(parsed)
    key = (name, text, conventions.seen_by(names))
    cache = solution.variants.setdefault(("carried readings", None), {})

    def read():
        mine = equivalence.as_graded(solution, name, parsed, conventions)
        return (None, None, None) if mine is None else (mine, F.names_in(mine), _at_truth(solution, name, mine))
    return formula_cost.kept(cache, key, read, MAX_CACHED_READINGS)


def _at_truth(solution, name: str, mine: F.Node) -> tuple:
    """(`value` of `mine` at the problem's values, what it charges), on a budget of its own."""
    with formula_cost.opened():
        try:
            return formula_cost.charged(lambda: value(mine, solution.env, np.shape(solution.env[name])))
        except formula_cost.TooCostly:  # too costly to evaluate at all: as evaluating it would find
            return None, None


def fit(value, shape: tuple):
    """A student's array in the reference's shape: as it is, or a vector with as many entries
    written in the other orientation (or flat); None for anything else (a transposed matrix)."""
    if value is None:
        return None
    v = np.asarray(value, dtype=float)
    if v.shape == tuple(shape):
        return v
    if v.size != int(np.prod(shape, dtype=int)):
        return None
    if (len(shape) < 2 or 1 in shape) and (v.ndim < 2 or 1 in v.shape):
        return v.reshape(shape)
    return None
