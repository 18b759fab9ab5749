"""Tolerances, and comparing a submitted array with the expected one.

Modes (FORMAT.md section 3): `rtol`/`atol` (|s − t| ≤ atol + rtol·|t| for
every entry), `sigfigs: n` and `decimals: n` (within half a unit in the last
required digit). The defaults suit hand arithmetic to 3–4 significant
figures: rtol = 5e-3, and an automatic atol of 1e-3 × the largest |entry| of
the expected quantity, so that an exact zero (a dead ReLU's gradient) is
graded by the scale of its neighbours rather than by its own, non-existent
magnitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_RTOL = 5e-3
AUTO_ATOL = 1e-3  # × the largest |entry| of the expected quantity
ATOL_FLOOR = 1e-9  # when every expected entry is 0
SLACK = 1e-9  # float slack on the half-unit bounds


@dataclass(frozen=True)
class Tolerance:
    rtol: float = DEFAULT_RTOL
    atol: float | None = None  # None: automatic
    sigfigs: int | None = None
    decimals: int | None = None

    @classmethod
    def from_spec(cls, *layers: dict | None) -> "Tolerance":
        """Merge tolerance mappings, later ones winning (problem, then question)."""
        merged: dict = {}
        for layer in layers:
            if layer:
                # the later layer's mode wins: digits replace digits, rtol/atol replace digits
                if "sigfigs" in layer or "decimals" in layer or "rtol" in layer or "atol" in layer:
                    merged.pop("sigfigs", None)
                    merged.pop("decimals", None)
                merged.update(layer)
        return cls(rtol=float(merged.get("rtol", DEFAULT_RTOL)),
                   atol=float(merged["atol"]) if "atol" in merged else None,
                   sigfigs=merged.get("sigfigs"), decimals=merged.get("decimals"))

    def describe(self) -> str:
        if self.sigfigs is not None:
            return f"{self.sigfigs} significant figures"
        if self.decimals is not None:
            return f"{self.decimals} decimal places"
        atol = "auto" if self.atol is None else f"{self.atol:g}"
        return f"rtol {self.rtol:g}, atol {atol}"

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

    def accepts(self, expected: np.ndarray, submitted: np.ndarray) -> np.ndarray:
        """Elementwise: is each submitted entry close enough?"""
        e = np.asarray(expected, dtype=float)
        s = np.asarray(submitted, dtype=float)
        with np.errstate(invalid="ignore"):
            ok = np.abs(s - e) <= self.bound(e)
        return ok & np.isfinite(s)


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

