"""What is kept to be reused: values derived from objects that nothing changes, by the object's
identity (`ByIdentity`), and arrays as keys, by their contents (`array_key`).

The engines convert the same read-only arrays again and again: the data and the
given parameters at every pass, finite difference and training step, and an
exact value for the finiteness test, the engines' comparison and the output.
A `ByIdentity` keeps each derived value by the object's id. An entry holds the
object too, so its id cannot be reused by another object while the entry lives.
A full cache is emptied (the next pass fills it again).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

MAX_KEYED_ENTRIES = 4096  # a larger array is no key: building one would cost what reusing saves


class ByIdentity:
    """make(obj) for each object, computed once while kept (at most `size` entries)."""

    def __init__(self, size: int):
        self.size = size
        self._kept: dict = {}

    def get(self, obj, make: Callable, place: tuple = ()):
        """make(obj), kept for `obj` (and `place`, where one object gives several: a view's)."""
        key = (id(obj), *place)
        kept = self._kept.get(key)
        if kept is None or kept[0] is not obj:
            if len(self._kept) >= self.size:
                self._kept.clear()
            kept = self._kept[key] = (obj, make(obj))
        return kept[1]


def array_key(value) -> tuple | None:
    """An array (or number) as a hashable key, by type, shape and bytes; None past MAX_KEYED_ENTRIES."""
    a = np.asarray(value)
    if a.size > MAX_KEYED_ENTRIES:
        return None
    return a.dtype.str, a.shape, a.tobytes()
