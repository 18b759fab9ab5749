"""Grade many answers files: the problem pin, caching, workers, summary (discovery: `class_files`).

A class is graded with each problem loaded, checked against its pinned
hash and solved once. A file that cannot be graded (broken YAML, no problem)
becomes a `FileResult` with an `error`, so the rest of the class still
grades. The class summary (score distribution, most common mistakes) is
computed from the records alone.

Nothing one student submits may stop or swamp the class: each student
directory is its own graded tree (no symlink out of it is followed) with its
own file limit, the pinned problem is solved under the sandbox's limits, and
a worker sends back a bounded record (`compact`) however large the file's
arrays, so the parent's memory does not grow with what students submit.
"""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Callable

from .answers import load_answers
from .class_files import (ANSWER_NAMES, ANSWER_SUFFIXES, MAX_FILES_PER_DIRECTORY,  # noqa: F401 (read from here too)
                          Submission, discover, writeup_kind)
from .errors import BpcheckError, InputError
from . import collector, sandbox
from .grade import FileResult, Finding, grade_file, questions_of
from .solve import Solution, solve
from .spec import Problem, load_problem

MAX_CACHED_PROBLEMS = 8
MAX_CACHED_PATHS = 64  # problem paths as files name them, resolved
MAX_CACHED_VARIANTS = 32  # solved variants per worker (a variant per student)
MAX_SENT_ENTRIES = 1_000  # a finding's arrays travel back from the worker up to this size
MAX_SENT_WARNINGS = 50
MAX_SENT_CHARS = 500  # each message, formula or name that travels back


def compact(result: FileResult) -> FileResult:
    """The result without arrays past MAX_SENT_ENTRIES or warnings past MAX_SENT_WARNINGS.

    Run in the worker, so that what travels to (and stays in) the parent is
    bounded by the problem's size, not by what the student submitted. Only
    the human report reads `got`/`expected`/`wrong` (a diff table, folded to
    the wrong entries above 12); a finding's message already names the count
    and the largest error.
    """
    for f in result.findings:
        if _size(f.got) > MAX_SENT_ENTRIES or _size(f.expected) > MAX_SENT_ENTRIES:
            f.got, f.expected, f.wrong = None, None, []
        f.message = _cut(_collapsed(f.message))
        if isinstance(f.got, str):
            f.got = _cut(f.got)
    extra = len(result.warnings) - MAX_SENT_WARNINGS
    if extra > 0:
        result.warnings = result.warnings[:MAX_SENT_WARNINGS] + [(None, f"… and {extra} more warnings")]
    result.warnings = [(line, _cut(message)) for line, message in result.warnings]
    result.student = _cut(result.student) if result.student else result.student
    return result


MAX_SHOWN_ARRAY = 120  # characters of one [...] value inside a message


def _collapsed(text: str) -> str:
    """A message with each long [...] value shown as [{n} entries]: cutting the message at its end
    would leave half an array (past what --feedback hints can recognise and hide) and drop the
    diagnosis and the instructor's feedback that follow it."""
    if len(text) <= MAX_SENT_CHARS:
        return text
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            if depth == 0:
                out.append(text[start:i])
                start = i
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
            if depth == 0:
                group = text[start:i + 1]
                out.append(group if len(group) <= MAX_SHOWN_ARRAY else f"[{group.count(',') + 1} entries]")
                start = i + 1
    out.append(text[start:] if depth == 0 else "[…]")  # an array that never closes is not shown
    return "".join(out)


def _cut(text: str) -> str:
    """Student-sized text at most MAX_SENT_CHARS long (a 30 kB key name is quoted in a warning)."""
    return text if len(text) <= MAX_SENT_CHARS else text[:MAX_SENT_CHARS] + f"… ({len(text):,} characters)"


_first = itemgetter(0)


def _size(value) -> int:
    """Entries in a nested list (a formula or a number is one)."""
    if not isinstance(value, list):
        return 1
    if not value or not isinstance(value[0], list):
        return len(value)
    if set(map(type, value)) == {list} and not any(map(isinstance, map(_first, filter(None, value)), repeat(list))):
        return sum(map(len, value))  # a matrix's rows (every answer and key value is at most 2-D), in C loops
    return sum(_size(v) for v in value)


@dataclass
class Grader:
    """Grades files against pinned or named problems, solving each once."""

    problem: Path | None = None  # --problem: ignore the files' `problem:`
    problem_sha256: str | None = None
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    jobs: int | None = None
    student: str | None = None  # --student: grade every file against this student's variant
    _problems: dict = field(default_factory=dict)
    _solutions: dict = field(default_factory=dict)
    _variants: dict = field(default_factory=dict)  # (problem, student) -> (variant, its solution)
    _resolved: dict = field(default_factory=dict)  # a problem's path as named -> resolved

    def load(self, path: Path, problem: Problem | None = None) -> tuple[Problem, Solution]:
        """The problem at `path` (or `problem`, already read from it) and its solution, cached."""
        key = self._resolved.get(path)
        if key is None:  # resolved once per path named (pathlib's resolve: 0.25 ms a file of a class)
            if len(self._resolved) >= MAX_CACHED_PATHS:
                self._resolved.clear()
            key = self._resolved[path] = path.resolve()
        if key not in self._problems and len(self._problems) >= MAX_CACHED_PROBLEMS:
            self._problems.clear()  # files naming many specs must not grow a worker without bound
            self._solutions.clear()
        if key not in self._problems:
            problem = problem or self._read(path)
            self._problems[key] = problem
            self._solutions[key] = solve(problem, exact=False)  # float64 key: see solve.solve
        return self._problems[key], self._solutions[key]

    def _read(self, path: Path) -> Problem:
        problem = load_problem(path)  # also checks the spec's own sha256:
        if self.problem_sha256 and problem.digest != self.problem_sha256.lower():
            raise InputError(f"sha256 is {problem.digest}, not the pinned {self.problem_sha256}: "
                             "the problem file was changed", str(path))
        return problem

    def grade(self, item: str | Path | Submission) -> FileResult:
        sub = Submission.of(item)
        path = sub.path
        if sub.refused:
            return FileResult(str(path), None, None, error=sub.refused)
        try:
            if writeup_kind(path.name) is not None:  # a Markdown or LaTeX write-up names no problem: --problem does
                from .writeup_answers import load_writeup

                if self.problem is None:
                    raise InputError("a write-up is graded against --problem P", str(path))
                problem, solution = self.load(self.problem)
                answers = load_writeup(path, problem, sub.tree)
            else:
                answers = load_answers(path, sub.tree)
                problem_path = self.problem or answers.problem
                if problem_path is None:
                    raise InputError("no problem: name one with 'problem:' in the file or --problem", str(path))
                problem, solution = self.load(problem_path)
            if getattr(problem, "random", None) is not None:
                return compact(self._grade_variant(answers, problem, solution))
            return compact(grade_file(answers, problem, solution))
        except InputError as exc:
            return FileResult(str(path), None, None, error=str(exc))

    def _grade_variant(self, answers, problem: Problem, solution: Solution) -> FileResult:
        """A problem with `random:` (FORMAT.md section 7): graded against the variant of the
        pinned --student, else of the file's `student:`; without either, every question invalid."""
        from .variants import problem_for, student_id

        # The file's own student: is trusted unless --student pins it (Gradescope's runner pins
        # the submitter from its metadata); the README says so.
        student = self.student or answers.student
        try:
            student = student_id(student)
        except InputError as exc:
            why = ("this problem gives each student their own numbers (random:), and the answers file "
                   "names no student: add 'student: ID' to it, or grade with --student ID") \
                if not (student or "").strip() else f"{exc.message}: its variant cannot be drawn"
            return _all_invalid(FileResult(answers.file, answers.student, problem.id), problem, solution, why)
        key = (problem.digest, problem.file, student)
        if key not in self._variants:
            if len(self._variants) >= MAX_CACHED_VARIANTS:
                self._variants.clear()  # one worker may grade a whole class: keep its memory bounded
            variant = problem_for(problem, student)
            self._variants[key] = (variant, solve(variant, exact=False))
        result = grade_file(answers, *self._variants[key])
        result.student = student
        return result

    def grade_all(self, items: list, progress: Callable | None = None) -> list[FileResult]:
        """Grade every file (a path or a `Submission`), each in a sandboxed worker (`sandbox`)."""
        if self.problem is not None:
            problem = None
            if self.problem.resolve() not in self._problems:
                problem = self._read(self.problem)  # reading is bounded; solving may not be
                if not _hand_sized(problem):
                    self._solve_within_limits(self.problem)
            self.load(self.problem, problem)  # solved once, before the workers fork; a broken one fails the run
        # What lives now (modules, the solved problem) lives the whole run: the collector leaves it out of its
        # walks, in the workers (forked with it) and here. The records received here are acyclic and kept for
        # the report: they are received with the collector paused, and left out of its later walks too.
        if len(items) >= PRELOAD_FROM:
            _preload()
        gc.freeze()
        with collector.paused(lasting=True):
            results = sandbox.run(items, self._grade_in_worker, self._failed, self.limits, self.jobs, progress)
        return results

    def _grade_in_worker(self, item) -> FileResult:
        """`grade`, with the collector on: a worker is forked from the parent, which paused it."""
        gc.enable()
        return self.grade(item)

    def _solve_within_limits(self, path: Path) -> None:
        """Solve the pinned problem once in a sandboxed worker, under the per-file limits.

        A costly spec must not run unbounded in this process. The problem
        cannot travel back (it holds functions), so the worker only proves
        that it fits: then `load` here repeats the same deterministic work,
        or raises the same error the worker met (a bad spec, a pin mismatch).
        """
        def attempt(p: Path) -> None:
            try:
                self.load(p)
            except BpcheckError:
                pass  # the load in the parent raises it again, with its exit code

        def overran(_p: Path, reason: str, internal: bool) -> str | None:
            return None if internal else reason  # an exception: the load in the parent reproduces it

        reason = sandbox.run([path], attempt, overran, self.limits, jobs=1)[0]
        if reason:
            raise InputError(f"the problem could not be solved within the grading limits ({reason}; "
                             "--timeout sets them); `bpcheck solve` shows how long it takes", str(path))

    def _failed(self, item, reason: str, internal: bool = False) -> FileResult:
        """The result of a file whose grading hit a sandbox limit: every question invalid.

        An exception in a worker is a bug in bpcheck, not the student's doing: it is
        reported as an internal error (exit 3), never graded as invalid.
        """
        path = Submission.of(item).path
        if internal:
            return FileResult(str(path), None, None, error=f"internal error: {reason}", internal=True)
        if self.problem is None:
            return FileResult(str(path), None, None, error=f"cannot grade: {reason}")
        problem, solution = self.load(self.problem)
        return _all_invalid(FileResult(str(path), None, problem.id), problem, solution, f"not graded: {reason}")


PRELOAD_FROM = 8  # files: a class this large has formulas and wrong answers


def _preload() -> None:
    """What a worker imports at its first formula or wrong answer, imported once before the workers
    fork (each would import it on its own: 20-25 ms): a single file's grading imports it only if needed."""
    from . import carry, equivalence, formula_parser, latex_syntax, numbers_worked  # noqa: F401


HAND_SIZED_WORK = 20_000  # multiplications: a homework network's float64 solve takes milliseconds


def _hand_sized(problem: Problem) -> bool:
    """A network spec whose float64 solve (grading's) takes milliseconds by its work budget.

    Such a spec is solved here directly: a sandboxed rehearsal would cost more than the
    solve (a cold single-file run is mostly start-up). Any other spec, every graph spec
    among them, is rehearsed in a worker first."""
    from .budget import work_per_pass

    if getattr(problem, "graph", None) is not None or problem.random is not None:
        return False
    passes = 1 + (problem.steps if problem.lr is not None else 0)
    return work_per_pass(problem.layers, problem.params, problem.n_samples, problem.loss) * passes <= HAND_SIZED_WORK


def _all_invalid(result: FileResult, problem: Problem, solution: Solution, why: str) -> FileResult:
    """Every question of the problem invalid, for the same reason."""
    for q in questions_of(problem, solution):
        result.findings.append(Finding(q.quantity, "invalid", 0.0, float(q.points), why))
        result.max_score += float(q.points)
    return result


@dataclass
class Summary:
    """The class at a glance: counts over all files, and statistics per problem (`class_stats`).

    `mean`, `median`, `max_score` and `histogram` are kept for the JSON report
    (shares of each file's own maximum); reports show the per-problem figures.
    """

    files: int
    graded: int
    passed: int
    errors: int
    mean: float
    median: float
    max_score: float
    histogram: list  # (label, count) in tenths of the maximum
    mistakes: list  # (tag, count), most common first
    statuses: dict
    problems: list = field(default_factory=list)  # class_stats.ProblemStats, one per problem
    unreadable: list = field(default_factory=list)  # (file, why) of the files that could not be graded


def summarize(results: list[FileResult]) -> Summary:
    from . import class_stats

    graded = [r for r in results if r.error is None]
    shares = [r.score / r.max_score if r.max_score else 0.0 for r in graded]
    tags = Counter(t for r in graded for f in r.findings for t in f.tags if t != "ecf")
    statuses = Counter(f.status for r in graded for f in r.findings)
    return Summary(
        files=len(results), graded=len(graded), passed=sum(bool(r.passed) for r in graded),
        errors=len(results) - len(graded), mean=sum(shares) / len(shares) if shares else 0.0,
        median=class_stats.median(shares), max_score=max((r.max_score for r in graded), default=0.0),
        histogram=class_stats.histogram(shares), mistakes=tags.most_common(), statuses=dict(statuses),
        problems=class_stats.by_problem(graded), unreadable=[(r.file, r.error) for r in results if r.error])
