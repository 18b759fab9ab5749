"""Computation graphs: the one representation both engines run on.

A `Graph` is a set of given inputs (exact values) and named nodes, each a
formula tree over the inputs and earlier nodes, in order. A layered network
compiles into one (`network.compile`), a graph problem is one as written.

`record` flattens a graph into a `Tape`: one `Step` per operation of every
node's tree (an `ops` entry, a constant or an input), in evaluation order,
with each named value at a known step. Equal unnamed subtrees are recorded
once; every named node has a step of its own.
The engines walk the tape forward for values and backward for derivatives;
nothing else in bpcheck needs to know how a node was written.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from . import formulas as F
from .ops import BINARY, FUNCTIONS, STRUCTURAL


class GraphError(ValueError):
    """A node that cannot be recorded (an unknown name, a non-constant exponent, …)."""


@dataclass(frozen=True)
class Graph:
    inputs: dict  # name -> exact value (a Fraction, or an object array of Fractions)
    nodes: tuple  # ((name, formula tree), …) in evaluation order
    output: str

    def node(self, name: str) -> F.Node:
        return dict(self.nodes)[name]


@dataclass(frozen=True)
class Step:
    op: str  # "input", "const", "pi", "e", "eye", or an ops name
    args: tuple = ()  # indices of earlier steps
    params: tuple = ()  # constant parameters (Fractions; an index's positions: ints), never differentiated
    name: str | None = None  # the input's name, for "input"


@dataclass
class Tape:
    steps: list = field(default_factory=list)
    at: dict = field(default_factory=dict)  # named value -> step index
    trees: dict = field(default_factory=dict)  # node name -> its formula tree
    _ancestors: list | None = None
    _live: list | None = None
    _from: dict | None = None
    _below: dict | None = None
    _plan: list | None = None
    _carried: dict | None = None

    def ancestors(self) -> list:
        """For each step, the set of steps it is computed from, itself included (cached)."""
        if self._ancestors is None:
            out: list = []
            for i, step in enumerate(self.steps):
                found = {i}
                for a in step.args:
                    found |= out[a]
                out.append(found)
            self._ancestors = out
        return self._ancestors

    def computed_from(self, wanted: tuple, top: int | None = None) -> list:
        """For each step that `top` is computed from (every step without `top`), whether it is
        computed from one of the `wanted` steps (they included; False for every other step; cached).

        A backward pass from `top` that only wants d(top)/d(wanted) lets the
        adjoint flow into these steps alone: nothing else lies on a path from a
        wanted step, and a pass from `top` asks about nothing outside `top`'s
        ancestors.
        """
        cache = self._from if self._from is not None else {}
        self._from = cache
        key = (wanted, top)
        if key not in cache:
            marked = [False] * len(self.steps)
            for i in wanted:
                marked[i] = True
            steps = self.steps
            start = min(wanted)
            order = range(start, len(steps)) if top is None else reversed(self.below(top, start))
            for i in order:  # oldest first: arguments before use
                if not marked[i]:
                    for a in steps[i].args:
                        if marked[a]:
                            marked[i] = True
                            break
            cache[key] = marked
        return cache[key]

    def below(self, top: int, stop: int = 0) -> list:
        """The steps `top` is computed from, from `stop` on, newest first (cached per top)."""
        if self._below is None:
            self._below = {}
        order = self._below.get(top)
        if order is None:
            order = self._below[top] = sorted(self.ancestors()[top], reverse=True)
        if not stop:
            return order
        return order[:bisect_right(order, -stop, key=lambda i: -i)]  # newest first: cut at `stop`

    def plan(self) -> list:
        """Per step, what a forward pass does: ("input", name, (), ()), ("constant", op, (), params),
        ("function", Function, args, params) or ("structural", Structural, args, params) (cached:
        the lookups are made once per tape, not once per step of every pass)."""
        if self._plan is None:
            self._plan = [_planned(step) for step in self.steps]
        return self._plan

    def carried(self, names: tuple) -> list:
        """Which steps are computed from the inputs `names` (a graph's data: these steps carry
        the sample axis when all samples run in one pass; cached)."""
        if self._carried is None:
            self._carried = {}
        if names not in self._carried:
            out: list = []
            for step in self.steps:
                out.append(step.name in names if step.op == "input" else any(out[a] for a in step.args))
            self._carried[names] = out
        return self._carried[names]

    def live(self) -> list:
        """Which steps depend on an input: constants carry no derivative (cached)."""
        if self._live is None:
            inputs = {i for i, s in enumerate(self.steps) if s.op == "input"}
            self._live = [bool(a & inputs) for a in self.ancestors()]
        return self._live


def _planned(step: Step) -> tuple:
    if step.op == "input":
        return "input", step.name, (), ()
    if step.op in ("const", "pi", "e", "eye"):
        return "constant", step.op, (), step.params
    if step.op in FUNCTIONS:
        return "function", FUNCTIONS[step.op], step.args, step.params
    return "structural", STRUCTURAL[step.op], step.args, step.params


def record(graph: Graph) -> Tape:
    """The tape of a graph: inputs first, then every node's operations."""
    tape = Tape()
    memo: dict = {}
    for name in graph.inputs:
        tape.at[name] = _add(tape, Step("input", name=name))
    for name, tree in graph.nodes:
        # A named node is a value of its own, even when another node is written the same
        # (a: x*y, b: x*y) or just names another (c: a, a copy): only unnamed subtrees are shared.
        step = Step("copy", (_walk(tree, tape, memo),)) if isinstance(tree, F.Name) else _step(tree, tape, memo)
        tape.at[name] = _add(tape, step)
        tape.trees[name] = tree
    if graph.output not in tape.at:
        raise GraphError(f"the output {graph.output!r} is not a node")
    return tape


def _add(tape: Tape, step: Step) -> int:
    tape.steps.append(step)
    return len(tape.steps) - 1


def _walk(node: F.Node, tape: Tape, memo: dict) -> int:
    if isinstance(node, F.Name) and node.id in tape.at:
        return tape.at[node.id]  # a name is the step that computed it, not a copy
    # An unnamed subtree is known by its step: the operation on its arguments' steps (equal subtrees
    # have equal steps; hashing a step is shallow, a tree's hash walks all of it at every level)
    step = _step(node, tape, memo)
    index = memo.get(step)
    if index is None:
        index = memo[step] = _add(tape, step)
    return index


def _step(node: F.Node, tape: Tape, memo: dict) -> Step:
    walk = lambda n: _walk(n, tape, memo)  # noqa: E731
    if isinstance(node, F.Name):
        if node.id in ("pi", "e"):
            return Step(node.id)
        raise GraphError(f"unknown name {node.id!r}")
    if isinstance(node, F.Num):
        return Step("const", params=(node.value,))
    if isinstance(node, F.Neg):
        return Step("neg", (walk(node.arg),))
    if isinstance(node, F.T):
        return Step("transpose", (walk(node.arg),))
    if isinstance(node, F.Bin):
        if node.op == "**":
            if not isinstance(node.right, F.Num):
                raise GraphError(f"the exponent of {F.to_code(node)} must be a number")
            return Step("pow", (walk(node.left),), (node.right.value,))
        op = "matmul" if node.op == "@" else BINARY[node.op]
        return Step(op, (walk(node.left), walk(node.right)))
    if isinstance(node, F.Index):
        # positions as ints, not Fractions: every pass reads W1[j, k], and int(Fraction) is slow
        return Step("index", (walk(node.arg),), tuple(int(i) for i in node.at))
    if isinstance(node, F.Stack):
        return Step("stack", tuple(walk(item) for item in node.items))
    return _call(node, walk)


def _call(node: F.Call, walk) -> Step:
    if node.fn == "eye":
        size = node.args[0]
        if not isinstance(size, F.Num):
            raise GraphError("eye(n) takes a whole number here")
        return Step("eye", params=(size.value,))
    entry = FUNCTIONS.get(node.fn) or STRUCTURAL.get(node.fn)
    if entry is None:
        raise GraphError(f"unknown function {node.fn!r}")
    arity = entry.arity if entry.arity >= 0 else len(node.args)
    arrays, constants = node.args[:arity], node.args[arity:]
    if not all(isinstance(c, F.Num) for c in constants):
        raise GraphError(f"{node.fn}'s parameters must be numbers")
    return Step(node.fn, tuple(walk(a) for a in arrays), tuple(c.value for c in constants))
