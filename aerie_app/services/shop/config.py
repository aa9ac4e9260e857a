"""The shop's small settings (robot weight limit) and markers (seeded, fit rules version), as rows
of ``shop_setting``."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from aerie_app.db import begin_write
from aerie_app.models import ShopSetting
from aerie_app.services.shop.inputs import KG_PER_LB, weight_limit_kg

WEIGHT_LIMIT = "weight_limit_kg"
SEEDED = "seeded"
FIT_RULES = "fit_rules"
# FRC: 125 lb without bumpers and battery.
DEFAULT_WEIGHT_LIMIT_KG = round(125 * KG_PER_LB, 2)


def get_value(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(ShopSetting, key)
    return default if row is None or row.value is None else row.value


def put_value(session: Session, key: str, value: Any) -> None:
    """Set one setting in the session's transaction (the caller commits)."""
    row = session.get(ShopSetting, key)
    if row is None:
        session.add(ShopSetting(key=key, value=value))
    else:
        row.value = value
        session.add(row)


def weight_limit(session: Session) -> float:
    return float(get_value(session, WEIGHT_LIMIT, DEFAULT_WEIGHT_LIMIT_KG))


def shop_settings_public(session: Session) -> dict[str, Any]:
    kg = weight_limit(session)
    return {
        "weightLimitKg": kg,
        "weightLimitLb": round(kg / KG_PER_LB, 2),
        "weightLimitG": round(kg * 1000, 1),
    }


def update_shop_settings(session: Session, *, body: Any) -> dict[str, Any]:
    """Set the robot weight limit (``weightLimitKg``, ``weightLimitLb`` or ``weightLimit: "125 lb"``)."""
    kg = weight_limit_kg(body)
    begin_write(session)
    put_value(session, WEIGHT_LIMIT, kg)
    session.commit()
    return shop_settings_public(session)
