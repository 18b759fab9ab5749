"""`bpcheck solve --format human`: the solution in the terminal, within its width.

Each group (forward pass, loss, backward pass, …) is laid out one of two ways,
the first that fits the console's width for every entry of the group:

- a table: quantity, shape, formula and value side by side, matrices aligned;
- stacked: the quantity and its shape on a line, the formula under it (wrapped
  at spaces, continuation lines indented), then the value, split into blocks
  of columns when it is wider than the line.

Nothing is cut short: every entry of every value is printed, and no line is
longer than the width (`tests/test_terminal.py` checks both, at 60, 80 and
120 columns, on every shipped problem). Formulas are in the answer syntax, so
that an instructor can copy one into a key.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from .. import formulas as F
from ..jacobians import Diagonal
from ..solve import Entry, Solution
from . import matrix_text as M
from .solution import GROUP_TITLES, _display, _grouped, _shape_text, _summary
from .terminal import Plain, say, wrapped

GAP = "  "
INDENT = "  "
STACK_INDENT = 4  # the formula and value of a stacked entry, under its name
HEADERS = ("quantity", "shape", "formula", "value")


def render_human(solution: Solution, console: Console) -> None:
    p = solution.problem
    say(console, Text(p.title, style="bold"))
    say(console, _summary(solution))
    say(console, f"arithmetic: {'exact rationals' if solution.exact else '45-digit precision'} (sympy), "
                 "checked against numpy float64")
    for group, entries in _grouped(solution).items():
        console.print()
        console.print(Text(GROUP_TITLES[group], style="bold"), soft_wrap=True)
        rows = [_row(solution, e) for e in entries]
        grids = [M.cells(value) for *_, value in rows]  # formatted once, laid out one way or the other
        lines = _table(rows, grids, console.width) or _stacked(rows, grids, console.width)
        console.print(*lines, sep="\n", soft_wrap=True)  # one call: rich's cost is per call
    r = solution.report
    console.print()
    say(console, Text.assemble(("✓", "green"), f" engines agree on {r.compared} entries; finite differences agree on "
                               f"{r.fd_checked} parameter entries"
                               + (f" ({r.fd_skipped} next to a kink skipped)" if r.fd_skipped else "")
                               + f"; {r.formulas_checked} formulas reproduce their values"))


def _row(solution: Solution, e: Entry) -> tuple[str, str, str, object]:
    formula = F.to_code(e.formula) if e.formula is not None else ""
    if isinstance(e.value, Diagonal):  # a wide diagonal Jacobian: its diagonal, as a column
        return _display(solution, e.name), _shape_text(e.shape) + ", its diagonal", formula, e.value.entries()
    return _display(solution, e.name), _shape_text(e.shape), formula, e.value


def _table(rows: list, grids: list, width: int) -> list[Text] | None:
    """The group as a four-column table, or None when a row would not fit `width`."""
    values = [M.lines(value, grid=grid) for (*_, value), grid in zip(rows, grids)]
    widths = [max(len(HEADERS[i]), *(len(r[i]) for r in rows)) for i in range(3)]
    widths.append(max(len(HEADERS[3]), *(len(line) for v in values for line in v)))
    total = len(INDENT) + sum(widths) + len(GAP) * 3
    if total > width:
        return None
    def line(cols: list[str], name_style: str = "cyan") -> Text:
        name, shape, formula, value = cols
        text = Text.assemble(INDENT, (name.ljust(widths[0]), name_style), GAP, shape.rjust(widths[1]), GAP,
                             formula.ljust(widths[2]), GAP, value)
        text.rstrip()
        return text
    out = [line(list(HEADERS), "bold"), Text(INDENT + "─" * (total - len(INDENT)), style="dim")]
    for (name, shape, formula, _), value in zip(rows, values):
        out.append(line([name, shape, formula, value[0]]))
        out += [line(["", "", "", more]) for more in value[1:]]
    return out


def _stacked(rows: list, grids: list, width: int) -> list[Text | Plain]:
    """Each entry as its name and shape, then its formula, then its value, indented under it."""
    out: list[Text | Plain] = []
    room = width - STACK_INDENT
    for (name, shape, formula, value), grid in zip(rows, grids):
        head = Text.assemble((name, "cyan"), f"  ({shape})")
        out += wrapped(head, width, indent=len(INDENT), hang=STACK_INDENT)
        if formula:
            out += wrapped(f"= {formula}", width, indent=STACK_INDENT, hang=2)
        out.append(Plain([" " * STACK_INDENT + line for line in M.lines(value, room, grid)]))
    return out
