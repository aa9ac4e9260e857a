"""Parts from a spreadsheet (CSV or XLSX): a dry run that reports every row, then one transaction.

A row updates the part its ``id`` names, else the one part with its ``partId``, else it creates a
part. Every cell goes through the same validation as the REST API (``normalize_part_input``), so
the preview's errors are the API's own messages, all of a row's at once. An empty cell leaves that
field as it is (a spreadsheet cannot tell "clear this" from "not given"); columns Aerie computes
(status, stage, fit, stock, dates…) are listed as ignored, so the board's CSV export imports back
unchanged. Nothing is written unless every row is valid: the rows land in one transaction.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from aerie_app.db import one_transaction
from aerie_app.errors import TooLarge, ValidationFailed
from aerie_app.models import Part
from aerie_app.schemas import CAMEL_TO_SNAKE, normalize_part_input
from aerie_app.services import parts
from aerie_app.services.export import FORMULA_STARTS

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_XLSX_UNPACKED = 60 * 1024 * 1024  # a zip bomb stops here, before any XML is parsed

# Header (lower case, letters and digits only) → the part JSON key it fills.
COLUMNS: dict[str, str] = {
    "id": "id",
    "partid": "partId",
    "partnumber": "partId",
    "partno": "partId",
    "number": "partId",
    "name": "name",
    "partname": "name",
    "description": "name",
    "type": "type",
    "subsystem": "subsystem",
    "subassembly": "subsystem",
    "material": "material",
    "thickness": "materialThickness",
    "materialthickness": "materialThickness",
    "amount": "amount",
    "qty": "amount",
    "quantity": "amount",
    "assigned": "assigned",
    "assignee": "assigned",
    "notes": "notes",
    "onshapeurl": "onshapeUrl",
    "onshape": "onshapeUrl",
    "measuredmassg": "measuredMassG",
}
# What the export writes but Aerie works out itself (or changes only through the workflow).
COMPUTED = {
    "category",
    "stage",
    "status",
    "quantitydone",
    "stockxyz",
    "massg",
    "fit",
    "claimeddate",
    "completedat",
    "createdat",
    "updatedat",
}
FIELDS = [k for k in dict.fromkeys(COLUMNS.values()) if k != "id"]


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


@dataclass
class RowPlan:
    """What one row of the sheet will do."""

    row: int  # the spreadsheet's row number (the header is row 1)
    action: str  # create | update | unchanged | error
    part: int | None = None  # the part it updates
    version: int | None = None
    label: str = ""  # partId or name, for the preview
    data: dict[str, Any] = field(default_factory=dict)  # validated values to write
    changes: dict[str, list[Any]] = field(default_factory=dict)  # key: [old, new]
    errors: list[dict[str, str]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "action": self.action,
            "id": self.part,
            "label": self.label,
            "changes": self.changes,
            "errors": self.errors,
        }


@dataclass
class ImportPlan:
    rows: list[RowPlan]
    ignored: list[str]
    unknown: list[str]

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
        for row in self.rows:
            out[row.action] += 1
        return out | {"rows": len(self.rows)}

    def public(self, *, applied: bool) -> dict[str, Any]:
        return {
            "applied": applied,
            "summary": self.counts(),
            "ignoredColumns": self.ignored,
            "unknownColumns": self.unknown,
            "rows": [r.public() for r in self.rows],
        }


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's "CSV" on Windows: the ANSI code page. Every byte decodes; accents come out right.
        return raw.decode("cp1252", errors="replace")


def _csv_rows(raw: bytes) -> Iterator[list[Any]]:
    text = _text(raw)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        yield from csv.reader(io.StringIO(text, newline=""), dialect)
    except csv.Error as err:
        raise ValidationFailed("file", f"This CSV file cannot be read: {err}") from None


def _xlsx_rows(raw: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_XLSX_UNPACKED:
                raise TooLarge("This workbook unpacks to more than 60 MB", {"field": "file"})
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            rows: list[list[Any]] = []
            for values in book.worksheets[0].iter_rows(values_only=True):
                rows.append(list(values))
                if len(rows) > 2 * MAX_ROWS:
                    break
            return rows
        finally:
            book.close()
    # What a damaged or foreign workbook raises inside zipfile and openpyxl's XML reading.
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        IndexError,
        ValueError,
        TypeError,
        OSError,
        SyntaxError,
    ):
        raise ValidationFailed("file", "This .xlsx workbook cannot be read") from None


def read_table(raw: bytes, filename: str) -> list[list[Any]]:
    """The sheet's rows (header first) from a CSV or XLSX file, blank rows dropped."""
    if len(raw) > MAX_BYTES:
        raise TooLarge("An import file may be at most 5 MB", {"field": "file"})
    if not raw.strip():
        raise ValidationFailed("file", "The file is empty")
    is_xlsx = raw[:4] == b"PK\x03\x04"
    if filename.lower().endswith((".xlsx", ".xlsm")) and not is_xlsx:
        raise ValidationFailed("file", "This file is named .xlsx but is not an Excel workbook")
    rows: list[list[Any]] = []
    for values in _xlsx_rows(raw) if is_xlsx else _csv_rows(raw):
        if any(v is not None and str(v).strip() for v in values):
            rows.append(values)
            if len(rows) > MAX_ROWS + 1:
                raise ValidationFailed("file", f"An import may have at most {MAX_ROWS} rows")
    if len(rows) < 2:
        raise ValidationFailed("file", "The file has no rows under its header")
    return rows


def _cell(value: Any) -> Any:
    """A cell as the API would take it: text trimmed, our export's formula guard undone."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_STARTS):
            text = text[1:]
        return text or None
    return value


def _columns(header: list[Any]) -> tuple[dict[int, str], list[str], list[str]]:
    where: dict[int, str] = {}
    ignored: list[str] = []
    unknown: list[str] = []
    for index, name in enumerate(header):
        text = str(name or "").strip()
        key = _norm(text)
        if not key:
            continue
        if key in COLUMNS and COLUMNS[key] not in where.values():
            where[index] = COLUMNS[key]
        elif key in COMPUTED:
            ignored.append(text)
        else:
            unknown.append(text)
    if not where:
        raise ValidationFailed(
            "file",
            "The first row must name the columns, e.g. partId, name, subsystem, material, amount",
        )
    return where, ignored, unknown


def _validate(
    body: Mapping[str, Any], *, create: bool
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Each field on its own, so a row's every error is reported, in the API's words."""
    data: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for key, value in body.items():
        try:
            data |= normalize_part_input({key: value}, partial=True)
        except ValidationFailed as err:
            message = str(err.details.get("message", err.message))
            errors.append({"field": key, "message": message})
    if create:
        for key, label in (("material", "Material"), ("subsystem", "Subsystem")):
            if key not in data and not any(e["field"] == key for e in errors):
                errors.append({"field": key, "message": f"{label} is required"})
    return data, errors


def plan(session: Session, raw: bytes, filename: str) -> ImportPlan:
    """What importing this file would do, row by row; writes nothing."""
    table = read_table(raw, filename)
    where, ignored, unknown = _columns(table[0])
    bodies: list[tuple[int, dict[str, Any]]] = []
    for number, values in enumerate(table[1:], start=2):
        body = {key: _cell(values[i]) for i, key in where.items() if i < len(values)}
        raw_id = body.get("id")
        if isinstance(raw_id, str) and raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 10:
            body["id"] = int(raw_id)  # CSV cells are text
        bodies.append((number, {k: v for k, v in body.items() if v is not None}))
    return plan_bodies(session, bodies, ignored=ignored, unknown=unknown)


def plan_bodies(
    session: Session,
    bodies: list[tuple[int, dict[str, Any]]],
    *,
    ignored: list[str] | None = None,
    unknown: list[str] | None = None,
) -> ImportPlan:
    """What importing these rows (part JSON keys; ``id`` optional) would do; writes nothing."""
    ids = {b["id"] for _, b in bodies if isinstance(b.get("id"), int)}
    by_id = (
        {p.id: p for p in session.exec(select(Part).where(col(Part.id).in_(ids)))} if ids else {}
    )
    numbers = {str(b["partId"]) for _, b in bodies if b.get("partId") and "id" not in b}
    by_number: dict[str, list[Part]] = {}
    if numbers:
        for p in session.exec(select(Part).where(col(Part.part_id).in_(numbers))):
            by_number.setdefault(p.part_id, []).append(p)

    rows: list[RowPlan] = []
    seen: dict[int, int] = {}
    for number, body in bodies:
        rows.append(_plan_row(number, body, by_id, by_number, seen))
    return ImportPlan(rows, ignored or [], unknown or [])


def _plan_row(
    number: int,
    body: dict[str, Any],
    by_id: Mapping[int | None, Part],
    by_number: Mapping[str, list[Part]],
    seen: dict[int, int],
) -> RowPlan:
    label = str(body.get("partId") or body.get("name") or "")
    row = RowPlan(row=number, action="create", label=label)
    target: Part | None = None
    raw_id = body.pop("id", None)
    if raw_id is not None:
        target = by_id.get(raw_id) if isinstance(raw_id, int) else None
        if target is None:
            row.errors.append({"field": "id", "message": f"No part has id {raw_id}"})
    elif body.get("partId"):
        matches = by_number.get(str(body["partId"]), [])
        if len(matches) > 1:
            row.errors.append(
                {
                    "field": "partId",
                    "message": f"{len(matches)} parts have part ID {body['partId']}: "
                    "add the id column to say which",
                }
            )
        elif matches:
            target = matches[0]
    if target is not None and target.id is not None:
        if target.id in seen:
            row.errors.append(
                {"field": "id", "message": f"Row {seen[target.id]} already changes this part"}
            )
        seen[target.id] = number
        row.part, row.version, row.action = target.id, target.version, "update"
        row.label = label or target.part_id
    row.data, errors = _validate(body, create=target is None and raw_id is None)
    row.errors += errors
    if row.errors:
        row.action = "error"
        return row
    if target is not None:
        row.changes = {
            _camel(k): [getattr(target, k), v]
            for k, v in row.data.items()
            if getattr(target, k) != v
        }
        row.data = {k: v for k, v in row.data.items() if getattr(target, k) != v}
        row.action = "update" if row.changes else "unchanged"
    else:
        row.changes = {_camel(k): [None, v] for k, v in row.data.items()}
    return row


_SNAKE_TO_CAMEL = {v: k for k, v in CAMEL_TO_SNAKE.items()}


def _camel(column: str) -> str:
    return _SNAKE_TO_CAMEL.get(column, column)


def apply(session: Session, raw: bytes, filename: str, *, actor: str | None) -> ImportPlan:
    """Import the file: every row's create or update in one transaction, or nothing at all.

    Rows with errors refuse the whole import (400 naming them); a part changed by someone
    between the plan and the write refuses it too (409), and nothing is written either way.
    """
    return apply_plan(session, plan(session, raw, filename), actor=actor)


def apply_plan(session: Session, result: ImportPlan, *, actor: str | None) -> ImportPlan:
    """Write a plan's creates and updates in one transaction (see :func:`apply`)."""
    bad = [r for r in result.rows if r.errors]
    if bad:
        refused = ValidationFailed(
            "file", f"{len(bad)} of {len(result.rows)} rows have errors; nothing was imported"
        )
        refused.details["rows"] = [r.public() for r in bad[:100]]
        raise refused
    with one_transaction(session):
        for row in result.rows:
            if row.action == "create":
                part = parts.create_part(session, data=row.data, actor=actor)
                row.part = part.id
            elif row.action == "update" and row.part is not None:
                parts.update_part(
                    session, row.part, data=row.data, actor=actor, expected_version=row.version
                )
    return result
