"""How far float64 rounding can move the numpy engine's values: the engine again, with random roundings.

The engines are held to each other (`crosscheck.compare_engines`), and
float64 is not exact: a deep net's gradient is a sum of products whose terms
cancel, layer after layer, and its rounding error relative to the sum can
reach 1e-7 although every operation is correct. A bound on that error from
absolute values alone (|W|·|a| summed through the layers) holds, but it grows
as the product of the layers' |W|, some ten times the error per layer: at
16 layers it is 1e9 times the value and no longer checks anything.

So the error is measured the way float64 makes it: the same float passes run
a few times more, with every operation's result moved by a random error of
the size its rounding may have (Monte Carlo arithmetic), and the largest
move of each entry is its spread. The size of each operation's rounding
comes from the magnitudes it combines: u·|v| for a sum or product and for an
input read from decimals, a few ulps for a transcendental function and its
hand-written derivative, √n·u·|W|·|a| for the n-term dot products of W @ a
and √n·u·Σ|a| for a sum (n roundings of random sign add up as √n: Higham and
Mary, SIAM J. Sci. Comput. 2019; the worst case n·u is all but never met,
and with it the spread was hundreds of times float64's error). The backward pass's sums are moved through
their terms: an operand of W @ a by √n·u (its n-term dot products in the
backward pass), a local derivative entry by √m·u for the m entries summed
into its argument's adjoint (a bias's gradient sums over the samples). The
moves travel through the signed computation, cancelling where float64's own
errors cancel, so the spread follows the problem's real conditioning: on 16
layers of tanh, float64's error is at most a quarter of it.

A wrong derivative is not a rounding: it moves the value in every run alike
and the exact engine sees it. The spread of a well-conditioned entry is a few
ulps, so a relative error of 1e-9 there is still caught. Nor is a jump: a
pass in which a kinked function's argument changes side is left out.
"""

from __future__ import annotations

import math

import numpy as np

from ..graph import Tape
from ..ops import FUNCTIONS
from .floats import Floats

U = 2.0 ** -53  # float64's unit roundoff
FUNCTION_ULPS = 8  # a transcendental function or its hand-written derivative (ops), as numpy evaluates it
RUNS = 3  # jittered passes; the spread is the largest move of an entry among them
SEED = 14


def gamma(n: int) -> float:
    """The relative error of n roundings in a row, as they add up: √n·u (random signs, Higham and
    Mary 2019), not the n·u of the worst case, which float64's errors all but never reach."""
    return math.sqrt(n) * U


class Spread:
    """name -> the rounding spread of the engine's value of it (`spread`, entry by entry), or None
    for a name the passes do not give. `passes(arithmetic)`: every quantity the engine computes,
    with that arithmetic (a subclass may build it in `passes_of`, when first needed); `prefix`:
    the names' prefix (sample2.). Nothing is computed until the first call: the agreement test
    asks only when the plain relative test fails."""

    def __init__(self, passes=None, prefix: str = ""):
        self._passes, self.prefix, self._spread = passes, prefix, None

    def passes_of(self):
        return self._passes

    def __call__(self, name: str) -> np.ndarray | None:
        if not name.startswith(self.prefix):
            return None
        if self._spread is None:
            self._spread = spread(self.passes_of())
        return self._spread.get(name[len(self.prefix):])


def spread(run, runs: int = RUNS) -> dict:
    """name -> the largest |jittered − plain| of each entry over `runs` jittered passes.

    `run(arithmetic)`: the engine's quantities computed with that arithmetic (a dict of float
    arrays). A pass in which a kinked function's argument changes side (ReLU′ 1 for 0) is left
    out: that is a jump, not a rounding error, and the jump is not float64's to excuse (a value
    on a kink that bpcheck cannot place is bad input). With no pass left, nothing is excused."""
    rng = np.random.default_rng(SEED)
    out: dict = {}
    with np.errstate(all="ignore"):
        reference = Jittered(rng, moves=False)
        plain = run(reference)
        for _ in range(runs):
            jittered = Jittered(rng)
            values = run(jittered)
            if not _same(jittered.sides, reference.sides):
                continue
            for name, value in values.items():
                if name in plain:
                    moved = np.abs(np.asarray(value, dtype=float) - np.asarray(plain[name], dtype=float))
                    out[name] = moved if name not in out else np.maximum(out[name], moved)
    return out


def _same(sides: list, others: list) -> bool:
    return len(sides) == len(others) and all(np.array_equal(a, b) for a, b in zip(sides, others))


class Jittered(Floats):
    """Floats whose every operation's result is moved by a random error of its rounding's size."""

    def __init__(self, rng: np.random.Generator, moves: bool = True):
        super().__init__()
        self.rng, self.moves = rng, moves  # moves=False: plain Floats that only records the sides
        self.sides: list = []  # which side of its kinks each kinked function's argument was on, in order
        self._operands: dict = {}  # id(tape) -> the steps that are an operand of a matmul

    def kinked(self, tape: Tape):
        return range(len(tape.steps))  # every step passes through `settle`, where it is moved

    def settle(self, tape: Tape, i: int, value, values, memo: dict):
        if self.moves:
            value = np.asarray(value, dtype=float)
            size = self._size(tape, i, value, values)
            if np.any(size):
                value = value + size * self.rng.uniform(-1.0, 1.0, value.shape)
        return super().settle(tape, i, value, values, memo)  # a value on a kink stays exactly on it

    def partials(self, f, args: list, params: tuple) -> list:
        """Each partial derivative, one entry per term the backward pass multiplies by g, moved by its own
        rounding, the product's and the sum's that adds it into its argument's adjoint."""
        partials = super().partials(f, args, params)
        if f.kinks:
            self.sides.append(np.sign(args[0] - args[1]) if f.name == "max" else
                              np.stack([np.sign(np.asarray(args[0], dtype=float) - float(k)) for k in f.kinks]))
        if not self.moves:
            return partials
        shape = np.broadcast_shapes(*(np.shape(a) for a in args))
        own = U if f.rational else FUNCTION_ULPS * U
        out = []
        for p, a in zip(partials, args):
            summed = max(math.prod(shape) // max(int(np.size(a)), 1), 1)  # terms per entry of a's adjoint
            p = np.broadcast_to(p, shape)
            out.append(p + (own + gamma(summed + 1)) * np.abs(p) * self.rng.uniform(-1.0, 1.0, shape))
        return out

    def _size(self, tape: Tape, i: int, value: np.ndarray, values) -> np.ndarray:
        """The size of step i's rounding error, from the magnitudes it combined."""
        step = tape.steps[i]
        v = np.abs(value)
        if step.op == "matmul":
            a, b = (np.abs(np.asarray(values[k], dtype=float)) for k in step.args)
            size = gamma(a.shape[-1] if a.ndim else 1) * np.matmul(a, b)
        elif step.op in ("sum", "mean"):
            a = np.abs(np.asarray(values[step.args[0]], dtype=float))
            axis = int(step.params[0]) if step.params else None
            n = a.size if axis is None else a.shape[axis]
            size = gamma(n + 1) * np.sum(a, axis=axis, keepdims=axis is not None) / (n if step.op == "mean" else 1)
        elif step.op == "softmax":  # exp(a − max a): the subtraction's error becomes a relative one
            a = np.asarray(values[step.args[0]], dtype=float)
            axis = int(step.params[0]) if step.params else 0
            shifted = np.abs(a - np.max(a, axis=axis, keepdims=True)) if a.ndim else 0.0
            size = (gamma(a.shape[axis] + 3 if a.ndim else 1) + U * shifted) * v
        elif step.op in FUNCTIONS:
            size = (U if FUNCTIONS[step.op].rational else FUNCTION_ULPS * U) * v
        elif step.op in ("input", "const", "pi", "e"):
            size = U * v  # a decimal (or π) read into float64
        else:
            size = np.zeros_like(v)  # a rearrangement (transpose, index, stack, diag, eye): exact
        if i in self._operands_of(tape):  # its dot products in the backward pass, through their terms
            size = size + gamma(max(np.shape(value), default=1)) * v
        return size

    def _operands_of(self, tape: Tape) -> set:
        key = id(tape)
        if key not in self._operands:
            self._operands[key] = {a for step in tape.steps if step.op == "matmul" for a in step.args}
        return self._operands[key]
