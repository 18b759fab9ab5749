"""What a student's formula costs to check, known before it is evaluated.

The parser bounds a formula's text (2000 characters, 400 parts), not its
work: `sum(erf(eye(1024)))` is 19 characters and a million erf calls, and
78 of them held a grading worker for 21 s. `estimate` walks the parsed tree
once, inferring every subexpression's shape the way `formulas.evaluate` and
`formula_products` will compute it, and adds up operations:

- an elementwise operation or function on n entries costs n × its weight
  (WEIGHT: an add 6, tanh 10, exp 70, sigmoid 100, erf 400; numpy's worst
  time per entry, special values and underflowing results included, with a
  margin; erf and gelu call math.erf once per entry). Subnormal floats,
  which x86 computes with 10-40 times slower, are flushed to zero while a
  formula is evaluated (`subnormals`), so they cost what normal ones do;
- a matrix product of (a×b)(b×c) costs a·b·c (and 10 per entry of its
  result), eye(n) 6n², a sum 6n;
- every node also costs NODE (the interpreter's time to visit it);
- a subtree used twice (carry substitutes a student's formula into later
  ones) costs twice, as evaluation computes it twice; the walk itself
  visits each shared subtree once, and refuses trees deeper than evaluation
  can recurse.

An operation is about a nanosecond of CPU at most (bench/worst_formula.py
prints the estimate beside the measured time), so the figures are upper
bounds on time in nanoseconds. A formula whose check, POINTS evaluations
(the problem's values and the random worlds), would cost more than
MAX_CHECK_OPS is refused before anything is evaluated (`refuse`). All the
formula work of one answers file shares a `Budget` that `grade.grade_file`
opens (`per_file`): reading each formula's text, each estimate's walk,
each check's comparisons (by the answer's size) and each evaluation
(`charge`); past it, the file's remaining formulas are not checked. The
budget also holds the formula checks a write-up's steps may still make.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps

import numpy as np

from . import formula_products as P
from . import formulas as F
from .formula_syntax import FormulaSyntaxError

NODE = 20_000  # one node evaluated: the interpreter's dispatch and a numpy call on small arrays (2-13 µs)
WEIGHT = {  # operations per entry computed: numpy's worst time in ns per entry on 1M entries, a fresh
    # array's page faults included (2.5 ns), with a margin for a loaded machine's cache misses
    "+": 6, "-": 6, "*": 6, "/": 10, "neg": 6, "**": 160,  # a float power: 80 ns for z**3
    "@": 10,  # per entry of a matrix product's result (a column times a row: 6 ns), besides MATMUL
    "relu": 6, "abs": 6, "max": 6, "sqrt": 8, "tanh": 10, "log": 25,
    # exp is 1-2 ns an entry, but 20 near -740 and 45-55 between -745 and -708, where its results
    # underflow (numpy's SIMD exp hands those entries to a scalar path, subnormals flushed or not):
    # a formula may put every entry there (exp(-710 - z1 z1ᵀ)); sigmoid and softmax take exp too
    "exp": 70, "sigmoid": 100, "softmax": 80,
    "step": 30, "leaky_relu": 30, "softplus": 70,
    "elu": 40,  # expm1: 25 ns an entry where it underflows (-745 to -708), flushed or not
    "erf": 400, "gelu": 450,  # np.vectorize(math.erf): one Python call per entry
}
UNKNOWN_WEIGHT = 450  # a function not listed: as costly as the costliest
COPY = 6  # an entry allocated (a fresh large array faults its pages in: 2.5 ns) or read once
MATMUL = 1  # a multiply-add of a matrix product (one BLAS thread: 0.05 ns in A B, 0.5 in A v)
WALK = 5_000  # one node of an estimate's own walk (about 3 µs)
PARSE_PER_CHAR = 10_000  # reading formula text, per character (5-12 µs measured; LaTeX is translated first)
CHECK = 1_000_000  # a check's own work besides evaluating: conventions, fitting, messages
COMPARE = 20  # per entry of the answer and point: comparing with the reference, the diagnosis's readings
POINTS = 7  # evaluations in one check: the problem's values and equivalence_worlds.WORLDS
MAX_CHECK_OPS = 300_000_000  # one formula's POINTS evaluations: about 0.3 s at most
MAX_FILE_OPS = 600_000_000  # all the formula work of one answers file: about 0.6 s at most
MAX_DEPTH = 250  # evaluation recurses (up to 3 frames a level): deeper trees, formulas substituted into formulas
MAX_FORMULA_STEPS = 24  # formula checks a write-up's steps may make (each is a whole check)


class TooCostly(FormulaSyntaxError):
    """A formula (or a file's formulas together) would cost more than the budget allows."""


@dataclass(frozen=True)
class Bare:
    """The shape of a bare I or ones (kind "eye" or "ones"; a ones row when `row`): sized by its product."""
    kind: str
    row: bool = False


# ---------------------------------------------------------------- the estimate

def estimate(node: F.Node, env) -> int:
    """Operations to evaluate `node` once with names bound as in `env` (arrays, or anything
    with their shapes); the walk itself is charged to the file's budget."""
    return walk(node, env)[1]


def walk(node: F.Node, env) -> tuple:
    """(shape, operations, depth) of `node` evaluated at `env`; TooCostly past MAX_DEPTH.

    A shape is a tuple, a `Bare` I or ones, or None where evaluation stops with
    an error (its ancestors then cost nothing more). Each shared subtree is
    walked once and counted as often as it is used."""
    memo: dict = {}
    out = _walk(node, env, memo, 1)
    spend(WALK * len(memo))
    return out


def _walk(n: F.Node, env, memo: dict, level: int) -> tuple:
    key = id(n)
    if key in memo:
        found = memo[key]
        if level + found[2] - 1 > MAX_DEPTH:  # a shared subtree met again deeper down: its depth counts there
            raise TooCostly(f"this formula, with the formulas it stands on, is nested more than {MAX_DEPTH} "
                            "deep; simplify it")
        return found
    if level > MAX_DEPTH:
        raise TooCostly(f"this formula, with the formulas it stands on, is nested more than {MAX_DEPTH} "
                        "deep; simplify it")
    shapes, ops, deep = [], NODE, 0
    for c in F.children(n):  # a loop, not a comprehension: one frame per level
        shape, more, below = _walk(c, env, memo, level + 1)
        shapes.append(shape)
        ops += more
        deep = max(deep, below)
    shape, own = _shape(n, shapes, env)
    ops += own
    memo[key] = out = (shape, ops, deep + 1)
    return out


def _shape(n: F.Node, args: list, env) -> tuple:
    """(shape, own operations) of one node given its children's shapes."""
    kind = type(n)
    if kind is F.Name:
        if n.id in env:
            value = env[n.id]
            return (value.shape if isinstance(value, np.ndarray) else np.shape(value)), 0
        return ((), 0) if n.id in F.CONSTANTS else (None, 0)
    if kind is F.Num:
        return (), 0
    if None in args:
        return None, 0
    if kind is F.Bin:  # z**2 squares (1 ns an entry); other powers go through pow() (up to 80)
        square = n.op == "**" and isinstance(n.right, F.Num) and n.right.value in (1, 2)
        return _binary("*" if square else n.op, args[0], args[1])
    if kind is F.Neg:
        return args[0], 0 if isinstance(args[0], Bare) else WEIGHT["neg"] * _size(args[0])
    if kind is F.T:
        a = args[0]
        return (Bare(a.kind, not a.row if a.kind == "ones" else False) if isinstance(a, Bare) else a[::-1]), 0
    if kind is F.Call and not n.args and n.fn in ("eye", "ones"):
        return Bare(n.fn), 0
    if any(isinstance(a, Bare) for a in args):
        return None, 0  # a bare I or ones inside a function, a list or an index: refused
    if kind is F.Index:
        return (args[0][len(n.at):], COPY) if len(n.at) <= len(args[0]) else (None, 0)
    if kind is F.Stack:
        same = all(a == args[0] for a in args)
        return ((len(args),) + args[0], COPY * len(args) * _size(args[0])) if same else (None, 0)
    return _call(n, args, env)


def _size(shape: tuple) -> int:
    return math.prod(shape)


def _call(n: F.Call, args: list, env) -> tuple:
    fn = n.fn
    if fn in ("eye", "ones"):
        k = _whole(n.args[0], env)
        if k is None:
            return None, 0
        return ((k, k), COPY * k * k) if fn == "eye" else ((k, 1), COPY * k)
    if fn in ("sum", "mean", "softmax"):
        a = args[0]
        axis = None if len(n.args) < 2 else _whole(n.args[1], env)
        if not a:  # a number: its sum, mean and softmax are numbers (numpy takes axis 0 of a 0-d array)
            return (), COPY
        if len(n.args) == 2 and (axis is None or axis >= len(a)):
            return None, 0
        if fn == "softmax":
            return a, WEIGHT["softmax"] * _size(a)
        return (() if axis is None else a[:axis] + (1,) + a[axis + 1:]), COPY * _size(a)
    if fn == "diag":
        a = args[0]
        if len(a) == 1 or (len(a) == 2 and 1 in a):
            k = _size(a)
            return (k, k), COPY * k * k
        return ((min(a),), COPY * min(a)) if len(a) == 2 else (None, 0)
    arrays = _arity(fn)
    shape = _broadcast(*args[:arrays])
    return shape, (0 if shape is None else WEIGHT.get(fn, UNKNOWN_WEIGHT) * _size(shape))


def _arity(fn: str) -> int:
    """How many of a function's arguments are arrays (the rest are constant parameters)."""
    from .ops import FUNCTIONS  # late: ops builds on formulas
    f = FUNCTIONS.get(fn)
    return f.arity if f is not None else 1


def _whole(node: F.Node, env) -> int | None:
    """A size or an axis: a number, or N or K from the problem's values."""
    if isinstance(node, F.Num):
        return int(node.value)
    if isinstance(node, F.Name) and node.id in env and np.size(env[node.id]) == 1:
        return int(np.max(env[node.id]))
    return None


def _broadcast(*shapes) -> tuple | None:
    """numpy's broadcast shape, or None where it fails."""
    if all(s == shapes[0] for s in shapes):
        return shapes[0]
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _binary(op: str, a, b) -> tuple:
    if isinstance(a, Bare) or isinstance(b, Bare):
        return _bare_binary("@" if op == F.JUXT else op, a, b)
    if op == F.JUXT:
        reading = P.reading(a, b, outer=True)  # the outer product, where the conventions allow it
        if reading == "matmul":
            return _matmul(a, b)
        if reading == "outer":
            return (_size(a), _size(b)), WEIGHT["*"] * _size(a) * _size(b)
        if reading is None:
            return None, 0
        op = "*"
    if op == "@":
        return _matmul(a, b)
    shape = _broadcast(a, b)
    return shape, (0 if shape is None else WEIGHT[op] * _size(shape))


def _matmul(a: tuple, b: tuple) -> tuple:
    """np.matmul's shape and multiplications (1-D operands promoted, batch dimensions broadcast)."""
    if not a or not b:
        return None, 0
    a2, b2 = (a if len(a) > 1 else (1,) + a), (b if len(b) > 1 else b + (1,))
    batch = _broadcast(a2[:-2], b2[:-2])
    if a2[-1] != b2[-2] or batch is None:
        return None, 0
    out = batch + (a2[-2],) * (len(a) > 1) + (b2[-1],) * (len(b) > 1)
    return out, MATMUL * _size(batch) * a2[-2] * a2[-1] * b2[-1] + WEIGHT["@"] * _size(out)


def _bare_binary(op: str, a, b) -> tuple:
    """`formula_products.sized_binary` on shapes: I or ones beside a value of known shape."""
    if isinstance(a, Bare) and isinstance(b, Bare):
        return None, 0
    left = isinstance(a, Bare)
    bare, other = (a, b) if left else (b, a)
    if not other:
        return (bare, 0) if op in ("*", "@") or (op == "/" and left) else (None, 0)
    if op == "@":
        if bare.kind == "eye":
            return other, WEIGHT["*"] * _size(other)
        if len(other) == 2 and left == bare.row:  # 1ᵀ A: column sums; A 1: row sums
            return ((1, other[1]) if left else (other[0], 1)), COPY * _size(other)
        return ((), COPY * _size(other)) if len(other) == 1 else (None, 0)
    if op in ("*", "+", "-", "/"):
        if bare.kind == "eye" and (len(other) != 2 or other[0] != other[1]):
            return None, 0
        return other, (COPY + WEIGHT[op]) * _size(other)  # the full I or ones, then the operation
    return None, 0


# ---------------------------------------------------------------- limits and the file's budget

class Budget:
    """What one answers file's formula work may still spend: operations, and a write-up's formula steps."""

    def __init__(self, ops: int | None = None, steps: int = MAX_FORMULA_STEPS):
        self.ops = MAX_FILE_OPS if ops is None else ops
        self.steps = steps

    def spend(self, ops: int) -> None:
        if ops > self.ops:
            self.ops = 0
            raise TooCostly(f"not checked: this answers file's formulas together would take more than "
                            f"{_millions(MAX_FILE_OPS)} million operations to check; simplify them")
        self.ops -= ops

    def step(self) -> bool:
        """One formula step of a write-up, if any are left."""
        if self.steps <= 0:
            return False
        self.steps -= 1
        return True


_FILE: ContextVar[Budget | None] = ContextVar("bpcheck formula budget", default=None)


def current() -> Budget | None:
    """The budget of the answers file being graded, or None outside `per_file`."""
    return _FILE.get()


def per_file(grade):
    """`grade` (one answers file's grading) with a fresh `Budget` for its formula work."""
    @wraps(grade)
    def graded(*args, **kwargs):
        with opened():
            return grade(*args, **kwargs)
    return graded


@contextmanager
def opened(budget: Budget | None = None):
    """A fresh budget (or `budget`) for the formula work inside the block."""
    token = _FILE.set(budget or Budget())
    try:
        yield _FILE.get()
    finally:
        _FILE.reset(token)


def spend(ops: int) -> None:
    """Charge the file's budget (nothing outside a file's grading); TooCostly once it is spent."""
    budget = _FILE.get()
    if budget is not None:
        budget.spend(ops)


def charged(compute):
    """(compute(), what it charged the file's budget), or (compute(), None) outside a file's
    grading. A result kept for other files is charged to each file that reuses it (`spend`),
    so that a file's grade never depends on the files graded before it."""
    budget = _FILE.get()
    if budget is None:
        return compute(), None
    before = budget.ops
    out = compute()
    return out, before - budget.ops


def kept(cache: dict, key, compute, limit: int, keep=None):
    """compute(), kept in `cache` (up to `limit` results) with what it charged the file's budget,
    which every later use charges again (`spend`: TooCostly when the budget cannot pay it, as
    computing it would have found). Not kept: a result computed outside a file's grading, or one
    `keep(result)` refuses (say, one the budget running out may have decided)."""
    if key in cache:
        out, cost = cache[key]
        spend(cost)
        return out
    out, cost = charged(compute)
    if cost is not None and len(cache) < limit and (keep is None or keep(out)):
        cache[key] = (out, cost)
    return out


def read(text: str) -> None:
    """Charge the reading of a formula's text, before it is read."""
    spend(PARSE_PER_CHAR * len(text))


def compare(entries: int, points: int = POINTS) -> None:
    """Charge a check's own work: comparing an answer of `entries` entries at `points` points."""
    spend(CHECK + COMPARE * points * entries)


def refuse(node: F.Node, env) -> None:
    """TooCostly for a formula whose check, POINTS evaluations at `env`'s shapes, would cost too much."""
    ops = estimate(node, env) * POINTS
    if ops > MAX_CHECK_OPS:
        raise TooCostly(_costly(ops))


def charge(node: F.Node, env, ops: int | None = None) -> None:
    """Before one evaluation of `node` at `env` (`ops`: its estimate, when known): refuse it
    when too costly, else charge it to the file's budget."""
    if ops is None:
        ops = estimate(node, env)
    if ops * POINTS > MAX_CHECK_OPS:
        raise TooCostly(_costly(ops * POINTS))
    spend(ops)


def _costly(ops: int) -> str:
    return (f"this formula would take about {_millions(ops)} million operations to evaluate; "
            f"the limit is {_millions(MAX_CHECK_OPS)} million: simplify it")


def _millions(ops: int) -> str:
    m = ops / 1e6
    return f"{m:,.0f}" if m >= 10 else f"{m:.2g}"
