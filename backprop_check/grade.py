"""Grade one answers file against a solved problem; produce plain records.

For each question: missing → invalid (not a number, wrong shape, with a
"transposed?" hint) → fit the shape under the conventions (`shapes`: either
orientation of a vector, an elementwise Jacobian's diagonal, each with a note)
→ compare under the tolerance (with the units of the student's last written
decimals) → on a wrong answer, the diagnosis (`diagnose`), the instructor's
credit and feedback for it (`credit`), partial credit; then, over the whole
file, error carried forward (`carry`: the student's own earlier answers bound,
the rest recomputed from the reference formulas). Results are
`Finding` and `FileResult` records of builtin types, which every output
format renders; nothing here prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction

import numpy as np

from . import credit, formula_cost
from . import formulas as F
from .answers import Answer, AnswerFile
from . import graph_quantities as GQ
from .diagnose import Context, diagnose, is_graph
from .errors import shortened
from .conventions import Conventions, student_rows, student_vectors
from .shapes import fit_shape, fit_units  # noqa: F401 (fit_shape: tests and benches read it from here)
from .shapes import shape_owner as _shape_owner
from .kept import array_key
from .solve import Solution
from .spec import Problem, Question
from .subnormals import while_grading
from .tolerance import Tolerance

STATUSES = ("correct", "incorrect", "invalid", "missing")
DEFAULT_ROUNDING_CREDIT = Fraction(0)


@dataclass
class Finding:
    quantity: str
    status: str
    score: float
    max_score: float
    message: str
    tags: list = field(default_factory=list)
    expected: object = None
    got: object = None
    wrong: list = field(default_factory=list)  # indices of the wrong entries
    line: int | None = None
    column: int | None = None
    tolerance: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FileResult:
    file: str
    student: str | None
    problem: str | None
    score: float = 0.0
    max_score: float = 0.0
    findings: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # (line, message)
    error: str | None = None  # the file could not be graded at all
    passed: bool = False
    internal: bool = False  # the error is a bug in bpcheck (exit 3)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["warnings"] = [{"line": line, "message": msg} for line, msg in self.warnings]
        return d


def questions_of(problem: Problem, solution: Solution) -> tuple:
    """The spec's questions, or every quantity at one point each.

    A graph problem without questions asks for every quantity that `solve`
    lists except what the spec gives (its inputs, each sample's data) and
    dO/dO, which is 1 by definition.
    """
    if problem.questions:
        return problem.questions
    kept = getattr(solution, "variants", None)  # (a handout's listing of names keeps none)
    key = ("questions", None)  # the same questions for every file: their plans are kept (`_plan`)
    if kept is not None and key in kept:
        return kept[key]
    if is_graph(problem):
        asked = tuple(Question(name) for name in solution.entries if not _given(name, problem))
    else:
        alias = problem.structure.out_name  # z{2L} is y_hat: ask for it once
        asked = tuple(Question(name) for name in solution.entries
                      if not name.startswith("sample") and name != alias)
    if kept is not None:
        kept[key] = asked
    return asked


@formula_cost.per_file  # one budget of formula work per answers file
def grade_file(answers: AnswerFile, problem: Problem, solution: Solution) -> FileResult:
    """Grade every question of `problem` in one answers file (passed: full marks)."""
    result = FileResult(answers.file, answers.student, problem.id)
    with while_grading(solution):  # a student's formulas: subnormals flushed where that changes no value
        _grade_questions(result, answers, problem, solution)
    for finding in result.findings:
        finding.score = round(finding.score, 6)
        result.score += finding.score
        result.max_score += finding.max_score
    result.warnings = list(answers.warnings) + [(line, f"equation skipped: {why}") for line, why in answers.skipped]
    result.score = round(result.score, 6)
    result.passed = result.score >= result.max_score - 1e-9
    return result


def _grade_questions(result: FileResult, answers: AnswerFile, problem: Problem, solution: Solution) -> None:
    """Each question's finding, error carried forward and a write-up's steps."""
    given = answers.resolve(problem)
    ctx = Context(solution)
    questions = questions_of(problem, solution)
    written = student_vectors(solution, given)  # the orientations their own answers gave vectors
    result.findings = [grade_question(ctx, q, given, written) for q in questions]
    if any(f.status == "incorrect" for f in result.findings):  # (imported only then: a cold run is mostly imports)
        from . import carry

        carry.credit(ctx, problem, questions, result.findings, given, written,  # error carried forward (on by default)
                     lambda q: _plan(ctx, q).seeing(written))
    if answers.steps:  # a write-up: the derivation's steps, feedback (and points with step_penalty)
        from . import steps

        steps.apply(solution, questions, result.findings, answers.steps, lambda q: _plan(ctx, q).fitter(),
                    lambda q: _plan(ctx, q).tol, lambda q, key, default: _option(problem, q, key, default),
                    lambda q: _plan(ctx, q).seeing(written))


def _option(problem: Problem, q: Question, key: str, default):
    value = getattr(q, key, None)
    return value if value is not None else problem.options.get(key, default)


@dataclass(frozen=True, eq=False)
class _Plan:
    """What grading one question takes that no answer changes: built once per question and
    solution (`_plan`), since a class answers the same questions again and again."""

    question: Question
    tol: Tolerance
    described: str  # tol.describe()
    expected: np.ndarray
    bound: np.ndarray  # tol.bound(expected): how far each entry may be off
    owner: str  # whose shape the quantity has (`shapes.shape_owner`)
    samples: int | None
    conventions: Conventions  # the question's, before the student's own orientations are known
    shares: dict  # the instructor's credit and feedback by tag (`_authored`)
    messages: dict
    seen: dict = field(default_factory=dict)  # the student's (rows, columns) -> `seeing`'s conventions

    @classmethod
    def of(cls, problem: Problem, solution: Solution, q: Question) -> "_Plan":
        tol = Tolerance.from_spec(problem.tolerance, q.tolerance)
        expected = solution.array(q.quantity)
        return cls(q, tol, tol.describe(), expected, tol.bound(expected), _shape_owner(q.quantity, problem),
                   _samples(problem), Conventions.of(problem, q),
                   credit.merged(problem.options.get("credit"), getattr(q, "credit", None)),
                   credit.merged(problem.options.get("feedback"), getattr(q, "feedback", None)))

    def seeing(self, written: dict | None) -> Conventions:
        """The question's conventions with the student's orientations: `Conventions.of(problem, q, written)`."""
        rows, columns = student_rows(written)
        if not (rows or columns):
            return self.conventions
        seen = self.seen.get((rows, columns))
        if seen is None:
            seen = replace(self.conventions, rows=rows, columns=columns)
            if len(self.seen) < MAX_SEEN:  # (a problem has few vectors: few ways to write them)
                self.seen[rows, columns] = seen
        return seen

    def fitter(self):
        """The shape fitter of the question: `fit(expected, submitted)`."""
        owner, samples, conventions = self.owner, self.samples, self.conventions
        return lambda e, s: fit_shape(e, s, owner, samples=samples, conventions=conventions)


MAX_SEEN = 256  # orientations kept per plan
MAX_PLANS = 4096  # per solution: a problem's questions (any more are planned afresh each time)


def _plan(ctx: Context, q: Question) -> _Plan:
    """The question's plan, kept on the solution by the question's identity (a plan holds its
    question, so that identity cannot pass to another question while it is kept)."""
    plans = ctx.solution.variants.setdefault(("question plans", None), {})
    plan = plans.get(id(q))
    if plan is None or plan.question is not q:
        plan = _Plan.of(ctx.problem, ctx.solution, q)
        if len(plans) < MAX_PLANS:
            plans[id(q)] = plan
    return plan


def grade_question(ctx: Context, q: Question, given: dict, written: dict | None = None) -> Finding:
    """One question's finding; `written`: the student's vector orientations (`student_vectors`)."""
    plan = _plan(ctx, q)
    points = float(q.points)
    expected = plan.expected
    finding = Finding(q.quantity, "missing", 0.0, points, "no answer", expected=expected.tolist(),
                      tolerance=plan.described)
    answer: Answer | None = given.get(q.quantity)
    if answer is None:
        return finding
    finding.line, finding.column = answer.line, answer.column
    if answer.error:
        return _invalid(finding, answer.error)
    if answer.formula is not None:
        finding.got = answer.formula
        if q.form == "value":
            return _invalid(finding, f"{shortened(answer.formula, 60)!r} is not a number "
                                     "(this question asks for a value)")
        return _grade_formula(ctx, plan, answer.formula, finding, points, written)
    reference = ctx.solution.entries[q.quantity].formula
    if q.form == "expression" and (reference is None or F.names_in(reference) - {"N", "K"}):
        finding.got = answer.value.tolist()
        return _invalid(finding, "this question asks for a formula, not a number")
    return _graded_value(ctx, plan, answer, finding)


MAX_CACHED_FINDINGS = 8192  # numeric findings per solved problem (the most recent are kept)


def _graded_value(ctx: Context, plan: _Plan, answer: Answer, finding: Finding) -> Finding:
    """`_grade_value` with the instructor's credit and feedback, once per question and answer.

    A number's finding depends on nothing but the question and the answer's values, written
    texts and units (the diagnosis reads no more of it, and carrying errors forward comes
    later, per file), and a class writes the same numbers again and again (the key's values
    rounded alike, the same sign or factor slip): the outcome is kept per solved problem and
    copied into each file's own finding."""
    key = _number_key(plan, answer)
    cache = ctx.solution.variants.setdefault(("numeric findings", None), {})
    kept = cache.get(key) if key is not None else None
    if kept is None:
        finding = _grade_value(ctx, plan, answer, finding)
        _authored(plan, finding)
        if key is not None:
            if len(cache) >= MAX_CACHED_FINDINGS:
                cache.pop(next(iter(cache)))
            # (the plan is kept with it: its identity in the key can name no other while it lives)
            cache[key] = (plan, finding.status, finding.score, finding.message, tuple(finding.tags),
                          tuple(map(tuple, finding.wrong)))
        return finding
    _, finding.status, finding.score, finding.message, tags, wrong = kept
    finding.tags, finding.wrong = list(tags), [list(w) for w in wrong]
    finding.got = answer.value.tolist()
    return finding


def _number_key(plan: _Plan, answer: Answer) -> tuple | None:
    """What a number's finding depends on (with the question: `_graded_value`), or None."""
    if answer.source is not None:  # the texts it was read from, which decide the rest
        return id(plan), answer.source
    value = array_key(answer.value)
    if value is None:
        return None
    units = None if answer.ulp is None else array_key(np.asarray(answer.ulp, dtype=float))
    return id(plan), value, units, _frozen(answer.texts)


def _frozen(texts):
    """Written texts (a string, None, nested lists) as a hashable value."""
    return tuple(_frozen(t) for t in texts) if isinstance(texts, list) else texts


def _grade_value(ctx: Context, plan: _Plan, answer: Answer, finding: Finding) -> Finding:
    problem, q, expected = ctx.problem, plan.question, plan.expected
    points = float(q.points)
    submitted, note, tag = fit_shape(expected, answer.value, plan.owner, samples=plan.samples,
                                     conventions=plan.conventions)
    finding.got = answer.value.tolist()
    if submitted is None:
        finding.tags = [tag] if tag else []
        return _invalid(finding, note)
    hand = plan.tol.written(fit_units(answer.ulp, submitted, tag))  # one unit of each last written decimal
    ok = hand.accepts(expected, submitted, plan.bound)
    convention = [tag] if tag else []
    if ok.all():
        finding.status, finding.score, finding.tags = "correct", points, convention
        finding.message = "correct" + (f"; {note}" if note else "")
        return finding
    finding.status = "incorrect"
    finding.wrong = [list(map(int, i)) for i in np.argwhere(~ok)] if ok.ndim else [[]]
    finding.message = _describe_error(expected, submitted, ok)
    found = diagnose(ctx, q.quantity, answer, submitted, hand)
    finding.tags = [d.tag for d in found] + convention
    if found:
        finding.message += "; probably " + "; or ".join(d.message for d in found)
    if note:
        finding.message += f"; {note}"
    if _option(problem, q, "partial", None) == "entries":
        finding.score = points * float(ok.mean())
    if "rounding-carried" in finding.tags:
        finding.score = max(finding.score, points * float(problem.options.get("rounding_credit", DEFAULT_ROUNDING_CREDIT)))
    return finding


def _authored(plan: _Plan, finding: Finding) -> None:
    """The instructor's credit and feedback for the finding's tags (spec `credit:`, `feedback:`)."""
    if plan.shares or plan.messages:
        credit.apply(finding, plan.shares, plan.messages)


def _grade_formula(ctx: Context, plan: _Plan, text: str, finding: Finding, points: float,
                   written: dict | None) -> Finding:
    q = plan.question
    graph = getattr(ctx.problem, "graph", None) is not None  # checked against the graph engine's worlds
    if ctx.solution.entries[q.quantity].formula is None and not graph:
        return _invalid(finding, f"{q.quantity} has no formula form; answer it with a number")
    verdict = _verdict(ctx, plan, text, plan.seeing(written))
    finding.status, finding.message, finding.tags = verdict.status, verdict.message, list(verdict.tags)
    finding.score = points if verdict.status == "correct" else 0.0
    finding.tolerance = "formula: equal at the problem's values and at random points"
    _authored(plan, finding)
    return finding


MAX_CACHED_VERDICTS = 4096  # per solved problem: a class writes the same few formulas again and again


def _verdict(ctx: Context, plan: _Plan, text: str, conventions: Conventions):
    """equivalence.grade_text's verdict, once per formula text, question and conventions.

    The verdict depends on nothing else: the key's values, the random worlds and the
    question's shape rules are the solution's, and of the student's own orientations
    only those of the names the formula uses (`conventions.readings`). Only correct and
    incorrect verdicts are kept (an invalid one may come from the file's own formula
    budget running out), each with the operations it cost, which a file that reuses it
    pays too: a file's grade never depends on the files graded before it."""
    from . import equivalence  # formulas only: a file of numbers never imports it

    q = plan.question
    used = _names_used(ctx, text)
    if used is None:  # it cannot be read: grade_text says why
        return equivalence.grade_text(ctx.solution, q.quantity, text, plan.fitter(), conventions)
    cache = ctx.solution.variants.setdefault(("verdicts", None), {})
    key = (q.quantity, text, conventions.seen_by(used))
    try:  # a kept verdict's work is charged to this file's budget as if it were done again
        return formula_cost.kept(cache, key, lambda: equivalence.grade_text(
            ctx.solution, q.quantity, text, plan.fitter(), conventions), MAX_CACHED_VERDICTS,
            keep=lambda verdict: verdict.status in ("correct", "incorrect"))
    except formula_cost.TooCostly as exc:
        return equivalence.Verdict("invalid", str(exc))


def _names_used(ctx: Context, text: str) -> frozenset | None:
    """The canonical names a formula text uses (None if it cannot be read)."""
    from .equivalence import parse_answer  # (read once per text and solved problem)
    from .formula_syntax import FormulaSyntaxError

    try:
        return frozenset(F.names_in(parse_answer(ctx.solution, text)))
    except FormulaSyntaxError:  # formula_cost.TooCostly included
        return None


def _invalid(finding: Finding, message: str) -> Finding:
    finding.status, finding.message = "invalid", message
    return finding


def _given(name: str, problem) -> bool:
    """A graph quantity that the spec gives or that is 1 by definition: an input, a sample's data, dO/dO."""
    kind, _, top, bottoms = GQ.parse(name)
    if bottoms:
        return bottoms == (top,)
    return kind != "step" and (top in problem.graph.inputs or top in problem.data)


def _samples(problem) -> int | None:
    """For `fit_shape`: None for a network, else the graph's number of samples (0 without data)."""
    return (problem.n_samples if problem.data else 0) if is_graph(problem) else None


def _describe_error(expected: np.ndarray, submitted: np.ndarray, ok: np.ndarray) -> str:
    err = np.abs(submitted - expected)
    bad = np.where(ok, -1.0, np.nan_to_num(err, nan=np.inf))
    worst = np.unravel_index(int(np.argmax(bad)), bad.shape) if bad.ndim else ()
    e, s = float(expected[worst]), float(submitted[worst])
    where = f" at {list(map(int, worst))}" if worst else ""
    count = f"{int((~ok).sum())} of {ok.size} entries wrong; " if ok.size > 1 else ""
    return f"{count}largest error{where}: expected {e:.6g}, got {s:.6g}"
