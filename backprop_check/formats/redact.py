"""Feedback levels: what a grading report may show a student (`--feedback`).

- `full`: everything (expected values, diffs): the instructor's view and today's default;
- `hints`: which entries are wrong (their positions), the diagnosis tags and
  messages, the instructor's feedback and the notes of conventions, but no
  expected value anywhere;
- `score`: each question's status and points only (a file that cannot be read
  still says why: that is about the file, not the key).

Every renderer calls `view(results, level)` and renders the copies it returns,
so the level is applied here, once, for every format. The grader's messages
embed expected values in a few known phrases ("expected 0.5, got 0.7", "your
formula gives [..], the reference [..]"); `hint_message` removes those clauses
(`patterns`' phrases), then hides any value still printed after "expected", "the reference"
or "your formula gives" (a formula's value at the problem's values can be the
key rearranged), and last, as a safety net for phrases written later, any
decimal in the message that is one of the file's expected values as printed
(to the digits it shows; by magnitude, so a flipped sign hides it too).
Integers (counts, positions, layers, lines) are never hidden: a key entry of
0 or 1 cannot be told from them, and it is not what the safety net is for.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

# numpy is imported where it is used: cli.py imports LEVELS at start-up
if TYPE_CHECKING:
    import numpy as np

LEVELS = ("full", "hints", "score")
HIDDEN = "…"
MAX_POSITIONS = 12  # wrong entries listed by position at `hints`
AUTOGRADER = Path("/autograder")  # Gradescope runs every autograder here
GRADESCOPE_ENV = "BPCHECK_GRADESCOPE"  # =1: treat this run as one inside Gradescope
SERVICE_FORMATS = {"github": lambda: os.environ.get("GITHUB_ACTIONS") == "true",
                   "gradescope": lambda: os.environ.get(GRADESCOPE_ENV) == "1" or AUTOGRADER.is_dir()}

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan"


def _nested(depth: int) -> str:
    """A value as bpcheck prints it (conventions.show): a number or [..] nested `depth` deep."""
    inner = r"[^\[\]]"
    for _ in range(depth):
        inner = rf"(?:[^\[\]]|\[{inner}*\])"
    return rf"(?:\[{inner}*\]|(?:{_NUMBER})(?![\d.×x]))"


@functools.cache
def patterns() -> tuple:
    """(PHRASES, AFTER, TOKEN), compiled on first use (a report at `full` never needs them).

    PHRASES: clauses that exist only to show an expected value, with what replaces them;
    AFTER: whatever a later phrase may print after these words is a value of the reference's;
    TOKEN: a number in a message."""
    v = _nested(4)
    phrases = [
        (re.compile(rf" \(expected {v}, your formula gives {v}\)"), ""),  # equivalence: equal elsewhere
        (re.compile(r"(at a random point) \([^()]*\)(?=: your formula gives)"), r"\1"),  # the point, then:
        (re.compile(rf": your formula gives {v}, the reference {v}"), ""),  # equivalence: differs
        (re.compile(rf"\bexpected {v}, got "), "got "),  # grade._describe_error
    ]
    after = re.compile(rf"\b(expected|the reference|your formula gives) ({v})(?! \()")  # not a shape: "expected 3 (the shape of b1)"
    token = re.compile(rf"(?<![\w.^/′'])({_NUMBER})(?![\w.×])")
    return phrases, after, token


_SAFE_AFTER = (" of the points",)  # the instructor's credit share


def default_level(fmt: str) -> str:
    """`hints` for the github and gradescope formats inside their services, `full` elsewhere."""
    inside = SERVICE_FORMATS.get(fmt)
    return "hints" if inside is not None and inside() else "full"


def view(results: list, level: str) -> list:
    """Copies of the records as `level` shows them (the records themselves are not changed)."""
    if level == "full":
        return results
    if level not in LEVELS:
        raise ValueError(f"unknown feedback level {level!r}")
    out = []
    for r in results:
        if level == "score":
            findings = [replace(f, message="", tags=[], expected=None, got=None, wrong=[], tolerance="")
                        for f in r.findings]
            out.append(replace(r, findings=findings, warnings=[]))
            continue
        secrets = expected_values(r.findings)
        out.append(replace(r, findings=[_hinted(f, secrets) for f in r.findings]))
    return out


def expected_values(findings) -> np.ndarray:
    """Magnitudes of every finite expected entry of a file's findings, sorted."""
    import numpy as np

    parts = [np.abs(np.asarray(f.expected, dtype=float)).ravel() for f in findings
             if f.expected is not None and _numeric(f.expected)]
    values = np.concatenate(parts) if parts else np.zeros(0)
    return np.sort(values[np.isfinite(values)])


def _numeric(value) -> bool:
    import numpy as np

    try:
        np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


def _hinted(f, secrets: np.ndarray):
    import numpy as np

    got = f.got
    if f.expected is not None and got is not None and not isinstance(got, str) and _numeric(got):
        e, g = np.asarray(f.expected, dtype=float), np.asarray(got, dtype=float)
        if g.size == e.size:  # the positions of `wrong` are the reference's: show the answer in its shape
            got = g.reshape(e.shape).tolist()
    message = hint_message(f.message, secrets) + _positions(f)
    return replace(f, message=message, expected=None, got=got)


def _positions(f) -> str:
    """'; wrong entries: [0, 1], [2, 0]' for an incorrect array (a scalar has no positions)."""
    if f.status != "incorrect" or not f.wrong or f.wrong == [[]]:
        return ""
    shown = ", ".join(str(list(i)) for i in f.wrong[:MAX_POSITIONS])
    more = f" and {len(f.wrong) - MAX_POSITIONS} more" if len(f.wrong) > MAX_POSITIONS else ""
    return f"; wrong entries: {shown}{more}"


def hint_message(message: str, secrets: np.ndarray) -> str:
    """`message` without any expected value (see the module's docstring)."""
    if not message:
        return message
    phrases, after, token = patterns()
    for pattern, replacement in phrases:
        message = pattern.sub(replacement, message)
    message = after.sub(lambda m: f"{m.group(1)} {HIDDEN}", message)
    return token.sub(lambda m: HIDDEN if _secret(m, secrets) else m.group(), message)


def _secret(match: re.Match, secrets: np.ndarray) -> bool:
    import numpy as np

    text = match.group(1)
    if re.fullmatch(r"[-+]?\d+", text) or match.string.startswith(_SAFE_AFTER, match.end()):
        return False
    value = abs(float(text))
    if not secrets.size or not math.isfinite(value):
        return False
    half_unit = 0.5 * _unit(text)
    lo = np.searchsorted(secrets, value - half_unit, side="left")
    hi = np.searchsorted(secrets, value + half_unit, side="right")
    if hi <= lo:
        return False
    if _significant(text) >= 3:  # a rounded rendering of a key entry
        return True
    near = secrets[lo:hi]  # a short one ("0.5") only when it is the entry itself
    return bool(np.any(np.abs(near - value) <= 1e-12 * max(value, 1e-300)))


def _unit(text: str) -> float:
    """One unit of the last digit `text` shows: 0.731 → 0.001, 7.31e-05 → 1e-07."""
    mantissa, _, exponent = text.lower().lstrip("+-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def _significant(text: str) -> int:
    mantissa = text.lower().lstrip("+-").partition("e")[0]
    return len(mantissa.replace(".", "").lstrip("0"))
