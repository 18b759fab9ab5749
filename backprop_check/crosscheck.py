"""Hold the engines to each other, to finite differences and to the formulas.

Three independent checks on every solve:
1. the sympy and numpy engines agree on every entry of every quantity, to a
   relative 1e-9 (with a floor of 1e-12 × the quantity's largest entry plus
   1e-14, so an entry that cancels to ~0 in float64 is not a false alarm), or,
   for an entry that float64 itself cannot compute that closely (a deep
   net's gradient, summed through cancelling layers), to within ROUNDING ×
   its rounding spread: how far the numpy engine's value moves when its
   roundings are made random at the sizes the magnitudes it combined allow
   (`engines.jitter`; the exact engine is the reference);
2. central finite differences of the numpy loss agree with the parameter
   gradients: every entry of a hand-sized parameter, an even sample of 128
   entries of a large one; an entry whose perturbation moves a pre-activation
   across a ReLU-like kink is skipped and counted;
3. each quantity's solution-sheet formula, evaluated with numpy on the
   engines' values, reproduces the quantity.
Any disagreement raises EngineDisagreement: it is a bug in bpcheck.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import formulas as F
from . import network
from .engines import Case
from .engines.autodiff import forward
from .engines.floats import Floats, kink_pattern, kink_steps
from .errors import EngineDisagreement
from .graph import Tape

RTOL = 1e-9
FLOOR = 1e-12
FLOOR_ABS = 1e-14  # an exact 0 that float64 computes as 1e-17 by cancellation
# × an entry's rounding spread (engines.jitter). The spread is an estimate from a few random
# passes, not a bound: measured over deep nets, float64's real error is at most 0.25 of it, so
# 10 leaves a margin; a wrong derivative moves a well-conditioned entry 1e5 spreads or more.
ROUNDING = 10.0
FD_RTOL = 1e-5
FD_FLOOR = 1e-12  # a perfect fit: loss and gradients ~0, where only rounding is left
FD_STEPS = (1e-6, 1e-8, 1e-10)  # relative steps, the first the usual one
FD_MAX_ENTRIES = 128  # per parameter; hand-sized problems are checked entirely
# Entries in all, shared among the parameters (at least FD_MIN_ENTRIES each): each costs two
# float64 passes, and a 16-layer net's 32 parameters at 128 each took 2.9 s of a 9 s solve. Every
# entry of every gradient is also held to the exact engine's; these are the spot checks of both.
FD_MAX_TOTAL = 1024
FD_MIN_ENTRIES = 16


@dataclass
class Report:
    compared: int = 0  # entries compared between the engines
    fd_checked: int = 0
    fd_skipped: int = 0  # parameter entries next to a kink
    formulas_checked: int = 0


def close(a: np.ndarray, b: np.ndarray, rtol: float | None = None) -> np.ndarray:
    rtol = RTOL if rtol is None else rtol  # read at call time, so that tests can tighten it
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size == 1 and a.shape == b.shape:
        # one number (most quantities of a scalar graph): the same float64 operations, in
        # Python floats, at a tenth of numpy's cost per call (NaN compares False either way)
        x, y = abs(float(a.flat[0])), abs(float(b.flat[0]))
        big = max(x, y)
        near = abs(float(a.flat[0]) - float(b.flat[0])) <= rtol * big + (FLOOR_ABS + FLOOR * big)
        return np.full(a.shape, near)
    floor = FLOOR_ABS + FLOOR * max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)) + floor


def compare_engines(exact: dict, fast: dict, report: Report, rounding=None) -> None:
    """`exact`: name -> float arrays from the sympy engine; `fast`: numpy's.

    `rounding(name)`: the numpy engine's rounding spread of that quantity, entry by entry
    (`engines.numeric.Rounding`), or None where it has none; asked only about a quantity
    that fails the plain relative test."""
    pending: list = []  # one-number quantities, compared together (a large graph has 14,000)
    for name, value in exact.items():
        if name not in fast:
            _engines_agree(pending, report, rounding)
            raise EngineDisagreement(f"{name}: the numpy engine did not compute it")
        a, b = np.asarray(value, float), np.asarray(fast[name], float)
        if a.size == 1 and a.shape == b.shape:
            pending.append((name, a, b))
            continue
        _engines_agree(pending, report, rounding)
        _engines_agree_on(name, a, b, report, rounding)
    _engines_agree(pending, report, rounding)


def _engines_agree(pending: list, report: Report, rounding) -> None:
    """The pending one-number quantities, by `close`'s rule for one number, all in one numpy
    operation (the same float64 operations); one that is not plainly close is judged alone."""
    if not pending:
        return
    near = _near([a.item() for _, a, _ in pending], [b.item() for _, _, b in pending], RTOL)
    for (name, a, b), ok in zip(pending, near.tolist()):
        if ok:
            report.compared += 1
        else:
            _engines_agree_on(name, a, b, report, rounding)
    pending.clear()


def _near(x: list, y: list, rtol: float) -> np.ndarray:
    """close() of many single numbers: |x − y| ≤ rtol·big + (FLOOR_ABS + FLOOR·big), big = max(|x|, |y|)."""
    x, y = np.array(x, dtype=float), np.array(y, dtype=float)
    big = np.maximum(np.abs(x), np.abs(y))
    return np.abs(x - y) <= rtol * big + (FLOOR_ABS + FLOOR * big)


def _engines_agree_on(name: str, a: np.ndarray, b: np.ndarray, report: Report, rounding=None) -> None:
    if a.shape != b.shape:
        raise EngineDisagreement(f"{name}: sympy gives shape {a.shape}, numpy {b.shape}")
    ok = close(a, b)
    spread = None
    if not ok.all() and rounding is not None:
        spread = rounding(name)
        if spread is not None:  # what float64 cannot compute more closely than this is not a bug
            spread = np.asarray(spread, float).reshape(a.shape)
            ok |= np.isfinite(spread) & (np.abs(a - b) <= ROUNDING * spread)  # an overflowing pass excuses nothing
    if not ok.all():
        i = tuple(int(k) for k in np.argwhere(~ok)[0])
        rounding_note = "" if spread is None else f" (float64's rounding moves it by {float(spread[i]):.3g})"
        raise EngineDisagreement(
            f"{name}{list(i)}: the sympy engine gives {float(a[i])!r}, the numpy engine {float(b[i])!r}{rounding_note}")
    report.compared += a.size


def _entries(shape: tuple, rng, limit: int) -> list:
    """Every entry of a parameter of at most `limit`; an even sample of `limit` of a larger one."""
    size = int(np.prod(shape, dtype=np.int64))
    if size <= limit:
        return list(np.ndindex(shape))
    picks = rng.choice(size, size=limit, replace=False)  # (a list of every index: 0.1 s for a deep net)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in sorted(picks)]


def finite_differences(case: Case, grads: dict, report: Report) -> None:
    """Central differences of the numpy loss against every parameter gradient."""
    inputs = {name: Floats().input(v) for name, v in network.graph_of_inputs(case).items()}
    held = {p: np.asarray(grads[f"dl/d{p}"], float) for p in case.params}
    graph_differences(network.tape_of(case), inputs, held, "loss", report, lambda p: f"dl/d{p}")


def graph_differences(tape: Tape, inputs: dict, grads: dict, output: str, report: Report, label,
                      base_values: list | None = None) -> None:
    """Central differences of `output` against d output / d input for each input in `grads`.

    An entry whose perturbation moves a function's argument across a kink is
    skipped and counted: the one-sided slopes differ there.
    `base_values`: the float forward pass at `inputs`, when the caller has it.
    """
    arithmetic = Floats()
    if base_values is None:
        base_values = forward(tape, arithmetic, inputs)
    base = kink_pattern(tape, base_values)
    loss = float(base_values[tape.at[output]])
    biggest = max((float(np.max(np.abs(g))) for g in grads.values() if np.size(g)), default=0.0)
    rng = np.random.default_rng(0)
    limit = max(FD_MIN_ENTRIES, min(FD_MAX_ENTRIES, FD_MAX_TOTAL // max(1, len(grads))))
    for name, grad in grads.items():
        value = np.asarray(inputs[name], dtype=float)
        for index in _entries(value.shape, rng, limit):
            tol = FD_RTOL * abs(grad[index]) + 1e-7 * (biggest + abs(loss)) + FD_FLOOR
            fd = None
            # A steep function (sigmoid(1e5·z)) needs a smaller step than 1e-6 before its
            # curvature stops dominating the difference: try smaller ones before crying bug.
            for step in FD_STEPS:
                fd = _central(tape, arithmetic, inputs, name, value, index, step, output, base, base_values)
                if fd is None or abs(fd - grad[index]) <= tol:
                    break
            if fd is None:
                report.fd_skipped += 1
                continue
            if abs(fd - grad[index]) > tol:
                raise EngineDisagreement(
                    f"{label(name)}{list(index)}: backprop gives {grad[index]!r}, "
                    f"central finite differences {fd!r}")
            report.fd_checked += 1


def sample_differences(tape: Tape, inputs: dict, grads: dict, output: str, report: Report, label,
                       base_values: list, carried: list | None) -> None:
    """Central differences of a graph's scalar output along one random direction per input (a
    scalar input: its one entry), held to ⟨gradient, direction⟩, on every sample at once.

    `inputs`, `base_values`, `carried`: the float engine's pass over all samples
    (`Run.all_samples`; `carried` None without data); `grads`: input -> its
    gradient on each sample, in a list; `label(x, n)`: the name of sample n's.
    A sample whose perturbation moves a function's argument across a kink is
    skipped and counted: the one-sided slopes differ there.
    """
    arithmetic, at = Floats(), tape.at[output]
    count = len(next(iter(grads.values())))
    base, steps = kink_pattern(tape, base_values, carried), kink_steps(tape)
    loss = _per_sample(base_values[at], count)
    biggest = np.array([max((float(np.max(np.abs(g[n]))) for g in grads.values() if np.size(g[n])), default=0.0)
                        for n in range(count)])
    rng = np.random.default_rng(0)
    for name, per_sample in grads.items():
        value = np.asarray(inputs[name], dtype=float)
        u = 1.0
        if value.ndim:
            u = rng.normal(size=value.shape)
            u /= np.linalg.norm(u)
        want = np.array([float(np.sum(g * u)) for g in per_sample])
        tol = FD_RTOL * np.abs(want) + 1e-7 * (biggest + np.abs(loss)) + FD_FLOOR
        left = np.ones(count, dtype=bool)  # the samples not yet checked or skipped
        for step in FD_STEPS:
            # a steep function (sigmoid(1e5·z)) needs a smaller step before its curvature stops
            # dominating the difference: a sample that disagrees tries the smaller ones
            h = step * max(1.0, float(np.max(np.abs(value))))
            ends, crossed = [], np.zeros(count, dtype=bool)
            for sign in (1.0, -1.0):
                after = forward(tape, arithmetic, {**inputs, name: value + sign * h * u},
                                _moved(tape, name, base_values), carried)
                crossed |= _crossed(kink_pattern(tape, after, carried), base, steps, carried, count)
                ends.append(_per_sample(after[at], count))
            report.fd_skipped += int(np.sum(left & crossed))
            fd = (ends[0] - ends[1]) / (2 * h)
            agree = left & ~crossed & (np.abs(fd - want) <= tol)
            report.fd_checked += int(np.sum(agree))
            left &= ~(crossed | agree)
            if not left.any():
                break
        if left.any():
            n = int(np.argmax(left))
            along = " along a random direction" if value.ndim else ""
            raise EngineDisagreement(f"{label(name, n)}{along}: backprop gives {float(want[n])!r}, "
                                     f"central finite differences {float(fd[n])!r}")


def _per_sample(value, count: int) -> np.ndarray:
    """A scalar step's value on each sample (one value, the same on every sample, if not carried)."""
    return np.broadcast_to(np.asarray(value, dtype=float), (count,))


def _crossed(after: tuple, base: tuple, steps: list, carried: list | None, count: int) -> np.ndarray:
    """Per sample: whether any kink pattern entry changed (on every sample for a step without data)."""
    out = np.zeros(count, dtype=bool)
    for a, b, i in zip(after, base, steps):
        changed = np.asarray(a != b)
        if carried is not None and carried[i]:
            out |= changed.reshape(count, -1).any(axis=1)
        elif changed.any():
            out[:] = True
    return out


def _moved(tape: Tape, name: str, base_values: list) -> tuple:
    """What `forward` keeps when input `name` moves: the base pass, and the steps to compute again."""
    return base_values, tape.computed_from((tape.at[name],))


def _central(tape: Tape, arithmetic, inputs: dict, name: str, value, index, step: float, output: str, base,
             base_values: list):
    """The central difference of `output` in one entry, or None when the step crosses a kink."""
    h = step * max(1.0, abs(value[index]))
    values = []
    for sign in (1.0, -1.0):
        moved = value.copy()
        moved[index] += sign * h
        after = forward(tape, arithmetic, {**inputs, name: moved}, _moved(tape, name, base_values))
        if base and any(np.any(a != b) for a, b in zip(kink_pattern(tape, after), base)):  # (no kinks: none crossed)
            return None
        values.append(float(after[tape.at[output]]))
    return (values[0] - values[1]) / (2 * h)


FORMULA_ROUNDING = 1e-12  # × the size of a formula's terms (float64 is 2.2e-16; a formula does many steps)


def magnitude(node: F.Node, env: dict):
    """The size of the terms a formula sums (differences count as sums), for its rounding error."""
    m = lambda n: magnitude(n, env)  # noqa: E731
    with np.errstate(all="ignore"):
        if isinstance(node, F.Bin) and node.op in "+-":
            return np.abs(m(node.left)) + np.abs(m(node.right))
        if isinstance(node, F.Bin) and node.op == "*":
            return m(node.left) * m(node.right)
        if isinstance(node, F.Bin) and node.op == "@":
            return np.matmul(m(node.left), m(node.right))
        if isinstance(node, F.Bin) and node.op == "/":
            return m(node.left) / np.abs(F.evaluate(node.right, env))
        if isinstance(node, (F.Neg, F.T)):
            inner = m(node.arg)
            return np.asarray(inner).T if isinstance(node, F.T) else inner
        if isinstance(node, F.Call) and node.fn == "diag":
            inner = np.abs(np.asarray(m(node.args[0]), float))
            return np.diag(inner.reshape(-1)) if inner.ndim < 2 or 1 in inner.shape else np.diag(inner)
        if isinstance(node, F.Call) and node.fn in ("sum", "mean"):
            reduce = np.sum if node.fn == "sum" else np.mean
            inner = np.abs(m(node.args[0]))
            if len(node.args) == 1:
                return reduce(inner)
            return reduce(inner, axis=int(F.evaluate(node.args[1], env)), keepdims=True)
        return np.abs(F.evaluate(node, env))


def check_formulas(formulas: dict, env: dict, values: dict, report: Report, evaluated: dict | None = None) -> None:
    """Evaluate each formula on the true values; it must give the quantity.
    `evaluated`: name -> the formula's value in `env`, where the caller has evaluated it already."""
    pending: list = []  # one-number formulas, compared together (a large graph has 12,000)
    for name in formulas:  # (a tree is taken from `formulas` only where it is needed: a graph's are made then)
        got = None if evaluated is None else evaluated.get(name)
        try:
            got = np.asarray(F.evaluate(formulas[name], env) if got is None else got, float)
        except (F.FormulaError, ValueError) as exc:
            _formulas_agree(pending, formulas, env, report)
            raise EngineDisagreement(f"{name}: the formula {F.to_code(formulas[name])} does not evaluate: {exc}") \
                from None
        want = np.asarray(values[name], float)
        if got.size == 1 and want.size == 1:
            pending.append((name, got, want))
            continue
        _formulas_agree(pending, formulas, env, report)
        _formula_agrees(name, formulas[name], got, want, env, report)
    _formulas_agree(pending, formulas, env, report)


def _formulas_agree(pending: list, formulas: dict, env: dict, report: Report) -> None:
    """The pending one-number formulas by `close` at 1e-8 in one numpy operation; one that is not
    plainly close is judged alone (its rounding allowance), in order."""
    if not pending:
        return
    near = _near([got.item() for _, got, _ in pending], [want.item() for _, _, want in pending], 1e-8)
    for (name, got, want), ok in zip(pending, near.tolist()):
        if ok:
            report.formulas_checked += 1
        else:
            _formula_agrees(name, formulas[name], got, want, env, report)
    pending.clear()


def _formula_agrees(name: str, node: F.Node, got: np.ndarray, want: np.ndarray, env: dict, report: Report) -> None:
    if got.size != want.size:
        raise EngineDisagreement(f"{name}: the formula {F.to_code(node)} gives {got.tolist()}, "
                                 f"the engines {want.tolist()}")
    got = got.reshape(want.shape)
    near = close(got, want, 1e-8)
    if not near.all():
        # float64 loses what cancels: 1 − tanh²(20) is 0 although sech²(20) is 4e-18;
        # the rounding of a formula is allowed in proportion to the size of its terms.
        rounding = FORMULA_ROUNDING * np.asarray(magnitude(node, env), float).reshape(want.shape)
        near = near | (np.abs(got - want) <= rounding)
    if not near.all():
        raise EngineDisagreement(f"{name}: the formula {F.to_code(node)} gives {got.tolist()}, "
                                 f"the engines {want.tolist()}")
    report.formulas_checked += 1
