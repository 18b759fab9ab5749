"""The solution-sheet formula of every quantity, in the problem's layout.

Each quantity gets a one-step formula in terms of the names just before it
(dl/dW1 = dl/dz1 @ x.T) and an expanded one, written down to dl/dy_hat the way
a solution sheet writes it (dl/dW1 = ((W2.T @ (dl/dy_hat * g′(z3))) * f′(z1)) @ x.T).
In the rows layout (x is N × in) the same algebra is transposed:
z1 = x @ W1.T + b1, dl/dW1 = dl/dz1.T @ x.
"""

from __future__ import annotations

from . import formulas as F
from .quantities import Structure

N = F.Name


def _sum_batch(node: F.Node, rows: bool, single: bool) -> F.Node:
    """Σ over samples (a bias gradient); a single sample needs no sum."""
    if single:
        return node
    return F.call("sum", node, F.num(0 if rows else 1))


def step_formulas(layers: tuple, lr, optimizer=None) -> dict:
    """The first training step: the optimizer's state, then each parameter
    (SGD: step1.P = P − lr · dl/dP; momentum: step1.v_P = dl/dP, step1.P = P − lr · step1.v_P;
    Adam: m, v, m̂, v̂ and step1.P = P − lr · m̂ / (√v̂ + eps)). Later steps repeat it at the
    new parameters and state."""
    from . import optimizers

    params = [p for layer in layers for p in (layer.weight, layer.bias) if p]
    return optimizers.formulas(optimizer or optimizers.SGD, params, lr, lambda p: f"dl/d{p}")


def _diagonal(slope: F.Node, width: int) -> F.Node:
    """diag(f′(z)); a constant slope c gives c·I."""
    if not F.names_in(slope) - {"pi", "e"}:  # 1/2, -1, pi: no z in it
        return F.mul(slope, F.call("eye", F.num(width)))
    return F.call("diag", slope)


def one_step(layers: tuple, loss, rows: bool, single: bool, jacobians: bool,
             widths: tuple = (), slope_mistake: tuple | None = None) -> dict:
    """Formulas in terms of the neighbouring names, sheet order.

    `widths` (each layer's output size) is needed for the Jacobians only.
    `slope_mistake` = (layer, "one" | "output") writes the formulas a student
    would who drops that layer's f′, or evaluates it at the layer's output;
    formula grading uses it to name those mistakes.
    """
    n_layers = len(layers)
    out: dict = {}
    a = N("x")
    for l, layer in enumerate(layers, start=1):
        w = N(layer.weight)
        z = F.matmul(a, F.T(w)) if rows else F.matmul(w, a)
        out[f"z{2 * l - 1}"] = F.add(z, N(layer.bias)) if layer.bias else z
        if layer.activation.kind.elementwise:
            out[f"z{2 * l}"] = layer.activation.formula(N(f"z{2 * l - 1}"))
        else:  # softmax normalises each sample: columns, or rows in the rows layout
            axis = (F.num(1),) if rows else ()
            out[f"z{2 * l}"] = F.call("softmax", N(f"z{2 * l - 1}"), *axis)
        a = N(f"z{2 * l}")
    out["y_hat"] = out[f"z{2 * n_layers}"]
    out["loss"] = loss.formula(N("y_hat"), N("y"), rows)
    out["dl/dy_hat"] = loss.dformula(N("y_hat"), N("y"), rows)
    for l in range(n_layers, 0, -1):
        layer = layers[l - 1]
        top = "y_hat" if l == n_layers else f"z{2 * l}"
        g, z = N(f"dl/d{top}"), N(f"z{2 * l - 1}")
        if layer.activation.kind.elementwise:
            slope = layer.activation.dformula(z)
            if slope_mistake and slope_mistake[0] == l:
                slope = F.num(1) if slope_mistake[1] == "one" else layer.activation.dformula(N(f"z{2 * l}"))
            out[f"dl/dz{2 * l - 1}"] = F.mul(g, slope)
            if jacobians:
                out[f"d{top}/dz{2 * l - 1}"] = _diagonal(layer.activation.dformula(z), widths[l - 1])
        else:  # softmax, per sample: s ⊙ (g − sᵀg)
            s = N(top)
            inner = F.call("sum", F.mul(s, g), F.num(1 if rows else 0))
            out[f"dl/dz{2 * l - 1}"] = F.mul(s, F.sub(g, inner))
            if jacobians:
                outer = F.matmul(F.T(s), s) if rows else F.matmul(s, F.T(s))
                out[f"d{top}/dz{2 * l - 1}"] = F.sub(F.call("diag", s), outer)
        delta = N(f"dl/dz{2 * l - 1}")
        below = N("x") if l == 1 else N(f"z{2 * l - 2}")
        out[f"dl/d{layer.weight}"] = F.matmul(F.T(delta), below) if rows else F.matmul(delta, F.T(below))
        if layer.bias:
            out[f"dl/d{layer.bias}"] = _sum_batch(delta, rows, single)
        if l > 1:
            w = N(layer.weight)
            out[f"dl/dz{2 * l - 2}"] = F.matmul(delta, w) if rows else F.matmul(F.T(w), delta)
            if jacobians:
                out[f"dz{2 * l - 1}/dz{2 * l - 2}"] = w
    return out


def expanded(one: dict, structure: Structure) -> dict:
    """Substitute the dl/dz names (not dl/dy_hat) until only given names remain."""
    grads = {k: v for k, v in one.items() if k.startswith("dl/dz")}
    out = {}
    for name, node in one.items():
        if not name.startswith("dl/d") or name == "dl/dy_hat":
            continue
        for _ in range(2 * structure.n_layers):
            nxt = F.substitute(node, grads)
            if nxt == node:
                break
            node = nxt
        out[name] = node
    return out
