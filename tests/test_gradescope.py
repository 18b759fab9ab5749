"""The Gradescope bundle, end to end: built, unzipped into a temporary
/autograder-like directory, and its run_autograder run (with bpcheck from this
environment; setup.sh's pip step is not run) on good, wrong, missing, binary,
hostile and write-up submissions. Every results.json is held to the fields of
Gradescope's autograder specification (`valid`, written from that document).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backprop_check.cli import main
from backprop_check.gradescope.run import pick

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "problems" / "dsga1008-2020-p1.yaml"
WRITEUP = ROOT / "fixtures" / "writeups" / "seed-003.md"
WRITEUP_PROBLEM = ROOT / "problems" / "assignment1-ex2.yaml"

# Gradescope's specification, field by field
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
       "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
        "visibility", "extra_data"}


def valid(results: dict) -> dict:
    """Assert `results` is a results.json Gradescope accepts; return it."""
    assert isinstance(results, dict) and set(results) <= TOP, set(results) - TOP
    number = (int, float)
    assert isinstance(results["score"], number) and not isinstance(results["score"], bool)
    assert isinstance(results.get("execution_time", 0), int) and results.get("execution_time", 0) >= 0
    assert isinstance(results.get("output", ""), str)
    for key in ("output_format", "test_output_format", "test_name_format"):
        assert results.get(key, "text") in FORMATS
    for key in ("visibility", "stdout_visibility"):
        assert results.get(key, "visible") in VISIBILITY
    assert isinstance(results.get("extra_data", {}), dict)
    for test in results.get("tests", []):
        assert isinstance(test, dict) and set(test) <= TEST, set(test) - TEST
        assert test.get("status", "passed") in {"passed", "failed"}
        assert all(isinstance(test.get(k, 0), number) for k in ("score", "max_score"))
        assert isinstance(test.get("number", ""), str) and isinstance(test.get("name", ""), str)
        assert all(isinstance(t, str) for t in test.get("tags", []))
        assert test.get("visibility", "visible") in VISIBILITY
        assert test.get("output_format", "text") in FORMATS and test.get("name_format", "text") in FORMATS
    return results


def bundle(tmp: Path, problem: Path = PROBLEM, *options: str) -> Path:
    """Build a bundle and unzip it the way Gradescope does: source/, and run_autograder beside it."""
    out = tmp / "autograder.zip"
    result = CliRunner().invoke(main, ["gradescope-bundle", str(problem), "-o", str(out), "--wheel", "none",
                                       *options])
    assert result.exit_code == 0, result.output
    root = tmp / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(out) as z:
        z.extractall(root / "source")
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111  # executable in the zip
    (root / "run_autograder").write_bytes((root / "source" / "run_autograder").read_bytes())
    (root / "submission").mkdir()
    return root


def run(root: Path, python: str = sys.executable, metadata: dict | None = None) -> dict:
    (root / "submission_metadata.json").write_text(json.dumps(
        metadata or {"id": 1, "users": [{"email": "ada@example.edu", "id": 42, "name": "Ada"}]}))
    env = dict(os.environ, BPCHECK_AUTOGRADER_ROOT=str(root), BPCHECK_PYTHON=python)
    subprocess.run(["bash", str(root / "run_autograder")], env=env, cwd=root, capture_output=True, timeout=600)
    return valid(json.loads((root / "results" / "results.json").read_text()))


def key(tmp: Path, problem: Path = PROBLEM) -> dict:
    out = tmp / "key.yaml"
    assert CliRunner().invoke(main, ["solve", str(problem), "--key", str(out), "--format", "json"]).exit_code == 0
    return yaml.safe_load(out.read_text())


def points(problem: Path) -> dict:
    """Each question's points, read from the spec itself."""
    return {q["quantity"]: q.get("points", 1) for q in yaml.safe_load(problem.read_text())["questions"]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gs")
    return bundle(tmp), key(tmp)


@pytest.fixture
def root(built, tmp_path):
    """A fresh /autograder for each test: the built source, an empty submission."""
    base, _ = built
    import shutil
    copy = tmp_path / "autograder"
    shutil.copytree(base / "source", copy / "source")
    shutil.copy2(base / "run_autograder", copy / "run_autograder")
    (copy / "submission").mkdir()
    return copy


def test_bundle_holds_the_spec_pinned_and_scripts_at_the_root(built):
    root, _ = built
    source = root / "source"
    settings = json.loads((source / "bpcheck-autograder.json").read_text())
    import hashlib
    assert settings["problem_sha256"] == hashlib.sha256(PROBLEM.read_bytes()).hexdigest()
    assert (source / "problem.yaml").read_bytes() == PROBLEM.read_bytes()
    setup = (source / "setup.sh").read_text()
    assert "bpcheck==0.1.0" in setup and "wheels/" in setup
    assert not (source / "wheels").exists()  # --wheel none


def test_good_submission_named_hw1_scores_full_marks(root, built):
    _, answers = built
    (root / "submission" / "hw1.yaml").write_text(yaml.safe_dump(answers))
    results = run(root)
    total = sum(points(PROBLEM).values())
    assert results["score"] == total
    assert all(t["status"] == "passed" for t in results["tests"])
    assert [t["number"] for t in results["tests"]] == [str(i) for i in range(1, len(results["tests"]) + 1)]
    assert "hw1.yaml" in results["output"]
    assert results["extra_data"]["student"] == "ada@example.edu"


def test_wrong_answer_costs_its_points(root, built):
    _, answers = built
    wrong = dict(answers, answers=dict(answers["answers"]))
    wrong["answers"]["z1"] = [str(float(v) + 1) for v in wrong["answers"]["z1"]]  # every entry off by one
    (root / "submission" / "answers.yaml").write_text(yaml.safe_dump(wrong))
    results = run(root)
    assert results["score"] == sum(points(PROBLEM).values()) - points(PROBLEM)["z1"]
    failed = [t["name"] for t in results["tests"] if t["status"] == "failed"]
    assert failed == ["z1"]


@pytest.mark.parametrize("name, content", [
    ("hw1.yaml", b"\x00\x01\x02\xff binary \x00" * 50),
    ("answers.yaml", b""),
    ("answers.yaml", b"answers: [unclosed"),
    ("answers.yml", b"answers:\n  z1: __import__('os').system('echo pwned')\n"),
])
def test_broken_submissions_score_zero_with_a_message(root, name, content):
    (root / "submission" / name).write_bytes(content)
    results = run(root)
    assert results["score"] == 0
    assert results["output"]
    assert not (root / "pwned").exists()


def test_missing_submission(root):
    results = run(root)
    assert results["score"] == 0 and results["tests"] == []
    assert "No answers file" in results["output"]


def test_symbolic_link_is_not_followed(root):
    (root / "submission" / "answers.yaml").symlink_to(root / "source" / "problem.yaml")
    results = run(root)
    assert results["score"] == 0
    assert "symbolic link" in results["output"]


def test_bpcheck_that_cannot_run_still_leaves_a_valid_results_json(root, built):
    _, answers = built
    (root / "submission" / "answers.yaml").write_text(yaml.safe_dump(answers))
    results = run(root, python="/bin/false")
    assert results["score"] == 0 and "could not run" in results["output"]


def test_write_up_is_graded(tmp_path):
    root = bundle(tmp_path, WRITEUP_PROBLEM)
    (root / "submission" / "homework.md").write_bytes(WRITEUP.read_bytes())
    results = run(root)
    assert "homework.md" in results["output"]
    assert results["tests"] and results["score"] > 0


def test_settings_visibility_and_markdown(tmp_path):
    root = bundle(tmp_path, PROBLEM, "--visibility", "after_due_date", "--output-format", "md",
                  "--stdout-visibility", "after_published")
    answers = key(tmp_path)
    (root / "submission" / "answers.yaml").write_text(yaml.safe_dump(answers))
    results = run(root)
    assert results["visibility"] == "after_due_date" and results["stdout_visibility"] == "after_published"
    assert all("visibility" not in t for t in results["tests"])  # each test follows the top level
    assert results["output_format"] == "md" and "| 1 | z1 |" in results["output"]


def test_spec_changed_after_bundling_is_refused(root, built):
    _, answers = built
    (root / "source" / "problem.yaml").write_text(PROBLEM.read_text() + "\n# edited\n")
    (root / "submission" / "answers.yaml").write_text(yaml.safe_dump(answers))
    results = run(root)
    assert results["score"] == 0 and "sha256" in results["output"]


def test_pick_prefers_answers_then_yaml_then_write_ups(tmp_path):
    sub = tmp_path / "submission"
    (sub / "repo" / "deep").mkdir(parents=True)
    (sub / "README.md").write_text("# hi")
    assert pick(sub, "0" * 64).file.name == "README.md"  # the only candidate
    (sub / "repo" / "hw.tex").write_text("x")
    assert pick(sub, "0" * 64).file.name == "hw.tex"
    (sub / "notes.yml").write_text("a: 1")
    assert pick(sub, "0" * 64).file.name == "notes.yml"
    (sub / "repo" / "deep" / "hw1.answers.yaml").write_text("answers: {}")
    chosen = pick(sub, "0" * 64)
    assert chosen.file.name == "hw1.answers.yaml" and "not graded" in chosen.notes[0]
    import hashlib
    assert pick(sub, hashlib.sha256(b"answers: {}").hexdigest()).file.name == "notes.yml"  # the spec sent back


def test_per_student_variant_from_metadata(tmp_path):
    grade = main.commands["grade"]
    if "student" not in {p.name for p in grade.params} or "variant" not in main.list_commands(None):
        pytest.skip("this bpcheck has no per-student variants (grade --student)")
    template = ROOT / "problems" / "variant-relu-template.yaml"
    root = bundle(tmp_path, template)
    variant = tmp_path / "ada.yaml"
    made = CliRunner().invoke(main, ["variant", str(template), "--student", "ada@example.edu"])
    assert made.exit_code == 0, made.output
    variant.write_text(made.stdout)
    (root / "submission" / "answers.yaml").write_text(yaml.safe_dump(key(tmp_path, variant)))
    own = run(root)
    other = run(root, metadata={"users": [{"email": "bob@example.edu", "id": 7, "name": "Bob"}]})
    assert own["score"] == sum(points(template).values())
    assert other["score"] < own["score"]
