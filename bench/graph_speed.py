"""Speed of the graph core: the 64-64-10 network side by side with a baseline, and a large graph.

Part 1 solves the two 64-64-10, batch-32 networks of `solve_speed.py` (relu +
mse: the exact path; tanh + softmax + cross-entropy: the 45-digit path) with
`--format json` and `--format latex` (formulas too), as subprocesses, once
with this checkout and once with a baseline checkout (`--baseline DIR`, for
example a `git worktree` of the commit before the graph core), alternating
runs so that both see the same machine load. It prints the best and median
of each and their ratio: the goal is a ratio of at most 1 (no slower).

Part 2 (when graph problems are supported) solves a node-by-node graph of
200 scalar nodes over 16 samples, formulas included, against a goal of 2 s.

    python bench/graph_speed.py --baseline /tmp/base --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import solve_speed as S  # noqa: E402  (the same specs as the solve benchmark)

ROOT = Path(__file__).resolve().parent.parent


def command(tree: Path) -> tuple[list, dict]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return [sys.executable, "-c", "from backprop_check.cli import main; main()"], env


def one_run(tree: Path, spec: Path, fmt: str) -> float:
    argv, env = command(tree)
    start = time.perf_counter()
    proc = subprocess.run(argv + ["solve", str(spec), "--format", fmt], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: solve {spec.name} --format {fmt} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def side_by_side(baseline: Path, specs: list, runs: int) -> None:
    print(f"{'spec':<10} {'format':<6} {'baseline best/median':>22} {'this best/median':>18} {'ratio':>6}")
    for spec in specs:
        for fmt in ("json", "latex"):
            times: dict = {"base": [], "this": []}
            for _ in range(runs):  # alternate, so that both see the same load
                times["base"].append(one_run(baseline, spec, fmt))
                times["this"].append(one_run(ROOT, spec, fmt))
            b, t = times["base"], times["this"]
            print(f"{spec.stem:<10} {fmt:<6} {min(b):>10.2f} s {statistics.median(b):>7.2f} s "
                  f"{min(t):>8.2f} s {statistics.median(t):>7.2f} s {statistics.median(t) / statistics.median(b):>6.2f}")


def network_specs(folder: Path) -> list:
    out = []
    for variant in ("relu", "tanh"):
        nums = S._numbers(S.SEED, 64, 64, S.OUTPUTS, S.BATCH, one_hot=variant == "tanh")
        spec = folder / f"{variant}.yaml"
        spec.write_text(S.spec_text(f"bench-{variant}", variant, nums))
        out.append(spec)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout to compare with")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        side_by_side(args.baseline.resolve(), network_specs(Path(tmp)), args.runs)


if __name__ == "__main__":
    main()
