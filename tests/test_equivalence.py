"""Formula answers: an equivalence table from the seeds' own answers, and end to end.

Each row is (problem, quantity, formula, status, tags, reason). The formulas are
the seeds' answers (/work/shared/seeds/000_*.txt, 001_*.txt) written in the
answer syntax, with their real mistakes, plus a few neighbours of them. The
expected status and tags were worked out by hand from the mathematics (the reason
column says why), not copied from bpcheck's output:

* correct   - the formula equals the reference at every consistent point;
* incorrect - it evaluates to the right shape but a different value; the tags
  name every catalogue mistake the value is consistent with (sign-flipped,
  transposed, factor-2, mean-vs-sum, activation-derivative-missing,
  derivative-at-output), in the catalogue's order;
* invalid   - it cannot be an answer: shapes that do not fit (tag transposed when
  one name where its transpose belongs explains it), a vector where a matrix
  belongs, a name not yet known when the quantity is computed, unreadable text.

Note on K = 2 (dsga1008-2022-p1/p2a/p2b/p2c): an answer off by a factor 2 is
equally "½‖·‖² instead of ‖·‖²" (factor-2) and "averaged over the K = 2 outputs"
(mean-vs-sum); both describe it, so both tags are expected there. The 2020
problems have K = 1, where factor-2 stands alone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backprop_check import equivalence, grade as grade_module
from backprop_check.classroom import Grader
from backprop_check.cli import main
from backprop_check.solve import solve
from backprop_check.spec import load_problem

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"
SEEDS = ROOT / "fixtures" / "seeds"

_SOLUTIONS: dict = {}


def solution_of(problem: str):
    """Each problem solved once per run."""
    if problem not in _SOLUTIONS:
        _SOLUTIONS[problem] = solve(load_problem(PROBLEMS / f"{problem}.yaml"))
    return _SOLUTIONS[problem]


def fit(e, s):
    return grade_module.fit_shape(e, s, "the shape")


def row(problem, quantity, formula, status, tags, reason):
    return pytest.param(problem, quantity, formula, status, tags, reason, id=f"{problem}:{quantity}:{formula}")


P1 = "dsga1008-2022-p1"     # f = 5 ReLU, g = identity, ‖ŷ − y‖², K = 2, one sample; hidden unit 2 dead
P2A = "dsga1008-2022-p2a"   # f = tanh, g = σ, ‖ŷ − y‖², K = 2
P2B = "dsga1008-2022-p2b"   # f = tanh, g = σ, (1/K) Σ BCE, K = 2
P2C = "dsga1008-2022-p2c"   # f = ReLU, g = σ, (1/K) Σ BCE, K = 2
Q1 = "dsga1008-2020-p1"     # f = ReLU, g = identity, ½ (ŷ − y)², K = 1
Q2 = "dsga1008-2020-p2"     # f = σ, g = σ, BCE, K = 1
A1 = "assignment1-ex2"      # columns, no biases, ReLU / identity, 1/(2N) ‖·‖²_F, N = 4; aliases S1 Z1 S2 Y_out
BR = "batch-rows-softmax"   # rows, leaky ReLU 0.1, softmax + CE averaged over N = 3 samples, K = 3

TABLE = [
    # ---------------------------------------------------------------- seed 000, problem 1
    row(P1, "z1", "W1 @ x + b1", "correct", [], "Linear_1 as the seed writes it"),
    row(P1, "z2", "5*max(0, W1 @ x + b1)", "correct", [], "seed: 5 max(0, W1x + b1); max(0, ·) is ReLU"),
    row(P1, "z2", "5*relu(z1)", "correct", [], "f = 5 ReLU applied to z1"),
    row(P1, "z2", "relu(z1)", "incorrect", [], "the scale 5 of f dropped: a factor 5 no catalogue entry names"),
    row(P1, "z3", "W2 @ (5*relu(W1 @ x + b1)) + b2", "correct", [], "Linear_2 of f(Linear_1(x))"),
    row(P1, "z3", "W2 @ z2 + b2", "correct", [], "Linear_2 in the names just before it"),
    row(P1, "z3", "5*W2 @ (W1 @ x + b1) + b2", "incorrect", [],
        "seed's z3 with the ReLU dropped: differs wherever a unit of z1 is negative (unit 2 here)"),
    row(P1, "y_hat", "5*(W2 @ max(0, W1 @ x + b1) + b2)", "incorrect", [],
        "seed's ŷ with the 5 pulled outside b2: equals ŷ + 4·b2, and b2 ≠ 0"),
    row(P1, "y_hat", "z3", "correct", [], "g is the identity"),
    row(P1, "y_hat", "W2 @ (5*max(0, W1@x + b1)) + b2", "correct", [], "the seed's ŷ with the 5 where it belongs"),
    row(P1, "loss", "sum((y_hat - y)**2)", "correct", [], "‖ŷ − y‖²"),
    row(P1, "loss", "(y_hat - y).T @ (y_hat - y)", "correct", [], "‖v‖² = vᵀv; a 1×1 answers a scalar"),
    row(P1, "loss", "sum((ŷ − y)²)", "correct", [], "Unicode ŷ, − and ² for the same ‖ŷ − y‖²"),
    row(P1, "dl/dy_hat", "2*(y_hat - y).T", "correct", ["orientation"], "seed: 2(ŷ − y)ᵀ; a row answers a flat vector"),
    row(P1, "dl/dy_hat", "2*(ŷ − y)ᵀ", "correct", ["orientation"], "the same in Unicode"),
    row(P1, "dl/dy_hat", "(y_hat - y)", "incorrect", ["factor-2", "mean-vs-sum"],
        "half the gradient of ‖ŷ − y‖² (the ½ convention); with K = 2 that is also the 1/K of a mean"),
    row(P1, "dl/dy_hat", "2*(y - y_hat)", "incorrect", ["sign-flipped"], "y and ŷ swapped: the negative"),
    row(P1, "dl/dy_hat", "dl/dz3", "invalid", [], "dl/dz3 is computed from dl/dy_hat, not before it"),
    row(P1, "dz2/dz1", "diag(5*step(z1))", "correct", [], "seed: (∂z2/∂z1)_ii = 5 if z1i > 0 else 0, diagonal"),
    row(P1, "dz2/dz1", "5*diag(step(z1))", "correct", [], "the 5 outside diag is the same matrix"),
    row(P1, "dz2/dz1", "diag(step(z1))", "incorrect", [], "the slope 5 of 5 ReLU dropped: a factor 5"),
    row(P1, "dy_hat/dz3", "eye(2)", "correct", [], "seed: an identity matrix (g = identity, K = 2)"),
    row(P1, "dy_hat/dz3", "1", "invalid", [], "a scalar where a 2×2 Jacobian belongs"),
    row(P1, "dy_hat/dz3", "eye(K)", "correct", [], "the K×K identity, K = 2 a name of the problem"),
    row(P1, "dl/dW2", "5 * dl/dy_hat @ max(0, W1 @ x + b1).T", "correct", [],
        "seed: 5 ∂ℓ/∂ŷ ∂ŷ/∂z3 max(0, W1x + b1)ᵀ (∂ŷ/∂z3 = I); 5 relu(z1) = z2"),
    row(P1, "dl/dW2", "dl/dz3 @ z2.T", "correct", [], "δ3 z2ᵀ"),
    row(P1, "dl/dW2", "dl/dz3 @ z2", "invalid", ["transposed"], "z2 where z2ᵀ belongs: 2×1 @ 3×1 does not fit"),
    row(P1, "dl/db2", "dy_hat/dz3 @ dl/dy_hat", "correct", [], "seed: ∂ℓ/∂ŷ ∂ŷ/∂z3 (a Jacobian product)"),
    row(P1, "dl/dz2", "W2ᵀ @ ∂ℓ/∂z3", "correct", [], "Unicode ᵀ and ∂ℓ/∂z3: W2ᵀ δ3"),
    row(P1, "dl/dz1", "dl/dz2 * 5*step(z2)", "correct", [],
        "ReLU′ at the output z2 = 5 relu(z1) is H(z1) again (H(0) = 0): the same values"),
    row(P1, "dl/dW1", "(W2.T @ dl/dy_hat * 5*step(z1)) @ x.T", "correct", [], "((W2ᵀ δ) ⊙ 5H(z1)) xᵀ"),
    row(P1, "dl/dW1", "(W2.T @ dl/dz3) * 5*step(z1) @ x.T", "correct", [],
        "@ and * bind alike, left to right: (((W2ᵀδ3)·5)⊙H(z1)) xᵀ"),
    row(P1, "dl/dW1", "dz2/dz1 @ W2.T @ dy_hat/dz3 @ dl/dy_hat @ x.T", "correct", [],
        "seed's chain ∂ℓ/∂ŷ ∂ŷ/∂z3 W2 ∂z2/∂z1 xᵀ, column-ordered"),
    row(P1, "dl/dW1", "(W2.T @ dl/dy_hat * 5*step(z1)) @ x", "invalid", ["transposed"],
        "x where xᵀ belongs: 3×1 @ 2×1 does not fit"),
    row(P1, "dl/dW1", "(W2.T @ dl/dy_hat) @ x.T", "incorrect", ["activation-derivative-missing"],
        "f′ = 5H(z1) dropped: dl/dz2 xᵀ"),
    row(P1, "dl/dW1", "(W2.T @ dl/dy_hat * step(z1)) @ x.T", "incorrect", [],
        "ReLU′ without the 5 of f = 5 ReLU: a factor 5"),
    row(P1, "dl/db1", "dl/dy_hat.T @ dy_hat/dz3 @ W2 @ dz2/dz1", "correct", ["orientation"],
        "seed's row chain ∂ℓ/∂ŷ ∂ŷ/∂z3 W2 ∂z2/∂z1 (∂ℓ/∂ŷ a row); a row answers a flat vector"),
    row(P1, "step1.W1", "W1 - 0.1*dl/dW1", "correct", [], "seed: θ ← θ − α ∂ℓ/∂θ with α = 0.1"),
    row(P1, "step1.W1", "W1 + 0.1*dl/dW1", "incorrect", [], "a step up the gradient: W1 + αg is not ±(W1 − αg)"),
    # ---------------------------------------------------------------- seed 000, problem 2
    row(P2A, "z2", "tanh(W1 @ x + b1)", "correct", [], "seed: tanh(W1x + b1)"),
    row(P2A, "z2", "(exp(W1 @ x + b1) - exp(-W1 @ x - b1))/(exp(W1 @ x + b1) + exp(-W1 @ x - b1))",
        "correct", [], "seed's tanh written with exponentials"),
    row(P2A, "y_hat", "1/(1 + exp(-(W2 @ tanh(W1 @ x + b1) + b2)))", "correct", [], "seed's ŷ = σ(z3) written out"),
    row(P2A, "y_hat", "σ(z3)", "correct", [], "Unicode σ"),
    row(P2A, "dz2/dz1", "diag(1 - tanh(W1 @ x + b1)**2)", "correct", [], "seed: 1 − tanh(W1x + b1)², a diagonal matrix"),
    row(P2A, "dz2/dz1", "1 - tanh(z1)**2", "correct", ["diagonal-jacobian"],
        "the diagonal only (3×1) of the 3×3 Jacobian: read as its diagonal, with a note (issue 10)"),
    row(P2A, "dy_hat/dz3", "diag(sigmoid(z3)*(1 - sigmoid(z3)))", "correct", [], "seed: σ(z3)(1 − σ(z3)), diagonal"),
    row(P2A, "dy_hat/dz3", "diag(σ(z3) ⊙ (1 − σ(z3)))", "correct", [], "the same in Unicode"),
    row(P2A, "dl/dy_hat", "2*(y_hat - y).T", "correct", ["orientation"], "seed: 2(ŷ − y)ᵀ, same MSE as problem 1"),
    row(P2A, "dl/dz1", "(W2.T @ dl/dz3) * (1 - z2**2)", "correct", [], "tanh′(z1) = 1 − z2²"),
    row(P2A, "dl/dz1", "W2.T @ dl/dz3", "incorrect", ["activation-derivative-missing"], "tanh′ missing"),
    row(P2A, "dl/dz1", "(W2.T @ dl/dz3) * (1 - tanh(z2)**2)", "incorrect", ["derivative-at-output"],
        "tanh′ evaluated at z2 where z1 belongs"),
    row(P2A, "dl/dW2", "(dl/dy_hat * y_hat*(1 - y_hat)) @ z2.T", "correct", [], "σ′(z3) = ŷ(1 − ŷ)"),
    row(P2A, "dl/dW2", "dl/dy_hat @ z2.T", "incorrect", ["activation-derivative-missing"], "σ′ of layer 2 missing"),
    row(P2A, "dl/dW2", "(dl/dy_hat * sigmoid(y_hat)*(1 - sigmoid(y_hat))) @ z2.T", "incorrect",
        ["derivative-at-output"], "σ′ evaluated at ŷ = z4 where z3 belongs"),
    row(P2B, "dl/dy_hat", "(-(y/y_hat) + (1-y)/(1-y_hat)).T", "incorrect", ["factor-2", "mean-vs-sum"],
        "seed's BCE gradient without the 1/K of its own (1/K)Σ loss: ×K, and K = 2"),
    row(P2B, "dl/dy_hat", "(-(y/y_hat) + (1-y)/(1-y_hat))/K", "correct", [], "with the 1/K"),
    row(P2B, "dl/dy_hat", "(y_hat - y)/(K*y_hat*(1 - y_hat))", "correct", [], "the same, one fraction"),
    row(P2B, "dl/dy_hat", "((y/y_hat) - (1-y)/(1-y_hat))/K", "incorrect", ["sign-flipped"], "the − of BCE dropped"),
    row(P2B, "loss", "mean(-(y*log(y_hat) + (1-y)*log(1-y_hat)))", "correct", [], "seed: (1/K) Σ −[y log ŷ + (1−y) log(1−ŷ)]"),
    row(P2B, "dl/dz3", "(y_hat - y)/K", "correct", [], "σ with BCE: (ŷ − y)/K"),
    row(P2C, "dl/dz1", "(W2.T @ dl/dz3) * step(z1)", "correct", [], "ReLU′ = H(z1)"),
    row(P2C, "dl/dz1", "W2.T @ dl/dz3", "incorrect", ["activation-derivative-missing"], "ReLU′ missing (a dead unit)"),
    # ---------------------------------------------------------------- seed 001, 1.1 (2020-p1)
    row(Q1, "z3", "W2 @ max(0, W1 @ x + b1) + b2", "correct", [], "seed: W2 [W1x + b1]⁺ + b2"),
    row(Q1, "loss", "0.5*(y_hat - y)**2", "correct", [], "seed: ½(ŷ − y)², K = 1 (a 1×1 answers a scalar)"),
    row(Q1, "loss", "sum((y_hat - y)**2)", "incorrect", ["factor-2"], "the ½ dropped"),
    row(Q1, "dl/dy_hat", "y_hat - y", "correct", [], "seed: ∂l/∂ŷ = ŷ − y for ½(ŷ − y)²"),
    row(Q1, "dl/dy_hat", "ŷ − y", "correct", [], "the same in Unicode"),
    row(Q1, "dl/dy_hat", "y\u0302 - y", "correct", [],
        "ŷ typed as y + combining circumflex (U+0302, NFD): the same text to a reader"),
    row(Q1, "dl/dy_hat", "2*(y_hat - y)", "incorrect", ["factor-2"], "the ‖·‖² gradient for a ½(·)² loss"),
    row(Q1, "dy_hat/dz3", "1", "correct", [], "seed: ∂ŷ/∂z3 = 1; g = identity and K = 1, a 1×1 identity"),
    row(Q1, "dz2/dz1", "step(z1)", "correct", ["diagonal-jacobian"],
        "seed: 1 if z1 > 0 else 0 elementwise: the diagonal of the 3×3 Jacobian, read with a note (issue 10)"),
    row(Q1, "dz2/dz1", "diag(step(z1))", "correct", [], "the same slopes on a diagonal"),
    row(Q1, "dl/dW2", "dl/dy_hat @ dy_hat/dz3 @ z2", "invalid", ["transposed"],
        "seed: ∂l/∂ŷ ∂ŷ/∂z3 z2 with z2 where z2ᵀ belongs: 1×1 @ 3×1 does not fit"),
    row(Q1, "dl/dW2", "dl/dy_hat * dy_hat/dz3 * max(0, W1 @ x + b1)", "invalid", ["transposed"],
        "seed's second form, [W1x + b1]⁺ for its transpose: 3×1 where 1×3 belongs"),
    row(Q1, "dl/dW2", "(y - y_hat) @ z2.T", "incorrect", ["sign-flipped"], "y − ŷ for ŷ − y"),
    row(Q1, "dl/db2", "dl/dy_hat * dy_hat/dz3", "correct", [], "seed: ∂l/∂ŷ ∂ŷ/∂z3"),
    row(Q1, "dl/dW1", "dz2/dz1 @ W2.T @ dy_hat/dz3 @ dl/dy_hat @ x", "invalid", ["transposed"],
        "seed: ∂l/∂ŷ ∂ŷ/∂z3 W2 ∂z2/∂z1 x with x where xᵀ belongs: 3×1 @ 2×1"),
    row(Q1, "dl/dW1", "dz2/dz1 @ W2.T @ dy_hat/dz3 @ dl/dy_hat @ x.T", "correct", [], "the same with xᵀ"),
    row(Q1, "dl/dW1", "2*((W2.T @ dl/dy_hat) * step(z1)) @ x.T", "incorrect", ["factor-2"], "twice the gradient"),
    row(Q1, "dl/db1", "dz2/dz1 @ W2.T @ dl/dy_hat", "correct", [], "seed: ∂l/∂ŷ ∂ŷ/∂z3 W2 ∂z2/∂z1, ∂ŷ/∂z3 = 1"),
    # ---------------------------------------------------------------- seed 001, 1.2 (2020-p2)
    row(Q2, "z2", "(1 + exp(-W1 @ x - b1))**-1", "correct", [], "seed: [1 + exp(−W1x − b1)]⁻¹"),
    row(Q2, "y_hat", "(1 + exp(-W2 @ (1 + exp(-W1 @ x - b1))**-1 - b2))**-1", "correct", [],
        "seed's ŷ written out: unary − binds before @, ** before both"),
    row(Q2, "dy_hat/dz3", "diag(exp(-z3)/(1 + exp(-z3))**2)", "correct", [], "seed: e^{−z3}/(1 + e^{−z3})² = σ′(z3)"),
    row(Q2, "dz2/dz1", "diag(exp(-z1)/(1 + exp(-z1))**2)", "correct", [], "seed: e^{−z1}/(1 + e^{−z1})² = σ′(z1)"),
    row(Q2, "dy_hat/dz3", "diag(e**(-z3)/(1 + e**(-z3))**2)", "correct", [],
        "seed's e^{−z3} literally: e is a constant bpcheck accepts, e**(−z3) = exp(−z3)"),
    row(Q2, "dl/dy_hat", "(y_hat - y)/(y_hat*(1 - y_hat))", "correct", [], "seed: (ŷ − y)/(ŷ(1 − ŷ))"),
    row(Q2, "dl/dy_hat", "-(y/y_hat) + (1-y)/(1-y_hat)", "correct", [], "seed: (1 − y)/(1 − ŷ) − y/ŷ"),
    row(Q2, "dl/dy_hat", "-(y/y_hat + (-(1-y)/(1-y_hat)))", "correct", [], "seed's first form: −[y/ŷ + (−(1 − y)/(1 − ŷ))]"),
    row(Q2, "dl/dy_hat", "y/y_hat - (1-y)/(1-y_hat)", "incorrect", ["sign-flipped"], "the − of BCE dropped"),
    row(Q2, "dl/dz3", "y_hat - y", "correct", [], "σ with BCE: ŷ − y"),
    row(Q2, "dl/dz1", "(W2.T @ dl/dz3) * z2*(1 - z2)", "correct", [], "σ′(z1) = z2(1 − z2)"),
    row(Q2, "dl/dz1", "(W2.T @ dl/dz3) * sigmoid(z2)*(1 - sigmoid(z2))", "incorrect", ["derivative-at-output"],
        "σ′ evaluated at z2 where z1 belongs"),
    row(Q2, "dl/dW2", "dl/dy_hat * exp(-z3)/(1 + exp(-z3))**2 @ z2.T", "correct", [],
        "seed: ∂l/∂ŷ ∂ŷ/∂z3 z2ᵀ with σ′ via e^{−z3}, left to right"),
    row(Q2, "dl/dW2", "dl/dy_hat * dy_hat/dz3 * (1 + exp(-W1 @ x - b1))**-1", "invalid", ["transposed"],
        "seed: ∂l/∂ŷ ∂ŷ/∂z3 [1 + exp(−W1x − b1)]⁻¹, z2 written out where z2ᵀ belongs: 3×1 for 1×3"),
    row(Q2, "dl/dW2", "dl/dy_hat @ dy_hat/dz3 @ (1 + exp(-W1 @ x - b1))**-1", "invalid", ["transposed"],
        "the same with @: 1×1 @ 3×1 does not fit, and fits with the written-out z2 transposed"),
    row(Q2, "dl/dW1", "((W2.T @ dl/dz3) * z2*(1 - z2)) @ x", "invalid", ["transposed"],
        "seed's x where xᵀ belongs"),
    # ---------------------------------------------------------------- batch, columns (assignment1-ex2)
    row(A1, "z2", "relu(S1)", "correct", [], "alias S1 for z1"),
    row(A1, "y_hat", "W2 @ Z1", "correct", [], "alias Z1 for z2; no bias"),
    row(A1, "loss", "sum((Y_out - y)**2)/(2*N)", "correct", [], "1/(2N) ‖Y_out − Y_gt‖²_F"),
    row(A1, "loss", "mean((Y_out - y)**2)", "incorrect", ["factor-2"],
        "mean over the N entries (K = 1) is Σ/N = 2 · Σ/(2N)"),
    row(A1, "dl/dz3", "(Y_out - y)/N", "correct", [], "δ2 = (Y_out − Y_gt)/N"),
    row(A1, "dl/dz3", "Y_out - y", "incorrect", ["mean-vs-sum"], "the 1/N dropped (N = 4)"),
    row(A1, "dl/dW2", "dl/dS2 @ Z1.T", "correct", [], "aliases in a derivative name: δ2 Z1ᵀ"),
    row(A1, "dl/dW2", "(Y_out - y) @ Z1.T", "incorrect", ["mean-vs-sum"], "the 1/N dropped"),
    row(A1, "dl/dW1", "(W2.T @ dl/dz3 * step(S1)) @ x.T", "correct", [], "δ1 Xᵀ"),
    row(A1, "dl/dW1", "((W2.T @ (Y_out - y)) * step(S1)) @ x.T / N", "correct", [], "the 1/N moved to the end"),
    row(A1, "step1.W2", "W2 - 0.5*dl/dW2", "correct", [], "lr 0.5"),
    # ---------------------------------------------------------------- batch, rows (batch-rows-softmax)
    row(BR, "z1", "x @ W1.T + b1", "correct", [], "rows layout: samples are rows"),
    row(BR, "z1", "W1 @ x.T + b1.T", "invalid", ["transposed"], "the columns formula gives z1ᵀ, 4×3 for 3×4"),
    row(BR, "z2", "max(0.1*z1, z1)", "correct", [], "leaky ReLU with slope 0.1 as an elementwise max"),
    row(BR, "z3", "z2 @ W2.T + b2", "correct", [], "rows layout"),
    row(BR, "z3", "W2 @ z2.T + b2.T", "incorrect", ["transposed"], "z3ᵀ: N = K = 3, so the same square shape"),
    row(BR, "y_hat", "softmax(z3, 1)", "correct", [], "each sample (row) normalised"),
    row(BR, "y_hat", "exp(z3)/sum(exp(z3), 1)", "correct", [], "softmax written out per row"),
    row(BR, "y_hat", "softmax(z3)", "incorrect", [], "normalised over the samples (axis 0): not a transpose of the reference"),
    row(BR, "loss", "-sum(y*log(y_hat))/N", "correct", [], "cross-entropy averaged over samples"),
    row(BR, "loss", "-sum(y*log(y_hat))", "incorrect", ["mean-vs-sum"], "summed, not averaged over N = 3"),
    row(BR, "dl/dz3", "(y_hat - y)/N", "correct", [], "softmax with CE: (Ŷ − Y)/N"),
    row(BR, "dl/dz3", "y_hat - y", "incorrect", ["mean-vs-sum"], "the 1/N dropped"),
    row(BR, "dl/dz3", "(y_hat - y).T/N", "incorrect", ["transposed"], "the columns layout's δ3 in a rows problem"),
    row(BR, "dl/dz1", "(dl/dz3 @ W2) * (0.1 + 0.9*step(z1))", "correct", [], "leaky ReLU′ = 0.1 + 0.9 H(z1)"),
    row(BR, "dl/dz1", "dl/dz3 @ W2", "incorrect", ["activation-derivative-missing"], "leaky ReLU′ missing"),
    row(BR, "dl/dW1", "dl/dz1.T @ x", "correct", [], "rows layout: δ1ᵀ X"),
    row(BR, "dl/dW1", "x.T @ dl/dz1", "invalid", ["transposed"], "Xᵀ δ1 is 3×4 where W1 is 4×3"),
    row(BR, "dl/db1", "sum(dl/dz1, 0)", "correct", [], "summed over the samples (rows)"),
    row(BR, "dl/db1", "mean(dl/dz1, 0)", "incorrect", ["mean-vs-sum"], "averaged again over N = 3"),
    row(BR, "dl/db1", "dl/dz1", "invalid", ["bias-not-summed"], "one row per sample: 3×4 for a bias of 4"),
    row(BR, "dl/dW2", "dl/dz3.T @ z2", "correct", [], "rows layout: δ3ᵀ Z2"),
    row(BR, "dl/db2", "sum(y_hat - y, 0)/N", "correct", [], "Σ over samples of (Ŷ − Y)/N"),
    row(BR, "step1.b2", "b2 - 0.1*sum(dl/dz3, 0)", "correct", [], "one SGD step, lr 0.1"),
]


@pytest.mark.parametrize("problem, quantity, formula, status, tags, reason", TABLE)
def test_equivalence_table(problem, quantity, formula, status, tags, reason):
    verdict = equivalence.grade_text(solution_of(problem), quantity, formula, fit)
    assert (verdict.status, verdict.tags) == (status, tags), f"{reason} | bpcheck: {verdict.message}"


def test_table_is_large_and_mixed():
    values = [p.values for p in TABLE]
    assert len(values) >= 40
    assert {v[3] for v in values} == {"correct", "incorrect", "invalid"}
    assert len({v[0] for v in values}) == 8  # every shipped problem


# ------------------------------------------------------------------ the seeds' formulas, as fixtures

FORMULA_EXPECTED = yaml.safe_load((SEEDS / "expected.formulas.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(FORMULA_EXPECTED))
def test_seed_formula_transcription(name):
    result = Grader().grade(SEEDS / name)
    assert result.error is None and result.warnings == []
    problem = load_problem((SEEDS / name).parent / yaml.safe_load((SEEDS / name).read_text())["problem"])
    assert all(q.form == "expression" for q in problem.questions if q.quantity != "step1.loss")
    want = FORMULA_EXPECTED[name]
    got = {f.quantity: (f.status, f.tags) for f in result.findings}
    assert list(got) == list(want)  # every question listed, in the spec's order
    for quantity, outcome in want.items():
        assert got[quantity] == (outcome["status"], outcome["tags"]), quantity
    points = {q.quantity: float(q.points) for q in problem.questions}
    assert result.score == sum(points[q] for q, o in want.items() if o["status"] == "correct")


def test_seed_formula_transcriptions_through_the_cli():
    files = [SEEDS / name for name in sorted(FORMULA_EXPECTED)]
    result = CliRunner().invoke(main, ["grade", *map(str, files), "--format", "json"])
    assert result.exit_code == 1, result.output  # graded, not full marks
    data = json.loads(result.stdout)
    for name, r in zip(sorted(FORMULA_EXPECTED), data["results"]):
        assert Path(r["file"]).name == name and r["error"] is None
        assert {q["quantity"]: {"status": q["status"], "tags": q["tags"]} for q in r["questions"]} \
            == FORMULA_EXPECTED[name]
        for q in r["questions"]:
            assert q["score"] == (q["max_score"] if q["status"] == "correct" else 0)


# ------------------------------------------------------------------ end to end, a spec in tmp_path

# problems/dsga1008-2020-p2.yaml (seed 001's 1.2(b): σ, σ, BCE) with its questions
# rewritten: formulas for most, `form: any` for two, and z3 left a value question.
E2E_QUESTIONS = """questions:
  - {quantity: z1, points: 1, form: expression}
  - {quantity: z2, points: 1, form: expression}
  - {quantity: z3, points: 1}
  - {quantity: y_hat, points: 1, form: any}
  - {quantity: loss, points: 1, form: expression}
  - {quantity: dl/dW1, points: 2, form: expression}
  - {quantity: dl/db1, points: 1, form: expression}
  - {quantity: dl/dW2, points: 2, form: expression}
  - {quantity: dl/db2, points: 1, form: any}
  - {quantity: dz2/dz1, points: 1, form: expression}
  - {quantity: dy_hat/dz3, points: 1, form: expression}
  - {quantity: dl/dy_hat, points: 1, form: expression}
"""

# quantity: (answer, status, tags, reason); seed 001's 1.2(b) answers unless said otherwise
E2E_ANSWERS = {
    "z1": ([0.1, 0.1, 0.1], "invalid", [], "numbers where the question asks for a formula"),
    "z2": ("(1 + exp(-W1 @ x - b1))**-1", "correct", [], "[1 + exp(−W1x − b1)]⁻¹ = σ(z1)"),
    "z3": ("W2 @ z2 + b2", "invalid", [], "a formula where the question asks for a value"),
    "y_hat": ("(1 + exp(-W2 @ (1 + exp(-W1 @ x - b1))**-1 - b2))**-1", "correct", [], "σ(z3) written out"),
    "loss": ("-y*log(y_hat) - (1 - y)*log(1 - y_hat)", "correct", [], "BCE, K = 1 (1×1 for a scalar)"),
    "dl/dW1": ("dz2/dz1 @ W2.T @ dy_hat/dz3 @ dl/dy_hat @ x", "invalid", ["transposed"], "x where xᵀ belongs"),
    "dl/db1": ("dl/dy_hat @ dy_hat/dz3 @ W2 @ dz2/dz1", "correct", ["orientation"], "a row of dl/dz1, noted"),
    "dl/dW2": ("dl/dy_hat * dy_hat/dz3 * (1 + exp(-W1 @ x - b1))**-1", "invalid", ["transposed"],
               "z2 = [1 + exp(−W1x − b1)]⁻¹ where z2ᵀ belongs: 3×1 for 1×3"),
    "dl/db2": ("(y - y_hat)", "incorrect", ["sign-flipped"], "not the seed's: y − ŷ for dl/dz3 = ŷ − y"),
    "dz2/dz1": ("exp(-z1)/(1 + exp(-z1))**2", "correct", ["diagonal-jacobian"], "the diagonal of 3×3, noted (issue 10)"),
    "dy_hat/dz3": ("diag(exp(-z3)/(1 + exp(-z3))**2)", "correct", [], "σ′(z3) via e^{−z3}, 1×1"),
    "dl/dy_hat": ("(1-y)/(1-ŷ) − y/ŷ", "correct", [], "the seed's BCE gradient, in Unicode"),
}


def _e2e_spec(tmp_path: Path) -> Path:
    text = (PROBLEMS / "dsga1008-2020-p2.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "seed001-formulas.yaml"
    spec.write_text(text[:text.index("questions:")] + E2E_QUESTIONS, encoding="utf-8")
    return spec


def _grade_json(*paths):
    result = CliRunner().invoke(main, ["grade", *map(str, paths), "--format", "json"])
    assert "Traceback" not in result.output, result.output
    return result, json.loads(result.stdout)


def test_formula_answers_end_to_end(tmp_path):
    spec = _e2e_spec(tmp_path)
    answers = tmp_path / "seed001.answers.yaml"
    answers.write_text(yaml.safe_dump({"bpcheck": 1, "problem": spec.name, "student": "seed-001",
                                       "answers": {q: a for q, (a, *_) in E2E_ANSWERS.items()}},
                                      allow_unicode=True, sort_keys=False), encoding="utf-8")
    result, data = _grade_json(answers)
    assert result.exit_code == 1
    (r,) = data["results"]
    got = {q["quantity"]: q for q in r["questions"]}
    assert list(got) == list(E2E_ANSWERS)
    for quantity, (_, status, tags, reason) in E2E_ANSWERS.items():
        q = got[quantity]
        assert (q["status"], q["tags"]) == (status, tags), (quantity, reason, q["message"])
        assert q["score"] == (q["max_score"] if status == "correct" else 0)
    points = {q.quantity: float(q.points) for q in load_problem(spec).questions}
    assert r["score"] == sum(points[q] for q, (_, status, *_) in E2E_ANSWERS.items() if status == "correct")
    assert "asks for a formula" in got["z1"]["message"] and "asks for a value" in got["z3"]["message"]


def test_answer_key_writes_formulas_that_score_full_marks(tmp_path):
    spec = _e2e_spec(tmp_path)
    key = tmp_path / "key.answers.yaml"
    result = CliRunner().invoke(main, ["solve", str(spec), "--key", str(key), "--format", "json"])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load(key.read_text(encoding="utf-8"))["answers"]
    forms = {q.quantity: q.form for q in load_problem(spec).questions}
    for quantity, form in forms.items():
        if form == "expression":  # a formula in the answer syntax, not a number
            assert isinstance(written[quantity], str) and any(c.isalpha() for c in written[quantity]), quantity
        else:
            assert not isinstance(written[quantity], str), quantity
    result, data = _grade_json(key)
    (r,) = data["results"]
    assert result.exit_code == 0 and r["score"] == r["max_score"] == 14  # 12 questions, dl/dW1 and dl/dW2 2 points
    assert {q["status"] for q in r["questions"]} == {"correct"}


@pytest.mark.parametrize("problem", [p.stem for p in sorted(PROBLEMS.glob("*.yaml"))])
def test_answer_key_formulas_score_full_marks_on_every_shipped_problem(tmp_path, problem):
    """Every question with a formula form asked as a formula; the key must get them all right."""
    sol = solution_of(problem)
    text = (PROBLEMS / f"{problem}.yaml").read_text(encoding="utf-8")

    def ask_formula(m):
        entry = sol.entries[load_problem(PROBLEMS / f"{problem}.yaml").canonical(m.group(2))]
        return m.group(1) + (", form: expression}" if entry.formula is not None else "}")

    text = re.sub(r"(  - \{quantity: ([^,]+), points: [0-9.]+)\}", ask_formula, text)
    spec = tmp_path / f"{problem}.yaml"
    spec.write_text(text, encoding="utf-8")
    asked = [q for q in load_problem(spec).questions if q.form == "expression"]
    assert asked  # every shipped problem asks for quantities that have formulas (3 to 14 of them)
    key = tmp_path / "key.answers.yaml"
    assert CliRunner().invoke(main, ["solve", str(spec), "--key", str(key)]).exit_code == 0
    written = yaml.safe_load(key.read_text(encoding="utf-8"))["answers"]
    assert all(isinstance(written[q.quantity], str) for q in asked)
    result, data = _grade_json(key)
    (r,) = data["results"]
    assert result.exit_code == 0 and r["score"] == r["max_score"], \
        [(q["quantity"], q["message"]) for q in r["questions"] if q["status"] != "correct"]


@pytest.mark.parametrize("target", ["y: [1.0]", "y: [0.0]"])
@pytest.mark.parametrize("quantity, text, status", [
    ("dl/dy_hat", "y_hat - y", "correct"),
    ("dl/dy_hat", "y_hat - abs(y)", "incorrect"),   # equal only where y >= 0
    ("dl/dy_hat", "y_hat + y", "incorrect"),        # equal only where y = 0
    ("loss", "0.5*y_hat**2", "incorrect"),          # equal only where y = 0
])
def test_custom_loss_formulas_are_checked_at_moved_targets(target, quantity, text, status):
    """A custom loss's random points must move y (its sign too), or y-mistakes slip through."""
    spec = (ROOT / "problems" / "dsga1008-2020-p1.yaml").read_text().replace(
        'loss: {type: mse, factor: "1/2"}', 'loss: {type: custom, term: "(y_hat - y)**2", factor: "1/2"}')
    assert "type: custom" in spec
    from backprop_check.spec import parse_problem

    solution = solve(parse_problem(spec.replace("y: [1.0]", target), "custom.yaml"))
    verdict = equivalence.grade_text(solution, quantity, text,
                                     lambda e, s: grade_module.fit_shape(e, s, "the shape"))
    assert verdict.status == status, verdict.message


# ------------------------------------------------------------------ circular formulas (issue 7, point 3)

@pytest.mark.parametrize("quantity, formula, banned, rule", [
    # A local Jacobian read off the gradients computed from it: right for any answer.
    ("dz2/dz1", "diag(dl/dz1 / dl/dz2)", "dl/dz1, dl/dz2", "only the forward values (a local Jacobian"),
    ("dz2/dz1", "diag(dl/dz1 / (dl/dz1 + 0*dl/dy_hat) * 5*step(z1))", "dl/dy_hat, dl/dz1", "only the forward"),
    ("dy_hat/dz3", "dy_hat/dz3", "dy_hat/dz3", "only the forward values"),
    # A gradient from the gradients below it (which it feeds).
    ("dl/dz2", "dl/dz1 / (5*step(z1)) ", "dl/dz1", "only the forward values and the gradients above it"),
    # A forward value from a later one.
    ("z2", "z3 - b2", "z3", "only the values computed before it"),
])
def test_a_formula_may_not_use_what_it_feeds(quantity, formula, banned, rule):
    verdict = equivalence.grade_text(solution_of(P1), quantity, formula, fit)
    assert verdict.status == "invalid"
    assert f"a formula for {quantity} may not use {banned}:" in verdict.message
    assert rule in verdict.message


@pytest.mark.parametrize("quantity, formula", [
    ("dz2/dz1", "diag(5*step(z1))"),  # forward values only: fine
    ("dl/dz1", "dl/dz2 * 5*step(z1)"),  # the gradient above it: fine
    ("dl/dW1", "dl/dz1 @ x.T"),
])
def test_formulas_from_what_they_do_not_feed_are_graded(quantity, formula):
    assert equivalence.grade_text(solution_of(P1), quantity, formula, fit).status == "correct"
