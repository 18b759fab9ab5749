"""The conventions a TA accepts (issue 10): one definition for numbers and formulas.

| spec key | tag | accepted | note |
|---|---|---|---|
| `orientation` | `orientation` | a vector in the other orientation (a row for a column); a formula that uses a vector quantity as a row, as the student's own answer wrote it (or, for a gradient dl/d… whose orientation their answers do not show, in numerator layout) | the vector's orientation, or the names read as rows |
| `outer_product` | `outer-product` | two juxtaposed vectors that fit only as an outer product (`dl/dz1 x`) | read as an outer product |
| `diagonal_jacobian` | `diagonal-jacobian` | the n entries (numbers, or a formula's vector) of an elementwise n×n Jacobian | the whole matrix is diag(...) |

Each is on by default and turned off by its spec key set to false, for the
whole problem (`options`) or one question (the question's key wins);
`Conventions.of` is the one place that reads them. A convention that was
applied is reported in the finding's message and tags, so that the student
learns it. `shapes.fit_shape` applies them to numbers, `equivalence` to
formulas (through `readings` and `shape_of_answer` here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from . import formulas as F
from .quantities import parts

KEYS = ("orientation", "outer_product", "diagonal_jacobian")  # specread.CONVENTION_KEYS
TAG = {"orientation": "orientation", "outer_product": "outer-product", "diagonal_jacobian": "diagonal-jacobian"}
TAGS = tuple(TAG.values())  # credit.CONVENTION_TAGS
_LOCAL = re.compile(r"d(z\d+|y_hat)/dz(\d+)")


@dataclass(frozen=True)
class Conventions:
    """The conventions that hold for one question, and what the student's answers show."""
    orientation: bool = True
    outer_product: bool = True
    diagonal_jacobian: bool = True
    rows: frozenset = frozenset()  # column quantities the student's own answers wrote as rows
    columns: frozenset = frozenset()  # ... and those they wrote as columns (never read as rows)
    name: str = ""  # the question's quantity, as the notes name it
    elementwise: bool = False  # the quantity is an elementwise Jacobian (a diagonal matrix)
    row_layout: bool = False  # a flat vector is a row in this problem (rows layout), else a column

    @classmethod
    def of(cls, problem, question=None, written: dict | None = None) -> "Conventions":
        """The problem's options with the question's over them; `written`: `student_vectors`."""
        def on(key: str) -> bool:
            value = getattr(question, key, None)
            if value is None:
                value = (getattr(problem, "options", None) or {}).get(key, True)
            return bool(value)
        rows, columns = student_rows(written)
        name = getattr(question, "quantity", "") or ""
        return cls(*(on(k) for k in KEYS), rows=rows, columns=columns,
                   name=name, elementwise=bool(name) and elementwise_jacobian(problem, name),
                   row_layout=bool(getattr(problem, "rows", False)))

    def seen_by(self, names) -> "Conventions":
        """What of these conventions a formula using `names` depends on, as a key: everything but
        the student's orientations of other names (`readings` reads no others)."""
        return replace(self, rows=self.rows & frozenset(names), columns=self.columns & frozenset(names))

    @property
    def diagonal(self) -> bool:
        """An elementwise Jacobian's diagonal answers this question."""
        return self.diagonal_jacobian and self.elementwise


def student_rows(written: dict | None) -> tuple[frozenset, frozenset]:
    """(rows, columns) of `Conventions`: the quantities `student_vectors` found written each way."""
    if not written:
        return frozenset(), frozenset()
    return (frozenset(n for n, o in written.items() if o == "row"),
            frozenset(n for n, o in written.items() if o == "column"))


def elementwise_jacobian(problem, name: str) -> bool:
    """d z{2l} / d z{2l-1} (or dy_hat/dz{2L-1}) of a layer whose activation is elementwise."""
    if getattr(problem, "graph", None) is not None or not hasattr(problem, "layers"):
        return False  # graph nodes are not known to be elementwise: the whole Jacobian is asked
    m = _LOCAL.fullmatch(parts(name)[2])
    if not m or int(m.group(2)) % 2 == 0:
        return False
    layer = (int(m.group(2)) + 1) // 2
    if layer > len(problem.layers):
        return False
    top = "y_hat" if layer == len(problem.layers) else f"z{2 * layer}"
    if m.group(1) not in (top, f"z{2 * layer}"):
        return False
    return bool(problem.layers[layer - 1].activation.kind.elementwise)


def is_column(value) -> bool:
    a = np.asarray(value)
    return a.ndim == 2 and a.shape[1] == 1 and a.shape[0] > 1


def student_vectors(solution, answers: dict) -> dict:
    """name -> "row" or "column": how the student's own answers wrote each column quantity.

    `answers`: canonical name -> `answers.Answer` (numbers 1×n or n×1, or
    formulas read at the problem's values). A flat list shows no orientation.
    """
    columns = solution.variants.get(("column shapes", None))
    if columns is None:  # the problem's column quantities and their shapes, once per solution
        columns = solution.variants[("column shapes", None)] = {
            name: np.shape(v) for name, v in solution.env.items() if is_column(v)}
    out = {}
    for name, answer in answers.items():
        truth = columns.get(name)
        if truth is None or getattr(answer, "error", None):
            continue
        value = getattr(answer, "value", None)
        if value is not None:
            shape = np.shape(value)
        elif getattr(answer, "formula", None):
            shape = _formula_shape(solution, answer.formula)
        else:
            shape = None
        if shape == truth[::-1]:
            out[name] = "row"
        elif shape == truth:
            out[name] = "column"
    return out


MAX_CACHED_SHAPES = 4096  # formula texts per solved problem


def _formula_shape(solution, text: str) -> tuple | None:
    """The shape of a formula answer's value at the problem's values, or None. Kept per text and
    solved problem (it depends on nothing else; a class writes the same formulas), charging the
    file's formula budget what computing it did (`formula_cost.charged`); None is not kept (the
    budget running out may give it)."""
    from . import formula_cost
    from .equivalence import value_of  # late: equivalence builds on this module (and formulas only)

    shapes = solution.variants.setdefault(("formula shapes", None), {})

    def shape() -> tuple | None:
        value = value_of(solution, text)
        return None if value is None else np.shape(value)
    try:
        return formula_cost.kept(shapes, text, shape, MAX_CACHED_SHAPES, keep=lambda s: s is not None)
    except formula_cost.TooCostly:  # as value_of would have found
        return None


def readings(solution, node: F.Node, conv: Conventions) -> list:
    """The sets of names to read as rows, in the order tried: none first.

    The names the student's own answers wrote as rows, and every column
    gradient dl/d… whose orientation their answers do not show (numerator
    layout); never one they wrote as a column.
    """
    out = [frozenset()]
    if not conv.orientation:
        return out
    used = F.names_in(node)
    env = solution.env
    pool = conv.rows | {n for n in used if n.startswith("dl/d") and n not in conv.columns}
    rows = frozenset(n for n in used & pool if n in env and is_column(env[n]))
    return out + [rows] if rows else out


def as_rows(node: F.Node, rows: frozenset) -> F.Node:
    """`node` with each name in `rows` read as a row: its transpose, in the reference's orientation."""
    return F.substitute(node, {n: F.T(F.Name(n)) for n in rows}) if rows else node


def rows_note(rows: frozenset, conv: Conventions) -> str:
    own = sorted(rows & conv.rows)
    layout = sorted(rows - conv.rows)
    why = ([f"{', '.join(own)} as your own answer wrote it"] if own else []) \
        + ([f"{', '.join(layout)} in numerator layout"] if layout else [])
    return f"read with {', '.join(sorted(rows))} as a row ({'; '.join(why)}), the chain taken left to right"


@dataclass(frozen=True)
class Shaped:
    """How a formula's value is compared: read as it is, transposed ("T") or as a diagonal ("diag")."""
    kind: str = ""
    note: str = ""
    tag: str = ""
    refusal: str = ""  # a convention that is off: why the shape is wrong

    def apply(self, value):
        """The formula's value read this way (at every point it is evaluated)."""
        if self.kind == "T":
            return np.asarray(value).T
        if self.kind == "diag":
            return np.diagflat(np.asarray(value).ravel())
        return value

    def wrap(self, node: F.Node) -> F.Node:
        """The formula read this way, as a tree (what `carry` substitutes into later formulas)."""
        if self.kind == "T":
            return F.T(node)
        if self.kind == "diag":
            return F.Call("diag", (node,))
        return node


def shape_of_answer(solution, quantity: str, got: np.ndarray, conv: Conventions) -> Shaped:
    """A row for a column, or the diagonal of an elementwise Jacobian: read (with a note) or refused."""
    truth = np.asarray(solution.env.get(quantity, solution.array(quantity)))
    g = np.asarray(got)
    if is_column(truth) and g.shape == truth.shape[::-1]:
        n = truth.shape[0]
        if not conv.orientation:
            return Shaped(refusal=f"expected {n}×1 (a column), your formula gives 1×{n} (a row): transposed? "
                                  "(this question takes the column only)", tag="transposed")
        return Shaped("T", f"read as the column {quantity} (your formula gives its row)", TAG["orientation"])
    if truth.ndim == 2 and truth.shape[0] == truth.shape[1] > 1 and g.size == truth.shape[0] \
            and (g.ndim == 1 or 1 in g.shape) and elementwise_jacobian(solution.problem, quantity):
        if not conv.diagonal_jacobian:
            return Shaped()  # the shape check says "the diagonal only?"
        return Shaped("diag", f"read as the diagonal of {quantity} (an elementwise Jacobian is diagonal)",
                      TAG["diagonal_jacobian"])
    return Shaped()


def show(value, limit: int = 12) -> str:
    """Short numbers (4 significant figures), a column shown flat: [0.5, -1], [[1, 0], [0, 1]]."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim == 0:
        return _num(float(a))
    if a.ndim == 1:
        items = [_num(float(v)) for v in a[:limit]]
        return "[" + ", ".join(items) + (", …" if a.size > limit else "") + "]"
    rows = [show(r, limit) for r in a[:limit]]
    return "[" + ", ".join(rows) + (", …" if a.shape[0] > limit else "") + "]"


def _num(v: float) -> str:
    text = f"{v:.4g}"
    return "0" if text == "-0" else text
