"""The local derivatives of a graph's edges (`graph_partials`): a sum's terms that lack the name are
read as 0 before differentiating, which must give the very formula that differentiating the whole
sum gives (`elementwise.derivative`), for scalar names and for a vector's entries, also where a
term cannot be differentiated (the partial is then None either way)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backprop_check import formulas as F
from backprop_check import graph_partials as GP
from backprop_check.elementwise import derivative
from backprop_check.solve import solve
from backprop_check.spec import parse_problem

SCALARS = ["a", "b", "c"]
SHAPES = {"v": (3,)}

leaves = st.one_of(st.sampled_from([F.Name(n) for n in SCALARS]),
                   st.integers(0, 2).map(lambda j: F.Index(F.Name("v"), (j,))),
                   st.integers(-3, 3).map(F.num))


def _node(children):
    unary = st.one_of(children.map(F.Neg), children.map(lambda x: F.call("tanh", x)),
                      children.map(lambda x: F.Bin("**", x, F.num(2))),
                      st.tuples(children, children).map(lambda p: F.Bin("**", p[0], p[1])),  # not differentiable
                      st.tuples(children, children).map(lambda p: F.Stack(p)))
    binary = st.tuples(st.sampled_from(["+", "-", "*", "/"]), children, children).map(lambda t: F.Bin(*t))
    return st.one_of(unary, binary)


terms = st.recursive(leaves, _node, max_leaves=6)
sums = st.tuples(terms, st.lists(st.tuples(st.sampled_from(["+", "-"]), terms), max_size=6))


def _sum(parts) -> F.Node:
    tree, rest = parts
    for op, term in rest:
        tree = F.Bin(op, tree, term)
    return tree


def _whole(tree: F.Node, b: str, shape: tuple):
    """The partial by differentiating the whole tree (no term read as 0)."""
    try:
        if shape == ():
            return GP._simplify(derivative(tree, b))
        columns = [GP._simplify(GP._restore(derivative(GP._replace_index(tree, b, j), "_entry"), b, j))
                   for j in range(shape[0])]
        return columns
    except F.FormulaError:
        return None


@given(sums)
def test_reading_absent_terms_as_zero_gives_the_same_formula(parts):
    tree = _sum(parts)
    got = GP.partials(tree, SCALARS + ["v"], SHAPES)
    for b in SCALARS:
        assert got[b] == _whole(tree, b, ()), (F.to_code(tree), b)
    if not GP._used_whole(tree, "v"):
        want = _whole(tree, "v", (3,))
        assert got["v"] == (None if want is None else GP._by_entries(want, ())), F.to_code(tree)


def test_a_long_sum_by_hand():
    tree = F.add(F.add(F.Index(F.Name("v"), (0,)), F.mul(F.Index(F.Name("v"), (1,)), F.Name("a"))),
                 F.mul(F.Index(F.Name("v"), (2,)), F.Name("b")))
    got = GP.partials(tree, ["a", "b", "v"], SHAPES)
    assert F.to_code(got["a"]) == "v[1]" and F.to_code(got["b"]) == "v[2]"
    assert F.to_code(got["v"]) == "[1, a, b]"


@pytest.mark.parametrize("node, want", [
    ("[a, v[0]] + v[1]", "[[0, 1], [0, 0] + 1, [0, 0]].T"),  # a list plus a number: once an internal error
    ("[a, v[0]] * 2", "[[0, 1] * 2, [0, 0] * 2, [0, 0] * 2].T"),  # once laid out transposed (the checks disagreed)
    ("[a * v[0], v[1] - v[2]]", "[[a, 0, 0], [0, 1, -1]]"),  # entry by entry: rows of its entries
])
def test_a_vector_nodes_jacobian_by_a_vectors_entries(node, want):
    """dn/dv[j] for a vector node n: row i is n_i's entries' derivatives (numerator layout), and
    the solve's own check holds the formula to the engines' values."""
    spec = f"""\
bpcheck: 1
id: vector-node
graph:
  inputs: {{a: 1, v: [0.5, 2, -1]}}
  nodes:
    n: "{node}"
    L: "sum(n * n)"
  output: L
"""
    solution = solve(parse_problem(spec, "v.yaml"))
    assert F.to_code(solution.entries["dn/dv"].formula) == want
