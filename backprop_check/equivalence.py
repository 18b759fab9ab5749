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
A formula equal only at random points, or only at the problem's values, is
reported as such. A wrong formula is checked against the catalogue's
mistakes that a formula can make (sign, transpose, factor 2, N or K, a missing
or misplaced activation derivative, a name where its transpose belongs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import derivation
from . import graph_formulas
from . import formulas as F
from .formula_syntax import FormulaSyntaxError, parse
from .quantities import UnknownQuantity, group_of, parts
from .solve import Solution

WORLDS = 6
SCALES = (0.5, 1.0, 2.0)
MAX_TRIES = 40
RTOL = 1e-7
MAX_TRANSPOSE_TRIES = 60


@dataclass
class Verdict:
    status: str  # correct | incorrect | invalid
    message: str
    tags: list = field(default_factory=list)
    value: np.ndarray | None = None  # the formula at the problem's values


def names_of(solution: Solution) -> set:
    """Every name a formula answer may use."""
    return set(solution.env) | set(_formulas(solution, None))


def parse_answer(solution: Solution, text: str) -> F.Node:
    problem = solution.problem

    def resolve(name: str):
        if name in solution.env:
            return name
        try:
            return problem.canonical(name)
        except UnknownQuantity:
            return None

    return parse(text, names_of(solution), resolve, indexing=_is_graph(solution))


def _is_graph(solution: Solution) -> bool:
    return getattr(solution.problem, "graph", None) is not None


def _formulas(solution: Solution, slope_mistake) -> dict:
    """The solution-sheet formulas in dependency order (optionally mistaken).

    The true ones were cached by `solve`; mistaken ones are derived here once.
    """
    key = ("formulas", slope_mistake)
    cache = solution.variants
    if _is_graph(solution):  # solve_graph cached the sheet; a graph has no layer to mistake
        return cache.get(key, {}) if slope_mistake is None else {}
    if key not in cache:
        p = solution.problem
        single = p.n_samples == 1
        widths = tuple(len(p.params[l.weight]) for l in p.layers)
        out = derivation.one_step(p.layers, p.loss, p.rows, single, single, widths, slope_mistake)
        if p.lr is not None:
            out.update(derivation.step_formulas(p.layers, p.lr, p.optimizer))
        cache[key] = out
    return cache[key]


def _inputs(solution: Solution, rng, scale: float) -> dict:
    """Random x, y and parameters in the problem's shapes and domains."""
    p, env = solution.problem, solution.env
    world = {"N": env["N"], "K": env["K"]}
    for name in ["x", *p.params]:
        shape = np.shape(env[name])
        world[name] = scale * rng.uniform(0.2, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
    shape = np.shape(env["y"])
    if p.loss.name == "mse":
        world["y"] = rng.normal(0.0, scale, shape)
    elif p.loss.name == "bce":
        world["y"] = rng.uniform(0.05, 0.95, shape)
    elif p.loss.name not in ("cross_entropy", "hinge"):  # custom: signed targets; an undefined world is redrawn
        world["y"] = rng.normal(0.0, scale, shape)
    else:  # cross-entropy and hinge: one-hot along the class axis
        axis = 1 if p.rows else 0
        classes = rng.integers(0, shape[axis], size=shape[1 - axis])
        y = np.zeros(shape)
        for n, c in enumerate(classes):
            y[(n, c) if axis == 1 else (c, n)] = 1.0
        world["y"] = y
    return world


def _nearby(solution: Solution, rng) -> dict:
    """The problem's inputs, each entry moved by up to 10%."""
    env = solution.env
    world = {"N": env["N"], "K": env["K"], "y": env["y"]}
    if solution.problem.loss.name in ("mse", "custom"):  # targets free to move: move them too
        world["y"] = np.asarray(env["y"], dtype=float) + 0.1 * rng.uniform(-1, 1, np.shape(env["y"]))
    for name in ["x", *solution.problem.params]:
        value = np.asarray(env[name], dtype=float)
        world[name] = value * (1 + 0.1 * rng.uniform(-1, 1, value.shape)) + 0.01 * rng.uniform(-1, 1, value.shape)
    return world


def _complete(inputs: dict, formulas: dict) -> dict | None:
    world = dict(inputs)
    with np.errstate(all="ignore"):
        for name, node in formulas.items():
            value = np.asarray(F.evaluate(node, world), dtype=float)
            if not np.all(np.isfinite(value)):
                return None
            world[name] = value
    return world


def worlds(solution: Solution, slope_mistake=None) -> list:
    """Random consistent worlds (cached per problem and mistake)."""
    key = ("worlds", slope_mistake)
    cache = solution.variants
    if key not in cache:
        rng = np.random.default_rng(20261122)
        if _is_graph(solution):
            cache[key] = _graph_worlds(solution, rng) if slope_mistake is None else []
            return cache[key]
        out, tries = [], 0
        formulas = _formulas(solution, slope_mistake)
        while len(out) < WORLDS and tries < MAX_TRIES:
            tries += 1
            inputs = _inputs(solution, rng, SCALES[len(out) % len(SCALES)])
            world = _complete(inputs, formulas)
            if world is not None:
                out.append(world)
        tries = 0
        while len(out) < WORLDS and tries < MAX_TRIES:
            # a narrow domain (sqrt, log of a hidden value): stay near the problem's own inputs
            tries += 1
            world = _complete(_nearby(solution, rng), formulas)
            if world is not None:
                out.append(world)
        cache[key] = out
    return cache[key]


def _graph_worlds(solution: Solution, rng) -> list:
    """A graph's quantities at random inputs, then (for a narrow domain) near the problem's own."""
    out = []
    for near in (False, True):
        tries = 0
        while len(out) < WORLDS and tries < MAX_TRIES:
            tries += 1
            world = graph_formulas.world(solution.problem, rng, SCALES[len(out) % len(SCALES)], near,
                                         tuple(solution.entries))
            if world is not None:
                out.append(world)
    return out


def _close(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size != b.size:
        return False
    a = a.reshape(b.shape)
    scale = float(np.max(np.abs(b), initial=0.0))
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.abs(a - b) <= RTOL * np.abs(b) + 1e-9 * max(scale, 1e-300) + 1e-300))


def _evaluate(node: F.Node, env: dict):
    try:
        with np.errstate(all="ignore"):
            return np.asarray(F.evaluate(node, env), dtype=float), None
    except F.FormulaError as exc:
        return None, str(exc)


def check(solution: Solution, quantity: str, node: F.Node, fit) -> Verdict:
    """Compare a parsed formula with the reference of `quantity`.

    `fit(expected, submitted)` is the grader's shape check; it returns
    (reshaped, message, tag).
    """
    expected = solution.array(quantity)
    got, error = _evaluate(node, solution.env)
    if got is None:
        return _shape_failure(solution, quantity, node, error)
    fitted, problem_text, tag = fit(expected, got)
    if fitted is None:
        return Verdict("invalid", problem_text, [tag] if tag else [], got)
    here = _close(fitted, expected) if expected.size else True
    ref_worlds = [w for w in worlds(solution) if quantity in w]
    if not ref_worlds:
        return Verdict("incorrect" if not here else "invalid",
                       "cannot be checked away from the problem's values (the reference is undefined "
                       "at every other point tried); ask your instructor", [], got)
    values = [_evaluate(node, w)[0] for w in ref_worlds]  # once: the checks and the diagnosis share them
    mismatch = next((i for i, (v, w) in enumerate(zip(values, ref_worlds))
                     if v is None or not _close(v, w[quantity])), None)
    if here and mismatch is None:
        return Verdict("correct", "correct (equal to the reference formula)", [], got)
    tags, why = diagnose(solution, quantity, node, values)
    if mismatch is None:
        message = ("equal to the reference at random points but not at the problem's values "
                   f"(expected {_show(expected)}, your formula gives {_show(fitted)})")
    else:
        differs = _differs(node, values[mismatch], ref_worlds[mismatch], quantity)
        message = "matches at the problem's values only; " + differs if here else differs
    if why:
        message += "; probably " + "; or ".join(why)
    return Verdict("incorrect", message, tags, got)


def _subtrees(node: F.Node) -> list:
    out = [node]
    for child in F.children(node):
        out += _subtrees(child)
    return out


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
        value, _ = _evaluate(_replace(node, part, F.T(part)), solution.env)
        if value is not None and _close(value, solution.array(quantity)):
            shown = F.to_code(part)
            shown = shown if isinstance(part, F.Name) else f"({shown})"
            return Verdict("invalid", f"the shapes do not fit ({error}): {shown} where {shown}ᵀ belongs?",
                           ["transposed"])
    return Verdict("invalid", f"the formula cannot be evaluated: {error}")


def _differs(node: F.Node, value, world: dict, quantity: str) -> str:
    shown = ", ".join(f"{n} = {_show(world[n])}" for n in sorted(F.names_in(node)) if n in world)[:300]
    return (f"differs from the reference at a random point ({shown}): "
            f"your formula gives {_show(value)}, the reference {_show(world[quantity])}")


def _show(value) -> str:
    a = np.asarray(value, dtype=float)
    text = np.array2string(a.reshape(-1) if a.ndim == 2 and 1 in a.shape else a, precision=4,
                           suppress_small=True, max_line_width=200, threshold=12)
    return " ".join(text.split())


def diagnose(solution: Solution, quantity: str, node: F.Node, values: list | None = None) -> tuple[list, list]:
    """Catalogue mistakes that a formula can make, checked at the random worlds.

    `values`: the formula already evaluated at those worlds, when the caller has them.
    """
    base = [w for w in worlds(solution) if quantity in w]
    if not base:
        return [], []
    if values is None:
        values = [_evaluate(node, w)[0] for w in base]
    if any(v is None for v in values):
        return [], []
    p = solution.problem
    graph = _is_graph(solution)
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
    for tag, text, transform in transforms:
        candidates = [transform(w[quantity]) for w in base]
        if tag not in tags and all(np.shape(c) == np.shape(w[quantity]) or np.size(c) == np.size(v)
                                   for c, v, w in zip(candidates, values, base)) \
                and all(_close(v, c) for v, c in zip(values, candidates)) \
                and not all(_close(c, w[quantity]) for c, w in zip(candidates, base)):
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
    if _is_graph(solution):
        return graph_formulas.allowed(solution.problem, quantity)
    given = ["x", "y", *solution.problem.params, "N", "K"]
    local = group_of(parts(quantity)[2]) == "local"
    before = []
    for name in _formulas(solution, None):
        if name == quantity or (quantity == "y_hat" and name == solution.problem.structure.out_name):
            break
        if not local or group_of(name) == "forward":
            before.append(name)
    return given + before


def _group(solution: Solution, quantity: str) -> str:
    entry = solution.entries.get(quantity)
    return entry.group if entry is not None else group_of(parts(quantity)[2])


def grade_text(solution: Solution, quantity: str, text: str, fit) -> Verdict:
    """Parse and check; a syntax problem is an `invalid` verdict."""
    try:
        node = parse_answer(solution, text)
    except FormulaSyntaxError as exc:
        return Verdict("invalid", f"not a formula bpcheck can read: {exc}")
    allowed = allowed_names(solution, quantity)
    later = sorted(n for n in F.names_in(node) if n not in allowed and n not in ("pi", "e"))
    if later:
        rule = _MAY_USE.get(_group(solution, quantity), "the quantities before it")
        return Verdict("invalid", f"a formula for {quantity} may not use {', '.join(later)}: besides the "
                                  f"given values it may use only {rule} ({', '.join(allowed)})")
    return check(solution, quantity, node, fit)
