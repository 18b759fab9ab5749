"""Class reports: per problem, per question, every mistake, the gradebook, the HTML page.

A real class (answers files graded through the CLI) of two problems with
different point totals: the summary never adds them. Per-question figures are
checked against values computed here with the standard library
(statistics.correlation), not numpy. The HTML page is opened in a real
headless Chromium (skipped when it is not installed): it renders, its tables
and charts are in the DOM, and a screenshot is saved (its path is printed).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rich.console import Console

from backprop_check.classroom import summarize
from backprop_check.cli import main
from backprop_check.formats import class_summary, html_report, report_human
from backprop_check.grade import FileResult, Finding

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "problems" / "assignment1-ex2.yaml"  # 12 points
OTHER = ROOT / "problems" / "dsga1008-2022-p1.yaml"
HOSTILE = '<script>alert(1)</script> & "quoted" https://evil.example/x.js'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def run(*args, env: dict | None = None):
    result = CliRunner().invoke(main, [*map(str, args)], env={"NO_COLOR": None, "FORCE_COLOR": None,
                                                            "GITHUB_ACTIONS": None, "COLUMNS": "80", **(env or {})})
    assert "Traceback" not in result.output, result.output
    return result


def key_of(problem: Path, folder: Path) -> dict:
    path = folder / f"{problem.stem}.key.yaml"
    assert run("solve", problem, "--key", path, "--format", "json").exit_code == 0
    return yaml.safe_load(path.read_text())["answers"]


def write(path: Path, problem: Path, student: str, answers: dict) -> Path:
    path.write_text(yaml.safe_dump({"bpcheck": 1, "problem": str(problem), "student": student,
                                    "answers": answers}), encoding="utf-8")
    return path


def transposed(value):
    return [list(r) for r in zip(*value)] if isinstance(value, list) and isinstance(value[0], list) else value


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    """Five students on SEED (one of them twice, one hostile) and two on OTHER, one broken file."""
    folder = tmp_path_factory.mktemp("class")
    seed, other = key_of(SEED, folder), key_of(OTHER, folder)
    write(folder / "a.answers.yaml", SEED, "ana", seed)
    write(folder / "b.answers.yaml", SEED, "ben", {**seed, "z1": transposed(seed["z1"]), "loss": 0.1})
    write(folder / "c.answers.yaml", SEED, "cy", {k: v for k, v in seed.items() if k not in ("dl/dW1", "z1")})
    write(folder / "d.answers.yaml", SEED, "dee", {**seed, "z1": transposed(seed["z1"]),
                                                  "dl/dW1": transposed(seed["dl/dW1"])})
    write(folder / "d2.answers.yaml", SEED, "dee", {**seed, "z1": transposed(seed["z1"])})  # dee's better file
    write(folder / "e.answers.yaml", SEED, HOSTILE, {**seed, "loss": 7})
    write(folder / "f.answers.yaml", OTHER, "ana", other)
    write(folder / "g.answers.yaml", OTHER, "ben", {**other, "loss": 0.0})
    (folder / "broken.answers.yaml").write_text("answers: [1, 2\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def report(klass) -> dict:
    return json.loads(run("grade", klass, "--format", "json", "--pass", "50%").stdout)


def by_student(report: dict, problem: str) -> list[dict]:
    return [r for r in report["results"] if r["problem"] == problem]


# ------------------------------------------------------------------ per problem, per question

def test_summary_per_problem_never_adds_problems(report):
    problems = {p["problem"]: p for p in report["summary"]["problems"]}
    assert set(problems) == {"assignment1-ex2", "dsga1008-2022-p1"}
    for name, p in problems.items():
        files = by_student(report, name)
        assert p["graded"] == len(files)
        assert {r["max_score"] for r in files} == {p["max_score"]}
        shares = [r["score"] / r["max_score"] for r in files]
        assert p["mean"] == pytest.approx(statistics.fmean(shares))
        assert p["median"] == pytest.approx(statistics.median(shares))
        assert sum(b["count"] for b in p["histogram"]) == len(files)
    assert problems["assignment1-ex2"]["max_score"] == 12
    assert problems["dsga1008-2022-p1"]["max_score"] != 12


def test_question_statistics_are_those_computed_by_hand(report):
    p = next(p for p in report["summary"]["problems"] if p["problem"] == "assignment1-ex2")
    files = by_student(report, "assignment1-ex2")
    totals = [r["score"] for r in files]
    for q in p["questions"]:
        scores = [next(x["score"] for x in r["questions"] if x["quantity"] == q["quantity"]) for r in files]
        statuses = [next(x["status"] for x in r["questions"] if x["quantity"] == q["quantity"]) for r in files]
        assert q["mean"] == pytest.approx(statistics.fmean(scores))
        assert q["share_correct"] == pytest.approx(statuses.count("correct") / len(files))
        rest = [t - s for t, s in zip(totals, scores)]
        if len(set(scores)) > 1 and len(set(rest)) > 1:
            assert q["discrimination"] == pytest.approx(statistics.correlation(scores, rest))
        else:
            assert q["discrimination"] is None
    z1 = next(q for q in p["questions"] if q["quantity"] == "z1")
    assert z1["discrimination"] is not None and z1["share_correct"] == pytest.approx(2 / 6)


def test_every_mistake_is_counted(report):
    p = next(p for p in report["summary"]["problems"] if p["problem"] == "assignment1-ex2")
    mistakes = {(m["quantity"], m["tag"]): m["count"] for m in p["mistakes"]}
    assert mistakes[("z1", "transposed")] == 3  # ben, dee, dee's second file
    assert mistakes[("dl/dW1", "transposed")] == 1
    assert report["summary"]["mistakes"]["transposed"] == 4  # the old field is kept


def _class_with_mistakes(kinds: int) -> list[FileResult]:
    out = []
    for s in range(4):
        r = FileResult(f"s{s}.answers.yaml", f"s{s}", "p", score=s, max_score=kinds, passed=s > 1)
        r.findings = [Finding(f"q{i}", "incorrect" if i >= s else "correct", float(i < s), 1.0, "", [f"tag{i}"] if i >= s else [])
                      for i in range(kinds)]
        out.append(r)
    return out


def test_a_long_mistake_list_is_folded_with_its_count():
    results = _class_with_mistakes(20)
    summary = summarize(results)
    console = Console(file=io.StringIO(), width=80, color_system=None)
    report_human.class_summary_human(summary, console)
    text = console.file.getvalue()
    p = summary.problems[0]
    assert len(p.mistakes) == 20
    hidden = p.mistakes[class_summary.MISTAKES_SHOWN:]
    assert f"… and {len(hidden)} more kinds of mistake ({sum(c for *_, c in hidden)} mistakes in all)" in text
    md = "\n".join(class_summary.markdown(summary))
    assert all(f"| q{i} | tag{i} |" in md for i in range(20))


def test_discrimination_is_undefined_when_everyone_scores_the_same():
    results = _class_with_mistakes(3)
    for r in results:
        r.findings[0].score, r.findings[0].status = 1.0, "correct"
    q0 = summarize(results).problems[0].questions[0]
    assert q0.discrimination is None and q0.share_correct == 1.0


# ------------------------------------------------------------------ terminal

def test_human_summary_per_problem_with_its_own_points(klass):
    out = run("grade", klass, "--pass", "50%").stdout
    assert "Problem assignment1-ex2: 6 graded" in out and "of 12 points" in out
    other = re.search(r"Problem dsga1008-2022-p1: 2 graded.*?of (\d+)\s+points", out, re.S)
    assert other and other.group(1) != "12"
    assert "Could not be graded (1):" in out and "broken.answers.yaml" in out
    assert "discrimination" in out


def test_summary_only_prints_the_summary(klass):
    out = run("grade", klass, "--summary-only").stdout
    assert out.lstrip().startswith("Class: 8 graded, ")
    assert "✓" not in out and "PASS" not in out


def test_many_files_print_one_line_each_unless_details(tmp_path):
    key = key_of(SEED, tmp_path)
    for i in range(12):
        write(tmp_path / f"s{i:02d}.answers.yaml", SEED, f"s{i}", {**key, "loss": 0.1} if i % 2 else key)
    out = run("grade", *sorted(tmp_path.glob("s*.answers.yaml")), env={"COLUMNS": "200"}).stdout
    assert len(out.splitlines()) < 80  # 12 status lines and the summary, no question lines
    assert "✓" not in out and out.count("points  PASS") == 6
    assert out.index("s11.answers.yaml") < out.index("Class: 12 graded")
    detailed = run("grade", *sorted(tmp_path.glob("s*.answers.yaml")), "--details").stdout
    assert detailed.count("✓ z1") == 12


def test_details_and_summary_only_together_is_the_last_given(klass):
    assert run("grade", klass, "--details", "--summary-only").stdout.lstrip().startswith("Class:")


# ------------------------------------------------------------------ gradebook

def test_csv_one_row_per_student_and_problem(klass, tmp_path):
    out = tmp_path / "grades.csv"
    run("grade", klass, "--csv", out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    keys = [(r["student"], r["problem"]) for r in rows if not r["error"]]
    assert len(keys) == len(set(keys)) == 7  # dee's two files are one row
    dee = next(r for r in rows if r["student"] == "dee")
    assert dee["files"] == "2" and dee["file"].endswith("d2.answers.yaml")  # the better file
    assert float(dee["dl/dW1"]) == 2 and float(dee["z1"]) == 0
    ana = [r for r in rows if r["student"] == "ana"]
    assert {r["problem"] for r in ana} == {"assignment1-ex2", "dsga1008-2022-p1"}
    assert sum(1 for r in rows if r["error"]) == 1


# ------------------------------------------------------------------ HTML

def test_html_is_self_contained_and_escaped(klass, tmp_path):
    page = tmp_path / "report.html"
    result = run("grade", klass, "--format", "html", "-o", page)
    assert result.exit_code == 2  # the broken file
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text)
    assert not re.search(r"<(script|link|img|iframe|object)\b", text, re.I)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;" in text
    assert "Content-Security-Policy" in text and "<svg" in text
    assert text.count("<section class=\"student\"") == 9


def test_html_at_hints_shows_no_expected_value(klass, tmp_path):
    full = run("grade", klass / "b.answers.yaml", "--format", "html").stdout
    hints = run("grade", klass / "b.answers.yaml", "--format", "html", "--feedback", "hints").stdout
    score = run("grade", klass / "b.answers.yaml", "--format", "html", "--feedback", "score").stdout
    assert "0.491612" in full  # the expected loss, in the full report
    assert "0.491612" not in hints and "0.4916" not in hints
    assert "transposed" in hints and "transposed" not in score


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package: chromium)")
def test_html_renders_in_chromium(klass, tmp_path):
    page = tmp_path / "report.html"
    run("grade", klass, "--format", "html", "-o", page)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert "<table class=\"questions\">" in dom and "<svg class=\"histogram\"" in dom
    assert dom.count("<rect class=\"bar\"") == 20  # ten bands for each of the two problems
    assert "Problem assignment1-ex2" in dom and "&lt;script&gt;" in dom
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    print(f"screenshot of the class report: {shot}")
