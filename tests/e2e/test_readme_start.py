"""Aerie started the way its users start it: `make run` on the README's defaults, then a STEP upload
that must end in a 3D model on screen. Also with an absolute data folder and with no spare converter.

Every other e2e test hands the server an absolute AERIE_DATA_DIR; on the README's own defaults (the
relative `data` folder) every conversion once failed and nothing noticed. The `make run` here runs
in a folder laid out like a clone of this checkout (each top-level entry a symlink to the real one,
so nothing is reinstalled), without AERIE_DATA_DIR: the data lands in that folder's `data/`, as it
would in a clone, and a developer's own `data/` in this checkout is never touched.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT
from tests.e2e.conftest import Server, start_server, stop_server
from tests.e2e.test_journeys import PIXELS_JS, row, sign_in, unique

pytestmark = pytest.mark.e2e


def _tracked_state() -> str:
    """What git sees in the checkout: modified tracked files and files not ignored."""
    done = subprocess.run(
        ["git", "status", "--porcelain=v1", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _clone_layout(into: Path) -> Path:
    """A folder that looks like a clone of this checkout: symlinks to its top-level entries
    (the venv included, so `make run` finds everything installed), but no `data/`."""
    into.mkdir()
    for entry in ROOT.iterdir():
        if entry.name in ("data", ".git", "artifacts", "test-artifacts"):
            continue
        (into / entry.name).symlink_to(entry)
    return into


@pytest.fixture(scope="module", params=["readme-defaults", "absolute-data-dir", "no-spare"])
def started(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Server, str]]:
    tmp = tmp_path_factory.mktemp(f"start-{request.param}")
    before = _tracked_state()
    if request.param == "readme-defaults":
        clone = _clone_layout(tmp / "clone")
        # `PORT=… make run`, as the README says (start_server sets PORT to a free port).
        srv = start_server(
            tmp,
            {"AERIE_DATA_DIR": ""},
            command=["make", "run"],
            cwd=clone,
            data=clone / "data",
        )
    elif request.param == "absolute-data-dir":
        srv = start_server(tmp)
    else:
        srv = start_server(tmp, {"AERIE_CONVERSION_PREWARM": "false"})
    try:
        yield request.param, srv, before
    finally:
        stop_server(srv.process)


def test_upload_ends_in_a_model_on_screen(
    started: tuple[str, Server, str], page: Any, steps: Path, shot: Any
) -> None:
    how, server, _ = started
    if how == "readme-defaults":
        log = server.log.read_text()
        # The relative default was resolved where `make run` ran, not in the app's folder.
        assert f"Aerie data folder: {server.data}" in log, log[-2000:]
    name = unique("Default plate")
    sign_in(page, server)
    page.locator("#add-part").click()
    page.locator("#pf-name").fill(name)
    page.locator("#pf-subsystem").fill("Intake")
    page.locator("#pf-material").fill("6061 Aluminum")
    page.locator("#part-file input[type=file]").set_input_files(
        str(steps / "plate_with_holes.step")
    )
    page.locator("#pf-save").click()
    expect(page.locator("#conversion-status")).to_contain_text("ready", timeout=120_000)
    page.keyboard.press("Escape")
    row(page, name).locator(".part-name").click()
    viewer = page.locator("[data-testid=aerie-viewer]")
    expect(viewer).to_have_attribute("data-state", "ready", timeout=60_000)
    time.sleep(1)
    assert page.evaluate(PIXELS_JS) > 20, "the viewer canvas is blank"
    expect(page.locator("[data-testid=viewer-dims]")).to_contain_text("120")
    shot(f"start-{how}-viewer")
    # The files landed in the data folder the server announced, and nowhere in the checkout.
    assert list((server.data / "files" / "models").glob("*/model.glb"))


def test_starting_the_app_leaves_tracked_files_unchanged(
    started: tuple[str, Server, str],
) -> None:
    """A production build (at every start) must not rewrite files git tracks, such as
    reflex.lock/package.json, nor leave new files that are not ignored."""
    _, _, before = started
    assert _tracked_state() == before
