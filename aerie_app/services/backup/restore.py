"""Restoring a backup: verify, stage, migrate to the archive's revision, insert every row, swap the files in."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from aerie_app.db import alembic_config, begin_write
from aerie_app.errors import Conflict, Unprocessable
from aerie_app.services import storage
from aerie_app.services.backup.archive import (
    ARCHIVE_ERRORS,
    CHUNK,
    MANIFEST,
    _damaged,
    _decode,
    _Hashing,
    _member_name,
    _tables,
    verify_archive,
)

INSERT_BATCH = 500


@dataclass(frozen=True)
class RestoreInfo:
    """What one restore put back."""

    rows: dict[str, int]
    files: int
    revision: str
    created_at: str


def _revisions(url: str) -> list[str]:
    """This code's migration history, oldest first (Aerie's history is linear)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _current_revision(session: Session) -> str | None:
    from alembic.runtime.migration import MigrationContext

    try:
        return MigrationContext.configure(session.connection()).get_current_revision()
    finally:
        session.rollback()


def _occupied(session: Session) -> dict[str, int]:
    """Tables of the target that have rows, and its stored files (``files`` key)."""
    found: dict[str, int] = {}
    try:
        conn = session.connection()
        inspector = sa.inspect(conn)
        for table in _tables():
            if inspector.has_table(table.name):
                count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                if count:
                    found[table.name] = int(count)
    finally:
        session.rollback()
    root = storage.files_root()
    if root.exists():
        stored = [p for p in root.rglob("*") if p.is_file() and (root / "tmp") not in p.parents]
        if stored:
            found["files"] = len(stored)
    return found


def _extract(archive: Path, manifest: dict[str, Any], staging: Path) -> int:
    """Write the members under ``staging`` (db/…, files/…), checking each checksum again."""
    files = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = _member_name(member)
                if name == MANIFEST:
                    continue
                dest = staging / name
                if not dest.resolve().is_relative_to(staging.resolve()):
                    raise _damaged(f"unexpected member {name!r}", member=name)
                dest.parent.mkdir(parents=True, exist_ok=True)
                stream = tar.extractfile(member)
                assert stream is not None
                reader = _Hashing(stream)
                with dest.open("wb") as out:
                    shutil.copyfileobj(reader, out, CHUNK)  # type: ignore[misc]
                if reader.digest.hexdigest() != manifest["members"][name]["sha256"]:
                    raise _damaged(f"{name!r} changed while it was being restored", member=name)
                os.utime(dest, (member.mtime, member.mtime))
                files += name.startswith("files/")
    except ARCHIVE_ERRORS as exc:
        raise _damaged(f"{type(exc).__name__}: {exc}") from exc
    return files


def _insert_rows(
    session: Session, manifest: dict[str, Any], staging: Path, *, force: bool
) -> dict[str, int]:
    """Every dumped row, ids kept, in one transaction (with ``force``, after deleting what was there)."""
    begin_write(session)
    conn = session.connection()
    models = {t.name: t for t in _tables()}
    inspector = sa.inspect(conn)
    if force:
        for table in reversed(_tables()):
            if inspector.has_table(table.name):
                conn.execute(table.delete())
    counts: dict[str, int] = {}
    with_ids: list[str] = []  # tables keyed by a serial id (shop_setting and part_fit are not)
    for entry in manifest["tables"]:
        name, kinds = entry["name"], entry["columns"]
        if "id" in kinds:
            with_ids.append(name)
        model = models.get(name)
        if model is None or any(c not in model.columns for c in kinds):
            # A table or column this code's models no longer have: type it as the database does.
            reflected = {c["name"]: c["type"] for c in inspector.get_columns(name)}
            types = {c: reflected.get(c, sa.types.NULLTYPE) for c in kinds}
        else:
            types = {c: model.columns[c].type for c in kinds}
        target = sa.table(name, *(sa.column(c, types[c]) for c in kinds))
        batch: list[dict[str, Any]] = []
        counts[name] = 0
        with (staging / "db" / f"{name}.jsonl").open("rb") as rows:
            for line in rows:
                record = json.loads(line)
                batch.append({c: _decode(record.get(c), kind) for c, kind in kinds.items()})
                if len(batch) >= INSERT_BATCH:
                    conn.execute(target.insert(), batch)
                    counts[name] += len(batch)
                    batch = []
        if batch:
            conn.execute(target.insert(), batch)
            counts[name] += len(batch)
    if conn.dialect.name == "postgresql":
        reset_sequences(conn, with_ids)
    session.commit()
    return counts


def reset_sequences(conn: sa.Connection, tables: list[str]) -> None:
    """Move each table's id sequence past its largest id (after rows were inserted with their ids)."""
    quote = conn.dialect.identifier_preparer.quote
    for name in tables:
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence(:t, 'id'), "  # noqa: S608 - quoted identifier
                f"COALESCE((SELECT MAX(id) FROM {quote(name)}), 0) + 1, false)"
            ),
            {"t": name},
        )


def _swap_files(staged: Path, staging: Path) -> None:
    root = storage.files_root()
    staged.mkdir(parents=True, exist_ok=True)
    if root.exists():
        os.replace(root, staging / "replaced-files")
    os.replace(staged, root)


def restore_backup(session: Session, *, archive: Path, force: bool = False) -> RestoreInfo:
    """Put an archive back into this instance's database and data folder.

    Nothing is written unless every member matches the manifest (:class:`Unprocessable` otherwise).
    A target with rows or stored files is refused (:class:`Conflict`) unless ``force``, which
    replaces everything. The app should be stopped while this runs.
    """
    from alembic import command

    manifest = verify_archive(archive)
    bind = session.get_bind()
    engine = bind if isinstance(bind, sa.Engine) else bind.engine
    url = engine.url.render_as_string(hide_password=False)
    history = _revisions(url)
    revision: str = manifest["alembic_revision"]
    if revision not in history:
        raise Unprocessable(
            f"This backup was made by a newer Aerie (schema revision {revision}); upgrade Aerie first",
            {"revision": revision},
        )
    current = _current_revision(session)
    if current is not None and current not in history:
        raise Conflict(
            f"This database has schema revision {current}, unknown to this Aerie",
            {"current": current},
        )
    if current is not None and history.index(current) > history.index(revision):
        raise Conflict(
            f"This backup has schema revision {revision} but this database is already at {current}; "
            "restore into a new, empty database (Aerie migrates it after the restore)",
            {"revision": revision, "current": current},
        )
    occupied = _occupied(session)
    if occupied and not force:
        raise Conflict(
            "The target is not empty; restore into an empty database and data folder, "
            "or use --force to replace everything in it",
            {"occupied": occupied},
        )
    root = storage.files_root()
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".aerie-restore-{uuid.uuid4().hex}"
    try:
        files = _extract(archive, manifest, staging)
        # With a bucket: the files are there before any restored row points at them.
        storage.push_tree(staging / "files")
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        command.upgrade(alembic_config(url), revision)
        try:
            counts = _insert_rows(session, manifest, staging, force=force)
        except sa.exc.SQLAlchemyError as exc:
            session.rollback()
            raise Unprocessable(
                f"The database refused the backup's rows: {str(exc).splitlines()[0]}"
            ) from exc
        command.upgrade(alembic_config(url), "head")
        _swap_files(staging / "files", staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreInfo(
        rows=counts, files=files, revision=revision, created_at=str(manifest.get("created_at"))
    )
