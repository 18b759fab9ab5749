"""A graph solve's values as float64 arrays, all of them at once.

Both engines' values are compared, checked and written as float64 arrays:
each converted as `Floats.input` converts it (float() of every entry), but
together. A 200-node graph over 16 samples has 12,000 one-number quantities
and 400,000 exact array entries, 95% of them zero (a node's Jacobian by a
weight matrix is one row of it): the numbers are converted as one list, and an
exact array's zeros are found (in C) and written as 0.0, not converted one
by one (float() of a gmpy2 rational costs as much for 0 as for 1/3).
"""

from __future__ import annotations

import numpy as np

from .engines.floats import Floats


def floats_of(values: dict) -> dict:
    """{name: its value as a float64 array} (a number as a 0-d array), in the same order."""
    numbers = [name for name, v in values.items() if not isinstance(v, (np.ndarray, list, tuple))]
    column = np.array([float(values[name]) for name in numbers], dtype=float)
    out = dict(zip(numbers, (column[i, ...] for i in range(len(numbers)))))  # 0-d views of one array
    return {name: out[name] if name in out else _array(v) for name, v in values.items()}


def _array(value) -> np.ndarray:
    """An array as a float64 array of its own (exact rationals: their zeros found at once)."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        out = np.zeros(value.shape)
        at = value.nonzero()  # an exact zero is +0.0 whatever its type (rationals have no -0)
        out[at] = value[at].astype(float)
        return out
    return Floats().input(value)
