"""Webhooks: Aerie tells other programs (a team's Discord bot, a shop display) what happened.

The part timeline is the outbox. Every write already records a timeline event in its own
transaction, so nothing can change without one; a dispatcher reads the events past its cursor,
turns them into notices (``part.created``, ``part.changed``, ``part.moved``,
``conversion.finished`` / ``conversion.failed``, ``drawing.ready``) and queues one delivery per
subscribed webhook, moving the cursor in the same transaction. Deliveries are POSTed with an
HMAC-SHA256 signature and retried with backoff until a 2xx answer or the last attempt; each is
leased while it is being sent, so several server processes share the queue and send it once.

Signature: ``X-Aerie-Signature: t=<unix seconds>,v1=<hex>`` where hex is
HMAC-SHA256(secret, ``f"{t}.{body}"``); a receiver recomputes it and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app.db import begin_write, is_sqlite, session_scope
from aerie_app.errors import NotFound, ValidationFailed
from aerie_app.models import Part, PartEvent, ShopSetting, Webhook, WebhookDelivery, utcnow
from aerie_app.schemas import iso, part_public
from aerie_app.workflow import Action

log = logging.getLogger("aerie.webhooks")

EVENTS = {
    "part.created": "A part was added",
    "part.changed": "A part's fields were edited",
    "part.moved": "A workflow action: reviewed, claimed, started, unclaimed, completed, reverted, "
    "marked (in)correct",
    "conversion.finished": "A STEP model was converted (3D model ready)",
    "conversion.failed": "A STEP model could not be converted",
    "drawing.ready": "A drawing was exported from Onshape",
}
PING = "ping"
MAX_WEBHOOKS = 20
CURSOR_KEY = "webhooks.cursor"
BATCH = 500  # timeline events read per dispatcher step
# Seconds between attempts: the first retry after 10 s, the last ~6 h after the first try.
BACKOFF_S: tuple[float, ...] = (10, 60, 300, 1800, 7200, 21600)
TIMEOUT_S = 10.0
LEASE_S = 60.0
# PostgreSQL hands out event ids before the transactions that hold them commit; reading only
# events older than this keeps a slow transaction's lower id from being passed by the cursor.
SETTLE_S = 2.0
MOVES = {a.value for a in Action}
DRAWING_KIND = "drawing"
DRAWING_READY_PREFIX = "Drawing exported"
CONVERSION_FAILED = ": failed: "


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for this body at this time."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance_s: float = 300) -> bool:
    """What a receiver does (and the tests): the signature matches and is recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


# --- subscriptions -------------------------------------------------------------------------


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed("url", "url is required")
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > 1000:
        raise ValidationFailed(
            "url", "url must be an http(s) address, e.g. https://bot.example/aerie"
        )
    if any(c.isspace() for c in text):
        raise ValidationFailed("url", "url must not contain spaces")
    return text


def _check_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events:
        raise ValidationFailed(
            "events", "events must be a list of one or more of: " + ", ".join(EVENTS)
        )
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValidationFailed(
            "events", f"Unknown event {unknown[0]!r}; one of: {', '.join(EVENTS)}"
        )
    return sorted(set(events), key=list(EVENTS).index)


def create(
    session: Session, *, url: Any, events: Any, description: Any = "", actor: str | None
) -> Webhook:
    """A new subscription with a fresh secret (shown to its creator once, in the answer)."""
    if description is not None and not isinstance(description, str):
        raise ValidationFailed("description", "description must be text")
    hook = Webhook(
        url=_check_url(url),
        events=_check_events(events),
        description=(description or "").strip()[:200],
        secret="whsec_" + secrets.token_urlsafe(32),
        created_by=actor,
    )
    begin_write(session)
    count = session.exec(select(sa.func.count()).select_from(Webhook)).one()
    if count >= MAX_WEBHOOKS:
        raise ValidationFailed("url", f"At most {MAX_WEBHOOKS} webhooks")
    _start_from_now(session)
    session.add(hook)
    session.commit()
    return hook


def get(session: Session, hook_id: int) -> Webhook:
    hook = session.get(Webhook, hook_id)
    if hook is None:
        raise NotFound("Webhook not found", {"id": hook_id})
    return hook


def list_all(session: Session) -> Sequence[Webhook]:
    return session.exec(select(Webhook).order_by(col(Webhook.id))).all()


def _start_from_now(session: Session) -> None:
    """With no active subscriber the cursor stands still; the first one (new or switched back
    on) starts from now: it gets what happens next, not the season's history."""
    if not _any_active(session):
        _set_cursor(session, _newest_event(session))


def set_active(session: Session, hook_id: int, active: bool) -> Webhook:
    begin_write(session)
    hook = get(session, hook_id)
    if active and not hook.active:
        _start_from_now(session)
    hook.active = active
    session.add(hook)
    session.commit()
    return hook


def delete(session: Session, hook_id: int) -> None:
    begin_write(session)
    hook = get(session, hook_id)
    session.execute(sa.delete(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == hook.id))
    session.delete(hook)
    session.commit()


def public(hook: Webhook, *, with_secret: bool = False) -> dict[str, Any]:
    out = {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "description": hook.description,
        "active": hook.active,
        "createdAt": iso(hook.created_at),
        "createdBy": hook.created_by,
    }
    if with_secret:
        out["secret"] = hook.secret
    return out


def delivery_public(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "webhookId": row.webhook_id,
        "event": row.event,
        "partId": row.part_id,
        "status": row.status,
        "attempts": row.attempts,
        "nextAttemptAt": iso(row.next_at) if row.status == "pending" else None,
        "lastStatus": row.last_status,
        "lastError": row.last_error,
        "createdAt": iso(row.created_at),
        "deliveredAt": iso(row.delivered_at),
    }


def deliveries(session: Session, hook_id: int, *, limit: int = 50) -> Sequence[WebhookDelivery]:
    get(session, hook_id)
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook_id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
    )
    return session.exec(stmt).all()


def ping(session: Session, hook_id: int) -> WebhookDelivery:
    """Queue a ``ping`` to this webhook now (to check a receiver and its signature check)."""
    begin_write(session)
    hook = get(session, hook_id)
    row = _delivery(hook, PING, None, {"message": "Aerie webhook test"}, utcnow())
    session.add(row)
    session.commit()
    return row


def redeliver(session: Session, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again from its first attempt (after the receiver was fixed)."""
    begin_write(session)
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        raise NotFound("Delivery not found", {"id": delivery_id})
    row.status, row.attempts, row.next_at, row.lease_until = "pending", 0, utcnow(), None
    session.add(row)
    session.commit()
    return row


# --- from the timeline to deliveries -------------------------------------------------------


@dataclass
class Notice:
    event: str
    part_id: int
    at: datetime
    change: dict[str, Any]


def _cursor(session: Session) -> int | None:
    row = session.get(ShopSetting, CURSOR_KEY)
    return None if row is None or row.value is None else int(row.value)


def _set_cursor(session: Session, value: int) -> None:
    row = session.get(ShopSetting, CURSOR_KEY) or ShopSetting(key=CURSOR_KEY)
    row.value = int(value)
    session.add(row)


def _any_active(session: Session) -> bool:
    return session.exec(select(Webhook.id).where(col(Webhook.active)).limit(1)).first() is not None


def _newest_event(session: Session) -> int:
    return int(session.exec(select(sa.func.max(PartEvent.id))).one() or 0)


def notices(events: Sequence[PartEvent]) -> list[Notice]:
    """Timeline lines as webhook notices; one ``part.changed`` for the fields of one edit."""
    out: list[Notice] = []
    for event in events:
        kind, note = event.kind, event.note or ""
        base = {"kind": kind, "actor": event.actor, "note": event.note}
        if kind == "created":
            out.append(Notice("part.created", event.part_id, event.at, base))
        elif kind == "edit":
            last = out[-1] if out else None
            if (
                last is not None
                and last.event == "part.changed"
                and last.part_id == event.part_id
                and last.at == event.at
            ):
                last.change["fields"][event.field or ""] = {"old": event.old, "new": event.new}
                continue
            fields = {event.field or "": {"old": event.old, "new": event.new}}
            out.append(Notice("part.changed", event.part_id, event.at, base | {"fields": fields}))
        elif kind in MOVES:
            out.append(Notice("part.moved", event.part_id, event.at, base | {"action": kind}))
        elif kind == "conversion":
            name = "conversion.failed" if CONVERSION_FAILED in note else "conversion.finished"
            out.append(Notice(name, event.part_id, event.at, base))
        elif kind == DRAWING_KIND and note.startswith(DRAWING_READY_PREFIX):
            out.append(Notice("drawing.ready", event.part_id, event.at, base))
    return out


def _delivery(
    hook: Webhook, event: str, part_id: int | None, data: dict[str, Any], now: datetime
) -> WebhookDelivery:
    assert hook.id is not None
    body = {"event": event, "at": iso(now), "webhookId": hook.id, **data}
    return WebhookDelivery(
        webhook_id=hook.id,
        event=event,
        part_id=part_id,
        payload=orjson.dumps(body).decode(),
        next_at=now,
        created_at=now,
    )


def enqueue_new(session: Session, *, now: datetime | None = None) -> int:
    """One dispatcher step: timeline events past the cursor → deliveries. Returns how many.

    The cursor moves in the same transaction as the deliveries it caused (SQLite's write lock,
    or the cursor row's lock on PostgreSQL), so two processes never queue an event twice.
    """
    now = now or utcnow()
    # Reads first: with no subscriber, or nothing new, no write lock is taken.
    cursor = _cursor(session)
    if cursor is None or _newest_event(session) <= cursor or not _any_active(session):
        session.commit()
        return 0
    begin_write(session)
    cursor_row = session.exec(
        select(ShopSetting).where(ShopSetting.key == CURSOR_KEY).with_for_update()
    ).first()
    if cursor_row is None or cursor_row.value is None:
        session.commit()
        return 0
    cursor = int(cursor_row.value)
    hooks = [h for h in list_all(session) if h.active]
    stmt = select(PartEvent).where(col(PartEvent.id) > cursor).order_by(col(PartEvent.id))
    if not is_sqlite():
        stmt = stmt.where(col(PartEvent.at) <= now - timedelta(seconds=SETTLE_S))
    events = session.exec(stmt.limit(BATCH)).all()
    if not events:
        session.commit()
        return 0
    queued = 0
    found = notices(events)
    ids = {n.part_id for n in found}
    current = {
        p.id: part_public(p) for p in session.exec(select(Part).where(col(Part.id).in_(ids)))
    }
    for notice in found:
        part = current.get(notice.part_id)
        if part is None:
            continue  # deleted since; its timeline went with it
        for hook in hooks:
            if notice.event in hook.events:
                data = {"part": part, "change": notice.change | {"at": iso(notice.at)}}
                session.add(_delivery(hook, notice.event, notice.part_id, data, now))
                queued += 1
    _set_cursor(session, int(events[-1].id or cursor))
    session.commit()
    return queued


# --- sending -------------------------------------------------------------------------------


def _claim(session: Session, now: datetime, limit: int) -> list[int]:
    due = session.exec(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == "pending", col(WebhookDelivery.next_at) <= now)
        .where(
            sa.or_(
                col(WebhookDelivery.lease_until).is_(None),
                col(WebhookDelivery.lease_until) < now,
            )
        )
        .order_by(col(WebhookDelivery.next_at))
        .limit(limit)
    ).all()
    claimed: list[int] = []
    for delivery_id in due:
        begin_write(session)
        result = session.execute(
            sa.update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.status) == "pending",
                sa.or_(
                    col(WebhookDelivery.lease_until).is_(None),
                    col(WebhookDelivery.lease_until) < now,
                ),
            )
            .values(lease_until=now + timedelta(seconds=LEASE_S))
        )
        session.commit()
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(int(delivery_id))  # type: ignore[arg-type]
    return claimed


def _send(
    client: httpx.Client, hook: Webhook, row: WebhookDelivery
) -> tuple[int | None, str | None]:
    body = row.payload.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Aerie-Webhooks/1",
        "X-Aerie-Event": row.event,
        "X-Aerie-Delivery": str(row.id),
        "X-Aerie-Signature": sign(hook.secret, int(time.time()), body),
    }
    try:
        response = client.post(hook.url, content=body, headers=headers)
    except httpx.TimeoutException:
        return None, f"No answer within {TIMEOUT_S:g} s"
    except httpx.HTTPError as err:
        return None, f"Could not connect: {type(err).__name__}"
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"Answered {response.status_code}"


def deliver_due(
    *, now: datetime | None = None, client: httpx.Client | None = None, limit: int = 20
) -> int:
    """Send what is due (claimed first); returns how many were attempted."""
    now = now or utcnow()
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
    try:
        with session_scope() as session:
            claimed = _claim(session, now, limit)
            for delivery_id in claimed:
                row = session.get(WebhookDelivery, delivery_id)
                hook = session.get(Webhook, row.webhook_id) if row is not None else None
                if row is None or hook is None:
                    continue
                session.commit()  # no transaction held open while the receiver thinks
                code, error = _send(http, hook, row)
                _record(session, delivery_id, code, error, now)
            return len(claimed)
    finally:
        if own:
            http.close()


def _record(
    session: Session, delivery_id: int, code: int | None, error: str | None, now: datetime
) -> None:
    begin_write(session)
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        session.commit()
        return
    row.attempts += 1
    row.last_status, row.last_error, row.lease_until = code, error, None
    if error is None:
        row.status, row.delivered_at = "delivered", utcnow()
    elif row.attempts > len(BACKOFF_S):
        row.status = "failed"
    else:
        row.next_at = now + timedelta(seconds=BACKOFF_S[row.attempts - 1])
    session.add(row)
    session.commit()


class Dispatcher:
    """A daemon thread per server process: timeline → deliveries → receivers, every second."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    with session_scope() as session:
                        enqueue_new(session)
                    deliver_due(client=client)
                except Exception:
                    log.exception("webhook dispatcher")
                self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread = None


dispatcher = Dispatcher()
