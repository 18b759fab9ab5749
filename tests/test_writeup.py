"""Finding the equations of a write-up: blocks, chains, continuation rows, markers, lines, limits."""

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from backprop_check import writeup as W

WRITEUPS = Path(__file__).resolve().parents[1] / "fixtures" / "writeups"
SEED_003 = WRITEUPS / "seed-003.md"  # ../shared/seeds/003_f6bb8afabd23472e.txt, as the student typed it


def test_a_markdown_chain_splits_into_its_members_with_their_line():
    text = "Intro $x = 1$ inline is prose.\n\n$$\\delta_2 = \\frac{1}{4} A = B$$\n"
    [eq] = W.equations(text, "md")
    assert eq.members == ("\\delta_2", "\\frac{1}{4} A", "B")
    assert eq.relations == ("=", "=")
    assert eq.line == 3 and eq.left == "\\delta_2" and eq.answer == "B"


def test_aligned_continuation_rows_belong_to_the_left_side_above():
    text = ("$$\\begin{aligned}\n"
            "a &= b + c \\\\\n"
            "  &= d \\\\\n"
            "e &= f\n"
            "\\end{aligned}$$\n")
    first, second = W.equations(text, "md")
    assert first.members == ("a", "b + c", "d") and first.lines == (2, 2, 3)
    assert second.members == ("e", "f") and second.line == 4


def test_matrix_rows_and_columns_are_not_equation_rows():
    text = "\\[ S_1 = \\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix} \\]"
    [eq] = W.equations(text, "md")
    assert eq.members == ("S_1", "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}")


def test_relations_inside_braces_do_not_split_a_chain():
    [eq] = W.equations("$$y = \\frac{a = b}{c} = \\left( d = e \\right)$$", "md")
    assert eq.members == ("y", "\\frac{a = b}{c}", "\\left( d = e \\right)")


def test_quad_separates_two_equations_only_when_both_are_equations():
    two = W.equations("$$a = b \\quad c = d$$", "md")
    assert [e.members for e in two] == [("a", "b"), ("c", "d")]
    [one] = W.equations("$$a = b \\quad \\text{for all } i$$", "md")
    assert one.members[0] == "a"


def test_an_update_arrow_and_approx_are_relations():
    [eq] = W.equations("$$W_2 \\leftarrow W_2 - 0.5 g \\approx 0.1$$", "md")
    assert eq.members == ("W_2", "W_2 - 0.5 g", "0.1")
    assert eq.relations == ("\\leftarrow", "\\approx")


def test_latex_environments_and_comments():
    text = ("\\documentclass{article}\n\\begin{document}\n"
            "% a = b is a comment, not an equation\n"
            "\\begin{align*}\n  x &= 1 \\\\\n  y &= 2\n\\end{align*}\n"
            "\\begin{equation}\\label{eq:z} z = 3 \\end{equation}\n"
            "\\begin{gather} u = 4 \\\\ v = 5 \\end{gather}\n"
            "\\end{document}\n")
    found = W.equations(text, "tex")
    assert [e.members for e in found] == [("x", "1"), ("y", "2"), ("z", "3"), ("u", "4"), ("v", "5")]
    assert [e.line for e in found] == [5, 6, 8, 9, 9]


def test_markers_name_the_next_equation_only():
    md = "<!-- bpcheck: dl/dW2 -->\n$$g = 1$$\n$$h = 2$$\n"
    first, second = W.equations(md, "md")
    assert first.marker == "dl/dW2" and second.marker is None
    tex = "% bpcheck: step1.W1\n\\[ W_1 \\leftarrow 3 \\]\n"
    [eq] = W.equations(tex, "tex")
    assert eq.marker == "step1.W1"


def test_markdown_code_fences_are_not_math():
    text = "```\n$$a = b$$\n```\n$$c = d$$\n"
    assert [e.members for e in W.equations(text, "md")] == [("c", "d")]


def test_an_expression_alone_answers_nothing_and_unbalanced_braces_are_reported():
    assert W.equations("$$x + y$$", "md") == []
    [bad] = W.equations("$$a = \\frac{1}{2$$", "md")
    assert bad.error and "balance" in bad.error


def test_the_seed_003_exercise_2_answers_are_found_in_order():
    text = SEED_003.read_text()
    found = {e.line: e for e in W.equations(text, "md") if e.line >= 77}
    lefts = [(line, e.left) for line, e in sorted(found.items())][:10]
    assert lefts == [(77, "S_1"), (79, "Z_1"), (81, "Y_{out}"), (83, "\\mathcal{L}"), (85, "\\delta_2"),
                     (87, "\\frac{\\partial \\mathcal{L}}{\\partial W_2}"), (89, "\\delta_1"),
                     (91, "\\frac{\\partial \\mathcal{L}}{\\partial W_1}"), (93, "W_2"), (95, "W_1")]
    assert found[87].answer == "\\begin{bmatrix} -0.1029 \\\\ -0.2059 \\\\ 0.0176 \\end{bmatrix}^T"
    assert found[87].members[1] == "\\delta_2 Z_1^T"
    assert found[93].relations == ("\\leftarrow", "=")


def test_decode_refuses_binary_huge_and_non_utf8_files():
    with pytest.raises(W.WriteupError, match="binary"):
        W.decode(b"$$a=b$$\0", "hw.md")
    with pytest.raises(W.WriteupError, match="bytes"):
        W.decode(b"x" * (W.MAX_BYTES + 1), "hw.md")
    with pytest.raises(W.WriteupError, match="UTF-8"):
        W.decode(b"\xff\xfe$$", "hw.md")
    assert W.decode("$$a = b$$".encode(), "hw.md") == "$$a = b$$"
    assert W.kind_of("HW1.TEX") == "tex" and W.kind_of("hw1.md") == "md"
    with pytest.raises(W.WriteupError):
        W.kind_of("hw1.pdf")


def test_a_chain_longer_than_the_limit_is_refused():
    with pytest.raises(W.WriteupError, match="members"):
        W.equations("$$" + " = ".join("a" * (W.MAX_MEMBERS + 2)) + "$$", "md")


def test_display_math_is_bounded_in_all_but_prose_is_not():
    block = "$$a = " + "b" * 896 + "$$\n"  # 900 characters of math, 1,000 counted (BLOCK_CHARS)
    prose = "words " * 100_000 + "\n"  # 600,000 characters outside the math: free
    allowed = prose + block * (W.MAX_MATH_CHARS // 1000)
    assert len(W.equations(allowed, "md")) == W.MAX_MATH_CHARS // 1000
    with pytest.raises(W.WriteupError, match=r"line 202: more than 200,000 characters of display math"):
        W.equations(allowed + block, "md")


@pytest.mark.parametrize("text, kind", [("$$$$" * 3000, "md"), ("\\[\\]" * 3000, "tex")])
def test_empty_blocks_count_too(text, kind):
    with pytest.raises(W.WriteupError, match="each block counting 100 more"):
        W.equations(text, kind)


def test_every_marker_names_at_most_the_next_equation_however_many():
    text = "% bpcheck: z1\n" * 50_000 + "% bpcheck: dl/dW2\n$$a = 1$$\n% bpcheck: z2\n$$b = 2$$\n"
    assert [e.marker for e in W.equations(text, "tex")] == ["dl/dW2", "z2"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="$\\[]{}&=%<!->-abc \n\\begin{aligned}bmatrix", max_size=300),
       st.sampled_from(["md", "tex"]))
def test_random_write_ups_never_crash(text, kind):
    for eq in W.equations(text, kind):
        assert eq.members and eq.line >= 1
