"""Drawings: Onshape URL parsing, the Onshape client against a local fake, and the API end to end.

Nothing here leaves 127.0.0.1: ``tests.fake_onshape`` serves Onshape's three export endpoints.
"""

from __future__ import annotations

import base64
import io
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aerie_app.errors import NotFound, RateLimited, Unprocessable, ValidationFailed
from aerie_app.integrations.onshape import OnshapeClient, OnshapeRef, parse_onshape_url
from aerie_app.services import drawings
from tests.api.conftest import Api
from tests.conftest import job_worker, reset_caches
from tests.fake_onshape import FAILURE_REASON, PDF, FakeOnshape

pytestmark = pytest.mark.api

ACCESS = "onshape-access-7f3a9c2e51d04b8a"
SECRET = "onshape-secret-Zq81LmXw44pPq0sS9tT"
DID = "0123456789abcdef01234567"
WID = "89abcdef0123456789abcdef"
VID = "fedcba9876543210fedcba98"
MID = "aaaabbbbccccddddeeeeffff"
EID = "1234abcd5678ef901234abcd"
URL_W = f"https://cad.onshape.com/documents/{DID}/w/{WID}/e/{EID}"
URL_V = f"https://cad.onshape.com/documents/{DID}/v/{VID}/e/{EID}"
URL_M = f"https://cad.onshape.com/documents/{DID}/m/{MID}/e/{EID}"
PDF_V1 = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# -- URL parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (URL_W, OnshapeRef(DID, "w", WID, EID)),
        (URL_V, OnshapeRef(DID, "v", VID, EID)),
        (URL_M, OnshapeRef(DID, "m", MID, EID)),
        (URL_W + "?renderMode=0&uiState=65f0c3b2a1", OnshapeRef(DID, "w", WID, EID)),
        (URL_V + "/", OnshapeRef(DID, "v", VID, EID)),
        (URL_W + "/extra/path?x=1#frag", OnshapeRef(DID, "w", WID, EID)),
        (
            f"  HTTPS://CAD.Onshape.com/documents/{DID.upper()}/w/{WID.upper()}/e/{EID.upper()}  ",
            OnshapeRef(DID, "w", WID, EID),
        ),
        (URL_W.replace("https://", ""), OnshapeRef(DID, "w", WID, EID)),
        (URL_M.replace("cad.onshape.com", "acme.onshape.com"), OnshapeRef(DID, "m", MID, EID)),
    ],
)
def test_parse_onshape_url_understands_w_v_m(url: str, expected: OnshapeRef) -> None:
    assert parse_onshape_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "not a url",
        f"https://example.com/documents/{DID}/w/{WID}/e/{EID}",
        f"https://onshape.com.evil.example/documents/{DID}/w/{WID}/e/{EID}",
        f"https://evilonshape.com/documents/{DID}/w/{WID}/e/{EID}",
        f"ftp://cad.onshape.com/documents/{DID}/w/{WID}/e/{EID}",
        f"https://cad.onshape.com/documents/{DID}/x/{WID}/e/{EID}",
        f"https://cad.onshape.com/documents/{DID}/w/{WID}",
        f"https://cad.onshape.com/documents/{DID}/w/{WID}/e/",
        f"https://cad.onshape.com/documents/{DID[:-1]}/w/{WID}/e/{EID}",
        f"https://cad.onshape.com/documents/{DID}/w/{WID}/e/{EID[:-1]}zz",
        f"https://cad.onshape.com/api/documents/{DID}/w/{WID}/e/{EID}",
        "https://cad.onshape.com/documents?nodeId=abc",
        "https://cad.onshape.com/documents/abc/w/def/e/ghi",
    ],
)
def test_parse_onshape_url_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_onshape_url(url)
    assert caught.value.field == "onshapeUrl"
    assert caught.value.details["message"]


# -- the client against the fake -----------------------------------------------------------------


@pytest.fixture
def onshape() -> Iterator[FakeOnshape]:
    with FakeOnshape(ACCESS, SECRET) as server:
        yield server


def client_for(server: FakeOnshape, **kw: Any) -> OnshapeClient:
    options: dict[str, Any] = {"timeout": 5.0, "poll_interval": 0.02, "max_wait": 5.0}
    return OnshapeClient(server.base_url, ACCESS, SECRET, **(options | kw))


@pytest.mark.parametrize("url", [URL_W, URL_V])
def test_client_exports_drawing_pdf(onshape: FakeOnshape, url: str) -> None:
    ref = parse_onshape_url(url)
    assert client_for(onshape).fetch_drawing_pdf(ref) == PDF
    create = onshape.calls("create")
    assert len(create) == 1
    assert f"/drawings/d/{DID}/{ref.wvm}/{ref.wvmid}/e/{EID}/translations" in create[0].path
    assert create[0].body == {"formatName": "PDF", "storeInDocument": False}
    assert len(onshape.calls("poll")) == onshape.polls_before_done
    assert len(onshape.calls("download")) == 1
    assert all(s.authorization == onshape.expected_authorization() for s in onshape.seen)


def test_client_failed_translation_gives_the_reason(onshape: FakeOnshape) -> None:
    onshape.scenario = "failed"
    with pytest.raises(Unprocessable) as caught:
        client_for(onshape).fetch_drawing_pdf(parse_onshape_url(URL_W))
    assert caught.value.message == f"Onshape could not translate the drawing: {FAILURE_REASON}"
    assert not onshape.calls("download")


def test_client_timeout_is_bounded(onshape: FakeOnshape) -> None:
    onshape.scenario = "never"
    started = time.monotonic()
    with pytest.raises(
        Unprocessable, match=r"did not finish translating the drawing within 0\.3 s"
    ):
        client_for(onshape, max_wait=0.3, poll_interval=0.05).fetch_drawing_pdf(
            parse_onshape_url(URL_W)
        )
    assert 0.25 <= time.monotonic() - started < 3
    assert len(onshape.calls("poll")) >= 2


def test_client_honours_retry_after(onshape: FakeOnshape) -> None:
    onshape.rate_limit, onshape.retry_after = 1, "1"
    started = time.monotonic()
    assert client_for(onshape).fetch_drawing_pdf(parse_onshape_url(URL_W)) == PDF
    assert time.monotonic() - started >= 0.95
    assert [s.status for s in onshape.calls("create")] == [429, 200]


def test_client_gives_up_after_bounded_429s(onshape: FakeOnshape) -> None:
    onshape.rate_limit, onshape.retry_after = 100, "0"
    with pytest.raises(RateLimited) as caught:
        client_for(onshape, max_retries=3).fetch_drawing_pdf(parse_onshape_url(URL_W))
    assert "rate-limiting" in caught.value.message
    assert len(onshape.calls("create")) == 4  # the first try and 3 retries, then stop
    assert caught.value.retry_after >= 1


def test_client_retry_after_as_http_date_is_understood(onshape: FakeOnshape) -> None:
    onshape.rate_limit, onshape.retry_after = 1, "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past
    started = time.monotonic()
    assert client_for(onshape).fetch_drawing_pdf(parse_onshape_url(URL_W)) == PDF
    assert time.monotonic() - started < 1


def test_client_bad_keys_are_a_clear_error(onshape: FakeOnshape) -> None:
    client = OnshapeClient(onshape.base_url, ACCESS, "wrong-secret", poll_interval=0.02)
    with pytest.raises(Unprocessable) as caught:
        client.fetch_drawing_pdf(parse_onshape_url(URL_W))
    assert "401" in caught.value.message and "API keys" in caught.value.message
    assert SECRET not in repr(client) and ACCESS not in repr(client)


def test_client_unknown_document_is_not_found(onshape: FakeOnshape) -> None:
    onshape.scenario = "unknown"
    with pytest.raises(NotFound, match="Onshape has no such drawing"):
        client_for(onshape).fetch_drawing_pdf(parse_onshape_url(URL_W))


def test_client_refuses_microversions_without_calling_onshape(onshape: FakeOnshape) -> None:
    with pytest.raises(Unprocessable, match="microversion"):
        client_for(onshape).fetch_drawing_pdf(parse_onshape_url(URL_M))
    assert onshape.seen == []


def test_client_unreachable_onshape_is_a_clear_error() -> None:
    with FakeOnshape(ACCESS, SECRET) as server:
        base = server.base_url  # a port that was just closed
    client = OnshapeClient(base, ACCESS, SECRET, timeout=2)
    with pytest.raises(Unprocessable, match="could not be reached"):
        client.fetch_drawing_pdf(parse_onshape_url(URL_W))


# -- through the API -----------------------------------------------------------------------------


@pytest.fixture
def fake(aerie_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOnshape]:
    """The fake Onshape, with Aerie's settings pointed at it (fast polling, short waits)."""
    server = FakeOnshape(ACCESS, SECRET).start()
    monkeypatch.setenv("AERIE_ONSHAPE_BASE_URL", server.base_url)
    monkeypatch.setenv("AERIE_ONSHAPE_ACCESS_KEY", ACCESS)
    monkeypatch.setenv("AERIE_ONSHAPE_SECRET_KEY", SECRET)
    monkeypatch.setenv("AERIE_ONSHAPE_POLL_INTERVAL_S", "0.02")
    monkeypatch.setenv("AERIE_ONSHAPE_MAX_WAIT_S", "5")
    monkeypatch.setenv("AERIE_ONSHAPE_TIMEOUT_S", "5")
    reset_caches()
    yield server
    assert drawings.jobs.wait_idle(30)
    drawings.jobs.shutdown()
    server.stop()


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"AERIE_ONSHAPE_{key.upper()}", value)
    reset_caches()


def hand_part(api: Api, url: str | None = URL_W) -> int:
    fields: dict[str, Any] = {"type": "hand"}
    if url is not None:
        fields["onshapeUrl"] = url
    return int(api.create(**fields)["id"])


def poll(api: Api, pid: int, timeout: float = 15.0) -> Any:
    """GET the drawing until it is no longer 202 (what a client does after the first 202)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(f"/api/parts/{pid}/drawing")
        if response.status_code != 202:
            return response
        assert response.json()["status"] == "pending"
        time.sleep(0.02)
    raise AssertionError("the drawing stayed pending")


def events(api: Api, pid: int, kind: str) -> list[dict[str, Any]]:
    return [e for e in api.get(f"/api/parts/{pid}/events").json()["events"] if e["kind"] == kind]


def test_drawing_is_exported_in_background_then_served(api: Api, fake: FakeOnshape) -> None:
    fake.polls_before_done = 3
    pid = hand_part(api)
    first = api.get(f"/api/parts/{pid}/drawing")
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "pending"
    assert int(first.headers["retry-after"]) >= 1
    response = poll(api, pid)
    assert response.status_code == 200, response.text
    assert response.content == fake.pdf
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    part = api.get(f"/api/parts/{pid}").json()
    assert part["file"] == f"{part['partId']}-drawing.pdf"
    revisions = api.get(f"/api/parts/{pid}/files").json()["files"]
    assert [(r["revision"], r["kind"], r["uploadedBy"]) for r in revisions] == [
        (1, "pdf", "Onshape")
    ]
    [event] = events(api, pid, "drawing")
    assert event["actor"] == "Onshape" and "revision 1" in event["note"]
    assert len(events(api, pid, "upload")) == 1
    download = api.get(f"/api/parts/{pid}/drawing?download=1")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.content == fake.pdf
    assert len(fake.calls("create")) == 1  # served from storage afterwards
    status = api.get(f"/api/parts/{pid}/drawing/status").json()
    assert status["status"] == "ready" and status["file"]["uploadedBy"] == "Onshape"


def test_version_url_is_exported_from_that_version(api: Api, fake: FakeOnshape) -> None:
    pid = hand_part(api, URL_V + "?renderMode=0")
    assert api.get(f"/api/parts/{pid}/drawing").status_code == 202
    assert poll(api, pid).status_code == 200
    assert f"/d/{DID}/v/{VID}/e/{EID}/translations" in fake.calls("create")[0].path


def test_refresh_replaces_the_stored_pdf_with_a_new_revision(api: Api, fake: FakeOnshape) -> None:
    pid = hand_part(api)
    api.post(f"/api/parts/{pid}/upload", files={"file": ("old.pdf", io.BytesIO(PDF_V1))})
    stored = api.get(f"/api/parts/{pid}/drawing")
    assert stored.status_code == 200 and stored.content == PDF_V1
    assert fake.seen == []
    refreshed = api.get(f"/api/parts/{pid}/drawing?refresh=true")
    assert refreshed.status_code == 202
    response = poll(api, pid)  # pending wins over the old PDF until the export ends
    assert response.status_code == 200 and response.content == fake.pdf
    revisions = api.get(f"/api/parts/{pid}/files").json()["files"]
    assert [r["revision"] for r in revisions] == [2, 1]


def test_concurrent_requests_start_one_export(api: Api, fake: FakeOnshape) -> None:
    fake.polls_before_done = 1_000_000  # the export cannot finish while we ask
    pid = hand_part(api)
    answers = [api.get(f"/api/parts/{pid}/drawing?refresh=true").status_code for _ in range(4)]
    assert answers == [202, 202, 202, 202]
    fake.polls_before_done = 0
    assert poll(api, pid).status_code == 200
    assert len(fake.calls("create")) == 1


def test_failed_translation_is_422_with_reason_and_on_the_timeline(
    api: Api, fake: FakeOnshape
) -> None:
    fake.scenario = "failed"
    pid = hand_part(api)
    assert api.get(f"/api/parts/{pid}/drawing").status_code == 202
    response = poll(api, pid)
    assert response.status_code == 422
    assert response.json() == {
        "error": f"Onshape could not translate the drawing: {FAILURE_REASON}"
    }
    [event] = events(api, pid, "drawing")
    assert FAILURE_REASON in event["note"] and event["actor"] == "Onshape"
    # The failure sticks (no new export) until asked again with refresh=true.
    assert api.get(f"/api/parts/{pid}/drawing").status_code == 422
    assert len(fake.calls("create")) == 1
    status = api.get(f"/api/parts/{pid}/drawing/status").json()
    assert status["status"] == "failed" and FAILURE_REASON in status["error"]
    fake.scenario = "success"
    assert api.get(f"/api/parts/{pid}/drawing?refresh=1").status_code == 202
    assert poll(api, pid).content == fake.pdf


def test_changing_the_url_retries_after_a_failure(api: Api, fake: FakeOnshape) -> None:
    fake.scenario = "failed"
    pid = hand_part(api)
    api.get(f"/api/parts/{pid}/drawing")
    assert poll(api, pid).status_code == 422
    fake.scenario = "success"
    assert api.put(f"/api/parts/{pid}", json={"onshapeUrl": URL_V}).status_code == 200
    assert api.get(f"/api/parts/{pid}/drawing").status_code == 202
    assert poll(api, pid).status_code == 200


def test_export_timeout_is_bounded(
    api: Api, fake: FakeOnshape, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.scenario = "never"
    set_env(monkeypatch, max_wait_s="0.3", poll_interval_s="0.05")
    pid = hand_part(api)
    started = time.monotonic()
    api.get(f"/api/parts/{pid}/drawing")
    response = poll(api, pid)
    assert time.monotonic() - started < 5
    assert response.status_code == 422
    assert "did not finish translating the drawing within 0.3 s" in response.json()["error"]
    assert "did not finish" in events(api, pid, "drawing")[0]["note"]


def test_rate_limited_export_is_retried(api: Api, fake: FakeOnshape) -> None:
    fake.rate_limit, fake.retry_after = 2, "0"
    pid = hand_part(api)
    api.get(f"/api/parts/{pid}/drawing")
    response = poll(api, pid)
    assert response.status_code == 200 and response.content == fake.pdf
    assert [s.status for s in fake.calls("create")] == [429, 429, 200]


def test_rate_limit_that_persists_is_429_with_retry_after(api: Api, fake: FakeOnshape) -> None:
    fake.rate_limit, fake.retry_after = 100, "0"
    pid = hand_part(api)
    api.get(f"/api/parts/{pid}/drawing")
    response = poll(api, pid)
    assert response.status_code == 429
    assert response.json()["error"] == "Rate limited"
    assert int(response.headers["retry-after"]) >= 1


def test_bad_onshape_keys_are_422_not_401(
    api: Api, fake: FakeOnshape, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, secret_key="not-the-secret")
    pid = hand_part(api)
    api.get(f"/api/parts/{pid}/drawing")
    response = poll(api, pid)
    assert response.status_code == 422  # a 401 would tell the caller its Aerie key is wrong
    assert "API keys" in response.json()["error"]
    assert fake.seen and all(s.status == 401 for s in fake.seen)


def test_unknown_onshape_document_is_404(api: Api, fake: FakeOnshape) -> None:
    fake.scenario = "unknown"
    pid = hand_part(api)
    api.get(f"/api/parts/{pid}/drawing")
    response = poll(api, pid)
    assert response.status_code == 404
    assert "Onshape has no such drawing" in response.json()["error"]


def test_missing_onshape_keys_refuse_at_once(
    api: Api, fake: FakeOnshape, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AERIE_ONSHAPE_SECRET_KEY")
    reset_caches()
    pid = hand_part(api)
    response = api.get(f"/api/parts/{pid}/drawing")
    assert response.status_code == 422
    assert "not configured" in response.json()["error"]
    assert fake.seen == []


def test_microversion_url_is_refused_at_once(api: Api, fake: FakeOnshape) -> None:
    pid = hand_part(api, URL_M)
    response = api.get(f"/api/parts/{pid}/drawing")
    assert response.status_code == 422
    assert "microversion" in response.json()["error"]
    assert fake.seen == []


@pytest.mark.parametrize("part_type", ["cnc", "misc", None])
def test_non_hand_part_is_400(api: Api, fake: FakeOnshape, part_type: str | None) -> None:
    pid = api.create(type=part_type, onshapeUrl=URL_W)["id"]
    for url in (f"/api/parts/{pid}/drawing", f"/api/parts/{pid}/drawing?refresh=true"):
        response = api.get(url)
        assert response.status_code == 400
        assert response.json() == {"error": "Drawings are only for hand-fab parts"}
    assert fake.seen == []


def test_no_file_and_no_onshape_url_is_404_as_in_the_old_api(api: Api, fake: FakeOnshape) -> None:
    # Legacy contract: "nothing available → 404"; old clients show "no drawing" on it.
    pid = hand_part(api, url=None)
    response = api.get(f"/api/parts/{pid}/drawing")
    assert response.status_code == 404
    assert response.json() == {
        "error": "This part has no drawing: upload a PDF or set its Onshape URL",
        "details": {"field": "onshapeUrl"},
    }
    assert fake.seen == []


def test_refresh_without_onshape_url_is_400(api: Api, fake: FakeOnshape) -> None:
    # Legacy contract: "refresh=true forces it; no Onshape URL → 400".
    pid = hand_part(api, url=None)
    response = api.get(f"/api/parts/{pid}/drawing?refresh=true")
    assert response.status_code == 400
    assert "no Onshape URL" in response.json()["error"]
    assert fake.seen == []


def test_stored_pdf_needs_no_onshape_url(api: Api, fake: FakeOnshape) -> None:
    pid = hand_part(api, url=None)
    api.post(f"/api/parts/{pid}/upload", files={"file": ("Sheet 1.pdf", io.BytesIO(PDF_V1))})
    response = api.get(f"/api/parts/{pid}/drawing")
    assert response.status_code == 200 and response.content == PDF_V1
    assert "Sheet_1.pdf" in response.headers["content-disposition"]
    assert api.get(f"/api/parts/{pid}/drawing?refresh=true").status_code == 400
    assert fake.seen == []


def test_malformed_onshape_url_is_400_naming_the_field(api: Api, fake: FakeOnshape) -> None:
    pid = hand_part(api, url="https://example.com/not/onshape")
    response = api.get(f"/api/parts/{pid}/drawing")
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "onshapeUrl"


def test_unknown_part_is_404(api: Api, fake: FakeOnshape) -> None:
    assert api.get("/api/parts/999/drawing").status_code == 404
    assert api.get("/api/parts/abc/drawing").status_code == 404


def test_drawing_needs_an_api_key(api: Api, fake: FakeOnshape) -> None:
    pid = hand_part(api)
    assert api.get(f"/api/parts/{pid}/drawing", key="").status_code == 401
    assert fake.seen == []


def test_credentials_never_reach_logs_or_answers(
    api: Api, fake: FakeOnshape, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [
        ACCESS,
        SECRET,
        base64.b64encode(f"{ACCESS}:{SECRET}".encode()).decode(),
    ]
    seen_text: list[str] = []
    ok = hand_part(api)
    api.get(f"/api/parts/{ok}/drawing")
    assert poll(api, ok).status_code == 200
    fake.rate_limit, fake.retry_after = 1, "0"
    fake.scenario = "failed"
    failed = hand_part(api)
    api.get(f"/api/parts/{failed}/drawing")
    seen_text.append(poll(api, failed).text)
    set_env(monkeypatch, secret_key="wrong-" + SECRET)
    secrets.append("wrong-" + SECRET)
    refused = hand_part(api)
    api.get(f"/api/parts/{refused}/drawing")
    seen_text.append(poll(api, refused).text)
    for pid in (ok, failed, refused):
        seen_text.append(api.get(f"/api/parts/{pid}/events").text)
        seen_text.append(api.get(f"/api/parts/{pid}/drawing/status").text)
    assert "Onshape translation" in caplog.text  # the client did log, at every level
    assert "127.0.0.1" in caplog.text  # httpx's request lines were captured too
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret not in text for text in seen_text)


# -- jobs in the database: every worker answers the same; a job worker can run them -------------


def test_the_outcome_is_kept_in_the_database_not_a_process(api: Api, fake: FakeOnshape) -> None:
    """What another server worker (or this one after a restart) answers: the failure, the
    same status and shape, without exporting again."""
    fake.scenario = "failed"
    pid = hand_part(api)
    api.get(f"/api/parts/{pid}/drawing")
    assert poll(api, pid).status_code == 422
    drawings.jobs.shutdown()  # nothing of the job is left in this process
    again = api.get(f"/api/parts/{pid}/drawing")
    assert again.status_code == 422
    assert FAILURE_REASON in again.json()["error"]
    assert len(fake.calls("create")) == 1


@pytest.mark.parametrize(
    "error",
    [
        RateLimited("Onshape is rate-limiting", retry_after=12.5),
        Unprocessable("Onshape could not translate the drawing: no views"),
        NotFound("Onshape does not know this document", {"field": "onshapeUrl"}),
        ValidationFailed("onshapeUrl", "not an Onshape URL"),
    ],
)
def test_a_failure_read_back_from_its_row_is_the_same_error(error: Exception) -> None:
    assert isinstance(error, drawings.AerieError)
    again = drawings._error_from(drawings._error_record(error))
    assert type(again) is type(error)
    assert again.status_code == error.status_code
    assert again.to_dict() == error.to_dict()


def _job_row(pid: int, state: str, **fields: Any) -> None:
    """The part's export as another server process left it in the database."""
    from aerie_app.db import session_scope
    from aerie_app.models import DrawingJob, Part

    with session_scope() as session:
        part = session.get(Part, pid)
        assert part is not None
        session.add(
            DrawingJob(
                part_id=pid,
                part_uuid=part.uuid,
                url=part.onshape_url or "",
                state=state,
                **fields,
            )
        )
        session.commit()


def _failed_row(pid: int, error: Exception, retry_in_s: float) -> None:
    from datetime import timedelta

    from aerie_app.models import utcnow

    assert isinstance(error, drawings.AerieError)
    _job_row(
        pid,
        "failed",
        error=drawings._error_record(error),
        ended_at=utcnow(),
        retry_at=utcnow() + timedelta(seconds=retry_in_s),
    )


def test_a_rate_limited_failure_sticks_until_its_retry_after(api: Api, fake: FakeOnshape) -> None:
    """Another worker was rate-limited: until Onshape's Retry-After this worker answers the same
    429 (no new export); afterwards a request exports again."""
    waiting, later = hand_part(api), hand_part(api)
    _failed_row(waiting, RateLimited("Onshape is rate-limiting", retry_after=40), 40)
    answer = api.get(f"/api/parts/{waiting}/drawing")
    assert answer.status_code == 429
    assert answer.json()["error"] == "Rate limited"
    assert int(answer.headers["retry-after"]) >= 40
    _failed_row(later, RateLimited("Onshape is rate-limiting", retry_after=1), -1)
    assert api.get(f"/api/parts/{later}/drawing").status_code == 202
    assert poll(api, later).status_code == 200
    assert len(fake.calls("create")) == 1


def test_an_export_whose_process_died_is_taken_over(api: Api, fake: FakeOnshape) -> None:
    """A job left ``running`` by a process killed mid-export is queued again once it is older
    than any export can take, and the next request runs it."""
    from datetime import timedelta

    import sqlalchemy as sa

    from aerie_app.db import session_scope
    from aerie_app.models import DrawingJob, utcnow

    pid = hand_part(api)
    _job_row(pid, "running", started_at=utcnow() - timedelta(hours=2))
    assert api.get(f"/api/parts/{pid}/drawing").status_code == 202
    assert poll(api, pid).status_code == 200
    with session_scope() as session:
        state = session.execute(
            sa.select(DrawingJob.state).where(DrawingJob.part_id == pid)
        ).scalar_one()
    assert state == "ready"
    assert len(fake.calls("create")) == 1


def test_a_fresh_running_export_is_not_started_twice(api: Api, fake: FakeOnshape) -> None:
    """Another worker's export in progress: this one answers pending and starts nothing."""
    from aerie_app.models import utcnow

    pid = hand_part(api)
    _job_row(pid, "running", started_at=utcnow())
    for _ in range(3):
        assert api.get(f"/api/parts/{pid}/drawing?refresh=1").status_code == 202
    assert drawings.jobs.wait_idle(5)
    assert fake.calls("create") == []


def test_with_jobs_off_the_web_a_worker_process_exports(
    api: Api, fake: FakeOnshape, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """AERIE_CONVERSION_IN_WEB=false: the API only queues the export (nothing is fetched while
    no worker runs); ``python -m aerie_app worker`` exports it, and the API serves the PDF."""
    monkeypatch.setenv("AERIE_CONVERSION_IN_WEB", "false")
    reset_caches()
    pid = hand_part(api)
    assert api.get(f"/api/parts/{pid}/drawing").status_code == 202
    time.sleep(1.0)
    assert fake.calls("create") == [], "the web process exported although jobs are off the web"
    assert api.get(f"/api/parts/{pid}/drawing").status_code == 202
    log = tmp_path / "worker.log"
    with job_worker(log):
        response = poll(api, pid, timeout=90)
        assert response.status_code == 200, log.read_text(errors="replace")
        assert response.content == fake.pdf
        assert len(fake.calls("create")) == 1
