"""`bpcheck grade` end to end, through click's CliRunner.

Answer keys come from `bpcheck solve PROBLEM --key` (written into tmp
directories), then are edited into students' mistakes. Every answer is
written on one line (JSON is YAML flow style), so line numbers are known.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backprop_check.spec import stamp_digest
from backprop_check.cli import main

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
SEED = ROOT / "problems" / "assignment1-ex2.yaml"  # z1 3×4, dl/dW1 3×2, 12 points, no bias
SINGLE = ROOT / "problems" / "dsga1008-2020-p1.yaml"  # one sample: z1 is a flat vector of 3
STATUSES = {"correct", "incorrect", "invalid", "missing"}


# ------------------------------------------------------------------ helpers

def run(*args, env: dict | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def grade(*args, env: dict | None = None):
    return run("grade", *args, env=env)


def grade_json(*args):
    result = grade(*args, "--format", "json")
    assert "Traceback" not in result.output, result.output
    data = json.loads(result.stdout)
    for r in data["results"]:
        for q in r["questions"]:
            assert q["status"] in STATUSES
    return result, data


def only(data: dict) -> dict:
    assert len(data["results"]) == 1
    return data["results"][0]


def by_quantity(result: dict) -> dict:
    return {q["quantity"]: q for q in result["questions"]}


def write_answers(path: Path, answers: dict, problem: Path | str | None = None, student: str | None = "s",
                  extra: str = "") -> Path:
    """An answers file with one answer per line; returns its path."""
    lines = ["bpcheck: 1"]
    if problem is not None:
        lines.append(f"problem: {json.dumps(str(problem))}")
    if student is not None:
        lines.append(f"student: {json.dumps(student)}")
    lines.append("answers:")
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in answers.items()]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def answer_line(path: Path, quantity: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith(f"  {json.dumps(quantity)}:"):
            return i
    raise AssertionError(quantity)


def scale(value, factor: float):
    if isinstance(value, list):
        return [scale(v, factor) for v in value]
    return float(value) * factor


def transpose(m: list) -> list:
    return [list(r) for r in zip(*m)]


@pytest.fixture(autouse=True)
def not_in_github_actions(monkeypatch):
    """`--format auto` and the step summary depend on these: keep runs hermetic."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> dict:
    """problem stem -> (key path, answers dict) for every shipped problem."""
    folder = tmp_path_factory.mktemp("keys")
    out = {}
    for problem in PROBLEMS:
        key = folder / f"{problem.stem}.answers.yaml"
        result = run("solve", problem, "--key", key, "--format", "json")
        assert result.exit_code == 0, result.output
        out[problem.stem] = (key, yaml.safe_load(key.read_text())["answers"])
    return out


@pytest.fixture
def seed(keys) -> dict:
    """The seed problem's key answers (a fresh copy to edit)."""
    return json.loads(json.dumps(keys["assignment1-ex2"][1]))


# ------------------------------------------------------------------ the keys

@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.stem)
def test_answer_key_scores_full_marks(keys, problem):
    key, _ = keys[problem.stem]
    result, data = grade_json(key)
    assert result.exit_code == 0, result.output
    r = only(data)
    assert r["problem"] == yaml.safe_load(problem.read_text())["id"]
    assert r["score"] == r["max_score"] > 0
    assert all(q["status"] == "correct" and q["score"] == q["max_score"] for q in r["questions"])
    assert r["student"] == "answer-key"
    assert r["file"] == str(key)


def test_all_keys_in_one_command(keys):
    result, data = grade_json(*(k for k, _ in keys.values()))
    assert result.exit_code == 0
    assert len(data["results"]) == len(PROBLEMS)
    assert all(r["score"] == r["max_score"] for r in data["results"])


def test_answer_key_scores_full_marks_with_an_expression_question(tmp_path):
    spec = tmp_path / "expr.yaml"
    spec.write_text(SEED.read_text().replace(
        "  - {quantity: loss, points: 1}\n",
        "  - {quantity: loss, points: 1}\n  - {quantity: dl/dy_hat, points: 1, form: expression}\n"))
    key = tmp_path / "expr.answers.yaml"
    assert run("solve", spec, "--key", key, "--format", "json").exit_code == 0
    result, data = grade_json(key)
    assert only(data)["score"] == only(data)["max_score"]
    assert result.exit_code == 0


# ------------------------------------------------------------------ one answer each way

def test_wrong_value_is_incorrect_and_exits_1(tmp_path, seed):
    seed["loss"] = "0.5"
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    result, data = grade_json(f)
    assert result.exit_code == 1
    r = only(data)
    q = by_quantity(r)["loss"]
    assert q["status"] == "incorrect" and q["score"] == 0 and q["max_score"] == 1
    assert "0.5" in q["message"]
    assert r["score"] == r["max_score"] - 1
    assert all(x["status"] == "correct" for name, x in by_quantity(r).items() if name != "loss")


def test_one_wrong_entry_of_a_matrix(tmp_path, seed):
    seed["dl/dW1"][2][1] = "0.5"
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    result, data = grade_json(f)
    q = by_quantity(only(data))["dl/dW1"]
    assert q["status"] == "incorrect" and q["score"] == 0
    assert "1 of 6 entries wrong" in q["message"] and "[2, 1]" in q["message"]
    assert q["line"] == answer_line(f, "dl/dW1")


def test_missing_answer(tmp_path, seed):
    del seed["dl/dW2"]
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    result, data = grade_json(f)
    assert result.exit_code == 1
    q = by_quantity(only(data))["dl/dW2"]
    assert q["status"] == "missing" and q["score"] == 0 and q["max_score"] == 2
    assert only(data)["score"] == 10


def test_empty_answers_mapping_is_all_missing(tmp_path):
    f = tmp_path / "a.answers.yaml"
    f.write_text(f"bpcheck: 1\nproblem: {SEED}\nanswers:\n")
    result, data = grade_json(f)
    assert result.exit_code == 1
    assert {q["status"] for q in only(data)["questions"]} == {"missing"}
    assert only(data)["score"] == 0


@pytest.mark.parametrize("text", ["abc", "1,5", "0.5.5", "nan", "inf", "1/0"])
def test_unparseable_answer_is_invalid(tmp_path, seed, text):
    seed["loss"] = text
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    result, data = grade_json(f)
    assert result.exit_code == 1
    q = by_quantity(only(data))["loss"]
    assert q["status"] == "invalid" and q["score"] == 0
    assert q["message"]


def test_unparseable_entry_in_a_matrix_is_invalid(tmp_path, seed):
    seed["z1"][1][2] = "abc"
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    _, data = grade_json(f)
    q = by_quantity(only(data))["z1"]
    assert q["status"] == "invalid"
    assert "row 2" in q["message"] and "entry 3" in q["message"]


def test_transposed_matrix_is_invalid_with_a_hint(tmp_path, seed):
    seed["dl/dW1"] = transpose(seed["dl/dW1"])  # 2×3 for a 3×2 quantity
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    result, data = grade_json(f)
    assert result.exit_code == 1
    q = by_quantity(only(data))["dl/dW1"]
    assert q["status"] == "invalid" and q["score"] == 0
    assert "transposed?" in q["message"]
    assert "3×2" in q["message"] and "2×3" in q["message"]
    assert "transposed" in q["tags"]


def test_wrong_shape_is_invalid(tmp_path, seed):
    seed["z1"] = seed["z1"][:2]  # 2×4 for 3×4
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    _, data = grade_json(f)
    q = by_quantity(only(data))["z1"]
    assert q["status"] == "invalid" and "3×4" in q["message"] and "2×4" in q["message"]


def test_ragged_rows_are_invalid(tmp_path, seed):
    seed["z1"][0] = seed["z1"][0][:3]
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    _, data = grade_json(f)
    assert by_quantity(only(data))["z1"]["status"] == "invalid"


@pytest.mark.parametrize("form", ["flat", "column", "row"])
def test_flat_expected_vector_accepts_either_orientation(tmp_path, keys, form):
    answers = json.loads(json.dumps(keys["dsga1008-2020-p1"][1]))
    z1 = answers["z1"]
    assert isinstance(z1, list) and not isinstance(z1[0], list) and len(z1) == 3
    answers["z1"] = {"flat": z1, "column": [[v] for v in z1], "row": [z1]}[form]
    f = write_answers(tmp_path / "a.answers.yaml", answers, SINGLE)
    result, data = grade_json(f)
    assert by_quantity(only(data))["z1"]["status"] == "correct"
    assert result.exit_code == 0


@pytest.mark.parametrize("form", ["flat", "column"])
def test_flat_list_answers_a_row_or_column_quantity(tmp_path, seed, form):
    # y_hat is 1×4 (columns layout): a flat list of 4 answers it
    y = seed["y_hat"][0]
    seed["y_hat"] = y if form == "flat" else [[v] for v in y]
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    _, data = grade_json(f)
    q = by_quantity(only(data))["y_hat"]
    if form == "flat":
        assert q["status"] == "correct"
    else:  # a 4×1 matrix for a 1×4 one is a transposition, not a flat list
        assert q["status"] == "invalid" and "transposed?" in q["message"]


def test_scalar_answered_as_a_one_element_list(tmp_path, seed):
    seed["loss"] = [seed["loss"]]
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    _, data = grade_json(f)
    assert by_quantity(only(data))["loss"]["status"] == "correct"


NUMBERS = """\
bpcheck: 1
id: numbers
network:
  layers:
    - {weight: W1, activation: identity}
params:
  W1: [[0.001], [0.75], [0.5], [-2.5]]
data:
  x: [[1]]
  y: [[0], [0], [0], [0]]
loss: {type: mse}
tolerance: {rtol: 1e-9, atol: 1e-12}
questions:
  - {quantity: z1}
"""


@pytest.mark.parametrize("z1, status", [
    ('["1e-3", "3/4", ".5", "-5/2"]', "correct"),
    ("[1e-3, 3/4, .5, -5/2]", "correct"),                     # unquoted: still read as written
    ('["0.001", "0.75", "0.50", "-2.5"]', "correct"),
    ('["1E-3", " 3 / 4 ", "+.5", "-2.5e0"]', "correct"),
    ('[["1e-3"], ["3/4"], [".5"], ["-5/2"]]', "correct"),     # the 4×1 column itself
    ('["1e-2", "3/4", ".5", "-5/2"]', "incorrect"),
    ('["1e-3", "4/3", ".5", "-5/2"]', "incorrect"),
    ('["1e-3", "3/4", "5", "-5/2"]', "incorrect"),
])
def test_numbers_as_strings(tmp_path, z1, status):
    spec = tmp_path / "numbers.yaml"
    spec.write_text(NUMBERS)
    f = tmp_path / "a.answers.yaml"
    f.write_text(f"bpcheck: 1\nproblem: numbers.yaml\nanswers:\n  z1: {z1}\n")
    result, data = grade_json(f)
    assert by_quantity(only(data))["z1"]["status"] == status, data
    assert result.exit_code == (0 if status == "correct" else 1)


def test_aliases_from_names_are_accepted(tmp_path, seed):
    seed["S1"] = seed.pop("z1")  # names: {z1: S1, ...}
    seed["Y_out"] = seed.pop("y_hat")
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    result, data = grade_json(f)
    assert result.exit_code == 0
    assert only(data)["warnings"] == []


# ------------------------------------------------------------------ names and keys the grader does not read

@pytest.mark.parametrize("name, suggestion", [
    ("dl/dW11", "dl/dW1"), ("y-hat", "y_hat"), ("z11", "z1"), ("dl/dW_11", "dl/dW1"),
])  # issue 10: dL/dW2 and Loss are now the students' spellings of dl/dW2 and loss (see below)
def test_unknown_quantity_warns_with_did_you_mean(tmp_path, seed, name, suggestion):
    seed[name] = [[1, 2, 3]]
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    result, data = grade_json(f)
    assert result.exit_code == 0  # still full marks: the unknown answer is just not graded
    r = only(data)
    assert r["score"] == r["max_score"]
    [w] = r["warnings"]
    assert f"unknown quantity {name!r}; did you mean {suggestion!r}?" in w["message"]
    assert w["line"] == answer_line(f, name)
    human = grade(f, "--format", "human")
    assert "did you mean" in human.stdout


@pytest.mark.parametrize("name, canonical", [("dL/dW2", "dl/dW2"), ("Loss", "loss"), ("dJ/dW_1", "dl/dW1")])
def test_students_spelling_of_a_quantity_answers_it(tmp_path, seed, name, canonical):
    """Issue 10: L, J, Loss for the loss and W_1 for W1 are the network's names: a second
    answer to the same quantity is a warning, the first one is graded."""
    seed[name] = [[1, 2, 3]]
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    result, data = grade_json(f)
    [w] = only(data)["warnings"]
    assert f"{name!r} answers {canonical} a second time" in w["message"]


def test_misspelt_answer_is_missing_with_a_warning(tmp_path, seed):
    seed["dl/dw1"] = seed.pop("dl/dW1")
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    result, data = grade_json(f)
    r = only(data)
    assert by_quantity(r)["dl/dW1"]["status"] == "missing"
    assert any("'dl/dw1'" in w["message"] and "not graded" in w["message"] for w in r["warnings"])
    assert result.exit_code == 1


def test_case_only_misspelling_suggests_the_same_quantity(tmp_path, seed):
    seed["dl/dw1"] = seed.pop("dl/dW1")
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    _, data = grade_json(f)
    assert any("did you mean 'dl/dW1'" in w["message"] for w in only(data)["warnings"])


EXTRA_KEYS = """\
tolerance: {rtol: 1000, atol: 1000}
points: 1000
questions:
  - {quantity: z1, points: 1000}
pass: 0
"""


def test_extra_top_level_keys_are_ignored_with_a_warning(tmp_path, seed):
    seed["loss"] = "0.9"
    seed["z1"] = scale(seed["z1"], 2)
    plain = write_answers(tmp_path / "plain.answers.yaml", seed, SEED)
    sneaky = write_answers(tmp_path / "sneaky.answers.yaml", seed, SEED, extra=EXTRA_KEYS)
    r0, d0 = grade_json(plain)
    r1, d1 = grade_json(sneaky)
    assert r0.exit_code == r1.exit_code == 1
    a, b = only(d0), only(d1)
    assert (a["score"], a["max_score"]) == (b["score"], b["max_score"]) == (10, 12)
    assert [(q["quantity"], q["status"], q["score"], q["max_score"]) for q in a["questions"]] == \
           [(q["quantity"], q["status"], q["score"], q["max_score"]) for q in b["questions"]]
    ignored = [w for w in b["warnings"] if "ignored key" in w["message"]]
    assert {k for k in ("tolerance", "points", "questions", "pass")
            if any(repr(k) in w["message"] for w in ignored)} == {"tolerance", "points", "questions", "pass"}
    assert a["warnings"] == []


def test_tolerance_inside_answers_is_an_unknown_quantity_not_a_setting(tmp_path, seed):
    seed["loss"] = "0.9"
    seed["tolerance"] = "1000"
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED)
    _, data = grade_json(f)
    r = only(data)
    assert by_quantity(r)["loss"]["status"] == "incorrect"
    assert any("tolerance" in w["message"] for w in r["warnings"])


# ------------------------------------------------------------------ which problem grades

def test_problem_option_overrides_the_files_problem(tmp_path, keys, seed):
    other = tmp_path / "other.yaml"
    other.write_text(SINGLE.read_text())
    f = write_answers(tmp_path / "a.answers.yaml", seed, other)
    result, data = grade_json(f)  # against the file's own (wrong) problem
    assert result.exit_code == 1
    assert only(data)["problem"] == "dsga1008-2020-p1"
    result, data = grade_json(f, "--problem", SEED)
    assert result.exit_code == 0, result.output
    assert only(data)["problem"] == "assignment1-ex2"
    assert only(data)["score"] == only(data)["max_score"] == 12


def test_problem_option_grades_a_file_without_problem(tmp_path, seed):
    f = write_answers(tmp_path / "a.answers.yaml", seed, None)
    result = grade(f, "--format", "json")
    assert result.exit_code == 2
    assert "problem" in json.loads(result.stdout)["results"][0]["error"]
    result, data = grade_json(f, "--problem", SEED)
    assert result.exit_code == 0


def test_problem_sha256_right_hash_grades(tmp_path, keys):
    key, _ = keys["assignment1-ex2"]
    digest = hashlib.sha256(SEED.read_bytes()).hexdigest()
    result, data = grade_json(key, "--problem", SEED, "--problem-sha256", digest)
    assert result.exit_code == 0, result.output
    result, data = grade_json(key, "--problem", SEED, "--problem-sha256", digest.upper())
    assert result.exit_code == 0
    result, data = grade_json(key, "--problem-sha256", digest)  # the file's own problem: checked too
    assert result.exit_code == 0


def test_problem_sha256_wrong_hash_exits_2(tmp_path, keys):
    key, _ = keys["assignment1-ex2"]
    wrong = hashlib.sha256(b"something else").hexdigest()
    result = grade(key, "--problem", SEED, "--problem-sha256", wrong, "--format", "json")
    assert result.exit_code == 2
    assert "sha256" in result.stderr and str(SEED) in result.stderr
    assert "Traceback" not in result.output
    result = grade(key, "--problem-sha256", wrong, "--format", "json")
    assert result.exit_code == 2
    assert "sha256" in json.loads(result.stdout)["results"][0]["error"]


def test_problem_sha256_detects_an_edited_problem(tmp_path, seed):
    spec = tmp_path / "p.yaml"
    spec.write_text(SEED.read_text())
    digest = hashlib.sha256(spec.read_bytes()).hexdigest()
    f = write_answers(tmp_path / "a.answers.yaml", seed, spec)
    assert grade(f, "--problem-sha256", digest).exit_code == 0
    spec.write_text(SEED.read_text().replace("lr: 0.5", "lr: 0.25"))
    assert grade(f, "--problem-sha256", digest).exit_code == 2


@pytest.mark.parametrize("bad", ["abc", "12", "g" * 64, "0" * 63])
def test_problem_sha256_must_be_64_hex_digits(keys, bad):
    key, _ = keys["assignment1-ex2"]
    result = grade(key, "--problem-sha256", bad)
    assert result.exit_code == 2
    assert "64 hexadecimal" in result.stderr


def test_self_stamped_spec_is_accepted_and_an_edited_one_rejected(tmp_path, seed):
    text = SEED.read_text()
    stamped = text + f"sha256: {stamp_digest(text)}\n"
    spec = tmp_path / "stamped.yaml"
    spec.write_text(stamped)
    assert stamp_digest(stamped) == stamp_digest(text)
    f = write_answers(tmp_path / "a.answers.yaml", seed, spec)
    result, data = grade_json(f)
    assert result.exit_code == 0, result.output
    assert only(data)["score"] == 12

    # a student "fixes" the learning rate in their copy of the spec
    spec.write_text(stamped.replace("lr: 0.5", "lr: 0.25"))
    result = grade(f, "--format", "json")
    assert result.exit_code == 2
    err = json.loads(result.stdout)["results"][0]["error"]
    assert "sha256" in err and "changed" in err
    # and the pinned form fails the whole run
    result = grade(f, "--problem", spec)
    assert result.exit_code == 2 and "sha256" in result.stderr


def test_self_stamp_with_a_wrong_digest_is_rejected(tmp_path, seed):
    spec = tmp_path / "stamped.yaml"
    spec.write_text(SEED.read_text() + "sha256: " + "0" * 64 + "\n")
    f = write_answers(tmp_path / "a.answers.yaml", seed, spec)
    assert grade(f).exit_code == 2


# ------------------------------------------------------------------ pass marks

@pytest.fixture
def four_of_twelve(tmp_path, seed) -> Path:
    """z1, z2, y_hat and loss right (1 point each), the rest missing: 4 of 12."""
    answers = {k: seed[k] for k in ("z1", "z2", "y_hat", "loss")}
    return write_answers(tmp_path / "a.answers.yaml", answers, SEED)


@pytest.mark.parametrize("mark, code", [
    (None, 1), ("3", 0), ("4", 0), ("4.0", 0), ("4.5", 1), ("50%", 1), ("30%", 0), ("33.3%", 0),
    ("34%", 1), ("0", 0), ("0%", 0), ("100%", 1), ("12", 1),
])
def test_pass_mark(four_of_twelve, mark, code):
    args = [four_of_twelve, "--format", "json"] + (["--pass", mark] if mark is not None else [])
    result = grade(*args)
    assert result.exit_code == code, (mark, result.output)
    r = only(json.loads(result.stdout))
    assert r["score"] == 4 and r["passed"] == (code == 0)


def test_pass_mark_full_key(keys):
    key, _ = keys["assignment1-ex2"]
    assert grade(key, "--pass", "100%").exit_code == 0
    assert grade(key, "--pass", "12").exit_code == 0
    assert grade(key, "--pass", "13").exit_code == 1


@pytest.mark.parametrize("mark", ["half", "-1", "50 %%", "1e1", ""])
def test_bad_pass_mark_exits_2(four_of_twelve, mark):
    result = grade(four_of_twelve, "--pass", mark)
    assert result.exit_code == 2
    assert "--pass" in result.stderr and "Traceback" not in result.output


# ------------------------------------------------------------------ partial credit

def wrong_entries(seed: dict, n: int) -> dict:
    z1 = seed["z1"]
    for k in range(n):
        i, j = divmod(k, 4)
        z1[i][j] = str(float(z1[i][j]) + 1)
    return seed


@pytest.mark.parametrize("where", ["problem", "question", "none"])
def test_partial_credit_per_entry(tmp_path, seed, where):
    text = SEED.read_text()
    if where == "problem":
        text += "partial: entries\n"
    elif where == "question":
        text = text.replace("{quantity: z1, points: 1}", "{quantity: z1, points: 4, partial: entries}")
    spec = tmp_path / "p.yaml"
    spec.write_text(text)
    f = write_answers(tmp_path / "a.answers.yaml", wrong_entries(seed, 3), spec)
    _, data = grade_json(f)
    q = by_quantity(only(data))["z1"]
    assert q["status"] == "incorrect"
    assert "3 of 12 entries wrong" in q["message"]
    expected = {"problem": 0.75, "question": 3.0, "none": 0.0}[where]
    assert q["score"] == pytest.approx(expected)
    assert only(data)["score"] == pytest.approx(only(data)["max_score"] - q["max_score"] + expected)


def test_partial_credit_does_not_apply_to_invalid_answers(tmp_path, seed):
    spec = tmp_path / "p.yaml"
    spec.write_text(SEED.read_text() + "partial: entries\n")
    seed["dl/dW1"] = transpose(seed["dl/dW1"])
    f = write_answers(tmp_path / "a.answers.yaml", seed, spec)
    _, data = grade_json(f)
    assert by_quantity(only(data))["dl/dW1"]["score"] == 0


# ------------------------------------------------------------------ error carried forward

def relu(m: list) -> list:
    return [[max(float(v), 0.0) for v in row] for row in m]


@pytest.fixture
def ecf_spec(tmp_path) -> tuple[Path, Path]:
    with_ecf = tmp_path / "ecf.yaml"
    with_ecf.write_text(SEED.read_text() + "ecf: true\n")
    without = tmp_path / "plain.yaml"
    without.write_text(SEED.read_text() + "ecf: false\n")  # ECF is on by default (issue 10)
    return with_ecf, without


def test_error_carried_forward(tmp_path, seed, ecf_spec):
    with_ecf, without = ecf_spec
    z1 = [[float(v) for v in row] for row in seed["z1"]]
    z1[0][0] = 0.5      # was 0.458
    z1[2][3] = 0.3      # was -0.044: their relu keeps it
    seed["z1"], seed["z2"] = z1, relu(z1)
    f = write_answers(tmp_path / "a.answers.yaml", seed, with_ecf)
    result, data = grade_json(f)
    qs = by_quantity(only(data))
    assert qs["z1"]["status"] == "incorrect" and qs["z1"]["score"] == 0
    assert qs["z2"]["status"] == "correct" and qs["z2"]["score"] == qs["z2"]["max_score"] == 1
    assert "correct given your z1" in qs["z2"]["message"]
    assert "ecf" in qs["z2"]["tags"]
    assert result.exit_code == 1  # z1 is still wrong
    human = grade(f, "--format", "human").stdout
    assert "correct given your z1" in human

    g = write_answers(tmp_path / "b.answers.yaml", seed, without)
    _, data = grade_json(g)
    q = by_quantity(only(data))["z2"]
    assert q["status"] == "incorrect" and q["score"] == 0
    assert "correct given" not in q["message"]


def test_error_carried_forward_per_question(tmp_path, seed):
    spec = tmp_path / "q.yaml"
    spec.write_text(SEED.read_text().replace("{quantity: z2, points: 1}", "{quantity: z2, points: 1, ecf: true}"))
    z1 = [[float(v) for v in row] for row in seed["z1"]]
    z1[1][1] = 0.2
    seed["z1"], seed["z2"] = z1, relu(z1)
    f = write_answers(tmp_path / "a.answers.yaml", seed, spec)
    _, data = grade_json(f)
    assert "correct given your z1" in by_quantity(only(data))["z2"]["message"]


def test_error_carried_forward_does_not_credit_a_wrong_downstream(tmp_path, seed, ecf_spec):
    with_ecf, _ = ecf_spec
    z1 = [[float(v) for v in row] for row in seed["z1"]]
    z1[0][0] = 0.5
    seed["z1"] = z1
    z2 = relu(z1)
    z2[1][1] += 1  # not relu of anything they wrote
    seed["z2"] = z2
    f = write_answers(tmp_path / "a.answers.yaml", seed, with_ecf)
    _, data = grade_json(f)
    q = by_quantity(only(data))["z2"]
    assert q["status"] == "incorrect" and q["score"] == 0 and "ecf" not in q["tags"]


def test_degenerate_upstream_earns_no_ecf(tmp_path, seed, ecf_spec):
    with_ecf, _ = ecf_spec
    seed["z1"] = [[0, 0, 0, 0]] * 3
    seed["z2"] = [[0, 0, 0, 0]] * 3  # relu of their all-zero z1: nothing was computed
    f = write_answers(tmp_path / "a.answers.yaml", seed, with_ecf)
    _, data = grade_json(f)
    q = by_quantity(only(data))["z2"]
    assert q["status"] == "incorrect" and q["score"] == 0
    assert "ecf" not in q["tags"] and "correct given" not in q["message"]


def test_ecf_carries_nothing_from_an_answer_that_was_not_asked(tmp_path, seed):
    """A made-up z2 that no question asks for must not earn dl/dW2 its points."""
    text = SEED.read_text()
    assert text.rstrip().endswith("{quantity: step1.W1, points: 1}")  # questions come last
    spec = tmp_path / "only-dw2.yaml"
    spec.write_text(text[:text.index("questions:")] + "questions:\n  - {quantity: dl/dW2, points: 2}\necf: true\n")
    made_up_z2 = [[1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, 1.0], [2.0, 0.0, 1.0, 0.0]]
    dz3 = [[float(v) for v in row] for row in seed["dl/dz3"]]
    claimed = [[sum(d * z for d, z in zip(dz3[0], row)) for row in made_up_z2]]  # dl/dz3 @ z2.T
    answers = {"dl/dW2": claimed, "dl/dz3": dz3, "z2": made_up_z2}
    f = write_answers(tmp_path / "a.answers.yaml", answers, spec)
    _, data = grade_json(f)
    q = by_quantity(only(data))["dl/dW2"]
    assert q["status"] == "incorrect" and q["score"] == 0 and "ecf" not in q["tags"]


# ------------------------------------------------------------------ a class in one command

BROKEN = "bpcheck: 1\nanswers:\n  z1: [[1, 2]\n  loss: 0.4\n"


@pytest.fixture
def classroom(tmp_path, seed) -> Path:
    folder = tmp_path / "class"
    (folder / "sub").mkdir(parents=True)
    spec = folder / "problem.yaml"
    spec.write_text(SEED.read_text())
    base = json.loads(json.dumps(seed))
    variants = {
        "alice": dict(base),
        "bob": {**base, "loss": "0.1"},
        "carol": {k: v for k, v in base.items() if k not in ("dl/dW1", "step1.W1")},
        "dave": {**base, "dl/dW1": transpose(base["dl/dW1"])},
        "erin": {**base, "z1": "abc", "dl/dW2": scale(base["dl/dW2"], 2)},
    }
    for i, (name, answers) in enumerate(variants.items()):
        where = folder / "sub" if i % 2 else folder
        write_answers(where / f"{name}.answers.yaml", answers, spec, student=name)
    (folder / "zed.answers.yaml").write_text(BROKEN)
    (folder / "notes.yaml").write_text("not: an answers file\n")  # not picked up
    (folder / "README.txt").write_text("hello\n")
    return folder


def test_directory_of_students_grades_in_one_command(classroom, tmp_path):
    gradebook = tmp_path / "grades.csv"
    result = grade(classroom, "--format", "json", "--csv", gradebook)
    assert result.exit_code == 2, result.output  # one file could not be graded
    data = json.loads(result.stdout)
    results = data["results"]
    assert len(results) == 6
    files = {Path(r["file"]).name: r for r in results}
    assert set(files) == {f"{n}.answers.yaml" for n in ("alice", "bob", "carol", "dave", "erin", "zed")}
    broken = files["zed.answers.yaml"]
    assert broken["error"] and "zed.answers.yaml" in broken["error"] and "YAML" in broken["error"]
    assert broken["questions"] == []
    graded = {r["student"]: r for r in results if not r["error"]}
    assert set(graded) == {"alice", "bob", "carol", "dave", "erin"}
    assert graded["alice"]["score"] == 12 and graded["alice"]["passed"]
    assert graded["bob"]["score"] == 11
    assert graded["carol"]["score"] == 9
    assert graded["dave"]["score"] == 10
    assert graded["erin"]["score"] == 9
    assert by_quantity(graded["dave"])["dl/dW1"]["status"] == "invalid"
    assert by_quantity(graded["carol"])["step1.W1"]["status"] == "missing"
    assert data["summary"]["files"] == 6 and data["summary"]["errors"] == 1
    assert data["summary"]["graded"] == 5 and data["summary"]["passed"] == 1

    rows = list(csv.DictReader(io.StringIO(gradebook.read_text())))
    assert len(rows) == 6
    questions = [q["quantity"] for q in graded["alice"]["questions"]]
    header = next(csv.reader(io.StringIO(gradebook.read_text())))
    assert all(q in header for q in questions)
    assert len(header) == len(set(header))
    students = {row["student"]: row for row in rows}
    assert set(students) == {"alice", "bob", "carol", "dave", "erin", ""}
    for name, r in graded.items():
        row = students[name]
        assert float(row["score"]) == r["score"]
        for q in r["questions"]:
            assert float(row[q["quantity"]]) == q["score"]
    assert students[""]["error"]


def test_directory_human_report_and_exit_codes(classroom):
    (classroom / "zed.answers.yaml").unlink()
    result = grade(classroom, "--format", "human")
    assert result.exit_code == 1  # all graded, some below full marks
    assert "Class: 5 graded, 1 passed" in result.stdout
    assert grade(classroom, "--pass", "75%").exit_code == 0
    assert grade(classroom, "--pass", "76%").exit_code == 1


def test_broken_file_alone_exits_2_without_traceback(tmp_path):
    f = tmp_path / "x.answers.yaml"
    f.write_text(BROKEN)
    result = grade(f)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_missing_path_and_empty_directory_exit_2(tmp_path):
    result = grade(tmp_path / "nope.answers.yaml")
    assert result.exit_code == 2 and "nope.answers.yaml" in result.stderr
    (tmp_path / "empty").mkdir()
    result = grade(tmp_path / "empty")
    assert result.exit_code == 2 and "no answer files" in result.stderr


def test_csv_neutralises_formulas_in_student_names(tmp_path, seed):
    f = write_answers(tmp_path / "a.answers.yaml", seed, SEED, student="=HYPERLINK(\"http://x\",\"y\")")
    gradebook = tmp_path / "g.csv"
    assert grade(f, "--csv", gradebook).exit_code == 0
    [row] = list(csv.DictReader(io.StringIO(gradebook.read_text())))
    assert row["student"] == "'=HYPERLINK(\"http://x\",\"y\")"


def test_csv_neutralises_formulas_in_file_names(tmp_path, seed, monkeypatch):
    folder = tmp_path / "class"
    folder.mkdir()
    write_answers(folder / "=1+2.answers.yaml", seed, SEED, student="x")
    monkeypatch.chdir(folder)
    gradebook = tmp_path / "g.csv"
    assert grade(".", "--csv", gradebook).exit_code == 0
    [row] = list(csv.DictReader(io.StringIO(gradebook.read_text())))
    assert not row["file"].startswith(("=", "+", "-", "@"))


def test_a_bug_while_grading_is_an_internal_error_not_a_grade(tmp_path, keys, monkeypatch):
    """An exception inside a worker is bpcheck's fault: exit 3, never 'invalid' or a score."""
    import backprop_check.grade as grading

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(grading, "grade_question", broken)  # the forked workers inherit it
    key, _ = keys["assignment1-ex2"]
    result = run("grade", key, "--problem", SEED, "--format", "json")
    assert result.exit_code == 3, result.output
    assert "internal error" in result.stderr and "boom" in result.stderr


@pytest.mark.parametrize("factor", [1e-300, 1e-30])
def test_vanishing_upstream_earns_no_ecf(tmp_path, seed, ecf_spec, factor):
    """z1 scaled down to nothing: relu of it 'follows', but takes no arithmetic."""
    with_ecf, _ = ecf_spec
    tiny = [[float(v) * factor for v in row] for row in seed["z1"]]
    seed["z1"], seed["z2"] = tiny, relu(tiny)
    f = write_answers(tmp_path / "a.answers.yaml", seed, with_ecf)
    _, data = grade_json(f)
    q = by_quantity(only(data))["z2"]
    assert q["status"] == "incorrect" and q["score"] == 0 and "ecf" not in q["tags"]
    assert "no credit is carried forward: your z1 is vanishingly small next to the true values" in q["message"]


SATURATING = """bpcheck: 1
id: saturating
network:
  layers:
    - {weight: W1, bias: b1, activation: sigmoid}
    - {weight: W2, activation: identity}
params:
  W1: [[0.5, -0.3], [0.2, 0.8]]
  b1: [0.1, -0.1]
  W2: [[1.0, -1.0]]
data:
  x: [1.0, 2.0]
  y: [0.5]
loss: {type: mse}
questions:
  - {quantity: z1}
  - {quantity: z2}
  - {quantity: dl/dz1}
ecf: true
"""


def test_saturating_upstream_earns_no_ecf(tmp_path):
    """z1 = 1000, 2000 saturates the sigmoid: z2 = 1, 1 and dl/dz1 = 0 follow with no arithmetic."""
    spec = tmp_path / "sat.yaml"
    spec.write_text(SATURATING)
    f = write_answers(tmp_path / "a.answers.yaml", {"z1": [1000, 2000], "z2": [1, 1], "dl/dz1": [0, 0]}, spec)
    _, data = grade_json(f)
    qs = by_quantity(only(data))
    assert only(data)["score"] == 0
    assert "z2 has every entry equal" in qs["z2"]["message"] and "ecf" not in qs["z2"]["tags"]
    assert "dl/dz1 is all zeros" in qs["dl/dz1"]["message"] and "ecf" not in qs["dl/dz1"]["tags"]
    # A z1 wrong but not saturating still carries: sigmoid of it is computed by hand.
    z1 = [0.3, 1.2]
    g = write_answers(tmp_path / "b.answers.yaml",
                      {"z1": z1, "z2": [1 / (1 + math.exp(-v)) for v in z1]}, spec)
    _, data = grade_json(g)
    assert "ecf" in by_quantity(only(data))["z2"]["tags"]


def test_upstream_answers_that_make_the_result_zero_at_the_tolerance_earn_no_ecf(tmp_path, seed, ecf_spec):
    """dl/dz3 of 1e-5 where the truth is ~0.1: not vanishing by scale (1e-6), but dl/dW2 = dl/dz3 @ z2.T
    is then 0 within the tolerance, and a row of zeros 'follows' from it with no arithmetic."""
    with_ecf, _ = ecf_spec
    answers = {"dl/dz3": [[1.1e-5, -2.3e-5, 1.7e-5, -0.9e-5]], "dl/dW2": [[0, 0, 0]]}
    f = write_answers(tmp_path / "a.answers.yaml", answers, with_ecf)
    _, data = grade_json(f)
    q = by_quantity(only(data))["dl/dW2"]
    assert q["status"] == "incorrect" and q["score"] == 0 and "ecf" not in q["tags"]
    assert "dl/dW2 is zero within the tolerance" in q["message"]
