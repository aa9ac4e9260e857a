"""The shop UI's adapters: form text → the REST API's bodies (validated by the same inputs
functions), a part's JSON → the board's badge fields, the weight budget and cut list as shown."""

from __future__ import annotations

from typing import Any

import pytest

from aerie_app.errors import InvalidValue
from aerie_app.models import Machine, StockItem
from aerie_app.pages.cutlist import group_view
from aerie_app.pages.stats import weight_view
from aerie_app.services.shop.inputs import machine_input, stock_input
from aerie_app.state.board import fits_query, shop_row
from aerie_app.state.shop import (
    MACHINE_ERRORS,
    machine_body,
    machine_values,
    stock_body,
    stock_values,
)

pytestmark = pytest.mark.unit

ROUTER_FORM = {
    "name": "Router",
    "process": "router",
    "x": "24 in",
    "y": "48 in",
    "z": "",
    "materials": "aluminium, polycarbonate; hdpe",
    "min_t": "",
    "max_t": "1 in",
    "margin": "1/4 in",
    "enabled": "on",
}


def test_machine_form_becomes_the_api_body() -> None:
    data = machine_input(machine_body(ROUTER_FORM), partial=False)
    assert data["envelope_x_mm"] == 609.6 and data["envelope_y_mm"] == 1219.2
    assert data["envelope_z_mm"] is None and data["units"] == "in"
    assert data["materials"] == ["aluminium", "polycarbonate", "hdpe"]
    assert data["max_thickness_mm"] == 25.4 and data["min_thickness_mm"] is None
    assert data["margin_mm"] == 6.35 and data["enabled"] is True


def test_machine_form_round_trips_through_its_values() -> None:
    data = machine_input(machine_body(ROUTER_FORM), partial=False)
    again = machine_input(machine_body(machine_values(Machine(id=1, **data))), partial=False)
    assert again == data


def test_lathe_and_hand_envelopes() -> None:
    lathe = machine_body(ROUTER_FORM | {"process": "lathe", "x": "150", "y": "400 mm"})
    assert lathe["envelopeMm"] == {"diameter": "150", "length": "400 mm"}
    hand = machine_body(ROUTER_FORM | {"process": "hand", "x": "", "y": ""})
    assert hand["envelopeMm"] is None
    assert machine_input(hand, partial=False)["envelope_x_mm"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"x": "a hundred"}, "x"),
        ({"y": ""}, "y"),
        ({"max_t": "-1"}, "max_t"),
        ({"materials": "aluminium, unobtainium"}, "materials"),
        ({"margin": "2 m"}, "margin"),
        ({"name": "  "}, "name"),
    ],
)
def test_a_refused_machine_value_names_its_form_field(change: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        machine_input(machine_body(ROUTER_FORM | change), partial=False)
    raw = str(caught.value.details["field"])
    assert MACHINE_ERRORS.get(raw.split("[")[0]) == field


def test_stock_form_becomes_the_api_body() -> None:
    form = {"material": "6061", "kind": "sheet", "thickness": '1/8"', "x": "24 in", "y": "48 in"}
    data = stock_input(stock_body(form | {"count": "3"}), partial=False)
    assert data == {
        "material": "aluminium 6061",
        "kind": "sheet",
        "thickness_mm": 3.175,
        "size_x_mm": 609.6,
        "size_y_mm": 1219.2,
        "count": 3,
    }
    assert stock_values(StockItem(id=1, **data))["thickness"] == "1/8 in"
    bar = stock_input(
        stock_body({"material": "acetal", "kind": "bar", "thickness": "3 mm", "x": "36 in"}),
        partial=False,
    )
    assert bar["size_y_mm"] is None and bar["count"] == 0
    with pytest.raises(InvalidValue) as caught:
        stock_input(stock_body(form | {"count": "two"}), partial=False)
    assert caught.value.details["field"] == "count"


def _part(**extra: Any) -> dict[str, Any]:
    return {
        "type": "cnc",
        "geometry": {"stockMm": [120, 80, 6], "volumeMm3": 1.0, "massG": 440.4},
        "measuredMassG": None,
        "thicknessLabel": "6 mm",
        "fit": {"status": "none", "machines": [], "reason": "120 mm > 100 mm Jet bed by 20 mm"},
        "stock": None,
        "stockReason": "No stock of 6 mm mild steel",
        "duplicateOf": None,
    } | extra


def test_board_row_says_why_a_part_fits_nothing() -> None:
    row = shop_row(_part())
    assert row["fit"] == "none" and row["fitReason"].startswith("120 mm > 100 mm")
    assert row["fitsNothing"] is True and row["mass"] == "440 g"
    assert shop_row(_part(type="misc"))["fitsNothing"] is False  # bought: never asks


def test_board_row_of_a_fitting_weighed_duplicate() -> None:
    row = shop_row(
        _part(
            fit={
                "status": "fits",
                "machines": [{"id": 1, "name": "Router"}, {"id": 2, "name": "Jet"}],
            },
            stock={"id": 4, "label": "1/4 in aluminium 6061 sheet, 24 × 48 in"},
            measuredMassG=1250.0,
            duplicateOf={"id": 7, "partId": "P-0123", "name": "Side plate"},
        )
    )
    assert row["fitMachines"] == "Router, Jet" and row["fitsNothing"] is False
    assert row["stockMatch"].startswith("1/4 in") and row["mass"] == "1.25 kg weighed"
    assert (row["duplicateId"], row["duplicateText"]) == (7, "P-0123 (Side plate)")
    assert shop_row({"fit": None, "geometry": None})["fit"] == "no_model"


def test_fits_menu_is_the_api_parameter() -> None:
    assert fits_query("none") == "none"
    assert fits_query("12") == 12
    assert fits_query("") is None and fits_query("__all__") is None


def test_weight_view_puts_the_whole_robot_first() -> None:
    view = weight_view(
        {
            "limitG": 56699.0,
            "totalG": 60000.0,
            "estimatedG": 40000.0,
            "measuredG": 20000.0,
            "marginG": -3301.0,
            "partsWithoutMass": 2,
            "subsystems": [
                {
                    "subsystem": "Drive",
                    "totalG": 60000.0,
                    "estimatedG": 40000.0,
                    "measuredG": 20000.0,
                    "parts": 5,
                    "partsWithoutMass": 2,
                }
            ],
        }
    )
    assert [b["name"] for b in view["bars"]] == ["Whole robot", "Drive"]
    assert view["bars"][0] == {"name": "Whole robot", "Measured": 20.0, "Estimated": 40.0}
    assert view["totals"]["margin"].endswith("over") and view["limit"] == 56.7
    assert view["totals"]["measured_share"] == "33 % weighed"


def test_cut_list_group_as_shown() -> None:
    group = {
        "material": "aluminium 6061",
        "thicknessLabel": "1/4 in",
        "count": 5,
        "areaMm2": 48000.0,
        "marginMm": 6.35,
        "stock": {"label": "1/4 in aluminium 6061 sheet, 24 × 48 in", "onHand": 1},
        "sheetsNeeded": 3,
        "shortBy": 2,
        "piecesTooLarge": 0,
        "parts": [
            {
                "id": 1,
                "partId": "P-1",
                "name": "Plate",
                "count": 5,
                "footprintMm": [120, 80],
                "areaMm2": 48000.0,
            }
        ],
    }
    view = group_view(group)
    assert view["title"] == "1/4 in aluminium 6061"
    assert view["sheets"] == "3 of 1/4 in aluminium 6061 sheet, 24 × 48 in (1 on hand, 2 short)"
    assert view["area"] == "480 cm²" and view["parts"][0]["footprint"] == "120 × 80 mm"
    assert group_view(group | {"stock": None, "sheetsNeeded": None})["sheets"].startswith(
        "no matching"
    )
