"""Wide local Jacobians that are diagonal, held as their diagonal.

A single sample's local Jacobian dz{2l}/dz{2l-1} (FORMAT.md section 2: shape
(outputs, inputs), diagonal for an elementwise activation) has width² entries:
a 1024-unit layer's is a million numbers, of which 1024 are not zero. Up to
DENSE_LIMIT entries (a 256-unit layer, far beyond homework) it is computed
and written in full, as it always was. A larger diagonal one is computed by
the engines as its diagonal, a `Diagonal`; numpy sees it as the full matrix
(`__array__`: the engines' comparison, grading), and solve's JSON and YAML
write it as {"diagonal": [...]} unless `bpcheck solve --jacobians dense`
asks for every Jacobian in full (`dense_entries`).
"""

from __future__ import annotations

import numpy as np

DENSE_LIMIT = 65_536  # entries of a local Jacobian written in full whatever its form


class Diagonal:
    """A square matrix that is zero off its diagonal, as that diagonal (any vector: an engine's
    array, solve's floats or its precise strings)."""

    def __init__(self, diagonal):
        self.diagonal = diagonal

    def __len__(self) -> int:
        return len(self.entries())

    @property
    def shape(self) -> tuple:
        return (len(self), len(self))

    ndim = 2

    def entries(self) -> list:
        """The diagonal as a flat list."""
        d = self.diagonal
        if hasattr(d, "to_list"):  # a DomainMatrix (the sympy engine's)
            return [v for row in d.to_list() for v in row]
        return np.asarray(d).reshape(-1).tolist() if isinstance(d, np.ndarray) else list(d)

    def rows(self, zero=0.0) -> list:
        """The full matrix as nested lists, `zero` off the diagonal."""
        entries = self.entries()
        out = [[zero] * len(entries) for _ in entries]
        for k, v in enumerate(entries):
            out[k][k] = v
        return out

    def tolist(self) -> list:
        return self.rows()

    def __array__(self, dtype=None, copy=None):
        entries = np.asarray(self.entries(), dtype=dtype)
        out = np.zeros((len(entries), len(entries)), dtype=entries.dtype)
        np.fill_diagonal(out, entries)
        return out

    def __iter__(self):
        return iter(self.rows())


def dense_entries(solution) -> None:
    """Write every local Jacobian of `solution` in full (`bpcheck solve --jacobians dense`)."""
    for entry in solution.entries.values():
        if isinstance(entry.value, Diagonal):
            precise = entry.precise
            entry.value = entry.value.rows()
            entry._precise = precise.rows("0") if isinstance(precise, Diagonal) else precise
