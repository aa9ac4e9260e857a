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


def test_a_models_box_reads_the_same_everywhere() -> None:
    """Part page, board and 3D viewer: the model's own X × Y × Z, in order, fixed decimals."""
    import re
    from pathlib import Path

    from aerie_app.state.board import _stock
    from aerie_app.state.part import _facts
    from aerie_app.units import DIMS_IN_PLACES, DIMS_MM_PLACES, model_dims_in, model_dims_mm

    box = {"x": 36.834, "y": 21.776, "z": 12.409}
    assert model_dims_mm([36.834, 21.776, 12.409]) == "36.83 × 21.78 × 12.41 mm"
    assert model_dims_in([36.834, 21.776, 12.409]) == "1.450 × 0.857 × 0.489 in"
    facts = {row["k"]: row["v"] for row in _facts({"bbox_mm": box}, None)}
    assert facts["Stock size"] == "36.83 × 21.78 × 12.41 mm"
    # The board keeps the model's order (no longer longest first) and the same decimals.
    assert _stock({"stockMm": [36.834, 21.776, 12.409]}) == "36.83 × 21.78 × 12.41 mm"
    assert _stock({"stockMm": [300.0, 300.0, 4.0]}) == "300.00 × 300.00 × 4.00 mm"
    assert _stock(None) == ""
    # The viewer (JavaScript) formats with the same decimals.
    viewer = (Path(__file__).resolve().parents[2] / "assets" / "viewer.jsx").read_text()
    assert re.search(rf"const DIMS_MM_PLACES = {DIMS_MM_PLACES};", viewer)
    assert re.search(rf"const DIMS_IN_PLACES = {DIMS_IN_PLACES};", viewer)
    # ...and turns glTF's Y-up box back into the model's Z-up axes (its Y is glTF's Z).
    assert "y: size.z * 1000, z: size.y * 1000" in viewer
