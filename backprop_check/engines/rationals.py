"""The sympy engine's arithmetic: exact rationals, derivatives by `sympy.diff`.

Values are numpy object arrays of exact rationals (gmpy2's mpq, as sympy's
QQ): +, −, ×, ÷, integer powers and matrix products stay exact. Every other
function is evaluated from its sympy definition (`ops`), compiled once per
parameter set, and differentiated with `sympy.diff`; a transcendental value
is computed by mpmath at `DPS` digits and stored as the exact rational of
that binary float, so later products lose nothing more.
"""

from __future__ import annotations

from contextlib import nullcontext
from fractions import Fraction
from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp
from sympy import QQ

from ..kept import ByIdentity
from ..graph import Tape
from .mpfr_arrays import compile_mpfr
from .symbolic import DPS, MAX_VALUE_BITS, MPQ, _short, _to_mpf, compile_array, compile_expr, to_rational

ZERO, ONE = QQ(0), QQ(1)
# The partial derivatives of the four rules of arithmetic, as array arithmetic on exact rationals
# (what sympy.diff gives for a + b, a − b, a·b, a/b, −a; tests/test_ops.py holds them to it).
_ARITHMETIC = {"copy": lambda a: [ONE], "add": lambda a, b: [ONE, ONE], "sub": lambda a, b: [ONE, -ONE], "neg": lambda a: [-ONE],
               "mul": lambda a, b: [b, a], "div": lambda a, b: [_divide(ONE, b), -_divide(a, b * b)]}
_EXACT = {"copy": lambda a: a, "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "neg": lambda a: -a}


def rational(v) -> object:
    """A Fraction, int or mpq as sympy's QQ element."""
    kind = type(v)
    if kind is MPQ:
        return v
    if kind is Fraction:  # (the spec's numbers: Python integers already, no int() or hasattr each)
        return MPQ(v.numerator, v.denominator)
    return MPQ(int(v.numerator), int(v.denominator)) if hasattr(v, "numerator") else MPQ(int(v))


_RATIONALS = np.frompyfunc(rational, 1, 1)


def array(value):
    """Exact values (Fractions, nested) as an object array of QQ, or one QQ."""
    if np.ndim(value) == 0:
        return rational(value.item() if hasattr(value, "item") and not hasattr(value, "numerator") else value)
    return np.asarray(_RATIONALS(np.asarray(value, dtype=object)), dtype=object)


def _sym(v: Fraction):
    return sp.Rational(int(v.numerator), int(v.denominator))


@lru_cache(maxsize=512)
def _forms(f, params: tuple) -> tuple:
    """f's sympy definition and partial derivatives (`sympy.diff`, or `dsympy` at kinks), in symbols a0, a1 …"""
    symbols = tuple(sp.Symbol(f"a{i}", real=True) for i in range(f.arity))
    sym_params = tuple(_sym(p) for p in params)
    form = f.sympy(*symbols, *sym_params)
    partials = tuple(f.dsympy[i](*symbols, *sym_params) if f.dsympy else sp.diff(form, s)
                     for i, s in enumerate(symbols))
    return symbols, form, partials


@lru_cache(maxsize=512)
def _compiled(f, params: tuple):
    """f's value and partial derivatives as closures over QQ (a constant partial: its QQ value)."""
    symbols, form, partials = _forms(f, params)
    return compile_expr(form, symbols), [rational(Fraction(int(d.p), int(d.q))) if d.is_Rational
                                         else compile_expr(d, symbols) for d in partials]


@lru_cache(maxsize=512)
def _compiled_arrays(f, params: tuple):
    """f's value and partial derivatives over whole arrays: (value, [partials]) in exact rational
    arithmetic (`symbolic.compile_array`), None for each that needs more; and the rest, value first,
    by MPFR at the working precision all in one evaluation (`mpfr_arrays`: tanh(z) once for tanh
    and its slope), or None. Compiled where `_compiled` is, so that their constants are the same."""
    symbols, form, partials = _forms(f, params)
    value, slopes = compile_array(form, symbols), [compile_array(d, symbols) for d in partials]
    rest = [None if value else form] + [None if slope or d.is_Rational else d for d, slope in zip(partials, slopes)]
    return value, slopes, compile_mpfr(rest, symbols) if any(e is not None for e in rest) else None


def _map(fn, args: list, whole=None):
    """fn over the entries of broadcast arrays, each result as an exact rational; `whole`: the
    same function over whole arrays (`_compiled_arrays`), tried first."""
    def exact(xs):
        # z**16 over eight layers would grow fractions without end: past MAX_VALUE_BITS, 45 digits
        return _short(to_rational(fn(xs)), MAX_VALUE_BITS)

    with mpmath.workdps(DPS):
        if all(np.ndim(a) == 0 for a in args):
            return exact(tuple(args))
        arrays = [np.asarray(a, dtype=object) for a in args]
        if whole is not None:
            out = _whole(whole, arrays)
            if out is not None:
                return out
        mapped = np.frompyfunc(lambda *xs: exact(xs), len(args), 1)
        return mapped(*arrays)


def _whole(whole, arrays: list):
    """`whole` over the broadcast arrays, or None when an entry fails (a branch not taken divides
    by zero, say): then entry by entry, as ever."""
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    try:
        value = whole([np.broadcast_to(a, shape) for a in arrays])
    except (ArithmeticError, TypeError, ValueError):
        return None
    if value is None:  # (`mpfr_arrays` met an overflow, a NaN, a value past float64's range)
        return None
    out = np.empty(shape, dtype=object)
    out[...] = value
    return _KEPT(out)


def _kept(v):
    """An exact result as the entry-by-entry path keeps it: a QQ element, shortened past MAX_VALUE_BITS."""
    if type(v) is not MPQ:
        v = to_rational(v)
    if v.numerator.bit_length() <= MAX_VALUE_BITS and v.denominator.bit_length() <= MAX_VALUE_BITS:
        return v
    return _short(v, MAX_VALUE_BITS)


_KEPT = np.frompyfunc(_kept, 1, 1)


def _jointly(compiled, args: list, value_first: bool = False):
    """A function's value and partials by `mpfr_arrays` (None for each it leaves to `_map`), kept as
    `_kept` keeps them (`mpfr_arrays` does it); None when every argument is a scalar or an entry
    needs the mpmath path. `value_first`: (the value, a closure giving the partials' list) instead,
    the partials worked out from the value's subexpressions when the closure is called."""
    if all(np.ndim(a) == 0 for a in args):
        return None
    arrays = [np.asarray(a, dtype=object) for a in args]
    return compiled.first(arrays) if value_first else compiled(arrays)


def _slopes(f, filled: tuple, args: list, jointly) -> list | None:
    """f's partials at `args` by `mpfr_arrays`: from the value `function` computed, if it kept them
    for later, else worked out now; None for each it leaves to `_map`, or None for all."""
    later = _SLOPES.take(f, filled, args)
    kept = later() if later is not None else None
    if kept:
        return kept
    found = _jointly(jointly, args)  # (also when the kept closure could not follow every entry)
    return found[1:] if found is not None else None


class _Slopes:
    """Partial derivatives to be worked out from a function's value (a closure: `mpfr_arrays`'
    `first`), kept for the backward pass that asks for them at the same argument arrays (the very
    objects: a forward pass's values, which nothing changes afterwards, as autodiff's own memo of
    local partials assumes). A pass that no backward pass follows (training's last) never asks."""

    MAX_ENTRIES = 1 << 18  # kept at once (about 40 MB of 45-digit rationals)

    def __init__(self):
        self.kept: dict = {}
        self.entries = 0

    def keep(self, f, params: tuple, args: list, slopes, size: int) -> None:
        """`slopes`: a closure giving the list of partials, of `size` entries in all."""
        if size > self.MAX_ENTRIES:
            return
        key = (f, params, tuple(map(id, args)))
        replaced = self.kept.pop(key, None)  # the same function of the same arrays, again (a later pass)
        if replaced is not None:
            self.entries -= replaced[2]
        while self.kept and self.entries + size > self.MAX_ENTRIES:  # the oldest go first
            self.entries -= self.kept.pop(next(iter(self.kept)))[2]
        self.kept[key] = (args, slopes, size)
        self.entries += size

    def take(self, f, params: tuple, args: list):
        key = (f, params, tuple(map(id, args)))
        found = self.kept.get(key)
        if found is None or not all(a is b for a, b in zip(found[0], args)):
            return None
        del self.kept[key]
        self.entries -= found[2]
        return found[1]


_SLOPES = _Slopes()


_INPUTS = ByIdentity(256)  # a read-only input array -> its QQ array


def _read_only_array(value: np.ndarray) -> np.ndarray:
    converted = array(value)
    converted.flags.writeable = False
    return converted


class Rationals:
    exact = True

    def input(self, value):
        """`array(value)`; a read-only array that owns its numbers (`network.exact_array`'s, which
        nothing can change) is converted once and kept. (A read-only view is not: its base may change.)"""
        if not isinstance(value, np.ndarray) or value.flags.writeable or value.base is not None:
            return array(value)
        return _INPUTS.get(value, _read_only_array)

    def quiet(self):
        return nullcontext()  # exact arithmetic raises on 0/0 and never overflows into a warning

    def constant(self, op: str, params: tuple):
        if op == "const":
            return rational(params[0])
        if op == "eye":
            n = int(params[0])
            out = np.full((n, n), ZERO, dtype=object)
            np.fill_diagonal(out, ONE)
            return out
        with mpmath.workdps(DPS):
            return to_rational(+mpmath.pi if op == "pi" else +mpmath.e)  # unary + makes the mpf

    def function(self, f, args: list, params: tuple):
        filled = f.fill(params)
        if f.name in _EXACT:
            return _EXACT[f.name](*args)
        if f.name == "div":
            return _divide(*args)
        if f.name == "pow" and filled[0].denominator == 1 and filled[0] >= 0:
            n = int(filled[0])
            return _map(lambda xs: xs[0] ** n, args, lambda arrays: arrays[0] ** n)
        value, _ = _compiled(f, filled)
        whole, _, jointly = _compiled_arrays(f, filled)
        if whole is None and jointly is not None:
            found = _jointly(jointly, args, value_first=True)
            if found is not None:
                slopes = sum(jointly.followed[1:])
                if slopes:
                    _SLOPES.keep(f, filled, list(args), found[1], slopes * np.size(found[0]))
                return found[0]
        return _map(value, args, whole)

    def partials(self, f, args: list, params: tuple) -> list:
        if f.name in _ARITHMETIC:  # sympy.diff of a + b, a·b, a/b is the textbook rule; no need to map it
            return _ARITHMETIC[f.name](*args)
        filled = f.fill(params)
        _, partials = _compiled(f, filled)
        _, wholes, jointly = _compiled_arrays(f, filled)
        slopes = None
        if jointly is not None and any(callable(p) and not whole for p, whole in zip(partials, wholes)):
            slopes = _slopes(f, filled, args, jointly)
        slopes = slopes or [None] * len(partials)
        return [p if not callable(p) else slope if slope is not None else _map(p, args, whole)
                for p, whole, slope in zip(partials, wholes, slopes)]

    def kinked(self, tape: Tape) -> tuple:
        return ()  # exact values need no putting on a kink: `settle` is never called

    def one(self, value):
        return ONE if np.ndim(value) == 0 else np.full(np.shape(value), ONE, dtype=object)

    def one_hot(self, value, k: int):
        seed = np.full(np.size(value), ZERO, dtype=object)
        seed[k] = ONE
        return seed.reshape(np.shape(value)) if np.ndim(value) else seed[0]

    def zeros(self, n: int):
        return np.full(n, ZERO, dtype=object)

    def diag(self, vector):
        n = len(vector)
        out = np.full((n, n), ZERO, dtype=object)
        for k, v in enumerate(vector):
            out[k, k] = v
        return out

    def softmax(self, a, axis: int):
        a = np.asarray(a, dtype=object)
        with mpmath.workdps(DPS + 5):
            e = np.asarray(np.frompyfunc(lambda v: mpmath.exp(_to_mpf(v)), 1, 1)(a), dtype=object)
            if e.ndim == 0:
                return ONE  # the softmax of one number
            return np.frompyfunc(to_rational, 1, 1)(e / e.sum(axis=axis, keepdims=True))

    def stack(self, items):
        return np.array([np.asarray(v, dtype=object) for v in items], dtype=object) \
            if any(np.ndim(v) for v in items) else np.array(list(items), dtype=object)


def _divide(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        raise ArithmeticError("division by zero") from None
