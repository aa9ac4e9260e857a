"""Failed-key throttling: per real client behind a trusted proxy, shared by every worker process
(database and Redis), never locking out valid unguessable credentials, the same for the UI sign-in."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY, IN_CI, ROOT

pytestmark = pytest.mark.api

PROXY = ("10.0.0.2", 40000)
WRONG = "wrong-key-guess-0000"
REDIS_TEST_URL = os.environ.get("AERIE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
LIMIT = 10


@pytest.fixture
def proxied(aerie_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API as seen through a reverse proxy at 10.0.0.2 that Aerie trusts."""
    from aerie_app.api.app import create_api
    from aerie_app.settings import get_settings

    monkeypatch.setenv("AERIE_TRUSTED_PROXIES", "10.0.0.0/24")
    get_settings.cache_clear()
    with TestClient(create_api(), client=PROXY, raise_server_exceptions=False) as client:
        yield client


def _get(client: TestClient, *, key: str | None, via: str | None, url: str = "/api/keys/me") -> Any:
    headers = {"X-API-Key": key} if key else {}
    if via:
        headers["X-Forwarded-For"] = via
    return client.get(url, headers=headers)


def _generated_key(client: TestClient, scope: str = "write") -> str:
    response = client.post(
        "/api/keys", headers={"X-API-Key": ADMIN_KEY}, json={"name": f"{scope}", "scope": scope}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


def _browser_cookie() -> str:
    from aerie_app.db import session_scope
    from aerie_app.services import keys

    with session_scope() as session:
        return keys.open_session(session, keys.verify_key(session, ADMIN_KEY))


def _assert_throttled(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "Rate limited"
    assert response.json()["message"] == "Too many failed API-key attempts; wait and try again"
    assert 50 <= response.json()["retry_after"] <= 60
    assert 50 <= int(response.headers["retry-after"]) <= 60


def test_script_behind_proxy_is_throttled_alone(proxied: TestClient) -> None:
    script, colleague = "198.51.100.10", "198.51.100.20"
    for _ in range(LIMIT):
        assert _get(proxied, key=WRONG, via=script).status_code == 401
    _assert_throttled(_get(proxied, key=WRONG, via=script))
    # Even the right (hand-chosen, guessable) key is refused to the guessing client.
    _assert_throttled(_get(proxied, key=ADMIN_KEY, via=script))
    # Another client behind the same proxy keeps working, with a key or a browser session.
    assert _get(proxied, key=ADMIN_KEY, via=colleague).json()["name"].startswith("admin")
    proxied.cookies.set("aerie_session", _browser_cookie())
    try:
        assert _get(proxied, key=None, via=colleague, url="/api/parts/").status_code == 200
    finally:
        proxied.cookies.clear()
    # A forged address left of the proxy's entry changes nothing for the script.
    _assert_throttled(_get(proxied, key=WRONG, via=f"203.0.113.99, {script}"))


def test_unguessable_credentials_work_from_a_blocked_address(aerie_env: Path) -> None:
    """No trusted proxy configured: everyone shares the proxy's address. Generated keys and
    browser sessions still work there; only guessable keys and failures are refused."""
    from aerie_app.api.app import create_api

    with TestClient(create_api(), client=PROXY, raise_server_exceptions=False) as client:
        script_key = _generated_key(client)
        cookie = _browser_cookie()
        for i in range(LIMIT):
            # Forwarded headers from an untrusted peer are ignored: rotating them does not help.
            assert _get(client, key=WRONG, via=f"198.51.100.{i}").status_code == 401
        _assert_throttled(_get(client, key=WRONG, via="198.51.100.77"))
        _assert_throttled(_get(client, key=ADMIN_KEY, via=None))
        # A wrong key shaped like a generated one is still looked up, and still refused.
        _assert_throttled(_get(client, key="aerie_" + "x" * 43, via=None))
        assert _get(client, key=script_key, via=None).json()["name"] == "write"
        client.cookies.set("aerie_session", cookie)
        assert _get(client, key=None, via=None, url="/api/parts/").status_code == 200
        client.cookies.set("aerie_session", "not-a-session-token")
        _assert_throttled(_get(client, key=None, via=None, url="/api/parts/"))
        client.cookies.clear()


def test_good_requests_neither_write_nor_read_throttle_state(
    proxied: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path: a valid generated key or session costs the throttle nothing at all."""
    from aerie_app.services import throttle

    script_key = _generated_key(proxied)
    cookie = _browser_cookie()
    calls: list[str] = []

    class Spy:
        def recent(self, *args: Any) -> tuple[int, None]:
            calls.append("recent")
            return 0, None

        def record(self, *args: Any) -> None:
            calls.append("record")

    monkeypatch.setattr(throttle, "store", Spy)
    assert _get(proxied, key=script_key, via="198.51.100.1").status_code == 200
    proxied.cookies.set("aerie_session", cookie)
    assert _get(proxied, key=None, via="198.51.100.1", url="/api/parts/").status_code == 200
    proxied.cookies.clear()
    assert calls == []
    # A hand-chosen key reads (never writes) before it is looked up, and a clean client's next
    # requests within a second do not read again; a failure makes the next request read at once.
    assert _get(proxied, key=ADMIN_KEY, via="198.51.100.1").status_code == 200
    assert calls == ["recent"]
    for _ in range(3):
        assert _get(proxied, key=ADMIN_KEY, via="198.51.100.1").status_code == 200
    assert calls == ["recent"]
    assert _get(proxied, key="wrong-key-0123456789", via="198.51.100.1").status_code == 401
    assert calls == ["recent", "record"]
    assert _get(proxied, key=ADMIN_KEY, via="198.51.100.1").status_code == 200
    assert calls == ["recent", "record", "recent"]


def test_ui_sign_in_shares_the_throttle_and_the_address_rule(proxied: TestClient) -> None:
    """Wrong keys typed into the sign-in form count for the same client as the API's, and a
    generated key still signs in from that address."""
    from reflex.istate.data import RouterData
    from reflex.state import State
    from reflex_base import constants

    from aerie_app.state.auth import AuthState

    root = State(_reflex_internal_init=True)
    auth = root.get_substate(AuthState.get_full_name().split(".")[1:])
    root.router = RouterData.from_router_data(
        {
            constants.RouteVar.CLIENT_IP: PROXY[0],
            constants.RouteVar.HEADERS: {"x-forwarded-for": "203.0.113.50, 198.51.100.30"},
        }
    )

    def sign_in(state: AuthState, form: dict[str, str]) -> None:
        # The handler checks the key in a thread (as it does argon2 passwords): run it to the end,
        # on a loop of its own (another tier's browser driver may hold this thread's loop).
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, AuthState.sign_in.fn(state, form)).result()

    for _ in range(LIMIT - 1):
        sign_in(auth, {"key": WRONG})
        assert auth.error == "That access key is not valid."
    # The tenth failure comes through the API, from the same client behind the proxy.
    assert _get(proxied, key=WRONG, via="198.51.100.30").status_code == 401
    sign_in(auth, {"key": ADMIN_KEY})
    assert auth.error.startswith("Too many wrong keys; try again in ")
    assert not auth.signed_in
    _assert_throttled(_get(proxied, key=ADMIN_KEY, via="198.51.100.30"))
    assert _get(proxied, key=ADMIN_KEY, via="198.51.100.31").status_code == 200
    sign_in(auth, {"key": _generated_key(proxied)})
    assert auth.error == "" and auth.signed_in and auth.token


# Several workers ---------------------------------------------------------------------------------

WORKER = """
import json, os, sys
from fastapi.testclient import TestClient
from aerie_app.api.app import create_api

client = TestClient(create_api(), client=("10.0.0.2", 40000))
codes = [
    client.get("/api/keys/me", headers={"X-API-Key": key, "X-Forwarded-For": via}).status_code
    for via, key in json.loads(sys.argv[1])
]
print(json.dumps({"pid": os.getpid(), "codes": codes}))
"""


def _worker(plan: list[tuple[str, str]], **env: str) -> list[int]:
    """Requests from a separate process: its own engine, connections and (if any) Redis client."""
    environment = os.environ | env | {"PYTHONPATH": str(ROOT), "AERIE_CONVERSION_PREWARM": "false"}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(plan)],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["pid"] != os.getpid()
    return list(result["codes"])


def _two_workers_share_the_limit(proxied: TestClient, **env: str) -> None:
    script = f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    other = "203.0.113.40" if script != "203.0.113.40" else "203.0.113.41"
    assert _worker([(script, WRONG)] * 6, **env) == [401] * 6
    # The second worker has seen none of them itself, yet allows only four more.
    codes = _worker([(script, WRONG)] * 5 + [(script, ADMIN_KEY), (other, ADMIN_KEY)], **env)
    assert codes == [401] * 4 + [429, 429, 200]
    # And this process, a third worker, agrees.
    _assert_throttled(_get(proxied, key=WRONG, via=script))
    assert _get(proxied, key=ADMIN_KEY, via=other).status_code == 200


def test_limit_holds_across_worker_processes_in_the_database(
    proxied: TestClient, aerie_env: Path
) -> None:
    env = {
        "AERIE_DATA_DIR": str(aerie_env),
        "AERIE_DATABASE_URL": os.environ["AERIE_DATABASE_URL"],
        "AERIE_API_KEY": ADMIN_KEY,
        "AERIE_TRUSTED_PROXIES": "10.0.0.0/24",
    }
    _two_workers_share_the_limit(proxied, **env)
    from aerie_app.db import session_scope
    from aerie_app.models import throttle_event

    with session_scope() as session:
        rows = session.execute(throttle_event.select()).all()
    assert len(rows) == LIMIT  # refused attempts are not recorded: the table stays small


def _redis() -> Any:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_TEST_URL, socket_timeout=2)
        client.ping()
        return client
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"Redis is unreachable in CI: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_limit_holds_across_worker_processes_in_redis(
    proxied: TestClient, aerie_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = _redis()
    from aerie_app.services import throttle

    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    throttle.failed_auth.clear()
    env = {
        "AERIE_DATA_DIR": str(aerie_env),
        "AERIE_DATABASE_URL": os.environ["AERIE_DATABASE_URL"],
        "AERIE_API_KEY": ADMIN_KEY,
        "AERIE_TRUSTED_PROXIES": "10.0.0.0/24",
        "REDIS_URL": REDIS_TEST_URL,
    }
    before = set(redis.scan_iter(f"{throttle.REDIS_PREFIX}*"))
    try:
        _two_workers_share_the_limit(proxied, **env)
        from aerie_app.db import session_scope
        from aerie_app.models import throttle_event

        with session_scope() as session:
            assert session.execute(throttle_event.select()).all() == []
        made = set(redis.scan_iter(f"{throttle.REDIS_PREFIX}*")) - before
        assert made and all(0 < redis.ttl(key) <= 61 for key in made)
    finally:
        for key in set(redis.scan_iter(f"{throttle.REDIS_PREFIX}*")) - before:
            redis.delete(key)
        throttle.failed_auth.clear()


def test_stores_count_the_same(aerie_env: Path) -> None:
    """Database and Redis stores: a sliding window of events, expired ones dropped."""
    import time

    from aerie_app.services.throttle import DATABASE, RedisStore

    stores: list[Any] = [DATABASE]
    try:
        _redis()
        stores.append(RedisStore(REDIS_TEST_URL))
    except pytest.skip.Exception:
        pass
    bucket = f"t{uuid.uuid4().hex[:8]}"
    now = time.time()
    for store in stores:
        store.record(bucket, "c1", now - 100, 60.0)
        store.record(bucket, "c1", now - 30, 60.0)
        store.record(bucket, "c1", now - 10, 60.0)
        store.record(bucket, "c2", now - 5, 60.0)
        count, oldest = store.recent(bucket, "c1", now - 60)
        assert (count, round(oldest, 3)) == (2, round(now - 30, 3))
        assert store.recent(bucket, "c3", now - 60) == (0, None)
        if store is not DATABASE:
            store.redis.delete(f"aerie:throttle:{bucket}:c1", f"aerie:throttle:{bucket}:c2")


# A real server: Reflex's backend with two Granian workers ----------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.pg
@pytest.mark.parametrize("store", ["database", "redis"])
def test_two_worker_server_shares_the_limit(store: str, tmp_path: Path, pg_database: str) -> None:
    """``reflex run --backend-only`` with GRANIAN_WORKERS=2 on PostgreSQL: ten failures in all,
    whichever worker answered, then 429 from both; another client behind the proxy is served."""
    import signal
    import time

    import httpx
    import sqlalchemy as sa

    from aerie_app.__main__ import reflex_env
    from tests.conftest import create_pg_database, drop_pg_database

    redis = _redis() if store == "redis" else None
    name, url = create_pg_database("aerie_thr")
    port = _free_port()
    env = reflex_env() | {
        "AERIE_DATABASE_URL": url,
        "AERIE_DATA_DIR": str(tmp_path / "data"),
        "AERIE_API_KEY": ADMIN_KEY,
        "AERIE_TRUSTED_PROXIES": "127.0.0.1",
        "AERIE_CONVERSION_PREWARM": "false",
        "GRANIAN_WORKERS": "2",
        # rxconfig.py sets a frontend port from PORT, which --backend-only refuses; 0 means none.
        "PORT": "0",
        # Reflex's backend writes a few marker files there: keep the shared .web/ untouched.
        "REFLEX_WEB_WORKDIR": str(tmp_path / "web"),
        "PYTHONPATH": str(ROOT),
    }
    for var in ("REDIS_URL", "REFLEX_REDIS_URL"):
        env.pop(var, None)
    if redis is not None:
        env["REDIS_URL"] = REDIS_TEST_URL
    bootstrap = "from aerie_app.__main__ import _bootstrap; _bootstrap(0)"
    subprocess.run(
        [sys.executable, "-c", bootstrap], env=env, cwd=ROOT, check=True, capture_output=True
    )
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-only"]
    command += ["--backend-port", str(port), "--loglevel", "warning"]
    with log.open("w") as out:
        server = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    script = f"198.51.100.{uuid.uuid4().int % 250}"

    def fresh(key: str, via: str) -> tuple[int, str]:
        """One request on a new connection, so either worker may answer."""
        with httpx.Client(timeout=30) as client:
            response = client.get(
                f"{base}/api/keys/me", headers={"X-API-Key": key, "X-Forwarded-For": via}
            )
        return response.status_code, response.headers.get("x-aerie-worker", "")

    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "server did not start: " + log.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        first = [fresh(WRONG, script) for _ in range(LIMIT)]
        then = [fresh(WRONG, script) for _ in range(LIMIT)]
        others = [fresh(ADMIN_KEY, "203.0.113.5") for _ in range(6)]
        assert [code for code, _ in first] == [401] * LIMIT
        assert [code for code, _ in then] == [429] * LIMIT
        assert [code for code, _ in others] == [200] * 6
        workers = {pid for _, pid in first + then}
        assert len(workers) == 2, f"expected both workers to answer, saw {workers}"
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM throttle_event")).scalar_one()
        engine.dispose()
        assert rows == (0 if redis is not None else LIMIT)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        drop_pg_database(name)
        if redis is not None:
            from aerie_app.services.throttle import REDIS_PREFIX

            for key in redis.scan_iter(f"{REDIS_PREFIX}auth:{script}"):
                redis.delete(key)
