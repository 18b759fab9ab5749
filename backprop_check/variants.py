"""Per-student variants (FORMAT.md section 7): each student's own numbers, the same on every machine.

The drawing procedure is part of the file-format contract (the README states
it), so it uses neither Python's nor numpy's random streams, whose algorithms
may change; every number comes from SHA-256:

    message  = "bpcheck-variant-v1|<problem id>|<salt>|<student>|<name>|<index>|<attempt>"  (UTF-8)
    h        = the first 8 bytes of sha256(message), as a big-endian unsigned integer
    first    = ceil(low · 10^d),  last = floor(high · 10^d)      (d = decimals)
    value    = (first + h mod (last − first + 1)) / 10^d           (exact: a decimal)

`index` counts a name's numbers from 0 in the order written (row by row, sample
by sample), `attempt` counts draws from 0. The student `answer-key` (the one
`bpcheck solve P --key` writes) has the template's own numbers. A variant is attempt 0 unless
`variant_checks` rejects it (a kink within avoid_kinks, a dead layer, a zero
gradient, a value outside the loss's domain): then attempt 1, and so on, up to
MAX_ATTEMPTS. The variant's spec is the template's own text with those numbers
written in (and `random:` taken out), parsed like any spec: what a student is
graded against is exactly what `bpcheck variant P --student ID` prints.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from fractions import Fraction

from . import variant_checks
from .errors import InputError
from .specread import stamp_digest
from .variant_spec import MAX_STUDENT, Range, plain

PREFIX = "bpcheck-variant-v1"
INSTRUCTOR = "answer-key"  # the student of `solve --key`'s key: the template's own numbers, not drawn
MAX_ATTEMPTS = 100
_CACHE: dict = {}  # (template digest, file, student) -> (attempt, variant problem): the last few
_CACHE_KEPT = 64


def student_id(value) -> str:
    """A student id as the hash reads it: stripped; 1-200 printable characters without '|'."""
    return plain(value, "a student id", MAX_STUDENT)


def number(problem_id: str, salt: str, student: str, rng: Range, index: int, attempt: int) -> Fraction:
    """Entry `index` of `rng`'s name in the given attempt: the contract's one formula."""
    message = "|".join((PREFIX, problem_id, salt, student, rng.name, str(index), str(attempt)))
    h = int.from_bytes(hashlib.sha256(message.encode("utf-8")).digest()[:8], "big")
    first, last = rng.grid
    return Fraction(first + h % (last - first + 1), 10 ** rng.decimals)


def decimal(value: Fraction, decimals: int) -> str:
    """A number of the grid as the shortest decimal: -0.3, 1, 0.25."""
    units = value.numerator * (10 ** decimals // value.denominator)
    digits = f"{abs(units):0{decimals + 1}d}"
    whole, part = digits[:len(digits) - decimals], digits[len(digits) - decimals:].rstrip("0")
    return ("-" if units < 0 else "") + whole + ("." + part if part else "")


def draws(problem, student: str, attempt: int) -> dict:
    """name -> the numbers of that attempt, in the order written."""
    rnd = problem.random
    return {rng.name: [number(problem.id, rnd.salt, student, rng, i, attempt) for i in range(len(rng.spans))]
            for rng in rnd.ranges}


def text_of(problem, student: str, attempt: int | None, printed: bool = True) -> str:
    """The variant's spec text: the template's with the drawn numbers written in.

    `printed`: without the `random:` lines, under a comment that says whose variant it is;
    otherwise (what is parsed for grading) the lines of `random:` are left blank, so that a
    message about the variant names the template's own line numbers.
    """
    rnd = problem.random
    drawn = draws(problem, student, attempt) if attempt is not None else {}
    edits = [(span, decimal(v, rng.decimals)) for rng in rnd.ranges if rng.name in drawn
             for span, v in zip(rng.spans, drawn[rng.name])]
    start, end = rnd.section
    edits.append(((start, end), "" if printed else "\n" * rnd.text.count("\n", start, end)))
    text = rnd.text
    for (a, b), new in sorted(edits, reverse=True):
        text = text[:a] + new + text[b:]
    if printed and attempt is None:
        text = f"# The instructor's own variant of {problem.id} (its {INSTRUCTOR}): the template's numbers.\n" + text
    elif printed:
        salt = f", salt {rnd.salt}" if rnd.salt else ""
        text = (f"# The variant of {problem.id} for student {student}: its numbers drawn by bpcheck "
                f"from the template's random: section (attempt {attempt}{salt}).\n" + text)
    return _restamp(text)


def _restamp(text: str) -> str:
    """A `sha256:` stamp recorded for the template, recomputed for the variant's text."""
    import re

    return re.sub(r"(?m)^(sha256\s*:\s*)[0-9a-fA-F]{64}", lambda m: m.group(1) + stamp_digest(text), text)


def chosen(problem, student) -> tuple[int | None, object]:
    """(attempt, the variant problem) of a student; (None, problem) without `random:`, and
    (None, the template's own numbers) for the student `answer-key` (`solve --key`'s key)."""
    if getattr(problem, "random", None) is None:
        return None, problem
    student = student_id(student)
    key = (problem.digest, problem.file, student)
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_KEPT:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _search(problem, student)
    return _CACHE[key]


def problem_for(problem, student):
    """The student's own variant of `problem` (the problem itself when it has no `random:`).

    Raises InputError for an id that cannot be one, or when no draw passes the checks.
    """
    return chosen(problem, student)[1]


def _search(problem, student: str) -> tuple[int | None, object]:
    from .spec import parse_problem

    if student == INSTRUCTOR:
        return None, parse_problem(text_of(problem, student, None, printed=False), problem.file)
    reasons: Counter = Counter()
    baseline = variant_checks.baseline(problem)
    for attempt in range(MAX_ATTEMPTS):
        try:
            candidate = parse_problem(text_of(problem, student, attempt, printed=False), problem.file)
            why = variant_checks.rejection(candidate, problem.random.avoid_kinks, baseline)
        except InputError as exc:
            why = exc.message  # the numbers broke the spec: a bce output of exactly 1, a log of 0, …
        if why is None:
            return attempt, candidate
        reasons[why] += 1
    common, count = reasons.most_common(1)[0]
    raise InputError(f"no variant of {problem.id} for student {student!r} passes the checks in {MAX_ATTEMPTS} "
                     f"draws ({count} of them: {common}); widen the ranges in random:, or lower avoid_kinks",
                     problem.file, *_random_line(problem))


def _random_line(problem) -> tuple:
    start = problem.random.section[0]
    return problem.random.text.count("\n", 0, start) + 1, 1
