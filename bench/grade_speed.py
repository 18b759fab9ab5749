"""Benchmark: how many answer files per second `bpcheck grade` handles.

Writes a class of 200 answer files for a shipped problem (the key, with a
random mix of the common mistakes injected: wrong entries, sign flips, factor
2, missing and non-numeric answers, so that diagnosis runs too), then times
one `bpcheck grade CLASS --problem P --format json --csv grades.csv` end to
end and prints files per second. Goal: at least 100 files per second on
2 cores once the key is solved.

Run: python bench/grade_speed.py [problem.yaml] [--files 200]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def make_class(problem: Path, folder: Path, n: int, seed: int = 0) -> None:
    key_path = folder / "key.yaml"
    subprocess.run([sys.executable, "-m", "backprop_check", "solve", str(problem), "--format", "json",
                    "--key", str(key_path)], check=True, stdout=subprocess.DEVNULL)
    key = yaml.safe_load(key_path.read_text())["answers"]
    rng = random.Random(seed)
    for i in range(n):
        answers = {}
        for name, value in key.items():
            roll = rng.random()
            if roll < 0.05:
                continue  # missing
            if roll < 0.08:
                answers[name] = "no idea"
                continue
            factor = 1.0
            if roll < 0.15:
                factor = -1.0
            elif roll < 0.22:
                factor = 2.0
            elif roll < 0.30:
                factor = 1.0 + rng.uniform(0.05, 0.5)
            answers[name] = _scale(value, factor)
        body = {"bpcheck": 1, "student": f"s{i:03d}", "answers": answers}
        (folder / f"s{i:03d}.answers.yaml").write_text(yaml.safe_dump(body))
    key_path.unlink()


def _scale(value, factor):
    if isinstance(value, list):
        return [_scale(v, factor) for v in value]
    return round(float(value) * factor, 6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("problem", nargs="?", default=str(ROOT / "problems" / "assignment1-ex2.yaml"))
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        make_class(Path(args.problem), folder, args.files)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "backprop_check", "grade", str(folder), "--problem",
                               args.problem, "--format", "json", "--csv", str(Path(tmp) / "grades.csv")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode not in (0, 1):
            sys.exit(f"grade failed ({done.returncode}): {done.stderr}")
        rows = (Path(tmp) / "grades.csv").read_text().count("\n") - 1
        grading = _in_process(Path(args.problem), folder)
    print(f"problem: {Path(args.problem).name}, {rows} answer files, {os.cpu_count()} cores")
    print(f"end to end (process start, solve, grade, JSON, CSV): {elapsed:.2f} s = {rows / elapsed:.0f} files/s")
    print(f"grading once the key is solved: {grading:.2f} s = {rows / grading:.0f} files/s  (goal: >= 100 files/s)")


def _in_process(problem: Path, folder: Path) -> float:
    """Seconds to grade the class in the sandboxed workers, after the solve."""
    from backprop_check.classroom import Grader, discover

    grader = Grader(problem=problem)
    grader.load(problem)
    files = discover([folder])
    start = time.perf_counter()
    grader.grade_all(files)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
