"""The command line: argument parsing, output format, exit code. Nothing else.

Errors are raised deep, as `BpcheckError`s, and caught only here: bad input
prints one line naming file, line and problem and exits 2; an engine
disagreement or any unexpected failure exits 3. No traceback reaches a user
unless BPCHECK_DEBUG is set.
"""

from __future__ import annotations

import io
import os
import re
import sys
import warnings
from contextlib import contextmanager
from functools import wraps
from pathlib import Path

import click

from . import __version__
from .formats.escape import line
from .formats.redact import LEVELS as FEEDBACK_LEVELS
from .errors import (EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, BpcheckError,
                     EngineDisagreement, InputError)

SOLVE_FORMATS = ("human", "json", "yaml", "markdown", "latex", "dot", "svg")
COLOR_HELP = ("Colour on or off, over NO_COLOR and FORCE_COLOR (default: colour on a terminal); "
              "the width is COLUMNS or the terminal's either way.")
GRADE_FORMATS = ("auto", "human", "json", "junit", "gradescope", "github", "markdown", "html")


def _guarded(fn):
    """Map bpcheck's errors to messages and exit codes (SIGTERM/SIGINT: 128 + the signal)."""
    @wraps(fn)
    def run(*args, **kwargs):
        from .sandbox import stop_on_signals
        try:
            with stop_on_signals():  # a signal raises sandbox.Interrupted: workers are killed on the way out
                return fn(*args, **kwargs)
        except InputError as exc:
            _say(f"bpcheck: error: {line(exc)}")
            sys.exit(EXIT_INPUT)
        except EngineDisagreement as exc:
            _say(f"bpcheck: internal error: the checks disagree: {line(exc)}\n"
                 "This is a bug in bpcheck; please report it with the problem file.")
            sys.exit(EXIT_INTERNAL)
        except BpcheckError as exc:
            _say(f"bpcheck: error: {line(exc)}")
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if os.environ.get("BPCHECK_DEBUG"):
                raise
            _say(f"bpcheck: internal error: {type(exc).__name__}: {line(exc)}\n"
                 "This is a bug in bpcheck (set BPCHECK_DEBUG=1 for details).")
            sys.exit(EXIT_INTERNAL)
    return run


# Commands defined in modules of their own, imported only when run (or listed by --help): a grading
# run in CI starts faster without them (click's documented lazy-loading pattern).
LAZY_COMMANDS = {
    "check-answers": "cli_course:check_answers", "examples": "cli_course:examples",
    "gradescope-bundle": "cli_course:gradescope_bundle", "gradescope-run": "cli_course:gradescope_run",
    "handout": "cli_docs:handout_command", "plot": "cli_plot:plot_command",
    "schema": "cli_docs:schema_command", "variant": "cli_variants:variant_command",
}


class _LazyGroup(click.Group):
    """A group whose LAZY_COMMANDS are imported when asked for."""

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:  # suggest among every command, lazy ones too
            raise click.exceptions.NoSuchCommand(exc.command_name, possibilities=self.list_commands(ctx),
                                                 ctx=ctx) from None

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS:
            import importlib

            module, attr = LAZY_COMMANDS[name].split(":")
            return getattr(importlib.import_module(f"{__package__}.{module}"), attr)
        return super().get_command(ctx, name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bpcheck")
def main() -> None:
    """Solve and grade neural-network backpropagation homework."""
    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, source=None) -> None:
    """A Python warning as one line of ours, never with source lines."""
    _say(f"bpcheck: warning: {line(message)}")


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(SOLVE_FORMATS), default="human", show_default=True,
              help="Output format.")
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write an answer key (answers.yaml format) that scores full marks.")
@click.option("--per-sample", is_flag=True, help="Also report every quantity for each sample alone.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the output to this file instead of standard output.")
@click.option("--color/--no-color", default=None, help=COLOR_HELP)
@click.option("--jacobians", type=click.Choice(["auto", "dense"]), default="auto", show_default=True,
              help="dense: every local Jacobian in full; auto: one of more than 65,536 entries that is "
                   "diagonal as its diagonal in json, yaml and human output.")
@_guarded
def solve(problem: Path, fmt: str, key: Path | None, per_sample: bool, output: Path | None,
          color: bool | None, jacobians: str) -> None:
    """Derive every quantity of PROBLEM with two engines that must agree."""
    from .formats import solution as render
    from .solve import solve as run_solve
    from .spec import load_problem

    p = load_problem(problem)
    samples = set(range(1, p.n_samples + 1)) if per_sample and p.n_samples > 1 else set()
    if fmt in ("dot", "svg"):
        samples |= render.drawn_samples(p)  # a graph with data: draw the first sample's node values
    solution = run_solve(p, samples)
    if jacobians == "dense" or fmt not in ("json", "yaml", "human"):  # the sheets and drawings show them in full
        from .jacobians import dense_entries

        dense_entries(solution)
    if key is not None:
        _write(key, _checked_key(render.answer_key(solution, key), key))
    if fmt == "human":
        from .formats import solution_human  # (rich: imported for the terminal only)

        _human(output, color, lambda console: solution_human.render_human(solution, console))
        return
    _emit(output, {"json": render.render_json, "yaml": render.render_yaml,
                   "markdown": render.render_markdown, "latex": render.render_latex,
                   "dot": render.render_dot, "svg": render.render_svg}[fmt](solution))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--problem", "problem", type=click.Path(dir_okay=False, path_type=Path),
              help="The instructor's spec; the answer files' own 'problem:' is ignored.")
@click.option("--problem-sha256", "problem_sha256", metavar="HEX",
              help="Refuse to grade unless the problem file has this SHA-256.")
@click.option("--format", "fmt", type=click.Choice(GRADE_FORMATS), default="auto", show_default=True,
              help="auto: github inside GitHub Actions, human otherwise.")
@click.option("--pass", "pass_mark", metavar="MARK",
              help="Pass mark in points, or a percentage such as 60%. Default: full marks.")
@click.option("--feedback", type=click.Choice(FEEDBACK_LEVELS), default=None,
              help="full: expected values and diffs; hints: which entries are wrong and why, no expected "
                   "value; score: status and points only. Default: hints for the github and gradescope "
                   "formats inside GitHub Actions and Gradescope, full otherwise.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a gradebook: one row per student, one column per question.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of standard output.")
@click.option("--color/--no-color", default=None, help=COLOR_HELP)
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: one per core).")
@click.option("--timeout", type=click.FloatRange(0.5, 600), default=20.0, show_default=True,
              help="Wall-clock seconds allowed per answers file.")
@click.option("--student", metavar="ID",
              help="A problem with random: is graded against this student's variant (over the files' student:).")
@click.option("--details", "detail", flag_value="details",
              help="Human format: every question of every file (the default up to 10 files; past that one line each).")
@click.option("--summary-only", "detail", flag_value="summary",
              help="Human and Markdown formats: the class summary alone (and the files that could not be graded).")
@_guarded
def grade(paths, problem, problem_sha256, fmt, pass_mark, feedback, csv_path, output, color, jobs, timeout,
          student, detail) -> None:
    """Grade answer files (and directories of them) against their problems."""
    from .classroom import Grader, discover, summarize
    from .formats import classroom_output, redact, report

    if problem_sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", problem_sha256):
        raise InputError("--problem-sha256 takes 64 hexadecimal digits")
    threshold = _pass_mark(pass_mark)  # a bad --pass fails before any grading
    files = discover(paths)
    if not files:
        raise InputError("no answer files found (looked for answers.yaml and *.answers.yaml)")
    from .sandbox import Limits

    grader = Grader(problem=problem, problem_sha256=problem_sha256, jobs=jobs, student=student,
                    limits=Limits(timeout=timeout, cpu=max(1, int(timeout * 0.75))))
    results = _grade_with_progress(grader, files)
    for r in results:
        r.passed = r.error is None and r.score >= threshold(r.max_score) - 1e-9
    summary = summarize(results)
    if csv_path:
        _write(csv_path, report.render_csv(results))
    if fmt == "auto":
        fmt = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "human"
    level = feedback or redact.default_level(fmt)
    if fmt == "gradescope" and len(results) > 1:
        _say(f"bpcheck: warning: --format gradescope reports one submission; "
             f"showing {line(results[0].file)} of {len(results)} files")
    if fmt == "human":
        from .formats import report_human

        _human(output, color, lambda console: report_human.render_human(results, summary, console, level,
                                                                        detail or "auto"))
    else:
        _emit(output, {"json": lambda: report.render_json(results, summary, level),
                       "html": lambda: _html_report().render(results, summary, level),
                       "junit": lambda: report.render_junit(results, level),
                       "gradescope": lambda: report.render_gradescope(results, level),
                       "github": lambda: report.render_github(results, level),
                       "markdown": lambda: report.render_markdown(results, summary, level,
                                                                  summary_only=detail == "summary")}[fmt]())
    if fmt == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        _write(Path(os.environ["GITHUB_STEP_SUMMARY"]), report.render_markdown(results, summary, level),
               append=True, what="GITHUB_STEP_SUMMARY")
    if fmt == "github" and (target := classroom_output.output_file()):  # GitHub Classroom's grade
        _write(target, classroom_output.output_line(results, level, classroom_output.pinned_points(grader, problem)),
               append=True, what="GITHUB_OUTPUT")
    internal = [r for r in results if r.internal]
    if internal:
        _say(f"bpcheck: internal error while grading {line(internal[0].file)}: {line(internal[0].error)}\n"
             "This is a bug in bpcheck; please report it.")
        sys.exit(EXIT_INTERNAL)
    if any(r.error for r in results):
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_OK if all(r.passed for r in results) else EXIT_FAIL)


@main.command(name="hash")
@click.argument("problem", type=click.Path(dir_okay=False, path_type=Path))
@_guarded
def hash_command(problem: Path) -> None:
    """Print PROBLEM's hashes: for --problem-sha256, and for its own sha256: key."""
    from .spec import file_digest, stamp_digest
    from .yamlsource import read_text

    text = read_text(problem)
    click.echo(f"file sha256 (for grade --problem-sha256): {file_digest(text)}")
    click.echo(f"stamp (for a 'sha256:' line in the spec):  {stamp_digest(text)}")


def _grade_with_progress(grader, files: list) -> list:
    """A progress bar on a terminal when there is more than one file."""
    if len(files) < 2 or not sys.stderr.isatty():
        return grader.grade_all(files)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("grading", total=len(files))
        return grader.grade_all(files, progress=lambda: bar.advance(task))


def _html_report():
    from .formats import html_report

    return html_report


def _pass_mark(mark: str | None):
    """--pass as a function of a file's maximum: points, a percentage, or full marks."""
    if mark is None:
        return lambda maximum: maximum
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*(%?)\s*", mark)
    if not m:
        raise InputError(f"--pass {mark!r}: give points (e.g. 7.5) or a percentage (e.g. 60%)")
    value, percent = float(m.group(1)), bool(m.group(2))
    return lambda maximum: value * maximum / 100 if percent else value


def _console(stream, color: bool | None = None):
    """A console by the terminal's conventions (`formats.terminal`: colour, width)."""
    from .formats.terminal import console

    return console(stream, color)


def _checked_key(text: str, path: Path) -> str:
    """A key that `grade` will read: no larger than an answers file may be."""
    from .yamlsource import MAX_FILE_BYTES

    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise InputError(f"the answer key would be {size / 1e6:.1f} MB, more than the {MAX_FILE_BYTES / 1e6:g} MB "
                         "an answers file may hold: list fewer quantities under 'questions:'", str(path))
    return text


def _human(output: Path | None, color: bool | None, draw) -> None:
    """A rich rendering, `draw(console)`, to its file or to standard output."""
    if output:
        buffer = io.StringIO()
        draw(_console(buffer, bool(color)))  # a file gets colour only with --color (not FORCE_COLOR)
        _write(output, buffer.getvalue())
    else:
        with _writing_stdout():
            draw(_console(sys.stdout, color))
            sys.stdout.flush()


def _emit(output: Path | None, text: str) -> None:
    """A machine format to its file, or to standard output."""
    if output:
        _write(output, text)
    else:
        with _writing_stdout():
            click.echo(text, nl=not text.endswith("\n"))
            sys.stdout.flush()


def _write(path: Path, text: str, append: bool = False, what: str | None = None) -> None:
    """Write a file; a full disk, a directory or a missing folder is bad input (exit 2)."""
    try:
        with open(path, "a" if append else "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise InputError(f"cannot write{' ' + what if what else ''}: {exc.strerror or exc}", str(path)) from None


@contextmanager
def _writing_stdout():
    """Standard output that cannot be written (a full disk, a closed pipe) is exit 2, not a traceback."""
    try:
        yield
    except OSError as exc:
        # What is still buffered would fail again when Python exits: send it nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise InputError(f"cannot write standard output: {exc.strerror or exc}") from None


def _say(message: str) -> None:
    """One message on standard error."""
    click.echo(message, err=True)
