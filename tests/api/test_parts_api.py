"""The Aerie-compatible parts API: every endpoint's happy path and its errors, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.api

PART_KEYS = {
    "id",
    "uuid",
    "partId",
    "type",
    "material",
    "materialThickness",
    "name",
    "subsystem",
    "assigned",
    "status",
    "miscInfo",
    "notes",
    "file",
    "onshapeUrl",
    "claimedDate",
    "createdAt",
    "updatedAt",
    "category",
    "amount",
}


def test_create_returns_every_contract_key(api: Api) -> None:
    part = api.create(materialThickness="0.25 in", amount=2, notes="deburr")
    assert set(part) >= PART_KEYS
    assert part["category"] == "review" and part["status"] == "Pending"
    assert part["partId"] == part["uuid"][:8]
    assert part["materialThickness"] == "0.25 in"
    assert part["createdAt"].endswith("Z")
    datetime.fromisoformat(part["createdAt"].replace("Z", "+00:00"))


def test_create_ignores_status_category_and_ids_from_client(api: Api) -> None:
    part = api.create(
        status="Completed", category="completed", id=999, uuid="x", createdAt="2000-01-01"
    )
    assert (part["status"], part["category"]) == ("Pending", "review")
    assert part["id"] != 999 and part["uuid"] != "x"
    assert not part["createdAt"].startswith("2000")


def test_timestamps_are_per_row_not_frozen(api: Api) -> None:
    first = api.create()
    second = api.create()
    assert second["createdAt"] > first["createdAt"]


def test_with_and_without_trailing_slash(api: Api) -> None:
    api.create()
    assert api.get("/api/parts").json()["total"] == 1
    assert api.get("/api/parts/").json()["total"] == 1
    body = {"material": "Al", "subsystem": "Drive"}
    assert api.post("/api/parts", json=body).status_code == 201


def test_create_snake_case_and_hand_assignee(api: Api) -> None:
    part = api.create(type="hand", material_thickness="3 mm", part_id="HF-1", assigned="Ann")
    assert part["partId"] == "HF-1" and part["materialThickness"] == "3 mm"
    assert part["miscInfo"]["handWorkers"][0]["name"] == "Ann"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"subsystem": "x"}, "material", "Material is required"),
        ({"material": "Al"}, "subsystem", "Subsystem is required"),
        ({"material": "Al", "subsystem": "x", "amount": 0}, "amount", None),
        ({"material": "Al", "subsystem": "x", "amount": "lots"}, "amount", None),
    ],
)
def test_create_validation(api: Api, body: dict, field: str, message: str | None) -> None:
    response = api.post("/api/parts/", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed"
    assert response.json()["details"]["field"] == field
    if message:
        assert response.json()["details"]["message"] == message


@pytest.mark.parametrize("body", [None, {}, [], "text", 5])
def test_create_empty_or_non_object_is_400(api: Api, body: object) -> None:
    response = api.post("/api/parts/", json=body) if body is not None else api.post("/api/parts/")
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed"


def test_get_and_missing(api: Api) -> None:
    part = api.create()
    response = api.get(f"/api/parts/{part['id']}")
    assert response.status_code == 200
    assert response.headers["etag"] == 'W/"1"'
    assert api.get("/api/parts/9999").json() == {"error": "Part not found", "details": {"id": 9999}}
    assert api.get("/api/parts/abc").status_code == 404
    assert api.put("/api/parts/abc", json={"name": "x"}).status_code == 404
    assert api.delete("/api/parts/9999").status_code == 404
    assert api.post("/api/parts/9999/approve").status_code == 404


def test_update_fields_and_timeline(api: Api) -> None:
    part = api.create()
    response = api.put(f"/api/parts/{part['id']}", json={"name": "Side plate", "amount": "3"})
    assert response.status_code == 200
    updated = response.json()
    assert updated["name"] == "Side plate" and updated["amount"] == 3
    assert updated["updatedAt"] >= part["updatedAt"] and updated["version"] == 2
    events = api.get(f"/api/parts/{part['id']}/events").json()["events"]
    edits = {(e["field"], e["old"], e["new"]) for e in events if e["kind"] == "edit"}
    assert ("name", "Bracket", "Side plate") in edits
    assert ("amount", "1", "3") in edits
    assert events[-1]["kind"] == "created"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"subsystem": ""}, "subsystem"),
        ({"amount": -1}, "amount"),
        ({"bogus": 1}, "body"),
    ],
)
def test_update_validation(api: Api, body: dict, field: str) -> None:
    part = api.create()
    response = api.put(f"/api/parts/{part['id']}", json=body)
    assert response.status_code == 400
    assert response.json()["details"]["field"] == field


@pytest.mark.parametrize(
    ("given", "stored"),
    [("../../etc/passwd", "etc_passwd"), ("Probe Bracket v2.step", "Probe_Bracket_v2.step")],
)
def test_update_file_name_is_sanitised(api: Api, given: str, stored: str) -> None:
    part = api.create()
    assert api.put(f"/api/parts/{part['id']}", json={"file": given}).json()["file"] == stored


def test_stale_version_is_409(api: Api) -> None:
    part = api.create()
    pid = part["id"]
    assert api.put(f"/api/parts/{pid}", json={"name": "A", "version": 1}).status_code == 200
    stale = api.put(f"/api/parts/{pid}", json={"name": "B", "version": 1})
    assert stale.status_code == 409
    assert "changed by someone else" in stale.json()["error"]
    by_header = api.put(f"/api/parts/{pid}", json={"name": "B"}, headers={"If-Match": 'W/"1"'})
    assert by_header.status_code == 409
    ok = api.put(f"/api/parts/{pid}", json={"name": "B"}, headers={"If-Match": 'W/"2"'})
    assert ok.status_code == 200


def test_full_cnc_journey(api: Api) -> None:
    pid = api.create(type="cnc", amount=2)["id"]
    approved = api.post(
        f"/api/parts/{pid}/approve", json={"reviewer": "Ann", "miscInfo": {"op": "2-sided"}}
    )
    assert approved.status_code == 200
    assert approved.json()["category"] == "cnc" and approved.json()["status"] == "Reviewed"
    assert approved.json()["miscInfo"] == {"reviewer": "Ann", "op": "2-sided"}
    claimed = api.post(f"/api/parts/{pid}/assign", json={"assigned": "Bob"}).json()
    assert claimed["status"] == "In Progress" and claimed["assigned"] == "Bob"
    assert claimed["claimedDate"] is not None
    other = api.post(f"/api/parts/{pid}/assign", json={"assigned": "Cy"})
    assert other.status_code == 409 and "Bob" in other.json()["error"]
    half = api.post(f"/api/parts/{pid}/complete", json={"quantity": 1}).json()
    assert half["quantityDone"] == 1 and half["status"] == "In Progress"
    done = api.post(f"/api/parts/{pid}/complete", json={"miscInfo": {"storage": "Bin 3"}}).json()
    assert done["status"] == "Completed" and done["category"] == "completed"
    assert done["miscInfo"]["storage"] == "Bin 3" and "completed_at" in done["miscInfo"]
    again = api.post(f"/api/parts/{pid}/complete")
    assert again.status_code == 409 and "allowed" in again.json()["details"]
    reverted = api.post(f"/api/parts/{pid}/revert").json()
    assert (reverted["category"], reverted["status"]) == ("cnc", "In Progress")
    assert "completed_at" not in reverted["miscInfo"]


def test_approve_is_repeatable_and_unknown_type_is_400(api: Api) -> None:
    pid = api.create(type="hand")["id"]
    api.post(f"/api/parts/{pid}/approve", json={"reviewer": "Ann"})
    again = api.post(f"/api/parts/{pid}/approve", json={"reviewer": "Zed"})
    assert again.status_code == 200 and again.json()["miscInfo"]["reviewer"] == "Zed"
    untyped = api.create(type=None)["id"]
    response = api.post(f"/api/parts/{untyped}/approve")
    assert response.status_code == 400 and response.json()["details"]["field"] == "type"


def test_assign_requires_name(api: Api) -> None:
    pid = api.create()["id"]
    api.post(f"/api/parts/{pid}/approve")
    response = api.post(f"/api/parts/{pid}/assign", json={})
    assert response.status_code == 400 and response.json()["details"]["field"] == "assigned"


def test_unclaim_without_body(api: Api) -> None:
    pid = api.create(type="hand")["id"]
    api.post(f"/api/parts/{pid}/approve")
    api.post(f"/api/parts/{pid}/assign", json={"assigned": "Bob"})
    part = api.post(f"/api/parts/{pid}/unclaim").json()
    assert part["assigned"] is None and part["claimedDate"] is None
    assert part["status"] == "Already Started"


def test_start_action(api: Api) -> None:
    pid = api.create(type="cnc")["id"]
    api.post(f"/api/parts/{pid}/approve")
    part = api.post(f"/api/parts/{pid}/start", json={"assigned": "Dee"}).json()
    assert part["status"] == "In Progress" and part["assigned"] == "Dee"


def test_old_client_moves_by_put(api: Api) -> None:
    cnc = api.create(type="cnc")["id"]
    api.post(f"/api/parts/{cnc}/approve")
    started = api.put(f"/api/parts/{cnc}", json={"status": "In Progress"})
    assert started.status_code == 200 and started.json()["status"] == "In Progress"
    misc = api.create(type="misc")["id"]
    api.post(f"/api/parts/{misc}/approve")
    done = api.put(f"/api/parts/{misc}", json={"status": "Completed"})
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["category"]) == ("Completed", "completed")
    storage = api.put(f"/api/parts/{misc}", json={"miscInfo": {"storage": "Cart"}})
    assert storage.json()["miscInfo"] == {"storage": "Cart"}
    illegal = api.put(f"/api/parts/{api.create()['id']}", json={"status": "Completed"})
    assert illegal.status_code == 409


def test_mark_incorrect_and_correct(api: Api) -> None:
    pid = api.create(type="misc")["id"]
    api.post(f"/api/parts/{pid}/approve")
    api.post(f"/api/parts/{pid}/complete")
    flagged = api.post(f"/api/parts/{pid}/mark-incorrect").json()
    assert flagged["miscInfo"]["completedIncorrectly"] is True
    assert api.post(f"/api/parts/{pid}/mark-incorrect").status_code == 409
    cleared = api.post(f"/api/parts/{pid}/mark-correct").json()
    assert cleared["miscInfo"]["completedIncorrectly"] is False


def test_revert_only_completed(api: Api) -> None:
    pid = api.create()["id"]
    response = api.post(f"/api/parts/{pid}/revert")
    assert response.status_code == 409
    assert response.json()["details"]["allowed"] == ["approve"]


def test_delete(api: Api) -> None:
    pid = api.create()["id"]
    response = api.delete(f"/api/parts/{pid}")
    assert response.json() == {"message": "Part deleted successfully"}
    assert api.get(f"/api/parts/{pid}").status_code == 404


def test_list_paging_and_shape(api: Api) -> None:
    for i in range(5):
        api.create(name=f"P{i}")
    body = api.get("/api/parts/").json()
    assert body["total"] == 5 and body["limit"] is None and body["offset"] == 0
    assert [p["name"] for p in body["parts"]] == ["P4", "P3", "P2", "P1", "P0"]
    page = api.get("/api/parts/?limit=2&offset=1&sort_by=name&sort_order=asc").json()
    assert [p["name"] for p in page["parts"]] == ["P1", "P2"]
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 1


def test_unknown_sort_falls_back(api: Api) -> None:
    api.create(name="a")
    api.create(name="b")
    response = api.get("/api/parts/?sort_by=drop%20table&sort_order=asc")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["parts"]] == ["a", "b"]


@pytest.mark.parametrize("query", ["limit=abc", "offset=-1", "limit=-5", "category=nope"])
def test_bad_list_params_are_400(api: Api, query: str) -> None:
    response = api.get(f"/api/parts/?{query}")
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed"


def test_category_routes(api: Api) -> None:
    pid = api.create(type="hand")["id"]
    api.create(type="cnc")
    api.post(f"/api/parts/{pid}/approve")
    assert api.get("/api/parts/categories/hand").json()["total"] == 1
    assert api.get("/api/parts/?category=review").json()["total"] == 1
    assert api.get("/api/parts/categories/bogus").status_code == 400


def test_search_every_field_unicode_and_literal(api: Api) -> None:
    api.create(name="ÜNÏCØDÉ bracket", part_id="U-1")
    api.create(name="100% infill", notes="print_fast")
    api.create(name="Plain", notes="nothing", miscInfo={"storage": "Shelf Q7"})
    api.create(name="Other", subsystem="Climber", material="Polycarbonate", assigned="Zoë")

    def names(term: str) -> list[str]:
        response = api.get("/api/parts/", params={"search": term})
        assert response.status_code == 200
        return sorted(p["name"] for p in response.json()["parts"])

    assert names("ünïcødé") == ["ÜNÏCØDÉ bracket"]
    assert names("unicode") == []  # Ø is a letter of its own, not O with an accent
    assert names("%") == ["100% infill"]
    assert names("_") == ["100% infill"]
    assert names("shelf q7") == ["Plain"]
    assert names("polycarb") == ["Other"]
    assert names("zoe") == ["Other"]
    assert names("climb") == ["Other"]
    assert names("u-1") == ["ÜNÏCØDÉ bracket"]
    assert names("zz") == []


def test_search_ranks_exact_part_id_first(api: Api) -> None:
    api.create(name="Gusset ABC-12 copy", part_id="X-9")
    api.create(name="Gusset", part_id="ABC-12")
    found = api.get("/api/parts/?search=abc-12").json()["parts"]
    assert [p["partId"] for p in found] == ["ABC-12", "X-9"]


def test_search_follows_edits(api: Api) -> None:
    pid = api.create(name="Alpha")["id"]
    api.put(f"/api/parts/{pid}", json={"name": "Omega"})
    assert api.get("/api/parts/?search=alpha").json()["total"] == 0
    assert api.get("/api/parts/?search=omega").json()["total"] == 1
    api.delete(f"/api/parts/{pid}")
    assert api.get("/api/parts/?search=omega").json()["total"] == 0


def test_list_etag_and_cache_follow_changes(api: Api) -> None:
    pid = api.create(name="Cached")["id"]
    first = api.get("/api/parts/")
    etag = first.headers["etag"]
    assert api.get("/api/parts/", headers={"If-None-Match": etag}).status_code == 304
    api.put(f"/api/parts/{pid}", json={"name": "Changed"})
    after = api.get("/api/parts/", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert after.json()["parts"][0]["name"] == "Changed"
    api.delete(f"/api/parts/{pid}")
    assert api.get("/api/parts/").json()["total"] == 0


def test_identical_edit_is_not_a_new_version(api: Api) -> None:
    part = api.create(name="Same")
    again = api.put(f"/api/parts/{part['id']}", json={"name": "Same"}).json()
    assert again["version"] == part["version"] and again["updatedAt"] == part["updatedAt"]


def test_list_after_season_wipe_is_fresh(api: Api) -> None:
    from tests.conftest import ADMIN_KEY

    api.create(name="Before wipe")
    assert api.get("/api/parts/").json()["parts"][0]["name"] == "Before wipe"
    api.post("/api/parts/wipe", json={"password": ADMIN_KEY})
    api.create(name="After wipe")
    names = [p["name"] for p in api.get("/api/parts/").json()["parts"]]
    assert names == ["After wipe"]


def test_list_json_equals_part_json_after_changes(api: Api) -> None:
    """Cached per-part fragments never show stale data."""
    ids = [api.create(name=f"Frag {i}", amount=i + 1)["id"] for i in range(5)]
    api.get("/api/parts/")  # fill the caches
    api.put(f"/api/parts/{ids[2]}", json={"name": "Frag changed"})
    api.post(f"/api/parts/{ids[3]}/approve", json={"reviewer": "Ann"})
    api.delete(f"/api/parts/{ids[4]}")
    listed = {p["id"]: p for p in api.get("/api/parts/").json()["parts"]}
    assert set(listed) == set(ids[:4])
    for pid in ids[:4]:
        assert listed[pid] == api.get(f"/api/parts/{pid}").json()
