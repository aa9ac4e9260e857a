"""Pushed live updates (issue 15): writes announce themselves, open pages wait without reading.

On both databases: a commit that changes a part is announced in the process at once, a rollback
or a write elsewhere (keys) is not; the live feed wakes every waiting page with one marker read
and runs no statement at all while nothing changes. Across processes: PostgreSQL ``NOTIFY`` (sent
inside the writer's transaction, so never for a rollback) and, for SQLite workers, Redis.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from aerie_app import changes
from aerie_app.db import get_engine, session_scope
from aerie_app.models import Scope
from aerie_app.services import keys, parts
from aerie_app.services.livefeed import Feed
from aerie_app.workflow import Action
from tests.conftest import REDIS_URL, require_services

pytestmark = pytest.mark.api
ROOT = Path(__file__).resolve().parents[2]


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.n += 1
        self.event.set()

    def wait(self, timeout: float) -> bool:
        ok = self.event.wait(timeout)
        self.event.clear()
        return ok


@pytest.fixture
def announced(aerie_env: Path) -> Iterator[Counter]:
    counter = Counter()
    unsubscribe = changes.subscribe(counter)
    yield counter
    unsubscribe()


def _new_part(session: Session, name: str = "Bracket") -> int:
    part = parts.create_part(
        session,
        data={"name": name, "material": "Al", "subsystem": "Drive", "type": "cnc"},
        actor="test",
    )
    assert part.id is not None
    return part.id


def test_a_part_write_is_announced_once_committed(announced: Counter, session: Session) -> None:
    part_id = _new_part(session)
    assert announced.n == 1
    parts.update_part(session, part_id, data={"notes": "deburr"}, actor="test")
    parts.perform(session, part_id, Action.APPROVE, actor="test")
    assert announced.n == 3


def test_a_rollback_and_other_tables_announce_nothing(announced: Counter, session: Session) -> None:
    part_id = _new_part(session)
    before = announced.n
    with session_scope() as other:
        other.begin()
        other.execute(sa.text("UPDATE part SET notes = 'x' WHERE id = :i"), {"i": part_id})
        from aerie_app.models import Part

        row = other.get(Part, part_id)
        assert row is not None
        row.notes = "changed, then thrown away"
        other.add(row)
        other.flush()
        other.rollback()
    keys.create_key(session, name="line sensor", scope=Scope.WRITE)
    assert announced.n == before
    with session_scope() as fresh:
        assert parts.get_part(fresh, part_id).notes in ("", None)


def run_async(coro: Any) -> Any:
    """Run a coroutine on a loop of its own thread: a browser driver earlier in the same test
    process (the e2e tier) may have left a loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _count_statements() -> tuple[list[str], sa.Engine]:
    seen: list[str] = []
    engine = get_engine()
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen, engine


def test_fifty_waiting_pages_read_nothing_until_a_change_then_one_read_wakes_all(
    session: Session,
) -> None:
    _quiet()
    part_id = _new_part(session)
    feed = Feed(safety_s=3600)
    feed.start()
    assert changes.wait_connected(feed.listener, 10)  # PostgreSQL: listening from here on

    async def scenario() -> None:
        seen = await feed.current()
        assert feed.reads == 1
        statements, _engine = _count_statements()
        pages = [asyncio.ensure_future(feed.wait(seen, timeout=60)) for _ in range(50)]
        await asyncio.sleep(1.5)  # idle: fifty pages, nothing changes
        # (Other statements may run meanwhile: a key's batched last-used stamp, say.)
        about_parts = [s for s in statements if " part" in s.lower()]
        assert about_parts == [], "waiting pages must not query the database"
        assert feed.waiting == 50 and not any(p.done() for p in pages)
        # A write from a worker thread, as the API's writes run.
        started = time.perf_counter()
        await asyncio.to_thread(_edit, part_id, "tap 10-32")
        markers = await asyncio.wait_for(asyncio.gather(*pages), 5)
        woke_ms = (time.perf_counter() - started) * 1000
        assert len(set(markers)) == 1 and markers[0] != seen
        assert feed.reads in (2, 3), feed.reads  # one read (a second if a notice came mid-read)
        assert woke_ms < 2000
        # A page that asks again with the new marker waits again; a stale one returns at once.
        assert await feed.wait(seen, timeout=0.01) == markers[0]
        assert await feed.wait(markers[0], timeout=0.05) == markers[0]

    try:
        run_async(scenario())
    finally:
        feed.stop()


def _edit(part_id: int, notes: str) -> None:
    with session_scope() as s:
        parts.update_part(s, part_id, data={"notes": notes}, actor="test")


def test_the_safety_recheck_catches_a_change_no_notice_announced(session: Session) -> None:
    """A writer in another process with no channel between them (SQLite, no Redis)."""
    part_id = _new_part(session)
    feed = Feed(safety_s=0.3)  # not started: it hears no notices at all

    async def scenario() -> None:
        seen = await feed.current()
        waiter = asyncio.ensure_future(feed.wait(seen, timeout=10))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(_edit, part_id, "changed quietly")
        assert await asyncio.wait_for(waiter, 5) != seen

    run_async(scenario())


WRITER = """
import sys
from aerie_app.db import session_scope
from aerie_app.services import parts
with session_scope() as s:
    if sys.argv[1] == "commit":
        parts.update_part(s, int(sys.argv[2]), data={"notes": "from another process"}, actor="x")
    else:
        s.begin()
        s.execute(__import__("sqlalchemy").text("UPDATE part SET notes='no' WHERE id=:i"),
                  {"i": int(sys.argv[2])})
        s.rollback()
"""


def _other_process(action: str, part_id: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", WRITER, action, str(part_id)], env=env, check=True)


def _quiet() -> None:
    """No conversion an earlier test started is still writing (and announcing) meanwhile."""
    from aerie_app.services import conversions

    assert conversions.queue.wait_idle(120)


def _listen_across_processes(session: Session) -> None:
    _quiet()
    part_id = _new_part(session)
    changes.flush()  # its own notice is out before anyone listens: it cannot be heard below
    heard = Counter()
    listener = changes.listen(heard)
    assert listener is not None
    try:
        assert changes.wait_connected(listener, 10)
        assert heard.wait(5)  # the (re)connect call-back
        heard.n = 0
        _other_process("rollback", part_id)
        assert not heard.wait(1.0), "a rolled-back write must not be announced"
        _other_process("commit", part_id)
        assert heard.wait(10), "another process's commit was not heard"
        assert heard.n >= 1
    finally:
        listener.stop()


def test_other_processes_writes_are_heard(session: Session, database_url: str) -> None:
    """PostgreSQL: LISTEN/NOTIFY. SQLite has no channel unless Redis is configured (next test)."""
    if not database_url.startswith("postgresql"):
        assert changes.transport() is None
        assert changes.listen(lambda: None) is None
        return
    assert changes.transport() == "postgresql"
    _listen_across_processes(session)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_workers_hear_each_other_through_redis(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_services(redis=True)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    assert changes.transport() == "redis"
    _listen_across_processes(session)
