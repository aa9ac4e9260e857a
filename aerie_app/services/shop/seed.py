"""A sensible FRC shop for a fresh database: a 24 × 48 in router, a laser, a 3D printer, and the
plate teams buy. Seeded once: an admin who deletes it all does not get it back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from aerie_app.db import begin_write
from aerie_app.models import Machine, Process, StockItem, StockKind
from aerie_app.services.shop import config
from aerie_app.services.shop.recompute import FIT_RULES_VERSION, recompute
from aerie_app.units import MM_PER_IN


def _in(value: float) -> float:
    return round(value * MM_PER_IN, 4)


MACHINES: list[dict[str, Any]] = [
    {
        "name": "Router",
        "process": Process.ROUTER.value,
        "envelope_x_mm": _in(24),
        "envelope_y_mm": _in(48),
        "envelope_z_mm": _in(2),
        "units": "in",
        "materials": [
            "aluminium",
            "polycarbonate",
            "hdpe",
            "uhmw",
            "acetal",
            "plywood",
            "mdf",
            "g10",
        ],
        "min_thickness_mm": None,
        "max_thickness_mm": _in(1),
        "margin_mm": _in(0.25),  # a 1/4 in end mill between parts
    },
    {
        "name": "Laser",
        "process": Process.LASER.value,
        "envelope_x_mm": 600.0,
        "envelope_y_mm": 400.0,
        "envelope_z_mm": 10.0,
        "units": "mm",
        "materials": ["acrylic", "plywood", "mdf", "wood", "acetal"],
        "min_thickness_mm": None,
        "max_thickness_mm": 10.0,
        "margin_mm": 2.0,
    },
    {
        "name": "3D printer",
        "process": Process.PRINTER.value,
        "envelope_x_mm": 256.0,
        "envelope_y_mm": 256.0,
        "envelope_z_mm": 256.0,
        "units": "mm",
        "materials": ["pla", "petg", "abs", "tpu", "nylon"],
        "min_thickness_mm": None,
        "max_thickness_mm": None,
        "margin_mm": 5.0,
    },
]
SHEET = {"kind": StockKind.SHEET.value, "size_x_mm": _in(24), "size_y_mm": _in(48), "count": 2}
STOCK: list[dict[str, Any]] = [
    *(
        {"material": "aluminium 6061", "thickness_mm": _in(t)} | SHEET
        for t in (1 / 16, 1 / 8, 3 / 16, 1 / 4)
    ),
    *({"material": "polycarbonate", "thickness_mm": _in(t)} | SHEET for t in (1 / 8, 1 / 4)),
    *({"material": "hdpe", "thickness_mm": _in(t)} | SHEET for t in (1 / 4, 1 / 2)),
]


def seed_shop(session: Session) -> bool:
    """Add the default machines and stock to an empty shop that was never seeded; commits.

    True when it seeded. Never again once it has (the marker stays after the admin deletes
    everything), and never over machines or stock someone already entered.
    """
    begin_write(session)
    if config.get_value(session, config.SEEDED):
        session.rollback()
        return False
    occupied = (
        session.exec(select(sa.func.count()).select_from(Machine)).one()
        + session.exec(select(sa.func.count()).select_from(StockItem)).one()
    )
    config.put_value(session, config.SEEDED, True)
    if not occupied:
        session.add_all(Machine(**m) for m in MACHINES)
        session.add_all(StockItem(**s) for s in STOCK)
        session.flush()
        recompute(session)
        config.put_value(session, config.FIT_RULES, FIT_RULES_VERSION)
    session.commit()
    return not occupied


def prepare_shop(session: Session) -> None:
    """At start: seed a fresh shop, and recompute every part once after the fit rules changed."""
    from aerie_app.services.shop.recompute import recompute_if_stale

    seed_shop(session)
    recompute_if_stale(session)
