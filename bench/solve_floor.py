"""`bpcheck solve` of a 64-64-64 net, batch 32, against the solve floor program.

Writes two specs (FORMAT.md section 1, columns layout, random 2-decimal numbers from a
fixed seed): 64 inputs -> 64 hidden (W1, b1) -> 64 outputs (W2, b2), batch 32,
    relu:  relu hidden, identity output, mse (factor 1/2, averaged over samples)
    tanh:  tanh hidden, softmax output, cross_entropy (averaged over samples), one-hot y
and runs, as fresh processes alternating run by run,
    bpcheck solve SPEC                   (the default output: values and their formulas)
    bpcheck solve SPEC --format json
    python bench/floors.py solve SPEC    (numpy float64 forward + backward, every quantity as JSON)
printing CPU and wall time (best and median) and the ratios. Goal (issue 14): the default
solve within 2.5x of the floor, judged on median CPU time (issue 14 measured 4.4x).

Run: python bench/solve_floor.py [--runs 5] [--nets relu,tanh]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from timing import BPCHECK, FLOORS, alternate, line, machine, ratios, stats, verdict

GOAL = 2.5
WIDTH, BATCH, SEED = 64, 32, 20261130
NETS = {"relu": ("relu", "identity", '{type: mse, factor: "1/2", average: samples}'),
        "tanh": ("tanh", "softmax", "{type: cross_entropy, average: samples}")}


def spec_text(net: str) -> str:
    hidden, output, loss = NETS[net]
    rng = random.Random(SEED)

    def row(n: int) -> str:
        return "[" + ", ".join(f"{rng.randint(-100, 100) / 100:.2f}" for _ in range(n)) + "]"

    def matrix(rows: int, cols: int) -> str:
        return "[" + ", ".join(row(cols) for _ in range(rows)) + "]"

    labels = [rng.randrange(WIDTH) for _ in range(BATCH)]
    one_hot = "[" + ", ".join("[" + ", ".join("1" if labels[j] == k else "0" for j in range(BATCH)) + "]"
                              for k in range(WIDTH)) + "]"
    return "\n".join([
        "bpcheck: 1", f"id: floor-{net}", f"title: {WIDTH}-{WIDTH}-{WIDTH} {net} net, batch {BATCH}",
        "network:", "  layers:",
        f"    - {{weight: W1, bias: b1, activation: {hidden}}}",
        f"    - {{weight: W2, bias: b2, activation: {output}}}",
        "params:", f"  W1: {matrix(WIDTH, WIDTH)}", f"  b1: {row(WIDTH)}",
        f"  W2: {matrix(WIDTH, WIDTH)}", f"  b2: {row(WIDTH)}",
        "data:", "  layout: columns", f"  x: {matrix(WIDTH, BATCH)}",
        f"  y: {one_hot if net == 'tanh' else matrix(WIDTH, BATCH)}",
        f"loss: {loss}", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nets", default="relu,tanh")
    args = parser.parse_args()
    print(f"solve of a {WIDTH}-{WIDTH}-{WIDTH} net, batch {BATCH}, {args.runs} runs each, alternating; {machine()}")
    met = True
    for net in args.nets.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            spec = str(Path(tmp) / f"{net}.yaml")
            Path(spec).write_text(spec_text(net))
            commands = {"bpcheck solve": BPCHECK + ["solve", spec], "bpcheck solve json": BPCHECK + [
                "solve", spec, "--format", "json"], "floor solve": FLOORS + ["solve", spec]}
            times = {name: stats(samples) for name, samples in alternate(commands, args.runs, ok=(0,)).items()}
        print(f"{net}: {NETS[net][0]} hidden, {NETS[net][1]} output, loss {NETS[net][2]}")
        for name, s in times.items():
            print(line(name, s))
        ratio = {name: times[name]["cpu_median"] / times["floor solve"]["cpu_median"]
                 for name in ("bpcheck solve", "bpcheck solve json")}
        for name, r in ratio.items():
            print(ratios(times[name], times["floor solve"], f"{name} / floor"))
            print("  " + verdict(f"{name} within {GOAL}x of the floor (median CPU)", r <= GOAL, f"{r:.2f}x"))
        met &= ratio["bpcheck solve"] <= GOAL  # the goal is the default output's
    print(verdict(f"default solve within {GOAL}x on every net", met, "see above"))


if __name__ == "__main__":
    main()
