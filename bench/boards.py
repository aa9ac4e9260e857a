"""Open boards without a browser: many board sessions on Aerie's websocket, for the benchmarks.

A board tab is a Socket.IO connection on ``/_event`` whose connect packet carries the page's
hydrate event (its cookies and the frontend's state hashes). :func:`capture_connect` opens one
real board in Debian's Chromium, signs in and records exactly what the browser sends; then
:class:`Boards` opens as many sessions as asked with that packet, each with a token of its own, so
the server holds each as it holds a tab (its own state, its own live-update watch) while the
client side costs a JSON parse instead of a renderer. What a session measures is the time until
the frame carrying a change reaches it — the server's part of "a change shows on a board"; the
browser's rendering after that is measured by bench/live.py's browser mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
import uuid
from collections.abc import Callable
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
NAMESPACE = "/_event"
CONNECT_PREFIX = "40" + NAMESPACE + ","
WAIT_MS = 120_000


def capture_connect(base: str, key: str) -> dict[str, Any]:
    """The connect packet's payload a signed-in board tab sends (Chromium, headless)."""
    from playwright.sync_api import sync_playwright

    sent: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context()
            first = context.new_page()
            first.goto(base + "/", timeout=WAIT_MS)
            first.locator("#access-key").fill(key, timeout=WAIT_MS)
            first.locator("#sign-in").click()
            first.locator("#parts-table").wait_for(timeout=WAIT_MS)
            board = context.new_page()
            board.on(
                "websocket",
                lambda ws: ws.on(
                    "framesent",
                    lambda frame: sent.append(frame) if isinstance(frame, str) else None,
                ),
            )
            board.goto(base + "/", timeout=WAIT_MS)
            board.locator("#parts-table").wait_for(timeout=WAIT_MS)
        finally:
            browser.close()
    for frame in sent:
        if frame.startswith(CONNECT_PREFIX):
            payload: dict[str, Any] = json.loads(frame[len(CONNECT_PREFIX) :])
            return payload
    raise RuntimeError("the board tab sent no connect packet")


def _board_delta(update: dict[str, Any]) -> dict[str, Any] | None:
    for name, values in (update.get("delta") or {}).items():
        if name.endswith("board_state"):
            return values  # type: ignore[no-any-return]
    return None


class Boards:
    """``n`` open board sessions; :meth:`expect` then :meth:`arrivals` time one change."""

    def __init__(self, base: str, connect: dict[str, Any]) -> None:
        self.base = base
        self.connect = connect
        self.clients: list[Any] = []
        self.workers: list[str] = []  # the server worker holding each session
        self._want: str | None = None
        self._arrived: dict[int, float] = {}
        self._changed = asyncio.Event()
        self.frames = 0

    def _handler(self, index: int) -> Callable[[dict[str, Any]], Any]:
        async def on_event(update: dict[str, Any]) -> None:
            self.frames += 1
            board = _board_delta(update)
            if board is None:
                return
            worker = board.get("worker_rx_state_")
            if worker is not None and self.workers[index] == "?":
                self.workers[index] = str(worker)
            want = self._want
            if want is None or index in self._arrived:
                return
            rows = board.get("rows_rx_state_") or []
            if any(row.get("name") == want for row in rows):
                self._arrived[index] = time.time()
                if len(self._arrived) == len(self.clients):
                    self._changed.set()

        return on_event

    async def open(self, n: int, *, pause_s: float = 0.02) -> None:
        import socketio

        for _ in range(n):
            index = len(self.clients)
            client = socketio.AsyncClient(reconnection=False)
            self.workers.append("?")
            client.on("event", self._handler(index), namespace=NAMESPACE)
            await client.connect(
                f"{self.base}/?token={uuid.uuid4()}",
                socketio_path="_event",
                transports=["websocket"],
                namespaces=[NAMESPACE],
                auth=self.connect,
                wait_timeout=30,
            )
            self.clients.append(client)
            await asyncio.sleep(pause_s)
        deadline = time.monotonic() + 30
        while "?" in self.workers and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    def expect(self, name: str) -> None:
        """Start timing: the next frames whose board rows hold a part called ``name``."""
        self._arrived = {}
        self._changed.clear()
        self._want = name

    async def arrivals(self, timeout: float = 10.0) -> dict[int, float]:
        """When each session received the change (``time.time()``); missing ones timed out."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass
        self._want = None
        return dict(self._arrived)

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):  # the server may be gone already
                await client.disconnect()
        self.clients = []
