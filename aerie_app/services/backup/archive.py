"""The backup archive's format: member names, row encoding, checksums, and verifying a whole archive."""

from __future__ import annotations

import hashlib
import json
import tarfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from aerie_app.errors import NotFound, Unprocessable

FORMAT = "aerie-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_LIMIT = 256 * 1024 * 1024
CHUNK = 1024 * 1024
# Everything tarfile, gzip and zlib raise on a truncated or damaged archive.
ARCHIVE_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, UnicodeDecodeError)


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
