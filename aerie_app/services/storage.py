"""Where stored files live. Every path to a stored file is built here and nowhere else.

Layout under ``<data_dir>/files``: ``blobs/ab/<sha256>`` (uploads, by content hash, so identical
uploads are stored and converted once), ``models/<sha256>/`` (GLB, thumbnail, turntable views of a
STEP blob) and ``parts/<id>/`` (per-part files such as the old client's uploaded views).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection
from pathlib import Path

from sqlmodel import Session, col, select

from aerie_app.models import PartFile
from aerie_app.settings import get_settings


def files_root() -> Path:
    return get_settings().files_dir


def blob_path(sha256: str) -> Path:
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError("not a sha256 hex digest")
    return files_root() / "blobs" / sha256[:2] / sha256


def model_dir(sha256: str) -> Path:
    blob_path(sha256)  # validates
    return files_root() / "models" / sha256


def part_dir(part_id: int) -> Path:
    return files_root() / "parts" / str(int(part_id))


def tmp_dir() -> Path:
    path = files_root() / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def relative(path: Path) -> str:
    """A stored path as clients may see it: relative to the data folder, never absolute."""
    return path.resolve().relative_to(get_settings().data_dir.resolve()).as_posix()


def adopt_blob(tmp_file: Path, sha256: str) -> Path:
    """Move a fully written temp file into the blob store (atomic rename; duplicates are dropped)."""
    target = blob_path(sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        tmp_file.unlink(missing_ok=True)
    else:
        os.replace(tmp_file, target)
    return target


def delete_part_dir(part_id: int) -> None:
    shutil.rmtree(part_dir(part_id), ignore_errors=True)


def prune_blobs(session: Session, candidates: Collection[str] | None = None) -> int:
    """Remove blobs and models no revision references any more. Returns how many blobs went.

    ``candidates``: only these content hashes may have lost their last reference (the files of a
    part just deleted), so only they are looked at, not every stored file.
    """
    if candidates is not None:
        if not candidates:
            return 0
        still = set(
            session.exec(select(PartFile.sha256).where(col(PartFile.sha256).in_(candidates))).all()
        )
        gone = [sha for sha in candidates if sha not in still]
        for sha in gone:
            try:
                blob_path(sha).unlink(missing_ok=True)
            except ValueError:  # not a content hash: nothing of it is stored by hash
                continue
            shutil.rmtree(files_root() / "models" / sha, ignore_errors=True)
        return len(gone)
    referenced = set(session.exec(select(PartFile.sha256)).all())
    removed = 0
    blobs = files_root() / "blobs"
    if blobs.exists():
        for path in blobs.glob("*/*"):
            if path.name not in referenced:
                path.unlink(missing_ok=True)
                shutil.rmtree(files_root() / "models" / path.name, ignore_errors=True)
                removed += 1
    models = files_root() / "models"
    if models.exists():
        for path in models.iterdir():
            if path.name not in referenced:
                shutil.rmtree(path, ignore_errors=True)
    return removed
