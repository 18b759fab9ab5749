"""The shortcuts a class's grading takes give what the long way gives.

`numbers_read.plain` reads a plain decimal with float() instead of building
its exact fraction; the diagnosis compares an answer with every shared
candidate at once instead of one by one. Each is checked here against the
long way, on generated inputs.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_check.exact import parse_number
from backprop_check.numbers_read import plain
from backprop_check.tolerance import Tolerance, written_unit

decimals = st.builds(
    lambda sign, whole, places, point: sign + whole + ("." + places if point or not whole else ""),
    st.sampled_from(["", "-", "+"]), st.text("0123456789", max_size=25), st.text("0123456789", max_size=25),
    st.booleans()).filter(lambda t: t.lstrip("+-") not in ("", "."))


@given(decimals)
@settings(max_examples=500)
def test_plain_decimal_reads_as_its_exact_fraction(text):
    exact = parse_number(text)
    value, unit = plain(text)
    assert value == float(exact) and str(value) == str(float(exact))  # -0.0 is 0.0, as the fraction
    assert unit == written_unit(text, float(exact))


def test_plain_decimal_examples():
    assert plain("-0.0") == (0.0, 0.0) and str(plain("-0.0")[0]) == "0.0"
    assert plain("0.0050") == (0.005, 1e-4)
    assert plain("0.02") == (0.02, 0.0)  # one significant figure: no last-digit rule
    assert plain("3") == (3.0, 0.0)
    assert plain("0.1") == (float(Fraction(1, 10)), 0.0)
    assert plain("12.5") == (12.5, 0.1)


@given(st.lists(st.floats(-1e3, 1e3), min_size=6, max_size=6), st.lists(st.floats(-1e3, 1e3), min_size=6, max_size=6),
       st.lists(st.sampled_from([0.0, 1e-4, 1e-3, 0.1]), min_size=6, max_size=6),
       st.sampled_from([Tolerance(), Tolerance(rtol=0.01, atol=0.5), Tolerance(sigfigs=3), Tolerance(decimals=2)]))
def test_accepts_with_a_kept_bound_is_accepts(expected, submitted, ulp, tol):
    e, s, u = (np.reshape(v, (2, 3)) for v in (expected, submitted, ulp))
    assert np.array_equal(tol.accepts(e, s, u, tol.bound(e)), tol.accepts(e, s, u))


def _naive(ctx, name, tol, submitted) -> dict:
    """The catalogue's shared mistakes tried one candidate at a time, as the diagnosis used to."""
    from backprop_check import diagnose as D

    out = {}
    for index, mistake in enumerate(D.CATALOGUE):
        if mistake.personal:
            continue
        for candidate, detail, *_ in mistake.candidates(ctx, name, None):
            if D._explains(candidate, ctx.expected(name)) and tol.accepts(candidate, submitted).all():
                out[index] = D._message(mistake, detail)
                break
    return out


def test_shared_candidates_match_as_one_by_one():
    from pathlib import Path

    from backprop_check import diagnose as D
    from backprop_check.solve import solve
    from backprop_check.spec import load_problem

    problem = load_problem(Path(__file__).parent.parent / "problems" / "dsga1008-2022-p1.yaml")
    ctx = D.Context(solve(problem, exact=False))
    rng = np.random.default_rng(0)
    tried = matched = 0
    with np.errstate(all="ignore"):
        for name in ctx.solution.entries:
            shared = D._shared(ctx, name, D.CATALOGUE)
            if shared.stack is None:
                continue
            for candidate in shared.stack:
                for noise in (0.0, 1e-4, 3e-3, 1e-2):
                    submitted = candidate * (1 + noise * rng.standard_normal(candidate.shape))
                    ulp = rng.choice([0.0, 1e-4, 1e-2], size=candidate.shape)
                    for tol in (Tolerance(), Tolerance(sigfigs=2)):
                        hand = tol.written(ulp)
                        got = shared.matches(hand, submitted)
                        assert got == _naive(ctx, name, hand, submitted)
                        tried += 1
                        matched += bool(got)
    assert tried > 100 and 0 < matched < tried  # both outcomes were exercised


def test_a_kept_answer_reads_as_afresh_and_is_its_own(tmp_path):
    from backprop_check import answers as A

    text = ("answers:\n  z1: [0.1234, -2, 1 - 0.5*0.2]\n  W1: [[1.5, 2.25], [3, 4]]\n  b1: dl/dz1\n"
            "  b2: '???'\n  z2: [[1, 2], [3]]\n")
    files = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.answers.yaml"
        path.write_text(text)
        files.append(A.load_answers(path))
    A._KEPT.clear()
    fresh = A.load_answers(tmp_path / "a.answers.yaml")
    for key in fresh.answers:
        for f in files:
            a, b = f.answers[key], fresh.answers[key]
            for field in ("formula", "error", "texts", "line", "column"):
                assert getattr(a, field) == getattr(b, field)
            for field in ("value", "ulp"):
                assert (getattr(a, field) is None) == (getattr(b, field) is None)
                if getattr(a, field) is not None:
                    assert np.array_equal(getattr(a, field), getattr(b, field))
    first, second = files[0].answers["W1"], files[1].answers["W1"]
    first.value[0, 0] = 99.0
    first.texts[0][0] = "changed"
    assert second.value[0, 0] == 1.5 and second.texts[0][0] == "1.5"  # each file's answer is its own
    assert files[0].answers["z1"].texts == ["0.1234", "-2", None]  # arithmetic keeps no text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5) | st.integers() | st.booleans() | st.floats(), inner, max_size=4),
    max_leaves=30)


@given(json_values)
@settings(max_examples=300)
def test_json_text_is_what_json_writes(value):
    import json

    from backprop_check.formats import json_text

    assert json_text.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


matrices = st.integers(1, 4).flatmap(lambda width: st.lists(
    st.lists(st.sampled_from([0.0, -0.0, 1.5, -2.25, 1e-300, float("nan"), float("inf"), 3]), min_size=width,
             max_size=width), min_size=1, max_size=4))


@given(st.dictionaries(st.text(max_size=5), json_values | matrices, max_size=4), st.booleans())
@settings(max_examples=300)
def test_json_text_is_what_json_writes_either_way_of_escaping(value, ascii_only):
    """Both documents bpcheck writes with it: reports (ensure_ascii=False) and solutions (True),
    vectors and matrices of numbers (rows of zeros, negative zeros, nan, an int among floats) too."""
    import json

    from backprop_check.formats import json_text

    assert json_text.dumps(value, ensure_ascii=ascii_only) == json.dumps(value, indent=2, ensure_ascii=ascii_only)


def test_json_text_examples():
    import json

    from backprop_check.formats import json_text

    value = {"results": [{"file": "a\u2028b\"\\", "score": 1.0, "nan": float("nan"), "inf": -float("inf"),
                          "tags": [], "x": {}, "warnings": [{"line": None, "ok": True}]}], "n": 3}
    assert json_text.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_seen_by_keys_what_the_restricted_conventions_hold():
    import itertools
    from dataclasses import fields, replace

    from backprop_check.conventions import Conventions

    # a new field must be added to seen_by too (else two different conventions could share a key)
    assert {f.name for f in fields(Conventions)} == {"orientation", "outer_product", "diagonal_jacobian", "rows",
                                                    "columns", "name", "elementwise", "row_layout"}
    names = ["a", "b", "c"]
    sets = [frozenset(c) for k in range(3) for c in itertools.combinations(names, k)]
    variants = [Conventions(orientation=o, rows=r, columns=c, name=n)
                for o in (True, False) for r in sets for c in sets[:3] for n in ("", "z1")]
    used = frozenset({"a", "b"})
    for a in variants[::3]:
        for b in variants[::5]:
            same = replace(a, rows=a.rows & used, columns=a.columns & used) \
                == replace(b, rows=b.rows & used, columns=b.columns & used)
            assert (a.seen_by(used) == b.seen_by(used)) == same


def test_a_file_spends_the_same_formula_budget_whatever_was_graded_before(tmp_path, monkeypatch):
    """Kept readings, carried values and formula shapes are charged as the work they save: the
    formula budget a file spends is its own, graded first or after others in the same worker."""
    from contextlib import contextmanager
    from pathlib import Path

    import yaml

    from backprop_check import formula_cost
    from backprop_check.classroom import Grader

    spec = yaml.safe_load((Path(__file__).parent.parent / "problems" / "dsga1008-2022-p1.yaml").read_text())
    spec["questions"] = [dict(q, form="any") for q in spec["questions"]]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(spec))
    wrong = {"z1": "W1 @ x - b1", "z2": "5 * relu(z1)", "z3": "W2 @ z2 + b2", "y_hat": "z3",
             "dl/dy_hat": "2 * (y_hat - y)", "dl/dz3": "dl/dy_hat", "dl/dW2": "dl/dz3 @ z2.T", "dl/db2": "dl/dz3"}
    other = dict(wrong, z1="W1 @ x + b1", y_hat="-z3", **{"dl/dW2": "(dl/dz3 @ z2.T).T"})
    for name, answers in (("a", wrong), ("b", other)):
        (tmp_path / f"{name}.answers.yaml").write_text(
            yaml.safe_dump({"bpcheck": 1, "problem": "p.yaml", "answers": answers}))

    budgets, real = [], formula_cost.opened

    @contextmanager
    def recording(budget=None):
        with real(budget) as b:
            budgets.append(b)
            yield b

    monkeypatch.setattr(formula_cost, "opened", recording)

    def spent(grader, name):
        budgets.clear()
        result = grader.grade(tmp_path / f"{name}.answers.yaml")
        assert result.error is None
        return formula_cost.MAX_FILE_OPS - budgets[0].ops, [(f.status, f.tags) for f in result.findings]

    first = spent(Grader(), "a")
    warm = Grader()
    spent(warm, "b")
    after_other = spent(warm, "a")
    again = spent(warm, "a")
    assert first[0] > 0 and first == after_other == again
    kept = next(iter(warm._solutions.values())).variants  # the kept readings and shapes were used
    assert kept.get(("carried readings", None)) and kept.get(("formula shapes", None))


@given(st.floats(1e-3, 10.0))
@settings(max_examples=30, deadline=None)
def test_a_mistaken_rate_steps_as_training_at_that_rate_does(lr):
    """The learning-rate candidate: the first step at the student's rate, bit for bit what training
    at that rate gives (SGD, momentum, Adam)."""
    from backprop_check import diagnose as D
    from backprop_check.engines import numeric
    from backprop_check.solve import case_of

    for spec in ("dsga1008-2022-p1.yaml", "momentum-two-steps.yaml", "adam-two-steps.yaml"):
        problem = _problem(spec)
        ctx = D.Context(_solved(spec))
        trained = numeric.train(case_of(problem), lr, problem.steps, None, optimizer=problem.optimizer)
        for param in problem.params:
            assert np.array_equal(D._first_step(ctx, param, lr), trained[f"step1.{param}"])


_PROBLEMS: dict = {}


def _problem(spec: str):
    from pathlib import Path

    from backprop_check.spec import load_problem

    if spec not in _PROBLEMS:
        _PROBLEMS[spec] = load_problem(Path(__file__).parent.parent / "problems" / spec)
    return _PROBLEMS[spec]


def _solved(spec: str):
    from backprop_check.solve import solve

    key = ("solved", spec)
    if key not in _PROBLEMS:
        _PROBLEMS[key] = solve(_problem(spec), exact=False)
    return _PROBLEMS[key]
