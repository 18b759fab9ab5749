"""Check every number `bpcheck solve` prints for graph problems and for trained networks
against HIPS autograd (float64).

`bench/verify_autodiff.py` holds network problems to PyTorch, but only their SGD steps
and nothing of computation-graph problems. This script covers what it leaves out:

  graph problems (FORMAT.md section 5)
    inputs and node values            the nodes evaluated in order
    dO/dX, dA/dB                      total derivatives: A recomputed as a function of B's
                                      value alone, everything computed from B recomputed
                                      (autograd.jacobian of that function)
    dA/d(x,y,...)                     those Jacobians stacked as columns
    sample{n}.*                       the same on data sample n alone
    O, dO/dX with data:               the output reduced over the samples (sum or mean)
    step{k}.P, step{k}.O, state       sgd, momentum and Adam (FORMAT.md section 6)
  network problems (FORMAT.md sections 1, 2, 6)
    every forward value, loss, gradient, local Jacobian, sample{n}.* and step{k}.*
    quantity, with the optimizer's state (step{k}.v_P; m_P, v_P, mhat_P, vhat_P)

By default it checks every spec under problems/ (subdirectories included) that is a graph problem or trains
with momentum or Adam (--all: every spec). It is independent of bpcheck's code: the
spec is read with yaml.BaseLoader (every number a string, parsed exactly with
fractions.Fraction), and graph node expressions are read by a small evaluator of its
own over Python's `ast` (a whitelist: + - * / ** @, unary -, .T, calls of the formula
functions, constant indices, list literals, names and numbers) that maps them to
autograd.numpy; nothing is ever eval'd or exec'd.

Kinks: the spec's numbers are exact, so an argument of relu/step/abs/max/leaky_relu/
elu that is exactly 0 sits on the kink even where float64 makes it 1e-16. Alongside
the float64 values the evaluator carries exact rational values wherever the operations
keep them rational (+ - * / @, integer powers, the piecewise-linear functions, indexing,
sums) and puts the correctly rounded exact argument into the kinked function (the
derivative is unchanged). After the first training step only floats are known; a
kinked argument within 1e-12 of 0 is then reported as a note. Derivatives at a kink:
relu, step, abs 0 (relu: the spec's relu_grad_at_zero for networks), max(a, b) at a tie
goes to b, leaky_relu the slope, elu alpha (as torch).

Two numbers agree when |a - b| <= 1e-9 * max(|a|, |b|) + 1e-12 * M, M the largest
magnitude in that quantity; shapes must match exactly. A quantity bpcheck printed that
the reference cannot compute is reported with the reason, and so is one that FORMAT.md
says solve prints and bpcheck did not. One line per problem: "ok: N quantities" or
the mismatches; the exit code is 1 if any problem mismatched or bpcheck failed on it.

autograd is not a bpcheck dependency. Run it from a throwaway venv:

    python3 -m venv /tmp/agvenv
    /tmp/agvenv/bin/pip install autograd numpy pyyaml
    /tmp/agvenv/bin/pip install -e .          # bpcheck itself, from the repo root
    /tmp/agvenv/bin/python bench/verify_graphs.py [--all] [SPEC.yaml ...]

The bpcheck executable used is the one next to the running interpreter (else the one
on PATH); --bpcheck overrides it.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import shutil
import subprocess
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import autograd.numpy as anp
import numpy as onp
import yaml
from autograd import jacobian
from autograd.extend import defvjp, primitive
from autograd.tracer import getval

warnings.filterwarnings("ignore")  # autograd: "Output seems independent of input"

RTOL = 1e-9
ATOL_SCALE = 1e-12


class Unsupported(Exception):
    """Something the reference cannot compute (the message says what)."""


# ------------------------------------------------------------------ numbers

def num(text) -> Fraction:
    """A spec number (decimal, 1e-3, 3/4) as an exact Fraction."""
    if not isinstance(text, str):
        raise ValueError(f"expected a number, got {text!r}")
    s = text.strip().replace("_", "")
    if "/" in s:
        a, b = s.split("/")
        return Fraction(a.strip()) / Fraction(b.strip())
    return Fraction(s)


def exact_array(raw):
    """Nested lists of spec numbers -> numpy object array of Fractions."""
    def conv(v):
        return [conv(x) for x in v] if isinstance(v, list) else num(v)
    return onp.array(conv(raw), dtype=object)


def to_float(e):
    return onp.array(onp.vectorize(float, otypes=[float])(e)) if e.ndim else onp.array(float(e.item()))


def oarr(x):
    """Any result of exact arithmetic -> an object array (0-d for a scalar)."""
    a = onp.asarray(x, dtype=object)
    return a


# ------------------------------------------------------------------ values: (float, exact)
#
# Every value is a pair (v, e): v a float64 array or autograd box, e an object array of
# Fractions holding its exact value, or None where it is not rational or not known.

def pair_binop(op, a, b):
    (va, ea), (vb, eb) = a, b
    if op == "+":
        v = va + vb
        e = oarr(ea + eb) if ea is not None and eb is not None else None
    elif op == "-":
        v = va - vb
        e = oarr(ea - eb) if ea is not None and eb is not None else None
    elif op == "*":
        v = va * vb
        e = oarr(ea * eb) if ea is not None and eb is not None else None
    elif op == "/":
        v = va / vb
        e = None
        if ea is not None and eb is not None and all(x != 0 for x in onp.ravel(eb)):
            e = oarr(ea / eb)
    elif op == "@":
        v = anp.matmul(va, vb)
        e = None
        if ea is not None and eb is not None:
            e = oarr(onp.matmul(ea, eb)) if ea.ndim and eb.ndim else None
    elif op == "**":
        if eb is None or eb.ndim != 0:
            raise Unsupported("a power whose exponent is not a constant number")
        p = eb.item()
        v = va ** float(p)
        e = None
        if ea is not None and p.denominator == 1 and (p >= 0 or all(x != 0 for x in onp.ravel(ea))):
            e = oarr(onp.vectorize(lambda t: t ** int(p), otypes=[object])(ea)) if ea.ndim \
                else oarr(ea.item() ** int(p))
    else:
        raise Unsupported(f"operator {op}")
    return v, e


def snap(a, notes, where):
    """The float argument of a kinked function, with its exact value when known."""
    v, e = a
    if e is not None:
        exact = to_float(e)
        return v + (exact - getval(v))
    raw = onp.asarray(getval(v), dtype=float)
    near = (raw != 0) & (onp.abs(raw) <= 1e-12 * max(1.0, float(onp.max(onp.abs(raw))) if raw.size else 1.0))
    if bool(onp.any(near)):
        notes.add(f"{where}: a kinked function's argument is within 1e-12 of 0 "
                  "(not known exactly: float64 rounding may pick the other side)")
    return v


def exact_valued(pair):
    """A node's value, made the correctly rounded exact value where that is known (the
    derivative is unchanged): 0.1 + 0.2 - 0.3 is 0, not 5.6e-17, as the spec means."""
    v, e = pair
    if e is None:
        return pair
    return v + (to_float(e) - getval(v)), e


def _ew(f, e):
    """An elementwise function on an exact object array (0-d included)."""
    if e is None:
        return None
    if e.ndim == 0:
        return oarr(f(e.item()))
    return oarr(onp.vectorize(f, otypes=[object])(e))


def _pos(v):
    return anp.where(v > 0, v, 0.0 * v)


def _at0(v):
    """Value 0 everywhere; derivative 1 where v is exactly 0 (to set f'(0))."""
    return anp.where(v == 0, v, 0.0 * v)


def relu(a, g0, notes, where):
    v = snap(a, notes, where)
    out = _pos(v) + (float(g0) * _at0(v) if g0 else 0.0)
    return out, _ew(lambda t: t if t > 0 else Fraction(0), a[1])


def leaky_relu(a, slope, g0, notes, where):
    v = snap(a, notes, where)
    s = float(slope)
    out = anp.where(v > 0, v, s * v) + ((1 - s) * float(g0) * _at0(v) if g0 else 0.0)
    return out, _ew(lambda t: t if t > 0 else slope * t, a[1])


def elu(a, alpha, notes, where):
    v = snap(a, notes, where)
    out = anp.where(v > 0, v, float(alpha) * (anp.exp(anp.where(v > 0, 0.0 * v, v)) - 1))
    e = a[1]
    ok = e is not None and all(t > 0 or t == 0 for t in onp.ravel(e))
    return out, (_ew(lambda t: t, e) if ok else None)


def step_fn(a, at_zero, notes, where):
    v = snap(a, notes, where)
    out = anp.where(v > 0, 1.0, anp.where(v == 0, float(at_zero), 0.0)) + 0.0 * v
    return out, _ew(lambda t: Fraction(1) if t > 0 else (at_zero if t == 0 else Fraction(0)), a[1])


def abs_fn(a, notes, where):
    v = snap(a, notes, where)
    out = _pos(v) + _pos(-v)
    return out, _ew(abs, a[1])


def max_fn(a, b, notes, where):
    d = snap(pair_binop("-", a, b), notes, where)
    (va, ea), (vb, eb) = a, b
    out = anp.where(getval(d) > 0, va + 0.0 * vb, vb + 0.0 * va)
    e = None
    if ea is not None and eb is not None:
        ea2, eb2 = onp.broadcast_arrays(ea, eb)
        e = oarr(onp.where(onp.vectorize(lambda s, t: s > t, otypes=[bool])(ea2, eb2), ea2, eb2)) \
            if ea2.ndim else oarr(max(ea.item(), eb.item()) if ea.item() > eb.item() else eb.item())
    return out, e


@primitive
def _erf(v):
    """erf without scipy: math.erf entry by entry, derivative 2/sqrt(pi) exp(-v**2)."""
    return onp.vectorize(math.erf, otypes=[float])(v) if onp.ndim(v) else onp.array(math.erf(float(v)))


defvjp(_erf, lambda ans, v: lambda g: g * 2.0 / math.sqrt(math.pi) * anp.exp(-v * v))


def sigmoid(v):
    return 0.5 * (anp.tanh(0.5 * v) + 1.0)


def softplus(v, beta):
    b = float(beta)
    return anp.logaddexp(0.0 * v, b * v) / b


def gelu(v):
    return v * 0.5 * (1.0 + _erf(v / math.sqrt(2.0)))


def softmax(v, axis):
    m = getval(v).max(axis=axis, keepdims=True)
    ex = anp.exp(v - m)
    return ex / anp.sum(ex, axis=axis, keepdims=True)


# ------------------------------------------------------------------ node expressions

UNICODE = [("ᵀ", ".T"), ("⊙", "*"), ("∘", "*"), ("·", "*"), ("×", "*"), ("−", "-"), ("σ", "sigmoid"),
           ("²", "**2")]
FUNCTION_ALIASES = {"sigma": "sigmoid", "H": "step", "heaviside": "step", "ln": "log",
                    "np_maximum": "max", "maximum": "max"}
BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@"}


class Expr:
    """One node expression, parsed once with `ast` and checked against a whitelist."""

    def __init__(self, text: str):
        for a, b in UNICODE:
            text = text.replace(a, b)
        self.text = text
        tree = ast.parse(text.strip(), mode="eval")
        self.names: set[str] = set()
        self._check(tree.body)
        self.tree = tree.body

    def _check(self, node):
        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            self._check(node.left), self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self._check(node.operand)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            for a in node.args:
                self._check(a)
        elif isinstance(node, ast.Subscript):
            self._check(node.value)
            self._index(node.slice)
        elif isinstance(node, ast.Attribute) and node.attr == "T":
            self._check(node.value)
        elif isinstance(node, (ast.List, ast.Tuple)):
            for a in node.elts:
                self._check(a)
        elif isinstance(node, ast.Name):
            if node.id not in ("pi", "e"):
                self.names.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            pass
        else:
            raise Unsupported(f"expression element {type(node).__name__} in {self.text!r}")

    def _index(self, node) -> tuple:
        elts = node.elts if isinstance(node, ast.Tuple) else [node]
        out = []
        for el in elts:
            sign = 1
            if isinstance(el, ast.UnaryOp) and isinstance(el.op, ast.USub):
                sign, el = -1, el.operand
            if not (isinstance(el, ast.Constant) and isinstance(el.value, int)):
                raise Unsupported(f"an index that is not a whole number in {self.text!r}")
            out.append(sign * el.value)
        return tuple(out)

    def evaluate(self, env: dict, notes: set, where: str):
        return self._eval(self.tree, env, notes, where)

    def _eval(self, node, env, notes, where):
        ev = lambda n: self._eval(n, env, notes, where)  # noqa: E731
        if isinstance(node, ast.BinOp):
            return pair_binop(BINOPS[type(node.op)], ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            v, e = ev(node.operand)
            return (-v, oarr(-e) if e is not None else None) if isinstance(node.op, ast.USub) else (v, e)
        if isinstance(node, ast.Attribute):
            v, e = ev(node.value)
            return anp.transpose(v), (oarr(e.T) if e is not None else None)
        if isinstance(node, ast.Subscript):
            v, e = ev(node.value)
            idx = self._index(node.slice)
            return v[idx], (oarr(e[idx]) if e is not None else None)
        if isinstance(node, (ast.List, ast.Tuple)):
            return stack([ev(el) for el in node.elts])
        if isinstance(node, ast.Name):
            if node.id == "pi":
                return anp.array(math.pi), None
            if node.id == "e":
                return anp.array(math.e), None
            if node.id not in env:
                raise Unsupported(f"unknown name {node.id!r} in {self.text!r}")
            return env[node.id]
        if isinstance(node, ast.Constant):
            exact = Fraction(ast.get_source_segment(self.text.strip(), node) or repr(node.value))
            return anp.array(float(exact)), oarr(exact)
        if isinstance(node, ast.Call):
            return self._call(node, [ev(a) for a in node.args], notes, where)
        raise Unsupported(f"{type(node).__name__}")

    def _call(self, node, args, notes, where):
        fn = FUNCTION_ALIASES.get(node.func.id, node.func.id)

        def param(i, default):
            if len(args) <= i:
                return Fraction(default)
            e = args[i][1]
            if e is None or e.ndim:
                raise Unsupported(f"{fn}'s parameter is not a constant number")
            return e.item()

        def axis(i):
            return None if len(args) <= i else int(param(i, 0))

        x = args[0]
        v, e = x
        if fn == "relu":
            return relu(x, 0, notes, where)
        if fn == "step":
            return step_fn(x, param(1, 0), notes, where)
        if fn == "abs":
            return abs_fn(x, notes, where)
        if fn == "max":
            return max_fn(x, args[1], notes, where)
        if fn == "leaky_relu":
            return leaky_relu(x, param(1, Fraction(1, 100)), 0, notes, where)
        if fn == "elu":
            return elu(x, param(1, 1), notes, where)
        if fn == "sigmoid":
            return sigmoid(v), None
        if fn == "tanh":
            return anp.tanh(v), None
        if fn == "exp":
            return anp.exp(v), None
        if fn == "log":
            return anp.log(v), None
        if fn == "sqrt":
            return anp.sqrt(v), None
        if fn == "erf":
            return _erf(v), None
        if fn == "gelu":
            return gelu(v), None
        if fn == "softplus":
            return softplus(v, param(1, 1)), None
        if fn == "softmax":
            return softmax(v, axis(1) if len(args) > 1 else 0), None
        if fn in ("sum", "mean"):
            ax = axis(1)
            keep = ax is not None
            f = anp.sum if fn == "sum" else anp.mean
            out = f(v, axis=ax, keepdims=keep)
            ex = None
            if e is not None:
                ex = onp.sum(e, axis=ax, keepdims=keep)
                if fn == "mean":
                    ex = ex / Fraction(e.size if ax is None else e.shape[ax])
                ex = oarr(ex)
            return out, ex
        if fn == "diag":
            return anp.diag(v), (oarr(onp.diag(e)) if e is not None else None)
        if fn == "eye":
            n = int(param(0, 0))
            return anp.eye(n), oarr(onp.eye(n, dtype=int).astype(object) * Fraction(1))
        raise Unsupported(f"function {fn!r}")


def stack(pairs):
    vs = [v for v, _ in pairs]
    es = [e for _, e in pairs]
    v = anp.stack([anp.array(x) if not hasattr(x, "shape") else x for x in vs])
    e = oarr(onp.stack(es)) if all(x is not None for x in es) else None
    return v, e


class ListNode:
    """A YAML list of expressions (vector), or a list of lists (matrix)."""

    def __init__(self, raw):
        self.items = [ListNode(x) if isinstance(x, list) else Expr(x) for x in raw]
        self.names = set().union(*(i.names for i in self.items)) if self.items else set()

    def evaluate(self, env, notes, where):
        return stack([i.evaluate(env, notes, where) for i in self.items])


# ------------------------------------------------------------------ optimizers (FORMAT.md 6)

def read_optimizer(raw):
    if raw is None or raw == "":
        return "sgd", {}
    if isinstance(raw, str):
        name, params = raw.strip(), {}
    else:
        (name, params), = raw.items()
        params = params if isinstance(params, dict) else {}
    defaults = {"sgd": {}, "momentum": {"mu": "0.9"},
                "adam": {"beta1": "0.9", "beta2": "0.999", "eps": "1e-8"}}
    if name not in defaults:
        raise Unsupported(f"optimizer {name!r}")
    out = {k: float(num(params.get(k, d))) for k, d in defaults[name].items()}
    return name, out


def optimizer_step(kind, hp, lr, t, p, g, state):
    """One step of p with gradient g; returns the new p and {state name: value}."""
    if kind == "sgd":
        return p - lr * g, {}
    if kind == "momentum":
        v = hp["mu"] * state.get("v", 0.0 * p) + g
        return p - lr * v, {"v": v}
    b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
    m = b1 * state.get("m", 0.0 * p) + (1 - b1) * g
    v = b2 * state.get("v", 0.0 * p) + (1 - b2) * g * g
    mhat = m / (1 - b1 ** t)
    vhat = v / (1 - b2 ** t)
    return p - lr * mhat / (onp.sqrt(vhat) + eps), {"m": m, "v": v, "mhat": mhat, "vhat": vhat}


STATE_ORDER = {"sgd": [], "momentum": ["v"], "adam": ["m", "v", "mhat", "vhat"]}


STATE_PREFIX = ("mhat_", "vhat_", "m_", "v_")


def canonical(name: str, aliases: dict) -> str:
    """A quantity name with display aliases replaced by the names they stand for."""
    name = name.replace(" ", "")
    al = lambda n: aliases.get(n, n)  # noqa: E731
    m = re.fullmatch(r"((?:step|sample)\d+\.)?(.*)", name)
    prefix, rest = m.group(1) or "", m.group(2)
    m = re.fullmatch(r"d(\w+)/d\(([\w,]+)\)", rest)
    if m and "," not in m.group(2):  # one name stacked is that name: dF/d(c) is dF/dc
        return f"{prefix}d{al(m.group(1))}/d{al(m.group(2))}"
    if m:
        return f"{prefix}d{al(m.group(1))}/d({','.join(al(n) for n in m.group(2).split(','))})"
    m = re.fullmatch(r"d(\w+)/d(\w+)", rest)
    if m:
        return f"{prefix}d{al(m.group(1))}/d{al(m.group(2))}"
    if rest not in aliases:
        for sp in STATE_PREFIX:
            if rest.startswith(sp) and rest[len(sp):] in aliases:
                return f"{prefix}{sp}{al(rest[len(sp):])}"
    return prefix + al(rest)


# ------------------------------------------------------------------ graph problems

class GraphProblem:
    def __init__(self, doc: dict):
        g = doc["graph"]
        self.inputs = {k: exact_array(v) for k, v in (g.get("inputs") or {}).items()}
        self.nodes = {}
        for name, raw in g["nodes"].items():
            self.nodes[name] = ListNode(raw) if isinstance(raw, list) else Expr(raw)
        self.output = g.get("output") or list(self.nodes)[-1]
        data = doc.get("data") or g.get("data") or {}
        self.data = {k: [exact_array(s) for s in v] for k, v in data.items() if k != "layout"}
        self.n = len(next(iter(self.data.values()))) if self.data else 0
        self.reduce = doc.get("reduce") or g.get("reduce") or "sum"
        train = doc.get("train")
        self.lr = float(num(train["lr"])) if train else None
        self.steps = int(num(train.get("steps", "1"))) if train else 0
        self.params = (train.get("params") or list(self.inputs)) if train else []
        self.opt, self.hp = read_optimizer(train.get("optimizer")) if train else ("sgd", {})
        self.aliases = {v: k for k, v in (doc.get("names") or {}).items()}
        self.questions = [q["quantity"] for q in doc.get("questions") or []]
        self.notes: set[str] = set()
        self._steps_cache = None

    # --- evaluation
    def run(self, values: dict, sample: int | None, override: tuple | None = None, upto: str | None = None):
        """Evaluate every node. values: name -> (v, e) of the inputs; sample: 1-based or None
        (no data); override: (name, pair) replacing that input, data value or node."""
        env = dict(values)
        if sample is not None:
            for k, v in self.data.items():
                e = v[sample - 1]
                env[k] = (to_float(e), e)
        if override and override[0] in env:
            env[override[0]] = override[1]
        for name, node in self.nodes.items():
            if override and override[0] == name:
                env[name] = override[1]
            else:
                env[name] = exact_valued(node.evaluate(env, self.notes, f"node {name}"))
            if name == upto:
                break
        return env

    def initial(self):
        return {k: (to_float(e), e) for k, e in self.inputs.items()}

    def samples(self):
        return [None] if not self.data else list(range(1, self.n + 1))

    def reduced(self, values, override=None):
        outs = [self.run(values, s, override)[self.output][0] for s in self.samples()]
        total = outs[0]
        for o in outs[1:]:
            total = total + o
        return total / len(outs) if self.data and self.reduce == "mean" else total

    # --- derivatives
    def deriv(self, a: str, b: str, values, sample, reduced=False):
        """Total derivative of a (or the reduced output) with respect to b's value alone."""
        env = values if b in values else self.run(values, sample)
        if b not in env:
            raise Unsupported(f"{b!r} is not an input, data name or node")
        base_v, base_e = env[b]

        def f(x):
            ov = (b, (x, base_e))
            if reduced:
                return self.reduced(values, ov)
            return self.run(values, sample, ov, upto=a)[a][0]
        return onp.asarray(jacobian(f)(onp.asarray(getval(base_v), dtype=float)))

    def stacked(self, a, names, values, sample):
        cols = []
        for b in names:
            if b not in self.inputs and b not in self.data:
                raise Unsupported(f"d(...)/d({','.join(names)}): {b!r} is not an input")
            if self._shape(b, sample) != ():
                raise Unsupported(f"{b!r} is not a scalar input")
            cols.append(self.deriv(a, b, values, sample))
        return onp.stack(cols, axis=-1)

    def _shape(self, b, sample):
        e = self.inputs.get(b)
        if e is None and b in self.data:
            e = self.data[b][0]
        return e.shape if e is not None else ()

    # --- training
    def trained(self):
        if self._steps_cache is not None:
            return self._steps_cache
        out = {}
        values = self.initial()
        state = {p: {} for p in self.params}
        for t in range(1, self.steps + 1):
            grads = {}
            for p in self.params:
                grads[p] = self.deriv(self.output, p, values, None, reduced=True)
            new = dict(values)
            for p in self.params:
                pv = onp.asarray(values[p][0], dtype=float)
                nv, st = optimizer_step(self.opt, self.hp, self.lr, t, pv, grads[p], state[p])
                state[p] = st
                for s in STATE_ORDER[self.opt]:
                    out[f"step{t}.{s}_{p}"] = st[s]
                out[f"step{t}.{p}"] = nv
                new[p] = (nv, None)
            values = {k: (v, None) for k, (v, _) in new.items()}
            out[f"step{t}.{self.output}"] = onp.asarray(self.reduced(values), dtype=float)
        self._steps_cache = out
        return out

    # --- quantities by name
    def canon(self, name: str) -> str:
        return canonical(name, self.aliases)

    def quantity(self, name: str):
        name = self.canon(name)
        m = re.fullmatch(r"step(\d+)\.(.+)", name)
        if m:
            out = self.trained()
            if name not in out:
                raise Unsupported("not a parameter, the output or an optimizer state after a step")
            return out[name]
        sample = None
        m = re.fullmatch(r"sample(\d+)\.(.+)", name)
        if m:
            if not self.data:
                raise Unsupported("sample{n}. without data:")
            sample, name = int(m.group(1)), m.group(2)
            if not 1 <= sample <= self.n:
                raise Unsupported(f"there is no sample {sample}")
        values = self.initial()
        m = re.fullmatch(r"d([A-Za-z_]\w*)/d\(([\w,]+)\)", name)
        if m:
            if self.data and sample is None:
                raise Unsupported("with data:, a node's derivatives exist per sample only")
            return self.stacked(m.group(1), m.group(2).split(","), values, sample)
        m = re.fullmatch(r"d([A-Za-z_]\w*)/d([A-Za-z_]\w*)", name)
        if m:
            a, b = m.groups()
            if a not in self.nodes and a not in self.inputs:
                raise Unsupported(f"{a!r} is not a node")
            if self.data and sample is None:
                if a == self.output and b in self.inputs:
                    return self.deriv(a, b, values, None, reduced=True)
                raise Unsupported("with data:, only dO/dX for an input X exists unprefixed")
            return self.deriv(a, b, values, sample)
        if self.data and sample is None:
            if name in self.inputs:
                return to_float(self.inputs[name])
            if name == self.output:
                return onp.asarray(self.reduced(values), dtype=float)
            raise Unsupported("with data:, node values exist per sample only")
        env = self.run(values, sample)
        if name not in env:
            raise Unsupported("not an input, data name or node")
        return onp.asarray(env[name][0], dtype=float)

    def expected(self) -> list[str]:
        """What FORMAT.md section 5 says solve --format json prints."""
        O = self.output
        edges = [f"d{a}/d{b}" for a, node in self.nodes.items() if a != O for b in sorted(node.names)
                 if b in self.inputs or b in self.nodes or b in self.data]
        derivs = [f"d{O}/d{x}" for x in list(self.nodes) + list(self.inputs)]
        out = list(self.inputs)
        if self.data:
            out += [O] + [f"d{O}/d{x}" for x in self.inputs]
            for s in range(1, self.n + 1):
                out += [f"sample{s}.{k}" for k in list(self.data) + list(self.nodes)]
                out += [f"sample{s}.{q}" for q in derivs + [f"d{O}/d{x}" for x in self.data] + edges]
        else:
            out += list(self.nodes) + derivs + edges
        for t in range(1, self.steps + 1):
            for p in self.params:
                out += [f"step{t}.{s}_{p}" for s in STATE_ORDER[self.opt]] + [f"step{t}.{p}"]
            out.append(f"step{t}.{O}")
        return out + [self.canon(q) for q in self.questions]


# ------------------------------------------------------------------ network problems

class NetworkProblem:
    """A layered network (FORMAT.md sections 1, 2) as autograd code, columns layout."""

    def __init__(self, doc: dict):
        g0 = num(doc["relu_grad_at_zero"]) if "relu_grad_at_zero" in doc else Fraction(0)
        self.layers = []
        for raw in doc["network"]["layers"]:
            self.layers.append((raw["weight"], raw.get("bias") or None,
                                self._activation(raw.get("activation", "identity"), g0)))
        params = doc["params"]
        self.params = {}
        for w, b, _ in self.layers:
            self.params[w] = exact_array(params[w])
            if b:
                self.params[b] = exact_array(params[b]).reshape(-1, 1)
        data = doc["data"]
        self.layout = data.get("layout", "columns")
        self.vector = not isinstance(data["x"][0], list)
        self.x, self.y = self._data(data["x"]), self._data(data["y"])
        loss = doc["loss"]
        loss = {"type": loss} if isinstance(loss, str) else loss
        self.loss_type = loss["type"]
        self.factor = num(loss.get("factor", "1"))
        self.average = loss.get("average", "none")
        self.margin = num(loss.get("margin", "1"))
        train = doc.get("train")
        self.lr = float(num(train["lr"])) if train else None
        self.steps = int(num(train.get("steps", "1"))) if train else 0
        self.opt, self.hp = read_optimizer(train.get("optimizer")) if train else ("sgd", {})
        self.aliases = {v: k for k, v in (doc.get("names") or {}).items()}
        self.questions = [q["quantity"] for q in doc.get("questions") or []]
        self.notes: set[str] = set()
        self._steps_cache = None
        if self.loss_type not in ("mse", "bce", "cross_entropy", "hinge"):
            raise Unsupported(f"loss {self.loss_type!r}")

    @staticmethod
    def _activation(spec, g0):
        if isinstance(spec, dict):
            (name, raw), = spec.items()
            params = {k: num(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        else:
            name, params = spec.strip(), {}
        if name not in ("identity", "relu", "leaky_relu", "tanh", "sigmoid", "softplus", "gelu", "elu",
                        "softmax"):
            raise Unsupported(f"activation {name!r} (custom formulas are not covered)")
        params.setdefault("scale", Fraction(1))
        params.setdefault("grad_at_zero", g0)
        return {"name": name, **params}

    def _data(self, raw):
        e = exact_array(raw)
        if e.ndim == 1:
            return e.reshape(-1, 1)
        return e if self.layout == "columns" else oarr(e.T)

    @property
    def n(self):
        return self.x.shape[1]

    def names(self):
        L = len(self.layers)
        return [f"z{i}" for i in range(1, 2 * L + 1)]

    def activate(self, act, z, where):
        name, scale = act["name"], act["scale"]
        v, e = z
        if name == "identity":
            out = (v, e)
        elif name == "relu":
            out = relu(z, act["grad_at_zero"], self.notes, where)
        elif name == "leaky_relu":
            out = leaky_relu(z, act.get("slope", Fraction(1, 100)), act["grad_at_zero"], self.notes, where)
        elif name == "elu":
            out = elu(z, act.get("alpha", Fraction(1)), self.notes, where)
        elif name == "tanh":
            out = (anp.tanh(v), None)
        elif name == "sigmoid":
            out = (sigmoid(v), None)
        elif name == "softplus":
            out = (softplus(v, act.get("beta", 1)), None)
        elif name == "gelu":
            out = (gelu(v), None)
        else:
            out = (softmax(v, 0), None)
        if scale != 1:
            out = pair_binop("*", (anp.array(float(scale)), oarr(scale)), out)
        return out

    def forward(self, params, cols, override=None, upto=None):
        """params: name -> (v, e); cols: sample columns (None: all). Returns env and loss."""
        x, y = (self.x, self.y) if cols is None else (self.x[:, cols], self.y[:, cols])
        env = {"x": (to_float(x), x)}
        a = env["x"]
        for l, (w, b, act) in enumerate(self.layers, start=1):
            z = pair_binop("@", params[w], a)
            if b:
                z = pair_binop("+", z, params[b])
            z = exact_valued(z)
            k = f"z{2 * l - 1}"
            if override and override[0] == k:
                z = override[1]
            env[k] = z
            if upto == k:
                return env, None
            a = exact_valued(self.activate(act, z, f"{k}"))
            k = f"z{2 * l}"
            if override and override[0] == k:
                a = override[1]
            env[k] = a
            if upto == k:
                return env, None
        return env, self.loss(a, (to_float(y), y))

    def loss(self, yh, y):
        v, e = yh
        yv = y[0]
        if self.loss_type == "mse":
            terms = (v - yv) ** 2
        elif self.loss_type == "bce":
            terms = -(yv * anp.log(v) + (1 - yv) * anp.log(1 - v))
        elif self.loss_type == "cross_entropy":
            terms = -yv * anp.log(v)
        else:  # hinge, per sample column: sum_{j != c} max(0, yh_j - yh_c + margin)
            target = pair_binop("*", y, yh)
            tv = anp.sum(target[0], axis=0, keepdims=True)
            te = oarr(onp.sum(target[1], axis=0, keepdims=True)) if target[1] is not None else None
            marg = pair_binop("+", pair_binop("-", yh, (tv, te)),
                              (anp.array(float(self.margin)), oarr(self.margin)))
            terms = relu(marg, 0, self.notes, "hinge margins")[0] * (1 - yv)
        k, n = yv.shape
        div = {"none": 1, "samples": n, "outputs": k, "all": n * k}[self.average]
        return float(self.factor) * anp.sum(terms) / div

    def initial(self):
        return {k: (to_float(e), e) for k, e in self.params.items()}

    def deriv(self, a, b, params, cols):
        """d(a)/d(b): a is 'loss' or a z; b a parameter or a z (total derivative)."""
        env, _ = self.forward(params, cols)
        base_v, base_e = (params[b] if b in params else env[b])

        def f(t):
            if b in params:
                p = dict(params)
                p[b] = (t, base_e)
                e, loss = self.forward(p, cols, upto=None if a == "loss" else a)
            else:
                e, loss = self.forward(params, cols, override=(b, (t, base_e)), upto=None if a == "loss" else a)
            return loss if a == "loss" else e[a][0]
        return onp.asarray(jacobian(f)(onp.asarray(getval(base_v), dtype=float)))

    def one_pass(self, params, cols, single):
        env, loss = self.forward(params, cols)
        L = len(self.layers)
        out = {k: onp.asarray(v[0], dtype=float) for k, v in env.items() if k != "x"}
        out["y_hat"] = out[f"z{2 * L}"]
        out["loss"] = onp.asarray(loss, dtype=float)
        for k in self.names():
            out[f"dl/d{k}"] = self.deriv("loss", k, params, cols)
        out["dl/dy_hat"] = out[f"dl/dz{2 * L}"]
        for k in params:
            out[f"dl/d{k}"] = self.deriv("loss", k, params, cols)
        if single:
            for i in range(1, 2 * L):
                top = "y_hat" if i + 1 == 2 * L else f"z{i + 1}"
                j = self.deriv(f"z{i + 1}", f"z{i}", params, cols)
                out[f"d{top}/dz{i}"] = j.reshape(out[f"z{i + 1}"].size, out[f"z{i}"].size)
        return out

    def trained(self):
        if self._steps_cache is not None:
            return self._steps_cache
        out, params = {}, self.initial()
        state = {p: {} for p in params}
        for t in range(1, self.steps + 1):
            grads = {p: self.deriv("loss", p, params, None) for p in params}
            new = {}
            for p in params:
                nv, st = optimizer_step(self.opt, self.hp, self.lr, t, onp.asarray(params[p][0]), grads[p],
                                        state[p])
                state[p] = st
                for s in STATE_ORDER[self.opt]:
                    out[f"step{t}.{s}_{p}"] = st[s]
                out[f"step{t}.{p}"] = nv
                new[p] = (nv, None)
            params = new
            out[f"step{t}.loss"] = onp.asarray(self.forward(params, None)[1], dtype=float)
        self._steps_cache = out
        return out

    def present(self, name, arr, single):
        base = name.split(".", 1)[1] if re.match(r"(step|sample)\d+\.", name) else name
        base = re.sub(r"^(m|v|mhat|vhat)_", "", base)
        if base == "loss":
            return arr.reshape(())
        if "/" in base and not base.startswith("dl/"):
            return arr
        target = base[4:] if base.startswith("dl/d") else base
        if target in self.params:
            return arr.reshape(-1) if self.params[target].shape[1:] == (1,) and any(
                b == target for _, b, _ in self.layers) else arr
        if self.vector or single:
            return arr.reshape(-1)
        return arr.T if self.layout == "rows" else arr

    def canon(self, name):
        return canonical(name, self.aliases)

    def quantity(self, name):
        name = self.canon(name)
        if re.fullmatch(r"step\d+\..+", name):
            out = self.trained()
            if name not in out:
                raise Unsupported("not a parameter, the loss or an optimizer state after a step")
            return self.present(name, out[name], False)
        m = re.fullmatch(r"sample(\d+)\.(.+)", name)
        cols, single, base = None, self.n == 1, name
        if m:
            s = int(m.group(1))
            if not 1 <= s <= self.n:
                raise Unsupported(f"there is no sample {s}")
            cols, single, base = slice(s - 1, s), True, m.group(2)
        key = ("pass", cols.start if cols else None)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            cache[key] = self.one_pass(self.initial(), cols, single)
        out = cache[key]
        if base not in out and base.replace(f"z{2 * len(self.layers)}", "y_hat") in out:
            base = base.replace(f"z{2 * len(self.layers)}", "y_hat")
        if base not in out:
            raise Unsupported("not a quantity of FORMAT.md section 2 for this network")
        return self.present(name, out[base], m is not None)

    def expected(self):
        L = len(self.layers)
        names = self.names() + ["y_hat", "loss", "dl/dy_hat"]
        names += [f"dl/dz{i}" for i in range(2 * L - 1, 0, -1)]
        for w, b, _ in self.layers:
            names += [f"dl/d{w}"] + ([f"dl/d{b}"] if b else [])
        if self.n == 1:
            for i in range(1, 2 * L):
                top = "y_hat" if i + 1 == 2 * L else f"z{i + 1}"
                names.append(f"d{top}/dz{i}")
        for t in range(1, self.steps + 1):
            for p in self.params:
                names += [f"step{t}.{s}_{p}" for s in STATE_ORDER[self.opt]] + [f"step{t}.{p}"]
            names.append(f"step{t}.loss")
        return names + [self.canon(q) for q in self.questions]


# ------------------------------------------------------------------ comparison and main

def compare(name, printed, ref) -> tuple[str | None, float]:
    try:
        a = onp.array(printed, dtype=float)
    except (TypeError, ValueError):
        return f"{name}: bpcheck printed a value of irregular shape: {printed!r}", 0.0
    b = onp.asarray(ref, dtype=float)
    if a.shape != b.shape:
        return f"{name}: shape {a.shape} printed, reference {b.shape} ({fmt(printed)} vs {fmt(b)})", 0.0
    if not (onp.all(onp.isfinite(a)) and onp.all(onp.isfinite(b))):
        if onp.array_equal(a, b, equal_nan=True):
            return None, 0.0
        return f"{name}: non-finite values: bpcheck {fmt(a)}, reference {fmt(b)}", 0.0
    M = float(max(onp.max(onp.abs(a), initial=0.0), onp.max(onp.abs(b), initial=0.0)))
    tol = RTOL * onp.maximum(onp.abs(a), onp.abs(b)) + ATOL_SCALE * M
    err = onp.abs(a - b)
    with onp.errstate(divide="ignore", invalid="ignore"):
        used = float(onp.max(onp.where(tol > 0, err / onp.where(tol > 0, tol, 1), onp.where(err > 0, onp.inf, 0)),
                             initial=0.0))
    if onp.all(err <= tol):
        return None, used
    bad = onp.argwhere(err > tol)
    where = ", ".join(f"[{','.join(map(str, i))}] {float(a[tuple(i)])!r} vs {float(b[tuple(i)])!r}"
                      for i in bad[:4]) if a.ndim else f"{float(a)!r} vs {float(b)!r}"
    return (f"{name}: bpcheck {fmt(a)}, reference {fmt(b)} (max |diff| {float(err.max()):.3g}; "
            f"entries {where}{' ...' if len(bad) > 4 else ''})"), used


def fmt(v):
    return onp.array2string(onp.asarray(v, dtype=float), precision=17, separator=", ",
                            max_line_width=10 ** 6, threshold=50)


def load(path: Path):
    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=yaml.BaseLoader)
    if "graph" in doc:
        return GraphProblem(doc)
    return NetworkProblem(doc)


def selected(path: Path) -> bool:
    """A graph problem, or one trained with momentum or Adam."""
    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=yaml.BaseLoader)
    if not isinstance(doc, dict):
        return False
    if "graph" in doc:
        return True
    train = doc.get("train")
    return isinstance(train, dict) and read_optimizer(train.get("optimizer"))[0] != "sgd"


def bpcheck_executable(given):
    if given:
        return [given]
    beside = Path(sys.executable).parent / "bpcheck"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("bpcheck")
    if not found:
        raise SystemExit("bpcheck is not installed in this environment (pip install -e <repo>)")
    return [found]


def check(path: Path, command) -> tuple[bool, str]:
    proc = subprocess.run(command + ["solve", str(path), "--format", "json"], capture_output=True, text=True)
    if proc.returncode != 0:
        return False, f"bpcheck exited {proc.returncode}: {proc.stderr.strip()}"
    printed = json.loads(proc.stdout)["quantities"]
    prob = load(path)
    problems, worst, cannot, flattened = [], 0.0, [], []
    for name, value in printed.items():
        try:
            ref = prob.quantity(name)
        except Unsupported as exc:
            cannot.append(f"{name}: printed by bpcheck, but the reference cannot compute it: {exc}")
            continue
        shape = onp.shape(value)
        if (isinstance(prob, GraphProblem) and "/" in name and len(shape) == 2 and onp.ndim(ref) == 3
                and shape == (onp.shape(ref)[0], int(onp.prod(onp.shape(ref)[1:])))):
            ref = onp.reshape(ref, shape)
            flattened.append(name)
        msg, used = compare(name, value, ref)
        worst = max(worst, used)
        if msg:
            problems.append(msg)
    have = {prob.canon(k) for k in printed}
    missing = [n for n in dict.fromkeys(prob.expected()) if n not in have]
    problems += [f"{n}: FORMAT.md says solve prints it, bpcheck did not" for n in missing]
    problems += cannot
    notes = sorted(prob.notes)
    if flattened:
        notes.append(f"{', '.join(flattened[:6])}{' ...' if len(flattened) > 6 else ''}: a vector's Jacobian "
                     "by a matrix, printed as (len A, entries of B) and compared with the matrix's entries "
                     "in row-major order (FORMAT.md does not fix this layout)")
    suffix = "".join(f"\n    note: {n}" for n in notes)
    if problems:
        return False, f"MISMATCH ({len(problems)} of {len(printed)} quantities):" + "".join(
            f"\n    {p}" for p in problems) + suffix
    return True, f"ok: {len(printed)} quantities (worst error {worst:.2g} x tolerance)" + suffix


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", nargs="*", type=Path,
                        help="problem specs (default: the graph and momentum/Adam specs of problems/)")
    parser.add_argument("--all", action="store_true", help="with no specs named: every spec of problems/")
    parser.add_argument("--bpcheck", help="the bpcheck executable to test")
    args = parser.parse_args()
    specs = args.specs
    if not specs:
        every = sorted((Path(__file__).resolve().parent.parent / "problems").rglob("*.yaml"))
        specs = every if args.all else [p for p in every if selected(p)]
    if not specs:
        print("no problem specs found", file=sys.stderr)
        return 2
    command = bpcheck_executable(args.bpcheck)
    from importlib.metadata import version
    print(f"autograd {version('autograd')}, numpy {onp.__version__}, float64; tolerance "
          f"|a-b| <= {RTOL:g}*max(|a|,|b|) + {ATOL_SCALE:g}*max|quantity|")
    failed = 0
    for path in specs:
        try:
            ok, line = check(path, command)
        except Exception as exc:  # noqa: BLE001 - report and go on with the other specs
            ok, line = False, f"reference failed: {type(exc).__name__}: {exc}"
        failed += not ok
        print(f"{path.name}: {line}")
    print(f"{len(specs) - failed} of {len(specs)} problems agree with autograd")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
