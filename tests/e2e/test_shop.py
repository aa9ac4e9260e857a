"""The geometry-aware shop in a real browser: machines in settings, fit badges, confirmation.

The plate fixture is 120 × 80 × 6 mm. No seeded machine cuts steel or titanium, so a steel
plate's fit is decided by the machine the test sets up, and a titanium one fits nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server
from tests.e2e.test_journeys import create_via_api, row, sign_in, unique, upload_via_api

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def plate_part(server: Server, steps: Path, **fields: Any) -> dict[str, Any]:
    """A part with the plate uploaded through the API, once its model is converted."""
    part = create_via_api(server, type="cnc", **fields)
    upload_via_api(server, part["id"], steps / "plate_with_holes.step")
    return part


def test_plate_fits_nothing_until_the_machine_grows(
    page: Any, server: Server, steps: Path, shot: Any
) -> None:
    machine, name = unique("Waterjet"), unique("Steel plate")
    sign_in(page, server)

    # A machine too small for the plate; a length it cannot read is refused next to its field.
    page.goto(server.url + "/settings")
    page.locator("#add-machine").click()
    page.locator("#shop-name").fill(machine)
    page.locator("#shop-process").select_option("waterjet")
    page.locator("#shop-x").fill("a hundred")
    page.locator("#shop-y").fill("100")
    page.locator("#shop-materials").fill("mild steel")
    page.locator("#shop-save").click()
    error = page.locator("#shop-x-error")
    expect(error).to_contain_text("Cannot read")
    expect(page.locator("#shop-x")).to_have_attribute("aria-describedby", "shop-x-error")
    expect(page.locator("#shop-x")).to_have_attribute("aria-invalid", "true")
    shot("shop-machine-error")
    page.locator("#shop-x").fill("100 mm")
    expect(error).to_have_count(0)
    page.locator("#shop-save").click()
    machine_row = page.locator(".machine-row", has_text=machine)
    expect(machine_row.locator(".machine-size")).to_have_text("100 × 100 mm waterjet")

    # Upload the 120 × 80 mm plate to a new part: the board says it fits nothing, and why.
    page.goto(server.url + "/")
    page.locator("#add-part").click()
    page.locator("#pf-name").fill(name)
    page.locator("#pf-subsystem").fill("Drivetrain")
    page.locator("#pf-material").fill("Mild steel")
    page.locator("#part-file input[type=file]").set_input_files(
        str(steps / "plate_with_holes.step")
    )
    page.locator("#pf-save").click()
    expect(page.locator("#conversion-status")).to_contain_text("ready", timeout=120_000)
    page.keyboard.press("Escape")
    plate = row(page, name)
    expect(plate.locator(".fit-badge")).to_have_text("fits nothing", timeout=15_000)
    expect(plate.locator(".fit-reason")).to_contain_text(f"120 mm > 100 mm {machine} bed by 20 mm")
    expect(plate.locator(".stock-reason")).to_contain_text("No stock of 6 mm mild steel")
    shot("shop-fits-nothing")

    # The board's fit filter is the API's ?fits=none.
    page.locator("#filter-fits").select_option("none")
    expect(plate).to_be_visible()
    page.locator("#filter-fits").select_option(label=f"Fits {machine}")
    expect(plate).to_have_count(0)
    page.locator("#filter-fits").select_option("__all__")

    # A bigger bed: every part's fit is recomputed, and the plate fits.
    page.goto(server.url + "/settings")
    machine_row.locator(".machine-edit").click()
    expect(page.locator("#shop-x")).to_have_value("100 mm")
    page.locator("#shop-x").fill("600")
    page.locator("#shop-y").fill("600 mm")
    page.locator("#shop-save").click()
    expect(machine_row.locator(".machine-size")).to_have_text("600 × 600 mm waterjet")
    page.goto(server.url + "/")
    expect(plate.locator(".fit-badge")).to_have_text("fits")
    expect(plate.locator(".fit-machines")).to_have_text(machine)
    page.locator("#filter-fits").select_option(label=f"Fits {machine}")
    expect(plate).to_be_visible()
    expect(page.locator(".part-row")).to_have_count(1)
    shot("shop-fits")


def test_fit_badges_on_a_phone(browser: Any, server: Server, steps: Path) -> None:
    fits = plate_part(
        server, steps, name=unique("Alu plate"), material="6061 Aluminum", materialThickness='1/4"'
    )
    nothing = plate_part(server, steps, name=unique("Ti plate"), material="Titanium")
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, server)
        card = page.locator(".part-card", has_text=fits["name"])
        expect(card.locator(".fit-badge")).to_have_text("fits")
        expect(card.locator(".fit-machines")).to_contain_text("Router")
        expect(card.locator(".stock-match")).to_contain_text("aluminium 6061 sheet")
        card = page.locator(".part-card", has_text=nothing["name"])
        expect(card.locator(".fit-badge")).to_have_text("fits nothing")
        # The reason is text on the card, not a tooltip.
        expect(card.locator(".fit-reason")).to_be_visible()
        expect(card.locator(".fit-reason")).to_contain_text("does not cut titanium")
        page.screenshot(path="artifacts/e2e/shop-phone.png", full_page=True)
    finally:
        context.close()


def test_approving_a_part_that_fits_nothing_asks_first(
    page: Any, server: Server, steps: Path
) -> None:
    plate_part(server, steps, name=unique("Ti gusset"), material="Titanium")
    twin = plate_part(server, steps, name=unique("Ti twin"), material="Titanium")
    # The duplicate check follows the conversion: wait for it before the dialog reads the part.
    deadline = time.monotonic() + 30
    while not (looks_like := server.api("GET", f"/api/parts/{twin['id']}").json()["duplicateOf"]):
        assert time.monotonic() < deadline, "the twin plate was never flagged as a duplicate"
        time.sleep(0.5)
    sign_in(page, server)
    row(page, twin["name"]).locator(".act-approve").click()
    checklist = page.locator("#review-checklist")
    expect(checklist.locator(".fit-badge")).to_have_text("fits nothing")
    expect(checklist.locator(".fit-reason")).to_contain_text("does not cut titanium")
    # Same geometry as an earlier plate: "looks like" it, with a link.
    expect(checklist.locator(".duplicate-link")).to_have_attribute(
        "href", f"/parts/{looks_like['id']}"
    )
    page.locator("#action-confirm").click()
    expect(page.locator("#action-error")).to_contain_text("Approve anyway")
    page.locator("#confirm-no-fit").click()
    page.locator("#action-confirm").click()
    expect(row(page, twin["name"])).to_have_count(0)
    approved = server.api("GET", f"/api/parts/{twin['id']}").json()
    assert approved["category"] == "cnc", approved

    # The part page: the confirmation on the timeline, and a measured mass.
    page.goto(f"{server.url}/parts/{twin['id']}")
    expect(page.locator(".timeline-row", has_text="fits no machine")).to_be_visible()
    expect(page.locator("#shop-facts .fit-badge")).to_have_text("fits nothing")
    page.locator("#measured-mass").fill("heavy")
    page.locator("#save-mass").click()
    expect(page.locator("#measured-mass-error")).to_contain_text("Measured mass")
    expect(page.locator("#measured-mass")).to_have_attribute(
        "aria-describedby", "measured-mass-error"
    )
    page.locator("#measured-mass").fill("412")
    page.locator("#save-mass").click()
    expect(page.locator("#measured-mass-value")).to_have_text("412 g")
    assert server.api("GET", f"/api/parts/{twin['id']}").json()["measuredMassG"] == 412


def test_cut_list_and_weight_budget_pages(page: Any, server: Server) -> None:
    sign_in(page, server)
    page.goto(server.url + "/stats")
    expect(page.locator("#chart-weight")).to_be_visible()
    expect(page.locator("#weight-table")).to_be_visible()
    page.goto(server.url + "/cutlist")
    expect(page.locator("#cutlist-summary")).to_contain_text("pieces still to make")
    csv = page.request.get(server.url + "/api/cutlist.csv")
    assert csv.status == 200 and csv.text().startswith("material,"), csv.text()[:200]
