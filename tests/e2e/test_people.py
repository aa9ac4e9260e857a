"""People in the browser: an admin adds a reviewer and a fabricator; each signs in with their own
name and password and sees what their role allows (the reviewer approves, the fabricator claims
and completes, and the timeline names them); a wrong password is refused; a shop computer on the
team key picks who is working from the roster."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server
from tests.e2e.test_accessibility import audit
from tests.e2e.test_journeys import create_via_api, sign_in

pytestmark = pytest.mark.e2e


def person_sign_in(browser: Any, server: Server, name: str, password: str) -> tuple[Any, Any]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "/")
    expect(page.locator("#mode-person")).to_have_attribute("data-state", "checked")
    page.locator("#person-name").fill(name)
    page.locator("#person-password").fill(password)
    with page.expect_navigation(timeout=30_000):
        page.locator("#sign-in").click()
    page.locator("#parts-table, #parts-cards").first.wait_for(timeout=30_000)
    return context, page


def add_person(page: Any, name: str, role: str, password: str) -> None:
    page.locator("#new-person-name").fill(name)
    page.locator("#new-person-role").select_option(role)
    page.locator("#new-person-password").fill(password)
    page.locator("#add-person").click()
    expect(page.locator(f".person-row[data-name='{name}']")).to_be_visible()


def test_two_people_with_different_roles(browser: Any, page: Any, server: Server) -> None:
    tag = uuid.uuid4().hex[:6]
    # Before people: a claim typed as a free-text name.
    old = create_via_api(server, name=f"Old claim {tag}", type="hand")["id"]
    server.api("POST", f"/api/parts/{old}/approve", json={})
    server.api("POST", f"/api/parts/{old}/assign", json={"assigned": f"grace {tag}"})
    # The admin (the team's admin key) adds two people.
    sign_in(page, server)
    page.goto(server.url + "/admin")
    add_person(page, "Grace Hopper", "reviewer", "compiler one")
    add_person(page, "Ada Lovelace", "fabricator", "analytical engine")
    assert audit(page, "admin page with people") == []
    # The merge tool credits the old spelling to Grace.
    loose = page.locator(f".loose-name[data-name='grace {tag}']")
    loose.get_by_role("combobox").select_option(label="Grace Hopper")
    loose.get_by_role("button", name=f"Merge grace {tag}").click()
    expect(loose).to_have_count(0)
    assert server.api("GET", f"/api/parts/{old}").json()["assigned"] == "Grace Hopper"
    part = create_via_api(server, name=f"Roles bracket {tag}", type="hand")
    pid = part["id"]

    # A wrong password gets one plain answer, and nobody is signed in.
    context = browser.new_context()
    try:
        wrong = context.new_page()
        wrong.goto(server.url + "/")
        wrong.locator("#person-name").fill("Grace Hopper")
        wrong.locator("#person-password").fill("not my password")
        wrong.locator("#sign-in").click()
        expect(wrong.locator("#sign-in-error")).to_have_text("Wrong name or password.")
        assert audit(wrong, "sign-in with an error") == []
    finally:
        context.close()

    # The reviewer approves; the dialog already names her.
    context, grace = person_sign_in(browser, server, "grace hopper", "compiler one")
    try:
        expect(grace.locator("#signed-in-as")).to_have_text("Grace Hopper (reviewer)")
        grace.goto(f"{server.url}/parts/{pid}")
        expect(grace.locator("#edit-part")).to_be_visible()
        grace.locator(".act-approve").click()
        expect(grace.locator("#reviewer")).to_have_value("Grace Hopper")
        grace.locator("#action-confirm").click()
        expect(grace.locator(".act-assign")).to_be_visible()
    finally:
        context.close()

    # The fabricator claims and completes; approving, editing and deleting are not offered.
    context, ada = person_sign_in(browser, server, "Ada Lovelace", "analytical engine")
    try:
        expect(ada.locator("#signed-in-as")).to_have_text("Ada Lovelace (fabricator)")
        expect(ada.locator("#add-part")).to_have_count(0)
        ada.goto(f"{server.url}/parts/{pid}")
        expect(ada.locator(".act-assign")).to_be_visible()
        expect(ada.locator("#edit-part")).to_have_count(0)
        expect(ada.locator("#delete-part")).to_have_count(0)
        expect(ada.locator(".act-revert")).to_have_count(0)
        ada.locator(".act-assign").click()
        expect(ada.locator("#maker-name")).to_have_value("Ada Lovelace")
        ada.locator("#action-confirm").click()
        ada.locator(".act-complete").click()
        ada.locator("#storage").fill("Bin 7")
        ada.locator("#action-confirm").click()
        expect(ada.locator("#detail-title")).to_have_text(f"Roles bracket {tag}")
        expect(ada.locator(".act-mark_incorrect")).to_have_count(0)  # a reviewer's call
        assert audit(ada, "part page as a fabricator") == []
    finally:
        context.close()
    events = server.api("GET", f"/api/parts/{pid}/events").json()["events"]
    actors = {e["kind"]: e["actor"] for e in events}
    assert actors["approve"] == "Grace Hopper"
    assert actors["assign"] == "Ada Lovelace" and actors["complete"] == "Ada Lovelace"
    assert server.api("GET", f"/api/parts/{pid}").json()["category"] == "completed"


def test_a_shop_computer_picks_who_is_working(browser: Any, server: Server) -> None:
    name = f"Kiosk Kim {uuid.uuid4().hex[:4]}"
    made = server.api("POST", "/api/people", json={"name": name, "role": "fabricator"})
    assert made.status_code == 201, made.text
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(page, server)
        picker = page.locator("#kiosk-person")
        expect(picker).to_be_visible()
        with page.expect_navigation(timeout=30_000):
            picker.select_option(label=name)
        page.locator("#parts-table, #parts-cards").first.wait_for(timeout=30_000)
        expect(page.locator("#kiosk-person")).to_have_value(str(made.json()["id"]))
        pid = create_via_api(server, name="Kiosk part", type="hand")["id"]
        server.api("POST", f"/api/parts/{pid}/approve", json={})
        page.goto(f"{server.url}/parts/{pid}")
        page.locator(".act-assign").click()
        expect(page.locator("#maker-name")).to_have_value(name)
        page.locator("#action-confirm").click()
        expect(page.locator(".act-complete")).to_be_visible()
    finally:
        context.close()
    events = server.api("GET", f"/api/parts/{pid}/events").json()["events"]
    assert next(e for e in events if e["kind"] == "assign")["actor"] == name
