"""What a revision's geometry facts do to its part once they arrive (on upload when the content
was converted before, else when its conversion finishes):

- the part's geometry columns and its shop fields (thickness, fit, stock match) follow the model;
- changed geometry: against the part's previous model, a box size or the volume off by more than
  0.5 % sends a part past Review back to Review (a system transition of the workflow), with a
  timeline line old → new; unchanged geometry (a re-export) leaves it where it is. Either way the
  revision records ``geometry_change`` ``{changed, movedToReview, previousRevision, old, new}``;
- duplicate geometry: another part whose current model has the same sorted box, volume and area
  within 0.5 % and the same face count: the lowest such part becomes ``duplicate_of``, with a
  timeline line "Looks like P-…". Never a block.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app.cad.materials import estimated_mass_g
from aerie_app.db import begin_write
from aerie_app.errors import AerieError
from aerie_app.models import Category, ConversionStatus, Part, PartFile
from aerie_app.services import parts, pins
from aerie_app.services.shop import recompute as shop_fit
from aerie_app.units import number
from aerie_app.workflow import Action

log = logging.getLogger("aerie.model_facts")
TOLERANCE = 0.005  # 0.5 %
ABSOLUTE_MM = 0.01  # below this, sizes are the same whatever the ratio
ACTOR = "Aerie"


def geometry_fields(facts: dict[str, Any], material: str) -> dict[str, Any]:
    """The part's denormalised geometry columns from a model's facts (mass from its material)."""
    size = facts.get("bbox_mm") or {}
    volume = facts.get("volume_mm3")
    mass = estimated_mass_g(float(volume), material) if volume else None
    return {
        "stock_x_mm": size.get("x"),
        "stock_y_mm": size.get("y"),
        "stock_z_mm": size.get("z"),
        "volume_mm3": volume,
        "mass_g": round(mass, 2) if mass is not None else None,
    }


NO_GEOMETRY: dict[str, Any] = {
    "stock_x_mm": None,
    "stock_y_mm": None,
    "stock_z_mm": None,
    "volume_mm3": None,
    "mass_g": None,
}


def facts_fields(session: Session, part: Any, facts: dict[str, Any] | None) -> dict[str, Any]:
    """Geometry and shop columns of a part now showing a model with ``facts`` (None: no model)."""
    geometry = geometry_fields(facts, part.material) if facts else dict(NO_GEOMETRY)
    return geometry | shop_fit.fields_for(session, part, **geometry)


def _sizes(facts: dict[str, Any] | None) -> list[float] | None:
    box = (facts or {}).get("bbox_mm") or {}
    try:
        sizes = sorted(float(box[axis]) for axis in "xyz")
    except (KeyError, TypeError, ValueError):
        return None
    return sizes


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= max(ABSOLUTE_MM, TOLERANCE * max(abs(a), abs(b)))


def geometry_differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a box size (sorted: a turned re-export is the same part) or the volume moved > 0.5 %."""
    a, b = _sizes(old), _sizes(new)
    if a is None or b is None:
        return a != b
    return not all(_close(x, y) for x, y in zip(a, b, strict=True)) or not _close(
        old.get("volume_mm3"), new.get("volume_mm3")
    )


def same_geometry(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Duplicate geometry: sorted box, volume and area within 0.5 %, the same face count."""
    sa_, sb = _sizes(a), _sizes(b)
    if sa_ is None or sb is None or not a.get("volume_mm3"):
        return False
    return (
        all(_close(x, y) for x, y in zip(sa_, sb, strict=True))
        and _close(a.get("volume_mm3"), b.get("volume_mm3"))
        and _close(a.get("surface_area_mm2"), b.get("surface_area_mm2"))
        and a.get("faces") == b.get("faces")
    )


def _summary(facts: dict[str, Any], material: str) -> dict[str, Any]:
    box = facts.get("bbox_mm") or {}
    volume = facts.get("volume_mm3")
    mass = estimated_mass_g(float(volume), material) if volume else None
    return {
        "stockMm": [box.get("x"), box.get("y"), box.get("z")],
        "volumeMm3": volume,
        "massG": round(mass, 2) if mass is not None else None,
    }


def _describe(old: dict[str, Any], new: dict[str, Any]) -> str:
    def box(side: dict[str, Any]) -> str:
        return " × ".join(number(float(v), 2) for v in side["stockMm"] if v is not None)

    def cm3(side: dict[str, Any]) -> str:
        v = side["volumeMm3"]
        return f"{number(v / 1000, 1)} cm³" if v is not None else "?"

    def grams(side: dict[str, Any]) -> str:
        return f"{number(side['massG'], 1)} g" if side["massG"] is not None else "?"

    return (
        f"stock {box(old)} → {box(new)} mm, volume {cm3(old)} → {cm3(new)}, "
        f"mass {grams(old)} → {grams(new)}"
    )


def _previous_model(session: Session, row: PartFile) -> PartFile | None:
    return session.exec(
        select(PartFile)
        .where(
            PartFile.part_id == row.part_id,
            col(PartFile.revision) < row.revision,
            col(PartFile.facts).is_not(None),
            PartFile.conversion_status == ConversionStatus.READY.value,
        )
        .order_by(col(PartFile.revision).desc())
    ).first()


def check_geometry_change(session: Session, part: Part, row: PartFile) -> dict[str, Any] | None:
    """Compare the new current revision with the part's previous model; move the part back to
    Review when it changed and the part is past Review. Records and returns the outcome."""
    previous = _previous_model(session, row)
    if previous is None or not previous.facts or not row.facts:
        return None
    changed = geometry_differs(previous.facts, row.facts)
    old, new = _summary(previous.facts, part.material), _summary(row.facts, part.material)
    moved = False
    if changed:
        what = f"Geometry changed (revision {previous.revision} → {row.revision}): {_describe(old, new)}"
        assert part.id is not None
        if part.category != Category.REVIEW.value:
            try:
                parts.perform(
                    session,
                    part.id,
                    Action.REOPEN_REVIEW,
                    actor=ACTOR,
                    reason=f"{what}; back to Review",
                )
                moved = True
            except AerieError as exc:
                session.rollback()
                log.warning("part %s: could not move back to Review: %s", part.id, exc.message)
        if not moved:
            parts.record_event(session, part.id, kind="geometry", actor=ACTOR, note=what)
    outcome = {
        "changed": changed,
        "movedToReview": moved,
        "previousRevision": previous.revision,
        "old": old,
        "new": new,
    }
    begin_write(session)
    session.execute(
        sa.update(PartFile).where(col(PartFile.id) == row.id).values(geometry_change=outcome)
    )
    if changed:
        assert part.id is not None
        pins.geometry_changed(session, part.id, revision=row.revision, actor=ACTOR)
    session.commit()
    row.geometry_change = outcome
    return outcome


def find_duplicate(session: Session, part_id: int, facts: dict[str, Any]) -> Any | None:
    """The lowest-id other part whose current model has the same geometry (see :func:`same_geometry`)."""
    volume = facts.get("volume_mm3")
    if not volume or _sizes(facts) is None:
        return None
    low, high = volume * (1 - TOLERANCE), volume * (1 + TOLERANCE)
    candidates = session.execute(
        sa.select(col(Part.id), col(Part.part_id), col(Part.name), col(PartFile.facts))
        .join(PartFile, sa.and_(col(PartFile.part_id) == col(Part.id), col(PartFile.is_current)))
        .where(col(Part.id) != part_id, col(Part.volume_mm3).between(low, high))
        .order_by(col(Part.id))
    ).all()
    for candidate in candidates:
        if candidate.facts and same_geometry(facts, candidate.facts):
            return candidate
    return None


def check_duplicate(session: Session, part: Part, facts: dict[str, Any]) -> None:
    """Flag (or unflag) the part as looking like another one; a timeline line either way."""
    assert part.id is not None
    match = find_duplicate(session, part.id, facts)
    if match is None and part.duplicate_of is None:
        return
    if match is not None and match.id == part.duplicate_of:
        return
    session.refresh(part)
    if match is None:
        fields: dict[str, Any] = {"duplicate_of": None, "duplicate_ref": None}
        note = "No longer looks like another part"
    else:
        fields = {
            "duplicate_of": match.id,
            "duplicate_ref": {"partId": match.part_id, "name": match.name},
        }
        note = f"Looks like {match.part_id} ({match.name}), part #{match.id}"
    try:
        parts.save_changes(session, part, fields, actor=ACTOR, kind="duplicate", note=note)
    except AerieError:
        session.rollback()  # changed meanwhile: the next model checks again


def after_new_facts(session: Session, part_id: int, row: PartFile) -> None:
    """Everything a current revision's arrived facts do besides the part's columns (see above)."""
    part = session.get(Part, part_id)
    if part is None or not row.facts:
        return
    check_geometry_change(session, part, row)
    session.refresh(part)
    check_duplicate(session, part, row.facts)
