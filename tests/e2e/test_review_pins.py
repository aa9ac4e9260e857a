"""Review pins in the browser: a reviewer clicks a face of the 3D model and pins a note there (and
adds a plain checklist item with the keyboard); completing the part is refused while they are
open, naming them; a maker ticks them on the phone card and then completes the part there."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server
from tests.e2e.test_accessibility import audit
from tests.e2e.test_journeys import create_via_api, sign_in, upload_via_api
from tests.e2e.test_shop_floor import PHONE, no_sideways_scroll

pytestmark = pytest.mark.e2e


def test_pin_blocks_completion_until_ticked_on_the_phone(
    browser: Any, page: Any, server: Server, steps: Path, shot: Any
) -> None:
    tag = uuid.uuid4().hex[:6]
    part = create_via_api(server, name=f"Pinned plate {tag}", type="hand", amount=1)
    pid = part["id"]
    upload_via_api(server, pid, steps / "plate_with_holes.step")
    assert server.api("POST", f"/api/parts/{pid}/approve", json={}).status_code == 200

    # At the review table: "Pin", then a click on the plate's top face, then the note.
    sign_in(page, server)
    page.goto(f"{server.url}/parts/{pid}")
    viewer = page.get_by_test_id("aerie-viewer")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    page.get_by_test_id("viewer-pin").click()
    expect(viewer).to_have_attribute("data-pin-mode", "on")
    canvas = page.get_by_test_id("viewer-canvas")
    box = canvas.bounding_box()
    assert box
    canvas.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    expect(viewer).to_have_attribute("data-pin-mode", "off")
    expect(page.locator("#pin-draft")).to_contain_text("New pin at (")
    page.locator("#pin-note").fill("tap 10-32")
    page.locator("#save-pin").click()
    expect(page.locator(".pin-line")).to_have_count(1)
    marker = page.get_by_test_id("viewer-pin-marker")
    expect(marker).to_have_count(1)
    expect(marker).to_be_visible()
    expect(marker).to_have_attribute("data-pin-state", "open")
    pin = server.api("GET", f"/api/parts/{pid}/pins").json()["pins"][0]
    # The plate is 120 × 80 × 6 mm about its centre, seen from above: the click hit the top
    # face (z = +3 mm, normal +Z), in the STEP model's own axes.
    x, y, z = pin["point"]
    assert abs(z - 3.0) < 0.05 and abs(x) < 60 and abs(y) < 40, pin
    assert pin["normal"] == pytest.approx([0.0, 0.0, 1.0], abs=1e-3), pin
    assert pin["onModel"] and pin["face"] >= 0

    # A plain checklist item, keyboard only: the note field, then Enter.
    page.locator("#pin-note").focus()
    page.keyboard.type("deburr every edge")
    page.keyboard.press("Enter")
    expect(page.locator(".pin-line")).to_have_count(2)
    expect(page.locator("#pins-open")).to_have_text("2 open")
    shot("review-pins")
    assert audit(page, "part page with pins") == []

    # At the machine: the card lists the pins; completing is refused while they are open.
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, server)
        phone.goto(f"{server.url}/p/{pid}")
        card = phone.locator("#phone-card")
        expect(card.locator(".pin-line")).to_have_count(2)
        card.locator(".act-assign").tap()
        phone.locator("#maker-name").fill("Alice")
        phone.locator("#action-confirm").tap()
        expect(card.locator("#card-maker")).to_have_text("Alice")
        card.locator(".act-complete").tap()
        phone.locator("#storage").fill("Bin 2")
        phone.locator("#action-confirm").tap()
        error = phone.locator("#action-error")
        expect(error).to_contain_text("Review pins still open: #1 tap 10-32; #2 deburr every edge")
        phone.keyboard.press("Escape")
        expect(card.locator("#card-status")).not_to_have_text("Completed")

        # Ticked one by one (a tap on the line's text ticks it too), then completed.
        for number in (1, 2):
            line = card.locator(f".pin-line[data-pin='{number}']")
            line.locator("label[for^='pin-tick']").tap()
            expect(line).to_have_attribute("data-state", "ticked")
        expect(card.get_by_text("all done")).to_be_visible()
        no_sideways_scroll(phone)
        assert audit(phone, "phone card with pins") == []
        card.locator(".act-complete").tap()
        phone.locator("#storage").fill("Bin 2")
        phone.locator("#action-confirm").tap()
        expect(card.locator("#card-status")).to_have_text("Completed")
    finally:
        context.close()

    events = server.api("GET", f"/api/parts/{pid}/events").json()["events"]
    ticks = [e for e in events if e["kind"] == "pin" and "ticked" in (e["note"] or "")]
    assert len(ticks) == 2 and all((e["actor"] or "").startswith("Alice") for e in ticks), ticks
    # Back on the review table's page, the markers show the pins done.
    page.goto(f"{server.url}/parts/{pid}")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    expect(page.get_by_test_id("viewer-pin-marker")).to_have_attribute("data-pin-state", "ticked")
