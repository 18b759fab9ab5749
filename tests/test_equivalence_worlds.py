"""Formula grading rules that the seed table does not reach: the random worlds (their
number, domains and the `_nearby` fallback for narrow domains), the two one-sided
verdicts, the transpose hint, the undefined-everywhere-else verdict, and `_close`.

Expectations are literals or computed here (bounds written from the README's rules:
"each entry moved by up to 10%", targets in [0, 1] for BCE, one-hot for cross-entropy).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backprop_check import equivalence as E
from backprop_check import grade as G
from backprop_check.solve import solve
from backprop_check.spec import load_problem, parse_problem

ROOT = Path(__file__).resolve().parents[1]
_SOLVED: dict = {}


def solved(key: str):
    if key not in _SOLVED:
        text = SPECS.get(key)
        _SOLVED[key] = solve(parse_problem(text) if text else load_problem(ROOT / "problems" / f"{key}.yaml"))
    return _SOLVED[key]


def fit(e, s):
    return G.fit_shape(e, s, "the shape")


def verdict(key: str, quantity: str, text: str) -> E.Verdict:
    return E.grade_text(solved(key), quantity, text, fit)


# sqrt(z) on layer 1: at random signed inputs z1 is mostly negative (undefined), so most
# worlds come from the fallback near the problem's own values.
NARROW = """\
bpcheck: 1
id: narrow
network:
  layers:
    - {weight: W1, bias: b1, activation: "sqrt(z)"}
    - {weight: W2, activation: identity}
params:
  W1: [[0.5, 0.3], [0.4, 0.6], [0.2, 0.7]]
  b1: [1, 1.5, 2]
  W2: [[1, -1, 0.5]]
data:
  x: [[1, 0.5], [2, 1]]
  y: [[1, 0]]
loss: {type: mse}
"""

# twelve units at z1 = 0.01 exactly (b1 = 0.01 − W1 x): defined at the problem's values,
# undefined almost anywhere else (each unit goes negative half the time)
_ROWS = [[0.5, 0.25], [0.3, 0.4], [0.2, 0.6], [0.7, 0.1], [0.1, 0.9], [0.6, 0.3], [0.4, 0.4], [0.8, 0.2],
         [0.25, 0.5], [0.9, 0.05], [0.35, 0.35], [0.15, 0.75]]
UNDEFINED = f"""\
bpcheck: 1
id: undefined-elsewhere
network:
  layers:
    - {{weight: W1, bias: b1, activation: "sqrt(z)"}}
    - {{weight: W2, activation: identity}}
params:
  W1: {_ROWS}
  b1: {[round(0.01 - r[0] - 2 * r[1], 6) for r in _ROWS]}
  W2: [[1, -1, 0.5, 0.5, -0.5, 1, 1, -1, 0.5, 0.5, -0.5, 1]]
data:
  x: [1, 2]
  y: [1]
loss: {{type: mse}}
"""

# every hidden unit active at the problem's values (z1 = [1, 1.2, 1.4])
ALL_ACTIVE = """\
bpcheck: 1
id: all-active
network:
  layers:
    - {weight: W1, bias: b1, activation: relu}
    - {weight: W2, activation: identity}
params:
  W1: [[0.5, 0.2], [0.3, 0.4], [0.1, 0.6]]
  b1: [0.1, 0.1, 0.1]
  W2: [[1, -1, 0.5]]
data:
  x: [1, 2]
  y: [1]
loss: {type: mse}
"""

# one hidden ReLU unit: dead at some random worlds, active at others
ONE_UNIT = """\
bpcheck: 1
id: one-unit
network:
  layers:
    - {weight: W1, bias: b1, activation: relu}
    - {weight: W2, activation: identity}
params:
  W1: [[0.5, -0.3]]
  b1: [0.1]
  W2: [[2]]
data:
  x: [1, 0.5]
  y: [1]
loss: {type: mse}
"""

SPECS = {"narrow": NARROW, "undefined": UNDEFINED, "all-active": ALL_ACTIVE, "one-unit": ONE_UNIT}
INPUTS = ("x", "W1", "b1", "W2")


# ------------------------------------------------------------- the worlds

@pytest.mark.parametrize("key", ["dsga1008-2022-p1", "dsga1008-2022-p2b", "batch-rows-softmax", "narrow"])
def test_six_finite_worlds(key):
    worlds = E.worlds(solved(key))
    assert len(worlds) == 6
    for w in worlds:
        for name, value in w.items():
            assert np.all(np.isfinite(np.asarray(value, dtype=float))), name


def _is_nearby(world: dict, env: dict) -> bool:
    """Each input entry within 10% (+ 0.01) of the problem's, targets within 0.1."""
    for name in INPUTS:
        v, w = np.asarray(env[name], float), np.asarray(world[name], float)
        if not np.all(np.abs(w - v) <= 0.1 * np.abs(v) + 0.01 + 1e-12):
            return False
    return bool(np.all(np.abs(np.asarray(world["y"]) - np.asarray(env["y"])) <= 0.1 + 1e-12))


def test_narrow_domain_falls_back_to_worlds_near_the_problem():
    solution = solved("narrow")
    env = solution.env
    worlds = E.worlds(solution)
    near = [w for w in worlds if _is_nearby(w, env)]
    assert len(near) >= 4  # sqrt of a signed random z1 is rarely defined: most worlds are near
    for w in worlds:
        assert np.all(np.asarray(w["z1"]) >= 0)  # sqrt's domain held at every world
    moves = np.concatenate([(np.asarray(w["x"]) - np.asarray(env["x"])).ravel() for w in near])
    assert moves.min() < 0 < moves.max()  # moved both ways, not all by the same amount
    ys = np.concatenate([(np.asarray(w["y"]) - np.asarray(env["y"])).ravel() for w in near])
    assert ys.min() < 0 < ys.max()
    assert len({round(float(np.asarray(w["x"]).ravel()[0]), 12) for w in worlds}) == 6  # six distinct points


def test_narrow_domain_formulas_are_graded_at_the_nearby_worlds():
    assert verdict("narrow", "dl/dW2", "dl/dz3 @ z2.T").status == "correct"
    v = verdict("narrow", "dl/dW2", "dl/dz3 @ z1.T")  # wrong at the problem's values: shown there first
    assert v.status == "incorrect" and v.message.startswith("differs from the reference at the problem's values")


def test_undefined_everywhere_else_cannot_be_checked():
    """No world is defined: a formula right at the problem's values is `invalid` (the
    instructor must look), a wrong one `incorrect`."""
    assert E.worlds(solved("undefined")) == []
    right = verdict("undefined", "dl/dW2", "dl/dz3 @ z2.T")
    wrong = verdict("undefined", "dl/dW2", "dl/dz3 @ z1.T")
    assert right.status == "invalid" and wrong.status == "incorrect"
    for v in (right, wrong):
        assert v.message == ("cannot be checked away from the problem's values (the reference is undefined "
                             "at every other point tried); ask your instructor")


def test_bce_targets_stay_in_the_unit_interval():
    for w in E.worlds(solved("dsga1008-2022-p2b")):
        y = np.asarray(w["y"])
        assert np.all((0.05 <= y) & (y <= 0.95))


def test_cross_entropy_targets_are_one_hot_over_every_class():
    solution = solved("batch-rows-softmax")  # rows: N = 3 samples × K = 3 classes
    seen = set()
    for w in E.worlds(solution):
        y = np.asarray(w["y"])
        assert set(np.unique(y)) <= {0.0, 1.0}
        assert y.sum(axis=1).tolist() == [1.0] * y.shape[0]  # one class per sample (a row)
        seen |= set(np.argmax(y, axis=1).tolist())
    assert seen == {0, 1, 2}


def test_local_jacobian_formulas_are_checked_at_random_worlds():
    """Single-sample problems define dz2/dz1; its formula has reference worlds too."""
    v = verdict("dsga1008-2022-p1", "dz2/dz1", "diag(5*step(z1))")
    assert (v.status, v.message) == ("correct", "correct (equal to the reference formula)")
    v = verdict("dsga1008-2022-p1", "dz2/dz1", "diag(step(z1))")  # wrong at the problem's values: shown there
    assert v.status == "incorrect" and v.message.startswith("differs from the reference at the problem's values")


# ------------------------------------------------------------- one-sided verdicts

def test_equal_at_random_points_but_not_at_the_problem_values():
    """fixtures/problems/relu-zero.yaml has z1 = [0.75, 0, −0.25]: step(z1, 1) takes 1 at the
    kink where the spec says ReLU′(0) = 0; random points have no exact zeros."""
    solution = solve(load_problem(ROOT / "fixtures" / "problems" / "relu-zero.yaml"))
    v = E.grade_text(solution, "dz2/dz1", "diag(step(z1, 1))", fit)
    assert v.status == "incorrect"
    assert v.message == ("equal to the reference at random points but not at the problem's values "
                         "(expected [[1, 0, 0], [0, 0, 0], [0, 0, 0]], "
                         "your formula gives [[1, 0, 0], [0, 1, 0], [0, 0, 0]])")  # short numbers, no numpy repr


def test_matches_at_the_problem_values_only():
    """Every unit active at the problem's values: dropping ReLU′ changes nothing there,
    and something at a random point."""
    v = verdict("all-active", "dl/dz1", "dl/dz2")
    assert v.status == "incorrect"
    assert v.message.startswith("matches at the problem's values only; differs from the reference at a "
                                "random point (dl/dz2 = [")
    assert "your formula gives [" in v.message and ", the reference [" in v.message
    assert "[[" not in v.message  # column vectors are shown flat


# ------------------------------------------------------------- diagnosis at every world

def _z1_signs(key: str) -> set:
    return {bool(np.asarray(w["z1"]).ravel()[0] > 0) for w in E.worlds(solved(key))}


def test_a_tag_holds_where_the_quantity_vanishes_too():
    """One ReLU unit, dead at some worlds (dl/dW1 = 0 there, and −0 = 0): the sign flip
    still explains the formula at every world."""
    assert _z1_signs("one-unit") == {True, False}
    v = verdict("one-unit", "dl/dW1", "-(dl/dz1 @ x.T)")
    assert (v.status, v.tags) == ("incorrect", ["sign-flipped"])
    assert v.message.endswith("; probably the sign is flipped")


def test_a_slope_mistake_must_explain_every_world():
    """dl/dz2 · step(−z1) equals the f′-missing value where the unit is dead, and not where
    it is active: no tag (a mistake is named only if it explains every random point)."""
    assert _z1_signs("one-unit") == {True, False}
    v = verdict("one-unit", "dl/dz1", "dl/dz2 * step(-z1)")
    assert (v.status, v.tags) == ("incorrect", [])


def test_derivative_at_output_message_names_the_layer_and_the_output():
    v = verdict("dsga1008-2022-p2a", "dl/dz1", "dl/dz2 * (1 - tanh(z2)**2)")
    assert (v.status, v.tags) == ("incorrect", ["derivative-at-output"])
    assert v.message.endswith("; probably layer 1's f′ is evaluated at z2")


def test_diagnose_evaluates_the_formula_itself_when_not_given_values():
    solution = solved("dsga1008-2022-p1")
    node = E.parse_answer(solution, "dl/dz2")
    assert E.diagnose(solution, "dl/dz1", node) == (["activation-derivative-missing"],
                                                    ["layer 1's f′ is missing"])


# ------------------------------------------------------------- the transpose hint

def test_transpose_hint_names_the_part_to_transpose():
    v = verdict("dsga1008-2022-p1", "dl/dW1", "dl/dz1 @ x")
    assert (v.status, v.tags) == ("invalid", ["transposed"])
    assert v.message.endswith(": x where xᵀ belongs?")
    v = verdict("dsga1008-2022-p1", "dl/dW1", "(dl/dz1 @ x.T).T")
    assert v.tags == ["transposed"] and v.status == "invalid"


def test_no_transpose_hint_when_no_transpose_gives_the_reference():
    """W1 @ W1 does not evaluate; W1ᵀ @ W1 and W1 @ W1ᵀ do, but are not dl/dW1."""
    v = verdict("dsga1008-2022-p1", "dl/dW1", "W1 @ W1")
    assert (v.status, v.tags) == ("invalid", [])
    assert v.message.startswith("the formula cannot be evaluated: ")


# ------------------------------------------------------------- _close

@pytest.mark.parametrize("a, b, close", [
    ([1.0, 2.0], [1.0, 2.0], True),
    ([1.0 + 1e-8, 2.0], [1.0, 2.0], True),      # within the relative 1e-7
    ([1.0 + 1e-6, 2.0], [1.0, 2.0], False),
    ([1e-10, 1.0], [0.0, 1.0], True),           # an exact 0 graded by the largest entry
    ([1e-8, 1.0], [0.0, 1.0], False),
    ([0.0], [0.0], True),                        # zeros are close to zeros
    ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], False),  # sizes differ
    ([[1.0, 2.0]], [[1.0], [2.0]], True),        # one vector in either orientation
])
def test_close(a, b, close):
    assert E._close(np.array(a), np.array(b)) is close


@pytest.mark.parametrize("key, quantity, text", [
    ("assignment1-ex2", "dl/dz1", "dl/dz2"),            # columns, N = 4, ReLU
    ("assignment1-ex2", "dl/dW1", "(dl/dz2) @ x.T"),
    ("batch-rows-softmax", "dl/dz1", "dl/dz2"),          # rows, N = 3, leaky ReLU
])
def test_slope_mistake_in_a_batch_formula(key, quantity, text):
    """The mistaken reference worlds are built for a batch too (no local Jacobians there)."""
    v = verdict(key, quantity, text)
    assert (v.status, v.tags) == ("incorrect", ["activation-derivative-missing"])
    assert v.message.endswith("; probably layer 1's f′ is missing")


# six sqrt units at z1 = 0.05 (b1 = 0.05 − W1 x): about one nearby draw in eight is defined
_SIX = _ROWS[:6]
SPARSE = f"""\
bpcheck: 1
id: sparse
network:
  layers:
    - {{weight: W1, bias: b1, activation: "sqrt(z)"}}
    - {{weight: W2, activation: identity}}
params:
  W1: {_SIX}
  b1: {[round(0.05 - r[0] - 2 * r[1], 6) for r in _SIX]}
  W2: [[1, -1, 0.5, 0.5, -0.5, 1]]
data:
  x: [1, 2]
  y: [1]
loss: {{type: mse}}
"""
SPECS["sparse"] = SPARSE


def test_a_sparse_domain_uses_the_whole_retry_budget():
    """Random signed points are never defined here, and nearby ones about one time in
    eight: the 40 nearby tries find several worlds (20 would find one or two)."""
    solution = solved("sparse")
    worlds = E.worlds(solution)
    assert 4 <= len(worlds) <= 6
    assert all(_is_nearby(w, solution.env) and np.all(np.asarray(w["z1"]) >= 0) for w in worlds)
    assert verdict("sparse", "dl/dW2", "dl/dz3 @ z2.T").status == "correct"


@pytest.mark.parametrize("terms, hinted", [(27, True), (28, False)])
def test_the_transpose_search_is_bounded(terms, hinted):
    """Parts are tried in pre-order, at most 60 of them: in 0·(W1 + … + W1) + dl/dz1 @ x
    with m terms, x is part 2m + 4 (root, 0·(…), 0, 2m − 1 parts of the sum, @, dl/dz1):
    part 58 for m = 27 is tried, part 60 for m = 28 is not."""
    text = "0 * (" + " + ".join(["W1"] * terms) + ") + dl/dz1 @ x"
    v = verdict("dsga1008-2022-p1", "dl/dW1", text)
    assert v.status == "invalid"
    if hinted:
        assert v.tags == ["transposed"] and v.message.endswith(": x where xᵀ belongs?")
    else:
        assert v.tags == [] and v.message.startswith("the formula cannot be evaluated: ")
