"""The old ``parts`` table: read it read-only, and map each row to the Part (and workers) it becomes."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from aerie_app.errors import NotFound, Unprocessable
from aerie_app.models import Category, Part, PartType, Status, utcnow
from aerie_app.schemas import TEXT_LIMITS

COLUMNS = (
    "id",
    "uuid",
    "type",
    "material",
    "material_thickness",
    "part_id",
    "name",
    "subsystem",
    "assigned",
    "status",
    "misc_info",
    "notes",
    "file",
    "onshape_url",
    "claimed_date",
    "created_at",
    "amount",
    "updated_at",
    "category",
)
# Rows without a uuid get one derived from their id, so a second run still recognises them.
UUID_NAMESPACE = uuid.UUID("6f6d3c0e-4c1b-4b7e-9a51-5a2f0d3c8e11")
TYPE_ALIASES = {"hand fab": "hand", "handfab": "hand", "laser": "cnc", "cnc/laser": "cnc"}
E = TypeVar("E", bound=StrEnum)


class _Skip(Exception):
    """A row that cannot be imported; the message says why."""


@dataclass
class _Plan:
    part: Part
    workers: dict[str, datetime]
    view_names: list[tuple[int, str]]
    notes: list[str]


def read_legacy_rows(db_path: Path) -> list[dict[str, Any]]:
    """Every row of the old ``parts`` table (the database is opened read-only)."""
    if not db_path.is_file():
        raise NotFound(f"No database at {db_path}")
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            conn.row_factory = sqlite3.Row
            present = {r["name"] for r in conn.execute("PRAGMA table_info(parts)")}
            if not present:
                raise Unprocessable(f"{db_path.name} has no parts table: not an old Aerie database")
            missing = [c for c in COLUMNS if c not in present]
            if missing:
                raise Unprocessable(
                    f"{db_path.name}'s parts table lacks columns: {', '.join(missing)}",
                    {"missing": missing},
                )
            query = f"SELECT {', '.join(COLUMNS)} FROM parts ORDER BY id"  # noqa: S608 - fixed names
            return [dict(row) for row in conn.execute(query)]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise Unprocessable(f"{db_path.name} cannot be read as SQLite: {exc}") from exc


def _when(value: Any) -> datetime | None:
    """An old timestamp as aware UTC (the old app wrote naive UTC ISO strings). ValueError if garbled."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _enum(kind: type[E], raw: Any, default: E, what: str) -> E:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    text = str(raw).strip().casefold()
    for member in kind:
        if member.value.casefold() == text:
            return member
    raise _Skip(f"unknown {what} {raw!r}")


def _misc(raw: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The old misc info as a dict, or None and what was wrong with it."""
    value = raw
    # Some old rows hold JSON encoded twice (a JSON string of a JSON object).
    for _ in range(2):
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            if not value.strip():
                return None, None
            try:
                value = json.loads(value)
            except ValueError:
                return None, "misc_info is not valid JSON"
    if value is None:
        return None, None
    if not isinstance(value, dict):
        return None, "misc_info is not a JSON object"
    return value, None


def _text(row: dict[str, Any], column: str, warn: Callable[[str], None]) -> str | None:
    value = row[column]
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    limit = TEXT_LIMITS[column]
    if len(text) > limit:
        warn(f"{column} was longer than {limit} characters and was cut")
        text = text[:limit]
    return text


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in ("true", "1", "yes")
    return bool(value)


def _plan(row: dict[str, Any], warn: Callable[[str], None]) -> _Plan:
    """The Part (and its workers) one old row becomes; :class:`_Skip` when it cannot be imported."""
    pid = row["id"]
    raw_uuid = row["uuid"]
    if isinstance(raw_uuid, str) and raw_uuid.strip():
        part_uuid = raw_uuid.strip()
        if len(part_uuid) > 36:
            raise _Skip(f"invalid uuid {raw_uuid!r}")
    else:
        part_uuid = str(uuid.uuid5(UUID_NAMESPACE, f"legacy-part-{pid}"))
        warn(f"had no uuid; given {part_uuid}")
    status = _enum(Status, row["status"], Status.PENDING, "status")
    category = _enum(Category, row["category"], Category.REVIEW, "category")
    notes: list[str] = []
    info, problem = _misc(row["misc_info"])
    if problem:
        warn(f"{problem}; imported without it (its text is kept in the import event)")
        notes.append(f"Old misc_info text: {row['misc_info']!s}")

    part_type: str | None = None
    if row["type"] not in (None, ""):
        text = str(row["type"]).strip().casefold()
        text = TYPE_ALIASES.get(text, text)
        if text in {t.value for t in PartType}:
            part_type = text
        else:
            fallback = category.value if category.value in {t.value for t in PartType} else None
            warn(f"unknown type {row['type']!r}; set to {fallback or 'none'}")
            part_type = fallback

    amount = row["amount"]
    try:
        amount = int(amount)
        if amount < 1:
            raise ValueError
    except (TypeError, ValueError):
        warn(f"amount {row['amount']!r} is not a whole number ≥ 1; set to 1")
        amount = 1

    def when(column: str, value: Any) -> datetime | None:
        try:
            return _when(value)
        except ValueError:
            warn(f"{column} {value!r} is not a date; left empty")
            return None

    created = when("created_at", row["created_at"])
    updated = when("updated_at", row["updated_at"])
    claimed = when("claimed_date", row["claimed_date"])
    if created is None:
        created = updated or utcnow()
        warn("had no creation time; set to " + created.isoformat())
    updated = updated or created

    done = category is Category.COMPLETED or status is Status.COMPLETED
    completed_at: datetime | None = None
    incorrect = False
    workers: dict[str, datetime] = {}
    view_names: list[tuple[int, str]] = []
    if info is not None:
        incorrect = _truthy(info.get("completedIncorrectly", False))
        if done:
            completed_at = when("misc_info.completed_at", info.get("completed_at"))
        for entry in info.get("handWorkers") or []:
            name = entry.get("name") if isinstance(entry, dict) else entry
            if isinstance(name, str) and name.strip():
                stamp = entry.get("timestamp") if isinstance(entry, dict) else None
                workers.setdefault(
                    name.strip()[:200], when("handWorkers timestamp", stamp) or claimed or created
                )
        views = info.pop("views", None)
        if isinstance(views, dict) and isinstance(views.get("files"), dict):
            for index, meta in views["files"].items():
                filename = meta.get("filename") if isinstance(meta, dict) else None
                if str(index) in {str(i) for i in range(8)} and isinstance(filename, str):
                    view_names.append((int(index), filename))
    if done and completed_at is None:
        completed_at = updated
        warn("completed without misc_info.completed_at; completion time set to its last update")
    assigned = _text(row, "assigned", warn)
    if assigned and assigned.strip():
        workers.setdefault(assigned.strip(), claimed or created)

    part = Part(
        id=pid,
        uuid=part_uuid,
        type=part_type,
        material=_text(row, "material", warn) or "",
        material_thickness=_text(row, "material_thickness", warn),
        part_id=_text(row, "part_id", warn) or part_uuid[:8],
        name=_text(row, "name", warn) or "",
        subsystem=_text(row, "subsystem", warn) or "",
        assigned=assigned,
        status=status.value,
        category=category.value,
        amount=amount,
        quantity_done=amount if done else 0,
        notes=_text(row, "notes", warn),
        onshape_url=_text(row, "onshape_url", warn),
        file=None,
        claimed_date=claimed,
        completed_at=completed_at,
        created_at=created,
        updated_at=updated,
        misc_info=info,
        completed_incorrectly=incorrect,
        version=1,
    )
    return _Plan(part, workers, view_names, notes)
