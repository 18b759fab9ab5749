"""Solve a computation-graph problem (FORMAT.md section 5) with both engines.

The graph runs once per sample (once without `data:`) in each engine; every
quantity is read off those passes: values, dO/dX by one backward pass of the
output, dA/dB and dA/d(x,y) as Jacobians (`autodiff.jacobian`), reduced
over the samples where the format says so, and the training steps. Then, as
for networks, the engines are held to each other, the gradients to central
finite differences on every sample, and the formulas to their values.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import partial

import numpy as np

from . import collector, graph_sheet
from . import graph_quantities as Q
from . import optimizers
from .graph_floats import floats_of
from .crosscheck import Report, check_formulas, compare_engines, sample_differences
from .engines.autodiff import backward, forward, jacobian
from .engines.floats import Floats, kink_steps, near_kink
from .engines.jitter import Spread
from .errors import InputError
from .graph import Graph, record


_TAPES: dict = {}  # id(graph) -> (graph, data names, tape, local bottoms): the last few recorded
_TAPES_KEPT = 8


def tape_of(problem):
    """The problem's tape: its inputs, its per-sample data (as inputs too) and its nodes.

    Recorded once per graph: every Run (each training step, each random world
    of the formula checks) walks the same tape, and its cached ancestry."""
    return _recorded(problem)[0]


def _recorded(problem) -> tuple:
    """(tape, {node: the steps of the names its expression is written in}) of the problem."""
    graph, data = problem.graph, tuple(problem.data)
    hit = _TAPES.get(id(graph))
    if hit is not None and hit[0] is graph and hit[1] == data:  # the graph is held, so its id is its own
        return hit[2:]
    inputs = {**graph.inputs, **{name: values[0] for name, values in problem.data.items()}}
    tape = record(Graph(inputs, graph.nodes, graph.output))
    order = {name: i for i, name in enumerate(tape.at)}
    local = {a: tuple(sorted(tape.at[b] for b in Q.written(tree, order) if b in tape.at)) for a, tree in graph.nodes}
    if len(_TAPES) >= _TAPES_KEPT:
        del _TAPES[next(iter(_TAPES))]
    _TAPES[id(graph)] = (graph, data, tape, local)
    return tape, local


class Run:
    """One engine's passes over a graph problem: with `data:`, one forward pass over all the
    samples at once (`engines.batch`), read sample by sample; its backward passes are kept."""

    def __init__(self, problem, arithmetic, params: dict | None = None):
        self.problem = problem
        self.arithmetic = arithmetic
        self.tape, self.local = _recorded(problem)
        self.given = {name: arithmetic.input(v) for name, v in problem.graph.inputs.items()}
        self.given.update(params or {})
        self.passes: dict = {}  # sample -> its values; "all" -> (the pass over all samples, its sample axes)
        self.grads: dict = {}  # (top, wanted) -> the adjoints of a backward pass over all samples
        self.memo: dict = {}  # the backward passes' notes on the forward pass (`autodiff.backward`)
        self.scalars: dict = {}  # name -> `scalar(name)`
        self.families: dict = {}  # (top, bottoms) -> `per_sample(top, bottoms)`

    @property
    def samples(self) -> list:
        return list(range(1, self.problem.n_samples + 1)) if self.problem.data else [None]

    def all_samples(self) -> tuple:
        """(every step's value, which steps carry the sample axis: None without data)."""
        if "all" not in self.passes:
            carried = self.tape.carried(tuple(self.problem.data)) if self.problem.data else None
            self.passes["all"] = (forward(self.tape, self.arithmetic, self.inputs(), carried=carried), carried)
        return self.passes["all"]

    def inputs(self) -> dict:
        """Every input's value, a data name's on all samples (a leading sample axis)."""
        inputs = dict(self.given)
        for name, per_sample in self.problem.data.items():
            inputs[name] = self.arithmetic.input(_side_by_side(per_sample))
        return inputs

    def values(self, sample: int | None) -> list:
        """Every step's value on one sample."""
        if sample not in self.passes:
            values, carried = self.all_samples()
            self.passes[sample] = values if carried is None else \
                [v[sample - 1] if c else v for v, c in zip(values, carried)]
        return self.passes[sample]

    def value(self, name: str, sample: int | None):
        values, carried = self.all_samples()
        i = self.tape.at[name]
        return values[i][sample - 1] if carried is not None and carried[i] else values[i]

    def derivative(self, top: str, bottoms: tuple, sample: int | None):
        """d top / d bottom(s) on one sample, in the shapes of FORMAT.md section 5."""
        if len(bottoms) > 1:  # dA/d(x,y): the Jacobian of A in the stacked scalar inputs
            columns = [np.asarray(self.derivative(top, (b,), sample)).reshape(-1) for b in bottoms]
            jac = np.stack(columns, axis=-1)
            return jac.reshape(-1) if np.ndim(self.value(top, sample)) == 0 else jac
        bottom = bottoms[0]
        if self.scalar(top):
            grad = self.gradient(top, sample, self.tape.at[bottom])
            return self.value(bottom, sample) * 0 if grad is None else grad
        jac = jacobian(self.tape, self.values(sample), self.arithmetic, top, bottom)
        if self.scalar(bottom):
            return jac.reshape(np.shape(self.value(top, sample)))  # by a scalar: the shape of what is differentiated
        return jac

    def scalar(self, name: str) -> bool:
        """Whether `name`'s value on a sample is one number (asked 20,000 times by a large graph)."""
        found = self.scalars.get(name)
        if found is None:
            found = self.scalars[name] = np.ndim(self.value(name, self.samples[0])) == 0
        return found

    def per_sample(self, top: str, bottoms: tuple) -> list:
        """Each sample's top (bottoms empty) or d top / d bottoms, in sample order: a family of
        quantities (sample1.X, sample2.X, …) read off the same passes at once, and kept."""
        found = self.families.get((top, bottoms))
        if found is None:
            found = self.families[(top, bottoms)] = self._family(top, bottoms)
        return found

    def _family(self, top: str, bottoms: tuple) -> list:
        values, carried = self.all_samples()
        if not bottoms:
            at = self.tape.at[top]
            whole, many = values[at], carried is not None and carried[at]
        elif len(bottoms) == 1 and self.scalar(top):
            whole, many = self.gradients(top, self.tape.at[bottoms[0]])
            if whole is None:  # top does not depend on it: zeros
                return [self.value(bottoms[0], n) * 0 for n in self.samples]
        else:
            return [self.derivative(top, bottoms, n) for n in self.samples]
        return list(whole) if many else [whole] * len(self.samples)

    def gradient(self, top: str, sample: int | None, bottom: int):
        """d top / d step `bottom` on one sample (None: top does not depend on it)."""
        grad, many = self.gradients(top, bottom)
        return grad[sample - 1] if grad is not None and many else grad

    def gradients(self, top: str, bottom: int) -> tuple:
        """(d top / d step `bottom` on all samples, whether it carries the sample axis), from a
        backward pass over all samples that is kept: the output's pass (every step wanted) gives
        every dO/dX, a node's pass (the names its expression is written in wanted) every dA/dB of
        that node."""
        output = top == self.problem.graph.output
        wanted = () if output else self.local.get(top, ())
        if not output and bottom not in wanted:
            wanted = (bottom,)  # not written in `top`'s expression: a pass of its own
        values, carried = self.all_samples()
        at = self.tape.at[top]
        grads = self.grads.get((top, wanted))
        if grads is None:
            seed = self.arithmetic.one(values[at])
            adjoint = backward(self.tape, values, self.arithmetic, at, seed, wanted=wanted, memo=self.memo,
                               carried=carried)
            grads = self.grads[(top, wanted)] = adjoint if output else {b: adjoint[b] for b in wanted}
        return grads[bottom], carried is not None and carried[at]

    def reduced(self, quantity):
        """Σ over the samples (or the mean, with `reduce: mean`) of quantity(sample)."""
        total = None
        for n in self.samples:
            v = quantity(n)
            total = v if total is None else total + v
        if self.problem.data and self.problem.reduce == "mean":
            total = total * self.arithmetic.input(Fraction(1, self.problem.n_samples))
        return total

    def quantity(self, name: str):
        """The value of one quantity by its canonical name."""
        kind, k, top, bottoms = Q.parse(name)
        if kind == "step":
            raise KeyError(name)  # training steps are computed in order by `train`
        output = self.problem.graph.output
        if kind == "sample":
            return self.per_sample(top, bottoms)[k - 1]
        if not bottoms:
            if top in self.given:
                return self.given[top]
            if self.problem.data and top != output:
                raise KeyError(name)  # a node's value exists per sample only
            return self.reduced(lambda n: self.value(top, n)) if top == output else self.value(top, None)
        return self.reduced(lambda n: self.derivative(top, bottoms, n))


def _side_by_side(per_sample: tuple):
    """A data name's per-sample values on a leading sample axis (exact values, as given)."""
    if np.ndim(per_sample[0]) == 0:
        return list(per_sample)
    out = np.empty((len(per_sample),) + np.shape(per_sample[0]), dtype=object)
    for n, v in enumerate(per_sample):
        out[n] = v
    return out


def train(problem, arithmetic, rules, given: dict | None = None) -> dict:
    """step{k}.P, the optimizer's state and step{k}.O for k = 1 … steps, from the reduced gradient
    (`given`: other values for the inputs, as the arithmetic's arrays)."""
    output = problem.graph.output
    run = Run(problem, arithmetic, given)

    def gradients(run: Run) -> dict:
        return {p: run.quantity(f"d{output}/d{p}") for p in problem.train_params}

    def evaluate(params: dict):
        after = Run(problem, arithmetic, {**(given or {}), **params})
        return gradients(after), {output: after.quantity(output)}

    params = {p: run.given[p] for p in problem.train_params}
    return optimizers.train(problem.optimizer, problem.lr, problem.steps, params, gradients(run), evaluate, rules)


def compute(problem, arithmetic, names: list) -> tuple[dict, Run]:
    """Every named quantity in one engine, and the Run that computed them (its passes are kept)."""
    run = Run(problem, arithmetic)
    out = {name: run.quantity(name) for name in names if Q.parse(name)[0] != "step"}
    if problem.lr is not None and problem.steps:
        rules = optimizers.exact_arithmetic() if arithmetic.exact else optimizers.FLOATS
        out.update(train(problem, arithmetic, rules))
    return {name: _tidy(v) for name, v in out.items()}, run


def _tidy(v):
    """A 0-d array as its one value (scalar quantities are plain numbers)."""
    return v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v


def check(run: Run, exact: dict, fast: dict, report: Report, compared: bool = True) -> None:
    """The engines agree (`exact`, `fast`: their values as float64 arrays; unless not `compared`),
    and every sample's gradients agree with finite differences (`run`: the float engine's, whose
    passes are reused)."""
    if compared:
        compare_engines(exact, fast, report,  # float64's rounding spread: the engine again, jittered
                        Spread(lambda arithmetic: compute(run.problem, arithmetic, list(exact))[0]))
    problem, output = run.problem, run.problem.graph.output
    if np.ndim(run.value(output, run.samples[0])) != 0:
        return  # a vector output: its Jacobians are held to the exact engine only
    grads = {x: [np.asarray(run.derivative(output, (x,), n), dtype=float) for n in run.samples]
             for x in problem.graph.inputs}
    label = (lambda x, n: f"sample{n + 1}.d{output}/d{x}") if problem.data else (lambda x, n: f"d{output}/d{x}")
    values, carried = run.all_samples()
    sample_differences(run.tape, run.inputs(), grads, output, report, label, values, carried)


def _floats(v):
    return Floats().input(v)  # exact values (or floats) as float64 arrays


def solve_both(problem, names: list, checked: bool = True) -> tuple[dict, dict, Report]:
    """(exact values, float values, report) of the named quantities."""
    _, exact, fast, _, _, report = _solved(problem, names, checked)
    return exact, fast, report


def _solved(problem, names: list, checked: bool, exactly: bool = True) -> tuple:
    """(exact values, float values, both as float64 arrays, report): each converted once.

    Without `exactly` (grading) the exact engine does not run: its places hold the float values."""
    report = Report()
    exact = _exact_values(problem, names) if exactly else None
    with np.errstate(all="ignore"):
        fast, run = compute(problem, Floats(), names)
    if exact is None and _kink_sensitive(problem, run):  # grading: only exact values can tell
        exactly, exact = True, _exact_values(problem, names)
    for name, value in fast.items():
        if not (math.isfinite(value) if isinstance(value, float) else np.isfinite(value).all()):  # (14,000 names)
            raise InputError(f"{name} is beyond float64's range (or undefined); change the given numbers",
                             problem.file)
    fast_floats = floats_of(fast)
    exact_floats = floats_of(exact) if exactly else fast_floats
    if checked:
        check(run, exact_floats, fast_floats, report, compared=exactly)
    return exactly, exact if exactly else fast, fast, exact_floats, fast_floats, report


def _kink_sensitive(problem, run: Run) -> bool:
    """A kinked function's argument on or next to its kink on some sample (`floats.near_kink`),
    or training steps through a kinked function (their passes are not looked at here)."""
    values, carried = run.all_samples()
    if near_kink(run.tape, values, carried):
        return True
    return bool(problem.lr is not None and problem.steps and kink_steps(run.tape))


def _exact_values(problem, names: list) -> dict:
    # sympy: imported only where exact work is done, its objects then left out of the collector's walks
    Rationals = collector.lasting_import("backprop_check.engines.rationals").Rationals

    try:
        return compute(problem, Rationals(), names)[0]
    except (ArithmeticError, ValueError) as exc:
        raise InputError(f"the graph's values are undefined or overflow ({str(exc) or type(exc).__name__}); "
                         "change the given numbers", problem.file) from None


def solve_graph(problem, samples: set | None = None, checked: bool = True, exactly: bool = True):
    """The Solution of a graph problem: every quantity of FORMAT.md section 5 and the questions'.

    `exactly=False` (grading): the float engine alone, as `solve.solve` explains."""
    with collector.paused(lasting=True):  # (its 10^5 lists and trees are no cycles; the solution lives on)
        return _solution(problem, checked, exactly)


def _solution(problem, checked: bool, exactly: bool):
    from .solve import Entry, Solution

    names = list(Q.quantities(problem))
    names += [q.quantity for q in problem.questions if q.quantity not in names]
    exactly, exact, fast, exact_floats, fast_floats, report = _solved(problem, names, checked, exactly)
    rational = exactly and _rational(problem)
    solution = Solution(problem, report=report, exact=rational)
    solution.env = fast_floats
    solution.env.update((name, _floats(Floats().input(v))) for name, v in problem.graph.inputs.items())
    sheet, evaluated = graph_sheet.formulas(problem, solution.env, tuple(q.quantity for q in problem.questions))
    if checked:  # their values, as evaluated once to check their shapes
        check_formulas(sheet, solution.env, solution.env, report, evaluated)
    solution.variants[("formulas", None)] = sheet  # formula grading evaluates the same trees
    for name in names:
        if name not in exact or name not in fast:
            continue
        value = exact_floats[name]
        solution.entries[name] = Entry(name, _group(problem, name), value.tolist() if value.ndim else float(value),
                                       value.shape, _exact=exact[name], _problem=problem,
                                       _make_precise=partial(_precise, exact[name], rational, exactly), _sheet=sheet)
    return solution


def _precise(value, rational: bool, exactly: bool = True):
    """Exact decimals or fractions (30 digits past 200 bits), as nested lists of strings
    (without `exactly`, the float engine's values as Python writes them)."""
    from .solve import _precise_scalar

    if not exactly:
        return np.vectorize(repr, otypes=[object])(_floats(value)).tolist()
    if np.ndim(value) == 0:
        return _precise_scalar(value, rational)
    return np.vectorize(lambda v: _precise_scalar(v, rational), otypes=[object])(value).tolist()


def _group(problem, name: str) -> str:
    kind, _, top, bottoms = Q.parse(name)
    if kind == "sample":
        return "sample"
    if kind == "step":
        return "update"
    if not bottoms:
        return "loss" if top == problem.graph.output else "forward"
    return "backward" if top == problem.graph.output else "local"


def _rational(problem) -> bool:
    """Whether the exact engine stays exact: only rational operations, no pi or e."""
    from .ops import FUNCTIONS

    for step in tape_of(problem).steps:
        f = FUNCTIONS.get(step.op)
        if step.op in ("pi", "e", "softmax") or (f is not None and not f.rational and not (
                step.op == "pow" and step.params and Fraction(step.params[0]).denominator == 1)):
            return False
    return True
