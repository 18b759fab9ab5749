"""Subnormal floats flushed to zero while a formula is evaluated (x86-64 Linux).

A float64 nearer to 0 than np.finfo(float).tiny (2.2e-308) is subnormal, and an
x86 processor computes with subnormals through microcode assists, 10 to 40 times
slower: tanh of a million of them takes 120 ms instead of 3, exp of a million
numbers near -740 (whose results are subnormal) 140 ms instead of 2, a matrix
product whose terms underflow 4 ns a multiply-add instead of 0.1. A student's
formula can make them on purpose (`sum(tanh(exp(-740 - z1 z1ᵀ)) @ exp(-740 - z1))`);
`formula_cost` counts operations, not what their operands are, and such
formulas ran 4 to 7 times longer than their estimate (one answers file 5 s).

While `flushed` is in force the processor's SSE control register (MXCSR) flushes
subnormal results to zero (FTZ) and reads subnormal operands as zero (DAZ), so
numpy's loops, and BLAS on the calling thread (bpcheck keeps BLAS to one thread:
`backprop_check/__init__`), run at their usual speed. numpy has no such switch;
the C library's fegetenv/fesetenv carry MXCSR. Flushing arrays after each
operation instead (a[np.abs(a) < tiny] = 0) costs 9 ns an entry, more than the
add it follows, and cannot help an operation whose own results underflow (exp
near -740, products of 1e-160 numbers). Switching costs 2-3 µs an evaluation.
One slow path is left: numpy's exp hands underflowing entries (-745 to -708)
to a scalar routine, 20-55 ns an entry flushed or not; `formula_cost` charges it.

Flushing is for a student's formulas only, and only where it cannot change
a verdict. `while_grading(solution)` turns it on for one answers file's
grading (`grade.grade_file`); outside it (solving, the key's own formula
checks, the solution sheet) formulas are evaluated as IEEE arithmetic says. A
formula answer is compared with the engines' value at the problem's own values
and with the reference formula at random points evaluated the same way, so
flushing is used only on a problem where it changes no reference value: none
of the problem's values is subnormal, and every sheet formula gives, bit for
bit, the same value flushed as not (decided on the file's first formula, once
per solved problem). A problem that lives near the subnormals
(`a = exp(-720)`, `b = sqrt(a)`) is graded unflushed, at subnormal speed.

Elsewhere (macOS, Windows, ARM) `flushed` changes nothing: subnormals keep
their own speed there (not measured).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from contextlib import contextmanager
from contextvars import ContextVar

FTZ_DAZ = 0x8000 | 0x0040  # MXCSR's flush-to-zero and denormals-are-zero bits


class _Fenv(ctypes.Structure):
    """fenv_t of glibc on x86-64 (musl's has the same layout; not tried): the x87 environment
    (fnstenv's 28 bytes), then MXCSR."""
    _fields_ = [("x87", ctypes.c_uint8 * 28), ("mxcsr", ctypes.c_uint32)]


def _libm():
    """The C maths library, where the switch is known to work; else None."""
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        return None
    try:  # glibc's soname: ctypes.util.find_library would run /sbin/ldconfig, on every start
        libm = ctypes.CDLL("libm.so.6")
    except OSError:
        return None
    for fn in (libm.fegetenv, libm.fesetenv):
        fn.argtypes, fn.restype = [ctypes.POINTER(_Fenv)], ctypes.c_int
    return libm


_LIBM = _libm()


def available() -> bool:
    """Whether `flushed` flushes here."""
    return _LIBM is not None


class _Depth(threading.local):
    """This thread's open `flushed` blocks, and its environment from before the outermost."""
    open = 0
    saved: _Fenv | None = None


_DEPTH = _Depth()
_POLICY: ContextVar = ContextVar("subnormals", default=None)  # the file being graded's `_Policy`, if any


class _Policy:
    """Whether one solved problem's formulas may be flushed: decided when first asked."""

    def __init__(self, solution):
        self.solution, self.on = solution, None

    def wanted(self) -> bool:
        if self.on is None:
            self.on = False  # the decision's own evaluations run unflushed
            self.on = _safe(self.solution)
        return self.on


class _Flushed:
    """A class, not a generator: it is entered on every evaluation (2 µs, three C calls)."""

    def __enter__(self):
        depth = _DEPTH
        if depth.open == 0 and _LIBM is not None:  # (not inside another formula's evaluation)
            policy = _POLICY.get()
            if policy is not None and policy.wanted():
                saved = _Fenv()
                _LIBM.fegetenv(saved)
                flushing = _Fenv.from_buffer_copy(saved)
                flushing.mxcsr |= FTZ_DAZ
                depth.saved = saved  # (kept before the switch: an interruption after it still restores)
                _LIBM.fesetenv(flushing)
        depth.open += 1

    def __exit__(self, *exc):
        depth = _DEPTH
        depth.open -= 1
        if depth.open == 0 and depth.saved is not None:
            saved, depth.saved = depth.saved, None
            _LIBM.fesetenv(saved)


_FLUSHED = _Flushed()


def flushed() -> _Flushed:
    """A block within which, on this thread, subnormal results are 0 and subnormal operands read
    as 0, if an answers file of a problem that allows it is being graded (`while_grading`)."""
    return _FLUSHED


@contextmanager
def while_grading(solution):
    """Formulas evaluated inside the block are a student's, of `solution`'s problem: flushed where safe."""
    token = _POLICY.set(_Policy(solution))
    try:
        yield
    finally:
        _POLICY.reset(token)


def _safe(solution) -> bool:
    """No value of the problem is subnormal and every sheet formula is the same flushed
    (kept per solved problem: a worker grades a class of files against it)."""
    kept = solution.variants.get(("subnormal-safe", None))
    if kept is None:
        kept = solution.variants[("subnormal-safe", None)] = _decide(solution)
    return kept


def _decide(solution) -> bool:
    import numpy as np

    from . import formulas as F

    tiny = np.finfo(float).tiny
    for value in solution.env.values():
        a = np.asarray(value, dtype=float)
        if np.any((a != 0) & (np.abs(a) < tiny)):
            return False
    flushing = _Policy(solution)
    flushing.on = True  # (the policy of the outer evaluation, meanwhile, is off)
    for entry in solution.entries.values():
        if entry.formula is None:
            continue
        try:
            plain = F.evaluate(entry.formula, solution.env)
            token = _POLICY.set(flushing)
            try:
                flushed_value = F.evaluate(entry.formula, solution.env)
            finally:
                _POLICY.reset(token)
        except (F.FormulaError, ValueError, KeyError, TypeError):
            continue  # a formula bpcheck itself cannot evaluate here is no answer's reference
        except Exception:  # noqa: BLE001 - anything else: decide the safe way, unflushed
            return False
        if not _same(plain, flushed_value):
            return False
    return True


def _same(a, b) -> bool:
    import numpy as np

    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) or isinstance(a, float):
        return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b, equal_nan=True))
    return a == b  # a bare I or ones (`formula_products.Sized`), sized by its use
