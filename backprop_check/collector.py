"""Python's cycle collector around bpcheck's bulk work.

CPython's collector walks the objects of a generation each time it collects
it, and every live object on a full collection. A solve makes 10^5 to 10^6
small lists, arrays and formula trees that are freed as they go (a solve
leaves no cycles), and sympy's import leaves some 200,000 objects that live as
long as the process: on a 200-node graph over 16 samples the collector walked
them four times over, 0.4 s of a 3 s solve. So the collector is paused while a
solve runs (`paused`), and the objects of a module that is never unloaded are
left out of its walks once it is imported (`lasting_import`).
"""

from __future__ import annotations

import gc
import importlib
import sys
from contextlib import contextmanager


@contextmanager
def paused():
    """The collector off inside, as it was after (on, unless a caller paused it too)."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
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
