"""Live updates: a page state that mixes this in refreshes itself whenever any part changes.

Changes are pushed, not polled: a write anywhere (this worker, another worker, the REST API, a
conversion, another host) makes the process's live feed (services/livefeed.py) read the change
marker once and wake every page waiting on it. A page that waits reads nothing; a slow safety
re-check in the feed covers a lost notice.
"""

from __future__ import annotations

import asyncio
import time

import reflex as rx

from aerie_app.services.livefeed import feed

MAX_WATCH_S = 8 * 3600
# How often a waiting page looks up whether its browser tab is still connected (no database).
TAB_CHECK_S = 30.0


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

    @classmethod
    def _live_unchanged(cls, token: str, marker: tuple[int, int, str]) -> bool:
        """Whether the change leaves this tab's page as it is (then no refresh, no frame).
        Decided without the page's state; False (refresh) unless a page knows better."""
        return False

    @classmethod
    def _live_done(cls, token: str) -> None:
        """The tab left this worker: forget what was kept for it."""

    def _live_refresh(self, marker: tuple[int, int, str]) -> None:
        """After a change: ``marker`` is what the live feed just read. A page whose data is
        keyed by the marker (the board) overrides this to skip reading it again."""
        self._refresh()

    @rx.event(background=True)
    async def watch(self):  # type: ignore[no-untyped-def]
        async with self:
            self._watch_id += 1
            my_id = self._watch_id
            token = self.router.session.client_token
        seen = await feed.current()
        async with self:
            self._marker = seen
        started = time.monotonic()
        while time.monotonic() - started < MAX_WATCH_S:
            marker = await feed.wait(seen, TAB_CHECK_S)
            if not client_connected(token):
                self._live_done(token)
                return
            if marker == seen:
                continue
            seen = marker
            # Off the event loop: deciding may read the database (once per view and change).
            if await asyncio.to_thread(self._live_unchanged, token, marker):
                continue  # nothing on this page changed: no state round trip, no frame
            async with self:
                if self._watch_id != my_id:
                    return  # a newer watch of this page took over
                if marker != self._marker:
                    self._marker = marker
                    self._live_refresh(marker)
                    self._live_count += 1
                    self.live_note = f"Parts updated ({self._live_count})"
