"""Check a student's answers files before they are handed in (`bpcheck check-answers`, the pre-commit hook).

What is checked is what would make an answer ungradable, never whether it is
right: the file's format (YAML, the `answers:` mapping, no unknown keys), every
number and matrix, the quantity names and every formula's syntax. Names and
formulas are checked against the problem when it is at hand (`--problem`, or
the file's own `problem:`), with the same readers `grade` uses; without it,
names and formulas are only checked for their form. Nothing is compared with
a solved value: the check says nothing a student could use to find the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .answers import AnswerFile, load_answers
from .errors import InputError
from .formats.escape import line as one_line
from .formula_syntax import FormulaSyntaxError, parse
from .quantities import read_name
from .writeup_answers import is_writeup, load_writeup

# A quantity name as written once normalised: z1, y_hat, dl/dW1, dz2/dz1, dF/d(x,y), step2.W1, sample1.dl/dW1
_ID = r"[A-Za-z][A-Za-z0-9_]*"
NAME_FORM = re.compile(rf"(?:(?:step|sample)[1-9][0-9]*\.)?(?:d{_ID}/d(?:{_ID}|\({_ID}(?:,{_ID})+\))|{_ID})")
MAX_FORMULA_NAMES = 200  # the syntax-only check learns names one parse at a time


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    message: str
    fatal: bool = True  # a problem (exit 1), or a note

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {'' if self.fatal else 'note: '}{one_line(self.message)}"


class Checker:
    """Checks files one by one; each problem is loaded and solved once."""

    def __init__(self, problem: Path | None = None):
        self.problem = problem
        self._solved: dict = {}

    def check(self, path: Path) -> list[Finding]:
        file = str(path)
        if is_writeup(path):
            return self._writeup(path)
        try:
            answers = load_answers(path)
        except InputError as exc:
            return [Finding(exc.file or file, exc.line, exc.message)]
        found = _format(answers)
        solution, note = self._solution(self.problem or answers.problem, file)
        if solution is None:
            return found + note + _form_only(answers)
        return found + note + _against(answers, solution)

    def _writeup(self, path: Path) -> list[Finding]:
        solution, note = self._solution(self.problem, str(path))
        if solution is None:
            return note or [Finding(str(path), None, "a write-up is checked against its problem: give --problem",
                                    fatal=False)]
        try:
            answers = load_writeup(path, solution.problem)
        except InputError as exc:
            return [Finding(exc.file or str(path), exc.line, exc.message)]
        skipped = [Finding(str(path), ln, f"this equation answers nothing ({why})", fatal=False)
                   for ln, why in answers.skipped]
        return _format(answers) + skipped + _against(answers, solution)

    def _solution(self, problem: Path | None, file: str):
        """(the solved problem, []) or (None, [a finding saying why names are only syntax-checked])."""
        if problem is None:
            return None, [Finding(file, None, "no 'problem:' in the file and no --problem: names and "
                                              "formulas are only checked for their form", fatal=False)]
        if not Path(problem).is_file():
            return None, [Finding(file, None, f"the problem {str(problem)!r} is not there: names and formulas "
                                              "are only checked for their form", fatal=False)]
        key = str(Path(problem).resolve())
        if key not in self._solved:
            from .solve import solve
            from .spec import load_problem

            self._solved[key] = solve(load_problem(problem), set(), check=False, exact=False)
        return self._solved[key], []


def _format(answers: AnswerFile) -> list[Finding]:
    """Unknown top-level keys, and numbers or matrices that cannot be read."""
    found = [Finding(answers.file, ln, message) for ln, message in answers.warnings]
    found += [Finding(answers.file, a.line, f"{a.key}: {a.error}") for a in answers.answers.values() if a.error]
    return found


def _against(answers: AnswerFile, solution) -> list[Finding]:
    """Names through the problem's aliases; formulas with the problem's names, as grade reads them."""
    from .equivalence import allowed_names, parse_answer
    from .formulas import names_in

    before = len(answers.warnings)
    resolved = answers.resolve(solution.problem)
    found = [Finding(answers.file, ln, message) for ln, message in answers.warnings[before:]]
    for quantity, answer in resolved.items():
        if answer.formula is None or answer.error:
            continue
        try:
            node = parse_answer(solution, answer.formula)
        except FormulaSyntaxError as exc:
            found.append(Finding(answers.file, answer.line, f"{answer.key}: not a formula bpcheck can read: {exc}"))
            continue
        allowed = set(allowed_names(solution, quantity)) | {"pi", "e"}
        later = sorted(n for n in names_in(node) if n not in allowed)
        if later:
            found.append(Finding(answers.file, answer.line, f"{answer.key}: a formula for {quantity} may not use "
                                                            f"{', '.join(later)}"))
    return found


def _form_only(answers: AnswerFile) -> list[Finding]:
    """Without the problem: each name has the form of a quantity name, each formula parses."""
    found = []
    for key, answer in answers.answers.items():
        if not NAME_FORM.fullmatch(read_name(key).replace(" ", "")):
            found.append(Finding(answers.file, answer.line, f"{key!r} is not a quantity name "
                                                            "(such as z1, y_hat, dl/dW1, step1.W1)"))
        if answer.formula is not None and not answer.error:
            why = formula_syntax_error(answer.formula)
            if why:
                found.append(Finding(answers.file, answer.line, f"{key}: not a formula bpcheck can read: {why}"))
    return found


def formula_syntax_error(text: str) -> str | None:
    """Why `text` is no formula whatever names the problem has, or None.

    The parser accepts only names it is told; without the problem, every
    name it asks about is taken as one, and the text parsed again.
    """
    known: set = set()
    for _ in range(MAX_FORMULA_NAMES):
        asked: list = []
        try:
            parse(text, known, resolve=lambda name: asked.append(name))
            return None
        except FormulaSyntaxError as exc:
            new = {n for n in asked if n not in known}
            if not new:
                return str(exc)
            known |= new
    return f"more than {MAX_FORMULA_NAMES} names"
