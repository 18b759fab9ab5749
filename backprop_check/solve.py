"""Solve a problem: run both engines, cross-check them, present the results.

The result is a `Solution`: an ordered mapping of quantity name to `Entry`,
each with its float64 value in the user's shapes (the layout of the spec,
flat vectors for a single sample written flat, flat biases), a precise value
(an exact fraction or decimal where the problem is exact, 30 significant
digits otherwise), and its formulas. Internally everything is columns layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from . import derivation, network
from .kept import ByIdentity
from . import formulas as F
from .crosscheck import Report, check_formulas, compare_engines, finite_differences
from .engines import Case, numeric
from .errors import EngineDisagreement, InputError
from .jacobians import Diagonal
from .quantities import all_names, base_names, group_of, parts, state_of
from .spec import Problem

PRECISE_DIGITS = 30


@dataclass
class Entry:
    name: str
    group: str
    value: object  # float or nested lists of float, in the user's shapes
    shape: tuple
    _formula: F.Node | None = None  # `formula`
    expanded: F.Node | None = None
    _exact: object = None  # the sympy engine's value (QQ), for `precise`
    _problem: object = None
    _precise: object = None
    _make_precise: object = None  # how to write `precise` when the network's way does not apply
    _sheet: object = None  # a graph's formulas (`sample_formulas.Sheet`): `formula` made from it when asked for

    @property
    def formula(self) -> F.Node | None:
        if self._sheet is not None:
            self._formula, self._sheet = self._sheet.get(self.name), None
        return self._formula

    @formula.setter
    def formula(self, tree: F.Node | None) -> None:
        self._formula, self._sheet = tree, None

    def written(self, render, *args) -> str | None:
        """`render(formula, *args)` with one of `formula_render`'s functions (None: no formula);
        a graph's per-sample formula is rendered once for every sample (`sample_formulas.Sheet.written`)."""
        if self._sheet is not None:
            return self._sheet.written(self.name, render, *args)
        return None if self.formula is None else render(self.formula, *args)

    @property
    def precise(self):
        """The value as strings: exact decimals or fractions, else 30 digits (made on demand)."""
        if self._precise is None and self._make_precise is not None:
            self._precise = self._make_precise()
        if self._precise is None:
            single = self.name.startswith("sample")
            self._precise = _present(self.name, _precise(self._exact, self._problem.exact), self._problem, single)
        return self._precise


@dataclass
class Solution:
    problem: Problem
    entries: dict = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    env: dict = field(default_factory=dict)  # float64 values in formula shapes, for grading
    variants: dict = field(default_factory=dict)  # diagnosis: mistaken re-solves, shared by a class
    exact: bool = False  # the sympy engine's values are exact rationals (not rounded at 45 digits)

    def array(self, name: str) -> np.ndarray:
        """The value as a float array (cached: grading asks for it often; do not modify)."""
        cached = self.variants.get(("array", name))
        if cached is None:
            cached = self.variants[("array", name)] = np.asarray(self.entries[name].value, dtype=float)
        return cached


def case_of(problem: Problem) -> Case:
    return Case(problem.layers, problem.params, problem.x, problem.y, problem.loss)


def requested_samples(problem: Problem) -> set[int]:
    """Sample numbers (1-based) that the questions ask about."""
    return {k for kind, k, _ in map(parts, (q.quantity for q in problem.questions)) if kind == "sample"}


def solve(problem: Problem, samples: set[int] | None = None, check: bool = True, exact: bool = True) -> Solution:
    """Every quantity of `problem` (plus the given samples), cross-checked.

    `exact=False` (grading) runs the numpy engine alone: no sympy is imported, values are float64,
    and the checks that need no sympy still run (finite differences, the formulas); `solve` runs
    both engines and holds them to each other (the README: "How correctness is checked").
    """
    if getattr(problem, "graph", None) is not None:
        from .graph_solve import solve_graph  # a computation-graph problem (FORMAT.md section 5)

        return solve_graph(problem, samples, check, exact)
    case = case_of(problem)
    single = problem.n_samples == 1
    solution = Solution(problem, exact=problem.exact and exact)
    precise = _exact_values(case, problem, single) if exact else None
    with np.errstate(all="ignore"):  # overflow is reported just below, as bad input
        fast = numeric.run(case, jacobians=single)
        if problem.lr is not None:
            fast.update(numeric.train(case, problem.lr, problem.steps, first=fast,
                                      optimizer=problem.optimizer))
    _require_finite(fast, problem)
    if precise is None and _kink_sensitive(problem, case, fast):  # grading: only exact values can tell
        return solve(problem, samples, check, exact=True)
    if check:
        if precise is not None:
            _compare(problem, {k: _floats(v) for k, v in precise.items()}, fast, solution.report)
        finite_differences(case, fast, solution.report)
    widths = tuple(len(problem.params[l.weight]) for l in problem.layers)
    one = derivation.one_step(problem.layers, problem.loss, problem.rows, single, single, widths)
    if problem.lr is not None:
        one.update(derivation.step_formulas(problem.layers, problem.lr, problem.optimizer))
    solution.variants[("formulas", None)] = one  # formula grading evaluates the same trees
    solution.env = _environment(problem, fast)
    if check:
        values = {k: _present(k, v, problem, False, for_env=True) for k, v in fast.items()}
        check_formulas(one, solution.env, values, solution.report)
    wide = derivation.expanded(one, problem.structure)
    values = precise if precise is not None else fast
    for name in all_names(problem.structure):
        solution.entries[name] = _entry(name, values[name], problem, False, one.get(name), wide.get(name))
    wanted = sorted((samples or set()) | requested_samples(problem))
    _check_sample_work(problem, len(wanted))
    for n in wanted:
        _add_sample(solution, case, n, check, exact)
    return solution


def _kink_sensitive(problem: Problem, case: Case, fast: dict) -> bool:
    """Whether the float64 key could sit on the wrong side of a kink: a custom activation or loss
    whose kinks bpcheck cannot place, or a kinked argument on or next to its kink in the first
    pass or a training step's (`floats.near_kink`). Grading then solves with both engines, as
    `solve` does, so that it refuses (or grades by) what the exact engine finds."""
    from .engines.autodiff import forward
    from .engines.floats import Floats, near_kink

    if any(l.activation.kind.kinks_unknown for l in problem.layers) or problem.loss.kind.kinks_unknown:
        return True
    tape, floats = network.tape_of(case), Floats()
    given = {name: floats.input(v) for name, v in network.graph_of_inputs(case).items()}
    steps = problem.steps if problem.lr is not None else 0
    names = [l.weight for l in problem.layers] + [l.bias for l in problem.layers if l.bias]
    for k in range(steps + 1):
        params = {p: fast[f"step{k}.{p}"] for p in names} if k else {}
        with np.errstate(all="ignore"):
            if near_kink(tape, forward(tape, floats, {**given, **params})):
                return True
    return False


def _exact_values(case: Case, problem: Problem, single: bool) -> dict:
    """The sympy engine's values (exact rationals, or 45 digits), training steps included."""
    from .engines import symbolic

    try:
        values = symbolic.run(case, jacobians=single)
        if problem.lr is not None:
            values.update(symbolic.train(case, problem.lr, problem.steps, first=values,
                                         optimizer=problem.optimizer))
        _require_finite({k: _floats(v) for k, v in values.items()}, problem)
    except (ArithmeticError, ValueError) as exc:
        # log(0): an output of exactly 0 or 1 at 45 digits; or beyond float64's range
        raise InputError(f"the network's values leave the loss undefined or overflow float64 "
                         f"({str(exc) or type(exc).__name__}); use smaller weights, inputs or learning rate",
                         problem.file) from None
    return values


def _compare(problem: Problem, exact: dict, fast: dict, report: Report) -> None:
    try:
        compare_engines(exact, fast, report, numeric.Rounding(case_of(problem), lr=problem.lr, steps=problem.steps,
                                                              optimizer=problem.optimizer))
    except EngineDisagreement as exc:
        if any(l.activation.kind.kinks_unknown for l in problem.layers) or problem.loss.kind.kinks_unknown:
            raise InputError(f"{exc}: a value probably lies exactly on a kink of a custom activation "
                             "or loss whose kinks bpcheck cannot place (its argument is not affine "
                             "in z or y_hat); change the numbers or the formula", problem.file) from None
        raise


def _check_sample_work(problem: Problem, count: int) -> None:
    """Each sample is one more pass, with Jacobians of width² entries."""
    from .budget import MAX_WORK, work_per_pass

    widths = [len(problem.params[l.weight]) for l in problem.layers]
    per_sample = work_per_pass(problem.layers, problem.params, 1, problem.loss) + sum(w * w for w in widths)
    if count * per_sample > MAX_WORK:
        raise InputError(f"{count} samples alone need {count * per_sample:,} operations; the limit is "
                         f"{MAX_WORK:,}: ask for fewer sample quantities", problem.file)


def _require_finite(values: dict, problem: Problem) -> None:
    for name, value in values.items():
        if not np.all(np.isfinite(value)):
            raise InputError(f"{name} is beyond float64's range (or undefined); use smaller weights, "
                             "inputs or learning rate", problem.file)


def _add_sample(solution: Solution, case: Case, n: int, check: bool, exact: bool = True) -> None:
    problem = solution.problem
    if not 1 <= n <= problem.n_samples:
        return
    sub = case.sample(n - 1)
    fast = numeric.run(sub, jacobians=True)
    values = fast
    if exact:
        from .engines import symbolic

        values = symbolic.run(sub, jacobians=True)
        if check:
            compare_engines({f"sample{n}.{k}": _floats(v) for k, v in values.items()},
                            {f"sample{n}.{k}": v for k, v in fast.items()}, solution.report,
                            numeric.Rounding(sub, f"sample{n}."))
    for base in base_names(problem.structure, per_sample=True):
        name = f"sample{n}.{base}"
        solution.entries[name] = _entry(name, values[base], problem, True)


def _entry(name, value, problem, single_sample, formula=None, expanded=None) -> Entry:
    floats = _present(name, _floats(value), problem, single_sample)
    entry = Entry(name, group_of(name), floats, np.shape(floats), formula, expanded, value, problem)
    if isinstance(value, (np.ndarray, float)):  # the numpy engine's value (grading): no more precise one
        entry._make_precise = lambda: np.vectorize(repr, otypes=[object])(floats).tolist()
    return entry


# ----------------------------------------------------------------- shapes

def _kind(name: str, biases: set) -> str:
    """scalar, value (a forward value or its gradient), bias, or matrix."""
    base = parts(name)[2]
    if base == "loss":
        return "scalar"
    if not base.startswith("dl/") and re.fullmatch(r"d[^/]+/d.+", base):
        return "matrix"  # a local Jacobian
    target = base[4:] if base.startswith("dl/d") else base
    if re.fullmatch(r"z\d+|y_hat", target):
        return "value"
    state = state_of(target)  # an optimizer's state (v_b1) is shaped like its parameter
    return "bias" if target in biases or (state and state[1] in biases) else "matrix"


def present(name: str, value, problem: Problem) -> np.ndarray:
    """An engine's internal value as a float array in the user's shape."""
    single = name.startswith("sample")
    return np.asarray(_present(name, _floats(value), problem, single), dtype=float)


def _present(name: str, m, problem: Problem, single_sample: bool, for_env: bool = False):
    """Internal (columns) value -> the user's shape (nested lists or scalar).

    With `for_env` the result stays a 2-D array that broadcasts the way a
    formula expects (a bias is a column, or a row in the rows layout).
    """
    if isinstance(m, Diagonal):  # a wide diagonal Jacobian: kept as its diagonal but where a formula reads it
        return np.asarray(m) if for_env else Diagonal(np.asarray(m.diagonal).reshape(-1).tolist())
    kind = _kind(name, {l.bias for l in problem.layers if l.bias})
    arr = np.asarray(m) if isinstance(m, np.ndarray) or np.ndim(m) else m
    if kind == "scalar":
        return arr
    rows = problem.rows
    if for_env:
        return arr.T if rows and kind in ("bias", "value") else arr
    if kind == "bias" or (kind == "value" and (problem.vector or single_sample)):
        return arr.reshape(-1).tolist()
    if kind == "value" and rows:
        return arr.T.tolist()
    return arr.tolist()


_FLOATS = ByIdentity(512)  # an exact value (a DomainMatrix) -> its float64 array


def _floats(value) -> np.ndarray | float:
    if isinstance(value, Diagonal):
        return Diagonal(_floats(value.diagonal).reshape(-1))
    if hasattr(value, "to_list"):
        # each exact value is converted for the finiteness test, the engines' comparison and the
        # output: once (a DomainMatrix is not changed), and the caller gets its own copy
        return _FLOATS.get(value, _matrix_floats).copy()
    if isinstance(value, np.ndarray):
        return value
    return float(value)


def _matrix_floats(value) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in value.to_list()], dtype=float).reshape(value.shape)


MAX_EXACT_TEXT_BITS = 200  # p/q of at most ~60 digits; longer ones help nobody (and were rounded)


def _precise_scalar(v, exact: bool) -> str:
    q = Fraction(int(v.numerator), int(v.denominator))
    if exact and q.numerator.bit_length() + q.denominator.bit_length() <= MAX_EXACT_TEXT_BITS:
        return _exact_string(q)
    # 30 digits: also for a long fraction, which the sympy engine may have rounded to 45 digits
    # (symbolic.MAX_EXACT_BITS), and whose digits could pass Python's int-to-str limit
    import mpmath  # only here: grading writes no precise values, and imports no mpmath

    with mpmath.workdps(PRECISE_DIGITS + 5):
        return mpmath.nstr(mpmath.mpf(q.numerator) / q.denominator, PRECISE_DIGITS, strip_zeros=True)


def _exact_string(q: Fraction) -> str:
    """A terminating decimal when there is one (up to 40 places), else p/q."""
    return F.decimal(q, 40) or f"{q.numerator}/{q.denominator}"


def _precise(value, exact: bool):
    if isinstance(value, Diagonal):
        return Diagonal(_precise(value.diagonal, exact))
    if hasattr(value, "to_list"):
        rows = [[_precise_scalar(v, exact) for v in row] for row in value.to_list()]
        return np.array(rows, dtype=object).reshape(value.shape)
    return _precise_scalar(value, exact)


def _environment(problem: Problem, fast: dict) -> dict:
    """Names a formula may use, bound to float64 values in the user's layout."""
    env = {k: _present(k, v, problem, False, for_env=True) for k, v in fast.items()}
    rows = problem.rows
    env["x"] = numeric.array(problem.x).T if rows else numeric.array(problem.x)
    env["y"] = numeric.array(problem.y).T if rows else numeric.array(problem.y)
    for name, value in problem.params.items():
        env[name] = _present(name, numeric.array(value), problem, False, for_env=True)
    env["N"] = float(problem.n_samples)
    env["K"] = float(len(problem.y))
    return env
