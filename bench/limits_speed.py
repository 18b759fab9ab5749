"""Benchmark: how fast hostile input is refused and runaway work is stopped.

The unit tests bound these by CPU time or by outcome only (a wall-clock
assert fails whenever the machine is busy); the wall-clock goals live here:

- every hostile formula of tests/test_formula_syntax.py rejected (goal < 0.5 s each);
- hostile specs rejected: a 1e99999 exponent (goal < 2 s), a 2000-column
  weight, a YAML alias bomb, 100 000-character keys (goal < 5 s each);
- sandbox: a 60 s sleep under a 1 s timeout, a CPU burn under a 1 s CPU limit
  (goal: each item stopped and the class finished in < 10 s).

Run: python bench/limits_speed.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the hostile inputs are the tests' own

import test_formula_syntax as TFS  # noqa: E402
import test_latex_syntax as TLS  # noqa: E402
import test_notation as TN  # noqa: E402
import test_spec as TS  # noqa: E402

from backprop_check import equivalence, formula_reading, sandbox  # noqa: E402
from backprop_check.errors import InputError  # noqa: E402
from backprop_check.formula_syntax import FormulaSyntaxError, parse  # noqa: E402
from backprop_check.latex_syntax import LatexSyntaxError, translate  # noqa: E402
from backprop_check.sandbox import Limits  # noqa: E402
from backprop_check.solve import solve  # noqa: E402
from backprop_check.spec import load_problem, parse_problem  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def refused(fn, error):
    def run():
        try:
            fn()
        except error:
            return
        raise AssertionError("not refused")
    return run


def main() -> None:
    names = formula_reading.names_of(TFS._solved())
    times = {key: timed(refused(lambda t=text: parse(TFS._arm(t, Path("/nonexistent/pwned")), names),
                                FormulaSyntaxError))
             for key, text in TFS.HOSTILE.items()}
    worst = max(times, key=times.get)
    print(f"{len(times)} hostile formulas: slowest {worst} {times[worst] * 1000:.1f} ms (goal < 500 ms)")
    times = {key: timed(refused(lambda t=text: translate(t), LatexSyntaxError)) for key, text in TLS.HOSTILE.items()}
    worst = max(times, key=times.get)
    print(f"{len(times)} hostile LaTeX answers: slowest {worst} {times[worst] * 1000:.1f} ms (goal < 500 ms)")
    p2a = solve(load_problem(TN.P2A))
    eyes = "sum(" + " ".join(["eye(1024)"] * 40) + ") W1"
    seconds = timed(lambda: equivalence.grade_text(p2a, "dl/dW1", eyes, TN._fit))
    print(f"forty juxtaposed eye(1024) refused in {seconds * 1000:.1f} ms (goal < 1000 ms)")

    wide = "[[" + ", ".join(["1"] * 2000) + "]]"
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for c in "bcdefghij":
        bomb += f"{c}: &{c} [" + ", ".join(["*" + prev] * 9) + "]\n"
        prev = c
    specs = {
        "exponent 1e99999 (goal < 2 s)": TS.make(("lr: 0.1", "lr: 1e99999")),
        "2000-column weight (goal < 5 s)": TS.make(("W2: [[1, 1, 1]]", "W2: " + wide)),
        "alias bomb (goal < 5 s)": TS.make(("title: Tiny net", "title: Tiny net\ndescription:\n"
                                             + "".join("  " + l + "\n" for l in bomb.splitlines()))),
        "100 000-character key (goal < 5 s)": TS.make(("title: Tiny net", f"title: Tiny net\n{'k' * 100_000}: 1")),
    }
    for what, text in specs.items():
        print(f"spec {what}: {timed(refused(lambda t=text: parse_problem(t, 'p.yaml'), InputError)):.3f} s")

    import test_sandbox as TSB  # noqa: E402  (module-level grade functions, picklable)
    for what, items, limits in (
            ("a 60 s sleep, timeout 1 s", [("ok", 0), ("sleep", 60), ("ok", 2)], Limits(timeout=1)),
            ("a 30 s burn, CPU limit 1 s", [("ok", 0), ("burn", 30), ("ok", 2)], Limits(timeout=20, cpu=1))):
        t = timed(lambda: sandbox.run(items, TSB.grade, TSB.failed, limits, jobs=1))
        print(f"sandbox, {what}: {t:.2f} s for the class (goal < 10 s)")


if __name__ == "__main__":
    main()
