"""Jobs a dead server left running go back to the queue; an idle poller tick writes nothing."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from aerie_app.db import session_scope
from aerie_app.models import ConversionStatus, PartFile, utcnow
from aerie_app.services import conversions, parts

pytestmark = pytest.mark.api


def _file(status: str, started_ago_s: float | None) -> int:
    with session_scope() as session:
        part = parts.create_part(
            session, data={"material": "Al", "subsystem": "x", "type": "cnc"}, actor="t"
        )
        row = PartFile(
            part_id=part.id,
            kind="step",
            display_name="a.step",
            size=1234,
            sha256="ab" * 32,
            conversion_status=status,
            conversion_started_at=(
                None if started_ago_s is None else utcnow() - timedelta(seconds=started_ago_s)
            ),
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def _status(file_id: int) -> str:
    with session_scope() as session:
        row = session.get(PartFile, file_id)
        assert row is not None
        return row.conversion_status


def test_abandoned_jobs_are_requeued_and_live_ones_left_alone(aerie_env: Path) -> None:
    running = ConversionStatus.RUNNING.value
    abandoned = _file(running, started_ago_s=24 * 3600)
    live = _file(running, started_ago_s=5)
    with session_scope() as session:
        assert conversions.recover(session) == 1
    assert _status(abandoned) == ConversionStatus.QUEUED.value
    assert _status(live) == running
    with session_scope() as session:
        assert conversions.recover(session) == 0  # nothing left to recover


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_idle_tick_does_not_take_the_write_lock(aerie_env: Path, database_url: str) -> None:
    """With nothing to recover, the poller only reads: it neither waits for nor takes SQLite's
    write lock (which another writer holds here for the whole check)."""
    _file(ConversionStatus.RUNNING.value, started_ago_s=5)  # running, and alive
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    result: list[int] = []

    def tick() -> None:
        with session_scope() as session:
            result.append(conversions.recover(session))

    try:
        thread = threading.Thread(target=tick)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the idle tick waited for the write lock"
    finally:
        other.execute("COMMIT")
        other.close()
    thread.join(timeout=30)
    assert result == [0]
