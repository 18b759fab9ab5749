"""Mutation testing for bpcheck: do the tests notice when the code is wrong?

    python tools/mutate.py --module backprop_check/tolerance.py --tests tests/test_tolerance.py
    python tools/mutate.py --module backprop_check/diagnose.py --tests tests/test_diagnose.py --max 80
    python tools/mutate.py --module backprop_check/losses.py --tests tests/test_losses.py --ids 3,17 -v

The module is parsed with `ast` and every mutation point is listed, in a
fixed order (one mutant = one change):

- arithmetic operators (+ ↔ −, × ↔ ÷, ** → ×, // → /, % → //, @ → ×),
  also in augmented assignments;
- comparisons (< ↔ <=, > ↔ >=, == ↔ !=, in ↔ not in, is ↔ is not);
- boolean operators (and ↔ or) and `not` removed;
- unary minus removed (−x → x);
- numeric constants (int n → n + 1, float x → x + 1), True ↔ False, and
  with --strings, string constants (docstrings never);
- min ↔ max, any ↔ all, np.maximum ↔ np.minimum, np.any ↔ np.all.

Everything is mutated: module-level tables and the lambdas inside them
included; only docstrings and annotations are left alone.

Each mutant is run against the chosen test files in a subprocess, in a
private copy of the package made once per job in a temporary directory
(first on the tests' sys.path, so that they import the copy). The
real source file is never written: the working tree stays untouched even if
the tool is killed. A mutant is *killed* when the tests fail (or time out:
`--timeout`, default 3 × the unmutated run + 10 s) and *survives* when they
pass. The tool prints the kill rate and every survivor as
`#id line: original → mutant`.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "backprop_check"

BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
          ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.MatMult: ast.Mult}
CMPOPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
          ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
SWAPS = {"min": "max", "max": "min", "any": "all", "all": "any",
         "maximum": "minimum", "minimum": "maximum"}
OPS_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.FloorDiv: "//",
            ast.Mod: "%", ast.MatMult: "@", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.Eq: "==", ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is",
            ast.IsNot: "is not", ast.And: "and", ast.Or: "or"}


@dataclass(frozen=True)
class Mutant:
    id: int
    line: int
    original: str
    mutated: str


# ------------------------------------------------------------ finding mutants

def _skipped(tree: ast.Module) -> set:
    """ids of nodes never mutated: docstrings, annotations, `from __future__`."""
    skip: set = set()

    def cover(node):
        for sub in ast.walk(node):
            skip.add(id(sub))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            cover(body[0])
        if isinstance(node, (ast.AnnAssign, ast.arg)) and node.annotation is not None:
            cover(node.annotation)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            cover(node.returns)
        if isinstance(node, ast.ImportFrom):
            cover(node)
    return skip


def _points(tree: ast.Module, strings: bool) -> list:
    """Every mutation point as (node, kind, detail), in ast.walk order."""
    skip = _skipped(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in BINOPS:
            out.append((node, "binop", None))
        elif isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in CMPOPS:
                    out.append((node, "cmp", i))
        elif isinstance(node, ast.BoolOp):
            out.append((node, "bool", None))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
            out.append((node, "unary", None))
        elif isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or (isinstance(v, (int, float)) and not isinstance(v, complex)):
                out.append((node, "const", None))
            elif strings and isinstance(v, str):
                out.append((node, "const", None))
        elif isinstance(node, ast.Name) and node.id in SWAPS and isinstance(node.ctx, ast.Load):
            out.append((node, "swap", None))
        elif isinstance(node, ast.Attribute) and node.attr in SWAPS and isinstance(node.ctx, ast.Load):
            out.append((node, "swap", None))
    return out


def _apply(node, kind: str, detail) -> None:
    """Mutate `node` in place."""
    if kind == "binop":
        node.op = BINOPS[type(node.op)]()
    elif kind == "cmp":
        node.ops[detail] = CMPOPS[type(node.ops[detail])]()
    elif kind == "bool":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "const":
        v = node.value
        if isinstance(v, bool):
            node.value = not v
        elif isinstance(v, (int, float)):
            node.value = v + 1
        else:
            node.value = "XX" + v + "XX"
    elif kind == "swap":
        if isinstance(node, ast.Name):
            node.id = SWAPS[node.id]
        else:
            node.attr = SWAPS[node.attr]


class _Unwrap(ast.NodeTransformer):
    """Replace one UnaryOp node by its operand."""

    def __init__(self, target):
        self.target = target

    def visit_UnaryOp(self, node):
        if node is self.target:
            return self.visit(node.operand)
        return self.generic_visit(node)


def _segment(source: str, node) -> str:
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    return " ".join(text.split())


def _describe(source: str, node, kind: str, detail) -> tuple[str, str]:
    """(original, mutated) as short text for the report."""
    original = _segment(source, node)
    if kind == "unary":
        return original, _segment(source, node.operand)
    if kind in ("binop", "cmp", "bool"):
        before = node.ops[detail] if kind == "cmp" else node.op
        mutant = copy.deepcopy(node)
        _apply(mutant, kind, detail)
        after = mutant.ops[detail] if kind == "cmp" else mutant.op
        if len(original) > 70 or isinstance(node, ast.AugAssign):
            return OPS_TEXT[type(before)], OPS_TEXT[type(after)]
        return original, ast.unparse(mutant)
    mutant = copy.deepcopy(node)
    _apply(mutant, kind, detail)
    return original, ast.unparse(mutant)


def mutants(source: str, strings: bool = False) -> tuple[str, list]:
    tree = ast.parse(source)
    baseline = ast.unparse(tree)
    found = []
    for i, (node, kind, detail) in enumerate(_points(tree, strings)):
        original, mutated = _describe(source, node, kind, detail)
        found.append(Mutant(i, node.lineno, original, mutated))
    # drop mutants whose source is the original's (e.g. +0.0 -> 1.0 never; kept simple)
    return baseline, found


def mutated_source(source: str, mutant_id: int, strings: bool = False) -> str:
    """The module's source with mutant `mutant_id` applied (parsed afresh every time)."""
    tree = ast.parse(source)
    node, kind, detail = _points(tree, strings)[mutant_id]
    if kind == "unary":
        tree = _Unwrap(node).visit(tree)
    else:
        _apply(node, kind, detail)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree) + "\n"


# ------------------------------------------------------------ running them

# The tests run from the repository root (they open problems/… relatively), with the
# sandbox first on sys.path so that `import backprop_check` finds the mutated copy, and
# without hypothesis's example database (a mutant's failures must not be replayed later).
SETUP = r"""
import json, os, signal, sys
sys.path[0] = sys.argv[1]
os.chdir(sys.argv[2])
import pytest, hypothesis
hypothesis.settings.register_profile("mutate", database=None)
hypothesis.settings.load_profile("mutate")
"""
# One pytest run (the --no-fork mode).
SINGLE = SETUP + r"""
sys.exit(pytest.main(json.loads(sys.argv[3])))
"""
# A worker imports the heavy third-party modules once, then forks one child per mutant; the
# child imports bpcheck afresh from the sandbox (the worker never imports it) and runs pytest.
WORKER = SETUP + r"""
import numpy, sympy, yaml, click, click.testing, rich.console, rich.table
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        signal.alarm(max(1, int(job["timeout"])))
        try:
            code = pytest.main(job["args"])
        except BaseException:
            code = 99
        os._exit(int(code))
    _, status = os.waitpid(pid, 0)
    try:
        os.killpg(pid, signal.SIGKILL)  # whatever the tests left running
    except OSError:
        pass
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM:
        outcome = "timeout"
    else:
        outcome = "passed" if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else "failed"
    print(outcome, flush=True)
"""


class Sandbox:
    """A private copy of the package in a temporary directory, for one job at a time."""

    def __init__(self, module: Path, fork: bool = True, rev: str | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="bpcheck-mutate-"))
        if rev is None:  # the working tree as it is now
            shutil.copytree(ROOT / PACKAGE, self.dir / PACKAGE,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:  # a commit: other people's unfinished edits in the tree do not count
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, PACKAGE],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(self.dir)], input=archive, check=True)
        self.target = self.dir / module.relative_to(ROOT)
        self.pristine = self.target.read_text(encoding="utf-8")
        self.env = dict(os.environ, PYTHONPATH=str(self.dir) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                        PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
        self.worker = None
        if fork and hasattr(os, "fork"):
            self.worker = subprocess.Popen([sys.executable, "-c", WORKER, str(self.dir), str(ROOT)], env=self.env,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, source: str | None, tests: list, timeout: float | None) -> tuple[str, float]:
        """('passed' | 'failed' | 'timeout', seconds) for the tests against `source`."""
        self.target.write_text(self.pristine if source is None else source, encoding="utf-8")
        args = ["-x", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
                *map(str, tests)]
        start = time.monotonic()
        if self.worker is not None:
            self.worker.stdin.write(json.dumps({"args": args, "timeout": timeout or 3600}) + "\n")
            self.worker.stdin.flush()
            outcome = self.worker.stdout.readline().strip() or "failed"
            return outcome, time.monotonic() - start
        env = self.env
        cmd = [sys.executable, "-c", SINGLE, str(self.dir), str(ROOT), json.dumps(args)]
        proc = subprocess.Popen(cmd, cwd=self.dir, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "timeout", time.monotonic() - start
        return ("passed" if code == 0 else "failed"), time.monotonic() - start

    def close(self):
        if self.worker is not None:
            self.worker.stdin.close()
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", required=True, help="e.g. backprop_check/tolerance.py")
    ap.add_argument("--tests", nargs="+", required=True, help="test files (or directories) to run")
    ap.add_argument("--max", type=int, default=None, help="sample at most this many mutants")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    ap.add_argument("--ids", default=None, help="only these mutant ids, e.g. 3,17")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=None, help="seconds per mutant")
    ap.add_argument("--strings", action="store_true", help="also mutate string constants")
    ap.add_argument("--rev", default=None,
                    help="mutate the package as committed at REV (e.g. HEAD) instead of the working tree")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--no-fork", action="store_true",
                    help="a fresh `python -m pytest` per mutant (slower) instead of a forking worker")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every mutant's outcome")
    args = ap.parse_args(argv)

    module = (ROOT / args.module).resolve()
    if not module.is_file() or ROOT / PACKAGE not in module.parents:
        ap.error(f"{args.module}: not a module of {PACKAGE}/")
    tests = [(ROOT / t).resolve() for t in args.tests]
    rel = module.relative_to(ROOT)
    if args.rev is None:
        source = module.read_text(encoding="utf-8")
    else:
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{args.rev}:{rel.as_posix()}"],
                                check=True, capture_output=True, text=True).stdout
    _, every = mutants(source, args.strings)
    chosen = every
    if args.ids:
        wanted = {int(i) for i in args.ids.split(",")}
        chosen = [m for m in every if m.id in wanted]
    elif args.max is not None and len(every) > args.max:
        chosen = sorted(random.Random(args.seed).sample(every, args.max), key=lambda m: m.id)
    if args.list:
        for m in chosen:
            print(f"#{m.id} line {m.line}: {m.original} → {m.mutated}")
        return 0

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill`: still remove the sandboxes
    sandboxes = [Sandbox(module, fork=not args.no_fork, rev=args.rev) for _ in range(max(1, args.jobs))]
    try:
        status, seconds = sandboxes[0].run(None, tests, None)
        if status != "passed":
            print(f"the tests fail on the unmutated {rel}: fix them first", file=sys.stderr)
            return 2
        timeout = args.timeout or 3 * seconds + 10
        print(f"{rel}{'@' + args.rev if args.rev else ''}: {len(chosen)} of {len(every)} mutants; tests: "
              f"{' '.join(os.path.relpath(t, ROOT) for t in tests)} ({seconds:.1f} s unmutated)",
              flush=True)
        free = list(sandboxes)
        lock = threading.Lock()
        results: dict = {}

        def one(m: Mutant):
            with lock:
                box = free.pop()
            try:
                mutated = mutated_source(source, m.id, args.strings)
                try:
                    compile(mutated, str(rel), "exec")
                except SyntaxError:
                    outcome = ("invalid", 0.0)
                else:
                    outcome = box.run(mutated, tests, timeout)
            finally:
                box.target.write_text(box.pristine, encoding="utf-8")
                with lock:
                    free.append(box)
            with lock:
                results[m.id] = outcome
                if args.verbose:
                    print(f"  #{m.id} line {m.line}: {outcome[0]} ({outcome[1]:.1f} s): "
                          f"{m.original} → {m.mutated}", flush=True)
                elif len(results) % 10 == 0:
                    print(f"  {len(results)}/{len(chosen)} …", flush=True)

        with ThreadPoolExecutor(max_workers=len(sandboxes)) as pool:
            list(pool.map(one, chosen))
    finally:
        for box in sandboxes:
            box.close()

    ran = [m for m in chosen if results[m.id][0] != "invalid"]
    survivors = [m for m in ran if results[m.id][0] == "passed"]
    timeouts = sum(results[m.id][0] == "timeout" for m in ran)
    killed = len(ran) - len(survivors)
    rate = 100.0 * killed / len(ran) if ran else 100.0
    print(f"{rel}: killed {killed} of {len(ran)} mutants ({rate:.0f}%)"
          + (f", {timeouts} by timeout" if timeouts else "")
          + (f"; {len(every)} in the module, {len(chosen)} sampled (--seed {args.seed})"
             if len(chosen) < len(every) and not args.ids else ""))
    if survivors:
        print("survivors:")
        for m in survivors:
            print(f"  #{m.id} line {m.line}: {m.original} → {m.mutated}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
