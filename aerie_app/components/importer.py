"""The board's "Import" dialog: a spreadsheet of parts, previewed row by row, then applied at once.

The handlers are thin: the file's bytes go to :mod:`aerie_app.services.imports` (the same code as
``POST /api/parts/import``); the preview is that service's plan, rendered as text only.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.components.part_form import named_file_input
from aerie_app.db import session_scope
from aerie_app.errors import AerieError
from aerie_app.models import Scope
from aerie_app.services import imports
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


class ImportState(rx.State):
    open: bool = False
    filename: str = ""
    summary: dict[str, int] = {}
    notes: list[str] = []
    rows: list[dict[str, str]] = []
    error: str = ""
    busy: bool = False
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
            self._raw = b""

    @rx.event
    async def preview(self, uploads: list[rx.UploadFile]):  # type: ignore[no-untyped-def]
        """Read the chosen file and show what importing it would do (nothing is written)."""
        auth = await self.get_state(AuthState)
        self.summary, self.rows, self.notes, self.error = {}, [], [], ""
        if not uploads:
            self.error = "Choose a .csv or .xlsx file first."
            return None
        upload = uploads[0]
        self.filename = upload.filename or "parts.csv"
        try:
            await auth.require(Scope.WRITE)
            self._raw = upload.file.read(imports.MAX_BYTES + 1)
            with session_scope() as session:
                result = imports.plan(session, self._raw, self.filename)
        except AerieError as err:
            details = err.details if isinstance(err.details, dict) else {}
            self.error = str(details.get("message") or err.message)
            self._raw = b""
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
            principal = await auth.require(Scope.WRITE)
            with session_scope() as session:
                result = imports.apply(session, self._raw, self.filename, actor=principal.name)
        except AerieError as err:
            details = err.details if isinstance(err.details, dict) else {}
            self.error = str(details.get("message") or err.message)
            return None
        counts = result.counts()
        self.open, self._raw = False, b""
        return [
            rx.toast.success(f"Imported: {counts['create']} new, {counts['update']} changed parts"),
            BoardState.reload,
        ]


def import_button() -> rx.Component:
    return rx.cond(
        AuthState.can_write,
        rx.button(
            rx.icon("file-up", size=14, aria_hidden="true"),
            "Import",
            size="2",
            variant="soft",
            on_click=ImportState.set_open(True),
            id="import-open",
        ),
    )


def preview_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["row"].to(str)),
        rx.table.cell(
            rx.badge(
                row["action"].to(str),
                color_scheme=row["color"].to(str),
                variant="soft",
                high_contrast=True,
            )
        ),
        rx.table.cell(row["label"].to(str)),
        rx.table.cell(rx.text(row["detail"].to(str), size="1")),
        class_name="import-row",
    )


def import_dialog() -> rx.Component:
    s = ImportState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Import parts from a spreadsheet"),
            rx.dialog.description(
                "A .csv or .xlsx whose first row names the columns (partId, name, subsystem, "
                "material, thickness, amount, type, notes…; the board's export works). A row "
                "changes the part with its id or part ID, else adds one. Nothing is written "
                "until you confirm, and then every row or none.",
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
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(
                                    rx.table.column_header_cell("Row"),
                                    rx.table.column_header_cell("Does"),
                                    rx.table.column_header_cell("Part"),
                                    rx.table.column_header_cell("What"),
                                )
                            ),
                            rx.table.body(rx.foreach(s.rows, preview_row)),
                            size="1",
                            width="100%",
                            id="import-preview-table",
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
                    rx.button(
                        "Import",
                        disabled=~s.can_apply,
                        on_click=s.apply,
                        id="import-apply",
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
