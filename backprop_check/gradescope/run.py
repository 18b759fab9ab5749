"""Grade one Gradescope submission and write results.json, whatever happens.

`run_autograder` calls `bpcheck gradescope-run`, which lands here. A valid
results.json is written before anything else (score 0, "grading did not
finish"), then replaced by the real one: a submission that is missing,
empty, binary, hostile or a symbolic link, a spec that fails its pin, or a
bpcheck that crashes or runs out of time all end as score 0 and a message.

The submission is graded by `bpcheck grade --format gradescope` in a child
process (its own sandbox and time limit; a crash there cannot take this
process down), and its results are completed here with the fields of
Gradescope's specification that one file's report cannot know: visibility,
stdout_visibility, execution_time, output formats, test numbers, extra_data.
"""

from __future__ import annotations

import hashlib
import json
import re
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

from .. import __version__
from ..formats import escape
from . import OUTPUT_FORMATS, STUDENT_KEYS, VISIBILITIES
from .bundle import Settings

GRADABLE = (".yaml", ".yml", ".md", ".tex")
ANSWER_STEMS = ("answers",)  # answers.yaml, hw1.answers.yaml: named as answers, chosen first
MAX_DEPTH = 3  # folders below the submission searched (an uploaded zip, a GitHub repository)
MAX_ENTRIES = 2_000  # entries looked at, at most
MAX_HASHED_BYTES = 2_000_000  # files larger are not the spec (and grade refuses them with a reason)
SKIPPED_DIRS = {".git", "__MACOSX", "node_modules", ".venv"}


@dataclass
class Pick:
    """The file to grade (or None, with why), and what else was there."""

    file: Path | None
    message: str = ""
    notes: list = field(default_factory=list)


def run(root: Path, config: Path) -> dict:
    """Grade the submission under `root` (Gradescope's /autograder); returns what was written."""
    start = time.monotonic()
    results = root / "results" / "results.json"
    write(results, failure("Grading did not finish (the autograder stopped early). Please tell your instructor."))
    try:
        settings = load_settings(config)
    except (OSError, ValueError, TypeError) as exc:
        print(f"bpcheck: cannot read the autograder's settings {config}: {exc}")
        out = failure("The autograder is not set up correctly (its settings cannot be read). "
                      "Please tell your instructor.")
        write(results, out)
        return out
    picked = pick(root / "submission", settings.problem_sha256)
    student, who = student_of(root / "submission_metadata.json", settings.student_from)
    if picked.file is None:
        out = failure(picked.message)
    elif student is None and _has_variants(root / "source" / settings.problem):
        # without the submitter, the file's own `student:` would choose the numbers it is graded on
        out = failure("Gradescope did not say who submitted this (submission_metadata.json has no "
                      f"user {settings.student_from}), and each student has their own numbers: "
                      "please tell your instructor.")
    else:
        out = grade(picked.file, root, settings, student)
    notes = picked.notes + ([who] if who else [])
    out = finish(out, settings, time.monotonic() - start, picked.file, root / "submission", notes, student)
    write(results, out)
    return out


def _has_variants(spec: Path) -> bool:
    """Whether the pinned spec gives each student their own numbers (a top-level `random:`)."""
    try:
        return re.search(r"(?m)^random:", spec.read_text(encoding="utf-8", errors="replace")) is not None
    except OSError:
        return False


def load_settings(config: Path) -> Settings:
    data = json.loads(config.read_text(encoding="utf-8"))
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in data.items() if k in known})
    if (settings.visibility not in VISIBILITIES or settings.stdout_visibility not in VISIBILITIES
            or settings.test_visibility not in (None, *VISIBILITIES)
            or settings.output_format not in OUTPUT_FORMATS or settings.student_from not in STUDENT_KEYS):
        raise ValueError("a setting outside its allowed values")
    return settings


def failure(message: str) -> dict:
    """A results.json for a submission that could not be graded: score 0 and why."""
    return {"score": 0.0, "output": message, "output_format": "text", "tests": []}


def write(path: Path, results: dict) -> None:
    """Write results.json whole or not at all (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)


# ------------------------------------------------------------------ the submission

def pick(folder: Path, problem_sha256: str) -> Pick:
    """The answers file or write-up to grade: answers-named first, then YAML, then write-ups; README last."""
    if not folder.is_dir() or folder.is_symlink():
        return Pick(None, "No submission was found. Upload your answers file (for example answers.yaml).")
    found, links, seen = [], [], []
    for path, depth in _walk(folder):
        seen.append(path)
        if path.suffix.lower() not in GRADABLE:
            continue
        if path.is_symlink():
            links.append(path)
        elif path.is_file() and not _is_problem(path, problem_sha256):
            found.append((_rank(path), depth, str(path).lower(), path))
    shown = lambda p: escape.line(p.relative_to(folder))  # noqa: E731
    notes = [f"{shown(p)} is a symbolic link; links are not graded (submit the file itself)." for p in links]
    if not found:
        others = ", ".join(shown(p) for p in seen[:5]) + (", …" if len(seen) > 5 else "")
        what = f" The submission holds: {others}." if seen else " The submission is empty."
        return Pick(None, "No answers file to grade: upload a YAML answers file (answers.yaml) or a write-up "
                          "(.md or .tex)." + what + (" " + " ".join(notes) if notes else ""))
    found.sort()
    chosen = found[0][3]
    rest = [shown(c[3]) for c in found[1:6]]
    if rest:
        notes.append(f"Graded {shown(chosen)}; not graded: {', '.join(rest)}{', …' if len(found) > 6 else ''} "
                     "(submit one answers file).")
    return Pick(chosen, notes=notes)


def _walk(folder: Path):
    """(path, depth) below `folder`, never through a symbolic link, at most MAX_ENTRIES of them."""
    stack, count = [(folder, 0)], 0
    while stack:
        here, depth = stack.pop()
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            count += 1
            if count > MAX_ENTRIES:
                return
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if depth < MAX_DEPTH and entry.name not in SKIPPED_DIRS:
                    stack.append((path, depth + 1))
            else:
                yield path, depth


def _rank(path: Path) -> int:
    name = path.name.lower()
    stem = name.rsplit(".", 1)[0]
    if stem in ANSWER_STEMS or stem.endswith(tuple("." + s for s in ANSWER_STEMS)):
        return 0
    if path.suffix.lower() in (".yaml", ".yml"):
        return 1
    return 3 if stem == "readme" else 2


def _is_problem(path: Path, problem_sha256: str) -> bool:
    """Is this the spec itself, submitted back (the same text the bundle pins)?"""
    try:
        if path.stat().st_size > MAX_HASHED_BYTES:
            return False
        return hashlib.sha256(path.read_bytes()).hexdigest() == problem_sha256
    except OSError:
        return False


def student_of(metadata: Path, key: str) -> tuple[str | None, str]:
    """The submitter's `email` or `id` (users[0]) from submission_metadata.json, and a note when there is none."""
    try:
        users = json.loads(metadata.read_text(encoding="utf-8")).get("users") or []
        value = users[0].get(key) if isinstance(users[0], dict) else None
    except (OSError, ValueError, AttributeError, IndexError):
        return None, ""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        return None, ""
    note = f"Group submission: graded as {len(users)} students' shared work, with the first one's numbers." \
        if len(users) > 1 else ""
    return str(value).strip()[:200], note


# ------------------------------------------------------------------ grading

def grade(file: Path, root: Path, settings: Settings, student: str | None) -> dict:
    """`bpcheck grade --format gradescope` on `file`, in a child process; its results, or a failure."""
    with tempfile.TemporaryDirectory(prefix="bpcheck-") as tmp:
        report = Path(tmp) / "gradescope.json"
        command = [sys.executable, "-m", "backprop_check", "grade", str(file),
                   "--problem", str(root / "source" / settings.problem),
                   "--problem-sha256", settings.problem_sha256, "--format", "gradescope",
                   "--output", str(report), "--timeout", str(settings.timeout), "--jobs", "1"]
        if settings.student_option and student:
            command += ["--student", student]
        if settings.feedback_option:
            command += ["--feedback", settings.feedback]
        try:
            done = subprocess.run(command, capture_output=True, text=True, errors="replace", cwd=root,
                                  timeout=settings.timeout + 120)  # + the spec's solve
        except subprocess.TimeoutExpired:
            return failure(f"Grading took longer than {settings.timeout + 120:g} seconds and was stopped.")
        print(f"bpcheck grade exited {done.returncode}\n{done.stderr[-4000:]}")  # Gradescope keeps stdout
        try:
            out = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            out = None
    if isinstance(out, dict) and isinstance(out.get("score"), (int, float)) and isinstance(out.get("tests"), list):
        return out
    said = [ln for ln in done.stderr.splitlines() if ln.startswith("bpcheck:")]
    why = escape.line(said[0].removeprefix("bpcheck: ")) if said else f"bpcheck exited with code {done.returncode}"
    return failure(f"Your submission could not be graded: {why}")


def finish(out: dict, settings: Settings, seconds: float, file: Path | None, folder: Path,
           notes: list, student: str | None) -> dict:
    """Complete the report with the specification's fields that only the autograder knows."""
    tests = [t for t in out.get("tests", []) if isinstance(t, dict)]
    for number, test in enumerate(tests, 1):
        test["number"] = str(number)
        test["name_format"] = test["output_format"] = "text"
        if settings.test_visibility:
            test["visibility"] = settings.test_visibility
        else:
            test.pop("visibility", None)  # each test follows the top-level visibility
    graded = escape.line(file.relative_to(folder)) if file is not None else None
    head = f"Graded {graded}." if graded else ""
    text = [head, str(out.get("output", ""))] + [escape.line(n) for n in notes]
    result = {"score": float(out.get("score", 0.0)), "execution_time": max(0, round(seconds)),
              "output": "\n".join(t for t in text if t),
              "output_format": settings.output_format, "test_output_format": "text", "test_name_format": "text",
              "visibility": settings.visibility, "stdout_visibility": settings.stdout_visibility, "tests": tests,
              "extra_data": {"bpcheck": __version__, "problem_sha256": settings.problem_sha256,
                             "file": graded, "student": escape.line(student) if student else None}}
    if settings.output_format == "md":
        result["output"] = markdown_summary(result, graded, [escape.line(n) for n in notes],
                                            str(out.get("output", "")))
    return result


def markdown_summary(result: dict, graded: str | None, notes: list, summary: str) -> str:
    """The top-level output as Markdown: a line of totals and a table of the questions."""
    md = escape.markdown
    lines = [f"**{md(graded)}**: {md(summary)}" if graded else md(summary), ""]
    if result["tests"]:
        lines += ["| # | question | points | result |", "|---|---|---|---|"]
        lines += [f"| {t['number']} | {md(t.get('name', ''))} | {t.get('score', 0):g}/{t.get('max_score', 0):g} "
                  f"| {'✓' if t.get('status') == 'passed' else '✗'} |" for t in result["tests"]]
        lines.append("")
    lines += [f"- {md(n)}" for n in notes]
    return "\n".join(lines).strip() + "\n"
