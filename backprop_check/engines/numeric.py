"""The numpy engine: vectorised float64 backpropagation, written independently.

It shares the problem definition with the sympy engine and nothing else: the
derivatives here are the hand-written `numpy_derivative`/`numpy_dterm` of the
activation and loss registries, never sympy's. Columns are samples.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import Case


def array(rows) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in rows], dtype=np.float64)


def forward(case: Case, params: dict[str, np.ndarray], data: tuple | None = None
            ) -> tuple[list, list, np.ndarray, float]:
    """Pre-activations, layer inputs, output and loss (used by finite differences).

    `data` = (x, y) as float arrays, when the caller has them already.
    """
    x, y = data if data is not None else (array(case.x), array(case.y))
    a = x
    inputs, pre = [], []
    for layer in case.layers:
        z = params[layer.weight] @ a
        if layer.bias:
            z = z + params[layer.bias]  # (out, 1) broadcasts over the samples
        if layer.activation.kind.kinks:
            z = _snap_to_kinks(z, layer, params, a)
        inputs.append(a)
        pre.append(z)
        a = layer.activation.numpy(z)
    a = _snap(a, loss_kinks(case, y), np.abs(a))
    scale = float(case.loss.factor) / case.loss.divisor(case.n_samples, len(case.y))
    loss = scale * float(np.sum(case.loss.kind.numpy_term(a, y)))
    return pre, inputs, a, loss


KINK_RTOL = 1e-12


def _snap_to_kinks(z: np.ndarray, layer, params: dict, a: np.ndarray) -> np.ndarray:
    """Put pre-activations that are a kink up to rounding exactly on the kink.

    0.1·0.9 − 0.3·0.3 is exactly 0, but 1.4e-17 in float64, and ReLU′ would
    take the wrong side of its kink. A value within 1e-12 of the magnitude of
    the terms that were summed (|W|·|a| + |b|) is treated as on the kink.
    """
    size = np.abs(params[layer.weight]) @ np.abs(a)
    if layer.bias:
        size = size + np.abs(params[layer.bias])
    return _snap(z, layer.activation.kind.kinks, size)


def _snap(v: np.ndarray, kinks, size: np.ndarray) -> np.ndarray:
    """v with entries within KINK_RTOL of `size` from a kink (a number, or an array per entry) put on it."""
    out = v.copy()
    for k in kinks:
        near = np.abs(v - k) <= KINK_RTOL * np.maximum(size, np.abs(k))
        out[near] = np.broadcast_to(k, v.shape)[near]
    return out


def loss_kinks(case: Case, y: np.ndarray) -> list:
    """Where a custom loss term has kinks in ŷ (an array per kink; ŷ = y for abs(y_hat - y))."""
    if case.loss.kind.kinks is None:
        return []
    with np.errstate(all="ignore"):
        return case.loss.kind.kinks(y) or []  # None: not affine at these targets, nothing to snap


def params_of(case: Case) -> dict[str, np.ndarray]:
    return {name: array(value) for name, value in case.params.items()}


def run(case: Case, jacobians: bool = False, params: dict | None = None,
        slope_mistake: tuple | None = None) -> dict:
    """Every quantity of one pass.

    `slope_mistake` = (layer, how) recomputes the pass the way a student who
    made that mistake would: how = "one" drops the activation derivative of
    layer `layer` (1-based), "output" evaluates it at the layer's output
    instead of its input. The diagnosis of wrong answers uses it.
    """
    params = params if params is not None else params_of(case)
    pre, inputs, y_hat, loss = forward(case, params)
    n, n_layers = case.n_samples, len(case.layers)
    out: dict = {"y_hat": y_hat, "loss": loss}
    for l in range(1, n_layers + 1):
        out[f"z{2 * l - 1}"] = pre[l - 1]
        out[f"z{2 * l}"] = inputs[l] if l < n_layers else y_hat
    scale = float(case.loss.factor) / case.loss.divisor(n, len(case.y))
    g = scale * case.loss.kind.numpy_dterm(y_hat, array(case.y))
    out["dl/dy_hat"] = g
    for l in range(n_layers, 0, -1):
        layer, z, s = case.layers[l - 1], pre[l - 1], out[f"z{2 * l}"]
        top = "y_hat" if l == n_layers else f"z{2 * l}"
        if layer.activation.kind.elementwise:
            slope = layer.activation.numpy_derivative(z)
            if slope_mistake and slope_mistake[0] == l:
                slope = (np.ones_like(z) if slope_mistake[1] == "one"
                         else layer.activation.numpy_derivative(s))
            delta = g * slope
            jac = np.diag(slope[:, 0]) if jacobians else None
        else:  # softmax: per column, (diag(s) - s sᵀ) g
            delta = s * (g - np.sum(s * g, axis=0, keepdims=True))
            jac = np.diag(s[:, 0]) - s @ s.T if jacobians else None
        if jacobians:
            out[f"d{top}/dz{2 * l - 1}"] = jac
        out[f"dl/dz{2 * l - 1}"] = delta
        out[f"dl/d{layer.weight}"] = delta @ inputs[l - 1].T
        if layer.bias:
            out[f"dl/d{layer.bias}"] = np.sum(delta, axis=1, keepdims=True)
        if l > 1:
            g = params[layer.weight].T @ delta
            out[f"dl/dz{2 * l - 2}"] = g
            if jacobians:
                out[f"dz{2 * l - 1}/dz{2 * l - 2}"] = params[layer.weight]
    return out


def train(case: Case, lr: Fraction | float, steps: int, slope_mistake: tuple | None = None,
          first: dict | None = None) -> dict:
    """Parameters and loss after each gradient-descent step (see `run` for slope_mistake;
    `first` is `run(case)` when the caller has it already)."""
    out: dict = {}
    params = params_of(case)
    grads = first if first is not None else run(case, params=params, slope_mistake=slope_mistake)
    for k in range(1, steps + 1):
        params = {name: value - float(lr) * grads[f"dl/d{name}"] for name, value in params.items()}
        for name, value in params.items():
            out[f"step{k}.{name}"] = value
        grads = run(case, params=params, slope_mistake=slope_mistake)
        out[f"step{k}.loss"] = grads["loss"]
    return out
