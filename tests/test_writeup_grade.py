"""Grading a write-up: answers found by their left sides, steps checked, lines reported, bad files refused.

The fixture is seed 003's own write-up (fixtures/writeups/seed-003.md, as the student
typed it) against problems/assignment1-ex2.yaml, the spec of its Exercise 2. The
mutations change one number the student wrote, so whether a step or an answer is
right is known without bpcheck: the seed's numbers are right (they are checked
against an independent numpy computation in tests/test_hand_tolerance.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from click.testing import CliRunner

from backprop_check.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "writeups" / "seed-003.md"
PROBLEM = ROOT / "problems" / "assignment1-ex2.yaml"
TEXT = SEED.read_text()
LINE_DW2 = 87  # \frac{\partial \mathcal{L}}{\partial W_2} = \delta_2 Z_1^T = [...] [...]^T = [...]^T


def grade(path: Path, *extra: str):
    result = CliRunner().invoke(main, ["grade", str(path), "--problem", str(PROBLEM), "--format", "json", *extra])
    assert "Traceback" not in result.output
    return result


def findings(result) -> dict:
    [record] = json.loads(result.stdout)["results"]
    return {f["quantity"]: f for f in record["questions"]}, record


def written(tmp_path: Path, text: str, name: str = "hw1.md") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_seed_write_up_earns_full_marks_and_lists_what_it_skipped():
    result = grade(SEED)
    assert result.exit_code == 0, result.output
    by_name, record = findings(result)
    assert record["score"] == record["max_score"] == 12
    assert by_name["dl/dW2"]["line"] == LINE_DW2 and by_name["step1.W1"]["line"] == 95
    assert all("wrong-step" not in f["tags"] for f in by_name.values())
    skipped = [w for w in record["warnings"] if "equation skipped" in w["message"]]
    assert any(w["line"] == 19 for w in skipped)  # the general derivation names no quantity of the spec


def test_a_wrong_intermediate_step_is_named_with_its_line_and_costs_nothing_by_default(tmp_path):
    lines = TEXT.splitlines()
    original = lines[LINE_DW2 - 1]
    # step 2 of dl/dW2 is delta_2 typed out times Z1^T: change one entry of the typed delta_2
    mutated = original.replace("-0.2253 & -0.2471", "-0.4253 & -0.2471", 1)
    assert mutated != original
    lines[LINE_DW2 - 1] = mutated
    path = written(tmp_path, "\n".join(lines) + "\n")
    by_name, record = findings(grade(path))
    finding = by_name["dl/dW2"]
    assert finding["status"] == "correct" and finding["score"] == 2
    assert "wrong-step" in finding["tags"]
    assert f"step 2 of dl/dW2 (line {LINE_DW2})" in finding["message"]
    assert "final answer is right" in finding["message"]
    penalised = written(tmp_path, PROBLEM.read_text() + "step_penalty: 1/2\n", "p.yaml")
    result = CliRunner().invoke(main, ["grade", str(path), "--problem", str(penalised), "--format", "json"])
    by_name, _ = findings(result)
    assert by_name["dl/dW2"]["score"] == 1


def test_a_wrong_final_answer_is_incorrect_at_its_line(tmp_path):
    lines = TEXT.splitlines()
    lines[LINE_DW2 - 1] = lines[LINE_DW2 - 1].replace("-0.2059 \\\\ 0.0176", "-0.2059 \\\\ 0.0576")
    by_name, record = findings(grade(written(tmp_path, "\n".join(lines))))
    assert by_name["dl/dW2"]["status"] == "incorrect" and by_name["dl/dW2"]["line"] == LINE_DW2
    assert record["score"] == 10


def test_a_marker_names_the_next_equation_and_wins_over_its_left_side(tmp_path):
    text = ("Prose with $y = 3$ inline.\n\n"
            "<!-- bpcheck: dl/dW2 -->\n"
            "$$g = \\begin{bmatrix} -0.1029 & -0.2059 & 0.0176 \\end{bmatrix}$$\n")
    by_name, _ = findings(grade(written(tmp_path, text)))
    assert by_name["dl/dW2"]["status"] == "correct" and by_name["dl/dW2"]["line"] == 4
    assert by_name["z1"]["status"] == "missing"


def test_a_latex_write_up_with_align(tmp_path):
    text = ("\\documentclass{article}\\begin{document}\n"
            "\\begin{align*}\n"
            "  \\delta_2 &= \\frac{1}{4}(\\hat{y} - y) = \\begin{bmatrix} -0.2253 & -0.2471 & 0.2658 & 0.2514 "
            "\\end{bmatrix} \\\\\n"
            "  \\frac{\\partial \\mathcal{L}}{\\partial W_2} &= \\delta_2 Z_1^T \\\\\n"
            "    &= \\begin{bmatrix} -0.1029 & -0.2059 & 0.0176 \\end{bmatrix}\n"
            "\\end{align*}\n"
            "% bpcheck: step1.W2\n"
            "\\[ W_2 - 0.5 g = \\begin{bmatrix} 0.0714 & 0.1329 & 0.0811 \\end{bmatrix} \\]\n"
            "\\end{document}\n")
    by_name, _ = findings(grade(written(tmp_path, text, "hw1.tex")))
    assert by_name["dl/dz3"]["status"] == "correct" and by_name["dl/dz3"]["line"] == 3
    assert by_name["dl/dW2"]["status"] == "correct" and by_name["dl/dW2"]["line"] == 5
    assert by_name["step1.W2"]["status"] == "correct" and by_name["step1.W2"]["line"] == 8


def test_github_annotations_point_at_the_write_up(tmp_path):
    lines = TEXT.splitlines()
    lines[LINE_DW2 - 1] = lines[LINE_DW2 - 1].replace("-0.2059 \\\\ 0.0176", "-0.2059 \\\\ 0.0576")
    path = written(tmp_path, "\n".join(lines))
    result = CliRunner().invoke(main, ["grade", str(path), "--problem", str(PROBLEM), "--format", "github"])
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert any(f"file={path}" in e and f"line={LINE_DW2}" in e and "dl/dW2" in e for e in errors)


@pytest.mark.parametrize("content, reason", [
    (b"$$a = b$$\0\x01", "binary"),
    (b"\xff\xfe$$a = 1$$", "UTF-8"),
    (b"$$a = 1$$" + b" " * 2_000_000, "bytes"),
    (b"Intro\n\n" + b"$$z_1 = " + b" + ".join([b"x"] * 70_000) + b"$$\n", "line 3: more than 200,000 characters of display math"),
])
def test_a_broken_write_up_is_refused_with_its_reason(tmp_path, content, reason):
    path = tmp_path / "hw1.md"
    path.write_bytes(content)
    result = grade(path)
    assert result.exit_code == 2
    [record] = json.loads(result.stdout)["results"]
    assert reason in record["error"]


def test_unbalanced_braces_are_skipped_with_a_reason(tmp_path):
    text = "$$\\frac{\\partial \\mathcal{L}}{\\partial W_2 = 3$$\n"
    _, record = findings(grade(written(tmp_path, text)))
    assert any("balance" in w["message"] and w["line"] == 1 for w in record["warnings"])


def test_a_write_up_needs_the_problem_named(tmp_path):
    result = CliRunner().invoke(main, ["grade", str(written(tmp_path, "$$a = 1$$")), "--format", "json"])
    assert result.exit_code == 2
    assert "--problem" in json.loads(result.stdout)["results"][0]["error"]


SEED_000 = ROOT / "fixtures" / "writeups" / "seed-000.md"
SEED_001 = ROOT / "fixtures" / "writeups" / "seed-001.md"
FORMULAS_2022 = ROOT / "fixtures" / "problems" / "dsga1008-2022-p1-formulas.yaml"
FORMULAS_2020 = ROOT / "fixtures" / "problems" / "dsga1008-2020-p1-formulas.yaml"


def graded(writeup: Path, problem: Path):
    result = CliRunner().invoke(main, ["grade", str(writeup), "--problem", str(problem), "--format", "json"])
    assert "Traceback" not in result.output
    return findings(result)


def test_seed_000_symbolic_write_up_answers_found_and_skipped():
    # The student's problem-1 gradients are right (fixtures/seeds/000-p1.formulas.answers.yaml
    # transcribes them); their (dz2/dz1)_ii is a cases definition of the diagonal, 5 or 0.
    by_name, record = graded(SEED_000, FORMULAS_2022)
    found = {name: (f["status"], f["line"]) for name, f in by_name.items() if f["status"] != "missing"}
    assert found["dl/dW2"] == ("correct", 56) and found["dl/db2"] == ("correct", 58)
    assert found["dl/dW1"] == ("correct", 66) and found["dl/db1"] == ("correct", 68)
    assert found["dl/dy_hat"] == ("correct", 83)
    assert found["dz2/dz1"] == ("correct", 77)  # (dz2/dz1)_{ii} = cases: the diagonal, read with its note
    assert "diagonal" in " ".join(by_name["dz2/dz1"]["tags"])
    skipped = {w["line"]: w["message"] for w in record["warnings"]}
    assert "names no quantity" in skipped[51]  # dz_{3i}/dW^{(2)}: one entry, not a quantity of the spec
    assert "cannot be read" in skipped[75]  # its last member is a derivative of an expression
    assert "again" in skipped[128]  # problem 2 answers dl/dW2 too: graded against problem 1, skipped


def test_seed_001_cases_and_sigmoid_derivatives():
    by_name, record = graded(SEED_001, FORMULAS_2020)
    assert by_name["dz2/dz1"]["status"] == "correct" and by_name["dz2/dz1"]["line"] == 25
    assert by_name["dl/dy_hat"]["status"] == "correct" and by_name["dl/dy_hat"]["line"] == 30
    assert by_name["dl/dW1"]["status"] == "missing"  # the seed never writes it as an equation
    assert any(w["line"] == 53 and "again" in w["message"] for w in record["warnings"])


FRAGMENTS = ["$$", "\\[", "\\]", "=", "&=", "\\\\", "\\frac{\\partial \\mathcal{L}}{\\partial W_2}", "\\delta_2",
             "Z_1^T", "\\begin{bmatrix}", "\\end{bmatrix}", "0.5", "-0.1029", "&", "{", "}", "\\leftarrow",
             "W_1", "<!-- bpcheck: dl/dW1 -->", "\\begin{aligned}", "\\end{aligned}", "\n", " ", "x", "\\input{a}",
             "\\begin{cases}", "\\end{cases}", "z_{1i} > 0", "\\text{otherwise}", "\\left(", "\\right)_{ii}"]


@pytest.fixture(scope="module")
def seed_key():
    from backprop_check.solve import solve
    from backprop_check.spec import load_problem
    problem = load_problem(PROBLEM)
    return problem, solve(problem)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60))
def test_random_write_ups_grade_without_crashing(tmp_path, seed_key, pieces):
    from backprop_check.grade import grade_file
    from backprop_check.writeup_answers import load_writeup
    problem, solution = seed_key
    path = tmp_path / "hw.md"
    path.write_text("".join(pieces))
    result = grade_file(load_writeup(path, problem), problem, solution)
    assert result.max_score == 12 and 0 <= result.score <= 12
