"""Live updates: a page state that mixes this in refreshes itself whenever any part changes.

Changes are detected in the database (newest timeline event, part count), not in memory, so an
edit made through the REST API, by another browser, or on another server worker shows up too.
One cheap query is shared by every page of a worker (cached for a fraction of a second).
"""

from __future__ import annotations

import asyncio
import threading
import time

import reflex as rx

from aerie_app.db import session_scope
from aerie_app.services import partquery

POLL_S = 0.4
MAX_WATCH_S = 8 * 3600

_cache_lock = threading.Lock()
_cache: tuple[float, tuple[int, int, str]] = (0.0, (0, 0, ""))


def current_marker() -> tuple[int, int, str]:
    global _cache
    with _cache_lock:
        stamp, marker = _cache
        if time.monotonic() - stamp < POLL_S / 2:
            return marker
    with session_scope() as session:
        marker = partquery.change_marker(session)
    with _cache_lock:
        _cache = (time.monotonic(), marker)
    return marker


def client_connected(token: str) -> bool:
    """Whether this browser tab is still connected to this worker (stop watching when not)."""
    import sys

    module = sys.modules.get("aerie_app.aerie_app")
    app = getattr(module, "app", None)
    namespace = getattr(app, "event_namespace", None)
    if namespace is None:
        return True
    return token in namespace.token_to_sid


class LiveMixin(rx.State, mixin=True):
    """Adds ``watch``: start it on page load; it calls ``_refresh`` after every change."""

    _marker: tuple[int, int, str] = (0, 0, "")
    _watch_id: int = 0
    _live_count: int = 0
    # Read by screen readers from a polite live region (components.layout.live_region): the
    # page changed without anyone here doing anything. The counter makes each change a new text.
    live_note: str = ""

    def _refresh(self) -> None:  # pragma: no cover - every page overrides it
        raise NotImplementedError

    @rx.event(background=True)
    async def watch(self):  # type: ignore[no-untyped-def]
        async with self:
            self._watch_id += 1
            my_id = self._watch_id
            self._marker = await asyncio.to_thread(current_marker)
            token = self.router.session.client_token
        started = time.monotonic()
        while time.monotonic() - started < MAX_WATCH_S:
            await asyncio.sleep(POLL_S)
            if not client_connected(token):
                return
            marker = await asyncio.to_thread(current_marker)
            async with self:
                if self._watch_id != my_id:
                    return  # a newer watch of this page took over
                if marker != self._marker:
                    self._marker = marker
                    self._refresh()
                    self._live_count += 1
                    self.live_note = f"Parts updated ({self._live_count})"
