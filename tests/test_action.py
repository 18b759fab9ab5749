"""action.yml (the composite GitHub Action) and the GitHub Classroom example
workflow: their structure, and the commands the action runs, which are run
here by bash with a stand-in `bpcheck` that records its arguments and then
given to the real CLI."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backprop_check.cli import main

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
WORKFLOW = yaml.safe_load((ROOT / "examples" / "github-classroom.yml").read_text())
PROBLEM = ROOT / "problems" / "dsga1008-2020-p1.yaml"
INPUTS = {"problem", "problem-sha256", "answers", "pass-mark", "feedback", "version"}


def step(name: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s["name"] == name)


def test_structure():
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == INPUTS
    assert ACTION["inputs"]["problem"]["required"] is True
    assert all("description" in i for i in ACTION["inputs"].values())
    for s in ACTION["runs"]["steps"]:
        assert s["shell"] == "bash"
        assert "${{" not in s["run"]  # inputs arrive as environment variables, never pasted into the script
    assert ACTION["outputs"]["result"]["value"] == "${{ steps.grade.outputs.result }}"


def stand_in(tmp: Path, name: str) -> Path:
    """A `name` on PATH that appends its arguments, as JSON, to calls.jsonl."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text(f'#!{sys.executable}\nimport json, sys\n'
                    f'open({str(tmp / "calls.jsonl")!r}, "a").write(json.dumps(sys.argv[1:]) + "\\n")\n')
    tool.chmod(0o755)
    return bin_dir


def run_step(tmp: Path, name: str, tool: str, inputs: dict) -> list:
    """Run the step's script with its env: as the runner sets it from `inputs`."""
    s = step(name)
    env = dict(os.environ, PATH=f"{stand_in(tmp, tool)}:{os.environ['PATH']}", GITHUB_ACTION_PATH=str(ROOT))
    for var, expression in s.get("env", {}).items():
        input_name = re.fullmatch(r"\$\{\{ inputs\.([a-z0-9-]+) \}\}", expression).group(1)
        assert input_name in INPUTS
        env[var] = inputs.get(input_name, ACTION["inputs"][input_name].get("default", ""))
    subprocess.run(["bash", "-e", "-c", s["run"]], env=env, cwd=tmp, check=True, timeout=60)
    return [json.loads(line) for line in (tmp / "calls.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("version, expected", [("", str(ROOT)), ("0.1.0", "bpcheck==0.1.0")])
def test_install_step(tmp_path, version, expected):
    calls = run_step(tmp_path, "Install bpcheck", "python3", {"version": version})
    assert calls[-1][:3] == ["-m", "pip", "install"] and calls[-1][-1] == expected


def test_grade_step_runs_a_valid_bpcheck_grade(tmp_path, monkeypatch):
    key = tmp_path / "answers.yaml"
    assert CliRunner().invoke(main, ["solve", str(PROBLEM), "--key", str(key), "--format", "json"]).exit_code == 0
    digest = hashlib.sha256(PROBLEM.read_bytes()).hexdigest()
    inputs = {"problem": str(PROBLEM), "problem-sha256": digest, "answers": "answers.yaml\n  other.yaml",
              "pass-mark": "60%", "feedback": "hints"}
    [args] = run_step(tmp_path, "Grade", "bpcheck", inputs)
    assert args[:3] == ["grade", "answers.yaml", "other.yaml"]
    assert args[args.index("--problem-sha256") + 1] == digest and args[args.index("--pass") + 1] == "60%"
    assert args[args.index("--format") + 1] == "github" and args[args.index("--feedback") + 1] == "hints"
    args[2] = "answers.yaml"  # a second file that exists, so the real grade runs on both
    monkeypatch.chdir(tmp_path)  # where the step ran
    result = CliRunner().invoke(main, args, env={"GITHUB_OUTPUT": ""}, catch_exceptions=False)
    assert result.exit_code == 0, result.output  # both files at full marks: above the pass mark
    assert "::notice" in result.stdout


def test_grade_step_leaves_out_empty_inputs(tmp_path):
    [args] = run_step(tmp_path, "Grade", "bpcheck", {"problem": "p.yaml"})
    assert args == ["grade", "answers.yaml", "--problem", "p.yaml", "--format", "github"]


def test_classroom_workflow_uses_the_action_and_the_reporter():
    steps = WORKFLOW["jobs"]["grade"]["steps"]
    ours = next(s for s in steps if s.get("id") == "bpcheck")
    assert set(ours["with"]) <= INPUTS and "problem" in ours["with"]
    assert re.fullmatch(r"[0-9a-f]{64}", str(ours["with"]["problem-sha256"]))
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    assert reporter["if"] == "always()"  # the grade is reported also when the step fails below the pass mark
    runner = reporter["with"]["runners"]
    assert reporter["env"][f"{runner.upper()}_RESULTS"] == "${{ steps.bpcheck.outputs.result }}"
