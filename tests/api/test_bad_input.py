"""Hostile input answers 400 (or 404 for an id) in the one error shape, never 500, on both databases.

Each case is one input a fuzzer or a careless script sent: integers too large for a column, NUL and
other control characters, unknown enum values, negative and fractional numbers where a whole one
belongs, JSON numbers and strings no database can store.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.api

HUGE = "99999999999999999999"  # > 2**64
JSON = {"content-type": "application/json"}

QUERY_CASES = [
    # (url, field named in the answer)
    (f"/api/parts/?offset={HUGE}", "offset"),
    (f"/api/parts/categories/completed?offset={HUGE}", "offset"),
    ("/api/parts/?offset=9223372036854775808", "offset"),
    (f"/api/parts/?limit={HUGE}", "limit"),
    ("/api/parts/?offset=-1", "offset"),
    ("/api/parts/?limit=-5", "limit"),
    ("/api/parts/?offset=1.5", "offset"),
    ("/api/parts/categories/cnc?limit=2.5", "limit"),
    ("/api/parts/?search=a%00b", "search"),
    ("/api/parts/categories/review?search=a%00b", "search"),
    ("/api/parts/?search=%1B%5B2J", "search"),
    ("/api/parts/?subsystem=Intake%7F", "subsystem"),
    ("/api/parts/?material=%C2%85", "material"),
    ("/api/parts/?sort_by=name%00", "sort_by"),
    ("/api/parts/?assigned=Ada&x%00=1", "query"),
    ("/api/parts/?category=bogus", "category"),
    ("/api/parts/?status=Lost", "status"),
    ("/api/parts/?type=laser", "type"),
    ("/api/parts/?min_mass_g=inf", "min_mass_g"),
    ("/api/parts/?max_mass_g=nan", "max_mass_g"),
    ("/api/parts/categories/bogus", "category"),
]


def assert_validation_error(response: Any, field: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error", "details"}, body
    assert body["error"] == "Validation failed"
    assert body["details"]["field"] == field, body
    assert isinstance(body["details"]["message"], str) and body["details"]["message"]


@pytest.mark.parametrize(("url", "field"), QUERY_CASES)
def test_bad_query_is_400(api: Api, url: str, field: str) -> None:
    api.create()
    assert_validation_error(api.get(url), field)


@pytest.mark.parametrize(
    "url",
    [
        f"/api/parts/{HUGE}",
        "/api/parts/9223372036854775807",
        "/api/parts/2147483648",
        "/api/parts/-1",
        "/api/parts/1.5",
        "/api/parts/a%00b",
        f"/api/parts/1/files/{HUGE}/download",
        "/api/parts/1/files/2147483648/download",
        f"/api/parts/{HUGE}/drawing",
        f"/api/parts/{HUGE}/events",
    ],
)
def test_impossible_id_is_404(api: Api, url: str) -> None:
    api.create()
    response = api.get(url)
    assert response.status_code == 404, response.text
    assert isinstance(response.json()["error"], str)


def test_impossible_key_id_is_404(api: Api) -> None:
    for key_id in (HUGE, "2147483648", "0"):
        response = api.post(f"/api/keys/{key_id}/revoke")
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "API key not found"


BASE = {"material": "Aluminum", "subsystem": "Intake"}
BODY_CASES = [
    # (fields added to a valid part, field named in the answer)
    ({"material": "Al\x00uminum"}, "material"),
    ({"name": "Plate\x07"}, "name"),
    ({"notes": "ok\nthen\x1b[2J"}, "notes"),
    ({"name": "next\u0085line"}, "name"),
    ({"assigned": "\x7f"}, "assigned"),
    ({"miscInfo": {"storage\x00": "Shelf"}}, "miscInfo"),
    ({"miscInfo": {"storage": "Shelf\x00B"}}, "miscInfo.storage"),
    ({"miscInfo": {"serial": int(HUGE)}}, "miscInfo.serial"),
    ({"miscInfo": {"list": [1, 2**64]}}, "miscInfo.list[1]"),
    ({"amount": int(HUGE)}, "amount"),
    ({"amount": 2**63}, "amount"),
    ({"amount": -1}, "amount"),
    ({"amount": 0}, "amount"),
    ({"amount": 1.5}, "amount"),
    ({"amount": "1.5"}, "amount"),
    ({"amount": True}, "amount"),
    ({"type": "bogus"}, "type"),
    ({"file": {}}, "file"),
    ({"file": ["a.step"]}, "file"),
    ({"claimedDate": "0001-01-01T00:00:00+14:00"}, "claimed_date"),
    ({"claimedDate": "yesterday"}, "claimed_date"),
]


@pytest.mark.parametrize(("fields", "field"), BODY_CASES)
def test_bad_create_and_edit_bodies_are_400(api: Api, fields: dict[str, Any], field: str) -> None:
    assert_validation_error(api.post("/api/parts/", json=BASE | fields), field)
    pid = api.create()["id"]
    assert_validation_error(api.put(f"/api/parts/{pid}", json=fields), field)
    assert api.get("/api/parts/").status_code == 200


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        # What Python's JSON reader accepts but no database or JSON writer does.
        (b'{"material": "Al", "subsystem": "x", "miscInfo": {"k": NaN}}', "miscInfo.k"),
        (b'{"material": "Al", "subsystem": "x", "miscInfo": {"k": Infinity}}', "miscInfo.k"),
        (b'{"material": "Al", "subsystem": "x", "miscInfo": {"k": 1e999}}', "miscInfo.k"),
        (b'{"material": "Al", "subsystem": "x", "amount": -Infinity}', "amount"),
        (b'{"material": "Al\\ud800", "subsystem": "x"}', "material"),
        (b'{"material": "Al", "subsystem": "x", "miscInfo": {"k\\udfff": 1}}', "miscInfo"),
    ],
)
def test_unstorable_json_is_400(api: Api, raw: bytes, field: str) -> None:
    assert_validation_error(api.post("/api/parts/", content=raw, headers=JSON), field)
    listed = api.get("/api/parts/")
    assert listed.status_code == 200 and listed.json()["total"] == 0


def test_number_too_long_to_read_is_400_in_the_error_shape(api: Api) -> None:
    raw = b'{"material": "Al", "subsystem": "x", "amount": 1' + b"0" * 5000 + b"}"
    response = api.post("/api/parts/", content=raw, headers=JSON)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "Lost in the shop"}, "status"),
        ({"status": "Reviewed\x00"}, "status"),
        ({"category": "attic"}, "category"),
        ({"name": "x", "version": 1.5}, "version"),
        ({"name": "x", "version": -1}, "version"),
        ({"name": "x", "version": int(HUGE)}, "version"),
        ({"name": "x", "version": "one"}, "version"),
    ],
)
def test_bad_edit_is_400(api: Api, body: dict[str, Any], field: str) -> None:
    pid = api.create()["id"]
    assert_validation_error(api.put(f"/api/parts/{pid}", json=body), field)


def test_huge_if_match_is_400(api: Api) -> None:
    pid = api.create()["id"]
    response = api.put(f"/api/parts/{pid}", json={"name": "x"}, headers={"If-Match": HUGE})
    assert_validation_error(response, "version")


def test_status_names_in_any_case_still_move_the_part(api: Api) -> None:
    pid = api.create(type="cnc")["id"]
    api.post(f"/api/parts/{pid}/approve")
    moved = api.put(f"/api/parts/{pid}", json={"status": "in progress"})
    assert moved.status_code == 200 and moved.json()["status"] == "In Progress"


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("assign", {"assigned": "Ada\x00"}, "assigned"),
        ("approve", {"reviewer": "Grace\x1b"}, "reviewer"),
        ("approve", {"miscInfo": {"finish": "\x00"}}, "miscInfo.finish"),
        ("unclaim", {"storage": "Shelf\x00"}, "storage"),
        ("complete", {"quantity": int(HUGE)}, "quantity"),
        ("complete", {"quantity": 1.5}, "quantity"),
        ("complete", {"storage": "\x00"}, "storage"),
        ("assign", {"assigned": "Ada", "version": 1.5}, "version"),
    ],
)
def test_bad_action_bodies_are_400(api: Api, action: str, body: dict[str, Any], field: str) -> None:
    pid = api.create()["id"]
    if action != "approve":
        api.post(f"/api/parts/{pid}/approve")
    assert_validation_error(api.post(f"/api/parts/{pid}/{action}", json=body), field)


def test_negative_quantity_is_400(api: Api) -> None:
    pid = api.create()["id"]
    api.post(f"/api/parts/{pid}/approve")
    response = api.post(f"/api/parts/{pid}/complete", json={"quantity": -5})
    assert_validation_error(response, "quantity")


def test_key_and_wipe_bodies(api: Api) -> None:
    assert_validation_error(api.post("/api/keys", json={"name": "CAD\x00"}), "name")
    assert_validation_error(api.post("/api/keys", json={"name": "CAD", "scope": "root"}), "scope")
    assert_validation_error(api.post("/api/parts/wipe", json={"password": "\x00"}), "password")


def test_whitespace_is_still_text(api: Api) -> None:
    part = api.create(notes="line 1\r\n\tline 2", miscInfo={"note": "a\tb\nc"})
    assert part["notes"] == "line 1\r\n\tline 2"
    assert part["miscInfo"] == {"note": "a\tb\nc"}
    assert api.get("/api/parts/?search=line%201").json()["total"] == 1
    assert api.get("/api/parts/?offset=9223372036854775807").status_code == 200
