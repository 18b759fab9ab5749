"""Issue 10: the default tolerance grants one unit of the last decimal a student wrote.

Both sides are shown: the seed-003 student's own numbers (4 decimals, rounded as
they went; transcribed from ../shared/seeds/003) earn full marks on a spec of that
exercise with the *default* tolerance, and each catalogue mistake, rounded to 4
decimals, is still wrong and named. Every expected value is computed here with
numpy from the seed's numbers, never read from bpcheck.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from backprop_check.answers import load_answers
from backprop_check.cli import main
from backprop_check.tolerance import Tolerance, written_unit

ROOT = Path(__file__).resolve().parent.parent
EX2 = ROOT / "problems" / "assignment1-ex2.yaml"
MISTAKES = ROOT / "fixtures" / "mistakes"

# seed 003, exercise 2, as the student wrote it (S1, Z1 are z1, z2; delta_2 is dl/dz3)
STUDENT = {
    "S1": [["0.458", "0.1205", "-0.442", "0.1195"], ["0.869", "0.1615", "-0.181", "0.1185"],
           ["0.704", "0.044", "0.704", "-0.044"]],
    "Z1": [["0.458", "0.1205", "0", "0.1195"], ["0.869", "0.1615", "0", "0.1185"], ["0.704", "0.044", "0.704", "0"]],
    "Y_out": [["0.0985", "0.0112", "0.0633", "0.0059"]],
    "loss": "0.49161",
    "dl/dz3": [["-0.2253", "-0.2471", "0.2658", "0.2514"]],
    "dl/dW2": [["-0.1029", "-0.2059", "0.0176"]],
    "dl/dz1": [["-0.0045", "-0.0049", "0", "0.0050"], ["-0.0068", "-0.0074", "0", "0.0075"],
               ["-0.0203", "-0.0222", "0.0239", "0"]],
    "dl/dW1": [["-0.0033", "-0.0041"], ["-0.0050", "-0.0061"], ["-0.0376", "0.0018"]],
    "step1.W2": [["0.0714", "0.1329", "0.0811"]],
    "step1.W1": [["0.6016", "0.0120"], ["0.7025", "0.4330"], ["0.0188", "0.8790"]],
}


def exact_ex2():
    """The exercise by numpy: W1 3x2, W2 1x3, ReLU, identity, loss 1/(2N) ||Y - Yhat||^2, lr 0.5."""
    W1 = np.array([[0.6, 0.01], [0.7, 0.43], [0, 0.88]])
    W2 = np.array([[0.02, 0.03, 0.09]])
    X = np.array([[0.75, 0.2, -0.75, 0.2], [0.8, 0.05, 0.8, -0.05]])
    Y = np.array([[1, 1, -1, -1]])
    n = X.shape[1]
    S1 = W1 @ X
    Z1 = np.maximum(S1, 0)
    Yh = W2 @ Z1
    d2 = (Yh - Y) / n
    dW2 = d2 @ Z1.T
    d1 = (W2.T @ d2) * (S1 > 0)
    dW1 = d1 @ X.T
    return {"S1": S1, "Z1": Z1, "Y_out": Yh, "loss": ((Yh - Y) ** 2).sum() / (2 * n), "dl/dz3": d2,
            "dl/dW2": dW2, "dl/dz1": d1, "dl/dW1": dW1, "step1.W2": W2 - 0.5 * dW2, "step1.W1": W1 - 0.5 * dW1}


def default_spec(tmp_path: Path, source: Path = EX2) -> Path:
    """`source` with its tolerance line removed: the default tolerance."""
    text = re.sub(r"(?m)^tolerance:.*\n", "", source.read_text())
    out = tmp_path / source.name
    out.write_text(text)
    return out


def write(path: Path, answers: dict, problem: Path) -> Path:
    lines = ["bpcheck: 1", f"problem: {json.dumps(str(problem))}", "answers:"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in answers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def grade(path: Path) -> dict:
    result = CliRunner().invoke(main, ["grade", str(path), "--format", "json"])
    assert "Traceback" not in result.output, result.output
    return json.loads(result.stdout)["results"][0]


def by_quantity(result: dict) -> dict:
    return {q["quantity"]: q for q in result["questions"]}


# ------------------------------------------------------------------ the rule itself

@pytest.mark.parametrize("text, value, unit", [
    ("0.0050", 0.005, 1e-4), ("-0.0033", -0.0033, 1e-4), ("0.49161", 0.49161, 1e-5), ("12.", 12.0, 1.0),
    ("1.76e-2", 0.0176, 1e-4), ("0.02", 0.02, 0.0), ("3", 3.0, 0.0), ("0", 0.0, 0.0), ("0.0", 0.0, 0.0),
    ("3/4", 0.75, 0.0),
])
def test_the_unit_of_the_last_written_decimal(text, value, unit):
    # "0.02" has one significant figure: too coarse for the rule; integers and fractions are exact
    assert written_unit(text, value) == pytest.approx(unit, rel=1e-12, abs=0)


def test_one_unit_of_the_last_decimal_is_accepted_and_no_more():
    tol = Tolerance()
    # truth -0.0033631275 (seed 003's dl/dW1[0][0]); rtol 5e-3 and atol 1e-3*0.0376 do not reach -0.0033
    truth = np.array([-0.0033631275, -0.03760502625])
    got = np.array([-0.0033, -0.0376])
    assert not tol.accepts(truth, got).all()
    assert tol.accepts(truth, got, np.array([1e-4, 1e-4])).all()
    assert not tol.accepts(truth, np.array([-0.0031, -0.0376]), np.array([1e-4, 1e-4])).all()  # 2.6 units


def test_a_chosen_tolerance_turns_the_rule_off_unless_asked():
    truth, got, unit = np.array([-0.0033631275]), np.array([-0.0033]), np.array([1e-4])
    assert not Tolerance.from_spec({"rtol": 1e-3, "atol": 1e-6}).accepts(truth, got, unit).all()
    assert Tolerance.from_spec({"rtol": 1e-3, "atol": 1e-6, "last_digit": True}).accepts(truth, got, unit).all()
    assert not Tolerance.from_spec({}, {"last_digit": False}).accepts(truth, got, unit).all()
    assert not Tolerance.from_spec({"sigfigs": 3, "last_digit": True}).accepts(truth, got, unit).all()


def test_describe_says_the_rule():
    assert "one unit of the last decimal place written" in Tolerance().describe()
    assert "last decimal" not in Tolerance.from_spec({"rtol": 1e-3}).describe()


def test_answers_keep_the_unit_of_each_entry(tmp_path):
    f = write(tmp_path / "a.yaml", {"dl/dz1": [["-0.0045", "0", "0.0050"]], "loss": "0.49161",
                                    "z1": [["1/4", "1 - 0.5*0.2"]]}, EX2)
    answers = load_answers(f).answers
    assert answers["dl/dz1"].ulp[0].tolist() == pytest.approx([1e-4, 0.0, 1e-4])
    assert float(answers["loss"].ulp) == pytest.approx(1e-5)
    assert answers["z1"].ulp.tolist() == [[0.0, 0.0]]  # a fraction and written arithmetic are exact


# ------------------------------------------------------------------ seed 003 under the default tolerance

def test_seed_003_numbers_are_within_one_unit_by_numpy():
    truth = exact_ex2()
    for name, written in STUDENT.items():
        got = np.array(written, dtype=float)
        assert np.all(np.abs(got - truth[name]) <= 1e-4 * 1.0000001 + 1e-5 * (name == "loss")), name


def test_seed_003_gets_full_marks_under_the_default_tolerance(tmp_path):
    spec = default_spec(tmp_path)
    result = grade(write(tmp_path / "s003.answers.yaml", STUDENT, spec))
    wrong = {q["quantity"]: q["message"] for q in result["questions"] if q["status"] != "correct"}
    assert wrong == {}
    assert result["score"] == result["max_score"] == 12
    assert "last decimal" in result["questions"][0]["tolerance"]


def test_seed_003_without_the_rule_loses_dl_dW1(tmp_path):
    # the rule is what gives the marks: with last_digit: false, -0.0033 for -0.003363 is wrong
    spec = default_spec(tmp_path)
    spec.write_text(spec.read_text().replace("questions:", "tolerance: {last_digit: false}\nquestions:"))
    result = grade(write(tmp_path / "s003.answers.yaml", STUDENT, spec))
    assert by_quantity(result)["dl/dW1"]["status"] == "incorrect"


# ------------------------------------------------------------------ the catalogue, rounded to 4 decimals

CASES = yaml.safe_load((MISTAKES / "expected.yaml").read_text())


def _round4(value):
    if isinstance(value, list):
        return [_round4(v) for v in value]
    return f"{float(value):.4f}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_catalogue_mistake_rounded_to_4_decimals_is_still_wrong_and_named(tmp_path, name):
    """fixtures/mistakes (computed by make.py's own numpy, not bpcheck) with the one mistaken
    answer rounded to 4 decimals as a student writes it, graded under the default tolerance."""
    case = CASES[name]
    if case["tags"] == ["rounding-carried"]:
        pytest.skip("rounding-carried is the error the rule forgives (see the next test)")
    source = ROOT / case["problem"]
    spec = default_spec(tmp_path, source)
    answers = yaml.safe_load((MISTAKES / name).read_text())["answers"]
    answers[case["quantity"]] = _round4(answers[case["quantity"]])
    result = grade(write(tmp_path / name, answers, spec))
    finding = by_quantity(result)[case["quantity"]]
    assert finding["status"] == case["status"], finding["message"]
    assert set(case["tags"]) <= set(finding["tags"]), finding["message"]


def test_rounded_intermediates_are_not_called_another_mistake(tmp_path):
    """The rounding-carried fixture (4-decimal intermediates) under the default tolerance:
    forgiven, or at most named as rounding, never as another catalogue mistake."""
    case = CASES["rounding-carried.answers.yaml"]
    spec = default_spec(tmp_path, ROOT / case["problem"])
    answers = yaml.safe_load((MISTAKES / "rounding-carried.answers.yaml").read_text())["answers"]
    finding = by_quantity(grade(write(tmp_path / "r.yaml", answers, spec)))[case["quantity"]]
    assert set(finding["tags"]) <= {"rounding-carried"}, finding["message"]
