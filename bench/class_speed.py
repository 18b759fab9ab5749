"""Files per second grading a class of 1,000 mixed answers files, against the class floor.

For each problem (default: the shipped assignment1-ex2 and dsga1008-2022-p1), the spec is
copied with `form: any` on every question, so that formula answers are graded, and a class
of answers files is written from its key and its reference formulas (`bpcheck solve
--format yaml`): about 55% numbers with mistakes (missing, non-numeric, sign flips,
factor 2, off by 5-50%, rounded to 4 decimals), 25% formulas (a quarter of them wrong:
sign, factor 2, transposed), 8% garbage answers (text, wrong shapes, nested junk), 6%
broken YAML and 6% binary junk. Then, as fresh processes alternating run by run,
    bpcheck grade CLASS --problem P --format json
    python bench/floors.py class P CLASS        (numpy float64 + PyYAML + JSON, formulas invalid)
are timed end to end, and the floor's in-process figure (grading only, after its solve) is
printed too. Goal (issue 14): >= 1,000 files/s on 2 cores end to end. Wall time depends on
what else the machine runs, so the goal is judged on the median CPU time spread over the
2 cores (files / (CPU / 2), what an idle machine could do at best); the wall figure is printed
beside it.

Run: python bench/class_speed.py [problem.yaml ...] [--files 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from timing import BPCHECK, ENV, FLOORS, alternate, line, machine, stats, verdict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = [ROOT / "problems" / "assignment1-ex2.yaml", ROOT / "problems" / "dsga1008-2022-p1.yaml"]
GOAL = 1000
CORES = 2  # the goal's machine
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def references(problem: Path, folder: Path) -> tuple[dict, dict]:
    """The key's answers and the reference formulas of a problem."""
    key = folder / "key.yaml"
    done = subprocess.run(BPCHECK + ["solve", str(problem), "--format", "yaml", "--key", str(key)],
                          check=True, capture_output=True, text=True, env=ENV)
    formulas = {name: q.get("formula") for name, q in yaml.safe_load(done.stdout)["quantities"].items()}
    return yaml.safe_load(key.read_text())["answers"], formulas


def any_form(problem: Path, folder: Path) -> Path:
    """A copy of the spec whose questions take numbers or formulas."""
    spec = yaml.safe_load(problem.read_text())
    spec["questions"] = [dict(q, form="any") for q in spec["questions"]]
    copy = folder / problem.name
    copy.write_text(yaml.safe_dump(spec, sort_keys=False))
    return copy


def _scale(value, factor, digits):
    if isinstance(value, list):
        return [_scale(v, factor, digits) for v in value]
    return round(float(value) * factor, digits)


def numbers(rng: random.Random, key: dict) -> dict:
    answers, digits = {}, rng.choice([4, 6])
    for name, value in key.items():
        roll = rng.random()
        if roll < 0.05:
            continue  # missing
        if roll < 0.08:
            answers[name] = "no idea"
            continue
        factor = -1.0 if roll < 0.15 else 2.0 if roll < 0.22 else 1 + rng.uniform(0.05, 0.5) if roll < 0.30 else 1.0
        answers[name] = _scale(value, factor, digits)
    return answers


def formulas(rng: random.Random, key: dict, reference: dict) -> dict:
    answers = numbers(rng, key)
    for name, formula in reference.items():
        if formula and name in key and rng.random() < 0.8:
            wrong = rng.random()
            answers[name] = (f"-({formula})" if wrong < 0.08 else f"2 * ({formula})" if wrong < 0.16
                             else f"({formula}).T" if wrong < 0.25 else formula)
    return answers


def garbage(rng: random.Random, key: dict) -> dict:
    junk = ["", "???", [1, [2, 3]], {"a": 1}, [[1, 2], [3]], "1/0", "W1 @@ x", "relu(", "1e999", None, True]
    return {name: rng.choice(junk) for name in key}


def make_class(problem: Path, folder: Path, n: int, seed: int = 0) -> Path:
    """Write n mixed answers files into folder/class; returns the (form: any) spec to grade against."""
    key, reference = references(problem, folder)
    spec = any_form(problem, folder)
    rng = random.Random(seed)
    (folder / "class").mkdir()
    for i in range(n):
        path, roll = folder / "class" / f"s{i:04d}.answers.yaml", rng.random()
        if roll < 0.06:
            path.write_bytes(rng.randbytes(rng.randint(1, 2000)))
            continue
        if roll < 0.12:
            text = yaml.dump({"answers": numbers(rng, key)}, Dumper=Dumper)
            path.write_text(text[: rng.randint(10, len(text))] + rng.choice(["\n  - [", ": :\n", "\t{", "\n'"]))
            continue
        maker = numbers if roll < 0.67 else (lambda r, k: formulas(r, k, reference)) if roll < 0.92 else garbage
        path.write_text(yaml.dump({"bpcheck": 1, "student": f"s{i:04d}", "answers": maker(rng, key)}, Dumper=Dumper))
    return spec


def floor_in_process(spec: Path, folder: Path) -> str:
    done = subprocess.run(FLOORS + ["class", str(spec), str(folder)], capture_output=True, text=True,
                          check=True, env=ENV)
    return done.stderr.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problems", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"class of {args.files} mixed answers files, {args.runs} runs each, alternating; {machine()}")
    met = True
    for problem in args.problems:
        with tempfile.TemporaryDirectory() as tmp:
            spec = make_class(problem, Path(tmp), args.files)
            folder = str(Path(tmp) / "class")
            commands = {"bpcheck grade": BPCHECK + ["grade", folder, "--problem", str(spec), "--format", "json"],
                        "floor class": FLOORS + ["class", str(spec), folder]}
            times = {name: stats(samples) for name, samples in alternate(commands, args.runs, ok=(0, 1, 2)).items()}
            in_process = floor_in_process(spec, Path(folder))
        print(f"{problem.name}:")
        for name, s in times.items():
            print(line(name, s) + f";  {args.files / s['wall_median']:.0f} files/s (median wall), "
                                  f"{args.files / s['cpu_median']:.0f} files/s of CPU")
        print(f"  floor in process (grading only): {in_process}")
        rate = args.files / (times["bpcheck grade"]["cpu_median"] / CORES)
        wall = args.files / times["bpcheck grade"]["wall_median"]
        met &= rate >= GOAL
        print("  " + verdict(f">= {GOAL} files/s end to end on {problem.name}, median CPU over {CORES} cores",
                             rate >= GOAL, f"{rate:.0f} files/s (wall: {wall:.0f} files/s)"))
    print(verdict(f">= {GOAL} files/s on every problem", met, "see above"))


if __name__ == "__main__":
    sys.exit(main())
