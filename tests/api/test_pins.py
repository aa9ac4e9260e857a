"""Review pins through the API: numbered notes on the model, a checklist that blocks completion
until ticked (409 naming the open ones), ticks in the timeline, stale after a geometry change."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_shop_api import give_model

pytestmark = pytest.mark.api
ON_TOP = {"point": [60.0, 40.0, 6.0], "normal": [0, 0, 2], "body": "Plate", "face": 12}


def pins_of(api: Api, pid: int) -> dict[str, Any]:
    response = api.get(f"/api/parts/{pid}/pins")
    assert response.status_code == 200, response.text
    return dict(response.json())


def pin_events(api: Api, pid: int) -> list[dict[str, Any]]:
    return [e for e in api.get(f"/api/parts/{pid}/events").json()["events"] if e["kind"] == "pin"]


def test_pins_are_numbered_placed_and_attributed(api: Api) -> None:
    pid = api.create(material="6061")["id"]
    give_model(pid, (120.0, 80.0, 6.0))
    first = api.post(
        f"/api/parts/{pid}/pins",
        json={"note": "  tap   10-32 ", **ON_TOP},
        headers={"X-Aerie-User": "Grace"},
    )
    assert first.status_code == 201, first.text
    pin = first.json()
    assert (pin["number"], pin["note"], pin["onModel"], pin["ticked"], pin["stale"]) == (
        1,
        "tap 10-32",
        True,
        False,
        False,
    )
    assert pin["point"] == [60.0, 40.0, 6.0] and pin["normal"] == [0.0, 0.0, 1.0]
    assert (pin["body"], pin["face"]) == ("Plate", 12)
    assert pin["createdBy"].startswith("Grace")
    # A plain checklist item: no point (how a keyboard user adds one, or a part with no model).
    second = api.post(f"/api/parts/{pid}/pins", json={"note": "deburr every edge"})
    assert second.status_code == 201 and second.json()["number"] == 2
    assert second.json()["onModel"] is False and second.json()["point"] is None
    listed = pins_of(api, pid)
    assert [p["number"] for p in listed["pins"]] == [1, 2] and listed["open"] == 2
    notes = [e["note"] for e in pin_events(api, pid)]
    assert "Pin #1 added: tap 10-32" in notes and "Pin #2 added: deburr every edge" in notes
    # Removing one keeps the others' numbers; a new pin takes the next free number.
    assert api.delete(f"/api/parts/{pid}/pins/2").json() == {"message": "Pin #2 removed"}
    assert [p["number"] for p in pins_of(api, pid)["pins"]] == [1]
    assert "Pin #2 removed: deburr every edge" in [e["note"] for e in pin_events(api, pid)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "note"),
        ({"note": "   "}, "note"),
        ({"note": "x" * 201}, "note"),
        ({"note": 5}, "note"),
        ({"note": "a", "point": [1, 2]}, "point"),
        ({"note": "a", "point": [1, 2, "3"]}, "point"),
        ({"note": "a", "point": [1, 2, True]}, "point"),
        ({"note": "a", "point": [500.0, 40.0, 6.0]}, "point"),  # outside the 120 mm model
        ({"note": "a", "point": [60, 40, 6], "normal": [0, 0, 0]}, "normal"),
        ({"note": "a", "point": [60, 40, 6], "face": -1}, "face"),
        ({"note": "a", "point": [60, 40, 6], "face": 1.5}, "face"),
        ({"note": "a", "point": [60, 40, 6], "body": "b" * 201}, "body"),
        ({"note": "a", "face": 3}, "point"),  # a face without the point clicked on it
        ({"note": "a", "colour": "red"}, "colour"),
    ],
)
def test_bad_pins_are_refused_and_change_nothing(api: Api, body: Any, field: str) -> None:
    pid = api.create(material="6061")["id"]
    give_model(pid, (120.0, 80.0, 6.0))
    before = len(api.get(f"/api/parts/{pid}/events").json()["events"])
    response = api.post(f"/api/parts/{pid}/pins", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["details"]["field"] == field
    assert pins_of(api, pid)["pins"] == []
    assert len(api.get(f"/api/parts/{pid}/events").json()["events"]) == before


def test_pins_need_a_model_to_stand_on_and_a_part_to_belong_to(api: Api) -> None:
    pid = api.create(material="6061")["id"]
    no_model = api.post(f"/api/parts/{pid}/pins", json={"note": "here", **ON_TOP})
    assert no_model.status_code == 400
    assert "no converted 3D model" in no_model.json()["details"]["message"]
    assert api.post("/api/parts/999999/pins", json={"note": "x"}).status_code == 404
    assert api.get("/api/parts/999999/pins").status_code == 404
    assert api.patch(f"/api/parts/{pid}/pins/3", json={"ticked": True}).status_code == 404
    assert api.delete(f"/api/parts/{pid}/pins/3").status_code == 404
    assert api.patch(f"/api/parts/{pid}/pins/x1", json={"ticked": True}).status_code == 400
    api.post(f"/api/parts/{pid}/pins", json={"note": "x"})
    for body in ({}, {"ticked": "yes"}, {"keep": 1}, {"wat": True}, [1]):
        assert api.patch(f"/api/parts/{pid}/pins/1", json=body).status_code == 400, body
    assert pins_of(api, pid)["pins"][0]["ticked"] is False


def test_read_keys_see_pins_but_cannot_change_them(api: Api, make_key: Any) -> None:
    pid = api.create()["id"]
    api.post(f"/api/parts/{pid}/pins", json={"note": "x"})
    reader = make_key("read")
    assert api.get(f"/api/parts/{pid}/pins", key=reader).status_code == 200
    assert api.post(f"/api/parts/{pid}/pins", key=reader, json={"note": "y"}).status_code == 403
    assert (
        api.patch(f"/api/parts/{pid}/pins/1", key=reader, json={"ticked": True}).status_code == 403
    )
    assert api.delete(f"/api/parts/{pid}/pins/1", key=reader).status_code == 403
    assert api.get(f"/api/parts/{pid}/pins", key="").status_code == 401


def test_open_pins_block_completion_until_ticked(api: Api) -> None:
    pid = api.create(material="6061", amount=2)["id"]
    give_model(pid, (120.0, 80.0, 6.0))
    api.post(f"/api/parts/{pid}/pins", json={"note": "tap 10-32", **ON_TOP})
    api.post(f"/api/parts/{pid}/pins", json={"note": "deburr"})
    assert api.post(f"/api/parts/{pid}/approve", json={"confirmNoFit": True}).status_code == 200
    assert api.post(f"/api/parts/{pid}/assign", json={"assigned": "Ada"}).status_code == 200
    # Pieces may be counted while pins are open...
    one = api.post(f"/api/parts/{pid}/complete", json={"quantity": 1})
    assert one.status_code == 200 and one.json()["quantityDone"] == 1
    # ...but the part is not Completed: 409, naming every open pin, and nothing changes.
    version = api.get(f"/api/parts/{pid}").json()["version"]
    blocked = api.post(f"/api/parts/{pid}/complete", json={})
    assert blocked.status_code == 409, blocked.text
    assert blocked.json()["error"] == (
        "Review pins still open: #1 tap 10-32; #2 deburr. Tick them before completing the part"
    )
    assert blocked.json()["details"]["openPins"] == [
        {"number": 1, "note": "tap 10-32"},
        {"number": 2, "note": "deburr"},
    ]
    part = api.get(f"/api/parts/{pid}").json()
    assert (part["category"], part["quantityDone"], part["version"]) == ("cnc", 1, version)
    ticked = api.patch(
        f"/api/parts/{pid}/pins/1", json={"ticked": True}, headers={"X-Aerie-User": "Ada"}
    )
    assert ticked.status_code == 200 and ticked.json()["ticked"] is True
    assert ticked.json()["tickedBy"].startswith("Ada")
    still = api.post(f"/api/parts/{pid}/complete", json={})
    assert still.status_code == 409 and still.json()["details"]["openPins"] == [
        {"number": 2, "note": "deburr"}
    ]
    # A tick taken back opens the pin again; ticking twice is one tick.
    api.patch(f"/api/parts/{pid}/pins/2", json={"ticked": True, "actor": "Lin"})
    api.patch(f"/api/parts/{pid}/pins/2", json={"ticked": True, "actor": "Lin"})
    done = api.post(f"/api/parts/{pid}/complete", json={})
    assert done.status_code == 200, done.text
    assert done.json()["category"] == "completed"
    lines = [(e["actor"] or "", e["note"]) for e in pin_events(api, pid)]
    assert any(a.startswith("Ada") and n == "Pin #1 ticked: tap 10-32" for a, n in lines)
    assert sum(1 for _, n in lines if n == "Pin #2 ticked: deburr") == 1
    assert pins_of(api, pid)["open"] == 0


def test_changed_geometry_makes_placed_pins_stale_and_open(api: Api) -> None:
    pid = api.create(material="6061")["id"]
    give_model(pid, (120.0, 80.0, 6.0))
    api.post(f"/api/parts/{pid}/pins", json={"note": "tap 10-32", **ON_TOP})
    api.post(f"/api/parts/{pid}/pins", json={"note": "deburr"})
    for n in (1, 2):
        api.patch(f"/api/parts/{pid}/pins/{n}", json={"ticked": True})
    # The same geometry exported again: pins stay as they were.
    give_model(pid, (80.0, 6.0, 120.0), volume=57610.0)
    assert [(p["ticked"], p["stale"]) for p in pins_of(api, pid)["pins"]] == [
        (True, False),
        (True, False),
    ]
    # Other geometry: the placed pin goes stale and open; the plain item is untouched.
    give_model(pid, (130.0, 80.0, 6.0))
    first, second = pins_of(api, pid)["pins"]
    assert (first["stale"], first["ticked"], first["tickedBy"]) == (True, False, None)
    assert (second["stale"], second["ticked"]) == (False, True)
    assert "Geometry changed in revision 3: pins #1 need a new look" in [
        e["note"] for e in pin_events(api, pid)
    ]
    kept = api.patch(f"/api/parts/{pid}/pins/1", json={"keep": True, "note": "tap 10-32 x2"})
    assert kept.status_code == 200
    assert (kept.json()["stale"], kept.json()["note"], kept.json()["ticked"]) == (
        False,
        "tap 10-32 x2",
        False,
    )
    assert (
        "Pin #1 now reads: tap 10-32 x2; Pin #1 still applies to the new geometry: tap 10-32 x2"
        in [e["note"] for e in pin_events(api, pid)]
    )
