"""Layered networks, compiled into computation graphs and read back as quantities.

Layer l becomes two nodes, z{2l-1} = W_l @ a + b_l and z{2l} = f_l(z{2l-1})
(the activation's own formula tree), then y_hat = z{2L} and the loss's
formula; every value is a matrix with one column per sample. Both engines
run the same graph (`engines.autodiff` with their own arithmetic), and this
module names what they find the way FORMAT.md section 2 does: z1 …, y_hat,
loss, dl/dy_hat, dl/dz…, dl/dW…, dl/db… and, for one sample, the local
Jacobians.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import numpy as np

from . import formulas as F
from .engines import Case
from .engines.autodiff import backward, diagonal, forward, gradient, jacobian
from .graph import Graph, Tape, record
from .jacobians import DENSE_LIMIT, Diagonal

N = F.Name


_ARRAYS: dict = {}  # id of rows -> (the rows, their array): kept alive, so the id is theirs


def exact_array(rows) -> np.ndarray:
    """Rows of Fractions as an object array; the same rows give the same array, read-only, so that
    an engine converts a wide net's numbers once, not at every pass and training step."""
    kept = _ARRAYS.get(id(rows))
    if kept is not None and kept[0] is rows:
        return kept[1]
    if len(_ARRAYS) >= 256:
        _ARRAYS.clear()
    out = np.array([list(row) for row in rows], dtype=object)
    out.flags.writeable = False
    _ARRAYS[id(rows)] = (rows, out)
    return out


def graph_of(case: Case) -> Graph:
    """The computation graph of one forward pass and the loss."""
    inputs = graph_of_inputs(case)
    nodes = [("N", F.num(case.n_samples)), ("K", F.num(case.n_outputs))]
    a = N("x")
    for l, layer in enumerate(case.layers, start=1):
        z = F.matmul(N(layer.weight), a)
        nodes.append((f"z{2 * l - 1}", F.add(z, N(layer.bias)) if layer.bias else z))
        nodes.append((f"z{2 * l}", layer.activation.node(N(f"z{2 * l - 1}"))))
        a = N(f"z{2 * l}")
    nodes.append(("y_hat", a))
    nodes.append(("loss", case.loss.formula(N("y_hat"), N("y"))))
    return Graph(inputs, tuple(nodes), "loss")


_TAPES: dict = {}


def tape_of(case: Case) -> Tape:
    """The tape of a case's graph; cases that differ only in numbers share it."""
    key = (case.layers, case.loss, len(case.x), case.n_samples, len(case.y))
    if key not in _TAPES:
        if len(_TAPES) > 64:
            _TAPES.clear()
        _TAPES[key] = record(graph_of(case))
    return _TAPES[key]


def run(case: Case, arithmetic, jacobians: bool = False, params: dict | None = None,
        slope_mistake: tuple | None = None) -> dict:
    """Every quantity of one pass, as the arithmetic's arrays (columns layout).

    `params` replaces the case's parameters (arrays of the arithmetic's kind);
    `slope_mistake` = (layer, "one" | "output") recomputes the backward pass as a
    student would who drops that layer's f′ or takes it at the layer's output.
    """
    tape, values = forward_pass(case, arithmetic, params)
    n_layers = len(case.layers)
    out: dict = {name: values[tape.at[name]] for name in
                 [f"z{i}" for i in range(1, 2 * n_layers + 1)] + ["y_hat", "loss"]}
    overrides = _mistake(case, tape, values, arithmetic, slope_mistake) if slope_mistake else None
    grads = _gradients(tape, values, arithmetic, overrides)
    out["dl/dy_hat"] = grads["y_hat"]
    for l in range(n_layers, 0, -1):
        layer = case.layers[l - 1]
        out[f"dl/dz{2 * l - 1}"] = grads[f"z{2 * l - 1}"]
        out[f"dl/d{layer.weight}"] = grads[layer.weight]
        if layer.bias:
            out[f"dl/d{layer.bias}"] = grads[layer.bias]
        if l > 1:
            out[f"dl/dz{2 * l - 2}"] = grads[f"z{2 * l - 2}"]
    if jacobians:
        out.update(local_jacobians(case, tape, values, arithmetic))
    return out


def forward_pass(case: Case, arithmetic, params: dict | None = None) -> tuple[Tape, list]:
    """The case's tape and the value of each of its steps (`params` as in `run`)."""
    tape = tape_of(case)
    inputs = {name: arithmetic.input(v) for name, v in graph_of_inputs(case).items()}
    inputs.update(params or {})
    return tape, forward(tape, arithmetic, inputs)


class Gradients(Mapping):
    """dl/d(each parameter) of one forward pass, by a backward pass run when one is first read:
    training's last pass reports its loss, and the gradients there are never read (in a wide
    exact net the backward pass costs as much as the forward one)."""

    def __init__(self, tape: Tape, values: list, arithmetic, names):
        self._pass, self._names, self._found = (tape, values, arithmetic), tuple(names), None

    def _all(self) -> dict:
        if self._found is None:
            grads = gradient(*self._pass, "loss")
            self._found = {p: grads[p] for p in self._names}
            self._pass = None  # (the forward pass's values are not needed any more)
        return self._found

    def __getitem__(self, name: str):
        return self._all()[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def loss_and_gradients(case: Case, arithmetic, params: dict) -> tuple:
    """The loss at `params` (the case's other numbers as they are) and a `Gradients` of them."""
    tape, values = forward_pass(case, arithmetic, params)
    return values[tape.at["loss"]], Gradients(tape, values, arithmetic, params)


def graph_of_inputs(case: Case) -> dict:
    """The graph's given values: x, y and the parameters, as exact object arrays."""
    inputs = {"x": exact_array(case.x), "y": exact_array(case.y)}
    inputs.update((name, exact_array(value)) for name, value in case.params.items())
    return inputs


def _gradients(tape: Tape, values: list, arithmetic, overrides) -> dict:
    if not overrides:
        return gradient(tape, values, arithmetic, "loss")
    seed = arithmetic.one(values[tape.at["loss"]])
    adjoint = backward(tape, values, arithmetic, tape.at["loss"], seed, cuts=overrides)
    zero = lambda i: values[i] * 0  # noqa: E731 - a value the mistake cut off: no gradient flows
    return {name: adjoint[i] if adjoint[i] is not None else zero(i) for name, i in tape.at.items()}


def local_jacobians(case: Case, tape: Tape, values: list, arithmetic) -> dict:
    """dz{i+1}/dz{i} and dy_hat/dz{2L-1}, numerator layout (single sample); an elementwise
    activation's wider than `jacobians.DENSE_LIMIT` entries as its diagonal (`jacobians.Diagonal`)."""
    out = {}
    n_layers = len(case.layers)
    for i in range(1, 2 * n_layers):
        top = "y_hat" if i + 1 == 2 * n_layers else f"z{i + 1}"
        width = int(np.size(values[tape.at[f"z{i}"]]))
        if i % 2 and case.layers[i // 2].activation.kind.elementwise and width * width > DENSE_LIMIT:
            out[f"d{top}/dz{i}"] = Diagonal(diagonal(tape, values, arithmetic, top, f"z{i}"))
        else:
            out[f"d{top}/dz{i}"] = jacobian(tape, values, arithmetic, top, f"z{i}")
    return out


def _mistake(case: Case, tape: Tape, values: list, arithmetic, slope_mistake: tuple) -> dict:
    """Cut the chain rule at layer l's activation: g·1, or g·f′(output), goes to z{2l-1}."""
    l, how = slope_mistake
    top, below = tape.at[f"z{2 * l}"], tape.at[f"z{2 * l - 1}"]
    if top == below:
        return {}  # identity: f′ = 1 either way
    if how == "one":
        slope = arithmetic.one(values[below])
    else:
        activation = case.layers[l - 1].activation
        slope = slope_at(activation, values[top], arithmetic)
    return {top: (below, slope)}


def slope_at(activation, z, arithmetic):
    """f′(z) of an elementwise activation, at any values z (one backward pass of ones)."""
    graph = Graph({"z": Fraction(0)}, (("f", activation.node(N("z"))),), "f")
    tape = record(graph)
    values = forward(tape, arithmetic, {"z": z})
    slope = backward(tape, values, arithmetic, tape.at["f"], arithmetic.one(values[tape.at["f"]]))[tape.at["z"]]
    return arithmetic.one(z) * 0 if slope is None else slope
