"""Read a network spec's activations and its loss (FORMAT.md section 1).

A name (`relu`), a name with parameters (`{elu: {alpha: 0.5}}`) or an
elementwise formula in z for an activation; a loss type with its factor and
averaging, the hinge's margin, or a custom term in y_hat and y. Formulas are
parsed by the whitelisted formula grammar (never eval or sympify) and bounded
by `budget.check_formula`. Each check fails at the key it is about, with the
file, line and column (`specread.Reader.fail`).
"""

from __future__ import annotations

import re
from fractions import Fraction

from . import activations, budget, losses
from .formula_syntax import FormulaSyntaxError
from .formulas import FormulaError
from .specread import Matrix, Reader, suggest


def activation(r: Reader, path: tuple, g0: Fraction) -> activations.Activation:
    spec = r.get(path)
    params: dict = {}
    if isinstance(spec, dict):
        if len(spec) != 1:
            raise r.fail(path, "an activation mapping has exactly one key, its name: {relu: {scale: 5}}")
        name, raw = next(iter(spec.items()))
        if raw is not None and not isinstance(raw, dict):
            raise r.fail(path + (name,), f"parameters of {name!r} must be a mapping, e.g. {{scale: 5}}")
        params = {k: r.number(path + (name, k)) for k in (raw or {})}
    elif isinstance(spec, str):
        name = spec.strip()
        if name not in activations.KINDS and not re.fullmatch(r"[A-Za-z_]\w*", name):  # a formula
            try:
                act = activations.custom(name)
            except (FormulaSyntaxError, FormulaError, TypeError, RecursionError) as exc:
                raise r.fail(path, f"activation formula {name[:40]!r}: {_why(exc)} "
                                   "(write an elementwise formula in z, e.g. \"5*relu(z)\")") from None
            budget.check_formula(r.fail, path, act, f"activation formula {name[:40]!r}")
            return act
    else:
        raise r.fail(path, "activation must be a name such as relu, or a mapping {relu: {scale: 5}}")
    if name not in activations.KINDS:
        raise r.fail(path, f"unknown activation {name!r}{suggest(name, activations.KINDS)}")
    scale = params.pop("scale", Fraction(1))
    if scale == 0:
        raise r.fail(path, "scale 0 makes the layer output constant")
    if name == "softmax" and (scale != 1 or params):
        raise r.fail(path, "softmax takes no parameters and no scale")
    for key, value in params.items():
        if key in ("beta", "alpha") and value <= 0:
            raise r.fail(path + (name, key), f"{name}'s {key} must be positive")
        if key == "grad_at_zero" and not 0 <= value <= 1:
            raise r.fail(path + (name, key), "grad_at_zero must be between 0 and 1")
    if "grad_at_zero" in activations.KINDS[name].defaults:
        params.setdefault("grad_at_zero", g0)
    try:
        return activations.make(name, params, scale)
    except KeyError as exc:
        allowed = set(activations.KINDS[name].defaults) | {"scale"}
        raise r.fail(path, f"{name} has no parameter {exc.args[0]!r}{suggest(exc.args[0], allowed)}") from None


def _why(exc: Exception) -> str:
    return "nested too deeply for sympy" if isinstance(exc, RecursionError) else str(exc)


def loss(r: Reader, layers: tuple, y: Matrix) -> losses.Loss:
    raw = r.get(("loss",))
    if isinstance(raw, str):
        raw = {"type": raw}
    else:
        r.mapping(("loss",), {"type", "factor", "average", "term", "margin"})
    kind = str(raw.get("type", ""))
    if kind == "custom" or "term" in raw:
        term = _custom_loss(r, raw)
    elif kind not in losses.TYPES:
        raise r.fail(("loss",), f"unknown loss type {kind!r}; use one of {', '.join(losses.TYPES)}, "
                                "or custom with a term")
    factor = r.number(("loss", "factor")) if "factor" in raw else Fraction(1)
    if factor <= 0:
        raise r.fail(("loss", "factor"), "loss.factor must be positive")
    average = str(raw.get("average", "none"))
    if average not in losses.AVERAGES:
        raise r.fail(("loss", "average"), f"loss.average must be one of {', '.join(losses.AVERAGES)}")
    last = layers[-1].activation.name
    if last == "softmax" and len(y) == 1:
        raise r.fail(("network", "layers", len(layers) - 1, "activation"),
                     "softmax over a single output is always 1: use sigmoid for one output")
    if kind in ("bce", "cross_entropy"):
        if any(not 0 <= v <= 1 for row in y for v in row):
            raise r.fail(("data", "y"), f"{kind} needs targets between 0 and 1")
        need = ("sigmoid", "softmax") if kind == "bce" else ("softmax",)
        if last not in need or layers[-1].activation.scale != 1:
            raise r.fail(("loss",), f"{kind} needs outputs in (0, 1): the last activation must be "
                                    f"{' or '.join(need)}, not {layers[-1].activation.label()}")
    if kind == "cross_entropy":
        for n, column in enumerate(zip(*y)):
            if sum(column) != 1:
                raise r.fail(("data", "y"), f"cross_entropy targets must sum to 1 per sample; sample {n + 1} sums to {sum(column)}")
    if kind == "hinge" or "margin" in raw:
        return losses.Loss(_hinge(r, raw, y), factor, average)
    return losses.Loss(term if kind == "custom" or "term" in raw else losses.KINDS[kind], factor, average)


def _hinge(r: Reader, raw: dict, y: Matrix) -> losses.LossKind:
    """`{type: hinge, margin: 1}`: one-hot targets, two outputs or more, a margin ≥ 0."""
    if raw.get("type") != "hinge":
        raise r.fail(("loss", "margin"), "margin belongs to the hinge loss: {type: hinge, margin: 1}")
    margin = r.number(("loss", "margin")) if "margin" in raw else Fraction(1)
    if margin < 0:
        raise r.fail(("loss", "margin"), "loss.margin must not be negative")
    if len(y) < 2:
        raise r.fail(("data", "y"), "the multi-class hinge needs two outputs or more (one score per class)")
    for n, column in enumerate(zip(*y)):
        if sorted(column) != [0] * (len(column) - 1) + [1]:
            raise r.fail(("data", "y"), f"hinge targets must be one-hot per sample (one 1, the rest 0); "
                                        f"sample {n + 1} is {[str(v) for v in column]}")
    return losses.hinge(margin)


def _custom_loss(r: Reader, raw: dict) -> losses.LossKind:
    if str(raw.get("type", "custom")) != "custom" or "term" not in raw:
        raise r.fail(("loss",), "a custom loss is {type: custom, term: \"(y_hat - y)**2\"}")
    text = r.string(("loss", "term"), what="a formula in y_hat and y")
    try:
        kind = losses.custom(text)
    except (FormulaSyntaxError, FormulaError, TypeError, RecursionError) as exc:
        raise r.fail(("loss", "term"), f"loss term {text[:40]!r}: {_why(exc)}") from None
    budget.check_formula(r.fail, ("loss", "term"), kind, f"loss term {text[:40]!r}")
    return kind
