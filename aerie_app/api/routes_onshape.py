"""Onshape BOM import: preview an assembly's parts, then import them (and fetch their STEP files)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from aerie_app.api.deps import SessionDep, Writer
from aerie_app.api.routes_parts import acting_person
from aerie_app.permissions import Permission
from aerie_app.services import bom

router = APIRouter(prefix="/api/onshape", tags=["onshape"])

BODY_EXAMPLE = {
    "url": "https://cad.onshape.com/documents/0123456789abcdef01234567/w/0123456789abcdef01234567/e/0123456789abcdef01234567",
    "defaultSubsystem": "Robot",
}
BomBody = Annotated[
    dict[str, Any] | None, Body(openapi_examples={"assembly": {"value": BODY_EXAMPLE}})
]


@router.post(
    "/bom/preview",
    summary="What importing an Onshape assembly's bill of materials would do",
    description=(
        "Reads the assembly's indented BOM through the Onshape API (keys from the settings) and "
        "answers like `POST /api/parts/import` without `apply`: each part (part number, else "
        "name, as `partId`; total quantity; material; top-level sub-assembly as subsystem, "
        "`defaultSubsystem` for parts at the top) as new, changed or unchanged, with every "
        "error. Nothing is written."
    ),
)
def preview_bom(session: SessionDep, principal: Writer, body: BomBody = None) -> dict[str, Any]:
    principal.require(Permission.IMPORT)
    data = body or {}
    result = bom.preview(
        session, url=data.get("url"), default_subsystem=data.get("defaultSubsystem")
    )
    return result.public(applied=False)


@router.post(
    "/bom/import",
    summary="Import an Onshape assembly's parts and fetch each part's STEP model",
    description=(
        "The preview's rows, written in one transaction (or none: 400 naming the bad rows); "
        "then each part's STEP is exported from its part studio in the background and "
        "converted like an upload (`exports` says how many were queued). Importing the same "
        "assembly again updates the parts instead of adding them twice."
    ),
)
def import_bom(session: SessionDep, principal: Writer, body: BomBody = None) -> dict[str, Any]:
    principal.require(Permission.IMPORT)
    data = body or {}
    result, queued = bom.apply(
        session,
        url=data.get("url"),
        default_subsystem=data.get("defaultSubsystem"),
        actor=acting_person(principal, data, None),
    )
    return result.public(applied=True, exports=queued)
