"""Lengths as teams type them, and the inch names Aerie shows."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aerie_app.units import (
    inch_name,
    is_inch_size,
    parse_length_mm,
    size_label,
    thickness_label,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "mm"),
    [
        ('1/8"', 3.175),
        ("1/4 in", 6.35),
        ("0.25in", 6.35),
        ('.125"', 3.175),
        ("6 mm", 6.0),
        ("6mm", 6.0),
        ("3/16", 4.7625),
        ("1 1/2 in", 38.1),
        ('1-1/2"', 38.1),
        ("6,35 mm", 6.35),
        ("0.6 cm", 6.0),
        ("12", 12.0),
        ('1/4" thick', 6.35),
        ("  1/4 INCH ", 6.35),
        ("0.090 in", 2.286),
    ],
)
def test_parse_length(text: str, mm: float) -> None:
    assert parse_length_mm(text) == pytest.approx(mm)


@pytest.mark.parametrize(
    "text", ["", "abc", "0", "-3 mm", "1/0", "3/16 furlongs", "6 mm 7", "x" * 100]
)
def test_unparseable_length_is_none(text: str) -> None:
    assert parse_length_mm(text) is None


@pytest.mark.parametrize(
    ("mm", "name"),
    [
        (1.5875, "1/16 in"),
        (3.175, "1/8 in"),
        (4.7625, "3/16 in"),
        (6.35, "1/4 in"),
        (6.3, "1/4 in"),  # within 0.05 mm
        (12.7, "1/2 in"),
        (25.4, "1 in"),
        (38.1, "1 1/2 in"),
        (2.286, "0.090 in"),
        (6.0, None),
        (3.0, None),
        (12.0, None),
    ],
)
def test_inch_names(mm: float, name: str | None) -> None:
    assert inch_name(mm) == name


def test_labels() -> None:
    assert thickness_label(6.35) == "1/4 in"
    assert thickness_label(6.0) == "6 mm"
    assert size_label([609.6, 1219.2]) == "24 × 48 in"
    assert size_label([600.0, 400.0]) == "600 × 400 mm"
    assert not is_inch_size(200.0)  # 7.874 in is nobody's inch size


@given(st.integers(min_value=1, max_value=128))
def test_fractions_roundtrip(thirty_seconds: int) -> None:
    value = Fraction(thirty_seconds, 32)
    text = f"{value.numerator}/{value.denominator} in"
    mm = parse_length_mm(text)
    assert mm == pytest.approx(float(value) * 25.4, abs=1e-3)
    assert inch_name(mm) is not None


@given(st.text(max_size=30))
def test_parse_never_raises(text: str) -> None:
    result = parse_length_mm(text)
    assert result is None or result > 0
