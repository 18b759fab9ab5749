"""The shortcuts the graph solve takes for speed give the numbers the plain passes give, bit for bit.

- One backward pass from a node that wants every name its expression is
  written in gives each dA/dB exactly as a pass that wants B alone (the total
  derivative: B perturbed, what is computed from B recomputed).
- A forward pass that keeps the steps an input does not feed (finite
  differences move one input at a time) equals a full forward pass.
- A Run's kept passes (the tape recorded once per graph, local partials kept
  per sample) give what a fresh Run gives.

Every shipped graph problem, and a small graph where a name reaches a node
along two paths, one of them through another wanted name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backprop_check import graph_quantities as Q
from backprop_check.crosscheck import _moved
from backprop_check.engines.autodiff import backward, forward
from backprop_check.engines.floats import Floats
from backprop_check.engines.rationals import Rationals
from backprop_check.graph_solve import Run, compute
from backprop_check.spec import load_problem, parse_problem

GRAPHS = sorted((Path(__file__).resolve().parent.parent / "problems" / "graphs").glob("*.yaml"))

TWO_PATHS = """\
bpcheck: 1
id: two-paths-wanted
title: x reaches w directly and through a, which w is written in too
graph:
  inputs: {x: 3/2, y: -2, z: 1/3}
  nodes:
    a: "x*y + z"
    b: "tanh(a) * x"
    w: "a*b + x*x"
  output: w
questions:
  - {quantity: dw/dx}
"""


def _problems() -> list:
    return [pytest.param(load_problem(p), id=p.stem) for p in GRAPHS] + \
        [pytest.param(parse_problem(TWO_PATHS), id="two-paths")]


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and all(x == y for x, y in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist()))


@pytest.mark.parametrize("arithmetic", [Floats(), Rationals()], ids=["floats", "rationals"])
@pytest.mark.parametrize("problem", _problems())
def test_one_pass_per_node_gives_each_edge_as_its_own_pass(problem, arithmetic):
    run = Run(problem, arithmetic)
    sample = run.samples[0]
    values, tape = run.values(sample), run.tape
    for top, wanted in run.local.items():
        if np.ndim(values[tape.at[top]]) != 0 or not wanted:
            continue
        seed = arithmetic.one(values[tape.at[top]])
        together = backward(tape, values, arithmetic, tape.at[top], seed, wanted=wanted, memo={})
        for b in wanted:
            alone = backward(tape, values, arithmetic, tape.at[top], seed, wanted=(b,))
            assert _same(together[b], alone[b]), (top, b)


@pytest.mark.parametrize("problem", _problems())
def test_forward_keeping_what_an_input_does_not_feed_is_the_full_pass(problem):
    run = Run(problem, Floats())
    sample = run.samples[0]
    inputs = dict(run.given)
    for name, per_sample in problem.data.items():
        inputs[name] = run.arithmetic.input(per_sample[sample - 1])
    base = run.values(sample)
    for name, value in inputs.items():
        moved = {**inputs, name: np.asarray(value, dtype=float) * 1.001 + 1e-3}
        full = forward(run.tape, Floats(), moved)
        kept = forward(run.tape, Floats(), moved, _moved(run.tape, name, base))
        assert all(_same(a, b) for a, b in zip(full, kept)), name


@pytest.mark.parametrize("problem", _problems())
def test_kept_passes_give_what_fresh_runs_give(problem):
    names = [n for n in Q.quantities(problem) if Q.parse(n)[0] != "step"]
    values, _ = compute(problem, Floats(), names)
    for name in names:
        fresh = Run(problem, Floats()).quantity(name)  # a Run of its own: nothing kept from other quantities
        assert _same(values[name], fresh), name


SAMPLES_SIDE_BY_SIDE = """\
bpcheck: 1
id: samples-side-by-side
title: vector data, scalar data against vectors and matrices, structural steps and a kink over a batch
graph:
  inputs: {W: [[1/2, -1], [2, 1/3]], b: [1/4, -1/2], c: 3/2}
  nodes:
    z: "W @ x + b"
    a: "relu(z)"
    m: "t * W"
    s: "sum(a) * t + c * a[0] + sum(m @ x)"
    v: "[s, t*c, tanh(z[1])]"
    L: "sum(v * v) + s*z[1] + sigmoid(t * a)[1]"
  output: L
data: {x: [[1, 2], [2, -1], [-1, 1], [1/2, 1/4]], t: [1, 0, 2, -1/3]}
questions:
  - {quantity: L}
"""


def _sample_problems() -> list:
    return [pytest.param(load_problem(p), id=p.stem) for p in GRAPHS if load_problem(p).data] + \
        [pytest.param(parse_problem(SAMPLES_SIDE_BY_SIDE), id="side-by-side")]


@pytest.mark.parametrize("arithmetic", [Floats(), Rationals()], ids=["floats", "rationals"])
@pytest.mark.parametrize("problem", _sample_problems())
def test_all_samples_in_one_pass_give_each_samples_own_pass(problem, arithmetic):
    """Forward values, the output's gradients and every node's local gradients of the pass over
    all samples at once are those of each sample's own passes, bit for bit."""
    run = Run(problem, arithmetic)
    tape = run.tape
    for n in run.samples:
        inputs = dict(run.given)
        for name, per_sample in problem.data.items():
            inputs[name] = arithmetic.input(per_sample[n - 1])
        alone = forward(tape, arithmetic, inputs)
        assert all(_same(a, b) for a, b in zip(alone, run.values(n)))
        for top, wanted in [(problem.graph.output, ())] + list(run.local.items()):
            if np.ndim(alone[tape.at[top]]) != 0:
                continue
            seed = arithmetic.one(alone[tape.at[top]])
            own = backward(tape, alone, arithmetic, tape.at[top], seed, wanted=wanted)
            for b in wanted or [tape.at[x] for x in problem.graph.inputs]:
                assert _same(own[b], run.gradient(top, n, b)), (n, top, b)


def test_finite_differences_on_all_samples_at_once_name_the_sample_that_disagrees():
    from backprop_check.crosscheck import Report, sample_differences
    from backprop_check.errors import EngineDisagreement

    problem = parse_problem(SAMPLES_SIDE_BY_SIDE)
    run = Run(problem, Floats())
    values, carried = run.all_samples()
    grads = {x: [np.asarray(run.derivative("L", (x,), n), dtype=float) for n in run.samples]
             for x in problem.graph.inputs}
    report = Report()
    label = lambda x, n: f"sample{n + 1}.dL/d{x}"  # noqa: E731
    sample_differences(run.tape, run.inputs(), grads, "L", report, label, values, carried)
    assert report.fd_checked + report.fd_skipped == len(grads) * len(run.samples) and report.fd_checked > 0
    grads["c"][2] = grads["c"][2] + 0.5
    with pytest.raises(EngineDisagreement, match=r"sample3\.dL/dc"):
        sample_differences(run.tape, run.inputs(), grads, "L", Report(), label, values, carried)


def test_exact_adjoints_through_sums_and_differences_by_hand():
    """The exact engine's partials of +, - and a copy are the numbers ±1, which pass an adjoint on
    without multiplying it: the gradients still are the textbook ones, and the adjoints a pass
    returns for two arguments of one sum are equal, separate values."""
    from fractions import Fraction as Fr

    from backprop_check.graph import Graph, record
    from backprop_check.formula_syntax import parse

    names = ["a", "b", "c", "s", "t", "u"]
    nodes = (("s", parse("a + b", names)), ("t", parse("s - c", names)), ("u", parse("t", names)),
             ("L", parse("u * u - a", names + ["L"])))
    tape = record(Graph({"a": Fr(1, 3), "b": Fr(-2), "c": Fr(5, 7)}, nodes, "L"))
    arithmetic = Rationals()
    values = forward(tape, arithmetic, {k: arithmetic.input(v) for k, v in
                                        {"a": Fr(1, 3), "b": Fr(-2), "c": Fr(5, 7)}.items()})
    adjoint = backward(tape, values, arithmetic, tape.at["L"], arithmetic.one(values[tape.at["L"]]))
    t = Fr(1, 3) - 2 - Fr(5, 7)
    exact = {name: np.asarray(adjoint[tape.at[name]], dtype=object).item() for name in ("a", "b", "c", "s")}
    got = {name: Fr(int(v.numerator), int(v.denominator)) for name, v in exact.items()}
    assert got == {"a": 2 * t - 1, "b": 2 * t, "c": -2 * t, "s": 2 * t}
