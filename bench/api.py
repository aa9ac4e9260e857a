"""REST API benchmark: seeds N parts, starts Aerie in production mode, measures latency and throughput.

    .venv/bin/python bench/api.py                       # 1k, 10k and 100k parts
    .venv/bin/python bench/api.py --sizes 10000 --requests 200 --json

Each size gets a fresh data folder and SQLite database (or --database-url for PostgreSQL; the
database is wiped first). Parts are seeded in bulk through the same models and search folding
the app uses. Every operation is timed over HTTP on loopback against `python -m aerie_app serve`,
with 1 client and with 8 concurrent clients; the report gives p50/p95 in ms and requests/s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "bench-admin-key-0123456789"
SUBSYSTEMS = ["Drivetrain", "Intake", "Shooter", "Elevator", "Climber", "Turret", "Electrical"]
MATERIALS = ["6061 Aluminum", "Polycarbonate", "Steel", "HDPE", "Delrin", "Carbon Fiber", "PLA"]
WORDS = ["plate", "bracket", "gusset", "spacer", "shaft", "cover", "mount", "tube", "hub", "arm"]
PEOPLE = ["Ada", "Grace", "Linus", "Ken", "Barbara", "Edsger", "Margaret", "Donald"]


def seed(url: str, count: int) -> None:
    """Bulk-insert `count` parts spread over every stage, with timeline rows like real use."""
    import sqlalchemy as sa

    from aerie_app.db import make_engine, migrate
    from aerie_app.models import Part, PartEvent, utcnow
    from aerie_app.services.search import search_text_for

    migrate(url)
    engine = make_engine(url)
    rng = random.Random(42)
    now = utcnow()
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for table in ("part_event", "part_worker", "part_file", "part"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    stages = [
        ("review", "Pending", None),
        ("cnc", "Reviewed", None),
        ("cnc", "In Progress", "x"),
        ("hand", "In Progress", "x"),
        ("misc", "Reviewed", None),
        ("completed", "Completed", "x"),
    ]

    def flush() -> None:
        with engine.begin() as conn:
            result = conn.execute(sa.insert(Part).returning(Part.id), batch)
            ids = [r[0] for r in result]
            conn.execute(
                sa.insert(PartEvent),
                [{"part_id": i, "kind": "created", "actor": "bench", "at": now} for i in ids],
            )
        batch.clear()

    for i in range(count):
        category, status, who = rng.choice(stages)
        kind = (
            category if category in ("cnc", "hand", "misc") else rng.choice(["cnc", "hand", "misc"])
        )
        part = Part(
            type=kind,
            material=rng.choice(MATERIALS),
            material_thickness=rng.choice(["0.125 in", "0.25 in", "3 mm", None]),
            part_id=f"P-{i:06d}",
            name=f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {i}",
            subsystem=rng.choice(SUBSYSTEMS),
            assigned=rng.choice(PEOPLE) if who else None,
            status=status,
            category=category,
            amount=rng.randint(1, 6),
            notes=rng.choice(["", "deburr edges", "tap 10-32", "countersink", "ÜNÏCØDÉ note"]),
            claimed_date=now if who else None,
            completed_at=now if category == "completed" else None,
            misc_info={"reviewer": rng.choice(PEOPLE)} if category != "review" else None,
            created_at=now,
            updated_at=now,
        )
        part.search_text = search_text_for(part)
        row = part.model_dump(exclude={"id"})
        batch.append(row)
        if len(batch) >= 2000:
            flush()
    if batch:
        flush()
    engine.dispose()


class Server:
    def __init__(self, data: Path, url: str | None) -> None:
        with tempfile.NamedTemporaryFile() as _:
            pass
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ) | {
            "AERIE_DATA_DIR": str(data),
            "AERIE_API_KEY": KEY,
            "PORT": str(self.port),
            "AERIE_AUTH_FAIL_LIMIT": "1000",
        }
        if url:
            env["AERIE_DATABASE_URL"] = url
        self.log = (data / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aerie_app", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(1)
        raise SystemExit("server did not start")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


def measure(
    fn: Callable[[httpx.Client, int], None], *, requests: int, clients: int, base: str
) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    per_client = max(1, requests // clients)

    def worker(cid: int) -> None:
        try:
            work(cid)
        except BaseException as exc:  # reported once every client has stopped
            errors.append(exc)

    def work(cid: int) -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=120) as client:
            fn(client, cid * 100_000)  # warm-up
            mine = []
            for n in range(per_client):
                t0 = time.perf_counter()
                timed = fn(client, cid * 100_000 + n)
                # An operation may time only its second half (e.g. a read after a write).
                mine.append(timed if isinstance(timed, float) else time.perf_counter() - t0)
            with lock:
                latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    latencies.sort()
    return {
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
        "rps": round(len(latencies) / wall, 1),
        "n": len(latencies),
    }


def ok(response: httpx.Response) -> None:
    if response.status_code >= 400 and response.status_code != 409:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:200]}"
        )


def done(response: httpx.Response) -> None:
    """A write that must have happened: anything but 2xx stops the run."""
    if not 200 <= response.status_code < 300:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:200]}"
        )


def after_change(
    path: str, params: dict[str, Any] | None = None, ids: list[int] | None = None
) -> Callable[[httpx.Client, int], float]:
    """Time a read right after a write, so caches keyed on the change marker cannot answer."""

    def run(c: httpx.Client, n: int) -> float:
        pid = ids[n % 500] if ids else n % 500 + 1
        ok(c.put(f"/api/parts/{pid}", json={"notes": f"cold {n} {time.time()}"}))
        t0 = time.perf_counter()
        ok(c.get(path, params=params))
        return time.perf_counter() - t0

    return run


def stage_ids(url: str) -> dict[str, list[int]]:
    """Seeded part ids by stage, so each action is timed on parts it applies to (a real write,
    not a quick 409): approve takes parts in Review, assign unclaimed queue parts, and so on."""
    import sqlalchemy as sa

    from aerie_app.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, category, status FROM part ORDER BY id")).all()
    engine.dispose()
    stages: dict[str, list[int]] = {}
    for pid, category, status in rows:
        stages.setdefault(f"{category}/{status}", []).append(pid)
    rng = random.Random(11)
    for ids in stages.values():
        rng.shuffle(ids)
    return stages


class Pool:
    """Hands each id out once, across client threads; a dry pool is an error, not a quiet 409."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = iter(ids)
        self.lock = threading.Lock()

    def take(self) -> int:
        with self.lock:
            try:
                return next(self.ids)
            except StopIteration:
                raise RuntimeError("pool of parts for this operation ran dry") from None


def operations(
    count: int, full: bool, stages: dict[str, list[int]], need: int
) -> dict[str, Callable[[httpx.Client, int], Any]]:
    """name -> request function. Single-part writes must succeed (2xx): see :func:`stage_ids`;
    an action whose stage holds fewer than ``need`` parts is left out (and said so)."""
    rng = random.Random(7)
    serial = itertools.count(1)
    # Reads and edits pick any part but those the delete operation may remove.
    deleted = set(stages.get("misc/Reviewed", []))
    ids = [i for i in range(1, count + 1) if i not in deleted]

    def pick(n: int) -> int:
        return ids[(n * 7919 + rng.randrange(count)) % len(ids)]

    def action(
        path: str, stage: str, body: dict[str, Any] | None = None
    ) -> Callable[[httpx.Client, int], None]:
        pool = Pool(stages.get(stage, []))
        if len(stages.get(stage, [])) < need:
            print(
                f"{count:>7} {path}: only {len(stages.get(stage, []))} parts in {stage}, "
                f"{need} needed: left out",
                file=sys.stderr,
            )
            return None  # type: ignore[return-value]

        def run(c: httpx.Client, n: int) -> None:
            done(c.post(f"/api/parts/{pool.take()}/{path}", json=body or {}))

        return run

    deletable = Pool(stages.get("misc/Reviewed", []))
    new_part = {
        "partId": "BENCH",
        "name": "Bench plate",
        "type": "cnc",
        "material": "6061 Aluminum",
        "subsystem": "Drivetrain",
    }
    ops: dict[str, Callable[[httpx.Client, int], Any] | None] = {
        "page of 50": lambda c, n: ok(
            c.get("/api/parts/", params={"limit": 50, "offset": (n * 50) % max(count - 50, 1)})
        ),
        "category page": lambda c, n: ok(c.get("/api/parts/categories/cnc", params={"limit": 50})),
        "search": lambda c, n: ok(
            c.get(
                "/api/parts/",
                params={"search": rng.choice(WORDS) + f" {n % 900 + 100}", "limit": 50},
            )
        ),
        "search short": lambda c, n: ok(c.get("/api/parts/", params={"search": "hu", "limit": 50})),
        # The floor under every route: no key, one `SELECT 1`.
        "health": lambda c, n: ok(c.get("/api/health")),
        "get": lambda c, n: ok(c.get(f"/api/parts/{pick(n)}")),
        "create": lambda c, n: done(
            c.post("/api/parts/", json=new_part | {"partId": f"B-{next(serial)}"})
        ),
        "update": lambda c, n: done(c.put(f"/api/parts/{pick(n)}", json={"notes": f"bench {n}"})),
        "approve": action("approve", "review/Pending", {"reviewer": "bench"}),
        "assign": action("assign", "cnc/Reviewed", {"assigned": "bench"}),
        "unclaim": action("unclaim", "cnc/In Progress"),
        "complete": action("complete", "hand/In Progress"),
        "revert": action("revert", "completed/Completed"),
        "delete": (
            (lambda c, n: done(c.delete(f"/api/parts/{deletable.take()}")))
            if len(stages.get("misc/Reviewed", [])) >= need
            else None
        ),
        "stats": lambda c, n: ok(c.get("/api/parts/stats")),
        "stats/detailed": lambda c, n: ok(c.get("/api/parts/stats/detailed")),
        "leaderboard": lambda c, n: ok(c.get("/api/parts/leaderboard")),
        "page of 50 (cold)": after_change("/api/parts/", {"limit": 50}, ids),
        "stats (cold)": after_change("/api/parts/stats", None, ids),
        "stats/detailed (cold)": after_change("/api/parts/stats/detailed", None, ids),
        "leaderboard (cold)": after_change("/api/parts/leaderboard", None, ids),
    }
    if full:
        ops["full list"] = lambda c, n: ok(c.get("/api/parts/"))
        ops["full list (cold)"] = after_change("/api/parts/", None, ids)
    return {name: fn for name, fn in ops.items() if fn is not None}


# Issue 11's reference: the old Aerie (Flask + SQLAlchemy on waitress), 10,000 parts, one client,
# p50 ms; and its get-one throughput under 8 clients. Targets are half its latency, twice its rate.
OLD_APP_MS = {
    "get": 1.80,
    "update": 4.45,
    "assign": 3.98,
    "approve": 3.96,
    "complete": 4.24,
    "revert": 4.24,
    "unclaim": 4.24,
    "delete": 3.60,
    "create": 3.54,
}
OLD_APP_GET_RPS_8 = 525.0
TARGET_MS = {"get": 0.9} | {op: 2.2 for op in OLD_APP_MS if op != "get"}
TARGET_GET_RPS_8 = 1050.0


def comparison(results: dict[str, Any], round_index: int = 0) -> list[str]:
    """The single-part ops against the old app's figures and issue 11's targets."""
    lines = [
        "| parts | op | p50 ms (1) | old app ms | ratio | target ms | met | req/s (8) |",
        "|---:|---|---:|---:|---:|---:|:-:|---:|",
    ]
    for size, result in results.items():
        for name, by in result["rounds"][round_index].items():
            if name not in OLD_APP_MS:
                continue
            p50, rps = by["1"]["p50_ms"], by["8"]["rps"]
            met = p50 <= TARGET_MS[name] and (name != "get" or rps >= TARGET_GET_RPS_8)
            lines.append(
                f"| {int(size):,} | {name} | {p50} | {OLD_APP_MS[name]} | "
                f"{p50 / OLD_APP_MS[name]:.2f} | {TARGET_MS[name]} | {'yes' if met else 'no'} | {rps} |"
            )
    lines.append(
        f"(old app: get under 8 clients {OLD_APP_GET_RPS_8:.0f} req/s; target {TARGET_GET_RPS_8:.0f})"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument(
        "--requests", type=int, default=200, help="requests per operation and client count"
    )
    parser.add_argument(
        "--full-list-max",
        type=int,
        default=10000,
        help="largest size at which the full list is timed",
    )
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL (wiped!) instead of SQLite"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated operation names to run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the operations this many times against one server (drift check)",
    )
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        data = Path(tempfile.mkdtemp(prefix=f"aerie-bench-{size}-"))
        url = args.database_url or f"sqlite:///{data / 'aerie.db'}"
        t0 = time.perf_counter()
        seed(url, size)
        seeded = time.perf_counter() - t0
        server = Server(data, args.database_url)
        try:
            wanted = {o.strip() for o in args.only.split(",") if o.strip()}
            # Every round draws from the same pools: size them for all rounds up front.
            need = args.rounds * (2 * args.requests + 16)  # 1 client, then 8, with warm-ups
            ops = operations(size, size <= args.full_list_max, stage_ids(url), need)
            rounds: list[dict[str, Any]] = []
            for round_no in range(1, args.rounds + 1):
                rows: dict[str, Any] = {}
                for name, fn in ops.items():
                    if wanted and name not in wanted:
                        continue
                    requests = (
                        args.requests if "full list" not in name else max(10, args.requests // 10)
                    )
                    rows[name] = {
                        str(clients): measure(
                            fn, requests=requests, clients=clients, base=server.base
                        )
                        for clients in (1, 8)
                    }
                    print(
                        f"{size:>7} #{round_no} {name:<15} 1: {rows[name]['1']}  8: {rows[name]['8']}",
                        file=sys.stderr,
                    )
                rounds.append(rows)
                wal = data / "aerie.db-wal"
                if wal.exists():  # drift check: does the WAL keep growing between rounds?
                    print(
                        f"{size:>7} #{round_no} WAL {wal.stat().st_size / 1e6:.1f} MB",
                        file=sys.stderr,
                    )
            results[str(size)] = {"seed_s": round(seeded, 1), "ops": rounds[0], "rounds": rounds}
        finally:
            server.stop()
            shutil.rmtree(data, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for round_no in range(1, args.rounds + 1):
        if args.rounds > 1:
            print(f"Round {round_no} of {args.rounds}, same server:\n")
        print("\n".join(comparison(results, round_no - 1)) + "\n")
    print(
        "| parts | operation | p50 ms (1) | p95 ms (1) | req/s (1) | p50 ms (8) | p95 ms (8) | req/s (8) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for size, result in results.items():
        for name, by in result["ops"].items():
            one, eight = by["1"], by["8"]
            print(
                f"| {int(size):,} | {name} | {one['p50_ms']} | {one['p95_ms']} | {one['rps']} | {eight['p50_ms']} | {eight['p95_ms']} | {eight['rps']} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
