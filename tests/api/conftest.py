"""API-tier fixtures: FastAPI's in-process client with keys of each scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.api


class Api:
    """A thin client that sends the admin key unless told otherwise."""

    def __init__(self, client: TestClient, key: str = ADMIN_KEY) -> None:
        self.client = client
        self.key = key

    def _h(self, headers: dict[str, str] | None, key: str | None) -> dict[str, str]:
        out = {"X-API-Key": key if key is not None else self.key}
        if key == "":
            out = {}
        return out | (headers or {})

    def get(self, url: str, *, key: str | None = None, **kw: Any) -> Any:
        return self.client.get(url, headers=self._h(kw.pop("headers", None), key), **kw)

    def post(self, url: str, *, key: str | None = None, **kw: Any) -> Any:
        return self.client.post(url, headers=self._h(kw.pop("headers", None), key), **kw)

    def put(self, url: str, *, key: str | None = None, **kw: Any) -> Any:
        return self.client.put(url, headers=self._h(kw.pop("headers", None), key), **kw)

    def patch(self, url: str, *, key: str | None = None, **kw: Any) -> Any:
        return self.client.patch(url, headers=self._h(kw.pop("headers", None), key), **kw)

    def delete(self, url: str, *, key: str | None = None, **kw: Any) -> Any:
        return self.client.delete(url, headers=self._h(kw.pop("headers", None), key), **kw)

    def create(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Bracket", "material": "Aluminum", "subsystem": "Intake", "type": "cnc"}
        body.update(fields)
        response = self.post("/api/parts/", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture
def api(aerie_env: Path) -> Iterator[Api]:
    from aerie_app.api.app import create_api

    with TestClient(create_api(), raise_server_exceptions=False) as client:
        yield Api(client)


@pytest.fixture
def make_key(api: Api) -> Any:
    def _make(scope: str, name: str | None = None) -> str:
        response = api.post("/api/keys", json={"name": name or f"{scope} key", "scope": scope})
        assert response.status_code == 201, response.text
        return str(response.json()["key"])

    return _make
