"""Change notices: every commit that changes a part tells every server process, at once.

Publishing needs no call from the services: hooks on every SQLAlchemy connection notice a commit
whose transaction wrote one of the :data:`WATCHED` tables (any ``INSERT``, ``UPDATE`` or
``DELETE``: ORM flushes, Core statements, text) and then

- call this process's subscribers (:func:`subscribe`), right after the commit;
- on PostgreSQL, send ``NOTIFY aerie_changes`` *inside* the transaction, so the notice goes out
  with the commit and never for a rollback, from whichever process wrote (web worker, conversion
  worker, a command-line import);
- on SQLite with Redis configured (several web workers on one host), publish on the Redis channel
  :data:`REDIS_CHANNEL` from a small background thread, so a write never waits for Redis.

:func:`listen` is the receiving side for other processes: a thread that waits on PostgreSQL
``LISTEN`` or on the Redis channel and calls back for every notice. A notice carries no data: the
receiver reads what changed itself (services/livefeed.py), so a lost or doubled notice costs at
most one extra read, never a wrong page.

A module of its own, below the database layer, so that importing :mod:`aerie_app.db` (which every
writer does) installs the hooks in every process.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from aerie_app.settings import get_settings, redis_url

log = logging.getLogger("aerie.changes")

#: Tables whose writes can change what a page shows about parts (the board, a part page, the
#: phone card, stats and the cut list). Keys, sessions, throttle counts, webhooks: not these.
WATCHED = frozenset(
    {"part", "part_event", "part_worker", "part_file", "review_pin", "part_fit", "drawing_job"}
)
PG_CHANNEL = "aerie_changes"
REDIS_CHANNEL = "aerie:changes"
_FLAG = "aerie_changed"

Callback = Callable[[], None]
_subscribers: list[Callback] = []
_subscribers_lock = threading.Lock()


def subscribe(callback: Callback) -> Callable[[], None]:
    """Call ``callback()`` after every commit in this process that changed parts.

    It runs on the committing thread, so it must be quick and thread-safe (hand the work to an
    event loop or a queue). Returns a function that unsubscribes."""
    with _subscribers_lock:
        _subscribers.append(callback)

    def unsubscribe() -> None:
        with _subscribers_lock:
            if callback in _subscribers:
                _subscribers.remove(callback)

    return unsubscribe


def _notify_local() -> None:
    with _subscribers_lock:
        callbacks = list(_subscribers)
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a broken subscriber must not fail a committed write
            log.exception("change subscriber failed")


# --- noticing writes -------------------------------------------------------------------------
# On the connection, so every path is seen: ORM flushes, the hot path's Core statements run on
# ``session.connection()``, and plain ``engine.begin()`` blocks.

_DML = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)
_pending = threading.local()


@event.listens_for(sa.engine.Engine, "after_cursor_execute")
def _on_statement(
    conn: sa.Connection, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    match = _DML.match(statement)
    if match and match.group(1).lower() in WATCHED:
        conn.info[_FLAG] = True


@event.listens_for(sa.engine.Engine, "commit")
def _on_commit(conn: sa.Connection) -> None:
    # Called just before the database commits.
    if not conn.info.pop(_FLAG, False):
        return
    if conn.dialect.name == "postgresql":
        # Inside the transaction: the server delivers it when (and only if) the commit lands.
        cursor = conn.connection.cursor()
        try:
            cursor.execute(f"NOTIFY {PG_CHANNEL}")
        finally:
            cursor.close()
    _pending.changed = True  # announced in this process once the commit has returned


@event.listens_for(sa.engine.Engine, "rollback")
def _on_rollback(conn: sa.Connection) -> None:
    conn.info.pop(_FLAG, None)


@event.listens_for(Session, "after_commit")
def _after_session_commit(_session: Session) -> None:
    if getattr(_pending, "changed", False):
        announce()


def announce() -> None:
    """Tell this process's pages (and, between SQLite workers, the others) that parts changed.

    Called for every committed session that wrote a watched table; a bulk job that commits on a
    bare connection (a restore) calls it itself when done."""
    _pending.changed = False
    _notify_local()
    if _redis_publishes():
        _publisher().poke()


def _is_postgres() -> bool:
    return get_settings().resolved_database_url.startswith("postgresql")


def _redis_publishes() -> bool:
    """PostgreSQL carries notices itself; Redis carries them between SQLite workers."""
    return bool(redis_url()) and not _is_postgres()


# --- publishing to Redis ---------------------------------------------------------------------


class _RedisPublisher:
    """One daemon thread that publishes a notice after writes, coalescing bursts: a write only
    sets an event. Flushed at exit, so a short command-line run's last write is announced."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(
            target=self._run, name="aerie-change-publisher", daemon=True
        )
        self._thread.start()
        atexit.register(self.flush)

    def poke(self) -> None:
        self._idle.clear()
        self._wake.set()

    def flush(self, timeout: float = 2.0) -> None:
        self._idle.wait(timeout)

    def _run(self) -> None:
        import redis

        client: Any = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        failing = False
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                client.publish(REDIS_CHANNEL, b"1")
                failing = False
            except Exception as exc:  # noqa: BLE001 - Redis down: pages catch up on their re-check
                if not failing:
                    log.warning("cannot publish change notices to Redis: %s", exc)
                failing = True
            if not self._wake.is_set():
                self._idle.set()


_publisher_lock = threading.Lock()
_publishers: dict[str, _RedisPublisher] = {}


def flush(timeout: float = 2.0) -> None:
    """Wait until this process's Redis notices are sent (tests; exit does it by itself)."""
    with _publisher_lock:
        publishers = list(_publishers.values())
    for publisher in publishers:
        publisher.flush(timeout)


def _publisher() -> _RedisPublisher:
    url = redis_url() or ""
    with _publisher_lock:
        if url not in _publishers:
            _publishers[url] = _RedisPublisher(url)
        return _publishers[url]


# --- receiving from other processes ----------------------------------------------------------


class Listener:
    """A thread that calls ``callback()`` for every notice from other processes, reconnecting
    (with a growing pause) when the database or Redis goes away. It also calls back after every
    (re)connect: notices sent while it was away are lost, so the receiver re-reads then."""

    def __init__(self, transport: str, callback: Callback) -> None:
        self.transport = transport
        self.callback = callback
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"aerie-change-listener-{transport}", daemon=True
        )
        self.connected = threading.Event()

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        pause = 0.5
        while not self._stop.is_set():
            try:
                if self.transport == "postgresql":
                    self._listen_postgres()
                else:
                    self._listen_redis()
                pause = 0.5
            except Exception as exc:  # noqa: BLE001 - keep listening; the page re-checks meanwhile
                self.connected.clear()
                log.warning("change notices (%s) interrupted: %s", self.transport, exc)
                self._stop.wait(pause)
                pause = min(pause * 2, 10.0)

    def _connected(self) -> None:
        self.callback()
        self.connected.set()

    def _listen_postgres(self) -> None:
        import psycopg

        url = sa.engine.make_url(get_settings().resolved_database_url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"LISTEN {PG_CHANNEL}")
            self._connected()
            while not self._stop.is_set():
                # Returns after a second without notices, to see the stop flag.
                for _notice in conn.notifies(timeout=1.0):
                    self.callback()
                    if self._stop.is_set():
                        return

    def _listen_redis(self) -> None:
        import redis

        client: Any = redis.Redis.from_url(
            redis_url() or "", socket_timeout=5, socket_connect_timeout=5
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(REDIS_CHANNEL)
            self._connected()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is not None:
                    self.callback()
        finally:
            pubsub.close()
            client.close()


def transport() -> str | None:
    """How notices reach this process from others: ``postgresql``, ``redis`` or None (SQLite
    without Redis: one web worker, whose own writes are announced in-process)."""
    if _is_postgres():
        return "postgresql"
    if redis_url():
        return "redis"
    return None


def listen(callback: Callback) -> Listener | None:
    """Start receiving other processes' notices (None where there is no channel between them)."""
    kind = transport()
    return Listener(kind, callback).start() if kind else None


def wait_connected(listener: Listener | None, timeout: float = 5.0) -> bool:
    """Tests and benchmarks: block until ``listener`` listens (True at once without one)."""
    if listener is None:
        return True
    deadline = time.monotonic() + timeout
    return listener.connected.wait(max(0.0, deadline - time.monotonic()))
