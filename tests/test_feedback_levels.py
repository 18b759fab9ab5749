"""`--feedback full|hints|score` in every format: at `hints` no expected value leaks.

One answers file is wrong in every way the grader words differently: a wrong
entry, wrong values that later answers follow from (error carried forward), a
formula with its sign flipped and one without f′ (values at the problem's
values in the message), a transposed matrix, a learning-rate mistake (a
diagnosis), a missing answer, and the instructor's feedback; and a write-up
with a wrong formula step and a wrong final answer. The expected values are
every quantity `bpcheck solve` gives, rendered as the formats print numbers
(6, 5 and 4 significant figures, 4 decimals); a rendering is allowed only
where the student wrote, or the problem gives, a number with the same one.
The same check finds leaks at `full`, so it can fail.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from backprop_check.cli import main
from backprop_check.formats import redact

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "problems" / "assignment1-ex2.yaml"
WRITEUP = ROOT / "fixtures" / "writeups" / "seed-003.md"
FORMATS = ("human", "json", "junit", "gradescope", "github", "markdown", "csv")
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")


@pytest.fixture(autouse=True)
def outside_services(monkeypatch, tmp_path):
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", redact.GRADESCOPE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(redact, "AUTOGRADER", tmp_path / "no-autograder")


def run(*args, env=None):
    result = CliRunner().invoke(main, [*map(str, args)], env=env)
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("key")
    result = CliRunner().invoke(main, ["solve", str(SEED), "--key", str(folder / "key.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    key = yaml.safe_load((folder / "key.yaml").read_text())["answers"]
    return key, json.loads(result.stdout)["quantities"]


@pytest.fixture
def wrong(tmp_path, solved) -> Path:
    """An answers file that is wrong in every way (see the module's docstring)."""
    key, _ = solved
    spec = SEED.read_text().replace("{quantity: dl/dW2, points: 2}", "{quantity: dl/dW2, points: 2, form: any}") \
        .replace("{quantity: dl/dz1, points: 1}", "{quantity: dl/dz1, points: 1, form: any}")
    spec += 'feedback: {sign-flipped: "Check the sign of the loss derivative.", learning-rate: "Use the lr given."}\n'
    (tmp_path / "p.yaml").write_text(spec)
    y = np.array([[1, 1, -1, -1]], dtype=float)
    y_hat = np.array(key["y_hat"], dtype=float) + 0.1234  # wrong: loss and dl/dz3 follow from it (ECF)
    answers = dict(key)
    answers["z1"] = [["9.123" if (i, j) == (0, 0) else v for j, v in enumerate(row)]
                     for i, row in enumerate(key["z1"])]
    answers["y_hat"] = y_hat.round(6).tolist()
    answers["loss"] = round(float(((y_hat - y) ** 2).sum() / 8), 6)  # 1/(2N) ||y_hat - y||², N = 4
    answers["dl/dz3"] = ((y_hat - y) / 4).round(6).tolist()
    answers["dl/dW2"] = "-delta_2 Z1^T"  # sign flipped
    answers["dl/dz1"] = "W2^T delta_2"  # relu' missing
    answers["dl/dW1"] = [list(r) for r in zip(*key["dl/dW1"])]  # transposed (3×2 asked)
    w2 = np.array([[0.02, 0.03, 0.09]])  # the spec's W2, one step at lr 0.05 instead of 0.5
    answers["step1.W2"] = (w2 - 0.05 * np.array(key["dl/dW2"], dtype=float)).round(6).tolist()
    del answers["step1.W1"]
    path = tmp_path / "s.answers.yaml"
    path.write_text(yaml.safe_dump({"bpcheck": 1, "problem": "p.yaml", "student": "s", "answers": answers},
                                   sort_keys=False))
    return path


@pytest.fixture
def writeup(tmp_path) -> Path:
    """Seed 003's write-up with a sign-flipped formula step and a wrong final dl/dW2."""
    text = WRITEUP.read_text()
    assert "= \\delta_2 Z_1^T =" in text and "-0.2059 \\\\ 0.0176" in text
    text = text.replace("= \\delta_2 Z_1^T =", "= -\\delta_2 Z_1^T =", 1).replace("-0.2059 \\\\ 0.0176",
                                                                                 "-0.3059 \\\\ 0.0176", 1)
    path = tmp_path / "hw.answers.md"
    path.write_text(text)
    return path


# ------------------------------------------------------------------ the leak check

def _sig(text: str) -> int:
    return len(text.partition("e")[0].replace(".", "").lstrip("0"))


def renderings(value: float) -> set:
    v = abs(float(value))
    shown = {f"{v:.6g}", f"{v:.5g}", f"{v:.4g}", f"{v:.4f}"}
    return {s for s in shown if _sig(s) >= 3}


def flat(value) -> list:
    return np.asarray(value, dtype=float).ravel().tolist()


def numbers_in(text: str) -> list:
    return [float(t) for t in NUMBER.findall(text)]


def forbidden(quantities: dict, *written: str) -> set:
    """Renderings of every solved value that no number the student wrote or the problem gives shares."""
    secret = {s for q in quantities.values() for v in flat(q) for s in renderings(v)}
    allowed = {s for text in written for v in numbers_in(text) for s in renderings(v)}
    return secret - allowed


def leaks(output: str, banned: set) -> set:
    return {t.lstrip("+-").lower() for t in NUMBER.findall(output)} & banned


def banned_for(path: Path, quantities: dict) -> set:
    spec = (path.parent / "p.yaml") if (path.parent / "p.yaml").exists() else SEED
    return forbidden(quantities, path.read_text(), spec.read_text())


def report(path: Path, fmt: str, level: str | None, tmp_path: Path, problem: Path | None = None) -> str:
    """Everything the run writes: stdout, and in GitHub Actions the step summary and the Classroom result."""
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    for written in (summary, output):  # GitHub appends to them: each run here is read alone
        written.unlink(missing_ok=True)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)} \
        if fmt == "github" else None
    gradebook = tmp_path / "grades.csv"
    shown = ["--format", "json", "--csv", gradebook] if fmt == "csv" else ["--format", fmt]  # CSV: --csv only
    args = ["grade", path, *shown] + (["--feedback", level] if level else []) \
        + (["--problem", problem] if problem else [])
    result = run(*args, env=env)
    assert result.exit_code == 1, result.output
    text = gradebook.read_text() if fmt == "csv" else result.stdout
    if fmt == "github":
        text += summary.read_text()
        encoded = output.read_text().strip().removeprefix("result=")
        text += base64.b64decode(encoded).decode("utf-8")
    return text


@pytest.mark.parametrize("fmt", FORMATS)
def test_hints_shows_no_expected_value(fmt, wrong, solved, tmp_path):
    banned = banned_for(wrong, solved[1])
    assert len(banned) > 50
    text = report(wrong, fmt, "hints", tmp_path)
    assert not leaks(text, banned), leaks(text, banned)
    if fmt != "csv":  # the gradebook holds scores only, at every level
        full = report(wrong, fmt, "full", tmp_path)
        assert leaks(full, banned)  # the check finds what `full` shows


@pytest.mark.parametrize("fmt", FORMATS)
def test_hints_in_a_writeup_shows_no_expected_value(fmt, writeup, solved, tmp_path):
    banned = banned_for(writeup, solved[1])
    text = report(writeup, fmt, "hints", tmp_path, problem=SEED)
    assert not leaks(text, banned), leaks(text, banned)
    if fmt != "csv":
        assert leaks(report(writeup, fmt, "full", tmp_path, problem=SEED), banned)


def test_hints_keeps_positions_diagnoses_and_the_instructors_feedback(wrong, tmp_path):
    data = json.loads(report(wrong, "json", "hints", tmp_path))
    q = {x["quantity"]: x for x in data["results"][0]["questions"]}
    assert "wrong entries: [0, 0]" in q["z1"]["message"] and "9.123" in q["z1"]["message"]
    assert "wrong entries: [0, 0], [0, 1], [0, 2], [0, 3]" in q["y_hat"]["message"]
    assert q["loss"]["status"] == "correct" and "ecf" in q["loss"]["tags"]
    assert "sign-flipped" in q["dl/dW2"]["tags"] and "sign is flipped" in q["dl/dW2"]["message"]
    assert "Check the sign of the loss derivative." in q["dl/dW2"]["message"]
    assert "differs from the reference at the problem's values" in q["dl/dW2"]["message"]
    assert "activation-derivative-missing" in q["dl/dz1"]["tags"]
    assert "expected 3×2 (the shape of W1), got 2×3: transposed?" in q["dl/dW1"]["message"]
    assert "learning-rate" in q["step1.W2"]["tags"] and "Use the lr given." in q["step1.W2"]["message"]
    assert q["step1.W1"]["status"] == "missing"


def test_hints_human_table_marks_wrong_entries_without_expected_or_errors(wrong, tmp_path):
    out = report(wrong, "human", "hints", tmp_path)
    assert "submitted" in out and "wrong" in out
    for column in ("expected", "abs err", "rel err"):
        assert column not in out.replace("expected 3×2", "")


def test_score_shows_only_status_and_points(wrong, writeup, tmp_path):
    data = json.loads(report(wrong, "json", "score", tmp_path))
    for q in data["results"][0]["questions"]:
        assert q["message"] == "" and q["tags"] == [] and q["status"] in ("correct", "incorrect", "invalid", "missing")
    assert data["results"][0]["warnings"] == []
    human = report(wrong, "human", "score", tmp_path)
    assert " — " not in human and "probably" not in human and "[" not in human
    assert re.search(r"✗ z1 \(line \d+\): incorrect 0/1\n", human)
    scope = json.loads(report(wrong, "gradescope", "score", tmp_path))
    assert all(t["output"] == "" and t["tags"] == [] for t in scope["tests"])
    md = report(wrong, "markdown", "score", tmp_path)
    assert "probably" not in md and "transposed" not in md
    gh = report(wrong, "github", "score", tmp_path)
    assert "probably" not in gh and "transposed" not in gh and "entries" not in gh
    for fmt in ("junit", "human"):
        text = report(writeup, fmt, "score", tmp_path, problem=SEED)
        assert "step" not in text.replace("step1.", "") and "probably" not in text


def test_scores_are_the_same_at_every_level(wrong, tmp_path):
    scores = {level: [(q["quantity"], q["score"], q["status"]) for q in
                      json.loads(report(wrong, "json", level, tmp_path))["results"][0]["questions"]]
              for level in redact.LEVELS}
    assert scores["full"] == scores["hints"] == scores["score"]


# ------------------------------------------------------------------ defaults inside the services

def test_github_format_defaults_to_hints_in_github_actions(wrong, solved, tmp_path):
    banned = banned_for(wrong, solved[1])
    inside = report(wrong, "github", None, tmp_path)
    assert not leaks(inside, banned)
    outside = run("grade", wrong, "--format", "github").stdout
    assert leaks(outside, banned)  # full elsewhere
    forced = run("grade", wrong, "--format", "github", "--feedback", "full",
                 env={"GITHUB_ACTIONS": "true"}).stdout
    assert leaks(forced, banned)  # --feedback wins


def test_other_formats_stay_full_in_github_actions(wrong, solved):
    banned = banned_for(wrong, solved[1])
    assert leaks(run("grade", wrong, "--format", "json", env={"GITHUB_ACTIONS": "true"}).stdout, banned)


def test_gradescope_format_defaults_to_hints_inside_gradescope(wrong, solved, tmp_path, monkeypatch):
    banned = banned_for(wrong, solved[1])
    assert leaks(run("grade", wrong, "--format", "gradescope").stdout, banned)
    assert not leaks(run("grade", wrong, "--format", "gradescope", env={redact.GRADESCOPE_ENV: "1"}).stdout, banned)
    (tmp_path / "autograder").mkdir()
    monkeypatch.setattr(redact, "AUTOGRADER", tmp_path / "autograder")
    assert not leaks(run("grade", wrong, "--format", "gradescope").stdout, banned)
    assert leaks(run("grade", wrong, "--format", "human").stdout, banned)  # only the service's format


def test_bad_feedback_level_is_a_usage_error(wrong):
    result = run("grade", wrong, "--feedback", "everything")
    assert result.exit_code == 2 and "everything" in result.output


# ------------------------------------------------------------------ the redaction itself

SECRETS = np.sort(np.abs(np.array([0.731059, -0.25, 1.5e-5, 2.0, 0.0176266])))


@pytest.mark.parametrize("message, shown", [
    ("3 of 4 entries wrong; largest error at [0, 1]: expected -0.25, got 0.7",
     "3 of 4 entries wrong; largest error at [0, 1]: got 0.7"),
    ("equal to the reference at random points but not at the problem's values "
     "(expected [[0.7311, -0.25], [1.5e-05, 2]], your formula gives [[1, 2], [3, 4]])",
     "equal to the reference at random points but not at the problem's values"),
    ("differs from the reference at the problem's values: your formula gives [0.5, 0.25], "
     "the reference [0.7311, -0.25]; probably the sign is flipped",
     "differs from the reference at the problem's values; probably the sign is flipped"),
    ("matches at the problem's values only; differs from the reference at a random point "
     "(W2 = [0.1, 0.2], z2 = [1, 2]): your formula gives 0.3, the reference 0.4",
     "matches at the problem's values only; differs from the reference at a random point"),
    ("step 2 of dl/dW2 (line 87), `-\\delta_2 Z_1^T`: differs from the reference at the problem's values: "
     "your formula gives [0.1029, 0.206, -0.01763], the reference [-0.1029, -0.206, 0.01763]",
     "step 2 of dl/dW2 (line 87), `-\\delta_2 Z_1^T`: differs from the reference at the problem's values"),
    ("expected 3 (the shape of b1), got 2: transposed?", "expected 3 (the shape of b1), got 2: transposed?"),
    ("expected 2×3 (the shape of W1), got 3×2: transposed?", "expected 2×3 (the shape of W1), got 3×2: transposed?"),
    ("a later phrase: expected 0.25 or the reference [1, 2]", "a later phrase: expected … or the reference …"),
    ("0.5 of the points for this mistake (factor-2, instructor's credit); off by a factor 10^3 in layer 2",
     "0.5 of the points for this mistake (factor-2, instructor's credit); off by a factor 10^3 in layer 2"),
    ("someday a new phrase shows 0.7311 or -0.731059 or 0.0176 or 1.5e-05",
     "someday a new phrase shows … or … or … or …"),
    ("your own 0.7 and 0.73 stay; 0.25 is the entry itself", "your own 0.7 and 0.73 stay; … is the entry itself"),
])
def test_hint_message(message, shown):
    assert redact.hint_message(message, SECRETS) == shown


def test_full_is_the_records_unchanged(wrong):
    assert redact.view([1, 2], "full") == [1, 2]
    with pytest.raises(ValueError):
        redact.view([], "all")
