"""Machines of the shop: list, create, edit, delete; every change recomputes every part's fit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from aerie_app.db import begin_write
from aerie_app.errors import Conflict, NotFound
from aerie_app.models import Machine, Process
from aerie_app.services.shop.inputs import check_thickness_range, inches
from aerie_app.services.shop.recompute import recompute
from aerie_app.units import size_label


def list_machines(session: Session) -> Sequence[Machine]:
    return session.exec(select(Machine).order_by(col(Machine.id))).all()


def get_machine(session: Session, machine_id: int) -> Machine:
    machine = session.get(Machine, machine_id)
    if machine is None:
        raise NotFound("Machine not found", {"id": machine_id})
    return machine


def _check_name(session: Session, name: str, machine_id: int | None) -> None:
    """Names are unique whatever their letter case (compared here: SQLite's lower() is ASCII-only)."""
    wanted = name.casefold()
    for other_id, other in session.exec(select(Machine.id, Machine.name)).all():
        if other.casefold() == wanted and other_id != machine_id:
            raise Conflict(
                f"A machine named {name!r} already exists", {"field": "name", "id": other_id}
            )


def _flush(session: Session, name: str) -> None:
    """Flush, turning a name taken by a concurrent writer (PostgreSQL) into the same 409."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"A machine named {name!r} already exists", {"field": "name"}) from None


def create_machine(session: Session, *, data: Mapping[str, Any]) -> tuple[Machine, int]:
    """A new machine from validated values (see inputs.machine_input); returns it and how many
    parts' fit changed."""
    begin_write(session)
    _check_name(session, data["name"], None)
    check_thickness_range(data.get("min_thickness_mm"), data.get("max_thickness_mm"))
    machine = Machine(**data)
    session.add(machine)
    _flush(session, data["name"])
    changed = recompute(session)
    session.commit()
    return machine, changed


def update_machine(
    session: Session, machine_id: int, *, data: Mapping[str, Any]
) -> tuple[Machine, int]:
    """Change some of a machine's values; every part's fit is recomputed."""
    begin_write(session)
    machine = get_machine(session, machine_id)
    if "name" in data:
        _check_name(session, data["name"], machine_id)
    check_thickness_range(
        data.get("min_thickness_mm", machine.min_thickness_mm),
        data.get("max_thickness_mm", machine.max_thickness_mm),
    )
    for key, value in data.items():
        setattr(machine, key, value)
    session.add(machine)
    _flush(session, machine.name)
    changed = recompute(session)
    session.commit()
    return machine, changed


def delete_machine(session: Session, machine_id: int) -> int:
    """Delete a machine; the parts it could make are judged again. Returns how many changed."""
    begin_write(session)
    machine = get_machine(session, machine_id)
    session.delete(machine)
    session.flush()
    changed = recompute(session)
    session.commit()
    return changed


def envelope_public(machine: Machine) -> dict[str, float | None] | None:
    if machine.process == Process.LATHE.value:
        return {"diameter": machine.envelope_x_mm, "length": machine.envelope_y_mm}
    if machine.envelope_x_mm is None and machine.envelope_y_mm is None:
        return None
    return {"x": machine.envelope_x_mm, "y": machine.envelope_y_mm, "z": machine.envelope_z_mm}


def machine_label(machine: Machine) -> str:
    """``24 × 48 in router`` / ``Ø 150 × 400 mm lathe`` / ``hand``."""
    sizes = [s for s in (machine.envelope_x_mm, machine.envelope_y_mm, machine.envelope_z_mm) if s]
    if not sizes:
        return machine.process
    if machine.process == Process.LATHE.value:
        return f"Ø {size_label(sizes)} lathe"
    if machine.units == "in":
        return " × ".join(f"{inches(s):g}" for s in sizes) + f" in {machine.process}"
    return f"{size_label(sizes)} {machine.process}"


def machine_public(machine: Machine) -> dict[str, Any]:
    return {
        "id": machine.id,
        "name": machine.name,
        "process": machine.process,
        "envelopeMm": envelope_public(machine),
        "units": machine.units,
        "label": machine_label(machine),
        "materials": list(machine.materials or []),
        "minThicknessMm": machine.min_thickness_mm,
        "maxThicknessMm": machine.max_thickness_mm,
        "marginMm": machine.margin_mm,
        "enabled": machine.enabled,
    }
