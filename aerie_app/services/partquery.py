"""Reading parts in lists: filters (the board's menus, the shop's fit, size, thickness and mass),
search, sorts and pages; full rows by id; the board's filter menus; the change marker.

The write side of parts is :mod:`aerie_app.services.parts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app.errors import ValidationFailed
from aerie_app.models import FitStatus, Part, PartEvent, PartFit
from aerie_app.services.search import rank_expression, search_filter

SORTABLE: dict[str, Any] = {
    "id": Part.id,
    "name": Part.name,
    "part_id": Part.part_id,
    "created_at": Part.created_at,
    "updated_at": Part.updated_at,
    "status": Part.status,
    "category": Part.category,
    "type": Part.type,
    "assigned": Part.assigned,
    "material": Part.material,
    "material_thickness": Part.material_thickness,
    "subsystem": Part.subsystem,
    "amount": Part.amount,
    "claimed_date": Part.claimed_date,
    "completed_at": Part.completed_at,
    "mass_g": Part.mass_g,
    "stock_x_mm": Part.stock_x_mm,
    "volume_mm3": Part.volume_mm3,
    "thickness_mm": Part.thickness_mm,
    # Measured mass wins over the estimate, as in the weight budget.
    "mass": sa.func.coalesce(col(Part.measured_mass_g), col(Part.mass_g)),
    # Fits first, then fits nothing, then not judged (no machines), then no model.
    "fit": sa.case(
        {s.value: i for i, s in enumerate(FitStatus)}, value=col(Part.fit_status), else_=9
    ),
}
SORT_ALIASES = {
    "partId": "part_id",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "claimedDate": "claimed_date",
    "completedAt": "completed_at",
    "materialThickness": "material_thickness",
    "massG": "mass_g",
    "measuredMassG": "mass",
    "stock": "stock_x_mm",
    "volume": "volume_mm3",
    "thickness": "thickness_mm",
    "thicknessMm": "thickness_mm",
    "fitStatus": "fit",
    "fit_status": "fit",
}
NULLS_LAST = frozenset({"thickness_mm", "mass"})
# Two thicknesses this close are the same stock (a 1/4 in sheet and a 6.35 mm model).
THICKNESS_TOLERANCE_MM = 0.1
FILTERABLE = ("category", "subsystem", "material", "assigned", "status", "type")
# Every column but the (large) search text: lists never show it.
LIST_COLUMNS = [c for c in Part.__table__.columns if c.name != "search_text"]  # type: ignore[attr-defined]
MAX_PAGE = 1000


@dataclass
class PartQuery:
    """A list request; unknown sort fields fall back to ``created_at`` (old clients rely on it)."""

    category: str | None = None
    search: str | None = None
    sort_by: str | None = None
    sort_order: str | None = None
    limit: int | None = None
    offset: int = 0
    subsystem: str | None = None
    material: str | None = None
    assigned: str | None = None
    status: str | None = None
    type: str | None = None
    # Mass filters read the measured mass where there is one, else the estimate.
    min_mass_g: float | None = None
    max_mass_g: float | None = None
    has_model: bool | None = None
    # A machine id (parts it can make) or "none" (parts no machine can make).
    fits: int | str | None = None
    fit_status: str | None = None
    # The model's box on its own axes (the part JSON's geometry.stockMm), at most these.
    max_x_mm: float | None = None
    max_y_mm: float | None = None
    max_z_mm: float | None = None
    # Stock thickness: within 0.1 mm of ``thickness_mm``, or within the range.
    thickness_mm: float | None = None
    min_thickness_mm: float | None = None
    max_thickness_mm: float | None = None


def list_parts(
    session: Session, query: PartQuery, *, columns: Sequence[Any] | None = None
) -> tuple[Sequence[Any], int]:
    """One page of parts matching the query and the total count of matches.

    Rows are read-only records with a Part's attributes (not ORM objects): a full list of
    10k parts is then about 3x faster, and nothing here is meant to be modified anyway.
    ``columns`` narrows what is read (see :mod:`aerie_app.services.partjson`).
    """
    dialect = session.get_bind().dialect.name
    conditions: list[Any] = []
    for name in FILTERABLE:
        value = getattr(query, name)
        if value:
            conditions.append(getattr(Part, name) == value)
    conditions.extend(shop_conditions(query, dialect))
    if query.has_model is not None:
        has = col(Part.stock_x_mm).is_not(None)
        conditions.append(has if query.has_model else sa.not_(has))
    if query.search:
        matched = search_filter(query.search, dialect)
        if matched is not None:
            conditions.append(matched)
    if isinstance(query.fits, int) and len(conditions) == 1:
        # Only "fits machine X": part_fit's index counts it (its rows always have their part).
        total = session.exec(
            select(sa.func.count()).where(col(PartFit.machine_id) == query.fits)
        ).one()
    else:
        total = session.exec(select(sa.func.count()).select_from(Part).where(*conditions)).one()
    sort_key = SORT_ALIASES.get(query.sort_by or "", query.sort_by or "")
    column = SORTABLE.get(sort_key, Part.created_at)
    ascending = (query.sort_order or "").lower() == "asc"
    order: list[Any] = []
    if query.search and query.search.strip():
        order.append(rank_expression(query.search))
    by = column.asc() if ascending else column.desc()  # type: ignore[union-attr]
    # Parts without a thickness or a mass come last whichever way those sort.
    order.append(by.nulls_last() if sort_key in NULLS_LAST else by)
    order.append(col(Part.id).asc() if ascending else col(Part.id).desc())
    stmt = (
        sa.select(*(columns or LIST_COLUMNS))
        .select_from(Part)
        .where(*conditions)
        .order_by(*order)
        .offset(max(query.offset, 0))
    )
    if query.limit is not None:
        stmt = stmt.limit(min(max(query.limit, 0), MAX_PAGE * 100))
    return session.execute(stmt).all(), int(total)


def shop_conditions(query: PartQuery, dialect: str = "sqlite") -> list[Any]:
    """The WHERE clauses of the shop filters: fit, stock size, thickness, mass."""
    out: list[Any] = []
    mass = SORTABLE["mass"]
    if query.min_mass_g is not None:
        out.append(mass >= query.min_mass_g)
    if query.max_mass_g is not None:
        out.append(mass <= query.max_mass_g)
    if query.fits == "none":
        out.append(col(Part.fit_status) == FitStatus.NONE.value)
    elif isinstance(query.fits, int):
        # ``id + 0`` on SQLite: else it fetches every matching wide row by rowid before sorting
        # (3,000 at 10k parts, ~6 ms); this way it walks the sort's index and stops after a
        # page (~1 ms). PostgreSQL plans the plain semi-join well.
        part_id = col(Part.id) + 0 if dialect == "sqlite" else col(Part.id)
        fitting = sa.select(col(PartFit.part_id)).where(col(PartFit.machine_id) == query.fits)
        out.append(part_id.in_(fitting))
    if query.fit_status:
        out.append(col(Part.fit_status) == query.fit_status)
    for limit, column in (
        (query.max_x_mm, Part.stock_x_mm),
        (query.max_y_mm, Part.stock_y_mm),
        (query.max_z_mm, Part.stock_z_mm),
    ):
        if limit is not None:
            out.append(col(column) <= limit)
    thickness = col(Part.thickness_mm)
    if query.thickness_mm is not None:
        out.append(
            thickness.between(
                query.thickness_mm - THICKNESS_TOLERANCE_MM,
                query.thickness_mm + THICKNESS_TOLERANCE_MM,
            )
        )
    if query.min_thickness_mm is not None:
        out.append(thickness >= query.min_thickness_mm)
    if query.max_thickness_mm is not None:
        out.append(thickness <= query.max_thickness_mm)
    return out


_ONE_ROW = sa.select(*LIST_COLUMNS).where(col(Part.id) == sa.bindparam("part_id"))


def row_by_id(session: Session, part_id: int) -> Any:
    """One part as a plain row, or None: what a single-part read renders (``part_public`` takes
    it as it takes a Part), read with one cached Core statement and no ORM object."""
    return session.connection().execute(_ONE_ROW, {"part_id": part_id}).first()


def rows_by_id(session: Session, ids: Sequence[int]) -> list[Any]:
    """Full list rows for these ids (any order), read in batches the database likes."""
    out: list[Any] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out.extend(session.execute(sa.select(*LIST_COLUMNS).where(col(Part.id).in_(chunk))).all())
    return out


def distinct_values(session: Session, field: str, *, category: str | None = None) -> list[str]:
    """The values a filter can take (within one tab), for the board's filter menus."""
    if field not in FILTERABLE:
        raise ValidationFailed("field", f"Cannot filter by {field}")
    column = getattr(Part, field)
    stmt = select(column).where(column.is_not(None)).distinct().order_by(column).limit(200)
    if category:
        stmt = stmt.where(Part.category == category)
    return [str(v) for v in session.exec(stmt).all() if v]


def change_marker(session: Session) -> tuple[int, int, str]:
    """Changes whenever any part changes: (newest timeline id, part count, newest update).

    Every write records a timeline event and stamps ``updated_at``; deletions move the count;
    the newest ``updated_at`` keeps the marker new even when ids are reused after a season
    wipe. Cheap: three index lookups.
    """
    newest = session.exec(select(sa.func.max(PartEvent.id))).one() or 0
    count = session.exec(select(sa.func.count()).select_from(Part)).one()
    latest = session.exec(select(sa.func.max(Part.updated_at))).one()
    return int(newest), int(count), str(latest or "")
