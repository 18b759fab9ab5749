"""Commands that write documents from a spec: `bpcheck schema` and `bpcheck handout`.

Wiring only (as cli.py): the schemas come from `schema`, the handouts from
`handout`; errors are InputErrors, turned into messages and exit codes by
cli.py's `_guarded`.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli import _emit, _guarded, _write
from .errors import InputError
from .formats.escape import line


@click.command(name="schema")
@click.argument("which", type=click.Choice(["problem", "answers"]))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the schema to this file instead of standard output.")
@_guarded
def schema_command(which: str, output: Path | None) -> None:
    """Print the JSON Schema (draft 2020-12) of a problem spec or an answers file.

    For editors: `bpcheck schema problem > problem.schema.json`, then start a spec with
    `# yaml-language-server: $schema=problem.schema.json`.
    """
    from .schema import render

    _emit(output, render(which))


@click.command(name="handout")
@click.argument("problem", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--student", metavar="ID", help="The student whose numbers to show (their variant, if the "
                                              "problem has random:).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "latex"]), default="markdown", show_default=True,
              help="markdown, or latex (a document for pdflatex).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the handout to this file instead of standard output.")
@click.option("--roster", type=click.Path(dir_okay=False, path_type=Path),
              help="A CSV file with a 'student' column: one handout per student, written into --out.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The directory for the handouts of --roster (made if missing).")
@_guarded
def handout_command(problem: Path, student: str | None, fmt: str, output: Path | None, roster: Path | None,
                    out_dir: Path | None) -> None:
    """Write the problem statement of PROBLEM for students: the network or graph, the given numbers,
    the loss, the training and the numbered questions with their points; never an answer."""
    from .handout import render
    from .spec import load_problem

    if (roster is None) != (out_dir is None):
        raise click.UsageError("--roster and --out go together: one handout per student into a directory")
    if roster is not None and (student is not None or output is not None):
        raise click.UsageError("--roster writes one file per student into --out; leave out --student and -o")
    template = load_problem(problem)
    if roster is None:
        _emit(output, render(_variant(template, student), fmt, student))
        return
    _roster(template, fmt, roster, out_dir)


def _variant(problem, student: str | None):
    """The student's own problem: their variant when the spec has random:, else the problem itself."""
    if student is None or getattr(problem, "random", None) is None:
        return problem
    from .variants import problem_for  # only specs with random: get here

    return problem_for(problem, student)


def _roster(template, fmt: str, roster: Path, out_dir: Path) -> None:
    from .handout import render
    from .handout_roster import file_names, read_roster, target

    students = read_roster(roster)
    texts = {}  # every handout made before any is written: a bad id stops the run with no file half done
    for student, number in students:
        try:
            texts[student] = render(_variant(template, student), fmt, student)
        except InputError as exc:
            raise InputError(f"student {line(student[:40])!r}: {exc.message}", str(roster), number) from None
    names = file_names(texts, ".tex" if fmt == "latex" else ".md")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make the directory: {exc.strerror or exc}", str(out_dir)) from None
    for student, text in texts.items():
        _write(target(out_dir, names[student]), text)
    click.echo(f"wrote {len(texts)} handout{'s' if len(texts) > 1 else ''} to {line(out_dir)}")
