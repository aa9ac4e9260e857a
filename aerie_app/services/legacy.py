"""Import from the old Aerie (Flask): its SQLite ``parts`` table and its ``uploads/<id>/`` folder.

Parts keep their ids and uuids. Each ``misc_info`` key maps to where Aerie keeps it: ``reviewer``,
``storage`` and ``serviceMethod`` stay in misc info (the workflow reads them there),
``handWorkers`` (and ``assigned``) also become ``part_worker`` rows for the leaderboard,
``completed_at`` fills the ``completed_at`` column, ``completedIncorrectly`` the
``completed_incorrectly`` column, and ``views`` (the old client's preview PNGs) are copied into the
part's folder and dropped from misc info, since they named the old server's paths. Unknown keys
are kept as custom fields.

Idempotent: parts are matched on uuid, so a second run imports nothing and says so. Rows that
cannot be imported (invalid id or uuid, an unknown status or category, an id taken by another part)
are skipped with the reason; fixable problems (malformed misc info, a missing or invalid file,
unparsable dates) import the part and record a warning. Nothing of the old database is changed: it
is opened read-only.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, select

from aerie_app.cad.sniff import SNIFF_BYTES, FileKind, detect_kind
from aerie_app.db import begin_write
from aerie_app.errors import AerieError, NotFound, Unprocessable
from aerie_app.models import (
    Category,
    ConversionStatus,
    Part,
    PartEvent,
    PartFile,
    PartType,
    PartWorker,
    Status,
    utcnow,
)
from aerie_app.schemas import TEXT_LIMITS, sanitize_filename
from aerie_app.services import files, storage
from aerie_app.services.backup import reset_sequences
from aerie_app.services.search import search_text_for

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
ACTOR = "import"
# Rows without a uuid get one derived from their id, so a second run still recognises them.
UUID_NAMESPACE = uuid.UUID("6f6d3c0e-4c1b-4b7e-9a51-5a2f0d3c8e11")
TYPE_ALIASES = {"hand fab": "hand", "handfab": "hand", "laser": "cnc", "cnc/laser": "cnc"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHUNK = 1024 * 1024
NOTE_LIMIT = 2000
E = TypeVar("E", bound=StrEnum)


@dataclass
class ImportReport:
    """What an import did: imported ids, rows recognised from an earlier run, skips and warnings."""

    imported: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    files: int = 0
    conversions: int = 0
    views: int = 0

    def lines(self) -> list[str]:
        """The report as the CLI prints it."""
        out = [
            f"Imported {len(self.imported)} parts ({self.files} files stored, "
            f"{self.conversions} STEP files queued for conversion, {self.views} preview images).",
            f"Already imported (matched on uuid): {len(self.already)} parts.",
        ]
        if self.skipped:
            out.append(f"Skipped {len(self.skipped)} rows:")
            out += [f"  {label}: {reason}" for label, reason in self.skipped]
        if self.warnings:
            out.append(f"Warnings ({len(self.warnings)}):")
            out += [f"  part {pid}: {message}" for pid, message in self.warnings]
        return out


class _Skip(Exception):
    """A row that cannot be imported; the message says why."""


@dataclass
class _Staged:
    """An old upload copied into the temp folder, hashed and sniffed, not yet in the blob store."""

    tmp: Path
    sha256: str
    size: int
    kind: str
    display: str


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


def _inside(folder: Path, name: str) -> Path | None:
    """``folder/name`` when it stays inside ``folder`` (old rows are not trusted with paths)."""
    path = (folder / name).resolve()
    return path if path.is_relative_to(folder.resolve()) else None


def _stage(path: Path, display: str) -> _Staged:
    """Copy an old upload to the temp folder, hashing it; its content must match its extension."""
    tmp = storage.tmp_dir() / f"import-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with path.open("rb") as src, tmp.open("wb") as out:
            while chunk := src.read(CHUNK):
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        kind = detect_kind(head, display, size)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return _Staged(tmp, digest.hexdigest(), size, kind.value, display)


def _stage_upload(
    plan: _Plan, raw_file: Any, uploads: Path | None, warn: Callable[[str], None]
) -> _Staged | None:
    if raw_file is None or not str(raw_file).strip():
        return None
    name = str(raw_file)
    if uploads is None:
        warn(f"file {name!r} not imported: no uploads folder was given")
        return None
    folder = uploads / str(plan.part.id)
    path = _inside(folder, name)
    if path is None:
        warn(f"file {name!r} not imported: its name points outside the part's upload folder")
        return None
    if not path.is_file():
        warn(f"file {name!r} is missing from {folder}; part imported without it")
        return None
    try:
        return _stage(path, sanitize_filename(name))
    except AerieError as exc:
        warn(f"file {name!r} not imported: {exc.message}")
    except OSError as exc:
        warn(f"file {name!r} not imported: {exc.strerror or exc}")
    return None


def _store_views(plan: _Plan, uploads: Path | None, warn: Callable[[str], None]) -> int:
    """The old client's preview PNGs, from the misc info manifest or named view_N.png."""
    if uploads is None or plan.part.id is None:
        return 0
    folder = uploads / str(plan.part.id)
    wanted = dict(plan.view_names)
    for sub in (folder, folder / "views"):
        for i in range(8):
            if i not in wanted and (sub / f"view_{i}.png").is_file():
                wanted[i] = (sub / f"view_{i}.png").relative_to(folder).as_posix()
    stored = 0
    for index, filename in sorted(wanted.items()):
        candidates = [_inside(folder, filename), _inside(folder / "views", Path(filename).name)]
        path = next((p for p in candidates if p is not None and p.is_file()), None)
        if path is None:
            warn(f"preview image {filename!r} is missing")
            continue
        data = path.read_bytes()
        if not data.startswith(PNG_MAGIC):
            warn(f"preview image {filename!r} is not a PNG; skipped")
            continue
        files.store_legacy_view(plan.part.id, index, data)
        stored += 1
    return stored


def _insert(session: Session, plan: _Plan, staged: _Staged | None, report: ImportReport) -> None:
    """One part with its worker rows, file revision and 'imported' event, in one transaction."""
    part = plan.part
    assert part.id is not None
    begin_write(session)
    if staged is not None:
        storage.adopt_blob(staged.tmp, staged.sha256)
        # Same rule as uploads: content already converted (or failed) here is not converted again.
        status, facts, error = files._initial_conversion(
            session, FileKind(staged.kind), staged.sha256
        )
        part.file = staged.display
        if facts:
            for key, value in files.geometry_fields(facts, part.material).items():
                setattr(part, key, value)
    part.search_text = search_text_for(part)
    session.add(part)
    session.flush()
    for name, at in plan.workers.items():
        session.add(PartWorker(part_id=part.id, name=name, at=at))
    if staged is not None:
        session.add(
            PartFile(
                part_id=part.id,
                revision=1,
                kind=staged.kind,
                display_name=staged.display,
                size=staged.size,
                sha256=staged.sha256,
                is_current=True,
                uploaded_by=ACTOR,
                uploaded_at=part.updated_at,
                conversion_status=status.value,
                conversion_error=error,
                facts=facts,
            )
        )
    note = "; ".join([f"Imported from the old Aerie (id {part.id})", *plan.notes])
    session.add(
        PartEvent(
            part_id=part.id, kind="imported", actor=ACTOR, note=note[:NOTE_LIMIT], at=utcnow()
        )
    )
    session.commit()
    if staged is not None:
        report.files += 1
        report.conversions += status is ConversionStatus.QUEUED


def import_legacy(session: Session, *, db_path: Path, uploads_dir: Path | None) -> ImportReport:
    """Import every part of the old app's database (and its files) that is not here yet.

    Each part is committed on its own, with its files, workers and an 'imported' event, so an
    interrupted import is finished by running it again. STEP files are queued for conversion.
    """
    rows = read_legacy_rows(db_path)
    report = ImportReport()
    existing = {u: i for i, u in session.exec(select(Part.id, Part.uuid)).all()}
    taken_ids = set(existing.values())
    session.rollback()
    seen: dict[str, Any] = {}
    inserted = False
    try:
        for row in rows:
            pid = row["id"]
            label = f"row id={pid!r}"
            if not isinstance(pid, int) or isinstance(pid, bool) or pid < 1:
                report.skipped.append((label, "invalid id"))
                continue
            row_warnings: list[str] = []
            try:
                plan = _plan(row, row_warnings.append)
            except _Skip as skip:
                report.skipped.append((label, str(skip)))
                continue
            part_uuid = plan.part.uuid
            if part_uuid in seen:
                report.skipped.append(
                    (label, f"duplicate uuid (already used by id {seen[part_uuid]})")
                )
                continue
            seen[part_uuid] = pid
            if part_uuid in existing:
                report.already.append(pid)
                continue
            if pid in taken_ids:
                report.skipped.append((label, f"id {pid} is already used by another part here"))
                continue
            staged = _stage_upload(plan, row["file"], uploads_dir, row_warnings.append)
            try:
                _insert(session, plan, staged, report)
            except sa.exc.SQLAlchemyError as exc:
                session.rollback()
                if staged is not None:
                    staged.tmp.unlink(missing_ok=True)
                report.skipped.append(
                    (
                        label,
                        f"the database refused it: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}",
                    )
                )
                continue
            inserted = True
            taken_ids.add(pid)
            report.imported.append(pid)
            report.views += _store_views(plan, uploads_dir, row_warnings.append)
            report.warnings += [(pid, message) for message in row_warnings]
    finally:
        if inserted and session.get_bind().dialect.name == "postgresql":
            # Ids were inserted explicitly: move the sequence past them so new parts get fresh ids.
            begin_write(session)
            reset_sequences(session.connection(), ["part"])
            session.commit()
    return report
