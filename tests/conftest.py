"""Shared fixtures: a fresh database per test on SQLite and (when it answers) PostgreSQL, settings, clients."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "AERIE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ADMIN_KEY = "test-admin-key-0123456789"
IN_CI = os.environ.get("CI", "").lower() == "true"


CORPUS_DIR = Path(
    os.environ.get("AERIE_CORPUS_DIR", str(ROOT.parent / "shared" / "corpus" / "step"))
)


def corpus_available() -> bool:
    return CORPUS_DIR.is_dir() and any(CORPUS_DIR.glob("*.st*p"))


@pytest.fixture(scope="session")
def steps() -> Path:
    """The project's own STEP fixtures (tests/step_fixtures.py), generated once and cached."""
    from tests import step_fixtures

    return step_fixtures.build()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The optional real-world corpus: only `corpus` tests ask for it, and they are deselected
    (not skipped) where it is absent, so a clone without it runs everything else."""
    return CORPUS_DIR


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if corpus_available():
        return
    keep = [item for item in items if "corpus" not in item.keywords]
    dropped = [item for item in items if "corpus" in item.keywords]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        config._aerie_corpus_note = (  # type: ignore[attr-defined]
            f"{len(dropped)} corpus tests deselected: no real-world STEP files at {CORPUS_DIR} "
            "(an optional tier; set AERIE_CORPUS_DIR to run it)"
        )


_skipped: list[tuple[str, str, bool]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
        pg = "postgresql" in report.nodeid or "pg" in report.keywords
        _skipped.append((report.nodeid, reason, pg))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    note = getattr(terminalreporter.config, "_aerie_corpus_note", None)
    if note:
        terminalreporter.write_line(note)
    for nodeid, reason, _ in _skipped:
        terminalreporter.write_line(f"skipped: {nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a test that does not exist: fail the run, except for the
    PostgreSQL tier when no server answers (its reason is printed above)."""
    if not IN_CI:
        return
    bad = [(nodeid, reason) for nodeid, reason, pg in _skipped if not pg]
    if bad and exitstatus == 0:
        print(f"\nCI: {len(bad)} tests were skipped; every test must run in CI:", flush=True)
        for nodeid, reason in bad:
            print(f"  {nodeid}: {reason}", flush=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def reset_caches() -> None:
    from aerie_app.db import dispose_engines
    from aerie_app.settings import get_settings

    dispose_engines()
    get_settings.cache_clear()
    from aerie_app.api import deps

    deps.failed_auth.clear()
    deps.auth_checks.clear()
    from aerie_app.services import keys, listcache, partjson

    keys.forget_verified()

    listcache.cache.clear()
    partjson.clear()
    from aerie_app.services import storage

    storage._s3.cache_clear()


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_problem() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        return None
    except Exception as exc:
        return str(exc)


@contextmanager
def job_worker(log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m aerie_app worker`` in this environment (the test's database and data folder),
    its output in ``log``; on leaving, SIGTERM, and it must exit 0."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "aerie_app", "worker"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0, log.read_text(errors="replace")


def require_services(*, postgresql: bool = False, redis: bool = False) -> None:
    """Skip a test whose services are missing on a contributor's machine; in CI, fail it (a test
    skipped in CI is a test that does not exist)."""
    problems = [
        p
        for p in (postgresql and _pg_reachable(), redis and _redis_problem())
        if isinstance(p, str)
    ]
    if problems:
        if IN_CI:
            pytest.fail(f"unreachable in CI: {problems}")
        pytest.skip(f"not reachable: {problems}")


def create_pg_database(prefix: str) -> tuple[str, str]:
    """A new, empty PostgreSQL database of the test run's own: (name, SQLAlchemy URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of its own for this test session, migrated once."""
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is unreachable in CI: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    from aerie_app.db import migrate

    name, url = create_pg_database("aerie_test")
    migrate(url)
    yield url
    drop_pg_database(name)


def _tables() -> str:
    """Every table a test may fill: the models' and the working-state ones (none forgotten)."""
    from sqlmodel import SQLModel

    from aerie_app.models import EPHEMERAL

    names = [t.name for t in (*SQLModel.metadata.sorted_tables, *EPHEMERAL.sorted_tables)]
    return ", ".join(names)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database for one test."""
    if request.param == "sqlite":
        from aerie_app.db import migrate

        url = f"sqlite:///{tmp_path / 'aerie.db'}"
        migrate(url)
        return url
    url: str = request.getfixturevalue("pg_database")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {_tables()} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def aerie_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Aerie's settings pointed at a temporary data folder and the test's database."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("AERIE_DATA_DIR", str(data))
    monkeypatch.setenv("AERIE_DATABASE_URL", database_url)
    monkeypatch.setenv("AERIE_API_KEY", ADMIN_KEY)
    # Throttle counts live in this test's database, not in a Redis the shell may point at.
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    reset_caches()
    from aerie_app.db import session_scope
    from aerie_app.services import keys

    with session_scope() as session:
        keys.bootstrap_admin(session, configured=ADMIN_KEY)
    yield data
    reset_caches()


@pytest.fixture
def session(aerie_env: Path) -> Iterator[sa.orm.Session]:
    from aerie_app.db import session_scope

    with session_scope() as s:
        yield s
