"""Commands for running a course on bpcheck: the Gradescope bundle (and the
runner inside it), the pre-commit check of answers files, and the shipped
example problems. Registered on `cli.main` at the end of cli.py.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli import FEEDBACK_LEVELS, _guarded, _say
from .errors import EXIT_FAIL, EXIT_OK, InputError
from .gradescope import OUTPUT_FORMATS, STUDENT_KEYS, VISIBILITIES


@click.command(name="gradescope-bundle")
@click.argument("problem", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="The zip to write.")
@click.option("--visibility", type=click.Choice(VISIBILITIES), default="visible", show_default=True,
              help="When students see their results.")
@click.option("--test-visibility", type=click.Choice(VISIBILITIES), default=None,
              help="Each question's visibility (default: --visibility).")
@click.option("--stdout-visibility", type=click.Choice(VISIBILITIES), default="hidden", show_default=True,
              help="When students see the autograder's log.")
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="text", show_default=True,
              help="The summary's format on Gradescope (md: a table).")
@click.option("--feedback", type=click.Choice(FEEDBACK_LEVELS), default="hints", show_default=True,
              help="What the report shows: expected values (full), what is wrong (hints), the status (score).")
@click.option("--student-from", type=click.Choice(STUDENT_KEYS), default="email", show_default=True,
              help="The submitter's key for per-student variants, from submission_metadata.json users[0].")
@click.option("--timeout", type=click.FloatRange(0.5, 600), default=60.0, show_default=True,
              help="Seconds allowed to grade one submission.")
@click.option("--wheel", default="auto", show_default=True, metavar="auto|none|FILE",
              help="Bundle a wheel for setup.sh: auto builds one of this checkout (none when installed from "
                   "a package), none installs bpcheck==VERSION from PyPI, FILE bundles that wheel or sdist.")
@_guarded
def gradescope_bundle(problem, output, visibility, test_visibility, stdout_visibility, output_format, feedback,
                      student_from, timeout, wheel) -> None:
    """Write a Gradescope autograder zip that grades PROBLEM's answers files and write-ups."""
    from .gradescope.bundle import Settings, build, grade_options

    student_option, feedback_option = grade_options()
    settings = Settings(visibility=visibility, test_visibility=test_visibility, stdout_visibility=stdout_visibility,
                        output_format=output_format, feedback=feedback, timeout=timeout, student_from=student_from,
                        student_option=student_option, feedback_option=feedback_option)
    names = build(problem, output, settings, wheel)
    click.echo(f"wrote {output}: {', '.join(names)}")
    if not student_option:
        _say("bpcheck: note: this bpcheck's grade has no --student: every submission is graded on the spec's "
             "own numbers")


@click.command(name="gradescope-run", hidden=True)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/autograder"),
              show_default=True)
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), required=True)
def gradescope_run(root: Path, config: Path) -> None:
    """Grade the submission in ROOT/submission (run_autograder calls this)."""
    from .gradescope.run import run

    run(root, config)  # not _guarded: it writes results.json for every outcome, and always exits 0


@click.command(name="check-answers")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--problem", type=click.Path(dir_okay=False, path_type=Path),
              help="Check names and formulas against this spec (default: each file's problem:).")
@_guarded
def check_answers(files, problem) -> None:
    """Check answers files without grading them: format, quantity names, numbers, formulas."""
    from .check_answers import Checker

    checker = Checker(problem)
    findings = [f for path in files for f in checker.check(path)]
    for f in findings:
        click.echo(f.render(), err=not f.fatal)
    bad = sum(f.fatal for f in findings)
    if bad:
        _say(f"bpcheck: {bad} problem{'s' * (bad != 1)} in {len(files)} file{'s' * (len(files) != 1)}")
    raise SystemExit(EXIT_FAIL if bad else EXIT_OK)


@click.command(name="examples")
@click.argument("directory", required=False, default="problems", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that differ from the shipped ones.")
@_guarded
def examples(directory: Path, force: bool) -> None:
    """Copy the shipped example problems into DIRECTORY (default: ./problems)."""
    from .shipped import copy_examples

    copied, same = copy_examples(directory, force)
    for path in copied:
        click.echo(f"wrote {path}")
    if same:
        click.echo(f"{same} file{'s' * (same != 1)} already there, unchanged")
    if not copied and not same:
        raise InputError("no example problems are shipped with this installation")
