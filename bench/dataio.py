"""Benchmark of the shop floor's data paths (issue 13), in process on a fresh SQLite database.

    .venv/bin/python bench/dataio.py                    # 2,000 parts
    .venv/bin/python bench/dataio.py --parts 5000 --url postgresql+psycopg://...

Measures, through the FastAPI app (TestClient: no network, the server's own code):
- ``GET /api/parts/labels.pdf``: 30 labels (one Avery 5160 sheet), 300, and the 2,000 maximum;
  the bytes of each PDF;
- ``POST /api/parts/import``: the board's own CSV export of every part, dry run (all unchanged)
  and applied with one field changed in every row (one transaction); a 2,000-row CSV of new parts
  applied;
- webhooks: 500 part edits turned into deliveries (one dispatcher step) and sent to a loopback
  receiver that answers 204 (events per second, send included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KEY = "bench-admin-key-0123456789"


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Median wall time in ms of ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


class Sink(BaseHTTPRequestHandler):
    count = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        Sink.count += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=2000)
    parser.add_argument("--url", default=None, help="an empty database (default: SQLite)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="aerie-bench-dataio-"))
    os.environ["AERIE_DATA_DIR"] = str(folder)
    os.environ["AERIE_API_KEY"] = KEY
    if args.url:
        os.environ["AERIE_DATABASE_URL"] = args.url

    from fastapi.testclient import TestClient

    from aerie_app.api.app import create_api
    from aerie_app.db import migrate, session_scope
    from aerie_app.services import keys, webhooks

    migrate()
    with session_scope() as session:
        keys.bootstrap_admin(session, configured=KEY)
    headers = {"X-API-Key": KEY}
    client = TestClient(create_api())
    header = "partId,name,subsystem,material,thickness,amount\r\n"
    rows = "".join(
        f"B-{i:05d},Bench part {i},Intake,6061 Aluminum,1/4 in,{1 + i % 4}\r\n"
        for i in range(args.parts)
    )
    ms, response = timed(
        lambda: client.post(
            "/api/parts/import",
            params={"apply": "true"},
            files={"file": ("parts.csv", (header + rows).encode())},
            headers=headers,
        ),
        repeat=1,
    )
    assert response.status_code == 200, response.text
    print(f"import {args.parts} new parts (CSV, applied): {ms:.0f} ms")

    ids = [p["id"] for p in client.get("/api/parts/", headers=headers).json()["parts"]]
    for n in (30, 300, min(2000, len(ids))):
        picked = ",".join(str(i) for i in ids[:n])
        if len(picked) > 4000:
            params = {"subsystem": "Intake", "limit": n}
        else:
            params = {"ids": picked}
        ms, pdf = timed(
            lambda p=params: client.get("/api/parts/labels.pdf", params=p, headers=headers)
        )
        assert pdf.status_code == 200, pdf.text
        print(f"labels.pdf {n} labels: {ms:.0f} ms median of 3, {len(pdf.content) / 1024:.0f} KB")

    exported = client.get("/api/parts/export.csv", headers=headers).content
    ms, dry = timed(
        lambda: client.post(
            "/api/parts/import", files={"file": ("e.csv", exported)}, headers=headers
        )
    )
    assert dry.json()["summary"]["unchanged"] == args.parts, dry.json()["summary"]
    print(f"import the export back ({args.parts} rows, dry run, all unchanged): {ms:.0f} ms")
    edited = exported.replace(b",Intake,", b",Intake B,")
    ms, done = timed(
        lambda: client.post(
            "/api/parts/import",
            params={"apply": "true"},
            files={"file": ("e.csv", edited)},
            headers=headers,
        ),
        repeat=1,
    )
    assert done.json()["summary"]["update"] == args.parts, done.json()["summary"]
    print(f"import {args.parts} changed rows (applied, one transaction): {ms:.0f} ms")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    made = client.post(
        "/api/webhooks", json={"url": url, "events": ["part.changed"]}, headers=headers
    )
    assert made.status_code == 201, made.text
    events = min(500, len(ids))
    for pid in ids[:events]:
        client.put(f"/api/parts/{pid}", json={"notes": "bench"}, headers=headers)
    start = time.perf_counter()
    with session_scope() as session:
        queued = webhooks.enqueue_new(session)
    enqueue_ms = (time.perf_counter() - start) * 1000
    sent = 0
    while sent < queued:
        sent += webhooks.deliver_due(limit=100)
    total_s = time.perf_counter() - start
    server.shutdown()
    print(
        f"webhooks: {queued} edits → deliveries in {enqueue_ms:.0f} ms; all sent in "
        f"{total_s:.2f} s ({queued / total_s:.0f} events/s, receiver got {Sink.count})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
