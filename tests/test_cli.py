"""The command line, through click's CliRunner: formats, answer keys, exit codes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from backprop_check.cli import SOLVE_FORMATS, main
from backprop_check.spec import load_problem

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
SEED_003 = ROOT / "problems" / "assignment1-ex2.yaml"

SMALL = """\
bpcheck: 1
id: small
network:
  layers:
    - {weight: W1, bias: b1, activation: relu}
    - {weight: W2, activation: identity}
params:
  W1: [[1, 2], [3, 4], [5, 6]]
  b1: [0, 0, 0]
  W2: [[1, 1, 1]]
data:
  x: [[1, 2], [3, 4]]
  y: [[1, 0]]
loss: {type: mse, factor: 1/2}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def solve(runner: CliRunner, *args: str):
    result = runner.invoke(main, ["solve", *map(str, args)])
    return result


def no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def seed_json():
    result = CliRunner().invoke(main, ["solve", str(SEED_003), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# --------------------------------------------------------------- every problem, every format

@pytest.mark.parametrize("fmt", SOLVE_FORMATS)
@pytest.mark.parametrize("path", PROBLEMS, ids=[p.stem for p in PROBLEMS])
def test_solve_every_problem_every_format(runner, path, fmt):
    result = solve(runner, path, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    no_traceback(result)
    assert result.stdout.strip()
    assert result.stderr == ""
    if fmt == "json":
        data = json.loads(result.stdout)
        assert set(data) == {"problem", "quantities"}
        assert data["problem"] == load_problem(path).id
        assert "loss" in data["quantities"]
    elif fmt == "yaml":
        data = yaml.safe_load(result.stdout)
        assert isinstance(data, dict)


def test_formats_are_the_contract_list():
    assert set(SOLVE_FORMATS) == {"human", "json", "yaml", "markdown", "latex", "dot", "svg"}


# --------------------------------------------------------------- JSON contract and seed-003 numbers

def test_json_is_exactly_problem_and_quantities(seed_json):
    assert set(seed_json) == {"problem", "quantities"}
    assert seed_json["problem"] == "assignment1-ex2"
    q = seed_json["quantities"]
    for name in ("z1", "z2", "z3", "z4", "y_hat", "loss", "dl/dy_hat", "dl/dz3", "dl/dz2", "dl/dz1",
                 "dl/dW2", "dl/dW1", "step1.W1", "step1.W2", "step1.loss"):
        assert name in q
    assert isinstance(q["loss"], float)
    assert np.shape(q["z1"]) == (3, 4)
    assert np.shape(q["dl/dW1"]) == (3, 2)
    assert np.shape(q["step1.W2"]) == (1, 3)


# The expected values are the student's own numbers in /work/shared/seeds/003_*.txt (Exercise 2),
# independent of bpcheck. The student rounded intermediates (delta_2, delta_1) to 4 decimals before
# multiplying, so the last printed digit can be off by one unit: exact dl/dW2[0][1] is -0.205952
# (printed -0.2059), exact step1.W1 is [[0.601682, 0.012052], [0.702522, 0.433078], [0.018803, 0.879099]]
# (printed 0.6016, 0.0120, 0.4330, 0.8790). Hence "to 4 decimals" means within one unit (1e-4).

def test_seed_003_loss(seed_json):
    assert round(seed_json["quantities"]["loss"], 5) == 0.49161


def test_seed_003_dl_dW2(seed_json):
    got = np.array(seed_json["quantities"]["dl/dW2"])
    assert got.shape == (1, 3)
    np.testing.assert_allclose(got, [[-0.1029, -0.2059, 0.0176]], rtol=0, atol=1e-4)


def test_seed_003_step1_W1(seed_json):
    got = np.array(seed_json["quantities"]["step1.W1"])
    assert got.shape == (3, 2)
    np.testing.assert_allclose(got, [[0.6016, 0.0120], [0.7025, 0.4330], [0.0188, 0.8790]], rtol=0, atol=1e-4)


def test_seed_003_other_student_numbers(seed_json):
    q = seed_json["quantities"]
    np.testing.assert_allclose(q["z1"], [[0.458, 0.1205, -0.442, 0.1195], [0.869, 0.1615, -0.181, 0.1185],
                                         [0.704, 0.044, 0.704, -0.044]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(q["y_hat"], [[0.0985, 0.0112, 0.0633, 0.0059]], rtol=0, atol=1e-4)
    np.testing.assert_allclose(q["step1.W2"], [[0.0714, 0.1329, 0.0811]], rtol=0, atol=1e-4)
    np.testing.assert_allclose(q["dl/dW1"], [[-0.0033, -0.0041], [-0.0050, -0.0061], [-0.0376, 0.0018]],
                               rtol=0, atol=1e-4)


def test_rows_layout_output_is_in_rows(runner):
    result = solve(runner, ROOT / "problems" / "batch-rows-softmax.yaml", "--format", "json")
    q = json.loads(result.stdout)["quantities"]
    assert np.shape(q["y_hat"]) == (3, 3)  # N × out
    np.testing.assert_allclose(np.sum(q["y_hat"], axis=1), 1.0)  # softmax: each sample (row) sums to 1


# --------------------------------------------------------------- --key

def test_key_file(runner, tmp_path):
    key = tmp_path / "keys" / "key.yaml"
    key.parent.mkdir()
    result = solve(runner, SEED_003, "--format", "json", "--key", key)
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(key.read_text(encoding="utf-8"))
    assert data["bpcheck"] == 1
    assert (key.parent / data["problem"]).resolve() == SEED_003.resolve()
    answers = data["answers"]
    assert isinstance(answers, dict)
    asked = [q.quantity for q in load_problem(SEED_003).questions]
    assert set(answers) == set(asked)
    assert abs(float(answers["loss"]) - 0.49161) < 1e-5
    np.testing.assert_allclose(np.array(answers["dl/dW2"], dtype=float), [[-0.1029, -0.2059, 0.0176]], atol=1e-4)
    # the key agrees with the JSON output on every asked quantity
    quantities = json.loads(result.stdout)["quantities"]
    for name in asked:
        np.testing.assert_allclose(np.array(answers[name], dtype=float), quantities[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("path", PROBLEMS, ids=[p.stem for p in PROBLEMS])
def test_key_holds_every_question(runner, tmp_path, path):
    key = tmp_path / "key.yaml"
    result = solve(runner, path, "--format", "json", "--key", key)
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(key.read_text(encoding="utf-8"))
    assert data["bpcheck"] == 1 and "problem" in data
    assert set(data["answers"]) == {q.quantity for q in load_problem(path).questions}


def test_key_without_questions_holds_every_quantity(runner, tmp_path):
    spec = tmp_path / "small.yaml"
    spec.write_text(SMALL, encoding="utf-8")
    key = tmp_path / "key.yaml"
    result = solve(runner, spec, "--format", "json", "--key", key)
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(key.read_text(encoding="utf-8"))
    assert data["problem"] == "small.yaml"
    quantities = set(json.loads(result.stdout)["quantities"])
    # z{2L} is another name of y_hat: the key answers it once, as y_hat
    assert set(data["answers"]) == quantities - {"z4"}


# --------------------------------------------------------------- -o

@pytest.mark.parametrize("fmt", SOLVE_FORMATS)
def test_output_option_writes_file(runner, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    result = solve(runner, SEED_003, "--format", fmt, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert "assignment1-ex2" in text or "Two-layer" in text or r"Two-{}layer" in text  # LaTeX: no -- ligatures
    if fmt == "json":
        assert set(json.loads(text)) == {"problem", "quantities"}
        assert text.strip() == solve(runner, SEED_003, "--format", "json").stdout.strip()


def test_output_to_unwritable_place_exits_2(runner, tmp_path):
    result = solve(runner, SEED_003, "--format", "json", "-o", tmp_path / "no" / "such" / "dir" / "out.json")
    assert result.exit_code == 2
    assert "cannot write" in result.stderr
    no_traceback(result)


# --------------------------------------------------------------- exit 2: bad input and usage

@pytest.mark.parametrize("old, new, line, column, message", [
    ("W2: [[1, 1, 1]]", "W2: [[1, 1]]", 10, 7, "W2 is 1×2"),
    ("activation: relu", "activation: rleu", 5, 42, "did you mean 'relu'"),
    ("  b1: [0, 0, 0]", "   b1: [0, 0, 0]", 9, 4, "broken YAML"),
    ("  b1: [0, 0, 0]", "  b1: [0, .nan, 0]", 9, 11, "not a finite number"),
])
def test_bad_spec_exits_2_with_file_line_col(runner, tmp_path, monkeypatch, old, new, line, column, message):
    monkeypatch.chdir(tmp_path)
    assert SMALL.count(old) == 1
    Path("bad.yaml").write_text(SMALL.replace(old, new), encoding="utf-8")
    result = solve(runner, "bad.yaml")
    assert result.exit_code == 2
    assert f"bad.yaml:{line}:{column}:" in result.stderr
    assert message in result.stderr
    assert result.stdout == ""
    no_traceback(result)


def test_empty_spec_exits_2(runner, tmp_path):
    spec = tmp_path / "empty.yaml"
    spec.write_text("", encoding="utf-8")
    result = solve(runner, spec)
    assert result.exit_code == 2
    assert f"{spec}:1:1:" in result.stderr and "empty" in result.stderr
    no_traceback(result)


def test_non_utf8_spec_exits_2(runner, tmp_path):
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes(SMALL.replace("small", "sm\xe4ll").encode("latin-1"))
    result = solve(runner, spec)
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr
    no_traceback(result)


def test_missing_file_exits_2(runner, tmp_path):
    result = solve(runner, tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr and "no such file" in result.stderr
    no_traceback(result)


def test_directory_exits_2(runner, tmp_path):
    result = solve(runner, tmp_path)
    assert result.exit_code == 2
    no_traceback(result)


def test_unknown_format_exits_2(runner):
    result = solve(runner, SEED_003, "--format", "jsn")
    assert result.exit_code == 2
    assert "jsn" in result.stderr
    no_traceback(result)


def test_unknown_option_exits_2(runner):
    result = solve(runner, SEED_003, "--frobnicate")
    assert result.exit_code == 2
    no_traceback(result)


def test_help_and_version(runner):
    assert runner.invoke(main, ["--help"]).exit_code == 0
    assert runner.invoke(main, ["solve", "--help"]).exit_code == 0
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and "bpcheck" in result.stdout


# --------------------------------------------------------------- exit 3: the engines disagree

def test_engine_disagreement_exits_3_and_names_the_quantity(runner, monkeypatch):
    from backprop_check.engines import numeric

    real_run = numeric.run

    def wrong_run(*args, **kwargs):
        out = real_run(*args, **kwargs)
        out["dl/dW2"] = out["dl/dW2"] + 1e-3
        return out

    monkeypatch.setattr(numeric, "run", wrong_run)
    result = solve(runner, SEED_003, "--format", "json")
    assert result.exit_code == 3
    assert "dl/dW2" in result.stderr
    assert "disagree" in result.stderr
    assert result.stdout == ""
    no_traceback(result)


def test_wrong_numpy_derivative_exits_3(runner, monkeypatch):
    """A wrong hand-written derivative in the numpy engine is caught, not printed."""
    from backprop_check import ops

    power = ops.FUNCTIONS["pow"]  # the mse term (ŷ − y)²: d/da a**2 should be 2a
    wrong = dataclasses.replace(power, dnumpy=(lambda a, p: 3.0 * np.power(a, float(p) - 1),))
    monkeypatch.setitem(ops.FUNCTIONS, "pow", wrong)
    result = solve(runner, SEED_003, "--format", "json")
    assert result.exit_code == 3
    assert "dl/dy_hat" in result.stderr
    no_traceback(result)


def test_unexpected_exception_exits_3_without_traceback(runner, monkeypatch):
    from backprop_check.engines import numeric

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(numeric, "run", boom)
    monkeypatch.delenv("BPCHECK_DEBUG", raising=False)
    result = solve(runner, SEED_003)
    assert result.exit_code == 3
    assert "internal error" in result.stderr and "boom" in result.stderr
    no_traceback(result)


# --------------------------------------------------------------- known package bugs

def _variant(tmp_path: Path, old: str, new: str) -> Path:
    assert SMALL.count(old) == 1
    spec = tmp_path / "v.yaml"
    spec.write_text(SMALL.replace(old, new), encoding="utf-8")
    return spec


def test_scaled_softmax_output_is_rejected(runner, tmp_path):
    """Neither engine computes c·softmax, so the spec refuses a scale on softmax (exit 2)."""
    spec = _variant(tmp_path, "activation: identity", "activation: {softmax: {scale: 2}}")
    result = solve(runner, spec, "--format", "json")
    assert result.exit_code == 2, result.stderr
    assert "v.yaml:6:" in result.stderr and "softmax takes no parameters and no scale" in result.stderr
    assert result.stdout == ""
    no_traceback(result)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("old, new, where", [
    ("loss: {type: mse, factor: 1/2}", "loss: {type: mse, factor: 1e400}", "v.yaml:14:27: loss.factor: 1e400"),
    ("W2: [[1, 1, 1]]", "W2: [[1e300, 1, 1]]", "v.yaml:10:9: params.W2[0][0]: 1e300"),
])
def test_huge_numbers_are_rejected_not_internal_errors(runner, tmp_path, old, new, where):
    """Past the 1e6 size limit a number is bad input (exit 2), named where it was written."""
    spec = _variant(tmp_path, old, new)
    result = solve(runner, spec, "--format", "json")
    assert result.exit_code == 2, result.stderr
    assert where in result.stderr and "is too large (the limit is 1e+06 in size" in result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("name", ["z1", "x", "N"])
def test_parameter_named_like_a_quantity_exits_2(runner, tmp_path, name):
    spec = tmp_path / "v.yaml"
    spec.write_text(SMALL.replace("{weight: W2,", f"{{weight: {name},").replace("  W2: [[1, 1, 1]]", f"  {name}: [[1, 1, 1]]"),
                    encoding="utf-8")
    result = solve(runner, spec, "--format", "json")
    assert result.exit_code == 2, result.stderr
    assert f"{spec}:6:" in result.stderr


# --------------------------------------------------------------- regressions from the code review

ONE_BY_ONE = """\
bpcheck: 1
id: tiny-train
network: {layers: [{weight: W1, activation: identity}, {weight: W2, activation: identity}]}
params: {W1: [[0.3]], W2: [[0.7]]}
data: {x: [0.9], y: [0.2]}
loss: mse
train: {lr: LR, steps: STEPS}
"""


def test_fifty_exact_training_steps_solve(runner, tmp_path):
    """Exact fractions double in size every step; past 256 bits they continue at 45 digits."""
    spec = tmp_path / "t.yaml"
    spec.write_text(ONE_BY_ONE.replace("LR", "0.1").replace("STEPS", "50"))
    result = solve(runner, spec, "--format", "json")
    assert result.exit_code == 0, result.stderr
    losses = [json.loads(result.stdout)["quantities"][f"step{k}.loss"] for k in (1, 50)]
    assert 0 < losses[1] < losses[0]


def test_a_diverging_step_is_bad_input(runner, tmp_path):
    spec = tmp_path / "t.yaml"
    spec.write_text(ONE_BY_ONE.replace("LR", "1000").replace("STEPS", "6").replace("0.3", "3").replace("0.7", "7"))
    result = solve(runner, spec, "--format", "json")
    assert result.exit_code == 2, result.output
    assert "float64" in result.stderr
    no_traceback(result)


CUSTOM = """\
bpcheck: 1
id: custom
network: {layers: [{weight: W1, activation: "ACT"}, {weight: W2, activation: identity}]}
params: {W1: [[0.1, 0.2], [0.5, 0.5]], W2: [[0.7, 0.1]]}
data: {x: [1, 1], y: [0.2]}
loss: mse
"""


@pytest.mark.parametrize("act", ["relu(z - 0.3)", "z/2", "-z", "pi*z", "z*sigmoid(z)", "abs(z - 1)",
                                 "step(z, 1) * z", "sqrt(z**2)", "relu(z**2 - 0.01)"])
def test_custom_activations_solve(runner, tmp_path, act):
    """relu(z - 0.3) meets 0.1 + 0.2 = 0.3 exactly: its kink is placed at 0.3, not 0."""
    spec = tmp_path / "c.yaml"
    spec.write_text(CUSTOM.replace("ACT", act))
    result = solve(runner, spec, "--format", "json")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("act, message", [
    ("softplus(z, 0)", "above 0"),
    ("z/0", "divides by zero"),
    ("leaky_relu(z, z)", "must be a number"),
    ("((((z**16)**16)**16)**16)", "degree"),
    ("z @ z", "elementwise"),
    ("__import__('os')", "not allowed"),
])
def test_bad_custom_activations_are_bad_input(runner, tmp_path, act, message):
    spec = tmp_path / "c.yaml"
    spec.write_text(CUSTOM.replace('"ACT"', repr(act) if "'" not in act else '"' + act + '"'))
    result = solve(runner, spec, "--format", "json")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "c.yaml:3:" in result.stderr
    no_traceback(result)


@pytest.mark.parametrize("act", ["exp(16*z)", "relu(log(z - 1))"])
def test_custom_activations_out_of_range_are_bad_input(runner, tmp_path, act):
    """exp(16 z) leaves float64 after a step; log of a negative number is complex."""
    spec = tmp_path / "c.yaml"
    text = (ROOT / "problems" / "dsga1008-2020-p1.yaml").read_text()
    spec.write_text(text.replace("activation: relu", f'activation: "{act}"') + "train: {lr: 0.1, steps: 2}\n")
    result = solve(runner, spec, "--format", "json")
    assert result.exit_code == 2, result.output
    no_traceback(result)


def test_a_perfect_fit_solves(runner, tmp_path):
    """Loss and gradients ~0: finite differences must not call rounding a disagreement."""
    spec = tmp_path / "p.yaml"
    spec.write_text((ROOT / "problems" / "dsga1008-2020-p1.yaml").read_text().replace("y: [1.0]", "y: [0.604]"))
    result = solve(runner, spec, "--format", "json")
    assert result.exit_code == 0, result.stderr


def test_a_special_file_is_refused(runner):
    result = runner.invoke(main, ["hash", "/dev/zero"])
    assert result.exit_code == 2 and "not a regular file" in result.stderr
