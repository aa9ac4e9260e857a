"""Where a single-part write runs: on the event loop when it can take SQLite's write lock at
once, otherwise (another writer holds it, or the database is PostgreSQL) in a worker thread.

A write on SQLite is a few statements on a local file, well under a millisecond of work; handing
it to a thread and back cost more than the write itself on a 2-core box (docs/benchmarks.md,
issue 11). But a write that must *wait* for the lock (a conversion storing its result, another
worker) must never wait on the loop: :func:`aerie_app.db.loop_write_session` never waits, and
such a write is simply run in a thread, where it waits as before. PostgreSQL writes are network
round trips and always run in a thread.

Every guarantee is the service's, whichever path runs it: the same key and scope checks (done
before), the same version-checked UPDATE, timeline rows and one commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from aerie_app.db import WriteLockBusy, get_engine, is_sqlite, loop_write_session

T = TypeVar("T")


async def run_write(work: Callable[[Session], T], *, on_loop: bool = True) -> T:
    """``work(session)``: one unit of work that starts with ``begin_write`` and commits once.

    ``on_loop=False`` for work that commits more than once or touches more than the database:
    after a first commit it could no longer be retried elsewhere."""
    if on_loop and is_sqlite():
        try:
            with loop_write_session() as session:
                return work(session)
        except WriteLockBusy:
            pass  # nothing was done: run it where waiting is allowed
    return await run_in_threadpool(_in_thread, work)


def _in_thread(work: Callable[[Session], T]) -> T:
    with Session(get_engine(), expire_on_commit=False) as session:
        return work(session)
