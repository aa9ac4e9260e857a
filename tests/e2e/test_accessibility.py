"""WCAG 2.1 AA on every page: axe-core (the engine most browser audits use) in Chromium.

Every signed-in page and the sign-in page, in the light and the dark theme, on a desktop and at
phone width (390 px), including the board's tabs, its filters and its dialogs. A violation fails
the test and is printed with its rule, impact and the elements it found. axe-core comes from the
npm registry through the venv's bun (``tests/e2e/axe/``, installed by ``make test``) and is injected
into the page by the test: the app itself never loads it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server
from tests.e2e.test_journeys import create_via_api, open_tab, sign_in, unique
from tests.e2e.test_shop import plate_part

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844}


def audit(page: Any, where: str) -> list[str]:
    """Run axe on the page as it is now; return one readable line per violation."""
    assert AXE.exists(), f"axe-core is not installed at {AXE} (make test installs it)"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async (tags) => {
            // Judge the page at rest: a dialog fading in blends its colours with the page.
            await Promise.race([
                Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null))),
                new Promise((done) => setTimeout(done, 2000)),
            ]);
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                               resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 6).map(n => n.target.join(' ') + ' :: ' +
                    (n.failureSummary || '').split('\\n').slice(1, 2).join(' ').trim())}));
        }""",
        TAGS,
    )
    return [
        f"[{where}] {v['id']} ({v['impact']}): {v['help']}\n      " + "\n      ".join(v["nodes"])
        for v in result
    ]


def row(page: Any, name: str) -> Any:
    """The part's row on a desktop, its card on a phone: whichever is shown."""
    return page.locator(".part-row:visible, .part-card:visible", has_text=name)


def set_theme(page: Any, theme: str) -> None:
    """Switch the app's colour theme with its own toggle until <html> carries ``theme``."""
    html = page.locator("html")
    for _ in range(3):
        if theme in (html.get_attribute("class") or ""):
            return
        page.locator("#theme-toggle").click()
        page.wait_for_timeout(300)
    assert theme in (html.get_attribute("class") or ""), html.get_attribute("class")


def _act(server: Server, part: dict[str, Any], action: str, **body: Any) -> None:
    response = server.api("POST", f"/api/parts/{part['id']}/{action}", json=body)
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def sample_part(server: Server) -> dict[str, Any]:
    """A part waiting for review, plus one in every other state, so each tab shows rows and
    every action button (claimed parts show the solid "complete")."""
    claimed = create_via_api(server, name=unique("Axe claimed"), type="cnc")
    _act(server, claimed, "approve", reviewer="Ada")
    _act(server, claimed, "assign", assigned="Grace")
    hand = create_via_api(server, name=unique("Axe hand"), type="hand")
    _act(server, hand, "approve", reviewer="Ada")
    misc = create_via_api(server, name=unique("Axe misc"), type="misc")
    _act(server, misc, "approve", reviewer="Ada")
    done = create_via_api(server, name=unique("Axe done"), type="cnc")
    _act(server, done, "approve", reviewer="Ada")
    _act(server, done, "assign", assigned="Grace")
    _act(server, done, "complete")
    return create_via_api(server, name=unique("Axe plate"), notes="Chamfer the <b>edges</b>")


@pytest.fixture(scope="module")
def no_fit_part(server: Server, steps: Path) -> dict[str, Any]:
    """A plate with a model that no machine can make (no seeded machine cuts titanium): its
    "fits nothing" badge and reason, and the review dialog's confirmation checkbox."""
    return plate_part(server, steps, name=unique("Axe titanium"), material="Titanium")


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_no_axe_violations(
    browser: Any,
    server: Server,
    sample_part: dict[str, Any],
    no_fit_part: dict[str, Any],
    theme: str,
    viewport: str,
) -> None:
    context = browser.new_context(
        viewport=PHONE if viewport == "phone" else {"width": 1366, "height": 900},
        has_touch=viewport == "phone",
    )
    page = context.new_page()
    found: list[str] = []
    try:
        page.goto(server.url + "/")
        page.locator("#access-key").wait_for()
        set_theme(page, theme)
        found += audit(page, f"sign-in {theme} {viewport}")
        sign_in(page, server)
        set_theme(page, theme)
        for key in ("review", "cnc", "hand", "misc", "completed"):
            open_tab(page, key)
            page.wait_for_timeout(300)
            found += audit(page, f"board/{key} {theme} {viewport}")
        open_tab(page, "review")
        expect(row(page, sample_part["name"]).first).to_be_visible()
        page.locator("#filter-subsystem").select_option(sample_part["subsystem"])
        expect(row(page, sample_part["name"]).first).to_be_visible()
        found += audit(page, f"board filtered {theme} {viewport}")
        page.locator("#filter-subsystem").select_option("__all__")
        page.locator("#add-part").click()
        page.locator("#pf-name").wait_for()
        found += audit(page, f"add-part dialog {theme} {viewport}")
        page.keyboard.press("Escape")
        row(page, sample_part["name"]).first.locator(".act-approve").click()
        page.locator("#action-confirm").wait_for()
        found += audit(page, f"action dialog {theme} {viewport}")
        page.keyboard.press("Escape")
        # Approving a part that fits nothing: the checklist, its checkbox and its error.
        expect(row(page, no_fit_part["name"]).first).to_be_visible()
        row(page, no_fit_part["name"]).first.locator(".act-approve").click()
        page.locator("#confirm-no-fit").wait_for()
        page.locator("#action-confirm").click()
        page.locator("#action-error").wait_for()
        found += audit(page, f"approve dialog, fits nothing {theme} {viewport}")
        page.keyboard.press("Escape")
        page.locator("#filter-fits").select_option("none")
        expect(row(page, no_fit_part["name"]).first).to_be_visible()
        found += audit(page, f"board, fits nothing {theme} {viewport}")
        page.locator("#filter-fits").select_option("__all__")
        if viewport == "desktop":  # the side panel opens from the table's rows
            row(page, sample_part["name"]).first.locator(".open-panel").click()
            page.locator("#side-panel #detail-title").wait_for()
            found += audit(page, f"side panel {theme} {viewport}")
            page.keyboard.press("Escape")
        page.goto(f"{server.url}/parts/{sample_part['id']}")
        page.locator("#detail-title").wait_for()
        found += audit(page, f"part page {theme} {viewport}")
        page.goto(f"{server.url}/parts/{no_fit_part['id']}")
        page.locator("#shop-facts .fit-reason").wait_for()
        page.locator("#measured-mass").fill("heavy")
        page.locator("#save-mass").click()
        page.locator("#measured-mass-error").wait_for()
        found += audit(page, f"part page, fits nothing, mass error {theme} {viewport}")
        for path in ("/stats", "/cutlist", "/settings", "/admin"):
            page.goto(server.url + path)
            page.locator("#app-header").wait_for()
            page.wait_for_timeout(500)
            found += audit(page, f"{path} {theme} {viewport}")
        # Settings (admin): the machine dialog, with a value it refused.
        page.goto(server.url + "/settings")
        page.locator(".machine-row").first.wait_for()
        page.locator("#add-machine").click()
        page.locator("#shop-name").fill(unique("Axe mill"))
        page.locator("#shop-process").select_option("mill")
        page.locator("#shop-x").fill("-5")
        page.locator("#shop-save").click()
        page.locator("#shop-x-error").wait_for()
        found += audit(page, f"machine dialog {theme} {viewport}")
        page.keyboard.press("Escape")
        page.locator(".stock-row").first.locator(".stock-edit").click()
        page.locator("#shop-thickness").wait_for()
        found += audit(page, f"stock dialog {theme} {viewport}")
        page.keyboard.press("Escape")
        # Settings as a fabricator (a write key) sees them: no edit buttons in the tables then.
        created = server.api("POST", "/api/keys", json={"name": unique("axe"), "scope": "write"})
        assert created.status_code == 201, created.text
        context.close()
        context = browser.new_context(
            viewport=PHONE if viewport == "phone" else {"width": 1366, "height": 900},
            has_touch=viewport == "phone",
        )
        page = context.new_page()
        sign_in(page, server, key=created.json()["key"])
        set_theme(page, theme)
        page.goto(server.url + "/settings")
        page.locator(".machine-row").first.wait_for()
        expect(page.locator("#add-machine")).to_have_count(0)
        found += audit(page, f"/settings without admin {theme} {viewport}")
    finally:
        context.close()
    assert not found, "axe found WCAG 2.1 AA violations:\n" + "\n".join(found)


CONTROL_EDGES = """() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const over = (fg, bg) => {  // an rgba edge over the opaque page colour
    const a = fg.length > 3 ? fg[3] : 1;
    return [0, 1, 2].map((i) => fg[i] * a + bg[i] * (1 - a));
  };
  const page = rgb(getComputedStyle(document.querySelector('#aerie-shell')).backgroundColor);
  const out = [];
  for (const el of document.querySelectorAll('.rt-TextFieldRoot, .rt-TextAreaRoot, .filter-select')) {
    const s = getComputedStyle(el);
    const edge = el.matches('.filter-select') ? rgb(s.borderTopColor) : rgb(s.boxShadow);
    const a = lum(over(edge, page)), b = lum(page);
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    out.push([el.id || el.className.slice(0, 40), Math.round(ratio * 100) / 100]);
  }
  return out;
}"""


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_form_controls_show_their_edges_at_3_to_1(
    page: Any, server: Server, sample_part: dict[str, Any], theme: str
) -> None:
    """WCAG 1.4.11 (axe does not check it): the edge of every text field and select."""
    sign_in(page, server)
    set_theme(page, theme)
    found = page.evaluate(CONTROL_EDGES)
    assert len(found) >= 5, found  # the search field and the four filters at least
    low = [(name, ratio) for name, ratio in found if ratio < 3.0]
    assert not low, f"control edges under 3:1 in the {theme} theme: {low}"


def test_axe_is_the_real_engine(page: Any, server: Server) -> None:
    """The audit can fail: a button without a name added to the page is reported."""
    page.goto(server.url + "/")
    page.locator("#access-key").wait_for()
    page.evaluate(
        "() => { const b = document.createElement('button'); document.body.appendChild(b); }"
    )
    found = audit(page, "probe")
    assert any("button-name" in line for line in found), json.dumps(found)
