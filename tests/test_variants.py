"""Per-student variants (FORMAT.md section 7): the drawing contract, redraws, `bpcheck variant`,
grading against a student's own variant, and bad `random:` sections.

Expected draws are computed here by an independent few lines of hashlib (and a few were worked
out once with a stand-alone hashlib one-liner and written in), never read off bpcheck.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from fractions import Fraction
from math import ceil, floor
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_check import variant_checks, variants
from backprop_check.cli import main
from backprop_check.errors import InputError
from backprop_check.spec import load_problem, parse_problem

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "problems" / "variant-relu-template.yaml"


def expected(pid: str, salt: str, student: str, name: str, index: int, attempt: int,
             low: str, high: str, decimals: int) -> Fraction:
    """The contract's formula, written out again from the README's words."""
    message = f"bpcheck-variant-v1|{pid}|{salt}|{student}|{name}|{index}|{attempt}"
    h = int.from_bytes(hashlib.sha256(message.encode("utf-8")).digest()[:8], "big")
    first, last = ceil(Fraction(low) * 10 ** decimals), floor(Fraction(high) * 10 ** decimals)
    return Fraction(first + h % (last - first + 1), 10 ** decimals)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def flat(m) -> list:
    return [v for row in m for v in row]


def one_relu(tmp_path: Path, rng: str, extra: str = "", x: str = "1", loss: str = "mse",
             act: str = "relu", w: str = "0.5", y: str = "3") -> Path:
    """z1 = w·x, one unit, one sample: with x = 1 the pre-activation is the drawn w itself
    (y = 3: no w in [-1, 1] fits it, so the loss is never at its minimum)."""
    path = tmp_path / "one.yaml"
    path.write_text(f"""bpcheck: 1
id: one-unit
network:
  layers:
    - {{weight: W1, activation: {act}}}
params:
  W1: [[{w}]]
data:
  x: [[{x}]]
  y: [[{y}]]
loss: {{type: {loss}}}
random:
  W1: {rng}
{extra}""", encoding="utf-8")
    return path


# ------------------------------------------------------------------ the contract

def test_fixed_draws_of_the_shipped_template():
    """Worked out with a stand-alone hashlib one-liner: alice's W1 and bob's x at attempt 0."""
    p = load_problem(TEMPLATE)
    alice = variants.draws(p, "alice", 0)
    assert alice["W1"] == [Fraction(v) for v in ("-0.7", "-0.5", "0.5", "-0.7", "-0.6", "-0.1")]
    assert variants.draws(p, "bob", 0)["x"] == [Fraction(v) for v in ("0.2", "0.8", "0.2", "-0.1")]


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="|", blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
               min_size=1, max_size=30).filter(lambda s: s.strip() == s and s), st.integers(0, 5))
def test_every_entry_is_the_contracts_formula(student, attempt):
    p = load_problem(TEMPLATE)
    for rng in p.random.ranges:
        got = variants.draws(p, student, attempt)[rng.name]
        want = [expected(p.id, "fall-2026", student, rng.name, i, attempt, rng.low, rng.high, rng.decimals)
                for i in range(len(got))]
        assert got == want


def test_the_printed_variant_holds_the_chosen_draw_and_no_random(tmp_path):
    p = load_problem(TEMPLATE)
    attempt, variant = variants.chosen(p, "bob")
    result = run("variant", TEMPLATE, "--student", "bob")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.output)
    assert "random" not in data and data["id"] == "variant-relu-template"
    assert "attempt 0" in result.output.splitlines()[0] and attempt == 0
    assert [Fraction(str(v)) for v in flat(data["data"]["x"])] == [
        expected(p.id, "fall-2026", "bob", "x", i, 0, "-2", "2", 1) for i in range(4)]
    printed = tmp_path / "bob.yaml"
    printed.write_text(result.output, encoding="utf-8")
    again = load_problem(printed)
    assert again.random is None and again.params == variant.params and again.x == variant.x
    assert again.y == p.y and again.params["b2"] == p.params["b2"]  # what random: does not name stays


def test_same_student_same_numbers_in_other_processes():
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    outs = {subprocess.run([sys.executable, "-m", "backprop_check", "variant", str(TEMPLATE), "--student", "zoe"],
                           capture_output=True, text=True, env={**env, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")}
    assert len(outs) == 1 and "W1:" in outs.pop()


def test_students_and_salts_differ(tmp_path):
    p = load_problem(TEMPLATE)
    numbers = {tuple(flat(variants.problem_for(p, f"s{k}").params["W1"])) for k in range(10)}
    assert len(numbers) == 10
    salted = tmp_path / "salted.yaml"
    salted.write_text(TEMPLATE.read_text().replace("salt: fall-2026", "salt: spring-2027"))
    assert variants.draws(load_problem(salted), "s1", 0) != variants.draws(p, "s1", 0)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10 ** 6))
def test_draws_stay_in_range_on_the_grid(k):
    rng = variants.Range("w", Fraction("0.05"), Fraction("0.37"), 2, ((0, 1),) * 3)
    for i in range(3):
        v = variants.number("p", "", f"s{k}", rng, i, 0)
        assert Fraction("0.05") <= v <= Fraction("0.37") and (v * 100).denominator == 1
    whole = variants.Range("w", Fraction(-3), Fraction(3), 0, ((0, 1),))
    assert variants.number("p", "", f"s{k}", whole, 0, 0) in {Fraction(n) for n in range(-3, 4)}


@pytest.mark.parametrize("value, decimals, text", [
    (Fraction(-3, 10), 1, "-0.3"), (Fraction(1), 2, "1"), (Fraction(0), 3, "0"), (Fraction(1, 4), 2, "0.25"),
    (Fraction(-1205, 1000), 3, "-1.205"), (Fraction(-5, 100), 2, "-0.05")])
def test_numbers_are_written_as_short_decimals(value, decimals, text):
    assert variants.decimal(value, decimals) == text


def test_the_answer_key_student_has_the_template_numbers():
    p = load_problem(TEMPLATE)
    attempt, variant = variants.chosen(p, "answer-key")
    assert attempt is None and variant.params == p.params and variant.random is None


# ------------------------------------------------------------------ redraws

def first_passing(student: str, passes) -> int:
    """The first attempt whose drawn w (the 1×1 weight in [-1, 1], one decimal) passes."""
    for attempt in range(100):
        w = expected("one-unit", "", student, "W1", 0, attempt, "-1", "1", 1)
        if passes(w):
            return attempt
    raise AssertionError("no attempt passes")


def students_whose_first_draw(test) -> list:
    return [s for s in (f"u{k}" for k in range(300)) if test(expected("one-unit", "", s, "W1", 0, 0, "-1", "1", 1))]


def test_a_kink_within_avoid_kinks_is_redrawn(tmp_path):
    """relu(w·1): w = 0.1 is 0.1 from the kink (not dead: relu(0.1) = 0.1); accepted from w = 0.2 on."""
    p = load_problem(one_relu(tmp_path, "{low: -1, high: 1, decimals: 1}", "  avoid_kinks: 0.1"))
    near = students_whose_first_draw(lambda w: w == Fraction(1, 10))
    assert near
    for student in near[:3]:
        attempt, variant = variants.chosen(p, student)
        assert attempt == first_passing(student, lambda w: w >= Fraction(2, 10)) > 0
        assert variant.params["W1"][0][0] >= Fraction(2, 10)
    kinked = parse_problem(one_relu(tmp_path, "{low: -1, high: 1}", "  avoid_kinks: 0.1", w="0.1").read_text())
    assert "within avoid_kinks" in variant_checks.rejection(kinked, Fraction(1, 10), variant_checks.baseline(p))


def test_a_dead_layer_is_redrawn_without_avoid_kinks(tmp_path):
    """relu(w·1) with w ≤ 0 outputs 0 for every unit and sample: w = 0 too (on the kink, no avoid_kinks)."""
    p = load_problem(one_relu(tmp_path, "{low: -1, high: 1, decimals: 1}"))
    dead = students_whose_first_draw(lambda w: w <= 0)
    for student in dead[:3]:
        assert variants.chosen(p, student)[0] == first_passing(student, lambda w: w > 0) > 0
    zero = parse_problem(one_relu(tmp_path, "{low: -1, high: 1}", w="-0.4").read_text())
    assert "dead layer" in variant_checks.rejection(zero, None, variant_checks.baseline(p))


def test_a_zero_gradient_is_redrawn(tmp_path):
    """identity(w·x) with y = w·x exactly: the loss is at its minimum and dl/dW1 = 0."""
    p = load_problem(one_relu(tmp_path, "{low: -1, high: 1}", act="identity", y="0.9"))
    fit = parse_problem(one_relu(tmp_path, "{low: -1, high: 1}", act="identity", y="0.3", w="0.3").read_text())
    assert variant_checks.rejection(fit, None, variant_checks.baseline(p)) == "the gradient dl/dW1 is 0 everywhere"


def test_a_degeneracy_of_the_template_itself_is_not_held_against_a_variant(tmp_path):
    p = load_problem(one_relu(tmp_path, "{low: -1, high: -0.1}", w="-0.5"))  # dead in the template too
    assert variant_checks.rejection(p, None, variant_checks.baseline(p)) is None


def test_a_value_outside_the_loss_domain_is_redrawn(tmp_path):
    """sigmoid(0.5 · 100) is 1.0 in float64: bce's log(1 − ŷ) is undefined there."""
    spec = one_relu(tmp_path, "{low: 0.1, high: 1}", act="sigmoid", loss="bce", x="100", w="0.5", y="1")
    p = parse_problem(spec.read_text())
    assert "outside the loss's domain" in variant_checks.rejection(p, None, variant_checks.baseline(p))


def test_no_passing_variant_is_a_clear_error(tmp_path):
    path = one_relu(tmp_path, "{low: -1, high: -0.1}", w="0.5")
    with pytest.raises(InputError) as caught:
        variants.problem_for(load_problem(path), "ann")
    message = str(caught.value)
    assert "no variant" in message and "dead layer" in message and f"{path}:12:" in message


GRAPH = """bpcheck: 1
id: g
graph:
  inputs: {a: 0.5, b: 2}
  nodes:
    h: relu(a - 0.3)
    L: h * b
random:
  a: {low: -1, high: 1, decimals: 1}
  b: {low: -1, high: 1, decimals: 1}
"""


def test_graph_kinks_and_zero_gradients(tmp_path):
    base = parse_problem(GRAPH)
    near = parse_problem(GRAPH.replace("a: 0.5", "a: 0.35"))
    assert variant_checks.rejection(near, Fraction(1, 10), variant_checks.baseline(base)) == \
        "a kinked function in h has its argument within avoid_kinks of its kink"
    assert variant_checks.rejection(near, Fraction(1, 100), variant_checks.baseline(base)) is None
    flat_b = parse_problem(GRAPH.replace("b: 2", "b: 0"))
    assert variant_checks.rejection(flat_b, None, variant_checks.baseline(base)) == "the gradient dL/da is 0 everywhere"
    attempt, variant = variants.chosen(base, "kim")
    a, b = variant.graph.inputs["a"], variant.graph.inputs["b"]
    assert a > Fraction(3, 10) and b != 0  # h alive (dL/db ≠ 0) and dL/da = b ≠ 0


# ------------------------------------------------------------------ grading

@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("variant-keys")
    out = {}
    for student in ("alice", "bob"):
        spec = folder / f"{student}.yaml"
        assert run("variant", TEMPLATE, "--student", student, "-o", spec).exit_code == 0
        key = folder / f"{student}.answers.yaml"
        result = run("solve", spec, "--key", key)
        assert result.exit_code == 0, result.output
        out[student] = key
    return out


def graded(key: Path, *args):
    result = run("grade", key, "--problem", TEMPLATE, "--format", "json", *args)
    return result.exit_code, json.loads(result.output)["results"][0]


def test_a_students_key_scores_full_marks_on_their_own_variant_only(keys):
    code, r = graded(keys["alice"], "--student", "alice")
    assert code == 0 and r["score"] == r["max_score"] == 11 and r["student"] == "alice"
    code, r = graded(keys["alice"], "--student", "bob")
    assert code == 1 and r["score"] < r["max_score"] / 2


def test_the_files_student_picks_the_variant_and_a_pin_wins(keys, tmp_path):
    data = yaml.safe_load(keys["bob"].read_text())
    data["student"] = "bob"
    path = tmp_path / "bob.answers.yaml"
    path.write_text(yaml.safe_dump(data))
    assert graded(path)[0] == 0
    assert graded(path, "--student", "alice")[0] == 1


@pytest.mark.parametrize("student, reason", [(None, "names no student"), ("a|b", "without '|'"),
                                             ("a\x07b", "printable")])
def test_a_file_without_a_usable_student_is_invalid(keys, tmp_path, student, reason):
    data = yaml.safe_load(keys["bob"].read_text())
    data.pop("student")
    if student:
        data["student"] = student
    path = tmp_path / "anon.answers.yaml"
    path.write_text(yaml.safe_dump(data))
    code, r = graded(path)
    assert code == 1 and r["score"] == 0
    assert {q["status"] for q in r["questions"]} == {"invalid"}
    assert all(reason in q["message"] for q in r["questions"])


# ------------------------------------------------------------------ bpcheck variant

def test_check_solves_every_variant():
    result = run("variant", TEMPLATE, "--check", 5)
    assert result.exit_code == 0, result.output
    assert [l.split()[1] for l in result.output.splitlines()[:5]] == [f"check-{k}" for k in range(1, 6)]
    assert "5 of 5 variants" in result.output


def test_check_over_a_roster_reports_failures(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,Student\nAnn,ann01\nBo,bo02\n,\nAnn again,ann01\n")
    result = run("variant", TEMPLATE, "--roster", roster)
    assert result.exit_code == 0 and "2 of 2 variants" in result.output
    broken = one_relu(tmp_path, "{low: -1, high: -0.1}", w="0.5")  # every draw has a dead layer
    result = run("variant", broken, "--roster", roster, "--check", 1)
    assert result.exit_code == 1
    assert result.output.startswith("FAIL  ann01: no variant") and "0 of 1 variants" in result.output


@pytest.mark.parametrize("args, message", [
    (["--student", "a|b"], "without '|'"), ([], "give --student"), (["--student", "a", "--check", "2"], "give --student"),
    (["--roster", "{roster}"], "roster.csv:1: the roster has no 'student' column (its columns: 'name')")])
def test_variant_usage_errors(tmp_path, args, message):
    roster = tmp_path / "roster.csv"
    roster.write_text("name\nann\n")
    result = run("variant", TEMPLATE, *[a.replace("{roster}", str(roster)) for a in args])
    assert result.exit_code == 2 and message in result.output


def test_a_spec_without_random_has_no_variants():
    result = run("variant", ROOT / "problems" / "assignment1-ex2.yaml", "--student", "ann")
    assert result.exit_code == 2 and "no random: section" in result.output


def test_a_stamped_template_gives_stamped_variants(tmp_path):
    from backprop_check.specread import stamp_digest

    text = TEMPLATE.read_text()
    stamped = tmp_path / "stamped.yaml"
    stamped.write_text(text + f"sha256: {stamp_digest(text)}\n")
    result = run("variant", stamped, "--student", "ann", "-o", tmp_path / "ann.yaml")
    assert result.exit_code == 0, result.output
    assert load_problem(tmp_path / "ann.yaml").sha256 == stamp_digest((tmp_path / "ann.yaml").read_text())


# ------------------------------------------------------------------ bad random: sections

BAD = [
    ("  W3: {low: -1, high: 1}", 13, "unknown name 'W3' (allowed: W1, avoid_kinks, salt, x, y)"),
    ("  z1: {low: -1, high: 1}", 13, "'z1' is a computed value, not a number the spec gives"),
    ("  W1: {low: 1, high: -1}", 13, "low 1 is above high -1"),
    ("  W1: {low: -1, high: 1, decimals: 7}", 13, "decimals must be a whole number from 0 to 6"),
    ("  W1: {low: -1, high: 1, decimals: 1.5}", 13, "decimals must be a whole number from 0 to 6"),
    ("  W1: {low: 1e400, high: 1}", 13, "too large"),
    ("  W1: {low: -1}", 13, "has no 'high'"),
    ("  W1: {low: -1, high: 1, step: 2}", 13, "unknown key 'step'"),
    ("  W1: [-1, 1]", 13, "must be a range such as"),
    ("  W1: {low: 0.01, high: 0.04, decimals: 1}", 13, "no number with 1 decimals lies between 0.01 and 0.04"),
    ("  salt: a|b\n  W1: {low: -1, high: 1}", 13, "random.salt must be 1 to 100 printable characters"),
    ("  avoid_kinks: -0.1\n  W1: {low: -1, high: 1}", 13, "avoid_kinks must not be negative"),
    ("  salt: only-a-salt", 13, "random: draws nothing"),
    ("  y: {low: 0, high: 2}", 13, "random.y: bce needs 0 <= low and high <= 1"),
]


@pytest.mark.parametrize("section, line, message", BAD, ids=[b[2][:30] for b in BAD])
def test_bad_random_sections_exit_2_at_their_line(tmp_path, section, line, message):
    loss = "bce" if "y:" in section else "mse"
    path = tmp_path / "bad.yaml"
    path.write_text(one_relu(tmp_path, "{low: -1, high: 1}", act="sigmoid" if loss == "bce" else "relu",
                             loss=loss, y="1" if loss == "bce" else "3").read_text().replace("  W1: {low: -1, high: 1}\n", section + "\n"))
    result = run("solve", path)
    assert result.exit_code == 2, result.output
    assert f"bad.yaml:{line}:" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_a_graph_node_and_an_alias_are_refused(tmp_path):
    node = tmp_path / "node.yaml"
    node.write_text(GRAPH.replace("  b: {low", "  h: {low"))
    result = run("solve", node)
    assert result.exit_code == 2 and "node.yaml:10:" in result.output and "'h' is a node (computed)" in result.output
    alias = tmp_path / "alias.yaml"
    alias.write_text(GRAPH.replace("{a: 0.5, b: 2}", "{a: &v 0.5, b: *v}"))
    result = run("solve", alias)
    assert result.exit_code == 2 and "alias.yaml:4:" in result.output and "YAML alias" in result.output


def test_one_hot_targets_cannot_be_drawn(tmp_path):
    path = tmp_path / "ce.yaml"
    path.write_text("""bpcheck: 1
id: ce
network: {layers: [{weight: W1, activation: softmax}]}
params: {W1: [[1, 0], [0, 1]]}
data: {x: [1, 2], y: [0, 1]}
loss: {type: cross_entropy}
random:
  y: {low: 0, high: 1}
""")
    result = run("solve", path)
    assert result.exit_code == 2 and "ce.yaml:8:" in result.output and "one-hot" in result.output


def test_roster_ids_are_checked_at_their_line(tmp_path):
    """The variant command reads rosters with the handouts' reader: a bad id is named at its line."""
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nann\nbo|b\n")
    result = run("variant", TEMPLATE, "--roster", roster)
    assert result.exit_code == 2 and "roster.csv:3:" in result.output and "without '|'" in result.output
