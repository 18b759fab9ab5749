"""Grade one answers file against a solved problem; produce plain records.

For each question: missing → invalid (not a number, wrong shape, with a
"transposed?" hint) → compare under the tolerance → on a wrong answer, the
diagnosis (`diagnose`), error carried forward (the student's own upstream
answers put into the quantity's formula) and partial credit. Results are
`Finding` and `FileResult` records of builtin types, which every output
format renders; nothing here prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np

from . import equivalence
from . import formulas as F
from .answers import Answer, AnswerFile
from . import graph_quantities as GQ
from . import optimizers
from .diagnose import Context, diagnose, is_graph
from .quantities import parts
from .solve import Solution
from .spec import Problem, Question
from .tolerance import Tolerance

STATUSES = ("correct", "incorrect", "invalid", "missing")
DEFAULT_ECF_SHARE = Fraction(1)
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
    if is_graph(problem):
        return tuple(Question(name) for name in solution.entries if not _given(name, problem))
    alias = problem.structure.out_name  # z{2L} is y_hat: ask for it once
    return tuple(Question(name) for name in solution.entries
                 if not name.startswith("sample") and name != alias)


def grade_file(answers: AnswerFile, problem: Problem, solution: Solution) -> FileResult:
    """Grade every question of `problem` in one answers file (passed: full marks)."""
    result = FileResult(answers.file, answers.student, problem.id)
    given = answers.resolve(problem)
    ctx = Context(solution)
    questions = questions_of(problem, solution)
    result.findings = [grade_question(ctx, q, given) for q in questions]
    # Error carried forward uses only answers that were asked for and graded incorrect:
    # an unasked or a correct answer carries nothing (else any made-up z2 could earn points).
    wrong = {f.quantity: given[f.quantity] for f in result.findings if f.status == "incorrect"}
    for q, finding in zip(questions, result.findings):
        if finding.status == "incorrect" and _option(problem, q, "ecf", False):
            _error_carried_forward(ctx, q, wrong, given[q.quantity], finding)
    for finding in result.findings:
        finding.score = round(finding.score, 6)
        result.score += finding.score
        result.max_score += finding.max_score
    result.warnings = list(answers.warnings)
    result.score = round(result.score, 6)
    result.passed = result.score >= result.max_score - 1e-9
    return result


def _option(problem: Problem, q: Question, key: str, default):
    value = getattr(q, key, None)
    return value if value is not None else problem.options.get(key, default)


def grade_question(ctx: Context, q: Question, given: dict) -> Finding:
    problem, solution = ctx.problem, ctx.solution
    points = float(q.points)
    tol = Tolerance.from_spec(problem.tolerance, q.tolerance)
    expected = solution.array(q.quantity)
    finding = Finding(q.quantity, "missing", 0.0, points, "no answer", expected=expected.tolist(),
                      tolerance=tol.describe())
    answer: Answer | None = given.get(q.quantity)
    if answer is None:
        return finding
    finding.line, finding.column = answer.line, answer.column
    if answer.error:
        return _invalid(finding, answer.error)
    if answer.formula is not None:
        finding.got = answer.formula
        if q.form == "value":
            return _invalid(finding, f"{_short(answer.formula)!r} is not a number "
                                     "(this question asks for a value)")
        return _grade_formula(ctx, q, answer.formula, finding, points)
    reference = ctx.solution.entries[q.quantity].formula
    if q.form == "expression" and (reference is None or F.names_in(reference) - {"N", "K"}):
        finding.got = answer.value.tolist()
        return _invalid(finding, "this question asks for a formula, not a number")
    submitted, problem_text, tag = fit_shape(expected, answer.value, _shape_owner(q.quantity, problem),
                                             samples=_samples(problem))
    finding.got = answer.value.tolist()
    if submitted is None:
        finding.tags = [tag] if tag else []
        return _invalid(finding, problem_text)
    ok = tol.accepts(expected, submitted)
    if ok.all():
        finding.status, finding.score, finding.message = "correct", points, "correct"
        return finding
    finding.status = "incorrect"
    finding.wrong = [list(map(int, i)) for i in np.argwhere(~ok)] if ok.ndim else [[]]
    finding.message = _describe_error(expected, submitted, ok)
    found = diagnose(ctx, q.quantity, answer, submitted, tol)
    finding.tags = [d.tag for d in found]
    if found:
        finding.message += "; probably " + "; or ".join(d.message for d in found)
    if _option(problem, q, "partial", None) == "entries":
        finding.score = points * float(ok.mean())
    if "rounding-carried" in finding.tags:
        finding.score = max(finding.score, points * float(problem.options.get("rounding_credit", DEFAULT_ROUNDING_CREDIT)))
    return finding


def _grade_formula(ctx: Context, q: Question, text: str, finding: Finding, points: float) -> Finding:
    graph = getattr(ctx.problem, "graph", None) is not None  # checked against the graph engine's worlds
    if ctx.solution.entries[q.quantity].formula is None and not graph:
        return _invalid(finding, f"{q.quantity} has no formula form; answer it with a number")
    owner = _shape_owner(q.quantity, ctx.problem)
    samples = _samples(ctx.problem)
    verdict = equivalence.grade_text(ctx.solution, q.quantity, text,
                                     lambda e, s: fit_shape(e, s, owner, samples=samples))
    finding.status, finding.message, finding.tags = verdict.status, verdict.message, verdict.tags
    finding.score = points if verdict.status == "correct" else 0.0
    finding.tolerance = "formula: equal at the problem's values and at random points"
    return finding


def _invalid(finding: Finding, message: str) -> Finding:
    finding.status, finding.message = "invalid", message
    return finding


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _given(name: str, problem) -> bool:
    """A graph quantity that the spec gives or that is 1 by definition: an input, a sample's data, dO/dO."""
    kind, _, top, bottoms = GQ.parse(name)
    if bottoms:
        return bottoms == (top,)
    return kind != "step" and (top in problem.graph.inputs or top in problem.data)


def _samples(problem) -> int | None:
    """For `fit_shape`: None for a network, else the graph's number of samples (0 without data)."""
    return (problem.n_samples if problem.data else 0) if is_graph(problem) else None


def _shape_owner(name: str, problem: Problem) -> str:
    """'the shape of W1' for dl/dW1 and step1.W1; values add their layout."""
    if is_graph(problem):
        return _graph_shape_owner(name, problem)
    base = parts(name)[2]
    target = base[4:] if base.startswith("dl/d") else base
    layout = f" in the {problem.layout} layout" if target.startswith(("z", "y_hat")) else ""
    return f"the shape of {target}{layout}"


def _graph_shape_owner(name: str, problem) -> str:
    """Where a graph quantity's shape comes from (FORMAT.md section 5): 'the shape of w' for w,
    dL/dw, step1.w and step1.v_w; "F's 2 entries by G's 3" for the Jacobian dF/dG."""
    kind, _, top, bottoms = GQ.parse(name)
    shapes = problem.shapes

    def size(n: str) -> int:
        return int(np.prod(shapes.get(n, ()), dtype=int))

    if kind == "step":
        state = next((p for p in problem.train_params if top in optimizers.state_names(problem.optimizer, p)),
                     None)
        return f"the shape of {state or top}"
    if not bottoms:
        return f"the shape of {top}"
    scalar_top = shapes.get(top, ()) == ()
    if len(bottoms) > 1:
        inputs = ", ".join(bottoms)
        return (f"one entry per input {inputs}" if scalar_top
                else f"{top}'s {size(top)} entries by the {len(bottoms)} inputs {inputs}")
    bottom = bottoms[0]
    if scalar_top:
        return f"the shape of {bottom}"
    if shapes.get(bottom, ()) == ():
        return f"{top}'s {size(top)} entries"
    return f"{top}'s {size(top)} entries by {bottom}'s {size(bottom)}"


def _dims(shape: tuple) -> str:
    return "×".join(map(str, shape)) if shape else "a scalar"


def fit_shape(expected: np.ndarray, submitted: np.ndarray, owner: str, samples: int | None = None):
    """(submitted reshaped like expected, None, None) or (None, message, tag).

    `samples`: None for a network; for a graph problem its number of samples
    (0 without data), which decides the "not summed over the samples?" hint.
    """
    e, s = expected.shape, submitted.shape
    if s == e:
        return submitted, None, None
    if submitted.size == expected.size and (expected.ndim < 2 or 1 in e) and submitted.ndim <= 1:
        return submitted.reshape(e), None, None  # a flat list answers a vector either way
    if expected.ndim == 1 and submitted.ndim == 2 and 1 in s and submitted.size == expected.size:
        return submitted.reshape(e), None, None  # a row or column answers a flat vector
    if expected.ndim == 0 and submitted.size == 1:
        return submitted.reshape(()), None, None
    if len(s) == 2 and len(e) == 2 and s == e[::-1]:
        return None, f"expected {_dims(e)} ({owner}), got {_dims(s)}: transposed?", "transposed"
    if len(e) == 2 and e[0] == e[1] and s == (e[0],):
        return None, (f"expected {_dims(e)} ({owner}), got {_dims(s)}: the diagonal only? "
                      "write the whole matrix, e.g. [[a, 0], [0, b]]"), None
    if samples is None and expected.ndim == 1 and len(s) == 2 and expected.size in s:
        return None, (f"expected {_dims(e)} ({owner}), got {_dims(s)}: "
                      f"not summed over the batch?"), "bias-not-summed"
    if samples and samples > 1 and submitted.size == samples * max(expected.size, 1) and samples in s \
            and (expected.size in s or expected.ndim == 0):
        return None, (f"expected {_dims(e)} ({owner}), got {_dims(s)}: "
                      f"one value per sample? (not summed over the samples)"), None
    return None, f"expected {_dims(e)} ({owner}), got {_dims(s)}", None


def _describe_error(expected: np.ndarray, submitted: np.ndarray, ok: np.ndarray) -> str:
    err = np.abs(submitted - expected)
    bad = np.where(ok, -1.0, np.nan_to_num(err, nan=np.inf))
    worst = np.unravel_index(int(np.argmax(bad)), bad.shape) if bad.ndim else ()
    e, s = float(expected[worst]), float(submitted[worst])
    where = f" at {list(map(int, worst))}" if worst else ""
    count = f"{int((~ok).sum())} of {ok.size} entries wrong; " if ok.size > 1 else ""
    return f"{count}largest error{where}: expected {e:.6g}, got {s:.6g}"


# Below this share of the reference's scale a value is "no value at all" for ECF.
ECF_TINY = 1e-6


def _degenerate(value: np.ndarray, truth: np.ndarray) -> str | None:
    """Why no credit can be carried from `value` (compared with the true one), or None.

    An answer built on zeros, an identity, a constant, or numbers vanishingly
    small next to the true ones takes no arithmetic to get "right": 1e-300
    for z1 makes every later gradient 0 within any tolerance.
    """
    v = np.asarray(value, dtype=float)
    t = np.asarray(truth, dtype=float)
    scale = float(np.max(np.abs(t))) if t.size else 0.0
    if not np.any(v):
        return "is all zeros" if np.any(t) else None
    if _is_identity(v) and not _is_identity(t):
        return "is an identity matrix"
    if v.size > 1 and np.all(v == v.flat[0]) and not np.all(t == t.flat[0]):
        return "has every entry equal"
    if float(np.max(np.abs(v))) <= ECF_TINY * scale:
        return f"is vanishingly small next to the true values (|entries| ≤ {float(np.max(np.abs(v))):.3g})"
    return None


def _flat(carried: np.ndarray, expected: np.ndarray, tol: Tolerance) -> str | None:
    """Why a carried result takes no arithmetic at the grading tolerance, or None.

    Upstream values of 1e-5 where the truth is 0.1 are not "vanishing" by
    scale, but what they give (dl/dW2 of 1e-7) is 0 within the tolerance,
    and so is a student's row of zeros: no credit for that.
    """
    truth = expected.reshape(carried.shape)
    bound = tol.bound(truth)
    if np.all(np.abs(carried) <= bound) and not np.all(np.abs(truth) <= bound):
        return "is zero within the tolerance"
    first = carried.flat[0] if carried.size else 0.0
    if carried.size > 1 and np.all(np.abs(carried - first) <= bound) and not np.all(np.abs(truth - truth.flat[0]) <= bound):
        return "has every entry equal within the tolerance"
    return None


def _is_identity(v: np.ndarray) -> bool:
    return v.ndim == 2 and v.shape[0] == v.shape[1] and v.shape[0] > 1 and np.array_equal(v, np.eye(v.shape[0]))


def _error_carried_forward(ctx: Context, q: Question, wrong: dict, answer: Answer, finding: Finding) -> None:
    """Credit an answer that is right given the student's own wrong inputs.

    `wrong`: the student's answers to the questions graded incorrect.
    """
    entry = ctx.solution.entries.get(q.quantity)
    if entry is None or entry.formula is None or answer.value is None:
        return
    expected = ctx.solution.array(q.quantity)
    submitted, _, _ = fit_shape(expected, answer.value, "")
    tol = Tolerance.from_spec(ctx.problem.tolerance, q.tolerance)
    env = dict(ctx.solution.env)
    used, degenerate = [], []
    for name in sorted(F.names_in(entry.formula)):
        upstream = wrong.get(name)
        if upstream is None or upstream.value is None or name not in env:
            continue
        mine = np.asarray(upstream.value, dtype=float)
        truth = np.asarray(env[name], dtype=float)
        if mine.size != truth.size:
            continue
        why = _degenerate(mine, truth)
        if why:
            degenerate.append(f"your {name} {why}")
        env[name] = mine.reshape(truth.shape)
        used.append(name)
    if not used:
        return
    try:
        carried = np.asarray(F.evaluate(entry.formula, env), dtype=float).reshape(submitted.shape)
    except (F.FormulaError, ValueError):
        return
    if not tol.accepts(carried, submitted).all():
        return
    why = _degenerate(carried, expected.reshape(submitted.shape)) or _flat(carried, expected, tol)
    if why:  # e.g. a saturated z1: every gradient after it is 0
        degenerate.append(f"given them, {q.quantity} {why}")
    if degenerate:
        finding.message += ("; it follows from your earlier answers, but no credit is carried forward: "
                            + "; ".join(degenerate) + " (that takes no arithmetic)")
        return
    share = float(_option(ctx.problem, q, "ecf_share", DEFAULT_ECF_SHARE))
    finding.status = "correct"
    finding.score = max(finding.score, finding.max_score * share)
    finding.tags = ["ecf"] + finding.tags
    finding.message = f"correct given your {', '.join(used)} (error carried forward)"
