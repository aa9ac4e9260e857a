"""The board's "Import" dialog: a spreadsheet of parts, previewed row by row, then applied at once.

The handlers are thin: the file's bytes go to :mod:`aerie_app.services.imports` (the same code as
``POST /api/parts/import``); the preview is that service's plan, rendered as text only.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from aerie_app.components.part_form import named_file_input
from aerie_app.db import session_scope
from aerie_app.errors import AerieError
from aerie_app.permissions import Permission
from aerie_app.services import bom, imports
from aerie_app.state.auth import AuthState
from aerie_app.state.board import BoardState

UPLOAD_ID = "import-file"
SHOWN_ROWS = 300  # the preview lists this many rows; the summary counts them all
ACTION_TEXT = {"create": "new", "update": "changes", "unchanged": "unchanged", "error": "error"}
ACTION_COLOR = {"create": "green", "update": "blue", "unchanged": "gray", "error": "red"}


def _describe(row: dict[str, Any]) -> str:
    if row["errors"]:
        return "; ".join(f"{e['field']}: {e['message']}" for e in row["errors"])
    if row["action"] == "update":
        return "; ".join(
            f"{key}: {'—' if old is None else old} → {new}"
            for key, (old, new) in row["changes"].items()
        )
    if row["action"] == "create":
        return ", ".join(str(new) for _key, (_old, new) in row["changes"].items())
    return ""


def _message(err: AerieError) -> str:
    details = err.details if isinstance(err.details, dict) else {}
    return str(details.get("message") or err.message)


def _bom_preview(url: str, subsystem: str) -> bom.BomPlan:
    with session_scope() as session:
        return bom.preview(session, url=url, default_subsystem=subsystem)


def _bom_apply(url: str, subsystem: str, actor: str) -> tuple[bom.BomPlan, int]:
    with session_scope() as session:
        return bom.apply(session, url=url, default_subsystem=subsystem, actor=actor)


class ImportState(rx.State):
    open: bool = False
    filename: str = ""
    summary: dict[str, int] = {}
    notes: list[str] = []
    rows: list[dict[str, str]] = []
    error: str = ""
    busy: bool = False
    # Or from an Onshape assembly: its URL and the subsystem of parts at its top level.
    onshape_url: str = ""
    default_subsystem: str = bom.DEFAULT_SUBSYSTEM
    source: str = ""  # what the preview shows: "file" or "onshape"
    _raw: bytes = b""

    @rx.var
    def can_apply(self) -> bool:
        return (
            bool(self.summary)
            and self.summary.get("error", 0) == 0
            and self.summary.get("create", 0) + self.summary.get("update", 0) > 0
        )

    @rx.var
    def summary_text(self) -> str:
        if not self.summary:
            return ""
        s = self.summary
        return (
            f"{s.get('rows', 0)} rows: {s.get('create', 0)} new, {s.get('update', 0)} changed, "
            f"{s.get('unchanged', 0)} unchanged, {s.get('error', 0)} with errors"
        )

    @rx.event
    def set_open(self, value: bool) -> None:
        self.open = value
        if value:
            self.filename, self.summary, self.notes, self.rows, self.error = "", {}, [], [], ""
            self._raw, self.source, self.busy = b"", "", False

    @rx.event
    def set_onshape_url(self, value: str) -> None:
        self.onshape_url = value[:1000]

    @rx.event
    def set_default_subsystem(self, value: str) -> None:
        self.default_subsystem = value[:200]

    @rx.event(background=True)
    async def preview_onshape(self):  # type: ignore[no-untyped-def]
        """Read the assembly's BOM from Onshape (slow: outside the state lock) and show the plan."""
        async with self:
            self.summary, self.rows, self.notes, self.error = {}, [], [], ""
            self.busy, self.source = True, "onshape"
            url, subsystem = self.onshape_url, self.default_subsystem
            try:
                await (await self.get_state(AuthState)).require(Permission.IMPORT)
            except AerieError as err:
                self.error, self.busy = _message(err), False
                return
        try:
            result = await asyncio.to_thread(_bom_preview, url, subsystem)
        except AerieError as err:
            async with self:
                self.error, self.busy = _message(err), False
            return
        async with self:
            self._show(result.plan)
            self.busy = False

    @rx.event(background=True)
    async def apply_onshape(self):  # type: ignore[no-untyped-def]
        async with self:
            self.busy, self.error = True, ""
            url, subsystem = self.onshape_url, self.default_subsystem
            try:
                principal = await (await self.get_state(AuthState)).require(Permission.IMPORT)
            except AerieError as err:
                self.error, self.busy = _message(err), False
                return
        try:
            result, queued = await asyncio.to_thread(_bom_apply, url, subsystem, principal.name)
        except AerieError as err:
            async with self:
                self.error, self.busy = _message(err), False
            return
        counts = result.plan.counts()
        async with self:
            self.open, self.busy = False, False
        yield rx.toast.success(
            f"Imported: {counts['create']} new, {counts['update']} changed parts; "
            f"fetching {queued} STEP models from Onshape"
        )
        yield BoardState.reload

    @rx.event
    async def preview(self, uploads: list[rx.UploadFile]):  # type: ignore[no-untyped-def]
        """Read the chosen file and show what importing it would do (nothing is written)."""
        auth = await self.get_state(AuthState)
        self.summary, self.rows, self.notes, self.error = {}, [], [], ""
        if not uploads:
            self.error = "Choose a .csv or .xlsx file first."
            return None
        upload = uploads[0]
        self.filename, self.source = upload.filename or "parts.csv", "file"
        try:
            await auth.require(Permission.IMPORT)
            self._raw = upload.file.read(imports.MAX_BYTES + 1)
            with session_scope() as session:
                result = imports.plan(session, self._raw, self.filename)
        except AerieError as err:
            self.error, self._raw = _message(err), b""
            return None
        self._show(result)
        return None

    def _show(self, result: imports.ImportPlan) -> None:
        public = result.public(applied=False)
        self.summary = public["summary"]
        self.notes = []
        if result.unknown:
            self.notes.append("Not read (unknown columns): " + ", ".join(result.unknown))
        if result.ignored:
            self.notes.append("Worked out by Aerie, so not imported: " + ", ".join(result.ignored))
        rows = sorted(public["rows"], key=lambda r: (r["action"] != "error", r["row"]))
        self.rows = [
            {
                "row": str(r["row"]),
                "action": ACTION_TEXT[r["action"]],
                "color": ACTION_COLOR[r["action"]],
                "label": r["label"] or "—",
                "detail": _describe(r),
            }
            for r in rows[:SHOWN_ROWS]
        ]

    @rx.event
    async def apply(self):  # type: ignore[no-untyped-def]
        auth = await self.get_state(AuthState)
        if not self._raw:
            self.error = "Choose the file again."
            return None
        try:
            principal = await auth.require(Permission.IMPORT)
            with session_scope() as session:
                result = imports.apply(session, self._raw, self.filename, actor=principal.name)
        except AerieError as err:
            self.error = _message(err)
            return None
        counts = result.counts()
        self.open, self._raw = False, b""
        return [
            rx.toast.success(f"Imported: {counts['create']} new, {counts['update']} changed parts"),
            BoardState.reload,
        ]


def import_button() -> rx.Component:
    return rx.cond(
        AuthState.can_review,
        rx.button(
            rx.icon("file-up", size=14, aria_hidden="true"),
            "Import",
            size="2",
            variant="soft",
            on_click=ImportState.set_open(True),
            id="import-open",
        ),
    )


CELL = {"padding": "4px 8px", "textAlign": "left", "verticalAlign": "top"}


def preview_row(row: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(row["row"].to(str), style=CELL),
        rx.el.td(
            rx.badge(
                row["action"].to(str),
                color_scheme=row["color"].to(str),
                variant="soft",
                high_contrast=True,
            ),
            style=CELL,
        ),
        rx.el.td(row["label"].to(str), style=CELL),
        rx.el.td(
            rx.text(row["detail"].to(str), size="1"), style=CELL | {"overflowWrap": "anywhere"}
        ),
        class_name="import-row",
        style={"borderTop": f"1px solid {rx.color('gray', 5)}"},
    )


def import_dialog() -> rx.Component:
    s = ImportState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Import parts"),
            rx.dialog.description(
                "From a .csv or .xlsx whose first row names the columns (partId, name, subsystem, "
                "material, thickness, amount, type, notes…; the board's export works), or from an "
                "Onshape assembly's bill of materials. A row changes the part with its id or part "
                "ID, else adds one. Nothing is written until you confirm, and then every row or none.",
                size="2",
            ),
            rx.vstack(
                named_file_input(
                    rx.upload.root(
                        rx.vstack(
                            rx.icon("file-spreadsheet", size=20, aria_hidden="true"),
                            rx.text("Drop a .csv or .xlsx here, or click to choose", size="2"),
                            rx.foreach(
                                rx.selected_files(UPLOAD_ID),
                                lambda f: rx.badge(f, variant="soft"),
                            ),
                            align="center",
                            spacing="1",
                        ),
                        id=UPLOAD_ID,
                        accept={
                            "text/csv": [".csv", ".txt"],
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": [
                                ".xlsx"
                            ],
                        },
                        max_files=1,
                        border=f"1px dashed {rx.color('gray', 9)}",
                        border_radius="10px",
                        padding="16px",
                        width="100%",
                        cursor="pointer",
                    ),
                    "Spreadsheet of parts (.csv or .xlsx)",
                ),
                rx.button(
                    "Preview",
                    variant="soft",
                    on_click=s.preview(rx.upload_files(upload_id=UPLOAD_ID)),
                    id="import-preview",
                ),
                rx.divider(),
                rx.text("Or from an Onshape assembly", size="2", weight="medium"),
                rx.hstack(
                    rx.vstack(
                        rx.el.label(
                            rx.text("Assembly URL", size="1"), html_for="onshape-assembly-url"
                        ),
                        rx.input(
                            value=s.onshape_url,
                            on_change=s.set_onshape_url,
                            placeholder="https://cad.onshape.com/documents/…/w/…/e/…",
                            id="onshape-assembly-url",
                            width="100%",
                        ),
                        spacing="1",
                        flex="1 1 320px",
                    ),
                    rx.vstack(
                        rx.el.label(
                            rx.text("Subsystem of top-level parts", size="1"),
                            html_for="onshape-default-subsystem",
                        ),
                        rx.input(
                            value=s.default_subsystem,
                            on_change=s.set_default_subsystem,
                            id="onshape-default-subsystem",
                        ),
                        spacing="1",
                    ),
                    rx.button(
                        "Read the BOM",
                        variant="soft",
                        loading=s.busy & (s.source == "onshape"),
                        on_click=s.preview_onshape,
                        id="onshape-preview",
                    ),
                    align="end",
                    wrap="wrap",
                    width="100%",
                ),
                rx.cond(
                    s.error != "",
                    rx.callout(
                        s.error, color_scheme="red", size="1", width="100%", id="import-error"
                    ),
                ),
                rx.cond(
                    s.summary_text != "",
                    rx.text(
                        s.summary_text,
                        weight="medium",
                        id="import-summary",
                        custom_attrs={"role": "status"},
                    ),
                ),
                rx.foreach(s.notes, lambda n: rx.text(n, size="1", color_scheme="gray")),
                rx.cond(
                    s.rows.length() > 0,
                    rx.box(
                        # A plain table: the scrolling box around it is the one keyboard stop
                        # (Radix's table would add a scroll area of its own that is not).
                        rx.el.table(
                            rx.el.thead(
                                rx.el.tr(
                                    *[
                                        rx.el.th(h, style=CELL | {"fontWeight": "600"})
                                        for h in ("Row", "Does", "Part", "What")
                                    ]
                                )
                            ),
                            rx.el.tbody(rx.foreach(s.rows, preview_row)),
                            id="import-preview-table",
                            style={
                                "width": "100%",
                                "borderCollapse": "collapse",
                                "fontSize": "var(--font-size-2)",
                            },
                        ),
                        max_height="40vh",
                        overflow_y="auto",
                        width="100%",
                        tab_index=0,
                        custom_attrs={"role": "region", "aria-label": "What each row does"},
                    ),
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                    rx.cond(
                        s.source == "onshape",
                        rx.button(
                            "Import and fetch the models",
                            disabled=~s.can_apply | s.busy,
                            loading=s.busy,
                            on_click=s.apply_onshape,
                            id="import-apply",
                        ),
                        rx.button(
                            "Import", disabled=~s.can_apply, on_click=s.apply, id="import-apply"
                        ),
                    ),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                margin_top="12px",
            ),
            max_width="760px",
        ),
        open=s.open,
        on_open_change=s.set_open,
    )
