"""The main journeys with the keyboard alone: no mouse event is sent in this file.

Sign in, search, switch tabs, open a part, approve, claim and complete it (quantity and storage),
add a part with a STEP file, close dialogs with Escape. Wherever focus lands it is visible, and a
closed dialog gives focus back to the control that opened it. The 3D viewer's tools and canvas
are reachable, and the canvas says what it shows (the part's name and size).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.conftest import ADMIN_KEY
from tests.e2e.conftest import Server
from tests.e2e.test_journeys import create_via_api, unique

pytestmark = pytest.mark.e2e

FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'nothing focused';
  const own = getComputedStyle(el);
  const ring = (s) => (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                      || (s.boxShadow && s.boxShadow !== 'none');
  if (ring(own)) return '';
  // Radix draws some rings on a wrapper (text fields) or a pseudo-element.
  const parent = el.parentElement && getComputedStyle(el.parentElement);
  if (parent && ring(parent)) return '';
  for (const pseudo of ['::before', '::after']) {
    if (ring(getComputedStyle(el, pseudo))) return '';
  }
  return 'no focus indicator on ' + el.outerHTML.slice(0, 160);
}"""


def focused(page: Any, selector: str) -> bool:
    for _ in range(20):
        try:
            return bool(page.evaluate("(s) => !!document.activeElement?.matches(s)", selector))
        except PlaywrightError:  # the page is navigating (e.g. right after signing in)
            page.wait_for_timeout(250)
    raise AssertionError("the page kept navigating")


def expect_focus_back(page: Any, selector: str) -> None:
    """Focus comes back to ``selector`` after a dialog closes (Radix unmounts it a tick later)."""
    try:
        expect(page.locator(selector)).to_be_focused(timeout=5_000)
    except AssertionError:
        holder = page.evaluate("() => document.activeElement?.outerHTML.slice(0, 160) ?? 'nothing'")
        raise AssertionError(f"focus did not return to {selector}; it is on {holder}") from None


def tab_to(page: Any, selector: str, *, limit: int = 80, back: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element matches ``selector``."""
    for _ in range(limit):
        if focused(page, selector):
            problem = page.evaluate(FOCUS_SHOWN)
            assert not problem, problem
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{selector} is not reachable with the keyboard")


def sign_in_by_keyboard(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    page.locator("#access-key").wait_for()
    tab_to(page, "#access-key")
    page.keyboard.type(ADMIN_KEY)
    page.keyboard.press("Enter")
    page.locator("#parts-table").wait_for(timeout=30_000)


def open_part(page: Any, part: dict[str, Any]) -> None:
    """Tab to the part's row link and follow it."""
    tab_to(page, f'a[href="/parts/{part["id"]}"]')
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_have_text(part["name"], timeout=30_000)


def test_review_claim_and_complete_with_the_keyboard(page: Any, server: Server) -> None:
    part = create_via_api(server, name=unique("Keys plate"), type="cnc", amount=3)
    sign_in_by_keyboard(page, server)

    # Search: the field is reachable and filters as one types.
    tab_to(page, "#search")
    page.keyboard.type(part["name"])
    expect(page.locator(".part-row")).to_have_count(1, timeout=10_000)

    # Tabs: arrow keys move between them (a tab list is one stop in the Tab order).
    tab_to(page, "#tab-review", back=True)
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-cnc")).to_have_attribute("data-state", "active")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#tab-review")).to_have_attribute("data-state", "active")

    # Open the part from its row.
    open_part(page, part)

    # Approve: Escape closes the dialog and focus returns to the button that opened it.
    tab_to(page, ".act-approve")
    page.keyboard.press("Enter")
    expect(page.locator("#action-confirm")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#action-confirm")).to_have_count(0)
    expect_focus_back(page, ".act-approve")
    page.keyboard.press("Enter")
    tab_to(page, "#reviewer")
    page.keyboard.type("Ada")
    tab_to(page, "#action-confirm")
    page.keyboard.press("Enter")

    # Claim.
    tab_to(page, ".act-assign")
    page.keyboard.press("Enter")
    tab_to(page, "#maker-name")
    page.keyboard.type("Grace")
    page.keyboard.press("Enter")
    expect(page.locator(".act-complete").first).to_be_visible(timeout=10_000)

    # Complete two of three, with where they are stored.
    tab_to(page, ".act-complete")
    page.keyboard.press("Enter")
    tab_to(page, "#quantity")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to(page, "#storage")
    page.keyboard.type("Shelf 3")
    tab_to(page, "#action-confirm")
    page.keyboard.press("Enter")
    expect(page.locator("#action-confirm")).to_have_count(0, timeout=10_000)

    done = server.api("GET", f"/api/parts/{part['id']}").json()
    assert done["assigned"] == "Grace"
    assert "Shelf 3" in str(done), done


def test_add_a_part_with_a_step_file_and_view_it_with_the_keyboard(
    page: Any, server: Server, steps: Path
) -> None:
    name = unique("Keys bracket")
    # Listen from the start: Chromium intercepts file choosers only once a listener exists.
    choosers: list[Any] = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    sign_in_by_keyboard(page, server)
    tab_to(page, "#add-part")
    page.keyboard.press("Enter")
    # A quick user tabs on before the dialog is there: focus wanders over the page, yet closing
    # the dialog must still give focus back to Add part, the control that opened it.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    tab_to(page, "#pf-name")
    page.keyboard.type(name)
    tab_to(page, "#pf-subsystem")
    page.keyboard.type("Intake")
    tab_to(page, "#pf-material")
    page.keyboard.type("6061 Aluminum")
    # The drop zone takes Enter like a button and opens the system's file chooser.
    tab_to(page, "#part-file")
    page.keyboard.press("Enter")
    for _ in range(40):
        if choosers:
            break
        page.wait_for_timeout(250)
    assert choosers, "Enter on the drop zone did not open the file chooser"
    choosers[0].set_files(str(steps / "bent_bracket.step"))
    tab_to(page, "#pf-save")
    page.keyboard.press("Enter")
    expect(page.locator("#conversion-status")).to_contain_text("ready", timeout=120_000)
    expect(page.locator("#conversion-status")).to_have_attribute("role", "status")
    page.keyboard.press("Escape")
    expect(page.locator("#pf-save")).to_have_count(0)
    expect_focus_back(page, "#add-part")

    # Open it and reach the viewer's tools and its canvas, which names the part and its size.
    part = next(
        p
        for p in server.api("GET", "/api/parts/", params={"search": name}).json()["parts"]
        if p["name"] == name
    )
    tab_to(page, "#search")
    page.keyboard.type(name)
    open_part(page, part)
    viewer = page.locator("[data-testid=aerie-viewer]")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    tab_to(page, "[data-testid=viewer-fit]")
    page.keyboard.press("Enter")
    tab_to(page, "[data-testid=viewer-wire]")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=viewer-wire]")).to_have_attribute("aria-pressed", "true")
    canvas = page.locator("[data-testid=viewer-canvas]")
    expect(canvas).to_have_attribute("role", "img")
    # The model's own X × Y × Z (its STEP axes), as the facts panel says it: 50 wide, 30 deep,
    # 40 tall (before issue 14 this read glTF's Y-up box, "50.0 × 40.0 × 30.0").
    expect(canvas).to_have_attribute("aria-label", f"3D model of {name}: 50.00 × 30.00 × 40.00 mm")
    tab_to(page, "[data-testid=viewer-canvas]", back=True)
