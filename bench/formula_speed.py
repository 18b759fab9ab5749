"""Benchmark: how long one formula answer takes to check.

For every shipped problem, solves it once, then checks, for every quantity
that has a formula, the reference formula itself (correct) and two wrong
variants (sign flipped, a factor 2), each written out as text and graded
through `equivalence.grade_text` (parse, shape, problem's values, random
worlds, diagnosis). Prints the median and 95th percentile per check, first
checks of a problem (which build its random worlds) included.
Goal: under 20 ms median.

Run: python bench/formula_speed.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from backprop_check import equivalence
from backprop_check import formulas as F
from backprop_check.grade import fit_shape
from backprop_check.solve import solve
from backprop_check.spec import load_problem

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    times, counts = [], {"correct": 0, "incorrect": 0, "invalid": 0}
    fit = lambda e, s: fit_shape(e, s, "the shape")  # noqa: E731
    for path in sorted((ROOT / "problems").glob("*.yaml")):
        solution = solve(load_problem(path))
        for name, entry in solution.entries.items():
            if entry.formula is None:
                continue
            for node in (entry.formula, F.Neg(entry.formula), F.mul(F.num(2), entry.formula)):
                text = F.to_code(node)
                start = time.perf_counter()
                verdict = equivalence.grade_text(solution, name, text, fit)
                times.append(time.perf_counter() - start)
                counts[verdict.status] += 1
    ms = sorted(t * 1000 for t in times)
    print(f"{len(ms)} formula checks on {len(list((ROOT / 'problems').glob('*.yaml')))} shipped problems "
          f"({counts['correct']} correct, {counts['incorrect']} incorrect, {counts['invalid']} invalid)")
    print(f"median {statistics.median(ms):.2f} ms, 95th percentile {ms[int(0.95 * len(ms))]:.2f} ms, "
          f"max {ms[-1]:.2f} ms  (goal: median < 20 ms)")


if __name__ == "__main__":
    main()
