"""Regressions found by the review of issues 10 and 11, each pinned by what it got wrong."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_check import writeup as W
from backprop_check.answers import Answer, answer_from_text
from backprop_check.cli import main
from backprop_check.formula_syntax import FormulaSyntaxError, parse

ROOT = Path(__file__).resolve().parent.parent
P1 = ROOT / "problems" / "dsga1008-2022-p1.yaml"


def test_typed_arithmetic_as_an_answer_does_not_widen_its_tolerance(tmp_path):
    # The key is dl/db2 = [-1.15, 1.6] (fixtures/seeds/000-p1.answers.yaml works it out by hand);
    # 50.5 * 9.5 - 478.6 = 1.15 is its sign flip, and the rounding units of 50.5 and 9.5 propagated
    # through the product (0.1 * 9.5 + 50.5 * 0.1 = 6) used to make it "correct".
    answers = tmp_path / "a.answers.yaml"
    answers.write_text("bpcheck: 1\nanswers:\n  dl/db2: '\\begin{bmatrix} 50.5 \\\\ 50.5 \\end{bmatrix} \\odot "
                       "\\begin{bmatrix} 9.5 \\\\ 9.5 \\end{bmatrix} - \\begin{bmatrix} 478.6 \\\\ 481.35 \\end{bmatrix}'\n")
    result = CliRunner().invoke(main, ["grade", str(answers), "--problem", str(P1), "--format", "json"])
    questions = {q["quantity"]: q for q in json.loads(result.stdout)["results"][0]["questions"]}
    assert questions["dl/db2"]["status"] == "incorrect"
    step = Answer("x")
    answer_from_text(step, "[[50.5]] * [[9.5]] - [[478.6]]", step=True)
    assert step.ulp.item() > 1  # a write-up's step keeps the units it propagates


def test_a_typed_matrix_and_its_transpose_keep_their_own_units():
    answer = Answer("x")
    answer_from_text(answer, r"\begin{bmatrix} -0.1029 \\ 0.0176 \end{bmatrix}^T")
    assert np.allclose(answer.ulp, 1e-4)


@pytest.mark.parametrize("text", ["1e999999999 x", "x - 1E-999999999", "2.5e31"])
def test_a_number_with_a_huge_exponent_is_refused_unbuilt(text):
    with pytest.raises(FormulaSyntaxError, match="out of range"):
        parse(text, ["x"])


def test_unclosed_openers_end_the_search_and_closed_blocks_before_them_count():
    text = "$$a = 1$$\n" + "\\[" * 2000
    assert [e.members for e in W.equations(text, "md")] == [("a", "1")]
    tex = "\\begin{equation} b = 2 \\end{equation}" + "\\begin{equation}" * 2000
    assert [e.members for e in W.equations(tex, "tex")] == [("b", "2")]


def test_markers_with_padding_and_trailing_punctuation_runs():
    md = "<!-- bpcheck:    dl/dW2    -->\n$$g = 1,,,,,,,,,,.$$\n"
    [eq] = W.equations(md, "md")
    assert eq.marker == "dl/dW2" and eq.members == ("g", "1")
    assert W.equations("<!-- bpcheck: x" + " " * 5000, "md") == []


def test_lines_of_many_members_are_counted_right():
    text = "\n".join(["filler"] * 500 + ["$$a = " + " = ".join(["b"] * 10) + "$$", "$$c = 2$$"])
    first, second = W.equations(text, "md")
    assert first.line == 501 and set(first.lines) == {501} and second.line == 502


TEMPLATE = ROOT / "problems" / "variant-relu-template.yaml"


def test_long_arrays_in_a_message_are_collapsed_before_it_is_cut():
    from backprop_check.classroom import MAX_SENT_CHARS, _collapsed, _cut
    from backprop_check.formats.redact import patterns
    key = [[0.0051 * (i + j) for j in range(10)] for i in range(10)]
    message = (f"differs from the reference at the problem's values: your formula gives {key}, "
               f"the reference {key}; probably the sign is flipped; Mind the sign.")
    sent = _cut(_collapsed(message))
    assert len(sent) <= MAX_SENT_CHARS and sent.endswith("probably the sign is flipped; Mind the sign.")
    for phrase, replacement in patterns()[0]:
        sent = phrase.sub(replacement, sent)
    assert "0.0" not in sent and "[" not in sent
