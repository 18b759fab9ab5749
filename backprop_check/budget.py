"""The work budget of a spec: what the exact engine can do in a few seconds.

Checked when the spec loads, so that a costly spec is refused at once (exit
2, naming the place) instead of running for minutes:
- multiplications: network × batch × (1 + training steps), where each custom
  formula (activation or loss) adds the nodes the exact engine evaluates per
  entry for it and its derivative;
- per custom formula, those nodes (nested gelu grows them sixfold a level);
- the product of the custom formulas' degrees along the network: z**16 makes
  a fraction 16 times longer and a float64 rounding error 16 times larger, so
  past MAX_DEGREE float64 cannot follow the exact engine to the 1e-9 the
  checks ask (the exact engine itself rounds long values, see symbolic._short).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable

from . import activations, losses

MAX_WORK = 4_000_000  # Σ over layers of out·in·N: what the exact engine does in a few seconds
MAX_FORMULA_COST = 4000  # nodes evaluated per entry for a custom formula and its derivative
NODE_WORK = 8  # one node of a custom formula costs about 8 multiplications (mpmath, closures)
MAX_DEGREE = 4096  # product of the custom formulas' degrees along the network

Fail = Callable[[tuple, str], Exception]  # (path in the spec, message) -> InputError


def formula_cost(what) -> int:
    """Parts the exact engine evaluates per entry for a custom activation or loss kind (0 if built in)."""
    from . import formulas as F
    from .elementwise import cost

    if isinstance(what, activations.Activation):
        return cost(what.node(F.Name("z"))) if what.kind.custom else 0
    return cost(what.formula(F.Name("y_hat"), F.Name("y"))) if what.name == "custom" else 0


def check_formula(fail: Fail, path: tuple, what, label: str) -> None:
    cost = formula_cost(what)
    if cost > MAX_FORMULA_COST:
        raise fail(path, f"{label}: the exact engine would evaluate {cost:,} parts per entry for it and "
                         f"its derivative; the limit is {MAX_FORMULA_COST:,} (nest fewer functions)")


def work_per_pass(layers: tuple, params: dict, n_samples: int, loss: losses.Loss | None = None) -> int:
    """Multiplications in one forward pass, custom formulas included: what the exact engine's time follows."""
    per_sample = sum(len(params[l.weight]) * (len(params[l.weight][0]) + NODE_WORK * formula_cost(l.activation))
                     for l in layers)
    if loss is not None:
        per_sample += len(params[layers[-1].weight]) * NODE_WORK * formula_cost(loss.kind)
    return per_sample * n_samples


def check(fail: Fail, layers: tuple, params: dict, n_samples: int, steps: int, loss: losses.Loss) -> None:
    """The whole solve's degree and multiplications, against the limits."""
    _check_degree(fail, layers, loss)
    work = work_per_pass(layers, params, n_samples, loss) * (1 + steps)
    if work > MAX_WORK:
        raise fail(("data", "x"), f"the network, its custom formulas, the batch and {steps} training steps "
                                  f"need {work:,} multiplications; the limit is {MAX_WORK:,} (use fewer "
                                  "samples, smaller layers, simpler formulas or fewer steps)")


def _check_degree(fail: Fail, layers: tuple, loss: losses.Loss) -> None:
    total, parts = Fraction(1), []
    stages = [(("network", "layers", i, "activation"), l.activation.kind.degree) for i, l in enumerate(layers)]
    for path, degree in stages + [(("loss", "term"), loss.kind.degree)]:
        total *= degree
        parts += [str(degree)] if degree != 1 else []
        if total > MAX_DEGREE:
            raise fail(path, f"the custom formulas' degrees multiply to {' × '.join(parts)} = {total} "
                             f"by here; the limit is {MAX_DEGREE}: float64's rounding errors grow as "
                             "much, and the engines could not check each other (use lower powers or "
                             "fewer such layers)")
