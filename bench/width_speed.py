"""How `bpcheck solve` scales with width, and the largest specs the limits allow (issue 14).

Writes problem specs (FORMAT.md, columns layout, random short decimals from a
fixed seed) into a temporary folder and runs `bpcheck solve SPEC --format json`
on each as a fresh process, printing its CPU time (user + system, from wait4's
rusage of that child alone), its maximum resident memory, the size of the JSON
and the exit code. The goal: every spec in under 5 s of CPU and 500 MB.

- widths 16, 32, 64, 128, 256: a W → W → W net (ReLU then identity, MSE; and
  tanh then identity), one SGD step, the largest batch the work budget
  (budget.MAX_WORK) allows;
- the 64-64-64 net with batch 32 (the floor benchmark's shape), also as
  `--format yaml` (values and formulas);
- the largest specs within the documented limits: a 16-layer net alternating
  1 and 1024 units on one sample (eight 1024 × 1024 local Jacobians), 16 layers
  of 128 tanh units, the most parameters (1024 → 480 → 10), 4096 samples, 50
  training steps, and the costliest custom activation formula.

Run from the repository root (about 1-3 minutes):

    python bench/width_speed.py
    python bench/width_speed.py --only width256-relu,alt1024 --runs 3
    OPENBLAS_NUM_THREADS=1 python bench/width_speed.py
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

from backprop_check import budget

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing  # noqa: E402  (the host's speed: timing.probe)

SEED = 20261214
GOAL_CPU = 5.0  # seconds
GOAL_RSS = 500  # MB
GOAL_JSON = 20  # MB


# ------------------------------------------------------------------ the specs

def _flow(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return str(value)


def network_spec(pid: str, widths: list[int], batch: int, activations: list[str], loss: str,
                 steps: int = 0, short: bool = False, seed: int = SEED) -> str:
    """A spec for a net of `widths` (inputs first), `batch` samples, `steps` SGD steps.

    `short`: weights and biases -1, 0 or 1 (one or two characters), so that half a
    million parameters fit in the 2 MB file limit.
    """
    rng = random.Random(seed)

    def num() -> str:
        return f"{rng.randint(-100, 100) / 100:.2f}"

    def weight() -> str:
        return str(rng.randint(-1, 1)) if short else num()

    def mat(rows: int, cols: int, make=num) -> list:
        return [[make() for _ in range(cols)] for _ in range(rows)]

    lines = ["bpcheck: 1", f"id: {pid}", f"title: width benchmark {pid}", "network:", "  layers:"]
    for l, act in enumerate(activations, start=1):
        lines.append(f"    - {{weight: W{l}, bias: b{l}, activation: {act}}}")
    lines.append("params:")
    for l in range(1, len(widths)):
        lines.append(f"  W{l}: {_flow(mat(widths[l], widths[l - 1], weight))}")
        lines.append(f"  b{l}: {_flow([weight() for _ in range(widths[l])])}")
    lines += ["data:", "  layout: columns", f"  x: {_flow(mat(widths[0], batch))}",
              f"  y: {_flow(mat(widths[-1], batch))}", f"loss: {loss}"]
    if steps:
        lines.append(f"train: {{lr: 0.01, steps: {steps}}}")
    return "\n".join(lines) + "\n"


def largest_batch(widths: list[int], steps: int, per_entry: int = 0) -> int:
    """The largest batch the work budget allows (budget.work_per_pass without the parsing)."""
    per_sample = sum(widths[l] * (widths[l - 1] + per_entry) for l in range(1, len(widths)))
    return min(budget.MAX_WORK // (per_sample * (1 + steps)), 4096)


MSE = '{type: mse, factor: "1/2", average: samples}'


def costliest_formula() -> tuple[str, int]:
    """A custom activation near the formula limits (budget.MAX_FORMULA_COST and the parser's 400
    parts): 40 terms of gelu and tanh nested two deep each, and its cost (3,358 parts per entry)."""
    from backprop_check import activations

    text = " + ".join(f"gelu(tanh(gelu(tanh(z*{k}/7))))" for k in range(1, 41))
    return text, budget.formula_cost(activations.custom(text))


def specs() -> dict[str, str]:
    out: dict[str, str] = {}
    for w in (16, 32, 64, 128, 256):
        n = largest_batch([w, w, w], 1)
        out[f"width{w}-relu"] = network_spec(f"width{w}-relu", [w, w, w], n, ["relu", "identity"], MSE, 1)
        out[f"width{w}-tanh"] = network_spec(f"width{w}-tanh", [w, w, w], n, ["tanh", "identity"], MSE, 1)
    out["net64-batch32"] = network_spec("net64-batch32", [64, 64, 64], 32, ["relu", "identity"], MSE, 1)
    alternating = [1] + [1024, 1] * 8
    out["alt1024"] = network_spec("alt1024", alternating, 1, ["tanh", "identity"] * 8, MSE)
    deep = [128] * 17
    out["deep128-tanh"] = network_spec("deep128-tanh", deep, largest_batch(deep, 0), ["tanh"] * 15 + ["identity"], MSE)
    wide = [1024, 480, 10]
    out["params500k"] = network_spec("params500k", wide, largest_batch(wide, 0), ["relu", "identity"], MSE, short=True)
    out["samples4096"] = network_spec("samples4096", [16, 14, 16], 4096, ["relu", "identity"], MSE, 1)
    out["steps50"] = network_spec("steps50", [32, 32, 32], largest_batch([32, 32, 32], 50),
                                  ["tanh", "identity"], MSE, 50)
    text, c = costliest_formula()
    custom = [8, 8, 8]
    out["custom-formula"] = network_spec("custom-formula", custom,
                                         max(1, largest_batch(custom, 0, budget.NODE_WORK * c)),
                                         [f'"{text}"', "identity"], MSE)
    return out


# ------------------------------------------------------------------ measuring

def measure(spec: Path, fmt: str) -> dict:
    """One fresh `bpcheck solve`: CPU seconds, max RSS (MB), output bytes, exit code, first error line,
    and the host's speed probed right before it (`timing.probe`)."""
    probe = timing.probe()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        # (timing.ENV: PYTHONSAFEPATH, so that PYTHONPATH names the checkout measured, whatever the directory)
        proc = subprocess.Popen(timing.BPCHECK + ["solve", str(spec), "--format", fmt], stdout=out, stderr=err,
                                env=timing.ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        size = out.seek(0, 2)
        err.seek(0)
        message = err.read().decode(errors="replace").strip().splitlines()
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall, "rss": usage.ru_maxrss / 1024,
            "bytes": size, "code": os.waitstatus_to_exitcode(status), "error": message[-1] if message else "",
            "probe": probe}


def report(name: str, fmt: str, runs: list[dict], spec: Path, full_speed: float) -> bool:
    best = min(runs, key=lambda r: r["cpu"])
    scaled = timing.at_full_speed([r["cpu"] for r in runs], [r["probe"] for r in runs], full_speed)
    ok = best["code"] == 0 and best["cpu"] < GOAL_CPU and best["rss"] < GOAL_RSS
    if fmt == "json":
        ok &= best["bytes"] < GOAL_JSON * 1e6
    note = "" if best["code"] == 0 else f"  exit {best['code']}: {best['error'][:90]}"
    print(f"  {name:<16} {fmt:<4} spec {spec.stat().st_size / 1e6:5.2f} MB  CPU {best['cpu']:6.2f} s  "
          f"(wall {best['wall']:6.2f} s)  max RSS {best['rss']:6.0f} MB  output {best['bytes'] / 1e6:7.2f} MB  "
          f"{'ok' if ok else 'MISSES'}{note}; CPU at the host's full speed {scaled:.2f} s (median)", flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated spec names")
    parser.add_argument("--runs", type=int, default=1, help="runs per spec (the best CPU time is shown)")
    parser.add_argument("--keep", help="write the specs into this folder and keep them")
    args = parser.parse_args()
    chosen = specs()
    if args.only:
        wanted = args.only.split(",")
        chosen = {k: v for k, v in chosen.items() if k in wanted}
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"bpcheck solve at width; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"{os.cpu_count()} cores, load {load}; goal: CPU < {GOAL_CPU:g} s, max RSS < {GOAL_RSS} MB, "
          f"JSON < {GOAL_JSON} MB; work budget {budget.MAX_WORK:,}")
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="width-speed-"))
    folder.mkdir(parents=True, exist_ok=True)
    measured = []
    for name, text in chosen.items():
        spec = folder / f"{name}.yaml"
        spec.write_text(text, encoding="utf-8")
        formats = ("json", "yaml") if name == "net64-batch32" else ("json",)
        for fmt in formats:
            measured.append((name, fmt, [measure(spec, fmt) for _ in range(args.runs)], spec))
    full_speed = min(r["probe"] for *_, runs, _ in measured for r in runs)  # the host's fastest moment seen
    met = sum(report(name, fmt, runs, spec, full_speed) for name, fmt, runs, spec in measured)
    total = sum(2 if name == "net64-batch32" else 1 for name in chosen)
    print(f"goal met by {met} of {total} runs")


if __name__ == "__main__":
    main()
