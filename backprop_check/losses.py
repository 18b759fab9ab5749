"""Every loss, defined once: its term as a formula tree, and its derivative's.

The total loss is `factor` × Σ term(ŷ, y) / divisor, where the divisor is 1,
N, K or N·K (`average:` none, samples, outputs, all). The engines run
`Loss.formula` as part of the problem's graph (each of its operations defined
in `ops`), so the sympy engine differentiates it with `sympy.diff` and the
numpy engine with the hand-written derivatives: the two check each other.
`dformula` is dl/dy_hat for solution sheets. An elementwise loss's term is
also readable as sympy and numpy functions, derived from the same tree (the
multi-class hinge couples the outputs of a sample, so it has none).

`formula(y_hat, y, axis)` gets the class axis (0 when samples are columns,
as in the engines; 1 in the rows layout of a solution sheet).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Callable

import numpy as np

from .lazy import sp
from . import formulas as F



def __getattr__(name: str):
    """`YH` and `Y`, the sympy symbols of ŷ and y: made on first use (importing this module imports
    no sympy; sympy caches symbols, so every call gives the same ones)."""
    if name in ("YH", "Y"):
        return sp.Symbol("yhat" if name == "YH" else "y", real=True)
    raise AttributeError(name)

AVERAGES = ("none", "samples", "outputs", "all")


@dataclass(frozen=True, eq=False)  # compared and hashed by identity
class LossKind:
    name: str
    formula: Callable  # (y_hat, y, axis=0) -> the terms, summed into the loss
    dformula: Callable  # (y_hat, y, axis=0) -> d Σ terms / d y_hat
    exact: bool = False
    kinks: Callable | None = None  # y -> list of arrays of ŷ where the term has a kink
    kinks_unknown: bool = False  # a custom term whose kinks bpcheck cannot place
    degree: Fraction = Fraction(1)  # growth of sizes and rounding errors (elementwise.degree)
    margin: Fraction | None = None  # the hinge's margin

    @property
    def elementwise(self) -> bool:
        """One term per entry (the hinge couples a sample's outputs)."""
        return self.margin is None

    def _term(self) -> F.Node:
        return self.formula(F.Name("y_hat"), F.Name("y"))

    @property
    def sympy_term(self) -> sp.Expr | None:
        """The per-element term in sympy, from the ops' exact forms (None for the hinge)."""
        from .elementwise import to_sympy

        return to_sympy(self._term(), {"y_hat": sp.Symbol("yhat", real=True), "y": sp.Symbol("y", real=True)}) if self.elementwise else None

    @property
    def numpy_term(self) -> Callable | None:
        """term(ŷ, y) in float64, from the ops' numpy forms."""
        tree = self._term()
        return (lambda yh, y: _at(tree, yh, y)) if self.elementwise else None

    @property
    def numpy_dterm(self) -> Callable | None:
        """d term / d ŷ in float64: the formula differentiated with the ops' derivative formulas."""
        from .elementwise import derivative

        tree = derivative(self._term(), "y_hat") if self.elementwise else None
        return (lambda yh, y: _at(tree, yh, y)) if self.elementwise else None


def _at(tree: F.Node, yh, y):
    with np.errstate(all="ignore"):
        return F.evaluate(tree, {"y_hat": yh, "y": y}) * np.ones_like(yh)  # constants broadcast


KINDS: dict[str, LossKind] = {k.name: k for k in [
    LossKind("mse", formula=lambda yh, y, axis=0: F.Bin("**", F.sub(yh, y), F.num(2)),
             dformula=lambda yh, y, axis=0: F.mul(F.num(2), F.sub(yh, y)), exact=True),
    LossKind("bce", formula=lambda yh, y, axis=0: F.Neg(F.add(F.mul(y, F.call("log", yh)),
                                                    F.mul(F.sub(F.num(1), y), F.call("log", F.sub(F.num(1), yh))))),
             dformula=lambda yh, y, axis=0: F.div(F.sub(yh, y), F.mul(yh, F.sub(F.num(1), yh)))),
    LossKind("cross_entropy", formula=lambda yh, y, axis=0: F.Neg(F.mul(y, F.call("log", yh))),
             dformula=lambda yh, y, axis=0: F.Neg(F.div(y, yh))),
]}


def _hinge_margins(yh: F.Node, y: F.Node, axis: int, margin: Fraction) -> F.Node:
    """ŷ_j + margin − ŷ_c for every output j of a sample, c its target class (y one-hot).

    Written (ŷ + margin) − Σ y ⊙ ŷ: the kink's argument is then recorded as one
    step of its own, which the numpy engine puts exactly on the hinge when it
    lies there up to rounding (floats._kinks), as it does for ReLU's z.
    """
    shifted = F.add(yh, F.Num(margin)) if margin else yh
    return F.sub(shifted, F.call("sum", F.mul(y, yh), F.num(axis)))


def _not_target(y: F.Node) -> F.Node:
    return F.sub(F.num(1), y)


@lru_cache(maxsize=64)
def hinge(margin: Fraction = Fraction(1)) -> LossKind:
    """Multi-class hinge: per sample Σ_{j≠c} max(0, ŷ_j − ŷ_c + margin), y one-hot.

    As a formula: relu((ŷ + margin) − Σ_classes y ⊙ ŷ) ⊙ (1 − y), summed (the target's
    own entry, relu(margin), is masked by 1 − y). dl/dŷ_j = H(ŷ_j − ŷ_c + margin) for
    j ≠ c and −Σ_{j≠c} H(…) for c, with H(0) = 0: the derivative at exactly the hinge
    is 0. The same kind is returned for the same margin (kinds compare by identity).
    """
    margin = Fraction(margin)

    def formula(yh, y, axis=0):
        return F.mul(F.call("relu", _hinge_margins(yh, y, axis, margin)), _not_target(y))

    def dformula(yh, y, axis=0):
        active = F.mul(F.call("step", _hinge_margins(yh, y, axis, margin)), _not_target(y))
        return F.sub(active, F.mul(y, F.call("sum", active, F.num(axis))))

    return LossKind("hinge", formula=formula, dformula=dformula, exact=True, margin=margin)


TYPES = (*KINDS, "hinge")  # every `loss: {type: …}` but custom (KINDS: the elementwise ones)


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
    return LossKind(
        name="custom",
        formula=lambda yh, y, axis=0: F.substitute(node, {"y_hat": yh, "y": y}),
        dformula=lambda yh, y, axis=0: F.substitute(slope, {"y_hat": yh, "y": y}),
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

    def formula(self, yh: F.Node, y: F.Node, rows: bool = False) -> F.Node:
        """The loss; `rows`: samples are rows (a sheet's rows layout), else columns."""
        return self.scaled(F.call("sum", self.kind.formula(yh, y, 1 if rows else 0)))

    def dformula(self, yh: F.Node, y: F.Node, rows: bool = False) -> F.Node:
        return self.scaled(self.kind.dformula(yh, y, 1 if rows else 0))

    def label(self) -> str:
        parts = [self.name]
        if self.kind.margin is not None and self.kind.margin != 1:
            parts.append(f"margin {self.kind.margin}")
        if self.factor != 1:
            parts.append(f"factor {self.factor}")
        if self.average != "none":
            parts.append(f"averaged over {self.average}")
        return ", ".join(parts)
