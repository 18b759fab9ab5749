"""The mistake catalogue on answers files with one known mistake each.

`fixtures/mistakes/` holds one answers file per diagnosis tag: the full-marks
key of a problem with ONE answer replaced by what a student making that
mistake writes, computed by `fixtures/mistakes/make.py` with its own numpy
backpropagation (not bpcheck's diagnosis code). `expected.yaml` says which
question was changed and the status and tags it must get. Each file must get
exactly that tag on that question, and every other question must be correct.

Also: the answer key of every shipped problem scores full marks, and still
does with every entry rounded to 4 significant figures (default tolerance).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from backprop_check.classroom import Grader
from backprop_check.cli import main
from backprop_check.diagnose import TAGS

ROOT = Path(__file__).resolve().parents[1]
MISTAKES = ROOT / "fixtures" / "mistakes"
EXPECTED = yaml.safe_load((MISTAKES / "expected.yaml").read_text(encoding="utf-8"))
SHIPPED = sorted((ROOT / "problems").glob("*.yaml"))
# the test problems the mistake files use (not every file under fixtures/problems/)
FIXTURE_PROBLEMS = sorted({ROOT / e["problem"] for e in EXPECTED.values()} - set(SHIPPED))

_GRADERS: dict = {}


def grader(problem: Path) -> Grader:
    """One Grader per problem: each problem is solved once per test run."""
    problem = problem.resolve()
    if problem not in _GRADERS:
        _GRADERS[problem] = Grader(problem=problem)
    return _GRADERS[problem]


def spec_of(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def floats(value):
    """An answer as read by BaseLoader (strings, nested lists) -> float array."""
    if isinstance(value, list):
        return np.array([floats(v) for v in value], dtype=float)
    return float(Fraction(value))


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict:
    """`bpcheck solve P --key K` for every shipped and fixture problem: {problem: K}."""
    out = tmp_path_factory.mktemp("keys")
    runner = CliRunner()
    found = {}
    for problem in SHIPPED + FIXTURE_PROBLEMS:
        key = out / f"{problem.stem}.yaml"
        result = runner.invoke(main, ["solve", str(problem), "--key", str(key), "--format", "json"])
        assert result.exit_code == 0, result.output
        found[problem.resolve()] = key
    return found


# ------------------------------------------------------------- the fixtures

def test_one_file_per_tag():
    tags = [t for e in EXPECTED.values() for t in e["tags"]]
    assert sorted(tags) == sorted(TAGS)
    assert all(len(e["tags"]) == 1 for e in EXPECTED.values())
    on_disk = {p.name for p in MISTAKES.glob("*.answers.yaml")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_mistake_file_is_the_key_with_one_answer_changed(name, keys):
    e = EXPECTED[name]
    key = spec_of(keys[(ROOT / e["problem"]).resolve()])["answers"]
    mine = spec_of(MISTAKES / name)
    assert (MISTAKES / mine["problem"]).resolve() == (ROOT / e["problem"]).resolve()
    answers = mine["answers"]
    assert list(answers) == list(key)
    changed = [q for q in key if not (np.shape(floats(answers[q])) == np.shape(floats(key[q]))
                                      and np.allclose(floats(answers[q]), floats(key[q]), rtol=1e-12, atol=0))]
    assert changed == [e["quantity"]]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_mistake_is_diagnosed(name):
    e = EXPECTED[name]
    result = grader(ROOT / e["problem"]).grade(MISTAKES / name)
    assert result.error is None
    assert result.warnings == []
    by_name = {f.quantity: f for f in result.findings}
    injected = by_name.pop(e["quantity"])
    assert (injected.status, injected.tags) == (e["status"], e["tags"]), injected.message
    wrong = {q: (f.status, f.message) for q, f in by_name.items() if f.status != "correct"}
    assert wrong == {}
    assert result.score == pytest.approx(result.max_score - injected.max_score)


def test_cli_grades_the_directory():
    """The same through `bpcheck grade fixtures/mistakes --format json` (each file names its problem)."""
    result = CliRunner().invoke(main, ["grade", str(MISTAKES), "--format", "json"])
    assert result.exit_code == 1, result.output  # every file is below full marks
    files = {Path(r["file"]).name: r for r in json.loads(result.output)["results"]}
    assert set(files) == set(EXPECTED)
    for name, e in EXPECTED.items():
        questions = {q["quantity"]: q for q in files[name]["questions"]}
        injected = questions.pop(e["quantity"])
        assert (injected["status"], injected["tags"]) == (e["status"], e["tags"]), name
        assert {q["status"] for q in questions.values()} == {"correct"}, name


def test_transposed_non_square_is_invalid(tmp_path, keys):
    """A transposed 3×2 gradient cannot be graded as a number: invalid, tag transposed."""
    problem = ROOT / "problems" / "dsga1008-2020-p1.yaml"
    data = spec_of(keys[problem.resolve()])
    data["answers"]["dl/dW1"] = [list(col) for col in zip(*data["answers"]["dl/dW1"])]
    path = tmp_path / "t.answers.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    finding = {f.quantity: f for f in grader(problem).grade(path).findings}["dl/dW1"]
    assert (finding.status, finding.tags) == ("invalid", ["transposed"])


# ---------------------------------------------------------------- the keys

@pytest.mark.parametrize("problem", SHIPPED + FIXTURE_PROBLEMS, ids=lambda p: p.stem)
def test_key_scores_full_marks(problem, keys):
    result = grader(problem).grade(keys[problem.resolve()])
    assert result.error is None and result.warnings == []
    assert {f.quantity: f.status for f in result.findings if f.status != "correct"} == {}
    assert result.score == result.max_score > 0


def _sigfigs(value, n: int = 4):
    if isinstance(value, list):
        return [_sigfigs(v, n) for v in value]
    return f"{float(Fraction(value)):.{n}g}"


NO_TOLERANCE = [p for p in SHIPPED if "tolerance" not in spec_of(p)
                and not any("tolerance" in q for q in spec_of(p).get("questions", []))]


@pytest.mark.parametrize("problem", NO_TOLERANCE, ids=lambda p: p.stem)
def test_key_rounded_to_4_sigfigs_is_correct(problem, keys, tmp_path):
    data = spec_of(keys[problem.resolve()])
    data["answers"] = {q: _sigfigs(v) for q, v in data["answers"].items()}
    path = tmp_path / "rounded.answers.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = grader(problem).grade(path)
    assert result.error is None
    assert {f.quantity: f.message for f in result.findings if f.status != "correct"} == {}


def test_rounding_test_covers_most_problems():
    assert len(NO_TOLERANCE) >= len(SHIPPED) - 1


# ------------------------------------------------------------ known bugs

def test_key_of_a_problem_without_questions_scores_full_marks(tmp_path):
    text = (ROOT / "fixtures" / "problems" / "relu-zero.yaml").read_text(encoding="utf-8")
    problem = tmp_path / "no-questions.yaml"
    problem.write_text(text.split("\nquestions:")[0] + "\n", encoding="utf-8")
    assert "questions" not in spec_of(problem)
    key = tmp_path / "key.yaml"
    assert CliRunner().invoke(main, ["solve", str(problem), "--key", str(key)]).exit_code == 0
    result = Grader(problem=problem).grade(key)
    assert result.warnings == []
    assert result.score == result.max_score


def test_step_up_on_step_1_is_only_step_up(tmp_path, keys):
    problem = ROOT / "problems" / "dsga1008-2022-p1.yaml"
    spec = spec_of(problem)
    data = spec_of(keys[problem.resolve()])
    lr = float(Fraction(spec["train"]["lr"]))
    up = floats(spec["params"]["W2"]) + lr * floats(data["answers"]["dl/dW2"])  # W + lr g
    data["answers"]["step1.W2"] = [[repr(float(v)) for v in row] for row in up]
    path = tmp_path / "up.answers.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    finding = {f.quantity: f for f in grader(problem).grade(path).findings}["step1.W2"]
    assert finding.status == "incorrect"
    assert finding.tags == ["step-up"]
