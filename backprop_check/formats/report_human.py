"""The grading report in the terminal: each file, its findings with diff tables, the class summary.

Kept apart from the machine formats (`report`), so that a CI run writing JSON,
JUnit or GitHub annotations never imports rich.
"""

from __future__ import annotations

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..classroom import Summary
from ..grade import FileResult, Finding
from . import class_summary, escape
from .redact import view
from .report import _counts, _points
from .terminal import say

FOLD_ABOVE = 12  # a matrix with more entries shows only its wrong ones
STATUS_STYLE = {"correct": "green", "incorrect": "red", "invalid": "magenta", "missing": "yellow"}

DETAILS_UP_TO = 10  # more files than this: one line each (then the summary), unless --details
DETAIL_MODES = ("auto", "details", "lines", "summary")


def render_human(results: list[FileResult], summary: Summary | None, console: Console,
                 feedback: str = "full", detail: str = "auto") -> None:
    """Each file, then the class summary (more than one file).

    `detail`: `details` every finding of every file; `lines` one line per file;
    `summary` the class summary only; `auto` details up to DETAILS_UP_TO files,
    else one line per file. The summary comes last, where a terminal leaves it in view.
    """
    if detail == "auto":
        detail = "details" if len(results) <= DETAILS_UP_TO else "lines"
    shown = escape.records(view(results, feedback), escape.line)
    if detail != "summary":
        for r in shown:
            _human_file(r, console, details=detail == "details")
    if detail == "lines" and len(results) > DETAILS_UP_TO:
        say(console, Text(f"({len(results)} files: one line each; --details shows every question, "
                          "--summary-only the class summary alone)", style="dim"))
        console.print()
    if summary is not None and (summary.files > 1 or detail == "summary"):
        class_summary_human(summary, console, mistakes=feedback != "score")


def _human_file(r: FileResult, console: Console, details: bool = True) -> None:
    if r.error:
        say(console, Text.assemble(("✗ ", "bold red"), (f"{r.file}: cannot grade: {r.error}", "red")), hang=4)
        return
    mark = ("PASS", "bold green") if r.passed else ("FAIL", "bold red")
    who = f" ({r.student})" if r.student else ""
    say(console, Text.assemble((f"{r.file}{who}", "bold"), f"  {r.problem}  ",
                               (f"{_points(r.score)}/{_points(r.max_score)} points", "bold"), "  ",
                               mark, f"  {_counts(r)}"), hang=4)
    if not details:
        return
    for line, message in r.warnings:
        say(console, Text(f"warning{f' (line {line})' if line else ''}: {message}", style="yellow"), indent=2, hang=4)
    for f in r.findings:
        if f.status == "correct":
            extra = f" — {f.message}" if "ecf" in f.tags else ""
            say(console, Text.assemble(("✓", "green"), f" {f.quantity}{extra}"), indent=2, hang=4)
            continue
        where = f" (line {f.line})" if f.line else ""
        tags = f"  [{', '.join(f.tags)}]" if f.tags else ""
        message = f" — {f.message}" if f.message else ""
        say(console, Text.assemble(("✗", STATUS_STYLE[f.status]), f" {f.quantity}{where}: ",
                                   (f.status, STATUS_STYLE[f.status]),
                                   f" {_points(f.score)}/{_points(f.max_score)}{message}", (tags, "cyan")),
            indent=2, hang=4)
        if f.status != "incorrect" or not isinstance(f.got, list | float | int):
            continue
        table = _diff_table(f) if f.expected is not None else _hint_table(f)  # `hints` keeps no expected
        console.print(table, Text(_folded_note(f), style="dim") if _folded_note(f) else "")
    console.print()


def _entries(f: Finding):
    e = np.asarray(f.expected, dtype=float)
    g = np.asarray(f.got, dtype=float)
    if g.size == e.size:
        g = g.reshape(e.shape)
    wrong = {tuple(i) for i in f.wrong}
    for index in np.ndindex(e.shape):
        yield index, float(e[index]), float(g[index]), index in wrong


def _diff_table(f: Finding) -> Table:
    table = Table(box=box.SIMPLE, show_header=True, pad_edge=False, padding=(0, 1))
    for name, justify in (("entry", "left"), ("expected", "right"), ("submitted", "right"),
                          ("abs err", "right"), ("rel err", "right")):
        table.add_column(name, justify=justify)
    entries = list(_entries(f))
    fold = len(entries) > FOLD_ABOVE
    for index, e, g, wrong in entries:
        if fold and not wrong:
            continue
        err = abs(g - e)
        rel = f"{err / abs(e):.2%}" if e else "—"
        style = "bold red" if wrong else ""
        table.add_row(Text(str(list(index)) if index else "·"), Text(f"{e:.6g}"), Text(f"{g:.6g}", style=style),
                      Text(f"{err:.3g}", style=style), Text(rel, style=style))
    return table


def _hint_table(f: Finding) -> Table:
    """The submitted entries with the wrong ones marked: no expected value, no error size."""
    table = Table(box=box.SIMPLE, show_header=True, pad_edge=False, padding=(0, 1))
    for name, justify in (("entry", "left"), ("submitted", "right"), ("", "left")):
        table.add_column(name, justify=justify)
    got = np.asarray(f.got, dtype=float)
    wrong = {tuple(i) for i in f.wrong}
    fold = got.size > FOLD_ABOVE
    for index in np.ndindex(got.shape):
        bad = index in wrong
        if fold and not bad:
            continue
        table.add_row(Text(str(list(index)) if index else "·"), Text(f"{float(got[index]):.6g}"),
                      Text("wrong" if bad else "", style="bold red"))
    return table


def _folded_note(f: Finding) -> str:
    total = int(np.asarray(f.expected if f.expected is not None else f.got, dtype=float).size)
    hidden = total - len(f.wrong) if total > FOLD_ABOVE else 0
    return f"    … {hidden} correct entries not shown" if hidden else ""


# ------------------------------------------------------------------ the class summary

def class_summary_human(s, console: Console, mistakes: bool = True) -> None:
    say(console, Text(f"Class: {class_summary.class_line(s)}", style="bold"))
    for p in s.problems:
        console.print()
        say(console, Text.assemble(("Problem ", "bold"), (escape.line(p.problem), "bold cyan"),
                                   f": {class_summary.problem_line(p)}"))
        peak = max((c for _, c in p.histogram), default=0) or 1
        for label, count in p.histogram:
            console.print(Text(f"  {label:>8} {'█' * round(class_summary.BAR * count / peak):<{class_summary.BAR}} {count}"))
        _human_questions(p, console)
        if mistakes:
            _human_mistakes(p, console)
    if s.unreadable:
        console.print()
        say(console, Text(f"Could not be graded ({len(s.unreadable)}):", style="bold red"))
        for file, why in s.unreadable:
            say(console, f"{escape.line(file)}: {escape.line(why)}", indent=2, hang=4)


def _human_questions(p, console: Console) -> None:
    rows = [("question", "points", "mean", "correct", "discrimination")]
    rows += [(escape.line(q.quantity), f"{q.max_score:g}", f"{q.mean:.2f}", class_summary.pct(q.share_correct),
              class_summary.disc(q.discrimination)) for q in p.questions]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    if 2 + sum(widths) + 8 > console.width:  # a long question name: one question per wrapped line
        for q in rows[1:]:
            say(console, f"{q[0]}: {q[1]} points, mean {q[2]}, {q[3]} correct, discrimination {q[4]}", indent=2, hang=4)
        return
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        console.print(Text("  " + "  ".join(cells), style="bold" if i == 0 else ""), soft_wrap=True)


def _human_mistakes(p, console: Console) -> None:
    if not p.mistakes:
        return
    say(console, Text("Mistakes (most common first):", style="bold"), indent=2)
    for quantity, tag, count in p.mistakes[:class_summary.MISTAKES_SHOWN]:
        say(console, f"{count:>5}  {escape.line(quantity)}: {escape.line(tag)}", indent=2, hang=9)
    rest = p.mistakes[class_summary.MISTAKES_SHOWN:]
    if rest:
        say(console, Text(f"… and {len(rest)} more kinds of mistake ({sum(c for *_, c in rest)} mistakes in all); "
                          "--format html, markdown or json lists every one", style="dim"), indent=2, hang=4)
