"""E2E fixtures: Aerie in production mode on a free port with its own data folder, driven by Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts" / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("AERIE_SKIP_E2E") == "1":
        skip = pytest.mark.skip(reason="Chromium missing and AERIE_SKIP_E2E=1")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, data: Path, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.data, self.process, self.log = url, data, process, log

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"X-API-Key": ADMIN_KEY} | kw.pop("headers", {})
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)


def start_server(
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    *,
    command: list[str] | None = None,
    cwd: Path = ROOT,
    data: Path | None = None,
) -> Server:
    """Aerie in production mode on a free port. By default ``python -m aerie_app serve`` with its
    own absolute data folder; ``command``/``cwd``/``data=None`` run it some other way (e.g. the
    README's ``make run`` with the default, relative, data folder: pass ``data`` to say where
    that lands, and leave AERIE_DATA_DIR out by giving ``extra_env={"AERIE_DATA_DIR": ""}``)."""
    port = free_port()
    data = data or tmp / "data"
    log = tmp / "server.log"
    env = dict(os.environ)
    env.pop("AERIE_DATABASE_URL", None)
    env |= {"AERIE_DATA_DIR": str(data), "AERIE_API_KEY": ADMIN_KEY, "PORT": str(port)}
    env |= extra_env or {}
    if env["AERIE_DATA_DIR"] == "":
        del env["AERIE_DATA_DIR"]  # the README's default: the relative `data` folder
    process = subprocess.Popen(
        command or [sys.executable, "-m", "aerie_app", "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Aerie exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200 and (
                httpx.get(url + "/", timeout=5).status_code == 200
            ):
                return Server(url, data, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(1)
    stop_server(process)
    raise RuntimeError(f"Aerie did not come up:\n{log.read_text()[-4000:]}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Module scope: one production server at a time, because every start rebuilds the shared
    # .web/ frontend with the server's port baked in.
    srv = start_server(tmp_path_factory.mktemp("aerie-e2e"))
    yield srv
    stop_server(srv.process)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-dev-shm-usage",
            "--use-angle=swiftshader",
            "--enable-unsafe-swiftshader",
            # A camera for the label scanner: Chromium's test pattern, no permission prompt.
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ],
    }


@pytest.fixture
def shot(page: Any) -> Any:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def _shot(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot


@pytest.fixture
def signed_in(page: Any, server: Server) -> Any:
    """A page signed in with the admin key."""
    page.goto(server.url + "/")
    page.locator("#access-key").fill(ADMIN_KEY)
    page.locator("#sign-in").click()
    page.locator("#parts-table").wait_for(timeout=30_000)
    return page
