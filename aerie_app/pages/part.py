"""Part detail: every field, geometry facts, the 3D viewer, the drawing, revisions and the timeline."""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.components.actions import ActionState, action_buttons, action_dialog
from aerie_app.components.layout import page_frame
from aerie_app.components.live import LiveMixin
from aerie_app.components.part_form import PartFormState, part_form_dialog
from aerie_app.components.viewer import viewer
from aerie_app.db import session_scope
from aerie_app.errors import AerieError
from aerie_app.models import ConversionStatus, Scope
from aerie_app.pages.auth import AuthState
from aerie_app.pages.board import to_row
from aerie_app.pages.settings import PrefsState
from aerie_app.schemas import part_public
from aerie_app.services import conversions, files, parts

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
        {"k": "Stock size", "v": " × ".join(f"{d:.2f}" for d in dims) + " mm"},
        {"k": "", "v": " × ".join(f"{d / 25.4:.3f}" for d in dims) + " in"},
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
    pdf_url: str = ""
    panel_id: int = 0
    panel_open: bool = False

    @rx.var
    def title(self) -> str:
        return str(self.part.get("name") or "Part")

    def _part_id(self) -> int:
        """The part of the /parts/<id> page, or the one open in the board's side panel."""
        path = self.router.url.path.rstrip("/")
        if "/parts/" in path:
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
        self.found = True
        self.part = {
            **public,
            "onshapeUrl": public["onshapeUrl"] or "",
            "notes": public["notes"] or "",
            "type": public["type"] or "",
        }
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
        self.pdf_url = (
            f"/api/parts/{pid}/file?v={current.sha256[:12]}"
            if current and current.kind == "pdf"
            else ""
        )
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
    async def refresh_drawing(self):  # type: ignore[no-untyped-def]
        """Ask Onshape for the part's drawing (a background job; the page updates when it lands)."""
        from aerie_app.services import drawings

        auth = await self.get_state(AuthState)
        try:
            await auth.require(Scope.WRITE)
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
            await auth.require(Scope.WRITE)
            with session_scope() as session:
                conversions.requeue(session, self._part_id())
            conversions.queue.kick()
        except AerieError as err:
            return rx.toast.error(err.message)
        self._refresh()
        return rx.toast.info("Converting again…")


def kv(item: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(item["k"].to(str), size="2", color_scheme="gray", min_width="130px"),
        rx.text(item["v"].to(str), size="2"),
        width="100%",
        align="start",
    )


def model_panel() -> rx.Component:
    s = DetailState
    return rx.card(
        rx.cond(
            s.model_url != "",
            rx.cond(
                PrefsState.previews_on,
                viewer(url=s.model_url, dark=True, height="min(60vh, 460px)"),
                rx.text("3D preview is off (Settings).", color_scheme="gray"),
            ),
            rx.cond(
                (s.conversion == "queued") | (s.conversion == "running"),
                rx.center(
                    rx.vstack(
                        rx.spinner(size="3"),
                        rx.text("Converting the STEP model…", id="converting"),
                        align="center",
                    ),
                    height="260px",
                ),
                rx.cond(
                    s.conversion == "failed",
                    rx.callout(
                        rx.vstack(
                            rx.text("The 3D model could not be made: ", s.conversion_error),
                            rx.cond(
                                AuthState.can_write,
                                rx.button(
                                    "Convert again", size="1", on_click=DetailState.reconvert
                                ),
                            ),
                        ),
                        color_scheme="red",
                        id="conversion-failed",
                    ),
                    rx.cond(
                        s.pdf_url != "",
                        rx.vstack(
                            rx.el.iframe(
                                src=s.pdf_url,
                                id="pdf-frame",
                                width="100%",
                                height="520px",
                                style={"border": "none", "borderRadius": "8px"},
                                title="drawing",
                            ),
                            rx.hstack(
                                rx.button(
                                    rx.icon("printer", size=14),
                                    "Print",
                                    size="1",
                                    on_click=rx.call_script(
                                        "document.getElementById('pdf-frame').contentWindow.print()"
                                    ),
                                ),
                                rx.link(
                                    rx.button(
                                        rx.icon("download", size=14),
                                        "Download",
                                        size="1",
                                        variant="soft",
                                    ),
                                    href=f"/api/parts/{s.part['id']}/download",
                                ),
                            ),
                            width="100%",
                        ),
                        rx.center(
                            rx.text(
                                "No model or drawing yet. Use Edit to upload a STEP or PDF.",
                                color_scheme="gray",
                            ),
                            height="160px",
                        ),
                    ),
                ),
            ),
        ),
        width="100%",
        id="model-panel",
    )


def detail_body() -> rx.Component:
    """The part's details; shown as the /parts/<id> page and in the board's side panel."""
    s = DetailState
    return rx.fragment(
        rx.cond(
            s.found,
            rx.vstack(
                rx.hstack(
                    rx.link(rx.icon("arrow-left", size=18), href="/"),
                    rx.heading(s.title, size="6", id="detail-title"),
                    rx.badge(s.part["status"].to(str), variant="surface"),
                    rx.spacer(),
                    rx.cond(
                        AuthState.can_write,
                        rx.hstack(
                            rx.button(
                                rx.icon("pencil", size=14),
                                "Edit / upload",
                                variant="soft",
                                on_click=PartFormState.edit(s.part["id"].to(int)),
                                id="edit-part",
                            ),
                            rx.button(
                                rx.icon("trash-2", size=14),
                                "Delete",
                                variant="soft",
                                color_scheme="red",
                                on_click=ActionState.start(
                                    s.part["id"].to(int), "delete", s.title, 1
                                ),
                                id="delete-part",
                            ),
                        ),
                    ),
                    width="100%",
                    align="center",
                    wrap="wrap",
                ),
                action_buttons(
                    s.row["id"],
                    s.row["name"],
                    s.row["allowed"].to(list[str]),
                    s.row["left"],
                    size="2",
                ),
                rx.grid(
                    model_panel(),
                    rx.vstack(
                        rx.card(
                            rx.vstack(
                                rx.heading("Details", size="3"),
                                rx.foreach(s.info, kv),
                                width="100%",
                            ),
                            width="100%",
                        ),
                        rx.cond(
                            s.facts.length() > 0,
                            rx.card(
                                rx.vstack(
                                    rx.heading("Geometry", size="3"),
                                    rx.foreach(s.facts, kv),
                                    width="100%",
                                    id="facts",
                                ),
                                width="100%",
                            ),
                        ),
                        rx.cond(
                            s.part["notes"].to(str) != "",
                            rx.card(
                                rx.vstack(
                                    rx.heading("Notes", size="3"),
                                    rx.text(s.part["notes"].to(str), white_space="pre-wrap"),
                                ),
                                width="100%",
                            ),
                        ),
                        width="100%",
                    ),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.grid(
                    rx.card(
                        rx.vstack(
                            rx.heading("Files", size="3"),
                            rx.foreach(
                                s.revisions,
                                lambda r: rx.hstack(
                                    rx.link(r["label"].to(str), href=r["url"].to(str)),
                                    rx.badge(r["status"].to(str), variant="soft"),
                                    rx.cond(
                                        r["current"].to(bool),
                                        rx.badge("current", color_scheme="green"),
                                    ),
                                    rx.spacer(),
                                    rx.text(r["when"].to(str), size="1", color_scheme="gray"),
                                    width="100%",
                                ),
                            ),
                            width="100%",
                        ),
                        width="100%",
                    ),
                    rx.card(
                        rx.vstack(
                            rx.heading("Timeline", size="3"),
                            rx.foreach(
                                s.events,
                                lambda e: rx.hstack(
                                    rx.text(
                                        e["when"].to(str),
                                        size="1",
                                        color_scheme="gray",
                                        min_width="120px",
                                    ),
                                    rx.vstack(
                                        rx.text(e["what"].to(str), size="2", weight="medium"),
                                        rx.text(
                                            e["who"].to(str),
                                            " ",
                                            e["note"].to(str),
                                            size="1",
                                            color_scheme="gray",
                                        ),
                                        spacing="0",
                                    ),
                                    width="100%",
                                    class_name="timeline-row",
                                ),
                            ),
                            width="100%",
                            max_height="420px",
                            overflow_y="auto",
                        ),
                        width="100%",
                    ),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="3",
                    width="100%",
                ),
                width="100%",
                spacing="3",
            ),
            rx.callout(
                "This part does not exist (it may have been deleted).", color_scheme="orange"
            ),
        ),
    )


def page() -> rx.Component:
    return page_frame(detail_body(), action_dialog(), part_form_dialog())
