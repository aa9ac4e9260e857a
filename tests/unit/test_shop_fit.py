"""The fit rules: orientations per process, material, thickness, nearest miss, stock match."""

from __future__ import annotations

import pytest

from aerie_app.models import FitStatus, Process, StockKind
from aerie_app.services.shop.fit import (
    MachineSpec,
    PartShape,
    StockSpec,
    fit_part,
    match_stock,
    part_thickness,
    plate_thickness,
)

pytestmark = pytest.mark.unit
IN = 25.4
ROUTER = MachineSpec(
    1,
    "Router",
    Process.ROUTER,
    24 * IN,
    48 * IN,
    2 * IN,
    "in",
    ("aluminium", "polycarbonate"),
    None,
    IN,
    6.35,
)
LASER = MachineSpec(2, "Laser", Process.LASER, 100.0, 100.0, 10.0, "mm", (), None, 6.0, 2.0)
PRINTER = MachineSpec(3, "Printer", Process.PRINTER, 250.0, 200.0, 100.0)
LATHE = MachineSpec(4, "Lathe", Process.LATHE, 50.0, 300.0, None)


def plate(
    x: float, y: float, z: float, material: str = "6061 Aluminum", thickness: float | None = None
) -> PartShape:
    return PartShape(
        (x, y, z), material, thickness if thickness is not None else plate_thickness((x, y, z))
    )


def test_plate_fits_router_turned_in_the_bed() -> None:
    # 1200 × 600 fits a 24 × 48 in bed only turned; the 6 mm axis stands on Z.
    result = fit_part(plate(1200, 600, 6), [ROUTER])
    assert result.status is FitStatus.FITS
    assert [m.name for m in result.machines] == ["Router"]


def test_plate_standing_on_edge_in_the_model_still_fits() -> None:
    # Modelled on its edge (thickness along X): the thickness axis is found, not assumed.
    assert fit_part(plate(6, 1200, 600), [ROUTER]).status is FitStatus.FITS


def test_nearest_miss_in_machine_units() -> None:
    result = fit_part(plate(620, 700, 6), [ROUTER, LASER])
    assert result.status is FitStatus.NONE
    # Turned either way, 620 mm is too wide for the router's 24 in (X) by 10.4 mm; the laser
    # misses by far more.
    assert result.reason == "620 mm > 24 in Router bed by 10.4 mm on X"


def test_metric_machine_reason_in_mm() -> None:
    result = fit_part(plate(120, 80, 3, material="plywood"), [LASER])
    assert result.reason == "120 mm > 100 mm Laser bed by 20 mm on Y"


def test_material_the_machine_does_not_cut() -> None:
    result = fit_part(plate(100, 50, 6, material="Mild steel"), [ROUTER])
    assert result.status is FitStatus.NONE
    assert result.reason == "Router does not cut mild steel"


def test_alloy_matches_its_family_and_generic_material_is_accepted() -> None:
    assert fit_part(plate(100, 50, 6, material="7075-T6"), [ROUTER]).status is FitStatus.FITS
    assert fit_part(plate(100, 50, 6, material="Aluminum"), [ROUTER]).status is FitStatus.FITS


def test_thickness_range() -> None:
    result = fit_part(plate(50, 50, 8, material="acrylic"), [LASER])
    assert result.status is FitStatus.NONE
    assert result.reason == "8 mm > Laser max thickness 6 mm by 2 mm"


def test_printer_takes_any_orientation() -> None:
    # 240 × 90 × 190 fits 250 × 200 × 100 as (240→X, 190→Y, 90→Z).
    shape = PartShape((240, 90, 190), "PLA", None)
    assert fit_part(shape, [PRINTER]).status is FitStatus.FITS
    too_tall = PartShape((240, 210, 190), "PLA", None)
    # Every axis that misses is named, the largest miss first.
    assert fit_part(too_tall, [PRINTER]).reason == (
        "190 mm > 100 mm Printer build volume by 90 mm on Z; "
        "210 mm > 200 mm Printer build volume by 10 mm on Y"
    )


def test_lathe_diameter_and_length() -> None:
    assert fit_part(PartShape((40, 40, 280), "aluminium", None), [LATHE]).status is FitStatus.FITS
    result = fit_part(PartShape((60, 40, 280), "aluminium", None), [LATHE])
    assert result.reason == "60 mm > 50 mm Lathe max diameter by 10 mm"


def test_nearest_miss_prefers_a_single_small_envelope_miss() -> None:
    # Router: too long by 10 mm; laser: wrong size by far and no range problem.
    result = fit_part(plate(1229.2, 100, 6), [LASER, ROUTER])
    assert result.reason == "1229.2 mm > 48 in Router bed by 10 mm on Y"


def test_no_model_never_fits_and_no_machines_is_unknown() -> None:
    assert fit_part(PartShape(None, "6061", 6.35), [ROUTER]).status is FitStatus.NO_MODEL
    assert fit_part(plate(10, 10, 1), []).status is FitStatus.UNKNOWN


def test_part_thickness_prefers_the_typed_one() -> None:
    assert part_thickness("1/4 in", (100, 50, 6)) == pytest.approx(6.35)
    assert part_thickness("thick", (100, 50, 6)) == 6
    assert part_thickness(None, (100, 90, 80)) is None  # a block, not a plate
    assert part_thickness(None, None) is None


SHEETS = [
    StockSpec(10, "aluminium 6061", 6.35, StockKind.SHEET, 24 * IN, 48 * IN, 2),
    StockSpec(11, "aluminium 6061", 6.35, StockKind.SHEET, 12 * IN, 12 * IN, 1),
    StockSpec(12, "polycarbonate", 3.175, StockKind.SHEET, 300, 300, 0),
    StockSpec(13, "acetal", 25.4, StockKind.BAR, 36 * IN, None, 1),
]


def test_stock_match_smallest_sheet_that_holds_it() -> None:
    stock, reason = match_stock(plate(200, 100, 6.35, thickness=6.35), SHEETS)
    assert stock is not None and stock.id == 11 and reason is None
    big, _ = match_stock(plate(500, 100, 6.35, thickness=6.35), SHEETS)
    assert big is not None and big.id == 10


def test_stock_within_a_tenth_of_a_millimetre() -> None:
    stock, _ = match_stock(plate(200, 100, 6.3, thickness=6.3), SHEETS)
    assert stock is not None and stock.id == 11


def test_no_stock_of_that_thickness() -> None:
    stock, reason = match_stock(
        plate(100, 100, 4.7625, material="Polycarb", thickness=4.7625), SHEETS
    )
    assert stock is None
    assert reason == "No stock of 3/16 in polycarbonate"


def test_stock_too_small_and_none_on_hand() -> None:
    stock, reason = match_stock(plate(400, 100, 3.175, material="lexan", thickness=3.175), SHEETS)
    assert stock is None and reason is not None and "too small for 400 × 100 mm" in reason
    stock, reason = match_stock(plate(200, 100, 3.175, material="lexan", thickness=3.175), SHEETS)
    assert stock is not None and stock.id == 12
    assert reason == "None on hand: 1/8 in polycarbonate sheet, 300 × 300 mm"


def test_bar_stock_by_diameter_and_length() -> None:
    stock, _ = match_stock(PartShape((25, 25, 500), "Delrin", 25.4), SHEETS)
    assert stock is not None and stock.id == 13
