"""Every activation function, defined once: sympy form, numpy form, formulas.

Each entry of `KINDS` carries, in one place, what the rest of bpcheck needs:
- `sympy_form(z, p)`: the exact definition; the sympy engine differentiates it
  with `sympy.diff` (or uses `sympy_derivative` where the function has a kink,
  so that the value at the kink follows the spec's convention);
- `numpy_form` / `numpy_derivative`: written by hand for the numpy engine, so
  that the two engines share no derivative code and can check each other;
- `formula` / `dformula`: how a solution sheet writes f(z) and f′(z).
`exact` says the function maps rationals to rationals (the sympy engine then
stays exact); `kinks` are the points where it is not differentiable.
Softmax is the one non-elementwise activation (last layer only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import numpy as np
import sympy as sp

from . import formulas as F

Z = sp.Symbol("z", real=True)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity
class Kind:
    name: str
    sympy_form: Callable
    numpy_form: Callable
    numpy_derivative: Callable
    formula: Callable
    dformula: Callable
    defaults: dict = field(default_factory=dict)
    sympy_derivative: Callable | None = None
    exact: bool = False
    kinks: tuple = ()
    elementwise: bool = True
    kinks_unknown: bool = False  # a custom formula whose kinks bpcheck cannot place
    node: Callable | None = None  # the tree the engines run, where it differs from `formula`
    degree: Fraction = Fraction(1)  # growth of sizes and rounding errors (elementwise.degree)
    custom: bool = False  # written as a formula in the spec: its cost counts in the work budget


def _sigmoid_np(z):
    # exp of -|z| only: no overflow, and full relative precision in both tails
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sech2_np(z):
    """1 − tanh²(z) without the cancellation for large |z|."""
    e = np.exp(-2.0 * np.abs(z))
    return 4.0 * e / (1.0 + e) ** 2


def _sigmoid_d_np(z):
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


def _step_np(z, at_zero):
    return np.where(z > 0, 1.0, np.where(z == 0, float(at_zero), 0.0))


def _step_formula(arg, g0):
    return F.call("step", arg) if g0 == 0 else F.call("step", arg, F.Num(g0))


def _kink_derivative(left, right, at_zero):
    """Derivative of a function with slopes left/right meeting at z = 0."""
    return sp.Piecewise((right, Z > 0), (at_zero, sp.Eq(Z, 0)), (left, True))


_erfc = np.vectorize(math.erfc, otypes=[float])


def _normal_cdf_np(z):
    return 0.5 * _erfc(-z / np.sqrt(2.0))  # erfc, not 1 + erf: no cancellation for z << 0


def _gelu_np(z):
    return z * _normal_cdf_np(z)


def _gelu_d_np(z):
    return _normal_cdf_np(z) + z * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def _softmax_np(z):
    e = np.exp(z - np.max(z, axis=0, keepdims=True))  # columns are samples
    return e / np.sum(e, axis=0, keepdims=True)


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("identity",
         sympy_form=lambda z, p: z,
         numpy_form=lambda z, p: z,
         numpy_derivative=lambda z, p: np.ones_like(z),
         formula=lambda a, p: a,
         dformula=lambda a, p: F.num(1),
         exact=True),
    Kind("relu",
         sympy_form=lambda z, p: sp.Max(0, z),
         sympy_derivative=lambda z, p: _kink_derivative(0, 1, p["grad_at_zero"]),
         numpy_form=lambda z, p: np.maximum(z, 0.0),
         numpy_derivative=lambda z, p: _step_np(z, p["grad_at_zero"]),
         formula=lambda a, p: F.call("relu", a),
         node=lambda a, p: F.call("relu", a, F.Num(p["grad_at_zero"])),
         dformula=lambda a, p: _step_formula(a, p["grad_at_zero"]),
         defaults={"grad_at_zero": Fraction(0)}, exact=True, kinks=(0.0,)),
    Kind("leaky_relu",
         sympy_form=lambda z, p: sp.Piecewise((z, z > 0), (p["slope"] * z, True)),
         sympy_derivative=lambda z, p: _kink_derivative(
             p["slope"], 1, p["slope"] + (1 - p["slope"]) * p["grad_at_zero"]),
         numpy_form=lambda z, p: np.where(z > 0, z, float(p["slope"]) * z),
         numpy_derivative=lambda z, p: np.where(
             z > 0, 1.0, np.where(z == 0, float(p["slope"] + (1 - p["slope"]) * p["grad_at_zero"]),
                                  float(p["slope"]))),
         formula=lambda a, p: F.call("leaky_relu", a, F.Num(p["slope"])),
         node=lambda a, p: F.call("leaky_relu", a, F.Num(p["slope"]), F.Num(p["grad_at_zero"])),
         dformula=lambda a, p: F.add(F.Num(p["slope"]), F.mul(F.Num(1 - p["slope"]),
                                                              _step_formula(a, p["grad_at_zero"]))),
         defaults={"slope": Fraction(1, 100), "grad_at_zero": Fraction(0)}, exact=True, kinks=(0.0,)),
    Kind("tanh",
         sympy_form=lambda z, p: sp.tanh(z),
         numpy_form=lambda z, p: np.tanh(z),
         numpy_derivative=lambda z, p: _sech2_np(z),
         formula=lambda a, p: F.call("tanh", a),
         dformula=lambda a, p: F.sub(F.num(1), F.Bin("**", F.call("tanh", a), F.num(2)))),
    Kind("sigmoid",
         sympy_form=lambda z, p: 1 / (1 + sp.exp(-z)),
         numpy_form=lambda z, p: _sigmoid_np(z),
         numpy_derivative=lambda z, p: _sigmoid_d_np(z),
         formula=lambda a, p: F.call("sigmoid", a),
         dformula=lambda a, p: F.mul(F.call("sigmoid", a), F.sub(F.num(1), F.call("sigmoid", a)))),
    Kind("softplus",
         sympy_form=lambda z, p: sp.log(1 + sp.exp(p["beta"] * z)) / p["beta"],
         numpy_form=lambda z, p: np.logaddexp(0.0, float(p["beta"]) * z) / float(p["beta"]),
         numpy_derivative=lambda z, p: _sigmoid_np(float(p["beta"]) * z),
         formula=lambda a, p: (F.call("softplus", a) if p["beta"] == 1
                               else F.call("softplus", a, F.Num(p["beta"]))),
         dformula=lambda a, p: F.call("sigmoid", F.mul(F.Num(p["beta"]), a)),
         defaults={"beta": Fraction(1)}),
    Kind("gelu",
         sympy_form=lambda z, p: z * (1 + sp.erf(z / sp.sqrt(2))) / 2,
         numpy_form=lambda z, p: _gelu_np(z),
         numpy_derivative=lambda z, p: _gelu_d_np(z),
         formula=lambda a, p: F.call("gelu", a),
         dformula=lambda a, p: F.add(
             F.mul(F.num(Fraction(1, 2)), F.add(F.num(1), F.call("erf", F.div(a, F.call("sqrt", F.num(2)))))),
             F.div(F.mul(a, F.call("exp", F.div(F.Neg(F.Bin("**", a, F.num(2))), F.num(2)))),
                   F.call("sqrt", F.mul(F.num(2), F.Name("pi")))))),
    Kind("elu",
         sympy_form=lambda z, p: sp.Piecewise((z, z > 0), (p["alpha"] * (sp.exp(z) - 1), True)),
         numpy_form=lambda z, p: np.where(z > 0, z, float(p["alpha"]) * np.expm1(np.minimum(z, 0.0))),
         numpy_derivative=lambda z, p: np.where(z > 0, 1.0, float(p["alpha"]) * np.exp(np.minimum(z, 0.0))),
         formula=lambda a, p: (F.call("elu", a) if p["alpha"] == 1 else F.call("elu", a, F.Num(p["alpha"]))),
         dformula=lambda a, p: F.add(F.call("step", a), F.mul(
             F.sub(F.num(1), F.call("step", a)), F.mul(F.Num(p["alpha"]), F.call("exp", a)))),
         defaults={"alpha": Fraction(1)}, kinks=(0.0,)),
    Kind("softmax",
         sympy_form=lambda z, p: sp.exp(z),  # numerator only; normalised by the engine
         numpy_form=lambda z, p: _softmax_np(z),
         numpy_derivative=lambda z, p: None,  # a full Jacobian; see the engines
         formula=lambda a, p: F.call("softmax", a),
         dformula=lambda a, p: None,
         elementwise=False),
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

    def sympy_expr(self) -> sp.Expr:
        return sp.Rational(self.scale.numerator, self.scale.denominator) * self.kind.sympy_form(Z, self._sym_params())

    def sympy_derivative(self) -> sp.Expr:
        scale = sp.Rational(self.scale.numerator, self.scale.denominator)
        if self.kind.sympy_derivative is not None:
            return scale * self.kind.sympy_derivative(Z, self._sym_params())
        return sp.diff(self.sympy_expr(), Z)

    def numpy(self, z: np.ndarray) -> np.ndarray:
        return float(self.scale) * self.kind.numpy_form(z, self.p)

    def numpy_derivative(self, z: np.ndarray) -> np.ndarray:
        return float(self.scale) * self.kind.numpy_derivative(z, self.p)

    def formula(self, arg: F.Node) -> F.Node:
        return F.mul(F.Num(self.scale), self.kind.formula(arg, self.p))

    def dformula(self, arg: F.Node) -> F.Node:
        return F.mul(F.Num(self.scale), self.kind.dformula(arg, self.p))

    def node(self, arg: F.Node) -> F.Node:
        """The activation as a graph node's formula tree (the engines run it)."""
        build = self.kind.node or self.kind.formula
        return F.mul(F.Num(self.scale), build(arg, self.p))

    def _sym_params(self) -> dict:
        return {k: sp.Rational(v.numerator, v.denominator) for k, v in self.params}


def custom(text: str) -> Activation:
    """An activation written as a formula in z, e.g. "5*relu(z)" or "z*sigmoid(z)".

    Raises FormulaSyntaxError for text that is not an elementwise formula in z.
    """
    from . import elementwise as E  # late: elementwise imports the formula parser

    node = E.parse_elementwise(text, {"z"})
    slope = E.derivative(node, "z")
    at = lambda tree, z: F.evaluate(tree, {"z": z}) * np.ones_like(z)  # noqa: E731 (constants broadcast)
    kind = Kind(
        name=F.to_code(node),
        sympy_form=lambda z, p: E.to_sympy(node, {"z": z}),
        numpy_form=lambda z, p: at(node, z),
        numpy_derivative=lambda z, p: at(slope, z),
        formula=lambda a, p: F.substitute(node, {"z": a}),
        dformula=lambda a, p: F.substitute(slope, {"z": a}),
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
