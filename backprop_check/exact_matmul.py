"""Exact products of rational matrices, done with integers by BLAS.

The sympy engine holds its values as numpy object arrays of exact rationals
(gmpy2's mpq). numpy multiplies such arrays one Python call per product and
per sum, each reducing a fraction (a gcd): about 0.4 µs a product, which made
the engine's matrix products most of a wide solve. Here A @ B is done as
integers instead: each row of A is written over one common denominator and
each column of B over its own, so that

    (A @ B)[i, j] = (a @ b)[i, j] / (dA[i] · dB[j])    with a, b integer matrices.

The integers are split into 16-bit limbs (with their sign), and the limbs of a
times the limbs of b are multiplied by one float64 BLAS call: every product
and every sum of products stays below 2^53, so float64 holds them exactly
whatever order BLAS adds them in. The limb products are put back together as
Python integers and each entry becomes one fraction again. Every limb of one
side meets every limb of the other, though: where the integers are long (the
2,000-bit gradients deep in a net) and the sums short, GMP's products one by
one cost less, and a cost model (`_by_gmp`) picks the cheaper way. The result
is the same numbers np.matmul gives (tests/test_width.py holds it to that);
only the small products, where the conversions would cost more than they
save, are left to np.matmul.
"""

from __future__ import annotations

import operator
from itertools import chain

import numpy as np

from .kept import ByIdentity

LIMB_BITS = 16  # limb products below 2^32; a sum of up to 2^20 of them stays below 2^53
MIN_WORK = 4096  # n·k·m below which np.matmul is as fast
MIN_INNER = 4  # a contraction this short (an outer product) gains nothing
MIN_REUSE = 8  # each entry converted is used this often at least (a matrix times a few columns is not)
# What the two ways to multiply long integers cost, in ns (fitted to the products of the deep128
# and width16 benchmarks): limbs per pair of limbs multiplied, per output limb and carry, per
# output limb, per input entry split; GMP per product of two entries and per pair of their limbs.
LIMB_PAIR, LIMB_CARRY, LIMB_OUT, LIMB_SPLIT = 0.25, 4.5, 14.0, 640.0
GMP_STEP, GMP_PAIR = 135.0, 0.15
CHUNK_ENTRIES = 4_000_000  # limb products held at once (32 MB of float64)


def matmul(a, b):
    """a @ b with numpy's rules; exact object arrays of rationals by integer BLAS when worth it."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != object and b.dtype != object:
        return np.matmul(a, b)
    if a.ndim not in (1, 2) or b.ndim not in (1, 2):
        return np.matmul(a, b)
    a2 = a.reshape(1, -1) if a.ndim == 1 else a  # numpy's 1-D rules: a row on the left,
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b  # a column on the right
    n, k = a2.shape
    m = b2.shape[1]
    if k != b2.shape[0] or k < MIN_INNER or min(n, m) < MIN_REUSE or n * k * m < MIN_WORK or k >= 1 << 20:
        return np.matmul(a, b)
    product = _rational_product(a2, b2)
    if product is None:  # not all rationals (a float, an mpf): numpy's own product
        return np.matmul(a, b)
    if a.ndim == 1 and b.ndim == 1:
        return product[0, 0]
    if a.ndim == 1 or b.ndim == 1:
        return product.reshape(-1)
    return product


def _rational_product(a: np.ndarray, b: np.ndarray):
    """Exact a @ b for 2-D object arrays of rationals, or None if an entry is not a rational."""
    rows = _kept_over_common(a)
    cols = _kept_over_common(b.T)
    if rows is None or cols is None:
        return None
    (a_int, a_den), (b_int, b_den) = rows, cols
    integers = _integer_product(a_int, b_int)  # n × m Python ints
    make = _fraction_type(a, b)
    n, m = len(a_int), len(b_int)
    out = np.empty((n, m), dtype=object)
    same = all(d == b_den[0] for d in b_den)  # (columns of data over one denominator: 100, say)
    if make is not _mpq():  # (Fractions hold Python's integers)
        integers, a_den, b_den = [int(v) for v in integers], [int(d) for d in a_den], [int(d) for d in b_den]
    for i in range(n):
        di, row = a_den[i], integers[i * m:(i + 1) * m]
        out[i] = list(map(make, row, [di * b_den[0]] * m if same else [di * d for d in b_den]))
    return out


def _mpq() -> type:
    """gmpy2's rational type. gmpy2 is imported where it is used: grading (the numpy engine) imports
    this module but never multiplies exactly, and importing gmpy2 costs it 30 ms."""
    import gmpy2

    return gmpy2.mpq


def _fraction_type(a: np.ndarray, b: np.ndarray):
    """The rational type of the operands (gmpy2's mpq, as sympy's QQ, unless they hold others)."""
    for x in (a.flat[0], b.flat[0]):
        if not isinstance(x, int):
            return type(x)
    from fractions import Fraction

    return Fraction


_KEPT = ByIdentity(64)  # a read-only owner and a view of it -> the view's rows over common denominators


def _kept_over_common(m: np.ndarray):
    """`_over_common` of m's rows; for a view of a read-only array that owns its numbers (the data
    and the parameters, which every pass multiplies again: `network.exact_array`, `Rationals.input`),
    worked out once per view."""
    owner = m if m.base is None else m.base
    if owner.flags.writeable or owner.base is not None or not isinstance(owner, np.ndarray):
        return _over_common(m.tolist())
    return _KEPT.get(owner, lambda _: _over_common(m.tolist()), (m.__array_interface__["data"][0], m.shape, m.strides))


def _over_common(rows: list):
    """Each row as integers over its least common denominator: ([[int]], [denominator]), or None.
    (gmpy2's integers, as mpq holds them: no conversion to Python's, and GMP's lcm and products.)"""
    import gmpy2  # (see _mpq)

    numerators, denominators = [], []
    try:
        for row in rows:
            dens = [v.denominator for v in row]
            common = gmpy2.lcm(*dens)
            numerators.append([v.numerator * (common // d) for v, d in zip(row, dens)])
            denominators.append(common)
    except (AttributeError, TypeError):
        return None
    return numerators, denominators


def _integer_product(a: list, b_t: list) -> list:
    """a @ b_t.T for lists of integer rows, exactly: the n·m entries as a flat list of integers."""
    k = len(a[0])
    bits_a, bits_b = max(_bits(a), 1), max(_bits(b_t), 1)
    if bits_a + bits_b + k.bit_length() <= 53:  # one float64 product holds every sum
        product = _floats(a) @ _floats(b_t).T
        return product.astype(np.int64).reshape(-1).tolist()
    if _by_gmp(len(a), k, len(b_t), bits_a, bits_b):
        return [sum(map(operator.mul, row, col)) for row in a for col in b_t]
    lb = _limbs(b_t)  # (limbs, m, k) float64
    chunk = max(1, CHUNK_ENTRIES // (len(b_t) * lb.shape[0] * (bits_a // LIMB_BITS + 1)))
    out: list = []
    for start in range(0, len(a), chunk):  # rows of a at a time: the limb products stay within memory
        out += _limb_product(_limbs(a[start:start + chunk]), lb)
    return out


def _floats(rows: list) -> np.ndarray:
    """Integer rows (below 2^53) as float64, exactly, through int64 (numpy's own conversion of a
    list of gmpy2 integers takes 2.6 µs an entry, sixteen times as long)."""
    count = len(rows) * len(rows[0])
    return np.fromiter(map(int, chain.from_iterable(rows)), np.int64, count).astype(float).reshape(len(rows), -1)


def _by_gmp(n: int, k: int, m: int, bits_a: int, bits_b: int) -> bool:
    """Whether GMP's products one by one (a C loop of sum(map(mul, …)) per entry) cost less than
    the limbs: every limb of one side meets every limb of the other in the BLAS product and the
    carries, so long integers (the 2,000-bit gradients deep in a net) cost the limbs much more."""
    limbs_a, limbs_b = bits_a // LIMB_BITS + 1, bits_b // LIMB_BITS + 1
    out_limbs = n * m * (limbs_a + limbs_b)
    by_limbs = n * m * k * limbs_a * limbs_b * LIMB_PAIR + out_limbs * (min(limbs_a, limbs_b) * LIMB_CARRY
                                                                       + LIMB_OUT) + (n + m) * k * LIMB_SPLIT
    by_gmp = n * m * k * (GMP_STEP + limbs_a * limbs_b * GMP_PAIR)
    return by_gmp < by_limbs


def _limb_product(la: np.ndarray, lb: np.ndarray) -> list:
    """Σ_s (Σ_{i+j=s} la[i] @ lb[j].T) · 2^(16 s), flat: every limb pair in one BLAS call, the
    limb positions summed in int64, carried into 16-bit digits, each entry read as one integer."""
    na, n, k = la.shape
    nb, m = lb.shape[0], lb.shape[1]
    parts = (la.reshape(na * n, k) @ lb.reshape(nb * m, k).T).reshape(na, n, nb, m).astype(np.int64)
    positions = na + nb - 1
    digits = np.empty((n * m, positions), dtype="<u2")
    carry = np.zeros(n * m, dtype=np.int64)
    for s in range(positions):
        column = carry + sum(parts[i, :, s - i, :] for i in range(max(0, s - nb + 1), min(na - 1, s) + 1)).reshape(-1)
        digits[:, s] = column & 0xFFFF
        carry = column >> LIMB_BITS  # (floor: a negative column leaves a digit in 0…65535 and a negative carry)
    raw, width, top = memoryview(digits.tobytes()), 2 * positions, carry.tolist()
    shift = LIMB_BITS * positions
    return [int.from_bytes(raw[e * width:(e + 1) * width], "little") + (top[e] << shift) for e in range(n * m)]


def _bits(rows: list) -> int:
    """The longest magnitude, in bits (max and min of each row are C loops; abs of each is not)."""
    return max(max(max(row), -min(row)).bit_length() for row in rows)


def _limbs(rows: list) -> np.ndarray:
    """16-bit limbs of each integer, least significant first, from its two's complement bytes: the
    lower limbs unsigned (0…65535), the top one signed, so Σ limb·2^(16 i) is the integer.
    (limbs, rows, columns) as float64."""
    flat = [v for row in rows for v in row]
    size = (max(max(flat), -min(flat)).bit_length() + 16) // 16 * 2  # bytes, with room for the sign
    raw = np.frombuffer(b"".join(v.to_bytes(size, "little", signed=True) for v in flat), dtype="<u2")
    raw = raw.reshape(len(flat), size // 2)
    limbs = raw.astype(float)
    limbs[:, -1] = raw[:, -1].view("<i2")
    return np.ascontiguousarray(limbs.T).reshape(size // 2, len(rows), len(rows[0]))
