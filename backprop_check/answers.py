"""Read a student's answers file (FORMAT.md section 3): untrusted input.

Every value is kept as the text the student wrote and parsed here: numbers
and fractions by `exact.parse_number` (never by YAML's guessing, never by
eval), written arithmetic and LaTeX numbers and matrices by `numbers_read`,
nested lists into float arrays (at most 2-D, bounded in size), any other
string as a formula, left for the formula grader. Each entry keeps one unit
of its last written decimal (`Answer.ulp`), which the default tolerance
grants to hand arithmetic. Names are resolved
against the problem (aliases, `z4` for `y_hat`); an unknown name becomes a
warning with a "did you mean" suggestion. Only `bpcheck`, `problem`,
`student` and `answers` are read: nothing in an answers file can change the
key, the tolerances or the points.

The file itself must be a regular file inside the graded tree (`confined`):
a symbolic link out of it (to the instructor's key next to the submission)
is refused, whatever level of the path it sits at. A file holds at most
MAX_FILE_ENTRIES numbers, counted with aliases expanded, so that a small
file cannot make a large result.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np

from .errors import InputError
from .exact import NumberError
from .numbers_read import entry, plain, plain_row, written
from .quantities import UnknownQuantity
from .yamlsource import Document, parse, read_text

ANSWER_KEYS = {"bpcheck", "problem", "student", "answers"}
MAX_ENTRIES = 100_000  # per answer
MAX_FILE_ENTRIES = 100_000  # per file, every answer's entries together, aliases expanded
MAX_TEXT = 10_000


@dataclass
class Answer:
    key: str  # as written
    value: np.ndarray | None = None  # float entries, 0-, 1- or 2-D
    texts: object = None  # the same shape, the strings as written (None: an entry not plainly written)
    ulp: np.ndarray | None = None  # the same shape: one unit of each entry's last written decimal, else 0
    formula: str | None = None  # a string that is not a number
    error: str | None = None  # why the answer cannot be graded
    line: int | None = None
    column: int | None = None
    source: object = None  # the texts it was read from, hashable (`_key`): all its reading depends on


@dataclass
class AnswerFile:
    file: str
    student: str | None
    problem: Path | None  # as named in the file, resolved against its folder
    answers: dict  # key as written -> Answer
    warnings: list = field(default_factory=list)  # (line, message)
    ignored: list = field(default_factory=list)  # top-level keys we refused to read
    steps: dict = field(default_factory=dict)  # a write-up's derivation steps, by quantity (`steps`)
    skipped: list = field(default_factory=list)  # a write-up's equations that answer nothing: (line, why)

    def resolve(self, problem) -> dict:
        """Canonical quantity name -> Answer; unknown names become warnings."""
        out: dict = {}
        for key, answer in self.answers.items():
            try:
                name = problem.canonical(key)
            except UnknownQuantity as exc:
                self.warnings.append((answer.line, f"{exc}; this answer is not graded"))
                continue
            if name in out:
                self.warnings.append((answer.line, f"{key!r} answers {name} a second time; "
                                                   f"the first answer (line {out[name].line}) is graded"))
                continue
            out[name] = answer
        return out


def inside(real: str, root: str) -> bool:
    """Is the resolved path `real` the resolved directory `root` or below it?"""
    try:
        return os.path.commonpath([real, root]) == root
    except ValueError:  # different drives (Windows)
        return False


def confined(path: str | Path, tree: str | Path) -> Path:
    """The real path of `path`, a regular file inside `tree` once every symlink is resolved.

    Resolving the whole path catches a link at any level (the file, or a
    directory on the way); links that stay inside the tree are fine. The
    message does not echo the link's target: it may name the runner's layout.
    """
    if os.path.islink(tree):  # c2/dave -> /instructor: the tree itself must be the student's own
        raise InputError(f"the directory {str(tree)!r} it is in is a symbolic link; only files in real "
                         "directories are graded (name the real path)", str(path))
    root = os.path.realpath(tree)
    real, mode = _in_root(path, tree, root)
    if real is None:
        real = os.path.realpath(path)
    if not inside(real, root):
        raise InputError(f"a symbolic link that leads outside the graded directory {str(tree)!r}; "
                         "only files inside it are graded", str(path))
    try:
        mode = mode or os.stat(real).st_mode
    except FileNotFoundError:
        raise InputError("a broken symbolic link" if os.path.islink(path) else "no such file", str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from None
    if not stat.S_ISREG(mode):
        raise InputError("not a regular file", str(path))
    return Path(real)


def _in_root(path: str | Path, tree: str | Path, root: str) -> tuple[str | None, int | None]:
    """A file directly in `tree` that is no link is `root`/name, with its own mode: what realpath and
    stat give, from one lstat (a class's files lie side by side); else (None, None)."""
    folder, name = os.path.split(os.fspath(path))
    if os.name != "posix" or folder != os.fspath(tree) or name in ("", ".", ".."):
        return None, None
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None, None  # realpath and stat say what is wrong
    return (None, None) if stat.S_ISLNK(mode) else (os.path.join(root, name), mode)


def load_answers(path: str | Path, tree: str | Path | None = None) -> AnswerFile:
    """Read an answers file, which must lie inside `tree` (default: its own directory)."""
    real = confined(path, Path(path).parent if tree is None else tree)
    doc = parse(read_text(real, regular=True), str(path))  # read what was checked; messages name the path given
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "an answers file is a mapping with an 'answers:' key")
    if "answers" not in data:
        raise doc.error((), "missing 'answers:'")
    if "bpcheck" in data and str(data["bpcheck"]).strip() != "1":
        raise doc.error(("bpcheck",), f"unsupported format version {data['bpcheck']!r}")
    raw = data["answers"]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise doc.error(("answers",), "'answers:' must be a mapping of quantity: value")
    if _entries(raw.values()) > MAX_FILE_ENTRIES:
        raise doc.error(("answers",), f"more than {MAX_FILE_ENTRIES} numbers in the answers together "
                                      "(aliases counted once per use)")
    student = data.get("student")
    problem = data.get("problem")
    if problem is not None and not isinstance(problem, str):
        raise doc.error(("problem",), "'problem:' must be a path")
    result = AnswerFile(
        file=str(path), student=str(student)[:200] if isinstance(student, str) else None,
        problem=(Path(path).parent / problem) if problem else None, answers={})
    for key in data:
        if key not in ANSWER_KEYS:
            result.ignored.append(key)
            result.warnings.append((doc.where((key,))[0],
                                    f"ignored key {str(key)[:40]!r}: an answers file holds only "
                                    f"{', '.join(sorted(ANSWER_KEYS))}"))
    for key, value in raw.items():
        result.answers[str(key)] = _answer(doc, str(key), value)
    return result


def _answer(doc: Document, key: str, value) -> Answer:
    line, column = doc.key_where(("answers", key))  # the key's line, where a block matrix starts
    answer = Answer(key, line=line, column=column)
    source = _key(value)
    if source is None:
        _read(answer, value)
    else:
        _fill(answer, _kept(source, value))
        answer.source = source
    return answer


MAX_KEPT = 8192  # answers read, the most recent kept (per process: a worker grades a class)
MAX_KEPT_ENTRIES = 1024  # a larger answer is read afresh: its key would cost as much as reading it
MAX_KEPT_CHARS = 4096  # ... and one of more characters (what the kept keys may hold is bounded)
_KEPT: dict = {}


def _kept(key, value) -> tuple:
    """What `_read` makes of `value` (whose `_key` is `key`), kept by its texts: it depends on
    nothing else, and a class writes the same answers again and again (the key's numbers
    rounded alike, the same formulas)."""
    kept = _KEPT.get(key)
    if kept is None:
        answer = Answer("")
        _read(answer, value)
        kept = (answer.value, answer.texts, answer.ulp, answer.formula, answer.error)
        if len(_KEPT) >= MAX_KEPT:
            _KEPT.pop(next(iter(_KEPT)))
        _KEPT[key] = kept
    return kept


def _key(value):
    """`value` (a string, or a list of strings or of lists of strings, as YAML gives them) as a
    hashable value, or None: for anything else, or past MAX_KEPT_ENTRIES or MAX_KEPT_CHARS."""
    if type(value) is str:
        return value if len(value) <= MAX_KEPT_CHARS else None
    if type(value) is not list or len(value) > MAX_KEPT_ENTRIES:
        return None
    kinds = set(map(type, value))
    if kinds <= {str}:
        out = tuple(value)
        return out if sum(map(len, out)) <= MAX_KEPT_CHARS else None
    if kinds != {list} or not set(map(type, chain.from_iterable(value))) <= {str}:
        return None
    out = tuple(map(tuple, value))
    if sum(map(len, out)) > MAX_KEPT_ENTRIES or sum(map(len, chain.from_iterable(out))) > MAX_KEPT_CHARS:
        return None
    return out


def _fill(answer: Answer, kept: tuple) -> None:
    """The answer's readings from `kept`, each array and list its own copy."""
    value, texts, ulp, answer.formula, answer.error = kept
    answer.value = None if value is None else value.copy()
    answer.ulp = None if ulp is None else ulp.copy()
    answer.texts = [list(t) if isinstance(t, list) else t for t in texts] if isinstance(texts, list) else texts


def _read(answer: Answer, value) -> None:
    if value is None:
        answer.error = "empty answer"
    elif isinstance(value, str):
        answer_from_text(answer, value)
    elif isinstance(value, list):
        try:
            answer.value, answer.texts, answer.ulp = _array(value)
        except (NumberError, ValueError, OverflowError) as exc:
            answer.error = str(exc)
    else:
        answer.error = "expected a number, a list of numbers or a formula, not a mapping"


def answer_from_text(answer: Answer, value: str, step: bool = False) -> None:
    """A number, written arithmetic or a LaTeX matrix becomes a value; any other text a formula.

    `step`: a write-up's derivation step, whose typed matrix arithmetic keeps the rounding
    units it propagates (`numbers_read.written`)."""
    if len(value) > MAX_TEXT:
        answer.error = f"an answer of {len(value)} characters; the limit is {MAX_TEXT}"
        return
    try:
        number, unit = plain(value)
        answer.value, answer.texts, answer.ulp = np.array(number), value, np.array(unit)
        return
    except NumberError:
        pass
    except OverflowError:
        answer.error = "a number too large for float64"
        return
    try:
        read = written(value, propagate=step)
    except (NumberError, OverflowError) as exc:
        answer.error = str(exc) if isinstance(exc, NumberError) else "a number too large for float64"
        return
    if read is None:
        answer.formula = value
    else:
        values, texts, units = read
        answer.value, answer.texts, answer.ulp = np.asarray(values, dtype=float), texts, units


def _entries(values) -> int:
    """Scalars in nested lists, counted without recursion (the YAML is at most 64 deep)."""
    count, stack = 0, list(values)
    while stack:
        v = stack.pop()
        if type(v) is not list:  # (YAML gives lists, mappings, strings and None)
            count += 1
        elif list in map(type, v):
            stack.extend(v)
        else:
            count += len(v)  # a row of scalars, counted at once
    return count


def _array(value: list):
    """Nested lists of number strings -> (float array, texts, units), at most 2-D."""
    if value and all(isinstance(v, list) for v in value):
        if sum(len(r) for r in value) > MAX_ENTRIES:
            raise ValueError(f"more than {MAX_ENTRIES} entries")
        rows = [_flat(r, f"row {i + 1}") for i, r in enumerate(value)]
        widths = {len(r[0]) for r in rows}
        if len(widths) != 1:
            raise ValueError("rows of different lengths: " + ", ".join(str(len(r[0])) for r in rows))
        return (np.array([r[0] for r in rows], dtype=float), [r[1] for r in rows],
                np.array([r[2] for r in rows], dtype=float))
    if len(value) > MAX_ENTRIES:
        raise ValueError(f"more than {MAX_ENTRIES} entries")
    floats, texts, units = _flat(value, "entry")
    return np.array(floats, dtype=float), texts, np.array(units, dtype=float)


def _flat(row: list, where: str):
    if not row:
        raise ValueError(f"{where} is empty")
    plain = plain_row(row)
    if plain is not None:  # every entry a plain number: read at once
        return plain[0], list(row), plain[1]
    floats, texts, units = [], [], []
    for j, v in enumerate(row):
        if isinstance(v, (list, dict)):
            raise ValueError(f"{where}: entry {j + 1} is nested too deeply (at most a matrix)")
        try:
            number, unit, plain_number = entry(v)  # a plain number, or written arithmetic such as 1 - 0.5*0.2
        except NumberError as exc:
            raise ValueError(f"{where}, entry {j + 1}: {exc}") from None
        except OverflowError:
            raise ValueError(f"{where}, entry {j + 1}: a number too large for float64") from None
        floats.append(number)
        units.append(unit)
        texts.append(v if plain_number else None)
    return floats, texts, units
