"""Oversized requests against a real server (granian, as in production): a 413 the client reads.

A client that sends its whole body before reading (most do) used to see a connection reset: the
server answered and closed while the body was still arriving. Each case here sends everything,
with Content-Length and chunked, through a raw socket, httpx and curl, and expects the 413 in the
error shape, then a clean close, and nothing of a refused upload left in the data folder.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_KEY
from tests.live_server import LiveServer, start_live_server

pytestmark = pytest.mark.api

MIB = 1024 * 1024
JSON_LIMIT = 1024 * 1024  # AERIE_MAX_REQUEST_KB default
UPLOAD_LIMIT = 100 * MIB  # AERIE_MAX_UPLOAD_MB default
NOTES_5MB = json.dumps({"material": "Al", "subsystem": "Intake", "notes": "n" * 5_000_000}).encode()
BOUNDARY = "aerie-test-boundary"


def multipart(content: bytes, name: str = "big.step") -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def chunked(data: bytes, size: int = 256 * 1024) -> bytes:
    out = bytearray()
    for start in range(0, len(data), size):
        piece = data[start : start + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    srv = start_live_server(tmp_path_factory.mktemp("aerie-limits"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def part_id(server: LiveServer) -> int:
    response = server.request("POST", "/api/parts/", json={"material": "Al", "subsystem": "x"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture(scope="module")
def upload_110mib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("payload") / "big.step"
    with path.open("wb") as out:
        block = b"ISO-10303-21;\n" + bytes(range(256)) * 4096
        while out.tell() < 110 * MIB:
            out.write(block)
    return path


def stored_files(data: Path) -> set[str]:
    return {
        str(p.relative_to(data))
        for p in data.rglob("*")
        if p.is_file() and not p.name.startswith("aerie.db")
    }


def send_raw(server: LiveServer, path: str, body: bytes, content_type: str, *, chunk: bool) -> Any:
    """Send the whole request, then read the whole answer: what a simple client does."""
    framing = "Transfer-Encoding: chunked" if chunk else f"Content-Length: {len(body)}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {ADMIN_KEY}\r\n"
        f"Content-Type: {content_type}\r\nConnection: close\r\n{framing}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(head + (chunked(body) if chunk else body))  # a reset raises here
        answer = b""
        while piece := sock.recv(65536):  # a reset raises here; b"" is the clean close
            answer += piece
    status_line, _, rest = answer.partition(b"\r\n")
    headers, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), headers.decode().lower(), json.loads(payload)


def assert_413(status: int, body: dict[str, Any], limit: int) -> None:
    assert status == 413
    assert body == {"error": "Payload too large", "details": {"limitBytes": limit}}


@pytest.mark.parametrize("chunk", [False, True], ids=["content-length", "chunked"])
def test_json_over_the_limit_is_a_413_the_client_reads(server: LiveServer, chunk: bool) -> None:
    status, headers, body = send_raw(
        server, "/api/parts/", NOTES_5MB, "application/json", chunk=chunk
    )
    assert_413(status, body, JSON_LIMIT)
    assert "connection: close" in headers


@pytest.mark.parametrize("chunk", [False, True], ids=["content-length", "chunked"])
def test_upload_over_the_limit_is_a_413_and_leaves_nothing(
    server: LiveServer, part_id: int, upload_110mib: Path, chunk: bool
) -> None:
    before = stored_files(server.data)
    status, _, body = send_raw(
        server,
        f"/api/parts/{part_id}/upload",
        multipart(upload_110mib.read_bytes()),
        f"multipart/form-data; boundary={BOUNDARY}",
        chunk=chunk,
    )
    assert_413(status, body, UPLOAD_LIMIT + 64 * 1024)
    assert stored_files(server.data) == before
    assert server.request("GET", f"/api/parts/{part_id}").json()["file"] is None


def test_file_just_over_the_limit_is_a_413_and_leaves_nothing(
    server: LiveServer, part_id: int
) -> None:
    # Within the multipart slack of the body limit: refused by the upload itself, mid-write.
    before = stored_files(server.data)
    content = b"ISO-10303-21;\n" + b"x" * (UPLOAD_LIMIT + 1000)
    response = server.request(
        "POST", f"/api/parts/{part_id}/upload", files={"file": ("edge.step", content)}
    )
    assert response.status_code == 413, response.text
    assert isinstance(response.json()["error"], str)
    assert stored_files(server.data) == before


def test_httpx_reads_the_413(server: LiveServer, part_id: int, upload_110mib: Path) -> None:
    response = server.request(
        "POST", "/api/parts/", content=NOTES_5MB, headers={"content-type": "application/json"}
    )
    assert_413(response.status_code, response.json(), JSON_LIMIT)

    def pieces() -> Iterator[bytes]:
        yield NOTES_5MB[: 3 * MIB]
        yield NOTES_5MB[3 * MIB :]

    response = server.request(
        "POST", "/api/parts/", content=pieces(), headers={"content-type": "application/json"}
    )
    assert_413(response.status_code, response.json(), JSON_LIMIT)
    with upload_110mib.open("rb") as handle:
        response = server.request(
            "POST", f"/api/parts/{part_id}/upload", files={"file": ("big.step", handle)}
        )
    assert_413(response.status_code, response.json(), UPLOAD_LIMIT + 64 * 1024)


def curl(server: LiveServer, path: str, *args: str) -> tuple[int, str]:
    """curl sending its whole body (no ``Expect: 100-continue`` to save it the trouble)."""
    binary = shutil.which("curl")
    assert binary, "curl is needed for this test (Debian package curl)"
    quiet = ["-sS", "-o", "/dev/null", "-w", "%{http_code}"]
    done = subprocess.run(
        [
            binary,
            *quiet,
            "-H",
            "Expect:",
            "-H",
            f"X-API-Key: {ADMIN_KEY}",
            *args,
            server.url + path,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("chunk", [False, True], ids=["content-length", "chunked"])
def test_curl_prints_413_not_a_reset(
    server: LiveServer, part_id: int, upload_110mib: Path, tmp_path: Path, chunk: bool
) -> None:
    notes = tmp_path / "notes.json"
    notes.write_bytes(NOTES_5MB)
    framing = ["-H", "Transfer-Encoding: chunked"] if chunk else []
    json_args = ["-H", "Content-Type: application/json", "--data-binary", f"@{notes}"]
    assert curl(server, "/api/parts/", *framing, *json_args) == (0, "413")
    before = stored_files(server.data)
    upload_args = ["-F", f"file=@{upload_110mib}"]
    assert curl(server, f"/api/parts/{part_id}/upload", *framing, *upload_args) == (0, "413")
    assert stored_files(server.data) == before


def test_early_answer_on_an_upload_is_read_too(server: LiveServer, upload_110mib: Path) -> None:
    # A 404 (no such part) before the body is read: the client still gets to read it.
    body = multipart(upload_110mib.read_bytes()[: 20 * MIB])
    status, _, answer = send_raw(
        server,
        "/api/parts/999999/upload",
        body,
        f"multipart/form-data; boundary={BOUNDARY}",
        chunk=False,
    )
    assert status == 404 and answer["error"] == "Part not found"


def test_server_builds_no_frontend(server: LiveServer) -> None:
    assert server.request("GET", "/api/health").status_code == 200
    assert (server.web / "backend").is_dir()  # Reflex's work folder is the test's own
    built = {p.name for p in server.web.iterdir()}
    assert built == {"backend"}, built
