"""The numpy engine's arithmetic: float64, with hand-written derivatives.

`autodiff` walks the tape; this supplies each function's value and partial
derivatives from its hand-written `numpy`/`dnumpy` (`ops`), never from sympy.
It also puts values that lie on a kink up to rounding exactly on it:
0.1·0.9 − 0.3·0.3 is exactly 0, but 1.4e-17 in float64, and ReLU′ would take
the wrong side of its kink. A value within 1e-12 of the magnitude of what was
summed to make it (|W|·|a| + |b| for W a + b) is treated as on the kink.
"""

from __future__ import annotations

import math

import numpy as np

from ..kept import ByIdentity
from ..graph import Tape
from ..ops import FUNCTIONS
from .batch import aligned

KINK_RTOL = 1e-12


class Floats:
    exact = False

    def __init__(self):
        # step -> (tape, its value, the size of its terms), from an earlier pass: finite differences
        # move one input, and a step not computed from it keeps its value object and its size
        self._sizes: dict = {}

    def input(self, value) -> np.ndarray:
        if isinstance(value, np.ndarray):
            if value.dtype == float:
                return value.copy()  # float64 already (the float engine's values): what float() of each gives
            if value.dtype == object:
                return _converted(value).copy()  # float() of each entry (exact rationals: correctly rounded)
        elif not isinstance(value, (list, tuple)):
            return np.asarray(float(value), dtype=float)  # one number (np.ndim's cost, 28,000 times, saved)
        return np.asarray(np.vectorize(float, otypes=[float])(value) if np.ndim(value) else float(value),
                          dtype=float)

    def constant(self, op: str, params: tuple):
        if op == "const":
            return np.float64(params[0])
        if op == "eye":
            return np.eye(int(params[0]))
        return np.float64(math.pi if op == "pi" else math.e)

    def quiet(self):
        """A forward pass runs inside this: overflow and 0/0 are not warnings (a value that is
        not finite is reported as bad input by the solver), checked once per pass, not per step."""
        return np.errstate(all="ignore")

    def function(self, f, args: list, params: tuple):
        return np.asarray(f.numpy(*args, *f.fill(params)), dtype=float)  # (inside `quiet`)

    def partials(self, f, args: list, params: tuple) -> list:
        with np.errstate(all="ignore"):
            return [np.asarray(d(*args, *f.fill(params)), dtype=float) for d in f.dnumpy]

    def kinked(self, tape: Tape) -> dict:
        return _kinks(tape)

    def settle(self, tape: Tape, i: int, value, values: list, memo: dict):
        placed = _kinks(tape).get(i)
        if not placed:
            return value
        size = _magnitude(tape, i, values, memo, value, self._sizes)
        out = np.array(value, dtype=float, copy=True)
        for argument, k in placed:
            target = k if argument == i else _where_argument_is(tape, argument, i, k, values, self)
            if target is None:
                continue  # not affine in this value: the kink cannot be placed
            target = np.broadcast_to(np.asarray(target, dtype=float), out.shape)
            near = np.abs(out - target) <= KINK_RTOL * np.maximum(size, np.abs(target))
            out[near] = target[near]
        return out

    def one(self, value):
        return np.ones_like(np.asarray(value, dtype=float))

    def one_hot(self, value, k: int):
        seed = np.zeros(np.size(value))
        seed[k] = 1.0
        return seed.reshape(np.shape(value))

    def zeros(self, n: int):
        return np.zeros(n)

    def diag(self, vector):
        return np.diag(np.asarray(vector, dtype=float))

    def softmax(self, a, axis: int):
        if np.ndim(a) == 0:
            return np.float64(1.0)
        e = np.exp(a - np.max(a, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)

    def stack(self, items):
        return np.stack([np.asarray(v, dtype=float) for v in items])


_CONVERTED = ByIdentity(256)  # a read-only exact input array -> its float64 values


def _converted(value: np.ndarray) -> np.ndarray:
    """value.astype(float); for a read-only array that owns its numbers (`network.exact_array`'s,
    which nothing can change), once: every pass of the engine, finite differences and the rounding
    spread's passes convert the same inputs. (The caller gets a copy: it may move an entry.)"""
    if value.flags.writeable or value.base is not None:
        return value.astype(float)
    return _CONVERTED.get(value, lambda v: v.astype(float))


_MAGNITUDE = {
    "add": lambda m, p: m[0] + m[1],
    "sub": lambda m, p: m[0] + m[1],
    "neg": lambda m, p: m[0],
    "mul": lambda m, p: m[0] * m[1],
    "transpose": lambda m, p: np.asarray(m[0]).T,
    "sum": lambda m, p: np.sum(m[0]) if not p else np.sum(m[0], axis=int(p[0]), keepdims=True),
    "index": lambda m, p: np.asarray(m[0])[tuple(int(i) for i in p)],
    "stack": lambda m, p: np.stack(m),
}


def _magnitude(tape: Tape, i: int, values: list, memo: dict, value=None, kept: dict | None = None):
    """The size of the terms a value was summed from (|W|·|a| + |b| for W a + b).

    `kept`: sizes from earlier passes, by step. A size is a function of the step's value and its
    arguments' (recursively); a step whose value is the very object of an earlier pass was not
    computed again, nor was anything it is computed from (finite differences recompute all that
    is computed from the moved input), so its size is the one kept."""
    if i in memo:
        return memo[i]
    found = kept.get(i) if value is None and kept is not None else None
    if found is not None and found[0] is tape and found[1] is values[i]:
        memo[i] = found[2]
        return found[2]
    memo[i] = _size(tape, i, values, memo, value, kept)
    if value is None and kept is not None:
        kept[i] = (tape, values[i], memo[i])
    return memo[i]


def _size(tape: Tape, i: int, values: list, memo: dict, value, kept: dict | None):
    size = lambda a: _magnitude(tape, a, values, memo, None, kept)  # noqa: E731
    step = tape.steps[i]
    rule = _MAGNITUDE.get(step.op)
    f = FUNCTIONS.get(step.op)
    if step.op == "matmul":
        a, b = step.args
        return _matmul_magnitude(np.abs(values[a]), np.abs(values[b]), size(a), size(b))
    if rule is not None:
        return rule([size(a) for a in step.args], step.params)
    own = np.abs(values[i] if value is None else value)
    if f is not None and f.arity == 1 and step.args:
        # an error in the argument passes through as f′ times it: relu(z) carries z's
        # rounding (z = −0.005 + 0.005000001 is 1e-9 ± 1e-18, not ± 1e-25)
        arg = step.args[0]
        with np.errstate(all="ignore"):
            slope = np.abs(f.dnumpy[0](values[arg], *f.fill(step.params)))
        return np.maximum(own, np.nan_to_num(slope * size(arg)))
    return own


def _matmul_magnitude(a, b, size_a, size_b):
    """|A|·|B|, the size of the terms summed, plus what the operands carry beyond their own size
    (an earlier rounding, passed on through functions) added in quadrature, as rounding errors of
    random sign add up. Added plainly, layer after layer, it grew as the product of the layers'
    |W| (some ten times a layer): by the 16th layer of a deep net a pre-activation of 0.02 was
    within 1e-12 of the "size of its terms" and was put on ReLU's kink."""
    carried_a, carried_b = np.maximum(size_a - a, 0.0), np.maximum(size_b - b, 0.0)
    spread = 0.0
    if carried_a.any():  # (a given matrix carries nothing: skip its product of zeros)
        spread = np.matmul(carried_a ** 2, b ** 2)
    if carried_b.any():
        spread = spread + np.matmul(a ** 2, carried_b ** 2)
    return np.matmul(a, b) + np.sqrt(spread)


_AFFINE = {"add", "sub", "neg", "mul", "div"}


def _kinks(tape: Tape) -> dict:
    """Value step -> [(argument step, kink)] for every kinked function (cached).

    A kink of relu(z1 − 0.3) or abs(y_hat − y) lies where the argument is at
    the kink; the value to put on it is the one the argument is affine in
    (z1, y_hat), followed through +, −, × and ÷ by values that are given or
    constant, so that the named value itself, which formulas use, is exact.
    """
    cached = getattr(tape, "_kinks", None)
    if cached is None:
        cached = {}
        named = set(tape.at.values())
        for step in tape.steps:
            f = FUNCTIONS.get(step.op)
            if f is not None and f.kinks and step.args and step.op != "max":
                source = _affine_source(tape, step.args[0])
                if source not in named and source != step.args[0]:
                    continue  # abs(y_hat**2 - y): no named value to put on the kink
                for k in f.kinks:
                    cached.setdefault(source, []).append((step.args[0], float(k)))
        tape._kinks = cached
    return cached


def _affine_source(tape: Tape, i: int) -> int:
    """The nearest named step that step i is an affine function of (i itself if none)."""
    live, steps, named = tape.live(), tape.steps, set(tape.at.values())
    while i not in named and steps[i].op in _AFFINE:
        step = steps[i]
        varying = [a for a in step.args if live[a] and steps[a].op != "input"]
        if len(varying) != 1 or (step.op == "div" and varying[0] != step.args[0]):
            break
        i = varying[0]
    return i


def _where_argument_is(tape: Tape, argument: int, source: int, k: float, values: list, arithmetic):
    """The source values at which the argument is k (None unless the argument is affine in them)."""
    at = [np.asarray(_value_with(tape, argument, source, float(t), values, arithmetic), dtype=float)
          for t in (0.0, 1.0, 2.0)]
    slope = at[1] - at[0]
    if np.any(np.abs(at[2] - 2 * at[1] + at[0]) > 1e-12 * np.maximum(1.0, np.abs(at[1]))) or np.any(slope == 0):
        return None
    return (k - at[0]) / slope


def _value_with(tape: Tape, j: int, source: int, t: float, values: list, arithmetic):
    """Step j recomputed with the source step's value replaced by t."""
    if j == source:
        return t
    if j < source:
        return values[j]
    step = tape.steps[j]
    args = [_value_with(tape, a, source, t, values, arithmetic) for a in step.args]
    if step.op in FUNCTIONS:
        return arithmetic.function(FUNCTIONS[step.op], args, step.params)
    return arithmetic.constant(step.op, step.params)  # the affine chain holds no other steps


def kink_pattern(tape: Tape, values: list, carried: list | None = None) -> tuple:
    """Which side of each kink every kinked function's argument lies on (0: on it), and which
    argument of every max is the larger: finite differences skip an entry that changes it.
    `carried`: the pass's sample axes (`engines.batch`); each entry then has that of its step.

    Every kinked function counts here, also one whose kink no named value can be put on
    (relu(x + y − 2)): snapping needs a named source, telling the side of a kink does not."""
    out = []
    for i, step, f in _kinked(tape):
        if step.op == "max":
            args = [values[a] for a in step.args]
            if carried is not None and carried[i]:
                args = aligned(args, [carried[a] for a in step.args])
            a, b = (np.asarray(v, dtype=float) for v in args)
            out.append(np.sign(a - b))
        else:
            out += [np.sign(np.asarray(values[step.args[0]], dtype=float) - float(k)) for k in f.kinks]
    return tuple(out)


NEAR_KINK = 1e-9  # relative to 1 + |kink|: an argument this close to a kink may be on its side by rounding


def near_kink(tape: Tape, values: list, carried: list | None = None) -> bool:
    """Whether some kinked function's argument (or the two arguments of a max) lies on a kink or
    within NEAR_KINK of it: there float64's rounding, or its snapping, may have chosen the side
    that decides the derivative, and only the exact engine can tell."""
    for i, step, f in _kinked(tape):
        args = [values[a] for a in step.args]
        if carried is not None and carried[i]:
            args = aligned(args, [carried[a] for a in step.args])
        if step.op == "max":
            a, b = (np.asarray(v, dtype=float) for v in args[:2])
            gaps = [(a - b, np.maximum(np.abs(a), np.abs(b)))]
        else:
            a = np.asarray(args[0], dtype=float)
            gaps = [(a - float(k), abs(float(k))) for k in f.kinks]
        if any(np.any(np.abs(gap) <= NEAR_KINK * (1 + size)) for gap, size in gaps):
            return True
    return False


def kink_steps(tape: Tape) -> list:
    """The step of each entry of `kink_pattern`, in its order."""
    return [i for i, step, f in _kinked(tape) for _ in (f.kinks if step.op != "max" else (0,))]


def _kinked(tape: Tape) -> list:
    return [(i, step, FUNCTIONS[step.op]) for i, step in enumerate(tape.steps)
            if step.op in FUNCTIONS and FUNCTIONS[step.op].kinks and step.args]
