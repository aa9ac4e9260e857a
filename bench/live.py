"""How fast a REST change shows on many open boards, and what open boards cost while idle.

    .venv/bin/python bench/live.py                                  # 50 tabs, 3 workers, PG + Redis
    .venv/bin/python bench/live.py --tabs 50 --workers 1 --sqlite   # the embedded default
    .venv/bin/python bench/live.py --socket                         # boards without renderers

Starts Aerie in production mode (``python -m aerie_app serve``) — by default on a fresh
PostgreSQL database with Redis and 3 backend workers, as "Running for a whole team" sets it up —
opens ``--tabs`` board tabs in one headless Chromium (Debian's), each on its own websocket, which
the server spreads over its workers, then:

- **idle**: counts the database's committed transactions (PostgreSQL's ``pg_stat_database``)
  over ``--idle`` seconds with no tab open and again with every tab open. The difference is what
  the open tabs cost the database while nothing changes.
- **changes**: ``--changes`` times, creates a part through the REST API and records, in each tab,
  when its row appears (a MutationObserver; ``Date.now()`` in the page against ``time.time()``
  here, one clock). Reports p50/p95/max over every (change, tab) pair and per worker.

With ``--socket`` the boards are websocket sessions speaking the page's protocol (bench/boards.py:
the connect packet a real Chromium board sends, replayed with a token per session) instead of
Chromium tabs: the server holds each exactly as it holds a tab, and the figure is the time until
the change's frame reaches every board, without 50 renderers competing with the server for this
machine's two cores. The browser mode measures what rendering adds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.conftest import PG_ADMIN_URL, create_pg_database, drop_pg_database  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
KEY = "bench-live-admin-key-0123456789"
WAIT_MS = 120_000

# Installed before the page's scripts: the time each tab's websocket receives the frame that
# carries the change (before React renders it).
FRAME_HOOK = """
(() => {
  const Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (window.__want && window.__frame === null && typeof e.data === 'string'
            && e.data.includes(window.__want)) window.__frame = Date.now();
      });
    }
  };
})();
"""

WATCH_JS = """
(name) => {
  window.__seen = null;
  window.__frame = null;
  window.__want = name;
  const table = document.querySelector('#parts-table');
  const found = () => [...document.querySelectorAll('#parts-table .part-row')]
    .some(r => r.textContent.includes(name));
  if (found()) { window.__seen = Date.now(); return; }
  const obs = new MutationObserver(() => {
    if (window.__seen === null && found()) { window.__seen = Date.now(); obs.disconnect(); }
  });
  obs.observe(table || document.body, {childList: true, subtree: true, characterData: true});
}
"""


def log(msg: str) -> None:
    print(f"[live {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class Aerie:
    def __init__(self, data: Path, env_extra: dict[str, str]) -> None:
        self.port = free_port()
        env = dict(os.environ) | {
            "AERIE_DATA_DIR": str(data),
            "AERIE_API_KEY": KEY,
            "PORT": str(self.port),
            "AERIE_AUTH_FAIL_LIMIT": "1000",
        }
        env.pop("AERIE_DATABASE_URL", None)
        env |= env_extra
        self.log = data / "server.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aerie_app", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"Aerie exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.base + "/", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise SystemExit("Aerie did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def commits(admin: sa.Engine, name: str) -> int:
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        value = conn.execute(
            sa.text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :n"),
            {"n": name},
        ).scalar_one()
    return int(value)


def idle_transactions(admin: sa.Engine | None, name: str, seconds: float) -> float | None:
    """Transactions per minute on the database while nothing is asked of Aerie."""
    if admin is None:
        return None
    time.sleep(1.5)  # PostgreSQL publishes backend counters at most every second
    before = commits(admin, name)
    time.sleep(seconds)
    time.sleep(1.5)
    return (commits(admin, name) - before) * 60.0 / seconds


def browser_boards(
    base: str, client: httpx.Client, args: argparse.Namespace, admin: sa.Engine | None, name: str
) -> dict[str, Any]:
    """Board tabs in Chromium: when each receives the change's frame and when its row shows."""
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(FRAME_HOOK)
        first = context.new_page()
        first.goto(base + "/", timeout=WAIT_MS)
        first.locator("#access-key").fill(KEY, timeout=WAIT_MS)
        first.locator("#sign-in").click()
        first.locator("#parts-table .part-row").first.wait_for(timeout=WAIT_MS)
        pages = [first]
        for n in range(args.tabs - 1):
            page = context.new_page()
            page.goto(base + "/", timeout=WAIT_MS)
            page.locator("#parts-table .part-row").first.wait_for(timeout=WAIT_MS)
            pages.append(page)
            if n % 10 == 9:
                log(f"{n + 2} tabs open")
        workers = [
            p.locator("#worker").get_attribute("data-worker", timeout=WAIT_MS) or "?" for p in pages
        ]
        spread = {w: workers.count(w) for w in sorted(set(workers))}
        result["tabs_per_worker"] = spread
        log(f"tabs per worker: {spread}")
        time.sleep(3)
        result["idle_tx_per_min_tabs_open"] = idle_transactions(admin, name, args.idle)
        latencies: list[float] = []
        by_worker: dict[str, list[float]] = {w: [] for w in spread}
        missed = 0
        frame_ms: list[float] = []
        for i in range(args.changes):
            label = f"Live {i} {uuid.uuid4().hex[:6]}"
            for page in pages:
                page.evaluate(WATCH_JS, label)
            t0 = time.time() * 1000
            response = client.post(
                "/api/parts/", json={"name": label, "material": "Al", "subsystem": "x"}
            )
            assert response.status_code == 201, response.text
            deadline = time.monotonic() + 10
            seen: list[float | None] = [None] * len(pages)
            while time.monotonic() < deadline and any(s is None for s in seen):
                for k, page in enumerate(pages):
                    if seen[k] is None:
                        seen[k] = page.evaluate("window.__seen")
                time.sleep(0.05)
            frames = [page.evaluate("window.__frame") for page in pages]
            frame_ms.extend(f - t0 for f in frames if f)
            for k, value in enumerate(seen):
                if value is None:
                    missed += 1
                    continue
                latencies.append(value - t0)
                by_worker[workers[k]].append(value - t0)
            time.sleep(0.5)
        browser.close()
    result["missed"] = missed
    result["ms"] = summary(latencies)
    result["frame_ms"] = summary(frame_ms)
    result["ms_by_worker"] = {
        w: {"p50": round(statistics.median(v), 1), "p95": round(pct(v, 0.95), 1)}
        for w, v in by_worker.items()
        if v
    }
    return result


def socket_boards(
    base: str, client: httpx.Client, args: argparse.Namespace, admin: sa.Engine | None, name: str
) -> dict[str, Any]:
    """Boards as websocket sessions (bench/boards.py): when each receives the change's frame."""
    from boards import Boards, capture_connect

    connect = capture_connect(base, KEY)
    result: dict[str, Any] = {}

    async def run() -> None:
        boards = Boards(base, connect)
        await boards.open(args.tabs)
        spread = {w: boards.workers.count(w) for w in sorted(set(boards.workers))}
        result["tabs_per_worker"] = spread
        log(f"boards per worker: {spread}")
        await asyncio.sleep(3)
        result["idle_tx_per_min_tabs_open"] = await asyncio.to_thread(
            idle_transactions, admin, name, args.idle
        )
        frame_ms: list[float] = []
        by_worker: dict[str, list[float]] = {w: [] for w in spread}
        missed = 0
        async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": KEY}) as api:
            for i in range(args.changes):
                label = f"Live {i} {uuid.uuid4().hex[:6]}"
                boards.expect(label)
                t0 = time.time()
                response = await api.post(
                    "/api/parts/", json={"name": label, "material": "Al", "subsystem": "x"}
                )
                assert response.status_code == 201, response.text
                arrived, not_arrived = await boards.arrivals(10)
                missed += not_arrived
                for k, when in arrived.items():
                    frame_ms.append((when - t0) * 1000)
                    by_worker[boards.workers[k]].append((when - t0) * 1000)
                await asyncio.sleep(0.5)
        await boards.close()
        result["missed"] = missed
        result["frame_ms"] = summary(frame_ms)
        result["ms_by_worker"] = {
            w: {"p50": round(statistics.median(v), 1), "p95": round(pct(v, 0.95), 1)}
            for w, v in by_worker.items()
            if v
        }

    asyncio.run(run())
    return result


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(pct(values, 0.95), 1),
        "max": round(max(values), 1),
        "n": len(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tabs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds per idle count")
    parser.add_argument("--sqlite", action="store_true", help="the embedded default, no Redis")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--socket", action="store_true", help="boards as websocket sessions, not Chromium tabs"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aerie-live-"))
    env: dict[str, str] = {"AERIE_WORKERS": str(args.workers)}
    admin: sa.Engine | None = None
    name = ""
    if not args.sqlite:
        name, env["AERIE_DATABASE_URL"] = create_pg_database("aerie_live")
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    if args.workers > 1 or not args.sqlite:
        env["REDIS_URL"] = args.redis_url
    log(f"starting Aerie: {args.workers} worker(s), {'SQLite' if args.sqlite else 'PostgreSQL'}")
    server = Aerie(tmp, env)
    result: dict[str, Any] = {"tabs": args.tabs, "workers": args.workers, "sqlite": args.sqlite}
    try:
        client = httpx.Client(base_url=server.base, headers={"X-API-Key": KEY}, timeout=30)
        for i in range(30):  # something on the board
            client.post(
                "/api/parts/", json={"name": f"Seed {i}", "material": "Al", "subsystem": "x"}
            )
        time.sleep(4)  # let start-up work (conversion recovery, warm-up) settle
        result["idle_tx_per_min_no_tabs"] = idle_transactions(admin, name, args.idle)
        boards = socket_boards if args.socket else browser_boards
        result |= boards(server.base, client, args, admin, name)
        result["changes"] = args.changes
    finally:
        server.stop()
        if admin is not None:
            admin.dispose()
            drop_pg_database(name)
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        kind = "websocket boards" if args.socket else "Chromium tabs"
        print(
            f"{args.tabs} {kind} over {args.workers} worker(s) "
            f"({'SQLite' if args.sqlite else 'PostgreSQL + Redis'}), {args.changes} REST changes:"
        )
        if "ms" in result:
            ms = result["ms"]
            print(
                f"  change → row shown in every tab: p50 {ms['p50']} ms, p95 {ms['p95']} ms, "
                f"max {ms['max']} ms over {ms['n']} (tab, change) pairs"
            )
        fr = result["frame_ms"]
        print(
            f"  change → its websocket frame received on the board: p50 {fr['p50']} ms, "
            f"p95 {fr['p95']} ms, max {fr['max']} ms over {fr['n']}; missed {result['missed']}"
        )
        for w, v in result["ms_by_worker"].items():
            print(
                f"  worker {w} ({result['tabs_per_worker'][w]} tabs): p50 {v['p50']}, p95 {v['p95']} ms"
            )
        if result["idle_tx_per_min_no_tabs"] is not None:
            print(
                "  idle database transactions per minute: "
                f"{result['idle_tx_per_min_no_tabs']:.1f} with no tab open, "
                f"{result['idle_tx_per_min_tabs_open']:.1f} with {args.tabs} tabs open"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
