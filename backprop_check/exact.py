"""Parse numbers written by people into exact fractions, with bounds.

`0.6` is 3/5, `"1/3"` is 1/3, `1e-3` is 1/1000. Nothing is left to float
rounding or to YAML's type guessing, and nothing is evaluated: a number is
matched by a regular expression, then built from its digits. A plain decimal
(`-0.25`, `3`, `.5`), nearly every number of a wide spec, is recognised by
string methods first and built as its digits over a power of ten.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .errors import shortened

MAX_NUMBER_CHARS = 200
MAX_EXPONENT = 400  # 1e400 is still a fine exact rational; 1e99999999 is an attack

_UNSIGNED = r"(?:\d+(?:\.\d*)?|\.\d+)"
PLAIN_DECIMAL = r"[+-]?" + _UNSIGNED  # the syntax `plain_decimal` reads (a regex for whole rows: numbers_read)
_DECIMAL = re.compile(PLAIN_DECIMAL + r"(?:[eE][+-]?\d+)?", re.ASCII)
_FRACTION = re.compile(f"({PLAIN_DECIMAL})\\s*/\\s*({_UNSIGNED})", re.ASCII)


class NumberError(ValueError):
    """The text is not a number bpcheck accepts; the message says why."""


POWERS_OF_TEN = [10 ** k for k in range(MAX_NUMBER_CHARS + 1)]


def plain_decimal(text: object) -> tuple[int, int] | None:
    """(n, k) for a decimal written plainly, of value n / 10**k: an optional sign, digits with at
    most one point, no exponent, no spaces (`-0.25` is (-25, 2)); None for anything else."""
    if type(text) is not str or len(text) > MAX_NUMBER_CHARS or not text.isascii():
        return None
    negative = text.startswith("-")
    whole, _, places = (text[1:] if negative or text.startswith("+") else text).partition(".")
    if not (whole or places) or (whole and not whole.isdigit()) or (places and not places.isdigit()):
        return None  # (for ASCII text, isdigit is 0-9)
    n = int(whole + places)
    return (-n if negative else n), len(places)


def parse_number(text: object) -> Fraction:
    """Parse a decimal, scientific or fraction string into a Fraction."""
    plain = plain_decimal(text)
    if plain is not None:
        return Fraction(plain[0], POWERS_OF_TEN[plain[1]])
    if not isinstance(text, str):
        raise NumberError(f"expected a number, got {_describe(text)}")
    s = text.strip() if len(text) <= MAX_NUMBER_CHARS else None
    if s is None:
        raise NumberError(f"a number of more than {MAX_NUMBER_CHARS} characters")
    if s.lower().lstrip("+-.") in ("nan", "inf", "infinity"):
        raise NumberError(f"{s!r} is not a finite number")
    if _DECIMAL.fullmatch(s):
        return _decimal(s)
    m = _FRACTION.fullmatch(s)
    if m:
        denominator = _decimal(m.group(2))
        if denominator == 0:
            raise NumberError(f"{s!r} divides by zero")
        return _decimal(m.group(1)) / denominator
    raise NumberError(f"{shortened(s)!r} is not a number (write e.g. 0.25, -1e-3 or 3/4)")


def _decimal(s: str) -> Fraction:
    mantissa, _, exponent = s.lower().partition("e")
    if exponent and abs(int(exponent)) > MAX_EXPONENT:
        raise NumberError(f"exponent {exponent} is out of range (|e| <= {MAX_EXPONENT})")
    value = Fraction(mantissa)
    return value * Fraction(10) ** int(exponent) if exponent else value


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)
