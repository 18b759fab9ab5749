"""GitHub Classroom's autograding result, written to `$GITHUB_OUTPUT` as `result=<base64>`.

GitHub Classroom's reporter (classroom-resources/autograding-grading-reporter)
reads each grading step's `result` output from an environment variable
`<STEP-ID>_RESULTS`, base64-decodes it to JSON and (src/notify-classroom.js)
records `Points <sum of tests[].score>/<max_score>` as the grade; it fails the
job when `status` is "fail" or "error". The runners it ships
(autograding-command-grader, autograding-python-grader) write

    {"version": 1, "status": "pass"|"fail"|"error", "max_score": N,
     "tests": [{"name", "status", "score", "message", "test_code",
                "filename", "line_no", "duration"}]}

bpcheck writes the same, one test per question: `name` the quantity (with the
student or file in front when a run grades several files), `status` "pass"
for a correct answer (error carried forward included) and "fail" otherwise,
`score` its points (partial credit included: Classroom sums these),
`message` the finding's message at the run's feedback level, `filename` the
answers file and `line_no` its line (0 when none: the reporter prints
"- line N" for anything but 0). A file that cannot be graded is one test of
status "error" whose `max_score` is the pinned problem's points when
`--problem` names one, so the grade is 0 out of the right total. `status` is
"error" when a file could not be graded, else "pass" when every file reached
its pass mark, else "fail". `test_code` and `duration` are left out: the
reporter prints test_code when present and there is no code to show.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from . import escape
from .redact import view

VERSION = 1
MAX_OUTPUT = 1_000_000  # bytes of one step output that GitHub keeps


def output_file() -> Path | None:
    """`$GITHUB_OUTPUT` inside GitHub Actions, else None (nothing is written)."""
    path = os.environ.get("GITHUB_OUTPUT")
    return Path(path) if os.environ.get("GITHUB_ACTIONS") == "true" and path else None


def output_line(results: list, feedback: str, pinned_points: float | None = None) -> str:
    """`result=<base64 of the JSON>` and a newline, for `$GITHUB_OUTPUT`."""
    data = result(results, feedback, pinned_points)
    line = _encoded(data)
    if len(line) > MAX_OUTPUT:  # a class in one run: one test per file keeps every point
        line = _encoded(_per_file(data, results, pinned_points))
    return line


def _encoded(data: dict) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return "result=" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "\n"


def result(results: list, feedback: str = "full", pinned_points: float | None = None) -> dict:
    """The Classroom result of a run, as a dict (see the module's docstring)."""
    records = escape.records(view(results, feedback), escape.line)  # the reporter prints names to the log
    several = len(records) > 1
    tests, max_score = [], 0.0
    for r in records:
        prefix = f"{r.student or r.file}: " if several else ""
        if r.error:
            tests.append({"name": f"{prefix}answers file", "status": "error", "score": 0,
                          "message": f"cannot grade: {r.error}", "filename": r.file, "line_no": 0})
            max_score += r.max_score or pinned_points or 0.0
            continue
        max_score += r.max_score
        tests += [{"name": prefix + f.quantity, "status": "pass" if f.status == "correct" else "fail",
                   "score": round(f.score, 6), "message": f.message, "filename": r.file, "line_no": f.line or 0}
                  for f in r.findings]
    return {"version": VERSION, "status": _status(results), "max_score": round(max_score, 6), "tests": tests}


def _status(results: list) -> str:
    if any(r.error for r in results):
        return "error"
    return "pass" if all(r.passed for r in results) else "fail"


def _per_file(data: dict, results: list, pinned_points: float | None) -> dict:
    records = escape.records(results, escape.line)
    tests = [{"name": r.student or r.file, "status": "error" if r.error else "pass" if r.passed else "fail",
              "score": round(r.score, 6), "message": "", "filename": r.file, "line_no": 0} for r in records]
    return {**data, "tests": tests}


def pinned_points(grader, problem: Path | None) -> float | None:
    """The points of the problem that --problem pins (already solved by the grader), or None."""
    if problem is None:
        return None
    from ..grade import questions_of

    spec, solution = grader.load(problem)
    return float(sum(float(q.points) for q in questions_of(spec, solution)))
