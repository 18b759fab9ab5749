"""Tolerances, and comparing a submitted array with the expected one.

Modes (FORMAT.md section 3): `rtol`/`atol` (|s − t| ≤ atol + rtol·|t| for
every entry), `sigfigs: n` and `decimals: n` (within half a unit in the last
required digit). The defaults suit hand arithmetic to 3–4 significant
figures: rtol = 5e-3, and an automatic atol of 1e-3 × the largest |entry| of
the expected quantity, so that an exact zero (a dead ReLU's gradient) is
graded by the scale of its neighbours rather than by its own, non-existent
magnitude.

Hand arithmetic (issue 10): under the default tolerance a number is also
correct when it lies within one unit of the last decimal place the student
wrote, provided that they wrote at least two significant figures
(`written_unit`). A student who rounds every intermediate value to 4 decimals
ends up a few units of the 4th decimal away from the exact result, which a
relative tolerance of 5e-3 does not cover on small entries (0.0033 for
0.003363). The unit is per entry and is carried with the answer (`Answer.ulp`);
`Tolerance.accepts` takes it. An instructor who writes any tolerance mode
(`rtol`, `atol`, `sigfigs`, `decimals`) chose a precision, so the rule is off
there unless `last_digit: true` is written too; `last_digit: false` turns it
off under the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_RTOL = 5e-3
AUTO_ATOL = 1e-3  # × the largest |entry| of the expected quantity
ATOL_FLOOR = 1e-9  # when every expected entry is 0
SLACK = 1e-9  # float slack on the half-unit bounds
MODE_KEYS = ("rtol", "atol", "sigfigs", "decimals")
MIN_WRITTEN_SIGFIGS = 2  # "0.02" for 0.0176 is one figure: too coarse to earn the last-digit rule


@dataclass(frozen=True)
class Tolerance:
    rtol: float = DEFAULT_RTOL
    atol: float | None = None  # None: automatic
    sigfigs: int | None = None
    decimals: int | None = None
    last_digit: bool = True  # also accept one unit of the student's last written decimal (rtol/atol mode)

    @classmethod
    def from_spec(cls, *layers: dict | None) -> "Tolerance":
        """Merge tolerance mappings, later ones winning (problem, then question)."""
        merged: dict = {}
        for layer in layers:
            if layer:
                # the later layer's mode wins: digits replace digits, rtol/atol replace digits
                if any(key in layer for key in MODE_KEYS):
                    merged.pop("sigfigs", None)
                    merged.pop("decimals", None)
                merged.update(layer)
        # A precision the instructor wrote is theirs: the last-digit rule then only if asked for.
        chosen = any(key in merged for key in MODE_KEYS)
        return cls(rtol=float(merged.get("rtol", DEFAULT_RTOL)),
                   atol=float(merged["atol"]) if "atol" in merged else None,
                   sigfigs=merged.get("sigfigs"), decimals=merged.get("decimals"),
                   last_digit=bool(merged.get("last_digit", not chosen)))

    @property
    def hand_rule(self) -> bool:
        """Whether the last-digit rule applies: on, and in rtol/atol mode (digits modes are exact asks)."""
        return self.last_digit and self.sigfigs is None and self.decimals is None

    def describe(self) -> str:
        if self.sigfigs is not None:
            return f"{self.sigfigs} significant figures"
        if self.decimals is not None:
            return f"{self.decimals} decimal places"
        atol = "auto" if self.atol is None else f"{self.atol:g}"
        hand = (", or within one unit of the last decimal place written (with 2 or more "
                "significant figures written)") if self.hand_rule else ""
        return f"rtol {self.rtol:g}, atol {atol}{hand}"

    def bound(self, expected: np.ndarray) -> np.ndarray:
        """The largest accepted |s − t| for each expected entry t."""
        t = np.abs(np.asarray(expected, dtype=float))
        atol = self.atol if self.atol is not None else max(AUTO_ATOL * float(np.max(t, initial=0.0)), ATOL_FLOOR)
        if self.decimals is not None:
            return np.full(t.shape, 0.5 * 10.0 ** -self.decimals) * (1 + SLACK) + SLACK * t
        if self.sigfigs is not None:
            with np.errstate(divide="ignore"):
                exponent = np.floor(np.log10(np.where(t > 0, t, 1.0)))
            unit = 10.0 ** (exponent - self.sigfigs + 1)
            return np.where(t > 0, 0.5 * unit * (1 + SLACK), atol)
        return atol + self.rtol * t

    def accepts(self, expected: np.ndarray, submitted: np.ndarray, ulp=None, bound=None) -> np.ndarray:
        """Elementwise: is each submitted entry close enough?

        `ulp`: per submitted entry, one unit of its last written decimal (0 where
        the rule does not apply), the shape of `submitted`; see `written_unit`.
        `bound`: `self.bound(expected)`, when the caller keeps it.
        """
        e = np.asarray(expected, dtype=float)
        s = np.asarray(submitted, dtype=float)
        with np.errstate(invalid="ignore"):
            ok = np.abs(s - e) <= (self.bound(e) if bound is None else bound)
            if ulp is not None and self.hand_rule:
                unit = np.asarray(ulp, dtype=float)
                ok |= np.abs(s - e) <= unit * (1 + SLACK) + SLACK * np.abs(e)
        return ok & np.isfinite(s)

    def written(self, ulp) -> "Written":
        """This tolerance bound to one answer's written units (what `diagnose` compares with)."""
        return Written(self, ulp)


@dataclass(frozen=True, eq=False)
class Written:
    """A tolerance together with the units of the answer's last written decimals."""

    tol: Tolerance
    ulp: object = None  # array in the submitted (fitted) shape, or None

    def accepts(self, expected: np.ndarray, submitted: np.ndarray, bound=None) -> np.ndarray:
        ulp = self.ulp
        if ulp is not None and np.shape(ulp) != np.shape(submitted):
            ulp = None  # another shape (a candidate of another quantity): the plain tolerance
        return self.tol.accepts(expected, submitted, ulp, bound)

    def bound(self, expected: np.ndarray) -> np.ndarray:
        return self.tol.bound(expected)

    def describe(self) -> str:
        return self.tol.describe()


def fraction_digits(text: str) -> int | None:
    """How many decimals a number was written with (`0.0176` -> 4, `1.76e-2` -> 4,
    `1.25e3` -> -1: to the tens)."""
    mantissa, _, exponent = text.strip().lower().partition("e")
    if "." not in mantissa or "/" in mantissa:
        return None
    return len(mantissa.split(".")[1]) - int(exponent or 0)


def significant_digits(value: float, text: str) -> int | None:
    """Significant figures of a written decimal (`0.0176` -> 3)."""
    digits = fraction_digits(text)
    if digits is None or value == 0:
        return None
    return max(1, digits + int(math.floor(math.log10(abs(value)))) + 1)



def written_unit(text: str, value: float) -> float:
    """One unit of the last decimal place of a plainly written decimal (`0.0050` -> 1e-4,
    `1.76e-2` -> 1e-4), or 0 when the last-digit rule does not apply: not a plain decimal,
    fewer than 2 significant figures written (`0.02`), or an integer (`3`)."""
    return unit_of(fraction_digits(text), value)


def unit_of(digits: int | None, value: float) -> float:
    """`written_unit` of a number written with `digits` decimals (None: not a decimal)."""
    if digits is None or value == 0:
        return 0.0
    figures = max(1, digits + int(math.floor(math.log10(abs(value)))) + 1)  # `significant_digits`
    return 0.0 if figures < MIN_WRITTEN_SIGFIGS else 10.0 ** -digits
