"""The two engines on random networks: agreement, finite differences, exactness, layouts.

Random `Case`s are drawn with hypothesis: depth 1-4, widths 1-5, batch 1-4,
elementwise activations anywhere and softmax allowed on the last layer, a loss
that fits the output (bce needs sigmoid or softmax, cross_entropy softmax and
one-hot targets), biases present or absent, parameters k/20.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from sympy import QQ

from backprop_check import activations as A
from backprop_check import crosscheck, solve, spec
from backprop_check.engines import Case, numeric, symbolic
from backprop_check.errors import InputError
from backprop_check.losses import AVERAGES, KINDS as LOSSES, Loss
from backprop_check.spec import Layer

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (name, params, scale) of the elementwise activations the cases draw from
ELEMENTWISE = [
    ("identity", {}, Fraction(1)),
    ("relu", {}, Fraction(1)),
    ("relu", {}, Fraction(2)),
    ("relu", {"grad_at_zero": Fraction(1, 2)}, Fraction(1)),
    ("leaky_relu", {}, Fraction(1)),
    ("leaky_relu", {"slope": Fraction(1, 10)}, Fraction(1)),
    ("tanh", {}, Fraction(1)),
    ("sigmoid", {}, Fraction(1)),
    ("softplus", {}, Fraction(1)),
    ("softplus", {"beta": Fraction(2)}, Fraction(1)),
    ("gelu", {}, Fraction(1)),
    ("elu", {}, Fraction(1)),
    ("elu", {"alpha": Fraction(1, 2)}, Fraction(1)),
]
EXACT = [c for c in ELEMENTWISE if c[0] in ("identity", "relu", "leaky_relu")] + [
    ("leaky_relu", {"slope": Fraction(1, 5)}, Fraction(3, 2))]
TRANSCENDENTAL = {"tanh", "sigmoid", "softplus", "gelu", "elu"}
# The numpy forms lose relative precision in the far tails (1 + tanh, 1 + erf cancel);
# random cases keep these pre-activations within ±5.
TAIL = 5.0


def _frac(k: int, d: int = 20) -> Fraction:
    return Fraction(k, d)


def _matrix(draw, rows: int, cols: int, lo: int, hi: int, d: int = 20) -> tuple:
    return tuple(tuple(_frac(draw(st.integers(lo, hi)), d) for _ in range(cols)) for _ in range(rows))


@st.composite
def cases(draw, kinds=ELEMENTWISE, softmax=True, max_depth=4, samples=(1, 4), depth=None, losses=None):
    depth = depth or draw(st.integers(1, max_depth))
    n = draw(st.integers(*samples))
    widths = [draw(st.integers(1, 5)) for _ in range(depth + 1)]  # widths[0] = inputs
    acts = []
    for l in range(depth):
        options = list(kinds) + ([("softmax", {}, Fraction(1))] if softmax and l == depth - 1 else [])
        name, params, scale = draw(st.sampled_from(options))
        acts.append(A.make(name, params, scale))
    last = acts[-1].name
    # bce on a one-wide softmax (constantly 1) is log(0), and the spec refuses it (test below)
    bce_ok = last == "sigmoid" or (last == "softmax" and widths[-1] > 1)
    allowed = ["mse"] + (["bce"] if bce_ok else []) + (["cross_entropy"] if last == "softmax" else [])
    kind = draw(st.sampled_from([k for k in allowed if losses is None or k in losses]))
    layers, params = [], {}
    for l in range(depth):
        w, b = f"W{l + 1}", (f"b{l + 1}" if draw(st.booleans()) else None)
        layers.append(Layer(w, b, acts[l]))
        params[w] = _matrix(draw, widths[l + 1], widths[l], -10, 10)
        if b:
            params[b] = _matrix(draw, widths[l + 1], 1, -10, 10)
    x = _matrix(draw, widths[0], n, -10, 10, 10)
    k = widths[-1]
    if kind == "mse":
        y = _matrix(draw, k, n, -20, 20)
    elif kind == "bce":
        y = _matrix(draw, k, n, 0, 20)
    else:
        hot = [draw(st.integers(0, k - 1)) for _ in range(n)]
        y = tuple(tuple(Fraction(int(hot[j] == i)) for j in range(n)) for i in range(k))
    factor = draw(st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(3, 4), Fraction(2)]))
    average = draw(st.sampled_from(AVERAGES))
    return Case(tuple(layers), params, x, y, Loss(LOSSES[kind], factor, average))


# ------------------------------------------------------------- our own forward

def _sig(t):
    return 1.0 / (1.0 + np.exp(-t))


_erf = np.vectorize(math.erf, otypes=[float])


def _act(act, z):
    """A textbook numpy activation, independent of the package's forms."""
    p, c = {k: float(v) for k, v in act.params}, float(act.scale)
    name = act.name
    if name == "identity":
        return c * z
    if name == "relu":
        return c * np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return c * np.where(z > 0, z, p["slope"] * z)
    if name == "tanh":
        return c * np.tanh(z)
    if name == "sigmoid":
        return c * _sig(z)
    if name == "softplus":
        return c * np.log(1.0 + np.exp(p["beta"] * z)) / p["beta"]
    if name == "gelu":
        return c * z * 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
    if name == "elu":
        return c * np.where(z > 0, z, p["alpha"] * (np.exp(np.minimum(z, 0.0)) - 1.0))
    if name == "softmax":
        e = np.exp(z - z.max(axis=0))
        return c * e / e.sum(axis=0)
    raise AssertionError(name)


def _arr(m) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in m], dtype=float)


def my_forward(case: Case, params: dict) -> tuple[float, list]:
    a = _arr(case.x)
    pres = []
    for layer in case.layers:
        z = params[layer.weight] @ a + (params[layer.bias] if layer.bias else 0.0)
        pres.append(z)
        a = _act(layer.activation, z)
    y = _arr(case.y)
    n, k = y.shape[1], y.shape[0]
    kind = case.loss.name
    if kind == "mse":
        terms = (a - y) ** 2
    elif kind == "bce":
        terms = -(y * np.log(a) + (1 - y) * np.log(1 - a))
    else:
        terms = -y * np.log(a)
    div = {"none": 1, "samples": n, "outputs": k, "all": n * k}[case.loss.average]
    return float(case.loss.factor) * float(np.sum(terms)) / div, pres


def _kinked(act) -> bool:
    return act.name in ("relu", "leaky_relu") or (act.name == "elu" and act.p["alpha"] != 1)


def _pattern(case, pres):
    return [np.sign(z) for layer, z in zip(case.layers, pres) if _kinked(layer.activation)]


def _in_range(case: Case) -> bool:
    """No transcendental pre-activation in the tails the numpy forms cannot hold."""
    _, pres = my_forward(case, {k: _arr(v) for k, v in case.params.items()})
    return all(np.all(np.abs(z) <= TAIL) for layer, z in zip(case.layers, pres)
               if layer.activation.name in TRANSCENDENTAL)


def _floats(v) -> np.ndarray:
    if hasattr(v, "to_list"):
        return np.array([[float(e) for e in row] for row in v.to_list()], dtype=float).reshape(v.shape)
    return np.asarray(float(v))


def assert_agree(name, a, b, rtol=1e-9, atol=1e-15):
    """Relative 1e-9; the floor (1e-12 × the largest entry, plus 1e-15 absolute, all
    numbers here being O(1)) absorbs float64 residues of entries that cancel to 0
    exactly, e.g. 1/20·(−3/10) + 3/20·(1/10) = 8.3e-19 with numpy's matmul."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape, (name, a.shape, b.shape)
    floor = atol + 1e-12 * max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))
    ok = np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)) + floor
    assert ok.all(), f"{name}: sympy {a.tolist()} numpy {b.tolist()}"


# ------------------------------------------------------------- engine agreement

@SETTINGS
@given(case=cases())
def test_engines_agree_on_every_quantity(case):
    assume(_in_range(case))
    single = case.n_samples == 1 and case.layers[-1].activation.kind.elementwise
    exact = symbolic.run(case, jacobians=single)
    fast = numeric.run(case, jacobians=single)
    # no case is skipped: pre-activations on a kink (random ones here, constructed ones in
    # test_kinks.py) are put on it by the numeric engine too
    assert set(exact) == set(fast)
    n_layers = len(case.layers)
    expected = {f"z{i}" for i in range(1, 2 * n_layers + 1)} | {"y_hat", "loss", "dl/dy_hat"}
    expected |= {f"dl/dz{i}" for i in range(1, 2 * n_layers)}
    expected |= {f"dl/d{l.weight}" for l in case.layers} | {f"dl/d{l.bias}" for l in case.layers if l.bias}
    if single:
        expected |= {f"dz{i + 1}/dz{i}" for i in range(1, 2 * n_layers - 1)} | {f"dy_hat/dz{2 * n_layers - 1}"}
    assert set(exact) == expected
    for name in exact:
        assert_agree(name, _floats(exact[name]), fast[name])
    # shapes: a gradient has the shape of what it differentiates
    for l in case.layers:
        assert fast[f"dl/d{l.weight}"].shape == (len(case.params[l.weight]), len(case.params[l.weight][0]))
        if l.bias:
            assert fast[f"dl/d{l.bias}"].shape == (len(case.params[l.bias]), 1)
    assert fast["y_hat"].shape == (len(case.y), case.n_samples)


@SETTINGS
@given(case=cases())
def test_crosscheck_finite_differences_pass(case):
    assume(_in_range(case))
    report = crosscheck.Report()
    crosscheck.finite_differences(case, numeric.run(case), report)
    total = sum(len(v) * len(v[0]) for v in case.params.values())
    assert report.fd_checked + report.fd_skipped == total
    assert report.fd_checked > 0 or report.fd_skipped == total


@SETTINGS
@given(case=cases())
def test_gradients_match_our_own_central_differences(case):
    assume(_in_range(case))
    grads = numeric.run(case)
    exact = symbolic.run(case)
    params = {k: _arr(v) for k, v in case.params.items()}
    loss, base_pres = my_forward(case, params)
    assert float(_floats(exact["loss"])) == pytest.approx(loss, rel=1e-9, abs=1e-13)
    base = _pattern(case, base_pres)
    biggest = max(float(np.max(np.abs(grads[f"dl/d{p}"]))) for p in params)
    checked = 0
    for name, value in params.items():
        g = _floats(exact[f"dl/d{name}"])
        for idx in np.ndindex(value.shape):
            h = 1e-6
            ls, crossed = [], False
            for sign in (1, -1):
                moved = dict(params)
                moved[name] = value.copy()
                moved[name][idx] += sign * h
                l, pres = my_forward(case, moved)
                crossed |= any(np.any(a != b) for a, b in zip(_pattern(case, pres), base))
                ls.append(l)
            if crossed:
                continue
            fd = (ls[0] - ls[1]) / (2 * h)
            assert abs(fd - g[idx]) <= 1e-5 * abs(g[idx]) + 1e-8 * (biggest + abs(loss)) + 1e-12, \
                (name, idx, g[idx], fd)
            checked += 1
    assert checked > 0 or any(_kinked(l.activation) for l in case.layers)


# ------------------------------------------------------------- exactness

def _exact_f(act, z: Fraction) -> Fraction:
    p, c = act.p, act.scale
    if act.name == "identity":
        return c * z
    if act.name == "relu":
        return c * max(z, Fraction(0))
    return c * (z if z > 0 else p["slope"] * z)


def _exact_df(act, z: Fraction) -> Fraction:
    p, c = act.p, act.scale
    if act.name == "identity":
        return c
    if act.name == "relu":
        return c * (Fraction(1) if z > 0 else (p["grad_at_zero"] if z == 0 else Fraction(0)))
    if z > 0:
        return c
    if z == 0:  # slope by default; grad_at_zero = 1 takes the right-hand side
        return c * (p["slope"] + (1 - p["slope"]) * p["grad_at_zero"])
    return c * p["slope"]


def _q(v) -> Fraction:
    assert QQ.of_type(v), type(v)
    return Fraction(int(v.numerator), int(v.denominator))


@SETTINGS
@given(case=cases(kinds=EXACT, softmax=False, depth=1, losses=("mse",)))
def test_symbolic_engine_is_exact_for_piecewise_linear_and_mse(case):
    (layer,) = case.layers
    act = layer.activation
    W = case.params[layer.weight]
    b = case.params[layer.bias] if layer.bias else None
    x, y = case.x, case.y
    k, n, d = len(W), len(x[0]), len(x)
    z = [[sum((W[i][m] * x[m][j] for m in range(d)), Fraction(0)) + (b[i][0] if b else 0)
          for j in range(n)] for i in range(k)]
    a = [[_exact_f(act, z[i][j]) for j in range(n)] for i in range(k)]
    scale = case.loss.factor / case.loss.divisor(n, k)
    loss = scale * sum((a[i][j] - y[i][j]) ** 2 for i in range(k) for j in range(n))
    delta = [[scale * 2 * (a[i][j] - y[i][j]) * _exact_df(act, z[i][j]) for j in range(n)] for i in range(k)]
    dW = [[sum((delta[i][j] * x[m][j] for j in range(n)), Fraction(0)) for m in range(d)] for i in range(k)]

    out = symbolic.run(case)
    assert _q(out["loss"]) == loss
    assert [[_q(v) for v in row] for row in out["z1"].to_list()] == z
    assert [[_q(v) for v in row] for row in out["y_hat"].to_list()] == a
    assert [[_q(v) for v in row] for row in out["dl/dz1"].to_list()] == delta
    assert [[_q(v) for v in row] for row in out[f"dl/d{layer.weight}"].to_list()] == dW
    if b:
        assert [[_q(v) for v in row] for row in out[f"dl/d{layer.bias}"].to_list()] == \
            [[sum(delta[i], Fraction(0))] for i in range(k)]


def test_symbolic_engine_exact_known_value():
    """½(relu(0.6·0.75 + 0.01·0.8) − 1)² = ½(0.458 − 1)² = 0.146882, exactly."""
    layer = Layer("W1", None, A.make("relu"))
    case = Case((layer,), {"W1": ((Fraction(3, 5), Fraction(1, 100)),)},
                ((Fraction(3, 4),), (Fraction(4, 5),)), ((Fraction(1),),),
                Loss(LOSSES["mse"], Fraction(1, 2)))
    out = symbolic.run(case)
    assert _q(out["loss"]) == Fraction(1, 2) * (Fraction(458, 1000) - 1) ** 2 == Fraction(73441, 500000)
    assert [[_q(v) for v in r] for r in out["dl/dW1"].to_list()] == \
        [[Fraction(-542, 1000) * Fraction(3, 4), Fraction(-542, 1000) * Fraction(4, 5)]]


# ------------------------------------------------------------- both layouts through solve

def _yaml_num(v: Fraction) -> str:
    return f'"{v.numerator}/{v.denominator}"' if v.denominator != 1 else str(v.numerator)


def _yaml_matrix(m) -> str:
    return "[" + ", ".join("[" + ", ".join(_yaml_num(v) for v in row) + "]" for row in m) + "]"


def _yaml_act(act) -> str:
    extras = {k: v for k, v in act.params if act.kind.defaults.get(k) != v}
    if act.scale != 1:
        extras["scale"] = act.scale
    if not extras:
        return act.name
    return "{%s: {%s}}" % (act.name, ", ".join(f"{k}: {_yaml_num(v)}" for k, v in extras.items()))


def problem_text(case: Case, layout: str, train: bool) -> str:
    layers = []
    for l in case.layers:
        bias = f", bias: {l.bias}" if l.bias else ""
        layers.append(f"    - {{weight: {l.weight}{bias}, activation: {_yaml_act(l.activation)}}}")
    params = []
    for name, value in case.params.items():
        text = _yaml_matrix(value) if name.startswith("W") else "[" + ", ".join(_yaml_num(r[0]) for r in value) + "]"
        params.append(f"  {name}: {text}")
    tr = (lambda m: tuple(zip(*m))) if layout == "rows" else (lambda m: m)
    loss = case.loss
    return "\n".join([
        "bpcheck: 1", "id: random-case", "network:", "  layers:", *layers, "params:", *params,
        "data:", f"  layout: {layout}", f"  x: {_yaml_matrix(tr(case.x))}", f"  y: {_yaml_matrix(tr(case.y))}",
        f"loss: {{type: {loss.name}, factor: {_yaml_num(loss.factor)}, average: {loss.average}}}",
        *(["train: {lr: 1/10, steps: 2}"] if train else []), ""])


def _value_name(name: str) -> bool:
    base = name.split(".", 1)[-1]
    target = base[4:] if base.startswith("dl/d") else base
    return target == "y_hat" or (target.startswith("z") and target[1:].isdigit())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(max_depth=3), train=st.booleans())
def test_solve_columns_and_rows_are_transposes(case, train):
    assume(_in_range(case))
    # a spec rejects softmax over a single output (it is constantly 1)
    assume(case.layers[-1].activation.kind.elementwise or len(case.y) > 1)
    cols = solve.solve(spec.parse_problem(problem_text(case, "columns", train)))
    rows = solve.solve(spec.parse_problem(problem_text(case, "rows", train)))
    assert list(cols.entries) == list(rows.entries)
    for report in (cols.report, rows.report):
        assert report.compared > 0 and report.formulas_checked > 0
    for name, c in cols.entries.items():
        r = rows.entries[name]
        cv, rv = np.asarray(c.value, float), np.asarray(r.value, float)
        if _value_name(name):  # forward values and their gradients: the data layout
            assert cv.ndim == 2 and np.array_equal(rv, cv.T), name
            assert np.array_equal(np.asarray(r.precise), np.asarray(c.precise).T), name
        else:  # loss, parameters, their gradients and local Jacobians: the same
            assert np.array_equal(rv, cv), name
            assert np.array_equal(np.asarray(r.precise), np.asarray(c.precise)), name
    # the columns values are the engine's
    fast = numeric.run(case)
    for l in case.layers:
        assert np.allclose(np.asarray(cols.entries[f"dl/d{l.weight}"].value), fast[f"dl/d{l.weight}"],
                           rtol=1e-9, atol=1e-15)


# ------------------------------------------------------------- edge cases (once package bugs)

SOFTMAX_ONE_SAMPLE = """
bpcheck: 1
id: one-sample-softmax
network:
  layers:
    - {weight: W1, bias: b1, activation: softmax}
params:
  W1: [[0.5, -0.2], [0.1, 0.3], [0.2, 0.2]]
  b1: [0.1, 0, -0.1]
data:
  layout: LAYOUT
  x: X
  y: Y
loss: {type: cross_entropy}
"""


def test_symbolic_softmax_jacobian_one_sample():
    layer = Layer("W1", None, A.make("softmax"))
    case = Case((layer,), {"W1": ((Fraction(1, 2), Fraction(-1, 5)), (Fraction(1, 10), Fraction(3, 10)))},
                ((Fraction(1),), (Fraction(2),)), ((Fraction(1),), (Fraction(0),)), Loss(LOSSES["cross_entropy"]))
    out = symbolic.run(case, jacobians=True)
    s = _floats(out["y_hat"])
    assert_agree("dy_hat/dz1", _floats(out["dy_hat/dz1"]), np.diag(s[:, 0]) - s @ s.T)


@pytest.mark.parametrize("layout", ["columns", "rows"])
def test_solve_one_sample_softmax(layout):
    x, y = ("[[1], [2]]", "[[1], [0], [0]]") if layout == "columns" else ("[[1, 2]]", "[[1, 0, 0]]")
    text = SOFTMAX_ONE_SAMPLE.replace("LAYOUT", layout).replace("X", x).replace("Y", y)
    sol = solve.solve(spec.parse_problem(text))
    s = np.asarray(sol.entries["y_hat"].value, float).reshape(-1, 1)
    assert np.allclose(sol.entries["dy_hat/dz1"].value, np.diag(s[:, 0]) - s @ s.T, rtol=1e-12)


def test_solve_sample_quantities_of_a_softmax_problem():
    sol = solve.solve(spec.load_problem("problems/batch-rows-softmax.yaml"), samples={1})
    assert "sample1.dy_hat/dz3" in sol.entries


SCALED_SOFTMAX = """
bpcheck: 1
id: scaled-softmax
network:
  layers:
    - {weight: W1, activation: {softmax: {scale: 2}}}
params:
  W1: [[0.5, -0.2], [0.1, 0.3]]
data:
  x: [[1, 2], [0.5, -1]]
  y: [[1, 0], [0, 1]]
loss: {type: mse}
"""


def test_scaled_softmax_is_rejected():
    """{softmax: {scale: 2}}: neither engine computes c·softmax (the sympy engine drops the
    scale, the numpy backward pass treats c·s as s), so the spec must refuse it, where it
    is written; unscaled, the same problem solves to the textbook softmax."""
    with pytest.raises(InputError) as info:
        spec.parse_problem(SCALED_SOFTMAX, "s.yaml")
    assert "softmax takes no parameters and no scale" in info.value.message
    assert (info.value.file, info.value.line) == ("s.yaml", 6)
    problem = spec.parse_problem(SCALED_SOFTMAX.replace("{softmax: {scale: 2}}", "softmax"))
    sol = solve.solve(problem)
    z = np.array([[0.5, -0.2], [0.1, 0.3]]) @ np.array([[1, 2], [0.5, -1]])
    e = np.exp(z)
    assert np.allclose(sol.entries["y_hat"].value, e / e.sum(axis=0), rtol=1e-12)


SIGMOID_TAIL = """
bpcheck: 1
id: sigmoid-tail
network:
  layers:
    - {weight: W1, activation: sigmoid}
params:
  W1: [[-20]]
data:
  x: [[1]]
  y: [[0]]
loss: {type: mse}
"""


def test_solve_sigmoid_output_in_the_tail():
    sol = solve.solve(spec.parse_problem(SIGMOID_TAIL))
    assert float(np.asarray(sol.entries["y_hat"].value).reshape(-1)[0]) == pytest.approx(
        1.0 / (1.0 + math.exp(20.0)), rel=1e-12)


CANCEL = """
bpcheck: 1
id: cancel
network:
  layers:
    - {weight: W1, activation: ACT}
params:
  W1: [[0.1, 0.3]]
data:
  x: [0.9, -0.3]
  y: [1]
loss: {type: mse}
"""


def test_solve_pre_activation_that_cancels_to_zero():
    sol = solve.solve(spec.parse_problem(CANCEL.replace("ACT", "identity")))
    assert sol.entries["z1"].value == [0.0]


def test_numeric_engine_takes_the_kink_convention_at_an_exact_zero():
    layer = Layer("W1", None, A.make("relu"))
    case = Case((layer,), {"W1": ((Fraction(1, 10), Fraction(3, 10)),)},
                ((Fraction(9, 10),), (Fraction(-3, 10),)), ((Fraction(1),),), Loss(LOSSES["mse"]))
    exact, fast = symbolic.run(case), numeric.run(case)
    assert _floats(exact["dl/dW1"]).tolist() == [[0.0, 0.0]]
    assert_agree("dl/dW1", _floats(exact["dl/dW1"]), fast["dl/dW1"])


ONE_WIDE_SOFTMAX_BCE = """
bpcheck: 1
id: softmax-one-bce
network:
  layers:
    - {weight: W1, activation: softmax}
params:
  W1: [[0.5, 0.5]]
data:
  x: [[1, 2], [0, 1]]
  y: [[1, 1]]
loss: {type: bce}
"""


def test_bce_on_one_wide_softmax_is_rejected():
    """A softmax over one output is constantly 1, and BCE of it is log(0): refused, and
    the same network with two outputs solves to a finite loss."""
    with pytest.raises(InputError) as info:
        spec.parse_problem(ONE_WIDE_SOFTMAX_BCE, "s.yaml")
    assert (info.value.file, info.value.line) == ("s.yaml", 6)
    assert "softmax over a single output is always 1" in info.value.message
    two = ONE_WIDE_SOFTMAX_BCE.replace("W1: [[0.5, 0.5]]", "W1: [[0.5, 0.5], [-0.5, 1]]") \
        .replace("y: [[1, 1]]", "y: [[1, 0], [0, 1]]")
    sol = solve.solve(spec.parse_problem(two))
    z = np.array([[0.5, 0.5], [-0.5, 1]]) @ np.array([[1, 2], [0, 1]])
    s = np.exp(z) / np.exp(z).sum(axis=0)
    y = np.array([[1, 0], [0, 1]])
    want = -np.sum(y * np.log(s) + (1 - y) * np.log(1 - s))
    assert float(np.asarray(sol.entries["loss"].value)) == pytest.approx(want, rel=1e-12)


def test_one_number_quantities_compared_together_raise_on_the_first_that_disagrees():
    import numpy as np

    from backprop_check import formulas as F
    from backprop_check.errors import EngineDisagreement

    exact = {f"q{i}": np.asarray(float(i)) for i in range(5)} | {"m": np.ones((2, 2)), "last": np.asarray(1.0)}
    report = crosscheck.Report()
    crosscheck.compare_engines(exact, dict(exact), report)
    assert report.compared == 5 + 4 + 1
    fast = dict(exact) | {"q3": np.asarray(3.0 + 1e-6), "last": np.asarray(2.0)}
    with pytest.raises(EngineDisagreement, match=r"^q3\[\]"):
        crosscheck.compare_engines(exact, fast, crosscheck.Report())
    trees = {name: F.Name("x") for name in exact}
    env = {"x": np.asarray(3.0)}
    values = {name: np.asarray(3.0) for name in exact if name != "m"} | {"q1": np.asarray(3.0 + 1e-15)}
    report = crosscheck.Report()
    crosscheck.check_formulas({k: v for k, v in trees.items() if k != "m"}, env, values, report)
    assert report.formulas_checked == 6
    values["q2"] = np.asarray(4.0)
    with pytest.raises(EngineDisagreement, match=r"^q2: the formula x gives"):
        crosscheck.check_formulas({k: v for k, v in trees.items() if k != "m"}, env, values, crosscheck.Report())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(max_depth=2, samples=(1, 3)))
def test_a_passs_loss_and_lazy_gradients_are_the_full_passs(case):
    """`network.loss_and_gradients` (training's evaluation) gives `network.run`'s loss and, when
    read, its gradients; the backward pass runs only then, once (the last step never reads them)."""
    from backprop_check import network
    from backprop_check.engines.rationals import Rationals

    arithmetic = Rationals()
    params = {name: arithmetic.input(network.exact_array(value)) for name, value in case.params.items()}
    full = network.run(case, arithmetic, params=params)
    calls = []
    real = network.gradient
    try:
        network.gradient = lambda *args: calls.append(1) or real(*args)
        loss, gradients = network.loss_and_gradients(case, arithmetic, params)
        assert loss == full["loss"] and not calls
        assert sorted(gradients) == sorted(params)
        for p in params:
            assert np.array_equal(np.asarray(gradients[p], dtype=object), np.asarray(full[f"dl/d{p}"], dtype=object))
        assert len(calls) == 1
    finally:
        network.gradient = real
