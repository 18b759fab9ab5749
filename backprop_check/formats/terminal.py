"""The terminal: colour by the usual conventions, the width of the terminal, wrapped lines.

Colour, first rule that applies:
  1. `--color` / `--no-color` (the command line wins over the environment);
  2. `NO_COLOR` set to anything non-empty: no colour (no-color.org);
  3. `FORCE_COLOR` set to anything non-empty: colour, even into a pipe or a file
     (force-color.org); `NO_COLOR` wins when both are set, being the reader's own wish;
  4. colour when the output is a terminal (and TERM is not `dumb`).
Without colour no escape sequence at all is written (no bold either).

The width never depends on colour: `COLUMNS` when set, else the size of the
terminal that standard output is, else 80. Layouts (`solution_human`,
`report`) keep every line within it; `wrapped` breaks long text at spaces
and indents the continuation lines, so nothing wraps back to column 0; runs
of more than two blanks are shown as two, so that a student's padding cannot
place their text at the start of a line (tests/test_hostile_output.py).
"""

from __future__ import annotations

import io
import os
import re
import sys
from typing import Mapping

from rich.console import Console
from rich.segment import Segment
from rich.text import Text

DEFAULT_WIDTH = 80
_BLANKS = re.compile(r"   +")
MIN_WIDTH = 30  # narrower than this, layouts would be all continuation lines


def wants_colour(flag: bool | None, stream, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if flag is not None:
        return flag
    if env.get("NO_COLOR", ""):
        return False
    if env.get("FORCE_COLOR", ""):
        return True
    return _isatty(stream) and env.get("TERM", "") != "dumb"


def width(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    columns = env.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(MIN_WIDTH, int(columns))
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None and stream.isatty():
                return max(MIN_WIDTH, os.get_terminal_size(stream.fileno()).columns)
        except (OSError, ValueError):
            continue
    return DEFAULT_WIDTH


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def console(stream, flag: bool | None = None) -> Console:
    """A rich console for `stream`: colour by `wants_colour`, width by `width`."""
    colour = wants_colour(flag, stream)
    return Console(file=stream, width=width(), force_terminal=colour, no_color=not colour,
                   color_system="auto" if colour else None, highlight=False, emoji=False,
                   legacy_windows=False)


def wrapped(text: Text | str, width: int, indent: int = 0, hang: int = 2) -> list[Text]:
    """`text` broken at spaces into lines of at most `width` cells: the first line
    indented by `indent`, the others by `indent + hang`; a word too long for a line is folded."""
    text = Text(text) if isinstance(text, str) else text.copy()
    for run in reversed(list(_BLANKS.finditer(text.plain))):  # padding cannot push text to a line's start
        text = text[:run.start() + 2] + text[run.end():]
    room = max(1, width - indent - hang)
    lines = text.wrap(_MEASURE, room, overflow="fold", no_wrap=False)
    out = []
    for i, line in enumerate(lines):
        line.rstrip()
        out.append(Text(" " * (indent + (hang if i else 0))) + line)
    return out or [Text(" " * indent)]


class Plain:
    """Lines of unstyled text that rich writes as they are, each ended by a newline.

    A wide solution prints tens of thousands of lines of numbers, and rich
    builds a `Text` (and strips control codes) per line it prints: as one
    segment the block costs one write. Only text bpcheck formatted itself
    (numbers) goes this way: it has no control characters to strip.
    """

    def __init__(self, lines: list[str]):
        self.text = "".join(line + "\n" for line in lines)

    def __rich_console__(self, console_: Console, options):
        yield Segment(self.text)


def say(console_: Console, text: Text | str, indent: int = 0, hang: int = 2) -> None:
    """Print `text` wrapped to the console's width with its indent kept."""
    for line in wrapped(text, console_.width, indent, hang):
        console_.print(line, soft_wrap=True)


_MEASURE = Console(file=io.StringIO(), width=10_000, legacy_windows=False)  # wraps text; prints nothing
