"""Graph problems through both engines, against computations written in this test.

Random graphs (hypothesis): expression DAGs over scalars, small vectors and a
matrix, with elementwise functions, + − × ÷, powers, matrix products,
indexing, stacking, sums and softmax, optional `data:` batches with either
reduction and an optional SGD step. Each is written as spec text (YAML),
loaded by `parse_problem` and solved by `solve`, which already holds the
exact and float engines to each other and to finite differences; the test
then holds every value and derivative the solution lists to its own numpy
evaluation of the same expressions and central finite differences (dO/dX,
dA/dB with B's dependants recomputed, sums or means over the samples,
step1.P = P − lr·dO/dP).

Hand-derived cases: the examples of FORMAT.md section 5 and the CS231n
sigmoid neuron, with the expected numbers written here as exact fractions.
"""

from __future__ import annotations

import math
from fractions import Fraction as Q

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from backprop_check import graph_quantities as GQ
from backprop_check.graph_solve import solve_both
from backprop_check.solve import solve
from backprop_check.spec import parse_problem


# ------------------------------------------------------------------ random graphs

def _sig(t):
    return 1.0 / (1.0 + np.exp(-t))


UNARY = {  # spec spelling -> numpy, written here independently of the package
    "sigmoid({})": _sig,
    "tanh({})": np.tanh,
    "softplus({})": lambda t: np.log1p(np.exp(-np.abs(t))) + np.maximum(t, 0),
    "exp({})": np.exp,
    "log(1 + {0}*{0})": lambda t: np.log(1 + t * t),
    "sqrt(1 + {0}*{0})": lambda t: np.sqrt(1 + t * t),
    "erf({})": np.vectorize(math.erf, otypes=[float]),
}


def _softmax(v):
    e = np.exp(v - np.max(v))
    return e / e.sum()


class Builder:
    """A random graph: spec lines and, for every name, its shape and a numpy function of the env."""

    def __init__(self, draw):
        self.draw = draw
        self.shapes: dict = {}
        self.inputs: dict = {}  # name -> exact value (Fractions, nested lists)
        self.data: dict = {}  # name -> list of per-sample values
        self.nodes: list = []  # (name, YAML value text, fn(env) -> array)
        self.powers = 0

    def number(self):
        return Q(self.draw(st.integers(-16, 16)), 8)

    def value(self, shape):
        if not shape:
            return self.number()
        if len(shape) == 1:
            return [self.number() for _ in range(shape[0])]
        return [[self.number() for _ in range(shape[1])] for _ in range(shape[0])]

    def pick(self, want=None):
        pool = [n for n, s in self.shapes.items() if want is None or want(s)]
        return self.draw(st.sampled_from(pool)) if pool else None

    def add(self, expr, shape, fn, literal=False):
        name = f"n{len(self.nodes)}"
        text = expr if literal else '"' + expr + '"'
        self.nodes.append((name, text, fn))
        self.shapes[name] = shape
        return name

    def node(self):
        d, S = self.draw, self.shapes
        kind = d(st.sampled_from(["binary", "binary", "div", "unary", "unary", "pow", "matmul", "index",
                                  "stack", "sum", "softmax", "transpose"]))
        if kind in ("binary", "div"):
            a = self.pick()
            b = self.pick(lambda s: s == S[a] or s == () or S[a] == ())
            shape = S[a] if S[a] != () else S[b]
            if kind == "div":
                return self.add(f"{a} / (2 + tanh({b}))", shape, lambda e: e[a] / (2 + np.tanh(e[b])))
            op = d(st.sampled_from(["+", "-", "*"]))
            fn = {"+": np.add, "-": np.subtract, "*": np.multiply}[op]
            return self.add(f"{a} {op} {b}", shape, lambda e: fn(e[a], e[b]))
        if kind == "unary":
            a = self.pick()
            form = d(st.sampled_from(sorted(UNARY)))
            return self.add(form.format(a), S[a], lambda e: UNARY[form](e[a]))
        if kind == "pow" and self.powers < 2:
            self.powers += 1
            a = self.pick()
            k = d(st.sampled_from([2, 3]))
            return self.add(f"{a}**{k}", S[a], lambda e: e[a] ** k)
        if kind == "matmul":
            m = self.pick(lambda s: len(s) == 2)
            if m is not None:
                v = self.pick(lambda s: s == (S[m][1],))
                if v is not None:
                    return self.add(f"{m} @ {v}", (S[m][0],), lambda e: e[m] @ e[v])
            u = self.pick(lambda s: len(s) == 1)
            if u is not None:
                v = self.pick(lambda s: s == S[u])
                return self.add(f"{u} @ {v}", (), lambda e: e[u] @ e[v])
        if kind == "transpose":
            m = self.pick(lambda s: len(s) == 2)
            if m is not None:
                u = self.pick(lambda s: s == (S[m][0],))
                if u is not None:
                    return self.add(f"{m}.T @ {u}", (S[m][1],), lambda e: e[m].T @ e[u])
        if kind == "index":
            a = self.pick(lambda s: len(s) >= 1)
            if a is not None:
                at = tuple(d(st.integers(0, n - 1)) for n in S[a])
                if len(at) == 2 and d(st.booleans()):  # a matrix's row
                    return self.add(f"{a}[{at[0]}]", (S[a][1],), lambda e: e[a][at[0]])
                return self.add(f"{a}[{', '.join(map(str, at))}]", (), lambda e: e[a][at])
        if kind == "stack":
            items = [self.pick(lambda s: s == ()) for _ in range(d(st.integers(2, 3)))]
            if d(st.booleans()):  # a YAML list of expressions
                return self.add("[" + ", ".join(items) + "]", (len(items),),
                                lambda e: np.array([e[i] for i in items], dtype=float), literal=True)
            return self.add("[" + ", ".join(items) + "]", (len(items),),
                            lambda e: np.array([e[i] for i in items], dtype=float))
        if kind == "softmax":
            a = self.pick(lambda s: len(s) == 1)
            if a is not None:
                return self.add(f"softmax({a})", S[a], lambda e: _softmax(e[a]))
        a = self.pick(lambda s: len(s) >= 1)
        if a is not None:
            fn = d(st.sampled_from(["sum", "mean"]))
            return self.add(f"{fn}({a})", (), lambda e: getattr(np, fn)(e[a]))
        a = self.pick()
        return self.add(f"3*{a} - 1/2", S[a], lambda e: 3 * e[a] - 0.5)

    def output(self):
        """A scalar output that uses the last node and a few others."""
        last = self.nodes[-1][0]
        chosen = [last] + self.draw(st.lists(st.sampled_from([n for n, _, _ in self.nodes]), max_size=2))
        terms, fns = [], []
        for n in dict.fromkeys(chosen):
            if self.shapes[n] == ():
                terms.append(n)
                fns.append(lambda e, n=n: e[n])
            else:
                terms.append(f"sum({n} * {n})")
                fns.append(lambda e, n=n: np.sum(e[n] * e[n]))
        return self.add(" + ".join(terms), (), lambda e: sum(f(e) for f in fns))


def _yaml_value(v):
    if isinstance(v, list):
        return "[" + ", ".join(_yaml_value(x) for x in v) + "]"
    return str(v) if v.denominator == 1 else f"{float(v)!r}"


@st.composite
def graphs(draw):
    b = Builder(draw)
    n = draw(st.integers(2, 3))
    for k in range(draw(st.integers(1, 3))):
        b.inputs[f"p{k}"] = b.value(())
    if draw(st.booleans()):
        b.inputs["v"] = b.value((n,))
    if draw(st.booleans()):
        m = draw(st.integers(2, 3))
        b.inputs["W"] = b.value((m, n))
    samples = draw(st.integers(1, 3))
    if draw(st.booleans()):
        b.data["x"] = [b.value((n,)) for _ in range(samples)] if draw(st.booleans()) \
            else [b.value(()) for _ in range(samples)]
        if draw(st.booleans()):
            b.data["t"] = [b.value(()) for _ in range(samples)]
    for name, v in b.inputs.items():
        b.shapes[name] = np.shape(np.array(v, dtype=object))
    for name, vs in b.data.items():
        b.shapes[name] = np.shape(np.array(vs[0], dtype=object))
    for _ in range(draw(st.integers(1, 6))):
        b.node()
    out = b.output()
    reduce = draw(st.sampled_from(["sum", "mean"]))
    lr = draw(st.sampled_from([None, Q(1, 10)]))
    lines = ["bpcheck: 1", "id: random-graph", "graph:", "  inputs:"]
    lines += [f"    {k}: {_yaml_value(v)}" for k, v in b.inputs.items()]
    lines += ["  nodes:"] + [f"    {name}: {text}" for name, text, _ in b.nodes]
    lines += [f"  output: {out}"]
    if b.data:
        lines += ["data:"] + [f"  {k}: {_yaml_value(v)}" for k, v in b.data.items()]
        lines += [f"reduce: {reduce}"]
    if lr is not None:
        lines += ["train: {lr: 0.1, steps: 1}"]
    return b, "\n".join(lines) + "\n", out, reduce if b.data else None, lr


class Reference:
    """The test's own evaluation of a generated graph: values and finite differences."""

    def __init__(self, b: Builder, out: str, reduce: str | None):
        self.b, self.out, self.reduce = b, out, reduce
        self.n = len(next(iter(b.data.values()))) if b.data else 1
        self.params = {k: np.array(v, dtype=float) for k, v in b.inputs.items()}

    def env(self, sample, params=None, fixed=None):
        """Every value on one sample (1-based; None without data), `fixed` values held (not recomputed)."""
        env = {k: np.array(v, dtype=float) for k, v in (params or self.params).items()}
        for k, vs in self.b.data.items():
            env[k] = np.array(vs[(sample or 1) - 1], dtype=float)
        env.update(fixed or {})
        with np.errstate(all="ignore"):
            for name, _, fn in self.b.nodes:
                if name not in (fixed or {}):
                    env[name] = np.asarray(fn(env), dtype=float)
        return env

    def value(self, top, sample, params=None, fixed=None):
        return self.env(sample, params, fixed)[top]

    def reduced(self, top, params=None, fixed_of=None):
        total = sum(self.value(top, s, params, fixed_of(s) if fixed_of else None)
                    for s in (range(1, self.n + 1) if self.b.data else [None]))
        return total / self.n if self.reduce == "mean" else total

    def derivative(self, top, bottom, sample, reduced=False):
        """d top / d bottom by central differences, (size top, size bottom), bottom's dependants recomputed."""
        samples = range(1, self.n + 1) if reduced and self.b.data else [sample]
        base_at = {s: self.env(s) for s in samples}
        size_bottom = base_at[samples[0]][bottom].size
        cols = []
        for j in range(size_bottom):
            h = 1e-6 * max(1.0, abs(float(base_at[samples[0]][bottom].reshape(-1)[j])))
            diff = 0
            for s in samples:
                base = base_at[s]
                hold = {k: v for k, v in base.items() if k in self.b.inputs or k in self.b.data
                        or self._before(k, bottom)}
                up, down = base[bottom].astype(float).copy().reshape(-1), base[bottom].astype(float).copy().reshape(-1)
                up[j] += h
                down[j] -= h
                plus = self.value(top, s, fixed={**hold, bottom: up.reshape(base[bottom].shape)})
                minus = self.value(top, s, fixed={**hold, bottom: down.reshape(base[bottom].shape)})
                diff = diff + (plus - minus) / (2 * h)
            if reduced and self.reduce == "mean":
                diff = diff / self.n
            cols.append(np.asarray(diff, dtype=float).reshape(-1))
        return np.stack(cols, axis=-1)  # (size top, size bottom)

    def _before(self, name, bottom):
        order = [n for n, _, _ in self.b.nodes]
        return name in order and bottom in order and order.index(name) < order.index(bottom)


def _close(got, want, rtol, what):
    got, want = np.asarray(got, dtype=float).reshape(-1), np.asarray(want, dtype=float).reshape(-1)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    scale = max(1.0, float(np.max(np.abs(want), initial=0)))
    assert np.all(np.abs(got - want) <= rtol * np.maximum(np.abs(want), 1e-300) + rtol * scale), \
        (what, got.tolist(), want.tolist())


def _bounded(ref: Reference, lr=None) -> bool:
    """Keep the graphs inside float64's comfortable range (no overflow, no cancellation swamp),
    before and, with a learning rate, after the training step (whose values bpcheck also
    computes, and refuses with exit 2 when they overflow: step1 of exp(1.75 p0 …) can)."""
    params = None
    if lr is not None:
        with np.errstate(all="ignore"):
            params = {p: ref.params[p] - float(lr) * ref.derivative(ref.out, p, None, reduced=True)
                      .reshape(ref.params[p].shape) for p in ref.params}
    for pass_params in ([None] if params is None else [None, params]):
        for s in (range(1, ref.n + 1) if ref.b.data else [None]):
            with np.errstate(all="ignore"):
                values = ref.env(s, pass_params).values()
            for v in values:
                if not np.all(np.isfinite(v)) or np.max(np.abs(v), initial=0) > 1e4:
                    return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(graphs())
def test_random_graphs_both_engines_and_an_independent_check(case):
    b, text, out, reduce, lr = case
    ref = Reference(b, out, reduce)
    assume(_bounded(ref, lr))
    problem = parse_problem(text, "random.yaml")
    solution = solve(problem)
    assert solution.report.compared > 0
    assert solution.report.fd_checked > 0
    checked = 0
    for name, entry in solution.entries.items():
        kind, k, top, bottoms = GQ.parse(name)
        if kind == "step":
            continue
        got = entry.value
        if not bottoms:
            if kind == "sample":
                want = ref.value(top, k)
            elif top in b.inputs:
                want = ref.params[top]
            elif b.data:
                want = ref.reduced(top)
            else:
                want = ref.value(top, None)
            _close(got, want, 1e-9, name)
        else:
            assert len(bottoms) == 1
            if kind == "sample":
                want = ref.derivative(top, bottoms[0], k)
            else:
                want = ref.derivative(top, bottoms[0], None, reduced=True)
            _close(got, want, 2e-5, name)
        checked += 1
    assert checked >= len(b.inputs) + len(b.nodes)
    assert f"d{out}/d{next(iter(b.inputs))}" in solution.entries
    if lr is not None:
        for p in b.inputs:
            grad = ref.derivative(out, p, None, reduced=True).reshape(ref.params[p].shape)
            _close(solution.entries[f"step1.{p}"].value, ref.params[p] - 0.1 * grad, 2e-5, f"step1.{p}")
        stepped = {p: np.asarray(solution.entries[f"step1.{p}"].value, dtype=float) for p in b.inputs}
        _close(solution.entries[f"step1.{out}"].value, ref.reduced(out, params=stepped), 1e-9, f"step1.{out}")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_engines_agree_to_1e_12(case):
    """The exact and the float engine, each on its own, on every quantity."""
    b, text, out, reduce, lr = case
    assume(_bounded(Reference(b, out, reduce), lr))
    problem = parse_problem(text, "random.yaml")
    names = list(GQ.quantities(problem))
    exact, fast, report = solve_both(problem, names)
    assert report.compared > 0
    for name in names:
        e = np.asarray(np.vectorize(float, otypes=[float])(exact[name]) if np.ndim(exact[name])
                       else float(exact[name]))
        f = np.asarray(fast[name], dtype=float)
        assert e.shape == f.shape, name
        scale = max(1.0, float(np.max(np.abs(e), initial=0)))
        assert np.all(np.abs(e - f) <= 1e-10 * scale), (name, e.tolist(), f.tolist())


# ------------------------------------------------------------------ hand-derived examples

def _solve(text):
    solution = solve(parse_problem(text, "g.yaml"))
    assert solution.report.compared > 0
    return solution


def _exact(solution, name):
    """An entry's exact value (QQ or object arrays of QQ) as Fractions."""
    v = solution.entries[name]._exact
    to = lambda q: Q(int(q.numerator), int(q.denominator))  # noqa: E731
    return np.vectorize(to, otypes=[object])(v).tolist() if np.ndim(v) else to(v)


SCALAR = """\
bpcheck: 1
id: scalar-graph
graph:
  inputs: {w1: 1, w2: 2.3, w3: 5.7}
  nodes:
    s: w1 + w2
    L: s * w3
  output: L
train: {lr: 0.01, steps: 1, params: [w1, w2, w3]}
"""


def test_scalar_graph_with_an_sgd_step():
    s = _solve(SCALAR)
    # s = 3.3, L = 3.3·5.7 = 18.81; dL/ds = w3, dL/dw1 = dL/dw2 = w3 = 5.7, dL/dw3 = s = 3.3
    assert _exact(s, "s") == Q(33, 10) and _exact(s, "L") == Q(1881, 100)
    assert _exact(s, "dL/ds") == Q(57, 10)
    assert _exact(s, "dL/dw1") == _exact(s, "dL/dw2") == Q(57, 10)
    assert _exact(s, "dL/dw3") == Q(33, 10)
    assert _exact(s, "ds/dw1") == _exact(s, "ds/dw2") == 1
    # one SGD step, lr 0.01: w1 = 1 − 0.057, w2 = 2.3 − 0.057, w3 = 5.7 − 0.033
    assert _exact(s, "step1.w1") == Q(943, 1000)
    assert _exact(s, "step1.w2") == Q(2243, 1000)
    assert _exact(s, "step1.w3") == Q(5667, 1000)
    assert _exact(s, "step1.L") == (Q(943, 1000) + Q(2243, 1000)) * Q(5667, 1000)  # 18.054062…
    assert s.exact


TWO_PATHS = """\
bpcheck: 1
id: two-paths
graph:
  inputs: {x: 1, y: 2, z: 3}
  nodes:
    a: x*y + z
    b: (x + x)*a
    w: a*b
questions:
  - {quantity: db/dx}
  - {quantity: "dw/d(x, y)"}
"""


def test_two_paths():
    s = _solve(TWO_PATHS)
    x, y, z = 1, 2, 3
    a = x * y + z  # 5
    b = 2 * x * a  # 10
    assert (_exact(s, "a"), _exact(s, "b"), _exact(s, "w")) == (a, b, a * b)
    # db/dx = 2a + 2x·y (through a as well): 10 + 4 = 14; db/da = 2x = 2
    assert _exact(s, "db/dx") == 2 * a + 2 * x * y == 14
    assert _exact(s, "db/da") == 2 * x
    # w = a·b = 2x·a²: dw/da = b + a·db/da = 10 + 10 = 20; dw/db = a = 5
    assert _exact(s, "dw/db") == a and _exact(s, "dw/da") == b + a * 2 * x == 20
    # dw/dx = 2a² + 4x·a·y = 50 + 40 = 90; dw/dy = 4x·a·x = 20; dw/dz = 4x·a = 20
    assert _exact(s, "dw/dx") == 2 * a * a + 4 * x * a * y == 90
    assert _exact(s, "dw/dy") == 4 * x * a * x == 20
    assert _exact(s, "dw/dz") == 4 * x * a == 20
    assert _exact(s, "dw/d(x,y)") == [90, 20]
    assert _exact(s, "da/dx") == y and _exact(s, "da/dy") == x and _exact(s, "da/dz") == 1


COMPOSITION = """\
bpcheck: 1
id: composition
graph:
  inputs: {x: 1, y: 2, z: -1}
  nodes:
    G: [x - 4*y, x*y, x + y]
    F: ["2*G[0]*G[1]", "G[1] - G[2]"]
questions:
  - {quantity: "dF/d(x,y)"}
  - {quantity: dF/dG}
  - {quantity: "dG/d(x,y)"}
"""


def test_composition_directly_and_by_the_chain_rule():
    s = _solve(COMPOSITION)
    x, y = 1, 2
    g = [x - 4 * y, x * y, x + y]  # [−7, 2, 3]
    assert _exact(s, "G") == g and _exact(s, "F") == [2 * g[0] * g[1], g[1] - g[2]] == [-28, -1]
    # F as a function of (x, y) directly: F0 = 2(x − 4y)xy = 2x²y − 8xy², F1 = xy − x − y
    direct = [[4 * x * y - 8 * y * y, 2 * x * x - 16 * x * y], [y - 1, x - 1]]
    assert direct == [[-24, -30], [1, 0]]
    dF_dG = [[2 * g[1], 2 * g[0], 0], [0, 1, -1]]
    dG_dxy = [[1, -4], [y, x], [1, 1]]
    chain = (np.array(dF_dG, dtype=object) @ np.array(dG_dxy, dtype=object)).tolist()
    assert chain == direct
    assert _exact(s, "dF/d(x,y)") == direct
    assert _exact(s, "dF/dG") == dF_dG
    assert _exact(s, "dG/d(x,y)") == dG_dxy
    assert _exact(s, "dF/dx") == [row[0] for row in direct] and _exact(s, "dF/dy") == [row[1] for row in direct]
    assert _exact(s, "dF/dz") == [0, 0]


def test_gradient_of_a_square():
    s = _solve("""\
bpcheck: 1
id: gradient
graph:
  inputs: {x: 1, y: -2}
  nodes:
    u: 2*x + 3*y
    f: u**2
questions:
  - {quantity: "df/d(x,y)"}
""")
    # ∇(2x + 3y)² = 2(2x + 3y)·[2, 3] = [4u, 6u], u = −4
    assert _exact(s, "u") == -4 and _exact(s, "f") == 16
    assert _exact(s, "df/d(x,y)") == [-16, -24]
    assert (_exact(s, "df/dx"), _exact(s, "df/dy"), _exact(s, "df/du")) == (-16, -24, -8)


CS231N = """\
bpcheck: 1
id: cs231n-neuron
graph:
  inputs: {w0: 2, w1: -3, w2: -3, x0: -1, x1: -2}
  nodes:
    dot: w0*x0 + w1*x1 + w2
    f: 1 / (1 + exp(-dot))
"""


def test_cs231n_sigmoid_neuron():
    s = _solve(CS231N)
    # dot = −2 + 6 − 3 = 1; f = σ(1) = 0.7310585786…; df/ddot = σ(1)(1 − σ(1)) = 0.19661193324…
    sig = 1 / (1 + math.exp(-1))
    local = sig * (1 - sig)
    assert _exact(s, "dot") == 1
    assert s.entries["f"].value == pytest.approx(0.7310585786300049, rel=1e-15)
    assert s.entries["df/ddot"].value == pytest.approx(0.19661193324148185, rel=1e-14)
    # dw = [x0, x1, 1]·local = [−0.19661…, −0.39322…, 0.19661…]: the notes' [−0.2, −0.39, 0.2]
    # (the notes round σ(1)(1 − σ(1)) to 0.2, but −2·0.19661 = −0.39322: "0.39…" up to sign)
    dw = [s.entries[f"df/dw{i}"].value for i in range(3)]
    assert dw == pytest.approx([-local, -2 * local, local], rel=1e-14)
    assert [round(v, 1) for v in dw] == [-0.2, -0.4, 0.2]
    assert round(dw[1], 2) == -0.39
    # dx = [w0, w1]·local = [0.39322…, −0.58983…] (the notes: [0.39, −0.59])
    dx = [s.entries[f"df/dx{i}"].value for i in range(2)]
    assert dx == pytest.approx([2 * local, -3 * local], rel=1e-14)
    assert [round(v, 2) for v in dx] == [0.39, -0.59]
    assert not s.exact  # exp: 45 digits, not exact rationals


NODE_BY_NODE = """\
bpcheck: 1
id: node-by-node
graph:
  inputs: {w1: [0.5, 1, -1], w2: [-0.5, 2, 1], v: [0, 1, -1]}
  nodes:
    z1: "w1[0] + w1[1]*x[0] + w1[2]*x[1]"
    z2: "w2[0] + w2[1]*x[0] + w2[2]*x[1]"
    h1: relu(z1)
    h2: relu(z2)
    pred: "v[0] + v[1]*h1 + v[2]*h2"
    L: (pred - y)**2
data:
  x: [[1, 2], [2, -1], [0, 1]]
  y: [1, 0, 2]
reduce: sum
"""


def test_node_by_node_network_with_bias_first_weights_over_a_batch():
    s = _solve(NODE_BY_NODE)
    w1, w2, v = [Q(1, 2), 1, -1], [Q(-1, 2), 2, 1], [0, 1, -1]
    xs, ys = [(1, 2), (2, -1), (0, 1)], [1, 0, 2]
    total, g_w1, g_w2, g_v = 0, [0, 0, 0], [0, 0, 0], [0, 0, 0]
    for n, ((a, b), y) in enumerate(zip(xs, ys), start=1):
        z1 = w1[0] + w1[1] * a + w1[2] * b
        z2 = w2[0] + w2[1] * a + w2[2] * b
        h1, h2 = max(z1, 0), max(z2, 0)
        pred = v[0] + v[1] * h1 + v[2] * h2
        L = (pred - y) ** 2
        assert [_exact(s, f"sample{n}.{k}") for k in ("z1", "z2", "h1", "h2", "pred", "L")] == [z1, z2, h1, h2, pred, L]
        dpred = 2 * (pred - y)
        dz1 = dpred * v[1] * (1 if z1 > 0 else 0)
        dz2 = dpred * v[2] * (1 if z2 > 0 else 0)
        assert _exact(s, f"sample{n}.dL/dpred") == dpred
        assert _exact(s, f"sample{n}.dL/dz1") == dz1 and _exact(s, f"sample{n}.dL/dz2") == dz2
        assert _exact(s, f"sample{n}.dpred/dh1") == v[1]
        total += L
        for k, feature in enumerate((1, a, b)):
            g_w1[k] += dz1 * feature
            g_w2[k] += dz2 * feature
        for k, feature in enumerate((1, h1, h2)):
            g_v[k] += dpred * feature
    # sample 1: z1 = −½, h1 = 0 (dead), z2 = 3½, pred = −3½, L = (−4½)² = 20¼;
    # sample 2: z1 = 3½, z2 = 2½, pred = 1, L = 1; sample 3: z1 = −½ (dead), z2 = ½, pred = −½, L = 6¼
    assert _exact(s, "sample1.z1") == Q(-1, 2) and _exact(s, "sample1.h1") == 0
    assert _exact(s, "L") == total == Q(81, 4) + 1 + Q(25, 4)
    assert _exact(s, "dL/dw1") == g_w1 and _exact(s, "dL/dw2") == g_w2 and _exact(s, "dL/dv") == g_v
    assert g_v == [-12, 7, -29] and g_w2 == [12, 5, 25] and g_w1 == [2, 4, -2]
    mean = _solve(NODE_BY_NODE.replace("reduce: sum", "reduce: mean"))
    assert _exact(mean, "L") == total / 3
    assert _exact(mean, "dL/dv") == [g / 3 for g in g_v]
    assert _exact(mean, "sample2.L") == _exact(s, "sample2.L")


# ------------------------------------------------------------------ found by the random graphs

def test_equal_nodes_are_separate_values():
    """Two nodes with equal expressions are two values: dO/da counts a's path only (a = b = x·y)."""
    s = _solve("""\
bpcheck: 1
id: equal-nodes
graph:
  inputs: {x: 2, y: 3}
  nodes:
    a: x*y
    b: x*y
    O: a + 2*b
""")
    assert _exact(s, "dO/da") == 1 and _exact(s, "dO/db") == 2
    assert _exact(s, "dO/dx") == 3 * 3 and _exact(s, "dO/dy") == 3 * 2


def test_a_node_that_names_another_node():
    """n2 = n1 is computed from n1, not from n0 (which has the same expression as n1): dn2/dn0 = 0."""
    s = _solve("""\
bpcheck: 1
id: alias
graph:
  inputs: {p: 1}
  nodes:
    n0: p + p
    n1: p + p
    n2: n1
""")
    assert _exact(s, "dn2/dn1") == 1
    assert _exact(s, "dn2/dn0") == 0
    assert _exact(s, "dn2/dp") == 2


def test_an_entry_of_a_matrix_in_a_sum():
    """The gradient of a matrix entry reached through + is a matrix of numbers (was: an array inside)."""
    s = _solve("""\
bpcheck: 1
id: index-after-add
graph:
  inputs:
    p: 0
    W: [[1, 2], [3, 4]]
  nodes:
    n: "W[0, 1]"
    o: n + p
""")
    assert _exact(s, "do/dW") == [[0, 1], [0, 0]]
    assert s.entries["do/dW"].precise == [["0", "1"], ["0", "0"]]
