"""People through the API and the sign-in service: the roster, roles enforced on every write,
personal keys that act as their person, deactivation, password sign-in with argon2 and its
throttles, password reset ending sessions, and kiosk sessions (the team key plus a picked name)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from aerie_app.db import session_scope
from aerie_app.errors import InvalidApiKey, RateLimited, ValidationFailed
from aerie_app.models import Person
from aerie_app.permissions import Role
from aerie_app.services import keys, people
from tests.api.conftest import Api

pytestmark = pytest.mark.api


def add(api: Api, name: str, role: str, password: str | None = "correct horse") -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "role": role}
    if password is not None:
        body["password"] = password
    response = api.post("/api/people", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def key_for(api: Api, person: dict[str, Any]) -> str:
    response = api.post(f"/api/people/{person['id']}/keys", json={})
    assert response.status_code == 201, response.text
    assert response.json()["personId"] == person["id"]
    return str(response.json()["key"])


def test_the_roster_and_its_bad_input(api: Api, make_key: Any) -> None:
    ada = add(api, "Ada  Lovelace", "fabricator")
    assert (ada["name"], ada["role"], ada["active"], ada["canSignIn"]) == (
        "Ada Lovelace",
        "fabricator",
        True,
        True,
    )
    assert "password" not in str(ada).lower().replace("cansignin", "")
    kiosk_only = add(api, "Lin", "fabricator", password=None)
    assert kiosk_only["canSignIn"] is False
    # The same name in other case and spacing is the same person.
    taken = api.post("/api/people", json={"name": "ada lovelace", "role": "viewer"})
    assert taken.status_code == 409 and taken.json()["details"]["field"] == "name"
    for body, field in [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Bo", "role": "owner"}, "role"),
        ({"name": "Bo", "password": "short"}, "password"),
        ({"name": "Bo", "password": 12345678}, "password"),
        ({"name": "Bo", "email": "bo@example.org"}, "email"),
    ]:
        response = api.post("/api/people", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["details"]["field"] == field
    names = [p["name"] for p in api.get("/api/people").json()["people"]]
    assert names == ["Ada Lovelace", "Lin"]  # nothing else was added
    # Anyone signed in reads the roster (the pickers need it); only admins change it.
    reader = make_key("read")
    assert api.get("/api/people", key=reader).status_code == 200
    assert api.post("/api/people", key=reader, json={"name": "Eve"}).status_code == 403
    assert (
        api.patch(f"/api/people/{ada['id']}", key=reader, json={"role": "admin"}).status_code == 403
    )
    assert api.get("/api/people/999999").status_code == 404
    assert api.patch("/api/people/abc", json={"role": "viewer"}).status_code == 404
    assert api.patch(f"/api/people/{ada['id']}", json={}).status_code == 400
    assert api.patch(f"/api/people/{ada['id']}", json={"active": "no"}).status_code == 400
    with session_scope() as session:
        stored = session.exec(select(Person).where(Person.name == "Ada Lovelace")).one()
        assert stored.password_hash and stored.password_hash.startswith("$argon2id$")


def test_roles_decide_what_a_personal_key_may_do(api: Api) -> None:
    ada = add(api, "Ada", "fabricator")
    grace = add(api, "Grace", "reviewer")
    viewer = add(api, "Vic", "viewer")
    ada_key, grace_key, vic_key = key_for(api, ada), key_for(api, grace), key_for(api, viewer)
    assert api.get("/api/keys/me", key=ada_key).json() == {
        "name": "Ada",
        "scope": "write",
        "role": "fabricator",
        "personId": ada["id"],
    }
    # A fabricator makes parts but does not decide what gets made.
    refused = api.post("/api/parts/", key=ada_key, json={"name": "x", "material": "Al"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "A fabricator may not create parts"
    made = api.post(
        "/api/parts/",
        key=grace_key,
        json={"name": "Gusset", "material": "Al", "subsystem": "Arm", "type": "hand"},
    )
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    assert api.post(f"/api/parts/{pid}/approve", key=ada_key, json={}).status_code == 403
    assert api.post(f"/api/parts/{pid}/approve", key=grace_key, json={}).status_code == 200
    # She claims it under her own name, whatever name the request says.
    claim = api.post(
        f"/api/parts/{pid}/assign",
        key=ada_key,
        json={"assigned": "Ada"},
        headers={"X-Aerie-User": "Someone Else"},
    )
    assert claim.status_code == 200, claim.text
    assert api.put(f"/api/parts/{pid}", key=ada_key, json={"measuredMassG": 120}).status_code == 200
    assert api.put(f"/api/parts/{pid}", key=ada_key, json={"notes": "mine"}).status_code == 403
    assert api.post(f"/api/parts/{pid}/pins", key=ada_key, json={"note": "x"}).status_code == 403
    api.post(f"/api/parts/{pid}/pins", key=grace_key, json={"note": "deburr"})
    tick = api.patch(f"/api/parts/{pid}/pins/1", key=ada_key, json={"ticked": True})
    assert tick.status_code == 200 and tick.json()["tickedBy"] == "Ada"
    assert api.patch(f"/api/parts/{pid}/pins/1", key=ada_key, json={"note": "y"}).status_code == 403
    done = api.post(f"/api/parts/{pid}/complete", key=ada_key, json={"storage": "Bin 1"})
    assert done.status_code == 200, done.text
    assert api.delete(f"/api/parts/{pid}", key=ada_key).status_code == 403
    actors = {e["kind"]: e["actor"] for e in api.get(f"/api/parts/{pid}/events").json()["events"]}
    assert (
        actors["assign"] == "Ada" and actors["complete"] == "Ada" and actors["approve"] == "Grace"
    )
    # A viewer reads and does nothing else.
    assert api.get(f"/api/parts/{pid}", key=vic_key).status_code == 200
    assert api.post(f"/api/parts/{pid}/revert", key=vic_key, json={}).status_code == 403
    # Admin business stays admin's.
    assert api.get("/api/keys", key=grace_key).status_code == 403
    assert api.post("/api/people", key=grace_key, json={"name": "Z"}).status_code == 403


def test_a_role_change_or_deactivation_applies_at_once_and_history_stays(api: Api) -> None:
    ada = add(api, "Ada", "fabricator")
    key = key_for(api, ada)
    pid = api.create(type="hand")["id"]
    assert api.post(f"/api/parts/{pid}/approve", key=key, json={}).status_code == 403
    promoted = api.patch(f"/api/people/{ada['id']}", json={"role": "reviewer"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "reviewer"
    assert api.post(f"/api/parts/{pid}/approve", key=key, json={}).status_code == 200
    off = api.patch(f"/api/people/{ada['id']}", json={"active": False})
    assert off.json()["active"] is False and off.json()["deactivatedAt"]
    assert api.get("/api/keys/me", key=key).status_code == 401
    events = api.get(f"/api/parts/{pid}/events").json()["events"]
    assert any(e["actor"] == "Ada" and e["kind"] == "approve" for e in events)
    assert [p["name"] for p in api.get("/api/people?active=true").json()["people"]] == []
    assert api.post(f"/api/people/{ada['id']}/keys", json={}).status_code == 409
    api.patch(f"/api/people/{ada['id']}", json={"active": True})
    assert api.get("/api/keys/me", key=key).status_code == 200


def test_password_sign_in_throttles_and_reset(api: Api) -> None:
    ada = add(api, "Ada Lovelace", "fabricator", password="analytical engine")
    with session_scope() as session:
        me = people.sign_in(
            session, name="  ada lovelace ", password="analytical engine", client="1.1.1.1"
        )
        assert (me.name, me.effective_role, me.person_id, me.key_id) == (
            "Ada Lovelace",
            Role.FABRICATOR,
            ada["id"],
            None,
        )
        token = keys.open_session(session, me)
        assert keys.resolve_session(session, token).name == "Ada Lovelace"
        # A wrong password and an unknown name get the same answer.
        for name, password in [("Ada Lovelace", "wrong one!"), ("Nobody", "analytical engine")]:
            with pytest.raises(InvalidApiKey) as info:
                people.sign_in(session, name=name, password=password, client="2.2.2.2")
            assert info.value.message == "Wrong name or password"
        # Per client: the key limit's number of failures in a minute, then 429 even when right.
        for _ in range(8):
            with pytest.raises(InvalidApiKey):
                people.sign_in(session, name="Nobody", password="x" * 8, client="2.2.2.2")
        with pytest.raises(RateLimited):
            people.sign_in(
                session, name="Ada Lovelace", password="analytical engine", client="2.2.2.2"
            )
        # Per account: ten failures from anywhere lock the account for a while.
        for i in range(9):
            with pytest.raises(InvalidApiKey):
                people.sign_in(
                    session, name="Ada Lovelace", password="guess 1234", client=f"3.3.3.{i}"
                )
        with pytest.raises(RateLimited):
            people.sign_in(
                session, name="ada lovelace", password="analytical engine", client="4.4.4.4"
            )
    # An admin resets the password: the old session ends.
    reset = api.patch(f"/api/people/{ada['id']}", json={"password": "difference engine"})
    assert reset.status_code == 200
    with session_scope() as session, pytest.raises(InvalidApiKey):
        keys.resolve_session(session, token)


def test_a_kiosk_session_acts_as_the_picked_person_within_the_key(api: Api, make_key: Any) -> None:
    ada = add(api, "Ada", "fabricator", password=None)
    boss = add(api, "Boss", "admin", password=None)
    shop_key, read_key = make_key("write", "shop kiosk"), make_key("read", "wall screen")
    with session_scope() as session:
        shop = keys.verify_key(session, shop_key)
        picked = people.pick_at_kiosk(session, ada["id"])
        token = keys.open_session(session, shop, person_id=picked.id)
        who = keys.resolve_session(session, token)
        assert (who.name, who.effective_role, who.person_id, who.key_id) == (
            "Ada",
            Role.FABRICATOR,
            ada["id"],
            shop.key_id,
        )
        # An admin picked at a read-only screen is a viewer there.
        wall = keys.verify_key(session, read_key)
        token = keys.open_session(session, wall, person_id=boss["id"])
        assert keys.resolve_session(session, token).effective_role is Role.VIEWER
    api.patch(f"/api/people/{ada['id']}", json={"active": False})
    with session_scope() as session, pytest.raises(ValidationFailed):
        people.pick_at_kiosk(session, ada["id"])


def test_old_spellings_merge_onto_a_person(api: Api) -> None:
    ada = add(api, "Ada Lovelace", "fabricator", password=None)
    first = api.create(type="hand")["id"]
    second = api.create(type="hand")["id"]
    for pid, spelling in ((first, "ada"), (second, "  ADA  ")):
        api.post(f"/api/parts/{pid}/approve", json={})
        claim = api.post(
            f"/api/parts/{pid}/assign", json={"assigned": spelling}, headers={"X-Aerie-User": "ada"}
        )
        assert claim.status_code == 200, claim.text
    third = api.create(type="hand")["id"]
    api.post(f"/api/parts/{third}/approve", json={})
    api.post(f"/api/parts/{third}/assign", json={"assigned": "Bob"})
    loose = api.get("/api/people/names").json()["names"]
    assert {"ada", "Bob"} <= {n["name"] for n in loose}
    assert "Ada Lovelace" not in {n["name"] for n in loose}
    for bad in ({}, {"names": []}, {"names": "ada"}, {"names": [""]}, {"names": ["a"], "x": 1}):
        assert api.post(f"/api/people/{ada['id']}/merge", json=bad).status_code == 400, bad
    version = api.get(f"/api/parts/{first}").json()["version"]
    merged = api.post(f"/api/people/{ada['id']}/merge", json={"names": ["Ada "]})
    assert merged.status_code == 200, merged.text
    assert merged.json()["parts"] == 2 and merged.json()["events"] >= 2
    for pid in (first, second):
        part = api.get(f"/api/parts/{pid}").json()
        assert part["assigned"] == "Ada Lovelace"
        events = api.get(f"/api/parts/{pid}/events").json()["events"]
        assert any(e["kind"] == "people" and "Ada Lovelace" in e["note"] for e in events)
        assign = next(e for e in events if e["kind"] == "assign")
        assert assign["actor"].startswith("Ada Lovelace (key: ")
    assert api.get(f"/api/parts/{first}").json()["version"] == version + 1
    assert api.get(f"/api/parts/{third}").json()["assigned"] == "Bob"  # others untouched
    assert "ada" not in {n["name"].casefold() for n in api.get("/api/people/names").json()["names"]}
    assert api.post("/api/people/999999/merge", json={"names": ["Bob"]}).status_code == 404


def test_an_integration_key_carries_its_own_role(api: Api) -> None:
    made = api.post("/api/keys", json={"name": "Line sensor", "role": "fabricator"})
    assert made.status_code == 201, made.text
    assert (made.json()["role"], made.json()["scope"], made.json()["personId"]) == (
        "fabricator",
        "write",
        None,
    )
    sensor = made.json()["key"]
    assert api.get("/api/keys/me", key=sensor).json()["role"] == "fabricator"
    pid = api.create(type="hand")["id"]
    assert api.post(f"/api/parts/{pid}/approve", key=sensor, json={}).status_code == 403
    api.post(f"/api/parts/{pid}/approve", json={})
    claim = api.post(f"/api/parts/{pid}/assign", key=sensor, json={"assigned": "Cell 2"})
    assert claim.status_code == 200, claim.text
    bad = api.post("/api/keys", json={"name": "x", "role": "owner"})
    assert bad.status_code == 400 and bad.json()["details"]["field"] == "role"
