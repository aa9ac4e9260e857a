"""Engine, sessions and migrations for Aerie's database (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, create_engine

from aerie_app.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def make_engine(url: str) -> sa.Engine:
    """An engine with the per-dialect settings Aerie relies on (SQLite: WAL, foreign keys, busy wait)."""
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20)
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Python's sqlite3 opens transactions lazily; take control so BEGIN IMMEDIATE works.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            # Reads run in deferred transactions (WAL lets them run beside a writer). A unit of
            # work that writes starts with begin_write(), which asks for IMMEDIATE: it takes the
            # write lock first, so it can never fail to upgrade a stale read snapshot.
            write = conn.get_execution_options().get("aerie_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@lru_cache
def get_engine() -> sa.Engine:
    settings = get_settings()
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


@contextmanager
def session_scope(engine: sa.Engine | None = None) -> Iterator[Session]:
    """A session for one unit of work; services commit, this closes (and rolls back what they did not)."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        yield session


def begin_write(session: Session) -> None:
    """Start the write transaction of a unit of work (on SQLite: take the write lock now).

    Ends any read-only transaction the session had open, so the writer never works on a stale
    snapshot. Every service that writes calls this before it reads what it will change.
    """
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"aerie_write": True})


def ensure_write(session: Session) -> None:
    """:func:`begin_write` unless the session is already inside a write transaction."""
    if session.in_transaction() and session.connection().get_execution_options().get("aerie_write"):
        return
    begin_write(session)


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["database_url"] = url
    return cfg


def migrate(url: str | None = None) -> None:
    """Bring the database to the newest schema (idempotent)."""
    from alembic import command

    url = url or get_settings().resolved_database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


def check_database(engine: sa.Engine | None = None) -> bool:
    try:
        with (engine or get_engine()).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError:
        return False
