"""One error shape on every error path, and limits that answer 413 instead of falling over."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.api


def test_every_error_path_has_the_shape(api: Api, make_key) -> None:
    reader = make_key("read")
    pid = api.create()["id"]
    cases = [
        (api.get("/api/parts/", key=""), 401),
        (api.get("/api/parts/", key="wrong-but-long-enough"), 401),
        (api.post("/api/parts/", key=reader, json={"material": "a", "subsystem": "b"}), 403),
        (api.get("/api/parts/424242"), 404),
        (api.get("/api/parts/xyz"), 404),
        (api.get("/api/no-such-route"), 404),
        (api.post("/api/parts/", json={}), 400),
        (
            api.post(
                "/api/parts/", content=b"{not json", headers={"content-type": "application/json"}
            ),
            400,
        ),
        (api.post("/api/parts/", json={"material": 5.5j if False else [], "subsystem": "x"}), 400),
        (api.get("/api/parts/?limit=ten"), 400),
        (api.post(f"/api/parts/{pid}/revert"), 409),
        (api.client.patch(f"/api/parts/{pid}", headers={"X-API-Key": api.key}), 405),
        (
            api.post(
                "/api/parts/",
                content=b"x" * (2 * 1024 * 1024),
                headers={"content-type": "application/json"},
            ),
            413,
        ),
        (api.get("/api/parts/auth/check"), 200),
        (api.get("/api/parts/auth/check"), 429),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.text)
        if status >= 400:
            body = response.json()
            assert isinstance(body["error"], str) and body["error"], body
            assert set(body) <= {"error", "details", "message", "retry_after"}, body
            if "details" in body and body["error"] == "Validation failed":
                assert set(body["details"]) == {"field", "message"}


def test_malformed_json_says_so(api: Api) -> None:
    response = api.post(
        "/api/parts/", content=b'{"material": ', headers={"content-type": "application/json"}
    )
    assert response.json() == {
        "error": "Validation failed",
        "details": {"field": "body", "message": "Malformed JSON"},
    }


def test_chunked_body_over_limit_is_413(api: Api) -> None:
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    response = api.client.post(
        "/api/parts/",
        content=chunks(),
        headers={"X-API-Key": api.key, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "Payload too large"


def test_text_limits(api: Api) -> None:
    response = api.post(
        "/api/parts/", json={"material": "a", "subsystem": "b", "notes": "n" * 6000}
    )
    assert response.status_code == 400 and response.json()["details"]["field"] == "notes"


def test_xss_payload_is_stored_as_plain_text(api: Api) -> None:
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    part = api.create(name=payload[:200])
    assert api.get(f"/api/parts/{part['id']}").json()["name"] == payload[:200]


def test_cors_only_for_configured_origins(aerie_env, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from aerie_app.api.app import create_api
    from tests.conftest import reset_caches

    monkeypatch.setenv("AERIE_CORS_ORIGINS", '["https://shop.example"]')
    reset_caches()
    client = TestClient(create_api())
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-api-key",
    }
    allowed = client.options("/api/parts/", headers={"Origin": "https://shop.example"} | preflight)
    assert allowed.headers.get("access-control-allow-origin") == "https://shop.example"
    denied = client.options("/api/parts/", headers={"Origin": "https://evil.example"} | preflight)
    assert "access-control-allow-origin" not in denied.headers
