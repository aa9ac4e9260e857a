"""Keys: how callers authenticate, scopes, management, throttling, and that keys never reach logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.api.conftest import Api
from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.api


def test_missing_and_wrong_key(api: Api) -> None:
    missing = api.get("/api/parts/", key="")
    assert missing.status_code == 401 and missing.json()["error"] == "API key required"
    wrong = api.get("/api/parts/", key="not-a-key")
    assert wrong.status_code == 401 and wrong.json() == {"error": "Invalid API key"}


def test_key_in_query_and_body_for_old_clients(api: Api) -> None:
    assert api.client.get(f"/api/parts/?api_key={ADMIN_KEY}").status_code == 200
    response = api.client.post(
        "/api/parts/", json={"api_key": ADMIN_KEY, "material": "Al", "subsystem": "x"}
    )
    assert response.status_code == 201


def test_health_needs_no_key(api: Api) -> None:
    assert api.client.get("/api/health").json() == {
        "status": "ok",
        "version": "0.1.0",
        "database": "ok",
    }
    assert api.client.get("/health").json()["status"] == "healthy"
    import os

    assert api.client.get("/api/health").headers["x-aerie-worker"] == str(os.getpid())


def test_health_says_degraded_when_the_database_is_gone(
    aerie_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe answers on the loop's own connection: with no database behind it, a 503 in a
    moment (not a hang, not a 500), and the old app's probe says the same."""
    from fastapi.testclient import TestClient

    from aerie_app.api.app import create_api
    from tests.conftest import reset_caches

    monkeypatch.setenv("AERIE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    reset_caches()
    with TestClient(create_api(), raise_server_exceptions=False) as client:
        for path in ("/api/health", "/health"):
            response = client.get(path)
            assert response.status_code == 503
            assert response.json()["status"] == "degraded"
            assert response.json()["database"] == "unreachable"


def test_scopes(api: Api, make_key) -> None:
    reader = make_key("read")
    writer = make_key("write")
    pid = api.create()["id"]
    assert api.get(f"/api/parts/{pid}", key=reader).status_code == 200
    denied = api.put(f"/api/parts/{pid}", key=reader, json={"name": "x"})
    assert denied.status_code == 403 and "write" in denied.json()["error"]
    assert api.put(f"/api/parts/{pid}", key=writer, json={"name": "x"}).status_code == 200
    assert api.get("/api/keys", key=writer).status_code == 403


def test_key_lifecycle(api: Api, make_key) -> None:
    created = api.post("/api/keys", json={"name": "script", "scope": "write"}).json()
    raw = created["key"]
    assert raw.startswith("aerie_") and created["scope"] == "write"
    listed = api.get("/api/keys").json()["keys"]
    assert all("key" not in k for k in listed)
    assert raw not in str(listed)
    assert any(k["name"] == "script" and k["prefix"] == raw[:10] for k in listed)
    assert api.get("/api/keys/me", key=raw).json() == {
        "name": "script",
        "scope": "write",
        "role": "reviewer",  # a team key acts as before people existed: every write allowed
        "personId": None,
    }
    revoked = api.post(f"/api/keys/{created['id']}/revoke").json()
    assert revoked["revoked"] is True
    assert api.get("/api/parts/", key=raw).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "name"), ({"name": "x", "scope": "root"}, "scope"), ({"name": ""}, "name")],
)
def test_key_create_validation(api: Api, body: dict, field: str) -> None:
    response = api.post("/api/keys", json=body)
    assert response.status_code == 400 and response.json()["details"]["field"] == field


def test_keys_are_stored_hashed(api: Api, session) -> None:
    from sqlmodel import select

    from aerie_app.models import ApiKey

    raw = api.post("/api/keys", json={"name": "s"}).json()["key"]
    stored = session.exec(select(ApiKey.key_hash)).all()
    assert raw not in stored and ADMIN_KEY not in stored
    assert all(len(h) == 64 for h in stored)


def test_auth_check_is_rate_limited(api: Api) -> None:
    first = api.get("/api/parts/auth/check")
    assert first.status_code == 200
    assert first.json()["status"] == "authenticated"
    assert "no-cache" in first.headers["cache-control"]
    second = api.get("/api/parts/auth/check")
    assert second.status_code == 429
    assert second.json()["error"] == "Rate limited"
    assert 0 < second.json()["retry_after"] <= 2
    assert api.get("/api/parts/auth/check", key="").status_code == 401


def test_repeated_failed_auth_is_throttled(api: Api) -> None:
    for _ in range(10):
        assert api.get("/api/parts/", key="guess-guess-guess").status_code == 401
    blocked = api.get("/api/parts/", key=ADMIN_KEY)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1


def test_wipe(api: Api, make_key) -> None:
    api.create()
    api.create()
    writer = make_key("write")
    assert api.post("/api/parts/wipe", key=writer, json={"password": ADMIN_KEY}).status_code == 403
    wrong = api.post("/api/parts/wipe", json={"password": writer})
    assert wrong.status_code == 403 and wrong.json()["error"] == "Incorrect password"
    assert api.post("/api/parts/wipe", json={"password": "nope"}).status_code == 403
    assert api.post("/api/parts/wipe", json={}).status_code == 400
    done = api.post("/api/parts/wipe", json={"password": ADMIN_KEY})
    assert done.status_code == 200 and done.json()["count"] == 2
    assert api.get("/api/parts/").json()["total"] == 0


def test_keys_never_logged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    from aerie_app.logs import install_redaction

    install_redaction()
    caplog.set_level(logging.DEBUG)
    raw = api.post("/api/keys", json={"name": "s"}).json()["key"]
    api.get(f"/api/parts/?api_key={raw}")
    api.get("/api/parts/", key=raw)
    api.get("/api/parts/", key="wrong-key-1234567")
    logging.getLogger("uvicorn.access").info("GET /api/parts/?api_key=%s 200", raw)
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert raw not in text and ADMIN_KEY not in text and "wrong-key-1234567" not in text
    assert "[redacted]" in text


def test_browser_session_cookie_reads_only(api: Api, session) -> None:
    from aerie_app.services import keys

    principal = keys.verify_key(session, ADMIN_KEY)
    token = keys.open_session(session, principal)
    api.client.cookies.set(keys.SESSION_COOKIE, token)
    try:
        pid = api.create()["id"]
        assert api.get(f"/api/parts/{pid}", key="").status_code == 200
        write = api.put(f"/api/parts/{pid}", key="", json={"name": "x"})
        assert write.status_code == 401
        keys.close_session(session, token)
        assert api.get(f"/api/parts/{pid}", key="").status_code == 401
    finally:
        api.client.cookies.clear()


def test_verified_keys_are_cached_briefly_and_revocation_is_honoured(
    api: Api, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key that verified is not looked up again for a few seconds; a revocation through this
    process ends it at once, and one made elsewhere (another worker) within the TTL."""
    import sqlalchemy as sa

    from aerie_app.models import ApiKey, utcnow
    from aerie_app.services import keys

    created = api.post("/api/keys", json={"name": "cached", "scope": "read"}).json()
    raw = created["key"]
    assert api.get("/api/keys/me", key=raw).status_code == 200
    lookups: list[str] = []
    real = keys._verify_stored
    monkeypatch.setattr(keys, "_verify_stored", lambda s, d: lookups.append(d) or real(s, d))
    for _ in range(5):
        assert api.get("/api/keys/me", key=raw).status_code == 200
    assert lookups == []  # served from the cache
    # Revoked behind this process's back (as another worker would): refused once the TTL passed.
    session.execute(sa.update(ApiKey).where(ApiKey.id == created["id"]).values(revoked_at=utcnow()))
    session.commit()
    clock = [keys.time.monotonic()]
    monkeypatch.setattr(keys.time, "monotonic", lambda: clock[0])
    clock[0] += keys.VERIFIED_TTL_S + 0.1
    assert api.get("/api/keys/me", key=raw).status_code == 401
    assert len(lookups) == 1
    # Revoked through this process: refused on the very next request.
    other = api.post("/api/keys", json={"name": "other", "scope": "read"}).json()
    assert api.get("/api/keys/me", key=other["key"]).status_code == 200
    assert api.post(f"/api/keys/{other['id']}/revoke").status_code == 200
    assert api.get("/api/keys/me", key=other["key"]).status_code == 401


def test_a_wrong_key_is_never_cached(api: Api) -> None:
    for _ in range(3):
        assert api.get("/api/keys/me", key="wrong-key-0123456789").status_code == 401
    from aerie_app.services import keys

    assert keys.hash_key("wrong-key-0123456789") not in keys._verified


def test_verifying_a_key_never_writes_its_last_used_stamp_is_batched(
    api: Api, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key check runs on the event loop: it must not take the database's write lock. The
    last-used time is noted in memory and stored later in one batch (or when keys are listed)."""
    import sqlalchemy as sa

    from aerie_app.models import ApiKey
    from aerie_app.services import keys

    created = api.post("/api/keys", json={"name": "stamped", "scope": "read"}).json()
    keys.forget_verified()
    writes: list[object] = []
    real_begin = keys.begin_write
    monkeypatch.setattr(keys, "begin_write", lambda s: writes.append(s) or real_begin(s))
    assert api.get("/api/keys/me", key=created["key"]).status_code == 200
    assert writes == []
    stored = session.exec(sa.select(ApiKey.last_used_at).where(ApiKey.id == created["id"])).one()
    assert stored[0] is None  # not yet: noted in memory
    assert created["id"] in keys._stamps
    assert keys.flush_last_used() >= 1
    assert len(writes) == 1  # every pending stamp in one write transaction
    session.rollback()  # a fresh snapshot
    stored = session.exec(sa.select(ApiKey.last_used_at).where(ApiKey.id == created["id"])).one()
    assert stored[0] is not None
    # The admin's key list shows a stamp noted a moment ago without waiting for the batch.
    other = api.post("/api/keys", json={"name": "listed", "scope": "read"}).json()
    assert api.get("/api/keys/me", key=other["key"]).status_code == 200
    listed = {k["id"]: k for k in api.get("/api/keys").json()["keys"]}
    assert listed[other["id"]]["lastUsedAt"] is not None


def test_reads_on_the_loop_do_not_wait_for_the_request_pool(api: Api) -> None:
    """Get one part and the key check read through the loop's own connection: with every pooled
    connection of the request threads taken, they still answer instead of waiting for one."""
    from aerie_app.db import get_engine

    part = api.create()
    from aerie_app.services import keys

    keys.forget_verified()
    engine = get_engine()
    pool = engine.pool
    capacity = pool.size() + pool._max_overflow  # type: ignore[attr-defined]
    held = [engine.connect() for _ in range(capacity)]
    try:
        assert pool.checkedout() == capacity
        response = api.get(f"/api/parts/{part['id']}")
        assert response.status_code == 200, response.text
        assert response.json()["id"] == part["id"]
    finally:
        for conn in held:
            conn.close()
