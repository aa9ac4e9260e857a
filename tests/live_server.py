"""A real Aerie server process for tests that need one: granian, as in production, API only.

Started as ``reflex run --env prod --backend-only`` from the repository root, on a free port, with
its own data folder, SQLite database and Reflex work folders under a temporary directory: it
builds no frontend and writes nothing into the shared ``.web/``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ADMIN_KEY, ROOT

BOOTSTRAP = """
from aerie_app.db import migrate, session_scope
from aerie_app.services import keys
from aerie_app.services.shop.seed import prepare_shop
from aerie_app.settings import get_settings

migrate()
with session_scope() as session:
    keys.bootstrap_admin(session, configured=get_settings().api_key.get_secret_value())
    prepare_shop(session)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    port: int
    data: Path
    web: Path
    log: Path
    process: subprocess.Popen[bytes]

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"X-API-Key": ADMIN_KEY} | kw.pop("headers", {})
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def server_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    from aerie_app.__main__ import reflex_env

    env = reflex_env()
    for name in ("AERIE_DATABASE_URL", "REDIS_URL", "REFLEX_DB_URL"):
        env.pop(name, None)
    return (
        env
        | {
            "AERIE_DATA_DIR": str(tmp / "data"),
            "AERIE_API_KEY": ADMIN_KEY,
            "AERIE_CONVERSION_PREWARM": "false",
            "GRANIAN_WORKERS": "1",
            # Reflex's own work folders: away from the repository's shared .web/ and .states/.
            "REFLEX_WEB_WORKDIR": str(tmp / "web"),
            "REFLEX_STATES_WORKDIR": str(tmp / "states"),
        }
        | (extra or {})
    )


def start_live_server(tmp: Path, extra_env: dict[str, str] | None = None) -> LiveServer:
    env = server_env(tmp, extra_env)
    (tmp / "data").mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", BOOTSTRAP], cwd=ROOT, env=env, check=True, timeout=120)
    port = free_port()
    log = tmp / "server.log"
    cmd = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-only"]
    cmd += ["--backend-port", str(port), "--loglevel", "warning"]
    process = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", port, tmp / "data", tmp / "web", log, process)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Aerie exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(server.url + "/api/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"Aerie did not come up:\n{log.read_text()[-4000:]}")
