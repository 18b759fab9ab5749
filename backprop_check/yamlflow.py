"""Flow sequences of plain numbers, read straight from a YAML text (`yamlsource` uses them).

A sequence qualifies when everything between its brackets is brackets, commas,
spaces, newlines and plain scalars that start like a number (a digit, or a
sign or a point and then a digit) made of digits, signs, points, `e`, `E` and
`/`: `[[0.5, -1], [2, 3e-2, 3/4]]`. YAML reads such text one way only: nested
sequences of those scalars, as text. No comment, quote, tab, colon, tag or
anchor can be inside, so there is nothing else it could mean. A trailing or
doubled comma, an unclosed bracket or any other character leaves the sequence
to libyaml.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# '[' and then only what such a sequence may hold; its closing bracket is found by counting.
_CANDIDATE = re.compile(r"\[[\[\] ,\n0-9+\-.eE/]*")
_TOKEN = re.compile(r"[ \n]*([\[\],]|[^\[\], \n]+)")
_BRACKET = re.compile(r"[\[\]]")
_SPACED_SCALAR = re.compile(r"[^\[\], \n][ \n]+[^\[\], \n]")
# Without spaces: a comma or bracket not followed by what may follow it (a comma: an item; '[': an item
# or ']'), or an item not followed by a comma or ']'. Items are sequences and scalars that start like a number.
_MALFORMED = re.compile(r",(?![+\-]?\.?[0-9]|\[)|\[(?![+\-]?\.?[0-9]|\[|\])|[^\[\],]\[|\][^\],]")
_QUOTE = re.compile(r"(?<=[\[,])(?=[^\[\],])|(?<=[^\[\],])(?=[\],])")  # where a scalar starts or ends
MAX_DEPTH = 8  # deeper ones are left to libyaml (and to yamlsource's bound on nesting)
# Bounds on the work of reading ahead, far above any spec within the limits (a few thousand rows
# of 16 weights, x and y), so that a hostile text costs no more than libyaml's own refusal.
MAX_NESTING = 64
MAX_BRACKETS = 200_000
MAX_FLOWS = 50_000
_LONE_CR = re.compile(r"\r(?!\n)|[\u0085\u2028\u2029]")  # line breaks libyaml counts and line_column does not


class Mismatch(Exception):
    """libyaml did not see a sequence where one was read (`seen`: the offsets of those it did)."""

    def __init__(self, seen=()):
        super().__init__()
        self.seen = set(seen)


@dataclass(frozen=True)
class Flow:
    value: list  # nested lists of the scalars' text
    end: int  # offset of the closing ']'
    nodes: int  # sequences and scalars, the outer one not counted
    depth: int  # levels of nesting below the outer sequence


def find(text: str) -> dict[int, Flow]:
    """Every qualifying flow sequence that is not inside another, by the offset of its '['."""
    brackets = text.count("[")
    if not brackets or brackets > MAX_BRACKETS:
        return {}  # (none: nearly every answers file, whose lists are blocks)
    if text.startswith("\ufeff") or _LONE_CR.search(text):
        return {}  # line and column would not be counted as here (see line_column)
    found: dict[int, Flow] = {}
    for candidate in _CANDIDATE.finditer(text):
        pairs = _pairs(text, candidate.start(), candidate.end())
        if pairs is None:
            return {}
        after = -1
        for start, (end, height) in sorted(pairs.items()):
            if start > after and height <= MAX_DEPTH:  # (a deeper one may hold qualifying ones)
                flow = _read(text, start, end, height)
                if flow is not None:
                    found[start] = flow
                    after = end
        if len(found) > MAX_FLOWS:
            return {}
    return found


def _pairs(text: str, start: int, stop: int) -> dict[int, tuple[int, int]] | None:
    """Each closed '[' of text[start:stop] -> (its ']', levels of nesting it holds), in one pass;
    None when brackets nest deeper than any file libyaml would read."""
    pairs, stack = {}, []
    for bracket in _BRACKET.finditer(text, start, stop):
        if bracket.group() == "[":
            if len(stack) > MAX_NESTING:
                return None
            stack.append([bracket.start(), 0])
        elif stack:
            opened, height = stack.pop()
            pairs[opened] = (bracket.start(), height + 1)
            if stack:
                stack[-1][1] = max(stack[-1][1], height + 1)
    return pairs


def _read(text: str, start: int, end: int, depth: int) -> Flow | None:
    """The sequence text[start:end + 1] (brackets balanced, `depth` levels), if it qualifies."""
    if _SPACED_SCALAR.search(text, start, end):  # `[1 2]` is the one scalar "1 2"
        return None
    tight = text[start:end + 1].replace(" ", "").replace("\n", "")
    if _MALFORMED.search(tight):
        return None
    items = tight.count(",") + tight.count("[") - tight.count("[]")  # each follows a comma or a '[' (the outer one too)
    return Flow(_split(tight, depth), end, items, depth - 1)


def _split(tight: str, depth: int):
    """Nested lists of a well-formed sequence without spaces: str.split for a vector or a
    matrix (nearly every sequence of a spec), json for anything deeper."""
    if depth == 1:
        return tight[1:-1].split(",") if tight != "[]" else []
    inner = tight[2:-2]
    if depth == 2 and tight.startswith("[[") and tight.endswith("]]") and \
            inner.count("[") == inner.count("]") == inner.count("],["):
        return [row.split(",") if row else [] for row in inner.split("],[")]
    return json.loads(_QUOTE.sub('"', tight))


def blanked(text: str, found: dict[int, Flow]) -> str:
    """The text with each sequence's inside blanked (newlines kept): libyaml sees `[ ]` at the same place."""
    pieces, at = [], 0
    for start in sorted(found):
        end = found[start].end
        pieces += [text[at:start + 1], "\n".join(" " * len(line) for line in text[start + 1:end].split("\n"))]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def offset(text: str, start: int, path: tuple) -> int:
    """Where the item at `path` (indices below the sequence at `start`) begins; the nearest
    enclosing sequence when the path goes deeper than the sequence does."""
    at: list[int] = []  # the current item's indices
    best, pos = start, start + 1
    counts = [0]
    while counts:
        m = _TOKEN.match(text, pos)
        token, here, pos = m.group(1), m.start(1), m.end()
        if token == "]":
            counts.pop()
            at = at[:-1]
            continue
        if token == ",":
            counts[-1] += 1
            continue
        item = tuple(at + [counts[-1]])
        if item == path[:len(item)]:
            best = here
            if item == path:
                return here
        if token == "[":
            at.append(counts[-1])
            counts.append(0)
    return best


def line_column(text: str, where: int) -> tuple[int, int]:
    """1-based line and column of an offset, as libyaml counts them (characters; \\n or \\r\\n ends a line)."""
    line_start = text.rfind("\n", 0, where) + 1
    return text.count("\n", 0, where) + 1, where - line_start + 1
