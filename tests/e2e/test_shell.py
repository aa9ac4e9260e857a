"""The production app in a real browser: the layout shell, sign-in, and offline API docs."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e


def test_home_renders_shell_and_sign_in(page: Any, server: Server, shot: Any) -> None:
    external: list[str] = []
    page.on(
        "request",
        lambda r: (
            external.append(r.url) if not r.url.startswith((server.url, "data:", "blob:")) else None
        ),
    )
    page.goto(server.url + "/")
    page.locator("#aerie-shell").wait_for()
    assert page.locator("#app-header").inner_text().strip().startswith("AERIE")
    page.locator("#access-key").wait_for()
    shot("home-signed-out")
    assert external == [], f"the page fetched from outside: {external}"


def test_sign_in_shows_board(signed_in: Any, server: Server, shot: Any) -> None:
    page = signed_in
    for label in ("Review", "CNC/Laser", "Hand Fab", "Misc", "Completed"):
        expect(page.get_by_role("tab", name=label)).to_have_count(1)
    shot("board-empty")


def test_wrong_key_is_refused(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    page.locator("#access-key").fill("definitely-not-a-key")
    page.locator("#sign-in").click()
    page.get_by_text("That access key is not valid.").wait_for()


def test_swagger_ui_renders_offline(page: Any, server: Server, shot: Any) -> None:
    external: list[str] = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith((server.url, "data:")) else None,
    )
    page.goto(server.url + "/api/docs")
    page.locator(".swagger-ui .information-container").wait_for(timeout=30_000)
    page.get_by_text("/api/parts/{part_id}/approve").first.wait_for()
    shot("api-docs")
    assert external == []


def test_api_answers_other_origins_only_as_configured(server: Server) -> None:
    """Through the running app (not the API alone): with no AERIE_CORS_ORIGINS, a page on
    another site gets no CORS grant for the API, preflight or not; Reflex's own permissive CORS
    (any origin, with credentials) once wrapped every /api route."""
    evil = {"Origin": "https://evil.example"}
    preflight = server.api(
        "OPTIONS",
        "/api/parts/",
        headers=evil
        | {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-api-key"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code in (400, 405)  # no route takes OPTIONS: no grant either
    read = server.api("GET", "/api/parts/", headers=evil)
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers
    assert "access-control-allow-credentials" not in read.headers
    # The API still answers in its own shape, and the worker header says who answered.
    assert read.headers.get("x-aerie-worker", "").isdigit()
