"""A student's write-up as an answers file (FORMAT.md section 8).

Each display equation of the write-up (`writeup.equations`) whose left side
names a quantity of the problem answers it with its last member; the members
between are the steps of its derivation, kept for `steps.check`. The left side
is read as students write it (`\\frac{\\partial \\mathcal{L}}{\\partial W_2}`,
`S_1`, `\\delta_2` through the spec's `names:`), and `P \\leftarrow …` (or
`P \\gets …`) answers `step1.P`. An explicit marker (`% bpcheck: dl/dW2`,
`<!-- bpcheck: dl/dW2 -->`) names the quantity of the next equation and wins.

An equation that names no quantity, and a second answer to a quantity already
answered, is listed in `skipped` with its line, so the report can tell the
student where a marker would help. Nothing here evaluates the text: members
stay strings until the whitelisted grammars read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .answers import Answer, AnswerFile, answer_from_text, confined
from . import latex_syntax
from .errors import InputError, shortened
from .latex_tokens import LatexSyntaxError
from .quantities import UnknownQuantity, read_name
from .writeup import MAX_BYTES, Equation, WriteupError, decode, equations, is_writeup, kind_of  # noqa: F401 (is_writeup: read from here too)

_UPDATE = {"\\leftarrow", "\\gets"}
# (dz2/dz1)_{ii} = …: the diagonal entries of a quantity answer it (the diagonal convention)
_ENTRY_INDEX = re.compile(r"_\{([A-Za-z0-9]*?)i\}|_i(?![A-Za-z0-9])")  # z_{1i} -> z_{1}, y_i -> y
_DIAGONAL = re.compile(r"^(?:\\left)?\(\s*(.*?)\s*(?:\\right)?\)_\{?ii\}?$")


@dataclass(frozen=True)
class Step:
    """A member of a derivation chain between the left side and the answer."""

    text: str
    line: int
    relation: str  # the relation written before it: '=', '\\approx', …


def load_writeup(path: str | Path, problem, tree: str | Path | None = None) -> AnswerFile:
    """Read the write-up at `path` (confined to `tree`) against `problem`'s names."""
    real = confined(path, Path(path).parent if tree is None else tree)
    try:
        with open(real, "rb") as handle:  # read one byte past the limit: a huge file costs no more
            text = decode(handle.read(MAX_BYTES + 1), str(path))
        found = equations(text, kind_of(str(path)))
    except WriteupError as exc:
        raise InputError(str(exc).removeprefix(f"{path}: "), str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from None
    result = AnswerFile(file=str(path), student=None, problem=None, answers={})
    for eq in found:
        _take(result, eq, problem)
    return result


def _take(result: AnswerFile, eq: Equation, problem) -> None:
    """File one equation as the answer to the quantity it names, or as skipped."""
    if eq.error:
        result.skipped.append((eq.line, f"not read: {eq.error}"))
        return
    name, why = _quantity(eq, problem)
    if name is None:
        result.skipped.append((eq.line, why))
        return
    if name in result.answers:
        first = result.answers[name].line
        result.skipped.append((eq.line, f"answers {name} again; the first answer (line {first}) is graded"))
        return
    unreadable = _unreadable(eq.answer)
    if unreadable:  # a derivation left unfinished (∂ of an expression): a later equation may answer
        result.skipped.append((eq.lines[-1], f"{name}: its last member cannot be read ({unreadable})"))
        return
    answer = Answer(name, line=eq.lines[-1], column=None)
    text = eq.answer
    if eq.marker is None and _DIAGONAL.match(eq.left):  # its entries are written with the index i
        text = _ENTRY_INDEX.sub(lambda m: f"_{{{m.group(1)}}}" if m.group(1) else "", text)
    answer_from_text(answer, text)
    result.answers[name] = answer
    result.steps[name] = [Step(text, line, relation) for text, line, relation
                          in zip(eq.members[1:-1], eq.lines[1:-1], eq.relations[:-1])]


def _unreadable(text: str) -> str | None:
    """Why a LaTeX member cannot be read at all, or None (formulas are judged later)."""
    if not latex_syntax.looks_like_latex(text):
        return None
    try:
        latex_syntax.translate(text)
    except LatexSyntaxError as exc:
        return str(exc)
    return None


def _quantity(eq: Equation, problem) -> tuple[str | None, str]:
    """The canonical quantity an equation answers, or None and the reason it names none."""
    written = _DIAGONAL.sub(r"\1", eq.left) if eq.marker is None else eq.marker
    if eq.marker is None and eq.relations and eq.relations[0] in _UPDATE:
        written = f"step1.{read_name(eq.left, getattr(problem, 'graph', None) is None)}"  # W_2 \leftarrow …: the parameter after the step
    try:
        return problem.canonical(written), ""
    except UnknownQuantity as exc:
        if eq.marker is not None:
            return None, f"the marker names no quantity of the problem: {exc}"
        return None, f"`{shortened(eq.left, 60)}` names no quantity of the problem (add a marker to grade it)"
