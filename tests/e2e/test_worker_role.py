"""Conversions out of the web server (issue 15): ``AERIE_CONVERSION_IN_WEB=false`` + ``python -m
aerie_app worker``, on PostgreSQL + Redis + an S3 bucket (moto's server on loopback) with two web
workers, as "Running for a whole team" says. The conversion worker has a data folder of its own,
as on another host: it reads uploads from the bucket and puts models there, and the web workers
serve them from it.

The web workers queue uploads and convert nothing; a worker process (started after the uploads,
as on another host) converts each file once, is woken by the database's notices rather than its
poll, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    ADMIN_KEY,
    REDIS_URL,
    ROOT,
    create_pg_database,
    drop_pg_database,
    require_services,
)
from tests.e2e.conftest import Server, start_server, stop_server
from tests.s3_server import CREDENTIALS, make_bucket, s3_server

pytestmark = [pytest.mark.e2e, pytest.mark.pg]


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    require_services(postgresql=True, redis=True)
    name, url = create_pg_database("aerie_wr")
    with s3_server() as s3:
        make_bucket(s3, "aerie-team")
        env = {
            "REDIS_URL": REDIS_URL,
            "AERIE_WORKERS": "2",
            "AERIE_DATABASE_URL": url,
            "AERIE_CONVERSION_IN_WEB": "false",
            "AERIE_S3_BUCKET": "aerie-team",
            "AERIE_S3_ENDPOINT_URL": s3,
        } | CREDENTIALS
        srv = start_server(tmp_path_factory.mktemp("aerie-wr"), env)
        # The conversion worker is "another host": a data folder of its own, files via the bucket.
        worker_data = tmp_path_factory.mktemp("aerie-wr-worker")
        yield srv, env | {"AERIE_DATA_DIR": str(worker_data), "AERIE_API_KEY": ADMIN_KEY}
        stop_server(srv.process)
    drop_pg_database(name)


def _status(server: Server, pid: int) -> dict[str, Any]:
    return dict(server.api("GET", f"/api/parts/{pid}/conversion").json())


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    full = dict(os.environ) | env
    return subprocess.Popen(
        [sys.executable, "-m", "aerie_app", "worker"],
        cwd=ROOT,
        env=full,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_listening(log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while "Aerie conversion worker" not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.2)


def test_web_workers_queue_and_a_worker_process_converts(
    team: tuple[Server, dict[str, str]], steps: Path, tmp_path: Path
) -> None:
    server, env = team
    data = (steps / "plate_with_holes.step").read_bytes()
    pids = [
        server.api(
            "POST", "/api/parts/", json={"name": f"Plate {i}", "material": "Al", "subsystem": "x"}
        ).json()["id"]
        for i in range(3)
    ]
    for pid in pids:
        r = server.api("POST", f"/api/parts/{pid}/upload", files={"file": ("plate.step", data)})
        assert r.status_code == 201, r.text
        assert r.json()["conversion"]["status"] == "queued"
    # Two poll intervals of the web workers' old conversion poller: nothing converts in the web.
    time.sleep(7)
    assert {_status(server, pid)["status"] for pid in pids} == {"queued"}

    log = tmp_path / "worker.log"
    worker = _start_worker(env, log)
    try:
        _wait_listening(log, worker)
        assert "notices by postgresql" in log.read_text()
        deadline = time.monotonic() + 180
        while {_status(server, pid)["status"] for pid in pids} != {"ready"}:
            assert worker.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, [_status(server, pid) for pid in pids]
            time.sleep(0.5)
        seconds = {_status(server, pid)["seconds"] for pid in pids}
        assert len(seconds) == 1, f"the same file was converted more than once: {seconds}"
        # Converted on the other "host", served here: through the bucket.
        assert not list(server.data.rglob("model.glb"))
        model = server.api("GET", f"/api/parts/{pids[0]}/model?format=plain")
        assert model.status_code == 200 and model.content[:4] == b"glTF"
        assert list(server.data.rglob("model.glb")), "the web host did not cache what it served"

        # With the worker idle and waiting, a new upload is taken on the database's notice, not
        # at the worker's next 3-second poll: three in a row, each claimed within a second (by
        # polling alone, all three would be that quick about one time in 27).
        for name in ("bent_bracket", "coloured_assembly", "many_faces"):
            other = server.api(
                "POST", "/api/parts/", json={"name": name, "material": "Al", "subsystem": "x"}
            ).json()["id"]
            step = (steps / f"{name}.step").read_bytes()
            started = time.monotonic()
            r = server.api("POST", f"/api/parts/{other}/upload", files={"file": ("m.step", step)})
            # Queued, or already claimed: the notice can beat the upload's own answer.
            assert r.json()["conversion"]["status"] in ("queued", "running")
            while _status(server, other)["status"] == "queued":
                assert time.monotonic() - started < 30
                time.sleep(0.05)
            assert time.monotonic() - started < 1.0, f"{name}: waited for the poll, not the notice"
            while _status(server, other)["status"] not in ("ready", "failed"):
                assert time.monotonic() - started < 180
                time.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(120) == 0, log.read_text(errors="replace")
    assert "Conversion worker stopped." in log.read_text()


def test_the_web_workers_never_started_a_converter(team: tuple[Server, dict[str, str]]) -> None:
    server, _env = team
    server_log = server.log.read_text(errors="replace")
    assert "Traceback" not in server_log
    ps = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout
    children = _descendants(ps, server.process.pid)
    converters = [line for pid, line in children if "aerie_app.cad" in line]
    assert not converters, converters
    with httpx.Client(base_url=server.url, headers={"X-API-Key": ADMIN_KEY}) as client:
        assert client.get("/api/health").json()["status"] == "ok"


def _descendants(ps: str, root: int) -> list[tuple[int, str]]:
    rows = []
    for line in ps.splitlines()[1:]:
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].isdigit():
            rows.append((int(parts[0]), int(parts[1]), parts[2]))
    found, frontier = [], {root}
    while frontier:
        nxt = {pid for pid, ppid, _ in rows if ppid in frontier}
        found += [(pid, args) for pid, ppid, args in rows if ppid in frontier]
        frontier = nxt
    return found
