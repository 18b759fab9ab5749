"""Subnormal floats flushed to zero while a formula is evaluated (x86-64 Linux).

A float64 nearer to 0 than np.finfo(float).tiny (2.2e-308) is subnormal, and an
x86 processor computes with subnormals through microcode, 10 to 40 times slower:
tanh of a million of them takes 120 ms instead of 3, exp of a million numbers
near -740 (whose results are subnormal) 140 ms instead of 2, and a matrix
product whose terms underflow 4 ns per multiply-add instead of 0.1. A student's
formula can make them on purpose (`sum(tanh(exp(-740 - z1 z1ᵀ)) @ exp(-740 - z1))`),
and `formula_cost` counts operations, not what their operands are: such formulas
ran 4 to 7 times longer than their estimate.

While `flushed` is in force the processor's SSE control register (MXCSR) flushes
subnormal results to zero (FTZ) and reads subnormal operands as zero (DAZ), so
numpy's loops, and BLAS on the calling thread (bpcheck keeps BLAS to one thread:
`backprop_check/__init__`), run at their usual speed. numpy has no such switch
and flushing arrays after each operation cannot help an operation whose own
results underflow (exp(-740)); the C library's fegetenv/fesetenv carry MXCSR
(glibc's and musl's x86-64 fenv_t: the x87 environment's 28 bytes, then MXCSR).

No verdict depends on a subnormal: answers are compared with a floor of 1e-300
(`equivalence._close`) or a tolerance far above it, so a value changes by less
than any comparison sees, unless a later operation scales a subnormal up by
1e8 or more, which no formula of a network's quantities does.

Elsewhere (macOS, Windows, ARM) `flushed` changes nothing and subnormal
arithmetic keeps its own speed; it is fast in hardware on ARM processors.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import struct
from contextlib import contextmanager

FENV_SIZE = 32  # sizeof(fenv_t) on x86-64 Linux
MXCSR_AT = 28  # after fnstenv's 28 bytes
FTZ_DAZ = 0x8000 | 0x0040  # MXCSR's flush-to-zero and denormals-are-zero bits


def _libm():
    """The C maths library, where the switch is known to work; else None."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    except OSError:
        return None


_LIBM = _libm()


def available() -> bool:
    """Whether `flushed` flushes here."""
    return _LIBM is not None


@contextmanager
def flushed():
    """Within the block, on this thread: subnormal results are 0 and subnormal operands read as 0."""
    if _LIBM is None:
        yield
        return
    saved = ctypes.create_string_buffer(FENV_SIZE)
    _LIBM.fegetenv(saved)
    mxcsr = struct.unpack_from("<I", saved.raw, MXCSR_AT)[0]
    if mxcsr & FTZ_DAZ == FTZ_DAZ:  # already on (a formula evaluated inside another's evaluation)
        yield
        return
    flushing = ctypes.create_string_buffer(saved.raw, FENV_SIZE)
    struct.pack_into("<I", flushing, MXCSR_AT, mxcsr | FTZ_DAZ)
    _LIBM.fesetenv(flushing)
    try:
        yield
    finally:
        _LIBM.fesetenv(saved)
