"""Onshape: parse document URLs, read an assembly's bill of materials, and export a drawing
(PDF) or a part (STEP) through the translation API.

The export is asynchronous on Onshape's side (documented at onshape-public.github.io, "Import &
Export" and the Drawing API reference):

1. ``POST /api/v10/drawings/d/{did}/{wv}/{wvid}/e/{eid}/translations`` with
   ``{"formatName": "PDF", "storeInDocument": false}`` answers a translation (``id``,
   ``requestState`` = ``ACTIVE``);
2. ``GET /api/v10/translations/{tid}`` is polled until ``requestState`` is ``DONE`` or ``FAILED``
   (then ``failureReason`` says why);
3. ``GET /api/v10/documents/d/{did}/externaldata/{resultExternalDataIds[0]}`` is the PDF.

Requests authenticate with HTTP Basic (access key as user, secret key as password). Every
failure leaves this module as an :mod:`aerie_app.errors` class with a message a person can act
on; httpx exceptions never do, and the keys are never logged nor put in a message.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx

from aerie_app.errors import AerieError, NotFound, RateLimited, Unprocessable, ValidationFailed

log = logging.getLogger("aerie.onshape")

API = "/api/v10"
FIELD = "onshapeUrl"
_ID = r"[0-9a-fA-F]{24}"
_PATH = re.compile(
    rf"^/documents/(?P<did>{_ID})/(?P<wvm>[wvm])/(?P<wvmid>{_ID})/e/(?P<eid>{_ID})(?:/.*)?$"
)
_ERROR_DETAIL_CHARS = 200

Wvm = Literal["w", "v", "m"]


@dataclass(frozen=True)
class OnshapeRef:
    """One element of one Onshape document at a workspace (w), version (v) or microversion (m)."""

    did: str
    wvm: Wvm
    wvmid: str
    eid: str


def parse_onshape_url(url: str) -> OnshapeRef:
    """The document, workspace/version/microversion and element named by an Onshape URL.

    Accepts ``https://cad.onshape.com/documents/{did}/{w|v|m}/{id}/e/{eid}`` on any
    ``*.onshape.com`` host (enterprise domains), with or without a scheme, extra path segments,
    a query (``?renderMode=0&uiState=…``) or a fragment. Anything else is a 400 naming the field.
    """
    text = (url or "").strip()
    if not text:
        raise ValidationFailed(FIELD, "An Onshape URL is required")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ValidationFailed(FIELD, "This is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationFailed(FIELD, "An Onshape URL starts with https://")
    if host != "onshape.com" and not host.endswith(".onshape.com"):
        raise ValidationFailed(
            FIELD, "This is not an Onshape URL (expected an onshape.com address)"
        )
    match = _PATH.match(parts.path)
    if match is None:
        raise ValidationFailed(
            FIELD,
            "This Onshape URL does not name a document tab; copy the address of the drawing's "
            "tab: https://cad.onshape.com/documents/<document>/w/<workspace>/e/<element>",
        )
    wvm: Wvm = "w" if match["wvm"] == "w" else ("v" if match["wvm"] == "v" else "m")
    return OnshapeRef(
        did=match["did"].lower(),
        wvm=wvm,
        wvmid=match["wvmid"].lower(),
        eid=match["eid"].lower(),
    )


@dataclass(frozen=True)
class PartSource:
    """Where one part lives in Onshape: its part studio and the part's id there."""

    did: str
    wvm: str
    wvmid: str
    eid: str
    part_id: str
    configuration: str = ""

    @property
    def url(self) -> str:
        return f"https://cad.onshape.com/documents/{self.did}/{self.wvm}/{self.wvmid}/e/{self.eid}"


@dataclass(frozen=True)
class BomRow:
    """One part line of an assembly's bill of materials."""

    part_number: str
    name: str
    quantity: int
    material: str
    subsystem: str  # the top-level sub-assembly it sits in ("" at the assembly's own level)
    source: PartSource | None


MAX_BOM_PAGES = 50


def _next_page(link: Any, base_url: str) -> str | None:
    """The next page of a paged answer, only ever on the same Onshape host."""
    if not isinstance(link, str) or not link:
        return None
    parts = urlsplit(link)
    if parts.netloc and parts.netloc != urlsplit(base_url).netloc:
        raise Unprocessable("Onshape's next page pointed at another host")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _text_value(value: Any) -> str:
    """A BOM cell as text: materials and other objects carry a ``displayName``."""
    if isinstance(value, dict):
        value = value.get("displayName") or value.get("name") or value.get("value") or ""
    if value is None:
        return ""
    return str(value).strip()


def _quantity(value: Any) -> int:
    try:
        return max(int(float(_text_value(value) or 1)), 1)
    except ValueError:
        return 1


def _bom_rows(rows: list[dict[str, Any]], headers: dict[str, str]) -> list[BomRow]:
    """Part rows of an indented BOM, each with its total quantity in the whole assembly (its own
    times every enclosing sub-assembly's) and its top-level sub-assembly."""
    out: list[BomRow] = []
    stack: list[tuple[str, int]] = []  # enclosing sub-assemblies: (name, quantity) by level
    for row in rows:
        cells = {
            headers.get(key, key): value
            for key, value in (row.get("headerIdToValue") or {}).items()
        }
        level = row.get("indentLevel") if isinstance(row.get("indentLevel"), int) else 0
        name = _text_value(cells.get("name"))
        quantity = _quantity(cells.get("quantity"))
        raw_source = row.get("itemSource")
        source: dict[str, Any] = raw_source if isinstance(raw_source, dict) else {}
        del stack[level:]
        if not source.get("partId"):
            stack.append((name, quantity))  # a sub-assembly: deeper rows belong to it
            continue
        for _parent, times in stack:
            quantity *= times
        part_source = None
        if all(
            isinstance(source.get(k), str) and source.get(k)
            for k in ("documentId", "elementId", "wvmId")
        ):
            part_source = PartSource(
                did=source["documentId"],
                wvm=str(source.get("wvmType") or "w")[:1].lower(),
                wvmid=source["wvmId"],
                eid=source["elementId"],
                part_id=str(source["partId"]),
                configuration=str(source.get("fullConfiguration") or ""),
            )
        out.append(
            BomRow(
                part_number=_text_value(cells.get("partNumber")),
                name=name,
                quantity=quantity,
                material=_text_value(cells.get("material")),
                subsystem=stack[0][0] if stack else "",
                source=part_source,
            )
        )
    return out


def require_exportable(ref: OnshapeRef) -> None:
    """Refuse what Onshape's drawing export cannot take, before any request is made."""
    if ref.wvm == "m":
        # The drawing translation endpoint takes only a workspace or a version ({wv}/{wvid}).
        raise Unprocessable(
            "Onshape exports drawings only from a workspace or a version, not from a "
            "microversion: open the drawing in its workspace (or a version) and use that URL"
        )


class OnshapeClient:
    """Reads BOMs, exports drawings and parts. One instance per job; it holds no connection
    between calls.

    ``timeout`` bounds each HTTP request, ``max_wait`` the whole wait for the translation, and
    ``max_retries`` how many 429 answers are retried (each after its ``Retry-After``, at most
    ``max_retry_after`` seconds). ``cancel`` stops a wait early (server shutdown).
    """

    def __init__(
        self,
        base_url: str,
        access_key: str,
        secret_key: str,
        *,
        timeout: float = 30.0,
        poll_interval: float = 2.0,
        max_wait: float = 180.0,
        max_retries: int = 3,
        max_retry_after: float = 60.0,
        max_bytes: int = 100 * 1024 * 1024,
        cancel: threading.Event | None = None,
    ) -> None:
        if not access_key or not secret_key:
            raise Unprocessable(
                "Onshape API keys are not configured "
                "(set AERIE_ONSHAPE_ACCESS_KEY and AERIE_ONSHAPE_SECRET_KEY)"
            )
        self.base_url = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(access_key, secret_key)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.max_wait = max_wait
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.max_bytes = max_bytes
        self._cancel = cancel or threading.Event()

    def __repr__(self) -> str:
        return f"OnshapeClient({self.base_url!r})"  # never the keys

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, auth=self._auth, timeout=self.timeout, follow_redirects=True
        )

    def fetch_drawing_pdf(self, ref: OnshapeRef) -> bytes:
        """The drawing ``ref`` names, exported as PDF bytes (create → poll → download)."""
        require_exportable(ref)
        path = f"{API}/drawings/d/{ref.did}/{ref.wvm}/{ref.wvmid}/e/{ref.eid}/translations"
        body = {"formatName": "PDF", "storeInDocument": False}
        return self._translate(path, body, ref.did, thing="drawing")

    def fetch_part_step(self, source: PartSource) -> bytes:
        """One part of a part studio, exported as a STEP file (create → poll → download)."""
        if source.wvm == "m":
            raise Unprocessable("Onshape exports parts only from a workspace or a version")
        path = (
            f"{API}/partstudios/d/{_seg(source.did)}/{source.wvm}/{_seg(source.wvmid)}"
            f"/e/{_seg(source.eid)}/translations"
        )
        body: dict[str, Any] = {
            "formatName": "STEP",
            "partIds": source.part_id,
            "storeInDocument": False,
        }
        if source.configuration:
            body["configuration"] = source.configuration
        return self._translate(path, body, source.did, thing="part")

    def _translate(self, path: str, body: dict[str, Any], did: str, *, thing: str) -> bytes:
        with self._client() as client:
            info = self._json(client, "POST", path, what=f"starting the {thing} export", body=body)
            info = self._wait(client, info, thing=thing)
            ids = info.get("resultExternalDataIds") or []
            if not isinstance(ids, list) or not ids or not isinstance(ids[0], str):
                raise Unprocessable(f"Onshape finished the {thing} export but returned no file")
            owner = info.get("documentId")
            document = owner if isinstance(owner, str) else did
            return self._download(
                client,
                f"{API}/documents/d/{_seg(document)}/externaldata/{_seg(ids[0])}",
                thing=thing,
            )

    def fetch_bom(self, ref: OnshapeRef) -> list[BomRow]:
        """The assembly's bill of materials: one row per part, with its sub-assembly.

        Asks for the indented, multi-level BOM (so a part's top-level sub-assembly is known) and
        follows ``next`` links while Onshape pages it. Sub-assembly rows themselves are not parts.
        """
        path: str | None = (
            f"{API}/assemblies/d/{ref.did}/{ref.wvm}/{ref.wvmid}/e/{ref.eid}/bom"
            "?indented=true&multiLevel=true&generateIfAbsent=true"
        )
        headers: dict[str, str] = {}
        raw_rows: list[dict[str, Any]] = []
        pages = 0
        with self._client() as client:
            while path and pages < MAX_BOM_PAGES:
                data = self._json(client, "GET", path, what="reading the bill of materials")
                pages += 1
                for header in data.get("headers") or []:
                    if isinstance(header, dict) and isinstance(header.get("id"), str):
                        key = str(header.get("propertyName") or header.get("name") or "")
                        headers[header["id"]] = key
                rows = data.get("rows")
                if not isinstance(rows, list):
                    raise Unprocessable("Onshape's bill of materials had no rows")
                raw_rows += [r for r in rows if isinstance(r, dict)]
                path = _next_page(data.get("next"), self.base_url)
        return _bom_rows(raw_rows, headers)

    def _wait(self, client: httpx.Client, info: dict[str, Any], *, thing: str) -> dict[str, Any]:
        tid = info.get("id")
        if not isinstance(tid, str) or not tid:
            raise Unprocessable(f"Onshape's answer to the {thing} export had no translation id")
        log.info("Onshape translation %s started", tid)
        deadline = time.monotonic() + self.max_wait
        while True:
            state = info.get("requestState")
            if state == "DONE":
                log.info("Onshape translation %s done", tid)
                return info
            if state == "FAILED":
                reason = str(info.get("failureReason") or "no reason given")[:_ERROR_DETAIL_CHARS]
                log.info("Onshape translation %s failed: %s", tid, reason)
                raise Unprocessable(f"Onshape could not translate the {thing}: {reason}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unprocessable(
                    f"Onshape did not finish translating the {thing} within {self.max_wait:g} s"
                )
            self._sleep(min(self.poll_interval, remaining))
            info = self._json(
                client,
                "GET",
                f"{API}/translations/{_seg(tid)}",
                what=f"checking the {thing} export",
            )

    def _json(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        *,
        what: str,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        response = self._send(client, method, path, what=what, body=body, accept="application/json")
        try:
            response.read()
            data = response.json()
        except (httpx.HTTPError, ValueError):
            raise Unprocessable(f"Onshape sent an unreadable answer while {what}") from None
        finally:
            response.close()
        if not isinstance(data, dict):
            raise Unprocessable(f"Onshape sent an unexpected answer while {what}")
        return data

    def _download(self, client: httpx.Client, path: str, *, thing: str) -> bytes:
        what = f"downloading the {thing}"
        response = self._send(client, "GET", path, what=what, accept="application/octet-stream")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise Unprocessable(
                        f"The {thing} from Onshape is larger than {self.max_bytes // 2**20} MB"
                    )
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise Unprocessable(
                f"The connection to Onshape broke while {what} ({type(exc).__name__})"
            ) from None
        finally:
            response.close()
        return b"".join(chunks)

    def _send(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        *,
        what: str,
        accept: str,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """One request, retried after 429 up to ``max_retries`` times; errors become Aerie's."""
        retries = 0
        while True:
            request = client.build_request(method, path, json=body, headers={"Accept": accept})
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                # ``from None``: the httpx exception carries the request, and so the keys.
                raise Unprocessable(
                    f"Onshape did not answer within {self.timeout:g} s while {what}"
                ) from None
            except httpx.HTTPError as exc:
                raise Unprocessable(
                    f"Onshape could not be reached while {what} ({type(exc).__name__})"
                ) from None
            if response.is_success:
                return response
            if response.status_code == 429:
                wait = self._retry_after(response)
                response.close()
                if retries >= self.max_retries:
                    raise RateLimited(
                        f"Onshape is rate-limiting Aerie's requests (still after {retries} "
                        f"retries while {what}); try again in a while",
                        retry_after=max(wait, 1.0),
                    )
                retries += 1
                log.info(
                    "Onshape answered 429 while %s; retry %d/%d in %.1f s",
                    what,
                    retries,
                    self.max_retries,
                    wait,
                )
                self._sleep(wait)
                continue
            try:
                problem = _problem(response, what)
            finally:
                response.close()
            raise problem

    def _retry_after(self, response: httpx.Response) -> float:
        """Seconds the 429 asks for (delta-seconds or an HTTP date), clamped to the bounds."""
        raw = response.headers.get("retry-after", "").strip()
        seconds = 1.0
        if raw:
            try:
                seconds = float(raw)
            except ValueError:
                try:
                    seconds = parsedate_to_datetime(raw).timestamp() - time.time()
                except (TypeError, ValueError, IndexError):
                    seconds = 1.0
        return min(max(seconds, 0.0), self.max_retry_after)

    def _sleep(self, seconds: float) -> None:
        if self._cancel.wait(seconds):
            raise Unprocessable("The export was stopped before Onshape finished")


def _seg(value: str) -> str:
    """An id from Onshape's answer, safe as one path segment."""
    return quote(value, safe="")


def _problem(response: httpx.Response, what: str) -> AerieError:
    status = response.status_code
    if status == 401:
        return Unprocessable(
            "Onshape rejected Aerie's API keys (401 Unauthorized): check "
            "AERIE_ONSHAPE_ACCESS_KEY and AERIE_ONSHAPE_SECRET_KEY"
        )
    if status == 403:
        return Unprocessable(
            f"Onshape refused access (403 Forbidden) while {what}: the owner of Aerie's "
            "API keys needs access to this document"
        )
    if status == 404:
        if "bill of materials" in what:
            noun, where = "assembly", "the assembly's URL"
        elif "part" in what:
            noun, where = "part", "the part's Onshape source"
        else:
            noun, where = "drawing", "the part's Onshape URL"
        return NotFound(f"Onshape has no such {noun} (404 while {what}): check {where}")
    detail = _detail(response)
    return Unprocessable(
        f"Onshape answered {status} while {what}" + (f": {detail}" if detail else "")
    )


def _detail(response: httpx.Response) -> str:
    """Onshape's own error message (its JSON ``message``), shortened."""
    try:
        response.read()
        data = response.json()
    except (httpx.HTTPError, ValueError):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return str(message)[:_ERROR_DETAIL_CHARS] if message else ""
