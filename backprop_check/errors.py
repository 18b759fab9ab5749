"""The exceptions bpcheck raises, and the exit codes they map to.

Errors are raised where the problem is found, carrying file, line and column,
and caught only in `cli`, which prints them and picks the exit code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAIL = 1  # graded below the pass mark
EXIT_INPUT = 2  # invalid input or usage
EXIT_INTERNAL = 3  # internal error, e.g. the engines disagree


def shortened(text: object, width: int = 30) -> str:
    """`text` as a message quotes it: at most `width` characters, cut with "..."."""
    s = str(text)
    return s if len(s) <= width else s[:width - 3] + "..."


class BpcheckError(Exception):
    """Base class; `exit_code` says how the CLI ends."""

    exit_code = EXIT_INTERNAL


class InputError(BpcheckError):
    """Bad input: a file that cannot be read, parsed or validated."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str, file: str | None = None,
                 line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = [str(p) for p in (self.file, self.line, self.column) if p is not None]
        return f"{':'.join(where)}: {self.message}" if where else self.message


class EngineDisagreement(BpcheckError):
    """The sympy and numpy engines (or the finite differences) disagree: a bug."""

    exit_code = EXIT_INTERNAL
