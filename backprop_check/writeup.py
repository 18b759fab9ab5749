"""Find the equations of a student's write-up (Markdown or LaTeX), with their lines.

A write-up is untrusted text. This module only *reads* it: it finds the display
math (`$$…$$` and `\\[…\\]` in Markdown; those and the `equation`, `align`,
`aligned`, `gather`, `multline` environments in LaTeX), splits each block into
equations and each equation into the members of its chain (`A = B = C`, with
`&=` continuation lines belonging to the left side above them), and notes the
explicit markers (`% bpcheck: dl/dW2`, `<!-- bpcheck: dl/dW2 -->`) that name the
quantity of the next equation. Nothing is expanded, `\\input` or evaluated:
which quantity a left side names, and whether a member is right, is decided
later through the whitelisted formula grammar (FORMAT.md section 8).

Sizes are bounded (file bytes, characters of display math, equations, members) and a binary file is refused
with a reason, never a crash: `WriteupError` carries the message.
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from .class_files import writeup_kind

MAX_BYTES = 2_000_000
MAX_EQUATIONS = 2000
MAX_MEMBERS = 64  # members of one chain: A = B = … (a page of them is already absurd)
# Display math in all, in characters. Reading it costs about 0.4 µs a character (brackets and
# relations are found in Python), so 2 MB of it took 0.7 s; a homework's write-up has a few
# thousand (the seeds: 2,000-7,500). Prose, code and images outside the math cost next to nothing.
# A block also costs about 10 µs to find and split, whatever it holds: each counts BLOCK_CHARS
# more (half a million empty `$$$$` took 5 s), so at most 2,000 blocks fit.
MAX_MATH_CHARS = 200_000
BLOCK_CHARS = 100

# Environments whose body is display math; `aligned`/`split` nest inside the others.
_ENVIRONMENTS = ("equation", "equation*", "align", "align*", "gather", "gather*", "multline",
                 "multline*", "flalign", "flalign*", "displaymath", "eqnarray", "eqnarray*")
_ENV = "|".join(re.escape(e) for e in _ENVIRONMENTS)
# Where a block opens; its closer is then looked for with str.find, once (a regex with a lazy
# body would scan to the end of the file again for every opener that is never closed).
_OPENER = {
    "md": re.compile(r"\$\$|\\\["),
    "tex": re.compile(r"\$\$|\\\[|\\begin\{(?P<env>" + _ENV + r")\}"),
}
_MARKER = {
    # the name is stripped after matching: `\s*` on both sides of a lazy name is quadratic
    "md": re.compile(r"<!--[ \t]*bpcheck:(?P<name>[^\n]*?)-->"),
    "tex": re.compile(r"(?m)^[ \t]*%+[ \t]*bpcheck:(?P<name>[^\n]*)$"),
}
_FENCE = re.compile(r"(?ms)^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$")  # Markdown code: not math
_COMMENT = re.compile(r"(?<!\\)%[^\n]*")  # a LaTeX comment runs to the end of its line
_INNER = re.compile(r"\\(?:begin|end)\{(?:aligned|split|gathered|alignedat)\}(?:\{\d+\})?")
_SEPARATORS = re.compile(r"\\leftarrow|\\gets|\\coloneqq|:=|\\approx|=")
_LABEL = re.compile(r"\\(?:label|tag\*?|nonumber|notag)(?:\{[^{}]*\})?")
_LEAD_LABEL = re.compile(r"^\\text(?:bf|it)?\{\(?[ivx\d]+[.)]?\)?\}\s*(?:\\q?quad\s*)?")  # "(ii) \quad"
_TRAILING = ("\\,", "\\;", "\\:", "\\!", "\\qquad", "\\quad", ",", ".", ";")
_SPLIT_DISPLAY = re.compile(r"\\q?quad\b")


class WriteupError(ValueError):
    """The file cannot be read as a write-up; the message says why."""


@dataclass(frozen=True)
class Equation:
    """One equation: its chain's members as LaTeX text, left side first.

    `relations[i]` is the relation written before `members[i + 1]` (`=`,
    `\\approx`, `:=`, `\\leftarrow`); `marker` is the quantity an explicit
    marker named for it.
    """

    line: int
    members: tuple[str, ...]
    relations: tuple[str, ...] = ()
    marker: str | None = None
    lines: tuple[int, ...] = field(default=(), compare=False)  # the line of each member
    error: str | None = None  # why it cannot be read (its members are then the raw block)

    @property
    def left(self) -> str:
        return self.members[0]

    @property
    def answer(self) -> str:
        return self.members[-1]


def kind_of(path: str) -> str:
    """'md' or 'tex' from a file name (the answers reader calls this for write-ups)."""
    kind = writeup_kind(path)
    if kind is None:
        raise WriteupError(f"{path}: a write-up must be a .md or .tex file")
    return kind


def is_writeup(path) -> bool:
    """Whether a file is graded as a write-up, by its name."""
    return writeup_kind(str(path)) is not None


def decode(data: bytes, path: str) -> str:
    """The text of a write-up file, or a WriteupError for a binary or huge one."""
    if len(data) > MAX_BYTES:
        raise WriteupError(f"{path}: more than {MAX_BYTES:,} bytes; a write-up may have at most that")
    if b"\0" in data:
        raise WriteupError(f"{path}: a binary file (it holds NUL bytes), not a write-up")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WriteupError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def equations(text: str, kind: str) -> list[Equation]:
    """Every display equation of `text` in document order, markers attached."""
    masked = _mask(text, kind)
    named = ((m.start(), m.group("name").strip()) for m in _MARKER[kind].finditer(masked if kind == "md" else text))
    markers = deque(marker for marker in named if marker[1])
    found: list[Equation] = []
    line_of = _line_finder(text)
    math = 0
    for start, body_at, body in _blocks(masked, kind):
        math += BLOCK_CHARS + len(body)
        if math > MAX_MATH_CHARS:
            raise WriteupError(f"line {line_of(body_at)}: more than {MAX_MATH_CHARS:,} characters of display "
                               f"math in one write-up (each block counting {BLOCK_CHARS} more); a write-up may "
                               "have at most that")
        marker = _take_marker(markers, start)
        if not balanced(body):
            found.append(Equation(line_of(body_at), (_clean(body)[:200],), marker=marker,
                                  error="its braces or \\left/\\right do not balance"))
            continue
        for offset, rows in _equations_in(body):
            eq = _equation(line_of, body_at, rows, marker)
            marker = None  # a marker names the first equation after it
            if eq is not None:
                found.append(eq)
                if len(found) > MAX_EQUATIONS:
                    raise WriteupError(f"more than {MAX_EQUATIONS} equations in one write-up")
    return found


def _blocks(masked: str, kind: str):
    """(start, body offset, body) of each display block, in order; stops at one never closed."""
    position = 0
    while True:
        opener = _OPENER[kind].search(masked, position)
        if opener is None:
            return
        token = opener.group()
        closer = {"$$": "$$", "\\[": "\\]"}.get(token) or f"\\end{{{opener.group('env')}}}"
        end = masked.find(closer, opener.end())
        if end < 0:
            return
        yield opener.start(), opener.end(), masked[opener.end():end]
        position = end + len(closer)


def _mask(text: str, kind: str) -> str:
    """`text` with code fences (Markdown) or comments (LaTeX) blanked, offsets kept."""
    if kind == "md":
        return _FENCE.sub(lambda m: _NOT_NEWLINE.sub(" ", m.group()), text)
    return _COMMENT.sub(lambda m: " " * (m.end() - m.start()), text)  # a comment ends at its line's end


_NOT_NEWLINE = re.compile(r"[^\n]")


def _take_marker(markers: deque, start: int) -> str | None:
    """The last marker before `start` not yet used (markers are consumed in order)."""
    name = None
    while markers and markers[0][0] < start:
        name = markers.popleft()[1]  # (a list's pop(0) made 160,000 markers quadratic: 5 s)
    return name


def _equations_in(body: str) -> list[tuple[int, list[tuple[int, str]]]]:
    """Split a display block into equations: each a list of (offset, text) rows.

    Rows are separated by `\\\\`; a row whose left side is empty (`&= …`)
    continues the equation above it. Within a row, `\\quad` separates two
    equations when each side holds a relation.
    """
    body = _LABEL.sub(lambda m: " " * len(m.group()), _INNER.sub(lambda m: " " * len(m.group()), body))
    result: list[tuple[int, list[tuple[int, str]]]] = []
    for offset, row in _split_top(body, r"\\\\"):
        for part_at, part in _split_quads(row):
            start = offset + part_at
            if _continues(part) and result:
                result[-1][1].append((start, part))
            elif part.strip():
                result.append((start, [(start, part)]))
    return result


def _continues(row: str) -> bool:
    return re.match(r"\s*&?\s*(=|\\approx|\\leftarrow)", row) is not None


def _split_quads(row: str) -> list[tuple[int, str]]:
    parts = _split_top(row, _SPLIT_DISPLAY.pattern)
    if len(parts) > 1 and all(_SEPARATORS.search(p) for _, p in parts if p.strip()):
        return parts
    return [(0, row)]


def _split_top(text: str, separator: str) -> list[tuple[int, str]]:
    """Split at `separator` where brackets are balanced: (offset, part)."""
    pieces, start = [], 0
    for match in _top(text, re.compile(separator)):
        pieces.append((start, text[start:match.start()]))
        start = match.end()
    pieces.append((start, text[start:]))
    return pieces


_BRACKET = re.compile(r"\\[{}]|\\left\b|\\right\b|\\(?:begin|end)\{[^{}]*\}|[{}]")
_STEP = {"{": 1, "}": -1, "\\left": 1, "\\right": -1, "\\begin": 1, "\\end": -1}


def _top(text: str, pattern: re.Pattern):
    """The matches of `pattern` at bracket depth 0 (braces, \\left…\\right, environments).

    One pass over the brackets, in step with the matches: linear in the text.
    """
    brackets = _BRACKET.finditer(text)
    depth, pending = 0, next(brackets, None)
    for match in pattern.finditer(text):
        while pending is not None and pending.start() < match.start():
            depth += _step(pending.group())
            pending = next(brackets, None)
        if depth == 0:
            yield match


def _step(token: str) -> int:
    return _STEP.get(token.split("{", 1)[0] if token.startswith(("\\begin{", "\\end{")) else token, 0)


def balanced(text: str) -> bool:
    """Whether the brackets of `text` close (an equation that does not is not read)."""
    depth = 0
    for match in _BRACKET.finditer(text):
        depth += _step(match.group())
        if depth < 0:
            return False
    return depth == 0


def _equation(line_of: Callable[[int], int], at: int, rows: list[tuple[int, str]],
              marker: str | None) -> Equation | None:
    """One equation from its rows (offsets from `at`): members split at top-level relations."""
    members, relations, lines = [], [], []
    for offset, row in rows:
        row = _unalign(row)
        for i, (part_at, part) in enumerate(_split_relations(row)):
            if i == 0 and not part[1].strip() and members:
                continue  # the empty left side of a continuation row
            relation, member = part
            if members or i:
                relations.append(relation)
            members.append(_clean(member))
            lead = len(member) - len(member.lstrip())
            lines.append(line_of(at + offset + part_at + lead))
    if members:
        members[0] = _LEAD_LABEL.sub("", members[0])
    if members and not members[0]:
        return None
    if len(members) > MAX_MEMBERS:
        raise WriteupError(f"line {lines[0]}: an equation of {len(members)} members; "
                           f"the limit is {MAX_MEMBERS}")
    if len(members) < 2:
        return None  # an expression on its own answers nothing
    return Equation(lines[0], tuple(members), tuple(relations[:len(members) - 1]), marker, tuple(lines))


def _unalign(row: str) -> str:
    """The row without its alignment `&`s (those inside a matrix separate its columns)."""
    cut = [m.start() for m in _top(row, re.compile(r"(?<!\\)&"))]
    chars = list(row)
    for i in cut:
        chars[i] = " "
    return "".join(chars)


def _split_relations(row: str) -> list[tuple[int, tuple[str, str]]]:
    """(offset, (relation before it, member)) for each member of a row."""
    parts, start, relation = [], 0, ""
    for match in _top(row, _SEPARATORS):
        parts.append((start, (relation, row[start:match.start()])))
        relation, start = match.group(), match.end()
    parts.append((start, (relation, row[start:])))
    return parts


def _clean(member: str) -> str:
    """A member without its trailing punctuation and layout spacing."""
    member = " ".join(member.split())
    while member.endswith(_TRAILING):  # a loop, not a regex anchored at $: that one is quadratic on ",,,,"
        member = next(member[:-len(t)].rstrip() for t in _TRAILING if member.endswith(t))
    return member


def _line_finder(text: str) -> Callable[[int], int]:
    """offset -> line number (from 1) in `text`, its newlines found once per write-up."""
    newlines = [m.start() for m in re.finditer("\n", text)]
    return lambda offset: bisect.bisect_right(newlines, offset - 1) + 1
