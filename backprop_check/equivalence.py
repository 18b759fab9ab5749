"""Grade a formula answer: equivalence by evaluation, never by execution.

A student's formula (parsed by `formula_syntax` into a `formulas` tree) is
compared with the reference formula of the quantity:
1. at the problem's own values (names bound to their true values): the shape
   first, with the same "transposed?" hint as numbers, then the values;
2. at several random *worlds*: the inputs x, y and the parameters are drawn
   at more than one scale and inside their domains (targets in [0, 1] for
   BCE, one-hot for cross-entropy), and every other name (z1, y_hat, dl/dz3,
   …) is computed from them through the solution-sheet formulas, so that a
   formula may mix names freely and still be checked consistently. A world
   where the reference is undefined is drawn again.
Before any of that, the formula's cost is estimated from the shapes of its
parts (`formula_cost`): one too costly to check is `invalid` unevaluated, and
every evaluation is charged to the answers file's budget.
A formula equal only at random points, or only at the problem's values, is
reported as such. A wrong formula is checked against the catalogue's
mistakes that a formula can make (sign, transpose, factor 2, N or K, a missing
or misplaced activation derivative, a name where its transpose belongs).

The conventions a TA accepts (`conventions`: a row for a column and row
chains in numerator layout, outer products, a diagonal for an elementwise
Jacobian) are tried as further readings, each noted in the verdict. A wrong
formula is shown at the problem's own values first, in short numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import conventions as C
from . import formula_cost
from . import formulas as F
from .equivalence_worlds import worlds
from .formula_products import Rules, ShapeError, Sized
from .formula_reading import (_MAY_USE, _spelled, _subtrees, allowed_names, names_of,  # noqa: F401
                              parse_answer)  # (names_of: callers read a formula's names here too)
from .formula_syntax import FormulaSyntaxError
from .quantities import group_of, parts
from .solve import Solution
from .spec import is_graph

RTOL = 1e-7
MAX_TRANSPOSE_TRIES = 60


@dataclass
class Verdict:
    status: str  # correct | incorrect | invalid
    message: str
    tags: list = field(default_factory=list)
    value: np.ndarray | None = None  # the formula at the problem's values


def value_of(solution: Solution, text: str):
    """A formula answer's value at the problem's values, or None (for `conventions.student_rows`)."""
    try:
        node = parse_answer(solution, text)
        return evaluate(node, solution.env)[0]
    except FormulaSyntaxError:  # formula_cost.TooCostly included
        return None


BLOCK = 1 << 15  # entries compared at a time: in cache, and a wrong reading stops at its first block


def _close(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size != b.size:
        return False
    if not b.size:
        return True
    a, b = a.reshape(-1), b.reshape(-1)
    floor = 1e-9 * max(float(max(b.max(), -b.min())), 1e-300) + 1e-300  # a NaN makes it NaN: not close
    with np.errstate(invalid="ignore"):
        for start in range(0, b.size, BLOCK):  # the diagnosis tries many wrong readings of large Jacobians
            x, y = a[start:start + BLOCK], b[start:start + BLOCK]
            if not np.all(np.abs(x - y) <= RTOL * np.abs(y) + floor):
                return False
    return True


def evaluate(node: F.Node, env: dict, rules: Rules | None = None, shape: tuple | None = None,
             ops: int | None = None):
    """(value, None) or (None, why); a bare I or ones takes `shape` (the answer's).

    Every evaluation of a student's formula comes here and is charged first to the
    answers file's budget (`formula_cost.charge`: TooCostly when it cannot pay); `ops`,
    its estimate at env's shapes when the caller has it (the worlds share the problem's shapes).
    """
    formula_cost.charge(node, env, ops)
    try:
        with np.errstate(all="ignore"):
            value = F.evaluate(node, env, rules)
            if isinstance(value, Sized):
                if shape is None:
                    return None, "the size of I or ones cannot be told here: write eye(n) or ones(n)"
                value = value.like(shape)
            return np.asarray(value, dtype=float), None
    except (F.FormulaError, ShapeError) as exc:
        return None, str(exc)


def check(solution: Solution, quantity: str, node: F.Node, fit, conventions: C.Conventions | None = None,
          spellings: dict | None = None) -> Verdict:
    """Compare a parsed formula with the reference of `quantity`.

    `fit(expected, submitted)` is the grader's shape check; it returns
    (reshaped, message, tag). Each reading of the conventions is tried; the
    first that is correct wins, else the plain reading's verdict is reported
    (or the first reading that can be evaluated at all).
    """
    conv = conventions or C.Conventions.of(solution.problem)
    verdicts = []
    for rows in C.readings(solution, node, conv):
        verdict = _check_reading(solution, quantity, node, fit, conv, rows, spellings or {})
        if verdict.status == "correct":
            return verdict
        verdicts.append(verdict)
    return next((v for v in verdicts if v.value is not None), verdicts[0])


def _check_reading(solution: Solution, quantity: str, node: F.Node, fit, conv: C.Conventions,
                   rows: frozenset, spellings: dict) -> Verdict:
    expected = solution.array(quantity)
    shape = np.shape(solution.env.get(quantity, expected))
    rules = rules_of(conv)
    read = C.as_rows(node, rows)
    ops = formula_cost.estimate(read, solution.env)  # once: every world has the problem's shapes
    got, error = evaluate(read, solution.env, rules, shape, ops)
    if got is None:
        return _shape_failure(solution, quantity, read, error)
    shaped = C.shape_of_answer(solution, quantity, got, conv)
    if shaped.refusal:
        return Verdict("invalid", shaped.refusal, [shaped.tag], got)
    fitted, problem_text, tag = fit(expected, shaped.apply(got))
    if fitted is None:
        return Verdict("invalid", problem_text, [tag] if tag else [], got)
    here = _close(fitted, expected) if expected.size else True
    ref_worlds = [w for w in worlds(solution) if quantity in w]
    if not ref_worlds:
        return Verdict("incorrect" if not here else "invalid",
                       "cannot be checked away from the problem's values (the reference is undefined "
                       "at every other point tried); ask your instructor", [], got)
    values = []  # once: the checks and the diagnosis share them
    for w in ref_worlds:
        value = evaluate(read, w, rules, shape, ops)[0]
        values.append(None if value is None else shaped.apply(value))
    mismatch = next((i for i, (v, w) in enumerate(zip(values, ref_worlds))
                     if v is None or not _close(v, w[quantity])), None)
    if here and mismatch is None:
        notes = ([C.rows_note(rows, conv)] if rows else []) + rules.notes + ([shaped.note] if shaped.note else [])
        tags = ([C.TAG["orientation"]] if rows else []) + ([C.TAG["outer_product"]] if rules.notes else []) \
            + ([shaped.tag] if shaped.tag else [])
        tags = list(dict.fromkeys(tags))
        return Verdict("correct", "; ".join(["correct (equal to the reference formula)"] + notes), tags, got)
    tags, why = diagnose(solution, quantity, node, values)
    if mismatch is None:
        message = ("equal to the reference at random points but not at the problem's values "
                   f"(expected {C.show(expected)}, your formula gives {C.show(fitted)})")
    elif not here:
        message = (f"differs from the reference at the problem's values: your formula gives {C.show(fitted)}, "
                   f"the reference {C.show(expected)}")
    else:
        message = "matches at the problem's values only; " + _differs(node, values[mismatch], ref_worlds[mismatch],
                                                                      quantity, spellings)
    if why:
        message += "; probably " + "; or ".join(why)
    return Verdict("incorrect", message + _spelled(spellings), tags, got)


def as_graded(solution: Solution, quantity: str, node: F.Node, conventions: C.Conventions | None = None):
    """The answer as `check` reads it, as a tree in the reference's orientation, or None.

    The first reading of the conventions whose value at the problem's values
    has the quantity's shape: names read as rows transposed in place, a row
    answer for a column transposed, an elementwise Jacobian's diagonal put on
    one (`diag`). Evaluated with `rules_of(conventions)`, the tree gives the
    value the grader compared; `carry` substitutes it into later formulas.
    """
    conv = conventions or C.Conventions.of(solution.problem)
    shape = np.shape(solution.env.get(quantity, solution.array(quantity)))
    for rows in C.readings(solution, node, conv):
        read = C.as_rows(node, rows)
        got, _ = evaluate(read, solution.env, rules_of(conv), shape)
        if got is None:
            continue
        shaped = C.shape_of_answer(solution, quantity, got, conv)
        if not shaped.refusal and shaped.apply(got).size == int(np.prod(shape, dtype=int)):
            return shaped.wrap(read)
    return None


def rules_of(conv: C.Conventions) -> Rules:
    """How the conventions read loosely written products (a fresh list of notes)."""
    return Rules(outer=conv.outer_product)


def _replace(node: F.Node, old: F.Node, new: F.Node) -> F.Node:
    if node is old:
        return new
    if isinstance(node, F.Neg):
        return F.Neg(_replace(node.arg, old, new))
    if isinstance(node, F.T):
        return F.T(_replace(node.arg, old, new))
    if isinstance(node, F.Bin):
        return F.Bin(node.op, _replace(node.left, old, new), _replace(node.right, old, new))
    if isinstance(node, F.Call):
        return F.Call(node.fn, tuple(_replace(a, old, new) for a in node.args))
    return node


def _shape_failure(solution: Solution, quantity: str, node: F.Node, error: str) -> Verdict:
    """A formula that does not evaluate: is it right with one part transposed (x for xᵀ)?"""
    for part in _subtrees(node)[:MAX_TRANSPOSE_TRIES]:
        if isinstance(part, F.Num):
            continue
        try:
            value, _ = evaluate(_replace(node, part, F.T(part)), solution.env)
        except formula_cost.TooCostly:  # this reading costs more (a product read as an outer one)
            continue
        if value is not None and _close(value, solution.array(quantity)):
            shown = F.to_code(part)
            shown = shown if isinstance(part, F.Name) else f"({shown})"
            return Verdict("invalid", f"the shapes do not fit ({error}): {shown} where {shown}ᵀ belongs?",
                           ["transposed"])
    return Verdict("invalid", f"the formula cannot be evaluated: {error}")


def _differs(node: F.Node, value, world: dict, quantity: str, spellings: dict | None = None) -> str:
    shown = ", ".join(f"{n} = {C.show(world[n])}" for n in sorted(F.names_in(node)) if n in world)[:300]
    return (f"differs from the reference at a random point ({shown}): "
            f"your formula gives {C.show(value)}, the reference {C.show(world[quantity])}")


def diagnose(solution: Solution, quantity: str, node: F.Node, values: list | None = None) -> tuple[list, list]:
    """Catalogue mistakes that a formula can make, checked at the random worlds.

    `values`: the formula already evaluated at those worlds, when the caller has them.
    """
    base = [w for w in worlds(solution) if quantity in w]
    if not base:
        return [], []
    if values is None:
        values = [evaluate(node, w)[0] for w in base]
    if any(v is None for v in values):
        return [], []
    p = solution.problem
    graph = is_graph(solution.problem)
    n, k = (1.0, 1.0) if graph else (float(solution.env["N"]), float(solution.env["K"]))
    transforms = [("sign-flipped", "the sign is flipped", lambda r: -r),
                  ("transposed", "transposed", lambda r: r.T),
                  ("factor-2", "off by a factor 2 (½‖·‖² vs ‖·‖²)", lambda r: 2 * r),
                  ("factor-2", "off by a factor 2 (½‖·‖² vs ‖·‖²)", lambda r: r / 2)]
    for size, what in ((n, "N"), (k, "K")):
        if size > 1:
            transforms += [("mean-vs-sum", f"off by {what} (mean vs sum)", lambda r, s=size: r * s),
                           ("mean-vs-sum", f"off by {what} (mean vs sum)", lambda r, s=size: r / s)]
    tags, why = [], []
    for tag, text, transform in transforms:  # each world's candidate made only while they match
        if tag not in tags and all(_close(v, transform(w[quantity])) for v, w in zip(values, base)) \
                and not all(_close(transform(w[quantity]), w[quantity]) for w in base):
            tags.append(tag)
            why.append(text)
    for l, layer in enumerate(() if graph else p.layers, start=1):
        if not layer.activation.kind.elementwise or layer.activation.name == "identity":
            continue
        for how, tag, text in (("one", "activation-derivative-missing", f"layer {l}'s f′ is missing"),
                               ("output", "derivative-at-output", f"layer {l}'s f′ is evaluated at z{2 * l}")):
            variant = worlds(solution, (l, how))
            if len(variant) == len(base) and all(
                    quantity in w and _close(v, w[quantity]) and not _close(w[quantity], b[quantity])
                    for v, w, b in zip(values, variant, base)) and tag not in tags:
                tags.append(tag)
                why.append(text)
    return tags, why


def _group(solution: Solution, quantity: str) -> str:
    entry = solution.entries.get(quantity)
    return entry.group if entry is not None else group_of(parts(quantity)[2])


def grade_text(solution: Solution, quantity: str, text: str, fit,
               conventions: C.Conventions | None = None) -> Verdict:
    """Parse and check; a syntax problem is an `invalid` verdict.

    `conventions`: the question's (`Conventions.of(problem, question, rows)`);
    by default the problem's, with the student's rows not known.
    """
    spellings: dict = {}
    try:
        formula_cost.compare(solution.array(quantity).size)  # the check's comparisons, by the answer's size
        node = parse_answer(solution, text, spellings)
    except formula_cost.TooCostly as exc:
        return Verdict("invalid", str(exc))
    except FormulaSyntaxError as exc:
        return Verdict("invalid", f"not a formula bpcheck can read: {exc}")
    allowed = allowed_names(solution, quantity)
    later = sorted(n for n in F.names_in(node) if n not in allowed and n not in ("pi", "e"))
    if later:
        rule = _MAY_USE.get(_group(solution, quantity), "the quantities before it")
        return Verdict("invalid", f"a formula for {quantity} may not use {', '.join(later)}: besides the "
                                  f"given values it may use only {rule} ({', '.join(allowed)})" + _spelled(spellings))
    try:
        return check(solution, quantity, node, fit, conventions, spellings)
    except formula_cost.TooCostly as exc:  # the file's budget ran out while checking it
        return Verdict("invalid", str(exc))
