"""The published API description: every route has a summary, an example and Aerie's error shape."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.api


def test_every_route_is_described_with_examples(api: Api) -> None:
    spec = api.client.get("/api/openapi.json").json()
    assert "HTTPValidationError" not in str(spec)
    missing = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if not op.get("summary"):
                missing.append(f"{method} {path}: summary")
            responses = op["responses"]
            success = [c for c in ("200", "201", "202") if c in responses]
            assert success, f"{method} {path} has no success response"
            content = responses[success[0]].get("content", {})
            has_example = any(
                "example" in c or c.get("schema", {}).get("format") == "binary"
                for c in content.values()
            )
            if not has_example:
                missing.append(f"{method} {path}: example")
            if path != "/api/health":
                assert (
                    "401" in responses
                    and responses["401"]["content"]["application/json"]["example"]["error"]
                )
    assert missing == []


def test_documented_error_example_matches_real_error(api: Api) -> None:
    spec = api.client.get("/api/openapi.json").json()
    documented = spec["paths"]["/api/parts/"]["post"]["responses"]["400"]["content"][
        "application/json"
    ]["example"]
    real = api.post("/api/parts/", json={"subsystem": "x"}).json()
    assert real == documented
