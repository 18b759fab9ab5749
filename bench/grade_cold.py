"""Cold `bpcheck grade` of one numeric answers file against its floor program.

Writes the answer key of a shipped problem (`bpcheck solve P --key K`), then runs, as
fresh processes alternating run by run,
    bpcheck grade K --problem P --format json
    python bench/floors.py grade K P            (numpy float64 backprop + PyYAML + JSON)
and prints CPU and wall time (best and median) of each and their ratio. Goal (issue 14):
within 1.5x of the floor, judged on median CPU time. Both must give the key full marks.

Run: python bench/grade_cold.py [--problem problems/assignment1-ex2.yaml] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from timing import BPCHECK, ENV, FLOORS, alternate, line, machine, ratios, stats, verdict

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default=str(ROOT / "problems" / "assignment1-ex2.yaml"))
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key = str(Path(tmp) / "key.answers.yaml")
        subprocess.run(BPCHECK + ["solve", args.problem, "--key", key], check=True, stdout=subprocess.DEVNULL, env=ENV)
        commands = {"bpcheck grade": BPCHECK + ["grade", key, "--problem", args.problem, "--format", "json"],
                    "floor grade": FLOORS + ["grade", key, args.problem]}
        for name, cmd in commands.items():  # both must grade the key full marks, or the race is void
            result = json.loads(subprocess.run(cmd, capture_output=True, text=True, env=ENV).stdout)["results"][0]
            assert result["score"] == result["max_score"], (name, result)
        times = {name: stats(samples) for name, samples in alternate(commands, args.runs).items()}
    print(f"cold grade of one numeric answers file ({Path(args.problem).name}), {args.runs} runs each, alternating")
    print(f"  {machine()}")
    for name, s in times.items():
        print(line(name, s))
    print(ratios(times["bpcheck grade"], times["floor grade"]))
    ratio = times["bpcheck grade"]["cpu_median"] / times["floor grade"]["cpu_median"]
    print(verdict(f"within {GOAL}x of the floor (median CPU)", ratio <= GOAL, f"{ratio:.2f}x"))


if __name__ == "__main__":
    main()
