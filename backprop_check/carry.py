"""Error carried forward (ECF): credit an answer that is right given the student's own earlier ones.

A TA who finds a wrong ŷ reads on with the student's ŷ: a dl/dW2 computed
correctly from it earns its points, and the mistake costs only the question
where it first appears. `credit` does that for every question at once, in
the dependency order of the problem's solution-sheet formulas (network and
graph problems alike):

- numbers: every quantity of the sheet is bound to the student's own answer
  where they answered it incorrectly, kept at its true value where they
  answered it correctly (a correct answer carries no error), and otherwise
  recomputed from its reference formula, so that an error travels through
  quantities nobody asked for (ŷ → dl/dz3 → dl/dW2). A formula answer is
  bound to its value at these carried values.
- formulas: the student's wrong formula stands for its quantity inside the
  later reference formulas (`formulas.substitute`), and a later formula answer
  equal to that substituted reference, at the problem's values and at the
  random worlds of `equivalence`, follows from it. Each formula is taken as
  the grader read it (`equivalence.as_graded`: a row chain, a row for a
  column, an elementwise Jacobian's diagonal), in the reference's orientation.

An incorrect answer that matches what follows from earlier wrong answers
earns `ecf_share` of its points (tagged `ecf`, naming the answers it follows
from); one that does not is a mistake of its own and carries from there. No
credit flows from a degenerate upstream (zeros, an identity, one repeated
value, numbers vanishingly small), nor to a result that is zero or constant
within the tolerance: those take no arithmetic to get "right". Only answers
to questions that were asked and graded incorrect start a carry, so a
made-up value for an unasked quantity earns nothing. Substituted formulas
grow (a wrong z2 used 40 times in z3, z3 in ŷ …): each evaluation is
estimated first (`formula_cost`), and one too costly or too deep carries
nothing.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import equivalence, formula_cost
from . import formulas as F
# (carry.fit and carry.dependency_order are read by tests)
from .carry_sheet import Entry, dependency_order, fit, kept_value, reading, sheet, value  # noqa: F401
from .formula_syntax import FormulaSyntaxError
from .tolerance import Tolerance

DEFAULT_ECF_SHARE = Fraction(1)
ECF_TINY = 1e-6  # below this share of the reference's scale a value is "no value at all"
NONE = frozenset()


def credit(ctx, problem, questions, findings, given: dict, written: dict | None, conventions) -> None:
    """Upgrade, in place, the findings of incorrect answers that follow from earlier wrong ones.

    `ctx`: a diagnose.Context or a Solution; `given`: canonical name -> Answer;
    `written`: the student's vector orientations (`conventions.student_vectors`);
    `conventions(q)`: `Conventions.of(problem, q, written)`, as the caller keeps them.
    """
    solution = getattr(ctx, "solution", ctx)
    asked = {q.quantity: (q, f) for q, f in zip(questions, findings)}
    walk = _Walk(solution, problem, asked, given, written or {}, conventions)
    for entry in sheet(solution):
        walk.step(entry)


def option(problem, q, key: str, default):
    """A question's grading option, else the problem's, else `default`."""
    value = getattr(q, key, None)
    return value if value is not None else problem.options.get(key, default)


class _Walk:
    """The carried values and formulas, filled in dependency order."""

    def __init__(self, solution, problem, asked: dict, given: dict, written: dict, conventions):
        self.solution, self.problem, self.asked, self.given = solution, problem, asked, given
        self.written = written
        self.env = dict(solution.env)  # carried values, in the formulas' shapes
        self.origin: dict = {}  # name -> the wrong answers its carried value follows from
        self.trees: dict = {}  # name -> carried formula, only where a wrong formula answer reaches
        self.tree_origin: dict = {}
        self.roots: dict = {}  # a wrong answer -> its value, for the degenerate check
        self.order: dict = {}  # name -> position, to list the answers in the sheet's order
        self.conventions = conventions  # question -> its conventions with the student's orientations

    def step(self, entry: Entry) -> None:
        name, ref, truth, inputs = entry.name, entry.ref, entry.truth, entry.inputs
        self.order[name] = len(self.order)
        origin = self._union(self.origin, inputs)
        sub = {n: self.trees[n] for n in inputs if n in self.trees}
        tree = F.substitute(ref, sub) if sub else None
        q, finding = self.asked.get(name, (None, None))
        answer = self.given.get(name) if q is not None else None
        passed_on = answer is None or finding.status not in ("correct", "incorrect")
        if not (passed_on or (answer.formula is None and finding.status == "incorrect")):
            # a correct number binds as itself and a formula answer as its own value: the carried
            # value is not needed, but its evaluation is charged, as the file's budget always was
            if origin and entry.cost is not None:
                self._charge(*entry.cost)
            elif origin:
                self._evaluate(ref, self.env, truth.shape)
            carried = truth
        else:
            carried = self._evaluate(ref, self.env, truth.shape, entry.cost) if origin else truth
        if carried is None:  # the student's values leave the formula undefined: nothing carries
            carried, origin = truth, NONE
        if passed_on:
            self._bind(name, carried, origin, tree, self._union(self.tree_origin, sub))
        elif answer.formula is not None:
            self._formula(name, q, finding, answer.formula, truth, tree, self._union(self.tree_origin, sub))
        else:
            self._number(name, q, finding, answer, truth, carried, origin)

    # ------------------------------------------------------------ numbers

    def _number(self, name, q, finding, answer, truth, carried, origin) -> None:
        if finding.status == "correct":  # a correct answer binds as itself: it carries no error
            self._bind(name, truth, NONE)
            return
        mine = fit(answer.value, truth.shape)
        if mine is None:  # not a value of this shape: read on with what follows from the others
            self._bind(name, carried, origin)
            return
        tol = Tolerance.from_spec(self.problem.tolerance, q.tolerance)
        follows = bool(origin) and _accepts(tol, carried, mine, answer)
        if follows:
            self._award(q, finding, origin, carried, truth, tol)
        else:
            self.roots[name] = mine
        self._bind(name, mine, origin if follows else frozenset({name}))

    # ------------------------------------------------------------ formulas

    def _formula(self, name, q, finding, text, truth, tree, tree_origin) -> None:
        try:  # too costly a formula (formula_cost.TooCostly) is no formula here either
            mine, used, at_truth = reading(self.solution, name, text, self.conventions(q))
        except FormulaSyntaxError:
            mine = None
        if mine is None:  # no reading of it has the quantity's shape: it carries nothing
            self._bind(name, truth, NONE)
            return
        sub = {n: self.trees[n] for n in used if n in self.trees}
        theirs = F.substitute(mine, sub) if sub else mine  # their own wrong formulas stand for their names
        env = self.solution.env
        if all(self.env.get(n) is env.get(n) for n in used):  # nothing they use carries another value
            value = self._at_truth(at_truth)
        else:
            value = self._kept(mine, used, truth.shape)
        origin = self._union(self.origin, used)
        if value is None:
            value, origin = truth, NONE
        if finding.status == "correct":
            self._bind(name, value, origin, theirs if sub else None, self._union(self.tree_origin, sub))
            return
        follows = tree is not None and self._same(theirs, tree, truth.shape)
        if follows:
            here = self._evaluate(tree, self.solution.env, truth.shape)
            tol = Tolerance.from_spec(self.problem.tolerance, q.tolerance)
            self._award(q, finding, tree_origin, truth if here is None else here, truth, tol)
        else:
            self.roots[name] = self._at_truth(at_truth) if theirs is mine else self._evaluate(theirs, env, truth.shape)
        own = frozenset({name})
        self._bind(name, value, origin | (tree_origin if follows else own), theirs,
                   tree_origin if follows else own)

    def _same(self, a: F.Node, b: F.Node, shape: tuple) -> bool:
        """Equal at the problem's values and at every random world (as equivalence compares)."""
        points = [self.solution.env] + list(equivalence.worlds(self.solution))
        try:  # once: every world has the problem's shapes
            formula_cost.compare(int(np.prod(shape, dtype=int)), len(points))
            cost_a, cost_b = (formula_cost.estimate(t, self.solution.env) for t in (a, b))
        except formula_cost.TooCostly:  # nested deeper than evaluation allows, or the file's budget is spent
            return False
        for env in points:
            u = self._evaluate(a, env, shape if env is self.solution.env else None, cost_a)
            v = self._evaluate(b, env, shape if env is self.solution.env else None, cost_b)
            if u is None or v is None or not close(u, v):
                return False
        return True

    # ------------------------------------------------------------ credit

    def _award(self, q, finding, origin, carried, truth, tol) -> None:
        """ECF for an answer that follows from the wrong answers `origin` (unless they are degenerate)."""
        if not option(self.problem, q, "ecf", True):
            return
        names = sorted(origin, key=lambda n: self.order.get(n, 0))
        why = [f"your {n} {reason}" for n in names
               if (reason := degenerate(self.roots.get(n), self.solution.env[n]))]
        result = degenerate(carried, truth) or flat(carried, truth, tol)
        if result:  # e.g. a saturated z1: every gradient after it is 0
            why.append(f"given them, {q.quantity} {result}")
        if why:
            finding.message += ("; it follows from your earlier answers, but no credit is carried forward: "
                                + "; ".join(why) + " (that takes no arithmetic)")
            return
        share = float(option(self.problem, q, "ecf_share", DEFAULT_ECF_SHARE))
        finding.status = "correct"
        finding.score = max(finding.score, finding.max_score * share)
        finding.tags = ["ecf"] + [t for t in finding.tags if t != "ecf"]
        finding.message = f"correct given your {', '.join(names)} (error carried forward)"

    # ------------------------------------------------------------ helpers

    def _bind(self, name, value, origin, tree=None, tree_origin=NONE) -> None:
        self.env[name] = value
        self.origin[name] = origin
        if tree is not None and tree_origin:
            self.trees[name], self.tree_origin[name] = tree, tree_origin

    @staticmethod
    def _union(origins: dict, names) -> frozenset:
        out = NONE
        for n in names:
            out = out | origins.get(n, NONE)
        return out

    @staticmethod
    def _charge(walked: int, ops: int) -> None:
        """What `equivalence.evaluate` charges the file's budget for an evaluation estimated at `ops`
        whose estimate's walk cost `walked`, without evaluating (TooCostly past the budget: ignored)."""
        try:
            formula_cost.spend(walked)
            formula_cost.charge(None, None, ops)
        except formula_cost.TooCostly:
            pass

    @staticmethod
    def _at_truth(kept: tuple):
        """A reading's kept value at the problem's values, its evaluation charged as `_evaluate`'s."""
        value, cost = kept
        if cost is None:
            return None
        try:
            formula_cost.spend(cost)
        except formula_cost.TooCostly:
            return None
        return value

    def _kept(self, node: F.Node, names, shape: tuple):
        """`_evaluate` at the carried values of a tree the solution keeps (`kept_value`)."""
        try:
            return kept_value(self.solution, node, names, self.env, shape)
        except formula_cost.TooCostly:
            return None

    @staticmethod
    def _evaluate(node: F.Node, env: dict, shape: tuple | None, ops=None):
        """`value`, or None where too costly (`formula_cost`: a wrong formula substituted into
        later ones grows them)."""
        try:
            return value(node, env, shape, ops)
        except formula_cost.TooCostly:
            return None


def _accepts(tol: Tolerance, carried, mine, answer) -> bool:
    """The question's own tolerance, with the units of the student's last written decimals
    where the answer has them (hand arithmetic rounds as it goes, after a mistake too)."""
    ulp = getattr(answer, "ulp", None)
    if ulp is not None and np.size(ulp) == mine.size:
        return bool(np.all(tol.accepts(carried, mine, np.reshape(ulp, mine.shape))))
    return bool(np.all(tol.accepts(carried, mine)))


def close(a, b) -> bool:
    """Formula equality at one point, as equivalence compares (a vector in either orientation)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape and fit(a, b.shape) is None:
        return False
    return equivalence._close(a, b)


# ---------------------------------------------------------------- degenerate upstreams

def degenerate(value, truth) -> str | None:
    """Why no credit can be carried from `value` (compared with the true one), or None.

    An answer built on zeros, an identity, a constant, or numbers vanishingly
    small next to the true ones takes no arithmetic to get "right": 1e-300
    for z1 makes every later gradient 0 within any tolerance.
    """
    if value is None:
        return None
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


def flat(carried, expected, tol: Tolerance) -> str | None:
    """Why a carried result takes no arithmetic at the grading tolerance, or None.

    Upstream values of 1e-5 where the truth is 0.1 are not "vanishing" by
    scale, but what they give (dl/dW2 of 1e-7) is 0 within the tolerance,
    and so is a student's row of zeros: no credit for that.
    """
    carried = np.asarray(carried, dtype=float)
    truth = np.asarray(expected, dtype=float).reshape(carried.shape)
    bound = tol.bound(truth)
    if np.all(np.abs(carried) <= bound) and not np.all(np.abs(truth) <= bound):
        return "is zero within the tolerance"
    first = carried.flat[0] if carried.size else 0.0
    if carried.size > 1 and np.all(np.abs(carried - first) <= bound) \
            and not np.all(np.abs(truth - truth.flat[0]) <= bound):
        return "has every entry equal within the tolerance"
    return None


def _is_identity(v: np.ndarray) -> bool:
    return v.ndim == 2 and v.shape[0] == v.shape[1] and v.shape[0] > 1 and np.array_equal(v, np.eye(v.shape[0]))
