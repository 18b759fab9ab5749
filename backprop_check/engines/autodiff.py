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


def forward(tape: Tape, arithmetic, inputs: dict, base: tuple | None = None) -> list:
    """The value of every step; `inputs` binds each input name to its value.

    `base`: (the values of an earlier pass, which steps to compute again):
    finite differences move one input, and the steps not computed from it
    keep their values, the same numbers a full pass would give them.
    """
    values: list = []
    memo: dict = {}  # the arithmetic's own notes for this pass
    function = arithmetic.function
    kinked = arithmetic.kinked(tape)  # the steps whose values `settle` may put on a kink
    with arithmetic.quiet():
        for i, (kind, entry, at, params) in enumerate(tape.plan()):
            if base is not None and not base[1][i]:
                values.append(base[0][i])
                continue
            if kind == "function":
                value = function(entry, [values[a] for a in at], params)
            elif kind == "input":
                value = inputs[entry]
            elif kind == "constant":
                value = arithmetic.constant(entry, params)
            else:
                value = entry.forward(arithmetic, *[values[a] for a in at], *params)
            values.append(arithmetic.settle(tape, i, value, values, memo) if i in kinked else value)
    return values


def backward(tape: Tape, values: list, arithmetic, seed_at: int, seed, cuts: dict | None = None,
             wanted: tuple = (), memo: dict | None = None) -> list:
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
    """
    flows = tape.live() if not wanted else tape.computed_from(wanted, seed_at)
    adjoint: list = [None] * len(tape.steps)
    owned: set = set()  # adjoints created here, safe to add into in place
    adjoint[seed_at] = seed
    for i in tape.below(seed_at, min(wanted, default=0)):  # only what the seed is computed from, newest first
        g, step = adjoint[i], tape.steps[i]
        if g is None or not step.args:
            continue
        if step.op == "index" and not (cuts and i in cuts):
            _into(adjoint, owned, step.args[0], g, step.params, values, flows, memo)
            continue
        args = [values[a] for a in step.args]
        if cuts and i in cuts:
            target, slope = cuts[i]
            targets, grads = (target,), (unbroadcast(g * slope, np.shape(values[target])),)
        elif step.op in FUNCTIONS:
            local = None if memo is None else memo.get(i)
            if local is None:
                local = arithmetic.partials(FUNCTIONS[step.op], args, step.params)
                if memo is not None:
                    memo[i] = local
            targets = step.args  # (a value's shape: np.shape's, without its cost per step)
            grads = [unbroadcast(g * p, getattr(a, "shape", ())) if flows[t] else None
                     for p, a, t in zip(local, args, targets)]
        else:
            targets = step.args
            grads = STRUCTURAL[step.op].vjp(g, values[i], args, step.params)
        for a, grad in zip(targets, grads):
            if flows[a] and grad is not None:
                adjoint[a] = grad if adjoint[a] is None else adjoint[a] + grad
                owned.discard(a)
    return adjoint


def _into(adjoint: list, owned: set, a: int, g, at: tuple, values: list, flows: list, memo: dict | None) -> None:
    """An indexed entry's gradient, added in place: W1[j, k] used a hundred times is one array
    of W1's shape, not a hundred (the `index` entry's vjp, done without its zeros)."""
    if not flows[a]:
        return
    if a not in owned:
        blank = None if memo is None else memo.get(("zeros", a))
        if blank is None:
            blank = zeros(np.asarray(values[a]))
            if memo is not None:
                memo[("zeros", a)] = blank
        fresh = blank.copy()  # (exact zeros are immutable numbers: a copy of the array is enough)
        adjoint[a] = fresh if adjoint[a] is None else fresh + adjoint[a]
        owned.add(a)
    where = tuple(int(i) for i in at)
    g = np.asarray(g)
    adjoint[a][where] = adjoint[a][where] + (g.item() if g.ndim == 0 else g)


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
        seed = arithmetic.one(top)
        diagonal = backward(tape, values, arithmetic, tape.at[of], seed, wanted=(tape.at[wrt],))[tape.at[wrt]]
        return arithmetic.diag(np.asarray(diagonal).reshape(-1))
    rows = []
    for k in range(size_top):
        seed = arithmetic.one_hot(top, k)
        grad = backward(tape, values, arithmetic, tape.at[of], seed, wanted=(tape.at[wrt],))[tape.at[wrt]]
        rows.append(arithmetic.zeros(size_bottom) if grad is None else np.asarray(grad).reshape(-1))
    return np.stack(rows)


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
