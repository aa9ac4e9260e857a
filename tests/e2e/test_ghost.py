"""Changed geometry in a real browser: the part goes back to Review, and its page's 3D view shows the
previous revision as a see-through ghost over the new model, which a toolbar button hides."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server
from tests.e2e.test_journeys import create_via_api, sign_in, unique, upload_via_api

pytestmark = pytest.mark.e2e

# How many sampled canvas pixels differ between two frames (RGBA, 4 values per pixel).
DIFF_PIXELS = """([a, b]) => {
  const load = (src) => new Promise((resolve) => { const i = new Image(); i.onload = () => resolve(i); i.src = src; });
  return Promise.all([load(a), load(b)]).then(([x, y]) => {
    const c = document.createElement('canvas');
    c.width = x.width; c.height = x.height;
    const g = c.getContext('2d');
    g.drawImage(x, 0, 0); const p = g.getImageData(0, 0, c.width, c.height).data;
    g.clearRect(0, 0, c.width, c.height);
    g.drawImage(y, 0, 0); const q = g.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < p.length; i += 4) {
      if (Math.abs(p[i] - q[i]) + Math.abs(p[i + 1] - q[i + 1]) + Math.abs(p[i + 2] - q[i + 2]) > 24) n++;
    }
    return n;
  });
}"""


def frame(page: Any) -> str:
    page.wait_for_timeout(300)  # a few animation frames after the toggle
    return str(page.locator("[data-testid=viewer-canvas]").evaluate("c => c.toDataURL()"))


def test_changed_geometry_shows_the_previous_revision_as_a_ghost(
    page: Any, server: Server, steps: Path
) -> None:
    part = create_via_api(server, name=unique("Ghost plate"), type="cnc", material="6061")
    pid = part["id"]
    upload_via_api(server, pid, steps / "plate_with_holes.step")
    approved = server.api("POST", f"/api/parts/{pid}/approve", json={"confirmNoFit": True})
    assert approved.status_code == 200, approved.text
    assert approved.json()["category"] == "cnc"
    upload_via_api(server, pid, steps / "bent_bracket.step")
    assert server.api("GET", f"/api/parts/{pid}").json()["category"] == "review"

    sign_in(page, server)
    page.goto(f"{server.url}/parts/{pid}")
    viewer = page.locator("[data-testid=aerie-viewer]")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    expect(viewer).to_have_attribute("data-ghost", "ready", timeout=60_000)
    toggle = page.locator("[data-testid=viewer-ghost]")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    canvas = page.locator("[data-testid=viewer-canvas]")
    expect(canvas).to_have_attribute("aria-label", re.compile("previous revision"))

    # The ghost is drawn: hiding it changes a visible share of the picture, and showing it again
    # brings the same picture back.
    with_ghost = frame(page)
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    without = frame(page)
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    again = frame(page)
    changed = page.evaluate(DIFF_PIXELS, [with_ghost, without])
    assert changed > 500, f"hiding the ghost changed only {changed} pixels"
    assert page.evaluate(DIFF_PIXELS, [with_ghost, again]) < changed / 10

    # A part whose first model arrived has nothing to compare with: no ghost, no button.
    fresh = create_via_api(server, name=unique("First model"), type="cnc", material="6061")
    upload_via_api(server, fresh["id"], steps / "plate_with_holes.step")
    page.goto(f"{server.url}/parts/{fresh['id']}")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    expect(viewer).to_have_attribute("data-ghost", "none")
    expect(toggle).to_have_count(0)
