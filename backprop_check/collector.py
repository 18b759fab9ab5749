"""Python's cycle collector around bpcheck's bulk work.

CPython's collector walks the objects of a generation each time it collects
it, and every live object on a full collection. A solve makes 10^5 to 10^6
small lists, arrays and formula trees that are freed as they go (a solve
leaves no cycles), and sympy's import leaves some 200,000 objects that live as
long as the process: on a 200-node graph over 16 samples the collector walked
them four times over, 0.4 s of a 3 s solve. So the collector is paused while a
solve runs (`paused`), and the objects of a module that is never unloaded are
left out of its walks once it is imported (`lasting_import`).

A pause does not stop the collector's count: every object made during it and
still alive after it is young, and the first collection after it walks them
all (a 200-node graph's solution: 150,000 objects, 0.05 s). What a solve
leaves alive is its solution, which lives as long as its caller keeps it, so
`paused(lasting=True)` leaves it out of later walks too, as imports are.
"""

from __future__ import annotations

import gc
import importlib
import sys
from contextlib import contextmanager


@contextmanager
def paused(lasting: bool = False):
    """The collector off inside, as it was after (on, unless a caller paused it too).

    `lasting`: what is alive when the block ends without an error is not walked again (`gc.freeze`);
    it is still freed when it is no longer used, but a cycle among it would never be (a solve makes
    none of its own; sympy's `replace` leaves some 60 small objects, 10 kB, per solve)."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
        if lasting:
            gc.freeze()
    finally:
        if running:
            gc.enable()


def lasting_import(name: str):
    """The module `name`, imported with the collector paused; what is alive after its first import
    (the module's objects, and the process's until then) is not walked again (`gc.freeze`)."""
    module = sys.modules.get(name)
    if module is None:
        with paused():
            module = importlib.import_module(name)
            gc.freeze()
    return module
