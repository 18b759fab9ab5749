"""The numpy engine's mistaken passes and training, against a backpropagation written here.

`numeric.run(case, slope_mistake=(l, how))` recomputes a pass the way a student
who dropped layer l's f′ ("one") or took it at the layer's output ("output")
would; the diagnosis relies on it naming the right layer. `numeric.train`
takes plain gradient steps. The expectations come from the small numpy
network below (textbook tanh/sigmoid, ½‖·‖²), not from the package.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from backprop_check import activations as A
from backprop_check.engines import Case, numeric
from backprop_check.losses import KINDS as LOSSES, Loss
from backprop_check.spec import Layer

W1 = [[0.8, -0.4], [0.5, -0.25], [-0.3, 0.9]]
B1 = [[0.1], [0.0], [-0.2]]
W2 = [[0.7, -0.5, 0.4], [-0.6, 0.3, 0.9]]
W3 = [[1.5, -2.0]]
X = [[0.5, -0.7], [1.0, 0.4]]
Y = [[0.3, -0.8]]


def _fr(m):
    return tuple(tuple(Fraction(str(v)) for v in row) for row in m)


CASE = Case((Layer("W1", "b1", A.make("tanh")), Layer("W2", None, A.make("sigmoid")),
             Layer("W3", None, A.make("identity"))),
            {"W1": _fr(W1), "b1": _fr(B1), "W2": _fr(W2), "W3": _fr(W3)}, _fr(X), _fr(Y),
            Loss(LOSSES["mse"], Fraction(1, 2)))


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTS = [(np.tanh, lambda z: 1.0 - np.tanh(z) ** 2), (_sig, lambda z: _sig(z) * (1.0 - _sig(z))),
        (lambda z: z, lambda z: np.ones_like(z))]


def mine(params: dict, mistake: tuple | None = None) -> dict:
    """½‖ŷ − y‖² backpropagation with an optional (layer, "one" | "output") slope mistake."""
    a, inputs, pres, outs = np.array(X), [], [], []
    for l, name in enumerate(("W1", "W2", "W3"), start=1):
        z = params[name] @ a + (params["b1"] if l == 1 else 0.0)
        inputs.append(a)
        pres.append(z)
        a = ACTS[l - 1][0](z)
        outs.append(a)
    g = a - np.array(Y)  # d ½‖ŷ − y‖² / dŷ
    out = {"loss": 0.5 * float(np.sum((a - np.array(Y)) ** 2))}
    for l in (3, 2, 1):
        df = ACTS[l - 1][1]
        if mistake == (l, "one"):
            slope = np.ones_like(pres[l - 1])
        elif mistake == (l, "output"):
            slope = df(outs[l - 1])
        else:
            slope = df(pres[l - 1])
        delta = g * slope
        out[f"dl/dW{l}"] = delta @ inputs[l - 1].T
        if l == 1:
            out["dl/db1"] = delta.sum(axis=1, keepdims=True)
        g = params[f"W{l}"].T @ delta
    return out


PARAMS = {"W1": np.array(W1), "b1": np.array(B1), "W2": np.array(W2), "W3": np.array(W3)}


@pytest.mark.parametrize("mistake", [None, (1, "one"), (2, "one"), (1, "output"), (2, "output")])
def test_slope_mistakes_change_the_layer_they_name(mistake):
    got = numeric.run(CASE, slope_mistake=mistake)
    want = mine(PARAMS, mistake)
    for name in ("dl/dW1", "dl/db1", "dl/dW2", "dl/dW3"):
        assert np.allclose(got[name], want[name], rtol=1e-12, atol=1e-15), (mistake, name)
    if mistake is not None:  # each mistake changes dl/dW1 (and the two layers differ)
        assert not np.allclose(want["dl/dW1"], mine(PARAMS)["dl/dW1"], rtol=1e-6)
    if mistake is not None and mistake[0] == 2:
        assert np.allclose(got["dl/dW3"], mine(PARAMS)["dl/dW3"], rtol=1e-12)  # above layer 2: untouched


@pytest.mark.parametrize("mistake", [None, (1, "one")])
def test_training_takes_plain_gradient_steps(mistake):
    """Two steps of P ← P − 0.1·dl/dP (with the same mistake at every step), and the loss
    after each; `first` (the pass already computed) changes nothing."""
    params, want = dict(PARAMS), {}
    for k in (1, 2):
        grads = mine(params, mistake)
        params = {n: v - 0.1 * grads[f"dl/d{n}"] for n, v in params.items()}
        want.update({f"step{k}.{n}": v for n, v in params.items()})
        want[f"step{k}.loss"] = mine(params, mistake)["loss"]
    for first in (None, numeric.run(CASE, slope_mistake=mistake)):
        got = numeric.train(CASE, Fraction(1, 10), 2, mistake, first=first)
        for name, value in want.items():
            assert np.allclose(got[name], value, rtol=1e-12, atol=1e-15), (name, first is None)
    assert not any(k.startswith("step3.") for k in got)


def test_local_jacobians_only_when_asked():
    one = Case(CASE.layers, CASE.params, _fr([[0.5], [1.0]]), _fr([[0.3]]), CASE.loss)
    assert not any("/dz" in k and not k.startswith("dl/") for k in numeric.run(one))
    jac = numeric.run(one, jacobians=True)
    z1 = np.array(W1) @ np.array([[0.5], [1.0]]) + np.array(B1)
    assert np.allclose(jac["dz2/dz1"], np.diag(1.0 - np.tanh(z1[:, 0]) ** 2), rtol=1e-12)
