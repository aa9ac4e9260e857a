"""Part use-cases: create, read, edit, workflow actions, delete, timeline (lists: partquery.py).

Every write goes through :func:`save_changes`, a version-checked UPDATE: of two clients that change one
part at once exactly one wins and the other gets :class:`Conflict` (409), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from aerie_app import workflow
from aerie_app.db import begin_write, commit, ensure_write
from aerie_app.errors import Conflict, NotFound, ValidationFailed
from aerie_app.models import (
    Category,
    FitStatus,
    Part,
    PartEvent,
    PartFile,
    PartType,
    PartWorker,
    ReviewPin,
    Status,
    utcnow,
)
from aerie_app.services import storage
from aerie_app.services.search import dumps, search_text_for
from aerie_app.services.shop import recompute as shop_fit
from aerie_app.workflow import Action

PART_TABLE: sa.Table = Part.__table__  # type: ignore[attr-defined]
EVENT_INSERT = PartEvent.__table__.insert()  # type: ignore[attr-defined]


def _actor(actor: str | None) -> str | None:
    return actor.strip()[:200] if actor and actor.strip() else None


def get_part(session: Session, part_id: int) -> Part:
    part = session.get(Part, part_id)
    if part is None:
        raise NotFound("Part not found", {"id": part_id})
    return part


def create_part(session: Session, *, data: Mapping[str, Any], actor: str | None) -> Part:
    """A new part, always in Review / Pending whatever the client sent, with a 'created' event."""
    fields = {k: v for k, v in data.items() if not k.startswith("_")}
    now = utcnow()
    begin_write(session)
    part = Part(
        **fields,
        category=Category.REVIEW.value,
        status=Status.PENDING.value,
        created_at=now,
        updated_at=now,
    )
    # No model yet: the stock match from its material and typed thickness.
    for key, value in shop_fit.fields_for(session, part).items():
        setattr(part, key, value)
    if not part.part_id:
        part.part_id = part.uuid[:8]
    if part.assigned:
        info = dict(part.misc_info or {})
        workflow._with_worker(part, info, part.assigned, now)
        part.misc_info = info
        part.claimed_date = part.claimed_date or now
    part.search_text = search_text_for(part)
    session.add(part)
    session.flush()
    assert part.id is not None
    session.add(PartEvent(part_id=part.id, actor=_actor(actor), kind="created", at=now))
    if part.assigned:
        session.add(PartWorker(part_id=part.id, name=part.assigned, at=now))
    commit(session)
    return part


def _describe(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return dumps(value)[:5000]
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)[:5000]


def save_changes(
    session: Session,
    part: Part,
    fields: Mapping[str, Any],
    *,
    actor: str | None,
    kind: str,
    note: str | None = None,
    expected_version: int | None = None,
) -> Part:
    """Apply ``fields`` if nobody changed the part since it was read; record the timeline; commit."""
    assert part.id is not None
    if expected_version is not None and expected_version != part.version:
        raise Conflict(
            "This part was changed by someone else; reload and try again",
            {"version": part.version, "expected": expected_version},
        )
    ensure_write(session)
    changed = {k: v for k, v in fields.items() if getattr(part, k) != v}
    if not changed and kind == "edit":
        # Saving identical values is not a change: no new version, timestamp or event.
        commit(session)
        return part
    now = utcnow()
    merged = SimpleNamespace(**{c: getattr(part, c) for c in Part.model_fields} | changed)
    values = dict(changed)
    values["search_text"] = search_text_for(merged)  # type: ignore[arg-type]
    values["updated_at"] = now
    values["version"] = part.version + 1
    if "misc_info" in changed:
        values["completed_incorrectly"] = bool(
            (changed["misc_info"] or {}).get("completedIncorrectly", False)
        )
    # Core statements on the transaction's connection: the ORM's bulk-update and unit-of-work
    # machinery cost more than the statements themselves on this hot path (bench/hotpath.py).
    conn = session.connection()
    result = conn.execute(
        PART_TABLE.update()
        .where(PART_TABLE.c.id == part.id, PART_TABLE.c.version == part.version)
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict("This part was changed by someone else; reload and try again")
    if "fit_machines" in changed:
        shop_fit.sync_fit_rows(session, {part.id: shop_fit.machine_ids(changed["fit_machines"])})
    if "part_id" in changed or "name" in changed:
        _refresh_duplicate_refs(session, part.id, merged, now)
    who = _actor(actor)
    # The timeline rows as one multi-row INSERT (no ORM unit of work: nothing reads them back).
    if kind == "edit":
        events = [
            {
                "part_id": part.id,
                "actor": who,
                "kind": "edit",
                "field": key,
                "old": _describe(getattr(part, key)),
                "new": _describe(new),
                "note": None,
                "at": now,
            }
            for key, new in changed.items()
        ]
    else:
        events = [
            {
                "part_id": part.id,
                "actor": who,
                "kind": kind,
                "field": None,
                "old": None,
                "new": None,
                "note": note,
                "at": now,
            }
        ]
    conn.execute(EVENT_INSERT, events)
    new_assignee = changed.get("assigned")
    if new_assignee:
        exists = session.exec(
            select(PartWorker.id).where(
                PartWorker.part_id == part.id, PartWorker.name == new_assignee
            )
        ).first()
        if exists is None:
            session.add(PartWorker(part_id=part.id, name=new_assignee, at=now))
    commit(session)
    # The row now holds exactly ``values`` (the UPDATE matched one row at the old version):
    # put them on the object instead of reading the row back, one round trip fewer per write.
    for key, value in values.items():
        set_committed_value(part, key, value)
    return part


def _refresh_duplicate_refs(session: Session, part_id: int, part: Any, now: Any) -> None:
    """Parts that look like this one show its partId and name: keep them current."""
    session.execute(
        sa.update(Part)
        .where(col(Part.duplicate_of) == part_id)
        .values(duplicate_ref={"partId": part.part_id, "name": part.name}, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _load_for_write(session: Session, part_id: int) -> Part:
    """The part, read inside the write transaction that will change it: one transaction per
    write (on SQLite ``BEGIN IMMEDIATE`` serialises writers; on PostgreSQL the version check in
    :func:`save_changes` settles races)."""
    ensure_write(session)
    session.expire_all()
    return get_part(session, part_id)


def update_part(
    session: Session,
    part_id: int,
    *,
    data: Mapping[str, Any],
    actor: str | None,
    expected_version: int | None = None,
) -> Part:
    """Edit fields. A ``status``/``category`` change is routed through the workflow like the action."""
    part = _load_for_write(session, part_id)
    fields = {k: v for k, v in data.items() if not k.startswith("_")}
    new_status, new_category = data.get("_status"), data.get("_category")
    moves = (new_status and new_status != part.status) or (
        new_category and new_category != part.category
    )
    if {"material", "material_thickness"} & fields.keys():
        fields |= shop_fit.fields_for(session, part, **fields)
    if fields:
        part = save_changes(
            session, part, fields, actor=actor, kind="edit", expected_version=expected_version
        )
        expected_version = None
    if moves:
        action = workflow.status_change_action(part, new_status, new_category)
        part = perform(session, part_id, action, actor=actor, expected_version=expected_version)
    return part


def perform(
    session: Session,
    part_id: int,
    action: Action,
    *,
    actor: str | None,
    expected_version: int | None = None,
    name: str | None = None,
    reviewer: str | None = None,
    fields: Mapping[str, Any] | None = None,
    quantity: int | None = None,
    storage_location: str | None = None,
    confirm_no_fit: bool = False,
    reason: str | None = None,
) -> Part:
    """Run one workflow action on a part (see :mod:`aerie_app.workflow` for the rules).

    Approving a part that fits no machine needs ``confirm_no_fit`` (bought parts, type misc,
    never do); ``reason`` is the timeline note of a system action.
    """
    part = _load_for_write(session, part_id)
    now = utcnow()
    change: workflow.Change
    if action is Action.APPROVE:
        blocked = part.fit_status == FitStatus.NONE.value and part.type != PartType.MISC.value
        change = workflow.approve(
            part,
            reviewer=reviewer,
            fields=fields,
            no_fit_reason=(part.fit_reason or "no machine can make it") if blocked else None,
            confirm_no_fit=confirm_no_fit,
        )
    elif action is Action.ASSIGN:
        change = workflow.assign(part, name=name or "", now=now)
    elif action is Action.START:
        change = workflow.start(part, name=name, now=now)
    elif action is Action.UNCLAIM:
        change = workflow.unclaim(part, storage=storage_location)
    elif action is Action.COMPLETE:
        change = workflow.complete(
            part,
            now=now,
            quantity=quantity,
            storage=storage_location,
            extra_info=fields,
            open_pins=open_pins(session, part_id),
        )
    elif action is Action.REVERT:
        change = workflow.revert(part)
    elif action is Action.MARK_INCORRECT:
        change = workflow.mark_incorrect(part, incorrect=True)
    elif action is Action.MARK_CORRECT:
        change = workflow.mark_incorrect(part, incorrect=False)
    elif action is Action.REOPEN_REVIEW:
        change = workflow.reopen_review(part, reason=reason or "Back to Review")
    else:  # pragma: no cover - Action is closed
        raise ValidationFailed("action", f"Unknown action {action}")
    return save_changes(
        session,
        part,
        change.fields,
        actor=actor or name or reviewer,
        kind=change.action.value,
        note=change.note,
        expected_version=expected_version,
    )


def open_pins(session: Session, part_id: int) -> list[tuple[int, str]]:
    """The part's unticked review pins (number, note), in number order (services/pins.py)."""
    rows = session.execute(
        sa.select(col(ReviewPin.number), col(ReviewPin.note))
        .where(col(ReviewPin.part_id) == part_id, col(ReviewPin.ticked_at).is_(None))
        .order_by(col(ReviewPin.number))
    ).all()
    return [(int(number), str(note)) for number, note in rows]


def delete_part(session: Session, part_id: int, *, actor: str | None) -> None:
    """Delete the part, its timeline and revisions, then its stored files."""
    begin_write(session)
    get_part(session, part_id)
    hashes = set(session.exec(select(PartFile.sha256).where(PartFile.part_id == part_id)).all())
    session.execute(sa.delete(Part).where(col(Part.id) == part_id))
    # Parts that looked like it no longer look like anything.
    session.execute(
        sa.update(Part)
        .where(col(Part.duplicate_of) == part_id)
        .values(duplicate_of=None, duplicate_ref=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    storage.delete_part_dir(part_id)
    storage.prune_blobs(session, candidates=hashes)  # only its files can have lost their last use


def wipe_all(session: Session) -> int:
    """Season wipe: every part and every stored file. Returns how many parts were deleted."""
    begin_write(session)
    ids = list(session.exec(select(Part.id)).all())
    session.execute(sa.delete(PartEvent))
    session.execute(sa.delete(Part))
    session.commit()
    for pid in ids:
        if pid is not None:
            storage.delete_part_dir(pid)
    storage.prune_blobs(session)
    return len(ids)


def list_events(session: Session, part_id: int, *, limit: int = 500) -> Sequence[PartEvent]:
    get_part(session, part_id)
    return session.exec(
        select(PartEvent)
        .where(PartEvent.part_id == part_id)
        .order_by(col(PartEvent.at).desc(), col(PartEvent.id).desc())
        .limit(limit)
    ).all()


def event_public(event: PartEvent) -> dict[str, Any]:
    from aerie_app.schemas import iso

    return {
        "id": event.id,
        "partId": event.part_id,
        "at": iso(event.at),
        "actor": event.actor,
        "kind": event.kind,
        "field": event.field,
        "old": event.old,
        "new": event.new,
        "note": event.note,
    }


def record_event(
    session: Session, part_id: int, *, kind: str, actor: str | None, note: str | None = None
) -> None:
    """A timeline line for something that is not a field change (upload, conversion result)."""
    begin_write(session)
    session.add(PartEvent(part_id=part_id, kind=kind, actor=_actor(actor), note=note))
    session.commit()
