"""The diagnosis's candidates that every student shares, tested all at once.

Most of the catalogue's candidates (`diagnose.CATALOGUE`: a sign flip, a
re-solve with the loss scaled by 2 ...) depend on the problem and the
quantity alone. They are built once per quantity and solved problem, stacked,
and each wrong answer is compared with all of them in one array operation,
entry for entry the same arithmetic as `Tolerance.accepts` on each one.
"""

from __future__ import annotations

import numpy as np

from .tolerance import Tolerance


def explains(candidate, expected: np.ndarray) -> bool:
    """A candidate of the quantity's shape that differs from the truth (else the mistake changes
    nothing here, and explains nothing)."""
    return candidate is not None and np.shape(candidate) == expected.shape \
        and not np.array_equal(candidate, expected)


def message(mistake, detail: str) -> str:
    """A diagnosis's message: the mistake's summary and the candidate's detail."""
    return mistake.summary + (f": {detail}" if detail else "")


def shared(ctx, name: str, catalogue: tuple) -> "Shared":
    """The candidates of `name` that every student shares, built once per solution."""
    key = ("diagnosis candidates", name)  # one per quantity of the solution: bounded by the problem
    cache = ctx.solution.variants
    if key not in cache:
        cache[key] = Shared(ctx, name, catalogue)
    return cache[key]


class Shared:
    """The candidates of the mistakes that are not `personal`, stacked, tested all at once.

    They depend only on the solution and the quantity (the catalogue's generators read
    nothing of the answer but its value, and these ignore it), so a class computes them
    once per quantity; each answer is then compared with every candidate in one array
    operation, entry for entry the same arithmetic as `Tolerance.accepts` on each.
    """

    def __init__(self, ctx, name: str, catalogue: tuple):
        expected = ctx.expected(name)
        self.owners, self.messages, rows = [], [], []
        for index, mistake in enumerate(catalogue):
            candidates = mistake.graphs if ctx.graph else mistake.candidates
            if candidates is None or mistake.personal:
                continue
            for candidate, detail, *_ in candidates(ctx, name, None):
                if explains(candidate, expected):
                    self.owners.append(index)
                    self.messages.append(message(mistake, detail))
                    rows.append(np.asarray(candidate, dtype=float))
        self.shape = expected.shape
        self.stack = np.stack(rows) if rows else None
        self.bounds: dict = {}  # Tolerance -> each candidate's bound; a question has one tolerance

    def matches(self, tol, submitted: np.ndarray) -> dict:
        """Mistake index -> the message of its first candidate that `tol` accepts for `submitted`."""
        if self.stack is None:
            return {}
        s = np.asarray(submitted, dtype=float)
        if s.shape != self.shape:  # (fit_shape gives the quantity's shape: never met)
            ok = np.array([tol.accepts(c, s).all() for c in self.stack])
        else:  # every candidate at once, each one's bound kept (`Tolerance.accepts` broadcasts)
            ok = tol.accepts(self.stack, s, bound=self._bounds(getattr(tol, "tol", tol)))
            ok = ok.reshape(len(ok), -1).all(axis=1)
        out: dict = {}
        for index, message, hit in zip(self.owners, self.messages, ok.tolist()):
            if hit and index not in out:
                out[index] = message
        return out

    def _bounds(self, tol: Tolerance) -> np.ndarray:
        """Each candidate's `tol.bound`, kept: a question has one tolerance."""
        bounds = self.bounds.get(tol)
        if bounds is None:
            bounds = self.bounds[tol] = np.stack([tol.bound(c) for c in self.stack])
        return bounds
