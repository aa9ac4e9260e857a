"""Jobs a dead server left running go back to the queue once their lease lapses; a live one's
process keeps renewing it; an idle poller tick writes nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from aerie_app.db import session_scope
from aerie_app.models import ConversionStatus, PartFile, utcnow
from aerie_app.services import conversions, parts

pytestmark = pytest.mark.api


def _file(
    status: str,
    started_ago_s: float | None,
    heartbeat_ago_s: float | None = None,
    sha256: str = "ab" * 32,
) -> int:
    with session_scope() as session:
        part = parts.create_part(
            session, data={"material": "Al", "subsystem": "x", "type": "cnc"}, actor="t"
        )
        row = PartFile(
            part_id=part.id,
            kind="step",
            display_name="a.step",
            size=1234,
            sha256=sha256,
            conversion_status=status,
            conversion_started_at=(
                None if started_ago_s is None else utcnow() - timedelta(seconds=started_ago_s)
            ),
            conversion_heartbeat_at=(
                None if heartbeat_ago_s is None else utcnow() - timedelta(seconds=heartbeat_ago_s)
            ),
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def _row(file_id: int) -> PartFile:
    with session_scope() as session:
        row = session.get(PartFile, file_id)
        assert row is not None
        return row


def _status(file_id: int) -> str:
    return _row(file_id).conversion_status


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


def test_a_lapsed_lease_is_requeued_long_before_the_timeout(aerie_env: Path) -> None:
    """The lease, not the conversion timeout, decides: a job started a minute ago whose process
    stopped stamping it 40 s ago is back in the queue; one stamped 2 s ago stays running even
    though it started long ago (a big part, still converting)."""
    running = ConversionStatus.RUNNING.value
    assert conversions.LEASE_S < 40
    lapsed = _file(running, started_ago_s=60, heartbeat_ago_s=40, sha256="c1" * 32)
    alive = _file(running, started_ago_s=24 * 3600, heartbeat_ago_s=2, sha256="c2" * 32)
    with session_scope() as session:
        assert conversions.recover(session) == 1
    assert _status(lapsed) == ConversionStatus.QUEUED.value
    assert _status(alive) == running


def test_claim_stamps_and_renew_moves_only_running_rows(aerie_env: Path) -> None:
    queued = _file(ConversionStatus.QUEUED.value, started_ago_s=None, sha256="d1" * 32)
    ready = _file(ConversionStatus.READY.value, started_ago_s=600, sha256="d2" * 32)
    with session_scope() as session:
        assert conversions.claim(session, "d1" * 32)
    claimed = _row(queued)
    assert claimed.conversion_status == ConversionStatus.RUNNING.value
    assert claimed.conversion_heartbeat_at is not None
    time.sleep(0.05)
    with session_scope() as session:
        assert conversions.renew(session, ["d1" * 32, "d2" * 32]) == 1
    renewed = _row(queued).conversion_heartbeat_at
    assert renewed is not None and renewed > claimed.conversion_heartbeat_at
    assert _row(ready).conversion_heartbeat_at is None


def test_the_lease_thread_renews_while_held_and_stops_after(aerie_env: Path) -> None:
    row = _file(
        ConversionStatus.RUNNING.value, started_ago_s=5, heartbeat_ago_s=20, sha256="e1" * 32
    )
    before = _row(row).conversion_heartbeat_at
    assert before is not None
    leases = conversions.Leases(renew_s=0.1)
    leases.hold("e1" * 32)
    deadline = time.monotonic() + 10
    while _row(row).conversion_heartbeat_at == before and time.monotonic() < deadline:
        time.sleep(0.05)
    renewed = _row(row).conversion_heartbeat_at
    assert renewed is not None and renewed > before
    leases.release("e1" * 32)
    time.sleep(0.5)  # the thread notices nothing is held and exits
    assert leases._thread is None
    settled = _row(row).conversion_heartbeat_at
    time.sleep(0.3)
    assert _row(row).conversion_heartbeat_at == settled


HOLDER = """
import sys, time
from aerie_app.db import session_scope
from aerie_app.services import conversions
with session_scope() as session:
    assert conversions.claim(session, sys.argv[1])
leases = conversions.Leases(renew_s=0.2)
leases.hold(sys.argv[1])
print("claimed", flush=True)
time.sleep(600)
"""


def test_a_killed_process_s_job_comes_back_within_the_lease(
    aerie_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real process claims a job and renews it; SIGKILL it: the stamps stop, and the job is
    queued again once the lease lapses (shortened here), not after the conversion timeout."""
    row = _file(ConversionStatus.QUEUED.value, started_ago_s=None, sha256="f1" * 32)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "f1" * 32],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "claimed"
        first = _row(row).conversion_heartbeat_at
        deadline = time.monotonic() + 10
        while _row(row).conversion_heartbeat_at == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _row(row).conversion_heartbeat_at != first, "a live holder renews its lease"
        monkeypatch.setattr(conversions, "LEASE_S", 1.0)
        with session_scope() as session:
            assert conversions.recover(session) == 0  # alive: not stolen
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    assert _status(row) == ConversionStatus.RUNNING.value
    time.sleep(1.5)
    with session_scope() as session:
        assert conversions.recover(session) == 1
    assert _status(row) == ConversionStatus.QUEUED.value
