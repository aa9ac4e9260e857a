"""Review pin routes: ``/api/parts/{id}/pins`` (list, add) and ``/api/parts/{id}/pins/{n}``
(tick, reword, keep after a geometry change, remove). The rules are in services/pins.py; a part
with open pins answers ``/complete`` with 409 naming them (workflow.complete)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from aerie_app.api.deps import Reader, SessionDep, Writer
from aerie_app.api.routes_parts import ActionBody, acting_person, path_id
from aerie_app.api.writes import run_write
from aerie_app.errors import ValidationFailed
from aerie_app.permissions import Permission
from aerie_app.services import pins

router = APIRouter(prefix="/api/parts", tags=["pins"])
User = Annotated[str | None, Header(alias="X-Aerie-User")]
PIN_FIELDS = frozenset({"note", "point", "normal", "body", "face", "actor"})
EDIT_FIELDS = frozenset({"note", "ticked", "keep", "actor"})


def pin_number(number: str) -> int:
    if not number.isascii() or not number.isdigit() or len(number) > 6:
        raise ValidationFailed("number", "A pin number is a whole number, e.g. 1")
    return int(number)


def _object(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed("body", "Send a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationFailed(unknown[0], f"Unknown field {unknown[0]!r}")
    return body


def _flag(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValidationFailed(key, f"{key} must be true or false")
    return value


@router.get("/{part_id}/pins", summary="The part's review pins, in number order")
def list_pins(session: SessionDep, _: Reader, part_id: str) -> dict[str, Any]:
    rows = pins.list_pins(session, path_id(part_id))
    public = [pins.pin_public(pin) for pin in rows]
    return {"pins": public, "open": sum(1 for p in public if not p["ticked"])}


@router.post(
    "/{part_id}/pins",
    status_code=201,
    summary="Add a numbered pin: note, and where it was clicked on the model (point [x, y, z] mm "
    "in the STEP axes, normal, body, face); without point it is a plain checklist item",
)
async def add_pin(
    principal: Writer, part_id: str, body: ActionBody = None, user: User = None
) -> JSONResponse:
    principal.require(Permission.PIN)
    pid = path_id(part_id)
    data = _object(body, PIN_FIELDS)
    actor = acting_person(principal, data, user)

    def work(session: Any) -> dict[str, Any]:
        pin = pins.add_pin(
            session,
            pid,
            note=data.get("note"),
            point=data.get("point"),
            normal=data.get("normal"),
            body=data.get("body"),
            face=data.get("face"),
            actor=actor,
        )
        return pins.pin_public(pin)

    return JSONResponse(await run_write(work), status_code=201)


@router.patch(
    "/{part_id}/pins/{number}",
    summary="Tick a pin (ticked: true/false), reword it (note) or keep it after the geometry "
    "changed (keep: true)",
)
async def edit_pin(
    principal: Writer, part_id: str, number: str, body: ActionBody = None, user: User = None
) -> dict[str, Any]:
    pid, n = path_id(part_id), pin_number(number)
    data = _object(body, EDIT_FIELDS)
    ticked, keep = _flag(data, "ticked"), _flag(data, "keep")
    if ticked is None and not keep and data.get("note") is None:
        raise ValidationFailed("body", "Send ticked, note or keep")
    # Ticking is the maker's; rewording or keeping a pin the reviewer's.
    principal.require(
        Permission.PIN if keep or data.get("note") is not None else Permission.TICK_PIN
    )
    actor = acting_person(principal, data, user)

    def work(session: Any) -> dict[str, Any]:
        pin = None
        if data.get("note") is not None or keep:
            pin = pins.edit(session, pid, n, note=data.get("note"), keep=bool(keep), actor=actor)
        if ticked is not None:
            pin = pins.tick(session, pid, n, ticked=ticked, actor=actor)
        assert pin is not None
        return pins.pin_public(pin)

    # Two units of work when a body both rewords and ticks: not retried on the loop.
    return await run_write(work, on_loop=ticked is None or (data.get("note") is None and not keep))


@router.delete("/{part_id}/pins/{number}", summary="Remove a pin")
async def delete_pin(
    principal: Writer, part_id: str, number: str, user: User = None
) -> dict[str, str]:
    principal.require(Permission.PIN)
    pid, n = path_id(part_id), pin_number(number)
    actor = acting_person(principal, None, user)
    await run_write(lambda session: pins.remove(session, pid, n, actor=actor))
    return {"message": f"Pin #{n} removed"}
