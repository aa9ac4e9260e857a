"""People and the shop floor: print a label sheet on the board, follow its QR code on a phone-sized
page, claim and complete the part there; scan a label with the camera; import a spreadsheet;
subscribe a webhook and read its log."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from playwright.sync_api import expect

from tests.api.test_drawings import ACCESS, SECRET, URL_W
from tests.api.test_onshape_bom import robot_bom
from tests.e2e.conftest import ARTIFACTS, Server, start_server, stop_server
from tests.e2e.test_accessibility import audit
from tests.e2e.test_journeys import create_via_api, open_tab, sign_in
from tests.fake_onshape import FakeOnshape

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def onshape_fake(steps: Path) -> Iterator[FakeOnshape]:
    """The local Onshape fake, serving a robot's BOM and a real STEP for every part."""
    with FakeOnshape(ACCESS, SECRET) as fake:
        fake.bom_pages = robot_bom()
        fake.step = (steps / "plate_with_holes.step").read_bytes()
        yield fake


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, onshape_fake: FakeOnshape) -> Iterator[Server]:
    """This module's Aerie talks to the Onshape fake (its settings point there)."""
    srv = start_server(
        tmp_path_factory.mktemp("aerie-floor"),
        {
            "AERIE_ONSHAPE_BASE_URL": onshape_fake.base_url,
            "AERIE_ONSHAPE_ACCESS_KEY": ACCESS,
            "AERIE_ONSHAPE_SECRET_KEY": SECRET,
            "AERIE_ONSHAPE_POLL_INTERVAL_S": "0.05",
        },
    )
    yield srv
    stop_server(srv.process)


def qr_codes(pdf: bytes) -> list[str]:
    """Every QR code on every page of a PDF, as a scanner reads them."""
    found: list[str] = []
    for page in pdfium.PdfDocument(pdf):
        image = page.render(scale=300 / 72).to_pil()
        codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        found += [
            c.text
            for c in sorted(
                codes, key=lambda c: (c.position.top_left.y // 50, c.position.top_left.x)
            )
        ]
    return found


def approved(server: Server, **fields: Any) -> dict[str, Any]:
    part = create_via_api(server, type="hand", **fields)
    response = server.api("POST", f"/api/parts/{part['id']}/approve", json={"reviewer": "Ada"})
    assert response.status_code == 200, response.text
    return part


def phone_page(browser: Any, server: Server) -> tuple[Any, Any]:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    sign_in(page, server)
    return context, page


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def test_a_label_sheets_code_opens_the_phone_card_to_claim_and_complete(
    browser: Any, page: Any, server: Server, shot: Any
) -> None:
    tag = uuid.uuid4().hex[:6]
    plate = approved(
        server,
        name=f"Label plate {tag}",
        partId=f"LB-{tag}-1",
        material="6061 Aluminum",
        materialThickness="0.25 in",
        amount=2,
        subsystem="Intake",
    )
    spacer = approved(server, name=f"Label spacer {tag}", partId=f"LB-{tag}-2", subsystem="Drive")
    approved(server, name=f"Label other {tag}", partId=f"LB-{tag}-3")

    # At the review table: pick one part, ask for its label sheet.
    sign_in(page, server)
    open_tab(page, "hand")
    page.locator("#search").fill(tag)
    expect(page.locator(".part-row")).to_have_count(3)
    page.get_by_role("checkbox", name=f"Pick Label plate {tag} for labels").click()
    expect(page.locator("#picked-count")).to_have_text("1 picked")
    page.locator("#labels-open").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("radio", name=re.compile("picked on the board"))).to_be_checked()
    expect(dialog.locator("#labels-base")).to_contain_text(server.url + "/p/…")
    # 127.0.0.1 only works on this computer: the dialog says so before anything is printed.
    expect(dialog.locator("#labels-local")).to_be_visible()
    link = dialog.locator("#labels-pdf")
    expect(link).to_contain_text("(1)")
    shot("labels-dialog")
    href = link.get_attribute("href")
    assert href and f"ids={plate['id']}" in href, href
    pdf = page.request.get(server.url + href)
    assert pdf.headers["content-type"] == "application/pdf"
    assert qr_codes(pdf.body()) == [f"{server.url}/p/{plate['id']}"]
    # The whole view instead: every part the search shows, in the board's order.
    dialog.get_by_role("radio", name=re.compile("Everything in this view")).click()
    expect(link).to_contain_text("(3)")
    view = page.request.get(server.url + (link.get_attribute("href") or ""))
    assert len(qr_codes(view.body())) == 3

    # At the machine: the code opens the part's card on a phone.
    context, phone = phone_page(browser, server)
    try:
        phone.goto(qr_codes(pdf.body())[0])
        card = phone.locator("#phone-card")
        expect(card.locator("#card-title")).to_have_text(f"Label plate {tag}")
        expect(card.locator("#card-part-id")).to_have_text(f"LB-{tag}-1")
        expect(card.locator("#card-material")).to_have_text("6061 Aluminum")
        expect(card.locator("#card-thickness")).to_have_text("0.25 in")
        expect(card.locator("#card-amount")).to_have_text("2")
        expect(card.locator("#card-subsystem")).to_have_text("Intake")
        no_sideways_scroll(phone)
        claim = card.locator(".act-assign")
        box = claim.bounding_box()
        assert box and box["height"] >= 48, box  # a gloved thumb's target
        assert audit(phone, "phone card") == []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / "phone-card.png"), full_page=True)

        # The first claim on this phone asks who; the name is remembered.
        claim.tap()
        phone.locator("#maker-name").fill("Alice")
        phone.locator("#action-confirm").tap()
        expect(card.locator("#card-maker")).to_have_text("Alice")
        expect(card.locator("#card-status")).to_have_text("In Progress")
        card.locator(".act-complete").tap()
        phone.locator("#quantity").fill("2")
        phone.locator("#storage").fill("Bin 4")
        phone.locator("#action-confirm").tap()
        expect(card.locator("#card-status")).to_have_text("Completed")
        expect(card.locator("#card-storage")).to_have_text("Bin 4")
        # Checked at the cart and found wrong: one tap marks it.
        card.locator(".act-mark_incorrect").tap()
        expect(card.get_by_text("incorrect", exact=True)).to_be_visible()
        no_sideways_scroll(phone)

        # The next label: one tap claims it for Alice, no question asked.
        phone.goto(f"{server.url}/p/{spacer['id']}")
        expect(card.locator("#card-title")).to_have_text(f"Label spacer {tag}")
        expect(phone.get_by_text("Claim goes to Alice")).to_be_visible()
        card.locator(".act-assign").tap()
        expect(card.locator("#card-maker")).to_have_text("Alice")
        expect(phone.get_by_role("dialog")).to_have_count(0)
    finally:
        context.close()

    timeline = server.api("GET", f"/api/parts/{plate['id']}/events").json()
    actors = [e.get("actor") or "" for e in timeline["events"]]
    assert any(a.startswith("Alice") for a in actors), actors


def test_an_unknown_card_number_says_so(browser: Any, server: Server) -> None:
    context, phone = phone_page(browser, server)
    try:
        phone.goto(f"{server.url}/p/987654")
        expect(phone.locator("#card-missing")).to_be_visible()
    finally:
        context.close()


SCANNER_STUB = """
(() => {
  // Chromium on Linux has no BarcodeDetector (Android and macOS have): this one reads the
  // fake camera's frames and answers what a label would, so the page's own code path runs.
  window.BarcodeDetector = class {
    constructor(options) { window.__scanFormats = options.formats; }
    async detect(source) {
      if (!(source instanceof HTMLVideoElement) || source.readyState < 2) return [];
      return [{ rawValue: window.__scanAnswer }];
    }
  };
})();
"""


def test_scan_reads_a_label_with_the_camera_and_opens_its_card(
    browser: Any, server: Server
) -> None:
    part = approved(server, name=f"Scanned bracket {uuid.uuid4().hex[:6]}")
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    context.grant_permissions(["camera"])
    context.add_init_script(SCANNER_STUB)
    phone = context.new_page()
    try:
        sign_in(phone, server)
        # A code that is not a label goes nowhere, whatever it holds.
        phone.evaluate("() => { window.__scanAnswer = 'https://example.com/login'; }")
        phone.locator("#scan-label").tap()
        dialog = phone.locator("#scan-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.locator("#scan-status")).to_have_text("That code is not an Aerie part label.")
        assert phone.evaluate("() => window.__scanFormats") == ["qr_code"]
        expect(dialog.locator("#scan-video")).to_be_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / "scan-dialog.png"))
        # A label printed with another address still opens here.
        phone.evaluate(
            f"() => {{ window.__scanAnswer = 'http://192.168.1.20:3000/p/{part['id']}'; }}"
        )
        phone.wait_for_url(f"{server.url}/p/{part['id']}")
        expect(phone.locator("#card-title")).to_have_text(part["name"])
        # The camera was let go.
        assert (
            phone.evaluate("() => document.querySelector('#scan-video')?.srcObject ?? null") is None
        )
    finally:
        context.close()


def test_without_a_camera_reader_the_number_under_the_code_opens_the_card(
    page: Any, server: Server
) -> None:
    part = approved(server, name=f"Typed bracket {uuid.uuid4().hex[:6]}")
    sign_in(page, server)
    page.locator("#scan-label").click()
    dialog = page.get_by_role("dialog", name="Scan a part label")
    expect(dialog.locator("#scan-status")).to_contain_text("point the phone's camera app")
    expect(dialog.get_by_label("Or type the number under the code")).to_be_focused()
    assert audit(page, "scan dialog") == []
    page.keyboard.type("abc")
    page.keyboard.press("Enter")
    expect(dialog.locator("#scan-status")).to_contain_text("Type the number printed under the code")
    dialog.get_by_label("Or type the number under the code").fill(f"#{part['id']}")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/p/{part['id']}")
    expect(page.locator("#card-title")).to_have_text(part["name"])
    # Escape closes the dialog; focus is back on the page.
    page.locator("#scan-label").click()
    page.keyboard.press("Escape")
    expect(page.locator("#scan-dialog")).to_be_hidden()


def test_a_spreadsheet_is_previewed_then_imported_on_the_board(
    page: Any, server: Server, tmp_path: Any
) -> None:
    tag = uuid.uuid4().hex[:6]
    existing = create_via_api(server, partId=f"IM-{tag}-1", name=f"Import plate {tag}", amount=2)
    sign_in(page, server)
    page.locator("#import-open").click()
    dialog = page.get_by_role("dialog", name="Import parts")
    upload = dialog.get_by_label("Spreadsheet of parts (.csv or .xlsx)")

    # A file with a bad row: the preview names it and nothing can be imported.
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "partId,name,subsystem,material,amount\n"
        f"IM-{tag}-1,Import plate {tag},Intake,Aluminum,5\n"
        f"IM-{tag}-2,Import gusset {tag},Intake,,lots\n",
        encoding="utf-8",
    )
    upload.set_input_files(str(bad))
    dialog.locator("#import-preview").click()
    expect(dialog.locator("#import-summary")).to_have_text(
        "2 rows: 0 new, 1 changed, 0 unchanged, 1 with errors"
    )
    expect(dialog.locator(".import-row").first).to_contain_text(
        "amount: Amount must be a whole number greater than 0"
    )
    expect(dialog.locator("#import-apply")).to_be_disabled()
    assert audit(page, "import preview") == []

    # Fixed: one change and one new part, applied together.
    good = tmp_path / "good.csv"
    good.write_text(
        "partId,name,subsystem,material,amount\n"
        f"IM-{tag}-1,Import plate {tag},Intake,Aluminum,5\n"
        f"IM-{tag}-2,Import gusset {tag},Intake,Steel,4\n",
        encoding="utf-8",
    )
    upload.set_input_files(str(good))
    dialog.locator("#import-preview").click()
    expect(dialog.locator("#import-summary")).to_have_text(
        "2 rows: 1 new, 1 changed, 0 unchanged, 0 with errors"
    )
    expect(dialog.locator(".import-row", has_text="amount: 2 → 5")).to_be_visible()
    dialog.locator("#import-apply").click()
    expect(dialog).to_be_hidden()
    page.locator("#search").fill(tag)
    expect(page.locator(".part-row")).to_have_count(2)
    expect(page.locator(".part-row", has_text=f"Import gusset {tag}")).to_contain_text("Steel")
    assert server.api("GET", f"/api/parts/{existing['id']}").json()["amount"] == 5


def test_an_admin_subscribes_a_webhook_and_reads_its_log(page: Any, server: Server) -> None:
    from aerie_app.services import webhooks
    from tests.api.test_webhooks import Receiver

    receiver = Receiver()
    try:
        sign_in(page, server)
        page.goto(server.url + "/admin")
        card = page.locator("#webhooks-card")
        card.get_by_label("Receiver URL").fill(receiver.url)
        # Controlled by the server's state: click, then wait for the answer.
        created = card.get_by_role("checkbox", name="part.created")
        created.click()
        expect(created).to_be_checked()
        moved = card.get_by_role("checkbox", name="part.moved")
        moved.click()
        expect(moved).not_to_be_checked()
        card.locator("#hook-create").click()
        secret = card.locator("#hook-secret").inner_text()
        assert secret.startswith("whsec_")
        expect(card.locator(".hook-row")).to_contain_text("part.created")
        assert audit(page, "admin webhooks") == []

        part = create_via_api(server, name=f"Hooked {uuid.uuid4().hex[:6]}")
        deadline = time.monotonic() + 20
        while not receiver.got and time.monotonic() < deadline:
            time.sleep(0.2)  # the server's dispatcher runs every second
        (got,) = receiver.got
        body = json.loads(got["body"])
        assert body["event"] == "part.created" and body["part"]["id"] == part["id"]
        assert webhooks.verify(secret, got["headers"]["X-Aerie-Signature"], got["body"])

        card.get_by_role("button", name="Log").click()
        expect(card.locator(".delivery-row").first).to_contain_text("delivered")
        expect(card.locator(".delivery-row").first).to_contain_text("part.created")
    finally:
        receiver.server.shutdown()


def test_an_onshape_assembly_is_previewed_imported_and_its_models_fetched(
    page: Any, server: Server, onshape_fake: FakeOnshape
) -> None:
    sign_in(page, server)
    page.locator("#import-open").click()
    dialog = page.get_by_role("dialog", name="Import parts")
    dialog.get_by_label("Assembly URL").fill(URL_W)
    dialog.get_by_label("Subsystem of top-level parts").fill("Chassis")
    dialog.locator("#onshape-preview").click()
    expect(dialog.locator("#import-summary")).to_have_text(
        "4 rows: 4 new, 0 changed, 0 unchanged, 0 with errors"
    )
    expect(dialog.locator(".import-row", has_text="SP-010")).to_contain_text("10")
    assert audit(page, "onshape preview") == []
    dialog.locator("#import-apply").click()
    expect(dialog).to_be_hidden()
    page.locator("#search").fill("SP-010")
    expect(page.locator(".part-row")).to_have_count(1)
    expect(page.locator(".part-row")).to_contain_text("Roller spacer")

    # Each part's STEP comes from Onshape and goes through the normal conversion.
    listed = {p["partId"]: p for p in server.api("GET", "/api/parts/").json()["parts"]}
    plate = listed["IN-001"]
    deadline = time.monotonic() + 180
    status = ""
    while time.monotonic() < deadline:
        status = server.api("GET", f"/api/parts/{plate['id']}/conversion").json().get("status", "")
        if status in ("ready", "failed"):
            break
        time.sleep(0.5)
    assert status == "ready", status
    assert listed["Bellypan"]["subsystem"] == "Chassis"
    assert sorted(c.body["partIds"] for c in onshape_fake.calls("part")) == [
        "JHD",
        "JHE",
        "JHF",
        "JHG",
    ]
