"""Where a write runs (api/writes.py): on the event loop when SQLite's write lock is free, in a
worker thread when another writer holds it. Either way the write lands once, with its timeline,
and a write waiting for the lock never stops the loop from answering reads."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest

from aerie_app.api import writes
from tests.api.conftest import Api

pytestmark = pytest.mark.api


def _count_thread_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    runs: list[int] = []
    real = writes._in_thread

    def counted(work: Any) -> Any:
        runs.append(1)
        return real(work)

    monkeypatch.setattr(writes, "_in_thread", counted)
    return runs


def test_writes_run_on_the_loop_when_the_lock_is_free(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _count_thread_runs(monkeypatch)
    part = api.create()
    pid = part["id"]
    assert api.put(f"/api/parts/{pid}", json={"notes": "on the loop"}).status_code == 200
    assert api.post(f"/api/parts/{pid}/approve", json={"reviewer": "R"}).status_code == 200
    assert api.post(f"/api/parts/{pid}/assign", json={"assigned": "Ada"}).status_code == 200
    assert api.delete(f"/api/parts/{api.create()['id']}").status_code == 200
    # SQLite: none of them needed a thread. PostgreSQL: every one ran in a thread.
    expected = 0 if database_url.startswith("sqlite") else 6  # two creates, four changes
    assert len(runs) == expected
    events = api.get(f"/api/parts/{pid}/events").json()["events"]
    assert [e["kind"] for e in events][:3] == ["assign", "approve", "edit"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_write_behind_another_writer_waits_in_a_thread_while_reads_go_on(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _count_thread_runs(monkeypatch)
    part = api.create(notes="before")
    pid = part["id"]

    # Another writer (a conversion storing its result, another worker) holds the write lock.
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    result: dict[str, Any] = {}

    def edit() -> None:
        result["response"] = api.put(f"/api/parts/{pid}", json={"notes": "after"})

    writer = threading.Thread(target=edit)
    writer.start()
    try:
        time.sleep(0.4)
        assert writer.is_alive(), "the edit should be waiting for the lock"
        # The loop is free: reads are answered while the edit waits in its thread.
        started = time.perf_counter()
        read = api.get(f"/api/parts/{pid}")
        assert read.status_code == 200 and read.json()["notes"] == "before"
        assert time.perf_counter() - started < 2
    finally:
        other.execute("COMMIT")
        other.close()
    writer.join(timeout=30)
    assert not writer.is_alive()
    response = result["response"]
    assert response.status_code == 200, response.text
    assert response.json()["notes"] == "after"
    assert response.json()["version"] == part["version"] + 1
    assert len(runs) == 1  # it went to a thread, once, and was not also done on the loop
    edits = [e for e in api.get(f"/api/parts/{pid}/events").json()["events"] if e["kind"] == "edit"]
    assert [(e["field"], e["old"], e["new"]) for e in edits] == [("notes", "before", "after")]


def test_an_edit_that_also_moves_the_part_runs_in_a_thread(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edit + status change commit twice: that write is never started on the loop, where a
    busy lock between its two commits could not be retried."""
    runs = _count_thread_runs(monkeypatch)
    pid = api.create(type="hand")["id"]
    api.post(f"/api/parts/{pid}/approve", json={"reviewer": "R"})
    before = len(runs)
    response = api.put(f"/api/parts/{pid}", json={"notes": "moved", "status": "In Progress"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "In Progress" and response.json()["notes"] == "moved"
    assert len(runs) == before + 1


def test_a_read_renders_the_part_exactly_as_the_write_and_the_list_do(api: Api) -> None:
    """GET one part renders a plain row; writes render the ORM object; lists use cached
    fragments: all three must be the same JSON, field for field."""
    pid = api.create(notes="ÜNÏCØDÉ", amount=3, materialThickness="0.25 in")["id"]
    api.post(f"/api/parts/{pid}/approve", json={"reviewer": "R", "miscInfo": {"bin": "A3"}})
    written = api.post(f"/api/parts/{pid}/assign", json={"assigned": "Ada"})
    assert written.status_code == 200
    read = api.get(f"/api/parts/{pid}")
    assert read.json() == written.json()
    assert read.headers["etag"] == written.headers["etag"] == f'W/"{written.json()["version"]}"'
    listed = [p for p in api.get("/api/parts/").json()["parts"] if p["id"] == pid]
    assert listed == [read.json()]
    assert api.get("/api/parts/999999").json() == {
        "error": "Part not found",
        "details": {"id": 999999},
    }
