"""The quantity names of a graph problem (FORMAT.md section 5), their order and aliases.

With O the output node: every input's and node's value, `dO/dX` for every
node and input X, and `dA/dB` for every other node A and each name B written
in A's expression; `dA/dB` for any node A and any input or earlier node B,
and `dA/d(x,y)` for scalar inputs, may be asked too. With `data:`, node values
and their derivatives exist per sample only (`sample{n}.`), while `O` is the
reduced output and `dO/dX` for an input X its derivative. Training adds
`step{k}.P` and `step{k}.O`, and the optimizer's state (`step{k}.v_P`: see
`optimizers`).

This module only names; what the quantities are worth is the solver's. It
reads a `graphspec.GraphProblem` by its fields (`graph`, `data`, `names`,
`train_params`, `lr`, `steps`), so it imports nothing of it.
"""

from __future__ import annotations

import difflib
import re
from fractions import Fraction

from . import formulas as F
from . import optimizers
from .quantities import UnknownQuantity

_PREFIX = re.compile(r"(step|sample)([1-9]\d{0,4})\.(.+)")
_DERIV = re.compile(r"d([^/]+)/d(.+)")
_TUPLE = re.compile(r"\((.+)\)")
_CONSTANTS = ("pi", "e")


class BadQuantity(UnknownQuantity):
    """A name that parses but cannot be a quantity of this problem; the message says why."""

    def __init__(self, name: str, reason: str):
        super().__init__(name, None)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.name!r}: {self.reason}"


_PARSED: dict = {}  # name -> its parts, as `parse` found them or `_listed` spelled them
_PARSED_KEPT = 1 << 17  # a 200-node graph over 16 samples names 14,000 quantities, each parsed often


def parse(name: str) -> tuple[str | None, int | None, str, tuple]:
    """(prefix kind, k, top, bottoms): ("sample", 2, "L", ("w1",)) for sample2.dL/dw1,
    (None, None, "F", ("x", "y")) for dF/d(x,y), (None, None, "w1", ()) for w1."""
    found = _PARSED.get(name)
    if found is None:
        if len(_PARSED) >= _PARSED_KEPT:
            _PARSED.clear()
        found = _PARSED[name] = _parse(name)
    return found


def _parse(name: str) -> tuple:
    raw = str(name).replace(" ", "")
    m = _PREFIX.fullmatch(raw)
    kind, k, rest = (m.group(1), int(m.group(2)), m.group(3)) if m else (None, None, raw)
    d = _DERIV.fullmatch(rest)
    if not d:
        return kind, k, rest, ()
    bottom = d.group(2)
    t = _TUPLE.fullmatch(bottom)
    return kind, k, d.group(1), tuple(t.group(1).split(",")) if t else (bottom,)


def spell(kind: str | None, k: int | None, top: str, bottoms: tuple) -> str:
    """The canonical spelling of parsed parts (the inverse of `parse`)."""
    prefix = f"{kind}{k}." if kind else ""
    if not bottoms:
        return prefix + top
    bottom = bottoms[0] if len(bottoms) == 1 else f"({','.join(bottoms)})"
    return f"{prefix}d{top}/d{bottom}"


def written(tree: F.Node, order: dict) -> list[str]:
    """The names a node's expression uses, in definition order (constants left out)."""
    return sorted((n for n in F.names_in(tree) if n not in _CONSTANTS), key=lambda n: order.get(n, -1))


# ------------------------------------------------------------------ the list

def quantities(problem) -> list[str]:
    """Every quantity `solve` reports, in solution-sheet order."""
    return _listed(problem, problem.n_samples)


def _listed(problem, n_samples: int) -> list[str]:
    graph, out = problem.graph, problem.graph.output
    inputs = list(graph.inputs)
    nodes = [name for name, _ in graph.nodes]
    order = _order(problem)
    backward = [f"d{out}/d{x}" for x in reversed(nodes)]
    local = [f"d{a}/d{b}" for a, tree in graph.nodes if a != out for b in written(tree, order)]
    if not problem.data:
        names = inputs + nodes + backward + [f"d{out}/d{x}" for x in inputs] + local
    else:
        names = inputs + [out] + [f"d{out}/d{x}" for x in inputs]
        data = list(problem.data)
        block = data + nodes + backward + [f"d{out}/d{x}" for x in inputs + data] + local
        parts = [parse(q)[2:] for q in block]
        for n in range(1, n_samples + 1):
            spelled = [f"sample{n}.{q}" for q in block]
            if n < 100_000 and len(_PARSED) < _PARSED_KEPT:  # their parts are known: no parsing of each
                _PARSED.update(zip(spelled, [("sample", n, top, bottoms) for top, bottoms in parts]))
            names += spelled
    if problem.lr is not None:
        for k in range(1, problem.steps + 1):
            names += optimizers.step_names(_optimizer(problem), problem.train_params, k, out)
    return names


def _optimizer(problem) -> optimizers.Optimizer:
    return getattr(problem, "optimizer", optimizers.SGD)


def _order(problem) -> dict:
    """name -> position: inputs, then data, then nodes."""
    names = list(problem.graph.inputs) + list(problem.data) + [n for n, _ in problem.graph.nodes]
    return {name: i for i, name in enumerate(names)}


# ------------------------------------------------------------------ canonical names

def canonical(name: str, problem) -> str:
    """The canonical spelling of `name` (aliases resolved, spaces ignored), or UnknownQuantity."""
    raw = str(name).strip().replace(" ", "").replace("∂", "d")
    aliases = problem.names
    kind, k, top, bottoms = parse(raw)
    resolved = (kind, k, aliases.get(top, top), tuple(aliases.get(b, b) for b in bottoms))
    if resolved[2] and all(resolved[3]):
        full = spell(*resolved)
        reason = _why_not(problem, *resolved)
        if reason is None:
            return full
        if isinstance(reason, BadQuantity):
            raise BadQuantity(str(name), reason.reason)
    raise UnknownQuantity(str(name), _suggestion(raw, problem, resolved))


def exists(name: str, problem) -> bool:
    """Whether a canonical name is a quantity of the problem."""
    return _why_not(problem, *parse(name)) is None


def _why_not(problem, kind, k, top, bottoms):
    """None when the parts name a quantity; else False, or a BadQuantity that says why."""
    graph, out = problem.graph, problem.graph.output
    nodes = {name: i for i, (name, _) in enumerate(graph.nodes)}
    data, inputs = problem.data, graph.inputs
    if kind == "step":
        if problem.lr is None or k > problem.steps or bottoms:
            return False
        states = {n for p in problem.train_params for n in optimizers.state_names(_optimizer(problem), p)}
        return None if top in problem.train_params or top == out or top in states else False
    if kind == "sample":
        if not data or k > problem.n_samples:
            return False
        leaves = set(inputs) | set(data)
        if not bottoms:
            return None if top in data or top in nodes else False
    else:
        leaves = set(inputs)
        if not bottoms:
            return None if top in inputs or (top in nodes and (not data or top == out)) else False
        if data and top != out:
            return False  # node derivatives exist per sample only
    if top not in nodes:
        return False
    if len(bottoms) > 1:
        return _jacobian(problem, top, bottoms, leaves)
    b = bottoms[0]
    if b in leaves:
        return None
    if b not in nodes or (data and kind is None):
        return False  # with data, derivatives by a node exist per sample only
    if nodes[b] < nodes[top] or top == out:
        return None
    if b == top:
        return False
    return BadQuantity(spell(kind, k, top, bottoms), f"{b} is computed after {top}, so {top} does not depend "
                                                     "on it (dA/dB takes B an input or a node before A)")


def _jacobian(problem, top: str, bottoms: tuple, leaves: set):
    if len(set(bottoms)) != len(bottoms):
        return BadQuantity(spell(None, None, top, bottoms), "a name appears twice in d(…)")
    for b in bottoms:
        if b not in leaves:
            return False
        value = problem.graph.inputs[b] if b in problem.graph.inputs else problem.data[b][0]
        if not isinstance(value, Fraction):
            shape = "×".join(map(str, getattr(value, "shape", ())))
            return BadQuantity(spell(None, None, top, bottoms),
                               f"{b} is not a scalar input (its shape is {shape}): d(x, y, …) stacks "
                               f"scalar inputs; ask for d{top}/d{b} instead")
    return None


def _suggestion(raw: str, problem, resolved) -> str | None:
    kind, k, top, bottoms = resolved
    n = k if kind == "sample" and k <= problem.n_samples else 1  # one sample stands for all
    names = [re.sub(r"^sample1\.", f"sample{n}.", q) for q in _listed(problem, 1)]
    known = [q for q in names + list(problem.names) if q != raw]  # never suggest the name itself
    same = [q for q in known if q.lower() == raw.lower()]
    if not same and kind != "step" and top and all(bottoms):
        # h of a problem with data is sample1.h; sample1.w of an input (or without data) is w
        for other in (spell("sample", 1, top, bottoms), spell(None, None, top, bottoms)):
            if other != raw and not same and exists(other, problem):
                same = [other]
    close = same or difflib.get_close_matches(raw, known, n=1, cutoff=0.6)
    return close[0] if close else None
