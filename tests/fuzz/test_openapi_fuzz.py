"""Every documented operation, fuzzed: no 5xx, and every answer as the OpenAPI document says."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ADMIN_KEY
from tests.fuzz.conftest import TALLY
from tests.live_server import LiveServer

pytestmark = pytest.mark.fuzz

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
# Operations that destroy what the rest of the run needs: the seeded parts and the admin key.
DESTRUCTIVE = (
    r"^(DELETE /api/parts/\{part_id\}|POST /api/parts/wipe|POST /api/keys/\{key_id\}/revoke)$"
)
SEED = "20260112"


def schemathesis(
    server: LiveServer, tmp: Path, label: str, max_examples: int, *selection: str
) -> tuple[subprocess.CompletedProcess[str], int]:
    """One deterministic schemathesis run; the cases it sent are counted from its HAR report."""
    har = tmp / f"{label}.har"
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", server.url + "/api/openapi.json"),
        *("--header", f"X-API-Key: {ADMIN_KEY}", "--checks", ",".join(CHECKS)),
        *("--mode", "all", "--max-examples", str(max_examples), "--seed", SEED),
        *("--generation-deterministic", "--generation-allow-x00", "true"),
        *("--phases", "examples,coverage,fuzzing", "--workers", "1", "--continue-on-failure"),
        *("--report", "har", "--report-har-path", str(har), "--no-color", *selection),
    ]
    started = time.monotonic()
    # Run in the test's folder: schemathesis keeps a .schemathesis/ cache where it runs.
    done = subprocess.run(command, cwd=tmp, capture_output=True, text=True, timeout=600)
    cases = len(json.loads(har.read_text())["log"]["entries"]) if har.exists() else 0
    TALLY.runs.append((label, cases, time.monotonic() - started))
    return done, cases


def test_every_operation(fuzz_server: LiveServer, tmp_path: Path) -> None:
    done, cases = schemathesis(
        fuzz_server, tmp_path, "every operation", 60, "--exclude-name-regex", DESTRUCTIVE
    )
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
    assert cases >= 1000, done.stdout[-5000:]


def test_destructive_operations(fuzz_server: LiveServer, tmp_path: Path) -> None:
    # Last: deleting parts, wiping (with a generated, so wrong, password) and revoking keys.
    done, cases = schemathesis(
        fuzz_server, tmp_path, "destructive", 20, "--include-name-regex", DESTRUCTIVE
    )
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
    assert cases >= 30
