"""Drawing routes: a hand part's PDF drawing, fetched from Onshape in the background when needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

from aerie_app.api.deps import Reader, SessionDep
from aerie_app.api.routes_parts import path_id
from aerie_app.errors import Unprocessable
from aerie_app.schemas import iso
from aerie_app.services import drawings, files
from aerie_app.services.drawings import DrawingState, DrawingStatus

router = APIRouter(prefix="/api/parts", tags=["drawings"])


def _pending(part_id: int, status: DrawingStatus) -> JSONResponse:
    # Poll the plain URL: repeating ?refresh=true after the export finished would start another.
    poll = f"/api/parts/{part_id}/drawing"
    return JSONResponse(
        {
            "status": "pending",
            "message": "The drawing is being exported from Onshape",
            "poll": poll,
        },
        status_code=202,
        headers={"Retry-After": str(max(1, round(status.retry_after))), "Location": poll},
    )


@router.get(
    "/{part_id}/drawing",
    response_model=None,
    summary="A hand part's PDF drawing: the stored one, or exported from its Onshape URL "
    "(202 while exporting; poll without refresh; 422 if the export failed)",
)
def drawing(
    session: SessionDep,
    _: Reader,
    part_id: str,
    refresh: bool = False,
    download: bool = False,
) -> Response:
    pid = path_id(part_id)
    status = drawings.request_drawing(session, pid, refresh=refresh)
    if status.state is DrawingState.PENDING:
        return _pending(pid, status)
    if status.state is DrawingState.FAILED or status.file is None:
        raise status.error or Unprocessable("The drawing could not be exported")
    row = status.file
    return FileResponse(
        files.blob_for(row),
        media_type="application/pdf",
        filename=row.display_name,
        content_disposition_type="attachment" if download else "inline",
        headers={"Cache-Control": "private, no-cache", "ETag": f'"{row.sha256}"'},
    )


@router.get(
    "/{part_id}/drawing/status",
    summary="The drawing's state (none, pending, ready, failed) without starting an export",
)
def drawing_status(session: SessionDep, _: Reader, part_id: str) -> dict[str, Any]:
    status = drawings.drawing_status(session, path_id(part_id))
    body: dict[str, Any] = {"status": status.state.value, "error": None, "file": None}
    if status.error is not None:
        body["error"] = status.error.message
    if status.file is not None:
        body["file"] = {
            "id": status.file.id,
            "revision": status.file.revision,
            "name": status.file.display_name,
            "uploadedBy": status.file.uploaded_by,
            "uploadedAt": iso(status.file.uploaded_at),
        }
    return body
