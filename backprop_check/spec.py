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


from . import activations, budget, losses, optimizers, spec_functions, specread, variant_spec
from .budget import MAX_WORK, work_per_pass  # noqa: F401 (the spec's limits, read from here too)
from .formula_syntax import FUNCTIONS as _FUNCTION_NAMES
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

def is_graph(problem) -> bool:
    """Whether `problem` is a computation-graph problem (FORMAT.md section 5), not a layered network."""
    return getattr(problem, "graph", None) is not None


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
    loss = spec_functions.loss(r, layers, y)
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
        act = spec_functions.activation(r, path + ("activation",), g0) if "activation" in raw[i] else activations.make("identity")
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
