"""Onshape BOM import against the local Onshape fake: preview, confirm, STEP exports, re-import."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aerie_app.services import bom
from tests.api.conftest import Api
from tests.api.test_drawings import ACCESS, DID, SECRET, URL_W, WID
from tests.conftest import reset_caches
from tests.fake_onshape import FakeOnshape

pytestmark = pytest.mark.api

PS = "abcdefabcdefabcdefabcdef"  # the part studio's element id
HEADERS = [
    {"id": "h-item", "name": "Item", "propertyName": "item"},
    {"id": "h-qty", "name": "Quantity", "propertyName": "quantity"},
    {"id": "h-pn", "name": "Part number", "propertyName": "partNumber"},
    {"id": "h-name", "name": "Name", "propertyName": "name"},
    {"id": "h-mat", "name": "Material", "propertyName": "material"},
]


def part_row(
    level: int, name: str, qty: int, number: str, material: str | None, pid: str
) -> dict[str, Any]:
    cells: dict[str, Any] = {"h-qty": qty, "h-pn": number, "h-name": name}
    if material is not None:
        cells["h-mat"] = {"displayName": material, "id": material.lower()}
    return {
        "indentLevel": level,
        "headerIdToValue": cells,
        "itemSource": {
            "documentId": DID,
            "elementId": PS,
            "partId": pid,
            "wvmType": "w",
            "wvmId": WID,
            "fullConfiguration": "default",
        },
    }


def sub_assembly(level: int, name: str, qty: int) -> dict[str, Any]:
    return {
        "indentLevel": level,
        "headerIdToValue": {"h-qty": qty, "h-name": name},
        "itemSource": {
            "documentId": DID,
            "elementId": "e" * 24,
            "partId": "",
            "wvmType": "w",
            "wvmId": WID,
        },
    }


def robot_bom() -> list[dict[str, Any]]:
    """Two pages: an intake (×1) with plates; a drivetrain with two gearboxes (×2) sharing a
    spacer that also sits at the top level."""
    page1 = [
        sub_assembly(0, "Intake", 1),
        part_row(1, "Intake side plate", 2, "IN-001", "Aluminum 6061", "JHD"),
        part_row(1, "Roller spacer", 4, "SP-010", "Delrin", "JHE"),
        sub_assembly(0, "Drivetrain", 1),
        sub_assembly(1, "Gearbox", 2),
    ]
    page2 = [
        part_row(2, "Gearbox plate", 2, "DT-101", "Aluminum 6061", "JHF"),
        part_row(2, "Roller spacer", 3, "SP-010", "Delrin", "JHE"),
        part_row(0, "Bellypan", 1, "", "Polycarbonate", "JHG"),
    ]
    return [{"headers": HEADERS, "rows": page1}, {"headers": HEADERS, "rows": page2}]


@pytest.fixture
def fake(aerie_env: Path, monkeypatch: pytest.MonkeyPatch, steps: Path) -> Iterator[FakeOnshape]:
    server = FakeOnshape(ACCESS, SECRET).start()
    server.bom_pages = robot_bom()
    server.step = (steps / "plate_with_holes.step").read_bytes()
    monkeypatch.setenv("AERIE_ONSHAPE_BASE_URL", server.base_url)
    monkeypatch.setenv("AERIE_ONSHAPE_ACCESS_KEY", ACCESS)
    monkeypatch.setenv("AERIE_ONSHAPE_SECRET_KEY", SECRET)
    monkeypatch.setenv("AERIE_ONSHAPE_POLL_INTERVAL_S", "0.02")
    monkeypatch.setenv("AERIE_ONSHAPE_MAX_WAIT_S", "5")
    monkeypatch.setenv("AERIE_ONSHAPE_TIMEOUT_S", "5")
    reset_caches()
    yield server
    assert bom.exports.wait_idle(60)
    bom.exports.shutdown()
    server.stop()


def parts_by_number(api: Api) -> dict[str, dict[str, Any]]:
    return {p["partId"]: p for p in api.get("/api/parts/").json()["parts"]}


def test_the_preview_reads_every_page_and_writes_nothing(api: Api, fake: FakeOnshape) -> None:
    response = api.post("/api/onshape/bom/preview", json={"url": URL_W})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["applied"] is False
    assert body["summary"] == {"create": 4, "update": 0, "unchanged": 0, "error": 0, "rows": 4}
    rows = {r["label"]: r for r in body["rows"]}
    assert set(rows) == {"IN-001", "SP-010", "DT-101", "Bellypan"}
    changes = rows["SP-010"]["changes"]
    # 4 in the intake + 3 per gearbox × 2 gearboxes; its first sub-assembly names the subsystem.
    assert changes["amount"] == [None, 10]
    assert changes["subsystem"] == [None, "Intake"]
    assert rows["DT-101"]["changes"]["amount"] == [None, 4]
    assert rows["DT-101"]["changes"]["subsystem"] == [None, "Drivetrain"]
    assert rows["DT-101"]["changes"]["material"] == [None, "Aluminum 6061"]
    assert rows["Bellypan"]["changes"]["subsystem"] == [None, "Robot"]  # top level
    assert len(fake.calls("bom")) == 2  # followed "next"
    assert api.get("/api/parts/").json()["parts"] == []


def test_confirm_imports_fetches_each_step_and_reimport_updates(
    api: Api, fake: FakeOnshape
) -> None:
    fake.failing_parts = {"JHG"}  # the bellypan's export fails at Onshape
    response = api.post(
        "/api/onshape/bom/import", json={"url": URL_W, "defaultSubsystem": "Chassis"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["applied"] is True and response.json()["exports"] == 4
    assert bom.exports.wait_idle(60)
    found = parts_by_number(api)
    assert {k: (p["amount"], p["subsystem"]) for k, p in found.items()} == {
        "IN-001": (2, "Intake"),
        "SP-010": (10, "Intake"),
        "DT-101": (4, "Drivetrain"),
        "Bellypan": (1, "Chassis"),
    }
    assert found["IN-001"]["onshapeUrl"].endswith(f"/documents/{DID}/w/{WID}/e/{PS}")
    # Each part studio export asked for that one part, as STEP.
    asked = sorted(c.body["partIds"] for c in fake.calls("part") if c.status == 200)
    assert asked == ["JHD", "JHE", "JHF", "JHG"]
    assert all(c.body["formatName"] == "STEP" for c in fake.calls("part"))
    for number in ("IN-001", "SP-010", "DT-101"):
        files = api.get(f"/api/parts/{found[number]['id']}/files").json()["files"]
        assert [f["kind"] for f in files] == ["step"], files
        assert files[0]["uploadedBy"] == "Onshape import"
    # The failed export left the part as it was, and said why on its timeline.
    assert api.get(f"/api/parts/{found['Bellypan']['id']}/files").json()["files"] == []
    events = api.get(f"/api/parts/{found['Bellypan']['id']}/events").json()["events"]
    assert any("STEP export from Onshape failed" in (e["note"] or "") for e in events)

    # The CAD lead adds a third gearbox plate pair: re-import updates, never duplicates.
    fake.bom_pages[1]["rows"][0]["headerIdToValue"]["h-qty"] = 3
    again = api.post(
        "/api/onshape/bom/preview", json={"url": URL_W, "defaultSubsystem": "Chassis"}
    ).json()
    assert again["summary"] == {"create": 0, "update": 1, "unchanged": 3, "error": 0, "rows": 4}
    (changed,) = [r for r in again["rows"] if r["action"] == "update"]
    assert changed["label"] == "DT-101" and changed["changes"] == {"amount": [4, 6]}
    api.post("/api/onshape/bom/import", json={"url": URL_W, "defaultSubsystem": "Chassis"})
    assert bom.exports.wait_idle(60)
    assert len(parts_by_number(api)) == 4
    assert parts_by_number(api)["DT-101"]["amount"] == 6


def test_rows_with_missing_fields_block_the_import(api: Api, fake: FakeOnshape) -> None:
    fake.bom_pages = [
        {
            "headers": HEADERS,
            "rows": [
                part_row(0, "Gusset", 2, "G-1", "Aluminum", "JH1"),
                part_row(0, "Mystery bracket", 1, "G-2", None, "JH2"),  # no material in Onshape
            ],
        }
    ]
    preview = api.post("/api/onshape/bom/preview", json={"url": URL_W}).json()
    (bad,) = [r for r in preview["rows"] if r["action"] == "error"]
    assert bad["label"] == "G-2"
    assert bad["errors"] == [{"field": "material", "message": "Material is required"}]
    refused = api.post("/api/onshape/bom/import", json={"url": URL_W})
    assert refused.status_code == 400
    assert "nothing was imported" in refused.json()["details"]["message"]
    assert api.get("/api/parts/").json()["parts"] == []
    assert fake.calls("part") == []  # no export was started


def test_rate_limits_are_waited_out(api: Api, fake: FakeOnshape) -> None:
    fake.rate_limit, fake.retry_after = 1, "0.1"
    started = time.monotonic()
    response = api.post("/api/onshape/bom/preview", json={"url": URL_W})
    assert response.status_code == 200, response.text
    assert time.monotonic() - started >= 0.1
    assert [c.status for c in fake.calls("bom")][:2] == [429, 200]


@pytest.mark.parametrize(
    ("setup", "body", "status", "words"),
    [
        ({"secret": "wrong"}, {"url": URL_W}, 422, "rejected Aerie's API keys"),
        ({"scenario": "unknown"}, {"url": URL_W}, 404, "no such assembly"),
        ({"pages": []}, {"url": URL_W}, 422, "lists no parts"),
        ({}, {"url": "https://example.com/documents/x"}, 400, "not an Onshape URL"),
        ({}, {}, 400, "url must be"),
        ({}, {"url": URL_W, "defaultSubsystem": 3}, 400, "defaultSubsystem"),
    ],
)
def test_bom_problems_get_a_clear_error_and_change_nothing(
    api: Api,
    fake: FakeOnshape,
    monkeypatch: pytest.MonkeyPatch,
    setup: dict[str, Any],
    body: dict[str, Any],
    status: int,
    words: str,
) -> None:
    if "secret" in setup:
        monkeypatch.setenv("AERIE_ONSHAPE_SECRET_KEY", setup["secret"])
        reset_caches()
    if "scenario" in setup:
        fake.scenario = setup["scenario"]
    if "pages" in setup:
        fake.bom_pages = [{"headers": HEADERS, "rows": []}]
    for route in ("preview", "import"):
        response = api.post(f"/api/onshape/bom/{route}", json=body)
        assert response.status_code == status, response.text
        assert words in str(response.json()), response.json()
    assert api.get("/api/parts/").json()["parts"] == []


def test_a_read_key_cannot_import(api: Api, fake: FakeOnshape, make_key: Any) -> None:
    reader = make_key("read")
    response = api.post("/api/onshape/bom/import", json={"url": URL_W}, key=reader)
    assert response.status_code == 403
