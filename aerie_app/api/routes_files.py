"""File routes: upload, download, the converted model, thumbnails, revisions and the old client's views."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile as StarletteUploadFile

from aerie_app.api.boundary import parse_id
from aerie_app.api.deps import Reader, SessionDep, Writer
from aerie_app.api.routes_parts import path_id
from aerie_app.errors import BadRequest, ConversionFailed, InvalidFile, NotFound, TooLarge
from aerie_app.models import ConversionStatus
from aerie_app.permissions import Permission
from aerie_app.schemas import iso
from aerie_app.services import conversions, files, parts, storage

router = APIRouter(prefix="/api/parts", tags=["files"])
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_VIEW_BYTES = 5 * 1024 * 1024


@router.post(
    "/{part_id}/upload",
    status_code=201,
    summary="Upload a STEP/STP or PDF (multipart field `file`); STEP is converted in the background",
)
async def upload(
    request: Request, session: SessionDep, principal: Writer, part_id: str
) -> JSONResponse:
    principal.require(Permission.UPLOAD)
    pid = path_id(part_id)
    parts.get_part(session, pid)
    form = await request.form(max_files=1, max_fields=10, max_part_size=1024 * 1024)
    upload_file = form.get("file")
    if not isinstance(upload_file, StarletteUploadFile):
        raise BadRequest("No file provided", {"field": "file"})
    if not upload_file.filename:
        raise BadRequest("No file selected", {"field": "file"})
    row = files.save_upload(
        session,
        pid,
        filename=upload_file.filename,
        stream=upload_file.file,
        uploaded_by=principal.name,
    )
    body: dict[str, Any] = {
        "message": "File uploaded successfully",
        "filename": row.display_name,
        "file_path": storage.relative(storage.blob_path(row.sha256)),
        "file": files.file_public(row),
    }
    conversion = files.conversion_public(row)
    if conversion is not None:
        body["conversion"] = conversion
        if row.conversion_status == ConversionStatus.QUEUED.value:
            conversions.queue.kick()
    return JSONResponse(body, status_code=201)


def _send(row: Any, *, inline: bool) -> Response:
    """The uploaded file: streamed, or a redirect to the bucket where the admin allows it."""
    media_type = files.media_type(row)
    url = storage.presigned_download(
        storage.blob_path(row.sha256),
        filename=row.display_name,
        inline=inline,
        media_type=media_type,
    )
    if url is not None:
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    return FileResponse(
        files.blob_for(row),
        media_type=media_type,
        filename=row.display_name,
        content_disposition_type="inline" if inline else "attachment",
    )


@router.get("/{part_id}/download", summary="The current file as an attachment", response_model=None)
def download(session: SessionDep, _: Reader, part_id: str) -> Response:
    return _send(files.require_current(session, path_id(part_id)), inline=False)


@router.get(
    "/{part_id}/file",
    summary="The current file inline (PDFs open in the browser)",
    response_model=None,
)
def inline_file(session: SessionDep, _: Reader, part_id: str) -> Response:
    return _send(files.require_current(session, path_id(part_id)), inline=True)


@router.get("/{part_id}/files", summary="Every revision of the part's file, newest first")
def list_revisions(session: SessionDep, _: Reader, part_id: str) -> dict[str, Any]:
    return {"files": [files.file_public(r) for r in files.revisions(session, path_id(part_id))]}


@router.get(
    "/{part_id}/files/{file_id}/download", summary="Download one revision", response_model=None
)
def download_revision(session: SessionDep, _: Reader, part_id: str, file_id: str) -> Response:
    pid = path_id(part_id)
    row = files.get_revision(session, pid, parse_id(file_id, "File not found"))
    return _send(row, inline=False)


def _model_row(session: SessionDep, part_id: str) -> Any:
    row = files.require_current(session, path_id(part_id))
    if row.kind != "step":
        raise NotFound("This part's file is not a 3D model", {"kind": row.kind})
    return row


def _pending(row: Any) -> JSONResponse | None:
    if row.conversion_status in (ConversionStatus.QUEUED.value, ConversionStatus.RUNNING.value):
        return JSONResponse(
            {"status": row.conversion_status, "message": "The 3D model is being prepared"},
            status_code=202,
            headers={"Retry-After": "2"},
        )
    if row.conversion_status == ConversionStatus.FAILED.value:
        raise ConversionFailed("Conversion failed", row.conversion_error)
    return None


def _converted_file(
    session: SessionDep,
    part_id: str,
    path_of: Callable[[Any], Path],
    media_type: str,
    missing: str,
) -> Response:
    """A product of the conversion: 202 while it runs, 422 if it failed, else the file."""
    row = _model_row(session, part_id)
    pending = _pending(row)
    if pending is not None:
        return pending
    path = path_of(row)
    if not path.exists():
        raise NotFound(missing)
    return FileResponse(
        path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"}
    )


# ?format= of the model routes: the compressed copy unless a tool asks for the plain GLB.
ModelFormat = Annotated[
    Literal["meshopt", "plain"],
    Query(
        description="`meshopt` (default): quantised and EXT_meshopt_compression-compressed, what "
        "the viewer loads (three.js decodes it with MeshoptDecoder); `plain`: the uncompressed "
        "GLB, for tools without meshopt support. A model converted before compression existed is "
        "served plain either way."
    ),
]


def _serve_model(row: Any, fmt: str, missing: str) -> Response:
    pending = _pending(row)
    if pending is not None:
        return pending
    path, etag = files.served_model(row, fmt)
    if not path.exists():
        raise NotFound(missing)
    headers = {"Cache-Control": "private, max-age=3600", "ETag": etag}
    return FileResponse(path, media_type="model/gltf-binary", headers=headers)


@router.get(
    "/{part_id}/model",
    summary="The current STEP file as GLB (202 while converting, 422 if conversion failed)",
    response_model=None,
)
def model(
    session: SessionDep, _: Reader, part_id: str, format: ModelFormat = "meshopt"
) -> Response:
    row = _model_row(session, part_id)
    return _serve_model(row, format, "The converted model is missing; convert again")


@router.get(
    "/{part_id}/files/{file_id}/model",
    summary="One revision's model as GLB (e.g. the previous one, shown as a ghost over the new)",
    response_model=None,
)
def revision_model(
    session: SessionDep, _: Reader, part_id: str, file_id: str, format: ModelFormat = "meshopt"
) -> Response:
    row = files.get_revision(session, path_id(part_id), parse_id(file_id, "File not found"))
    if row.kind != "step":
        raise NotFound("This revision is not a 3D model", {"kind": row.kind})
    return _serve_model(row, format, "This revision's model is missing; convert it again")


@router.get("/{part_id}/conversion", summary="Conversion status and geometry facts")
def conversion_status(session: SessionDep, _: Reader, part_id: str) -> dict[str, Any]:
    row = _model_row(session, part_id)
    return files.conversion_public(row) or {}


@router.post("/{part_id}/convert", status_code=202, summary="Convert the current STEP again")
def reconvert(session: SessionDep, principal: Writer, part_id: str) -> dict[str, Any]:
    principal.require(Permission.UPLOAD)
    row = conversions.requeue(session, path_id(part_id))
    conversions.queue.kick()
    return files.conversion_public(row) or {}


@router.get(
    "/{part_id}/thumbnail", summary="Server-rendered PNG preview of the model", response_model=None
)
def thumbnail(session: SessionDep, _: Reader, part_id: str) -> Response:
    return _converted_file(
        session, part_id, files.thumbnail_path, "image/png", "No thumbnail for this model"
    )


def _views_manifest(session: SessionDep, pid: int) -> dict[str, Any] | None:
    uploaded = sorted(storage.local_dir(files.legacy_views_dir(pid)).glob("view_*.png"))
    if uploaded:
        newest = max(p.stat().st_mtime for p in uploaded)
        return {
            "files": {
                p.stem.split("_")[1]: {"filename": p.name, "timestamp": p.stat().st_mtime}
                for p in uploaded
            },
            "updated_at": newest,
        }
    row = files.current_file(session, pid)
    if row is None or row.conversion_status != ConversionStatus.READY.value:
        return None
    rendered = files.view_paths(row)
    if not rendered:
        return None
    return {
        "files": {
            p.stem.split("_")[1]: {"filename": p.name, "timestamp": iso(row.uploaded_at)}
            for p in rendered
        },
        "updated_at": iso(row.uploaded_at),
    }


@router.get("/{part_id}/views", summary="Manifest of preview images (old client)")
def views(session: SessionDep, _: Reader, part_id: str) -> dict[str, Any]:
    pid = path_id(part_id)
    parts.get_part(session, pid)
    return {"views": _views_manifest(session, pid)}


@router.post("/{part_id}/views", summary="Store preview PNGs view_0…view_7 (old client)")
async def upload_views(
    request: Request, session: SessionDep, principal: Writer, part_id: str
) -> dict[str, Any]:
    principal.require(Permission.UPLOAD)
    pid = path_id(part_id)
    parts.get_part(session, pid)
    form = await request.form(max_files=8, max_fields=20, max_part_size=1024 * 1024)
    stored = 0
    for key, value in form.multi_items():
        match = re.fullmatch(r"view_([0-7])", key)
        if not match or not hasattr(value, "read"):
            continue
        data = await value.read(MAX_VIEW_BYTES + 1)  # type: ignore[union-attr]
        if len(data) > MAX_VIEW_BYTES:
            raise TooLarge("A preview image is larger than 5 MB")
        if not data.startswith(PNG_MAGIC):
            raise InvalidFile(f"{key} is not a PNG image")
        files.store_legacy_view(pid, int(match.group(1)), data)
        stored += 1
    if not stored:
        raise BadRequest("No view_0 … view_7 PNG files in the upload")
    return {"success": True, "views": _views_manifest(session, pid)}


@router.get("/{part_id}/views/{index}", summary="One preview PNG", response_model=None)
def view_image(session: SessionDep, _: Reader, part_id: str, index: str) -> FileResponse:
    pid = path_id(part_id)
    parts.get_part(session, pid)
    if not re.fullmatch(r"[0-7]", index):
        raise NotFound("View not found")
    uploaded = files.legacy_views_dir(pid) / f"view_{index}.png"
    if storage.ensure_local(uploaded):
        return FileResponse(uploaded, media_type="image/png")
    row = files.current_file(session, pid)
    if row is not None and row.conversion_status == ConversionStatus.READY.value:
        rendered = [p for p in files.view_paths(row) if p.stem == f"view_{index}"]
        if rendered:
            return FileResponse(rendered[0], media_type="image/png")
    raise NotFound("View not found")
