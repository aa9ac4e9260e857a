"""A build-season evening: the whole team on Aerie at once, on the set-up for a whole team.

    .venv/bin/python bench/load.py                           # 50 people, 5 minutes, 100 uploads
    .venv/bin/python bench/load.py --kill-worker-at 60       # the conversion worker SIGKILLed

Starts, on this machine: moto's S3 server (a real S3 endpoint on loopback), a fresh PostgreSQL
database, Aerie with ``--web-workers`` backend workers (default 3) on PostgreSQL + Redis + the
bucket with ``AERIE_CONVERSION_IN_WEB=false``, and one ``python -m aerie_app worker`` (a data
folder of its own, as on another host). Seeds ``--parts`` parts in every stage through the API.

Then ``--people`` simulated people (asyncio + httpx, each on its own keep-alive connection, with
a human's pause of 1-3 s between actions) do the board journey over the REST API for
``--duration`` seconds: search, switch tab (a category page), open a part (the part and its
timeline), claim one from the CNC queue, complete one they hold. In the first minute a CAD lead
uploads ``--uploads`` STEP files (``--distinct`` different ones, the rest repeats: identical
content must convert once) to parts of their own.

Reported: p50/p95 and count per action; errors (5xx, transport errors; target 0) apart from 409s
(two people claiming the same part: the API's answer, counted separately); the time from the first
upload until every upload's model is ready (watched during the run); and whether every distinct file was converted exactly
once (all revisions of one content carry the same conversion time, which one run writes).
``--kill-worker-at S`` SIGKILLs the conversion worker S seconds in and starts a new one 5 s later:
every job must still finish (a killed worker's jobs go back to the queue once their lease, renewed
every 5 s while they run, is 30 s old).

Each person also has the board open on the websocket (bench/boards.py: the page's own connect
packet, captured from one Chromium board, one session each, spread over the web workers): their
search and tab switch are also done on it as the page sends them (``board: search``, ``board: tab
switch``: until the frame with the new view arrives; then back to the Review tab), and every
``--probe-every`` seconds a part created over the REST API is timed until it reaches every board
showing the Review tab.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from boards import Boards, capture_connect  # noqa: E402

from tests.conftest import create_pg_database, drop_pg_database  # noqa: E402
from tests.s3_server import CREDENTIALS, make_bucket, s3_server  # noqa: E402

KEY = "bench-load-admin-key-0123456789"
REDIS = "redis://127.0.0.1:6379/0"
WORDS = ["plate", "gusset", "bracket", "spacer", "shaft", "arm", "rail", "mount", "hub", "tube"]


def log(msg: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def step_files(folder: Path, distinct: int) -> list[Path]:
    """``distinct`` small, different STEP parts (plates with a hole, sizes vary), made once."""
    import cadquery as cq

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(distinct):
        path = folder / f"plate_{i}.step"
        if not path.exists():
            shape = (
                cq.Workplane("XY")
                .box(40 + i, 30 + (i % 7), 3 + (i % 3))
                .faces(">Z")
                .workplane()
                .hole(4 + (i % 5))
            )
            cq.exporters.export(shape, str(path))
        paths.append(path)
    return paths


class Processes:
    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], logfile: Path) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=dict(os.environ) | env,
            stdout=logfile.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for process in self.running:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


class Recorder:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.conflicts: dict[str, int] = {}
        self.errors: list[str] = []

    async def call(
        self, name: str, client: httpx.AsyncClient, method: str, url: str, **kw: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.errors.append(f"{name}: {type(exc).__name__}")
            return None
        ms = (time.perf_counter() - started) * 1000
        if response.status_code >= 500 or response.status_code in (401, 403, 404, 422, 400):
            self.errors.append(f"{name}: {response.status_code} {response.text[:120]}")
            return None
        self.times.setdefault(name, []).append(ms)
        if response.status_code == 409:
            self.conflicts[name] = self.conflicts.get(name, 0) + 1
            return None
        return response.json() if response.content else None

    async def board(
        self, name: str, boards: Boards, index: int, handler: str, payload: dict[str, Any]
    ) -> None:
        """A person's action on their open board, over the websocket as the page sends it."""
        ms = await boards.act(index, handler, payload)
        if ms is None:
            self.errors.append(f"{name}: no answer on the websocket within 10 s")
            return
        self.times.setdefault(name, []).append(ms)


async def person(
    n: int,
    base: str,
    rec: Recorder,
    until: float,
    rng: random.Random,
    parts: int,
    boards: Boards | None,
) -> None:
    name = f"Student {n:02d}"
    held: list[int] = []
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": KEY}, timeout=60) as c:
        await asyncio.sleep(rng.random() * 3)
        while time.monotonic() < until:
            roll = rng.random()
            if roll < 0.25:
                word = rng.choice(WORDS)
                await rec.call(
                    "search", c, "GET", "/api/parts/", params={"search": word, "limit": 50}
                )
                if boards is not None and n < len(boards.clients):  # and on their board
                    await rec.board("board: search", boards, n, "set_search", {"value": word})
                    await asyncio.sleep(1 + rng.random())
                    await rec.board("board: search", boards, n, "set_search", {"value": ""})
            elif roll < 0.45:
                tab = rng.choice(["cnc", "hand", "misc", "completed"])
                await rec.call(
                    "tab switch", c, "GET", f"/api/parts/categories/{tab}", params={"limit": 50}
                )
                if boards is not None and n < len(boards.clients):
                    await rec.board("board: tab switch", boards, n, "set_tab", {"tab": tab})
                    await asyncio.sleep(1 + rng.random())
                    await rec.board("board: tab switch", boards, n, "set_tab", {"tab": "review"})
            elif roll < 0.70:
                pid = rng.randint(1, parts)
                await rec.call("open part", c, "GET", f"/api/parts/{pid}")
                await rec.call("open part (timeline)", c, "GET", f"/api/parts/{pid}/events")
            elif roll < 0.85 or not held:
                queue = await rec.call(
                    "claimable list",
                    c,
                    "GET",
                    "/api/parts/",
                    params={
                        "category": "cnc",
                        "status": "Reviewed",
                        "limit": 20,
                        "offset": rng.randrange(0, max(1, parts // 4)),
                        "sort_order": "asc",
                    },
                )
                free = [p["id"] for p in (queue or {}).get("parts", []) if not p.get("assigned")]
                if free:
                    pid = rng.choice(free)
                    got = await rec.call(
                        "claim", c, "POST", f"/api/parts/{pid}/assign", json={"assigned": name}
                    )
                    if got is not None:
                        held.append(pid)
            else:
                pid = held.pop(0)
                await rec.call("complete", c, "POST", f"/api/parts/{pid}/complete", json={})
            await asyncio.sleep(1 + 2 * rng.random())


async def cad_lead(
    base: str, rec: Recorder, files: list[Path], uploads: int, window: float, targets: list[int]
) -> list[tuple[int, str]]:
    """``uploads`` uploads spread over ``window`` seconds; returns (part id, sha256)."""
    done: list[tuple[int, str]] = []
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": KEY}, timeout=120) as c:
        for i in range(uploads):
            path = files[i % len(files)]
            pid = targets[i]
            body = await rec.call(
                "upload STEP",
                c,
                "POST",
                f"/api/parts/{pid}/upload",
                files={"file": (path.name, path.read_bytes())},
            )
            if body is not None:
                done.append((pid, body["file"]["sha256"]))
            await asyncio.sleep(window / uploads)
    return done


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--distinct", type=int, default=50)
    parser.add_argument("--parts", type=int, default=1000)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--kill-worker-at", type=float, default=None)
    parser.add_argument(
        "--boards", type=int, default=None, help="open boards on the websocket (default: people)"
    )
    parser.add_argument("--probe-every", type=float, default=3.0, help="seconds between probes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aerie-load-"))
    files = step_files(ROOT / "tests" / ".step-cache" / "load", args.distinct)
    name, db_url = create_pg_database("aerie_load")
    procs = Processes()
    result: dict[str, Any] = {
        "people": args.people,
        "duration_s": args.duration,
        "uploads": args.uploads,
        "distinct": args.distinct,
        "web_workers": args.web_workers,
        "kill_worker_at": args.kill_worker_at,
    }
    try:
        with s3_server() as s3:
            make_bucket(s3, "aerie-load")
            port = _free_port()
            common = {
                "AERIE_DATABASE_URL": db_url,
                "REDIS_URL": REDIS,
                "AERIE_API_KEY": KEY,
                "AERIE_S3_BUCKET": "aerie-load",
                "AERIE_S3_ENDPOINT_URL": s3,
                "AERIE_CONVERSION_IN_WEB": "false",
                "AERIE_CONVERSION_TIMEOUT_S": "30",
                "AERIE_AUTH_FAIL_LIMIT": "1000",
            } | CREDENTIALS
            web_env = common | {
                "AERIE_DATA_DIR": str(tmp / "web"),
                "AERIE_WORKERS": str(args.web_workers),
                "PORT": str(port),
            }
            worker_env = common | {"AERIE_DATA_DIR": str(tmp / "worker")}
            base = f"http://127.0.0.1:{port}"
            log(f"starting Aerie ({args.web_workers} web workers) and a conversion worker")
            procs.start(
                [sys.executable, "-m", "aerie_app", "serve", "--port", str(port)],
                web_env,
                tmp / "web.log",
            )
            _wait(base)
            worker = procs.start(
                [sys.executable, "-m", "aerie_app", "worker"], worker_env, tmp / "worker.log"
            )
            targets = _seed(base, args.parts, args.uploads)
            n_boards = args.people if args.boards is None else args.boards
            connect = capture_connect(base, KEY) if n_boards else {}
            log(f"{args.parts} parts seeded; {args.people} people for {args.duration:.0f} s")
            rec = Recorder()
            board_ms: list[float] = []
            board_missed = [0]
            boards_holder: list[Boards] = []
            started = time.monotonic()

            converted_at: list[float] = []

            async def lead_then_watch() -> list[tuple[int, str]]:
                uploaded = await cad_lead(base, rec, files, args.uploads, 60.0, targets)
                # Until every upload's model is ready (or failed), while the people go on.
                pending = {pid for pid, _ in uploaded}
                async with httpx.AsyncClient(
                    base_url=base, headers={"X-API-Key": KEY}, timeout=60
                ) as c:
                    while pending and time.monotonic() - started < 1800:
                        for pid in list(pending):
                            status = (await c.get(f"/api/parts/{pid}/conversion")).json()
                            if status["status"] in ("ready", "failed"):
                                pending.discard(pid)
                        if pending:
                            await asyncio.sleep(1)
                if not pending:
                    converted_at.append(time.monotonic() - started)
                return uploaded

            async def probe(boards: Boards, until: float) -> None:
                """Every few seconds a REST change; when it reaches each open board showing
                the Review tab (the others' people have switched tab or are searching)."""
                async with httpx.AsyncClient(
                    base_url=base, headers={"X-API-Key": KEY}, timeout=60
                ) as c:
                    i = 0
                    while time.monotonic() < until:
                        label = f"Probe {i}"
                        i += 1
                        boards.expect(label)
                        t0 = time.time()
                        response = await c.post(
                            "/api/parts/", json={"name": label, "material": "Al", "subsystem": "x"}
                        )
                        if response.status_code != 201:
                            rec.errors.append(f"probe: {response.status_code}")
                            continue
                        arrived, missed = await boards.arrivals(10)
                        board_ms.extend((t - t0) * 1000 for t in arrived.values())
                        board_missed[0] += missed
                        await asyncio.sleep(args.probe_every)

            async def evening() -> list[tuple[int, str]]:
                boards = None
                if n_boards:
                    boards = Boards(base, connect)
                    await boards.open(n_boards)
                    boards_holder.append(boards)
                    spread = {w: boards.workers.count(w) for w in sorted(set(boards.workers))}
                    result["boards_per_worker"] = spread
                    log(f"{n_boards} boards open on the websocket: {spread}")
                rng = random.Random(11)
                until = time.monotonic() + args.duration
                people = [
                    person(n, base, rec, until, random.Random(rng.random()), args.parts, boards)
                    for n in range(args.people)
                ]
                extra = [probe(boards, until)] if boards is not None else []
                outcome = await asyncio.gather(lead_then_watch(), *people, *extra)
                if boards is not None:
                    result["board_frames"] = boards.frames
                    await boards.close()
                return outcome[0]

            killer = None
            if args.kill_worker_at is not None:
                killer = _killer(procs, worker, worker_env, tmp, args.kill_worker_at)
            uploaded = asyncio.run(evening())
            if killer is not None:
                killer.join()
            converted_s = converted_at[0] if converted_at else None
            result |= _report(rec, uploaded, converted_s, base)
            if board_ms:
                result["change_to_boards_ms"] = {
                    "p50": round(statistics.median(board_ms), 1),
                    "p95": round(pct(board_ms, 0.95), 1),
                    "max": round(max(board_ms), 1),
                    "n": len(board_ms),
                    "missed": board_missed[0],
                }
    finally:
        procs.stop_all()
        drop_pg_database(name)
    _print(result, args.json)
    return 0 if not result.get("errors") else 1


def _free_port() -> int:
    from tests.s3_server import free_port

    return free_port()


def _wait(base: str) -> None:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit("Aerie did not start")


def _seed(base: str, parts: int, uploads: int) -> list[int]:
    """``parts`` parts for the journey (half approved into the CNC queue), and ``uploads`` more
    for the CAD lead. Returns the CAD lead's part ids."""
    with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=60) as c:
        for i in range(parts):
            body = {
                "name": f"{WORDS[i % len(WORDS)]} {i}",
                "material": "6061",
                "subsystem": "Drive",
                "type": "cnc",
            }
            pid = c.post("/api/parts/", json=body).json()["id"]
            if i % 2 == 0:
                c.post(f"/api/parts/{pid}/approve", json={"reviewer": "Lead"})
        return [
            c.post(
                "/api/parts/",
                json={"name": f"CAD {i}", "material": "6061", "subsystem": "Arm", "type": "cnc"},
            ).json()["id"]
            for i in range(uploads)
        ]


def _killer(
    procs: Processes, worker: subprocess.Popen[bytes], env: dict[str, str], tmp: Path, at: float
) -> Any:
    import threading

    def run() -> None:
        time.sleep(at)
        log(f"SIGKILL to the conversion worker {worker.pid}")
        os.killpg(worker.pid, signal.SIGKILL)
        time.sleep(5)
        fresh = procs.start([sys.executable, "-m", "aerie_app", "worker"], env, tmp / "worker.log")
        log(f"a new conversion worker {fresh.pid}")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _report(
    rec: Recorder, uploaded: list[tuple[int, str]], converted_s: float | None, base: str
) -> dict[str, Any]:
    actions = {
        name: {
            "n": len(ms),
            "p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(pct(ms, 0.95), 1),
            "conflicts_409": rec.conflicts.get(name, 0),
        }
        for name, ms in sorted(rec.times.items())
    }
    by_sha: dict[str, set[Any]] = {}
    statuses: dict[str, int] = {}
    with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=60) as c:
        for pid, sha in uploaded:
            conv = c.get(f"/api/parts/{pid}/conversion").json()
            statuses[conv["status"]] = statuses.get(conv["status"], 0) + 1
            by_sha.setdefault(sha, set()).add(conv["seconds"])
    return {
        "actions": actions,
        "errors": len(rec.errors),
        "error_samples": rec.errors[:5],
        "uploads_accepted": len(uploaded),
        "conversion_statuses": statuses,
        "all_converted_after_s": None if converted_s is None else round(converted_s, 1),
        "distinct_files": len(by_sha),
        "converted_once": all(len(seconds) == 1 for seconds in by_sha.values()),
    }


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['people']} people, {result['duration_s']:.0f} s, {result['web_workers']} web "
        f"workers + 1 conversion worker (PostgreSQL + Redis + S3)"
        + (
            f", worker SIGKILLed at {result['kill_worker_at']:.0f} s"
            if result["kill_worker_at"]
            else ""
        )
    )
    print("| action | n | p50 ms | p95 ms | 409 |")
    print("|---|---:|---:|---:|---:|")
    for name, row in result.get("actions", {}).items():
        print(
            f"| {name} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | {row['conflicts_409']} |"
        )
    print(f"errors: {result.get('errors')} {result.get('error_samples') or ''}")
    if "change_to_boards_ms" in result:
        b = result["change_to_boards_ms"]
        print(
            f"open boards (websocket, {result.get('boards_per_worker')} per worker): a REST change "
            f"reached every board on the Review tab in p50 {b['p50']} ms, p95 {b['p95']} ms, "
            f"max {b['max']} ms over {b['n']} (board, change) pairs; missed {b['missed']}; "
            f"{result.get('board_frames')} frames received in all"
        )
    print(
        f"uploads: {result.get('uploads_accepted')} accepted, {result.get('distinct_files')} distinct; "
        f"statuses {result.get('conversion_statuses')}; all converted "
        f"{result.get('all_converted_after_s')} s after the first upload; each file converted once: "
        f"{result.get('converted_once')}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
