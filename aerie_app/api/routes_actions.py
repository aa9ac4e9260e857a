"""The workflow's action routes: ``POST /api/parts/{id}/approve``, ``/assign``, ``/start``,
``/unclaim``, ``/complete``, ``/revert``, ``/mark-incorrect``, ``/mark-correct``.

One route per action, all alike: the body becomes the action's arguments here, the key, scope,
version (``If-Match`` or ``version``) and acting person are checked as for an edit, and the action
itself is :func:`aerie_app.services.parts.perform`, run where writes run (api/writes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import Response

from aerie_app import permissions
from aerie_app.api.deps import Writer
from aerie_app.api.routes_parts import (
    ActionBody,
    acting_person,
    expected_version_from,
    part_response,
    path_id,
)
from aerie_app.api.writes import run_write
from aerie_app.errors import ValidationFailed
from aerie_app.services import parts
from aerie_app.services.keys import Principal
from aerie_app.workflow import Action

# Included right after the parts router, under the same prefix and tag.
router = APIRouter(prefix="/api/parts", tags=["parts"])


def _text(body: dict[str, Any] | None, *keys_: str) -> str | None:
    for key in keys_:
        value = (body or {}).get(key)
        if isinstance(value, str):
            return value
        if value is not None:
            raise ValidationFailed(key, f"{key} must be text")
    return None


def _info(body: dict[str, Any] | None) -> dict[str, Any] | None:
    from aerie_app.schemas import _misc_info

    raw = (body or {}).get("miscInfo", (body or {}).get("misc_info"))
    return _misc_info(raw)


def _quantity(body: dict[str, Any] | None) -> int | None:
    raw = (body or {}).get("quantity")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValidationFailed("quantity", "quantity must be a whole number")
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed("quantity", "quantity must be a whole number") from None


async def _act(
    principal: Principal,
    part_id: str,
    action: Action,
    body: dict[str, Any] | None,
    if_match: str | None,
    user: str | None,
    **kwargs: Any,
) -> Response:
    principal.require(permissions.ACTIONS[action])
    pid = path_id(part_id)
    actor = acting_person(principal, body, user)
    expected = expected_version_from(if_match, body)
    part = await run_write(
        lambda session: parts.perform(
            session, pid, action, actor=actor, expected_version=expected, **kwargs
        )
    )
    return part_response(part)


IfMatch = Annotated[str | None, Header()]
User = Annotated[str | None, Header(alias="X-Aerie-User")]


def _approve_args(body: dict[str, Any] | None) -> dict[str, Any]:
    confirm = (body or {}).get("confirmNoFit", False)
    if not isinstance(confirm, bool):
        raise ValidationFailed("confirmNoFit", "confirmNoFit must be true or false")
    return {"reviewer": _text(body, "reviewer"), "fields": _info(body), "confirm_no_fit": confirm}


def _assign_args(body: dict[str, Any] | None) -> dict[str, Any]:
    name = _text(body, "assigned", "name")
    if not name or not name.strip():
        raise ValidationFailed("assigned", "assigned (the person's name) is required")
    return {"name": name}


def _complete_args(body: dict[str, Any] | None) -> dict[str, Any]:
    info = _info(body) or {}
    # The old client sent the storage location inside miscInfo.
    stored = info.pop("storage") if isinstance(info.get("storage"), str) else None
    return {
        "quantity": _quantity(body),
        "storage_location": _text(body, "storage") or stored,
        "fields": info,
    }


# path, action, summary, how the body becomes the action's arguments
ACTION_ROUTES: list[tuple[str, Action, str, Callable[[dict[str, Any] | None], dict[str, Any]]]] = [
    (
        "approve",
        Action.APPROVE,
        "Review → the type's queue (reviewer, custom fields; confirmNoFit for a part that fits "
        "no machine)",
        _approve_args,
    ),
    (
        "assign",
        Action.ASSIGN,
        "Claim a part for someone (409 if someone else has it)",
        _assign_args,
    ),
    (
        "start",
        Action.START,
        "Mark work as started (optionally crediting a maker)",
        lambda body: {"name": _text(body, "assigned", "name")},
    ),
    (
        "unclaim",
        Action.UNCLAIM,
        "Give a part back (optional storage location)",
        lambda body: {"storage_location": _text(body, "storage")},
    ),
    ("complete", Action.COMPLETE, "Complete all or `quantity` pieces", _complete_args),
    ("revert", Action.REVERT, "Completed → back to its type's queue", lambda body: {}),
    (
        "mark-incorrect",
        Action.MARK_INCORRECT,
        "Flag a completed part as made incorrectly",
        lambda body: {},
    ),
    ("mark-correct", Action.MARK_CORRECT, "Clear the made-incorrectly flag", lambda body: {}),
]


def _register(
    path: str,
    action: Action,
    summary: str,
    arguments: Callable[[dict[str, Any] | None], dict[str, Any]],
) -> None:
    """One POST route per workflow action; all share auth, versioning and the error shape."""

    async def endpoint(
        p: Writer,
        part_id: str,
        body: ActionBody = None,
        if_match: IfMatch = None,
        user: User = None,
    ) -> Response:
        return await _act(p, part_id, action, body, if_match, user, **arguments(body))

    endpoint.__name__ = endpoint.__qualname__ = f"action_{action.value}"
    router.post(f"/{{part_id}}/{path}", summary=summary)(endpoint)


for _route in ACTION_ROUTES:
    _register(*_route)
