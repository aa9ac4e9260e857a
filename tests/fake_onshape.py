"""A fake of Onshape's BOM and export endpoints on 127.0.0.1, for tests (no internet needed).

Implements, with HTTP Basic auth checked on every call:
  POST /api[/vN]/drawings/d/{did}/{w|v}/{wvid}/e/{eid}/translations      (PDF)
  POST /api[/vN]/partstudios/d/{did}/{w|v}/{wvid}/e/{eid}/translations   (STEP of ``partIds``)
  GET  /api[/vN]/translations/{tid}
  GET  /api[/vN]/documents/d/{did}/externaldata/{fid}
  GET  /api[/vN]/assemblies/d/{did}/{w|v|m}/{wvmid}/e/{eid}/bom           (``bom_pages``, paged
       with ``next`` links when there are several)
A part export whose part id is in ``failing_parts`` ends FAILED; ``step`` is the exported file.
``scenario`` picks the behaviour: "success", "failed" (translation FAILED), "never" (stays
ACTIVE), "unknown" (404 for the document). ``rate_limit`` answers that many 429s (with
``Retry-After``) before serving normally. Wrong credentials get 401 whatever the scenario.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<<>>\n%%EOF\n"
FAILURE_REASON = "Drawing references a deleted part studio"

_V = r"/api(?:/v\d+)?"
CREATE = re.compile(
    rf"^{_V}/drawings/d/(?P<did>[0-9a-f]{{24}})/(?P<wv>[wv])/(?P<wvid>[0-9a-f]{{24}})"
    rf"/e/(?P<eid>[0-9a-f]{{24}})/translations$"
)
PART_EXPORT = re.compile(
    rf"^{_V}/partstudios/d/(?P<did>[0-9a-f]{{24}})/(?P<wv>[wv])/(?P<wvid>[0-9a-f]{{24}})"
    rf"/e/(?P<eid>[0-9a-f]{{24}})/translations$"
)
BOM = re.compile(
    rf"^{_V}/assemblies/d/(?P<did>[0-9a-f]{{24}})/(?P<wvm>[wvm])/(?P<wvmid>[0-9a-f]{{24}})"
    rf"/e/(?P<eid>[0-9a-f]{{24}})/bom$"
)
POLL = re.compile(rf"^{_V}/translations/(?P<tid>[^/]+)$")
DOWNLOAD = re.compile(rf"^{_V}/documents/d/(?P<did>[0-9a-f]{{24}})/externaldata/(?P<fid>[^/]+)$")


@dataclass
class Seen:
    method: str
    path: str
    status: int
    authorization: str | None
    body: Any = None


@dataclass
class FakeOnshape:
    access_key: str
    secret_key: str
    scenario: str = "success"
    polls_before_done: int = 2
    rate_limit: int = 0
    retry_after: str = "1"
    pdf: bytes = PDF
    step: bytes = b""
    failing_parts: set[str] = field(default_factory=set)
    # Each page: {"headers": [...], "rows": [...]}; the fake adds "next" between pages.
    bom_pages: list[dict[str, Any]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    _translations: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeOnshape:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOnshape:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def calls(self, kind: str) -> list[Seen]:
        """Requests seen of one kind: "create", "poll" or "download" (429s and 401s included)."""
        pattern = {
            "create": CREATE,
            "poll": POLL,
            "download": DOWNLOAD,
            "bom": BOM,
            "part": PART_EXPORT,
        }[kind]
        with self._lock:
            return [s for s in self.seen if pattern.match(s.path)]

    def expected_authorization(self) -> str:
        token = base64.b64encode(f"{self.access_key}:{self.secret_key}".encode()).decode()
        return f"Basic {token}"

    # -- request handling (runs on the server's threads) --

    def handle(
        self,
        method: str,
        path: str,
        auth: str | None,
        body: Any,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        status, headers, payload = self._answer(method, path, auth, body, query or {})
        with self._lock:
            self.seen.append(Seen(method, path, status, auth, body))
        return status, headers, payload

    def _answer(
        self, method: str, path: str, auth: str | None, body: Any, query: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        if auth != self.expected_authorization():
            return _json(401, {"message": "Unauthenticated API request", "status": 401})
        with self._lock:
            if self.rate_limit > 0:
                self.rate_limit -= 1
                status, headers, payload = _json(
                    429, {"message": "Too many requests.", "status": 429}
                )
                return status, headers | {"Retry-After": self.retry_after}, payload
        if method == "GET" and (m := BOM.match(path)):
            if self.scenario == "unknown":
                return _json(404, {"message": "Resource does not exist", "status": 404})
            page = int(query.get("page", "0") or 0)
            if not 0 <= page < len(self.bom_pages):
                return _json(404, {"message": "No such page", "status": 404})
            data = dict(self.bom_pages[page])
            if page + 1 < len(self.bom_pages):
                data["next"] = f"{self.base_url}{path}?indented=true&page={page + 1}"
            return _json(200, data)
        part_export = method == "POST" and PART_EXPORT.match(path)
        if (method == "POST" and (m := CREATE.match(path))) or part_export:
            m = part_export or CREATE.match(path)
            assert m is not None
            if self.scenario == "unknown":
                return _json(404, {"message": "Resource does not exist", "status": 404})
            tid = uuid.uuid4().hex[:24]
            part_ids = str((body or {}).get("partIds", "")) if isinstance(body, dict) else ""
            info = {
                "id": tid,
                "requestState": "ACTIVE",
                "documentId": m["did"],
                "requestElementId": m["eid"],
                "resultExternalDataIds": None,
                "failureReason": None,
                "polls": 0,
                "kind": "step" if part_export else "pdf",
                "fails": part_ids in self.failing_parts,
            }
            with self._lock:
                self._translations[tid] = info
            return _json(200, _public(info))
        if method == "GET" and (m := POLL.match(path)):
            with self._lock:
                info = self._translations.get(m["tid"])
                if info is None:
                    return _json(404, {"message": "Not found", "status": 404})
                info["polls"] += 1
                if info["polls"] >= self.polls_before_done and self.scenario != "never":
                    if self.scenario == "failed" or info["fails"]:
                        info["requestState"] = "FAILED"
                        info["failureReason"] = FAILURE_REASON
                    else:
                        info["requestState"] = "DONE"
                        info["resultExternalDataIds"] = [f"fid{m['tid']}"]
                return _json(200, _public(info))
        if method == "GET" and (m := DOWNLOAD.match(path)):
            with self._lock:
                known = [
                    t
                    for t in self._translations.values()
                    if (t.get("resultExternalDataIds") or [None])[0] == m["fid"]
                ]
            if not known:
                return _json(404, {"message": "Not found", "status": 404})
            payload = self.step if known[0]["kind"] == "step" else self.pdf
            return 200, {"Content-Type": "application/octet-stream"}, payload
        return _json(404, {"message": "No such endpoint", "status": 404})


def _public(info: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if k not in ("polls", "kind", "fails")}


def _json(status: int, data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOnshape
    protocol_version = "HTTP/1.1"

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        path, _, raw_query = self.path.partition("?")
        query = dict(parse_qsl(raw_query))
        status, headers, payload = self.owner.handle(
            method, path, self.headers.get("Authorization"), body, query
        )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet
