"""Sheets needed, checked against cases counted by hand."""

from __future__ import annotations

import random

import pytest

from aerie_app.services.shop.cutlist import pack_sheets

pytestmark = pytest.mark.unit


def test_ten_squares_four_to_a_sheet() -> None:
    # 50 × 50 on 100 × 100: a 2 × 2 grid per sheet, so 10 pieces take 4 + 4 + 2 = 3 sheets.
    packing = pack_sheets([(50, 50)] * 10, (100, 100))
    assert (packing.sheets, packing.placed, packing.unplaced) == (3, 10, 0)


def test_margin_inflates_every_footprint() -> None:
    # 45 mm squares with a 5 mm margin are 50 mm squares: still four a sheet.
    assert pack_sheets([(45, 45)] * 10, (100, 100), margin=5).sheets == 3
    # With 6 mm they are 51 mm: only one fits a 100 mm sheet, so ten sheets.
    assert pack_sheets([(45, 45)] * 10, (100, 100), margin=6).sheets == 10


def test_mixed_sizes_fill_sheets_exactly() -> None:
    # Two 100 × 50 strips fill one sheet; four 50 × 50 squares fill another: 2 sheets, none wasted.
    assert pack_sheets([(100, 50)] * 2 + [(50, 50)] * 4, (100, 100)).sheets == 2


def test_turned_pieces_fit() -> None:
    # 1200 × 300 pieces fit a 609.6 × 1219.2 (24 × 48 in) sheet only turned: two a sheet.
    assert pack_sheets([(300, 1200)] * 4, (1219.2, 609.6)).sheets == 2


def test_pieces_larger_than_the_sheet_are_counted_apart() -> None:
    packing = pack_sheets([(150, 10), (50, 50)], (100, 100))
    assert (packing.sheets, packing.placed, packing.unplaced) == (1, 1, 1)
    assert pack_sheets([], (100, 100)).sheets == 0


def test_never_fewer_sheets_than_the_area_needs() -> None:
    rng = random.Random(12)
    pieces = [(rng.uniform(20, 300), rng.uniform(20, 300)) for _ in range(200)]
    sheet = (609.6, 1219.2)
    packing = pack_sheets(pieces, sheet, margin=3)
    area = sum((w + 3) * (h + 3) for w, h in pieces)
    assert packing.sheets >= area / (sheet[0] * sheet[1])
    assert packing.sheets <= 2 * area / (sheet[0] * sheet[1]) + 1
