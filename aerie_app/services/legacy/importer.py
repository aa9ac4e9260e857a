"""The import itself: each new part, with its file, workers and an 'imported' event, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from aerie_app.cad.sniff import FileKind
from aerie_app.db import begin_write
from aerie_app.models import ConversionStatus, Part, PartEvent, PartFile, PartWorker, utcnow
from aerie_app.services import files, storage
from aerie_app.services.backup import reset_sequences
from aerie_app.services.legacy.rows import _Plan, _plan, _Skip, read_legacy_rows
from aerie_app.services.legacy.uploads import _stage_upload, _Staged, _store_views
from aerie_app.services.search import search_text_for
from aerie_app.services.shop import recompute as shop_fit

ACTOR = "import"
NOTE_LIMIT = 2000


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


def _insert(session: Session, plan: _Plan, staged: _Staged | None, report: ImportReport) -> None:
    """One part with its worker rows, file revision and 'imported' event, in one transaction."""
    part = plan.part
    assert part.id is not None
    begin_write(session)
    if staged is not None:
        storage.adopt_blob(staged.tmp, staged.sha256)
        # Same rule as uploads: content already converted (or failed) here is not converted again.
        status, facts, error, seconds = files._initial_conversion(
            session, FileKind(staged.kind), staged.sha256
        )
        part.file = staged.display
        if facts:
            for key, value in files.geometry_fields(facts, part.material).items():
                setattr(part, key, value)
    # Fit and stock match as of now (updated_at stays the old app's).
    for key, value in shop_fit.fields_for(session, part).items():
        setattr(part, key, value)
    part.search_text = search_text_for(part)
    session.add(part)
    session.flush()
    shop_fit.sync_fit_rows(session, {part.id: shop_fit.machine_ids(part.fit_machines)})
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
                conversion_seconds=seconds,
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
