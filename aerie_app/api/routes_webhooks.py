"""Webhook subscriptions and their delivery log (admin scope)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from aerie_app.api.boundary import parse_id
from aerie_app.api.deps import Admin, SessionDep
from aerie_app.errors import ValidationFailed
from aerie_app.services import webhooks

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])

EXAMPLE = {
    "url": "https://bot.example/aerie",
    "events": ["part.moved", "conversion.failed"],
    "description": "Discord build-season channel",
}


def hook_id(raw: str) -> int:
    return parse_id(raw, "Webhook not found")


@router.get("", summary="List webhooks (never their secrets)")
def list_webhooks(session: SessionDep, _: Admin) -> dict[str, Any]:
    return {
        "webhooks": [webhooks.public(h) for h in webhooks.list_all(session)],
        "events": webhooks.EVENTS,
    }


@router.post(
    "",
    status_code=201,
    summary="Subscribe a URL to events; the signing secret is returned only here",
    description=(
        "Aerie POSTs each event as JSON (`event`, `at`, `part`, `change`) with the headers "
        "`X-Aerie-Event`, `X-Aerie-Delivery` and `X-Aerie-Signature: t=<unix>,v1=<hex>`, where "
        "hex is HMAC-SHA256(secret, `<t>.<body>`). A 2xx answer within 10 s is a delivery; "
        "anything else is retried after 10 s, 1 min, 5 min, 30 min, 2 h and 6 h, then marked failed."
    ),
)
def create_webhook(
    session: SessionDep,
    principal: Admin,
    body: Annotated[
        dict[str, Any] | None, Body(openapi_examples={"hook": {"value": EXAMPLE}})
    ] = None,
) -> dict[str, Any]:
    data = body or {}
    hook = webhooks.create(
        session,
        url=data.get("url"),
        events=data.get("events"),
        description=data.get("description", ""),
        actor=principal.name,
    )
    return webhooks.public(hook, with_secret=True)


@router.patch("/{webhook_id}", summary="Switch a webhook off or on (`active`)")
def update_webhook(
    session: SessionDep,
    _: Admin,
    webhook_id: str,
    body: Annotated[
        dict[str, Any] | None, Body(openapi_examples={"off": {"value": {"active": False}}})
    ] = None,
) -> dict[str, Any]:
    active = (body or {}).get("active")
    if not isinstance(active, bool):
        raise ValidationFailed("active", "active must be true or false")
    return webhooks.public(webhooks.set_active(session, hook_id(webhook_id), active))


@router.delete("/{webhook_id}", summary="Delete a webhook and its delivery log")
def delete_webhook(session: SessionDep, _: Admin, webhook_id: str) -> dict[str, Any]:
    webhooks.delete(session, hook_id(webhook_id))
    return {"message": "Webhook deleted"}


@router.post("/{webhook_id}/ping", status_code=202, summary="Send a test event (`ping`) now")
def ping_webhook(session: SessionDep, _: Admin, webhook_id: str) -> dict[str, Any]:
    return webhooks.delivery_public(webhooks.ping(session, hook_id(webhook_id)))


@router.get("/{webhook_id}/deliveries", summary="The newest deliveries to a webhook")
def list_deliveries(
    session: SessionDep,
    _: Admin,
    webhook_id: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    rows = webhooks.deliveries(session, hook_id(webhook_id), limit=limit)
    return {"deliveries": [webhooks.delivery_public(r) for r in rows]}


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    status_code=202,
    summary="Send a delivery again from its first attempt",
)
def redeliver(session: SessionDep, _: Admin, delivery_id: str) -> dict[str, Any]:
    row = webhooks.redeliver(session, parse_id(delivery_id, "Delivery not found"))
    return webhooks.delivery_public(row)
