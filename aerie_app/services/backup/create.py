"""Making a backup: one snapshot of every table, the stored files and the manifest, in one archive."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from aerie_app.errors import Unprocessable
from aerie_app.models import utcnow
from aerie_app.services import keys, storage
from aerie_app.services.backup.archive import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    _add,
    _encode,
    _kind,
    _tables,
)
from aerie_app.settings import VERSION, get_settings

log = logging.getLogger("aerie.backup")

NAME_RE = re.compile(r"^aerie-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.tar\.gz$")


@dataclass(frozen=True)
class BackupInfo:
    """What one backup holds."""

    path: Path
    rows: dict[str, int]
    files: int
    size: int
    warnings: list[str] = field(default_factory=list)


def backup_dir() -> Path:
    settings = get_settings()
    return settings.backup_dir or settings.data_dir / "backups"


def _archive_name(folder: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"aerie-backup-{stamp}.tar.gz"
    n = 2
    while target.exists():
        target = folder / f"aerie-backup-{stamp}-{n}.tar.gz"
        n += 1
    return target


def _dump_tables(
    session: Session, tar: tarfile.TarFile, members: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None, set[str]]:
    """Every table into the archive from one snapshot. Returns (table entries, revision, blob hashes)."""
    if session.in_transaction():
        session.commit()
    dialect = session.get_bind().dialect.name
    # One snapshot for every table: later tables must not see rows newer than earlier ones.
    options = {"isolation_level": "REPEATABLE READ"} if dialect == "postgresql" else {}
    conn = session.connection(execution_options=options)
    entries: list[dict[str, Any]] = []
    blobs: set[str] = set()
    try:
        try:
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa.exc.SQLAlchemyError as exc:
            raise Unprocessable(
                "This database has no Aerie schema (run `python -m aerie_app migrate` first)"
            ) from exc
        for table in _tables():
            kinds = {c.name: _kind(c) for c in table.columns}
            rows = 0
            with tempfile.TemporaryFile(dir=storage.tmp_dir()) as tmp:
                stmt = sa.select(table).order_by(*table.primary_key.columns)
                for row in conn.execute(stmt.execution_options(yield_per=1000)).mappings():
                    record = {name: _encode(row[name], kind) for name, kind in kinds.items()}
                    if table.name == "part_file":
                        blobs.add(str(record["sha256"]))
                    tmp.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
                    rows += 1
                size = tmp.tell()
                tmp.seek(0)
                name = f"db/{table.name}.jsonl"
                members[name] = _add(tar, name, tmp, size, utcnow().timestamp())
            entries.append({"name": table.name, "rows": rows, "columns": kinds})
    finally:
        session.rollback()  # end the snapshot before the slow part: copying files
    return entries, revision, blobs


def _member_for(path: Path) -> str:
    return "files/" + path.relative_to(storage.files_root()).as_posix()


def _add_files(tar: tarfile.TarFile, members: dict[str, Any]) -> int:
    root = storage.files_root()
    skip = root / "tmp"
    count = 0
    if not root.exists():
        return 0
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file() or skip in path.parents:
            continue
        name = _member_for(path)
        try:
            stream = path.open("rb")
        except FileNotFoundError:
            continue  # deleted since the listing (a part was deleted): not in the snapshot either
        with stream:
            # fstat of the open file: a file replaced meanwhile is copied whole, old or new.
            stat = os.fstat(stream.fileno())
            members[name] = _add(tar, name, stream, stat.st_size, stat.st_mtime)
        count += 1
    return count


def create_backup(
    session: Session, *, out: Path | None = None, now: datetime | None = None
) -> BackupInfo:
    """Write one archive (database snapshot, stored files, manifest) to ``out`` or the backup folder.

    The archive appears under its final name only when complete (written aside, then renamed).
    """
    now = now or utcnow()
    # Keys' last-used times are written in batches: the ones this process noted go in first.
    keys.flush_last_used(session)
    target = out or _archive_name(backup_dir(), now)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    members: dict[str, Any] = {}
    dialect = session.get_bind().dialect.name
    try:
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            entries, revision, blobs = _dump_tables(session, tar, members)
            storage.pull_all()  # with a bucket: what this host has not cached goes in too
            count = _add_files(tar, members)
            warnings = [
                f"blob {sha} of a file revision is missing from the data folder"
                for sha in sorted(blobs)
                if _member_for(storage.blob_path(sha)) not in members
            ]
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": now.astimezone(UTC).isoformat(),
                "app_version": VERSION,
                "alembic_revision": revision,
                "dialect": dialect,
                "tables": entries,
                "members": members,
                "warnings": warnings,
            }
            data = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(now.timestamp())
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    for warning in warnings:
        log.warning("backup %s: %s", target.name, warning)
    return BackupInfo(
        path=target,
        rows={e["name"]: e["rows"] for e in entries},
        files=count,
        size=target.stat().st_size,
        warnings=warnings,
    )
