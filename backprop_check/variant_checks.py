"""Whether a drawn variant is fit to hand out (`variants` redraws until one is).

A variant is rejected, with a short reason, when
- with `avoid_kinks: d`, the argument of a kinked function (relu, leaky_relu,
  step, abs, a hinge's max, a graph node's own relu or max, …) lies within d of
  its kink (|argument − kink| ≤ d; for max(a, b), |a − b| ≤ d), on any sample:
  finite differences and students' hand arithmetic are fragile there;
- it is degenerate where the instructor's own numbers are not: a layer whose
  output is 0 for every unit and sample (a dead ReLU layer), or a parameter
  (a graph's input) whose whole gradient is 0;
- a value is outside the loss's domain or float64's range (the log of 0, a
  sigmoid that rounds to 1 under bce, an overflow), or the exact engine stops.

The kinks, layers and gradients are judged on the exact engine's values
(rationals; a transcendental value at 45 digits), so that the verdict, and so
the variant a student gets, is the same on every machine; the float64 pass
only checks that the numpy engine can compute the variant.
"""

from __future__ import annotations

import numpy as np

from . import network
from .engines import Case
from .engines.autodiff import forward, gradient
from .engines.floats import Floats
from .engines.rationals import Rationals, rational
from .ops import FUNCTIONS

HUGE = 10 ** 300  # past this an exact value has no float64


def baseline(problem) -> dict:
    """What the instructor's own numbers already have: dead layers and zero gradients are not
    held against a variant when the template has them too."""
    try:
        return _profile(problem)[1]
    except (ArithmeticError, ValueError, OverflowError):
        return {"dead": set(), "still": set()}


def rejection(problem, avoid_kinks, base: dict) -> str | None:
    """Why this variant is not fit to hand out, or None."""
    try:
        passes, found = _profile(problem)
    except (ArithmeticError, ValueError, OverflowError) as exc:
        return f"a value is undefined or too large ({str(exc) or type(exc).__name__})"
    if avoid_kinks is not None:
        for tape, values in passes:
            near = _near_kink(tape, values, rational(avoid_kinks))
            if near:
                return f"a kinked function in {near} has its argument within avoid_kinks of its kink"
    for what, label in (("dead", "{} outputs 0 for every unit and sample (a dead layer)"),
                        ("still", "the gradient {} is 0 everywhere")):
        fresh = sorted(found[what] - base[what])
        if fresh:
            return label.format(fresh[0])
    return _float_trouble(problem)


def _profile(problem) -> tuple[list, dict]:
    """([(tape, exact values) per pass], {"dead": layers, "still": zero gradients})."""
    if getattr(problem, "graph", None) is not None:
        return _graph_profile(problem)
    case = Case(problem.layers, problem.params, problem.x, problem.y, problem.loss)
    arithmetic = Rationals()
    tape = network.tape_of(case)
    values = forward(tape, arithmetic, {n: arithmetic.input(v) for n, v in network.graph_of_inputs(case).items()})
    grads = gradient(tape, values, arithmetic, "loss")
    _require_bounded(values)
    dead = {f"layer {l} (z{2 * l})" for l in range(1, len(problem.layers) + 1)
            if _zero(values[tape.at[f"z{2 * l}"]])}
    still = {f"dl/d{p}" for p in problem.params if p not in grads or _zero(grads[p])}
    return [(tape, values)], {"dead": dead, "still": still}


def _graph_profile(problem) -> tuple[list, dict]:
    from .graph_solve import Run

    run = Run(problem, Rationals())
    passes = [(run.tape, run.values(n)) for n in run.samples]
    for _, values in passes:
        _require_bounded(values)
    output = problem.graph.output
    still = set()
    if np.ndim(run.value(output, run.samples[0])) == 0:
        still = {f"d{output}/d{x}" for x in problem.graph.inputs if _zero(run.quantity(f"d{output}/d{x}"))}
    return passes, {"dead": set(), "still": still}


def _near_kink(tape, values: list, distance) -> str | None:
    """The node holding a kinked function whose argument is within `distance` of a kink, or None."""
    for i, step in enumerate(tape.steps):
        f = FUNCTIONS.get(step.op)
        if f is None or not f.kinks or not step.args:
            continue
        if step.op == "max":
            gaps = [_abs(np.asarray(values[step.args[0]], dtype=object) - values[step.args[1]])]
        else:
            gaps = [_abs(np.asarray(values[step.args[0]], dtype=object) - rational(k)) for k in f.kinks]
        if any(np.any(gap <= distance) for gap in gaps):
            return _node_of(tape, i)
    return None


def _node_of(tape, i: int) -> str:
    """The named value whose expression holds step i (the first named step from i on)."""
    named = sorted((at, name) for name, at in tape.at.items() if at >= i)
    return named[0][1] if named else "the graph"


def _abs(a):
    return np.vectorize(abs, otypes=[object])(a) if isinstance(a, np.ndarray) else abs(a)


def _zero(value) -> bool:
    return value is None or not np.any(np.asarray(value, dtype=object) != 0)


def _require_bounded(values: list) -> None:
    for v in values:
        a = np.asarray(v, dtype=object)
        if a.size and np.any(_abs(a) > HUGE):
            raise OverflowError("beyond float64's range")


def _float_trouble(problem) -> str | None:
    """The numpy engine's view: every value and gradient finite (a sigmoid of 40 is 1.0 in float64)."""
    with np.errstate(all="ignore"):
        if getattr(problem, "graph", None) is not None:
            from .graph_solve import Run

            run = Run(problem, Floats())
            arrays = [v for n in run.samples for v in run.values(n)]
            output = problem.graph.output
            if np.ndim(run.value(output, run.samples[0])) == 0:
                arrays += [run.quantity(f"d{output}/d{x}") for x in problem.graph.inputs]
        else:
            from .engines import numeric

            case = Case(problem.layers, problem.params, problem.x, problem.y, problem.loss)
            arrays = list(numeric.run(case).values())
            if problem.lr is not None:
                arrays += list(numeric.train(case, problem.lr, problem.steps, optimizer=problem.optimizer).values())
    for v in arrays:
        if not np.all(np.isfinite(np.asarray(v, dtype=float))):
            return "a value is outside the loss's domain or float64's range in the numpy engine"
    return None
