"""Fuzz tier: schemathesis against the OpenAPI document of a real server (backend only, SQLite).

Schemathesis runs as its own command line (its pytest loader does not work with pytest 9.2),
against ``/api/openapi.json`` of a server started as in production; the number of generated
cases it sent is printed at the end of the pytest run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.live_server import LiveServer, start_live_server

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Tally:
    """What each schemathesis run sent: (label, cases, seconds)."""

    runs: list[tuple[str, int, float]] = field(default_factory=list)


TALLY = Tally()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for label, cases, seconds in TALLY.runs:
        terminalreporter.write_line(f"fuzz ({label}): {cases} generated cases in {seconds:.0f} s")


def seed(server: LiveServer) -> dict[str, int]:
    """A few parts in every state, with a PDF drawing and preview images, for the fuzzer to hit.

    Ids 1-5 exist, so the small numbers the fuzzer tries for ``part_id`` reach real parts.
    """

    def create(**fields: Any) -> int:
        body = {"material": "6061 Aluminum", "subsystem": "Intake"} | fields
        response = server.request("POST", "/api/parts/", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    ids = {
        "review": create(name="Side plate", type="cnc", amount=2),
        "cnc": create(name="Spacer", type="cnc"),
        "hand": create(name="Bracket", type="hand"),
        "misc": create(name="Bearing", type="misc"),
        "done": create(name="Shaft", type="hand", assigned="Ada"),
    }
    for key in ("cnc", "hand", "misc", "done"):
        response = server.request("POST", f"/api/parts/{ids[key]}/approve", json={})
        assert response.status_code == 200, response.text
    response = server.request("POST", f"/api/parts/{ids['done']}/complete", json={})
    assert response.status_code == 200, response.text
    response = server.request(
        "POST", f"/api/parts/{ids['hand']}/upload", files={"file": ("drawing.pdf", PDF)}
    )
    assert response.status_code == 201, response.text
    response = server.request(
        "POST", f"/api/parts/{ids['misc']}/views", files={"view_0": ("v.png", PNG)}
    )
    assert response.status_code == 200, response.text
    return ids


@pytest.fixture(scope="session")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Every case carries the admin key, but a generated X-API-Key can stand in for it: a high
    # failure limit keeps those few cases from throttling the whole run into 429s.
    server = start_live_server(
        tmp_path_factory.mktemp("aerie-fuzz"), {"AERIE_AUTH_FAIL_LIMIT": "1000000"}
    )
    seed(server)
    yield server
    server.stop()
