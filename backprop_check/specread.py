"""What every problem spec shares: typed reading with positions, and the common sections.

Network specs (`spec`) and graph specs (`graphspec`) read their own sections
but share these: the `Reader` (numbers, integers, vectors, matrices, each
failure an InputError at the file's line and column), the header (`bpcheck`,
`id`, `title`), `train:` (lr, steps and the optimizer hook), `tolerance:`,
the grading options, `names:` aliases, `questions:` and the `sha256:` stamp.

Issue 10 adds, at the top level and per question: the conventions a TA accepts
(`orientation`, `diagonal_jacobian`, `outer_product`: true by default, false
turns one off), the instructor's `credit:` (diagnosis tag -> share of the
points) and `feedback:` (tag -> message), checked against `credit`'s tag
tables; the tolerance key `last_digit`; and `names:` aliases of gradients
(`dl/dz3: delta_2`) as well as of values.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

from . import credit as _credit
from .errors import InputError
from .exact import POWERS_OF_TEN, NumberError, parse_number, plain_decimal
from .quantities import UnknownQuantity
from .yamlsource import Document

MAX_DIM = 1024
MAX_SAMPLES = 4096
MAX_ENTRIES = 500_000
MAX_STEPS = 50
MAX_MAGNITUDE = 10 ** 6  # any number in a spec (deep nets can still overflow: solve checks)
MIN_MAGNITUDE = Fraction(1, 10 ** 300)  # smaller nonzero numbers underflow in float64 (to 0 near 1e-324)

TOLERANCE_KEYS = {"rtol", "atol", "sigfigs", "decimals", "last_digit"}
CONVENTION_KEYS = ("orientation", "diagonal_jacobian", "outer_product")  # booleans, on by default
AUTHORED_KEYS = ("credit", "feedback")  # tag -> share / message
SHARE_KEYS = ("ecf_share", "rounding_credit", "step_penalty")  # shares of a question's points
OPTION_KEYS = {"partial", "ecf", *SHARE_KEYS, *CONVENTION_KEYS, *AUTHORED_KEYS}
QUESTION_KEYS = {"quantity", "points", "tolerance", "form", "partial", "ecf", "ecf_share", "step_penalty",
                 *CONVENTION_KEYS, *AUTHORED_KEYS}
TRAIN_KEYS = {"lr", "steps", "optimizer"}
FORMS = ("value", "expression", "any")
ID = re.compile(r"[a-z0-9._-]+")
IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")

Matrix = tuple  # tuple of row tuples of Fraction


@dataclass(frozen=True)
class Question:
    quantity: str  # canonical
    points: Fraction = Fraction(1)
    tolerance: dict | None = None
    form: str = "value"
    partial: str | None = None
    ecf: bool | None = None
    ecf_share: Fraction | None = None
    position: tuple = (None, None)
    orientation: bool | None = None  # None: the problem's option (default true)
    diagonal_jacobian: bool | None = None
    outer_product: bool | None = None
    credit: dict | None = None  # tag -> Fraction, over the problem's
    feedback: dict | None = None  # tag -> message, over the problem's
    step_penalty: Fraction | None = None  # a write-up's wrong step costs this share (default 0)


MAX_KEPT_NUMBERS = 4096  # distinct number texts a Reader keeps (a spec repeats 0, 0.5, -1 …)


class Reader:
    """Typed access to a Document, raising InputError at the right place."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.kept: dict[str, Fraction] = {}  # plain decimal text -> its value, within the limits

    def fail(self, path: tuple, message: str) -> InputError:
        return self.doc.error(path, message)

    def get(self, path: tuple) -> Any:
        node = self.doc.data
        for key in path:
            node = node[key]
        return node

    def mapping(self, path: tuple, allowed: set | None = None) -> dict:
        value = self.get(path)
        if not isinstance(value, dict):
            raise self.fail(path, f"{label(path)} must be a mapping")
        for key in value:
            if allowed is not None and key not in allowed:
                hint = suggest(key, allowed)
                raise self.doc.key_error(path + (key,), f"unknown key {key!r} in {label(path)}{hint}")
        return value

    def number(self, path: tuple) -> Fraction:
        quick = self._plain(self.get(path))
        if quick is not None:
            return quick
        try:
            value = parse_number(self.get(path))
        except NumberError as exc:
            raise self.fail(path, f"{label(path)}: {exc}") from None
        if abs(value) > MAX_MAGNITUDE:
            raise self.fail(path, f"{label(path)}: {str(self.get(path))[:40]} is too large (the limit is "
                                  f"{MAX_MAGNITUDE:g} in size, so that float64 cannot overflow)")
        if value and abs(value) < MIN_MAGNITUDE:
            # float64 would hold it inexactly or as 0, and a kink beside it would split the engines
            raise self.fail(path, f"{label(path)}: {str(self.get(path))[:40]} is too small (a nonzero "
                                  "number must be at least 1e-300 in size, so that float64 holds it; "
                                  "write 0 for zero)")
        return value

    def _plain(self, text) -> Fraction | None:
        """A plain decimal within the magnitude limits, cheaply (else None: `number` says why not)."""
        value = self.kept.get(text) if type(text) is str else None
        if value is not None:
            return value
        plain = plain_decimal(text)
        if plain is None:
            return None
        n, places = plain
        scale = POWERS_OF_TEN[places]
        low, size = MIN_MAGNITUDE, abs(n)
        if n and not (size * low.denominator >= scale * low.numerator and size <= MAX_MAGNITUDE * scale):
            return None
        value = Fraction(n, scale)
        if len(self.kept) < MAX_KEPT_NUMBERS:
            self.kept[text] = value
        return value

    def integer(self, path: tuple, low: int, high: int) -> int:
        value = self.number(path)
        if value.denominator != 1 or not low <= value <= high:
            raise self.fail(path, f"{label(path)} must be a whole number from {low} to {high}")
        return int(value)

    def boolean(self, path: tuple) -> bool:
        value = str(self.get(path)).lower()
        if value in ("true", "yes", "on"):
            return True
        if value in ("false", "no", "off"):
            return False
        raise self.fail(path, f"{label(path)} must be true or false")

    def string(self, path: tuple, pattern: re.Pattern | None = None, what: str = "") -> str:
        value = self.get(path)
        if not isinstance(value, str) or (pattern and not pattern.fullmatch(value)):
            raise self.fail(path, f"{label(path)} must be {what or 'a string'}")
        return value

    def vector(self, path: tuple, limit: int = MAX_DIM) -> tuple:
        value = self.get(path)
        if not isinstance(value, list) or not value or any(isinstance(v, (list, dict)) for v in value):
            raise self.fail(path, f"{label(path)} must be a non-empty flat list of numbers")
        if len(value) > limit:
            raise self.fail(path, f"{label(path)} has {len(value)} entries; the limit is {limit}")
        out = []
        for i, text in enumerate(value):  # the common case without finding the entry again from the root
            number = self._plain(text)
            out.append(number if number is not None else self.number(path + (i,)))
        return tuple(out)

    def matrix(self, path: tuple, max_rows: int = MAX_DIM, max_cols: int = MAX_DIM) -> Matrix:
        value = self.get(path)
        if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
            raise self.fail(path, f"{label(path)} must be a nested list (a list of rows)")
        if len(value) > max_rows:
            raise self.fail(path, f"{label(path)} has {len(value)} rows; the limit is {max_rows}")
        rows = tuple(self.vector(path + (i,), max_cols) for i in range(len(value)))
        for i, row in enumerate(rows):
            if len(row) != len(rows[0]):
                raise self.fail(path + (i,), f"{label(path)} row {i + 1} has {len(row)} entries, "
                                             f"row 1 has {len(rows[0])}: rows must be equally long")
        return rows


def label(path: tuple) -> str:
    parts: list = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else ("." if parts else "") + str(p))
    return "".join(parts) or "the document"


def suggest(key: str, allowed) -> str:
    close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f" (allowed: {', '.join(sorted(allowed))})"


# ------------------------------------------------------------------ digests

def file_digest(text: str) -> str:
    """The SHA-256 of a file's text: what grade --problem-sha256 pins."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stamp_digest(text: str) -> str:
    """The hash a spec's own `sha256:` records: the file without that line."""
    return file_digest("".join(line for line in text.splitlines(keepends=True)
                               if not re.match(r"sha256\s*:", line)))


def sha256(r: Reader, text: str) -> str | None:
    """The spec's `sha256:` stamp, checked against its content (None when absent)."""
    if "sha256" not in r.doc.data:
        return None
    stamp = r.string(("sha256",), re.compile(r"[0-9a-f]{64}"), "64 hex digits")
    if stamp_digest(text) != stamp:
        raise r.fail(("sha256",), "the spec's sha256 does not match its content: the file was changed "
                                  "(bpcheck hash prints the right one)")
    return stamp


# ------------------------------------------------------------------ common sections

def header(r: Reader, top: dict, required: tuple) -> tuple[str, str]:
    """Check the required keys and the version; the (id, title)."""
    for key in required:
        if key not in top:
            raise r.fail((), f"missing required key {key!r}")
    if str(top["bpcheck"]).strip() != "1":
        raise r.fail(("bpcheck",), f"unsupported format version {top['bpcheck']!r}; this bpcheck reads version 1")
    pid = r.string(("id",), ID, "an id of lower-case letters, digits, '.', '_' or '-'")
    title = r.string(("title",)) if "title" in top else pid
    return pid, title


def train(r: Reader, extra: set = frozenset()) -> dict | None:
    """`train:` as {"lr", "steps", "optimizer", and each of `extra` given}; None when absent.

    `optimizer` is the hook for the optimizers of FORMAT.md section 6: `optimizer(r, path)`
    reads it (None when not written: plain SGD).
    """
    if "train" not in r.doc.data:
        return None
    raw = r.mapping(("train",), TRAIN_KEYS | set(extra))
    if "lr" not in raw:
        raise r.fail(("train",), "train needs a learning rate 'lr'")
    lr = r.number(("train", "lr"))
    if lr <= 0:
        raise r.fail(("train", "lr"), "train.lr must be positive")
    steps = r.integer(("train", "steps"), 1, MAX_STEPS) if "steps" in raw else 1
    out = {"lr": lr, "steps": steps,
           "optimizer": optimizer(r, ("train", "optimizer")) if "optimizer" in raw else None}
    out.update((key, raw[key]) for key in extra if key in raw)
    return out


def optimizer(r: Reader, path: tuple):
    """The optimizer as written, as plain data (str / dict / list / None); validated by its reader."""
    return r.get(path)


def tolerance(r: Reader, path: tuple) -> dict:
    raw = r.mapping(path, TOLERANCE_KEYS)
    out: dict = {}
    for key in raw:
        if key == "last_digit":
            out[key] = r.boolean(path + (key,))
        elif key in ("sigfigs", "decimals"):
            out[key] = r.integer(path + (key,), 1 if key == "sigfigs" else 0, 15)
        else:
            value = r.number(path + (key,))
            if value < 0:
                raise r.fail(path + (key,), f"{key} must not be negative")
            out[key] = value
    if "sigfigs" in out and "decimals" in out:
        raise r.fail(path, "use sigfigs or decimals, not both")
    return out


def options(r: Reader) -> dict:
    top = r.doc.data
    out: dict = {}
    if "partial" in top:
        out["partial"] = r.string(("partial",), re.compile(r"entries|none"), "'entries' or 'none'")
    if "ecf" in top:
        out["ecf"] = r.boolean(("ecf",))
    for key in SHARE_KEYS:
        if key in top:
            out[key] = share(r, (key,))
    out.update(conventions_and_credit(r, (), top))
    return out


def conventions_and_credit(r: Reader, path: tuple, raw: dict) -> dict:
    """The issue-10 keys of a problem (path ()) or of a question: conventions, credit, feedback."""
    out: dict = {key: r.boolean(path + (key,)) for key in CONVENTION_KEYS if key in raw}
    if "credit" in raw:
        out["credit"] = {tag: share(r, path + ("credit", tag))
                         for tag in _tags(r, path + ("credit",), _credit.MISTAKE_TAGS, "credit")}
    if "feedback" in raw:
        out["feedback"] = {tag: _message(r, path + ("feedback", tag))
                           for tag in _tags(r, path + ("feedback",), _credit.FEEDBACK_TAGS, "feedback")}
    return out


def _tags(r: Reader, path: tuple, allowed: tuple, what: str) -> list:
    """The keys of a `credit:`/`feedback:` mapping, each a diagnosis tag (else an error at it)."""
    raw = r.get(path)
    if not isinstance(raw, dict):
        raise r.fail(path, f"{label(path)} must be a mapping of diagnosis tag: "
                           f"{'share' if what == 'credit' else 'message'}, e.g. {{transposed: "
                           f"{'0.5' if what == 'credit' else chr(34) + 'dl/dW has the shape of W.' + chr(34)}}}")
    for tag in raw:
        if tag not in allowed:
            raise r.doc.key_error(path + (tag,), f"{what}: {str(tag)[:40]!r} is not a diagnosis tag"
                                                 f"{suggest(str(tag), allowed)}")
    return list(raw)


def _message(r: Reader, path: tuple) -> str:
    text = r.string(path, what="a message (text)")
    if not text.strip() or len(text) > _credit.MAX_FEEDBACK:
        raise r.fail(path, f"{label(path)} must be a message of 1 to {_credit.MAX_FEEDBACK} characters")
    return text.strip()


def share(r: Reader, path: tuple) -> Fraction:
    value = r.number(path)
    if not 0 <= value <= 1:
        raise r.fail(path, f"{path[-1]} must be between 0 and 1")
    return value


def names(r: Reader, known: set, taken: Callable[[str], bool], what: str,
          quantity: Callable[[str], str | None] | None = None) -> tuple[dict, dict]:
    """`names:` display aliases: (alias -> canonical, canonical -> alias).

    `known` are the values that may have an alias, `taken(alias)` says whether a
    spelling is already a name (or reserved), `what` names the problem ("this network").
    `quantity(key)` gives the canonical name of any other quantity a key may alias
    (`dl/dz3`, `dL/dW2`), or None.
    """
    if "names" not in r.doc.data:
        return {}, {}
    raw = r.mapping(("names",))
    aliases: dict = {}
    display: dict = {}
    for given, alias in raw.items():
        key = given if given in known else (quantity(str(given)) if quantity else None) or given
        if key not in known and not (quantity and quantity(str(given))):
            raise r.doc.key_error(("names", given), f"names: {str(given)[:60]!r} is not a value of {what} "
                                                    f"nor one of its gradients{suggest(str(given), known)}")
        alias = r.string(("names", given), IDENT, "a plain name such as S1 or delta_2")
        if alias in known or alias in aliases or taken(alias):
            raise r.fail(("names", given), f"alias {alias!r} is already a name of {what}")
        if key in display:
            raise r.fail(("names", given), f"{key} already has the alias {display[key]!r}")
        aliases[alias] = key
        display[key] = alias
    return aliases, display


def questions(r: Reader, canonical: Callable[[str], str], formula_free: Callable[[str], bool],
              check: Callable[[str, tuple], None] | None = None) -> tuple:
    """`questions:`; `canonical` resolves a name (UnknownQuantity), `formula_free(name)` says
    that a quantity has no formula form, `check(name, path)` may refuse more."""
    if "questions" not in r.doc.data:
        return ()
    raw = r.get(("questions",))
    if not isinstance(raw, list):
        raise r.fail(("questions",), "questions must be a list of {quantity: ..., points: ...}")
    out, seen = [], set()
    for i in range(len(raw)):
        path = ("questions", i)
        if isinstance(raw[i], dict) and any(re.fullmatch(r"[\w ]*\)", str(key)) for key in raw[i]):
            raise r.fail(path, "a quantity with a comma, such as dF/d(x,y), must be quoted in YAML: "
                               "{quantity: \"dF/d(x,y)\"}")
        q = r.mapping(path, QUESTION_KEYS)
        if "quantity" not in q:
            raise r.fail(path, f"question {i + 1} has no 'quantity'")
        try:
            name = canonical(str(q["quantity"]))
        except UnknownQuantity as exc:
            raise r.fail(path + ("quantity",), str(exc)) from None
        if check is not None:
            check(name, path + ("quantity",))
        if name in seen:
            raise r.fail(path + ("quantity",), f"{name} is asked twice")
        seen.add(name)
        points = r.number(path + ("points",)) if "points" in q else Fraction(1)
        if points < 0 or points > 10_000:
            raise r.fail(path + ("points",), "points must be between 0 and 10000")
        form = str(q.get("form", "value"))
        if form not in FORMS:
            raise r.fail(path + ("form",), f"form must be one of {', '.join(FORMS)}")
        if form == "expression" and formula_free(name):
            raise r.fail(path + ("form",), f"{name} has no formula form; ask for its value")
        out.append(Question(
            quantity=name, points=points, form=form,
            tolerance=tolerance(r, path + ("tolerance",)) if "tolerance" in q else None,
            partial=r.string(path + ("partial",), re.compile(r"entries|none"), "'entries' or 'none'") if "partial" in q else None,
            ecf=r.boolean(path + ("ecf",)) if "ecf" in q else None,
            ecf_share=share(r, path + ("ecf_share",)) if "ecf_share" in q else None,
            step_penalty=share(r, path + ("step_penalty",)) if "step_penalty" in q else None,
            position=r.doc.where(path), **conventions_and_credit(r, path, q)))
    return tuple(out)
