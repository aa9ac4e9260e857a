"""Throttles for key guessing, shared by the REST API and the UI's sign-in form.

Counts live in memory, per server process: with several workers a client gets at most
``limit`` tries per worker per window, which still turns guessing into a crawl.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class SlidingWindow:
    """Counts events per client in a time window (in memory, per worker process)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, client: str, now: float) -> deque[float]:
        events = self._events[client]
        while events and now - events[0] > self.window_s:
            events.popleft()
        if not events:
            self._events.pop(client, None)
            events = self._events[client]
        return events

    def count(self, client: str) -> tuple[int, float]:
        """How many events are in the window, and seconds until the oldest leaves it."""
        now = time.monotonic()
        with self._lock:
            events = self._trim(client, now)
            retry = self.window_s - (now - events[0]) if events else 0.0
            return len(events), max(retry, 0.1)

    def add(self, client: str) -> None:
        with self._lock:
            self._events[client].append(time.monotonic())

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


failed_auth = SlidingWindow(60.0)
auth_checks = SlidingWindow(2.0)
