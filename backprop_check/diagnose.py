"""Name the likely mistake behind a wrong answer.

The catalogue is data: one `Mistake` per common error, each with a stable
tag (used in every output format) and a generator of *candidates*: the value
the quantity takes when that mistake is made. A candidate comes either from
transforming the expected value (sign, transpose, power of ten) or from
re-running the numpy engine on a mistaken version of the problem (loss
factor ×2, mean instead of sum, activation derivative dropped or evaluated at
the output, ReLU′(0) convention, step up the gradient, another learning
rate), or from the solution-sheet formula evaluated on rounded intermediate
values. A wrong answer is tagged with every mistake whose candidate it
matches, under the question's tolerance. To add a mistake, add an entry.

Graph problems (FORMAT.md section 5) have no layers, activations or loss
kind: an entry's `graphs` generator gives its candidates there (re-solving
a mistaken graph with the float graph engine), and an entry without one
does not apply to graphs.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Callable, Iterator

import numpy as np

from . import activations, optimizers
from . import graph_quantities as GQ
from .diagnose_graphs import (MAX_SQUARE_WALK, _squares, graph_factor_2, graph_learning_rate,  # noqa: F401
                              graph_mean_vs_sum, graph_step_up)
from .engines import Case, numeric
from .engines.floats import Floats
from .losses import AVERAGES, Loss
from .quantities import parts
from .solve import Solution, case_of, present, requested_samples
from .spec import is_graph
from .diagnose_rounding import rounding_carried as _rounding_carried
from .diagnose_shared import explains as _explains, message as _message, shared as _shared
from .tolerance import Tolerance


@dataclass(frozen=True)
class Mistake:
    tag: str
    summary: str
    candidates: Callable  # (Context, name, answer) -> iterator of (array, detail)
    graphs: Callable | None = None  # the same for graph problems; None: not a mistake of graphs
    personal: bool = False  # its candidates depend on the student's answer (else: once per solution)


@dataclass
class Context:
    """What the candidates need; re-solved variants are cached on the solution."""

    solution: Solution

    @property
    def problem(self):
        return self.solution.problem

    def expected(self, name: str) -> np.ndarray:
        return self.solution.array(name)

    def variant(self, name: str, key: tuple, case: Case | None = None,
                slope_mistake: tuple | None = None, lr=None) -> np.ndarray | None:
        """`name` recomputed by the numpy engine on a mistaken problem."""
        cache = self.solution.variants
        if key not in cache:
            cache[key] = _quantities(self.problem, case or case_of(self.problem), slope_mistake,
                                           self.problem.lr if lr is None else lr)
        value = cache[key].get(name)
        return None if value is None else present(name, value, self.problem)

    @property
    def graph(self) -> bool:
        return is_graph(self.problem)

    def graph_variant(self, name: str, key: tuple | None, **changes) -> np.ndarray | None:
        """`name` recomputed by the float graph engine on the graph problem with `changes`
        (dataclass fields: graph, reduce, lr); cached under `key` unless it is None."""
        cache = self.solution.variants
        if key is None:
            return _GraphVariant(replace(self.problem, **changes)).get(name)
        if key not in cache:
            cache[key] = _GraphVariant(replace(self.problem, **changes))
        return cache[key].get(name)


class _GraphVariant:
    """A mistaken graph problem, solved lazily in float64 (`graph_solve.Run`, `graph_solve.train`)."""

    def __init__(self, problem):
        self.problem = problem
        self.run = None
        self.steps = None

    def get(self, name: str) -> np.ndarray | None:
        from . import graph_solve

        try:
            with np.errstate(all="ignore"):
                if GQ.parse(name)[0] == "step":
                    if self.steps is None:
                        p = self.problem
                        self.steps = (graph_solve.train(p, Floats(), optimizers.FLOATS)
                                      if p.lr is not None and p.steps else {})
                    value = self.steps.get(name)
                else:
                    if self.run is None:
                        self.run = graph_solve.Run(self.problem, Floats())
                    value = self.run.quantity(name)
        except (KeyError, ArithmeticError, ValueError, IndexError):
            return None
        return None if value is None else np.asarray(value, dtype=float)


def _quantities(problem, case: Case, slope_mistake, lr) -> dict:
    out = dict(numeric.run(case, jacobians=problem.n_samples == 1, slope_mistake=slope_mistake))
    if lr is not None and problem.steps:
        out.update(numeric.train(case, lr, problem.steps, slope_mistake, first=dict(out),
                                 optimizer=problem.optimizer))
    for n in sorted(requested_samples(problem)) if problem.n_samples > 1 else ():
        sub = numeric.run(case.sample(n - 1), jacobians=True, slope_mistake=slope_mistake)
        out.update({f"sample{n}.{k}": v for k, v in sub.items()})
    return out


def _with_loss(ctx: Context, loss: Loss) -> Case:
    case = case_of(ctx.problem)
    return replace(case, loss=loss)


def _with_layers(ctx: Context, layers: tuple) -> Case:
    return replace(case_of(ctx.problem), layers=layers)


def _base(name: str) -> str:
    return parts(name)[2]


def _depends_on_loss(name: str) -> bool:
    base = _base(name)
    return base == "loss" or base.startswith("dl/") or name.startswith("step")


# ------------------------------------------------------------ the candidates

def _sign(ctx, name, answer) -> Iterator:
    yield -ctx.expected(name), ""


def _transposed(ctx, name, answer) -> Iterator:
    e = ctx.expected(name)
    if e.ndim == 2 and e.shape[0] == e.shape[1] and e.shape[0] > 1:
        yield e.T, ""


def _factor_2(ctx, name, answer) -> Iterator:
    if not _depends_on_loss(name):
        return
    loss = ctx.problem.loss
    for f in (Fraction(2), Fraction(1, 2)):
        changed = replace(loss, factor=loss.factor * f)
        value = ctx.variant(name, ("factor", f), _with_loss(ctx, changed))
        word = "½‖·‖² for ‖·‖²" if f < 1 else "‖·‖² for ½‖·‖²"
        yield value, f"as if the loss were scaled by {f} ({word})"


def _mean_vs_sum(ctx, name, answer) -> Iterator:
    if not _depends_on_loss(name):
        return
    loss, p = ctx.problem.loss, ctx.problem
    here = loss.divisor(p.n_samples, len(p.y))
    for average in AVERAGES:
        if average != loss.average and replace(loss, average=average).divisor(p.n_samples, len(p.y)) != here:
            value = ctx.variant(name, ("average", average), _with_loss(ctx, replace(loss, average=average)))
            yield value, f"as if the loss were averaged over {average} (mean vs sum)"


def _slope_layers(ctx) -> Iterator:
    for l, layer in enumerate(ctx.problem.layers, start=1):
        if layer.activation.kind.elementwise and layer.activation.name != "identity":
            yield l, layer


def _slope_mistakes(ctx, name: str, how: str, describe: Callable) -> Iterator:
    """The quantity re-solved with one layer's f′ dropped ("one") or taken at its output."""
    if not _base(name).startswith("dl/d") and not name.startswith("step"):
        return
    for l, layer in _slope_layers(ctx):
        yield ctx.variant(name, ("slope", l, how), slope_mistake=(l, how)), describe(l, layer)


def _derivative_missing(ctx, name, answer) -> Iterator:
    return _slope_mistakes(ctx, name, "one", lambda l, layer:
                           f"without the derivative of layer {l}'s {layer.activation.label()}")


def _derivative_at_output(ctx, name, answer) -> Iterator:
    return _slope_mistakes(ctx, name, "output", lambda l, layer:
                           f"with f′ of layer {l} evaluated at its output z{2 * l} instead of z{2 * l - 1}")


def _bias_not_summed(ctx, name, answer) -> Iterator:
    base = _base(name)
    biases = {l.bias for l in ctx.problem.layers if l.bias}
    if not (base.startswith("dl/d") and base[4:] in biases) or ctx.problem.n_samples == 1:
        return
    n = ctx.problem.n_samples
    yield ctx.expected(name) / n, "averaged over the batch instead of summed"
    layer = next(i for i, l in enumerate(ctx.problem.layers, start=1) if l.bias == base[4:])
    delta = np.asarray(ctx.solution.env[f"dl/dz{2 * layer - 1}"])
    first = delta[0, :] if ctx.problem.rows else delta[:, 0]
    yield first.reshape(ctx.expected(name).shape), "taken from the first sample only"


def _step_up(ctx, name, answer) -> Iterator:
    if name.startswith("step") and ctx.problem.lr is not None:
        yield ctx.variant(name, ("lr", "up"), lr=-ctx.problem.lr), "the parameters moved up the gradient"


def _learning_rate(ctx, name, answer) -> Iterator:
    kind, k, param = parts(name)
    if (kind, k) != ("step", 1) or param not in ctx.problem.params:
        return  # the loss, or an optimizer's state: the rate shows only in the parameters
    nice = _student_rate(ctx, param, f"dl/d{param}", answer)
    if nice is None:
        return
    value = _first_step(ctx, param, nice)
    yield present(name, value, ctx.problem), f"with a learning rate of {nice:g} instead of {ctx.problem.lr}"


def _first_step(ctx, param: str, lr: float):
    """step1.P at another learning rate: the first update exactly as `numeric.train` takes it,
    from the problem's own first pass (run once per solution: it does not depend on the rate)."""
    problem, key = ctx.problem, ("first pass", None)
    if key not in ctx.solution.variants:
        case = case_of(problem)
        ctx.solution.variants[key] = (numeric.params_of(case), numeric.run(case, jacobians=problem.n_samples == 1))
    params, first = ctx.solution.variants[key]
    new, _ = optimizers.step(problem.optimizer or optimizers.SGD, params[param], first[f"dl/d{param}"], None, 1,
                             lr, optimizers.FLOATS)
    return new


def _student_rate(ctx, param: str, gradient: str, answer) -> float | None:
    """The learning rate a student's step1.P implies (3 significant figures), or None when it
    is no step down the gradient or is the true rate."""
    p = np.asarray(ctx.solution.env[param]).reshape(-1)
    # the first step's move per unit rate: the gradient (SGD, momentum), g/(|g| + eps) (Adam)
    g = np.asarray(ctx.solution.env[gradient])
    g = optimizers.direction(ctx.problem.optimizer, g).reshape(-1)
    s = np.asarray(answer.value, dtype=float).reshape(-1)
    usable = np.abs(g) > 1e-12
    if s.size != p.size or not usable.any():
        return None
    rates = (p[usable] - s[usable]) / g[usable]
    rate = float(statistics.median(rates.tolist()))  # np.median would import numpy.ma into the worker
    if rate <= 0 or abs(rate - float(ctx.problem.lr)) <= 1e-9 * abs(rate):
        return None  # no step, or a step up the gradient (step-up names that)
    return float(f"{rate:.3g}")


def _relu_at_zero(ctx, name, answer) -> Iterator:
    env = ctx.solution.env
    kinked = [(l, layer) for l, layer in enumerate(ctx.problem.layers, start=1)
              if "grad_at_zero" in layer.activation.p and np.any(np.asarray(env[f"z{2 * l - 1}"]) == 0)]
    if not kinked:
        return
    for g0 in (Fraction(1), Fraction(1, 2), Fraction(0)):
        layers = tuple(
            replace(layer, activation=activations.make(
                layer.activation.name, {**layer.activation.p, "grad_at_zero": g0}, layer.activation.scale))
            if any(l == k for k, _ in kinked) else layer
            for l, layer in enumerate(ctx.problem.layers, start=1))
        if layers != ctx.problem.layers:
            yield ctx.variant(name, ("relu0", g0), _with_layers(ctx, layers)), f"with ReLU′(0) = {g0}"


def _power_of_ten(ctx, name, answer) -> Iterator:
    e = ctx.expected(name)
    for k in (1, 2, 3, -1, -2, -3):
        yield e * 10.0 ** k, f"off by a factor 10^{k}"


CATALOGUE: tuple = (
    Mistake("sign-flipped", "the sign is flipped", _sign, _sign),
    Mistake("transposed", "transposed", _transposed, _transposed),
    Mistake("factor-2", "off by a factor 2 (½‖·‖² vs ‖·‖²)", _factor_2, graph_factor_2),
    Mistake("mean-vs-sum", "off by N or K (mean vs sum)", _mean_vs_sum, graph_mean_vs_sum),
    Mistake("activation-derivative-missing", "the activation derivative is missing", _derivative_missing),
    Mistake("derivative-at-output", "the derivative is evaluated at the activation's output", _derivative_at_output),
    Mistake("bias-not-summed", "the bias gradient is not summed over the batch", _bias_not_summed),
    Mistake("step-up", "the step goes up the gradient", _step_up, graph_step_up),
    Mistake("learning-rate", "a different learning rate", _learning_rate, graph_learning_rate, personal=True),
    Mistake("relu-grad-at-zero", "another ReLU′(0) convention", _relu_at_zero),
    Mistake("power-of-ten", "off by a power of ten", _power_of_ten, _power_of_ten),
    Mistake("rounding-carried", "error only from rounded intermediate values", _rounding_carried,
            _rounding_carried, personal=True),
)
TAGS = tuple(m.tag for m in CATALOGUE)


@dataclass(frozen=True)
class Diagnosis:
    tag: str
    message: str


def diagnose(ctx: Context, name: str, answer, submitted: np.ndarray, tol: Tolerance) -> list[Diagnosis]:
    """Every catalogue mistake whose candidate matches the submitted value.

    `tol`: the question's tolerance, or `tolerance.Written` (with the answer's written units).
    """
    expected = ctx.expected(name)
    found = []
    if not np.any(submitted):
        return found  # all zeros: nothing was computed, so no mistake can be named
    # A mistaken candidate may overflow (a step taken up a huge gradient): it then
    # matches nothing, which is the right answer, and is no cause for a warning.
    with np.errstate(all="ignore"):
        graph = ctx.graph
        shared = _shared(ctx, name, CATALOGUE).matches(tol, submitted)
        for index, mistake in enumerate(CATALOGUE):
            candidates = mistake.graphs if graph else mistake.candidates
            if candidates is None:
                continue  # a mistake of layered networks only
            if not mistake.personal:
                if index in shared:
                    found.append(Diagnosis(mistake.tag, shared[index]))
                continue
            for candidate, detail, *own in candidates(ctx, name, answer):
                if not _explains(candidate, expected):
                    continue
                if tol.accepts(candidate, submitted).all() or (own and own[0].accepts(candidate, submitted).all()):
                    found.append(Diagnosis(mistake.tag, _message(mistake, detail)))
                    break
    return found
