"""The 3D viewer in a real browser: the compressed model decoded offline and drawn as the plain one
is, and changed geometry shown as a see-through ghost of the previous revision."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server
from tests.e2e.test_accessibility import audit
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


def mesh_mm(page: Any) -> list[float]:
    """The box of what the viewer drew (mm, the model's own axes), as the viewer measured it."""
    value = page.locator("[data-testid=aerie-viewer]").get_attribute("data-mesh-mm") or ""
    return [float(v) for v in value.split()]


def test_the_compressed_model_is_decoded_offline_and_looks_like_the_plain_one(
    page: Any, server: Server, steps: Path
) -> None:
    part = create_via_api(server, name=unique("Packed assembly"), type="cnc", material="6061")
    pid = part["id"]
    upload_via_api(server, pid, steps / "coloured_assembly.step")
    facts = server.api("GET", f"/api/parts/{pid}/conversion").json()["facts"]
    sign_in(page, server)

    # Only this server answers: a decoder, script or font fetched from anywhere else fails the test.
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_this_server)
    page.emulate_media(reduced_motion="reduce")  # no inertia: both pictures are still frames
    models: list[Any] = []
    page.on("response", lambda r: models.append(r) if "/model" in r.url else None)
    viewer = page.locator("[data-testid=aerie-viewer]")

    page.goto(f"{server.url}/parts/{pid}")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    assert models and b"EXT_meshopt_compression" in models[-1].body()[:4096], "not the packed GLB"
    packed_bytes = len(models[-1].body())
    packed_box = mesh_mm(page)
    packed_frame = frame(page)

    # The same page with the plain GLB (what the model route gives tools without meshopt).
    def plain(route: Any) -> None:
        route.fulfill(response=route.fetch(url=route.request.url + "&format=plain"))

    page.route("**/api/parts/*/model*", plain)
    models.clear()
    page.goto(f"{server.url}/parts/{pid}")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    assert models and b"EXT_meshopt_compression" not in models[-1].body()[:4096]
    assert packed_bytes < len(models[-1].body())
    plain_box = mesh_mm(page)
    plain_frame = frame(page)

    assert elsewhere == []
    # The decoded box is the plain model's within 0.1 %, and both agree with the geometry facts.
    assert len(packed_box) == len(plain_box) == 3
    for got, want, axis in zip(packed_box, plain_box, "xyz", strict=True):
        assert abs(got - want) <= 0.001 * want, (axis, got, want)
        assert abs(want - facts["bbox_mm"][axis]) <= 0.01 * facts["bbox_mm"][axis]
    # No visible difference at the default zoom: next to no pixels change between the two.
    total = page.evaluate(
        "src => new Promise(r => { const i = new Image(); i.onload = () => r(i.width * i.height);"
        " i.src = src; })",
        packed_frame,
    )
    changed = page.evaluate(DIFF_PIXELS, [packed_frame, plain_frame])
    assert changed <= 0.002 * total, f"{changed} of {total} pixels differ"


def test_the_assembly_tree_hides_and_isolates_bodies(
    page: Any, server: Server, steps: Path
) -> None:
    part = create_via_api(server, name=unique("Tree assembly"), type="cnc", material="6061")
    upload_via_api(server, part["id"], steps / "coloured_assembly.step")  # bodies "base", "post"
    sign_in(page, server)
    page.emulate_media(reduced_motion="reduce")
    page.goto(f"{server.url}/parts/{part['id']}")
    viewer = page.locator("[data-testid=aerie-viewer]")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    toggle = page.locator("[data-testid=viewer-tree-toggle]")
    expect(toggle).to_have_text("Bodies (2/2)")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    everything = frame(page)

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    tree = page.get_by_role("group", name="Bodies of this model")
    base = tree.get_by_role("checkbox", name="base", exact=True)
    post = tree.get_by_role("checkbox", name="post", exact=True)
    expect(base).to_be_checked()
    expect(post).to_be_checked()
    assert audit(page, "part page, assembly tree open") == []

    # Hide the post (from the keyboard: Space on the focused checkbox).
    post.focus()
    page.keyboard.press("Space")
    expect(post).not_to_be_checked()
    expect(toggle).to_have_text("Bodies (1/2)")
    without_post = frame(page)
    assert page.evaluate(DIFF_PIXELS, [everything, without_post]) > 500

    # Only the post: the base hides, the post shows again.
    tree.get_by_role("button", name="Show only post").click()
    expect(base).not_to_be_checked()
    expect(post).to_be_checked()
    only_post = frame(page)
    assert page.evaluate(DIFF_PIXELS, [without_post, only_post]) > 500
    assert page.evaluate(DIFF_PIXELS, [everything, only_post]) > 500

    # Show all brings the first picture back.
    tree.get_by_role("button", name="Show all").click()
    expect(toggle).to_have_text("Bodies (2/2)")
    assert page.evaluate(DIFF_PIXELS, [everything, frame(page)]) < 100

    # A single-body part has no tree.
    single = create_via_api(server, name=unique("One body"), type="cnc", material="6061")
    upload_via_api(server, single["id"], steps / "plate_with_holes.step")
    page.goto(f"{server.url}/parts/{single['id']}")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    expect(toggle).to_have_count(0)


@pytest.fixture(scope="module")
def robot_step() -> Path:
    """The whole-robot drivetrain (tests/robot_assembly.py): 355 bodies, 57 MB of STEP; made once
    (about 70 s) and cached under tests/.step-cache, as bench/assembly.py uses it."""
    from tests.robot_assembly import cached

    return cached(1.0)


def test_a_whole_robot_uploads_converts_and_opens_with_its_tree(
    page: Any, server: Server, robot_step: Path
) -> None:
    assert robot_step.stat().st_size > 50_000_000
    name = unique("Drivetrain")
    sign_in(page, server)
    page.locator("#add-part").click()
    page.locator("#pf-name").fill(name)
    page.locator("#pf-subsystem").fill("Drivetrain")
    page.locator("#pf-material").fill("6061 Aluminum")
    page.locator("#part-file input[type=file]").set_input_files(str(robot_step))
    page.locator("#pf-save").click()
    # Progress: the upload's bar, then the conversion's state and seconds, announced politely.
    expect(page.locator("#upload-progress")).to_be_visible(timeout=60_000)
    status = page.locator("#conversion-status")
    expect(status).to_contain_text(re.compile(r"Conversion: (queued|running)"), timeout=120_000)
    expect(status).to_have_attribute("role", "status")
    expect(status).to_contain_text("Conversion: ready", timeout=240_000)
    page.keyboard.press("Escape")

    found = server.api("GET", "/api/parts/", params={"search": name}).json()["parts"]
    pid = next(p["id"] for p in found if p["name"] == name)
    conversion = server.api("GET", f"/api/parts/{pid}/conversion").json()
    assert conversion["status"] == "ready", conversion
    page.goto(f"{server.url}/parts/{pid}")
    viewer = page.locator("[data-testid=aerie-viewer]")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    toggle = page.locator("[data-testid=viewer-tree-toggle]")
    expect(toggle).to_have_text("Bodies (355/355)")
    everything = frame(page)

    toggle.click()
    tree = page.get_by_role("group", name="Bodies of this model")
    expect(tree.get_by_role("checkbox")).to_have_count(355)
    wheel = tree.get_by_role("checkbox", name="wheel_fl", exact=True)
    pan = tree.get_by_role("checkbox", name="belly_pan", exact=True)
    expect(wheel).to_be_checked()

    # Isolate one wheel: every other body hides, and the picture changes.
    tree.get_by_role("button", name="Show only wheel_fl").click()
    expect(toggle).to_have_text("Bodies (1/355)")
    expect(wheel).to_be_checked()
    expect(pan).not_to_be_checked()
    only_wheel = frame(page)
    assert page.evaluate(DIFF_PIXELS, [everything, only_wheel]) > 1000

    # Show all: the whole robot again.
    tree.get_by_role("button", name="Show all").click()
    expect(toggle).to_have_text("Bodies (355/355)")
    assert page.evaluate(DIFF_PIXELS, [everything, frame(page)]) < 100
