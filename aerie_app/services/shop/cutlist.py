"""The cut list: material demand of the fab queue, and how many sheets it takes.

The fab queue is every part approved into the CNC or Hand Fab queue (category ``cnc`` or
``hand``) with pieces still to make (``amount - quantity_done``). Misc parts are bought or sent
out, and parts in Review are not approved yet: neither is cut here. Parts are grouped by material
key and stock thickness. A group's sheets are estimated by packing every remaining piece's
footprint, inflated by the largest margin of the machines that can make them, onto the group's
stock sheet with rectpack (MaxRects, best short side fit, 90° turns allowed).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from rectpack import SORT_AREA, MaxRectsBssf, PackingBin, PackingMode, newPacker
from sqlmodel import Session, col, select

from aerie_app.cad.materials import material_key
from aerie_app.models import Category, Machine, Part, StockItem, StockKind
from aerie_app.services.shop.fit import PartShape, footprint
from aerie_app.services.shop.recompute import dims_of, stock_spec
from aerie_app.units import thickness_label

QUEUE = (Category.CNC.value, Category.HAND.value)
SCALE = 10  # rectpack works best on integers: pack in tenths of a millimetre
MAX_PIECES = 20_000  # per group; past that the estimate scales by area (never seen in a shop)


@dataclass(frozen=True)
class Packing:
    sheets: int  # sheets the placed pieces need
    placed: int
    unplaced: int  # pieces larger than the sheet, even turned


def pack_sheets(
    pieces: Sequence[tuple[float, float]], sheet: tuple[float, float], *, margin: float = 0.0
) -> Packing:
    """How many ``sheet``-sized sheets hold ``pieces`` (w, h in mm), each grown by ``margin``.

    The margin is the spacing a machine needs between parts (the router's end mill): every
    footprint is inflated by it before packing, so two neighbours are at least that far apart.
    """
    width, height = (math.floor(s * SCALE) for s in sheet)
    fitting: list[tuple[int, int]] = []
    unplaced = 0
    for w, h in pieces:
        rect = (math.ceil((w + margin) * SCALE), math.ceil((h + margin) * SCALE))
        if (rect[0] <= width and rect[1] <= height) or (rect[1] <= width and rect[0] <= height):
            fitting.append(rect)
        else:
            unplaced += 1
    if not fitting:
        return Packing(0, 0, unplaced)
    scale = 1.0
    if len(fitting) > MAX_PIECES:
        scale = len(fitting) / MAX_PIECES
        fitting = sorted(fitting, key=lambda r: -r[0] * r[1])[:: math.ceil(scale)]
    packer = newPacker(
        mode=PackingMode.Offline,
        bin_algo=PackingBin.BFF,
        pack_algo=MaxRectsBssf,
        sort_algo=SORT_AREA,
        rotation=True,
    )
    for rect in fitting:
        packer.add_rect(*rect)
    packer.add_bin(width, height, count=float("inf"))
    packer.pack()
    return Packing(math.ceil(len(packer) * scale), len(fitting), unplaced)


@dataclass
class _Group:
    material: str
    thickness: float | None
    parts: list[dict[str, Any]] = field(default_factory=list)
    pieces: list[tuple[float, float]] = field(default_factory=list)
    stock_ids: list[int] = field(default_factory=list)
    margin: float = 0.0
    count: int = 0
    area: float = 0.0


def _rows(session: Session) -> Sequence[Any]:
    remaining = col(Part.amount) - col(Part.quantity_done)
    return session.execute(
        sa.select(
            col(Part.id),
            col(Part.part_id),
            col(Part.name),
            col(Part.material),
            col(Part.thickness_mm),
            col(Part.stock_x_mm),
            col(Part.stock_y_mm),
            col(Part.stock_z_mm),
            col(Part.stock_item_id),
            col(Part.fit_machines),
            remaining.label("remaining"),
        )
        .where(col(Part.category).in_(QUEUE), remaining > 0)
        .order_by(col(Part.material), col(Part.thickness_mm), col(Part.id))
    ).all()


def cut_list(session: Session) -> dict[str, Any]:
    """``{groups: [...], parts, pieces}`` of the fab queue (see the module docstring)."""
    rows = _rows(session)
    margins: dict[int, float] = {
        int(i): float(m)
        for i, m in session.execute(sa.select(col(Machine.id), col(Machine.margin_mm))).all()
    }
    stock = {s.id: s for s in session.exec(select(StockItem)).all()}
    session.rollback()
    groups: dict[tuple[str, float | None], _Group] = {}
    for row in rows:
        matched = stock.get(row.stock_item_id)
        thickness = matched.thickness_mm if matched else row.thickness_mm
        key = material_key(row.material) or row.material.strip().lower()
        group = groups.setdefault(
            (key, round(thickness, 2) if thickness else None), _Group(key, thickness)
        )
        outline = footprint(PartShape(dims_of(row), row.material, thickness)) if thickness else None
        count = int(row.remaining)
        area = outline[0] * outline[1] if outline else None
        group.parts.append(
            {
                "id": row.id,
                "partId": row.part_id,
                "name": row.name,
                "count": count,
                "footprintMm": [round(outline[0], 2), round(outline[1], 2)] if outline else None,
                "areaMm2": round(area * count, 1) if area is not None else None,
            }
        )
        group.count += count
        if outline is not None and area is not None:
            group.area += area * count
            group.pieces.extend([outline] * count)
        if matched is not None and matched.id is not None:
            group.stock_ids.append(matched.id)
        for machine in row.fit_machines or ():
            group.margin = max(group.margin, float(margins.get(machine["id"], 0.0)))
    out = [_group_public(g, stock) for g in groups.values()]
    out.sort(
        key=lambda g: (
            g["material"],
            g["thicknessMm"] if g["thicknessMm"] is not None else math.inf,
        )
    )
    return {
        "groups": out,
        "parts": sum(len(g["parts"]) for g in out),
        "pieces": sum(g["count"] for g in out),
        "queue": list(QUEUE),
    }


def _group_public(group: _Group, stock: dict[Any, StockItem]) -> dict[str, Any]:
    sheet: StockItem | None = None
    if group.stock_ids:
        # The stock most of the group's parts matched.
        best = max(set(group.stock_ids), key=lambda i: (group.stock_ids.count(i), -i))
        sheet = stock[best]
    packing = None
    if sheet is not None and sheet.kind == StockKind.SHEET.value and sheet.size_y_mm:
        packing = pack_sheets(group.pieces, (sheet.size_x_mm, sheet.size_y_mm), margin=group.margin)
    return {
        "material": group.material,
        "thicknessMm": group.thickness,
        "thicknessLabel": thickness_label(group.thickness) if group.thickness else None,
        "count": group.count,
        "areaMm2": round(group.area, 1),
        "marginMm": group.margin,
        "stock": (
            {
                "id": sheet.id,
                "label": stock_spec(sheet).label,
                "sizeMm": [sheet.size_x_mm, sheet.size_y_mm],
                "onHand": sheet.count,
            }
            if sheet is not None
            else None
        ),
        "sheetsNeeded": packing.sheets if packing else None,
        "piecesTooLarge": packing.unplaced if packing else None,
        "shortBy": max(packing.sheets - sheet.count, 0) if packing and sheet else None,
        "parts": group.parts,
    }


CSV_COLUMNS = [
    "material",
    "thickness_mm",
    "thickness",
    "part_id",
    "name",
    "count",
    "length_mm",
    "width_mm",
    "area_mm2",
    "stock",
    "group_sheets_needed",
]


def cut_list_csv(session: Session) -> str:
    """The cut list as CSV: one line per part, its group's figures repeated on each line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for group in cut_list(session)["groups"]:
        for part in group["parts"]:
            outline = part["footprintMm"] or ["", ""]
            writer.writerow(
                [
                    group["material"],
                    group["thicknessMm"] if group["thicknessMm"] is not None else "",
                    group["thicknessLabel"] or "",
                    _safe(part["partId"]),
                    _safe(part["name"]),
                    part["count"],
                    outline[0],
                    outline[1],
                    part["areaMm2"] if part["areaMm2"] is not None else "",
                    (group["stock"] or {}).get("label", ""),
                    group["sheetsNeeded"] if group["sheetsNeeded"] is not None else "",
                ]
            )
    return buffer.getvalue()


def _safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
