"""Races: of 32 simultaneous claims on one part exactly one wins; the rest get 409 (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aerie_app.db import session_scope
from aerie_app.errors import Conflict
from aerie_app.services import parts
from aerie_app.workflow import Action

pytestmark = pytest.mark.api


def test_32_concurrent_claims_one_winner(aerie_env: Path) -> None:
    with session_scope() as session:
        part = parts.create_part(
            session, data={"material": "Al", "subsystem": "x", "type": "hand"}, actor="t"
        )
        assert part.id is not None
        parts.perform(session, part.id, Action.APPROVE, actor="t")
        pid = part.id

    barrier = threading.Barrier(32)
    outcomes: list[str] = []
    lock = threading.Lock()

    def claim(i: int) -> None:
        barrier.wait()
        with session_scope() as session:
            try:
                parts.perform(session, pid, Action.ASSIGN, actor=f"m{i}", name=f"maker{i}")
                result = "won"
            except Conflict:
                result = "conflict"
            except Exception as exc:  # anything else is a bug the assertion below reports
                result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(set(outcomes)) == ["conflict", "won"], outcomes
    assert outcomes.count("won") == 1
    with session_scope() as session:
        final = parts.get_part(session, pid)
        assert final.assigned is not None and final.assigned.startswith("maker")
        assert final.version == 3
        claims = [e for e in parts.list_events(session, pid) if e.kind == "assign"]
        assert len(claims) == 1


def test_concurrent_edits_never_lose_an_update(aerie_env: Path) -> None:
    """Version-checked writers: each edit either lands or gets 409, and the count adds up."""
    with session_scope() as session:
        part = parts.create_part(session, data={"material": "Al", "subsystem": "x"}, actor="t")
        pid = part.id
        assert pid is not None
    landed: list[int] = []
    lock = threading.Lock()

    def edit(i: int) -> None:
        with session_scope() as session:
            current = parts.get_part(session, pid)
            try:
                parts.update_part(
                    session,
                    pid,
                    data={"notes": f"n{i}"},
                    actor="t",
                    expected_version=current.version,
                )
                with lock:
                    landed.append(i)
            except Conflict:
                pass

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    with session_scope() as session:
        final = parts.get_part(session, pid)
        assert final.version == 1 + len(landed)
        assert len(landed) >= 1
