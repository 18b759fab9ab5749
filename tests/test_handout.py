"""Handouts (`bpcheck handout`): the statement, every given number, the questions, and no answer.

The no-answer test solves each shipped problem and checks that no solved value
that the spec does not give appears in its handout, in any rounding; and that
every number the handout shows is one the spec's YAML gives (read here with
PyYAML, not through bpcheck) or a registry default, or a small integer (indices,
points, sizes).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_check import activations, optimizers
from backprop_check.cli import main
from backprop_check.handout import render
from backprop_check.handout_writers import tex
from backprop_check.solve import solve
from backprop_check.spec import load_problem, parse_problem

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted([*ROOT.glob("problems/*.yaml"), *ROOT.glob("problems/graphs/*.yaml"),
                *ROOT.glob("fixtures/problems/*.yaml")])
PDFLATEX = shutil.which("pdflatex")
TOKEN = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _given(path: Path) -> set:
    """Every number the spec's YAML writes (whole scalars and numbers inside strings), and registry defaults."""
    out: set = {Fraction(1, 2), Fraction(1)}  # margin 1, the factor ½ of the loss formulas as printed
    out |= {v for kind in activations.KINDS.values() for v in kind.defaults.values()}
    out |= {v for kind in optimizers.KINDS.values() for _, v in kind.defaults}
    stack = [yaml.safe_load(path.read_text())]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack += list(node.values()) + list(node.keys())
        elif isinstance(node, list):
            stack += node
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            out.add(Fraction(str(node)))
        elif isinstance(node, str):
            out |= {Fraction(t) for t in TOKEN.findall(node)}
            m = re.fullmatch(r"\s*(-?[\d.]+)\s*/\s*([\d.]+)\s*", node)
            if m:
                out.add(Fraction(m.group(1)) / Fraction(m.group(2)))
            try:
                out.add(Fraction(node.strip()))
            except ValueError:
                pass
    return out


def _small(v: Fraction) -> bool:
    return v.denominator == 1 and abs(v) <= 100


def _values(value) -> list:
    return [x for item in value for x in _values(item)] if isinstance(value, list) else [value]


@pytest.fixture(scope="module", params=SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def solved(request):
    problem = load_problem(request.param)
    return request.param, problem, solve(problem, check=False)


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_every_number_shown_is_given(solved, fmt):
    path, problem, _ = solved
    given = _given(path)
    text = render(problem, fmt, "s1").split(r"\begin{document}")[-1]  # the body, not the page layout
    strays = {t for t in TOKEN.findall(text) if not _small(Fraction(t)) and Fraction(t) not in given}
    assert not strays


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_no_solved_value_appears(solved, fmt):
    path, problem, solution = solved
    given = _given(path)
    text = render(problem, fmt)
    shown = set(TOKEN.findall(text))
    checked = 0
    for entry in solution.entries.values():
        for v in _values(entry.value):
            exact = Fraction(v).limit_denominator(10 ** 9)
            if _small(exact) or exact in given or any(abs(v - float(g)) < 1e-12 for g in given):
                continue  # a value the spec gives, or an integer that indices and points also are
            checked += 1
            spelled = {f"{v:.{d}f}" for d in (2, 3, 4, 5, 6)} | {f"{v:.{d}g}" for d in (3, 4, 5, 6)} | {repr(v)}
            leaked = {s for s in spelled if s in shown and not _small(Fraction(s)) and Fraction(s) not in given}
            assert not leaked, (entry.name, v)
    if not checked:
        pytest.skip("every solved value is a small integer or a number the spec gives")


def test_the_seed_handout_by_hand():
    problem = load_problem(ROOT / "problems" / "assignment1-ex2.yaml")
    text = render(problem, "latex", "lw2350")
    assert r"W_{1} = \begin{bmatrix} 0.6 & 0.01 \\ 0.7 & 0.43 \\ 0 & 0.88 \end{bmatrix}" in text
    assert r"x = \begin{bmatrix} 0.75 & 0.2 & -0.75 & 0.2 \\ 0.8 & 0.05 & 0.8 & -0.05 \end{bmatrix}" in text
    assert r"\eta = 0.5" in text and "Total: 12 points" in text  # 1+1+1+1+1+2+1+2+1+1
    assert r"(2 points) $\frac{\partial \ell}{\partial W_{2}}$" in text
    assert r"\texttt{dl/dz3} or \texttt{delta\_2}" in text  # the spec's alias of dl/dz3
    assert text.count(r"\item ") == 10
    assert r"\operatorname{ReLU}\left(z_{1}\right)" in text and r"\frac{1}{N}" in text  # textbook notation (issue 13)


def _shown(text: str, name: str) -> list:
    """The matrix the handout shows for `name`, as rows of Fractions."""
    body = re.search(rf"{re.escape(name)} = \\begin\{{bmatrix\}} (.*?) \\end", text).group(1)
    return [[Fraction(v) for v in row.split(" & ")] for row in body.split(r" \\ ")]


def test_rows_layout_is_shown_as_written():
    path = ROOT / "problems" / "batch-rows-softmax.yaml"
    raw = yaml.safe_load(path.read_text())
    text = render(load_problem(path), "markdown")
    assert "Samples are the rows" in text
    assert _shown(text, "x") == [[Fraction(str(v)) for v in row] for row in raw["data"]["x"]]


def test_without_questions_every_quantity_is_asked():
    spec = ("bpcheck: 1\nid: one\nnetwork:\n  layers:\n    - {weight: W1, bias: b1, activation: sigmoid}\n"
            "params: {W1: [[1, 2]], b1: [0.5]}\ndata: {x: [1, 1], y: [1]}\nloss: mse\n")
    text = render(parse_problem(spec), "markdown")
    keys = re.findall(r"^  (\S+):   # question", text, re.M)
    # FORMAT.md section 2 for one layer and one sample, y_hat asked once (z2 is y_hat)
    assert keys == ["z1", "y_hat", "loss", "dl/dy_hat", "dl/dz1", "dl/dW1", "dl/db1", "dy_hat/dz1"]
    assert "Total: 8 points" in text


HOSTILE = "T\\i|t<l>e_ 100% #1 & $5 ~x^2 {a} [b] `c` \"d\" 'e' -- → σ Σ ü ł 日本 🙂 \u202e\n\x00 end"


def _compile(text: str, tmp_path: Path) -> None:
    (tmp_path / "h.tex").write_text(text, encoding="utf-8")
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "h.tex"], cwd=tmp_path,
                         capture_output=True, text=True, errors="replace", timeout=120)
    assert run.returncode == 0 and (tmp_path / "h.pdf").exists(), run.stdout[-2000:]


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("path", [ROOT / "problems" / "momentum-two-steps.yaml",
                                  ROOT / "problems" / "graphs" / "neuron-node-by-node.yaml"], ids=lambda p: p.stem)
def test_latex_handout_compiles_with_hostile_strings(path, tmp_path):
    text = path.read_text()
    title = json.dumps(HOSTILE + "".join(map(chr, range(0xa0, 0x250))), ensure_ascii=False)  # YAML reads JSON
    text = re.sub(r"(?m)^title:.*$", lambda m: "title: " + title, text)
    problem = parse_problem(text)
    assert problem.title.startswith("T\\i|t")
    _compile(render(problem, "latex", HOSTILE), tmp_path)


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_tex_escape_leaves_no_markup(text):
    out = tex(text)
    known = (r"\\text[a-z]+\{\}|\\[{}$&%#_]|\$\\[A-Za-z]+\$|\\texttt\{U\+[0-9A-F]{4,6}\}|-\{\}|\{\[\}|\{\]\}"
             r"|\\ldots\{\}")
    rest = re.sub(known, "", out)
    assert not re.search(r"[\\{}$&%#_^~]", rest.replace("~", "", text.count("\u00a0")))  # nbsp is ~
    assert "\n" not in out


def test_markdown_escapes_the_spec_strings():
    text = ROOT.joinpath("problems", "assignment1-ex2.yaml").read_text()
    text = re.sub(r"(?m)^title:.*$", lambda m: "title: " + json.dumps("# <script>x</script> | $y$ [l](http://e.x)"),
                  text)
    out = render(parse_problem(text), "markdown", "a`b\n## heading")
    head = out.splitlines()[0]
    assert "<script>" not in out and "\\$y\\$" in head and "\\|" in head and "\\[l\\]" in head
    assert "\n## heading" not in out and "``a`b\\n## heading``" in out


# ------------------------------------------------------------------ the command and rosters

def test_cli_writes_markdown_and_latex(tmp_path):
    spec = str(ROOT / "problems" / "graphs" / "scalar-graph-sgd.yaml")
    result = CliRunner().invoke(main, ["handout", spec])
    assert result.exit_code == 0 and result.output.startswith("# ")
    out = tmp_path / "h.tex"
    assert CliRunner().invoke(main, ["handout", spec, "--format", "latex", "-o", str(out)]).exit_code == 0
    assert out.read_text().startswith(r"\documentclass")


ROSTER = "name,Student,email\nA,../../escape,a\nB,con,b\nC,x/y,c\nD,x:y,d\nE,X_Y,e\nF,.hidden,f\n\nG,ok-1,g\n"


def test_roster_writes_one_handout_per_student_inside_the_directory(tmp_path):
    (tmp_path / "roster.csv").write_text("\ufeff" + ROSTER)
    out = tmp_path / "deep" / "out"
    result = CliRunner().invoke(main, ["handout", str(ROOT / "problems" / "assignment1-ex2.yaml"), "--roster",
                                       str(tmp_path / "roster.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(["_.._escape.md", "_con.md", "x_y.md", "x_y-2.md", "X_Y-3.md", "hidden.md", "ok-1.md"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "roster.csv"]  # nothing escaped
    assert "for student `../../escape`" in (out / "_.._escape.md").read_text()


@pytest.mark.parametrize("roster, message", [
    ("name,email\nA,a\n", "no 'student' column"),
    ("\n\nname,email\nA,a\n", "r.csv:3: the roster has no 'student' column (its columns: 'name', 'email')"),
    ("student\nann\nbob\nann\n", "listed twice (lines 2 and 4)"),
    ("student\n", "lists no student"),
    ("", "empty"),
])
def test_bad_rosters_exit_2(tmp_path, roster, message):
    (tmp_path / "r.csv").write_text(roster)
    result = CliRunner().invoke(main, ["handout", str(ROOT / "problems" / "assignment1-ex2.yaml"), "--roster",
                                       str(tmp_path / "r.csv"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args", [["--roster", "r.csv"], ["--out", "o"], ["--roster", "r.csv", "--out", "o",
                                                                         "--student", "s"]])
def test_roster_options_go_together(args):
    result = CliRunner().invoke(main, ["handout", str(ROOT / "problems" / "assignment1-ex2.yaml"), *args])
    assert result.exit_code == 2


TEMPLATE = ROOT / "problems" / "variant-relu-template.yaml"


@pytest.mark.skipif(not TEMPLATE.exists(), reason="per-student variants have not landed")
def test_a_students_handout_shows_their_variant():
    from backprop_check.variants import problem_for

    template = load_problem(TEMPLATE)
    mine, theirs = problem_for(template, "s1"), problem_for(template, "s2")
    text = CliRunner().invoke(main, ["handout", str(TEMPLATE), "--student", "s1"]).output
    assert render(mine, "markdown", "s1") == text.rstrip("\n") + "\n"
    assert mine.params["W1"] != theirs.params["W1"] and mine.params["W1"] != template.params["W1"]
    assert tuple(map(tuple, _shown(text, "W_{1}"))) == mine.params["W1"]


def test_a_roster_may_start_with_blank_lines(tmp_path):
    (tmp_path / "r.csv").write_text("\n \nstudent,name\nann,Ann\n")
    result = CliRunner().invoke(main, ["handout", str(ROOT / "problems" / "assignment1-ex2.yaml"), "--roster",
                                       str(tmp_path / "r.csv"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["ann.md"]
