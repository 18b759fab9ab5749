"""The local derivative on a graph's edge, ∂A/∂B: A's expression differentiated in B.

`elementwise.derivative` differentiates, extended here to indexing, stacking
and products (FORMAT.md section 5's shapes): a number or a vector for a scalar
B, a Jacobian for a vector B that A uses entry by entry (each entry read as a
scalar of its own), elementwise (diag(f′)) or linearly (M for M @ B).

A node written as a long sum (out = v[0] + v[1]*h2_0 + … + v[49]*h2_48) has
a partial for each name and entry in it, and differentiating the whole sum for
each is quadratic in its length. A term that lacks the name (or the entry) and
is plain arithmetic (no call, list or juxtaposition; a power by a number)
differentiates to exactly 0, so it is left out before `elementwise.derivative`
runs, which then writes the same formula: d(a + b) with db = 0 is da, and
d(b − c) with db = 0 is −dc, as d(0 − c).
"""

from __future__ import annotations

from . import formulas as F
from .elementwise import derivative

N = F.Name
_ZERO = F.num(0)
_ENTRY = "_entry"  # b[j] read as a scalar of its own
_PLAIN_OPS = {"+", "-", "*", "/", "@"}


def partials(tree: F.Node, names: list, shapes: dict, shape: tuple = ()) -> dict:
    """name -> ∂tree/∂name (or None) for each of `names` (`shape`: the tree's value's)."""
    terms = _Terms(tree)
    return {b: partial(tree, b, shapes, shape, terms) for b in names}


def partial(tree: F.Node, b: str, shapes: dict, shape: tuple, terms: _Terms) -> F.Node | None:
    """∂tree/∂b, with every other name held: FORMAT.md section 5's shapes, or None (`shape`:
    the tree's value's; `terms`: the tree's, made once for all its partials)."""
    try:
        if shapes.get(b, ()) == ():
            return _simplify(derivative(terms.without(b, b), b))
        if len(shapes[b]) == 1 and not _used_whole(tree, b):  # b only through b[0], b[1], …
            return _by_entries([_entry(terms, b, j) for j in range(shapes[b][0])], shape)
        linear = _linear(tree, b)
        if linear is not None:
            return linear
        if _elementwise(tree, b):
            return F.call("diag", _simplify(derivative(tree, b)))
    except F.FormulaError:
        return None
    return None


def _by_entries(columns: list, shape: tuple) -> F.Node | None:
    """The Jacobian from its columns (d tree/d b[j]): of a vector tree, rows of its entries where
    each column is written entry by entry, else the columns stacked and transposed."""
    if any(c is None for c in columns):
        return None
    if len(shape) != 1:
        return F.Stack(tuple(columns))
    if all(isinstance(c, F.Stack) and len(c.items) == shape[0] for c in columns):
        return F.Stack(tuple(F.Stack(tuple(c.items[i] for c in columns)) for i in range(shape[0])))
    return F.T(F.Stack(tuple(columns)))


class _Terms:
    """A tree as the terms of its sum (a tree that is no sum: one term), each with the names it
    holds, its indexed entries (("v", (2,)) for v[2]) and whether it is plain (`_plain`)."""

    def __init__(self, tree: F.Node):
        terms = []
        while isinstance(tree, F.Bin) and tree.op in ("+", "-"):
            terms.append((tree.op, tree.right))
            tree = tree.left
        terms.append((None, tree))
        self.terms = [(op, term, F.names_in(term) | _indexed(term), _plain(term)) for op, term in reversed(terms)]

    def without(self, b, var: str, rewrite=None) -> F.Node:
        """The sum without its plain terms that hold neither `b` (a name, or an indexed entry) nor
        `var`, and `rewrite` applied to the others (0 when none is left; 0 − t when the first left
        is subtracted): d/d`var` of it is d/d`var` of the sum rewritten, where `rewrite` changes
        only the terms that hold `b`, since 0 adds nothing to a derivative on either side."""
        out = None
        for op, term, held, plain in self.terms:
            if b in held or var in held or not plain:
                term = rewrite(term) if rewrite else term
                if out is None:
                    out = F.Bin("-", _ZERO, term) if op == "-" else term
                else:
                    out = F.Bin(op, out, term)
        return _ZERO if out is None else out


def _indexed(node: F.Node) -> set:
    """The entries of names the tree indexes: ("v", (2,)) for v[2]."""
    if isinstance(node, F.Index) and isinstance(node.arg, F.Name):
        return {(node.arg.id, node.at)}
    return set().union(*map(_indexed, F.children(node)))


def _plain(node: F.Node) -> bool:
    """Whether `elementwise.derivative` gives exactly 0 (and raises nothing) for the node in a
    name it does not hold: names, numbers and their arithmetic, negation, transposes, indexing
    and powers by a number; not calls, lists (a list of zeros), juxtaposition."""
    if isinstance(node, (F.Name, F.Num)):
        return True
    if isinstance(node, (F.Neg, F.T, F.Index)):
        return _plain(node.arg)
    if isinstance(node, F.Bin) and node.op in _PLAIN_OPS:
        return _plain(node.left) and _plain(node.right)
    if isinstance(node, F.Bin) and node.op == "**":
        return isinstance(node.right, F.Num) and _plain(node.left)
    return False


def _entry(terms: _Terms, b: str, j: int) -> F.Node | None:
    """∂tree/∂b[j], reading b[j] as a scalar of its own."""
    d = derivative(terms.without((b, (j,)), _ENTRY, lambda term: _replace_index(term, b, j)), _ENTRY)
    return _simplify(_restore(d, b, j))


def _replace_index(node: F.Node, b: str, j: int) -> F.Node:
    if isinstance(node, F.Index) and node.arg == N(b) and node.at == (j,):
        return N(_ENTRY)
    if isinstance(node, F.Index):
        return F.Index(_replace_index(node.arg, b, j), node.at)
    if isinstance(node, F.Stack):
        return F.Stack(tuple(_replace_index(i, b, j) for i in node.items))
    if isinstance(node, F.Bin):
        return F.Bin(node.op, _replace_index(node.left, b, j), _replace_index(node.right, b, j))
    if isinstance(node, F.Neg):
        return F.Neg(_replace_index(node.arg, b, j))
    if isinstance(node, F.T):
        return F.T(_replace_index(node.arg, b, j))
    if isinstance(node, F.Call):
        return F.Call(node.fn, tuple(_replace_index(a, b, j) for a in node.args))
    return node


def _restore(node: F.Node, b: str, j: int) -> F.Node:
    return F.substitute(node, {_ENTRY: F.Index(N(b), (j,))})


def _used_whole(tree: F.Node, b: str) -> bool:
    """Whether b appears other than as b[j]."""
    if tree == N(b):
        return True
    if isinstance(tree, F.Index) and tree.arg == N(b):
        return False
    return any(_used_whole(c, b) for c in F.children(tree))


def _linear(tree: F.Node, b: str) -> F.Node | None:
    """M for M @ b or M @ b + c (M, c free of b)."""
    if isinstance(tree, F.Bin) and tree.op in "+-" and b not in F.names_in(tree.right):
        tree = tree.left
    if isinstance(tree, F.Bin) and tree.op == "@" and tree.right == N(b) and b not in F.names_in(tree.left):
        return tree.left
    return None


def _elementwise(tree: F.Node, b: str) -> bool:
    """Whether the tree maps b elementwise (no products of matrices, sums, indexing of it)."""
    if isinstance(tree, (F.Index, F.Stack, F.T)) or (isinstance(tree, F.Bin) and tree.op == "@"):
        return b not in F.names_in(tree)
    if isinstance(tree, F.Call) and tree.fn in ("sum", "mean", "softmax", "diag"):
        return b not in F.names_in(tree)
    return all(_elementwise(c, b) for c in F.children(tree))


def _simplify(node: F.Node) -> F.Node:
    """Fold constant arithmetic (1 * 2, 0 + x) left by differentiation."""
    if isinstance(node, F.Bin):
        a, b = _simplify(node.left), _simplify(node.right)
        if isinstance(a, F.Num) and isinstance(b, F.Num) and node.op in "+-*":
            return F.Num({"+": a.value + b.value, "-": a.value - b.value, "*": a.value * b.value}[node.op])
        if node.op == "*":
            return F.mul(a, b)
        return F.Bin(node.op, a, b)
    if isinstance(node, F.Stack):
        return F.Stack(tuple(_simplify(i) for i in node.items))
    return node
