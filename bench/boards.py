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
BOARD_STATE = "reflex___state____state.aerie_app___state___board____board_state"
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
    """``n`` open board sessions; :meth:`expect` then :meth:`arrivals` time one change on the
    boards showing the Review tab unfiltered; :meth:`act` does what a person does on a board
    (switch tab, search) over the websocket and times the answer."""

    def __init__(self, base: str, connect: dict[str, Any]) -> None:
        self.base = base
        self.connect = connect
        self.clients: list[Any] = []
        self.workers: list[str] = []  # the server worker holding each session
        self.views: list[tuple[str, str]] = []  # each board's (tab, search)
        self._want: str | None = None
        self._watching: set[int] = set()
        self._arrived: dict[int, float] = {}
        self._changed = asyncio.Event()
        # A board's pending act: its future and the (var, value) its answer carries.
        self._answers: dict[int, tuple[asyncio.Future[float], str, str]] = {}
        self.frames = 0

    def _handler(self, index: int) -> Callable[[dict[str, Any]], Any]:
        async def on_event(update: dict[str, Any]) -> None:
            self.frames += 1
            board = _board_delta(update)
            if board is None:
                return
            pending = self._answers.get(index)
            if pending is not None:
                answer, var, value = pending
                if board.get(var) == value and not answer.done():
                    answer.set_result(time.time())
            worker = board.get("worker_rx_state_")
            if worker is not None and self.workers[index] == "?":
                self.workers[index] = str(worker)
            want = self._want
            if want is None or index not in self._watching or index in self._arrived:
                return
            rows = board.get("rows_rx_state_") or []
            if any(row.get("name") == want for row in rows):
                self._arrived[index] = time.time()
                if len(self._arrived) == len(self._watching):
                    self._changed.set()

        return on_event

    async def open(self, n: int, *, pause_s: float = 0.02) -> None:
        import socketio

        for _ in range(n):
            index = len(self.clients)
            client = socketio.AsyncClient(reconnection=False)
            self.workers.append("?")
            self.views.append(("review", ""))
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
        """Start timing: the next frames whose board rows hold a new Review part ``name``, on
        every board showing the Review tab unfiltered now."""
        self._arrived = {}
        self._changed.clear()
        self._watching = {i for i, view in enumerate(self.views) if view == ("review", "")}
        self._want = name

    async def arrivals(self, timeout: float = 10.0) -> tuple[dict[int, float], int]:
        """When each watched board received the change (``time.time()``), and how many watched
        boards did not (a board whose person switched its view meanwhile is not counted)."""
        if self._watching:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                pass
        self._want = None
        still = {i for i in self._watching if self.views[i] == ("review", "")}
        arrived = {i: t for i, t in self._arrived.items() if i in still}
        return arrived, len(still) - len(arrived)

    async def act(self, index: int, handler: str, payload: dict[str, Any]) -> float | None:
        """Send a board event (``set_tab`` {"tab"}, ``set_search`` {"value"}) as the page does;
        the milliseconds until the frame showing the new tab or search arrives (None: none
        within 10 s)."""
        tab, search = self.views[index]
        if handler == "set_tab":
            var, value = "tab_rx_state_", str(payload["tab"])
            tab = value
        else:
            var, value = "search_rx_state_", str(payload["value"])
            search = value
        self.views[index] = (tab, search)
        answer: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._answers[index] = (answer, var, value)
        event = {
            "name": f"{BOARD_STATE}.{handler}",
            "payload": payload,
            "router_data": {"pathname": "/", "asPath": "/"},
        }
        sent = time.time()
        await self.clients[index].emit("event", event, namespace=NAMESPACE)
        try:
            return (await asyncio.wait_for(answer, 10) - sent) * 1000
        except TimeoutError:
            return None
        finally:
            self._answers.pop(index, None)

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):  # the server may be gone already
                await client.disconnect()
        self.clients = []
