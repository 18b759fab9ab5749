"""The two independent engines and what they share: the `Case` they solve.

`symbolic` (sympy, exact rationals where the problem allows, 45 digits
otherwise) and `numeric` (numpy float64, vectorised) compute the same
quantities from the same `Case`, sharing no derivative code, so that solve
can hold each to the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..losses import Loss


@dataclass(frozen=True)
class Case:
    """One forward/backward pass: layers, parameters and data (columns layout)."""

    layers: tuple
    params: dict  # name -> tuple of row tuples of Fraction
    x: tuple  # in × N
    y: tuple  # out × N
    loss: Loss

    @property
    def n_samples(self) -> int:
        return len(self.x[0])

    @property
    def n_outputs(self) -> int:
        return len(self.y)

    def sample(self, n: int) -> "Case":
        """The same case restricted to sample n (0-based), as if N = 1."""
        col = lambda m: tuple((row[n],) for row in m)  # noqa: E731
        return Case(self.layers, self.params, col(self.x), col(self.y), self.loss)
