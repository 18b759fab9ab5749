"""Timing fresh processes side by side, for the floor benchmarks (grade_cold, class_speed, solve_floor).

Each command runs as its own process; its CPU time (user + system, from wait4's
rusage, so only that child's) and wall time are recorded. Commands alternate run
by run, in swapped order every other run, so that a change in machine load hits
them alike, after one untimed warm-up run each. Goals are judged on the median CPU time,
which load inflates least. bpcheck runs as `python -m backprop_check`, so that
`PYTHONPATH=/path/to/an/old/checkout python bench/grade_cold.py` measures another version
(with PYTHONSAFEPATH set, so that the working directory's checkout does not win; Python 3.11+).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

BPCHECK = [sys.executable, "-m", "backprop_check"]
# Python's bytecode cache on, as after `pip install` (a shell with PYTHONDONTWRITEBYTECODE=1 would
# make every bpcheck run compile its modules from source again)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# `python -m` puts the working directory first on sys.path, ahead of PYTHONPATH: run from the
# repository's root, it would import the checkout there, whatever PYTHONPATH names (Python 3.11+)
ENV["PYTHONSAFEPATH"] = "1"
FLOORS = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "floors.py")]


def run(cmd: list[str], ok=(0, 1)) -> tuple[float, float]:
    """Wall and CPU seconds of one process; exits with its error output if it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            err.seek(0)
            sys.exit(f"{' '.join(cmd)} exited {code}:\n{err.read().decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime


def alternate(commands: dict[str, list[str]], runs: int, ok=(0, 1)) -> dict[str, list[tuple[float, float]]]:
    """Each command `runs` times, alternating; {name: [(wall, cpu), ...]}; exit codes in ok accepted."""
    times: dict[str, list] = {name: [] for name in commands}
    for cmd in commands.values():
        run(cmd, ok)  # a warm-up, untimed: writes the bytecode caches and fills the page cache
    for i in range(runs):
        for name in (list(commands) if i % 2 == 0 else list(commands)[::-1]):
            times[name].append(run(commands[name], ok))
    return times


def stats(samples: list[tuple[float, float]]) -> dict[str, float]:
    walls, cpus = [s[0] for s in samples], [s[1] for s in samples]
    return {"cpu_best": min(cpus), "cpu_median": statistics.median(cpus),
            "wall_best": min(walls), "wall_median": statistics.median(walls)}


def line(name: str, s: dict[str, float]) -> str:
    return (f"  {name:<27} CPU best {s['cpu_best']:.3f} s, median {s['cpu_median']:.3f} s;"
            f"  wall best {s['wall_best']:.3f} s, median {s['wall_median']:.3f} s")


def ratios(s: dict[str, float], floor: dict[str, float], label: str = "ratio to the floor") -> str:
    return (f"  {label + ':':<28}" + ", ".join(f"{key.replace('_', ' ')} {s[key] / floor[key]:.2f}x"
                                               for key in ("cpu_median", "cpu_best", "wall_median", "wall_best")))


PROBE = [sys.executable, "-c", "s = 0\nfor i in range(3_000_000): s += i * i"]  # fixed pure-Python work


def probe() -> float:
    """CPU seconds of a fixed pure-Python loop in a fresh process: the host's speed right now.

    On a shared virtual machine the same work takes up to 1.5x longer at some moments than at
    others (a neighbour on the physical core), with the same page faults and context switches;
    a run's CPU time times (the probe's best / the probe beside it) is that run at the host's
    full speed."""
    return run(PROBE)[1]


def at_full_speed(cpus, probes, fastest: float) -> float:
    """The median of runs' CPU seconds, each scaled to the host's full speed: times (`fastest`
    probe seen / the probe beside that run)."""
    return statistics.median(cpu * fastest / p for cpu, p in zip(cpus, probes))


def machine() -> str:
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"OPENBLAS_NUM_THREADS={threads}, {os.cpu_count()} cores, load average {load}; "
            "bytecode caches on, one untimed warm-up run per command")


def verdict(name: str, met: bool, figure: str) -> str:
    return f"goal: {name}: {figure} -> {'MET' if met else 'NOT MET'}"
