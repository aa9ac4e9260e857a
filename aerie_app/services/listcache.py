"""A small cache of rendered part lists, keyed by the database's change marker.

Old clients poll the full list; rendering 10k parts costs ~0.2 s, serving the same bytes again
costs ~1 ms. An entry is only reused while :func:`partquery.change_marker` is unchanged, and the
marker lives in the database, so a write through any worker or the UI invalidates every cache.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

MAX_ENTRIES = 16
MAX_BYTES = 128 * 1024 * 1024


class ListCache:
    def __init__(self) -> None:
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(marker: tuple[int, int, str], params: str) -> str:
        return hashlib.sha256(f"{marker}|{params}".encode()).hexdigest()[:32]

    def get_or_render(self, key: str, render: Callable[[], bytes]) -> bytes:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
        body = render()
        if len(body) <= MAX_BYTES // 4:
            with self._lock:
                if key not in self._entries:
                    self._entries[key] = body
                    self._size += len(body)
                while self._entries and (
                    len(self._entries) > MAX_ENTRIES or self._size > MAX_BYTES
                ):
                    _, old = self._entries.popitem(last=False)
                    self._size -= len(old)
        return body

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0
        values.clear()


cache = ListCache()


class ValueCache:
    """Like :class:`ListCache` for small Python values (tab counts, filter choices)."""

    def __init__(self, size: int = 256) -> None:
        self._entries: OrderedDict[tuple[object, ...], object] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self._computing: dict[tuple[object, ...], threading.Event] = {}

    def get(self, key: tuple[object, ...], compute: Callable[[], T]) -> T:
        """The cached value, or ``compute()``'s. Callers asking for the same missing key at
        once share one computation (fifty open boards waking after a change run one query)."""
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key]  # type: ignore[return-value]
                running = self._computing.get(key)
                if running is None:
                    mine = self._computing[key] = threading.Event()
                    break
            running.wait(30)  # then look again: stored, or it failed and one of us computes
        try:
            value = compute()
            with self._lock:
                self._entries[key] = value
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._computing.pop(key, None)
            mine.set()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


values = ValueCache()
