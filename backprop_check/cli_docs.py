"""Commands that write documents from a spec: `bpcheck schema` and `bpcheck handout`.

Wiring only (as cli.py): the schemas come from `schema`, the handouts from
`handout`; errors are InputErrors, turned into messages and exit codes by
cli.py's `_guarded`.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli import _emit, _guarded


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
