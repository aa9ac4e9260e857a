"""Webhooks against a real HTTP receiver on loopback that succeeds, fails, hangs or is not there."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aerie_app.models import PartEvent, utcnow
from aerie_app.services import webhooks
from tests.api.conftest import Api

pytestmark = pytest.mark.api


class Receiver:
    """Answers each POST with the next planned behaviour ("ok", "fail", "hang"), then "ok"."""

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.got: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                mode = receiver.plan.pop(0) if receiver.plan else "ok"
                receiver.got.append({"headers": dict(self.headers), "body": body, "mode": mode})
                if mode == "hang":
                    time.sleep(1.5)
                code = 500 if mode == "fail" else 204
                try:
                    self.send_response(code)
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [json.loads(g["body"])["event"] for g in self.got]


@pytest.fixture(autouse=True)
def no_settling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events are read at once (the PostgreSQL settling wait has its own test)."""
    monkeypatch.setattr(webhooks, "SETTLE_S", 0.0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def subscribe(api: Api, url: str, events: list[str]) -> dict[str, Any]:
    response = api.post("/api/webhooks", json={"url": url, "events": events})
    assert response.status_code == 201, response.text
    return dict(response.json())


def step(now: Any = None) -> int:
    """One dispatcher step, as the server's thread runs it every second."""
    from aerie_app.db import session_scope

    with session_scope() as session:
        webhooks.enqueue_new(session, now=now)
    return webhooks.deliver_due(now=now)


def deliveries(api: Api, hook: dict[str, Any]) -> list[dict[str, Any]]:
    return list(api.get(f"/api/webhooks/{hook['id']}/deliveries").json()["deliveries"])


def test_signatures_verify_and_reject_tampering() -> None:
    body = b'{"event":"ping"}'
    header = webhooks.sign("whsec_x", int(time.time()), body)
    assert webhooks.verify("whsec_x", header, body)
    assert not webhooks.verify("whsec_x", header, body + b" ")
    assert not webhooks.verify("whsec_other", header, body)
    stale = webhooks.sign("whsec_x", int(time.time()) - 3600, body)
    assert not webhooks.verify("whsec_x", stale, body)
    assert not webhooks.verify("whsec_x", "garbage", body)


def test_a_new_part_is_delivered_signed_to_its_subscriber(api: Api, receiver: Receiver) -> None:
    api.create(name="Before the webhook")  # history is not replayed
    hook = subscribe(api, receiver.url, ["part.created"])
    assert hook["secret"].startswith("whsec_")
    assert "secret" not in api.get("/api/webhooks").json()["webhooks"][0]
    part = api.create(name="Intake plate", partId="IN-1")
    assert step() == 1
    (got,) = receiver.got
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["x-aerie-event"] == "part.created"
    assert webhooks.verify(hook["secret"], headers["x-aerie-signature"], got["body"])
    body = json.loads(got["body"])
    assert body["event"] == "part.created" and body["webhookId"] == hook["id"]
    assert body["part"]["id"] == part["id"] and body["part"]["partId"] == "IN-1"
    assert body["change"]["kind"] == "created"
    (log,) = deliveries(api, hook)
    assert log["status"] == "delivered" and log["attempts"] == 1 and log["lastStatus"] == 204
    assert step() == 0  # sent once


def test_edits_and_moves_reach_only_the_hooks_that_asked(api: Api, receiver: Receiver) -> None:
    changes = subscribe(api, receiver.url, ["part.changed"])
    moves = subscribe(api, receiver.url + "?moves", ["part.moved"])
    part = api.create(name="Gusset", amount=1)
    response = api.put(f"/api/parts/{part['id']}", json={"name": "Gusset L", "amount": 3})
    assert response.status_code == 200
    assert api.post(f"/api/parts/{part['id']}/approve", json={"reviewer": "Ada"}).status_code == 200
    step()
    assert sorted(receiver.events()) == ["part.changed", "part.moved"]
    changed = next(json.loads(g["body"]) for g in receiver.got if b"part.changed" in g["body"])
    # One notice for one edit, with each field's old and new value.
    assert changed["change"]["fields"] == {
        "name": {"old": "Gusset", "new": "Gusset L"},
        "amount": {"old": "1", "new": "3"},
    }
    moved = next(json.loads(g["body"]) for g in receiver.got if b"part.moved" in g["body"])
    assert moved["change"]["action"] == "approve" and moved["part"]["category"] != "review"
    assert len(deliveries(api, changes)) == 1 and len(deliveries(api, moves)) == 1


def test_failures_are_retried_with_backoff_until_delivered(api: Api, receiver: Receiver) -> None:
    hook = subscribe(api, receiver.url, ["part.created"])
    api.create(name="Retry me")
    receiver.plan = ["fail", "fail"]
    now = utcnow()
    step(now)
    (log,) = deliveries(api, hook)
    assert (log["status"], log["attempts"], log["lastStatus"]) == ("pending", 1, 500)
    assert log["lastError"] == "Answered 500"
    assert step(now + timedelta(seconds=5)) == 0  # not due before 10 s
    step(now + timedelta(seconds=11))
    assert deliveries(api, hook)[0]["attempts"] == 2
    assert step(now + timedelta(seconds=11 + 30)) == 0  # the next wait is a minute
    step(now + timedelta(seconds=11 + 61))
    (log,) = deliveries(api, hook)
    assert (log["status"], log["attempts"], log["lastStatus"], log["lastError"]) == (
        "delivered",
        3,
        204,
        None,
    )
    # The same body every time: a receiver can de-duplicate by X-Aerie-Delivery.
    assert len({g["body"] for g in receiver.got}) == 1
    assert len({g["headers"]["X-Aerie-Delivery"] for g in receiver.got}) == 1


def test_a_receiver_that_hangs_or_is_gone_is_logged_and_given_up_on(
    api: Api, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_S", 0.5)
    slow = subscribe(api, receiver.url, ["part.created"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    gone = subscribe(api, f"http://127.0.0.1:{closed_port}/hook", ["part.created"])
    receiver.plan = ["hang"]
    api.create(name="Nobody listens")
    now = utcnow()
    step(now)
    assert deliveries(api, slow)[0]["lastError"] == "No answer within 0.5 s"
    assert deliveries(api, gone)[0]["lastError"].startswith("Could not connect")
    # Every retry fails for the missing receiver: after the last one it is marked failed.
    later = now
    for wait in webhooks.BACKOFF_S:
        later += timedelta(seconds=wait + 1)
        step(later)
    (log,) = deliveries(api, gone)
    assert log["status"] == "failed" and log["attempts"] == len(webhooks.BACKOFF_S) + 1
    assert log["nextAttemptAt"] is None
    assert deliveries(api, slow)[0]["status"] == "delivered"  # the hang was a one-off
    # Fixed receiver: redeliver starts it again from the first attempt.
    response = api.patch(f"/api/webhooks/{gone['id']}", json={"active": True})
    assert response.status_code == 200
    redo = api.post(f"/api/webhooks/deliveries/{log['id']}/redeliver")
    assert redo.status_code == 202 and redo.json()["status"] == "pending"
    assert redo.json()["attempts"] == 0


def test_two_workers_send_each_delivery_once(api: Api, receiver: Receiver) -> None:
    subscribe(api, receiver.url, ["part.created"])
    for i in range(5):
        api.create(name=f"Plate {i}")
    from aerie_app.db import session_scope

    with session_scope() as session:
        assert webhooks.enqueue_new(session) == 5
    with session_scope() as session:
        assert webhooks.enqueue_new(session) == 0  # the cursor moved
    now = utcnow()
    threads = [threading.Thread(target=webhooks.deliver_due, kwargs={"now": now}) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [g["headers"]["X-Aerie-Delivery"] for g in receiver.got]
    assert len(ids) == 5 and len(set(ids)) == 5


def test_on_postgresql_fresh_events_wait_to_settle(
    api: Api, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aerie_app.db import is_sqlite, session_scope

    monkeypatch.setattr(webhooks, "SETTLE_S", 2.0)
    subscribe(api, receiver.url, ["part.created"])
    api.create(name="Just made")
    now = utcnow()
    with session_scope() as session:
        # SQLite commits in id order (one writer); PostgreSQL waits until a lower id that is
        # still in an open transaction cannot appear any more.
        assert webhooks.enqueue_new(session, now=now) == (1 if is_sqlite() else 0)
    with session_scope() as session:
        webhooks.enqueue_new(session, now=now + timedelta(seconds=3))
    webhooks.deliver_due(now=now + timedelta(seconds=3))
    assert receiver.events() == ["part.created"]


def test_a_switched_off_hook_gets_nothing_and_starts_from_now_when_back(
    api: Api, receiver: Receiver
) -> None:
    hook = subscribe(api, receiver.url, ["part.created"])
    assert (
        api.patch(f"/api/webhooks/{hook['id']}", json={"active": False}).json()["active"] is False
    )
    api.create(name="While off")
    step()
    assert receiver.got == []
    api.patch(f"/api/webhooks/{hook['id']}", json={"active": True})
    api.create(name="While on")
    step()
    assert [json.loads(g["body"])["part"]["name"] for g in receiver.got] == ["While on"]


def test_ping_and_delete(api: Api, receiver: Receiver) -> None:
    hook = subscribe(api, receiver.url, ["drawing.ready"])
    response = api.post(f"/api/webhooks/{hook['id']}/ping")
    assert response.status_code == 202 and response.json()["event"] == "ping"
    step()
    assert receiver.events() == ["ping"]
    assert api.delete(f"/api/webhooks/{hook['id']}").status_code == 200
    assert api.get("/api/webhooks").json()["webhooks"] == []
    assert api.get(f"/api/webhooks/{hook['id']}/deliveries").status_code == 404


def test_timeline_lines_map_to_webhook_events() -> None:
    now = utcnow()

    def event(kind: str, note: str | None = None, field: str | None = None) -> PartEvent:
        return PartEvent(part_id=1, kind=kind, note=note, field=field, at=now)

    found = webhooks.notices(
        [
            event("conversion", note="plate.step: 3D model ready"),
            event("conversion", note="plate.step: failed: no solids in the file"),
            event("drawing", note="Drawing exported from Onshape as x.pdf (revision 2)"),
            event("drawing", note="Drawing export failed: 404"),
            event("upload", note="plate.step"),
            event("complete"),
        ]
    )
    assert [n.event for n in found] == [
        "conversion.finished",
        "conversion.failed",
        "drawing.ready",
        "part.moved",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://x/y", "events": ["part.created"]}, "url"),
        ({"url": "not a url", "events": ["part.created"]}, "url"),
        ({"events": ["part.created"]}, "url"),
        ({"url": "https://x.example/h", "events": []}, "events"),
        ({"url": "https://x.example/h", "events": ["part.exploded"]}, "events"),
        ({"url": "https://x.example/h", "events": "part.created"}, "events"),
        (
            {"url": "https://x.example/h", "events": ["part.created"], "description": 5},
            "description",
        ),
    ],
)
def test_bad_subscriptions_are_refused(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/api/webhooks", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["details"]["field"] == field
    assert api.get("/api/webhooks").json()["webhooks"] == []


def test_webhooks_are_for_admins(api: Api, make_key: Any) -> None:
    writer = make_key("write")
    response = api.post(
        "/api/webhooks", json={"url": "https://x.example/h", "events": ["ping"]}, key=writer
    )
    assert response.status_code == 403
    assert api.get("/api/webhooks", key="").status_code == 401
    assert api.delete("/api/webhooks/99").status_code == 404
    assert api.patch("/api/webhooks/abc", json={"active": True}).status_code == 404
    assert api.post("/api/webhooks/deliveries/5/redeliver").status_code == 404
