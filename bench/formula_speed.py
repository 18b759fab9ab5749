"""Benchmark: how long one formula answer takes to check, in plain syntax and in LaTeX.

For every shipped problem, solves it once, then checks, for every quantity
that has a formula, the reference formula itself (correct) and two wrong
variants (sign flipped, a factor 2), each written out as text and graded
through `equivalence.grade_text` (parse, shape, problem's values, random
worlds, diagnosis): once as plain syntax (`formulas.to_code`) and once as
LaTeX (`formulas.to_latex`, read by `latex_syntax`; translated here first
while `formula_syntax.parse` does not read LaTeX itself). Prints the median
and 95th percentile of the CPU time per check for each, first checks of a
problem (which build its random worlds) included, and the verdicts, which
should agree. Goal (issue 14): under 2 ms median. `check_times` is also
what bench/worst_formula.py reports.

Run: python bench/formula_speed.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from backprop_check import equivalence
from backprop_check import formula_syntax
from backprop_check import formulas as F
from backprop_check.grade import fit_shape
from backprop_check.latex_syntax import translate
from backprop_check.solve import solve
from backprop_check.spec import load_problem

ROOT = Path(__file__).resolve().parent.parent
SYNTAXES = {"plain": F.to_code, "LaTeX": lambda node: f"${F.to_latex(node)}$"}  # in $…$, as students write


def _reads_latex() -> bool:
    try:
        return F.to_code(formula_syntax.parse(r"\hat{y}", {"y_hat"})) == "y_hat"
    except Exception:  # noqa: BLE001 - not hooked in yet
        return False


def check_times(clock=time.process_time) -> tuple[dict, dict, int]:
    """Per-check seconds by `clock` for each syntax, the verdict counts, and the number of problems."""
    direct = _reads_latex()
    times = {syntax: [] for syntax in SYNTAXES}
    counts = {syntax: {"correct": 0, "incorrect": 0, "invalid": 0} for syntax in SYNTAXES}
    fit = lambda e, s: fit_shape(e, s, "the shape")  # noqa: E731
    paths = sorted((ROOT / "problems").glob("*.yaml"))
    for path in paths:
        solution = solve(load_problem(path))
        for name, entry in solution.entries.items():
            if entry.formula is None:
                continue
            for node in (entry.formula, F.Neg(entry.formula), F.mul(F.num(2), entry.formula)):
                for syntax, write in SYNTAXES.items():
                    text = write(node)
                    start = clock()
                    if syntax == "LaTeX" and not direct:
                        text = translate(text)
                    verdict = equivalence.grade_text(solution, name, text, fit)
                    times[syntax].append(clock() - start)
                    counts[syntax][verdict.status] += 1
    return times, counts, len(paths)


def main() -> None:
    times, counts, problems = check_times()
    for syntax, seconds in times.items():
        ms, c = sorted(t * 1000 for t in seconds), counts[syntax]
        print(f"{syntax}: {len(ms)} formula checks on {problems} shipped problems "
              f"({c['correct']} correct, {c['incorrect']} incorrect, {c['invalid']} invalid)")
        print(f"  CPU per check: median {statistics.median(ms):.2f} ms, 95th percentile "
              f"{ms[int(0.95 * len(ms))]:.2f} ms, max {ms[-1]:.2f} ms  (goal: median < 2 ms)")
    if not _reads_latex():
        print("  (LaTeX translated by latex_syntax.translate here: formula_syntax.parse does not read it yet)")


if __name__ == "__main__":
    main()
