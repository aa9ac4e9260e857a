"""Uploads and revisions: validate before storing, store by content hash, keep every revision.

An upload is streamed to a temp file (hashing and counting as it goes, refusing past the size
limit), its content is checked against its extension, then it is moved into the blob store and
recorded as the part's new current revision. STEP revisions are queued for conversion.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app.cad.compress import COMPRESSED_NAME
from aerie_app.cad.sniff import SNIFF_BYTES, FileKind, detect_kind, kind_from_name
from aerie_app.db import begin_write
from aerie_app.errors import NotFound, TooLarge
from aerie_app.models import ConversionStatus, PartFile, utcnow
from aerie_app.schemas import iso, sanitize_filename
from aerie_app.services import model_facts, parts, storage
from aerie_app.settings import get_settings

CHUNK = 1024 * 1024
MEDIA_TYPES = {
    FileKind.STEP.value: "application/step",
    FileKind.PDF.value: "application/pdf",
    FileKind.STL.value: "model/stl",
    FileKind.GLB.value: "model/gltf-binary",
}


def _spool(stream: BinaryIO, limit: int) -> tuple[Path, str, int, bytes]:
    """Copy an upload to a temp file. Returns (path, sha256, size, first bytes)."""
    tmp = storage.tmp_dir() / f"upload-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with tmp.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(
                        f"File is larger than the {limit // (1024 * 1024)} MB limit",
                        {"limitBytes": limit},
                    )
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest.hexdigest(), size, head


def save_upload(
    session: Session,
    part_id: int,
    *,
    filename: str,
    stream: BinaryIO,
    uploaded_by: str | None,
) -> PartFile:
    """Validate and store an upload as the part's current revision; nothing is kept on failure."""
    part = parts.get_part(session, part_id)
    display = sanitize_filename(filename or "")
    kind_from_name(display)  # the extension alone decides 400 before any byte is stored
    tmp, sha, size, head = _spool(stream, get_settings().max_upload_bytes)
    try:
        kind = detect_kind(head, display, size)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    storage.adopt_blob(tmp, sha)
    # In the bucket before any row points at it (and outside the write lock: a big upload to a
    # slow store must not hold up every other writer). Unreachable: a 503, no row, retry.
    storage.publish(storage.blob_path(sha), content_addressed=True)
    begin_write(session)
    part = parts.get_part(session, part_id)
    revision = (
        session.exec(
            select(sa.func.max(PartFile.revision)).where(PartFile.part_id == part_id)
        ).one()
        or 0
    ) + 1
    status, facts, error, seconds = _initial_conversion(session, kind, sha)
    session.execute(
        sa.update(PartFile)
        .where(col(PartFile.part_id) == part_id, col(PartFile.is_current))
        .values(is_current=False)
    )
    row = PartFile(
        part_id=part_id,
        revision=revision,
        kind=kind.value,
        display_name=display,
        size=size,
        sha256=sha,
        is_current=True,
        uploaded_by=uploaded_by,
        uploaded_at=utcnow(),
        conversion_status=status.value,
        facts=facts,
        conversion_error=error,
        conversion_seconds=seconds,
    )
    session.add(row)
    session.commit()
    fields: dict[str, Any] = {"file": display}
    fields |= model_facts.facts_fields(session, part, facts)
    parts.save_changes(
        session,
        part,
        fields,
        actor=uploaded_by,
        kind="upload",
        note=f"{display} (revision {revision}, {size} bytes)",
    )
    if facts:
        # Content converted before: its facts are here now, so are their consequences.
        assert row.id is not None
        model_facts.after_new_facts(session, part_id, row)
    session.refresh(row)
    return row


class InitialConversion(NamedTuple):
    status: ConversionStatus
    facts: dict[str, Any] | None
    error: str | None
    seconds: float | None = None  # the reused conversion's, so every copy tells the same story


def _initial_conversion(session: Session, kind: FileKind, sha: str) -> InitialConversion:
    """Identical files are converted once: reuse a finished model for the same hash.

    A failure is not reused: uploading content whose conversion failed tries again (the cause
    may have been the server's, not the file's), and so do the other revisions with that content,
    so every part showing it gets the new outcome.
    """
    if kind is not FileKind.STEP:
        return InitialConversion(ConversionStatus.NONE, None, None)
    done = session.exec(
        select(PartFile).where(
            PartFile.sha256 == sha,
            PartFile.conversion_status == ConversionStatus.READY.value,
        )
    ).first()
    if done is not None and storage.stored(storage.model_dir(sha) / "model.glb"):
        return InitialConversion(ConversionStatus.READY, done.facts, None, done.conversion_seconds)
    session.execute(
        sa.update(PartFile)
        .where(
            col(PartFile.sha256) == sha,
            col(PartFile.conversion_status) == ConversionStatus.FAILED.value,
        )
        .values(conversion_status=ConversionStatus.QUEUED.value, conversion_error=None)
    )
    return InitialConversion(ConversionStatus.QUEUED, None, None)


# Kept here for callers that know it by this name (the legacy importer).
geometry_fields = model_facts.geometry_fields


def current_file(session: Session, part_id: int) -> PartFile | None:
    return session.exec(
        select(PartFile).where(PartFile.part_id == part_id, col(PartFile.is_current))
    ).first()


def require_current(session: Session, part_id: int) -> PartFile:
    parts.get_part(session, part_id)
    row = current_file(session, part_id)
    if row is None:
        raise NotFound("This part has no file", {"id": part_id})
    return row


def revisions(session: Session, part_id: int) -> Sequence[PartFile]:
    parts.get_part(session, part_id)
    return session.exec(
        select(PartFile).where(PartFile.part_id == part_id).order_by(col(PartFile.revision).desc())
    ).all()


def get_revision(session: Session, part_id: int, file_id: int) -> PartFile:
    row = session.get(PartFile, file_id)
    if row is None or row.part_id != part_id:
        raise NotFound("File not found", {"id": file_id})
    return row


def blob_for(row: PartFile) -> Path:
    path = storage.blob_path(row.sha256)
    if not storage.ensure_local(path):
        raise NotFound("The stored file is missing", {"id": row.id})
    return path


def model_path(row: PartFile) -> Path:
    """The plain GLB (what facts, thumbnails and ``?format=plain`` use)."""
    return storage.model_dir(row.sha256) / "model.glb"


def compressed_model_path(row: PartFile) -> Path:
    """The quantised, meshopt-compressed copy the viewer downloads (cad/compress.py)."""
    return storage.model_dir(row.sha256) / COMPRESSED_NAME


def served_model(row: PartFile, fmt: str) -> tuple[Path, str]:
    """(path, ETag) of the GLB a client asked for: ``"meshopt"`` (the default) falls back to the plain
    GLB for models converted before compression existed or when gltfpack could not make a copy."""
    if fmt != "plain":
        packed = compressed_model_path(row)
        if storage.ensure_local(packed):
            return packed, f'"{row.sha256}-meshopt"'
    plain = model_path(row)
    storage.ensure_local(plain)
    return plain, f'"{row.sha256}"'


def thumbnail_path(row: PartFile) -> Path:
    path = storage.model_dir(row.sha256) / "thumb.png"
    storage.ensure_local(path)
    return path


def view_paths(row: PartFile) -> list[Path]:
    folder = storage.local_dir(storage.model_dir(row.sha256) / "views")
    return sorted(folder.glob("view_*.png"), key=lambda p: int(p.stem.split("_")[1]))


def file_public(row: PartFile) -> dict[str, Any]:
    return {
        "id": row.id,
        "revision": row.revision,
        "kind": row.kind,
        "name": row.display_name,
        "size": row.size,
        "sha256": row.sha256,
        "current": row.is_current,
        "uploadedBy": row.uploaded_by,
        "uploadedAt": iso(row.uploaded_at),
        "conversion": conversion_public(row),
        "geometryChange": row.geometry_change,
    }


def conversion_public(row: PartFile) -> dict[str, Any] | None:
    if row.kind != FileKind.STEP.value:
        return None
    return {
        "status": row.conversion_status,
        "error": row.conversion_error,
        "seconds": row.conversion_seconds,
        "facts": row.facts,
        "geometryChange": row.geometry_change,
    }


def media_type(row: PartFile) -> str:
    return MEDIA_TYPES.get(row.kind, "application/octet-stream")


def legacy_views_dir(part_id: int) -> Path:
    return storage.part_dir(part_id) / "views"


def store_legacy_view(part_id: int, index: int, data: bytes) -> Path:
    """A PNG preview uploaded by the old client (view_0 … view_7)."""
    folder = legacy_views_dir(part_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"view_{index}.png"
    tmp = folder / f".view_{index}.{uuid.uuid4().hex}.tmp"
    tmp.write_bytes(data)
    try:
        storage.publish(tmp, as_path=target)  # in the bucket first, under its final key
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return target
