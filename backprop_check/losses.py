"""Every loss, defined once: per-element term in sympy and numpy, formulas.

The total loss is `factor` × Σ term(ŷ, y) / divisor, where the divisor is 1,
N, K or N·K (`average:` none, samples, outputs, all). The sympy engine
differentiates `sympy_term`; the numpy engine uses the hand-written
`numpy_dterm`, so the two engines check each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np
import sympy as sp

from . import formulas as F

YH, Y = sp.symbols("yhat y", real=True)

AVERAGES = ("none", "samples", "outputs", "all")


@dataclass(frozen=True, eq=False)  # compared and hashed by identity
class LossKind:
    name: str
    sympy_term: sp.Expr
    numpy_term: Callable
    numpy_dterm: Callable
    formula: Callable  # (y_hat, y) -> elementwise term
    dformula: Callable  # (y_hat, y) -> d term / d y_hat
    exact: bool = False
    kinks: Callable | None = None  # y -> list of arrays of ŷ where the term has a kink
    kinks_unknown: bool = False  # a custom term whose kinks bpcheck cannot place
    degree: Fraction = Fraction(1)  # growth of sizes and rounding errors (elementwise.degree)


KINDS: dict[str, LossKind] = {k.name: k for k in [
    LossKind("mse", (YH - Y) ** 2,
             numpy_term=lambda yh, y: (yh - y) ** 2,
             numpy_dterm=lambda yh, y: 2.0 * (yh - y),
             formula=lambda yh, y: F.Bin("**", F.sub(yh, y), F.num(2)),
             dformula=lambda yh, y: F.mul(F.num(2), F.sub(yh, y)),
             exact=True),
    LossKind("bce", -(Y * sp.log(YH) + (1 - Y) * sp.log(1 - YH)),
             numpy_term=lambda yh, y: -(y * np.log(yh) + (1.0 - y) * np.log1p(-yh)),
             numpy_dterm=lambda yh, y: (yh - y) / (yh * (1.0 - yh)),
             formula=lambda yh, y: F.Neg(F.add(F.mul(y, F.call("log", yh)),
                                               F.mul(F.sub(F.num(1), y), F.call("log", F.sub(F.num(1), yh))))),
             dformula=lambda yh, y: F.div(F.sub(yh, y), F.mul(yh, F.sub(F.num(1), yh)))),
    LossKind("cross_entropy", -Y * sp.log(YH),
             numpy_term=lambda yh, y: -y * np.log(yh),
             numpy_dterm=lambda yh, y: -y / yh,
             formula=lambda yh, y: F.Neg(F.mul(y, F.call("log", yh))),
             dformula=lambda yh, y: F.Neg(F.div(y, yh))),
]}


def custom(text: str) -> LossKind:
    """A loss whose per-element term is a formula in y_hat and y, e.g. "(y_hat - y)**4".

    Raises FormulaSyntaxError for text that is not an elementwise formula.
    """
    from . import elementwise as E  # late: elementwise imports the formula parser

    node = E.parse_elementwise(text, {"y_hat", "y"})
    if "y_hat" not in F.names_in(node):
        raise E.FormulaSyntaxError("a loss term must use y_hat")
    slope = E.derivative(node, "y_hat")
    # placeable when every kinked argument is affine in y_hat (checked at a sample target)
    points = E.kink_points(node, "y_hat", {"y": np.array(0.5)})
    at = lambda tree, yh, y: F.evaluate(tree, {"y_hat": yh, "y": y}) * np.ones_like(yh)  # noqa: E731
    return LossKind(
        name="custom", sympy_term=E.to_sympy(node, {"y_hat": YH, "y": Y}),
        numpy_term=lambda yh, y: at(node, yh, y), numpy_dterm=lambda yh, y: at(slope, yh, y),
        formula=lambda yh, y: F.substitute(node, {"y_hat": yh, "y": y}),
        dformula=lambda yh, y: F.substitute(slope, {"y_hat": yh, "y": y}),
        exact=E.is_rational(node),
        kinks=(lambda y: E.kink_points(node, "y_hat", {"y": y})) if points else None,
        kinks_unknown=points is None,
        degree=max(Fraction(1), E.degree(node)))


@dataclass(frozen=True)
class Loss:
    kind: LossKind
    factor: Fraction = Fraction(1)
    average: str = "none"

    @property
    def name(self) -> str:
        return self.kind.name

    def divisor(self, n_samples: int, n_outputs: int) -> int:
        return {"none": 1, "samples": n_samples, "outputs": n_outputs,
                "all": n_samples * n_outputs}[self.average]

    def divisor_formula(self) -> F.Node | None:
        return {"none": None, "samples": F.Name("N"), "outputs": F.Name("K"),
                "all": F.mul(F.Name("N"), F.Name("K"))}[self.average]

    def scaled(self, node: F.Node) -> F.Node:
        """factor × node / divisor, written the way a sheet writes it."""
        node = F.mul(F.Num(self.factor), node)
        d = self.divisor_formula()
        return node if d is None else F.div(node, d)

    def formula(self, yh: F.Node, y: F.Node) -> F.Node:
        return self.scaled(F.call("sum", self.kind.formula(yh, y)))

    def dformula(self, yh: F.Node, y: F.Node) -> F.Node:
        return self.scaled(self.kind.dformula(yh, y))

    def label(self) -> str:
        parts = [self.name]
        if self.factor != 1:
            parts.append(f"factor {self.factor}")
        if self.average != "none":
            parts.append(f"averaged over {self.average}")
        return ", ".join(parts)
