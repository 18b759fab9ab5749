"""The diagnosis catalogue's candidates on computation-graph problems.

Graph problems have no layers, activations or loss kind: these generators
give the candidates of the catalogue's entries that have a meaning there
(`diagnose.CATALOGUE` pairs each with its network twin), each by re-solving
a mistaken copy of the graph with the float graph engine (`Context.graph_variant`).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator

from . import diagnose as D
from . import formulas as F
from . import graph_quantities as GQ
from .graph import Graph


MAX_SQUARE_WALK = 400  # tree nodes visited when looking for a squared output


def _squares(tree, nodes: dict, budget: list) -> bool:
    """Whether `tree` is a sum of squared terms (‖·‖²-like): each a `t ** 2` or `t * t`, reached
    from the top through +, −, sum(…), mean(…) and products or quotients by numbers, following
    the names of nodes."""
    budget[0] -= 1
    if budget[0] < 0:
        return False
    if isinstance(tree, F.Name):
        return tree.id in nodes and _squares(nodes[tree.id], nodes, budget)
    if isinstance(tree, F.Neg):
        return _squares(tree.arg, nodes, budget)
    if isinstance(tree, F.Call):
        return tree.fn in ("sum", "mean") and bool(tree.args) and _squares(tree.args[0], nodes, budget)
    if not isinstance(tree, F.Bin):
        return False
    if tree.op == "**":
        return isinstance(tree.right, F.Num) and tree.right.value == 2
    if tree.op in ("+", "-"):
        return _squares(tree.left, nodes, budget) and _squares(tree.right, nodes, budget)
    if tree.op == "*":
        if tree.left == tree.right:
            return True
        return (isinstance(tree.left, F.Num) and _squares(tree.right, nodes, budget)) or \
            (isinstance(tree.right, F.Num) and _squares(tree.left, nodes, budget))
    return tree.op == "/" and isinstance(tree.right, F.Num) and _squares(tree.left, nodes, budget)


def graph_factor_2(ctx, name, answer) -> Iterator:
    """A node that is a sum of squares (the output's (h − y)**2, or any such node A), scaled by 2
    or ½: its value, its derivatives dA/d… and, for the output, the training steps."""
    kind, _, top, _ = GQ.parse(name)
    graph = ctx.problem.graph
    if kind == "step":
        top = graph.output  # training follows the output's gradient
    nodes = dict(graph.nodes)
    if top not in nodes or not _squares(nodes[top], nodes, [MAX_SQUARE_WALK]):
        return
    for f in (Fraction(2), Fraction(1, 2)):
        scaled = tuple((n, F.Bin("*", F.Num(f), t) if n == top else t) for n, t in graph.nodes)
        value = ctx.graph_variant(name, ("graph-factor", top, f), graph=Graph(graph.inputs, scaled, graph.output))
        word = f"½ of a square for the square in {top}" if f < 1 else f"a square for ½ of it in {top}"
        yield value, f"as if {top} were scaled by {f} ({word})"


def graph_mean_vs_sum(ctx, name, answer) -> Iterator:
    """With data: the output averaged over the samples where the spec sums it, or back."""
    p = ctx.problem
    if not p.data or p.n_samples < 2 or GQ.parse(name)[0] == "sample":
        return  # a sample's own quantities are not reduced
    other = "mean" if p.reduce == "sum" else "sum"
    how = "averaged over" if other == "mean" else "summed over"
    yield (ctx.graph_variant(name, ("graph-reduce", other), reduce=other),
           f"as if the output were {how} the {p.n_samples} samples (reduce: {other}, not {p.reduce})")


def graph_step_up(ctx, name, answer) -> Iterator:
    if GQ.parse(name)[0] == "step" and ctx.problem.lr is not None:
        yield ctx.graph_variant(name, ("graph-lr", "up"), lr=-ctx.problem.lr), "the parameters moved up the gradient"


def graph_learning_rate(ctx, name, answer) -> Iterator:
    kind, k, param, bottoms = GQ.parse(name)
    p = ctx.problem
    if (kind, k) != ("step", 1) or bottoms or param not in p.train_params:
        return  # the output, or an optimizer's state: the rate shows only in the parameters
    nice = D._student_rate(ctx, param, f"d{p.graph.output}/d{param}", answer)
    if nice is None:
        return
    # not cached: every student may guess another rate
    value = ctx.graph_variant(name, None, lr=Fraction(str(nice)))
    yield value, f"with a learning rate of {nice:g} instead of {p.lr}"
