"""Plots of activations and their derivatives: a problem's own, or any named ones.

Homework asks to "draw ReLU, LeakyReLU, Softplus, GELU": each plot shows
f(z) (green) and f′(z) (red) over z in [-4, 4]. The curves are sampled here
with numpy from the one definition of each activation (`activations`, whose
values and derivatives are the numpy engine's own passes over `ops`), never
re-typed in pgfplots or SVG. A derivative is broken at a kink (ReLU's jump at
0 is not drawn as a vertical line).

`activations_of(problem)` lists a problem's activations: a network's
elementwise layer activations, or the activation functions a graph's nodes
call (relu, leaky_relu(·, 0.1), sigmoid, tanh, softplus, gelu, elu); the
identity and softmax are not plotted. `parse` reads an activation as the
command line names it: a name (`gelu`) or a formula in z (`leaky_relu(z, 0.1)`,
`5*relu(z)`, `z*sigmoid(z)`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import activations as A
from .. import formulas as F
from ..errors import InputError

SPAN = (-4.0, 4.0)
SAMPLES = 161  # 0.05 apart: z = 0, every usual kink, is a sample
NOT_PLOTTED = ("identity", "softmax")


@dataclass(frozen=True)
class Curve:
    label: str  # as a spec writes it: relu, leaky_relu(slope=1/10), 5·relu, or a formula
    z: np.ndarray
    f: np.ndarray
    pieces: tuple  # the derivative: (z, f′(z)) arrays per piece between kinks


def activations_of(problem) -> list:
    """The problem's activations to plot (Activation objects, each once, in order of use)."""
    found: list = []
    if getattr(problem, "graph", None) is not None:
        for _, tree in problem.graph.nodes:
            found += [A.custom(F.to_code(F.Call(c.fn, (F.Name("z"),) + c.args[1:]))) for c in _calls(tree)]
    else:
        found = [layer.activation for layer in problem.layers if layer.activation.kind.elementwise]
    out, seen = [], set()
    for activation in found:
        if activation.name not in NOT_PLOTTED and activation.label() not in seen:
            seen.add(activation.label())
            out.append(activation)
    return out


def _calls(tree: F.Node) -> list:
    """The calls of activation functions in a tree whose other arguments are numbers."""
    found = []
    if isinstance(tree, F.Call) and tree.fn in A.KINDS and all(isinstance(a, F.Num) for a in tree.args[1:]):
        found.append(tree)
    for child in F.children(tree):
        found += _calls(child)
    return found


def parse(text: str) -> A.Activation:
    """An activation named on the command line: a name of `activations.KINDS` or a formula in z."""
    name = text.strip()
    if name in A.KINDS:
        if name in NOT_PLOTTED:
            raise InputError(f"{name} is not plotted (the identity is a line; softmax is not elementwise)")
        return A.make(name)
    try:
        return A.custom(name)
    except Exception as exc:  # noqa: BLE001 - the formula parser's errors: one message
        raise InputError(f"activation {name[:60]!r}: {exc}; give a name ({', '.join(_names())}) or a "
                         "formula in z such as \"leaky_relu(z, 0.1)\"") from None


def _names() -> list:
    return [k for k in A.KINDS if k not in NOT_PLOTTED]


def curve(activation: A.Activation, span: tuple = SPAN, samples: int = SAMPLES) -> Curve:
    """f and f′ sampled on `span`; f′ in pieces between the activation's kinks."""
    z = np.linspace(span[0], span[1], samples)
    f = activation.numpy(z)
    kinks = sorted(float(k) for k in activation.kind.kinks or () if span[0] < float(k) < span[1])
    pieces, start = [], span[0] - 1
    for edge in kinks + [span[1] + 1]:
        # each piece on its open interval, its ends evaluated just inside (the one-sided limits)
        inside = (z > start) & (z < edge)
        ends = [x for x in (start, edge) if span[0] <= x <= span[1]]
        zs = np.sort(np.concatenate([z[inside], [e + (1e-9 if e == start else -1e-9) for e in ends]]))
        pieces.append((zs, activation.numpy_derivative(zs)))
        start = edge
    return Curve(activation.label(), z, f, tuple(pieces))


def bounds(c: Curve) -> tuple:
    """(low, high) of the y axis: every value shown, with a margin, and never flat."""
    values = np.concatenate([c.f] + [d for _, d in c.pieces])
    values = values[np.isfinite(values)]
    low, high = float(min(values.min(), 0)), float(max(values.max(), 1))
    margin = 0.08 * (high - low)
    return low - margin, high + margin
