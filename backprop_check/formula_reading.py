"""Read a student's formula: parse it over the problem's names, and say which names it may use.

A formula answer is parsed by `formula_syntax` through the problem's alias
resolver (dL/dW2, W_2, the spec's own names), refused before any evaluation
when `formula_cost` finds it too costly, and read once per text and solved
problem (a class writes the same formulas again and again). A formula for a
quantity may use only the given values and the quantities it does not feed
(`allowed_names`): otherwise an answer could be read off values computed from
it. `equivalence` then checks what was read.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import formula_cost
from . import graph_formulas
from . import formulas as F
from .equivalence_worlds import formulas_of as _formulas
from .formula_syntax import ALIASES, FUNCTIONS, LEARNING_RATE, FormulaSyntaxError, parse
from .quantities import UnknownQuantity, group_of, parts
from .solve import Solution
from .spec import is_graph


def names_of(solution: Solution) -> set:
    """Every name a formula answer may use."""
    return set(solution.env) | set(_formulas(solution, None))


def parse_answer(solution: Solution, text: str, spellings: dict | None = None) -> F.Node:
    """Parse a student's formula over the problem's names, through its alias resolver.

    `spellings` is filled with each name as written -> its canonical name. A formula
    too costly to check is refused here (`formula_cost.TooCostly`), before any evaluation.
    A text is read once per solved problem (trees are immutable): a class writes the same
    formulas again and again, and grading, carrying errors forward and reading the
    student's orientations each ask for them.
    """
    parsed = solution.variants.setdefault(("parsed", None), {})
    if text in parsed:
        node, spelled, cost = parsed[text]
        if cost is not None:
            formula_cost.spend(cost)  # charged as a fresh reading would be: a file's grade is its own
        else:
            formula_cost.read(text)
        if spellings is not None:
            spellings.update(spelled)
        if isinstance(node, FormulaSyntaxError):
            raise type(node)(*node.args)
        if cost is None:
            formula_cost.refuse(node, solution.env)  # (its estimate is charged, as on the first reading)
        return node
    spelled = {}
    budget = formula_cost.current()
    before = budget.ops if budget is not None else None
    try:
        node = _parse_answer(solution, text, spelled)
    except formula_cost.TooCostly:
        raise  # it may be the file's budget that ran out: not the text's doing alone
    except FormulaSyntaxError as exc:  # a text that cannot be read stays unreadable (garbage repeats too)
        node, before = exc, None
    if len(parsed) < MAX_PARSED:  # (what reading it charged, its estimate's walk included, when known)
        parsed[text] = (node, spelled, None if before is None else before - budget.ops)
    if spellings is not None:
        spellings.update(spelled)
    if isinstance(node, FormulaSyntaxError):
        raise node
    return node


MAX_PARSED = 4096  # texts per solved problem


def _parse_answer(solution: Solution, text: str, spellings: dict) -> F.Node:
    formula_cost.read(text)
    graph = is_graph(solution.problem)

    resolved: dict = {}  # a name used 78 times is looked up once

    def resolve(name: str):
        if name not in resolved:
            resolved[name] = _resolve(solution, name)
        return resolved[name]

    node = parse(text, names_of(solution), resolve, indexing=graph, constants=_constants(solution),
                 spellings=spellings)
    _check_sizes(solution, node)
    formula_cost.refuse(node, solution.env)
    return node


def _resolve(solution: Solution, name: str):
    """The canonical name `name` stands for, or None (a function's name, in any case, at once:
    an unknown name costs the quantity resolver a search for suggestions)."""
    if name in solution.env:
        return name
    aliases = getattr(solution.problem, "names", None) or {}
    if aliases.get(name) in solution.env:  # a parameter's alias (v for W2) is no quantity
        return aliases[name]
    if name not in aliases and (name.lower() in FUNCTIONS or name.lower() in ALIASES):
        return None
    try:  # quantities.normalise_name: dL/dW2, W_2, LaTeX names; then the spec's aliases
        return solution.problem.canonical(name)
    except (UnknownQuantity, ValueError, KeyError):
        return None


def _check_sizes(solution: Solution, node: F.Node) -> None:
    """eye(n) and ones(n) no larger than the problem's largest dimension (the parser allows n up
    to MAX_EYE): a larger one can be no part of an answer, and says so more plainly than
    `formula_cost` would."""
    sizes = [c.args[0].value for c in _subtrees(node)
             if isinstance(c, F.Call) and c.fn in ("eye", "ones") and c.args and isinstance(c.args[0], F.Num)]
    if not sizes:
        return
    largest = max((max(np.shape(v)) for v in solution.env.values() if np.ndim(v)), default=1)
    for k in ("N", "K"):
        if np.size(solution.env.get(k, ())) == 1:
            largest = max(largest, int(np.max(solution.env[k])))
    if max(sizes) > largest:
        raise FormulaSyntaxError(f"eye(n) and ones(n) take n up to {largest} here (the problem's largest "
                                 f"dimension), not {int(max(sizes))}")


def _constants(solution: Solution) -> dict:
    """Named numbers a formula may use: the learning rate as lr, eta, η, alpha, α."""
    lr = getattr(solution.problem, "lr", None)
    return {name: F.Num(Fraction(lr)) for name in LEARNING_RATE} if lr is not None else {}


def _spelled(spellings: dict) -> str:
    """Both names, the student's and the canonical one: '(your delta_2 is dl/dz3)'."""
    pairs = [f"your {w} is {c}" for w, c in sorted(spellings.items()) if w != c][:4]
    return f" ({'; '.join(pairs)})" if pairs else ""


def _subtrees(node: F.Node) -> list:
    out = [node]
    for child in F.children(node):
        out += _subtrees(child)
    return out


# What a formula may use besides the given values: only quantities that the one
# it answers does not feed, so that no answer can be read off values computed
# from it (dz2/dz1 = diag(dl/dz1 / dl/dz2) would be right for any dz2/dz1).
_MAY_USE = {
    "forward": "the values computed before it",
    "loss": "the forward values",
    "backward": "the forward values and the gradients above it",
    "local": "the forward values (a local Jacobian feeds the gradients, so it may not use them)",
    "update": "every quantity of the pass before it",
}


def allowed_names(solution: Solution, quantity: str) -> list:
    """What a formula for `quantity` may use: the given values and the quantities it does not feed."""
    if is_graph(solution.problem):
        return graph_formulas.allowed(solution.problem, quantity)
    given = ["x", "y", *solution.problem.params, "N", "K"]
    local = group_of(parts(quantity)[2]) == "local"
    before = []
    for name in _formulas(solution, None):
        if name == quantity or (quantity == "y_hat" and name == solution.problem.structure.out_name):
            break
        if not local or group_of(name) == "forward":
            before.append(name)
    if group_of(parts(quantity)[2]) in ("backward", "update"):
        # Local Jacobians come from forward values only, so a gradient may chain them
        # (dl/dz1 = dl/dy_hat dy_hat/dz3 W2 dz2/dz1) though the sheet lists them last.
        before += [n for n in _formulas(solution, None) if group_of(n) == "local" and n not in before]
    return given + before
