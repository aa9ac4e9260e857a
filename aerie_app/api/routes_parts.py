"""Aerie-compatible part routes: list, CRUD, workflow actions, stats, leaderboard, wipe, timeline."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile

from aerie_app.api.boundary import MAX_ID, MAX_INT, parse_id
from aerie_app.api.deps import Admin, Reader, SessionDep, Writer, auth_checks, client_id
from aerie_app.api.writes import run_write
from aerie_app.db import loop_session, session_scope
from aerie_app.errors import (
    AerieError,
    BadRequest,
    Forbidden,
    InvalidApiKey,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from aerie_app.models import Category, FitStatus, PartType, Scope, Status
from aerie_app.permissions import Permission
from aerie_app.schemas import normalize_part_input, part_public
from aerie_app.services import (
    export,
    imports,
    keys,
    labels,
    listcache,
    partjson,
    partquery,
    parts,
    stats,
)
from aerie_app.services.keys import Principal
from aerie_app.services.partquery import PartQuery
from aerie_app.settings import get_settings
from aerie_app.units import parse_length_mm

router = APIRouter(prefix="/api/parts", tags=["parts"])

PART_EXAMPLE = {
    "type": "cnc",
    "name": "Intake side plate",
    "subsystem": "Intake",
    "material": "6061 Aluminum",
    "materialThickness": "0.25 in",
    "amount": 2,
    "notes": "Deburr all edges",
    "onshapeUrl": "https://cad.onshape.com/documents/abc/w/def/e/ghi",
}
JsonBody = Annotated[
    dict[str, Any] | None, Body(openapi_examples={"part": {"value": PART_EXAMPLE}})
]
ActionBody = Annotated[dict[str, Any] | None, Body()]
WEIGH_FIELDS = frozenset({"measuredMassG", "version", "actor"})
Limit = Annotated[int | None, Query(ge=0, le=100_000, description="Page size; none = all")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]


def path_id(part_id: str) -> int:
    """Path ids are parsed here so that ``/api/parts/abc`` is a 404, as for any unknown part."""
    return parse_id(part_id, "Part not found")


def expected_version_from(if_match: str | None, body: dict[str, Any] | None) -> int | None:
    raw: Any = None
    if body and "version" in body:
        raw = body["version"]
    elif if_match:
        raw = if_match.strip().removeprefix("W/").strip('"')
    if raw is None or raw == "*":
        return None
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_INT:
        raise ValidationFailed("version", "version must be a whole number (the part's version)")
    return raw


def acting_person(principal: Principal, body: dict[str, Any] | None, user: str | None) -> str:
    """Who the timeline names: a person signed in or using their own key is that person (they
    cannot act as someone else); a shared key may name the person at the keyboard."""
    if principal.person_id is not None:
        return principal.name
    person = user or (body or {}).get("actor")
    if isinstance(person, str) and person.strip():
        return f"{person.strip()[:100]} (key: {principal.name})"
    return principal.name


def part_response(part: Any, status_code: int = 200) -> Response:
    # orjson, as the list's cached fragments are: the same JSON, a fifth of stdlib json's time.
    return Response(
        orjson.dumps(part_public(part)),
        status_code=status_code,
        media_type="application/json",
        headers={"ETag": f'W/"{part.version}"'},
    )


def _list(session: SessionDep, query: PartQuery, request: Request) -> Response:
    """The list as JSON bytes, reused while nothing changed (see services/listcache.py)."""
    marker = partquery.change_marker(session)
    key = listcache.cache.key(marker, repr(dataclasses.astuple(query)))
    etag = f'W/"{key}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)

    def render() -> bytes:
        return partjson.list_json(session, query)

    body = listcache.cache.get_or_render(key, render)
    return Response(body, media_type="application/json", headers=headers)


Size = Annotated[float | None, Query(ge=0, le=1_000_000, allow_inf_nan=False)]
Thickness = Annotated[
    str | None,
    Query(max_length=40, description="mm, or a length with its unit: 6, 6 mm, 1/4 in, 0.25in"),
]


def _thickness(raw: str | None, field: str) -> float | None:
    if raw is None or not raw.strip():
        return None
    mm = parse_length_mm(raw)
    if mm is None:
        raise ValidationFailed(field, f"{field} must be a thickness such as 6, 6 mm or 1/4 in")
    return mm


@dataclasses.dataclass
class ShopFilters:
    """The shop's list filters (camelCase, as the UI and scripts send them)."""

    fits: Annotated[
        str | None,
        Query(
            max_length=12,
            description="A machine id: parts it can make; `none`: parts no enabled machine can make",
        ),
    ] = None
    fitStatus: Annotated[FitStatus | None, Query(description="fits, none, no_model or unknown")] = (
        None
    )
    maxX: Size = None
    maxY: Size = None
    maxZ: Size = None
    thickness: Thickness = None
    minThickness: Thickness = None
    maxThickness: Thickness = None
    minMass: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None
    maxMass: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None

    def query_fields(self) -> dict[str, Any]:
        return {
            "fits": _fits(self.fits),
            "fit_status": self.fitStatus.value if self.fitStatus else None,
            "max_x_mm": self.maxX,
            "max_y_mm": self.maxY,
            "max_z_mm": self.maxZ,
            "thickness_mm": _thickness(self.thickness, "thickness"),
            "min_thickness_mm": _thickness(self.minThickness, "minThickness"),
            "max_thickness_mm": _thickness(self.maxThickness, "maxThickness"),
        }


_NO_SHOP_FILTERS = ShopFilters()


def _fits(raw: str | None) -> int | str | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip().lower()
    if text == "none":
        return "none"
    if text.isdigit() and 1 <= int(text) <= MAX_ID:
        return int(text)
    raise ValidationFailed("fits", "fits must be a machine id or none")


LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`{parts, total, limit, offset}`; with `ETag` (send `If-None-Match` for a 304)",
        "content": {
            "application/json": {
                "example": {"parts": [PART_EXAMPLE], "total": 1, "limit": 50, "offset": 0}
            }
        },
    }
}


def board_query(
    category: Category | None = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    sort_by: Annotated[str | None, Query(description="A part field; unknown → created_at")] = None,
    sort_order: Annotated[str | None, Query(description="asc, or anything else for desc")] = None,
    limit: Limit = None,
    offset: Offset = 0,
    subsystem: str | None = None,
    material: str | None = None,
    assigned: str | None = None,
    status: Status | None = None,
    type: PartType | None = None,
    min_mass_g: Annotated[
        float | None,
        Query(ge=0, allow_inf_nan=False, description="Mass at least, g (measured, else estimated)"),
    ] = None,
    max_mass_g: Annotated[
        float | None,
        Query(ge=0, allow_inf_nan=False, description="Mass at most, g (measured, else estimated)"),
    ] = None,
    has_model: Annotated[
        bool | None, Query(description="Only parts with (or without) a 3D model")
    ] = None,
    shop: Annotated[ShopFilters, Depends()] = _NO_SHOP_FILTERS,
) -> PartQuery:
    """The list's filters, search, sort and page, as the list and its CSV export take them."""
    return PartQuery(
        category=category.value if category else None,
        search=search,
        sort_by=sort_by,
        sort_order=sort_order,
        limit=limit,
        offset=offset,
        subsystem=subsystem,
        material=material,
        assigned=assigned,
        status=status.value if status else None,
        type=type.value if type else None,
        min_mass_g=min_mass_g if shop.minMass is None else shop.minMass,
        max_mass_g=max_mass_g if shop.maxMass is None else shop.maxMass,
        has_model=has_model,
        **shop.query_fields(),
    )


BoardQuery = Annotated[PartQuery, Depends(board_query)]


@router.get("", include_in_schema=False)
@router.get(
    "/",
    summary="List parts",
    description="Filter, search, sort and page through parts.",
    responses=LIST_RESPONSES,
)
def list_parts(request: Request, session: SessionDep, _: Reader, query: BoardQuery) -> Response:
    return _list(session, query, request)


@router.get(
    "/export.csv",
    summary="The parts a list shows, as CSV",
    description=(
        "Every part the same filters, search and sort as `GET /api/parts/` match (paging "
        "ignored), one line each, UTF-8 with a byte-order mark. Text a spreadsheet would take "
        "for a formula is written with a leading apostrophe."
    ),
    response_model=None,
)
def export_csv(session: SessionDep, _: Reader, query: BoardQuery) -> Response:
    return stamped_file(export.parts_csv(session, query), "text/csv; charset=utf-8", "parts", "csv")


def stamped_file(
    body: bytes, media_type: str, what: str, ext: str, *, disposition: str = "attachment"
) -> Response:
    """A generated file, named ``aerie-<what>-<UTC date-time>.<ext>``, never cached."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="aerie-{what}-{stamp}.{ext}"',
            "Cache-Control": "no-store",
        },
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/export.xlsx",
    summary="The parts a list shows, as an Excel workbook",
    description=(
        "The CSV export's rows and columns as an .xlsx workbook (one sheet, `Parts`). Text is "
        "stored as text, never as a formula."
    ),
    response_model=None,
)
def export_xlsx(session: SessionDep, _: Reader, query: BoardQuery) -> Response:
    return stamped_file(export.parts_xlsx(session, query), XLSX, "parts", "xlsx")


@router.post(
    "/import",
    summary="Import parts from a CSV or XLSX file (dry run unless apply=true)",
    description=(
        "Multipart field `file`: a CSV (UTF-8, or Excel's Windows encoding; comma, semicolon or "
        "tab) or .xlsx whose first row names the columns (`id`, `partId`, `name`, `type`, "
        "`subsystem`, `material`, `thickness`, `amount`, `assigned`, `notes`, `onshapeUrl`, "
        "`measuredMassG`; the CSV export's headers work). A row updates the part its `id` names, "
        "else the one part with its `partId`, else creates one; an empty cell leaves a field as it "
        "is; computed columns (status, fit, dates…) are ignored. Without `apply=true` nothing is "
        "written: the answer says what each row would do, with every error in the API's words. "
        "With it, every row lands in one transaction, or none (400 naming the bad rows). "
        f"At most {imports.MAX_ROWS} rows and 5 MB."
    ),
)
async def import_parts(
    request: Request,
    principal: Writer,
    apply: Annotated[bool, Query(description="Write the rows (default: a dry run)")] = False,
    x_aerie_user: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    principal.require(Permission.IMPORT)
    form = await request.form(max_files=1, max_fields=10, max_part_size=1024 * 1024)
    upload = form.get("file")
    if not isinstance(upload, StarletteUploadFile) or not upload.filename:
        raise BadRequest("No file provided", {"field": "file"})
    raw = await upload.read(imports.MAX_BYTES + 1)
    name = upload.filename
    if apply:
        actor = acting_person(principal, None, x_aerie_user)
        result = await run_write(
            lambda session: imports.apply(session, raw, name, actor=actor), on_loop=False
        )
    else:

        def dry_run() -> imports.ImportPlan:
            with session_scope() as session:
                return imports.plan(session, raw, name)

        result = await run_in_threadpool(dry_run)
    return JSONResponse(result.public(applied=apply))


SHEET_KEYS = ", ".join(f"`{key}` ({sheet.title})" for key, sheet in labels.SHEETS.items())


@router.get(
    "/labels.pdf",
    summary="Printable QR labels for parts",
    description=(
        "A PDF of part labels: part number, name, material and thickness, amount, subsystem and "
        "a QR code that opens the part's phone card (`/p/<id>` at `AERIE_PUBLIC_URL`, else at "
        "the address this request was sent to). `ids` picks parts (in that order); without it, "
        "every part the list's filters, search and sort match is labelled (paging ignored). "
        f"At most {labels.MAX_LABELS} labels. Sheets: {SHEET_KEYS}."
    ),
    response_model=None,
)
def labels_pdf(
    request: Request,
    session: SessionDep,
    _: Reader,
    query: BoardQuery,
    ids: Annotated[
        str | None,
        Query(
            max_length=4000,
            description="Comma-separated part ids, e.g. 3,7,12 (a longer list: use the filters)",
        ),
    ] = None,
    sheet: Annotated[
        str | None, Query(max_length=40, description=f"Label stock; default {labels.DEFAULT_SHEET}")
    ] = None,
    start: Annotated[
        int, Query(ge=0, le=100, description="Labels already used on the first sheet (skipped)")
    ] = 0,
) -> Response:
    stock = labels.sheet_for(sheet)
    picked = labels.parse_ids(ids) if ids else None
    rows = labels.parts_for_labels(session, ids=picked, query=query)
    base = get_settings().public_url or str(request.base_url)
    body = labels.labels_pdf([labels.label_for(p, base) for p in rows], sheet=stock, start=start)
    return stamped_file(body, "application/pdf", "labels", "pdf", disposition="inline")


@router.get("/categories/{category}", summary="List one category's parts", responses=LIST_RESPONSES)
def list_category(
    request: Request,
    session: SessionDep,
    _: Reader,
    category: Category,
    search: Annotated[str | None, Query(max_length=200)] = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> Response:
    query = PartQuery(
        category=category.value,
        search=search,
        sort_by=sort_by,
        sort_order=sort_order,
        limit=limit,
        offset=offset,
    )
    return _list(session, query, request)


@router.post("", include_in_schema=False, status_code=201)
@router.post("/", status_code=201, summary="Create a part (lands in Review, Pending)")
async def create_part(
    principal: Writer,
    body: JsonBody = None,
    x_aerie_user: Annotated[str | None, Header()] = None,
) -> Response:
    principal.require(Permission.CREATE_PART)
    data = normalize_part_input(body, partial=False)
    actor = acting_person(principal, body, x_aerie_user)
    part = await run_write(lambda session: parts.create_part(session, data=data, actor=actor))
    return part_response(part, 201)


def _cached(session: SessionDep, name: str, compute: Any) -> Response:
    """Aggregates are recomputed in SQL only after a change (same marker as the list cache)."""
    key = listcache.cache.key(partquery.change_marker(session), name)
    body = listcache.cache.get_or_render(key, lambda: orjson.dumps(compute()))
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-cache"})


@router.get("/stats", summary="Row counts by category, status and assignment")
def get_stats(session: SessionDep, _: Reader) -> Response:
    return _cached(session, "stats", lambda: stats.stats(session))


@router.get("/stats/detailed", summary="Amount-weighted totals, completion times, contributors")
def get_detailed(session: SessionDep, _: Reader) -> Response:
    return _cached(session, "detailed", lambda: stats.detailed(session))


@router.get("/leaderboard", summary="Makers ranked by score")
def get_leaderboard(session: SessionDep, _: Reader) -> Response:
    return _cached(session, "leaderboard", lambda: {"leaderboard": stats.leaderboard(session)})


@router.get("/auth/check", summary="Login probe (rate limited: one call per 2 s per client)")
def auth_check(request: Request, _: Reader) -> JSONResponse:
    client = client_id(request)
    count, retry = auth_checks.count(client)
    if count:
        raise RateLimited("Please wait before checking again", retry)
    auth_checks.add(client)
    return JSONResponse(
        {
            "status": "authenticated",
            "message": "API key is valid",
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        },
        headers={"Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache"},
    )


@router.post("/wipe", summary="Season wipe: delete every part and file (admin key + typed key)")
def wipe(session: SessionDep, principal: Admin, body: ActionBody = None) -> dict[str, Any]:
    password = (body or {}).get("password")
    if not isinstance(password, str) or not password:
        raise ValidationFailed("password", "Type an admin key as the password to confirm")
    try:
        typed = keys.verify_key(session, password)
    except InvalidApiKey:
        raise Forbidden("Incorrect password") from None
    if not typed.can(Scope.ADMIN):
        raise Forbidden("Incorrect password")
    count = parts.wipe_all(session)
    return {"message": f"Deleted {count} parts and their files", "count": count}


@router.get("/{part_id}", summary="Get one part")
async def get_part(_: Reader, part_id: str) -> Response:
    # The hottest read: one primary-key lookup, done on the loop (see db.loop_session).
    pid = path_id(part_id)
    with loop_session() as session:
        row = partquery.row_by_id(session, pid)
    if row is None:
        raise NotFound("Part not found", {"id": pid})
    return part_response(row)


@router.put("/{part_id}", summary="Edit a part (status changes follow the workflow)")
async def update_part(
    principal: Writer,
    part_id: str,
    body: JsonBody = None,
    if_match: Annotated[str | None, Header()] = None,
    x_aerie_user: Annotated[str | None, Header()] = None,
) -> Response:
    pid = path_id(part_id)
    # Typing the mass weighed at the scale is a maker's job; every other edit a reviewer's.
    weighing = isinstance(body, dict) and set(body) <= WEIGH_FIELDS
    principal.require(Permission.WEIGH if weighing else Permission.EDIT_PART)
    try:
        data = normalize_part_input(body, partial=True)
    except AerieError:
        with loop_session() as session:
            parts.get_part(session, pid)  # an unknown part is a 404 whatever the body holds
        raise
    actor = acting_person(principal, body, x_aerie_user)
    expected = expected_version_from(if_match, body)
    part = await run_write(
        lambda session: parts.update_part(
            session, pid, data=data, actor=actor, expected_version=expected
        ),
        # An edit that also moves the part commits twice (edit, then the workflow action).
        on_loop=not (data.get("_status") or data.get("_category")),
    )
    return part_response(part)


@router.delete("/{part_id}", summary="Delete a part and its files")
async def delete_part(principal: Writer, part_id: str) -> dict[str, str]:
    principal.require(Permission.DELETE_PART)
    pid = path_id(part_id)
    await run_write(lambda session: parts.delete_part(session, pid, actor=principal.name))
    return {"message": "Part deleted successfully"}


@router.get("/{part_id}/events", summary="The part's timeline, newest first")
def part_events(session: SessionDep, _: Reader, part_id: str) -> dict[str, Any]:
    events = parts.list_events(session, path_id(part_id))
    return {"events": [parts.event_public(e) for e in events]}
