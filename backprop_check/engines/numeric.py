"""The numpy engine: float64 backpropagation over the problem's graph.

It runs the same computation graph as the sympy engine (`network`,
`autodiff`) with its own arithmetic (`floats`): every function's value and
derivative come from the hand-written numpy forms of `ops`, never from
sympy, so the two engines check each other. Columns are samples.
`Rounding` tells how far float64 rounding can move each of its values
(`jitter`), for the engines' agreement test.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .. import network
from . import Case
from .floats import Floats
from .jitter import Spread


def array(rows) -> np.ndarray:
    """Rows of Fractions as float64, each correctly rounded: float() of each, done once for the
    same rows (`network.exact_array`, `Floats.input`); the caller gets its own copy."""
    return Floats().input(network.exact_array(rows))


def params_of(case: Case) -> dict[str, np.ndarray]:
    return {name: array(value) for name, value in case.params.items()}


def run(case: Case, jacobians: bool = False, params: dict | None = None,
        slope_mistake: tuple | None = None) -> dict:
    """Every quantity of one pass (see `network.run`; `params` as float arrays)."""
    with np.errstate(all="ignore"):
        return network.run(case, Floats(), jacobians, params, slope_mistake)


class Rounding(Spread):
    """The rounding spread of every quantity `run(case)` gives (`jitter.Spread`); `lr`, `steps`,
    `optimizer`: the problem's training, whose steps are covered too. The plain pass takes the
    jittered passes' own path (`spread` makes it): a spread is how far roundings move that path's
    values, never how far the value compared (`run`'s) is from them."""

    def __init__(self, case: Case, prefix: str = "", lr=None, steps: int = 0, optimizer=None):
        super().__init__(prefix=prefix)
        self.case, self.training = case, (lr, steps, optimizer)

    def passes_of(self):
        case, (lr, steps, optimizer) = _read_once(self.case), self.training
        jacobians = case.n_samples == 1  # as solve runs it: a single sample's Jacobians too

        def passes(arithmetic) -> dict:
            out = network.run(case, arithmetic, jacobians)
            if lr is not None:
                out.update(train(case, lr, steps, first=out, optimizer=optimizer, arithmetic=arithmetic))
            return out
        return passes


def _read_once(case: Case) -> Case:
    """The case with its numbers as float64 (the values every pass reads): converting a wide net's
    fractions costs more than a float pass over it, and the spread makes four passes."""
    floats = lambda rows: tuple(tuple(float(v) for v in row) for row in rows)  # noqa: E731
    return Case(case.layers, {k: floats(v) for k, v in case.params.items()}, floats(case.x), floats(case.y),
                case.loss)


def train(case: Case, lr: Fraction | float, steps: int, slope_mistake: tuple | None = None,
          first: dict | None = None, optimizer=None, arithmetic=None) -> dict:
    """Parameters, optimizer state and loss after each training step (`optimizers`; default
    SGD; see `run` for slope_mistake; `first` is `run(case)` when the caller has it already;
    `arithmetic`: the passes', Floats by default, `jitter.Jittered` for the rounding spread)."""
    from .. import optimizers

    arithmetic = arithmetic or Floats()

    def one(params: dict) -> dict:
        with np.errstate(all="ignore"):
            return network.run(case, arithmetic, False, params, slope_mistake)

    params = params_of(case)
    first = first if first is not None else one(params)

    def evaluate(new: dict):
        out = one(new)
        return {p: out[f"dl/d{p}"] for p in new}, {"loss": out["loss"]}

    return optimizers.train(optimizer or optimizers.SGD, lr, steps, params,
                            {p: first[f"dl/d{p}"] for p in params}, evaluate, optimizers.FLOATS)
