"""CSV export of a board view: the list's own filters, every matching part, text kept text."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.api


def _rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # spreadsheets read it as UTF-8
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_export_has_every_matching_part_with_the_lists_filters(api: Api) -> None:
    for i in range(3):
        api.create(name=f"Intake plate {i}", subsystem="Intake", material="6061")
    api.create(name="Shooter hood", subsystem="Shooter", material="Polycarbonate", amount=4)
    response = api.get("/api/parts/export.csv", params={"subsystem": "Intake", "limit": 1})
    assert response.headers["content-disposition"].startswith('attachment; filename="aerie-parts-')
    assert response.headers["cache-control"] == "no-store"
    rows = _rows(response)
    # Paging is ignored: every Intake part, in the list's order (newest first by default).
    assert [r["name"] for r in rows] == ["Intake plate 2", "Intake plate 1", "Intake plate 0"]
    listed = api.get("/api/parts/", params={"subsystem": "Intake"}).json()["parts"]
    assert [int(r["id"]) for r in rows] == [p["id"] for p in listed]
    assert rows[0]["category"] == "review" and rows[0]["material"] == "6061"

    hood = _rows(api.get("/api/parts/export.csv", params={"search": "hood"}))
    assert len(hood) == 1 and hood[0]["amount"] == "4" and hood[0]["subsystem"] == "Shooter"
    assert _rows(api.get("/api/parts/export.csv", params={"search": "no such part"})) == []


def test_text_that_looks_like_a_formula_stays_text(api: Api) -> None:
    api.create(
        name='=HYPERLINK("http://evil","click")', notes="+1 spare; -2 on shelf", subsystem="@x"
    )
    row = _rows(api.get("/api/parts/export.csv"))[0]
    assert row["name"] == '\'=HYPERLINK("http://evil","click")'
    assert row["notes"] == "'+1 spare; -2 on shelf"
    assert row["subsystem"] == "'@x"
    assert row["amount"] == "1"  # numbers are numbers, not text


def test_the_export_needs_a_key_and_checks_its_filters(api: Api) -> None:
    response = api.get("/api/parts/export.csv", key="")
    assert response.status_code == 401
    assert response.json()["error"]
    bad = api.get("/api/parts/export.csv", params={"status": "melted"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "Validation failed"
    # The path is not mistaken for a part id.
    assert api.get("/api/parts/export.csv").status_code == 200


def test_stock_and_mass_read_like_the_board() -> None:
    from aerie_app.services import export

    part = {"geometry": {"stockMm": [36.83, 21.78, 12.41], "massG": 41.26}, "measuredMassG": None}
    assert export._stock(part) == "36.83 × 21.78 × 12.41 mm"  # the board's stock column
    assert export._mass(part) == 41.3
    assert export._mass(part | {"measuredMassG": 40.0}) == 40.0  # a weighed part wins
    assert export._stock({"geometry": None}) == "" and export._mass({"geometry": None}) is None
    assert export.cell(None) == "" and export.cell(-3) == -3 and export.cell("-3") == "'-3"
