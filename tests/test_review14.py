"""Regressions found by the review of issue 14 (grading with the numpy engine's key, caches, budgets)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_check import formula_cost
from backprop_check import formulas as F
from backprop_check.classroom import Grader
from backprop_check.cli import main

KINK = """bpcheck: 1
id: kink
network:
  layers:
    - {weight: W1, bias: b1, activation: "relu(z**2 - 0.01)"}
    - {weight: W2, bias: b2, activation: identity}
params: {W1: [[0.1], [0.3]], b1: [0, 0.2], W2: [[1, 1]], b2: [0]}
data: {layout: columns, x: [1], y: [2]}
loss: {type: mse}
questions: [{quantity: dl/dW1}, {quantity: dz2/dz1}]
"""

SNAP = """bpcheck: 1
id: snap
network:
  layers:
    - {weight: W1, bias: b1, activation: relu}
    - {weight: W2, bias: b2, activation: identity}
params: {W1: [[1, 1]], b1: [0], W2: [[2]], b2: [0]}
data: {layout: columns, x: [1, -0.9999999999999], y: [1]}
loss: {type: mse}
questions: [{quantity: dl/dW1}, {quantity: dz2/dz1}]
"""

PLAIN = SNAP.replace("-0.9999999999999", "-0.5").replace("id: snap", "id: plain")


def _grade(tmp_path: Path, spec: str, answers: str):
    (tmp_path / "p.yaml").write_text(spec)
    (tmp_path / "a.answers.yaml").write_text(f"bpcheck: 1\nproblem: p.yaml\nstudent: s\nanswers:\n{answers}")
    return CliRunner().invoke(main, ["grade", str(tmp_path / "a.answers.yaml"), "--format", "json"])


def test_a_kink_bpcheck_cannot_place_is_still_refused_when_grading(tmp_path):
    """relu(z**2 - 0.01) at z = 0.1 is exactly on the kink: the float key alone took the wrong side
    and graded the exact answer wrong; grading now solves with both engines, as solve does."""
    result = _grade(tmp_path, KINK, "  dl/dW1: [[0], [-3.52]]\n  dz2/dz1: [[0, 0], [0, 1]]\n")
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["results"][0]["error"]
    assert "kink" in error


def test_a_value_float64_puts_on_a_kink_is_not_graded_by_the_float_key(tmp_path):
    """z1 = 1e-13 exactly; float64 rounds it onto relu's kink. solve calls that a disagreement
    (exit 3); grading used to mark the true dz2/dz1 = 1 incorrect instead."""
    result = _grade(tmp_path, SNAP, "  dz2/dz1: [[1]]\n")
    assert result.exit_code == 3, result.output


def test_off_the_kink_grading_needs_no_exact_engine(tmp_path, monkeypatch):
    from backprop_check import solve as S

    def exact(*_args):
        raise AssertionError("the exact engine ran")

    monkeypatch.setattr(S, "_exact_values", exact)
    result = _grade(tmp_path, PLAIN, "  dz2/dz1: [[1]]\n")
    found = {q["quantity"]: q["status"] for q in json.loads(result.stdout)["results"][0]["questions"]}
    assert found == {"dl/dW1": "missing", "dz2/dz1": "correct"}, result.output


def test_a_cached_verdict_costs_the_later_file_its_budget_too(tmp_path, monkeypatch):
    """The same file graded twice by one worker spends the same formula budget: a verdict or a
    parse taken from the cache is charged as the work it saves (else a file's grade could depend
    on the files graded before it)."""
    from contextlib import contextmanager

    files, real = [], formula_cost.opened

    @contextmanager
    def recording(budget=None):
        with real(budget) as b:
            files.append(b)
            yield b

    monkeypatch.setattr(formula_cost, "opened", recording)
    (tmp_path / "p.yaml").write_text(PLAIN.replace("questions: [{quantity: dl/dW1}, {quantity: dz2/dz1}]",
                                                   "questions: [{quantity: z1, form: any}, {quantity: z2, form: any}]"))
    path = tmp_path / "a.answers.yaml"
    path.write_text("bpcheck: 1\nproblem: p.yaml\nanswers:\n  z1: \"W1 @ x + b1\"\n  z2: \"relu(z1)\"\n")
    grader = Grader()
    spent = []
    for _ in range(2):
        files.clear()
        result = grader.grade(path)
        spent.append(formula_cost.MAX_FILE_OPS - files[0].ops)  # the first budget opened is the file's
    assert [f.status for f in result.findings] == ["correct", "correct"]
    assert spent[0] > 0 and spent[0] == spent[1]


def test_an_unknown_command_is_matched_against_the_lazily_loaded_ones_too():
    result = CliRunner().invoke(main, ["varient"])
    assert result.exit_code == 2 and "Did you mean 'variant'?" in result.output


def test_a_number_after_a_unicode_line_break_is_placed_on_libyaml_s_line(tmp_path):
    """U+2028 inside a quoted title ends a line for libyaml: an error inside a number list after
    it names libyaml's line (the number lists' fast reader counted only newlines)."""
    spec = SNAP.replace("id: snap", 'id: snap\ntitle: "two\u2028lines"').replace("W2: [[2]]", "W2: [[1/0]]")
    (tmp_path / "p.yaml").write_text(spec, encoding="utf-8")
    result = CliRunner().invoke(main, ["solve", str(tmp_path / "p.yaml")])
    assert result.exit_code == 2
    assert "p.yaml:9:" in result.output, result.output  # params: is line 8 (9 as libyaml counts)


def test_a_shared_subtree_met_again_deep_down_counts_its_depth_there():
    deep = F.Name("z")
    for _ in range(formula_cost.MAX_DEPTH - 10):
        deep = F.call("tanh", deep)
    wrapped = deep
    for _ in range(20):
        wrapped = F.call("tanh", wrapped)
    env = {"z": np.zeros((2, 1))}
    formula_cost.walk(deep, env)  # within the limit alone
    with pytest.raises(formula_cost.TooCostly):
        formula_cost.walk(F.add(deep, wrapped), env)  # deep is walked first, then met 20 levels lower
