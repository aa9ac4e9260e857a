"""Backups and restore: one ``.tar.gz`` holding a database dump, every stored file and a manifest.

The database is dumped as JSON lines through SQLAlchemy, not with ``sqlite3.backup`` or
``pg_dump``: one dialect-neutral format means a SQLite shop that outgrows it restores its backup
straight into PostgreSQL (and back), and neither making nor restoring a backup needs an external
tool of the right major version. The dump is consistent because every table is read inside one
transaction: REPEATABLE READ on PostgreSQL, the WAL read snapshot on SQLite. Rows are written as
the models see them (timestamps as UTC ISO 8601 with microseconds, JSON columns as JSON) and
inserted back through the same column types, so they come back equal, ids included.

Archive members: ``db/<table>.jsonl`` (one row per line, tables in foreign-key order), ``files/…``
(the data folder's ``files/`` tree without ``files/tmp``, modification times kept) and, last,
``manifest.json``: format version, creation time, app version, alembic revision, dialect, each
table's row count and column kinds, and the sha256 and size of every other member.

Restore reads the whole archive and checks it against the manifest before it writes anything,
refuses a target that has rows or files unless forced, extracts into a staging folder, brings the
schema to the archive's revision, inserts every row in one transaction (PostgreSQL sequences are
moved past the restored ids), migrates to head, and only then swaps the files into place.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import threading
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from aerie_app.db import alembic_config, begin_write, session_scope
from aerie_app.errors import Conflict, NotFound, Unprocessable
from aerie_app.models import utcnow
from aerie_app.services import storage
from aerie_app.settings import VERSION, get_settings

log = logging.getLogger("aerie.backup")

FORMAT = "aerie-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_LIMIT = 256 * 1024 * 1024
NAME_RE = re.compile(r"^aerie-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.tar\.gz$")
CHUNK = 1024 * 1024
INSERT_BATCH = 500
DAY = timedelta(hours=24)
# Everything tarfile, gzip and zlib raise on a truncated or damaged archive.
ARCHIVE_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, UnicodeDecodeError)


@dataclass(frozen=True)
class BackupInfo:
    """What one backup holds."""

    path: Path
    rows: dict[str, int]
    files: int
    size: int
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreInfo:
    """What one restore put back."""

    rows: dict[str, int]
    files: int
    revision: str
    created_at: str


def backup_dir() -> Path:
    settings = get_settings()
    return settings.backup_dir or settings.data_dir / "backups"


def _tables() -> list[sa.Table]:
    return list(SQLModel.metadata.sorted_tables)


def _kind(column: sa.Column[Any]) -> str:
    if isinstance(column.type, sa.DateTime) or isinstance(
        getattr(column.type, "impl", None), sa.DateTime
    ):
        return "datetime"
    if isinstance(column.type, sa.JSON):
        return "json"
    return "plain"


def _encode(value: Any, kind: str) -> Any:
    if value is None or kind != "datetime":
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _decode(value: Any, kind: str) -> Any:
    if value is None or kind != "datetime":
        return value
    return datetime.fromisoformat(value)


class _Hashing:
    """A read-only stream wrapper that hashes what passes through it (tarfile reads, we hash)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.lines = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.lines += data.count(b"\n")
        return data


def _add(
    tar: tarfile.TarFile, name: str, stream: IO[bytes], size: int, mtime: float
) -> dict[str, Any]:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime  # a float: PAX keeps sub-second times (the views manifest shows them)
    info.mode = 0o644
    reader = _Hashing(stream)
    tar.addfile(info, reader)  # type: ignore[arg-type]
    return {"sha256": reader.digest.hexdigest(), "size": size}


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
    target = out or _archive_name(backup_dir(), now)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    members: dict[str, Any] = {}
    dialect = session.get_bind().dialect.name
    try:
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            entries, revision, blobs = _dump_tables(session, tar, members)
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


# --- restore -----------------------------------------------------------------------------------


def _damaged(reason: str, **details: Any) -> Unprocessable:
    return Unprocessable(
        f"This backup archive is damaged or not an Aerie backup: {reason}", details or None
    )


def _member_name(member: tarfile.TarInfo) -> str:
    """The member's name if it is a plain file where a backup puts files; else the archive is refused."""
    name = member.name
    parts = name.split("/")
    if (
        not member.isfile()
        or name.startswith("/")
        or "\\" in name
        or any(p in ("", ".", "..") for p in parts)
        or not (name == MANIFEST or (len(parts) > 1 and parts[0] in ("db", "files")))
    ):
        raise _damaged(f"unexpected member {name!r}", member=name)
    return name


def verify_archive(archive: Path) -> dict[str, Any]:
    """Read every member and check it against the manifest; returns the manifest. Writes nothing."""
    if not archive.is_file():
        raise NotFound(f"No backup archive at {archive}")
    seen: dict[str, tuple[str, int, int]] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = _member_name(member)
                if name in seen:
                    raise _damaged(f"member {name!r} appears twice", member=name)
                stream = tar.extractfile(member)
                assert stream is not None  # a regular file always has a stream
                if name == MANIFEST:
                    if member.size > MANIFEST_LIMIT:
                        raise _damaged("the manifest is implausibly large")
                    manifest_bytes = stream.read()
                    seen[name] = ("", len(manifest_bytes), 0)
                    continue
                reader = _Hashing(stream)
                size = 0
                while chunk := reader.read(CHUNK):
                    size += len(chunk)
                seen[name] = (reader.digest.hexdigest(), size, reader.lines)
    except ARCHIVE_ERRORS as exc:
        raise _damaged(f"{type(exc).__name__}: {exc}") from exc
    if manifest_bytes is None:
        raise _damaged("it has no manifest.json")
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as exc:
        raise _damaged(f"manifest.json is not valid JSON ({exc})") from exc
    _check_manifest(manifest, seen)
    return manifest  # type: ignore[no-any-return]


def _check_manifest(manifest: Any, seen: dict[str, tuple[str, int, int]]) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _damaged("manifest.json does not describe an Aerie backup")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise Unprocessable(
            f"This backup has format version {manifest.get('format_version')!r}; "
            f"this Aerie reads version {FORMAT_VERSION}",
            {"format_version": manifest.get("format_version")},
        )
    members = manifest.get("members")
    tables = manifest.get("tables")
    if not isinstance(members, dict) or not isinstance(tables, list):
        raise _damaged("manifest.json lacks its member list or table list")
    unmatched = sorted((set(seen) - {MANIFEST}) ^ set(members))
    if unmatched:
        name = unmatched[0]
        where = "missing from the archive" if name in members else "not listed in the manifest"
        raise _damaged(f"member {name!r} is {where}", member=name)
    for name, (digest, size, _) in seen.items():
        if name == MANIFEST:
            continue
        expected = members[name]
        if not isinstance(expected, dict) or expected.get("sha256") != digest:
            raise _damaged(f"checksum mismatch in {name!r}", member=name)
        if expected.get("size") != size:
            raise _damaged(f"size mismatch in {name!r}", member=name)
    for entry in tables:
        if not isinstance(entry, dict) or not isinstance(entry.get("columns"), dict):
            raise _damaged("a table entry of manifest.json is malformed")
        name = f"db/{entry.get('name')}.jsonl"
        if name not in seen:
            raise _damaged(f"the dump of table {entry.get('name')!r} is missing", member=name)
        if seen[name][2] != entry.get("rows"):
            raise _damaged(
                f"{name!r} does not hold the {entry.get('rows')} rows the manifest lists"
            )
    if not isinstance(manifest.get("alembic_revision"), str):
        raise _damaged("manifest.json does not name the schema revision")


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
    for entry in manifest["tables"]:
        name, kinds = entry["name"], entry["columns"]
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
        reset_sequences(conn, list(counts))
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


# --- the daily schedule ------------------------------------------------------------------------


def _name_key(path: Path) -> tuple[datetime, int] | None:
    match = NAME_RE.match(path.name)
    if match is None:
        return None
    made = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return made, int(match.group(2) or 1)


def archive_time(path: Path) -> datetime | None:
    """When a backup in the backup folder was made, from its name (None: not a backup's name)."""
    key = _name_key(path)
    return key[0] if key else None


def list_backups(folder: Path | None = None) -> list[Path]:
    """Backups in the folder (named by :func:`create_backup`), newest first."""
    folder = folder or backup_dir()
    if not folder.is_dir():
        return []
    keyed = [(key, p) for p in folder.iterdir() if p.is_file() and (key := _name_key(p))]
    return [p for _, p in sorted(keyed, reverse=True)]


def prune_backups(*, keep: int, folder: Path | None = None) -> list[Path]:
    """Delete all but the ``keep`` newest backups. Returns the deleted paths."""
    doomed = list_backups(folder)[max(keep, 1) :]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


@contextmanager
def _folder_lock(folder: Path) -> Iterator[bool]:
    """An advisory lock on the backup folder, so two app processes never back up at once."""
    with (folder / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class BackupScheduler:
    """A daemon thread that makes a backup when the newest is a day old, and prunes old ones."""

    def __init__(self, interval_s: float = 3600.0) -> None:
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> Path | None:
        """Back up if the newest backup is older than 24 h (or there is none); prune to ``backup_keep``.

        Returns the new archive, or None when none was due (or another process holds the folder).
        """
        now = now or utcnow()
        folder = backup_dir()
        folder.mkdir(parents=True, exist_ok=True)
        with _folder_lock(folder) as locked:
            if not locked:
                return None
            newest = list_backups(folder)
            made: Path | None = None
            last = archive_time(newest[0]) if newest else None
            if last is None or now - last >= DAY:
                with session_scope() as session:
                    made = create_backup(session, now=now).path
            prune_backups(keep=get_settings().backup_keep, folder=folder)
            return made

    def start(self) -> None:
        """Start the thread, when ``backup_daily`` is on (else this does nothing)."""
        if self._thread is not None or not get_settings().backup_daily:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="backup-scheduler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                made = self.run_once()
                if made is not None:
                    log.info("daily backup written to %s", made)
            except Exception:
                log.exception("daily backup failed")
            self._stop.wait(self.interval_s)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


scheduler = BackupScheduler()
