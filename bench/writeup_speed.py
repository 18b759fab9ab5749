"""Benchmark: `bpcheck grade` of a 20-page write-up (issue 11: goal under 2 s).

Builds a Markdown write-up of about 20 pages from seed 003's own write-up
(fixtures/writeups/seed-003.md, 112 lines and 34 display equations, about
3 pages typeset): the seed repeated seven times. Every equation of every copy
is found and its left side resolved; the first copy answers the questions and
its steps are checked, the later copies answer them again and are listed as
skipped. It times `bpcheck grade hw.md --problem problems/assignment1-ex2.yaml
--format json` end to end as a subprocess (which includes solving the key, as
every grade run does), and the reading and grading alone in process, and
prints the best and median of each against the goal. Also printed: the same
end-to-end time for the seed's YAML answers file, the floor this path adds to.

Run: python bench/writeup_speed.py [--runs 5] [--copies 7]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "writeups" / "seed-003.md"
PROBLEM = ROOT / "problems" / "assignment1-ex2.yaml"
GOAL = 2.0


def write_up(copies: int) -> str:
    text = SEED.read_text()
    return "\n\n".join(f"# Copy {i + 1}\n\n{text}" for i in range(copies))


def end_to_end(path: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (user + system of the child) of each run."""
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "backprop_check", "grade", str(path), "--problem", str(PROBLEM),
                        "--format", "json"], stdout=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return times, cpu


def in_process(path: Path, runs: int) -> tuple[list[float], int, int]:
    sys.path.insert(0, str(ROOT))
    from backprop_check.grade import grade_file
    from backprop_check.solve import solve
    from backprop_check.spec import load_problem
    from backprop_check.writeup_answers import load_writeup

    problem = load_problem(PROBLEM)
    solution = solve(problem)
    times, answers = [], None
    for _ in range(runs):
        start = time.perf_counter()
        answers = load_writeup(path, problem)
        grade_file(answers, problem, solution)
        times.append(time.perf_counter() - start)
    steps = sum(len(s) for s in answers.steps.values())
    return times, len(answers.answers) + len(answers.skipped), steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--copies", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hw.md"
        text = write_up(args.copies)
        path.write_text(text)
        print(f"write-up: {len(text.splitlines())} lines, {len(text):,} characters "
              f"({args.copies} copies of seed 003)")
        timed, equations, steps = in_process(path, args.runs)
        print(f"in process (read + grade, key solved once): best {min(timed):.3f} s, "
              f"median {statistics.median(timed):.3f} s; {equations} equations, {steps} steps checked")
        yaml_answers = ROOT / "fixtures" / "seeds" / "003-assignment1-ex2.answers.yaml"
        floor, floor_cpu = end_to_end(yaml_answers, args.runs)
        print(f"for comparison, the seed's YAML answers file end to end: best {min(floor):.3f} s, "
              f"median {statistics.median(floor):.3f} s (CPU median {statistics.median(floor_cpu):.3f} s)")
        timed, cpu = end_to_end(path, args.runs)
        verdict = "met" if statistics.median(timed) < GOAL else "NOT met"
        print(f"end to end (bpcheck grade, one process): best {min(timed):.3f} s, "
              f"median {statistics.median(timed):.3f} s, CPU median {statistics.median(cpu):.3f} s; "
              f"goal < {GOAL} s (wall clock): {verdict}")


if __name__ == "__main__":
    main()
