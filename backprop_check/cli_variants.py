"""`bpcheck variant`: print a student's variant of a template spec, or check many before a course.

    bpcheck variant P --student ID [-o FILE]     the spec of ID's variant (random: removed)
    bpcheck variant P --check N                  draw and solve the variants of check-1 … check-N
    bpcheck variant P --roster roster.csv        the same for every student of a roster (--check N: the first N)

Checking solves each variant as `bpcheck solve` does (both engines, finite
differences, the solution-sheet formulas) and lists the ones that fail, as
STACK tests every deployed variant; the exit code is 1 when one does.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from .cli import _emit, _guarded
from .errors import EXIT_FAIL, BpcheckError, InputError

MAX_CHECKS = 10_000


@click.command(name="variant")
@click.argument("problem", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--student", metavar="ID", help="Print the spec of this student's variant.")
@click.option("--check", "count", type=click.IntRange(1, MAX_CHECKS), metavar="N",
              help="Draw the variants of students check-1 … check-N, solve each, report any that fail.")
@click.option("--roster", type=click.Path(dir_okay=False, path_type=Path),
              help="Check the variants of a roster's students (a CSV file with a 'student' column).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the output to this file instead of standard output.")
@_guarded
def variant_command(problem: Path, student: str | None, count: int | None, roster: Path | None,
                    output: Path | None) -> None:
    """Print a student's variant of PROBLEM (a spec with random:), or check many of them."""
    from . import variants
    from .spec import load_problem

    if (student is None) == (count is None and roster is None):
        raise InputError("give --student ID (print that variant), or --check N / --roster CSV (check variants)")
    template = load_problem(problem)
    if getattr(template, "random", None) is None:
        raise InputError("this spec has no random: section, so every student has the same numbers "
                         "(FORMAT.md section 7 shows how to draw them)", str(problem))
    if student is not None:
        attempt, _ = variants.chosen(template, student)
        _emit(output, variants.text_of(template, variants.student_id(student), attempt))
        return
    students = read_roster(roster) if roster else [f"check-{k}" for k in range(1, count + 1)]
    lines, failed = check(template, students[:count] if count else students)
    _emit(output, "\n".join(lines) + "\n")
    if failed:
        raise SystemExit(EXIT_FAIL)


def check(template, students: list) -> tuple[list, int]:
    """(report lines, how many variants failed): each student's variant drawn and solved."""
    from . import variants
    from .solve import solve

    lines, failed, started = [], 0, time.perf_counter()
    for student in students:
        try:
            attempt, problem = variants.chosen(template, student)
            solve(problem)
            lines.append(f"ok    {student}" + (f" (attempt {attempt})" if attempt is not None else ""))
        except BpcheckError as exc:
            failed += 1
            lines.append(f"FAIL  {student}: {getattr(exc, 'message', None) or exc}")
    seconds = time.perf_counter() - started
    lines.append(f"{len(students) - failed} of {len(students)} variants of {template.id} solve and pass "
                 f"every check ({failed} failed; {seconds:.1f} s)")
    return lines, failed


def read_roster(path: Path) -> list:
    """The `student` column of a CSV roster (`handout_roster`), in order, each id once, each a
    valid id for the hash (bad ids: an error at their line)."""
    from .handout_roster import read_roster as rows
    from .variants import student_id

    out = []
    for student, line in rows(path, repeats=True):
        try:
            out.append(student_id(student))
        except InputError as exc:
            raise InputError(exc.message, str(path), line) from None
    return out
