"""Issue 14's 16-layer × 128-unit tanh net: does it solve and pass its cross-checks, at what cost?

For tanh nets at three weight scales and an ELU and a ReLU net (gain g: weights
N(0, g²/128), 3 decimals, one sample; the spec generator is
tests/test_crosscheck_conditioning.deep_spec) it prints:
- `bpcheck solve SPEC --format json` run as a subprocess: exit code (0 passes,
  3 "the checks disagree") and CPU time (user + system of the child);
- in process: the largest relative float64 error of any entry against the
  exact engine, how many entries the plain relative 1e-9 test rejects, the
  CPU time of the rounding spread (`engines.numeric.Rounding`, computed only
  when the plain test fails) and its median size relative to the values;
- with `--wrong` (about a minute more): whether a tanh′ 1e-6 too large in the
  numpy engine is still reported as a disagreement (it must be; tanh nets).
The ELU and ReLU nets exited 3 before the kink snapping measured a deep
pre-activation's rounding in quadrature (engines/floats.py).

Run from the repository root (a few minutes; OPENBLAS_NUM_THREADS=1 is set
for the children and this process, as bpcheck's matrices are small):

    python bench/deep_net.py
    python bench/deep_net.py --nets tanh:5 --wrong
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_crosscheck_conditioning import deep_spec  # noqa: E402

from backprop_check import ops  # noqa: E402
from backprop_check.crosscheck import close  # noqa: E402
from backprop_check.engines import numeric, symbolic  # noqa: E402
from backprop_check.errors import EngineDisagreement  # noqa: E402
from backprop_check.solve import _floats, case_of, solve  # noqa: E402
from backprop_check.spec import parse_problem  # noqa: E402

LAYERS, WIDTH, BATCH, SEED = 16, 128, 1, 14


def child_cpu(command: list) -> tuple[int, float]:
    """Exit code and CPU seconds (user + system) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(command, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 3):
        print(proc.stderr)
    return proc.returncode, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def in_process(text: str) -> dict:
    case = case_of(parse_problem(text, "deep.yaml"))
    exact = {k: np.asarray(_floats(v), dtype=float) for k, v in symbolic.run(case, jacobians=True).items()}
    fast = numeric.run(case, jacobians=True)
    worst, rejected, failing = 0.0, 0, []
    for name, a in exact.items():
        b = np.asarray(fast[name], dtype=float)
        nonzero = a != 0
        if nonzero.any():
            worst = max(worst, float(np.max(np.abs(a - b)[nonzero] / np.abs(a[nonzero]))))
        bad = int(np.sum(~close(a, b)))
        rejected += bad
        if bad:
            failing.append(name)
    rounding = numeric.Rounding(case)
    start = time.process_time()
    rounding("loss")
    cost = time.process_time() - start
    sizes = [np.median(rounding(k)[exact[k] != 0] / np.abs(exact[k][exact[k] != 0])) for k in exact
             if np.any(exact[k] != 0)]
    return {"worst": worst, "rejected": rejected, "first": failing[:3], "cost": cost, "median": float(np.median(sizes))}


def wrong_derivative_caught(text: str) -> bool:
    tanh = ops.FUNCTIONS["tanh"]
    right = tanh.dnumpy[0]
    ops.FUNCTIONS["tanh"] = dataclasses.replace(tanh, dnumpy=(lambda a: (1 + 1e-6) * right(a),))
    try:
        solve(parse_problem(text, "deep.yaml"))
        return False
    except EngineDisagreement:
        return True
    finally:
        ops.FUNCTIONS["tanh"] = tanh


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nets", default="tanh:1.5,tanh:5,tanh:10,elu:1,relu:3", help="activation:gain,…")
    parser.add_argument("--wrong", action="store_true", help="also inject a tanh' 1e-6 too large")
    args = parser.parse_args()
    command = [sys.executable, "-c", "from backprop_check.cli import main; main()"]
    print(f"{LAYERS} layers x {WIDTH} units, batch {BATCH}, seed {SEED}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    with tempfile.TemporaryDirectory() as tmp:
        for net in args.nets.split(","):
            act, gain = net.split(":")[0], float(net.split(":")[1])
            text = deep_spec(LAYERS, WIDTH, BATCH, SEED, gain, act)
            path = Path(tmp) / f"deep-{act}{gain:g}.yaml"
            path.write_text(text)
            code, cpu = child_cpu(command + ["solve", str(path), "--format", "json"])
            verdict = {0: "passes", 3: "exit 3 (the checks disagree)"}.get(code, f"exit {code}")
            facts = in_process(text)
            print(f"{act} gain {gain:>4g}: solve {verdict}, {cpu:.1f} s CPU; float64's worst relative error "
                  f"{facts['worst']:.1e}; plain 1e-9 test rejects {facts['rejected']} entries "
                  f"{facts['first']}; rounding spread {facts['cost']:.2f} s CPU, median "
                  f"{facts['median']:.1e} of the values")
            if args.wrong and act == "tanh":
                print(f"           tanh' x (1 + 1e-6) in the numpy engine: "
                      f"{'caught' if wrong_derivative_caught(text) else 'NOT CAUGHT'}")


if __name__ == "__main__":
    main()
