"""The floor under Aerie's single-part calls on this machine: the same server (Granian), the same
client (bench/api.py's httpx loop) and the same seeded SQLite database, with no Aerie in between.

    .venv/bin/python bench/floor.py                 # 10k parts, 300 requests per op
    .venv/bin/python bench/floor.py --size 10000 --requests 300

Three apps, each served alone by ``granian --interface asgi`` on loopback:

- ``bare``: a plain ASGI callable with ``sqlite3`` (no framework, no ORM);
- ``fastapi``: the smallest FastAPI app doing the same, async routes (no thread hop);
- and, for each, the ops: ``constant`` (answers a fixed JSON), ``get`` (one part row by id,
  rendered with orjson), ``update`` (what an edit must do at least: ``BEGIN IMMEDIATE``, the
  version-checked ``UPDATE`` of notes and search text, which also updates the search index,
  the timeline ``INSERT``, ``COMMIT``).

What is left between these and Aerie's figures (bench/api.py) is Aerie's own cost; what these
cost is the stack's and the machine's, which no change to Aerie can remove.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "bench-admin-key-0123456789"  # bench/api.py's: its measure() sends it

APP = textwrap.dedent(
    """
    import json, os, sqlite3, threading
    from datetime import datetime, timezone
    import orjson

    DB = os.environ["FLOOR_DB"]
    _local = threading.local()

    def conn():
        c = getattr(_local, "c", None)
        if c is None:
            c = sqlite3.connect(DB, isolation_level=None, check_same_thread=False)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA busy_timeout=30000")
            c.row_factory = sqlite3.Row
            _local.c = c
        return c

    def get_one(pid):
        row = conn().execute("SELECT * FROM part WHERE id = ?", (pid,)).fetchone()
        return orjson.dumps({k: row[k] for k in row.keys() if k != "search_text"})

    def update_one(pid, notes):
        c = conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            version, text = c.execute(
                "SELECT version, search_text FROM part WHERE id = ?", (pid,)
            ).fetchone()
            now = datetime.now(timezone.utc).isoformat()
            c.execute(
                "UPDATE part SET notes = ?, search_text = ?, version = ?, updated_at = ? "
                "WHERE id = ? AND version = ?",
                (notes, (text or "") + " " + notes, version + 1, now, pid, version),
            )
            c.execute(
                "INSERT INTO part_event (part_id, at, actor, kind, field, new) "
                "VALUES (?, ?, 'floor', 'edit', 'notes', ?)",
                (pid, now, notes),
            )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return get_one(pid)

    async def bare(scope, receive, send):
        if scope["type"] != "http":
            return
        path = scope["path"]
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if path == "/api/health":
            out = b'{"ok":true}'
        elif scope["method"] == "GET":
            out = get_one(int(path.rsplit("/", 1)[1]))
        else:
            out = update_one(int(path.rsplit("/", 1)[1]), json.loads(body)["notes"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": out})

    from fastapi import Body, FastAPI
    from fastapi.responses import Response

    fastapi_app = FastAPI()

    @fastapi_app.get("/api/health")
    async def constant():
        return Response(b'{"ok":true}', media_type="application/json")

    @fastapi_app.get("/api/parts/{pid}")
    async def fa_get(pid: int):
        return Response(get_one(pid), media_type="application/json")

    @fastapi_app.put("/api/parts/{pid}")
    async def fa_put(pid: int, body: dict = Body()):
        return Response(update_one(pid, body["notes"]), media_type="application/json")

    def aerie():
        # Aerie's own API (every middleware, key check, route and service), alone on Granian.
        from aerie_app.api.app import create_api

        return create_api()
    """
)


def serve(module_dir: Path, target: str, db: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    granian = Path(sys.executable).parent / "granian"
    factory = ["--factory"] if target == "aerie" else []
    env = dict(os.environ) | {
        "FLOOR_DB": str(db),
        "PYTHONPATH": str(ROOT),
        "AERIE_DATA_DIR": str(db.parent),
        "AERIE_API_KEY": KEY,
        "AERIE_AUTH_FAIL_LIMIT": "100000",
    }
    proc = subprocess.Popen(
        [str(granian), "--interface", "asgi", *factory, "--port", str(port), f"floorapp:{target}"],
        cwd=module_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit(f"granian ({target}) did not start")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--rounds", type=int, default=1, help="serve the apps this many times, alternating"
    )
    args = parser.parse_args()

    from bench.api import measure, seed

    work = Path(tempfile.mkdtemp(prefix="aerie-floor-"))
    db = work / "aerie.db"
    seed(f"sqlite:///{db}", args.size)
    os.environ["AERIE_DATA_DIR"] = str(work)
    from aerie_app.db import dispose_engines, session_scope
    from aerie_app.services import keys

    with session_scope() as session:  # Aerie's key, as `make run` creates it
        keys.bootstrap_admin(session, configured=KEY)
    dispose_engines()
    (work / "floorapp.py").write_text(APP)
    count = args.size
    ops = {
        # Aerie's /api/health (no key, one SELECT 1) is its nearest to a constant answer.
        "health": lambda c, n: c.get("/api/health").raise_for_status(),
        "get": lambda c, n: c.get(f"/api/parts/{(n * 7919) % count + 1}").raise_for_status(),
        "update": lambda c, n: c.put(
            f"/api/parts/{(n * 7919) % count + 1}", json={"notes": f"floor {n}"}
        ).raise_for_status(),
    }
    print(f"{count} parts, {args.requests} requests per cell, {args.rounds} round(s), alternating")
    print("| app | op | round | p50 ms (1) | p95 ms (1) | p50 ms (8) | req/s (8) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for round_no in range(1, args.rounds + 1):
        for target in ("bare", "fastapi_app", "aerie"):
            proc, base = serve(work, target, db)
            try:
                for name, fn in ops.items():
                    one = measure(fn, requests=args.requests, clients=1, base=base)
                    eight = measure(fn, requests=args.requests, clients=8, base=base)
                    print(
                        f"| {target.removesuffix('_app')} | {name} | {round_no} | {one['p50_ms']} "
                        f"| {one['p95_ms']} | {eight['p50_ms']} | {eight['rps']} |",
                        flush=True,
                    )
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
