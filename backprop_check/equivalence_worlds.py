"""Random consistent worlds for checking formula answers (`equivalence`).

The inputs x, y and the parameters are drawn at more than one scale and
inside their domains (targets in [0, 1] for BCE, one-hot for cross-entropy),
and every other name (z1, y_hat, dl/dz3, …) is computed from them through the
solution-sheet formulas, so that a formula may mix names freely and still be
checked consistently. A world where the reference is undefined is drawn
again; a narrow domain falls back to points near the problem's own inputs.
"""

from __future__ import annotations

import numpy as np

from . import derivation
from . import formulas as F
from . import graph_formulas
from .solve import Solution
from .spec import is_graph

WORLDS = 6
SCALES = (0.5, 1.0, 2.0)
MAX_TRIES = 40


def formulas_of(solution: Solution, slope_mistake) -> dict:
    """The solution-sheet formulas in dependency order (optionally mistaken).

    The true ones were cached by `solve`; mistaken ones are derived here once.
    """
    key = ("formulas", slope_mistake)
    cache = solution.variants
    if is_graph(solution.problem):  # solve_graph cached the sheet; a graph has no layer to mistake
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
        if is_graph(solution.problem):
            cache[key] = _graph_worlds(solution, rng) if slope_mistake is None else []
            return cache[key]
        out, tries = [], 0
        formulas = formulas_of(solution, slope_mistake)
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
