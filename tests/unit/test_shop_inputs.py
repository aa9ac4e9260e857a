"""Machine, stock and settings bodies: what is taken, and the 422 (naming the field) for the rest."""

from __future__ import annotations

from typing import Any

import pytest

from aerie_app.errors import InvalidValue
from aerie_app.models import Process
from aerie_app.services.shop.inputs import machine_input, stock_input, weight_limit_kg

pytestmark = pytest.mark.unit
ROUTER = {
    "name": "Router",
    "process": "router",
    "envelopeMm": {"x": "24 in", "y": "48 in", "z": 50.8},
}


def test_machine_in_inches_is_an_inch_machine() -> None:
    data = machine_input(ROUTER | {"materials": ["6061", "Lexan", "HDPE"]}, partial=False)
    assert data["envelope_x_mm"] == pytest.approx(609.6)
    assert data["units"] == "in"
    assert data["materials"] == ["aluminium 6061", "polycarbonate", "hdpe"]
    assert data["enabled"] is True and data["margin_mm"] == 0.0


def test_lathe_takes_diameter_and_length() -> None:
    data = machine_input(
        {"name": "Lathe", "process": "LATHE", "envelopeMm": {"diameter": 150, "length": 400}},
        partial=False,
    )
    assert (data["envelope_x_mm"], data["envelope_y_mm"], data["envelope_z_mm"]) == (150, 400, None)


def test_hand_process_needs_no_envelope() -> None:
    data = machine_input({"name": "Bench", "process": "hand"}, partial=False)
    assert data["envelope_x_mm"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (ROUTER | {"envelopeMm": {"x": 0, "y": 10}}, "envelopeMm.x"),
        (ROUTER | {"envelopeMm": {"x": -5, "y": 10}}, "envelopeMm.x"),
        (ROUTER | {"envelopeMm": {"x": 10_001, "y": 10}}, "envelopeMm.x"),
        (ROUTER | {"envelopeMm": {"x": "11 m", "y": 10}}, "envelopeMm.x"),
        (ROUTER | {"envelopeMm": {"x": "a lot", "y": 10}}, "envelopeMm.x"),
        (ROUTER | {"envelopeMm": {"x": 10}}, "envelopeMm.y"),
        (ROUTER | {"envelopeMm": None}, "envelopeMm"),
        (ROUTER | {"process": "plasma"}, "process"),
        (ROUTER | {"materials": ["6061", "unobtainium"]}, "materials[1]"),
        (ROUTER | {"materials": "6061"}, "materials"),
        (ROUTER | {"marginMm": -1}, "marginMm"),
        (ROUTER | {"enabled": "yes"}, "enabled"),
        (ROUTER | {"name": ""}, "name"),
        (ROUTER | {"units": "furlong"}, "units"),
        ([], "body"),
    ],
)
def test_bad_machine_is_422(body: Any, field: str) -> None:
    with pytest.raises(InvalidValue) as err:
        machine_input(body, partial=False)
    assert err.value.status_code == 422
    assert err.value.details["field"] == field


def test_machine_update_is_partial() -> None:
    assert machine_input({"enabled": False}, partial=True, current_process=Process.ROUTER) == {
        "enabled": False
    }
    with pytest.raises(InvalidValue):
        machine_input({}, partial=True, current_process=Process.ROUTER)
    with pytest.raises(InvalidValue, match="Validation failed"):
        machine_input({"process": "lathe"}, partial=True, current_process=Process.ROUTER)


def test_stock_sheet_and_bar() -> None:
    sheet = stock_input(
        {
            "material": "6061-T6",
            "thickness": '1/4"',
            "sizeMm": {"x": "24 in", "y": "48 in"},
            "count": 3,
        },
        partial=False,
    )
    assert sheet == {
        "material": "aluminium 6061",
        "kind": "sheet",
        "thickness_mm": pytest.approx(6.35),
        "size_x_mm": pytest.approx(609.6),
        "size_y_mm": pytest.approx(1219.2),
        "count": 3,
    }
    bar = stock_input(
        {"material": "Delrin", "kind": "bar", "diameterMm": 25.4, "sizeMm": {"length": "36 in"}},
        partial=False,
    )
    assert bar["kind"] == "bar" and bar["size_y_mm"] is None and bar["count"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"thickness": "thick"}, "thickness"),
        ({"thickness": 0}, "thickness"),
        ({"material": "cheese"}, "material"),
        ({"kind": "roll"}, "kind"),
        ({"sizeMm": {"x": 10}}, "sizeMm.y"),
        ({"sizeMm": [1, 2]}, "sizeMm"),
        ({"count": -1}, "count"),
        ({"count": 1.5}, "count"),
    ],
)
def test_bad_stock_is_422(change: dict[str, Any], field: str) -> None:
    body = {"material": "6061", "thickness": "1/8 in", "sizeMm": {"x": 300, "y": 300}} | change
    with pytest.raises(InvalidValue) as err:
        stock_input(body, partial=False)
    assert err.value.details["field"] == field


@pytest.mark.parametrize(
    ("body", "kg"),
    [
        ({"weightLimitKg": 56.7}, 56.7),
        ({"weightLimitLb": 125}, 56.699),
        ({"weightLimit": "125 lb"}, 56.699),
        ({"weightLimit": "50 kg"}, 50.0),
    ],
)
def test_weight_limit(body: dict[str, Any], kg: float) -> None:
    assert weight_limit_kg(body) == pytest.approx(kg, abs=1e-3)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"weightLimitKg": 0},
        {"weightLimitKg": -1},
        {"weightLimitKg": True},
        {"weightLimit": "heavy"},
    ],
)
def test_bad_weight_limit(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue):
        weight_limit_kg(body)
