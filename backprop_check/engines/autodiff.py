"""Forward and reverse passes over a recorded tape, for either engine.

The walk is the same for both engines; what differs is the `arithmetic`
they pass in: float64 with hand-written derivatives (`numeric`), or exact
rationals with derivatives from `sympy.diff` (`symbolic`). A structural
operation's vector-Jacobian product is array code that serves both (it is a
rearrangement, not calculus); finite differences on every solve check it.

`backward` accumulates, for every step the seed depends on, the derivative
of the seeded value with respect to that step: the gradient when the seed
is a scalar's 1, one row of a Jacobian when it is a one-hot entry.
"""

from __future__ import annotations

import numpy as np

from ..graph import Tape
from ..ops import FUNCTIONS, STRUCTURAL, unbroadcast, zeros
from . import batch


def forward(tape: Tape, arithmetic, inputs: dict, base: tuple | None = None, carried: list | None = None) -> list:
    """The value of every step; `inputs` binds each input name to its value.

    `base`: (the values of an earlier pass, which steps to compute again):
    finite differences move one input, and the steps not computed from it
    keep their values, the same numbers a full pass would give them.
    `carried`: which steps carry a leading sample axis (`batch`; the data
    inputs hold every sample), when all samples run in one pass.
    """
    plan = tape.plan()
    if base is None:
        values: list = [None] * len(plan)
        again = range(len(plan))
    else:  # (a finite difference: the steps computed from the moved input, often a few of many)
        values = list(base[0])
        again = [i for i, moved in enumerate(base[1]) if moved]
    memo: dict = {}  # the arithmetic's own notes for this pass
    function = arithmetic.function
    kinked = arithmetic.kinked(tape)  # the steps whose values `settle` may put on a kink
    with arithmetic.quiet():
        for i in again:
            kind, entry, at, params = plan[i]
            many = carried is not None and carried[i]
            if kind == "function":
                args = [values[a] for a in at]
                value = function(entry, batch.aligned(args, [carried[a] for a in at]) if many else args, params)
            elif kind == "input":
                value = inputs[entry]
            elif kind == "constant":
                value = arithmetic.constant(entry, params)
            elif many:
                value = batch.structural(entry, arithmetic, [values[a] for a in at], [carried[a] for a in at], params)
            else:
                value = entry.forward(arithmetic, *[values[a] for a in at], *params)
            if i in kinked:
                value = batch.settle(arithmetic, tape, i, value, values, carried, memo) if many \
                    else arithmetic.settle(tape, i, value, values, memo)
            values[i] = value
    return values


def backward(tape: Tape, values: list, arithmetic, seed_at: int, seed, cuts: dict | None = None,
             wanted: tuple = (), memo: dict | None = None, carried: list | None = None) -> list:
    """d(seeded value)/d(each step), None where the seed does not depend on it.

    With `wanted` (step indices), only d(seed)/d(those steps) are wanted: the
    adjoint flows only into steps computed from one of them, and the walk ends
    at the earliest. Each wanted adjoint is still the total derivative (perturb
    the step, recompute what is computed from it): every path from a wanted
    step to the seed runs through steps computed from it, all of which are
    walked, in the same order as by a pass that wants that step alone.

    `cuts` maps a step to (an earlier step, a slope): the derivative there is
    taken as that slope, straight to that step, whatever lies between; the
    diagnosis recomputes a student's mistaken chain rule with it.

    `memo`: notes on these `values` that the caller keeps across the passes
    over one forward pass: a step's local partial derivatives (a tanh's,
    exact at 45 digits, is worked out once, not once per pass through it) and
    the zeros an indexed array's gradient starts from.

    `carried`: the forward pass's sample axes (`forward`). From a carried
    seed (one per sample), every adjoint carries the sample axis.
    """
    many = carried is not None and carried[seed_at]
    walk = _Walk(tape, values, arithmetic, memo, carried if many else None,
                 tape.live() if not wanted else tape.computed_from(wanted, seed_at))
    adjoint = walk.adjoint
    adjoint[seed_at] = seed
    for i in tape.below(seed_at, min(wanted, default=0)):  # only what the seed is computed from, newest first
        g, step = adjoint[i], tape.steps[i]
        if g is None or not step.args:
            continue
        if step.op == "index" and not (cuts and i in cuts):
            walk.into(step.args[0], g, step.params)
            continue
        if cuts and i in cuts:
            target, slope = cuts[i]
            targets, grads = (target,), (unbroadcast(g * slope, np.shape(values[target])),)
        elif step.op in FUNCTIONS:
            targets, grads = step.args, walk.local(i, step, g)
        else:
            targets, grads = step.args, walk.structural(i, step, g)
        walk.add(targets, grads)
    return adjoint


class _Walk:
    """One backward pass's adjoints and how each kind of step passes its adjoint on."""

    def __init__(self, tape: Tape, values: list, arithmetic, memo: dict | None, carried: list | None, flows: list):
        self.values, self.arithmetic, self.memo, self.carried, self.flows = values, arithmetic, memo, carried, flows
        self.adjoint: list = [None] * len(tape.steps)
        self.owned: set = set()  # adjoints created here, safe to add into in place

    def add(self, targets, grads) -> None:
        adjoint, flows = self.adjoint, self.flows
        for a, grad in zip(targets, grads):
            if flows[a] and grad is not None:
                adjoint[a] = grad if adjoint[a] is None else adjoint[a] + grad
                self.owned.discard(a)

    def local(self, i: int, step, g) -> list:
        """An elementwise function's adjoints: g times its local partial derivatives."""
        memo, carried = self.memo, self.carried
        args = [self.values[a] for a in step.args]
        many = carried is not None and carried[i]
        local = None if memo is None else memo.get(i)
        if local is None:
            local = self.arithmetic.partials(FUNCTIONS[step.op], batch.aligned(args, [carried[a] for a in step.args])
                                             if many else args, step.params)
            if memo is not None:
                memo[i] = local
        if carried is None:
            return [unbroadcast(_times(g, p), getattr(a, "shape", ())) if self.flows[t] else None
                    for p, a, t in zip(local, args, step.args)]
        n = len(g)
        return [batch.unbroadcast(_times(g, p), getattr(a, "shape", ()) if carried[t] else
                                  (n,) + getattr(a, "shape", ())) if self.flows[t] else None
                for p, a, t in zip(local, args, step.args)]

    def structural(self, i: int, step, g) -> list:
        """A structural operation's adjoints: its vjp (sample by sample when they are carried)."""
        values, carried = self.values, self.carried
        args = [values[a] for a in step.args]
        entry = STRUCTURAL[step.op]
        if carried is None:
            return entry.vjp(g, values[i], args, step.params)
        return batch.structural_vjp(entry, g, values[i], carried[i], args, [carried[a] for a in step.args],
                                    step.params, self.arithmetic.exact)

    def into(self, a: int, g, at: tuple) -> None:
        """An indexed entry's gradient, added in place: W1[j, k] used a hundred times is one array
        of W1's shape, not a hundred (the `index` entry's vjp, done without its zeros)."""
        if not self.flows[a]:
            return
        adjoint, memo, carried = self.adjoint, self.memo, self.carried
        many = carried is not None  # a carried adjoint: one gradient per sample
        if a not in self.owned:
            key = ("zeros", a, many and not carried[a])
            blank = None if memo is None else memo.get(key)
            if blank is None:
                blank = zeros(np.asarray(self.values[a]))
                if key[2]:  # a given array's gradient, one per sample
                    blank = batch.stacked([blank] * len(g), blank.dtype == object)
                if memo is not None:
                    memo[key] = blank
            fresh = blank.copy()  # (exact zeros are immutable numbers: a copy of the array is enough)
            adjoint[a] = fresh if adjoint[a] is None else fresh + adjoint[a]
            self.owned.add(a)
        where = ((slice(None),) if many else ()) + tuple(int(i) for i in at)
        g = np.asarray(g)
        adjoint[a][where] = adjoint[a][where] + (g.item() if g.ndim == 0 else g)


def _times(g, p):
    """g times one local partial derivative. A partial that is the number 1 or -1 itself, not an
    array (the exact engine's partials of +, - and a copy), leaves g as it is or negates it: the
    same exact numbers, without a multiplication of large rationals per entry."""
    if not isinstance(p, np.ndarray) and (p == 1 or p == -1):
        return g if p == 1 else -g
    return g * p


def gradient(tape: Tape, values: list, arithmetic, of: str) -> dict:
    """d(of)/d(every named value) for a scalar `of`."""
    seed = arithmetic.one(values[tape.at[of]])
    adjoint = backward(tape, values, arithmetic, tape.at[of], seed)
    return {name: adjoint[i] for name, i in tape.at.items() if adjoint[i] is not None}


def jacobian(tape: Tape, values: list, arithmetic, of: str, wrt: str):
    """d(of)/d(wrt) in numerator layout: (size of, size wrt) as a 2-D array.

    Two shapes of node cost no more than one pass: `of` elementwise in `wrt`
    (the diagonal is one backward pass of ones) and `of` = M @ wrt (+ c), whose
    Jacobian is M. Otherwise one backward pass per entry of `of`.
    """
    top, bottom = values[tape.at[of]], values[tape.at[wrt]]
    size_top, size_bottom = int(np.size(top)), int(np.size(bottom))
    vectors = 1 in (np.shape(top) or (1,)) and 1 in (np.shape(bottom) or (1,)) or np.ndim(bottom) == 1
    linear = _linear_factor(tape, of, wrt) if vectors else None
    if linear is not None:
        return np.asarray(values[linear]).reshape(size_top, size_bottom)
    if _elementwise_in(tape, tape.at[of], tape.at[wrt]) and np.shape(top) == np.shape(bottom):
        return arithmetic.diag(diagonal(tape, values, arithmetic, of, wrt))
    rows = []
    for k in range(size_top):
        seed = arithmetic.one_hot(top, k)
        grad = backward(tape, values, arithmetic, tape.at[of], seed, wanted=(tape.at[wrt],))[tape.at[wrt]]
        rows.append(arithmetic.zeros(size_bottom) if grad is None else np.asarray(grad).reshape(-1))
    return np.stack(rows)


def diagonal(tape: Tape, values: list, arithmetic, of: str, wrt: str):
    """The diagonal of d(of)/d(wrt) for `of` elementwise in `wrt` (one backward pass of ones), flat."""
    seed = arithmetic.one(values[tape.at[of]])
    slope = backward(tape, values, arithmetic, tape.at[of], seed, wanted=(tape.at[wrt],))[tape.at[wrt]]
    return np.asarray(slope).reshape(-1)


def _linear_factor(tape: Tape, of: str, wrt: str) -> int | None:
    """The step holding M when `of` is M @ wrt or M @ wrt + c (M, c free of wrt)."""
    target, steps, ancestors = tape.at[wrt], tape.steps, tape.ancestors()
    root = steps[tape.at[of]]
    if root.op == "add" and target not in ancestors[root.args[1]]:
        root = steps[root.args[0]]
    if root.op == "matmul" and root.args[1] == target and target not in ancestors[root.args[0]]:
        return root.args[0]
    return None


def _elementwise_in(tape: Tape, top: int, bottom: int) -> bool:
    """Whether step `top` is computed from step `bottom` by elementwise functions only."""
    stack, seen = [top], set()
    ancestors = tape.ancestors()
    while stack:
        i = stack.pop()
        if i == bottom or i in seen or bottom not in ancestors[i]:
            continue
        seen.add(i)
        if tape.steps[i].op not in FUNCTIONS:
            return False
        stack.extend(tape.steps[i].args)
    return True
