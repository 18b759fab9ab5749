"""Training optimizers (FORMAT.md section 6), each defined once.

An optimizer is data (`Optimizer`: its name and hyperparameters, as exact
Fractions) plus, per kind, three pure functions:
- `step`: one update of one parameter, p and its state from the gradient g,
  written with +, −, ×, ÷ only, so that it runs unchanged on float64 numpy
  arrays (the numpy engine) and on the exact engine's object arrays of
  rationals; what differs between the two (turning a hyperparameter into a
  number, a square root) comes from an `Arithmetic` argument;
- `formulas`: the solution-sheet formulas of the first step (state starts at
  0, so `step1.v_W1 = dl/dW1` for momentum), in the answer syntax;
- the reader `read`, which validates `train.optimizer` in any spec.

| kind | the step (state starts at 0, t counts steps from 1) | state quantities |
|---|---|---|
| `sgd` | p ← p − lr·g | none |
| `momentum` {mu} | v ← mu·v + g; p ← p − lr·v (torch.optim.SGD) | `v_P` |
| `adam` {beta1, beta2, eps} | m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²; m̂ = m/(1 − β1^t); v̂ = v/(1 − β2^t); p ← p − lr·m̂/(√v̂ + eps) (torch.optim.Adam) | `m_P`, `v_P`, `mhat_P`, `vhat_P` |

The state of parameter P after step k is the quantity `step{k}.{state}_{P}`
(`step2.v_W1`, `step1.mhat_b2`). `train` runs the steps for any problem kind:
the caller supplies the parameters, the gradients at them and a function that
evaluates the next pass, so networks and computation graphs share the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import numpy as np

from . import formulas as F

N = F.Name


# ------------------------------------------------------------------ arithmetic

@dataclass(frozen=True)
class Arithmetic:
    """What an optimizer's step needs beyond + − × ÷ of arrays."""

    num: Callable  # Fraction -> a scalar of this arithmetic (float, or an exact rational)
    sqrt: Callable  # array -> elementwise square root
    settle: Callable = field(default=lambda a: a)  # array -> array after each step (exact: bound sizes)


FLOATS = Arithmetic(num=float, sqrt=np.sqrt)


def exact_arithmetic() -> Arithmetic:
    """Exact rationals: square roots by mpmath at 45 digits, stored as the exact rational of that
    binary float; fractions past 256 bits rounded to 45 digits after each step (symbolic._short)."""
    import mpmath
    from sympy import QQ

    from .engines.symbolic import DPS, MAX_EXACT_BITS, _short, _to_mpf, to_rational

    def sqrt(v):
        with mpmath.workdps(DPS):
            return to_rational(mpmath.sqrt(_to_mpf(v)))

    def settle(v):
        return _short(v, MAX_EXACT_BITS)

    return Arithmetic(num=lambda q: QQ(int(q.numerator), int(q.denominator)),
                      sqrt=np.frompyfunc(sqrt, 1, 1), settle=np.frompyfunc(settle, 1, 1))


# ------------------------------------------------------------------ the optimizers

@dataclass(frozen=True)
class Optimizer:
    name: str  # sgd | momentum | adam
    hyper: tuple = ()  # ((name, Fraction), …) every hyperparameter, defaults filled in

    def __getitem__(self, key: str) -> Fraction:
        return dict(self.hyper)[key]

    @property
    def state(self) -> tuple:
        """The names of its state, in update order ("v"; "m", "v", "mhat", "vhat")."""
        return KINDS[self.name].state

    def label(self) -> str:
        if not self.hyper:
            return self.name
        return f"{self.name} ({', '.join(f'{k} = {_text(v)}' for k, v in self.hyper)})"


def _text(v: Fraction) -> str:
    return F.decimal(v, 20) or f"{v.numerator}/{v.denominator}"


def _sgd_step(opt, p, g, state: dict, t: int, lr, a: Arithmetic):
    return p - a.num(lr) * g, {}


def _momentum_step(opt, p, g, state: dict, t: int, lr, a: Arithmetic):
    v = a.num(opt["mu"]) * state["v"] + g
    return p - a.num(lr) * v, {"v": v}


def _adam_step(opt, p, g, state: dict, t: int, lr, a: Arithmetic):
    b1, b2, eps = opt["beta1"], opt["beta2"], opt["eps"]
    m = a.num(b1) * state["m"] + a.num(1 - b1) * g
    v = a.num(b2) * state["v"] + a.num(1 - b2) * (g * g)
    mhat = m / a.num(1 - b1 ** t)
    vhat = v / a.num(1 - b2 ** t)
    return p - a.num(lr) * mhat / (a.sqrt(vhat) + a.num(eps)), {"m": m, "v": v, "mhat": mhat, "vhat": vhat}


def _sgd_formulas(opt, p: str, lr, grad: F.Node) -> dict:
    return {f"step1.{p}": F.sub(N(p), F.mul(F.Num(lr), grad))}


def _momentum_formulas(opt, p: str, lr, grad: F.Node) -> dict:
    v = N(f"step1.v_{p}")
    return {f"step1.v_{p}": grad,  # mu·0 + g
            f"step1.{p}": F.sub(N(p), F.mul(F.Num(lr), v))}


def _adam_formulas(opt, p: str, lr, grad: F.Node) -> dict:
    b1, b2, eps = opt["beta1"], opt["beta2"], opt["eps"]
    s = lambda name: N(f"step1.{name}_{p}")  # noqa: E731
    return {
        f"step1.m_{p}": F.mul(F.Num(1 - b1), grad),  # β1·0 + (1 − β1)·g
        f"step1.v_{p}": F.mul(F.Num(1 - b2), F.Bin("**", grad, F.num(2))),
        f"step1.mhat_{p}": F.div(s("m"), F.Num(1 - b1)),
        f"step1.vhat_{p}": F.div(s("v"), F.Num(1 - b2)),
        f"step1.{p}": F.sub(N(p), F.div(F.mul(F.Num(lr), s("mhat")),
                                        F.add(F.call("sqrt", s("vhat")), F.Num(eps)))),
    }


@dataclass(frozen=True)
class Kind:
    name: str
    defaults: tuple  # ((hyperparameter, default), …)
    ranges: dict  # hyperparameter -> (test, what it must be)
    state: tuple
    step: Callable  # (optimizer, p, g, state, t, lr, arithmetic) -> (p, state)
    formulas: Callable  # (optimizer, parameter name, lr, gradient tree) -> {name: tree} for step 1


_PROBABILITY = (lambda v: 0 <= v < 1, "at least 0 and below 1")

KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("sgd", (), {}, (), _sgd_step, _sgd_formulas),
    Kind("momentum", (("mu", Fraction(9, 10)),), {"mu": _PROBABILITY}, ("v",),
         _momentum_step, _momentum_formulas),
    Kind("adam", (("beta1", Fraction(9, 10)), ("beta2", Fraction(999, 1000)), ("eps", Fraction(1, 10 ** 8))),
         {"beta1": _PROBABILITY, "beta2": _PROBABILITY, "eps": (lambda v: v > 0, "positive")},
         ("m", "v", "mhat", "vhat"), _adam_step, _adam_formulas),
]}

SGD = Optimizer("sgd")
STATE_NAMES = ("m", "v", "mhat", "vhat")  # every kind's state names (quantity names `{state}_{P}`)


def make(name: str, **hyper) -> Optimizer:
    """An optimizer with its defaults filled in: make("adam", eps=Fraction(1, 10**6))."""
    kind = KINDS[name]
    unknown = set(hyper) - {k for k, _ in kind.defaults}
    if unknown:
        raise KeyError(f"{name} has no parameter {sorted(unknown)[0]!r}")
    return Optimizer(name, tuple((k, Fraction(hyper.get(k, d))) for k, d in kind.defaults))


# ------------------------------------------------------------------ running and writing steps

def step(opt: Optimizer, p, g, state: dict | None, t: int, lr, arithmetic: Arithmetic):
    """One update of one parameter: (new p, new state). `state` None (or {}) is the zero state."""
    kind = KINDS[opt.name]
    zero = arithmetic.num(Fraction(0))
    state = {s: (state or {}).get(s, zero) for s in kind.state}
    new_p, new_state = kind.step(opt, p, g, state, t, lr, arithmetic)
    return arithmetic.settle(new_p), {s: arithmetic.settle(v) for s, v in new_state.items()}


def state_names(opt: Optimizer, param: str) -> list[str]:
    """The quantity names (without `step{k}.`) of a parameter's state: ["m_W1", "v_W1", …]."""
    return [f"{s}_{param}" for s in opt.state]


def step_names(opt: Optimizer, params, k: int, output: str = "loss") -> list[str]:
    """Every quantity of step k, sheet order: per parameter its state then its value; the output."""
    out = []
    for p in params:
        out += [f"step{k}.{n}" for n in state_names(opt, p)] + [f"step{k}.{p}"]
    return out + [f"step{k}.{output}"]


def train(opt: Optimizer, lr, steps: int, params: dict, grads: dict, evaluate: Callable,
          arithmetic: Arithmetic) -> dict:
    """Every step's parameters, state and reported values, for any kind of problem.

    `params`: name -> value (arrays of the arithmetic's kind); `grads`: name -> the
    gradient at `params`; `evaluate(params)` -> (gradients at those params, {name:
    value} to report under `step{k}.`, e.g. {"loss": …}). The gradients are a mapping
    read only when another step follows: one that works them out when first read
    (`network.Gradients`) saves the last pass's backward pass.
    """
    out: dict = {}
    state: dict = {p: None for p in params}
    for k in range(1, steps + 1):
        new = {}
        for p, value in params.items():
            new[p], state[p] = step(opt, value, grads[p], state[p], k, lr, arithmetic)
            for s, v in state[p].items():
                out[f"step{k}.{s}_{p}"] = v
            out[f"step{k}.{p}"] = new[p]
        params = new
        grads, report = evaluate(params)
        out.update((f"step{k}.{name}", v) for name, v in report.items())
    return out


def formulas(opt: Optimizer, params, lr, grad_name: Callable[[str], str]) -> dict:
    """The first step's formulas, per parameter its state then its value (dependency order).

    `grad_name(P)` is the name of P's gradient (`dl/dW1` for networks).
    """
    out = {}
    for p in params:
        out.update(KINDS[opt.name].formulas(opt, p, lr, N(grad_name(p))))
    return out


def direction(opt: Optimizer, g, arithmetic: Arithmetic = FLOATS):
    """The first step's move per unit learning rate (p₁ = p₀ − lr·direction): g for SGD and
    momentum, g/(|g| + eps) for Adam. The diagnosis reads a student's learning rate off it."""
    moved, _ = step(opt, arithmetic.num(Fraction(0)) * g, g, None, 1, Fraction(1), arithmetic)
    return -moved


def clash(opt: Optimizer, names) -> str | None:
    """A state quantity name that is also a parameter's name (v_W1 next to W1 and v_W1), if any."""
    names = set(names)
    return next((n for p in sorted(names) for n in state_names(opt, p) if n in names), None)


# ------------------------------------------------------------------ reading `train.optimizer`

def read(r, path: tuple = ("train", "optimizer")) -> Optimizer:
    """Validate `train.optimizer` (network and graph specs alike): `sgd`, `momentum`, `adam`,
    or a mapping of one name to its hyperparameters, `{adam: {beta1: 0.9, eps: 1e-8}}`.

    `r` is a spec reader (specread.Reader); every mistake is an InputError at its place
    (exit 2): an unknown optimizer or hyperparameter, or one out of range
    (0 ≤ mu < 1, 0 ≤ beta1, beta2 < 1, eps > 0).
    """
    from .specread import suggest

    raw = r.get(path)
    given: dict = {}
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise r.fail(path, "an optimizer mapping has exactly one key, its name: {momentum: {mu: 0.9}}")
        name = str(next(iter(raw)))
        if name not in KINDS:
            raise r.doc.key_error(path + (name,), f"unknown optimizer {name!r}{suggest(name, KINDS)}")
        params = raw[name]
        if params is not None and not isinstance(params, dict):
            raise r.fail(path + (name,), f"the parameters of {name} must be a mapping, e.g. "
                                         f"{_example(name)}")
        allowed = {k for k, _ in KINDS[name].defaults}
        for key in params or {}:
            if key not in allowed:
                hint = suggest(str(key), allowed) if allowed else " (sgd takes none)"
                raise r.doc.key_error(path + (name, key), f"unknown parameter {key!r} of {name}{hint}")
            value = r.number(path + (name, key))
            test, what = KINDS[name].ranges[key]
            if not test(value):
                raise r.fail(path + (name, key), f"{name}'s {key} must be {what}, not {_text(value)}")
            given[key] = value
    elif isinstance(raw, str):
        name = raw.strip()
        if name not in KINDS:
            raise r.fail(path, f"unknown optimizer {name[:40]!r}{suggest(name, KINDS)}")
    else:
        raise r.fail(path, "train.optimizer must be sgd, momentum, adam or a mapping such as "
                           "{adam: {beta1: 0.9, beta2: 0.999, eps: 1e-8}}")
    return make(name, **given)


def _example(name: str) -> str:
    return {"momentum": "{mu: 0.9}", "adam": "{beta1: 0.9, beta2: 0.999, eps: 1e-8}"}.get(name, "{}")
