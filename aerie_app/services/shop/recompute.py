"""Fit and stock match stored on parts: for one part as it is written, and for all parts in bulk.

A bulk recompute (after machines or stock change) writes only the parts whose values changed and
stamps their ``updated_at``, not their ``version``: the part JSON's fragment cache and every list
cache key on it, while an edit someone has open is not made to conflict by an admin's change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app.db import ensure_write
from aerie_app.models import Machine, Part, PartFit, Process, StockItem, StockKind, utcnow
from aerie_app.services.shop import config
from aerie_app.services.shop.fit import (
    MachineSpec,
    PartShape,
    StockSpec,
    fit_part,
    match_stock,
    part_thickness,
)

# Bumped when the rules change: the first start after an upgrade recomputes every part.
FIT_RULES_VERSION = 1
SHOP_COLUMNS = (
    "thickness_mm",
    "fit_status",
    "fit_machines",
    "fit_reason",
    "stock_item_id",
    "stock_label",
    "stock_reason",
)


@dataclass(frozen=True)
class Shop:
    """The enabled machines and the stock, as the fit rules read them."""

    machines: tuple[MachineSpec, ...]
    stock: tuple[StockSpec, ...]


def machine_spec(machine: Machine) -> MachineSpec:
    assert machine.id is not None
    return MachineSpec(
        id=machine.id,
        name=machine.name,
        process=Process(machine.process),
        x=machine.envelope_x_mm,
        y=machine.envelope_y_mm,
        z=machine.envelope_z_mm,
        units=machine.units,
        materials=tuple(machine.materials or ()),
        min_thickness=machine.min_thickness_mm,
        max_thickness=machine.max_thickness_mm,
        margin=machine.margin_mm,
    )


def stock_spec(item: StockItem) -> StockSpec:
    assert item.id is not None
    return StockSpec(
        id=item.id,
        material=item.material,
        thickness=item.thickness_mm,
        kind=StockKind(item.kind),
        x=item.size_x_mm,
        y=item.size_y_mm,
        count=item.count,
    )


def load_shop(session: Session) -> Shop:
    machines = session.exec(
        select(Machine).where(col(Machine.enabled)).order_by(col(Machine.id))
    ).all()
    stock = session.exec(select(StockItem).order_by(col(StockItem.id))).all()
    return Shop(tuple(machine_spec(m) for m in machines), tuple(stock_spec(s) for s in stock))


def dims_of(row: Any) -> tuple[float, float, float] | None:
    sizes = (row.stock_x_mm, row.stock_y_mm, row.stock_z_mm)
    if any(s is None for s in sizes):
        return None
    return (float(sizes[0]), float(sizes[1]), float(sizes[2]))


def shop_fields(
    shop: Shop,
    *,
    material: str,
    material_thickness: str | None,
    dims: tuple[float, float, float] | None,
) -> dict[str, Any]:
    """The stored shop columns of a part with this material, typed thickness and model box."""
    thickness = part_thickness(material_thickness, dims)
    shape = PartShape(dims, material or "", thickness)
    fit = fit_part(shape, shop.machines)
    stock, stock_reason = match_stock(shape, shop.stock)
    return {
        "thickness_mm": thickness,
        "fit_status": fit.status.value,
        "fit_machines": fit.machines_json(),
        "fit_reason": fit.reason,
        "stock_item_id": stock.id if stock else None,
        "stock_label": stock.label[:200] if stock else None,
        "stock_reason": stock_reason[:500] if stock_reason else None,
    }


def fields_for(session: Session, part: Any, **overrides: Any) -> dict[str, Any]:
    """:func:`shop_fields` for a part (row or object), with some of its values replaced."""
    values = {
        "material": part.material,
        "material_thickness": part.material_thickness,
        "stock_x_mm": part.stock_x_mm,
        "stock_y_mm": part.stock_y_mm,
        "stock_z_mm": part.stock_z_mm,
    } | overrides
    return shop_fields(
        load_shop(session),
        material=values["material"],
        material_thickness=values["material_thickness"],
        dims=dims_of(SimpleNamespace(**values)),
    )


def sync_fit_rows(session: Session, fits: dict[int, set[int]]) -> None:
    """Make ``part_fit`` say exactly ``fits`` (part id → machine ids) for these parts."""
    if not fits:
        return
    ids = list(fits)
    have: dict[int, set[int]] = {pid: set() for pid in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for pid, mid in session.execute(
            sa.select(col(PartFit.part_id), col(PartFit.machine_id)).where(
                col(PartFit.part_id).in_(chunk)
            )
        ).all():
            have[pid].add(mid)
    gone = [{"p": p, "m": m} for p, ms in have.items() for m in ms - fits[p]]
    new = [{"part_id": p, "machine_id": m} for p, ms in fits.items() for m in ms - have[p]]
    table = PartFit.__table__  # type: ignore[attr-defined]
    if gone:
        session.execute(
            sa.delete(table).where(
                table.c.part_id == sa.bindparam("p"), table.c.machine_id == sa.bindparam("m")
            ),
            gone,
        )
    if new:
        session.execute(sa.insert(table), new)


def machine_ids(fit_machines: list[dict[str, Any]] | None) -> set[int]:
    return {int(m["id"]) for m in fit_machines or ()}


_READ = [
    col(Part.id),
    col(Part.version),
    col(Part.material),
    col(Part.material_thickness),
    col(Part.stock_x_mm),
    col(Part.stock_y_mm),
    col(Part.stock_z_mm),
    *(getattr(Part, c) for c in SHOP_COLUMNS),
]


def recompute(session: Session, *, part_ids: Iterable[int] | None = None) -> int:
    """Recompute the stored fit and stock match of these parts (all when None), in the session's
    write transaction (the caller commits). Returns how many parts changed."""
    ensure_write(session)
    shop = load_shop(session)
    stmt = sa.select(*_READ)
    rows: Sequence[Any]
    if part_ids is None:
        rows = session.execute(stmt).all()
    else:
        wanted = list(part_ids)
        rows = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows.extend(session.execute(stmt.where(col(Part.id).in_(chunk))).all())
    updates: list[dict[str, Any]] = []
    fits: dict[int, set[int]] = {}
    for row in rows:
        new = shop_fields(
            shop,
            material=row.material,
            material_thickness=row.material_thickness,
            dims=dims_of(row),
        )
        fits[row.id] = machine_ids(new["fit_machines"])
        if any(getattr(row, k) != v for k, v in new.items()):
            updates.append(
                {"b_id": row.id, "b_version": row.version} | {f"b_{k}": v for k, v in new.items()}
            )
    if updates:
        table = Part.__table__  # type: ignore[attr-defined]
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"), table.c.version == sa.bindparam("b_version"))
            .values(
                {k: sa.bindparam(f"b_{k}", type_=table.c[k].type) for k in SHOP_COLUMNS}
                | {"updated_at": utcnow()}
            ),
            updates,
        )
    sync_fit_rows(session, fits)
    return len(updates)


def recompute_all(session: Session) -> int:
    """Every part's fit and stock match, committed (after machines or stock changed)."""
    changed = recompute(session)
    config.put_value(session, config.FIT_RULES, FIT_RULES_VERSION)
    session.commit()
    return changed


def recompute_if_stale(session: Session) -> int | None:
    """On start: recompute every part once after an upgrade of the rules (or of the schema)."""
    if config.get_value(session, config.FIT_RULES) == FIT_RULES_VERSION:
        return None
    return recompute_all(session)
