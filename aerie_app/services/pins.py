"""Review pins: a reviewer's numbered notes on a part's 3D model, and the checklist they make.

A pin keeps the point that was clicked (the STEP model's axes, mm), the face's normal there, and
which face it was (the body's name in the model and the triangle of its mesh), so the viewer can
draw it where it was put. Every pin is a checklist item: a maker ticks it once done, and the part
cannot be Completed while one is open (:func:`aerie_app.workflow.complete`). When a new revision's
geometry differs from the one a pin was placed on, the pin goes stale: its tick is cleared and it
is open again until a reviewer keeps it (it still applies) or removes it. A re-upload of the same
geometry leaves pins as they were. Every change is a timeline line, so ticks are attributed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app.db import begin_write, commit
from aerie_app.errors import NotFound, ValidationFailed
from aerie_app.models import PartEvent, PartFile, ReviewPin, utcnow
from aerie_app.schemas import iso
from aerie_app.services import parts

NOTE_MAX = 200
BODY_MAX = 200
PINS_MAX = 100  # per part: a checklist, not a point cloud
# How far outside the model's box a point may lie (a click lands on the surface; rounding and
# the mesh's deviation from the exact surface stay well inside this).
BOX_SLACK_MM = 1.0
BOX_SLACK_SHARE = 0.02


def _event(session: Session, part_id: int, actor: str | None, note: str) -> None:
    """The timeline line, in the same transaction as the pin's change."""
    session.add(PartEvent(part_id=part_id, kind="pin", actor=_who(actor), note=note))


def _who(actor: str | None) -> str | None:
    return (actor or "").strip()[:200] or None


def pin_public(pin: ReviewPin) -> dict[str, Any]:
    """A pin as the API and the UI show it (camelCase, like a part)."""
    return {
        "number": pin.number,
        "note": pin.note,
        "point": pin.point,
        "normal": pin.normal,
        "body": pin.body,
        "face": pin.face,
        "onModel": pin.point is not None,
        "ticked": pin.ticked_at is not None,
        "tickedBy": pin.ticked_by,
        "tickedAt": iso(pin.ticked_at) if pin.ticked_at else None,
        "stale": pin.stale,
        "createdBy": pin.created_by,
        "createdAt": iso(pin.created_at),
    }


def list_pins(session: Session, part_id: int) -> Sequence[ReviewPin]:
    parts.get_part(session, part_id)
    return session.exec(
        select(ReviewPin).where(ReviewPin.part_id == part_id).order_by(col(ReviewPin.number))
    ).all()


def get_pin(session: Session, part_id: int, number: int) -> ReviewPin:
    parts.get_part(session, part_id)
    pin = session.exec(
        select(ReviewPin).where(ReviewPin.part_id == part_id, ReviewPin.number == number)
    ).first()
    if pin is None:
        raise NotFound(f"Part {part_id} has no pin #{number}")
    return pin


def _note(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed("note", "Say what to check or do at this pin (e.g. 'tap 10-32')")
    note = " ".join(raw.split())
    if len(note) > NOTE_MAX:
        raise ValidationFailed("note", f"A pin's note is at most {NOTE_MAX} characters")
    return note


def _vector(field: str, raw: Any) -> list[float] | None:
    if raw is None:
        return None
    if not isinstance(raw, list | tuple) or len(raw) != 3:
        raise ValidationFailed(field, f"{field} must be three numbers [x, y, z]")
    out: list[float] = []
    for value in raw:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValidationFailed(field, f"{field} must be three finite numbers [x, y, z]")
        out.append(round(float(value), 4))
    return out


def _unit(raw: Any) -> list[float] | None:
    vector = _vector("normal", raw)
    if vector is None:
        return None
    length = math.sqrt(sum(v * v for v in vector))
    if length < 1e-9:
        raise ValidationFailed("normal", "normal must not be zero")
    return [round(v / length, 5) for v in vector]


def _current_model(session: Session, part_id: int) -> PartFile | None:
    return session.exec(
        select(PartFile).where(
            PartFile.part_id == part_id, col(PartFile.is_current), PartFile.kind == "step"
        )
    ).first()


def _check_on_model(point: list[float], model: PartFile | None) -> None:
    """A point must lie on (or at) the current model: never a pin floating in space."""
    facts = (model.facts if model is not None else None) or {}
    low, high = facts.get("bbox_min_mm"), facts.get("bbox_max_mm")
    if model is None or model.conversion_status != "ready" or not low or not high:
        raise ValidationFailed(
            "point", "This part has no converted 3D model to pin: leave point out for a plain item"
        )
    for axis, value, lo, hi in zip("xyz", point, low, high, strict=True):
        slack = BOX_SLACK_MM + BOX_SLACK_SHARE * (float(hi) - float(lo))
        if not float(lo) - slack <= value <= float(hi) + slack:
            raise ValidationFailed(
                "point", f"point {axis}={value:g} mm is outside the model ({lo:g} to {hi:g} mm)"
            )


def add_pin(
    session: Session,
    part_id: int,
    *,
    note: Any,
    point: Any = None,
    normal: Any = None,
    body: Any = None,
    face: Any = None,
    actor: str | None,
) -> ReviewPin:
    """Put a numbered pin on the part's current model (or, without ``point``, on its checklist)."""
    text = _note(note)
    where = _vector("point", point)
    direction = _unit(normal)
    if body is not None and (not isinstance(body, str) or len(body) > BODY_MAX):
        raise ValidationFailed("body", f"body must be text of at most {BODY_MAX} characters")
    if face is not None and (isinstance(face, bool) or not isinstance(face, int) or face < 0):
        raise ValidationFailed("face", "face must be a whole number, 0 or more")
    if where is None and (direction is not None or face is not None):
        raise ValidationFailed("point", "A face or normal needs the point that was clicked")
    begin_write(session)
    parts.get_part(session, part_id)
    model = _current_model(session, part_id)
    if where is not None:
        _check_on_model(where, model)
    count, highest = session.execute(
        sa.select(sa.func.count(), sa.func.max(col(ReviewPin.number))).where(
            col(ReviewPin.part_id) == part_id
        )
    ).one()
    if count >= PINS_MAX:
        raise ValidationFailed("note", f"A part holds at most {PINS_MAX} pins")
    pin = ReviewPin(
        part_id=part_id,
        number=int(highest or 0) + 1,
        note=text,
        point=where,
        normal=direction,
        body=(body or None) if where is not None else None,
        face=face if where is not None else None,
        sha256=model.sha256 if (model is not None and where is not None) else None,
        created_by=_who(actor),
    )
    session.add(pin)
    _event(session, part_id, actor, f"Pin #{pin.number} added: {text}")
    commit(session)
    return pin


def tick(
    session: Session, part_id: int, number: int, *, ticked: bool, actor: str | None
) -> ReviewPin:
    """Tick a pin as done (or take the tick back); attributed in the timeline."""
    begin_write(session)
    pin = get_pin(session, part_id, number)
    if (pin.ticked_at is not None) == ticked:
        commit(session)
        return pin
    pin.ticked_at = utcnow() if ticked else None
    pin.ticked_by = _who(actor) if ticked else None
    session.add(pin)
    what = "ticked" if ticked else "opened again"
    _event(session, part_id, actor, f"Pin #{number} {what}: {pin.note}")
    commit(session)
    return pin


def edit(
    session: Session,
    part_id: int,
    number: int,
    *,
    note: Any = None,
    keep: bool = False,
    actor: str | None,
) -> ReviewPin:
    """Reword a pin, or keep a stale one (it still applies to the new geometry)."""
    begin_write(session)
    pin = get_pin(session, part_id, number)
    lines: list[str] = []
    if note is not None:
        text = _note(note)
        if text != pin.note:
            lines.append(f"Pin #{number} now reads: {text}")
            pin.note = text
    if keep and pin.stale:
        pin.stale = False
        model = _current_model(session, part_id)
        pin.sha256 = model.sha256 if model is not None and pin.point is not None else pin.sha256
        lines.append(f"Pin #{number} still applies to the new geometry: {pin.note}")
    if not lines:
        commit(session)
        return pin
    session.add(pin)
    _event(session, part_id, actor, "; ".join(lines))
    commit(session)
    return pin


def remove(session: Session, part_id: int, number: int, *, actor: str | None) -> None:
    begin_write(session)
    pin = get_pin(session, part_id, number)
    note = pin.note
    session.delete(pin)
    _event(session, part_id, actor, f"Pin #{number} removed: {note}")
    commit(session)


def geometry_changed(session: Session, part_id: int, *, revision: int, actor: str) -> int:
    """The part's new revision has other geometry: its placed pins need a reviewer's look again.
    Ticks are cleared (the work was done on the old shape). Returns how many went stale.
    Called inside the caller's write transaction; the caller commits."""
    # Placed pins only (a JSON column's "no point" is JSON null, not SQL NULL: judged here).
    placed = session.exec(select(ReviewPin).where(ReviewPin.part_id == part_id)).all()
    fresh = [
        pin
        for pin in placed
        if pin.point is not None and (not pin.stale or pin.ticked_at is not None)
    ]
    for pin in fresh:
        pin.stale = True
        pin.ticked_at = None
        pin.ticked_by = None
        session.add(pin)
    if fresh:
        numbers = ", ".join(f"#{pin.number}" for pin in fresh)
        _event(
            session,
            part_id,
            actor,
            f"Geometry changed in revision {revision}: pins {numbers} need a new look",
        )
    return len(fresh)
