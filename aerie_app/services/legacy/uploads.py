"""The old ``uploads/<id>/`` folder: a part's file (staged, hashed, sniffed) and its preview images."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aerie_app.cad.sniff import SNIFF_BYTES, detect_kind
from aerie_app.errors import AerieError
from aerie_app.schemas import sanitize_filename
from aerie_app.services import files, storage
from aerie_app.services.legacy.rows import _Plan

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHUNK = 1024 * 1024


@dataclass
class _Staged:
    """An old upload copied into the temp folder, hashed and sniffed, not yet in the blob store."""

    tmp: Path
    sha256: str
    size: int
    kind: str
    display: str


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
