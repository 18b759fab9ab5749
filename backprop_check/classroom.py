"""Grade many answers files: discovery, the problem pin, caching, summary.

A class is graded with each problem loaded, checked against its pinned
hash and solved once. A file that cannot be graded (broken YAML, no problem)
becomes a `FileResult` with an `error`, so the rest of the class still
grades. The class summary (score distribution, most common mistakes) is
computed from the records alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .answers import load_answers
from .errors import InputError
from . import sandbox
from .grade import FileResult, Finding, grade_file, questions_of
from .solve import Solution, solve
from .spec import Problem, load_problem

ANSWER_NAMES = ("answers.yaml", "answers.yml")
MAX_FILES = 20_000
MAX_CACHED_PROBLEMS = 8


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; below directories, answers.yaml and *.answers.yaml."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            below = sorted(q for q in p.rglob("*") if q.is_file() and _is_answers(q.name))
            found.extend(below)
        elif p.exists():
            found.append(p)
        else:
            raise InputError("no such file or directory", str(p))
        if len(found) > MAX_FILES:
            raise InputError(f"more than {MAX_FILES} answer files", str(p))
    return found


def _is_answers(name: str) -> bool:
    return name in ANSWER_NAMES or name.endswith((".answers.yaml", ".answers.yml"))


@dataclass
class Grader:
    """Grades files against pinned or named problems, solving each once."""

    problem: Path | None = None  # --problem: ignore the files' `problem:`
    problem_sha256: str | None = None
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    jobs: int | None = None
    _problems: dict = field(default_factory=dict)
    _solutions: dict = field(default_factory=dict)

    def load(self, path: Path) -> tuple[Problem, Solution]:
        key = path.resolve()
        if key not in self._problems and len(self._problems) >= MAX_CACHED_PROBLEMS:
            self._problems.clear()  # files naming many specs must not grow a worker without bound
            self._solutions.clear()
        if key not in self._problems:
            problem = load_problem(path)  # also checks the spec's own sha256:
            if self.problem_sha256:
                if problem.digest != self.problem_sha256.lower():
                    raise InputError(f"sha256 is {problem.digest}, not the pinned {self.problem_sha256}: "
                                     "the problem file was changed", str(path))
            self._problems[key] = problem
            self._solutions[key] = solve(problem)
        return self._problems[key], self._solutions[key]

    def grade(self, path: Path) -> FileResult:
        try:
            answers = load_answers(path)
            problem_path = self.problem or answers.problem
            if problem_path is None:
                raise InputError("no problem: name one with 'problem:' in the file or --problem", str(path))
            problem, solution = self.load(problem_path)
            return grade_file(answers, problem, solution)
        except InputError as exc:
            return FileResult(str(path), None, None, error=str(exc))

    def grade_all(self, paths: list[Path], progress: Callable | None = None) -> list[FileResult]:
        """Grade every file, each in a sandboxed worker (`sandbox`)."""
        if self.problem is not None:
            self.load(self.problem)  # solved once, before the workers fork; a broken one fails the run
        return sandbox.run(paths, self.grade, self._failed, self.limits, self.jobs, progress)

    def _failed(self, path: Path, reason: str, internal: bool = False) -> FileResult:
        """The result of a file whose grading hit a sandbox limit: every question invalid.

        An exception in a worker is a bug in bpcheck, not the student's doing: it is
        reported as an internal error (exit 3), never graded as invalid.
        """
        if internal:
            return FileResult(str(path), None, None, error=f"internal error: {reason}", internal=True)
        if self.problem is None:
            return FileResult(str(path), None, None, error=f"cannot grade: {reason}")
        problem, solution = self.load(self.problem)
        result = FileResult(str(path), None, problem.id)
        for q in questions_of(problem, solution):
            result.findings.append(Finding(q.quantity, "invalid", 0.0, float(q.points), f"not graded: {reason}"))
            result.max_score += float(q.points)
        return result


@dataclass
class Summary:
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


def summarize(results: list[FileResult]) -> Summary:
    graded = [r for r in results if r.error is None]
    shares = sorted(r.score / r.max_score if r.max_score else 0.0 for r in graded)
    bins = Counter(min(int(s * 10), 9) for s in shares)
    histogram = [(f"{10 * i}–{10 * i + 10}%", bins.get(i, 0)) for i in range(10)]
    tags = Counter(t for r in graded for f in r.findings for t in f.tags if t != "ecf")
    statuses = Counter(f.status for r in graded for f in r.findings)
    mid = len(shares) // 2
    median = (shares[mid] if len(shares) % 2 else (shares[mid - 1] + shares[mid]) / 2) if shares else 0.0
    return Summary(
        files=len(results), graded=len(graded), passed=sum(r.passed for r in graded),
        errors=len(results) - len(graded), mean=sum(shares) / len(shares) if shares else 0.0,
        median=median, max_score=max((r.max_score for r in graded), default=0.0),
        histogram=histogram, mistakes=tags.most_common(), statuses=dict(statuses))
