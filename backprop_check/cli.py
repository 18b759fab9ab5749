"""The command line: argument parsing, output format, exit code. Nothing else.

Errors are raised deep, as `BpcheckError`s, and caught only here: bad input
prints one line naming file, line and problem and exits 2; an engine
disagreement or any unexpected failure exits 3. No traceback reaches a user
unless BPCHECK_DEBUG is set.
"""

from __future__ import annotations

import os
import sys
from functools import wraps
from pathlib import Path

import click
from rich.console import Console

from . import __version__
from .errors import EXIT_INPUT, EXIT_INTERNAL, BpcheckError, EngineDisagreement, InputError

SOLVE_FORMATS = ("human", "json", "yaml", "markdown", "latex")


def _guarded(fn):
    """Map bpcheck's errors to messages and exit codes."""
    @wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            click.echo(f"bpcheck: error: {exc}", err=True)
            sys.exit(EXIT_INPUT)
        except EngineDisagreement as exc:
            click.echo(f"bpcheck: internal error: the checks disagree: {exc}\n"
                       "This is a bug in bpcheck; please report it with the problem file.", err=True)
            sys.exit(EXIT_INTERNAL)
        except BpcheckError as exc:
            click.echo(f"bpcheck: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if os.environ.get("BPCHECK_DEBUG"):
                raise
            click.echo(f"bpcheck: internal error: {type(exc).__name__}: {exc}\n"
                       "This is a bug in bpcheck (set BPCHECK_DEBUG=1 for details).", err=True)
            sys.exit(EXIT_INTERNAL)
    return run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bpcheck")
def main() -> None:
    """Solve and grade neural-network backpropagation homework."""


@main.command()
@click.argument("problem", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(SOLVE_FORMATS), default="human", show_default=True,
              help="Output format.")
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write an answer key (answers.yaml format) that scores full marks.")
@click.option("--per-sample", is_flag=True, help="Also report every quantity for each sample alone.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the output to this file instead of standard output.")
@_guarded
def solve(problem: Path, fmt: str, key: Path | None, per_sample: bool, output: Path | None) -> None:
    """Derive every quantity of PROBLEM with two engines that must agree."""
    from .formats import solution as render
    from .solve import solve as run_solve
    from .spec import load_problem

    p = load_problem(problem)
    samples = set(range(1, p.n_samples + 1)) if per_sample and p.n_samples > 1 else set()
    solution = run_solve(p, samples)
    if key is not None:
        _write(key, render.answer_key(solution, key))
    if fmt == "human":
        with open(output, "w", encoding="utf-8") if output else _stdout() as stream:
            render.render_human(solution, _console(stream))
        return
    text = {"json": render.render_json, "yaml": render.render_yaml,
            "markdown": render.render_markdown, "latex": render.render_latex}[fmt](solution)
    if output:
        _write(output, text)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def _stdout():
    """Standard output as a context manager that does not close it."""
    from contextlib import nullcontext
    return nullcontext(sys.stdout)


def _console(stream) -> Console:
    """Rich on a terminal; plain and wide enough for matrices elsewhere."""
    terminal = stream.isatty()
    return Console(file=stream, width=None if terminal else 160, no_color=not terminal,
                   highlight=False)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", str(path)) from None
