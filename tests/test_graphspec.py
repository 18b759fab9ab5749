"""Graph problem specs (FORMAT.md section 5): loading, quantity names, and bad specs.

Good specs are the section's examples; each bad spec differs from a small valid
template in one place and must give one InputError at the right line and
column, with a message that says what is wrong (and, through the CLI, exit 2
without a traceback).
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_check import formulas as F
from backprop_check import graph_quantities as GQ
from backprop_check import optimizers
from backprop_check.cli import main
from backprop_check.errors import InputError
from backprop_check.graphspec import GraphProblem
from backprop_check.quantities import UnknownQuantity
from backprop_check.spec import parse_problem

SCALAR = """\
bpcheck: 1
id: scalar-graph
title: L = (w1 + w2) w3, one gradient step
graph:
  inputs: {w1: 1, w2: 2.3, w3: 5.7}
  nodes:
    s: w1 + w2
    L: s * w3
  output: L
train: {lr: 0.01, steps: 1, params: [w1, w2, w3]}
questions:
  - {quantity: dL/dw1}
  - {quantity: step1.w1}
"""

TWO_PATHS = """\
bpcheck: 1
id: two-paths
graph:
  inputs: {x: 1, y: 2, z: 3}
  nodes:
    a: x*y + z
    b: (x + x)*a
    w: a*b
questions:
  - {quantity: db/dx}
  - {quantity: "dw/d(x, y)"}
"""

JACOBIAN = """\
bpcheck: 1
id: composition
graph:
  inputs: {x: 1, y: 2, z: -1}
  nodes:
    G: [x - 4*y, x*y, x + y]
    F: ["2*G[0]*G[1]", "G[1] - G[2]"]
names: {G: g, F: Fout}
questions:
  - {quantity: "dF/d(x,y)", form: expression}
  - {quantity: dF/dg}
  - {quantity: dG/dx}
"""

NEURON = """\
bpcheck: 1
id: neuron-batch
graph:
  inputs: {w: [0.5, -0.3], b: 0.1}
  nodes:
    z: w[0]*x[0] + w[1]*x[1] + b
    h: sigmoid(z)
    L: (h - y)**2
data:
  x: [[1, 2], [1, 3], [2, 2]]
  y: [1, 0, 1]
reduce: mean
train: {lr: 0.5, steps: 2, optimizer: {momentum: {mu: 0.9}}}
questions:
  - {quantity: sample2.h}
  - {quantity: dL/dw}
  - {quantity: sample3.dL/dz}
"""


def load(text: str) -> GraphProblem:
    problem = parse_problem(text, "g.yaml")
    assert isinstance(problem, GraphProblem)
    return problem


# ----------------------------------------------------------------- good specs

def test_scalar_graph_with_a_step():
    p = load(SCALAR)
    assert (p.id, p.title, p.file) == ("scalar-graph", "L = (w1 + w2) w3, one gradient step", "g.yaml")
    assert p.graph.inputs == {"w1": Fraction(1), "w2": Fraction(23, 10), "w3": Fraction(57, 10)}
    assert p.graph.nodes == (("s", F.Bin("+", F.Name("w1"), F.Name("w2"))),
                             ("L", F.Bin("*", F.Name("s"), F.Name("w3"))))
    assert p.graph.output == "L"
    assert (p.lr, p.steps, p.train_params, p.train) == (Fraction(1, 100), 1, ("w1", "w2", "w3"), {"optimizer": None})
    assert p.optimizer == optimizers.SGD
    assert (p.data, p.reduce, p.n_samples) == ({}, "sum", 1)
    assert [q.quantity for q in p.questions] == ["dL/dw1", "step1.w1"]
    assert p.questions[0].position == (12, 5)
    assert p.digest and p.sha256 is None
    assert GQ.quantities(p) == ["w1", "w2", "w3", "s", "L", "dL/dL", "dL/ds", "dL/dw1", "dL/dw2", "dL/dw3",
                                "ds/dw1", "ds/dw2", "step1.w1", "step1.w2", "step1.w3", "step1.L"]
    with pytest.raises(Exception):
        p.lr = 1  # frozen


def test_two_paths_total_derivatives_and_questions():
    p = load(TWO_PATHS)
    assert p.lr is None and p.steps == 0
    assert [q.quantity for q in p.questions] == ["db/dx", "dw/d(x,y)"]
    assert GQ.quantities(p) == ["x", "y", "z", "a", "b", "w", "dw/dw", "dw/db", "dw/da", "dw/dx", "dw/dy",
                                "dw/dz", "da/dx", "da/dy", "da/dz", "db/dx", "db/da"]


def test_vector_nodes_with_indexing_and_aliases():
    p = load(JACOBIAN)
    g, f = p.graph.node("G"), p.graph.node("F")
    assert isinstance(g, F.Stack) and len(g.items) == 3
    assert f.items[1] == F.Bin("-", F.Index(F.Name("G"), (1,)), F.Index(F.Name("G"), (2,)))
    assert p.shapes["G"] == (3,) and p.shapes["F"] == (2,)
    assert p.graph.output == "F"
    assert [q.quantity for q in p.questions] == ["dF/d(x,y)", "dF/dG", "dG/dx"]
    assert p.questions[0].form == "expression"
    assert (p.names, p.display) == ({"g": "G", "Fout": "F"}, {"G": "g", "F": "Fout"})
    assert GQ.quantities(p) == ["x", "y", "z", "G", "F", "dF/dF", "dF/dG", "dF/dx", "dF/dy", "dF/dz",
                                "dG/dx", "dG/dy"]


def test_neuron_node_by_node_over_data():
    p = load(NEURON)
    assert p.n_samples == 3 and p.reduce == "mean"
    assert set(p.graph.inputs) == {"w", "b"} and set(p.data) == {"x", "y"}
    w = p.graph.inputs["w"]
    assert isinstance(w, np.ndarray) and w.dtype == object and w.shape == (2,)
    assert list(w) == [Fraction(1, 2), Fraction(-3, 10)]
    assert [list(s) for s in p.data["x"]] == [[1, 2], [1, 3], [2, 2]]
    assert p.data["y"] == (Fraction(1), Fraction(0), Fraction(1))
    assert p.train == {"optimizer": {"momentum": {"mu": "0.9"}}}  # as written
    assert p.optimizer == optimizers.make("momentum", mu=Fraction(9, 10))
    assert p.train_params == ("w", "b")
    assert [q.quantity for q in p.questions] == ["sample2.h", "dL/dw", "sample3.dL/dz"]
    block = ["x", "y", "z", "h", "L", "dL/dL", "dL/dh", "dL/dz", "dL/dw", "dL/db", "dL/dx", "dL/dy",
             "dz/dw", "dz/db", "dz/dx", "dh/dz"]
    assert GQ.quantities(p) == (["w", "b", "L", "dL/dw", "dL/db"]
                                + [f"sample{n}.{q}" for n in (1, 2, 3) for q in block]
                                + ["step1.v_w", "step1.w", "step1.v_b", "step1.b", "step1.L",
                                   "step2.v_w", "step2.w", "step2.v_b", "step2.b", "step2.L"])


def test_matrix_inputs_nested_list_nodes_and_graph_reduce():
    p = load("""\
bpcheck: 1
id: matrices
graph:
  inputs: {A: [[1, 2], [3, 4]], v: [1, -1]}
  nodes:
    M: [["A[0, 0]", "v[1]"], ["v[0]", 2]]
    u: M @ v
    o: sum(u * u)
  reduce: sum
data: {c: [1, 2]}
""")
    assert p.graph.inputs["A"].shape == (2, 2) and p.graph.inputs["A"][1, 0] == 3
    assert p.shapes["M"] == (2, 2) and p.shapes["u"] == (2,) and p.shapes["o"] == ()
    m = p.graph.node("M")
    assert m.items[1] == F.Stack((F.Index(F.Name("v"), (0,)), F.Num(Fraction(2))))


def test_every_quantity_listed_is_canonical_and_exists():
    for text in (SCALAR, TWO_PATHS, JACOBIAN, NEURON):
        p = load(text)
        for name in GQ.quantities(p):
            assert GQ.exists(name, p), name
            assert p.canonical(name) == name


# ----------------------------------------------------------------- names

def test_parse_splits_prefix_top_and_bottoms():
    assert GQ.parse("sample2.dL/dw1") == ("sample", 2, "L", ("w1",))
    assert GQ.parse("dF/d(x,y)") == (None, None, "F", ("x", "y"))
    assert GQ.parse("dF/d(x, y, z)") == (None, None, "F", ("x", "y", "z"))
    assert GQ.parse("w1") == (None, None, "w1", ())
    assert GQ.parse("step3.w1") == ("step", 3, "w1", ())
    assert GQ.parse("dd/da") == (None, None, "d", ("a",))  # a node called d
    for name in ("sample2.dL/dw1", "dF/d(x,y)", "w1", "step3.L", "dd/da"):
        assert GQ.spell(*GQ.parse(name)) == name


@pytest.mark.parametrize("text,name,canonical", [
    (JACOBIAN, "dF/d(x, y)", "dF/d(x,y)"),
    (JACOBIAN, " dF / d( x , y ) ", "dF/d(x,y)"),
    (JACOBIAN, "dF/d(x)", "dF/dx"),
    (JACOBIAN, "dFout/dg", "dF/dG"),
    (JACOBIAN, "dFout/d(x,y)", "dF/d(x,y)"),
    (JACOBIAN, "g", "G"),
    (JACOBIAN, "∂F/∂x", "dF/dx"),
    (JACOBIAN, "dF/dF", "dF/dF"),
    (TWO_PATHS, "db/dx", "db/dx"),
    (TWO_PATHS, "dw/da", "dw/da"),
    (TWO_PATHS, "db/dz", "db/dz"),  # any input, even one not written in b's expression
    (SCALAR, "step1.L", "step1.L"),
    (NEURON, "L", "L"),
    (NEURON, "dL/d(b)", "dL/db"),
    (NEURON, "sample1.dz/dx", "sample1.dz/dx"),
    (NEURON, "sample3.dh/dw", "sample3.dh/dw"),
    (NEURON, "step2.v_b", "step2.v_b"),
])
def test_canonical_names(text, name, canonical):
    assert load(text).canonical(name) == canonical


@pytest.mark.parametrize("text,name,suggestion", [
    (SCALAR, "dl/dw1", "dL/dw1"),
    (SCALAR, "dL/dw4", "dL/dw3"),
    (SCALAR, "step2.w1", None),
    (SCALAR, "step1.v_w1", None),  # plain SGD keeps no state
    (SCALAR, "sample1.s", "s"),
    (SCALAR, "ds/dL", None),  # L is computed after s
    (SCALAR, "dw1/ds", None),  # an input is not a node
    (TWO_PATHS, "da/da", None),
    (NEURON, "h", "sample1.h"),  # node values of a problem with data exist per sample
    (NEURON, "dh/dz", "sample1.dh/dz"),
    (NEURON, "sample4.h", "sample1.h"),
    (NEURON, "dL/dx", "sample1.dL/dx"),  # data varies per sample
    (NEURON, "sample1.w", "w"),
    (NEURON, "sample2.hh", "sample2.h"),
    (NEURON, "sample3.dL/dhh", "sample3.dL/dh"),
])
def test_unknown_names_suggest_but_never_themselves(text, name, suggestion):
    p = load(text)
    with pytest.raises(UnknownQuantity) as info:
        p.canonical(name)
    assert info.value.suggestion != name
    if suggestion is not None:
        assert info.value.suggestion == suggestion


def test_a_later_node_or_a_non_scalar_input_says_why():
    with pytest.raises(UnknownQuantity, match="w is computed after a"):
        load(TWO_PATHS).canonical("da/dw")
    with pytest.raises(UnknownQuantity, match=re.escape("w is not a scalar input (its shape is 2)")):
        load(NEURON).canonical("L/d(w,b)".join(["d", ""]))


def test_names_may_alias_any_value():
    p = load(NEURON.replace("reduce: mean", "reduce: mean\nnames: {h: a1, x: X, w: weights}"))
    assert p.canonical("sample2.dL/da1") == "sample2.dL/dh"
    assert p.canonical("sample1.da1/dX") == "sample1.dh/dx"
    assert p.canonical("dL/dweights") == "dL/dw"


# ----------------------------------------------------------------- bad specs

TEMPLATE = """\
bpcheck: 1
id: tiny-graph
graph:
  inputs: {w1: 1, w2: 2.3, w3: 5.7, v: [1, 2, 3], A: [[1, 2], [3, 4]]}
  nodes:
    s: w1 + w2
    u: v * s
    L: s * w3 + sum(u)
  output: L
train: {lr: 0.01, steps: 1, params: [w1, w2]}
questions:
  - {quantity: dL/dw1}
"""
L_INPUTS, L_S, L_U, L_L, L_OUTPUT, L_TRAIN, L_Q = 4, 6, 7, 8, 9, 10, 12


def make(*subs: tuple[str, str]) -> str:
    text = TEMPLATE
    for old, new in subs:
        assert text.count(old) == 1, f"template fragment {old!r} is not unique"
        text = text.replace(old, new)
    return text


def test_the_template_is_good():
    p = load(TEMPLATE)
    assert p.shapes["u"] == (3,) and p.train_params == ("w1", "w2")


BAD = [
    # order, names, cycles
    ("later-node", [("s: w1 + w2", "s: w1 + t"), ("sum(u)", "sum(u)\n    t: 2 * w3")], L_S, 8,
     "node 's' uses 't', which is defined after it: nodes are in order"),
    ("unknown-name", [("u: v * s", "u: v * q")], L_U, 8, "unknown name 'q'"),
    ("unknown-name-suggestion", [("u: v * s", "u: v * w1x")], L_U, 8, "unknown name 'w1x'; did you mean 'w1'?"),
    ("unknown-name-listed", [("u: v * s", "u: v * q")], L_U, 8, "unknown name 'q' (known: A, L, s, u, v, w1"),
    ("self-cycle", [("u: v * s", "u: v * u")], L_U, 8, "node 'u' uses itself: a cycle"),
    ("two-node-cycle", [("s: w1 + w2", "s: w1 + L")], L_S, 8, "a cycle (s -> L -> s)"),
    ("three-node-cycle", [("s: w1 + w2", "s: w1 + u[0]")], L_S, 8, "node 's' uses 'u', which uses 's': a cycle"),
    ("reserved-N", [("u: v * s", "N: v * s"), ("sum(u)", "sum(N)")], L_U, 5, "'N' is a reserved name"),
    ("reserved-pi", [("w1: 1,", "pi: 1,"), ("s: w1 + w2", "s: pi + w2"), ("[w1, w2]", "[w2]")],
     L_INPUTS, 12, "'pi' is a reserved name"),
    ("reserved-function", [("u: v * s", "relu: v * s"), ("sum(u)", "1")], L_U, 5, "'relu' is a reserved"),
    ("reserved-step", [("s: w1 + w2", "step1: w1 + w2")], L_S, 5, "'step1' is a reserved name"),
    ("reserved-sample", [("u: v * s", "sample: v * s")], L_U, 5, "'sample' is a reserved name"),
    ("reserved-keyword", [("u: v * s", "lambda: v * s")], L_U, 5, "'lambda' is a reserved name"),
    ("node-is-input", [("u: v * s", "v: v * s")], L_U, 5, "'v' is already an input"),
    ("data-is-input", [("questions:", "data: {w3: [1, 2]}\nquestions:")], 11, 8, "'w3' is already an input"),
    ("not-an-identifier", [("u: v * s", "2u: v * s")], L_U, 5, "is not a plain name"),
    # expressions
    ("eval-attempt", [("u: v * s", "u: __import__('os')")], L_U, 8, "'__' is not allowed"),
    ("attribute", [("u: v * s", "u: v.sum()")], L_U, 8, "only plain function names can be called"),
    ("attribute-value", [("u: v * s", "u: v.real")], L_U, 8, "'.real' is not allowed"),
    ("empty-node", [("u: v * s", "u:")], L_U, 7, "must be an expression"),
    ("mapping-node", [("u: v * s", "u: {a: 1}")], L_U, 8, "must be an expression"),
    ("absurd-power", [("u: v * s", "u: v ** 99")], L_U, 8, "exponent 99 is too large"),
    ("negative-index", [("u: v * s", "u: v[-1] * s")], L_U, 8, "negative indices are not allowed"),
    ("name-index", [("u: v * s", "u: v[w1] * s")], L_U, 8, "an index must be a whole number"),
    ("list-of-lists-ragged", [("u: v * s", "u: [[s, s], [s]]")], L_U, 8, "equally long"),
    ("list-too-deep", [("u: v * s", "u: [[[s]]]")], L_U, 9, "at most two deep"),
    ("list-too-deep-in-text", [("u: v * s", "u: '[[[s]]]'")], L_U, 8, "at most two deep"),
    # shapes and values, found by one float64 pass
    ("shapes", [("u: v * s", "u: v + A")], L_U, 8, "node 'u': v + A: shapes do not fit for '+': (3,) and (2, 2)"),
    ("matmul-shapes", [("u: v * s", "u: A @ v")], L_U, 8, "node 'u': A @ v"),
    ("index-out-of-range", [("u: v * s", "u: v[3] * s")], L_U, 8, "node 'u': v[3]"),
    ("index-a-scalar", [("u: v * s", "u: s[0] * v")], L_U, 8, "node 'u': s[0]"),
    ("stack-mixed", [("u: v * s", "u: [v, s]")], L_U, 8, "node 'u': [v, s]: the entries of [v, s] have different shapes"),
    ("three-dimensional", [("u: v * s", "u: [A, A]"), ("sum(u)", "1")], L_U, 8, "at most matrices"),
    ("division-by-zero", [("u: v * s", "u: v / (w1 - 1)")], L_U, 8, "division by zero at the given values"),
    ("log-negative", [("u: v * s", "u: log(v - 5)")], L_U, 8, "the log of a negative number or of zero"),
    ("sqrt-negative", [("u: v * s", "u: sqrt(-v)")], L_U, 8, "the square root of a negative number"),
    ("overflow", [("u: v * s", "u: exp(exp(v * w3 * 10))")], L_U, 8, "overflows float64"),
    ("zero-power", [("u: v * s", "u: (v - 1) ** -1")], L_U, 8, "zero to a negative power"),
    # output, training, reduce
    ("output-is-input", [("output: L", "output: w3")], L_OUTPUT, 11, "graph.output 'w3' is an input"),
    ("output-unknown", [("output: L", "output: Lx")], L_OUTPUT, 11, "is not a node; did you mean 'L'?"),
    ("train-param-node", [("[w1, w2]", "[w1, s]")], L_TRAIN, 42, "train.params: 's' is a node or a data name"),
    ("train-param-unknown", [("[w1, w2]", "[w1, w11]")], L_TRAIN, 42, "'w11' is not an input; did you mean 'w1'?"),
    ("train-param-twice", [("[w1, w2]", "[w1, w1]")], L_TRAIN, 42, "'w1' is listed twice"),
    ("train-params-empty", [("[w1, w2]", "[]")], L_TRAIN, 37, "a non-empty list of input names"),
    ("train-vector-output", [("output: L", "output: u"), ("dL/dw1", "du/dw1")], L_TRAIN, 8,
     "a training step needs a scalar output; u has shape 3"),
    ("train-unknown-key", [("steps: 1,", "steps: 1, optimiser: sgd,")], L_TRAIN, 29,
     "unknown key 'optimiser' in train; did you mean 'optimizer'?"),
    ("train-unknown-optimizer", [("steps: 1,", "steps: 1, optimizer: adagrad,")], L_TRAIN, 40,
     "unknown optimizer"),
    ("train-optimizer-range", [("steps: 1,", "steps: 1, optimizer: {momentum: {mu: 1.5}},")], L_TRAIN, 56,
     "momentum's mu must be"),
    ("train-optimizer-state-clash", [("steps: 1,", "steps: 1, optimizer: momentum,"), ("u: v * s", "v_w1: v * s"),
                                     ("sum(u)", "sum(v_w1)")], L_TRAIN, 40, "keeps a state 'v_w1' for an input"),
    ("reduce-without-data", [("questions:", "reduce: mean\nquestions:")], 11, 9, "there is no data"),
    ("reduce-unknown", [("questions:", "data: {c: [1]}\nreduce: max\nquestions:")], 12, 9,
     "reduce must be sum or mean, not 'max'"),
    ("reduce-twice", [("output: L", "output: L\n  reduce: sum"),
                      ("questions:", "data: {c: [1]}\nreduce: mean\nquestions:")], 10, 11, "reduce is given twice"),
    # data
    ("data-not-a-list", [("questions:", "data: {c: 5}\nquestions:")], 11, 11, "one value per sample"),
    ("data-counts", [("questions:", "data: {c: [1, 2], d: [1]}\nquestions:")], 11, 22,
     "data.d has 1 samples but data.c has 2"),
    ("data-shapes", [("questions:", "data: {c: [[1, 2], [1]]}\nquestions:")], 11, 20,
     "sample 2 of data.c has shape 1, sample 1 has 2"),
    ("data-first-sample-division", [("u: v * s", "u: v / c"), ("questions:", "data: {c: [0, 1]}\nquestions:")],
     L_U, 8, "division by zero at the given values (the first sample of data)"),
    # questions
    ("question-non-scalar-jacobian", [("{quantity: dL/dw1}", "{quantity: \"dL/d(w1, v)\"}")], L_Q, 16,
     "v is not a scalar input (its shape is 3)"),
    ("question-later-node", [("{quantity: dL/dw1}", "{quantity: ds/du}")], L_Q, 16,
     "u is computed after s"),
    ("question-unquoted-comma", [("{quantity: dL/dw1}", "{quantity: dL/d(w1, w2)}")], L_Q, 5,
     "must be quoted in YAML"),
    ("question-unknown", [("{quantity: dL/dw1}", "{quantity: dL/dw5}")], L_Q, 16,
     "unknown quantity 'dL/dw5'; did you mean"),
    # (per-sample quantities have formulas since 5bf2b9b: `sample1.u, form: expression` is fine)
    # the spec as a whole
    ("graph-and-network", [("questions:", "network: {layers: []}\nquestions:")], 11, 1,
     "a spec has either graph: or network: and params:, not both"),
    ("graph-and-params", [("questions:", "params: {W1: [[1]]}\nquestions:")], 11, 1, "not both"),
    ("no-nodes", [("  nodes:\n    s: w1 + w2\n    u: v * s\n    L: s * w3 + sum(u)\n  output: L\n", "")],
     4, 3, "missing graph.nodes"),
    ("no-inputs", [("  inputs: {w1: 1, w2: 2.3, w3: 5.7, v: [1, 2, 3], A: [[1, 2], [3, 4]]}\n", "")],
     4, 3, "missing graph.inputs"),
    ("unknown-graph-key", [("output: L", "outputs: L")], L_OUTPUT, 3, "unknown key 'outputs' in graph"),
    ("unknown-top-key", [("questions:", "loss: mse\nquestions:")], 11, 1, "unknown key 'loss'"),
    ("input-too-large", [("w2: 2.3", "w2: 1e7")], L_INPUTS, 23, "is too large"),
    ("input-mapping", [("w2: 2.3", "w2: {a: 1}")], L_INPUTS, 23, "must be a number or a (nested) list"),
]


@pytest.mark.parametrize("case,subs,line,column,message", BAD, ids=[b[0] for b in BAD])
def test_bad_graph_spec_is_one_input_error_at_its_place(case, subs, line, column, message):
    with pytest.raises(InputError) as info:
        parse_problem(make(*subs), "bad.yaml")
    error = info.value
    assert message in error.message, error.message
    assert (error.file, error.line, error.column) == ("bad.yaml", line, column), str(error)


def _many_nodes(n: int) -> str:
    nodes = "\n".join(f"    n{i}: n{i - 1} + w1" if i else "    n0: w1" for i in range(n))
    return f"bpcheck: 1\nid: many\ngraph:\n  inputs: {{w1: 1}}\n  nodes:\n{nodes}\n"


def test_at_most_400_nodes():
    assert len(load(_many_nodes(400)).graph.nodes) == 400
    with pytest.raises(InputError, match="401 nodes; the limit is 400"):
        parse_problem(_many_nodes(401))


def test_at_most_4096_samples():
    spec = "bpcheck: 1\nid: many\ngraph:\n  inputs: {w: 1}\n  nodes:\n    o: w * c\ndata:\n  c: [SAMPLES]\n"
    assert load(spec.replace("SAMPLES", ", ".join(["1"] * 4096))).n_samples == 4096
    with pytest.raises(InputError, match="4097 samples; the limit is 4096"):
        parse_problem(spec.replace("SAMPLES", ", ".join(["1"] * 4097)))


def test_the_work_budget_counts_nodes_samples_and_steps():
    spec = ("bpcheck: 1\nid: costly\ngraph:\n  inputs: {{v: [{v}]}}\n  nodes:\n    o: sum(exp(v * c))\n"
            "data:\n  c: [{c}]\ntrain: {{lr: 0.1, steps: {steps}}}\n")
    entries = ", ".join(["0.001"] * 1000)
    load(spec.format(v=entries, c=", ".join(["1"] * 16), steps=1))
    with pytest.raises(InputError, match="the limit is 4,000,000") as info:
        parse_problem(spec.format(v=entries, c=", ".join(["1"] * 400), steps=1))
    assert info.value.line == 6
    with pytest.raises(InputError, match="the limit is 4,000,000"):
        parse_problem(spec.format(v=entries, c=", ".join(["1"] * 16), steps=50))


def test_a_long_list_node_and_an_empty_graph_are_refused():
    entries = ", ".join(["w"] * 1025)
    with pytest.raises(InputError, match="graph.nodes.o has 1025 entries; the limit is 1024"):
        parse_problem(f"bpcheck: 1\nid: long\ngraph:\n  inputs: {{w: 1}}\n  nodes:\n    o: [{entries}]\n")
    with pytest.raises(InputError, match="graph.inputs must give at least one value"):
        parse_problem("bpcheck: 1\nid: empty\ngraph:\n  inputs: {}\n  nodes:\n    o: 1\n")


def test_a_huge_matrix_product_is_refused_before_it_is_computed():
    spec = "bpcheck: 1\nid: eye\ngraph:\n  inputs: {w: 1}\n  nodes:\n    o: sum(eye(1024) @ eye(1024)) * w\n"
    with pytest.raises(InputError, match="eye\\(1024\\) @ eye\\(1024\\) needs about 1,073,741,8"):
        parse_problem(spec)


def test_powers_through_nodes_are_bounded():
    nodes = "\n".join(f"    p{i}: p{i - 1} ** 16" if i else "    p0: x ** 16" for i in range(4))
    spec = f"bpcheck: 1\nid: powers\ngraph:\n  inputs: {{x: 0.5}}\n  nodes:\n{nodes}\n"
    with pytest.raises(InputError, match="degree 65536 in the inputs; the limit is 4096") as info:
        parse_problem(spec)
    assert (info.value.line, info.value.column) == (9, 9)


def test_bad_graph_spec_exits_2_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(make(("s: w1 + w2", "s: w1 + t"), ("sum(u)", "sum(u)\n    t: 2 * w3")))
    result = CliRunner().invoke(main, ["solve", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert f"{bad}:{L_S}:8:" in result.output + result.stderr
    assert "which is defined after it" in result.output + result.stderr
