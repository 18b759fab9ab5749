"""How fast `bpcheck solve` is on a realistic net, and how badly naive sympy scales.

Part 1 writes two temporary problem specs (FORMAT.md, columns layout) for a
two-layer net with 64 inputs, 64 hidden units (W1, b1), 10 outputs (W2, b2)
and a batch of 32, all numbers random 2-decimal values from a fixed seed:

  (a) relu hidden + identity output + mse (factor 1/2, averaged over samples):
      the exact-rational path of the sympy engine;
  (b) tanh hidden + softmax output + cross_entropy (averaged over samples) with
      one-hot targets: the 45-digit (mpmath) path.

For each it times `bpcheck solve SPEC --format json` and `--format latex` (the
latter also renders the symbolic formulas) end to end, as a subprocess
(interpreter start-up and imports included), and prints the best and median
of 3 runs against the goal of < 2 s.

Part 2 shows why bpcheck does not just hand the whole loss to sympy. For the
same kind of net (relu / identity / mse, biases, batch 32, 10 outputs) with
inputs = hidden width = 4, 8 and 16, it builds the loss as ONE scalar sympy
expression from `sympy.Matrix(sympy.symbols(...))` matrices of weights,
biases, inputs and targets (every matrix product written out entry by entry,
nothing shared), differentiates it with `sympy.diff` with respect to every
entry of W1, and substitutes the numbers (exact rationals, one simultaneous
`xreplace` per derivative; `.subs` is slower still). Each width runs in a
child process killed after a cap (default 60 s, printed as "> 60 s"); widths
after a capped one are skipped, since they can only take longer. Symbols are
declared real, which makes sympy faster than with no assumptions. Where a
width finishes, its gradient is compared with bpcheck's `dl/dW1` for the same
spec.

Run (from the repository root, with bpcheck installed; about 2-3 minutes):

    python bench/solve_speed.py                 # everything, cap 60 s per width
    python bench/solve_speed.py --cap 30 --widths 2,4,8
    python bench/solve_speed.py --skip-sympy    # part 1 only
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 20240607
GOAL_SECONDS = 2.0
BATCH = 32
OUTPUTS = 10


# ------------------------------------------------------------------ the specs

def _numbers(seed: int, n_in: int, n_hidden: int, n_out: int, n: int, one_hot: bool) -> dict:
    """Random 2-decimal parameters and data, as strings (exact in a spec)."""
    rng = random.Random(seed)

    def num() -> str:
        return f"{rng.randint(-100, 100) / 100:.2f}"

    def mat(rows: int, cols: int) -> list:
        return [[num() for _ in range(cols)] for _ in range(rows)]

    out = {"W1": mat(n_hidden, n_in), "b1": [num() for _ in range(n_hidden)],
           "W2": mat(n_out, n_hidden), "b2": [num() for _ in range(n_out)],
           "x": mat(n_in, n)}
    if one_hot:
        labels = [rng.randrange(n_out) for _ in range(n)]
        out["y"] = [["1" if labels[j] == k else "0" for j in range(n)] for k in range(n_out)]
    else:
        out["y"] = mat(n_out, n)
    return out


def _flow(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return str(value)


def spec_text(pid: str, variant: str, nums: dict) -> str:
    """A FORMAT.md problem spec; variant 'relu' (exact) or 'tanh' (softmax + CE)."""
    if variant == "relu":
        hidden, output, loss = "relu", "identity", '{type: mse, factor: "1/2", average: samples}'
    else:
        hidden, output, loss = "tanh", "softmax", "{type: cross_entropy, average: samples}"
    return "\n".join([
        "bpcheck: 1",
        f"id: {pid}",
        f"title: benchmark {pid}",
        "network:",
        "  layers:",
        f"    - {{weight: W1, bias: b1, activation: {hidden}}}",
        f"    - {{weight: W2, bias: b2, activation: {output}}}",
        "params:",
        *(f"  {k}: {_flow(nums[k])}" for k in ("W1", "b1", "W2", "b2")),
        "data:",
        "  layout: columns",
        f"  x: {_flow(nums['x'])}",
        f"  y: {_flow(nums['y'])}",
        f"loss: {loss}",
        "",
    ])


def bpcheck_command() -> list[str]:
    exe = shutil.which("bpcheck")
    if exe:
        return [exe]
    return [sys.executable, "-c", "from backprop_check.cli import main; main()"]


# ------------------------------------------------------------------ part 1

def time_solve(spec: Path, fmt: str, runs: int = 3) -> tuple[float, float, int]:
    """Best and median wall time of `bpcheck solve spec --format fmt`, and output size."""
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(bpcheck_command() + ["solve", str(spec), "--format", fmt],
                              capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"bpcheck solve {spec.name} --format {fmt} failed "
                             f"(exit {proc.returncode}):\n{proc.stderr}")
        size = len(proc.stdout)
    return min(times), statistics.median(times), size


def part1(tmp: Path, runs: int) -> bool:
    print(f"Part 1: bpcheck solve, 64 inputs -> 64 hidden -> {OUTPUTS} outputs, batch {BATCH}, "
          f"{runs} runs each (goal: < {GOAL_SECONDS:g} s)")
    ok = True
    variants = [("a", "relu", "relu hidden, identity output, mse (exact rationals)"),
                ("b", "tanh", "tanh hidden, softmax output, cross_entropy (45 digits)")]
    for tag, variant, label in variants:
        nums = _numbers(SEED, 64, 64, OUTPUTS, BATCH, one_hot=variant == "tanh")
        spec = tmp / f"bench-{variant}.yaml"
        spec.write_text(spec_text(f"bench-{variant}", variant, nums), encoding="utf-8")
        print(f"  ({tag}) {label}")
        for fmt in ("json", "latex"):
            best, median, size = time_solve(spec, fmt, runs)
            verdict = "meets goal" if best < GOAL_SECONDS else "MISSES goal"
            ok &= best < GOAL_SECONDS
            print(f"      --format {fmt:<5}  best {best:6.2f} s   median {median:6.2f} s   "
                  f"({size / 1024:,.0f} KiB of output)   goal: < {GOAL_SECONDS:g} s: {verdict}")
    return ok


# ------------------------------------------------------------------ part 2

def sympy_child(width: int) -> None:
    """Runs in a child process: naive sympy gradient of the expanded loss w.r.t. W1.

    Prints one JSON line per phase (flushed, so the parent sees progress even
    when it has to kill us) and finally the gradient.
    """
    import sympy as sp

    def report(**kw):
        print(json.dumps(kw), flush=True)

    nums = _numbers(SEED + width, width, width, OUTPUTS, BATCH, one_hot=False)
    start = time.perf_counter()
    W1 = sp.Matrix(width, width, sp.symbols(f"W1_0:{width}_0:{width}", real=True))
    b1 = sp.Matrix(sp.symbols(f"b1_0:{width}", real=True))
    W2 = sp.Matrix(OUTPUTS, width, sp.symbols(f"W2_0:{OUTPUTS}_0:{width}", real=True))
    b2 = sp.Matrix(sp.symbols(f"b2_0:{OUTPUTS}", real=True))
    X = sp.Matrix(width, BATCH, sp.symbols(f"x_0:{width}_0:{BATCH}", real=True))
    Y = sp.Matrix(OUTPUTS, BATCH, sp.symbols(f"y_0:{OUTPUTS}_0:{BATCH}", real=True))
    ones = sp.ones(1, BATCH)
    hidden = (W1 * X + b1 * ones).applyfunc(lambda v: sp.Max(0, v))
    err = W2 * hidden + b2 * ones - Y
    loss = sp.Add(*[e ** 2 for e in err]) / (2 * BATCH)  # factor 1/2, averaged over samples
    t_build = time.perf_counter() - start
    report(phase="build", seconds=t_build, ops=int(sp.count_ops(loss)) if width <= 4 else None)

    start = time.perf_counter()
    derivatives = []
    for k, w in enumerate(W1):
        derivatives.append(sp.diff(loss, w))
        report(phase="diff-progress", done=k + 1, of=len(W1), seconds=time.perf_counter() - start)
    t_diff = time.perf_counter() - start
    report(phase="diff", seconds=t_diff)

    values = {}
    for name, sym in (("W1", W1), ("W2", W2), ("x", X), ("y", Y)):
        for i, row in enumerate(nums[name]):
            for j, v in enumerate(row):
                values[sym[i, j]] = sp.Rational(v)
    for name, sym in (("b1", b1), ("b2", b2)):
        for i, v in enumerate(nums[name]):
            values[sym[i]] = sp.Rational(v)
    start = time.perf_counter()
    grad = [float(d.xreplace(values)) for d in derivatives]
    t_subs = time.perf_counter() - start
    report(phase="done", build=t_build, diff=t_diff, subs=t_subs,
           grad=[grad[i * width:(i + 1) * width] for i in range(width)])


def _bpcheck_grad(tmp: Path, width: int) -> list:
    nums = _numbers(SEED + width, width, width, OUTPUTS, BATCH, one_hot=False)
    spec = tmp / f"naive-{width}.yaml"
    spec.write_text(spec_text(f"naive-{width}", "relu", nums), encoding="utf-8")
    start = time.perf_counter()
    proc = subprocess.run(bpcheck_command() + ["solve", str(spec), "--format", "json"],
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    return json.loads(proc.stdout)["quantities"]["dl/dW1"], seconds


def part2(tmp: Path, widths: list[int], cap: float) -> None:
    print(f"\nPart 2: plain sympy, the fully written-out scalar loss (relu/identity/mse, batch {BATCH}, "
          f"{OUTPUTS} outputs), d loss / d every entry of W1, cap {cap:g} s per width")
    print(f"  {'width':>5}  {'W1 entries':>10}  {'build':>8}  {'diff':>9}  {'subs':>8}  {'total':>9}  "
          f"{'bpcheck':>8}  max rel diff vs bpcheck")
    capped = False
    for width in widths:
        if capped:
            print(f"  {width:>5}  {width * width:>10}  skipped: > {cap:g} s (a smaller width already hit the cap)")
            continue
        start = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, __file__, "--sympy-child", str(width)],
                                  capture_output=True, text=True, timeout=cap)
            lines, timed_out = proc.stdout, False
            if proc.returncode != 0:
                print(f"  {width:>5}  child failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
                continue
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout or ""
            lines, timed_out = out.decode() if isinstance(out, bytes) else out, True
        wall = time.perf_counter() - start
        events = [json.loads(l) for l in lines.splitlines() if l.startswith("{")]
        if timed_out:
            capped = True
            build = next((e["seconds"] for e in events if e["phase"] == "build"), None)
            progress = [e for e in events if e["phase"] == "diff-progress"]
            where = (f"loss built in {build:.1f} s" if build is not None else "loss not yet built")
            if progress:
                last = progress[-1]
                where += f", differentiated {last['done']} of {last['of']} entries in {last['seconds']:.1f} s"
            elif build is not None:
                where += ", no derivative finished"
            print(f"  {width:>5}  {width * width:>10}  > {cap:g} s (killed; {where})")
            continue
        done = events[-1]
        ref, bp_seconds = _bpcheck_grad(tmp, width)
        worst = max(abs(a - b) / max(abs(a), abs(b), 1e-300)
                    for ra, rb in zip(done["grad"], ref) for a, b in zip(ra, rb))
        print(f"  {width:>5}  {width * width:>10}  {done['build']:7.2f}s  {done['diff']:8.2f}s  "
              f"{done['subs']:7.2f}s  {wall:8.2f}s  {bp_seconds:7.2f}s  {worst:.1e}")
    print("  (total = child wall time including its Python and sympy start-up; bpcheck = the whole "
          "`bpcheck solve --format json` of the same spec, every quantity, both engines)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per format (default 3)")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds per sympy width (default 60)")
    parser.add_argument("--widths", default="4,8,16", help="sympy widths, comma-separated (default 4,8,16)")
    parser.add_argument("--skip-sympy", action="store_true", help="part 1 only")
    parser.add_argument("--sympy-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sympy_child:
        sympy_child(args.sympy_child)
        return 0
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bpcheck-bench-") as d:
        tmp = Path(d)
        ok = part1(tmp, args.runs)
        if not args.skip_sympy:
            part2(tmp, [int(w) for w in args.widths.split(",")], args.cap)
    print(f"\ntotal benchmark time {time.perf_counter() - total:.0f} s; "
          f"bpcheck {'meets' if ok else 'MISSES'} the < {GOAL_SECONDS:g} s goal (best of each format above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
