"""JSON as `json.dumps(value, indent=2, ensure_ascii=...)` writes it, character for character, faster.

json's indenting encoder is pure Python, a generator step per value (its C
encoder does no indenting): for a class's report, 1,000 files of 17
findings each, it took longer than grading a file, and a large graph's
solution holds 420,000 numbers. This writes each container with one join,
each string with json's own C escaper, a vector of numbers from its repr and
a matrix of floats row by row (a row of zeros, most rows of a large graph's
Jacobians by weight matrices, one text made once). A value that recurs (a
class's findings repeat: 15,000 questions, 3,000 distinct) can be given as a
`Shared`, written once per indentation and then copied.
"""

from __future__ import annotations

import json
import struct
from itertools import chain

_ESCAPERS = {False: json.encoder.encode_basestring, True: json.encoder.encode_basestring_ascii}  # json's (C)


class Shared:
    """A value written once per indentation under its `key` in `written` (the caller's dict, one per
    document): the key must determine the value's text; `make()` builds the value when it is first written."""

    __slots__ = ("key", "make", "written")

    def __init__(self, key, make, written: dict):
        self.key, self.make, self.written = key, make, written


def dumps(value, ensure_ascii: bool = False) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=ensure_ascii)`."""
    return _value(value, "\n", _ESCAPERS[ensure_ascii])


def _value(v, newline: str, string) -> str:
    kind = type(v)
    if kind is str:
        return string(v)
    if kind is float:
        return float.__repr__(v) if v - v == 0 else _float(v)
    if kind is dict:
        if not v:
            return "{}"
        inner = newline + "  "
        return "{" + inner + ("," + inner).join([(string(k) if type(k) is str else _key(k, string)) + ": "
                                                 + _value(x, inner, string) for k, x in v.items()]) + newline + "}"
    if kind is Shared:
        text = v.written.get((v.key, newline))
        if text is None:
            text = v.written[v.key, newline] = _value(v.make(), newline, string)
        return text
    return _other(v, newline, string)


def _other(v, newline: str, string) -> str:
    # the order of json's own tests (_iterencode): str, None, True, False, int, float, list, dict
    if isinstance(v, str):
        return string(v)
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
        if type(v) is list:
            numbers = _numbers(v, inner, newline)
            if numbers is not None:
                return numbers
        return "[" + inner + ("," + inner).join([_value(x, inner, string) for x in v]) + newline + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{" + inner + ("," + inner).join([_key(k, string) + ": " + _value(x, inner, string)
                                                 for k, x in v.items()]) + newline + "}"
    return json.dumps(v)  # what json cannot write: its own TypeError


def _numbers(v: list, inner: str, newline: str) -> str | None:
    """A vector of numbers, or a matrix of floats, written at once; None for anything else."""
    rows = _matrix_rows(v, inner) if type(v[0]) is list else None
    if rows is not None:  # a matrix: its rows are vectors
        return "[" + inner + "[" + inner + "  " + rows + inner + "]" + newline + "]"
    text = repr(v)  # each int and float as json writes it, in C, if it holds nothing else
    if text.count("[") == 1 and not text.translate(_NUMBERS):  # a vector (not of bools, None, nan, inf)
        return "[" + inner + text[1:-1].replace(", ", "," + inner) + newline + "]"
    return None


_NUMBERS = str.maketrans("", "", "0123456789.e+-[], ")  # what repr writes for nested lists of numbers


def _matrix_rows(value: list, inner: str) -> str | None:
    """The rows of a matrix of floats (lists of one length), between the first row's "[" and the
    last one's "]"; None for anything else. Each row is its repr, and a row of zeros (+0.0) one
    text made once."""
    width = len(value[0])
    if not width or set(map(type, value)) != {list} or set(map(len, value)) != {width} or \
            set(map(type, chain.from_iterable(value))) != {float}:
        return None
    zero = list(map(([0.0] * width).__eq__, value))  # (-0.0 == 0.0 too: a negative zero's bits are looked for)
    if any(zero) and _NEGATIVE_ZERO in struct.pack(f"{len(value) * width}d", *chain.from_iterable(value)):
        plus = bytes(8 * width)  # (rare: then row by row)
        zero = [z and struct.pack(f"{width}d", *row) == plus for z, row in zip(zero, value)]
    zero_row = ", ".join(["0.0"] * width)
    deeper = inner + "  "
    rows = (inner + "]," + inner + "[" + deeper).join([zero_row if z else repr(row)[1:-1]
                                                       for z, row in zip(zero, value)])
    return None if "n" in rows else rows.replace(", ", "," + deeper)  # (nan, inf: as json writes them)


_NEGATIVE_ZERO = struct.pack("d", -0.0)


def _key(k, string) -> str:
    """A key as json writes it: a string, or a number, boolean or null as text."""
    if isinstance(k, str):
        return string(k)
    if k is True or k is False or k is None:
        return string({True: "true", False: "false", None: "null"}[k])
    if isinstance(k, int):
        return string(int.__repr__(k))
    if isinstance(k, float):
        return string(_float(k))
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
