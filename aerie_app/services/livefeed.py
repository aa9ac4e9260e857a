"""The live feed: one per server process, it wakes every open page when parts change.

Pages wait on :meth:`Feed.wait`; nothing about them touches the database while nothing changes.
A change notice (aerie_app/changes.py: this process's own commits at once, other processes'
through PostgreSQL ``LISTEN`` or Redis) makes the feed read the change marker **once**, however
many pages wait and however many notices arrived meanwhile, and hand the new marker to every
waiting page, which then refreshes itself.

One safety re-check every :data:`SAFETY_S` seconds, per process and only while pages wait, reads
the marker too: it covers a notice lost while a listener reconnected, or a writer on SQLite in
another process with no Redis between them (a command-line import). Framework-free: the Reflex
state that uses it is state/live.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from aerie_app import changes
from aerie_app.db import session_scope
from aerie_app.services import partquery

log = logging.getLogger("aerie.live")

Marker = tuple[int, int, str]
SAFETY_S = 30.0


def read_marker() -> Marker:
    with session_scope() as session:
        return partquery.change_marker(session)


class Feed:
    """Wakes waiting pages with the new change marker. Bound to the event loop that first waits
    on it (a server worker has one); notices may come from any thread."""

    def __init__(self, reader: Callable[[], Marker] = read_marker, safety_s: float = SAFETY_S):
        self._reader = reader
        self.safety_s = safety_s
        self.reads = 0  # marker reads done, for tests and the benchmark
        self._loop: asyncio.AbstractEventLoop | None = None
        self._marker: Marker | None = None
        self._waiters: set[asyncio.Future[Marker]] = set()
        self._running: asyncio.Future[None] | None = None
        self._again = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._listener: changes.Listener | None = None

    # --- wiring ---------------------------------------------------------------------------

    def start(self) -> None:
        """Receive this process's own notices and, where there is a channel, other processes'."""
        with self._lock:
            if self._unsubscribe is None:
                self._unsubscribe = changes.subscribe(self.notify)
                self._listener = changes.listen(self.notify)

    def stop(self) -> None:
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            if self._listener is not None:
                self._listener.stop()
                self._listener = None

    @property
    def listener(self) -> changes.Listener | None:
        return self._listener

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new loop (tests run several): waiters of the old one cannot be woken from here.
            self._loop, self._waiters, self._running, self._again = loop, set(), None, False
            self._spawn(self._safety())
        return loop

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- pages ------------------------------------------------------------------------------

    async def current(self) -> Marker:
        """The marker as the feed knows it (read once if it never has been)."""
        self._bind()
        if self._marker is None:
            await self._check()
        if self._marker is None:  # the read failed: let the page see why
            return await asyncio.to_thread(self._reader)
        return self._marker

    async def wait(self, seen: Marker, timeout: float) -> Marker:
        """Return the marker as soon as it differs from ``seen``, or after ``timeout`` seconds
        (then possibly still ``seen``). Reads nothing from the database itself."""
        loop = self._bind()
        if self._marker is not None and self._marker != seen:
            return self._marker
        waiter: asyncio.Future[Marker] = loop.create_future()
        self._waiters.add(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return self._marker if self._marker is not None else seen
        finally:
            self._waiters.discard(waiter)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    # --- notices ----------------------------------------------------------------------------

    def notify(self) -> None:
        """Something may have changed (any thread): re-read the marker soon, once."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # no page has waited yet: the first one reads the marker itself
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:
        if self._running is not None:
            self._again = True  # one more read after the running one: it may predate the change
            return
        self._spawn(self._check())

    async def _check(self) -> None:
        """Read the marker and wake the pages if it moved; callers during a read share it."""
        if self._running is not None:
            self._again = True
            await asyncio.shield(self._running)
            return
        running = self._running = asyncio.get_running_loop().create_future()
        try:
            while True:
                self._again = False
                try:
                    marker = await asyncio.to_thread(self._reader)
                except Exception:  # the database is away: keep pages as they are
                    log.exception("reading the change marker failed")
                    return
                self.reads += 1
                if marker != self._marker:
                    self._marker = marker
                    for waiter in list(self._waiters):
                        if not waiter.done():
                            waiter.set_result(marker)
                if not self._again:
                    return
        finally:
            self._running = None
            running.set_result(None)

    async def _safety(self) -> None:
        loop = self._loop
        while self._loop is loop:
            await asyncio.sleep(self.safety_s)
            if self._waiters:
                self._schedule()


feed = Feed()
