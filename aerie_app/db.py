"""Engine, sessions and migrations for Aerie's database (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, create_engine

from aerie_app import changes  # noqa: F401 - installs the commit hooks that announce changes
from aerie_app.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def make_engine(url: str, *, connections: int | None = None) -> sa.Engine:
    """An engine with the per-dialect settings Aerie relies on (SQLite: WAL, foreign keys, busy wait).

    ``connections`` caps the pool at that many (no overflow); by default SQLite keeps SQLAlchemy's
    pool and PostgreSQL gets 10 + 20 overflow.
    """
    # A pooled SQLite file connection cannot go stale: pinging it was one more statement per
    # request. A PostgreSQL server can restart under the pool, so its connections are pinged.
    kwargs: dict[str, Any] = {"pool_pre_ping": not url.startswith("sqlite")}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20)
    if connections is not None:
        kwargs.update(pool_size=connections, max_overflow=0)
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


@lru_cache
def get_loop_engine() -> sa.Engine:
    """The engine for short reads done on the event loop's own thread (see :func:`loop_session`).

    One connection, separate from the pool that request threads use: the loop never waits for a
    connection a thread holds (which, with sessions closed on the loop, could never come back).
    """
    get_engine()  # creates the data folder for SQLite
    url = get_settings().resolved_database_url
    engine = make_engine(url, connections=1)
    if url.startswith("sqlite"):
        return engine
    # Its reads are single statements, each consistent on its own: PostgreSQL runs them without
    # the BEGIN and ROLLBACK round trips a transaction would add to every request.
    return engine.execution_options(isolation_level="AUTOCOMMIT")


class WriteLockBusy(Exception):
    """SQLite's write lock was taken when a write on the event loop asked for it (see
    :func:`loop_write_session`): the caller runs the write in a worker thread instead."""


def is_sqlite() -> bool:
    return get_settings().resolved_database_url.startswith("sqlite")


@lru_cache
def get_loop_write_engine() -> sa.Engine:
    """SQLite only: one connection for writes done on the event loop, which never waits for the
    write lock. Its ``BEGIN IMMEDIATE`` either gets the lock at once or raises
    :class:`WriteLockBusy` (busy timeout 0), so the loop cannot freeze behind another writer."""
    get_engine()
    engine = make_engine(get_settings().resolved_database_url, connections=1)

    @sa.event.listens_for(engine, "connect")
    def _no_wait(dbapi_conn: Any, _record: Any) -> None:
        # After make_engine's pragmas: its BEGIN IMMEDIATE gets the lock now or fails now.
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    return engine


@contextmanager
def loop_write_session() -> Iterator[Session]:
    """A session for one whole write on the event loop (SQLite): lock, read, change, commit,
    with no ``await`` inside. Raises :class:`WriteLockBusy` where the write would have had to
    wait for another writer; nothing was read or written then."""
    with Session(get_loop_write_engine(), expire_on_commit=False) as session:
        try:
            yield session
        except sa.exc.OperationalError as exc:
            if _is_busy(exc) and not session.info.get("aerie_locked"):
                session.rollback()
                raise WriteLockBusy(str(exc.orig)) from None
            raise


def _is_busy(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


@contextmanager
def loop_session() -> Iterator[Session]:
    """A session for one short read on the event loop: open, read, close, with no ``await`` inside.

    Used by the hottest read routes to skip the hop to a worker thread and back (most of a
    millisecond on a 2-core box). Nothing awaits while it is open, so two requests never share
    its one connection; anything that writes or may wait on a lock belongs in a thread instead.
    """
    with Session(get_loop_engine(), expire_on_commit=False) as session:
        yield session


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests, forks, settings changes)."""
    for factory in (get_engine, get_loop_engine, get_loop_write_engine):
        if factory.cache_info().currsize:
            factory().dispose()
        factory.cache_clear()


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
    if session.info.get("aerie_batch"):
        return  # inside one_transaction: already writing, and nothing may commit yet
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"aerie_write": True})
    session.info["aerie_locked"] = True  # from here on, a busy error is not a free retry


def commit(session: Session) -> None:
    """What a service calls to end its unit of work: a commit, or inside
    :func:`one_transaction` a flush (the batch commits once, at its end)."""
    if session.info.get("aerie_batch"):
        session.flush()
    else:
        session.commit()


@contextmanager
def one_transaction(session: Session) -> Iterator[None]:
    """Service calls made inside commit together when the block ends, or not at all.

    For work that must land whole (a spreadsheet import): each service's own commit becomes a
    flush, and an error anywhere rolls every change back.
    """
    begin_write(session)
    session.info["aerie_batch"] = True
    try:
        yield
    except BaseException:
        session.info.pop("aerie_batch", None)
        session.rollback()
        raise
    session.info.pop("aerie_batch", None)
    session.commit()


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
