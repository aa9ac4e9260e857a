"""The weight budget: the robot's mass per subsystem and in total against the weight limit.

A part weighs ``amount`` × its measured mass when one was entered, else × its estimated mass
(model volume × material density). Every part counts, whatever its category: the robot is all
of them. One grouped query, whatever the table size.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from aerie_app.models import Part
from aerie_app.services.shop import config
from aerie_app.services.shop.inputs import KG_PER_LB


def _grams(value: Any) -> float:
    return round(float(value or 0.0), 1)


def weight_budget(session: Session) -> dict[str, Any]:
    """``{limitG, totalG, estimatedG, measuredG, marginG, overLimit, parts, partsWithoutMass,
    subsystems: [...]}``; the margin is what is left under the limit (negative when over)."""
    measured, estimated, amount = col(Part.measured_mass_g), col(Part.mass_g), col(Part.amount)
    has_measured = measured.is_not(None)
    has_estimate = sa.and_(measured.is_(None), estimated.is_not(None))
    stmt = (
        sa.select(
            col(Part.subsystem),
            sa.func.count(),
            sa.func.sum(sa.case((has_measured, amount * measured), else_=0.0)),
            sa.func.sum(sa.case((has_estimate, amount * estimated), else_=0.0)),
            sa.func.sum(sa.case((has_measured, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(measured.is_(None), estimated.is_(None)), 1), else_=0)),
        )
        .group_by(col(Part.subsystem))
        .order_by(col(Part.subsystem))
    )
    subsystems = []
    for name, parts, measured_g, estimated_g, weighed, without in session.execute(stmt).all():
        subsystems.append(
            {
                "subsystem": name,
                "totalG": _grams((measured_g or 0) + (estimated_g or 0)),
                "estimatedG": _grams(estimated_g),
                "measuredG": _grams(measured_g),
                "parts": int(parts),
                "partsMeasured": int(weighed or 0),
                "partsWithoutMass": int(without or 0),
            }
        )
    session.rollback()
    limit_kg = config.weight_limit(session)
    session.rollback()
    limit_g = round(limit_kg * 1000, 1)
    total = round(sum(s["totalG"] for s in subsystems), 1)
    return {
        "limitG": limit_g,
        "limitKg": limit_kg,
        "limitLb": round(limit_kg / KG_PER_LB, 2),
        "totalG": total,
        "estimatedG": round(sum(s["estimatedG"] for s in subsystems), 1),
        "measuredG": round(sum(s["measuredG"] for s in subsystems), 1),
        "marginG": round(limit_g - total, 1),
        "overLimit": total > limit_g,
        "parts": sum(s["parts"] for s in subsystems),
        "partsMeasured": sum(s["partsMeasured"] for s in subsystems),
        "partsWithoutMass": sum(s["partsWithoutMass"] for s in subsystems),
        "subsystems": sorted(subsystems, key=lambda s: -s["totalG"]),
    }
