"""A graph's per-sample formulas made on demand (`sample_formulas.Sheet`): each is one sample's
formula with every name but the inputs renamed to sample n's, and what `written` renders once
for all samples is, character for character, what rendering that tree gives, in every style."""

from __future__ import annotations

from pathlib import Path

import pytest

from backprop_check import formulas as F
from backprop_check import graph_formulas
from backprop_check.formula_render import to_code, to_latex, to_sheet_latex, to_text
from backprop_check.solve import solve
from backprop_check.spec import load_problem, parse_problem

ROOT = Path(__file__).resolve().parent.parent / "problems" / "graphs"

# underscores, a derivative by a data name, an input used whole, a vector node, names: aliases
SPEC = """\
bpcheck: 1
id: renamed
graph:
  inputs: {w_in: [0.5, -0.25, 2], b: 0.125}
  nodes:
    z_1: "w_in[0] + w_in[1]*x_0[0] + w_in[2]*x_0[1]"
    h_1: "tanh(z_1)"
    v: "[h_1, h_1 * b, z_1]"
    L: "sum(v * v) + (h_1 - t)**2"
  output: L
data: {x_0: [[1, 2], [-1, 0.5], [0.25, 3]], t: [1, 0, 0.5]}
reduce: mean
names: {z_1: S1}
"""


def _problems():
    shipped = [load_problem(p) for p in sorted(ROOT.glob("*.yaml"))]
    return [p for p in shipped if p.data] + [parse_problem(SPEC, "renamed.yaml")]


def _renamed_by_hand(tree: F.Node, n: int, inputs) -> F.Node:
    """The tree with every name but the inputs (and pi, e) prefixed `sample{n}.`, walked here."""
    if isinstance(tree, F.Name):
        return tree if tree.id in inputs or tree.id in ("pi", "e") else F.Name(f"sample{n}.{tree.id}")
    if isinstance(tree, (F.Neg, F.T)):
        return type(tree)(_renamed_by_hand(tree.arg, n, inputs))
    if isinstance(tree, F.Index):
        return F.Index(_renamed_by_hand(tree.arg, n, inputs), tree.at)
    if isinstance(tree, F.Bin):
        return F.Bin(tree.op, _renamed_by_hand(tree.left, n, inputs), _renamed_by_hand(tree.right, n, inputs))
    if isinstance(tree, F.Call):
        return F.Call(tree.fn, tuple(_renamed_by_hand(a, n, inputs) for a in tree.args))
    if isinstance(tree, F.Stack):
        return F.Stack(tuple(_renamed_by_hand(a, n, inputs) for a in tree.items))
    return tree


@pytest.mark.parametrize("problem", _problems(), ids=lambda p: p.id)
def test_each_samples_formula_is_the_one_sample_formula_in_its_names(problem):
    sheet, base = graph_formulas.sheet(problem)
    samples = [name for name in sheet if sheet.sample_of(name) is not None]
    assert len(samples) == problem.n_samples * len(base)
    for name in samples:
        n, one = sheet.sample_of(name)
        assert name == f"sample{n}.{one}"
        assert sheet[name] == _renamed_by_hand(base[one], n, problem.graph.inputs), name


@pytest.mark.parametrize("problem", _problems(), ids=lambda p: p.id)
def test_written_once_for_all_samples_is_the_trees_own_text(problem):
    sheet, _ = graph_formulas.sheet(problem)
    aliases = dict(problem.display)
    fresh, _ = graph_formulas.sheet(problem)  # its trees made before anything is written
    for name in fresh:
        tree = fresh[name]
        assert sheet.written(name, to_code) == to_code(tree), name
        assert sheet.written(name, to_text) == to_text(tree), name
        assert sheet.written(name, to_latex) == to_latex(tree), name
        assert sheet.written(name, to_sheet_latex, aliases) == to_sheet_latex(tree, aliases), name
    assert sheet.written("no-such-quantity", to_code) is None


def test_a_kept_sheet_holds_its_names_only_and_makes_no_tree_to_test_membership():
    problem = parse_problem(SPEC, "renamed.yaml")
    sheet, _ = graph_formulas.sheet(problem)
    names = list(sheet)
    kept = sheet.only(names[1::2])
    assert list(kept) == names[1::2] and len(kept) == len(names[1::2])
    assert names[0] not in kept and names[1] in kept
    assert not sheet.made  # membership and order made no tree
    assert kept[names[1]] == sheet[names[1]]
    with pytest.raises(KeyError):
        kept[names[0]]


def test_entries_give_their_formula_and_its_text():
    problem = parse_problem(SPEC, "renamed.yaml")
    solution = solve(problem)
    entry = solution.entries["sample2.dL/dz_1"]
    # z_1 reaches L through h_1 and as v's last entry (dv/dz_1 = [0, 0, 1])
    want = "sample2.dL/dh_1 * sample2.dh_1/dz_1 + sample2.dL/dv @ [0, 0, 1]"
    assert entry.written(to_code) == to_code(entry.formula) == want
    assert solution.entries["sample3.h_1"].written(to_code) == "tanh(sample3.z_1)"
    assert solution.entries["L"].written(to_code) == "(sample1.L + sample2.L + sample3.L) / 3"
    assert solution.entries["w_in"].written(to_code) is None and solution.entries["w_in"].formula is None
