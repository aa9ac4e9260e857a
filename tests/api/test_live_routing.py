"""Under the real server, Reflex's app sits around the API: no /api request may fall out of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live_server import LiveServer, start_live_server

pytestmark = pytest.mark.api


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    srv = start_live_server(tmp_path_factory.mktemp("aerie-routing"))
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("GET", "/api/no-such-route", 404, "Not found"),
        ("POST", "/api/parts/1/no-such-action", 404, "Not found"),
        ("GET", "/api/parts/a%0Ab/download", 404, "Part not found"),
        ("GET", "/api/parts/1%0A%0A", 404, "Part not found"),
        ("POST", "/api/parts/x%0Ay/revert", 404, "Part not found"),
        ("PATCH", "/api/parts/1", 405, "Method not allowed"),
        ("DELETE", "/api/keys/me", 405, "Method not allowed"),
    ],
)
def test_every_api_answer_is_in_the_error_shape(
    server: LiveServer, method: str, path: str, status: int, error: str
) -> None:
    response = server.request(method, path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error
    if status == 405:
        assert "GET" in response.headers["allow"]


def test_pages_are_still_reflex(server: LiveServer) -> None:
    # Outside /api, Reflex's own routes answer as before (here its ping endpoint).
    assert server.request("GET", "/ping").status_code == 200
