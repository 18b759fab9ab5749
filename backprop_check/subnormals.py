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

No verdict depends on a subnormal: formula answers are compared with a floor of
1e-300 (`equivalence._close`), so flushing moves a value by less than any
comparison sees, unless a later operation scales a subnormal up by 1e8 or more
(exp(-720) · exp(700)), which no formula of a network's quantities needs.

Elsewhere (macOS, Windows, ARM) `flushed` changes nothing: subnormals keep
their own speed there (not measured).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

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


class _Flushed:
    """A class, not a generator: it is entered on every evaluation (2 µs, three C calls)."""

    def __enter__(self):
        depth = _DEPTH
        depth.open += 1
        if depth.open > 1 or _LIBM is None:  # a formula evaluated inside another's evaluation
            return
        saved = _Fenv()
        _LIBM.fegetenv(saved)
        depth.saved = saved
        flushing = _Fenv.from_buffer_copy(saved)
        flushing.mxcsr |= FTZ_DAZ
        _LIBM.fesetenv(flushing)

    def __exit__(self, *exc):
        depth = _DEPTH
        depth.open -= 1
        if depth.open == 0 and _LIBM is not None:
            _LIBM.fesetenv(depth.saved)
            depth.saved = None


_FLUSHED = _Flushed()


def flushed() -> _Flushed:
    """A block within which, on this thread, subnormal results are 0 and subnormal operands read as 0."""
    return _FLUSHED
