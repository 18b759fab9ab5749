"""How many bits the exact engine keeps of a value in a problem that is not exact.

In an exact problem (every activation and the loss rational: ReLU, identity,
squared error) every value is an exact fraction, and stays one. In any other
problem the transcendental values (tanh, exp, log, erf) are computed by MPFR
or mpmath at the working precision, 45 digits (153 bits), and written as
exact binary fractions. Carried exactly through the backward pass, each
layer's product by such a slope adds its 153 bits to the gradient's
fractions: by the first layer of a 16-layer tanh net, 2,400-bit fractions,
whose products cost most of a deep solve.

Those digits mean nothing: the inputs they are computed from are known to
153 bits only, so every digit past about the 46th already differs from the
true value's. `bounded` therefore rounds a fraction whose numerator or
denominator passes ROUND_PAST_BITS (3 × 153 = 459 bits) to the nearest
binary fraction of MANTISSA_BITS (2 × 153 = 306 bits, 92 digits); a binary
fraction (a power of two below) of at most MANTISSA_BITS significant bits,
which a rounding would give back as it is, is left alone. A rounding costs
some 3 µs an entry, so it is kept for the fractions that grow: a gradient
times a tanh slope (153 + 306 bits and more) is rounded at every layer, a
gradient of two layers (width16-tanh's 343 bits) is not. Binary fractions
are also the cheapest to carry on: a product's fractions over powers of two
are reduced by shifts, not by gcds of long integers. A relative error of at
most 2^-306 per rounding, which after the few hundred roundings and sums of
a deep net's backward pass still leaves far more than the 45 digits the
working precision promises and the 30 that solutions print (the test
holds a rounded deep net to an unrounded one at 45 digits). A rounding
keeps the sign, and 0 stays exactly 0: what is zero, and what is on a
kink, does not change.
"""

from __future__ import annotations

import gmpy2
import numpy as np

from .symbolic import MPQ, _ROUNDING

WORKING_BITS = _ROUNDING.precision  # 153: mpmath's binary precision at DPS digits
MANTISSA_BITS = 2 * WORKING_BITS  # what a rounded value keeps
ROUND_PAST_BITS = 3 * WORKING_BITS  # a numerator or denominator longer than this is rounded
_NEAREST = gmpy2.context(precision=MANTISSA_BITS)  # to nearest, ties to even, whatever the global context says


def _bounded(v):
    """One value: an exact rational as it is, or rounded to MANTISSA_BITS once it is long."""
    if type(v) is not MPQ:
        return v  # (an int zero, a float of the other engine: nothing to round)
    p, q = v.numerator.bit_length(), v.denominator
    if p <= ROUND_PAST_BITS and q.bit_length() <= ROUND_PAST_BITS or p <= MANTISSA_BITS and not q & (q - 1):
        return v  # short, or a binary fraction a rounding would give back as it is
    # mpfr_set_q: one correct rounding to nearest (ties to even) of the exact fraction
    return MPQ(*gmpy2.mpfr(v, MANTISSA_BITS, _NEAREST).as_integer_ratio())


_BOUNDED = np.frompyfunc(_bounded, 1, 1)


def bounded(values):
    """An exact value or object array with every long fraction rounded (the module's docstring);
    for a problem that is not exact only (`Case.exact`): an exact problem's values are never rounded."""
    if not isinstance(values, np.ndarray):
        return _bounded(values)
    if values.dtype != object:
        return values
    if values.ndim == 0:
        return np.asarray(_bounded(values.item()), dtype=object)
    return _BOUNDED(values)
