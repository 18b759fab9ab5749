"""Each catalogue mistake, one candidate at a time: the tag, the message, the layer.

The mistaken values are computed by `fixtures/mistakes/make.py`'s own numpy
network (which imports nothing from bpcheck) or by hand; the expected tags and
message words are literals. Each answer file is the problem's full-marks key
(`bpcheck solve --key`) with one answer replaced.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from backprop_check.classroom import Grader
from backprop_check.cli import main

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mistakes_make", ROOT / "fixtures" / "mistakes" / "make.py")
M = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(M)  # the independent numpy network of the mistake fixtures

_KEYS: dict = {}
_GRADERS: dict = {}


def _key(problem: Path, tmp: Path) -> dict:
    problem = problem.resolve()
    if problem not in _KEYS:
        key = tmp / f"{problem.stem}.key.yaml"
        result = CliRunner().invoke(main, ["solve", str(problem), "--key", str(key), "--format", "json"])
        assert result.exit_code == 0, result.output
        _KEYS[problem] = yaml.load(key.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)["answers"]
    return dict(_KEYS[problem])


def _texts(value, fmt=repr):
    value = np.asarray(value, dtype=float)
    if value.ndim:
        return [_texts(v, fmt) for v in value]
    return fmt(float(value) + 0.0)


def finding(problem: Path, quantity: str, answer, tmp_path: Path, fmt=repr):
    """Grade the key of `problem` with `quantity` answered by `answer` (an array, or texts)."""
    answers = _key(problem, tmp_path)
    assert quantity in answers, (quantity, list(answers))
    answers[quantity] = answer if isinstance(answer, (str, list)) and _is_texts(answer) else _texts(answer, fmt)
    path = tmp_path / f"a{len(list(tmp_path.iterdir()))}.answers.yaml"
    path.write_text(yaml.safe_dump({"bpcheck": 1, "student": "s", "answers": answers}, sort_keys=False),
                    encoding="utf-8")
    problem = problem.resolve()
    if problem not in _GRADERS:
        _GRADERS[problem] = Grader(problem=problem)
    result = _GRADERS[problem].grade(path)
    assert result.error is None, result.error
    by_name = {f.quantity: f for f in result.findings}
    others = {q: f.status for q, f in by_name.items() if q != quantity and f.status != "correct"}
    assert others == {}, others
    return by_name[quantity]


def _is_texts(value) -> bool:
    if isinstance(value, list):
        return all(_is_texts(v) for v in value)
    return isinstance(value, str)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# A three-layer net: tanh, sigmoid, identity; a batch of two, biases, one training step.
# Unit 2 of layer 1 sits exactly on 0 for sample 1 (0.5·0.5 − 0.25·1 + 0 = 0): tanh has
# no kink there, and nothing may treat it as one.
DEEP = """\
bpcheck: 1
id: deep
network:
  layers:
    - {weight: W1, bias: b1, activation: tanh}
    - {weight: W2, bias: b2, activation: sigmoid}
    - {weight: W3, activation: identity}
params:
  W1: [[0.8, -0.4], [0.5, -0.25], [-0.3, 0.9]]
  b1: [0.1, 0, -0.2]
  W2: [[0.7, -0.5, 0.4], [-0.6, 0.3, 0.9]]
  b2: [0.05, -0.1]
  W3: [[1.5, -2.0]]
data:
  x: [[0.5, -0.7], [1.0, 0.4]]
  y: [[0.3, -0.8]]
loss: {type: mse, factor: 1/2, average: samples}
train: {lr: 0.1, steps: 1}
tolerance: {rtol: 1e-6, atol: 1e-9}   # a wrong slope moves step1.W1 by lr × its change: about 0.2%
"""


@pytest.fixture(scope="module")
def deep(tmp_path_factory):
    return write(tmp_path_factory.mktemp("deep"), "deep.yaml", DEEP)


@pytest.mark.parametrize("layer", [1, 2])
@pytest.mark.parametrize("how, tag, words", [
    ("one", "activation-derivative-missing", "without the derivative of layer {l}'s {act}"),
    ("output", "derivative-at-output", "with f′ of layer {l} evaluated at its output z{o} instead of z{i}"),
])
def test_slope_mistake_names_the_layer_it_was_made_in(deep, tmp_path, layer, how, tag, words):
    p = M.Problem(deep)
    wrong = M.run(p, wrong_slope={layer: how})["dl/dW1"]
    assert not np.allclose(wrong, M.run(p)["dl/dW1"], rtol=1e-3)
    f = finding(deep, "dl/dW1", p.present("dl/dW1", wrong), tmp_path)
    assert (f.status, f.tags) == ("incorrect", [tag]), f.message
    act = {1: "tanh", 2: "sigmoid"}[layer]
    assert words.format(l=layer, act=act, o=2 * layer, i=2 * layer - 1) in f.message


@pytest.mark.parametrize("how, tag", [("one", "activation-derivative-missing"),
                                      ("output", "derivative-at-output")])
def test_slope_mistake_is_named_on_a_training_step(deep, tmp_path, how, tag):
    p = M.Problem(deep)
    wrong = M.train(p, p.lr, wrong_slope={1: how})["step1.W1"]
    f = finding(deep, "step1.W1", p.present("step1.W1", wrong), tmp_path)
    assert (f.status, f.tags) == ("incorrect", [tag]), f.message
    assert "layer 1" in f.message


def test_deep_net_key_and_a_plain_wrong_answer_get_no_tag(deep, tmp_path):
    p = M.Problem(deep)
    right = M.run(p)["dl/dW1"]
    f = finding(deep, "dl/dW1", p.present("dl/dW1", right * np.array([[1.0, 1.3], [1.0, 1.0], [0.7, 1.0]])),
                tmp_path)
    assert (f.status, f.tags) == ("incorrect", [])


# --------------------------------------------------------------- bias-not-summed

BATCH_BIAS = ROOT / "fixtures" / "problems" / "batch-bias.yaml"


def _rows_twin(tmp_path: Path) -> Path:
    """batch-bias.yaml with its data written as rows (one sample per row)."""
    text = BATCH_BIAS.read_text(encoding="utf-8")
    text = text.replace("layout: columns", "layout: rows")
    text = text.replace("x: [[0.5, -1.0, 0.8, 0.2], [1.0, 0.3, -0.5, -0.7]]",
                        "x: [[0.5, 1.0], [-1.0, 0.3], [0.8, -0.5], [0.2, -0.7]]")
    text = text.replace("y: [[1, 0, 0, 1], [0, 1, 1, 0]]", "y: [[1, 0], [0, 1], [0, 1], [1, 0]]")
    return write(tmp_path, "batch-bias-rows.yaml", text)


@pytest.mark.parametrize("layout", ["columns", "rows"])
@pytest.mark.parametrize("bias, layer", [("dl/db1", 1), ("dl/db2", 2)])
def test_bias_gradient_of_the_first_sample_only(tmp_path, layout, bias, layer):
    problem = BATCH_BIAS if layout == "columns" else _rows_twin(tmp_path)
    p = M.Problem(problem)
    delta = M.run(p)[f"dl/dz{2 * layer - 1}"]  # (units, N) whatever the layout
    f = finding(problem, bias, delta[:, 0], tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["bias-not-summed"]), f.message
    assert "taken from the first sample only" in f.message


def test_bias_gradient_averaged_over_the_batch(tmp_path):
    p = M.Problem(BATCH_BIAS)
    f = finding(BATCH_BIAS, "dl/db2", M.run(p)["dl/dz3"].sum(axis=1) / 4, tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["bias-not-summed"])
    assert "averaged over the batch instead of summed" in f.message


# --------------------------------------------------------------- ReLU'(0)

RELU_ZERO = ROOT / "fixtures" / "problems" / "relu-zero.yaml"


@pytest.mark.parametrize("g0, shown", [(0.5, "1/2"), (1.0, "1")])
def test_relu_derivative_at_zero_convention(tmp_path, g0, shown):
    p = M.Problem(RELU_ZERO)
    f = finding(RELU_ZERO, "dl/dW1", p.present("dl/dW1", M.run(p, g0=g0)["dl/dW1"]), tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["relu-grad-at-zero"]), f.message
    assert f.message.endswith(f"with ReLU′(0) = {shown}")


def test_relu_derivative_at_zero_on_the_local_jacobian(tmp_path):
    """dz2/dz1 = diag(H(z1)) with z1 = [0.75, 0, -0.25]: ReLU′(0) = 1 writes diag(1, 1, 0)."""
    f = finding(RELU_ZERO, "dz2/dz1", [["1", "0", "0"], ["0", "1", "0"], ["0", "0", "0"]], tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["relu-grad-at-zero"]), f.message
    assert f.message.endswith("with ReLU′(0) = 1")


def test_relu_zero_convention_of_the_spec_and_its_alternative(tmp_path):
    """The spec says ReLU′(0) = 1; a student taking 0 is named with ReLU′(0) = 0."""
    problem = write(tmp_path, "relu-one.yaml", RELU_ZERO.read_text(encoding="utf-8").replace(
        "bpcheck: 1\n", "bpcheck: 1\nrelu_grad_at_zero: 1\n", 1))
    p = M.Problem(problem)
    assert p.g0 == 1.0
    f = finding(problem, "dl/dW1", p.present("dl/dW1", M.run(p, g0=0.0)["dl/dW1"]), tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["relu-grad-at-zero"]), f.message
    assert f.message.endswith("with ReLU′(0) = 0")


# --------------------------------------------------------------- powers of ten

P2C = ROOT / "problems" / "dsga1008-2022-p2c.yaml"


@pytest.mark.parametrize("k", [1, 2, 3, -1, -2, -3])
def test_power_of_ten(tmp_path, k):
    p = M.Problem(P2C)
    right = p.present("dl/dW2", M.run(p)["dl/dW2"])
    f = finding(P2C, "dl/dW2", right * 10.0 ** k, tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["power-of-ten"]), f.message
    assert f.message.endswith(f"off by a factor 10^{k}")


def test_power_of_ten_beyond_a_thousand_is_not_named(tmp_path):
    p = M.Problem(P2C)
    f = finding(P2C, "dl/dW2", p.present("dl/dW2", M.run(p)["dl/dW2"]) * 1e4, tmp_path)
    assert (f.status, f.tags) == ("incorrect", [])


def test_an_all_zero_answer_is_named_nothing(tmp_path):
    f = finding(P2C, "dl/dW2", [["0", "0", "0"], ["0", "0", "0"]], tmp_path)
    assert (f.status, f.tags) == ("incorrect", [])


# --------------------------------------------------------------- messages that carry meaning

Q1 = ROOT / "problems" / "dsga1008-2020-p1.yaml"   # ½ (ŷ − y)², K = 1, one sample
Q2 = ROOT / "problems" / "dsga1008-2020-p2.yaml"   # BCE, factor 1, K = 1, one sample


def test_factor_2_message_says_which_way(tmp_path):
    p = M.Problem(Q1)  # the spec has ½‖·‖²: a student who drops the ½ doubles everything
    f = finding(Q1, "dl/dW1", p.present("dl/dW1", M.run(p, factor=2 * p.factor)["dl/dW1"]), tmp_path)
    assert f.tags == ["factor-2"]
    assert "scaled by 2 (‖·‖² for ½‖·‖²)" in f.message
    p = M.Problem(Q2)  # the spec has the plain loss: a student who adds a ½ halves it
    f = finding(Q2, "dl/dW1", p.present("dl/dW1", M.run(p, factor=p.factor / 2)["dl/dW1"]), tmp_path)
    assert f.tags == ["factor-2"]
    assert "scaled by 1/2 (½‖·‖² for ‖·‖²)" in f.message


A1 = ROOT / "problems" / "assignment1-ex2.yaml"  # 1/(2N) ‖·‖², N = 4, K = 1


@pytest.mark.parametrize("average, words", [("none", "averaged over none"), ("all", None)])
def test_mean_vs_sum_message_names_the_average(tmp_path, average, words):
    p = M.Problem(A1)
    f = finding(A1, "dl/dW2", p.present("dl/dW2", M.run(p, average=average)["dl/dW2"]), tmp_path)
    if words is None:  # K = 1: averaging over all N·K terms is averaging over the N samples
        assert "mean-vs-sum" not in f.tags and f.status == "correct"
        return
    assert f.tags == ["mean-vs-sum"]
    assert words in f.message


P1 = ROOT / "problems" / "dsga1008-2022-p1.yaml"  # lr 0.1


@pytest.mark.parametrize("lr, shown", [(1.0, "1"), (0.5, "0.5"), (0.01, "0.01")])
def test_learning_rate_message_names_both_rates(tmp_path, lr, shown):
    p = M.Problem(P1)
    f = finding(P1, "step1.W1", p.present("step1.W1", M.train(p, lr)["step1.W1"]), tmp_path)
    assert f.tags == ["learning-rate"], f.message
    assert f.message.endswith(f"with a learning rate of {shown} instead of 1/10")


def test_learning_rate_is_not_named_on_the_loss_or_for_a_step_up(tmp_path):
    p = M.Problem(P1)
    f = finding(P1, "step1.W1", p.present("step1.W1", M.train(p, -p.lr)["step1.W1"]), tmp_path)
    assert f.tags == ["step-up"]


# --------------------------------------------------------------- rounding carried

def _identity_net(w2b: str, x: str, y: str, tol: str = "{rtol: 1e-4, atol: 1e-7}") -> str:
    """z1 = x (W1 = I), y_hat = W2 z1, ½(ŷ − y)²: dl/dz1 = W2ᵀ (ŷ − y), dl/dW1 = dl/dz1 xᵀ."""
    return f"""\
bpcheck: 1
id: carried
network:
  layers:
    - {{weight: W1, activation: identity}}
    - {{weight: W2, activation: identity}}
params:
  W1: [[1, 0], [0, 1]]
  W2: [[1, {w2b}]]
data:
  x: {x}
  y: {y}
loss: {{type: mse, factor: 1/2}}
tolerance: {tol}
questions:
  - {{quantity: dl/dz1}}
  - {{quantity: dl/dW1}}
"""


def test_rounding_carried_to_two_significant_figures(tmp_path):
    """ŷ = 1 + 0.03·0.7 = 1.021, y = 0.5643: dl/dz1 = [0.4567, 0.013701]. Rounded to 2
    significant figures, [0.46, 0.014]; times xᵀ = [1, 0.7]: [[0.46, 0.322], [0.014, 0.0098]],
    written to 2 significant figures: 0.32 is half a unit of ITS last digit from 0.322.
    Rounding to the answer's 4 decimals would carry 0.4567, so only the significant-figures
    reading explains it."""
    problem = write(tmp_path, "carried.yaml", _identity_net("0.03", "[1.0, 0.7]", "[0.5643]"))
    texts = [["0.46", "0.32"], ["0.014", "0.0098"]]
    f = finding(problem, "dl/dW1", texts, tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["rounding-carried"]), f.message
    assert f.message.endswith("from intermediate values rounded to 2 significant figures")


def test_rounding_carried_with_an_exact_zero_entry(tmp_path):
    """x = [1, 0]: the second column of dl/dW1 is exactly 0, written "0.0" (no significant
    figures to read); the other entries still tell 2 significant figures."""
    problem = write(tmp_path, "carried0.yaml", _identity_net("0.03", "[1.0, 0.0]", "[0.5433]"))
    f = finding(problem, "dl/dW1", [["0.46", "0.0"], ["0.014", "0.0"]], tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["rounding-carried"]), f.message
    assert f.message.endswith("from intermediate values rounded to 2 significant figures")


def test_rounding_carried_to_one_decimal(tmp_path):
    """ŷ = 1 + 0.25·2 = 1.5, y = −3.067: dl/dz1 = [4.567, 1.14175] → [4.6, 1.1];
    times xᵀ = [1, 2]: [[4.6, 9.2], [1.1, 2.2]], every entry written to one decimal."""
    problem = write(tmp_path, "carried1.yaml", _identity_net("0.25", "[1.0, 2.0]", "[-3.067]"))
    f = finding(problem, "dl/dW1", [["4.6", "9.2"], ["1.1", "2.2"]], tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["rounding-carried"]), f.message
    assert f.message.endswith("from intermediate values rounded to 1 decimals")


@pytest.mark.parametrize("texts, why", [
    ([["0.46", "0.23"], ["0.014", "0.007"]], "0.007 has one significant figure: too coarse"),
    ([["0.46", "23/100"], ["0.014", "0.0070"]], "a fraction has no decimals to read"),
])
def test_rounding_carried_needs_readable_precision(tmp_path, texts, why):
    problem = write(tmp_path, "carried.yaml", _identity_net("0.03", "[1.0, 0.5]", "[0.5583]"))
    f = finding(problem, "dl/dW1", texts, tmp_path)
    assert (f.status, f.tags) == ("incorrect", []), why


def test_rounding_carried_not_claimed_when_one_entry_is_an_integer(tmp_path):
    """dl/dz1 = [5.04, 1.26] → [5.0, 1.3]; × [1, 2]: [[5.0, 10.0], [1.3, 2.6]]. Written with
    "10." for 10.0 (two significant figures, no decimals), the least precise entry has no
    decimals: too coarse to excuse anything."""
    problem = write(tmp_path, "carried2.yaml", _identity_net("0.25", "[1.0, 2.0]", "[-3.54]"))
    f = finding(problem, "dl/dW1", [["5.0", "10.0"], ["1.3", "2.6"]], tmp_path)
    assert f.tags == ["rounding-carried"]  # the same values, every entry with a decimal
    f = finding(problem, "dl/dW1", [["5.0", "10."], ["1.3", "2.6"]], tmp_path)
    assert "rounding-carried" not in f.tags


def test_rounding_carried_not_claimed_for_integers(tmp_path):
    """Written as "5." and "9." (no decimals), [[4.6, 9.2], [1.1, 2.2]] rounded to units
    is too coarse to excuse anything."""
    problem = write(tmp_path, "carried1.yaml", _identity_net("0.25", "[1.0, 2.0]", "[-3.067]"))
    f = finding(problem, "dl/dW1", [["5.", "9."], ["1.", "2."]], tmp_path)
    assert "rounding-carried" not in f.tags


# --------------------------------------------------------------- a batch of two (DEEP)

def test_bias_first_sample_only_in_a_batch_of_two(deep, tmp_path):
    p = M.Problem(deep)
    f = finding(deep, "dl/db1", M.run(p)["dl/dz1"][:, 0], tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["bias-not-summed"]), f.message
    assert "taken from the first sample only" in f.message


@pytest.mark.parametrize("n", [1, 2])
def test_sample_quantities_are_diagnosed_in_a_batch_of_two(tmp_path, n):
    """sample{n}.dl/dW1 (sample n alone, as if N = 1) with the loss's ½ dropped: factor-2."""
    problem = write(tmp_path, "deep-samples.yaml", DEEP + "questions:\n  - {quantity: dl/dW1}\n"
                    f"  - {{quantity: sample{n}.dl/dW1}}\n")
    p = M.Problem(problem)
    p.x, p.y = p.x[:, n - 1:n], p.y[:, n - 1:n]  # the sample alone: N = 1
    wrong = M.run(p, factor=2 * p.factor)["dl/dW1"]
    f = finding(problem, f"sample{n}.dl/dW1", wrong, tmp_path)
    assert (f.status, f.tags) == ("incorrect", ["factor-2"]), f.message
