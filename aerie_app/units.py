"""Lengths as teams write them: parsing thicknesses ("1/8\"", "0.25in", "6 mm"), inch names, labels."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache

MM_PER_IN = 25.4
# A thickness is shown by its inch name when one is this close (a 1/4 in sheet is 6.35 mm).
NAME_TOLERANCE_MM = 0.05
# Decimal names of sheet thicknesses teams buy by the thousandth (0.090 in aluminium).
DECIMAL_INCHES = (0.030, 0.040, 0.050, 0.060, 0.080, 0.090, 0.100)

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PATTERN = re.compile(
    rf"""^\s*
    (?:(?P<whole>\d+)(?:\s+|\s*-\s*)(?=\d+\s*/))?     # the 1 of "1 1/2" or "1-1/2"
    (?:(?P<num>\d+)\s*/\s*(?P<den>\d+)|(?P<dec>{_NUMBER}))
    \s*(?P<unit>mm|millimet(?:er|re)s?|cm|in|inch|inches|"|''|″)?\.?
    \s*(?:thick|thk)?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)


@lru_cache(maxsize=4096)
def parse_length_mm(text: str) -> float | None:
    """Millimetres from a length as typed, or None if it is not one.

    Inches: ``1/8"``, ``1/4 in``, ``0.25in``, ``.125"``, ``1 1/2 in``; a bare fraction (``3/16``) is
    inches too, as nobody writes fractions of millimetres. Millimetres: ``6 mm``, ``6mm``, ``0.6 cm``,
    and a bare decimal number (``6``). A decimal comma (``6,35 mm``) is read as a point.
    """
    if not isinstance(text, str) or len(text) > 60:
        return None
    cleaned = text.strip().replace(",", ".") if "." not in text else text.strip()
    match = _PATTERN.match(cleaned)
    if match is None:
        return None
    unit = (match["unit"] or "").lower()
    if match["num"] is not None:
        den = int(match["den"])
        if den == 0:
            return None
        value = int(match["whole"] or 0) + int(match["num"]) / den
        unit = unit or "in"
    else:
        value = float(match["dec"])
    if unit in ("in", "inch", "inches", '"', "''", "″"):
        value *= MM_PER_IN
    elif unit == "cm":
        value *= 10
    if not math.isfinite(value) or value <= 0:
        return None
    return round(value, 4)


@lru_cache(maxsize=1024)
def inch_name(mm: float) -> str | None:
    """The inch name teams use for this thickness (``1/4 in``, ``1 1/2 in``, ``0.090 in``), if one
    is within 0.05 mm."""
    if not math.isfinite(mm) or mm <= 0:
        return None
    inches = mm / MM_PER_IN
    nearest = Fraction(round(inches * 32), 32)
    if nearest > 0 and abs(float(nearest) * MM_PER_IN - mm) <= NAME_TOLERANCE_MM:
        whole, part = divmod(nearest, 1)
        if part == 0:
            return f"{whole} in"
        fraction = f"{part.numerator}/{part.denominator}"
        return f"{whole} {fraction} in" if whole else f"{fraction} in"
    for value in DECIMAL_INCHES:
        if abs(value * MM_PER_IN - mm) <= NAME_TOLERANCE_MM:
            return f"{value:.3f} in"
    return None


def number(value: float, places: int = 2) -> str:
    """A number as people read it: at most ``places`` decimals, no trailing zeros (``6.35``, ``120``)."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def thickness_label(mm: float) -> str:
    """``1/4 in`` when a common inch name fits, else ``6 mm``."""
    return inch_name(mm) or f"{number(mm)} mm"


def is_inch_size(mm: float) -> bool:
    """Whether a size is a whole number of eighths of an inch (a 24 in bed, a 48 in sheet)."""
    eighths = mm / MM_PER_IN * 8
    # Tighter than a thickness name: 200 mm is 7.874 in, and nobody calls it 7 7/8 in.
    return abs(eighths - round(eighths)) * MM_PER_IN / 8 <= 0.01 and eighths >= 1


def length_label(mm: float, units: str) -> str:
    """A machine or sheet size in its own units: ``24 in`` or ``600 mm``."""
    if units == "in":
        return f"{number(mm / MM_PER_IN, 3)} in"
    return f"{number(mm, 1)} mm"


def size_label(sizes: list[float]) -> str:
    """``24 × 48 in`` when every size is a whole number of eighths of an inch, else ``600 × 400 mm``."""
    if sizes and all(is_inch_size(s) for s in sizes):
        return " × ".join(number(s / MM_PER_IN, 3) for s in sizes) + " in"
    return " × ".join(number(s, 1) for s in sizes) + " mm"


# A model's box, wherever it is shown (part page, 3D viewer overlay, board): its own X × Y × Z in
# the STEP file's axes, in that order, always with these decimals. assets/viewer.jsx writes the
# same (DIMS_MM_PLACES / DIMS_IN_PLACES there); a test holds the two together.
DIMS_MM_PLACES = 2
DIMS_IN_PLACES = 3


def model_dims_mm(dims: list[float]) -> str:
    """``36.83 × 21.78 × 12.41 mm``: a model's box on its own axes."""
    return " × ".join(f"{d:.{DIMS_MM_PLACES}f}" for d in dims) + " mm"


def model_dims_in(dims: list[float]) -> str:
    """``1.450 × 0.857 × 0.489 in``: the same box in inches."""
    return " × ".join(f"{d / MM_PER_IN:.{DIMS_IN_PLACES}f}" for d in dims) + " in"
