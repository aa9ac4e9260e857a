"""Where a single-part request's time goes, layer by layer, without the network.

    .venv/bin/python bench/hotpath.py                      # 10k parts, SQLite, every op
    .venv/bin/python bench/hotpath.py --only get,update --profile update

Seeds N parts (bench/api.py's seed) into a fresh SQLite database (or --database-url), then times
each single-part operation three ways, in this process, on one thread:

- ``service``: the core call alone (``parts.get_part`` + rendering for a read, ``update_part`` /
  ``perform`` with its commit for a write), one session per call as the API opens one;
- ``asgi``: the same request through the FastAPI app (every middleware, dependency, key check
  and JSON rendering) called as ASGI, with no server, socket or HTTP parsing;
- the difference is what the framework layers cost; what ``bench/api.py`` measures over HTTP on
  top of ``asgi`` is the server, the event loop wake-ups, the thread hops and the client.

``--profile OP`` prints the cProfile of OP through the ASGI path (cumulative, top 35 lines).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "bench-admin-key-0123456789"


async def timed_async(fn: Callable[[int], Awaitable[Any]], runs: int) -> float:
    """As :func:`timed`, inside one running event loop (as a server runs: its worker threads stay)."""
    for n in range(20):
        await fn(n)
    samples = []
    for n in range(runs):
        t0 = time.perf_counter()
        await fn(1000 + n)
        samples.append(time.perf_counter() - t0)
    return round(statistics.median(samples) * 1000, 3)


def timed(fn: Callable[[int], Any], runs: int) -> float:
    for n in range(20):  # warm-up
        fn(n)
    samples = []
    for n in range(runs):
        t0 = time.perf_counter()
        fn(1000 + n)
        samples.append(time.perf_counter() - t0)
    return round(statistics.median(samples) * 1000, 3)


def asgi_caller(app: Any) -> Callable[[str, str, bytes], Awaitable[int]]:
    """One request through ``app`` as a server would hand it over, minus the socket."""

    async def call(method: str, path: str, body: bytes = b"") -> int:
        headers = [(b"host", b"bench"), (b"x-api-key", KEY.encode())]
        if body:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        if status >= 400 and status != 409:
            raise RuntimeError(f"{method} {path}: {status}")
        return status

    return call


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--only", default="", help="comma-separated operation names")
    parser.add_argument("--profile", default="", help="an operation to profile through ASGI")
    parser.add_argument(
        "--profile-service",
        default="",
        help="an operation to profile as the service call alone (what runs in the request's thread)",
    )
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="aerie-hotpath-"))
    os.environ["AERIE_DATA_DIR"] = str(data)
    os.environ["AERIE_API_KEY"] = KEY
    os.environ["AERIE_AUTH_FAIL_LIMIT"] = "100000"
    if args.database_url:
        os.environ["AERIE_DATABASE_URL"] = args.database_url

    from aerie_app.api.app import create_api
    from aerie_app.db import session_scope
    from aerie_app.schemas import part_public
    from aerie_app.services import keys, parts
    from aerie_app.settings import get_settings
    from aerie_app.workflow import Action
    from bench.api import seed

    url = get_settings().resolved_database_url
    seed(url, args.size)
    with session_scope() as s:
        keys.bootstrap_admin(s, configured=KEY)

    size = args.size
    pick = lambda n: (n * 7919) % size + 1  # noqa: E731

    def service_get(n: int) -> None:
        with session_scope() as s:
            orjson.dumps(part_public(parts.get_part(s, pick(n))))

    def service_update(n: int) -> None:
        with session_scope() as s:
            part = parts.update_part(s, pick(n), data={"notes": f"bench {n}"}, actor="bench")
            orjson.dumps(part_public(part))

    def service_action(action: Action, **kw: Any) -> Callable[[int], None]:
        def run(n: int) -> None:
            with session_scope() as s:
                try:
                    part = parts.perform(s, pick(n), action, actor="bench", **kw)
                    orjson.dumps(part_public(part))
                except Exception as exc:  # a 409: the part is not in a state for this action
                    if getattr(exc, "status_code", 0) != 409:
                        raise

        return run

    api = create_api()
    call = asgi_caller(api)
    loop = asyncio.new_event_loop()

    def through_asgi(
        method: str, path: Callable[[int], str], body: bytes = b""
    ) -> Callable[[int], Awaitable[int]]:
        return lambda n: call(method, path(n), body)

    ops: dict[str, tuple[Callable[[int], None], Callable[[int], Awaitable[int]]]] = {
        "get": (service_get, through_asgi("GET", lambda n: f"/api/parts/{pick(n)}")),
        "update": (
            service_update,
            through_asgi("PUT", lambda n: f"/api/parts/{pick(n)}", b'{"notes": "bench asgi"}'),
        ),
        "approve": (
            service_action(Action.APPROVE, reviewer="bench"),
            through_asgi("POST", lambda n: f"/api/parts/{pick(n)}/approve", b'{"reviewer": "b"}'),
        ),
        "assign": (
            service_action(Action.ASSIGN, name="bench"),
            through_asgi("POST", lambda n: f"/api/parts/{pick(n)}/assign", b'{"assigned": "b"}'),
        ),
        "complete": (
            service_action(Action.COMPLETE),
            through_asgi("POST", lambda n: f"/api/parts/{pick(n)}/complete", b"{}"),
        ),
    }
    only = [o.strip() for o in args.only.split(",") if o.strip()] or list(ops)
    print(f"{size} parts, {args.runs} runs per cell, p50 ms, one thread, {url.split(':')[0]}")
    print("| op | service | asgi | framework (asgi − service) |\n|---|---:|---:|---:|")
    for name in only:
        service, asgi = ops[name]
        s_ms = timed(service, args.runs)
        a_ms = loop.run_until_complete(timed_async(asgi, args.runs))
        print(f"| {name} | {s_ms:.3f} | {a_ms:.3f} | {a_ms - s_ms:.3f} |", flush=True)
    if args.profile:
        _, asgi = ops[args.profile]
        prof = cProfile.Profile()

        async def profiled() -> None:
            prof.enable()
            for n in range(args.runs):
                await asgi(5000 + n)
            prof.disable()

        loop.run_until_complete(profiled())
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(35)
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    if args.profile_service:
        # cProfile sees one thread: the ASGI profile above shows the loop's side only, this one
        # what the request's worker thread does (the service, its session and its statements).
        service, _ = ops[args.profile_service]
        prof = cProfile.Profile()
        prof.enable()
        for n in range(args.runs):
            service(7000 + n)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
    loop.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
