"""Class statistics, one problem at a time: scores, questions, mistakes.

Files of different problems are never added up: a class that hands in two
problems (or a problem at two point totals) gets one `ProblemStats` for
each, keyed by the problem's id and its maximum.

Per question: the mean score, the share of students with it correct, and its
discrimination, the item-rest correlation: Pearson's r (numpy's corrcoef)
between the question's score and the student's score on the rest of the
problem (the total without this question, so that the question is not
correlated with itself). For an all-or-nothing question this is the
point-biserial correlation. Near 1: the question separates strong students
from weak ones; near 0 or negative: it does not (or its key is wrong). It is
undefined (None) with fewer than three students, or when everyone scored the
same on the question or on the rest.

Every mistake (diagnosis tag of a question, `ecf` excepted: that is credit,
not a mistake) is counted; nothing is capped here, renderers fold long lists
and say how many they folded.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

MIN_FOR_DISCRIMINATION = 3
BINS = 10


@dataclass
class QuestionStats:
    quantity: str
    max_score: float
    students: int
    mean: float  # points
    share_correct: float
    statuses: dict
    discrimination: float | None


@dataclass
class ProblemStats:
    problem: str
    max_score: float
    graded: int
    passed: int
    mean: float  # share of the maximum
    median: float
    shares: list = field(repr=False)
    histogram: list = field(default_factory=list)  # (label, count), tenths of the maximum
    questions: list = field(default_factory=list)
    mistakes: list = field(default_factory=list)  # (quantity, tag, count), most common first

    @property
    def label(self) -> str:
        return self.problem


def median(values: list[float]) -> float:
    # statistics, not numpy: np.median imports numpy.ma, a fifth of a cold grading run's time
    return float(statistics.median(values)) if values else 0.0


def histogram(shares: list[float]) -> list[tuple[str, int]]:
    bins = Counter(min(int(s * BINS), BINS - 1) for s in shares)
    step = 100 // BINS
    return [(f"{step * i}–{step * i + step}%", bins.get(i, 0)) for i in range(BINS)]


def by_problem(graded: list) -> list[ProblemStats]:
    """One `ProblemStats` per problem (and maximum), in the order the problems first appear."""
    groups: dict = {}
    for r in graded:
        groups.setdefault((r.problem, r.max_score), []).append(r)
    ids = Counter(problem for problem, _ in groups)
    out = []
    for (problem, maximum), results in groups.items():
        stats = problem_stats(results)
        if ids[problem] > 1:  # the same id at two point totals: still two problems
            stats.problem = f"{problem} ({maximum:g} points)"
        out.append(stats)
    return out


def problem_stats(results: list) -> ProblemStats:
    maximum = results[0].max_score
    shares = [r.score / maximum if maximum else 0.0 for r in results]
    mistakes = Counter((f.quantity, t) for r in results for f in r.findings for t in f.tags if t != "ecf")
    return ProblemStats(
        problem=results[0].problem or "", max_score=maximum, graded=len(results),
        passed=sum(bool(r.passed) for r in results), mean=float(np.mean(shares)) if shares else 0.0,
        median=median(shares), shares=shares, histogram=histogram(shares), questions=question_stats(results),
        mistakes=[(q, t, c) for (q, t), c in sorted(mistakes.items(), key=lambda item: (-item[1], item[0]))])


def question_stats(results: list) -> list[QuestionStats]:
    """Each question of the problem, in the order of its first file's findings."""
    # each file's findings indexed once by quantity (its first finding of each), not searched per question
    firsts = [{f.quantity: f for f in reversed(r.findings)} for r in results]
    order = list(dict.fromkeys(f.quantity for r in results for f in r.findings))
    totals = np.array([r.score for r in results], dtype=float)
    out = []
    for q in order:
        found = [first.get(q) for first in firsts]
        scores = np.array([f.score if f else 0.0 for f in found], dtype=float)
        statuses = Counter(f.status if f else "missing" for f in found)
        maximum = max((f.max_score for f in found if f), default=0.0)
        out.append(QuestionStats(q, maximum, len(results), float(scores.mean()), statuses["correct"] / len(results),
                                 dict(statuses), discrimination(scores, totals - scores)))
    return out


def discrimination(item: np.ndarray, rest: np.ndarray) -> float | None:
    """Pearson's r of the item's scores and the rest-of-problem scores (None when undefined)."""
    if item.size < MIN_FOR_DISCRIMINATION or np.ptp(item) == 0 or np.ptp(rest) == 0:
        return None
    return float(np.corrcoef(item, rest)[0, 1])
