"""Render grading records: human (rich diffs), JSON, JUnit, Gradescope,
GitHub annotations, Markdown and a CSV gradebook.

Every renderer takes the plain `FileResult`/`Finding` records (and the
class `Summary`) and a feedback level (`redact`: full, hints or score), which
it applies first; rich is used by the human format only.
"""

from __future__ import annotations

import io
from functools import partial

from .. import collector
from ..classroom import Summary
from ..grade import FileResult, Finding
from . import class_summary, escape, json_text
from .redact import view


def _label(r: FileResult) -> str:
    return r.student or r.file


def _points(x: float) -> str:
    return f"{x:g}"


def _counts(r: FileResult) -> str:
    bad = [f"{n} {s}" for s in ("incorrect", "invalid", "missing")
           if (n := sum(f.status == s for f in r.findings))]
    return ", ".join(bad) if bad else "all correct"


# ------------------------------------------------------------------ machine formats

def _question(f: Finding, text=lambda s: s) -> dict:
    return {"quantity": text(f.quantity), "score": f.score, "max_score": f.max_score, "status": f.status,
            "message": text(f.message), "tags": [text(t) for t in f.tags], "line": f.line, "tolerance": f.tolerance}


def _finding_key(f: Finding) -> tuple:
    """What a finding's JSON question depends on; numbers by their repr, which is their JSON text
    (1 and 1.0, 0.0 and -0.0 are equal but written apart)."""
    return (f.quantity, f.status, f.message, tuple(f.tags), f.tolerance, repr(f.score), repr(f.max_score), repr(f.line))


def render_json(results: list[FileResult], summary: Summary | None, feedback: str = "full") -> str:
    with collector.paused():  # a class's report is 10^5 acyclic containers: the collector would walk them
        return _json_report(results, summary, feedback)


def _json_report(results: list[FileResult], summary: Summary | None, feedback: str) -> str:
    text = _escaper(escape.json_text)  # what escape.records would pass through it, without copying the records
    written: dict = {}  # a class repeats its findings: each distinct one is written once (json_text.Shared)
    out = {"results": [{"file": text(r.file), "student": text(r.student), "problem": text(r.problem),
                        "score": r.score, "max_score": r.max_score, "passed": r.passed, "error": text(r.error),
                        "warnings": [{"line": ln, "message": text(m)} for ln, m in r.warnings],
                        "questions": [json_text.Shared(_finding_key(f), partial(_question, f, text), written)
                                      for f in r.findings]}
                       for r in view(results, feedback)]}
    if summary is not None:
        out["summary"] = {"files": summary.files, "graded": summary.graded, "passed": summary.passed,
                          "errors": summary.errors, "mean": summary.mean, "median": summary.median,
                          "mistakes": dict(summary.mistakes) if feedback != "score" else {},
                          "problems": class_summary.json_problems(summary, feedback != "score")}
    return _dumps(out)


def _escaper(escape_text):
    """`escape_text` for strings (each distinct one escaped once: a class repeats its messages),
    anything else as it is."""
    done: dict = {}

    def text(value):
        if not isinstance(value, str):
            return value
        out = done.get(value)
        if out is None:
            out = done[value] = escape_text(value)
        return out
    return text


def _dumps(data) -> str:
    """JSON as UTF-8 text, with what readers would split lines on escaped."""
    return escape.json_document(json_text.dumps(data))  # json.dumps(data, indent=2, ensure_ascii=False)


def render_junit(results: list[FileResult], feedback: str = "full") -> str:
    import xml.etree.ElementTree as ET  # JUnit only

    root = ET.Element("testsuites", name="bpcheck")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for r in escape.records(view(results, feedback), escape.line):  # one line, XML-safe, no U+FFFD
        suite = ET.SubElement(root, "testsuite", name=_label(r))
        counts = {"tests": 0, "failures": 0, "errors": 0}
        if r.error:
            case = ET.SubElement(suite, "testcase", name="answers file", classname=r.file, time="0")
            ET.SubElement(case, "error", message=r.error, type="invalid-file").text = r.error
            counts["tests"] += 1
            counts["errors"] += 1
        for f in r.findings:
            case = ET.SubElement(suite, "testcase", name=f.quantity, classname=f"{r.problem}.{_label(r)}", time="0")
            counts["tests"] += 1
            text = (f"{f.message}\n" if f.message else "") + (f"tags: {', '.join(f.tags)}\n" if f.tags else "") \
                + f"score: {_points(f.score)}/{_points(f.max_score)}"
            message = f.message or f.status
            if f.status == "invalid":
                ET.SubElement(case, "error", message=message, type="invalid").text = text
                counts["errors"] += 1
            elif f.status in ("incorrect", "missing"):
                ET.SubElement(case, "failure", message=message, type=f.status).text = text
                counts["failures"] += 1
            elif f.tags:
                ET.SubElement(case, "system-out").text = text
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("skipped", "0")
        suite.set("time", "0")
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_gradescope(results: list[FileResult], feedback: str = "full") -> str:
    """Gradescope's results.json for one submission (the first file)."""
    r = escape.records(view(results[:1], feedback), escape.line)[0]
    tests = [{"name": f.quantity, "score": f.score, "max_score": f.max_score,
              "status": "passed" if f.status == "correct" else "failed",
              "output": "\n".join(filter(None, (f.message, f"tags: {', '.join(f.tags)}" if f.tags else ""))),
              "tags": list(f.tags), "visibility": "visible"} for f in r.findings]
    out = {"score": r.score, "output": f"{_points(r.score)}/{_points(r.max_score)} points; {_counts(r)}"
           if not r.error else f"cannot grade: {r.error}", "visibility": "visible", "tests": tests,
           "output_format": "text", "test_output_format": "text"}  # student text is never read as HTML
    return _dumps(out)


def render_github(results: list[FileResult], feedback: str = "full") -> str:
    """Workflow commands: the most valuable annotations, at most 10 of a kind (`github`)."""
    from . import github  # (late, as csv below: a cold run imports only its own format)

    return github.render(results, feedback)


def render_markdown(results: list[FileResult], summary: Summary | None, feedback: str = "full",
                    summary_only: bool = False) -> str:
    out = []
    for r in [] if summary_only and summary is not None else escape.records(view(results, feedback), escape.markdown):
        if r.error:
            out += [f"### {r.file}", "", f"Cannot grade: {r.error}", ""]
            continue
        verdict = "pass" if r.passed else "below the pass mark"
        out += [f"### {_label(r)}: {_points(r.score)}/{_points(r.max_score)} points ({verdict})", "",
                "| quantity | status | points | message | diagnosis |", "|---|---|---|---|---|"]
        out += [f"| {f.quantity} | {f.status} | {_points(f.score)}/{_points(f.max_score)} | "
                f"{f.message} | {', '.join(f.tags)} |" for f in r.findings]
        out.append("")
    if summary is not None and (summary.files > 1 or summary_only):
        out += class_summary.markdown(summary, mistakes=feedback != "score")
    return "\n".join(out) + "\n"


def render_csv(results: list[FileResult], feedback: str = "full") -> str:
    """A gradebook: one row per student and problem, one column per question (its score).

    A student who handed in several files for one problem gets the best of
    them (the highest score; on a tie the first by path): `file` names it and
    `files` says how many there were. A file without `student:` is its own
    student; a file that cannot be graded is a row of its own with its error.
    The same at every feedback level (scores only).
    """
    rows = _best_per_student(escape.records(results, escape.csv_cell))
    questions: list[str] = []
    for r, _ in rows:
        questions += [f.quantity for f in r.findings if f.quantity not in questions]
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["file", "student", "problem", "score", "max_score", "passed", "error", "files"] + questions)
    for r, count in rows:
        scores = {f.quantity: f.score for f in r.findings}
        writer.writerow([r.file, r.student or "", r.problem or "", r.score, r.max_score, r.passed, r.error or "",
                         count] + [scores.get(q, "") for q in questions])
    return buf.getvalue()


def _best_per_student(results: list[FileResult]) -> list[tuple[FileResult, int]]:
    """(the best file, how many files) per (student, problem), in the order students first appear."""
    groups: dict = {}
    for r in sorted(results, key=lambda r: r.file):
        key = (r.student or ("file", r.file), r.problem) if r.error is None else ("error", r.file)
        groups.setdefault(key, []).append(r)
    return [(max(files, key=lambda r: r.score / r.max_score if r.max_score else 0.0), len(files))
            for files in groups.values()]
