"""GitHub Actions workflow commands for a grading run, most valuable first and capped.

GitHub turns at most 10 error, 10 warning and 10 notice commands of a step
into annotations and drops the rest without a word. So bpcheck ranks what it
has to say and sends at most MAX_PER_KIND of each kind:

- errors: files that cannot be graded first (every point lost), then wrong
  answers by points lost, invalid before incorrect before missing, the first
  finding of each question before a second student's finding of the same one;
- then one notice counting what was not annotated ("12 more findings not
  annotated: see the step summary"), and the files' scores as notices (past
  the budget, one notice counts the rest).

What is not annotated is still printed, as plain escaped log lines, so the
log holds every finding even where no step summary is written.
"""

from __future__ import annotations

from . import escape
from .redact import view

MAX_PER_KIND = 10  # annotations of one kind that GitHub shows per step
STATUS_RANK = {"invalid": 0, "incorrect": 1, "missing": 2}  # the more telling first, at equal points


def _points(x: float) -> str:
    return f"{x:g}"


def _label(r) -> str:
    return r.student or r.file


def render(results: list, feedback: str = "full") -> str:
    """Every workflow command of a run (and plain lines for what is not annotated)."""
    records = escape.records(view(results, feedback), escape.line)
    errors = _ranked(_errors(records))
    warnings = [_warning(r, line, message) for r in records for line, message in r.warnings]
    lines = [command for command, _ in errors[:MAX_PER_KIND]] + [command for command, _ in warnings[:MAX_PER_KIND]]
    rest = errors[MAX_PER_KIND:] + warnings[MAX_PER_KIND:]
    lines += [plain for _, plain in rest]
    notices = []
    if rest:
        notices.append(_more(len(errors[MAX_PER_KIND:]), len(warnings[MAX_PER_KIND:])))
    scores = [f"{_label(r)}: {_points(r.score)}/{_points(r.max_score)} points" for r in records if not r.error]
    room = MAX_PER_KIND - len(notices)
    if len(scores) > room:
        scores = scores[:room - 1] + [f"the scores of {len(scores) - room + 1} more files: see the step summary"]
    notices += scores
    lines += [f"::notice title=bpcheck::{escape.github_data(n)}" for n in notices]
    return "\n".join(lines) + "\n"


def _errors(records: list) -> list:
    """(rank, question, command, plain line) for every file error and wrong answer."""
    out = []
    prop, data = escape.github_property, escape.github_data
    for order, r in enumerate(records):
        if r.error:
            out.append(((0, 0, 0, order, 0), None, f"::error file={prop(r.file)},title=bpcheck::{data(r.error)}",
                        f"bpcheck: {r.file}: cannot grade: {r.error}"))
            continue
        for position, f in enumerate(r.findings):
            if f.status == "correct":
                continue
            at = f",line={f.line}" if f.line else ""
            text = _text(f)
            rank = (1, -(f.max_score - f.score), STATUS_RANK.get(f.status, 3), order, position)
            out.append((rank, f.quantity,
                        f"::error file={prop(r.file)}{at},title={prop(f'{f.quantity}: {f.status}')}::{data(text)}",
                        f"bpcheck: {r.file}{f':{f.line}' if f.line else ''}: {f.quantity}: {f.status}: {text}"))
    return out


def _text(f) -> str:
    """The annotation's message: the finding's (with its tags), or only the points at `score`."""
    points = f"{_points(f.score)}/{_points(f.max_score)} points"
    if not f.message:
        return points
    return f.message + (f" [{', '.join(f.tags)}]" if f.tags else "")


def _ranked(items: list) -> list:
    """(command, plain) pairs by rank, each question's first finding before any repeat of it."""
    items = sorted(items, key=lambda item: item[0])
    seen, first, repeats = set(), [], []
    for rank, question, command, plain in items:
        (repeats if question is not None and question in seen else first).append((command, plain))
        seen.add(question)
    return first + repeats


def _warning(r, line, message) -> tuple:
    at = f",line={line}" if line else ""
    return (f"::warning file={escape.github_property(r.file)}{at},title=bpcheck::{escape.github_data(message)}",
            f"bpcheck: {r.file}{f':{line}' if line else ''}: warning: {message}")


def _more(errors: int, warnings: int) -> str:
    parts = ([f"{errors} more finding{'s' * (errors != 1)}"] if errors else []) \
        + ([f"{warnings} more warning{'s' * (warnings != 1)}"] if warnings else [])
    return f"{' and '.join(parts)} not annotated: see the step summary"
