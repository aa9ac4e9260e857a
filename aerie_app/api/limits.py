"""Request size limits: bodies over the limit get a 413 the client can actually read.

A server that answers early and closes while the client is still sending makes the client's kernel
see a reset: most clients then report "connection reset" and never show the 413. So after
answering, the rest of the body is read and thrown away (bounded in bytes and time), the client
finishes sending and reads the answer, and only then is the connection closed.
"""

from __future__ import annotations

import asyncio
import time

import orjson
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aerie_app.errors import TooLarge
from aerie_app.settings import get_settings

DRAIN_SECONDS = 60.0  # a phone on slow Wi-Fi sends 100 MiB in well under a minute
EXTRA_UPLOAD_BYTES = 64 * 1024  # multipart framing around the file itself


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` once the body passes the limit.

    An HTTPException so that FastAPI's body and form readers let it through to the handler,
    which renders it with :func:`too_large`.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, "Payload too large")
        self.limit = limit


def too_large(limit: int) -> TooLarge:
    return TooLarge("Payload too large", {"limitBytes": limit})


def body_limit(path: str) -> int:
    """Bytes a request to ``path`` may carry: uploads get the upload limit, the rest the JSON one."""
    settings = get_settings()
    path = path.rstrip("/")
    if path.endswith(("/upload", "/views")) or path.startswith("/_upload"):
        return settings.max_upload_bytes + EXTRA_UPLOAD_BYTES
    return settings.max_request_kb * 1024


def drain_budget() -> int:
    """Most bytes read and discarded after a refusal; a client sending more sees a reset."""
    return 2 * get_settings().max_upload_bytes + 1024 * 1024


class BodyLimit:
    """Refuses request bodies over the limit with 413, whether or not Content-Length is sent.

    Whenever the answer goes out before the client has sent its whole body (a 413, or any other
    early answer such as 401 or 404 on an upload), the rest is drained so the client reads it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(("/api", "/_upload")):
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if declared is not None and declared > limit:
            await _reject(send, limit)
            await _drain(receive, declared)
            return
        received = 0
        finished = not chunked and not declared  # no body at all: nothing to wait for
        started = False

        async def limited_receive() -> Message:
            nonlocal received, finished
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    finished = True
                if received > limit:
                    raise BodyTooLarge(limit)
            elif message["type"] == "http.disconnect":
                finished = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(send, limit)
        if not finished:
            remaining = None if declared is None else max(declared - received, 0)
            await _drain(receive, remaining)


async def _reject(send: Send, limit: int) -> None:
    body = orjson.dumps(too_large(limit).to_dict())
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive, expected: int | None) -> None:
    """Read and discard the rest of the body: until its end, ``expected`` bytes, the byte budget
    or the time limit, whichever comes first."""
    budget = drain_budget()
    if expected is not None and expected > budget:
        return  # far too large to wait for: the client gets the reset it asked for
    deadline = time.monotonic() + DRAIN_SECONDS
    read = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while read <= budget and time.monotonic() < deadline:
                message = await receive()
                if message["type"] != "http.request":
                    return
                read += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
    except (TimeoutError, OSError, RuntimeError):
        return  # the server or client gave up first; nothing more to do
