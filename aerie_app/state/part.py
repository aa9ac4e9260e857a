"""The part detail's state: every field, geometry facts, file revisions and the timeline of one part.

The same state serves the /parts/<id> page and the board's side panel.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.db import session_scope
from aerie_app.errors import AerieError, ValidationFailed
from aerie_app.models import ConversionStatus
from aerie_app.permissions import Permission
from aerie_app.schemas import normalize_part_input, part_public
from aerie_app.services import conversions, files, parts, pins
from aerie_app.state.auth import AuthState
from aerie_app.state.board import to_row
from aerie_app.state.live import LiveMixin
from aerie_app.units import model_dims_in, model_dims_mm

FIELDS = [
    ("Part ID", "partId"),
    ("Type", "type"),
    ("Subsystem", "subsystem"),
    ("Material", "material"),
    ("Thickness", "materialThickness"),
    ("Amount", "amount"),
    ("Done", "quantityDone"),
    ("Assigned", "assigned"),
    ("Status", "status"),
    ("Stage", "category"),
    ("Claimed", "claimedDate"),
    ("Created", "createdAt"),
    ("Updated", "updatedAt"),
]


def _facts(facts: dict[str, Any] | None, mass: float | None) -> list[dict[str, str]]:
    if not facts:
        return []
    size = facts.get("bbox_mm") or {}
    dims = [size.get(a, 0.0) for a in "xyz"]
    out = [
        {"k": "Stock size", "v": model_dims_mm(dims)},
        {"k": "", "v": model_dims_in(dims)},
        {"k": "Volume", "v": f"{facts.get('volume_mm3', 0) / 1000:.2f} cm³"},
        {"k": "Surface area", "v": f"{facts.get('surface_area_mm2', 0) / 100:.1f} cm²"},
        {"k": "Solids / faces", "v": f"{facts.get('solids', 0)} / {facts.get('faces', 0)}"},
        {"k": "Triangles", "v": f"{facts.get('triangles', 0):,}"},
    ]
    out.append(
        {
            "k": "Estimated mass",
            "v": f"{mass:.1f} g ({mass / 453.592:.3f} lb)" if mass else "unknown material density",
        }
    )
    return out


def _ghost_url(pid: int, current: Any, revs: Any) -> str:
    """The GLB of the revision the current one replaced, when their geometry differs."""
    change = (current.geometry_change or {}) if current is not None else {}
    if not change.get("changed"):
        return ""
    previous = next((r for r in revs if r.revision == change.get("previousRevision")), None)
    if previous is None or previous.kind != "step":
        return ""
    if previous.conversion_status != ConversionStatus.READY.value:
        return ""
    return f"/api/parts/{pid}/files/{previous.id}/model?v={previous.sha256[:12]}"


def _pin_row(pin: dict[str, Any]) -> dict[str, Any]:
    state = "stale" if pin["stale"] else "ticked" if pin["ticked"] else "open"
    if pin["stale"]:
        status = "The geometry changed: check it again"
    elif pin["ticked"]:
        status = f"Done ({pin['tickedBy'] or 'someone'})"
    else:
        status = "Open"
    return {
        **pin,
        "state": state,
        "status": status,
        "where": f"on {pin['body']}"
        if pin["onModel"] and pin["body"]
        else ("on the model" if pin["onModel"] else "checklist only"),
    }


class DetailState(LiveMixin, rx.State):
    found: bool = True
    # Defaults keep the page renderable before the first load (client-side navigation).
    part: dict[str, Any] = {
        "id": 0,
        "name": "",
        "status": "",
        "notes": "",
        "onshapeUrl": "",
        "type": "",
    }
    row: dict[str, Any] = {"id": 0, "name": "", "allowed": [], "left": 1}
    info: list[dict[str, str]] = []
    facts: list[dict[str, str]] = []
    revisions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    kind: str = ""
    conversion: str = ""
    conversion_error: str = ""
    model_url: str = ""
    # The model's box in its own axes (mm), from its geometry facts: what the viewer's overlay
    # shows, so it reads exactly as the facts panel does ([] when unknown).
    model_dims: list[float] = []
    # Its server-rendered thumbnail: what the viewer shows until the model's first frame.
    thumb_url: str = ""
    # The previous revision's model when the last upload changed the geometry ("" otherwise).
    ghost_url: str = ""
    pdf_url: str = ""
    panel_id: int = 0
    panel_open: bool = False
    # The measured mass as typed (grams), and why it was refused.
    mass_input: str = ""
    mass_error: str = ""
    # Review pins (services/pins.py): the checklist and how many are open (components/pins.py
    # adds and ticks them).
    pins: list[dict[str, Any]] = []
    open_pins: int = 0

    @rx.var
    def title(self) -> str:
        return str(self.part.get("name") or "Part")

    def _part_id(self) -> int:
        """The part of the /parts/<id> page or its /p/<id> phone card, or the one open in the
        board's side panel."""
        path = self.router.url.path.rstrip("/")
        if "/parts/" in path or "/p/" in path:
            try:
                return int(path.rsplit("/", 1)[-1])
            except ValueError:
                return 0
        return self.panel_id

    @rx.event
    def open_panel(self, part_id: int):  # type: ignore[no-untyped-def]
        self.panel_id, self.panel_open = int(part_id), True
        self._refresh()
        return DetailState.watch

    @rx.event
    def set_panel_open(self, value: bool) -> None:
        self.panel_open = value

    def _refresh(self) -> None:
        pid = self._part_id()
        if not pid:
            return
        with session_scope() as session:
            try:
                part = parts.get_part(session, pid)
            except AerieError:
                self.found = False
                self.row = {"id": 0, "name": "", "allowed": [], "left": 1}
                return
            public = part_public(part)
            current = files.current_file(session, pid)
            revs = files.revisions(session, pid)
            events = parts.list_events(session, pid, limit=200)
            pin_rows = [pins.pin_public(pin) for pin in pins.list_pins(session, pid)]
        self.found = True
        self.pins = [_pin_row(pin) for pin in pin_rows]
        self.open_pins = sum(1 for pin in pin_rows if not pin["ticked"])
        self.part = {
            **public,
            "onshapeUrl": public["onshapeUrl"] or "",
            "notes": public["notes"] or "",
            "type": public["type"] or "",
        }
        if self.row.get("id") != public["id"]:
            self.mass_input, self.mass_error = "", ""
        self.row = to_row(public)
        info = dict(public.get("miscInfo") or {})
        self.info = [
            {"k": label, "v": str(public.get(key) if public.get(key) is not None else "—")}
            for label, key in FIELDS
        ]
        self.info += [
            {"k": str(k), "v": str(v)} for k, v in info.items() if k not in ("handWorkers", "views")
        ]
        workers = ", ".join(w.get("name", "") for w in info.get("handWorkers") or [])
        if workers:
            self.info.append({"k": "Hand workers", "v": workers})
        self.revisions = [
            {
                "id": r.id,
                "label": f"r{r.revision} · {r.display_name} · {r.size / 1024:.0f} KB",
                "when": r.uploaded_at.strftime("%Y-%m-%d %H:%M"),
                "current": r.is_current,
                "url": f"/api/parts/{pid}/files/{r.id}/download",
                "status": r.conversion_status if r.kind == "step" else r.kind,
            }
            for r in revs
        ]
        self.events = [
            {
                "when": e.at.strftime("%Y-%m-%d %H:%M"),
                "who": e.actor or "",
                "what": e.kind if not e.field else f"{e.field}: {e.old or '—'} → {e.new or '—'}",
                "note": e.note or "",
            }
            for e in events
        ]
        self.kind = current.kind if current else ""
        self.conversion = current.conversion_status if current else ""
        self.conversion_error = (current.conversion_error or "") if current else ""
        ready = current is not None and current.conversion_status == ConversionStatus.READY.value
        self.model_url = (
            f"/api/parts/{pid}/model?v={current.sha256[:12]}" if ready and current else ""
        )
        self.ghost_url = _ghost_url(pid, current, revs) if ready else ""
        self.thumb_url = (
            f"/api/parts/{pid}/thumbnail?v={current.sha256[:12]}" if ready and current else ""
        )
        self.pdf_url = (
            f"/api/parts/{pid}/file?v={current.sha256[:12]}"
            if current and current.kind == "pdf"
            else ""
        )
        box = ((current.facts or {}).get("bbox_mm") or {}) if ready and current else {}
        self.model_dims = [float(box[a]) for a in "xyz"] if all(a in box for a in "xyz") else []
        self.facts = _facts(
            current.facts if ready and current else None,
            public["geometry"]["massG"] if public["geometry"] else None,
        )

    @rx.event
    async def load(self) -> None:
        auth = await self.get_state(AuthState)
        if auth.signed_in:
            self._refresh()

    @rx.event
    async def reload(self) -> None:
        if self._part_id():
            await self.load()

    @rx.event
    def set_mass_input(self, value: str) -> None:
        self.mass_input, self.mass_error = value[:40], ""

    @rx.event
    async def save_mass(self, _form: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        """Store the mass weighed by hand (grams; empty clears it): it wins over the estimate."""
        auth = await self.get_state(AuthState)
        try:
            principal = await auth.require(Permission.WEIGH)
            data = normalize_part_input({"measuredMassG": self.mass_input.strip()}, partial=True)
            with session_scope() as session:
                parts.update_part(session, self._part_id(), data=data, actor=principal.name)
        except ValidationFailed as err:
            message = str(err.details.get("message", err.message))
            self.mass_error = message.replace("measuredMassG", "Measured mass")
            return None
        except AerieError as err:
            return rx.toast.error(err.message)
        self.mass_input, self.mass_error = "", ""
        self._refresh()
        return rx.toast.success("Measured mass saved")

    @rx.event
    async def refresh_drawing(self):  # type: ignore[no-untyped-def]
        """Ask Onshape for the part's drawing (a background job; the page updates when it lands)."""
        from aerie_app.services import drawings

        auth = await self.get_state(AuthState)
        try:
            await auth.require(Permission.UPLOAD)
            with session_scope() as session:
                status = drawings.request_drawing(session, self._part_id(), refresh=True)
        except AerieError as err:
            return rx.toast.error(err.message)
        if status.state == "failed" and status.error is not None:
            return rx.toast.error(status.error.message)
        return rx.toast.info("Fetching the drawing from Onshape…")

    @rx.event
    async def reconvert(self):  # type: ignore[no-untyped-def]
        auth = await self.get_state(AuthState)
        try:
            await auth.require(Permission.UPLOAD)
            with session_scope() as session:
                conversions.requeue(session, self._part_id())
            conversions.queue.kick()
        except AerieError as err:
            return rx.toast.error(err.message)
        self._refresh()
        return rx.toast.info("Converting again…")
