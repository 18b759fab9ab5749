"""Floor programs: the cheapest programs doing bpcheck's jobs, to measure bpcheck against.

Each is python + numpy + PyYAML + a float64 forward and backward pass + JSON, and
nothing of bpcheck: no exact engine, no cross-checks, no formula answers (a formula
counts as invalid here), no diagnosis of mistakes. They read the network specs of
FORMAT.md section 1 as far as the benchmarks need: layers with identity, relu (with
scale), leaky_relu, tanh, sigmoid and softmax; losses mse, bce and cross_entropy with
factor and average; layouts columns and rows; SGD steps; local Jacobians for one
sample; aliases from names:; tolerances rtol/atol (bpcheck's defaults otherwise).

    python bench/floors.py grade ANSWERS PROBLEM      # one answers file: JSON scores
    python bench/floors.py solve PROBLEM              # every quantity as JSON
    python bench/floors.py class PROBLEM FILE_OR_DIR  # grade many files in this process;
                                                      # files/s on standard error
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def num(value) -> float:
    """A spec or answer number: YAML number, or a string holding a decimal or a fraction."""
    if isinstance(value, str) and "/" in value:
        top, bottom = value.split("/")
        return float(top) / float(bottom)
    return float(value)


def array(value) -> np.ndarray:
    if isinstance(value, list):
        return np.array([array(v) for v in value], dtype=float) if value else np.zeros(0)
    return np.float64(num(value))


# ---------------------------------------------------------------- activations: f(z) and the backward step

def _activation(spec):
    """(f(z), the backward step from dl/da to dl/dz, f'(z) elementwise or None for softmax)."""
    name, opts = (spec, {}) if isinstance(spec, str) else next(iter(spec.items()))
    opts = opts or {}
    if name == "identity":
        return lambda z: z, lambda z, a, g: g, lambda z, a: np.ones_like(z)
    if name in ("relu", "leaky_relu"):
        scale, slope = num(opts.get("scale", 1)), num(opts.get("slope", 0 if name == "relu" else 0.01))
        deriv = lambda z, a: np.where(z > 0, scale, slope * scale)
        return lambda z: z * deriv(z, None), lambda z, a, g: g * deriv(z, a), deriv
    if name == "tanh":
        deriv = lambda z, a: 1 - a * a
        return np.tanh, lambda z, a, g: g * deriv(z, a), deriv
    if name == "sigmoid":
        deriv = lambda z, a: a * (1 - a)
        return lambda z: 1 / (1 + np.exp(-z)), lambda z, a, g: g * deriv(z, a), deriv
    if name == "softmax":
        def forward(z):
            e = np.exp(z - z.max(axis=0))
            return e / e.sum(axis=0)
        return forward, lambda z, a, g: a * (g - (g * a).sum(axis=0)), None
    raise SystemExit(f"floor: activation {name} not supported")


# ---------------------------------------------------------------- forward, loss, backward (samples as columns)

def _loss(spec: dict, y_hat: np.ndarray, y: np.ndarray):
    """The loss and its gradient with respect to y_hat."""
    kind, factor = spec["type"], num(spec.get("factor", 1))
    k, n = y_hat.shape
    factor /= {"samples": n, "outputs": k, "all": n * k}.get(spec.get("average", "none"), 1)
    if kind == "mse":
        return factor * np.sum((y_hat - y) ** 2), factor * 2 * (y_hat - y)
    if kind == "bce":
        terms = -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
        return factor * np.sum(terms), factor * (y_hat - y) / (y_hat * (1 - y_hat))
    if kind == "cross_entropy":
        return factor * -np.sum(y * np.log(y_hat)), factor * -y / y_hat
    raise SystemExit(f"floor: loss {kind} not supported")


def backprop(layers: list, params: dict, x: np.ndarray, y: np.ndarray, loss: dict) -> dict:
    """Every forward value, the loss and every gradient, keyed by FORMAT.md section 2 names."""
    out, a = {}, x
    for i, layer in enumerate(layers):
        f = layer["act"][0]
        z = params[layer["weight"]] @ a
        if layer.get("bias"):
            z = z + params[layer["bias"]][:, None]
        a = f(z)
        out[f"z{2 * i + 1}"], out[f"z{2 * i + 2}"] = z, a
    out["y_hat"] = a
    out["loss"], g = _loss(loss, a, y)
    out["dl/dy_hat"] = g
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        g = layer["act"][1](out[f"z{2 * i + 1}"], out[f"z{2 * i + 2}"], g)
        out[f"dl/dz{2 * i + 1}"] = g
        below = out[f"z{2 * i}"] if i else x
        out[f"dl/d{layer['weight']}"] = g @ below.T
        if layer.get("bias"):
            out[f"dl/d{layer['bias']}"] = g.sum(axis=1)
        g = params[layer["weight"]].T @ g
        if i:
            out[f"dl/dz{2 * i}"] = g
    return out


def _jacobians(layers: list, params: dict, values: dict) -> dict:
    """Local Jacobians of a one-sample problem: dz2/dz1, dz3/dz2, ..., dy_hat/dz{2L-1}."""
    out, last = {}, len(layers) - 1
    for i, layer in enumerate(layers):
        z, a = values[f"z{2 * i + 1}"][:, 0], values[f"z{2 * i + 2}"][:, 0]
        deriv = layer["act"][2]
        jac = np.diag(a) - np.outer(a, a) if deriv is None else np.diag(deriv(z, a))
        top = "y_hat" if i == last else f"z{2 * i + 2}"
        out[f"d{top}/dz{2 * i + 1}"] = jac
        if i < last:
            out[f"dz{2 * i + 3}/dz{2 * i + 2}"] = params[layers[i + 1]["weight"]]
    return out


def solve(spec: dict) -> dict:
    """Every quantity of a network spec, in the data's layout (one sample: flat vectors)."""
    layers = [dict(layer, act=_activation(layer.get("activation", "identity"))) for layer in spec["network"]["layers"]]
    params = {name: array(value) for name, value in spec["params"].items()}
    data = spec["data"]
    rows = data.get("layout", "columns") == "rows"
    x, y = array(data["x"]), array(data["y"])
    one = x.ndim == 1
    x, y = (x[:, None], y[:, None]) if one else ((x.T, y.T) if rows else (x, y))
    out = backprop(layers, params, x, y, spec["loss"])
    if one:
        out.update(_jacobians(layers, params, out))
    train = spec.get("train") or {}
    for step in range(1, int(train.get("steps", 0)) + 1):
        grads = backprop(layers, params, x, y, spec["loss"]) if step > 1 else out
        params = {p: v - num(train["lr"]) * grads[f"dl/d{p}"] for p, v in params.items()}
        out.update({f"step{step}.{p}": v for p, v in params.items()})
        out[f"step{step}.loss"] = backprop(layers, params, x, y, spec["loss"])["loss"]
    for name, value in out.items():
        if name.startswith(("z", "y_hat", "dl/dz", "dl/dy_hat")):  # values laid out like the data
            out[name] = value.ravel() if one else (value.T if rows else value)
    return out


# ---------------------------------------------------------------- grading

def _canonical(name: str, aliases: dict) -> str:
    """An answer's name with aliases from names: replaced (dl/dS1 means dl/dz1)."""
    if "/d" in name and name.startswith("d"):
        top, bottom = name[1:].split("/d", 1)
        return f"d{_canonical(top, aliases)}/d{_canonical(bottom, aliases)}"
    return aliases.get(name, name)


def _matches(answer, truth: np.ndarray, rtol: float, atol) -> str:
    try:
        given = array(answer)
    except (TypeError, ValueError, ArithmeticError):
        return "invalid"
    if given.shape != truth.shape:
        if given.size != truth.size or max(truth.shape, default=1) != truth.size:
            return "invalid"
        given = given.reshape(truth.shape)  # a vector in either orientation
    bound = 1e-3 * float(np.max(np.abs(truth), initial=0)) if atol is None else atol
    return "correct" if np.allclose(given, truth, rtol=rtol, atol=bound) else "incorrect"


def grade(path: Path, spec: dict, truth: dict) -> dict:
    """One answers file's scores; unreadable files score 0 with an error."""
    result = {"file": str(path), "problem": spec["id"], "score": 0.0, "questions": []}
    questions = spec.get("questions") or [{"quantity": q} for q in truth]
    result["max_score"] = float(sum(num(q.get("points", 1)) for q in questions))
    try:
        body = yaml.load(path.read_bytes(), Loader=Loader)
        answers = body["answers"]
        answers = {_canonical(str(k), spec["aliases"]): v for k, v in answers.items()}
    except Exception as error:  # the floor's whole error handling: any unreadable file scores 0
        result["error"] = type(error).__name__
        return result
    result["student"] = str(body.get("student", path.stem))
    tol = spec.get("tolerance") or {}
    for q in questions:
        name, points = q["quantity"], num(q.get("points", 1))
        qtol = dict(tol, **(q.get("tolerance") or {}))
        status = "missing" if name not in answers else _matches(
            answers[name], truth[name], num(qtol.get("rtol", 5e-3)), num(qtol["atol"]) if "atol" in qtol else None)
        result["score"] += points if status == "correct" else 0.0
        result["questions"].append({"quantity": name, "score": points if status == "correct" else 0.0,
                                    "max_score": points, "status": status})
    return result


def load_problem(path: str) -> tuple[dict, dict]:
    spec = yaml.load(Path(path).read_bytes(), Loader=Loader)
    spec["aliases"] = {alias: name for name, alias in (spec.get("names") or {}).items()}
    return spec, solve(spec)


def _files(args: list[str]) -> list[Path]:
    found = []
    for arg in map(Path, args):
        found += sorted(p for p in arg.rglob("*") if p.is_file()) if arg.is_dir() else [arg]
    return found


def _jsonable(value):
    return value.tolist() if isinstance(value, np.ndarray) else float(value)


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "solve":
        spec, truth = load_problem(argv[1])
        json.dump({"problem": spec["id"], "quantities": {k: _jsonable(v) for k, v in truth.items()}}, sys.stdout)
    elif command == "grade":
        spec, truth = load_problem(argv[2])
        json.dump({"results": [grade(Path(argv[1]), spec, truth)]}, sys.stdout)
    elif command == "class":
        spec, truth = load_problem(argv[1])
        files = _files(argv[2:])
        start = time.process_time()
        results = [grade(path, spec, truth) for path in files]
        cpu = time.process_time() - start
        json.dump({"results": results}, sys.stdout)
        print(f"{len(files)} files in {cpu:.3f} s CPU = {len(files) / max(cpu, 1e-9):.0f} files/s", file=sys.stderr)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
