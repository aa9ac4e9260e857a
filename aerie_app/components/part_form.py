"""The add/edit part dialog: every field with the shop's presets, inline errors, upload with progress."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import reflex as rx

from aerie_app.db import session_scope
from aerie_app.errors import AerieError, Conflict, ValidationFailed
from aerie_app.models import ConversionStatus
from aerie_app.permissions import Permission
from aerie_app.schemas import normalize_part_input
from aerie_app.services import conversions, files, parts, presets
from aerie_app.services.livefeed import feed
from aerie_app.state.auth import AuthState
from aerie_app.state.board import BoardState

UPLOAD_ID = "part-file"
TYPES = [("cnc", "CNC / Laser"), ("hand", "Hand fab"), ("misc", "Misc (ordered / 3D printed)")]
SERVICE_METHODS = ["3D Print", "SendCutSend", "McMaster-Carr", "Vendor", "Other"]


class PartFormState(rx.State):
    open: bool = False
    part_id: int = 0
    version: int = 0
    type: str = "cnc"
    name: str = ""
    part_code: str = ""
    subsystem: str = ""
    material: str = ""
    thickness: str = ""
    amount: str = "1"
    onshape_url: str = ""
    notes: str = ""
    service_method: str = ""
    error_field: str = ""
    error: str = ""
    saved: bool = False
    material_options: list[str] = []
    subsystem_options: list[str] = []
    upload_progress: int = -1
    conversion: str = ""
    conversion_seconds: int = 0

    @rx.var
    def editing(self) -> bool:
        return self.part_id > 0 and self.version > 0

    @rx.event
    def set_open(self, value: bool) -> None:
        self.open = value

    @rx.event
    def set_field(self, field: str, value: str) -> None:
        if field in {
            "type",
            "name",
            "part_code",
            "subsystem",
            "material",
            "thickness",
            "amount",
            "onshape_url",
            "notes",
            "service_method",
        }:
            setattr(self, field, value)
            if self.error_field == field:
                self.error, self.error_field = "", ""

    def _load_options(self) -> None:
        with session_scope() as session:
            self.material_options = presets.choices(session, "material")
            self.subsystem_options = presets.choices(session, "subsystem")

    @rx.event
    def new(self):  # type: ignore[no-untyped-def]
        self.part_id, self.version = 0, 0
        self.type, self.name, self.part_code, self.subsystem, self.material = "cnc", "", "", "", ""
        self.thickness, self.amount, self.onshape_url, self.notes, self.service_method = (
            "",
            "1",
            "",
            "",
            "",
        )
        self.error, self.error_field, self.saved = "", "", False
        self.upload_progress, self.conversion = -1, ""
        self._load_options()
        self.open = True
        return rx.clear_selected_files(UPLOAD_ID)

    @rx.event
    def edit(self, part_id: int):  # type: ignore[no-untyped-def]
        with session_scope() as session:
            part = parts.get_part(session, int(part_id))
        self.part_id, self.version = part.id or 0, part.version
        self.type = part.type or "cnc"
        self.name, self.part_code, self.subsystem = part.name, part.part_id, part.subsystem
        self.material, self.thickness = part.material, part.material_thickness or ""
        self.amount, self.onshape_url, self.notes = (
            str(part.amount),
            part.onshape_url or "",
            part.notes or "",
        )
        self.service_method = str((part.misc_info or {}).get("serviceMethod", ""))
        self.error, self.error_field, self.saved = "", "", False
        self.upload_progress, self.conversion = -1, ""
        self._load_options()
        self.open = True
        return rx.clear_selected_files(UPLOAD_ID)

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "subsystem": self.subsystem,
            "material": self.material,
            "materialThickness": self.thickness or None,
            "amount": self.amount,
            "onshapeUrl": self.onshape_url or None,
            "notes": self.notes or None,
        }
        if self.part_code.strip():
            body["partId"] = self.part_code
        return body

    @rx.event
    async def save(self, _form: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        """Create or update the part; the upload (if any) follows as the next event."""
        self.saved = False
        auth = await self.get_state(AuthState)
        try:
            principal = await auth.require(
                Permission.EDIT_PART if self.editing else Permission.CREATE_PART
            )
            data = normalize_part_input(self._body(), partial=self.editing)
            with session_scope() as session:
                if self.editing:
                    current = parts.get_part(session, self.part_id)
                    info = dict(current.misc_info or {})
                    if self.type == "misc" and self.service_method:
                        info["serviceMethod"] = self.service_method
                    data["misc_info"] = info or None
                    part = parts.update_part(
                        session,
                        self.part_id,
                        data=data,
                        actor=principal.name,
                        expected_version=self.version,
                    )
                else:
                    if self.type == "misc" and self.service_method:
                        data["misc_info"] = {"serviceMethod": self.service_method}
                    part = parts.create_part(session, data=data, actor=principal.name)
        except ValidationFailed as err:
            self.error_field = str(err.details.get("field", ""))
            self.error = str(err.details.get("message", err.message))
            return None
        except Conflict as err:
            return rx.toast.warning(f"Someone else changed this part: {err.message}")
        except AerieError as err:
            return rx.toast.error(err.message)
        self.part_id, self.version, self.saved = part.id or 0, part.version, True
        return None

    @rx.event
    def upload_progress_changed(self, progress: dict[str, Any]) -> None:
        self.upload_progress = int(float(progress.get("progress", 0)) * 100)

    @rx.event
    async def handle_upload(self, uploads: list[rx.UploadFile]):  # type: ignore[no-untyped-def]
        """Runs after save: stores the dropped file as the part's new revision, then tracks conversion."""
        if not self.saved:
            return None
        if not uploads:
            self.open = False
            return [rx.toast.success("Saved"), BoardState.reload]
        auth = await self.get_state(AuthState)
        try:
            principal = await auth.require(Permission.UPLOAD)
            upload = uploads[0]
            with session_scope() as session:
                row = files.save_upload(
                    session,
                    self.part_id,
                    filename=upload.filename or "file",
                    stream=upload.file,
                    uploaded_by=principal.name,
                )
        except AerieError as err:
            self.upload_progress = -1
            self.error_field = "file"
            extra = f": {err.details}" if isinstance(err.details, str) else ""
            self.error = err.message + extra
            return [rx.toast.error(f"Upload refused: {err.message}"), BoardState.reload]
        self.upload_progress = 100
        if row.conversion_status == ConversionStatus.QUEUED.value:
            conversions.queue.kick()
            # The dialog's tracker starts track_conversion when it sees "queued" (see
            # conversion_tracker): chained from here instead, the conversion would keep this
            # upload's HTTP response open until the model is ready, and Reflex's browser side
            # re-applies every earlier chunk of that response each time a new one arrives
            # (uploadFiles never advances its index: the socket callback returns no promise),
            # so the board's rows from this moment overwrote the live update the conversion
            # had sent meanwhile: a converted part kept "no model" and no size until reloaded.
            self.conversion = "queued"
            return BoardState.reload
        self.open = False
        return [rx.toast.success("Saved with file"), BoardState.reload]

    @rx.event(background=True)
    async def track_conversion(self):  # type: ignore[no-untyped-def]
        """Shows conversion progress in the dialog until the model is ready (or failed)."""
        async with self:
            part_id = self.part_id
        started = time.monotonic()
        seen = await feed.current()
        while time.monotonic() - started < 600:
            # Woken by the change a conversion's progress makes (the live feed), with a slow
            # re-check of its own; the seconds shown tick on with it.
            seen = await feed.wait(seen, 2.0)
            status, error = await asyncio.to_thread(_conversion_status, part_id)
            async with self:
                if self.part_id != part_id:
                    return
                self.conversion = status
                self.conversion_seconds = int(time.monotonic() - started)
                if status == ConversionStatus.READY.value:
                    return rx.toast.success("3D model ready")
                if status == ConversionStatus.FAILED.value:
                    self.error = f"Conversion failed: {error}"
                    return rx.toast.error(f"Conversion failed: {error}")
        return None


def _conversion_status(part_id: int) -> tuple[str, str]:
    with session_scope() as session:
        row = files.current_file(session, part_id)
        if row is None:
            return "", ""
        return row.conversion_status, row.conversion_error or ""


def field(label: str, control: rx.Component, name: str, control_id: str = "") -> rx.Component:
    """A labelled control: the label names it for screen readers (``for`` = its id) and the
    field's error, when there is one, is announced and tied to it (``aria-describedby``)."""
    return rx.vstack(
        rx.el.label(
            label,
            html_for=control_id or f"pf-{name}",
            font_size="var(--font-size-2)",
            font_weight="500",
        ),
        control,
        rx.cond(
            PartFormState.error_field == name,
            rx.text(
                PartFormState.error,
                size="1",
                color_scheme="red",
                class_name="field-error",
                id=f"pf-{name}-error",
                role="alert",
            ),
        ),
        spacing="1",
        width="100%",
    )


def _error_props(name: str) -> dict[str, Any]:
    """aria-invalid and aria-describedby for the control of field ``name`` while it has an error."""
    has_error = PartFormState.error_field == name
    return {
        "aria_invalid": rx.cond(has_error, "true", "false"),
        "aria_describedby": rx.cond(has_error, f"pf-{name}-error", ""),
    }


def named_file_input(upload: rx.Component, label: str) -> rx.Component:
    """Give the file input that ``rx.upload`` renders inside its drop zone an accessible name
    (react-dropzone's input props carry none, and Reflex offers no prop for it)."""
    stack = [upload]
    while stack:
        node = stack.pop()
        if getattr(node, "tag", None) == "input":
            node.custom_attrs = {**node.custom_attrs, "aria-label": label}
        stack.extend(getattr(node, "children", []))
    return upload


def text_input(
    name: str, placeholder: str = "", error_name: str = "", **props: Any
) -> rx.Component:
    return rx.input(
        value=getattr(PartFormState, name),
        on_change=lambda v: PartFormState.set_field(name, v),
        placeholder=placeholder,
        id=f"pf-{name}",
        name=name,
        width="100%",
        **(_error_props(error_name or name) | props),
    )


def conversion_tracker() -> rx.Component:
    """Starts following a queued conversion once the dialog shows it (see handle_upload)."""
    return rx.cond(
        PartFormState.conversion == "queued",
        rx.el.span(on_mount=PartFormState.track_conversion, display="none"),
    )


def part_form_dialog() -> rx.Component:
    progress = rx.cond(
        PartFormState.upload_progress >= 0,
        rx.vstack(
            rx.text("Upload ", PartFormState.upload_progress, "%", size="1"),
            rx.progress(
                value=PartFormState.upload_progress, max=100, width="100%", id="upload-progress"
            ),
            conversion_tracker(),
            rx.cond(
                PartFormState.conversion != "",
                rx.hstack(
                    rx.cond(
                        (PartFormState.conversion == "queued")
                        | (PartFormState.conversion == "running"),
                        rx.spinner(size="1"),
                        rx.icon(
                            rx.cond(PartFormState.conversion == "ready", "check", "x"), size=14
                        ),
                    ),
                    rx.text(
                        "Conversion: ",
                        PartFormState.conversion,
                        " (",
                        PartFormState.conversion_seconds,
                        " s)",
                        size="1",
                        id="conversion-status",
                        # Announced when the conversion moves on (queued, running, ready, failed).
                        role="status",
                        aria_live="polite",
                    ),
                    align="center",
                ),
            ),
            width="100%",
            spacing="1",
        ),
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(PartFormState.editing, "Edit part", "Add part for review")),
            rx.el.datalist(
                rx.foreach(PartFormState.material_options, lambda o: rx.el.option(value=o)),
                id="material-presets",
            ),
            rx.el.datalist(
                rx.foreach(PartFormState.subsystem_options, lambda o: rx.el.option(value=o)),
                id="subsystem-presets",
            ),
            rx.form(
                rx.vstack(
                    field(
                        "Type",
                        rx.select.root(
                            rx.select.trigger(width="100%", id="pf-type"),
                            rx.select.content(
                                *[rx.select.item(label, value=value) for value, label in TYPES]
                            ),
                            value=PartFormState.type,
                            on_change=lambda v: PartFormState.set_field("type", v),
                        ),
                        "type",
                    ),
                    rx.grid(
                        field("Name", text_input("name", "Intake side plate"), "name"),
                        field(
                            "Part ID (optional)",
                            text_input("part_code", "auto", error_name="part_id"),
                            "part_id",
                            "pf-part_code",
                        ),
                        field(
                            "Subsystem",
                            text_input("subsystem", "Intake", list="subsystem-presets"),
                            "subsystem",
                        ),
                        field(
                            "Material",
                            text_input("material", "6061 Aluminum", list="material-presets"),
                            "material",
                        ),
                        field(
                            "Thickness",
                            text_input("thickness", "0.25 in", error_name="material_thickness"),
                            "material_thickness",
                            "pf-thickness",
                        ),
                        field("Amount", text_input("amount", "1", type="number", min=1), "amount"),
                        columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="3",
                        width="100%",
                    ),
                    rx.cond(
                        PartFormState.type == "misc",
                        field(
                            "Service method",
                            rx.select.root(
                                rx.select.trigger(
                                    width="100%",
                                    placeholder="How is it made?",
                                    id="pf-service_method",
                                ),
                                rx.select.content(
                                    *[rx.select.item(m, value=m) for m in SERVICE_METHODS]
                                ),
                                value=PartFormState.service_method,
                                on_change=lambda v: PartFormState.set_field("service_method", v),
                            ),
                            "service_method",
                        ),
                    ),
                    field(
                        "Onshape URL",
                        text_input("onshape_url", "https://cad.onshape.com/documents/…"),
                        "onshape_url",
                    ),
                    field(
                        "Notes",
                        rx.text_area(
                            value=PartFormState.notes,
                            on_change=lambda v: PartFormState.set_field("notes", v),
                            id="pf-notes",
                            name="notes",
                            width="100%",
                            **_error_props("notes"),
                        ),
                        "notes",
                    ),
                    named_file_input(
                        rx.upload.root(
                            rx.vstack(
                                rx.icon("upload", size=20),
                                rx.text(
                                    "Drop a STEP model or PDF drawing here, or click to choose",
                                    size="2",
                                ),
                                rx.foreach(
                                    rx.selected_files(UPLOAD_ID),
                                    lambda f: rx.badge(f, variant="soft"),
                                ),
                                align="center",
                                spacing="1",
                            ),
                            id=UPLOAD_ID,
                            accept={
                                "application/step": [".step", ".stp"],
                                "application/pdf": [".pdf"],
                            },
                            max_files=1,
                            border=f"1px dashed {rx.color('gray', 7)}",
                            border_radius="10px",
                            padding="16px",
                            width="100%",
                            cursor="pointer",
                        ),
                        "STEP model or PDF drawing",
                    ),
                    rx.cond(
                        PartFormState.error_field == "file",
                        rx.text(PartFormState.error, size="1", color_scheme="red"),
                    ),
                    rx.cond(
                        (PartFormState.error != "") & (PartFormState.error_field == ""),
                        rx.callout(PartFormState.error, color_scheme="red", size="1", width="100%"),
                    ),
                    progress,
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Close", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(
                            rx.cond(PartFormState.editing, "Save changes", "Add part"),
                            type="button",
                            id="pf-save",
                            on_click=[
                                PartFormState.save,
                                PartFormState.handle_upload(
                                    rx.upload_files(
                                        upload_id=UPLOAD_ID,
                                        on_upload_progress=PartFormState.upload_progress_changed,
                                    )
                                ),
                            ],
                        ),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
            ),
            max_width="640px",
        ),
        open=PartFormState.open,
        on_open_change=PartFormState.set_open,
    )
