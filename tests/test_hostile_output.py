"""Student text cannot forge report lines, workflow commands or markup (issue 7, point 2 and 6).

A class whose `student:` values, file names (one not UTF-8) and unpinned
`problem:` path hold newlines, U+2028, `::` workflow commands, raw HTML,
bidi controls and spreadsheet formulas is graded in every format, for real,
in a subprocess (so encoding and stdout are the real ones). No output line
may begin with `::` unless bpcheck wrote it, no line may be forged, and no
student HTML may reach Markdown. Output that cannot be written is exit 2.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "problems" / "assignment1-ex2.yaml"
FORMATS = ("human", "json", "junit", "markdown", "github", "gradescope")

FORGED_LINE = "good9.answers.yaml (alice) 14/14 PASS"
FORGED_HEADING = "### alice: 14/14"
STUDENTS = {
    "newline": f"mallory\n{FORGED_LINE}",
    "carriage-return": f"mallory\r{FORGED_LINE}",
    "line-separator": f"mallory\u2028{FORGED_HEADING}",
    "paragraph-separator": "mallory\u2029::error::forged",
    "next-line": "mallory\x85::add-mask::secret",
    "command-first": "::stop-commands::token",
    "indented-command": "   ::error file=x::forged",
    "html": '<img src=x onerror=alert(1)> <!-- </table> </td>',
    "bidi": "evil\u202etxt.exe",
    "formula": " =HYPERLINK(\"http://x\")",
    "fullwidth-formula": "\uff1d1+1",
    "newline-formula": "\n=1+1",
    "old-command-syntax": "x ##[add-mask]secret ##[error]forged ##vso[task.setvariable]x",
    "wrapped-forgery": "mallory" + " " * 150 + FORGED_LINE,
    "autolink": "see https://evil.example and www.evil.example",
}
OURS = ("::error file=", "::warning file=", "::notice title=bpcheck::")


def _key() -> dict:
    out = subprocess.run([sys.executable, "-m", "backprop_check", "solve", str(SEED), "--format", "json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["quantities"]


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    answers = {"loss": 0.49161194961875, "dl/dW2": [[-0.1, -0.2, 0.02]]}
    for name, student in STUDENTS.items():
        body = {"bpcheck": 1, "problem": str(SEED), "student": student, "answers": answers}
        (folder / f"{name}.answers.yaml").write_text(json.dumps(body), encoding="utf-8")
    # File names: a newline and a command, and bytes that are not UTF-8.
    for raw in (b"line\nbreak ::error::forged.answers.yaml", b"latin1-\xff\xfe.answers.yaml"):
        path = os.path.join(os.fsencode(folder), raw)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"bpcheck": 1, "problem": str(SEED), "student": "named", "answers": answers}, fh)
    # An unpinned problem path that tries to start a line of its own.
    (folder / "problem-path.answers.yaml").write_text(json.dumps(
        {"bpcheck": 1, "problem": "missing\n::error::forged.yaml", "student": "p", "answers": answers}))
    return folder


def _grade(klass: Path, fmt: str, tmp_path: Path, *extra: str) -> tuple[str, str, Path]:
    summary = tmp_path / "step-summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "PYTHONIOENCODING": "utf-8"}
    env.pop("GITHUB_ACTIONS", None)
    out = subprocess.run([sys.executable, "-m", "backprop_check", "grade", str(klass), "--format", fmt,
                          "--pass", "0", *extra], capture_output=True, env=env)
    assert b"Traceback" not in out.stderr, out.stderr
    assert out.returncode == 2, out.stderr  # the unpinned missing problem is reported, the rest grade
    return out.stdout.decode("utf-8"), out.stderr.decode("utf-8"), summary


def _assert_no_forged_lines(text: str, commands_allowed: bool = False) -> None:
    assert "##[" not in text and "##vso[" not in text  # the runner's older syntax, anywhere in a line
    for line in text.splitlines():  # splits on \n, \r, U+2028, U+2029, NEL, \v, \f too
        stripped = line.lstrip()
        if stripped.startswith("::"):
            assert commands_allowed and stripped.startswith(OURS) and line == stripped, repr(line)
        assert not stripped.startswith((FORGED_LINE, FORGED_HEADING)), repr(line)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_lets_a_student_start_a_line(klass, tmp_path, fmt):
    stdout, stderr, summary = _grade(klass, fmt, tmp_path)
    _assert_no_forged_lines(stdout, commands_allowed=fmt == "github")
    _assert_no_forged_lines(stderr)
    assert "\u202e" not in stdout and "\ufffd" not in stdout
    if fmt == "github":
        markdown = summary.read_text(encoding="utf-8")
        _assert_no_forged_lines(markdown)
        for raw in ("<img", "<!--", "</table>", "</td>"):
            assert raw not in markdown


def test_markdown_has_no_student_html(klass, tmp_path):
    stdout, _, _ = _grade(klass, "markdown", tmp_path)
    for raw in ("<img", "<!--", "</table>", "</td>", "https://evil", "www.evil"):
        assert raw not in stdout
    assert "&lt;img src=x onerror=alert(1)&gt;" in stdout


def test_json_keeps_what_the_student_wrote(klass, tmp_path):
    stdout, _, _ = _grade(klass, "json", tmp_path)
    students = {r["student"] for r in json.loads(stdout)["results"]}
    assert STUDENTS["newline"] in students and STUDENTS["line-separator"] in students
    assert "\u2028" not in stdout  # escaped as \u2028 in the JSON text


def test_junit_parses_without_replacement_characters(klass, tmp_path):
    stdout, _, _ = _grade(klass, "junit", tmp_path)
    root = ET.fromstring(stdout)
    names = {suite.get("name") for suite in root.iter("testsuite")}
    assert "mallory\\n" + FORGED_LINE in names  # the newline shown, not obeyed
    assert "\ufffd" not in stdout


def test_csv_cells_never_start_a_formula(klass, tmp_path):
    gradebook = tmp_path / "grades.csv"
    _grade(klass, "json", tmp_path, "--csv", str(gradebook))
    rows = list(csv.reader(io.StringIO(gradebook.read_text(encoding="utf-8"))))
    students = [row[1] for row in rows[1:]]
    for cell in (cell for row in rows[1:] for cell in row):
        folded = cell.lstrip()
        assert not folded.startswith(("=", "+", "-", "@", "\uff1d", "\uff0b")), cell
        assert "\n" not in cell and "\r" not in cell
    assert "' =HYPERLINK(\"http://x\")" in students and "'\uff1d1+1" in students


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", [["solve", str(SEED), "-o", "/dev/full"],
                                     ["solve", str(SEED), "--format", "json", "-o", "/dev/full"],
                                     ["grade", "ANSWERS", "--problem", str(SEED), "-o", "/dev/full"]])
def test_an_output_that_cannot_be_written_is_bad_input(tmp_path, command):
    answers = tmp_path / "a.answers.yaml"
    answers.write_text("answers: {loss: 0.5}\n")
    command = [str(answers) if c == "ANSWERS" else c for c in command]
    out = subprocess.run([sys.executable, "-m", "backprop_check", *command], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert "cannot write: No space left on device" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_standard_output_is_bad_input():
    with open("/dev/full", "w") as full:
        out = subprocess.run([sys.executable, "-m", "backprop_check", "solve", str(SEED)],
                             stdout=full, stderr=subprocess.PIPE, text=True)
    assert out.returncode == 2
    assert out.stderr.strip() == "bpcheck: error: cannot write standard output: No space left on device"


@pytest.mark.parametrize("target", ["directory", "missing-folder"])
def test_a_step_summary_that_cannot_be_written_is_bad_input(tmp_path, target):
    answers = tmp_path / "a.answers.yaml"
    answers.write_text("answers: {loss: 0.5}\n")
    where = tmp_path if target == "directory" else tmp_path / "nowhere" / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(where)}
    out = subprocess.run([sys.executable, "-m", "backprop_check", "grade", str(answers), "--problem", str(SEED),
                          "--format", "github"], capture_output=True, text=True, env=env)
    assert out.returncode == 2, out.stderr
    assert "cannot write GITHUB_STEP_SUMMARY" in out.stderr and "Traceback" not in out.stderr


def test_python_warnings_are_one_line_without_source():
    code = ("import warnings, sys\n"
            "from backprop_check import cli\n"
            "cli.main.callback()\n"
            "warnings.warn('overflow encountered\\n::error::forged', RuntimeWarning)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stderr == "bpcheck: warning: overflow encountered\\n:\u200b:error:\u200b:forged\n"


def test_a_key_grade_could_not_read_is_refused(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from backprop_check import yamlsource
    from backprop_check.cli import main

    spec = ROOT / "problems" / "batch-rows-softmax.yaml"  # 1.6 kB, its key about 3 kB
    monkeypatch.setattr(yamlsource, "MAX_FILE_BYTES", 2000)
    key = tmp_path / "key.answers.yaml"
    result = CliRunner().invoke(main, ["solve", str(spec), "--key", str(key), "--format", "json"])
    assert result.exit_code == 2
    assert "more than the 0.002 MB an answers file may hold: list fewer quantities" in result.output
    assert not key.exists()
