"""Read a spec's `random:` section (FORMAT.md section 7): what each student's variant redraws.

```yaml
random:
  salt: fall-2026                        # optional; change it and every variant changes
  W1: {low: -1, high: 1, decimals: 1}    # every entry of params.W1 (graph.inputs.w1, data.x, …)
  avoid_kinks: 0.05                      # redraw while a kinked function's argument is this near its kink
```

Network specs (`spec`) and graph specs (`graphspec`) call `read` with the
names whose numbers the spec gives (and where they are written); everything
else a range names is refused at its key's line. A variant is the template's
own text with those numbers replaced (`variants`), so this module also finds
where each number is written: `yaml.parse`'s marks give every scalar's span.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import yaml

from .specread import Reader, label, suggest

MAX_DECIMALS = 6
DEFAULT_DECIMALS = 1
MAX_SALT = 100
MAX_STUDENT = 200
RANGE_KEYS = {"low", "high", "decimals"}
OWN_KEYS = {"salt", "avoid_kinks"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# what a salt or a student id may hold: printable, no '|' (the field separator of the hash)
_PLAIN = re.compile(r"[^|\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@dataclass(frozen=True)
class Range:
    """One name's range: every number written at `path` is drawn from [low, high] on the grid 10^-decimals."""

    name: str
    low: Fraction
    high: Fraction
    decimals: int
    spans: tuple  # (start, end) of each number as written in the spec's text, in order

    @property
    def grid(self) -> tuple[int, int]:
        """The first and last grid point, in units of 10^-decimals."""
        scale = 10 ** self.decimals
        return math.ceil(self.low * scale), math.floor(self.high * scale)


@dataclass(frozen=True)
class Randomness:
    """The `random:` section of a template spec, and the template's text the variants rewrite."""

    salt: str
    ranges: tuple  # of Range, in the order written
    avoid_kinks: Fraction | None
    text: str
    section: tuple  # (start, end) of the lines that hold `random:` in the text


def read(r: Reader, text: str, given: dict, others: dict,
         check: Callable[[Range, tuple], None] | None = None) -> Randomness | None:
    """`random:`, or None when the spec has none.

    `given`: name -> the path of the numbers the spec gives it (params.W1, data.x);
    `others`: name -> what it is, for names that are not given numbers ("a node");
    `check(range, path)` may refuse a range (a target range outside the loss's domain).
    """
    if "random" not in r.doc.data:
        return None
    raw = r.mapping(("random",))
    spans, section = _spans(r, text)
    ranges = []
    for key in raw:
        if key in OWN_KEYS:
            continue
        path = ("random", key)
        if key not in given:
            raise r.doc.key_error(path, _not_given(str(key), given, others))
        ranges.append(_range(r, path, key, given[key], spans))
        if check is not None:
            check(ranges[-1], path)
    if not ranges:
        raise r.fail(("random",), "random: draws nothing: give a range to a name whose numbers the spec "
                                  "gives, e.g. W1: {low: -1, high: 1, decimals: 1}")
    salt = plain(r.get(("random", "salt")), "random.salt", MAX_SALT, r, ("random", "salt")) if "salt" in raw else ""
    avoid = None
    if "avoid_kinks" in raw:
        avoid = r.number(("random", "avoid_kinks"))
        if avoid < 0:
            raise r.fail(("random", "avoid_kinks"), "random.avoid_kinks must not be negative "
                                                    "(a distance from the kinks; 0 only avoids the kinks themselves)")
    return Randomness(salt, tuple(ranges), avoid, text, section)


def plain(value, what: str, limit: int, r: Reader | None = None, path: tuple = ()) -> str:
    """A salt or student id: 1 to `limit` printable characters without '|' (else an error)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > limit or not _PLAIN.fullmatch(text):
        message = (f"{what} must be 1 to {limit} printable characters without '|' "
                   f"(not {str(value)[:40]!r})")
        if r is not None:
            raise r.fail(path, message)
        from .errors import InputError

        raise InputError(message)
    return text


def _not_given(key: str, given: dict, others: dict) -> str:
    if key in others:
        return (f"random: {key!r} is {others[key]}, not a number the spec gives: a range redraws given "
                f"numbers ({', '.join(given)})")
    return f"random: unknown name {key[:40]!r}{suggest(key, set(given) | OWN_KEYS)}"


def _range(r: Reader, path: tuple, name: str, target: tuple, spans: dict) -> Range:
    raw = r.get(path)
    if not isinstance(raw, dict):
        raise r.fail(path, f"{label(path)} must be a range such as {{low: -1, high: 1, decimals: 1}}")
    r.mapping(path, RANGE_KEYS)
    for key in ("low", "high"):
        if key not in raw:
            raise r.fail(path, f"{label(path)} has no '{key}': a range is {{low: -1, high: 1, decimals: 1}}")
    low, high = r.number(path + ("low",)), r.number(path + ("high",))
    if low > high:
        raise r.fail(path + ("low",), f"{label(path)}: low {raw['low']} is above high {raw['high']}")
    decimals = r.integer(path + ("decimals",), 0, MAX_DECIMALS) if "decimals" in raw else DEFAULT_DECIMALS
    out = Range(name, low, high, decimals, _leaves(r, path, target, spans))
    first, last = out.grid
    if first > last:
        raise r.fail(path, f"{label(path)}: no number with {decimals} decimals lies between {raw['low']} "
                           f"and {raw['high']}: widen the range or allow more decimals")
    return out


def _leaves(r: Reader, path: tuple, target: tuple, spans: dict) -> tuple:
    """The spans of the numbers written at `target`, in order (row by row, sample by sample)."""
    out: list = []
    stack = [target]
    while stack:
        at = stack.pop()
        value = r.get(at)
        if isinstance(value, list):
            stack.extend(at + (i,) for i in reversed(range(len(value))))
        elif at in spans:
            out.append(spans[at])
        else:
            raise r.fail(at, f"{label(at)} is written through a YAML alias (or as a block scalar): write "
                             f"its numbers out where {label(path)} can redraw them")
    return tuple(out)


def _spans(r: Reader, text: str) -> tuple[dict, tuple]:
    """(path -> (start, end) of every plain or quoted scalar value, (start, end) of the lines of
    `random:`). The walk mirrors `yamlsource`'s paths; the text parsed there already."""
    spans: dict = {}
    stack: list = []  # [path, is a mapping, pending key or None, next index, flow]
    reach: dict = {}  # top-level key -> (start of the key, end of its value's last written piece)
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            path, *_, flow = stack.pop()
            if flow:  # a block collection ends where the next key starts: not its own text
                _reach(reach, path, event.end_mark.index)
            continue
        if not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent,
                                  yaml.SequenceStartEvent)):
            continue
        path = _place(stack, event, reach)
        if path is None:
            continue  # a key
        if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
            if isinstance(event, yaml.ScalarEvent) and event.style not in ("|", ">"):
                spans[path] = (event.start_mark.index, event.end_mark.index)
            _reach(reach, path, event.end_mark.index)
        else:
            if not stack and event.flow_style:
                raise r.fail((), "a spec with random: is a block mapping, one top-level key per line "
                                 "(its variants are the same text with new numbers)")
            stack.append([path, isinstance(event, yaml.MappingStartEvent), None, 0, bool(event.flow_style)])
    start, end = reach["random"]
    return spans, (text.rfind("\n", 0, start) + 1, _line_end(text, end))


def _place(stack: list, event, reach: dict) -> tuple | None:
    """The path of the value `event` starts (None when it is a mapping's key)."""
    if not stack:
        return ()
    frame = stack[-1]
    if not frame[1]:
        frame[3] += 1
        return frame[0] + (frame[3] - 1,)
    if frame[2] is None:
        frame[2] = event.value
        if len(stack) == 1:
            reach[event.value] = (event.start_mark.index, event.end_mark.index)
        return None
    key, frame[2] = frame[2], None
    return frame[0] + (key,)


def _reach(reach: dict, path: tuple, end: int) -> None:
    if path and path[0] in reach:
        start, old = reach[path[0]]
        reach[path[0]] = (start, max(old, end))


def _line_end(text: str, index: int) -> int:
    """The index just past the end of the line holding `index - 1` (its newline included)."""
    newline = text.find("\n", max(index - 1, 0))
    return len(text) if newline < 0 else newline + 1


# ------------------------------------------------------------------ the two kinds of spec

_TARGETS = {"bce": "0 <= low and high <= 1 (bce targets are probabilities)",
            "cross_entropy": None, "hinge": None}  # None: one-hot targets cannot be drawn


def for_network(r: Reader, text: str, params: dict, n_layers: int) -> Randomness | None:
    """`random:` of a network spec: its parameters, data.x and data.y."""
    given = {name: ("params", name) for name in params}
    given.update(x=("data", "x"), y=("data", "y"))
    computed = [f"z{i}" for i in range(1, 2 * n_layers + 1)] + ["y_hat", "yhat", "loss"]
    raw = r.doc.data.get("loss")
    kind = raw if isinstance(raw, str) else raw.get("type") if isinstance(raw, dict) else None

    def check(rng: Range, path: tuple) -> None:
        if rng.name != "y" or kind not in _TARGETS:
            return
        if _TARGETS[kind] is None:
            raise r.doc.key_error(path, f"random: {kind} targets are one-hot (one 1 per sample), which "
                                        "a range cannot draw: draw x and the parameters instead")
        if rng.low < 0 or rng.high > 1:
            raise r.fail(path, f"random.y: {kind} needs {_TARGETS[kind]}")

    return read(r, text, given, dict.fromkeys(computed, "a computed value"), check)


def for_graph(r: Reader, text: str, inputs: dict, data: dict, nodes: tuple) -> Randomness | None:
    """`random:` of a graph spec: its inputs and its data names."""
    given = {name: ("graph", "inputs", name) for name in inputs}
    given.update((name, ("data", name)) for name in data)
    return read(r, text, given, {name: "a node (computed)" for name, _ in nodes})
