"""Stock on hand: list, create, edit, delete; every change recomputes every part's stock match."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session, col, select

from aerie_app.db import begin_write
from aerie_app.errors import NotFound
from aerie_app.models import StockItem, StockKind
from aerie_app.services.shop.fit import stock_label
from aerie_app.services.shop.recompute import recompute
from aerie_app.units import thickness_label


def list_stock(session: Session) -> Sequence[StockItem]:
    return session.exec(
        select(StockItem).order_by(
            col(StockItem.material), col(StockItem.thickness_mm), col(StockItem.id)
        )
    ).all()


def get_stock(session: Session, stock_id: int) -> StockItem:
    item = session.get(StockItem, stock_id)
    if item is None:
        raise NotFound("Stock item not found", {"id": stock_id})
    return item


def create_stock(session: Session, *, data: Mapping[str, Any]) -> tuple[StockItem, int]:
    """A new stock item from validated values (see inputs.stock_input); returns it and how many
    parts' stock match changed."""
    begin_write(session)
    item = StockItem(**data)
    session.add(item)
    session.flush()
    changed = recompute(session)
    session.commit()
    return item, changed


def update_stock(
    session: Session, stock_id: int, *, data: Mapping[str, Any]
) -> tuple[StockItem, int]:
    begin_write(session)
    item = get_stock(session, stock_id)
    for key, value in data.items():
        setattr(item, key, value)
    session.add(item)
    session.flush()
    changed = recompute(session)
    session.commit()
    return item, changed


def delete_stock(session: Session, stock_id: int) -> int:
    begin_write(session)
    session.delete(get_stock(session, stock_id))
    session.flush()
    changed = recompute(session)
    session.commit()
    return changed


def stock_public(item: StockItem) -> dict[str, Any]:
    kind = StockKind(item.kind)
    size: dict[str, float | None] = (
        {"length": item.size_x_mm}
        if kind is StockKind.BAR
        else {"x": item.size_x_mm, "y": item.size_y_mm}
    )
    return {
        "id": item.id,
        "material": item.material,
        "thicknessMm": item.thickness_mm,
        "thicknessLabel": thickness_label(item.thickness_mm),
        "kind": kind.value,
        "sizeMm": size,
        "count": item.count,
        "label": stock_label(
            item.material, item.thickness_mm, kind, item.size_x_mm, item.size_y_mm
        ),
    }
