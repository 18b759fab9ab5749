"""Custom elementwise functions written as formulas: activations and losses.

A spec may define an activation as a formula in `z` (`activation:
"5*relu(z)"`) or a loss term in `y_hat` and `y` (`loss: {type: custom, term:
"(y_hat - y)**2"}`). The text is parsed by `formula_syntax` (never
evaluated); from the tree this module derives, independently of each other,
what the two engines need:
- `to_sympy`: the sympy expression the symbolic engine evaluates and
  differentiates with `sympy.diff`;
- `derivative`: our own differentiation of the tree, which the numpy engine
  evaluates; so the engines still share no derivative code.
Only elementwise operations are allowed: no `@`, `.T`, `diag`, `sum`, ….
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from .lazy import sp
from . import formulas as F
from .formula_syntax import FormulaSyntaxError, parse
from .ops import FUNCTIONS

# Read off the operation registry, where each function is defined once.
ELEMENTWISE = {n for n in FUNCTIONS if n not in ("add", "sub", "mul", "div", "neg", "pow", "copy")}
RATIONAL = {n for n in ELEMENTWISE if FUNCTIONS[n].rational}  # rational in, rational out
KINKED = {n for n in ELEMENTWISE if FUNCTIONS[n].kinks and n != "max"}  # not differentiable where the argument is 0
PIECEWISE = KINKED | {"max"}  # sympy Piecewise expressions
MAX_CALL_DEPTH = 8  # functions of functions: sigmoid nested 30 deep overflows sympy's recursion
MAX_PIECEWISE_DEPTH = 2  # abs(abs(abs(z))) already takes sympy about a second


def parse_elementwise(text: str, names: set) -> F.Node:
    """Parse and check that a formula is elementwise in `names`."""
    node = parse(text, names)
    _check(node)
    if not F.names_in(node) & names:
        raise FormulaSyntaxError(f"the formula does not use {' or '.join(sorted(names))}")
    symbols = {n: sp.Symbol(n, real=True) for n in names}
    if to_sympy(node, symbols).has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise FormulaSyntaxError("the formula divides by zero")
    return node


def _check(node: F.Node, calls: int = 0, pieces: int = 0) -> None:
    """Elementwise only, and nested shallowly enough for the exact engine.

    `calls` / `pieces`: functions / piecewise functions around `node`. sympy's
    work grows exponentially with nesting (piecewise folding of abs(abs(abs(z))),
    the chain rule of gelu(gelu(…))) and its recursion overflows near 30 levels.
    """
    if isinstance(node, F.T) or (isinstance(node, F.Bin) and node.op == "@"):
        raise FormulaSyntaxError("only elementwise operations are allowed here (no @ or .T)")
    if isinstance(node, F.Call):
        if node.fn not in ELEMENTWISE:
            raise FormulaSyntaxError(f"{node.fn} is not an elementwise function")
        calls, pieces = calls + 1, pieces + (node.fn in PIECEWISE)
        if calls > MAX_CALL_DEPTH:
            raise FormulaSyntaxError(f"functions nested more than {MAX_CALL_DEPTH} deep "
                                     "(the exact engine's work grows with every level)")
        if pieces > MAX_PIECEWISE_DEPTH:
            raise FormulaSyntaxError(f"piecewise functions ({', '.join(sorted(PIECEWISE))}) nested more "
                                     f"than {MAX_PIECEWISE_DEPTH} deep (the exact engine's work "
                                     "multiplies with every level)")
    for child in F.children(node):
        _check(child, calls, pieces)


def degree(node: F.Node) -> Fraction:
    """How many times over the formula multiplies its input's size and relative error.

    Products and quotients add, powers multiply, functions keep their
    argument's degree, constants are 0. z**16 is 16: an exact fraction of b
    bits becomes one of 16·b bits, and a float64 rounding error grows 16 times.
    (formula_syntax's `_degree` bounds sympy's expansion of one formula; this
    one is multiplied across a network's layers.)
    """
    if isinstance(node, F.Num) or (isinstance(node, F.Name) and node.id in ("pi", "e")):
        return Fraction(0)
    if isinstance(node, F.Name):
        return Fraction(1)
    if isinstance(node, F.Bin) and node.op == "**" and isinstance(node.right, F.Num):
        return degree(node.left) * abs(node.right.value)
    if isinstance(node, F.Bin) and node.op in "*/":
        return degree(node.left) + degree(node.right)
    return max((degree(c) for c in F.children(node)), default=Fraction(0))


def kinks(node: F.Node, var: str = "z") -> tuple | None:
    """Where a custom function of `var` has kinks, when each kinked argument is affine in var.

    relu(z - 0.3) has its kink at 0.3, max(a, b) where a = b. None when a kink
    cannot be placed (its argument is not affine), so that no snapping is done.
    """
    points = kink_points(node, var, {})
    return None if points is None else tuple(sorted({float(p) for p in points}))


def kink_points(node: F.Node, var: str, env: dict) -> list | None:
    """The values of `var` at which each kinked argument vanishes, given the other names in `env`.

    With arrays in env (a loss's targets y) each point is an array: abs(y_hat - y)
    has its kink at y_hat = y, entry by entry. None when an argument is not affine in var.
    """
    found = []
    for part in _calls(node):
        if part.fn not in KINKED and part.fn != "max":
            continue
        arg = part.args[0] if part.fn != "max" else F.sub(part.args[0], part.args[1])
        at = [np.asarray(F.evaluate(arg, {**env, var: np.array(v)}), float) for v in (0.0, 1.0, 2.0)]
        slope = at[1] - at[0]
        scale = np.maximum(1.0, np.maximum(np.maximum(abs(at[0]), abs(at[1])), abs(at[2])))
        if np.any(np.abs(at[2] - 2 * at[1] + at[0]) > 1e-12 * scale) or np.any(slope == 0):
            return None
        found.append(-at[0] / slope)
    return found


def _calls(node: F.Node) -> list:
    out = [node] if isinstance(node, F.Call) else []
    for child in F.children(node):
        out += _calls(child)
    return out


def is_rational(node: F.Node) -> bool:
    """Maps rationals to rationals: only + − × ÷, integer powers and piecewise-linear functions."""
    if isinstance(node, F.Bin) and node.op == "**" and not (
            isinstance(node.right, F.Num) and node.right.value.denominator == 1):
        return False
    if isinstance(node, F.Name) and node.id in ("pi", "e"):
        return False
    if isinstance(node, F.Call) and node.fn not in RATIONAL:
        return False
    return all(is_rational(c) for c in F.children(node))


# ------------------------------------------------------------------ to sympy

def to_sympy(node: F.Node, symbols: dict) -> sp.Expr:
    """The sympy expression of an elementwise formula tree."""
    if isinstance(node, F.Name):
        if node.id == "pi":
            return sp.pi
        if node.id == "e":
            return sp.E
        return symbols[node.id]
    if isinstance(node, F.Num):
        return sp.Rational(node.value.numerator, node.value.denominator)
    if isinstance(node, F.Neg):
        return -to_sympy(node.arg, symbols)
    if isinstance(node, F.Bin):
        a, b = to_sympy(node.left, symbols), to_sympy(node.right, symbols)
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "**": a ** b}[node.op] if node.op != "/" else a / b
    f = FUNCTIONS[node.fn]
    args = [to_sympy(a, symbols) for a in node.args[:f.arity]]
    params = [sp.Rational(p.numerator, p.denominator) for p in f.fill(_constants(node, f))]
    return f.sympy(*args, *params)


def sympy_derivative(node: F.Node, symbols: dict, var: str) -> sp.Expr:
    """d node / d var in sympy, by the chain rule through each function's own
    partial derivatives (`ops`: sympy.diff of its form, or its value at a kink
    by the spec's convention, e.g. ReLU′(0))."""
    d = lambda n: sympy_derivative(n, symbols, var)  # noqa: E731
    if isinstance(node, F.Name):
        return sp.Integer(1 if node.id == var else 0)
    if isinstance(node, F.Num):
        return sp.Integer(0)
    if isinstance(node, F.Neg):
        return -d(node.arg)
    if isinstance(node, F.Bin):
        a, b = to_sympy(node.left, symbols), to_sympy(node.right, symbols)
        if node.op in "+-":
            return d(node.left) + d(node.right) if node.op == "+" else d(node.left) - d(node.right)
        if node.op == "*":
            return d(node.left) * b + a * d(node.right)
        if node.op == "/":
            return (d(node.left) * b - a * d(node.right)) / b ** 2
        return b * a ** (b - 1) * d(node.left)  # a ** p, p a number
    f = FUNCTIONS[node.fn]
    args = node.args[:f.arity]
    params = [sp.Rational(p.numerator, p.denominator) for p in f.fill(_constants(node, f))]
    dummies = [sp.Dummy(real=True) for _ in args]
    at = dict(zip(dummies, (to_sympy(a, symbols) for a in args)))
    total = sp.Integer(0)
    for i, (arg, dummy) in enumerate(zip(args, dummies)):
        partial = f.dsympy[i](*dummies, *params) if f.dsympy else sp.diff(f.sympy(*dummies, *params), dummy)
        total += partial.subs(at) * d(arg)
    return total


def cost(node: F.Node) -> int:
    """Parts the exact engine evaluates per entry for a formula and its derivative.

    The engine evaluates a formula operation by operation (`graph`), each
    function from its own compiled sympy form and partial derivatives, so the
    cost adds up over the tree: nesting does not multiply it.
    """
    if isinstance(node, F.Call) and node.fn in FUNCTIONS:
        return _function_cost(FUNCTIONS[node.fn], _constants(node, FUNCTIONS[node.fn])) + \
            sum(cost(c) for c in node.args)
    return 2 + sum(cost(c) for c in F.children(node))


@lru_cache(maxsize=256)  # a function's cost is its own: a 40-term formula asks it 200 times
def _function_cost(f, params: tuple) -> int:
    dummies = [sp.Dummy(real=True) for _ in range(f.arity)]
    values = [sp.Rational(p.numerator, p.denominator) for p in f.fill(params)]
    form = f.sympy(*dummies, *values)
    partials = [f.dsympy[i](*dummies, *values) if f.dsympy else sp.diff(form, d) for i, d in enumerate(dummies)]
    return sum(sp.count_ops(e, visual=False) + 1 for e in [form, *partials])


def _constants(node: F.Call, f) -> tuple:
    """A call's constant parameters (after its array arguments) as Fractions."""
    return tuple(a.value for a in node.args[f.arity:])


# ------------------------------------------------------------------ our own derivative

def _n(v) -> F.Num:
    return F.Num(Fraction(v))


_ZERO, _ONE = F.Num(Fraction(0)), F.Num(Fraction(1))


def _add(a: F.Node, b: F.Node) -> F.Node:
    return b if a == _ZERO else a if b == _ZERO else F.add(a, b)


def _sub(a: F.Node, b: F.Node) -> F.Node:
    return a if b == _ZERO else F.Neg(b) if a == _ZERO else F.sub(a, b)


def _mul(a: F.Node, b: F.Node) -> F.Node:
    return _ZERO if _ZERO in (a, b) else F.mul(a, b)


def _pow(a: F.Node, p: Fraction) -> F.Node:
    return a if p == 1 else _ONE if p == 0 else F.Bin("**", a, F.Num(p))


def derivative(node: F.Node, var: str) -> F.Node:
    """d node / d var, elementwise, by the rules of a calculus textbook."""
    if isinstance(node, F.Name):
        return _n(1 if node.id == var else 0)
    if isinstance(node, F.Num):
        return _n(0)
    if isinstance(node, F.Neg):
        inner = derivative(node.arg, var)
        return _ZERO if inner == _ZERO else F.Neg(inner)
    if isinstance(node, F.Bin):
        return _binary(node, var)
    if isinstance(node, (F.T, F.Index)):  # linear: the derivative goes inside
        inner = derivative(node.arg, var)
        return _ZERO if inner == _ZERO else (F.T(inner) if isinstance(node, F.T) else F.Index(inner, node.at))
    if isinstance(node, F.Stack):
        return F.Stack(tuple(derivative(item, var) for item in node.items))
    if isinstance(node, F.Call) and node.fn in _LINEAR:
        inner = derivative(node.args[0], var)
        return _ZERO if inner == _ZERO else F.Call(node.fn, (inner,) + node.args[1:])
    return _chain(node, var)


_LINEAR = {"sum", "mean", "diag"}  # structural calls whose derivative is the call of the derivative


def _binary(node: F.Bin, var: str) -> F.Node:
    a, b = node.left, node.right
    da, db = derivative(a, var), derivative(b, var)
    if node.op == "+":
        return _add(da, db)
    if node.op == "-":
        return _sub(da, db)
    if node.op == "*":
        return _add(_mul(da, b), _mul(a, db))
    if node.op == "/":
        if db == _ZERO:
            return _ZERO if da == _ZERO else F.div(da, b)
        return F.div(_sub(_mul(da, b), _mul(a, db)), _pow(b, Fraction(2)))
    if node.op == "**" and isinstance(b, F.Num):
        return _mul(_mul(F.Num(b.value), _pow(a, b.value - 1)), da)
    if node.op == "@":
        left = _ZERO if da == _ZERO else F.matmul(da, b)
        return _add(left, _ZERO if db == _ZERO else F.matmul(a, db))
    raise F.FormulaError(f"cannot differentiate {F.to_code(node)}")


def _chain(node: F.Call, var: str) -> F.Node:
    """The chain rule through a function, with its partial derivatives from `ops`."""
    f = FUNCTIONS.get(node.fn)
    if f is None or not f.dformula:
        raise F.FormulaError(f"cannot differentiate {node.fn}")
    args, params = node.args[:f.arity], f.fill(_constants(node, f))
    total = _ZERO
    for partial, arg in zip(f.dformula, args):
        total = _add(total, _mul(partial(*args, *params), derivative(arg, var)))
    return total


def prime(fn: str, args: list) -> F.Node:
    """f'(a) as written by students (sigmoid'(z3), tanh'(z1), relu'(z)): the derivative
    formula of an elementwise function of one argument, from its `ops` entry."""
    f = FUNCTIONS.get(fn)
    if f is None or fn not in ELEMENTWISE or f.arity != 1 or not f.dformula:
        raise FormulaSyntaxError(f"{fn}' is not an activation's derivative (write e.g. sigmoid'(z), "
                                 "tanh'(z1), relu'(z))")
    if not args:
        raise FormulaSyntaxError(f"{fn}'(…) takes an argument")
    if any(not isinstance(a, F.Num) for a in args[1:]):
        raise FormulaSyntaxError(f"{fn}'s parameters must be numbers")
    if len(args) > 1 + len(f.params):
        raise FormulaSyntaxError(f"{fn}' takes at most {1 + len(f.params)} arguments")
    return f.dformula[0](args[0], *f.fill(tuple(a.value for a in args[1:])))
