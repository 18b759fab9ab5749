"""Every activation function, defined once, as a formula tree over `ops`.

An activation is its formula in z (`relu(z)`, `leaky_relu(z, 0.01)`,
`5*relu(z)`, or any elementwise formula a spec writes): its value, its
derivative, its sympy form and its solution-sheet formulas all come from the
operations of that tree (`ops`), where each function is defined once. Each
entry of `KINDS` gives the tree for its parameters (`formula`, as a sheet
writes it, and `node`, what the engines run, where a kink's convention adds
a parameter), its defaults, and what the spec checks need: `exact` (rationals
in, rationals out: the sympy engine stays exact) and `kinks`. Softmax is the
one non-elementwise activation (last layer only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import numpy as np

from .lazy import sp
from . import formulas as F



def __getattr__(name: str):
    """`Z`, the sympy symbol of z: made on first use, so that importing this module imports no sympy."""
    if name == "Z":
        return sp.Symbol("z", real=True)  # sympy caches symbols: every call gives the same one
    raise AttributeError(name)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity
class Kind:
    name: str
    formula: Callable  # (arg, params) -> tree, as a solution sheet writes f
    defaults: dict = field(default_factory=dict)
    exact: bool = False
    kinks: tuple = ()
    elementwise: bool = True
    kinks_unknown: bool = False  # a custom formula whose kinks bpcheck cannot place
    node: Callable | None = None  # the tree the engines run, where it differs from `formula`
    degree: Fraction = Fraction(1)  # growth of sizes and rounding errors (elementwise.degree)
    custom: bool = False  # written as a formula in the spec: its cost counts in the work budget


def _call(fn: str, *params: str):
    """A kind's tree: fn(z, its parameters…), dropping trailing parameters at their defaults."""
    def build(a, p):
        values = [p[k] for k in params]
        while values and values[-1] == _DEFAULTS.get((fn, params[len(values) - 1])):
            values.pop()
        return F.call(fn, a, *(F.Num(v) for v in values))
    return build


_DEFAULTS = {("softplus", "beta"): Fraction(1), ("elu", "alpha"): Fraction(1), ("relu", "grad_at_zero"): Fraction(0)}

KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("identity", formula=lambda a, p: a, exact=True),
    Kind("relu", formula=_call("relu"), node=lambda a, p: F.call("relu", a, F.Num(p["grad_at_zero"])),
         defaults={"grad_at_zero": Fraction(0)}, exact=True, kinks=(0.0,)),
    Kind("leaky_relu", formula=lambda a, p: F.call("leaky_relu", a, F.Num(p["slope"])),
         node=lambda a, p: F.call("leaky_relu", a, F.Num(p["slope"]), F.Num(p["grad_at_zero"])),
         defaults={"slope": Fraction(1, 100), "grad_at_zero": Fraction(0)}, exact=True, kinks=(0.0,)),
    Kind("tanh", formula=_call("tanh")),
    Kind("sigmoid", formula=_call("sigmoid")),
    Kind("softplus", formula=_call("softplus", "beta"), defaults={"beta": Fraction(1)}),
    Kind("gelu", formula=_call("gelu")),
    Kind("elu", formula=_call("elu", "alpha"), defaults={"alpha": Fraction(1)}, kinks=(0.0,)),
    Kind("softmax", formula=_call("softmax"), elementwise=False),
]}


@dataclass(frozen=True)
class Activation:
    """An activation as configured in a spec: kind, parameters and scale."""

    kind: Kind
    params: tuple = ()  # sorted (name, Fraction) pairs, hashable
    scale: Fraction = Fraction(1)

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def p(self) -> dict:
        return dict(self.params)

    @property
    def exact(self) -> bool:
        return self.kind.exact

    def label(self) -> str:
        """A short human label: `5·relu`, `leaky_relu(slope=1/10)`."""
        extras = [f"{k}={v}" for k, v in self.params
                  if self.kind.defaults.get(k) != v]
        core = self.name + (f"({', '.join(extras)})" if extras else "")
        return core if self.scale == 1 else f"{self.scale}·{core}"

    def formula(self, arg: F.Node) -> F.Node:
        """f(arg) as a solution sheet writes it."""
        return F.mul(F.Num(self.scale), self.kind.formula(arg, self.p))

    def node(self, arg: F.Node) -> F.Node:
        """The activation as a graph node's formula tree (the engines run it)."""
        build = self.kind.node or self.kind.formula
        return F.mul(F.Num(self.scale), build(arg, self.p))

    def dformula(self, arg: F.Node) -> F.Node | None:
        """f′(arg) as a formula (None for softmax, whose derivative is a Jacobian)."""
        if not self.kind.elementwise:
            return None
        from .elementwise import derivative  # late: elementwise imports the formula parser

        return F.substitute(derivative(self.node(F.Name("z")), "z"), {"z": arg})

    def sympy_expr(self) -> sp.Expr:
        """f(z) in sympy (softmax: its numerator, e^z)."""
        from .elementwise import to_sympy

        return to_sympy(self.node(F.Name("z")), {"z": sp.Symbol("z", real=True)}) if self.kind.elementwise else sp.exp(sp.Symbol("z", real=True))

    def sympy_derivative(self) -> sp.Expr:
        """f′(z) in sympy, with the spec's value at a kink (`ops`' dsympy)."""
        from .elementwise import sympy_derivative

        return sympy_derivative(self.node(F.Name("z")), {"z": sp.Symbol("z", real=True)}, "z")

    def numpy(self, z: np.ndarray) -> np.ndarray:
        return _floats(self, z)[0]

    def numpy_derivative(self, z: np.ndarray) -> np.ndarray:
        return _floats(self, z)[1]


def _floats(activation: Activation, z: np.ndarray) -> tuple:
    """f(z) and f′(z) in float64: the numpy engine's forward and backward pass of the tree."""
    from .engines.autodiff import backward, forward
    from .engines.floats import Floats
    from .graph import Graph, record

    tape = record(Graph({"z": Fraction(0)}, (("f", activation.node(F.Name("z"))),), "f"))
    arithmetic = Floats()
    with np.errstate(all="ignore"):
        values = forward(tape, arithmetic, {"z": np.asarray(z, dtype=float)})
        out = values[tape.at["f"]]
        slope = backward(tape, values, arithmetic, tape.at["f"], arithmetic.one(out))[tape.at["z"]] \
            if activation.kind.elementwise else None
    if slope is None and activation.kind.elementwise:
        slope = np.zeros_like(np.asarray(z, dtype=float))  # a constant function
    return np.asarray(out, dtype=float) * np.ones_like(np.asarray(z, dtype=float)), slope


def custom(text: str) -> Activation:
    """An activation written as a formula in z, e.g. "5*relu(z)" or "z*sigmoid(z)".

    Raises FormulaSyntaxError for text that is not an elementwise formula in z.
    """
    from . import elementwise as E  # late: elementwise imports the formula parser

    node = E.parse_elementwise(text, {"z"})
    kind = Kind(
        name=F.to_code(node),
        formula=lambda a, p: F.substitute(node, {"z": a}),
        exact=E.is_rational(node),
        kinks=E.kinks(node) or (),
        kinks_unknown=E.kinks(node) is None,
        degree=max(Fraction(1), E.degree(node)), custom=True)
    return Activation(kind)


def make(name: str, params: dict | None = None, scale: Fraction = Fraction(1)) -> Activation:
    """Configure an activation; unknown names and parameters raise KeyError."""
    kind = KINDS[name]
    merged = dict(kind.defaults)
    for key, value in (params or {}).items():
        if key not in kind.defaults:
            raise KeyError(key)
        merged[key] = Fraction(value)
    return Activation(kind, tuple(sorted(merged.items())), Fraction(scale))
