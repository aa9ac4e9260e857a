"""Where stored files live. Every path to a stored file is built here and nowhere else.

Layout under ``<data_dir>/files``: ``blobs/ab/<sha256>`` (uploads, by content hash, so identical
uploads are stored and converted once), ``models/<sha256>/`` (GLB, thumbnail, turntable views of a
STEP blob) and ``parts/<id>/`` (per-part files such as the old client's uploaded views).

**With an object store** (``AERIE_S3_BUCKET``) the same layout is the bucket's key layout and the
bucket is the truth; the data folder is a cache every host fills on demand. Whatever is written
is put in the bucket before the database records it (:func:`publish`: an unreachable store is a
503 and nothing is recorded, so the request can simply be retried); whatever is read is fetched
into the cache first when this host does not have it (:func:`ensure_local`). So any web worker or
conversion worker on any host serves and converts every file. Without a bucket these calls cost
a ``stat`` and nothing else.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlmodel import Session, col, select

from aerie_app.models import PartFile
from aerie_app.settings import get_settings

if TYPE_CHECKING:
    from aerie_app.integrations.objectstore import S3Store


@lru_cache
def _s3(bucket: str, endpoint: str | None, region: str, prefix: str) -> S3Store:
    from aerie_app.integrations.objectstore import S3Store

    return S3Store(bucket, endpoint_url=endpoint, region=region, prefix=prefix)


def object_store() -> S3Store | None:
    """The configured bucket, or None (the data folder is the store)."""
    settings = get_settings()
    if not settings.s3_bucket:
        return None
    return _s3(
        settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region, settings.s3_prefix or ""
    )


def presigned_download(path: Path, *, filename: str, inline: bool, media_type: str) -> str | None:
    """Where a client may fetch a stored file straight from the bucket (a presigned URL), when
    the admin allows it (``AERIE_S3_PRESIGNED_DOWNLOADS_S``); None: Aerie streams it itself.
    A file missing from the bucket is None too, so the caller answers its own 404."""
    expires = get_settings().s3_presigned_downloads_s
    store = object_store()
    if store is None or not expires:
        return None
    key = key_for(path)
    if not store.exists(key):
        return None
    return store.presign(
        key,
        expires_s=expires,
        disposition=content_disposition(filename, inline=inline),
        media_type=media_type,
    )


def content_disposition(filename: str, *, inline: bool) -> str:
    """RFC 6266: a plain ASCII name quoted, anything else percent-encoded as UTF-8."""
    kind = "inline" if inline else "attachment"
    encoded = quote(filename)
    if encoded == filename and '"' not in filename:
        return f'{kind}; filename="{filename}"'
    return f"{kind}; filename*=utf-8''{encoded}"


def key_for(path: Path) -> str:
    """A stored path's key in the bucket: its place under the files folder."""
    return path.resolve().relative_to(files_root().resolve()).as_posix()


def publish(path: Path, *, content_addressed: bool = False, as_path: Path | None = None) -> None:
    """Put a stored file, or every file under a stored folder, in the bucket (if there is one).

    ``content_addressed``: the key names the content, so an object already there is kept (an
    identical upload costs a HEAD, not a second transfer). Raises
    :class:`~aerie_app.errors.StorageUnavailable` when the store cannot take it. ``as_path``: the
    stored path a single file (still a temporary one) will have."""
    store = object_store()
    if store is None:
        return
    if path.is_dir():
        # Not what is still being written: dot-names are temporary files and staging folders.
        targets = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    else:
        targets = [path]
    for target in targets:
        key = key_for(as_path if as_path is not None and not path.is_dir() else target)
        if content_addressed and store.exists(key):
            continue
        try:
            store.put(key, target)
        except FileNotFoundError:
            if not path.is_dir():
                raise
            # Replaced meanwhile (a view re-rendered): the next publish of the folder takes it.


def ensure_local(path: Path) -> bool:
    """Whether the stored file is here, fetching it from the bucket into the cache if need be."""
    if path.exists():
        return True
    store = object_store()
    return store is not None and store.fetch(key_for(path), path)


def local_dir(folder: Path) -> Path:
    """A stored folder, fetched from the bucket first when this host has none of it."""
    if not folder.exists():
        ensure_local_dir(folder)
    return folder


def ensure_local_dir(folder: Path) -> None:
    """Fetch every object under a stored folder that this host does not have yet."""
    store = object_store()
    if store is None:
        return
    for key in store.keys(key_for(folder) + "/"):
        target = files_root() / key
        if not target.exists():
            store.fetch(key, target)


def pull_all() -> int:
    """Fetch every object this host lacks (a backup takes the data folder). Returns how many."""
    store = object_store()
    if store is None:
        return 0
    fetched = 0
    for key in store.keys(""):
        target = files_root() / key
        if not target.exists() and store.fetch(key, target):
            fetched += 1
    return fetched


def push_tree(folder: Path) -> None:
    """Put every file under ``folder``, laid out as the files folder is, in the bucket (a
    restore, before any restored row points at them)."""
    store = object_store()
    if store is None:
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            store.put(path.relative_to(folder).as_posix(), path)


def stored(path: Path) -> bool:
    """Whether the stored file exists here or in the bucket (without fetching it)."""
    if path.exists():
        return True
    store = object_store()
    return store is not None and store.exists(key_for(path))


def _forget(keys_or_prefixes: list[str]) -> None:
    """Delete objects (exact keys, or every key under a prefix ending in /) from the bucket."""
    store = object_store()
    if store is None:
        return
    doomed: list[str] = []
    for item in keys_or_prefixes:
        doomed.extend(store.keys(item) if item.endswith("/") else [item])
    store.delete(doomed)


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
    _forget([f"parts/{int(part_id)}/"])


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
        hashed = []
        for sha in gone:
            try:
                blob_path(sha).unlink(missing_ok=True)
            except ValueError:  # not a content hash: nothing of it is stored by hash
                continue
            shutil.rmtree(files_root() / "models" / sha, ignore_errors=True)
            hashed.append(sha)
        _forget([f"blobs/{sha[:2]}/{sha}" for sha in hashed] + [f"models/{sha}/" for sha in hashed])
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
    store = object_store()
    if store is not None:
        unreferenced = {
            key.split("/")[1]
            for key in store.keys("models/")
            if key.count("/") >= 2 and key.split("/")[1] not in referenced
        }
        blob_keys = [k for k in store.keys("blobs/") if k.rsplit("/", 1)[-1] not in referenced]
        removed = max(removed, len(blob_keys))
        _forget(blob_keys + [f"models/{sha}/" for sha in sorted(unreferenced)])
    return removed
