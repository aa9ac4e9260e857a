"""Spreadsheet import: a dry run that reports every row, then one transaction; export round trips."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from tests.api.conftest import Api

pytestmark = pytest.mark.api

HEADER = "partId,name,subsystem,material,thickness,amount,type,notes\r\n"


def send(api: Api, content: bytes, name: str = "parts.csv", **params: Any) -> Any:
    return api.post("/api/parts/import", files={"file": (name, content)}, params=params or None)


def all_parts(api: Api) -> list[dict[str, Any]]:
    return list(
        api.get("/api/parts/", params={"sort_by": "part_id", "sort_order": "asc"}).json()["parts"]
    )


def test_a_dry_run_previews_every_row_and_writes_nothing(api: Api) -> None:
    existing = api.create(partId="2026-IN-001", name="Side plate", amount=2)
    csv = (
        HEADER
        + "2026-IN-001,Side plate,Intake,Aluminum,,4,cnc,\r\n"  # amount 2 → 4
        + "2026-IN-002,Hood,Shooter,Polycarbonate,1/8 in,1,cnc,Deburr\r\n"  # new
        + "2026-IN-003,,Shooter,,,zero,welded,\r\n"  # three errors
    ).encode()
    response = send(api, csv)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["applied"] is False
    assert body["summary"] == {"create": 1, "update": 1, "unchanged": 0, "error": 1, "rows": 3}
    update, create, error = body["rows"]
    assert update["row"] == 2 and update["action"] == "update" and update["id"] == existing["id"]
    assert update["changes"] == {"amount": [2, 4]}
    assert create["action"] == "create" and create["label"] == "2026-IN-002"
    assert create["changes"]["materialThickness"] == [None, "1/8 in"]
    assert error["action"] == "error"
    assert {e["field"] for e in error["errors"]} == {"amount", "type", "material"}
    amount = next(e for e in error["errors"] if e["field"] == "amount")
    assert amount["message"] == "Amount must be a whole number greater than 0"  # the API's words
    # Nothing was written.
    assert [p["partId"] for p in all_parts(api)] == ["2026-IN-001"]
    assert all_parts(api)[0]["amount"] == 2


def test_apply_writes_every_row_in_one_go_or_none(api: Api) -> None:
    api.create(partId="2026-IN-001", name="Side plate", amount=2)
    bad = (HEADER + "2026-IN-001,Side plate,Intake,Aluminum,,4,cnc,\r\n,Orphan,,,,1,,\r\n").encode()
    refused = send(api, bad, apply="true")
    assert refused.status_code == 400
    err = refused.json()
    assert err["error"] == "Validation failed"
    assert "1 of 2 rows have errors; nothing was imported" in err["details"]["message"]
    assert [r["row"] for r in err["details"]["rows"]] == [3]
    assert all_parts(api)[0]["amount"] == 2  # the good row did not land either

    good = (
        HEADER
        + "2026-IN-001,Side plate,Intake,Aluminum,,4,cnc,\r\n"
        + "2026-IN-002,Hood,Shooter,Polycarbonate,1/8 in,1,cnc,Deburr\r\n"
    ).encode()
    applied = send(api, good, apply="true", **{})
    assert applied.status_code == 200, applied.text
    assert applied.json()["applied"] is True
    assert applied.json()["summary"]["create"] == 1 and applied.json()["summary"]["update"] == 1
    rows = all_parts(api)
    assert [(p["partId"], p["amount"], p["category"]) for p in rows] == [
        ("2026-IN-001", 4, "review"),
        ("2026-IN-002", 1, "review"),
    ]
    events = api.get(f"/api/parts/{rows[0]['id']}/events").json()["events"]
    assert any(e["field"] == "amount" and e["new"] == "4" for e in events)
    # Importing the same file again changes nothing and creates no duplicate.
    again = send(api, good, apply="true").json()
    assert again["summary"] == {"create": 0, "update": 0, "unchanged": 2, "error": 0, "rows": 2}
    assert len(all_parts(api)) == 2


def test_the_csv_export_imports_back_unchanged(api: Api) -> None:
    api.create(partId="P-1", name='=HYPERLINK("x")', notes="+1 spare", amount=3, material="6061")
    api.create(partId="P-2", name="Spacer", subsystem="Drive", materialThickness="0.25 in")
    exported = api.get("/api/parts/export.csv").content
    body = send(api, exported, name="aerie-parts.csv").json()
    assert body["summary"]["unchanged"] == 2 and body["summary"]["error"] == 0, body
    assert "fit" in body["ignoredColumns"] and "status" in body["ignoredColumns"]
    assert body["unknownColumns"] == []
    # Edit it in a "spreadsheet" and bring it back: exactly that change.
    edited = exported.replace(b"Spacer", b"Spacer 10 mm")
    result = send(api, edited, name="aerie-parts.csv", apply="true").json()
    assert result["summary"]["update"] == 1
    (changed,) = [r for r in result["rows"] if r["action"] == "update"]
    assert changed["changes"] == {"name": ["Spacer", "Spacer 10 mm"]}
    names = sorted(p["name"] for p in all_parts(api))
    assert names == ['=HYPERLINK("x")', "Spacer 10 mm"]  # the formula guard was undone


def test_the_xlsx_export_opens_in_excel_and_imports_back(api: Api) -> None:
    api.create(partId="P-1", name="=1+1", amount=3, subsystem="Intake")
    response = api.get("/api/parts/export.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert row["name"].value == "=1+1" and row["name"].data_type == "s"  # text, not a formula
    assert row["amount"].value == 3  # a number stays a number
    body = send(api, response.content, name="parts.xlsx").json()
    assert body["summary"]["unchanged"] == 1, body


def test_an_xlsx_made_by_hand_with_friendly_headers_imports(api: Api) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Part Number", "Description", "Sub-assembly", "Material", "Qty", "Colour"])
    sheet.append(["A-1", "Bracket", "Climber", "Steel", 2.0, "red"])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["A-2", "Gusset", "Climber", "Steel", 6, None])
    out = io.BytesIO()
    book.save(out)
    body = send(api, out.getvalue(), name="bom.xlsx", apply="true").json()
    assert body["summary"] == {"create": 2, "update": 0, "unchanged": 0, "error": 0, "rows": 2}
    assert body["unknownColumns"] == ["Colour"]
    assert [(p["partId"], p["name"], p["amount"]) for p in all_parts(api)] == [
        ("A-1", "Bracket", 2),
        ("A-2", "Gusset", 6),
    ]


def test_semicolons_and_the_windows_encoding_are_read(api: Api) -> None:
    text = "partId;name;subsystem;material\r\nB-1;Plaque Délrin;Intake;Delrin\r\n"
    body = send(api, text.encode("cp1252"), apply="true").json()
    assert body["summary"]["create"] == 1
    assert all_parts(api)[0]["name"] == "Plaque Délrin"


def test_rows_naming_ambiguous_or_missing_parts_are_errors(api: Api) -> None:
    api.create(partId="DUP", name="One")
    api.create(partId="DUP", name="Two")
    part = api.create(partId="X-1")
    csv = (
        "id,partId,name\r\n"
        ",DUP,Which one\r\n"
        "424242,,Ghost\r\n"
        f"{part['id']},,First\r\n"
        f"{part['id']},,Second\r\n"
    ).encode()
    rows = send(api, csv).json()["rows"]
    assert "2 parts have part ID DUP" in rows[0]["errors"][0]["message"]
    assert rows[1]["errors"] == [{"field": "id", "message": "No part has id 424242"}]
    assert rows[2]["action"] == "update"
    assert rows[3]["errors"] == [{"field": "id", "message": "Row 4 already changes this part"}]


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/big.xml", b"\0" * (70 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "name", "status", "words"),
    [
        (b"", "parts.csv", 400, "empty"),
        (b"   \r\n\r\n", "parts.csv", 400, "empty"),
        (b"colour,size\r\nred,2\r\n", "parts.csv", 400, "first row must name the columns"),
        (b"partId,name\r\n", "parts.csv", 400, "no rows under its header"),
        (b"not a workbook", "parts.xlsx", 400, "not an Excel workbook"),
        (b"PK\x03\x04garbage", "parts.xlsx", 400, "cannot be read"),
        (_zip_bomb(), "parts.xlsx", 413, "unpacks to more than"),
        (b"partId\r\n" + b"x\r\n" * 5002, "parts.csv", 400, "at most 5000 rows"),
        (b'partId,name\r\n"unclosed,x\r\n', "parts.csv", 400, None),
    ],
)
def test_bad_files_get_a_clear_error_and_change_nothing(
    api: Api, content: bytes, name: str, status: int, words: str | None
) -> None:
    api.create(partId="KEEP")
    for apply in ("false", "true"):
        response = send(api, content, name=name, apply=apply)
        if words is None:  # an unclosed quote swallows the rest: one row, no error
            assert response.status_code in (200, 400), response.text
            continue
        assert response.status_code == status, response.text
        body = response.json()
        assert body["error"]
        assert words in str(body["details"]) or words in body["error"], body
    assert [p["partId"] for p in all_parts(api)] == ["KEEP"]


def test_import_needs_a_write_key_and_a_file(api: Api, make_key: Any) -> None:
    reader = make_key("read")
    response = api.post(
        "/api/parts/import", files={"file": ("p.csv", b"partId\r\nA\r\n")}, key=reader
    )
    assert response.status_code == 403
    assert api.post("/api/parts/import", key="").status_code == 401
    missing = api.post("/api/parts/import", data={"x": "1"})
    assert missing.status_code == 400 and missing.json()["details"]["field"] == "file"
