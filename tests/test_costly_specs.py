"""Costly and degenerate specs (issue 7, items 5, 6 and 11): refused fast with exit 2, or solved.

The red team's specs: custom activations of high degree stacked over layers,
functions nested 30-38 deep, a 73-digit input raised to the 64th power, a
custom loss with a kink at ŷ = y, a bias of 1e-400 beside a ReLU kink. None
may run long or end in exit 3. No wall-clock assertions: a refusal comes from
the loader, before any engine runs.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from click.testing import CliRunner

from backprop_check import formulas as F
from backprop_check.cli import main
from backprop_check.engines import symbolic
from backprop_check.errors import InputError
from backprop_check.spec import parse_problem


def spec(acts, x="0.9", w="1.1", y="0.5", loss="{type: mse}", bias=None, batch=1) -> str:
    """A chain of one-unit layers with the given activations."""
    lines = ["bpcheck: 1", "id: costly", "network:", "  layers:"]
    for i, act in enumerate(acts, start=1):
        b = f", bias: b{i}" if bias is not None else ""
        lines.append(f"    - {{weight: W{i}{b}, activation: {act!r}}}".replace("'", '"'))
    lines.append("params:")
    for i in range(1, len(acts) + 1):
        lines.append(f"  W{i}: [[{w}]]")
        if bias is not None:
            lines.append(f"  b{i}: [{bias}]")
    lines += ["data:", f"  x: [[{', '.join([x] * batch)}]]", f"  y: [[{', '.join([y] * batch)}]]",
              f"loss: {loss}"]
    return "\n".join(lines) + "\n"


def nest(fn: str, depth: int, inner: str = "z") -> str:
    for _ in range(depth):
        inner = f"{fn}({inner})"
    return inner


def solve(tmp_path, text: str, *args: str):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["solve", str(path), *args])
    assert "Traceback" not in result.output + result.stderr
    return result


REFUSED = {
    "z**16 x 4 layers": (spec(["z**16"] * 4), "degrees multiply to 16 × 16 × 16 × 16 = 65536"),
    "z**16 x 8 layers": (spec(["z**16"] * 8), "the limit is 4096"),
    "z*z*z*z x 16 layers": (spec(["z*z*z*z"] * 16), "degrees multiply to"),
    "(z**16)**4 x 3 layers": (spec(["(z**16)**4"] * 3), "p.yaml:7:32: the custom formulas' degrees multiply to "
                                                       "64 × 64 × 64 = 262144 by here"),
    "custom loss degree": (spec(["z**16"] * 3, loss='{type: custom, term: "(y_hat - y)**4"}'), "p.yaml:15:28: the custom formulas' degrees multiply to 16 × 16 × 16 × 4"),
    "abs nested 38": (spec([nest("abs", 38)]), "piecewise functions"),
    "elu nested 38": (spec([nest("elu", 38)]), "nested more than 2 deep"),
    "gelu nested 38": (spec([nest("gelu", 38)]), "functions nested more than 8 deep"),
    "sigmoid nested 30": (spec([nest("sigmoid", 30)]), "functions nested more than 8 deep"),
    "sigmoid nested 38": (spec([nest("sigmoid", 38)]), "functions nested more than 8 deep"),
    "nested loss": (spec(["identity"], loss=f'{{type: custom, term: "{nest("sigmoid", 30, "y_hat - y")}"}}'),
                    "nested more than 8 deep"),
    "bias 1e-400": (spec(["relu", "identity"], x="0", w="1", bias="1e-400"), "p.yaml:9:8: params.b1[0]: 1e-400 is too small"),
    "weight 1e-301": (spec(["relu"], w="-1e-301"), "at least 1e-300"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_costly_or_unrepresentable_specs_are_refused_by_the_loader(tmp_path, name):
    text, message = REFUSED[name]
    with pytest.raises(InputError):
        parse_problem(text, "p.yaml")
    result = solve(tmp_path, text)
    assert result.exit_code == 2, result.output + result.stderr
    assert message in result.stderr


def test_degree_and_nesting_just_inside_the_limits_solve(tmp_path):
    # gelu nested 6 deep, and nested 5 deep over 1000 samples, were refused while the exact engine
    # evaluated a custom formula as one sympy expression; run operation by operation (the graph
    # core) their cost adds up over the tree instead of multiplying, and they are cheap.
    for text in (spec(["z**16"] * 3), spec([nest("gelu", 5)]), spec([nest("sigmoid", 8)]),
                 spec([nest("abs", 2, "z - 0.3")] * 2), spec(["relu(relu(z))"]),
                 spec([nest("gelu", 6)]), spec([nest("gelu", 5)], batch=1000)):
        result = solve(tmp_path, text, "--format", "json")
        assert result.exit_code == 0, result.stderr


def test_zero_stays_a_number(tmp_path):
    assert solve(tmp_path, spec(["relu", "identity"], x="0", w="1", bias="0")).exit_code == 0


@pytest.mark.parametrize("args", [("--format", "yaml"), ("--key", "KEY"), ("--format", "markdown")])
def test_huge_exact_values_are_written_at_30_digits(tmp_path, args):
    # (z**16)**4 of a 73-digit input: an exact fraction of ~4,700 digits, past Python's int-to-str limit
    text = spec(["(z**16)**4"], x="0." + "1234567891" * 7 + "123", w="1")
    args = tuple(str(tmp_path / "key.yaml") if a == "KEY" else a for a in args)
    result = solve(tmp_path, text, *args)
    assert result.exit_code == 0, result.stderr


def test_long_fractions_round_to_45_digits_and_print_at_30():
    v = symbolic.QQ(3 ** 2000, 7 ** 1500)
    short = symbolic._short(v, symbolic.MAX_VALUE_BITS)
    assert short != v and abs(float(short) - float(Fraction(3 ** 2000, 7 ** 1500))) <= 1e-30 * abs(float(short))
    assert symbolic._short(symbolic.QQ(1, 3), symbolic.MAX_VALUE_BITS) == symbolic.QQ(1, 3)
    assert F.decimal(Fraction(10 ** 5000)) is None


@pytest.mark.parametrize("w,x,y", [("0.5", "1", "0.5"),  # ŷ = y exactly
                                   ("0.1", "3", "0.3")])  # exactly, but 0.30000000000000004 in float64
def test_custom_loss_kinks_are_snapped_like_activation_kinks(tmp_path, w, x, y):
    text = spec(["identity"], w=w, x=x, y=y, loss='{type: custom, term: "abs(y_hat - y)"}')
    result = solve(tmp_path, text, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert '"dl/dW1": [\n      [\n        0.0' in result.stdout


def test_custom_loss_kink_that_cannot_be_placed_is_bad_input(tmp_path):
    text = spec(["identity"], w="0.1", x="3", y="0.09", loss='{type: custom, term: "abs(y_hat**2 - y)"}')
    result = solve(tmp_path, text)
    assert result.exit_code == 2 and "kink of a custom activation or loss" in result.stderr
