"""The "rounding carried" diagnosis: an answer wrong only because the student rounded.

A student who writes every intermediate value to a few decimals and carries
the rounded values on gets a slightly different answer downstream. The
candidate is the quantity's solution-sheet formula evaluated with every
upstream value rounded as the student rounded (to their decimals or their
significant figures, read from how the answer is written). It is one entry
of `diagnose.CATALOGUE`, kept here for its length.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from . import formulas as F
from .spec import is_graph
from .tolerance import Tolerance, fraction_digits, significant_digits

MIN_SIGFIGS = 2  # the least precision that can claim "rounding carried"


def _round(values: np.ndarray, decimals: int | None, sigfigs: int | None) -> np.ndarray:
    if decimals is not None:
        return np.round(values, decimals)
    with np.errstate(divide="ignore"):
        mag = np.floor(np.log10(np.where(values != 0, np.abs(values), 1.0)))
    factor = 10.0 ** (sigfigs - 1 - mag)
    return np.round(values * factor) / factor


def rounding_carried(ctx, name, answer) -> Iterator:
    entry = ctx.solution.entries.get(name)
    if entry is None or entry.formula is None or answer.texts is None:
        return
    texts = np.asarray(answer.texts, dtype=object).reshape(-1)
    if any(t is None for t in texts):
        return  # an entry written as arithmetic or LaTeX: no decimals to have rounded to
    decimals = [fraction_digits(str(t)) for t in texts]
    if any(d is None for d in decimals):
        return
    upstream = F.names_in(entry.formula) - _given_names(ctx.problem)
    if not upstream:
        return
    sig = [significant_digits(float(v), str(t)) for v, t in zip(np.asarray(answer.value).reshape(-1), texts)]
    if min(decimals) < 1 or any(s is not None and s < MIN_SIGFIGS for s in sig):
        return  # "1." rounds everything to integers: too coarse to excuse anything
    choices = [(max(decimals), None)] + ([(None, max(s for s in sig if s))] if any(sig) else [])
    for d, sf in choices:
        value = _rounded(ctx, name, entry.formula, upstream, d, sf)
        if value is not None and value.size == ctx.expected(name).size:
            what = f"{d} decimals" if d is not None else f"{sf} significant figures"
            # The student rounds the carried result too: accept half a unit of their last digit.
            own = Tolerance(decimals=max(decimals)) if d is not None else Tolerance(sigfigs=sf)
            yield value.reshape(ctx.expected(name).shape), f"from intermediate values rounded to {what}", own


MAX_CACHED_ROUNDINGS = 16  # per quantity and solution: students round to a few precisions


def _rounded(ctx, name: str, formula: F.Node, upstream: set, d: int | None, sf: int | None):
    """The sheet formula of `name` at the problem's values of `upstream` rounded to `d` decimals
    or `sf` significant figures (None where it cannot be evaluated); it depends on nothing
    else, so a worker keeps the last few per quantity."""
    cache = ctx.solution.variants.setdefault(("rounded", name), {})
    if (d, sf) not in cache:
        if len(cache) >= MAX_CACHED_ROUNDINGS:
            cache.pop(next(iter(cache)))
        env = dict(ctx.solution.env)
        for u in upstream:
            env[u] = _round(np.asarray(env[u], dtype=float), d, sf)
        try:
            cache[d, sf] = np.asarray(F.evaluate(formula, env), dtype=float)
        except (F.FormulaError, ValueError, KeyError):
            cache[d, sf] = None
    return cache[d, sf]


def _given_names(problem) -> set:
    """Names a formula may use whose values the spec gives (nothing a student computes)."""
    if not is_graph(problem):
        return {"x", "y", "N", "K"} | set(problem.params)
    given = {"N", "K", "pi", "e"} | set(problem.graph.inputs) | set(problem.data)
    return given | {f"sample{n}.{d}" for d in problem.data for n in range(1, problem.n_samples + 1)}
