"""Benchmark: the worst formula answers within the limits (issue 14, bounded work per answer).

On a problem with a 1024-unit layer (so that eye(1024) is within its sizes;
the spec of tests/test_formula_cost.py), prints:

1. the CPU time to refuse each hostile formula of tests/test_formula_cost.py
   (the issue's 78 × sum(erf(eye(1024))) held a worker 21 s), graded through
   `equivalence.grade_text` in a file's budget (goal: < 50 ms each);
2. the cost model against numpy: for formulas of every kind at 1024 × 1024,
   and for formulas made to compute with subnormal floats (results that
   underflow, subnormal operands, matrix products of them; flushed to zero
   by backprop_check/subnormals.py where it can), the estimate (an operation
   is at most about 1 ns) beside the measured CPU time of one evaluation
   (goal: estimate ≥ measured, ratio ≥ 1);
3. end to end, `bpcheck grade` of answers files as processes (CPU user +
   system, median of alternating runs): the problem with no answers (the
   baseline: starting, reading and solving the key), every asked quantity
   answered by its reference formula, every one answered wrong with the
   costliest term the per-check limit allows (all the file's formula work
   capped by its budget), the issue's file, the review's subnormal answer
   to every quantity, every quantity answered wrong with the largest
   subnormal term of each kind the limit allows, the most numbers a file
   may hold (one wrong-shaped answer), and write-ups holding
   all the display math allowed, in equations of 30 costly or subnormal members (goal: any answers file
   within the limits < 1 s CPU beyond the baseline);
4. the formula check median over the shipped problems, plain and LaTeX
   (bench/formula_speed.py's checks; goal: < 2 ms).

Run: python bench/worst_formula.py   (bpcheck sets one BLAS thread itself)
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the hostile formulas and the wide spec are the tests' own
sys.path.insert(0, str(ROOT / "bench"))

import formula_speed  # noqa: E402
import test_formula_cost as T  # noqa: E402
import timing  # noqa: E402
from backprop_check import answers as answers_module  # noqa: E402
from backprop_check import equivalence, formula_cost, subnormals, writeup  # noqa: E402
from backprop_check import formulas as F  # noqa: E402
from backprop_check.formula_products import Rules  # noqa: E402
from backprop_check.formula_syntax import parse  # noqa: E402
from backprop_check.solve import solve  # noqa: E402
from backprop_check.spec import load_problem  # noqa: E402

KINDS = ["sum(erf(eye(1024)))", "gelu(z1 z1^T)", "sigmoid(eye(1024))", "softplus(eye(1024))", "elu(eye(1024))",
         "exp(eye(1024))", "tanh(eye(1024))", "log(eye(1024))", "sqrt(eye(1024))", "abs(eye(1024))",
         "relu(eye(1024))", "step(eye(1024))", "leaky_relu(eye(1024))", "eye(1024)**3", "eye(1024)**2",
         "eye(1024) + eye(1024)", "eye(1024) / (eye(1024) + 1)", "-eye(1024)", "max(eye(1024), W1 W1^T)",
         "softmax(eye(1024))", "sum(eye(1024), 0)", "mean(eye(1024))", "diag(z1)", "eye(1024) @ eye(1024)",
         "z1 z1^T", "W1 W1^T @ z1", "I + W1 W1^T", "eye(1024) ones", "tanh'(eye(1024))", "sigmoid'(z1 W2)",
         "sum(W1 W2 W1 W2 W1 W2 W1 W2 W1 W2)", " + ".join(["x"] * 150), " + ".join(["tanh(W1 x + b1)"] * 40)]
# Made to compute with subnormal floats (below 2.2e-308), which x86 computes 10-40 times slower
# unless flushed to zero (backprop_check/subnormals.py): results that underflow (exp near -740, a
# product of two tiny numbers, a matrix product whose terms underflow, exp's slowest band near
# -710) and subnormal operands (tanh, sqrt, erf, a matrix product of subnormals).
SUBNORMAL = ["sum(tanh(exp(-740 - z1 z1^T)) @ exp(-740 - z1))", "exp(-740 - z1 z1^T)", "exp(-710 - z1 z1^T)",
             "tanh(exp(-740 - z1 z1^T))", "sqrt(exp(-740 - z1 z1^T))", "log(exp(-740 - z1 z1^T))",
             "exp(-740 - z1 z1^T) * 1e15", "exp(-200 - z1 z1^T) * exp(-520 - z1 z1^T)", "exp(-240 - z1 z1^T)**3",
             "exp(-360 - z1 @ ones(20).T) @ exp(-360 - ones(20) @ z1.T)", "exp(-740 - z1 @ ones(30).T) @ ones(30)",
             "exp(-740 - z1 z1^T) @ exp(-740 - z1)",
             "sigmoid(-710 - z1 z1^T)", "sigmoid'(-710 - z1 z1^T)", "softplus(-710 - z1 z1^T)", "elu'(-710 - z1 z1^T)",
             "softmax(710 * eye(1024))", "tanh'(exp(-740 - z1 z1^T))", "erf(exp(-740 - z1 @ ones(64).T))",
             "gelu(exp(-740 - z1 @ ones(64).T))", "exp(-740 - z1 z1^T) / exp(-740 - z1 z1^T)"]


def cpu(fn, runs: int = 5) -> float:
    """The best CPU time of `runs` calls, in seconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def refusals(solution) -> None:
    def refuse(text):
        with formula_cost.opened():
            verdict = equivalence.grade_text(solution, "loss", text, T._fit)
        assert verdict.status == "invalid" and T.COSTLY.search(verdict.message), verdict.message
    times = {what: cpu(lambda t=text: refuse(t)) for what, text in T.HOSTILE.items()}
    for what, seconds in times.items():
        print(f"  {what:<48} refused in {seconds * 1000:6.1f} ms CPU")
    worst = max(times, key=times.get)
    print(f"  slowest: {worst}, {times[worst] * 1000:.1f} ms (goal < 50 ms)")


def calibration(solution, kinds: list) -> None:
    names = equivalence.names_of(solution)
    ratios = []
    for text in kinds:
        node = parse(text, names)
        ops = formula_cost.estimate(node, solution.env)
        with subnormals.while_grading(solution):  # as an answers file's formulas are evaluated
            seconds = cpu(lambda: F.evaluate(node, solution.env, Rules(outer=True)), runs=3)
        ratios.append((ops / 1e9 / seconds, text))
        print(f"  {text[:44]:<46} estimate {ops / 1e6:8.1f} M ops   measured {seconds * 1000:7.2f} ms"
              f"   ratio {ratios[-1][0]:5.2f}")
    low, text = min(ratios)
    print(f"  lowest ratio {low:.2f} ({text[:40]}); median {statistics.median(r for r, _ in ratios):.2f}"
          " (goal: every ratio >= 1, the estimate an upper bound)")


def heaviest(solution, term: str, beside: tuple = ("0",)) -> str:
    """The costliest formula of `term` that one formula's check may take added to each formula
    `beside`: its size {k} as large as allowed when it has one, else as many copies of it as
    allowed ("" when none is)."""
    names = equivalence.names_of(solution)

    def fits(text):
        return all(formula_cost.estimate(parse(f"{f} + {text}", names), solution.env) * formula_cost.POINTS
                   <= formula_cost.MAX_CHECK_OPS for f in beside)
    if "{k}" in term:
        low, high = 0, 1024  # fits(low) or low == 0; not fits(high + 1)
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if fits(term.replace("{k}", str(mid))) else (low, mid - 1)
        return term.replace("{k}", str(low)) if low else ""
    best = ""
    for k in range(1, 20):
        text = " + ".join([term] * k)
        if not fits(text):
            break
        best = text
    return best


def worst_writeup(heavy_latex: str) -> str:
    """A write-up at the limits: as many equations of 30 costly members as its display math may hold."""
    chains = [("z_1", r"W_1 x + b_1"), ("z_2", r"\tanh(z_1)"), (r"\hat{y}", r"W_2 z_2 + b_2")]
    equations, math = [], 0
    while len(equations) < writeup.MAX_EQUATIONS:
        name, value = chains[len(equations) % len(chains)]
        body = f" {name} = " + " = ".join([f"{value} + {heavy_latex}"] * 30) + " "
        if math + writeup.BLOCK_CHARS + len(body) > writeup.MAX_MATH_CHARS:
            break
        equations.append(f"$${body}$$\n")
        math += writeup.BLOCK_CHARS + len(body)
    return "# Homework 1\n\n" + "\n".join(equations)


REVIEW = "sum(tanh(exp(-740 - z1 z1^T)) @ exp(-740 - z1))"  # the review's answer, 5.3 s CPU for one file
SUBNORMAL_TERMS = {  # subnormal formulas that measured slowest for their estimate, {k} as large as allowed
    "the review's term": "sum(tanh(exp(-740 - z1 @ ones({k}).T)) @ exp(-740 - ones({k})))",
    "exp's slow band": "sum(exp(-710 - z1 @ ones({k}).T))",
    "sigmoid's slow band": "sum(sigmoid(-710 - z1 @ ones({k}).T))",
    "underflowing products": "sum(exp(-360 - z1 @ ones({k}).T) @ exp(-360 - ones({k}) @ z1.T))",
}


def end_to_end(spec: Path, solution) -> None:
    answers = {q: F.to_code(solution.entries[q].formula) for q in T.ASKED}
    heavy = heaviest(solution, "sum(tanh(W1 W1^T))", tuple(answers.values()))
    files = {
        "no answers (baseline)": {},
        "every reference formula": answers,
        "every formula + the heaviest term": {q: f"{f} + {heavy}" for q, f in answers.items()},
        "the issue's 78 × sum(erf(eye(1024)))": {"loss": " + ".join([T.SUM_ERF] * 78)},
    }
    files["the review's answer to every quantity"] = {q: REVIEW for q in answers}
    print(f"  the heaviest term: {heavy[:60]} ({len(heavy)} characters)")
    for what, term in SUBNORMAL_TERMS.items():
        subnormal = heaviest(solution, term, tuple(answers.values()))
        files[f"every formula + {what}"] = {q: f"{f} + {subnormal}" for q, f in answers.items()}
        print(f"  {what}: {subnormal}")
    commands = {}
    for name, given in files.items():
        path = spec.parent / f"{len(commands)}.answers.yaml"
        body = "".join(f"\n  {q}: \"{text}\"" for q, text in given.items()) or " {}"
        path.write_text(f"bpcheck: 1\nproblem: {spec}\nstudent: s\nanswers:{body}\n")
        commands[name] = [*timing.BPCHECK, "grade", str(path), "--problem", str(spec), "--format", "json"]
    numbers = spec.parent / "numbers.answers.yaml"  # the most numbers a file may hold, in a wrong shape
    side = int(answers_module.MAX_FILE_ENTRIES ** 0.5)
    rng = random.Random(14)
    rows = ", ".join("[" + ", ".join(f"{rng.uniform(-1, 1):.12f}" for _ in range(side)) + "]" for _ in range(side))
    numbers.write_text(f"bpcheck: 1\nproblem: {spec}\nstudent: s\nanswers:\n  dz2/dz1: [{rows}]\n")
    commands[f"{side} x {side} numbers of 12 decimals"] = [
        *timing.BPCHECK, "grade", str(numbers), "--problem", str(spec), "--format", "json"]
    costly = spec.parent / "writeup.md"
    costly.write_text(worst_writeup(r"\sum \tanh(W_1 W_1^T)"))
    commands["a write-up: the most math allowed, costly members"] = [
        *timing.BPCHECK, "grade", str(costly), "--problem", str(spec), "--format", "json"]
    markers = spec.parent / "markers.tex"  # 2 MB of markers and one equation: none of it is math
    markers.write_text("% bpcheck: z1\n" * (writeup.MAX_BYTES // 15) + "\\[ z_1 = 1 \\]\n")
    commands["a write-up: 2 MB of markers"] = [*timing.BPCHECK, "grade", str(markers), "--problem", str(spec),
                                                "--format", "json"]
    blocks = spec.parent / "blocks.md"  # as many empty blocks as the cap allows
    blocks.write_text("$$$$" * (writeup.MAX_MATH_CHARS // writeup.BLOCK_CHARS))
    commands["a write-up: the most empty blocks allowed"] = [*timing.BPCHECK, "grade", str(blocks), "--problem",
                                                              str(spec), "--format", "json"]
    subnormal = spec.parent / "subnormal-writeup.md"
    k = heaviest(solution, SUBNORMAL_TERMS["exp's slow band"]).split("ones(")[1].split(")")[0]
    subnormal.write_text(worst_writeup(rf"\sum \exp(-710 - z_1 \mathbb{{1}}_{{{k}}}^T)"))
    commands["a write-up: the most math allowed, subnormal members"] = [
        *timing.BPCHECK, "grade", str(subnormal), "--problem", str(spec), "--format", "json"]
    commands["probe"] = timing.PROBE  # the host's speed, in each round (see timing.probe)
    samples = timing.alternate(commands, runs=3)
    probes = [cpu for _, cpu in samples.pop("probe")]
    results = {name: timing.stats(runs) for name, runs in samples.items()}
    base = results["no answers (baseline)"]["cpu_median"]
    for name, s in results.items():
        extra = s["cpu_median"] - base
        print(timing.line(name, s) + ("" if name.startswith("no answers") else f";  beyond the baseline {extra:.3f} s"))
    worst = max(s["cpu_median"] for s in results.values()) - base
    print(f"  worst file beyond the baseline: {worst:.3f} s CPU (goal < 1 s); the baseline itself (starting, "
          f"reading and solving the key with --problem) {base:.3f} s")
    # The host's speed varies by up to 1.5x: each run scaled by (fastest probe / its round's probe)
    full = {name: timing.at_full_speed([cpu for _, cpu in runs], probes, min(probes)) for name, runs in samples.items()}
    name = max(full, key=full.get)
    print(f"  at the host's full speed (median): the costliest file, {name}, {full[name]:.3f} s CPU in all "
          f"(the goal read as the whole run: < 1 s); the baseline {full['no answers (baseline)']:.3f} s")


def medians() -> None:
    times, counts, problems = formula_speed.check_times()
    for syntax, seconds in times.items():
        ms = sorted(t * 1000 for t in seconds)
        print(f"  {syntax}: {len(ms)} checks on {problems} shipped problems: CPU median {statistics.median(ms):.2f} ms,"
              f" 95th percentile {ms[int(0.95 * len(ms))]:.2f} ms (goal: median < 2 ms)")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "wide.yaml"
        spec.write_text(T._wide_spec())
        solution = solve(load_problem(spec))
        equivalence.grade_text(solution, "z1", "W1 @ x + b1", T._fit)  # the random worlds, built once
        print(f"1. hostile formulas refused (a 1-1024-1 network; limit {formula_cost.MAX_CHECK_OPS / 1e6:,.0f} "
              "million operations per formula check):")
        refusals(solution)
        print("2. the cost model against numpy (one evaluation):")
        calibration(solution, KINDS)
        flushing = "on" if subnormals.available() and subnormals._safe(solution) else "off here"
        print(f"   and formulas made to compute with subnormal floats (flushed to zero while grading: {flushing}):")
        calibration(solution, SUBNORMAL)
        print(f"3. bpcheck grade end to end (file budget {formula_cost.MAX_FILE_OPS / 1e6:,.0f} million operations):")
        end_to_end(spec, solution)
    print("4. formula check, every shipped reference formula and two wrong variants:")
    medians()


if __name__ == "__main__":
    main()
