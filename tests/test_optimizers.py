"""Optimizers (FORMAT.md section 6): sgd, momentum and Adam against hand arithmetic.

The expected values are worked out here, independently of the package: a
one-layer linear net ŷ = W x + b with squared error, whose gradients are
2(ŷ − y) xᵀ and 2(ŷ − y), two steps of each optimizer written out with
Fractions (momentum, exact) or Python floats (Adam, as torch.optim.Adam).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction as Q
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_check import optimizers
from backprop_check.cli import main
from backprop_check.engines import numeric, symbolic
from backprop_check.errors import InputError
from backprop_check.quantities import UnknownQuantity
from backprop_check.solve import case_of, present, solve
from backprop_check.spec import parse_problem

ROOT = Path(__file__).resolve().parent.parent

TINY = """\
bpcheck: 1
id: tiny-opt
network:
  layers:
    - {weight: W1, bias: b1, activation: identity}
params:
  W1: [[0.5, -1]]
  b1: [0.25]
data:
  x: [2, 1]
  y: [1]
loss: {type: mse}
train: {lr: 0.1, steps: 2, optimizer: OPTIMIZER}
"""
W0, B0, X, Y, LR = [Q(1, 2), Q(-1)], Q(1, 4), [Q(2), Q(1)], Q(1), Q(1, 10)


def tiny(optimizer: str, **extra: str):
    text = TINY.replace("OPTIMIZER", optimizer)
    for old, new in extra.items():
        text = text.replace(old, new)
    return parse_problem(text, "p.yaml")


def _grads(w, b):
    """ŷ = w·x + b, loss (ŷ − y)²: (dl/dw, dl/db, loss), by hand."""
    r = sum(wi * xi for wi, xi in zip(w, X)) + b - Y
    return [2 * r * xi for xi in X], 2 * r, r * r


def _value(solution, name):
    return np.asarray(solution.entries[name].value, dtype=float)


def _exact(solution, name):
    """The exact engine's value as Fractions (flat list, or one Fraction)."""
    precise = solution.entries[name].precise
    if isinstance(precise, str):
        return Q(precise)
    return [Q(v) for v in np.asarray(precise, dtype=object).reshape(-1)]


# ------------------------------------------------------------- hand-derived steps

def test_sgd_two_steps_by_hand():
    w, b = W0, B0
    s = solve(tiny("sgd"))
    for k in (1, 2):
        gw, gb, _ = _grads(w, b)
        w, b = [wi - LR * gi for wi, gi in zip(w, gw)], b - LR * gb
        assert _value(s, f"step{k}.W1").tolist() == [[float(v) for v in w]]
        assert _value(s, f"step{k}.b1").tolist() == [float(b)]
        assert float(_value(s, f"step{k}.loss")) == float(_grads(w, b)[2])
    assert [n for n in s.entries if n.startswith("step1.")] == ["step1.W1", "step1.b1", "step1.loss"]  # no state


def test_momentum_two_steps_by_hand():
    mu = Q(9, 10)
    w, b, vw, vb = W0, B0, [Q(0), Q(0)], Q(0)
    s = solve(tiny("{momentum: {mu: 0.9}}"))
    for k in (1, 2):
        gw, gb, _ = _grads(w, b)
        vw, vb = [mu * v + g for v, g in zip(vw, gw)], mu * vb + gb
        w, b = [wi - LR * v for wi, v in zip(w, vw)], b - LR * vb
        assert _exact(s, f"step{k}.v_W1") == vw and _exact(s, f"step{k}.v_b1") == [vb]
        assert _exact(s, f"step{k}.W1") == w and _exact(s, f"step{k}.b1") == [b]
        assert _exact(s, f"step{k}.loss") == _grads(w, b)[2]
        assert _value(s, f"step{k}.W1").tolist() == [[float(v) for v in w]]
    # step 1: v = g = 2(ŷ − y)x = 2(−3/4)(2, 1) (the state starts at 0)
    assert _value(s, "step1.v_W1").tolist() == [[-3.0, -1.5]]


def _adam_by_hand(beta1=0.9, beta2=0.999, eps=1e-8, lr=0.1, steps=2):
    """torch.optim.Adam's update, written out in float64 on the tiny net."""
    p = [0.5, -1.0, 0.25]  # W1[0, 0], W1[0, 1], b1[0]
    m, v = [0.0] * 3, [0.0] * 3
    out = []
    for t in range(1, steps + 1):
        r = p[0] * 2 + p[1] * 1 + p[2] - 1
        g = [2 * r * 2, 2 * r * 1, 2 * r]
        m = [beta1 * mi + (1 - beta1) * gi for mi, gi in zip(m, g)]
        v = [beta2 * vi + (1 - beta2) * gi * gi for vi, gi in zip(v, g)]
        mhat = [mi / (1 - beta1 ** t) for mi in m]
        vhat = [vi / (1 - beta2 ** t) for vi in v]
        p = [pi - lr * mh / (math.sqrt(vh) + eps) for pi, mh, vh in zip(p, mhat, vhat)]
        loss = (p[0] * 2 + p[1] + p[2] - 1) ** 2
        out.append({"m": m, "v": v, "mhat": mhat, "vhat": vhat, "p": p, "loss": loss})
    return out


def test_adam_two_steps_by_hand():
    s = solve(tiny("{adam: {beta1: 0.9, beta2: 0.999, eps: 1e-8}}"))
    for k, want in enumerate(_adam_by_hand(), start=1):
        for state in ("m", "v", "mhat", "vhat"):
            got = np.concatenate([_value(s, f"step{k}.{state}_W1").reshape(-1), _value(s, f"step{k}.{state}_b1")])
            assert np.allclose(got, want[state], rtol=1e-13, atol=0), (k, state)
        got = np.concatenate([_value(s, f"step{k}.W1").reshape(-1), _value(s, f"step{k}.b1")])
        assert np.allclose(got, want["p"], rtol=1e-13, atol=0), k
        assert float(_value(s, f"step{k}.loss")) == pytest.approx(want["loss"], rel=1e-11)
    # the first step moves every entry by lr · g/(|g| + eps): about lr against the gradient (g < 0)
    assert np.allclose(_value(s, "step1.W1") - [[0.5, -1]], [[0.1, 0.1]], rtol=1e-7)


def test_adam_defaults_and_other_hyperparameters():
    s = solve(tiny("adam"))
    assert np.allclose(_value(s, "step2.W1").reshape(-1), _adam_by_hand()[1]["p"][:2], rtol=1e-13)
    s = solve(tiny("{adam: {beta1: 0.5, beta2: 0.75, eps: 0.5}}"))
    want = _adam_by_hand(beta1=0.5, beta2=0.75, eps=0.5)
    assert np.allclose(_value(s, "step2.W1").reshape(-1), want[1]["p"][:2], rtol=1e-13)
    assert np.allclose(_value(s, "step2.vhat_b1"), want[1]["vhat"][2:], rtol=1e-13)


def test_adam_is_exact_where_the_square_roots_are():
    """g = (−3, −3/2): v̂ = g² and √v̂ = |g| exactly, so the exact engine's first step is a
    plain fraction: W − lr·g/(|g| + eps)."""
    s = solve(tiny("{adam: {eps: 1}}"))
    assert _exact(s, "step1.W1") == [Q(1, 2) + Q(1, 10) * Q(3, 4), Q(-1) + Q(1, 10) * Q(3, 5)]
    assert _exact(s, "step1.vhat_W1") == [Q(9), Q(9, 4)]


# ------------------------------------------------------------- the engines agree

TANH = """\
bpcheck: 1
id: tanh-opt
network:
  layers:
    - {weight: W1, bias: b1, activation: tanh}
    - {weight: W2, bias: b2, activation: sigmoid}
params:
  W1: [[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]]
  b1: [0.05, -0.1]
  W2: [[0.7, -0.4]]
  b2: [0.2]
data:
  x: [[0.5, -1, 2, 0.1], [1, 0.3, -0.7, 0.2], [-0.4, 0.8, 0.6, -1.5]]
  y: [[1, 0, 1, 0]]
loss: {type: bce, average: samples}
train: {lr: 0.5, steps: 4, optimizer: OPTIMIZER}
"""


@pytest.mark.parametrize("optimizer", ["sgd", "{momentum: {mu: 0.8}}", "{momentum: {mu: 0}}",
                                       "{adam: {beta1: 0.9, beta2: 0.999, eps: 1e-8}}",
                                       "{adam: {beta1: 0, beta2: 0, eps: 0.001}}"])
def test_exact_and_float_engines_agree(optimizer):
    p = parse_problem(TANH.replace("OPTIMIZER", optimizer), "p.yaml")
    case = case_of(p)
    exact = symbolic.train(case, p.lr, p.steps, optimizer=p.optimizer)
    fast = numeric.train(case, p.lr, p.steps, optimizer=p.optimizer)
    assert set(exact) == set(fast)
    assert len(exact) == 4 * (4 * (1 + len(p.optimizer.state)) + 1)
    for name, value in exact.items():
        a = np.array([[float(v) for v in row] for row in value.to_list()]) if hasattr(value, "to_list") \
            else float(value)
        assert np.allclose(a, fast[name], rtol=1e-11, atol=1e-15), name
    solve(p)  # and the solve's own checks (engines, finite differences, formulas) pass


def test_momentum_with_mu_zero_is_sgd():
    a = solve(tiny("{momentum: {mu: 0}}"))
    b = solve(tiny("sgd"))
    for k in (1, 2):
        assert _exact(a, f"step{k}.W1") == _exact(b, f"step{k}.W1")


def test_step_and_direction_on_both_arithmetics():
    """The one step function serves floats and exact rationals alike."""
    opt = optimizers.make("adam", eps=Q(1, 2))
    g = np.array([[3.0, -4.0]])
    p, state = optimizers.step(opt, np.array([[1.0, 1.0]]), g, None, 1, Q(1, 10), optimizers.FLOATS)
    assert np.allclose(p, [[1 - 0.1 * 3 / 3.5, 1 + 0.1 * 4 / 4.5]], rtol=1e-15)
    assert np.allclose(state["vhat"], [[9.0, 16.0]], rtol=1e-15)
    exact = optimizers.exact_arithmetic()
    gq = np.array([[exact.num(Q(3)), exact.num(Q(-4))]], dtype=object)
    one = exact.num(Q(1))
    pq, _ = optimizers.step(opt, np.array([[one, one]], dtype=object), gq, None, 1, Q(1, 10), exact)
    assert [Q(int(v.numerator), int(v.denominator)) for v in pq.reshape(-1)] == \
        [1 - Q(1, 10) * 3 / Q(7, 2), 1 + Q(1, 10) * 4 / Q(9, 2)]
    assert np.allclose(optimizers.direction(opt, g), [[3 / 3.5, -4 / 4.5]], rtol=1e-15)
    assert optimizers.direction(optimizers.SGD, g).tolist() == g.tolist()


# ------------------------------------------------------------- names, JSON, questions

def test_json_names_in_sheet_order():
    result = CliRunner().invoke(main, ["solve", str(ROOT / "problems" / "adam-two-steps.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    names = list(json.loads(result.output)["quantities"])
    steps = [n for n in names if n.startswith("step1.")]
    assert steps[:5] == ["step1.m_W1", "step1.v_W1", "step1.mhat_W1", "step1.vhat_W1", "step1.W1"]
    assert steps[-1] == "step1.loss"
    assert "step2.vhat_b2" in names and "step3.W1" not in names
    result = CliRunner().invoke(main, ["solve", str(ROOT / "problems" / "momentum-two-steps.yaml"),
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    names = list(json.loads(result.output)["quantities"])
    assert {"step1.v_W1", "step1.v_b1", "step2.v_W2"} <= set(names)
    assert not [n for n in names if ".m_" in n or "hat_" in n]


def test_state_quantities_are_real_quantities():
    p = tiny("{momentum: {mu: 0.9}}", **{"loss: {type: mse}": "loss: {type: mse}\nnames: {W1: A}"})
    assert p.canonical("step2.v_W1") == "step2.v_W1"
    assert p.canonical("step1.v_A") == "step1.v_W1"  # a display alias of the parameter
    for wrong in ("step1.m_W1", "step3.v_W1", "step1.v_W9", "v_W1"):
        with pytest.raises(UnknownQuantity):
            p.canonical(wrong)
    with pytest.raises(UnknownQuantity):
        tiny("sgd").canonical("step1.v_W1")
    s = solve(p)
    assert s.entries["step1.v_b1"].group == "update" and s.entries["step1.v_b1"].shape == (1,)  # shaped as b1
    assert s.entries["step1.v_W1"].shape == (1, 2)


def test_questions_and_grading_of_state(tmp_path):
    spec = tmp_path / "p.yaml"
    spec.write_text(TINY.replace("OPTIMIZER", "{adam: {beta1: 0.9, beta2: 0.999, eps: 1e-8}}")
                    + "questions:\n  - {quantity: step2.mhat_W1}\n  - {quantity: step1.vhat_b1}\n"
                    + "  - {quantity: step1.W1, form: expression}\n  - {quantity: step1.v_W1, form: expression}\n")
    s = solve(parse_problem(spec.read_text(), str(spec)))
    mhat = _value(s, "step2.mhat_W1").tolist()
    answers = tmp_path / "a.answers.yaml"
    answers.write_text(f"bpcheck: 1\nproblem: p.yaml\nanswers:\n  step2.mhat_W1: {mhat}\n"
                       f"  step1.vhat_b1: [{float(_value(s, 'step1.vhat_b1')[0])}]\n"
                       "  step1.W1: \"W1 - 0.1 * step1.mhat_W1 / (sqrt(step1.vhat_W1) + 1e-8)\"\n"
                       "  step1.v_W1: \"(1 - 0.999) * dl/dW1 ** 2\"\n")
    result = CliRunner().invoke(main, ["grade", str(answers), "--format", "json"])
    report = json.loads(result.output)["results"][0]
    assert result.exit_code == 0, result.output
    assert [q["status"] for q in report["questions"]] == ["correct"] * 4
    # a state formula may not use the parameter it feeds
    answers.write_text(answers.read_text().replace('"(1 - 0.999) * dl/dW1 ** 2"', '"step1.W1 * 0"'))
    report = json.loads(CliRunner().invoke(main, ["grade", str(answers), "--format", "json"]).output)
    assert report["results"][0]["questions"][3]["status"] == "invalid"


# ------------------------------------------------------------- diagnosis

def _diagnose(tmp_path, optimizer: str, name: str, value) -> dict:
    spec = tmp_path / "p.yaml"
    spec.write_text(TANH.replace("OPTIMIZER", optimizer) + f"questions:\n  - {{quantity: {name}}}\n")
    answers = tmp_path / "a.answers.yaml"
    answers.write_text(f"bpcheck: 1\nproblem: p.yaml\nanswers:\n  {name}: {np.asarray(value).tolist()}\n")
    result = CliRunner().invoke(main, ["grade", str(answers), "--format", "json", "--pass", "0"])
    return json.loads(result.output)["results"][0]["questions"][0]


@pytest.mark.parametrize("optimizer", ["{momentum: {mu: 0.9}}", "{adam: {eps: 0.01}}"])
def test_learning_rate_and_step_up_are_named_for_every_optimizer(tmp_path, optimizer):
    p = parse_problem(TANH.replace("OPTIMIZER", optimizer), "p.yaml")
    case = case_of(p)
    other = numeric.train(case, Q(1, 5), 1, optimizer=p.optimizer)
    q = _diagnose(tmp_path, optimizer, "step1.W1", present("step1.W1", other["step1.W1"], p))
    assert q["status"] == "incorrect" and "learning-rate" in q["tags"], q
    assert "learning rate of 0.2" in q["message"]
    up = numeric.train(case, -p.lr, 2, optimizer=p.optimizer)
    for name in ("step1.W1", "step2.W2", f"step2.{p.optimizer.state[0]}_b1"):
        q = _diagnose(tmp_path, optimizer, name, present(name, up[name], p))
        assert "step-up" in q["tags"], (name, q)


def test_learning_rate_is_not_read_off_a_state(tmp_path):
    """step1.v_W1 does not depend on the learning rate: no rate is guessed from it."""
    p = parse_problem(TANH.replace("OPTIMIZER", "{momentum: {mu: 0.9}}"), "p.yaml")
    v = present("step1.v_W1", numeric.train(case_of(p), p.lr, 1, optimizer=p.optimizer)["step1.v_W1"], p)
    q = _diagnose(tmp_path, "{momentum: {mu: 0.9}}", "step1.v_W1", -v)
    assert q["tags"] == ["sign-flipped"], q


# ------------------------------------------------------------- bad specs

@pytest.mark.parametrize("optimizer, message", [
    ("rmsprop", "unknown optimizer 'rmsprop'"),
    ("{momentom: {mu: 0.9}}", "did you mean 'momentum'?"),
    ("{momentum: {mu: 1}}", "momentum's mu must be at least 0 and below 1, not 1"),
    ("{momentum: {mu: -0.1}}", "mu must be at least 0 and below 1"),
    ("{momentum: {nu: 0.9}}", "unknown parameter 'nu' of momentum (allowed: mu)"),
    ("{adam: {beta1: 1}}", "adam's beta1 must be at least 0 and below 1"),
    ("{adam: {beta2: 1.5}}", "adam's beta2 must be at least 0 and below 1"),
    ("{adam: {eps: 0}}", "adam's eps must be positive, not 0"),
    ("{adam: {eps: -1e-8}}", "adam's eps must be positive"),
    ("{adam: {beta3: 0.9}}", "unknown parameter 'beta3' of adam"),
    ("{adam: {lr: 0.1}}", "unknown parameter 'lr' of adam"),
    ("{sgd: {mu: 0.9}}", "unknown parameter 'mu' of sgd (sgd takes none)"),
    ("{adam: 0.9}", "the parameters of adam must be a mapping"),
    ("{adam: {}, sgd: {}}", "exactly one key"),
    ("[sgd]", "train.optimizer must be sgd, momentum, adam or a mapping"),
    ("{momentum: {mu: no}}", "train.optimizer.momentum.mu"),
])
def test_bad_optimizer_is_an_input_error_at_its_line(optimizer, message):
    text = TINY.replace("OPTIMIZER", optimizer)
    with pytest.raises(InputError) as info:
        parse_problem(text, "p.yaml")
    assert message in info.value.message, info.value.message
    assert info.value.file == "p.yaml" and info.value.line == 13


def test_state_name_clashing_with_a_parameter_is_refused():
    text = TINY.replace("OPTIMIZER", "{momentum: {mu: 0.9}}").replace("weight: W1, bias: b1", "weight: W1, bias: v_W1")
    text = text.replace("b1: [0.25]", "v_W1: [0.25]")
    with pytest.raises(InputError) as info:
        parse_problem(text, "p.yaml")
    assert "v_W1 is also a parameter's name" in info.value.message and info.value.line == 13


def test_bad_optimizer_exits_2_with_file_and_line(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(TINY.replace("OPTIMIZER", "{adam: {beta2: 1}}"))
    out = subprocess.run([sys.executable, "-m", "backprop_check", "solve", str(spec)], capture_output=True, text=True)
    assert out.returncode == 2
    assert f"{spec}:13:" in out.stderr and "beta2 must be at least 0 and below 1" in out.stderr
    assert "Traceback" not in out.stderr


def test_read_is_shared_and_fills_defaults():
    p = tiny("momentum")
    assert p.optimizer == optimizers.make("momentum") and p.optimizer["mu"] == Q(9, 10)
    p = tiny("{adam: {eps: 1e-6}}")
    assert dict(p.optimizer.hyper) == {"beta1": Q(9, 10), "beta2": Q(999, 1000), "eps": Q(1, 10 ** 6)}
    assert p.optimizer.label() == "adam (beta1 = 0.9, beta2 = 0.999, eps = 0.000001)"
    assert tiny("sgd").optimizer == optimizers.SGD == tiny("{sgd: }").optimizer
    assert parse_problem(TINY.replace(", optimizer: OPTIMIZER", ""), "p.yaml").optimizer == optimizers.SGD


# ------------------------------------------------------------- formulas

def test_step_formulas_cover_state_and_update():
    from backprop_check import formulas as F

    code = {k: F.to_code(v) for k, v in optimizers.formulas(
        optimizers.make("adam"), ["W1"], Q(1, 100), lambda p: f"dl/d{p}").items()}
    assert list(code) == ["step1.m_W1", "step1.v_W1", "step1.mhat_W1", "step1.vhat_W1", "step1.W1"]
    assert code["step1.W1"] == "W1 - (0.01 * step1.mhat_W1) / (sqrt(step1.vhat_W1) + 0.00000001)"
    code = {k: F.to_code(v) for k, v in optimizers.formulas(
        optimizers.make("momentum"), ["b2"], Q(1, 2), lambda p: f"dO/d{p}").items()}
    assert code == {"step1.v_b2": "dO/db2", "step1.b2": "b2 - 0.5 * step1.v_b2"}
    s = solve(tiny("{adam: {beta1: 0.8}}"))
    assert s.report.formulas_checked >= 5 * 2  # every state formula was evaluated and held to the engines
