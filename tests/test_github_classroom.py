"""GitHub Classroom's autograding result in $GITHUB_OUTPUT, and the annotation caps.

The result is decoded as GitHub Classroom's reporter
(classroom-resources/autograding-grading-reporter) decodes it: the step output
`result` is base64 of JSON; `Points <sum of tests[].score>/<max_score>` is the
grade it records (src/notify-classroom.js), and a `status` of "fail" or
"error" fails the job (src/main.js). Scores here are known by hand: the
problem's questions are worth 1 point each, 2 for dl/dW2 and dl/dW1 (12 in
all), and each mutation below loses exactly its question's points.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backprop_check.cli import main
from backprop_check.formats import github, redact

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "problems" / "assignment1-ex2.yaml"
POINTS = {"z1": 1, "z2": 1, "y_hat": 1, "loss": 1, "dl/dz3": 1, "dl/dW2": 2, "dl/dz1": 1, "dl/dW1": 2,
          "step1.W2": 1, "step1.W1": 1}


@pytest.fixture(autouse=True)
def outside_services(monkeypatch, tmp_path):
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", redact.GRADESCOPE_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("key")
    result = CliRunner().invoke(main, ["solve", str(SEED), "--key", str(folder / "key.yaml")])
    assert result.exit_code == 0, result.output
    return yaml.safe_load((folder / "key.yaml").read_text())["answers"]


def answers(path: Path, key: dict, student: str, **changes) -> Path:
    data = {**json.loads(json.dumps(key)), **{k.replace("__", "/").replace("_dot_", "."): v
                                                for k, v in changes.items()}}
    data = {k: v for k, v in data.items() if v is not None}
    path.write_text(yaml.safe_dump({"bpcheck": 1, "problem": str(SEED), "student": student, "answers": data},
                                   sort_keys=False))
    return path


def in_actions(tmp_path: Path, *args, output: Path | None = None):
    output = output or tmp_path / "github_output"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")}
    result = CliRunner().invoke(main, ["grade", *map(str, args)], env=env)
    assert "Traceback" not in result.output, result.output
    return result, output


def decoded(output: Path) -> dict:
    """What the reporter does: the `result` output, base64-decoded, parsed as JSON."""
    [line] = [ln for ln in output.read_text().splitlines() if ln.startswith("result=")]
    return json.loads(base64.b64decode(line.removeprefix("result="), validate=True).decode("utf-8"))


def classroom_points(result: dict) -> str:
    """notify-classroom.js: the annotation Classroom reads the grade from."""
    total = sum(t["score"] for t in result["tests"])
    return f"Points {total:g}/{result['max_score']:g}"


def check_protocol(result: dict) -> None:
    assert set(result) == {"version", "status", "max_score", "tests"}
    assert result["version"] == 1 and result["status"] in ("pass", "fail", "error")
    for t in result["tests"]:
        assert {"name", "status", "score", "message", "line_no", "filename"} <= set(t)
        assert set(t) <= {"name", "status", "score", "message", "line_no", "filename", "test_code", "duration"}
        assert t["status"] in ("pass", "fail", "error")
        assert isinstance(t["line_no"], int)  # the reporter prints "- line N" for anything but 0
        assert isinstance(t["score"], (int, float)) and isinstance(t["message"], str)


def test_a_wrong_submission(tmp_path, key):
    f = answers(tmp_path / "answers.yaml", key, "octocat", loss="0.5", step1_dot_W1=None,
                dl__dW1=[list(r) for r in zip(*key["dl/dW1"])])
    result, output = in_actions(tmp_path, f, "--problem", SEED)
    assert result.exit_code == 1
    data = decoded(output)
    check_protocol(data)
    assert data["status"] == "fail" and data["max_score"] == 12
    by = {t["name"]: t for t in data["tests"]}
    assert set(by) == set(POINTS)
    assert by["loss"]["status"] == "fail" and by["loss"]["score"] == 0
    assert by["dl/dW1"]["status"] == "fail" and "transposed" in by["dl/dW1"]["message"]
    assert by["step1.W1"]["line_no"] == 0 and by["step1.W1"]["message"] == "no answer"
    assert by["z1"]["status"] == "pass" and by["z1"]["score"] == 1 and by["z1"]["line_no"] > 0
    assert all(t["filename"] == str(f) for t in data["tests"])
    assert classroom_points(data) == "Points 8/12"  # 12 - loss 1 - dl/dW1 2 - step1.W1 1
    assert "0.491612" not in json.dumps(data)  # hints by default in Actions: loss's expected value is not shown


def test_full_marks_pass(tmp_path, key):
    result, output = in_actions(tmp_path, answers(tmp_path / "answers.yaml", key, "a"))
    assert result.exit_code == 0
    data = decoded(output)
    check_protocol(data)
    assert data["status"] == "pass" and classroom_points(data) == "Points 12/12"
    assert all(t["status"] == "pass" for t in data["tests"])


def test_partial_credit_counts_in_classroom_points(tmp_path, key):
    spec = tmp_path / "p.yaml"
    spec.write_text(SEED.read_text() + "partial: entries\n")
    k = json.loads(json.dumps(key))
    k["z1"][0][0] = "9"  # 11 of 12 entries right: 11/12 of a point
    f = tmp_path / "answers.yaml"
    f.write_text(f"bpcheck: 1\nproblem: p.yaml\nanswers: {json.dumps(k)}\n")
    data = decoded(in_actions(tmp_path, f)[1])
    by = {t["name"]: t for t in data["tests"]}
    assert by["z1"]["status"] == "fail" and by["z1"]["score"] == pytest.approx(11 / 12, abs=1e-6)
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(11 + 11 / 12, abs=1e-5)


def test_a_broken_submission_scores_zero_of_the_pinned_total(tmp_path):
    broken = tmp_path / "answers.yaml"
    broken.write_text("answers: [1, 2\n")
    result, output = in_actions(tmp_path, broken, "--problem", SEED)
    assert result.exit_code == 2
    data = decoded(output)
    check_protocol(data)
    assert data["status"] == "error" and data["max_score"] == 12
    [test] = data["tests"]
    assert test["status"] == "error" and test["score"] == 0 and "cannot grade" in test["message"]
    assert classroom_points(data) == "Points 0/12"


def test_several_files_name_their_tests_and_add_up(tmp_path, key):
    a = answers(tmp_path / "a.answers.yaml", key, "ann")
    b = answers(tmp_path / "b.answers.yaml", key, "bob", z1=None)
    data = decoded(in_actions(tmp_path, a, b)[1])
    assert data["max_score"] == 24 and data["status"] == "fail"
    names = [t["name"] for t in data["tests"]]
    assert "ann: z1" in names and "bob: z1" in names and len(names) == 20
    assert classroom_points(data) == "Points 23/24"


def test_the_output_file_is_appended_to(tmp_path, key):
    output = tmp_path / "github_output"
    output.write_text("earlier=1\n")
    in_actions(tmp_path, answers(tmp_path / "answers.yaml", key, "a"), output=output)
    lines = output.read_text().splitlines()
    assert lines[0] == "earlier=1" and re.fullmatch(r"result=[A-Za-z0-9+/]+=*", lines[1])


def test_hostile_names_cannot_start_workflow_commands(tmp_path, key):
    f = answers(tmp_path / "answers.yaml", key, "x", z1="::error::owned\n::set-output name=a::b")
    data = decoded(in_actions(tmp_path, f)[1])
    for t in data["tests"]:
        assert "\n" not in t["message"] and "::" not in t["message"] and "::" not in t["name"]


def test_nothing_is_written_outside_actions(tmp_path, key):
    output = tmp_path / "github_output"
    env = {"GITHUB_OUTPUT": str(output)}  # GITHUB_ACTIONS unset
    CliRunner().invoke(main, ["grade", str(answers(tmp_path / "answers.yaml", key, "a")), "--format", "github"],
                       env=env)
    assert not output.exists()


def test_an_unwritable_output_is_exit_2(tmp_path, key):
    result, _ = in_actions(tmp_path, answers(tmp_path / "answers.yaml", key, "a"), output=tmp_path)
    assert result.exit_code == 2 and "GITHUB_OUTPUT" in result.output


# ------------------------------------------------------------------ annotation caps

def commands(text: str, kind: str) -> list:
    return [ln for ln in text.splitlines() if ln.startswith(f"::{kind} ")]


def properties_file(line: str) -> str:
    return re.search(r"file=([^,:]*)", line).group(1)


def title(line: str) -> str:
    return re.search(r"title=([^,:]*)", line).group(1).replace("%3A", ":")


@pytest.fixture
def many_wrong(tmp_path, key) -> list:
    """Three students, 14 wrong answers: more than GitHub annotates."""
    wrong = {"z1": None, "loss": "0.5", "dl__dW2": [[1, 2, 3]], "dl__dW1": [[1, 2, 3], [4, 5, 6]],
             "step1_dot_W1": None}
    return [answers(tmp_path / "a.answers.yaml", key, "a", **wrong),
            answers(tmp_path / "b.answers.yaml", key, "b", **wrong),
            answers(tmp_path / "c.answers.yaml", key, "c", z2="1", y_hat="2", dl__dz3=None, step1_dot_W2="3")]


def test_at_most_ten_errors_the_most_valuable_first(many_wrong):
    out = CliRunner().invoke(main, ["grade", *map(str, many_wrong), "--format", "github"]).stdout
    errors = commands(out, "error")
    assert len(errors) == github.MAX_PER_KIND == 10
    titles = [title(e) for e in errors]
    # by points lost, invalid before incorrect before missing, each question once before any repeat
    assert titles == ["dl/dW1: invalid", "dl/dW2: incorrect",  # a's 2-point losses
                      "z2: invalid", "y_hat: invalid", "step1.W2: invalid",  # c's, 1 point each
                      "loss: incorrect", "z1: missing", "step1.W1: missing", "dl/dz3: missing",
                      "dl/dW1: invalid"]  # then the repeats: b's, the most points first
    assert [properties_file(e) for e in errors[:2]] == [str(many_wrong[0])] * 2
    assert [n for n in commands(out, "notice") if "not annotated" in n] == \
        ["::notice title=bpcheck::4 more findings not annotated: see the step summary"]
    plain = [ln for ln in out.splitlines() if not ln.startswith("::")]
    assert len(plain) == 4 and all(ln.startswith("bpcheck: ") for ln in plain)  # the rest, in the log


def test_no_count_notice_when_everything_fits(tmp_path, key):
    f = answers(tmp_path / "a.answers.yaml", key, "a", loss="0.5")
    out = CliRunner().invoke(main, ["grade", str(f), "--format", "github"]).stdout
    assert len(commands(out, "error")) == 1 and not any("not annotated" in n for n in commands(out, "notice"))


def test_notices_stay_within_the_cap_for_a_class(tmp_path, key):
    files = [answers(tmp_path / f"s{i:02}.answers.yaml", key, f"s{i:02}") for i in range(12)]
    out = CliRunner().invoke(main, ["grade", *map(str, files), "--format", "github"]).stdout
    notices = commands(out, "notice")
    assert len(notices) == 10
    assert notices[-1].endswith("the scores of 3 more files: see the step summary")
