"""Parts as CSV: any filtered board view, for a spreadsheet, an order list or a print-out.

The rows are the API's own part JSON (the same filters, search and sort as ``GET /api/parts/``,
without paging), flattened to one line a part. Text a spreadsheet would read as a formula
(``=``, ``+``, ``-``, ``@``, tab or carriage return first) is written with a leading apostrophe,
so a part named ``=HYPERLINK(...)`` stays text when the file is opened (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from aerie_app.services import partjson
from aerie_app.services.partquery import PartQuery
from aerie_app.units import model_dims_mm

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _mass(part: dict[str, Any]) -> float | None:
    measured = part.get("measuredMassG")
    if measured is not None:
        return float(measured)
    mass = (part.get("geometry") or {}).get("massG")
    return None if mass is None else round(float(mass), 1)


def _stock(part: dict[str, Any]) -> str:
    sizes = (part.get("geometry") or {}).get("stockMm") or []
    values = [v for v in sizes if v is not None]
    return model_dims_mm(values) if len(values) == 3 else ""


def _field(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda part: part.get(key)


# (header, value) in the order a shop reads them; a plain header is the part JSON's key.
COLUMNS: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("id", _field("id")),
    ("partId", _field("partId")),
    ("name", _field("name")),
    ("category", _field("category")),
    ("status", _field("status")),
    ("type", _field("type")),
    ("subsystem", _field("subsystem")),
    ("material", _field("material")),
    ("thickness", lambda p: p.get("materialThickness") or p.get("thicknessLabel")),
    ("amount", _field("amount")),
    ("quantityDone", _field("quantityDone")),
    ("assigned", _field("assigned")),
    ("stock (X × Y × Z)", _stock),
    ("mass g", _mass),
    ("fit", lambda p: (p.get("fit") or {}).get("status")),
    ("notes", _field("notes")),
    ("onshapeUrl", _field("onshapeUrl")),
    ("claimedDate", _field("claimedDate")),
    ("completedAt", _field("completedAt")),
    ("createdAt", _field("createdAt")),
    ("updatedAt", _field("updatedAt")),
]


def cell(value: Any) -> Any:
    """One CSV cell: empty for None, text made safe for spreadsheets, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def parts_csv(session: Session, query: PartQuery) -> bytes:
    """Every part the query matches (its paging ignored), as UTF-8 CSV with a header row.

    A byte-order mark leads, so spreadsheet programs read accents and "×" as UTF-8."""
    parts = partjson.every_match(session, query)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for header, _ in COLUMNS])
    for part in parts:
        writer.writerow([cell(value(part)) for _, value in COLUMNS])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def parts_xlsx(session: Session, query: PartQuery) -> bytes:
    """The same rows as :func:`parts_csv`, as an Excel workbook. Every text cell is stored as
    text (never a formula, whatever it starts with); numbers stay numbers."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    parts = partjson.every_match(session, query)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Parts")
    sheet.append([header for header, _ in COLUMNS])
    for part in parts:
        cells = []
        for _header, value in COLUMNS:
            data = value(part)
            cell = WriteOnlyCell(sheet, value=data)
            if isinstance(data, str):
                cell.data_type = "s"  # openpyxl would write "=…" as a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
