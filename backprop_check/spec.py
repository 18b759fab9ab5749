"""Read and validate a problem spec (FORMAT.md sections 1 and 2).

Validation happens once, up front, and stops at the first problem with a
message naming the file, line and column. The result is an immutable
`Problem` whose data is always in the columns layout internally (features ×
samples); `layout` and `vector` remember how the user wrote it, so that
output goes back in the user's shapes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import sympy as sp

from . import activations, budget, losses
from .budget import MAX_WORK, work_per_pass  # noqa: F401 (the spec's limits, read from here too)
from .errors import InputError
from .exact import NumberError, parse_number
from .formula_syntax import FormulaSyntaxError
from .formulas import FUNCTIONS as _FUNCTION_NAMES
from .formulas import FormulaError
from .quantities import Structure, UnknownQuantity, canonical
from .yamlsource import Document, parse, read_text

MAX_LAYERS = 16
MAX_DIM = 1024
MAX_SAMPLES = 4096
MAX_ENTRIES = 500_000
MAX_STEPS = 50
MAX_MAGNITUDE = 10 ** 6  # any number in a spec (deep nets can still overflow: solve checks)
MIN_MAGNITUDE = Fraction(1, 10 ** 300)  # smaller nonzero numbers underflow in float64 (to 0 near 1e-324)
RESERVED = {"x", "y", "N", "K", "loss", "y_hat", "yhat", "pi", "e", "T"}

TOP_KEYS = {"bpcheck", "id", "title", "description", "network", "params", "data", "loss",
            "train", "tolerance", "questions", "names", "relu_grad_at_zero", "sha256",
            "partial", "ecf", "ecf_share", "rounding_credit"}
TOLERANCE_KEYS = {"rtol", "atol", "sigfigs", "decimals"}
QUESTION_KEYS = {"quantity", "points", "tolerance", "form", "partial", "ecf", "ecf_share"}
FORMS = ("value", "expression", "any")
_ID = re.compile(r"[a-z0-9._-]+")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")

Matrix = tuple  # tuple of row tuples of Fraction


@dataclass(frozen=True)
class Layer:
    weight: str
    bias: str | None
    activation: activations.Activation


@dataclass(frozen=True)
class Question:
    quantity: str  # canonical
    points: Fraction = Fraction(1)
    tolerance: dict | None = None
    form: str = "value"
    partial: str | None = None
    ecf: bool | None = None
    ecf_share: Fraction | None = None
    position: tuple = (None, None)


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

    @property
    def n_samples(self) -> int:
        return len(self.x[0])

    @property
    def structure(self) -> Structure:
        return Structure(tuple(l.weight for l in self.layers), tuple(l.bias for l in self.layers),
                         self.n_samples, self.steps if self.lr is not None else 0)

    @property
    def rows(self) -> bool:
        """Values are written one sample per row (a single flat sample is a column)."""
        return self.layout == "rows" and not self.vector

    @property
    def exact(self) -> bool:
        return all(l.activation.exact for l in self.layers) and self.loss.kind.exact

    def canonical(self, name: str) -> str:
        return canonical(name, self.structure, self.names)


def load_problem(path: str | Path) -> Problem:
    """Load and validate a problem file."""
    text = read_text(path)
    return _build(parse(text, str(path)), text)


def file_digest(text: str) -> str:
    """The SHA-256 of a file's text: what grade --problem-sha256 pins."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stamp_digest(text: str) -> str:
    """The hash a spec's own `sha256:` records: the file without that line."""
    return file_digest("".join(line for line in text.splitlines(keepends=True)
                               if not re.match(r"sha256\s*:", line)))


def parse_problem(text: str, file: str = "<string>") -> Problem:
    return _build(parse(text, file), text)


# ------------------------------------------------------------------ helpers

class _Reader:
    """Typed access to a Document, raising InputError at the right place."""

    def __init__(self, doc: Document):
        self.doc = doc

    def fail(self, path: tuple, message: str) -> InputError:
        return self.doc.error(path, message)

    def get(self, path: tuple) -> Any:
        node = self.doc.data
        for key in path:
            node = node[key]
        return node

    def mapping(self, path: tuple, allowed: set | None = None) -> dict:
        value = self.get(path)
        if not isinstance(value, dict):
            raise self.fail(path, f"{_label(path)} must be a mapping")
        for key in value:
            if allowed is not None and key not in allowed:
                hint = _suggest(key, allowed)
                raise self.doc.key_error(path + (key,), f"unknown key {key!r} in {_label(path)}{hint}")
        return value

    def number(self, path: tuple) -> Fraction:
        try:
            value = parse_number(self.get(path))
        except NumberError as exc:
            raise self.fail(path, f"{_label(path)}: {exc}") from None
        if abs(value) > MAX_MAGNITUDE:
            raise self.fail(path, f"{_label(path)}: {str(self.get(path))[:40]} is too large (the limit is "
                                  f"{MAX_MAGNITUDE:g} in size, so that float64 cannot overflow)")
        if value and abs(value) < MIN_MAGNITUDE:
            # float64 would hold it inexactly or as 0, and a kink beside it would split the engines
            raise self.fail(path, f"{_label(path)}: {str(self.get(path))[:40]} is too small (a nonzero "
                                  "number must be at least 1e-300 in size, so that float64 holds it; "
                                  "write 0 for zero)")
        return value

    def integer(self, path: tuple, low: int, high: int) -> int:
        value = self.number(path)
        if value.denominator != 1 or not low <= value <= high:
            raise self.fail(path, f"{_label(path)} must be a whole number from {low} to {high}")
        return int(value)

    def boolean(self, path: tuple) -> bool:
        value = str(self.get(path)).lower()
        if value in ("true", "yes", "on"):
            return True
        if value in ("false", "no", "off"):
            return False
        raise self.fail(path, f"{_label(path)} must be true or false")

    def string(self, path: tuple, pattern: re.Pattern | None = None, what: str = "") -> str:
        value = self.get(path)
        if not isinstance(value, str) or (pattern and not pattern.fullmatch(value)):
            raise self.fail(path, f"{_label(path)} must be {what or 'a string'}")
        return value

    def vector(self, path: tuple, limit: int = MAX_DIM) -> tuple:
        value = self.get(path)
        if not isinstance(value, list) or not value or any(isinstance(v, (list, dict)) for v in value):
            raise self.fail(path, f"{_label(path)} must be a non-empty flat list of numbers")
        if len(value) > limit:
            raise self.fail(path, f"{_label(path)} has {len(value)} entries; the limit is {limit}")
        return tuple(self.number(path + (i,)) for i in range(len(value)))

    def matrix(self, path: tuple, max_rows: int = MAX_DIM, max_cols: int = MAX_DIM) -> Matrix:
        value = self.get(path)
        if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
            raise self.fail(path, f"{_label(path)} must be a nested list (a list of rows)")
        if len(value) > max_rows:
            raise self.fail(path, f"{_label(path)} has {len(value)} rows; the limit is {max_rows}")
        rows = tuple(self.vector(path + (i,), max_cols) for i in range(len(value)))
        for i, row in enumerate(rows):
            if len(row) != len(rows[0]):
                raise self.fail(path + (i,), f"{_label(path)} row {i + 1} has {len(row)} entries, "
                                             f"row 1 has {len(rows[0])}: rows must be equally long")
        return rows


def _label(path: tuple) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else ("." if parts else "") + str(p))
    return "".join(parts) or "the document"


def _suggest(key: str, allowed) -> str:
    import difflib
    close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f" (allowed: {', '.join(sorted(allowed))})"


def _transpose(m: Matrix) -> Matrix:
    return tuple(zip(*m))


def _shape(m: Matrix) -> str:
    return f"{len(m)}×{len(m[0])}"


# ------------------------------------------------------------------ sections

def _build(doc: Document, text: str) -> Problem:
    r = _Reader(doc)
    if isinstance(doc.data, dict) and "bpcheck" not in doc.data:
        # Said before any key is named: an answers file may point `problem:` at any
        # file (/etc/shadow), and no message may quote what is not a spec of ours.
        raise doc.error((), "missing required key 'bpcheck': not a bpcheck problem spec "
                            "(a spec is a YAML mapping with 'bpcheck: 1')")
    top = r.mapping((), TOP_KEYS)
    for key in ("bpcheck", "id", "network", "params", "data", "loss"):
        if key not in top:
            raise r.fail((), f"missing required key {key!r}")
    if str(top["bpcheck"]).strip() != "1":
        raise r.fail(("bpcheck",), f"unsupported format version {top['bpcheck']!r}; this bpcheck reads version 1")
    pid = r.string(("id",), _ID, "an id of lower-case letters, digits, '.', '_' or '-'")
    title = r.string(("title",)) if "title" in top else pid
    g0 = r.number(("relu_grad_at_zero",)) if "relu_grad_at_zero" in top else Fraction(0)
    if not 0 <= g0 <= 1:
        raise r.fail(("relu_grad_at_zero",), "relu_grad_at_zero must be between 0 and 1")
    layers = _layers(r, g0)
    params = _params(r, layers)
    x, y, layout, vector = _data(r, layers, params)
    loss = _loss(r, layers, y)
    lr, steps = _train(r)
    budget.check(r.fail, layers, params, len(x[0]), steps, loss)
    names, display = _names(r, layers)
    tolerance = _tolerance(r, ("tolerance",)) if "tolerance" in top else {}
    problem = Problem(
        file=doc.file, id=pid, title=title, layers=layers, params=params, x=x, y=y,
        layout=layout, vector=vector, loss=loss, lr=lr, steps=steps, tolerance=tolerance,
        questions=(), names=names, display=display, options=_options(r),
        sha256=r.string(("sha256",), re.compile(r"[0-9a-f]{64}"), "64 hex digits") if "sha256" in top else None,
        digest=file_digest(text))
    if problem.sha256 and stamp_digest(text) != problem.sha256:
        raise r.fail(("sha256",), "the spec's sha256 does not match its content: the file was changed "
                                  "(bpcheck hash prints the right one)")
    questions = _questions(r, problem)
    return Problem(**{**problem.__dict__, "questions": questions})


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
                _compiles(act)
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


def _compiles(act: activations.Activation) -> None:
    """The exact engine can evaluate the formula and sympy's derivative of it (else TypeError)."""
    from .engines import symbolic

    symbolic.compile_expr(act.sympy_expr(), (activations.Z,))
    symbolic.compile_expr(act.sympy_derivative(), (activations.Z,))


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
        r.mapping(("loss",), {"type", "factor", "average", "term"})
    kind = str(raw.get("type", ""))
    if kind == "custom" or "term" in raw:
        term = _custom_loss(r, raw)
    elif kind not in losses.KINDS:
        raise r.fail(("loss",), f"unknown loss type {kind!r}; use one of {', '.join(losses.KINDS)}, "
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
    return losses.Loss(term if kind == "custom" or "term" in raw else losses.KINDS[kind], factor, average)


def _custom_loss(r: _Reader, raw: dict) -> losses.LossKind:
    if str(raw.get("type", "custom")) != "custom" or "term" not in raw:
        raise r.fail(("loss",), "a custom loss is {type: custom, term: \"(y_hat - y)**2\"}")
    text = r.string(("loss", "term"), what="a formula in y_hat and y")
    try:
        kind = losses.custom(text)
        from .engines import symbolic

        symbols = (losses.YH, losses.Y)
        symbolic.compile_expr(kind.sympy_term, symbols)
        symbolic.compile_expr(sp.diff(kind.sympy_term, losses.YH), symbols)
    except (FormulaSyntaxError, FormulaError, TypeError, RecursionError) as exc:
        raise r.fail(("loss", "term"), f"loss term {text[:40]!r}: {_why(exc)}") from None
    budget.check_formula(r.fail, ("loss", "term"), kind, f"loss term {text[:40]!r}")
    return kind


def _train(r: _Reader):
    if "train" not in r.doc.data:
        return None, 0
    raw = r.mapping(("train",), {"lr", "steps"})
    if "lr" not in raw:
        raise r.fail(("train",), "train needs a learning rate 'lr'")
    lr = r.number(("train", "lr"))
    if lr <= 0:
        raise r.fail(("train", "lr"), "train.lr must be positive")
    steps = r.integer(("train", "steps"), 1, MAX_STEPS) if "steps" in raw else 1
    return lr, steps


def _names(r: _Reader, layers: tuple):
    if "names" not in r.doc.data:
        return {}, {}
    raw = r.mapping(("names",))
    n = len(layers)
    known = {f"z{i}" for i in range(1, 2 * n + 1)} | {"y_hat", "x", "y"}
    known |= {l.weight for l in layers} | {l.bias for l in layers if l.bias}
    aliases, display = {}, {}
    for key, alias in raw.items():
        if key not in known:
            raise r.doc.key_error(("names", key), f"names: {key!r} is not a value of this network{_suggest(key, known)}")
        alias = r.string(("names", key), _IDENT, "a plain name such as S1")
        if alias in known or alias in aliases or alias in RESERVED or re.fullmatch(r"z\d+", alias) \
                or alias in _FUNCTION_NAMES:
            raise r.fail(("names", key), f"alias {alias!r} is already a name of this network")
        aliases[alias] = key
        display[key] = alias
    return aliases, display


def _tolerance(r: _Reader, path: tuple) -> dict:
    raw = r.mapping(path, TOLERANCE_KEYS)
    out: dict = {}
    for key in raw:
        if key in ("sigfigs", "decimals"):
            out[key] = r.integer(path + (key,), 1 if key == "sigfigs" else 0, 15)
        else:
            value = r.number(path + (key,))
            if value < 0:
                raise r.fail(path + (key,), f"{key} must not be negative")
            out[key] = value
    if "sigfigs" in out and "decimals" in out:
        raise r.fail(path, "use sigfigs or decimals, not both")
    return out


def _options(r: _Reader) -> dict:
    top = r.doc.data
    out: dict = {}
    if "partial" in top:
        out["partial"] = r.string(("partial",), re.compile(r"entries|none"), "'entries' or 'none'")
    if "ecf" in top:
        out["ecf"] = r.boolean(("ecf",))
    for key in ("ecf_share", "rounding_credit"):
        if key in top:
            out[key] = _share(r, (key,))
    return out


def _share(r: _Reader, path: tuple) -> Fraction:
    value = r.number(path)
    if not 0 <= value <= 1:
        raise r.fail(path, f"{path[-1]} must be between 0 and 1")
    return value


def _questions(r: _Reader, problem: Problem) -> tuple:
    if "questions" not in r.doc.data:
        return ()
    raw = r.get(("questions",))
    if not isinstance(raw, list):
        raise r.fail(("questions",), "questions must be a list of {quantity: ..., points: ...}")
    out, seen = [], set()
    for i in range(len(raw)):
        path = ("questions", i)
        q = r.mapping(path, QUESTION_KEYS)
        if "quantity" not in q:
            raise r.fail(path, f"question {i + 1} has no 'quantity'")
        try:
            name = problem.canonical(str(q["quantity"]))
        except UnknownQuantity as exc:
            raise r.fail(path + ("quantity",), str(exc)) from None
        if name in seen:
            raise r.fail(path + ("quantity",), f"{name} is asked twice")
        seen.add(name)
        points = r.number(path + ("points",)) if "points" in q else Fraction(1)
        if points < 0 or points > 10_000:
            raise r.fail(path + ("points",), "points must be between 0 and 10000")
        form = str(q.get("form", "value"))
        if form not in FORMS:
            raise r.fail(path + ("form",), f"form must be one of {', '.join(FORMS)}")
        if form == "expression" and (name.startswith("sample") or re.match(r"step([2-9]|\d\d)", name)
                                     or name == "step1.loss"):
            raise r.fail(path + ("form",), f"{name} has no formula form; ask for its value")
        out.append(Question(
            quantity=name, points=points, form=form,
            tolerance=_tolerance(r, path + ("tolerance",)) if "tolerance" in q else None,
            partial=r.string(path + ("partial",), re.compile(r"entries|none"), "'entries' or 'none'") if "partial" in q else None,
            ecf=r.boolean(path + ("ecf",)) if "ecf" in q else None,
            ecf_share=_share(r, path + ("ecf_share",)) if "ecf_share" in q else None,
            position=r.doc.where(path)))
    return tuple(out)
