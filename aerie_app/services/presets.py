"""Choices offered in the add/edit dialog: the old app's material and subsystem presets, editable by admins."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from aerie_app.db import begin_write
from aerie_app.errors import ValidationFailed
from aerie_app.models import Part, Preset

KINDS = ("material", "subsystem")
DEFAULTS: dict[str, tuple[str, ...]] = {
    "material": (
        "6061 Aluminum",
        "Aluminum",
        "Polycarbonate",
        "Acrylic",
        "Steel",
        "HDPE",
        "Delrin",
        "Carbon Fiber",
        "Wood",
        "PLA",
        "PETG",
        "TPU",
    ),
    "subsystem": ("Drivetrain", "Intake", "Shooter", "Elevator", "Climber", "Turret", "Electrical"),
}


def choices(session: Session, kind: str) -> list[str]:
    """Admin presets (or the defaults) followed by values already used on parts."""
    if kind not in KINDS:
        raise ValidationFailed("kind", "kind must be material or subsystem")
    stored = session.exec(
        select(Preset.value).where(Preset.kind == kind).order_by(col(Preset.value))
    ).all()
    base = list(stored) or list(DEFAULTS[kind])
    column = col(Part.material) if kind == "material" else col(Part.subsystem)
    used = session.exec(select(column).distinct().order_by(column).limit(200)).all()
    seen = {v.casefold() for v in base}
    return base + [u for u in used if u and u.casefold() not in seen]


def list_presets(session: Session, kind: str) -> Sequence[Preset]:
    return session.exec(select(Preset).where(Preset.kind == kind).order_by(col(Preset.value))).all()


def add_preset(session: Session, *, kind: str, value: str) -> Preset:
    value = (value or "").strip()
    if kind not in KINDS:
        raise ValidationFailed("kind", "kind must be material or subsystem")
    if not value or len(value) > 200:
        raise ValidationFailed("value", "A preset needs 1 to 200 characters")
    begin_write(session)
    existing = session.exec(
        select(Preset).where(Preset.kind == kind, Preset.value == value)
    ).first()
    if existing is not None:
        return existing
    preset = Preset(kind=kind, value=value)
    session.add(preset)
    session.commit()
    return preset


def remove_preset(session: Session, preset_id: int) -> None:
    begin_write(session)
    preset = session.get(Preset, preset_id)
    if preset is not None:
        session.delete(preset)
    session.commit()
