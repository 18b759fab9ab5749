"""`bpcheck check-answers` (the pre-commit hook): ungradable answers are found
with file:line, nothing is graded, and the hook's declaration runs it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from backprop_check.check_answers import formula_syntax_error
from backprop_check.cli import main

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "problems" / "dsga1008-2020-p1.yaml"


def check(*args: str):
    result = CliRunner().invoke(main, ["check-answers", *args])
    assert "Traceback" not in result.output
    return result


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def test_the_answer_key_passes(tmp_path):
    key = tmp_path / "answers.yaml"
    assert CliRunner().invoke(main, ["solve", str(PROBLEM), "--key", str(key), "--format", "json"]).exit_code == 0
    result = check(str(key), "--problem", str(PROBLEM))
    assert result.exit_code == 0 and result.stdout == ""


def test_each_problem_named_at_its_line(tmp_path):
    path = write(tmp_path, "hw.answers.yaml", f"""problem: {PROBLEM}
answers:
  z1: [0.5, 0.2, abc]
  z2: W1 @ x + b1
  zz9: [1]
  dl/dW2: (y_hat - y) @ z2.T +
  dl/db2: dl/dW1 + 1
extra: 1
""")
    result = check(str(path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    where = [re.match(r"(.*?):(\d+): (\S+)", ln).group(2, 3) for ln in lines]
    # by hand: the unknown top-level key (line 8), a bad number (3), an unknown name (5),
    # a formula that does not parse (6), a formula using a later quantity (7); line 4 is fine
    assert sorted(where) == sorted([("8", "ignored"), ("3", "z1:"), ("5", "unknown"), ("6", "dl/dW2:"),
                                    ("7", "dl/db2:")])
    assert all(ln.startswith(f"{path}:") for ln in lines)
    assert "dl/dW1" in lines[[w[0] for w in where].index("7")]


def test_without_the_problem_names_and_formulas_are_checked_for_form(tmp_path):
    good = write(tmp_path, "a.answers.yaml", "answers:\n  z1: W1 x + b1\n  dl/dW2: [[1, 2]]\n  step1.W1: 3\n")
    result = check(str(good))
    assert result.exit_code == 0 and "only checked for their form" in result.stderr
    bad = write(tmp_path, "b.answers.yaml", "answers:\n  'z 1!': 1\n  y_hat: sigmoid(z3\n")
    result = check(str(bad))
    assert result.exit_code == 1
    assert [ln.split(":")[1] for ln in result.stdout.splitlines()] == ["2", "3"]


def test_a_missing_problem_is_a_note_not_a_failure(tmp_path):
    path = write(tmp_path, "answers.yaml", "problem: nowhere.yaml\nanswers:\n  z1: 1\n")
    result = check(str(path))
    assert result.exit_code == 0 and "nowhere.yaml" in result.stderr


def test_broken_and_binary_files(tmp_path):
    broken = write(tmp_path, "answers.yaml", "answers:\n  z1: [1, 2\n")
    binary = tmp_path / "x.answers.yaml"
    binary.write_bytes(b"\x00\xff\x00 answers" * 20)
    result = check(str(broken), str(binary))
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert len(out) == 2 and out[0].startswith(f"{broken}:") and out[1].startswith(f"{binary}")


def test_write_up_needs_its_problem(tmp_path):
    writeup = ROOT / "fixtures" / "writeups" / "seed-003.md"
    assert "--problem" in check(str(writeup)).stderr
    result = check(str(writeup), "--problem", str(ROOT / "problems" / "assignment1-ex2.yaml"))
    assert result.exit_code in (0, 1) and "Traceback" not in result.output


def test_formula_syntax_without_names():
    assert formula_syntax_error("W1 x + b1") is None
    assert formula_syntax_error("(dl/dz2 * relu'(z1)) @ x.T") is None
    assert formula_syntax_error("a +") is not None
    assert formula_syntax_error("__import__('os')") is not None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_formula_syntax_check_never_raises(text):
    assert formula_syntax_error(text) is None or isinstance(formula_syntax_error(text), str)


def test_pre_commit_hook_declaration():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = {h["id"]: h for h in hooks}["bpcheck-answers"]
    assert hook["entry"].split()[:2] == ["bpcheck", "check-answers"]
    assert main.get_command(None, hook["entry"].split()[1]) is not None and hook["language"] == "python"
    files = re.compile(hook["files"])
    assert all(files.search(p) for p in ("answers.yaml", "hw/answers.yml", "hw1.answers.yaml"))
    assert not any(files.search(p) for p in ("problem.yaml", "answersheet.yaml", "my-answers.yaml.bak"))
