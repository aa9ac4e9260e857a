"""Input normalisation: camelCase or snake_case, limits, sanitising; never anything but a 400."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aerie_app.errors import ValidationFailed
from aerie_app.schemas import normalize_part_input, sanitize_filename
from aerie_app.services.search import fold

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "etc_passwd"),
        ("Probe Bracket v2.step", "Probe_Bracket_v2.step"),
        ("..\\..\\win.ini", "win.ini"),
        (".hidden.step", "hidden.step"),
        ("Bügel Halter.STEP", "Bugel_Halter.STEP"),
        ("日本.step", "file.step"),
        ("", "file"),
    ],
)
def test_sanitize_filename(raw: str, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_long_filename_keeps_extension() -> None:
    name = sanitize_filename("a" * 300 + ".step")
    assert len(name) <= 120
    assert name.endswith(".step")


def test_camel_and_snake_are_the_same() -> None:
    camel = normalize_part_input(
        {"material": "Al", "subsystem": "x", "materialThickness": "1/4", "onshapeUrl": "u"},
        partial=False,
    )
    snake = normalize_part_input(
        {"material": "Al", "subsystem": "x", "material_thickness": "1/4", "onshape_url": "u"},
        partial=False,
    )
    assert camel == snake


def test_control_characters_stripped_and_trimmed() -> None:
    out = normalize_part_input(
        {"material": " Al\x00\x07 ", "subsystem": "x", "notes": "line1\nline2\x1b"}, partial=False
    )
    assert out["material"] == "Al"
    assert out["notes"] == "line1\nline2"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"name": "x"}, "material"),
        ({"material": "Al"}, "subsystem"),
        ({"material": "", "subsystem": "x"}, "material"),
        ({"material": "Al", "subsystem": "x", "amount": 0}, "amount"),
        ({"material": "Al", "subsystem": "x", "amount": "two"}, "amount"),
        ({"material": "Al", "subsystem": "x", "amount": True}, "amount"),
        ({"material": "Al", "subsystem": "x", "type": "laserbeam"}, "type"),
        ({"material": "Al", "subsystem": "x", "name": "n" * 201}, "name"),
        ({"material": "Al", "subsystem": "x", "miscInfo": [1]}, "miscInfo"),
        ({"material": ["Al"], "subsystem": "x"}, "material"),
    ],
)
def test_create_validation_names_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        normalize_part_input(body, partial=False)
    assert err.value.details["field"] == field


def test_numeric_string_amount_accepted() -> None:
    assert normalize_part_input({"amount": "3"}, partial=True) == {"amount": 3}


def test_unicode_fold() -> None:
    assert fold("ÜNÏCØDÉ") == fold("ünïcødé")
    assert fold("Straße") == "strasse"


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "name",
                "material",
                "subsystem",
                "amount",
                "type",
                "miscInfo",
                "notes",
                "partId",
                "materialThickness",
                "assigned",
                "file",
                "status",
                "claimedDate",
                "junk",
            ]
        ),
        JSONISH,
        max_size=8,
    ),
    st.booleans(),
)
def test_any_input_is_accepted_or_a_validation_error(body: dict[str, Any], partial: bool) -> None:
    try:
        out = normalize_part_input(body, partial=partial)
    except ValidationFailed as err:
        assert err.status_code == 400
        assert set(err.details) == {"field", "message"}
        return
    for key, value in out.items():
        if isinstance(value, str):
            assert len(value) <= 5000
            assert "\x00" not in value
        if key == "amount":
            assert isinstance(value, int) and value >= 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"miscInfo": {"serial": 2**64}}, "miscInfo"),
        ({"miscInfo": {"ratio": float("nan")}}, "miscInfo"),
        ({"miscInfo": {"ratio": float("inf")}}, "miscInfo"),
        ({"claimedDate": "0001-01-01T00:00:00+14:00"}, "claimed_date"),
        ({"status": "Lost in the shop"}, "status"),
        ({"category": "attic"}, "category"),
    ],
)
def test_unstorable_values_are_refused_by_the_core_too(body: dict[str, Any], field: str) -> None:
    # The UI calls normalize_part_input without the API's boundary checks in front of it.
    with pytest.raises(ValidationFailed) as caught:
        normalize_part_input(body, partial=True)
    assert caught.value.field == field


def test_update_status_is_spelled_as_aerie_spells_it() -> None:
    out = normalize_part_input({"status": "in progress", "category": "COMPLETED"}, partial=True)
    assert (out["_status"], out["_category"]) == ("In Progress", "completed")


def test_claimed_date_is_stored_as_utc() -> None:
    out = normalize_part_input({"claimedDate": "2026-01-12T10:00:00-05:00"}, partial=True)
    assert out["claimed_date"].isoformat() == "2026-01-12T15:00:00+00:00"
