"""Check every number `bpcheck solve` prints against PyTorch autograd (float64).

For each problem spec (default: problems/*.yaml next to this script) it runs
`bpcheck solve P --format json`, rebuilds the network in torch float64 from
the spec alone, independently of bpcheck's code (YAML read with
yaml.BaseLoader so every number stays a string, parsed with
fractions.Fraction), and compares each quantity bpcheck printed:

  z1 .. z{2L}, y_hat, loss           forward pass
  dl/dy_hat, dl/dz*                   tensor.retain_grad() on each forward value
  dl/dW*, dl/db*                      .grad of the parameters
  d{z|y_hat}/dz*                      torch.autograd.functional.jacobian (single sample only)
  step{k}.P, step{k}.loss             plain gradient descent at train.lr
  sample{n}.*                         the same on sample n alone (if bpcheck printed any)

The spec's numbers are exact, so a pre-activation that is exactly 0 sits on
a ReLU kink even where float64 makes it 1e-16. Where it can (z{2l-1} while
every earlier activation is identity/relu/leaky_relu), the reference computes
the pre-activations of the initial parameters in exact rationals and puts the
correctly rounded values into the torch graph (gradients unchanged); elsewhere,
and after the first training step, it prints a note when a kinked activation
sees an input within 1e-12 of 0.

Two numbers agree when |a - b| <= 1e-9 * max(|a|, |b|) + 1e-12 * M, with M the
largest magnitude in that quantity; shapes must match bpcheck's JSON exactly
(forward values in the data layout, flat lists for a flat single-sample input
or a per-sample quantity, flat biases). A quantity FORMAT.md section 2 defines
that bpcheck did not print is a mismatch too. One line per problem:
"ok: N quantities" or the mismatches; the exit code is 1 if any problem
mismatched or bpcheck failed on it.

torch is not a bpcheck dependency. Run it from a throwaway venv:

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 numpy pyyaml
    /tmp/torchvenv/bin/pip install -e .          # bpcheck itself, from the repo root
    /tmp/torchvenv/bin/python bench/verify_autodiff.py [SPEC.yaml ...]

The bpcheck executable used is the one next to the running interpreter (else
the one on PATH); --bpcheck overrides it.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import yaml

torch.set_default_dtype(torch.float64)

RTOL = 1e-9
ATOL_SCALE = 1e-12
KINKED = ("relu", "leaky_relu", "elu")


# ------------------------------------------------------------------ reading the spec

def num(text) -> Fraction:
    """A spec number (decimal, 1e-3, 3/4, 0.5/2) as an exact Fraction."""
    if not isinstance(text, str):
        raise ValueError(f"expected a number, got {text!r}")
    s = text.strip().replace("_", "")
    if "/" in s:
        a, b = s.split("/")
        return Fraction(a.strip()) / Fraction(b.strip())
    return Fraction(s)


def fractions(v):
    """Nested lists of spec numbers -> the same nesting of Fractions."""
    return [fractions(x) for x in v] if isinstance(v, list) else num(v)


def tensor(rows) -> torch.Tensor:
    """Nested lists of Fractions -> float64 tensor (each entry rounded once)."""
    return torch.tensor(_floats(rows), dtype=torch.float64)


def _floats(v):
    return [_floats(x) for x in v] if isinstance(v, list) else float(num(v))


class Spec:
    """The parts of a FORMAT.md spec the reference needs, in the columns layout."""

    def __init__(self, path: Path):
        with open(path, encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=yaml.BaseLoader)
        self.id = doc["id"]
        g0 = num(doc["relu_grad_at_zero"]) if "relu_grad_at_zero" in doc else Fraction(0)
        self.layers = []
        for raw in doc["network"]["layers"]:
            bias = raw.get("bias") or None
            self.layers.append((raw["weight"], bias, _activation(raw.get("activation", "identity"), g0)))
        params = doc["params"]
        self.weights = [w for w, _, _ in self.layers]
        self.biases = [b for _, b, _ in self.layers if b]
        self.params, self.exact_params = {}, {}
        for w, b, _ in self.layers:
            self.params[w] = tensor(params[w])
            self.exact_params[w] = fractions(params[w])
            if b:
                self.params[b] = tensor(params[b]).reshape(-1, 1)  # a column internally
                self.exact_params[b] = [[v] for v in fractions(params[b])]
        data = doc["data"]
        self.layout = data.get("layout", "columns")
        self.vector = not isinstance(data["x"][0], list)
        self.x = self._data(data["x"])
        self.y = self._data(data["y"])
        raw_x = data["x"] if isinstance(data["x"][0], list) else [[v] for v in data["x"]]
        raw_x = fractions(raw_x)
        self.exact_x = raw_x if self.layout == "columns" or self.vector else [list(c) for c in zip(*raw_x)]
        loss = doc["loss"]
        loss = {"type": loss} if isinstance(loss, str) else loss
        self.loss_type = loss["type"]
        self.factor = num(loss.get("factor", "1"))
        self.average = loss.get("average", "none")
        train = doc.get("train")
        self.lr = num(train["lr"]) if train else None
        self.steps = int(num(train.get("steps", "1"))) if train else 0

    def _data(self, raw) -> torch.Tensor:
        if not isinstance(raw[0], list):
            return tensor(raw).reshape(-1, 1)
        m = tensor(raw)
        return m if self.layout == "columns" else m.T.contiguous()

    @property
    def n_samples(self) -> int:
        return self.x.shape[1]


def _activation(spec, g0: Fraction) -> dict:
    """{'name', 'scale', params...} from `relu` or `{relu: {scale: 5}}`."""
    if isinstance(spec, dict):
        (name, raw), = spec.items()
        params = {k: num(v) for k, v in (raw or {}).items()} if isinstance(raw, dict) else {}
    else:
        name, params = spec.strip(), {}
    params.setdefault("scale", Fraction(1))
    if name in ("relu", "leaky_relu"):
        params.setdefault("grad_at_zero", g0)
    return {"name": name, **params}


# ------------------------------------------------------------------ the network in torch

def _with_slope_at_zero(value: torch.Tensor, z: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    """`value` with derivative `slope` (used only when a spec changes f'(0))."""
    return value.detach() + slope.detach() * (z - z.detach())


def activate(act: dict, z: torch.Tensor) -> torch.Tensor:
    name, scale = act["name"], float(act["scale"])
    F = torch.nn.functional
    if name == "identity":
        out = z
    elif name == "relu":
        g0 = float(act["grad_at_zero"])
        out = torch.relu(z)
        if g0 != 0:
            out = _with_slope_at_zero(out, z, torch.where(z > 0, 1.0, torch.where(z == 0, g0, 0.0)))
    elif name == "leaky_relu":
        slope, g0 = float(act.get("slope", Fraction(1, 100))), float(act["grad_at_zero"])
        out = F.leaky_relu(z, negative_slope=slope)
        if g0 != 0:
            at0 = slope + (1 - slope) * g0
            out = _with_slope_at_zero(out, z, torch.where(z > 0, 1.0, torch.where(z == 0, at0, slope)))
    elif name == "tanh":
        out = torch.tanh(z)
    elif name == "sigmoid":
        out = torch.sigmoid(z)
    elif name == "softplus":
        beta = float(act.get("beta", 1))
        out = torch.logaddexp(torch.zeros_like(z), beta * z) / beta  # no threshold cut-over
    elif name == "gelu":
        out = F.gelu(z)  # the exact erf form
    elif name == "elu":
        out = F.elu(z, alpha=float(act.get("alpha", 1)))
    elif name == "softmax":
        out = torch.softmax(z, dim=0)  # features are rows: one sample per column
    else:
        raise ValueError(f"unknown activation {name!r}")
    return out if scale == 1 else scale * out


def loss_of(spec: Spec, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if spec.loss_type == "mse":
        terms = (y_hat - y) ** 2
    elif spec.loss_type == "bce":
        terms = -(y * torch.log(y_hat) + (1 - y) * torch.log1p(-y_hat))
    elif spec.loss_type == "cross_entropy":
        terms = -y * torch.log(y_hat)
    else:
        raise ValueError(f"unknown loss {spec.loss_type!r}")
    k, n = y.shape
    divisor = {"none": 1, "samples": n, "outputs": k, "all": n * k}[spec.average]
    return float(spec.factor) * terms.sum() / divisor


RATIONAL = ("identity", "relu", "leaky_relu")  # map rationals to rationals


def _exact_activation(act: dict, v: Fraction) -> Fraction:
    if act["name"] == "identity":
        out = v
    elif act["name"] == "relu":
        out = max(v, Fraction(0))
    else:
        out = v if v > 0 else act.get("slope", Fraction(1, 100)) * v
    return act["scale"] * out


def exact_pre_activations(spec: Spec, column: int | None = None) -> list:
    """z{2l-1} in exact rational arithmetic (as float64 tensors), while it can be had.

    The spec's numbers are exact (FORMAT.md), so a pre-activation that is
    exactly 0 is at the kink even when float64 rounding makes it 1e-16; and the
    rounding can only be undone with exact arithmetic. That is possible for
    z{2l-1} as long as every activation before layer l maps rationals to
    rationals (identity, relu, leaky_relu); None for the layers after that.
    """
    a = spec.exact_x if column is None else [[row[column]] for row in spec.exact_x]
    out = []
    for w, b, act in spec.layers:
        if a is None:
            out.append(None)
            continue
        W = spec.exact_params[w]
        z = [[sum((W[i][k] * a[k][j] for k in range(len(a))), Fraction(0))
              + (spec.exact_params[b][i][0] if b else 0)
              for j in range(len(a[0]))] for i in range(len(W))]
        out.append(torch.tensor([[float(v) for v in row] for row in z], dtype=torch.float64))
        a = [[_exact_activation(act, v) for v in row] for row in z] if act["name"] in RATIONAL else None
    return out


def forward(spec: Spec, params: dict, x: torch.Tensor, y: torch.Tensor, exact: list | None = None):
    """Forward values and loss. With `exact`, each float pre-activation is replaced by its
    correctly rounded exact value (the graph, and so every gradient, is unchanged)."""
    values, a = {}, x
    for l, (w, b, act) in enumerate(spec.layers, start=1):
        z = params[w] @ a + (params[b] if b else 0)
        if exact is not None and exact[l - 1] is not None:
            z = z + (exact[l - 1] - z).detach()
        a = activate(act, z)
        values[f"z{2 * l - 1}"], values[f"z{2 * l}"] = z, a
    return values, loss_of(spec, a, y)


def one_pass(spec: Spec, params: dict, x: torch.Tensor, y: torch.Tensor, jacobians: bool,
             exact: list | None = None) -> tuple[dict, list]:
    """Forward values, loss, gradients and (if asked) local Jacobians, columns layout."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    values, loss = forward(spec, leaves, x, y, exact)
    for v in values.values():
        v.retain_grad()
    loss.backward()
    n_layers = len(spec.layers)
    out = {k: v.detach().clone() for k, v in values.items()}
    out["y_hat"] = out[f"z{2 * n_layers}"]
    out["loss"] = loss.detach().clone()
    for k, v in values.items():
        out[f"dl/d{k}"] = v.grad.detach().clone()
    out["dl/dy_hat"] = out[f"dl/dz{2 * n_layers}"]
    for k, v in leaves.items():
        out[f"dl/d{k}"] = v.grad.detach().clone()
    notes = []
    for l, (_, _, act) in enumerate(spec.layers, start=1):
        z = out[f"z{2 * l - 1}"]
        if act["name"] in KINKED and (exact is None or exact[l - 1] is None):
            near = (z != 0) & (z.abs() <= 1e-12 * max(1.0, float(z.abs().max())))
            if bool(near.any()):
                notes.append(f"z{2 * l - 1} has entries within 1e-12 of the kink at 0 "
                             f"(float64 rounding may pick the other side)")
    if jacobians:
        for l, (w, b, act) in enumerate(spec.layers, start=1):
            top = "y_hat" if l == n_layers else f"z{2 * l}"
            z = out[f"z{2 * l - 1}"]
            jac = torch.autograd.functional.jacobian(lambda t, act=act: activate(act, t), z)
            out[f"d{top}/dz{2 * l - 1}"] = jac.reshape(z.numel(), z.numel())
            if l > 1:
                a = out[f"z{2 * l - 2}"]
                bias = params[b] if b else 0
                jac = torch.autograd.functional.jacobian(lambda t, w=w, bias=bias: params[w] @ t + bias, a)
                out[f"dz{2 * l - 1}/dz{2 * l - 2}"] = jac.reshape(params[w].shape[0], a.numel())
    return out, notes


def train(spec: Spec) -> tuple[dict, list]:
    """Plain gradient descent. Only step 1 starts from exact parameters, so only its
    gradients get the exact pre-activations; later steps say when they pass near a kink."""
    out, notes, params = {}, [], {k: v.clone() for k, v in spec.params.items()}
    lr = float(spec.lr)
    for k in range(1, spec.steps + 1):
        exact = exact_pre_activations(spec) if k == 1 else None
        grads, step_notes = one_pass(spec, params, spec.x, spec.y, jacobians=False, exact=exact)
        notes += [f"step {k}: {m}" for m in step_notes]
        params = {name: value - lr * grads[f"dl/d{name}"] for name, value in params.items()}
        for name, value in params.items():
            out[f"step{k}.{name}"] = value
        with torch.no_grad():
            out[f"step{k}.loss"] = forward(spec, params, spec.x, spec.y)[1]
    return out, notes


# ------------------------------------------------------------------ shapes and comparison

def presented(spec: Spec, name: str, value: torch.Tensor, single_sample: bool):
    """Columns-layout tensor -> the shape bpcheck's JSON uses for `name`."""
    arr = value.detach().numpy()
    base = name.split(".", 1)[1] if name.startswith(("step", "sample")) and "." in name else name
    if base == "loss":
        return arr.reshape(())
    if "/" in base and not base.startswith("dl/"):
        return arr  # a local Jacobian: (out, in)
    target = base[4:] if base.startswith("dl/d") else base
    if target in spec.biases:
        return arr.reshape(-1)
    if target in spec.weights:
        return arr
    # a forward value or its gradient
    if spec.vector or single_sample:
        return arr.reshape(-1)
    return arr.T if spec.layout == "rows" else arr


def expected_names(spec: Spec) -> list[str]:
    """What FORMAT.md section 2 says `solve` prints for this problem (no sample{n}.)."""
    n = len(spec.layers)
    names = [f"z{i}" for i in range(1, 2 * n + 1)] + ["y_hat", "loss", "dl/dy_hat"]
    names += [f"dl/dz{i}" for i in range(2 * n - 1, 0, -1)]
    for w, b, _ in spec.layers:
        names += [f"dl/d{w}"] + ([f"dl/d{b}"] if b else [])
    if spec.n_samples == 1:
        for i in range(1, 2 * n):
            top = "y_hat" if i + 1 == 2 * n else f"z{i + 1}"
            names.append(f"d{top}/dz{i}")
    for k in range(1, spec.steps + 1):
        names += [f"step{k}.{p}" for p in spec.params] + [f"step{k}.loss"]
    return names


def compare(name: str, got, want) -> tuple[str | None, float]:
    """(None or a mismatch message, largest |a-b| / allowed) for bpcheck's `got` vs torch's `want`."""
    a = np.asarray(got, dtype=float)
    b = np.asarray(want, dtype=float)
    if a.shape != b.shape:
        return f"{name}: shape {list(a.shape)} from bpcheck, {list(b.shape)} from torch", math.inf
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        if np.array_equal(a, b, equal_nan=True):
            return None, 0.0
        return f"{name}: non-finite values: bpcheck {a.tolist()}, torch {b.tolist()}", math.inf
    scale = float(max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0)))
    bound = RTOL * np.maximum(np.abs(a), np.abs(b)) + ATOL_SCALE * scale
    diff = np.abs(a - b)
    with np.errstate(divide="ignore", invalid="ignore"):
        used = np.where(diff == 0, 0.0, diff / bound)
    worst = float(np.max(used, initial=0.0))
    bad = np.argwhere(np.atleast_1d(diff > bound))
    if bad.size == 0:
        return None, worst
    if a.ndim == 0:
        return (f"{name}: bpcheck {float(a)!r}, torch {float(b)!r} "
                f"(rel {_rel(float(a), float(b)):.1e})"), worst
    i = tuple(bad[0])
    return (f"{name}{list(map(int, i))}: bpcheck {float(a[i])!r}, torch {float(b[i])!r} "
            f"(rel {_rel(float(a[i]), float(b[i])):.1e}; {len(bad)} of {a.size} entries differ)"), worst


def _rel(a: float, b: float) -> float:
    m = max(abs(a), abs(b))
    return abs(a - b) / m if m else 0.0


def reference(spec: Spec, names) -> tuple[dict, list]:
    """Every quantity in `names` (plus the unprefixed pass) from torch."""
    single = spec.n_samples == 1
    base, notes = one_pass(spec, spec.params, spec.x, spec.y, jacobians=single,
                           exact=exact_pre_activations(spec))
    ref = {k: presented(spec, k, v, False) for k, v in base.items()}
    if spec.lr is not None:
        steps, step_notes = train(spec)
        notes += step_notes
        ref.update({k: presented(spec, k, v, False) for k, v in steps.items()})
    samples = sorted({int(n.split(".")[0][6:]) for n in names
                      if n.startswith("sample") and n.split(".")[0][6:].isdigit()})
    for s in samples:
        if not 1 <= s <= spec.n_samples:
            continue
        x, y = spec.x[:, s - 1:s], spec.y[:, s - 1:s]
        sub, sub_notes = one_pass(spec, spec.params, x, y, jacobians=True,
                                  exact=exact_pre_activations(spec, s - 1))
        notes += [f"sample{s}: {m}" for m in sub_notes]
        ref.update({f"sample{s}.{k}": presented(spec, f"sample{s}.{k}", v, True) for k, v in sub.items()})
    return ref, notes


# ------------------------------------------------------------------ main

def bpcheck_executable(given: str | None) -> list[str]:
    if given:
        return [given]
    beside = Path(sys.executable).parent / "bpcheck"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("bpcheck")
    if not found:
        raise SystemExit("bpcheck is not installed in this environment (pip install -e <repo>)")
    return [found]


def check(path: Path, command: list[str]) -> tuple[bool, str]:
    proc = subprocess.run(command + ["solve", str(path), "--format", "json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return False, f"bpcheck exited {proc.returncode}: {proc.stderr.strip()}"
    printed = json.loads(proc.stdout)["quantities"]
    spec = Spec(path)
    ref, notes = reference(spec, printed)
    problems, worst = [], 0.0
    for name, value in printed.items():
        if name not in ref:
            problems.append(f"{name}: printed by bpcheck, but the reference does not define it")
            continue
        msg, used = compare(name, value, ref[name])
        worst = max(worst, used)
        if msg:
            problems.append(msg)
    for name in expected_names(spec):
        if name not in printed:
            problems.append(f"{name}: FORMAT.md defines it for this problem, bpcheck did not print it")
    suffix = "".join(f"\n    note: {n}" for n in notes)
    if problems:
        return False, f"MISMATCH ({len(problems)} of {len(printed)} quantities):" + "".join(
            f"\n    {p}" for p in problems) + suffix
    return True, f"ok: {len(printed)} quantities (worst error {worst:.2g} x tolerance)" + suffix


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", nargs="*", type=Path,
                        help="problem specs (default: problems/*.yaml of this repository)")
    parser.add_argument("--bpcheck", help="the bpcheck executable to test")
    args = parser.parse_args()
    specs = args.specs or sorted((Path(__file__).resolve().parent.parent / "problems").glob("*.yaml"))
    if not specs:
        print("no problem specs found", file=sys.stderr)
        return 2
    command = bpcheck_executable(args.bpcheck)
    print(f"torch {torch.__version__}, float64; tolerance |a-b| <= {RTOL:g}*max(|a|,|b|) + "
          f"{ATOL_SCALE:g}*max|quantity|")
    failed = 0
    for path in specs:
        try:
            ok, line = check(path, command)
        except Exception as exc:  # noqa: BLE001 - report and go on with the other specs
            ok, line = False, f"reference failed: {type(exc).__name__}: {exc}"
        failed += not ok
        print(f"{path.name}: {line}")
    print(f"{len(specs) - failed} of {len(specs)} problems agree with torch autograd")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
