"""Formula trees: rendering, substitution, evaluation, and the shipped problems' sheets."""

from __future__ import annotations

import glob
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from backprop_check import activations as A
from backprop_check import derivation, losses, solve, spec
from backprop_check import formulas as F
from backprop_check.engines import numeric
from backprop_check.quantities import Structure
from backprop_check.spec import Layer

N = F.Name
ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted(glob.glob(str(ROOT / "problems" / "*.yaml")))

# dl/dW1 of a two-layer ReLU net, one step of substitution: ((W2ᵀ dl/dz3) ⊙ H(z1)) xᵀ
DW1 = F.matmul(F.mul(F.matmul(F.T(N("W2")), N("dl/dz3")), F.call("step", N("z1"))), F.T(N("x")))


def _two_layer(rows=False, single=False, jac=False, acts=("relu", "identity"), loss=None):
    layers = (Layer("W1", "b1", A.make(acts[0])), Layer("W2", "b2", A.make(acts[1])))
    loss = loss or losses.Loss(losses.KINDS["mse"], Fraction(1, 2), "samples")
    return layers, derivation.one_step(layers, loss, rows, single, jac, (3, 2))


# ------------------------------------------------------------- rendering

def test_dl_dW1_renders_in_code_text_and_latex():
    assert F.to_code(DW1) == "((W2.T @ dl/dz3) * step(z1)) @ x.T"
    assert F.to_text(DW1) == "((W2ᵀ ∂ℓ/∂z3) ⊙ H(z1)) xᵀ"
    assert F.to_latex(DW1) == (r"\left(\left(W_{2}^{\top} \frac{\partial \ell}{\partial z_{3}}\right) "
                               r"\odot H\left(z_{1}\right)\right) x^{\top}")


def test_derivation_gives_the_sheet_formula_of_dl_dW1():
    _, one = _two_layer()
    grads = {k: v for k, v in one.items() if k in ("dl/dz1", "dl/dz2")}
    node = F.substitute(F.substitute(one["dl/dW1"], grads), grads)
    assert node == DW1
    assert F.to_code(node) == "((W2.T @ dl/dz3) * step(z1)) @ x.T"


def test_one_step_formulas_in_both_layouts():
    _, cols = _two_layer()
    _, rows = _two_layer(rows=True)
    code = lambda d, k: F.to_code(d[k])  # noqa: E731
    assert code(cols, "z1") == "W1 @ x + b1" and code(rows, "z1") == "x @ W1.T + b1"
    assert code(cols, "dl/dW1") == "dl/dz1 @ x.T" and code(rows, "dl/dW1") == "dl/dz1.T @ x"
    assert code(cols, "dl/dz2") == "W2.T @ dl/dz3" and code(rows, "dl/dz2") == "dl/dz3 @ W2"
    assert code(cols, "dl/db1") == "sum(dl/dz1, 1)" and code(rows, "dl/db1") == "sum(dl/dz1, 0)"
    assert code(cols, "dl/dy_hat") == "(y_hat - y) / N"
    assert code(cols, "loss") == "(0.5 * sum((y_hat - y) ** 2)) / N"
    assert code(cols, "dl/dz1") == "dl/dz2 * step(z1)"


@pytest.mark.parametrize("node,code,text", [
    (F.sub(N("a"), F.sub(N("b"), N("c"))), "a - (b - c)", "a − (b − c)"),
    (F.sub(F.sub(N("a"), N("b")), N("c")), "a - b - c", "a − b − c"),
    (F.add(N("a"), F.sub(N("b"), N("c"))), "a + b - c", "a + b − c"),
    (F.div(N("a"), F.mul(N("b"), N("c"))), "a / (b * c)", "a / (b ⊙ c)"),
    (F.Neg(F.sub(N("a"), N("b"))), "-(a - b)", "-(a − b)"),
    (F.Bin("**", F.Neg(N("a")), F.num(2)), "(-a) ** 2", "(-a)^2"),
    (F.Bin("**", N("a"), F.num(Fraction(1, 2))), "a ** 0.5", "a^0.5"),  # terminating: a decimal
    (F.Bin("**", N("a"), F.num(Fraction(1, 3))), "a ** (1/3)", "a^(1/3)"),
    (F.T(F.matmul(N("A"), N("B"))), "(A @ B).T", "(A B)ᵀ"),
    (F.mul(F.num(3), N("y_hat")), "3 * y_hat", "3·ŷ"),
    (F.call("sigmoid", N("z3")), "sigmoid(z3)", "σ(z3)"),
    (F.matmul(F.mul(N("a"), N("b")), N("c")), "(a * b) @ c", "(a ⊙ b) c"),
])
def test_rendering_brackets(node, code, text):
    assert F.to_code(node) == code
    assert F.to_text(node) == text


def test_latex_pieces():
    assert F.to_latex(F.mul(F.Num(Fraction(-1, 2)), N("y_hat"))) == r"-\tfrac{1}{2} \, \hat{y}"
    assert F.to_latex(N("dl/dW10")) == r"\frac{\partial \ell}{\partial W_{10}}"
    assert F.to_latex(F.call("leaky_relu", N("z1"), F.Num(Fraction(1, 10)))) == \
        r"\operatorname{leaky\_relu}\left(z_{1}, \tfrac{1}{10}\right)"
    assert F.to_latex(F.Bin("**", F.sub(N("y_hat"), N("y")), F.num(2))) == \
        r"{\left(\hat{y} - y\right)}^{2}"


def test_mul_drops_ones_and_folds_constants():
    assert F.mul(F.num(1), N("a")) == N("a") and F.mul(N("a"), F.num(1)) == N("a")
    assert F.mul(F.num(Fraction(1, 2)), F.mul(F.num(2), N("e"))) == N("e")
    assert F.mul(F.num(3), F.mul(F.num(2), N("e"))) == F.Bin("*", F.num(6), N("e"))


# ------------------------------------------------------------- substitute / names_in

def test_names_in():
    assert F.names_in(DW1) == {"W2", "dl/dz3", "z1", "x"}
    assert F.names_in(F.num(3)) == set()
    assert F.names_in(F.Neg(F.T(F.call("sum", N("a"), F.num(0))))) == {"a"}


def test_substitute():
    node = F.add(F.matmul(N("W"), N("a")), F.Neg(F.T(F.call("f", N("a"), N("b")))))
    out = F.substitute(node, {"a": F.mul(N("c"), N("d")), "W": N("V")})
    assert F.names_in(out) == {"V", "c", "d", "b"}
    assert F.to_code(out) == "V @ (c * d) + -f(c * d, b).T"
    assert F.substitute(node, {}) == node
    assert F.substitute(F.num(2), {"a": N("b")}) == F.num(2)
    # substitution is one pass, not recursive
    assert F.substitute(N("a"), {"a": N("b"), "b": N("c")}) == N("b")


def test_expanded_dl_dW1_has_no_dl_dz_names():
    layers, one = _two_layer()
    wide = derivation.expanded(one, Structure(("W1", "W2"), ("b1", "b2"), 4))
    names = F.names_in(wide["dl/dW1"])
    assert not [n for n in names if n.startswith("dl/dz")], names
    assert names == {"W2", "dl/dy_hat", "z1", "x"}
    assert F.to_code(wide["dl/dW1"]) == "((W2.T @ dl/dy_hat) * step(z1)) @ x.T"
    for name, node in wide.items():
        assert not any(n.startswith("dl/dz") for n in F.names_in(node)), name


# ------------------------------------------------------------- evaluate

ENV = {"A": np.arange(6.0).reshape(2, 3), "B": np.ones((3, 2)), "v": np.array([[1.0], [2.0]])}


def test_evaluate_values():
    assert np.array_equal(F.evaluate(F.matmul(N("A"), N("B")), ENV), ENV["A"] @ ENV["B"])
    assert np.array_equal(F.evaluate(F.T(N("A")), ENV), ENV["A"].T)
    assert np.array_equal(F.evaluate(F.add(N("A"), N("v")), ENV), ENV["A"] + ENV["v"])  # broadcasting
    assert F.evaluate(F.num(Fraction(1, 4)), {}) == 0.25
    assert F.evaluate(N("pi"), {}) == pytest.approx(np.pi)
    assert np.array_equal(F.evaluate(F.call("sum", N("A"), F.num(1)), ENV), [[3.0], [12.0]])
    assert np.array_equal(F.evaluate(F.call("step", F.num(0), F.num(Fraction(1, 2))), {}), 0.5)
    assert np.array_equal(F.evaluate(F.call("diag", N("v")), ENV), np.diag([1.0, 2.0]))


@pytest.mark.parametrize("node", [
    F.matmul(N("A"), N("A")),
    F.matmul(N("v"), N("B")),
    F.matmul(F.num(2), N("A")),
    F.add(N("A"), N("B")),
    F.sub(N("A"), N("B")),
    F.mul(N("B"), N("A")),
    F.div(N("A"), F.T(N("A"))),
    F.Bin("**", N("A"), N("B")),
    F.matmul(F.T(N("A")), F.T(N("v"))),
], ids=lambda n: F.to_code(n))
def test_evaluate_shape_errors_raise_formula_error(node):
    with pytest.raises(F.FormulaError, match="shapes do not fit"):
        F.evaluate(node, ENV)


def test_evaluate_unknown_name_raises_formula_error():
    with pytest.raises(F.FormulaError, match="unknown name 'W9'"):
        F.evaluate(F.matmul(N("W9"), N("A")), ENV)


@pytest.mark.parametrize("node", [
    F.call("max", N("A"), N("B")),
    F.call("sum", N("A"), F.num(5)),
    F.call("nosuchfn", N("A")),
], ids=lambda n: F.to_code(n))
def test_evaluate_errors_inside_calls_raise_formula_error(node):
    with pytest.raises(F.FormulaError):
        F.evaluate(node, ENV)


# ------------------------------------------------------------- local Jacobians

def _softmax_layers():
    layers = (Layer("W1", None, A.make("softmax")),)
    return layers, losses.Loss(losses.KINDS["cross_entropy"])


def test_softmax_jacobian_formula_columns():
    layers, loss = _softmax_layers()
    node = derivation.one_step(layers, loss, False, True, True, (3,))["dy_hat/dz1"]
    s = np.array([[0.2], [0.3], [0.5]])
    assert np.allclose(F.evaluate(node, {"y_hat": s}), np.diag(s[:, 0]) - s @ s.T)


def test_softmax_jacobian_formula_rows():
    layers, loss = _softmax_layers()
    node = derivation.one_step(layers, loss, True, True, True, (3,))["dy_hat/dz1"]
    s = np.array([[0.2], [0.3], [0.5]])
    assert np.allclose(F.evaluate(node, {"y_hat": s.T}), np.diag(s[:, 0]) - s @ s.T)


@pytest.mark.parametrize("rows", [False, True])
def test_elementwise_jacobian_formulas(rows):
    layers, one = _two_layer(rows=rows, single=True, jac=True, acts=("tanh", "sigmoid"))
    z1, z3 = np.array([[0.3], [-1.0], [2.0]]), np.array([[0.5], [-0.25]])
    env = {"z1": z1.T if rows else z1, "z3": z3.T if rows else z3, "W2": np.ones((2, 3))}
    assert np.allclose(F.evaluate(one["dz2/dz1"], env), np.diag(1 - np.tanh(z1[:, 0]) ** 2))
    sig = 1 / (1 + np.exp(-z3[:, 0]))
    assert np.allclose(F.evaluate(one["dy_hat/dz3"], env), np.diag(sig * (1 - sig)))
    assert np.array_equal(F.evaluate(one["dz3/dz2"], env), np.ones((2, 3)))


# ------------------------------------------------------------- shipped problems

def test_there_are_shipped_problems():
    assert len(PROBLEMS) >= 8


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: Path(p).stem)
def test_shipped_problem_formulas_reproduce_the_values(path):
    problem = spec.load_problem(path)
    sol = solve.solve(problem)
    assert sol.report.formulas_checked > 0
    assert sol.report.compared > 0 and sol.report.fd_checked > 0
    # evaluate both the one-step and the expanded formula of every entry ourselves
    case = solve.case_of(problem)
    fast = numeric.run(case, jacobians=problem.n_samples == 1)
    if problem.lr is not None:
        fast.update(numeric.train(case, problem.lr, problem.steps, optimizer=problem.optimizer))
    env = solve._environment(problem, fast)
    checked = 0
    for name, entry in sol.entries.items():
        want = np.asarray(solve._present(name, fast[name], problem, False, for_env=True), float)
        for node in (entry.formula, entry.expanded):
            if node is None:
                continue
            got = np.asarray(F.evaluate(node, env), float)
            assert got.size == want.size, (name, F.to_code(node))
            assert np.allclose(got.reshape(want.shape), want, rtol=1e-8, atol=1e-12), (name, F.to_code(node))
            checked += 1
        if name.startswith("dl/d") and entry.expanded is not None:
            assert not any(re.fullmatch(r"dl/dz\d+", n) for n in F.names_in(entry.expanded)), name
    assert checked >= sol.report.formulas_checked
    # two-layer nets: dl/dW1 expanded down to dl/dy_hat
    w1 = problem.layers[0].weight
    if len(problem.layers) == 2:
        names = F.names_in(sol.entries[f"dl/d{w1}"].expanded)
        assert "dl/dy_hat" in names and not [n for n in names if n.startswith("dl/dz")]
