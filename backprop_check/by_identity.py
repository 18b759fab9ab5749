"""Values derived from objects that nothing changes, kept by the object's identity.

The engines convert the same read-only arrays again and again: the data and the
given parameters at every pass, finite difference and training step, and an
exact value for the finiteness test, the engines' comparison and the output.
A `ByIdentity` keeps each derived value by the object's id. An entry holds the
object too, so its id cannot be reused by another object while the entry lives.
A full cache is emptied (the next pass fills it again).
"""

from __future__ import annotations

from typing import Callable


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
