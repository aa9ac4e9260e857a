"""Production shape: PostgreSQL + Reflex's Redis state manager + 2 backend workers behind one port."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database, require_services
from tests.e2e.conftest import Server, start_server, stop_server
from tests.e2e.test_journeys import row, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.pg]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_services(postgresql=True, redis=True)
    name, url = create_pg_database("aerie_mw")
    srv = start_server(
        tmp_path_factory.mktemp("aerie-mw"),
        {"REDIS_URL": REDIS_URL, "AERIE_WORKERS": "2", "AERIE_DATABASE_URL": url},
    )
    yield srv
    stop_server(srv.process)
    drop_pg_database(name)


def fresh(server: Server, method: str, path: str, **kw: Any) -> httpx.Response:
    """One request on a new connection, so the load balancing may pick either worker."""
    with httpx.Client(base_url=server.url, headers={"X-API-Key": server_key()}, timeout=60) as c:
        return c.request(method, path, **kw)


def server_key() -> str:
    from tests.conftest import ADMIN_KEY

    return ADMIN_KEY


def test_two_workers_answer(server: Server) -> None:
    pids = {fresh(server, "GET", "/api/health").headers["x-aerie-worker"] for _ in range(40)}
    assert len(pids) >= 2, f"expected 2 backend workers, saw {pids}"


def test_change_through_one_worker_reaches_browser_on_another(page: Any, server: Server) -> None:
    sign_in(page, server)
    browser_worker = page.locator("#worker").get_attribute("data-worker")
    assert browser_worker
    for i in range(60):
        response = fresh(
            server,
            "POST",
            "/api/parts/",
            json={
                "name": f"Cross worker {i} {uuid.uuid4().hex[:4]}",
                "material": "Al",
                "subsystem": "x",
            },
        )
        assert response.status_code == 201
        if response.headers["x-aerie-worker"] != browser_worker:
            expect(row(page, response.json()["name"])).to_be_visible(timeout=3_000)
            return
    pytest.fail("every write landed on the browser's own worker")


def test_same_file_on_several_workers_converts_once(server: Server, steps: Path) -> None:
    small = steps / "plate_with_holes.step"
    data = small.read_bytes()
    ids = [
        fresh(
            server,
            "POST",
            "/api/parts/",
            json={"name": f"Dup {i}", "material": "Al", "subsystem": "x"},
        ).json()["id"]
        for i in range(6)
    ]

    def upload(pid: int) -> None:
        r = fresh(server, "POST", f"/api/parts/{pid}/upload", files={"file": (small.name, data)})
        assert r.status_code == 201, r.text

    threads = [threading.Thread(target=upload, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = set()
    for pid in ids:
        for _ in range(240):
            status = fresh(server, "GET", f"/api/parts/{pid}/conversion").json()
            if status["status"] in ("ready", "failed"):
                break
            time.sleep(0.5)
        assert status["status"] == "ready", status
        seconds.add(status["seconds"])
    assert len(seconds) == 1, f"the file was converted more than once: {seconds}"
