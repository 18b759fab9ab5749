"""JSON as `json.dumps(value, indent=2, ensure_ascii=False)` writes it, character for character, faster.

json's indenting encoder is pure Python, a generator step per value (its C
encoder does no indenting): for a class's report, 1,000 files of 17
findings each, it took longer than grading a file. This writes each
container with one join and each string with json's own C escaper. A value
that recurs (a class's findings repeat: 15,000 questions, 3,000 distinct) can
be given as a `Shared`, written once per indentation and then copied.
"""

from __future__ import annotations

import json

_string = json.encoder.encode_basestring  # json's (C) escaper for ensure_ascii=False


class Shared:
    """A value written once per indentation under its `key` in `written` (the caller's dict, one per
    document): the key must determine the value's text; `make()` builds the value when it is first written."""

    __slots__ = ("key", "make", "written")

    def __init__(self, key, make, written: dict):
        self.key, self.make, self.written = key, make, written


def dumps(value) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`."""
    return _value(value, "\n")


def _value(v, newline: str) -> str:
    kind = type(v)
    if kind is str:
        return _string(v)
    if kind is float:
        return float.__repr__(v) if v - v == 0 else _float(v)
    if kind is dict:
        if not v:
            return "{}"
        inner = newline + "  "
        return "{" + inner + ("," + inner).join([(_string(k) if type(k) is str else _key(k)) + ": " + _value(x, inner)
                                                 for k, x in v.items()]) + newline + "}"
    if kind is Shared:
        text = v.written.get((v.key, newline))
        if text is None:
            text = v.written[v.key, newline] = _value(v.make(), newline)
        return text
    return _other(v, newline)


def _other(v, newline: str) -> str:
    # the order of json's own tests (_iterencode): str, None, True, False, int, float, list, dict
    if isinstance(v, str):
        return _string(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        return _float(v)
    inner = newline + "  "
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        return "[" + inner + ("," + inner).join([_value(x, inner) for x in v]) + newline + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{" + inner + ("," + inner).join([_key(k) + ": " + _value(x, inner) for k, x in v.items()]) \
            + newline + "}"
    return json.dumps(v)  # what json cannot write: its own TypeError


def _key(k) -> str:
    """A key as json writes it: a string, or a number, boolean or null as text."""
    if isinstance(k, str):
        return _string(k)
    if k is True or k is False or k is None:
        return _string({True: "true", False: "false", None: "null"}[k])
    if isinstance(k, int):
        return _string(int.__repr__(k))
    if isinstance(k, float):
        return _string(_float(k))
    return json.dumps({k: 0})  # json's own TypeError for any other key


def _float(v: float) -> str:
    """repr, or NaN/Infinity/-Infinity."""
    if v != v:
        return "NaN"
    if v == float("inf"):
        return "Infinity"
    if v == -float("inf"):
        return "-Infinity"
    return float.__repr__(v)
