"""Read and validate a problem spec (FORMAT.md sections 1 and 2).

Validation happens once, up front, and stops at the first problem with a
message naming the file, line and column. The result is an immutable
`Problem` whose data is always in the columns layout internally (features ×
samples); `layout` and `vector` remember how the user wrote it, so that
output goes back in the user's shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path


from . import activations, budget, losses, optimizers, specread, variant_spec
from .budget import MAX_WORK, work_per_pass  # noqa: F401 (the spec's limits, read from here too)
from .formula_syntax import FormulaSyntaxError
from .formula_syntax import FUNCTIONS as _FUNCTION_NAMES
from .formulas import FormulaError
from .quantities import Structure, UnknownQuantity, base_names, canonical, normalise_name
from .specread import (FORMS, MAX_DIM, MAX_ENTRIES, MAX_MAGNITUDE, MAX_SAMPLES,  # noqa: F401 (read from here too)
                       MAX_STEPS, MIN_MAGNITUDE, QUESTION_KEYS, TOLERANCE_KEYS, Matrix, Question,
                       file_digest, stamp_digest)
from .specread import IDENT as _IDENT
from .specread import Reader as _Reader
from .specread import suggest as _suggest
from .yamlsource import Document, parse, read_text

MAX_LAYERS = 16
RESERVED = {"x", "y", "N", "K", "loss", "y_hat", "yhat", "pi", "e", "T"}

TOP_KEYS = {"bpcheck", "id", "title", "description", "network", "params", "data", "loss",
            "train", "tolerance", "questions", "names", "relu_grad_at_zero", "sha256", "random",
            *specread.OPTION_KEYS}

@dataclass(frozen=True)
class Layer:
    weight: str
    bias: str | None
    activation: activations.Activation


MAX_CANONICAL_CACHED = 4096  # spellings per problem


@dataclass(frozen=True)
class Problem:
    file: str
    id: str
    title: str
    layers: tuple
    params: dict  # name -> Matrix (weights: out × in; biases: out × 1)
    x: Matrix  # in × N
    y: Matrix  # out × N
    layout: str
    vector: bool  # x was written as a flat list (one sample)
    loss: losses.Loss
    lr: Fraction | None
    steps: int
    tolerance: dict
    questions: tuple
    names: dict  # alias -> canonical
    display: dict  # canonical -> alias
    options: dict = field(default_factory=dict)  # partial, ecf, ... (grading)
    sha256: str | None = None
    digest: str = ""
    optimizer: optimizers.Optimizer = optimizers.SGD  # train.optimizer (FORMAT.md section 6)
    random: variant_spec.Randomness | None = None  # per-student variants (FORMAT.md section 7)

    @property
    def n_samples(self) -> int:
        return len(self.x[0])

    @property
    def structure(self) -> Structure:
        return Structure(tuple(l.weight for l in self.layers), tuple(l.bias for l in self.layers),
                         self.n_samples, self.steps if self.lr is not None else 0,
                         self.optimizer.state if self.lr is not None else ())

    @property
    def rows(self) -> bool:
        """Values are written one sample per row (a single flat sample is a column)."""
        return self.layout == "rows" and not self.vector

    @property
    def exact(self) -> bool:
        return all(l.activation.exact for l in self.layers) and self.loss.kind.exact

    def canonical(self, name: str) -> str:
        """The canonical name (UnknownQuantity if none), looked up once per spelling: grading a
        class asks for the same few spellings thousands of times."""
        known = self.__dict__.setdefault("_canonical", {})  # a cache, not a field: frozen allows it
        if name not in known:
            if len(known) >= MAX_CANONICAL_CACHED:
                return canonical(name, self.structure, self.names)
            try:
                known[name] = canonical(name, self.structure, self.names)
            except UnknownQuantity as exc:
                known[name] = (exc.name, exc.suggestion)  # raised anew each time, with its own traceback
        found = known[name]
        if isinstance(found, tuple):
            raise UnknownQuantity(*found)
        return found


def load_problem(path: str | Path):
    """Load and validate a problem file."""
    text = read_text(path)
    return _build(parse(text, str(path)), text)


def parse_problem(text: str, file: str = "<string>"):
    return _build(parse(text, file), text)


# ------------------------------------------------------------------ helpers

def _transpose(m: Matrix) -> Matrix:
    return tuple(zip(*m))


def _shape(m: Matrix) -> str:
    return f"{len(m)}×{len(m[0])}"


# ------------------------------------------------------------------ sections

def _build(doc: Document, text: str):
    r = _Reader(doc)
    if isinstance(doc.data, dict) and "bpcheck" not in doc.data:
        # Said before any key is named: an answers file may point `problem:` at any
        # file (/etc/shadow), and no message may quote what is not a spec of ours.
        raise doc.error((), "missing required key 'bpcheck': not a bpcheck problem spec "
                            "(a spec is a YAML mapping with 'bpcheck: 1')")
    if isinstance(doc.data, dict) and "graph" in doc.data:
        for key in ("network", "params"):
            if key in doc.data:
                raise doc.key_error((key,), f"a spec has either graph: or network: and params:, not both "
                                            f"(remove {key}: or graph:)")
        from . import graphspec  # late: graphspec reads its sections with this module's neighbours

        return graphspec.build(r, text)
    top = r.mapping((), TOP_KEYS)
    pid, title = specread.header(r, top, ("bpcheck", "id", "network", "params", "data", "loss"))
    g0 = r.number(("relu_grad_at_zero",)) if "relu_grad_at_zero" in top else Fraction(0)
    if not 0 <= g0 <= 1:
        raise r.fail(("relu_grad_at_zero",), "relu_grad_at_zero must be between 0 and 1")
    layers = _layers(r, g0)
    params = _params(r, layers)
    x, y, layout, vector = _data(r, layers, params)
    loss = _loss(r, layers, y)
    lr, steps, optimizer = _train(r, params)
    budget.check(r.fail, layers, params, len(x[0]), steps, loss)
    names, display = _names(r, layers, len(x[0]))
    tolerance = specread.tolerance(r, ("tolerance",)) if "tolerance" in top else {}
    options = specread.options(r)
    problem = Problem(
        file=doc.file, id=pid, title=title, layers=layers, params=params, x=x, y=y,
        layout=layout, vector=vector, loss=loss, lr=lr, steps=steps, tolerance=tolerance,
        questions=(), names=names, display=display, options=options,
        sha256=specread.sha256(r, text), digest=file_digest(text), optimizer=optimizer,
        random=variant_spec.for_network(r, text, params, len(layers)))
    questions = specread.questions(r, problem.canonical, _formula_free)
    return replace(problem, questions=questions)


def _activation(r: _Reader, path: tuple, g0: Fraction) -> activations.Activation:
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
        raise r.fail(path, f"unknown activation {name!r}{_suggest(name, activations.KINDS)}")
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
        raise r.fail(path, f"{name} has no parameter {exc.args[0]!r}{_suggest(exc.args[0], allowed)}") from None


def _why(exc: Exception) -> str:
    return "nested too deeply for sympy" if isinstance(exc, RecursionError) else str(exc)


def _layers(r: _Reader, g0: Fraction) -> tuple:
    r.mapping(("network",), {"layers"})
    raw = r.get(("network",)).get("layers")
    if not isinstance(raw, list) or not raw:
        raise r.fail(("network",), "network.layers must be a non-empty list of layers")
    if len(raw) > MAX_LAYERS:
        raise r.fail(("network", "layers"), f"{len(raw)} layers; the limit is {MAX_LAYERS}")
    layers, seen = [], set()
    for i in range(len(raw)):
        path = ("network", "layers", i)
        r.mapping(path, {"weight", "bias", "activation"})
        if "weight" not in raw[i]:
            raise r.fail(path, f"layer {i + 1} has no 'weight'")
        weight = r.string(path + ("weight",), _IDENT, "a parameter name such as W1")
        bias = r.string(path + ("bias",), _IDENT, "a parameter name such as b1") if raw[i].get("bias") else None
        for name, key in ((weight, "weight"), (bias, "bias")):
            if name and (name in RESERVED or re.fullmatch(r"z\d+", name) or name in _FUNCTION_NAMES):
                raise r.fail(path + (key,), f"{name!r} is a reserved name (a value or function of the "
                                            "formulas); call parameters W1, b1, ...")
            if name in seen:
                raise r.fail(path + (key,), f"parameter {name!r} is used by two layers")
            if name:
                seen.add(name)
        act = _activation(r, path + ("activation",), g0) if "activation" in raw[i] else activations.make("identity")
        if not act.kind.elementwise and i != len(raw) - 1:
            raise r.fail(path + ("activation",), f"{act.name} is allowed on the last layer only")
        layers.append(Layer(weight, bias, act))
    return tuple(layers)


def _params(r: _Reader, layers: tuple) -> dict:
    raw = r.mapping(("params",))
    named = {l.weight for l in layers} | {l.bias for l in layers if l.bias}
    for key in raw:
        if key not in named:
            raise r.doc.key_error(("params", key), f"parameter {key!r} is not used by any layer{_suggest(key, named)}")
    params, total, fan_in = {}, 0, None
    for i, layer in enumerate(layers):
        if layer.weight not in raw:
            raise r.fail(("params",), f"missing parameter {layer.weight!r} (the weight of layer {i + 1})")
        w = r.matrix(("params", layer.weight))
        total += len(w) * len(w[0])
        if total > MAX_ENTRIES:
            raise r.fail(("params", layer.weight), f"more than {MAX_ENTRIES} parameter entries")
        if fan_in is not None and len(w[0]) != fan_in:
            raise r.fail(("params", layer.weight),
                         f"{layer.weight} is {_shape(w)} but layer {i} outputs {fan_in} values: "
                         f"it must have {fan_in} columns (shape out×in)")
        params[layer.weight] = w
        if layer.bias:
            if layer.bias not in raw:
                raise r.fail(("params",), f"missing parameter {layer.bias!r} (the bias of layer {i + 1})")
            b = r.vector(("params", layer.bias))
            if len(b) != len(w):
                raise r.fail(("params", layer.bias),
                             f"{layer.bias} has {len(b)} entries but {layer.weight} has {len(w)} rows")
            params[layer.bias] = tuple((v,) for v in b)
        fan_in = len(w)
    return params


def _data_matrix(r: _Reader, key: str, layout: str, n_features: int, n_samples: int | None):
    """Read x or y; returns (features × N matrix, was_flat)."""
    path = ("data", key)
    if key not in r.get(("data",)):
        raise r.fail(("data",), f"missing data.{key}")
    value = r.get(path)
    if isinstance(value, list) and value and not isinstance(value[0], list):
        vec = r.vector(path)
        if len(vec) != n_features:
            raise r.fail(path, f"data.{key} has {len(vec)} entries; the network needs {n_features}")
        if n_samples not in (None, 1):
            raise r.fail(path, f"data.{key} is one sample but data.x has {n_samples}")
        return tuple((v,) for v in vec), True
    limits = (MAX_DIM, MAX_SAMPLES) if layout == "columns" else (MAX_SAMPLES, MAX_DIM)
    m = r.matrix(path, *limits)
    m = m if layout == "columns" else _transpose(m)
    want = "in×N" if key == "x" else "out×N"
    if len(m) != n_features:
        shape = _shape(m) if layout == "columns" else _shape(_transpose(m))
        expect = f"{n_features}×N" if layout == "columns" else f"N×{n_features}"
        raise r.fail(path, f"data.{key} is {shape} but the network needs {expect} "
                           f"({want} in the {layout} layout){' - transposed?' if len(m[0]) == n_features else ''}")
    if n_samples is not None and len(m[0]) != n_samples:
        raise r.fail(path, f"data.{key} has {len(m[0])} samples but data.x has {n_samples}")
    return m, False


def _data(r: _Reader, layers: tuple, params: dict):
    r.mapping(("data",), {"layout", "x", "y"})
    layout = str(r.get(("data",)).get("layout") or "columns")
    if layout not in ("columns", "rows"):
        raise r.fail(("data", "layout"), f"data.layout must be 'columns' or 'rows', not {layout!r}")
    n_in = len(params[layers[0].weight][0])
    n_out = len(params[layers[-1].weight])
    x, vector = _data_matrix(r, "x", layout, n_in, None)
    y, _ = _data_matrix(r, "y", layout, n_out, len(x[0]))
    return x, y, layout, vector


def _loss(r: _Reader, layers: tuple, y: Matrix) -> losses.Loss:
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


def _hinge(r: _Reader, raw: dict, y: Matrix) -> losses.LossKind:
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


def _custom_loss(r: _Reader, raw: dict) -> losses.LossKind:
    if str(raw.get("type", "custom")) != "custom" or "term" not in raw:
        raise r.fail(("loss",), "a custom loss is {type: custom, term: \"(y_hat - y)**2\"}")
    text = r.string(("loss", "term"), what="a formula in y_hat and y")
    try:
        kind = losses.custom(text)
    except (FormulaSyntaxError, FormulaError, TypeError, RecursionError) as exc:
        raise r.fail(("loss", "term"), f"loss term {text[:40]!r}: {_why(exc)}") from None
    budget.check_formula(r.fail, ("loss", "term"), kind, f"loss term {text[:40]!r}")
    return kind


def _train(r: _Reader, params: dict):
    train = specread.train(r)  # {"lr", "steps", "optimizer"} (the optimizer: FORMAT.md section 6)
    if train is None:
        return None, 0, optimizers.SGD
    optimizer = optimizers.read(r, ("train", "optimizer")) if train["optimizer"] is not None else optimizers.SGD
    clash = optimizers.clash(optimizer, params)
    if clash:
        raise r.fail(("train", "optimizer"), f"{optimizer.name} keeps a state {clash!r} for a parameter, "
                                             f"but {clash} is also a parameter's name: rename it")
    return train["lr"], train["steps"], optimizer


def _names(r: _Reader, layers: tuple, n_samples: int):
    n = len(layers)
    known = {f"z{i}" for i in range(1, 2 * n + 1)} | {"y_hat", "x", "y"}
    known |= {l.weight for l in layers} | {l.bias for l in layers if l.bias}
    # gradients and local Jacobians may have aliases too (dl/dz3: delta_2), spelled as students do
    structure = Structure(tuple(l.weight for l in layers), tuple(l.bias for l in layers), n_samples)
    others = set(base_names(structure)) - known

    def quantity(key: str) -> str | None:
        name = normalise_name(key)
        return name if name in others else None

    return specread.names(r, known, lambda alias: alias in RESERVED or bool(re.fullmatch(r"z\d+", alias))
                          or alias in _FUNCTION_NAMES, "this network", quantity)


def _formula_free(name: str) -> bool:
    """Quantities that have no formula form: per-sample ones, and steps past the first."""
    return name.startswith("sample") or bool(re.match(r"step([2-9]|\d\d)", name)) or name == "step1.loss"
