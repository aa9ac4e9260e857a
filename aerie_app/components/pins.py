"""Review pins as a checklist (part page and phone card) and the form that adds one.

The viewer draws the pins; this list is what a keyboard and a screen reader use, and where a
maker ticks them. A pin placed on the model is added by clicking "Pin" in the viewer and then a
face; a plain checklist item needs no pointer at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from sqlmodel import Session

from aerie_app.components.actions import ActionState
from aerie_app.db import session_scope
from aerie_app.errors import AerieError, ValidationFailed
from aerie_app.permissions import Permission
from aerie_app.services import pins
from aerie_app.state.auth import AuthState
from aerie_app.state.part import DetailState


def _draft_text(draft: dict[str, Any]) -> str:
    point = draft.get("point") or []
    if len(point) != 3:
        return ""
    where = ", ".join(f"{float(v):.1f}" for v in point)
    body = f" on {draft['body']}" if draft.get("body") else ""
    return f"New pin at ({where}) mm{body}"


class PinState(rx.State):
    """A new pin in the making (the face picked in the viewer, its note as typed, why it was
    refused), and the ticks, keeps and removals of the part page's or phone card's pins."""

    draft: dict[str, Any] = {}
    note: str = ""
    error: str = ""
    draft_part: int = 0

    @rx.var
    def draft_text(self) -> str:
        return _draft_text(self.draft)

    @rx.event
    async def pick(self, data: dict[str, Any]) -> None:
        """A face clicked in the viewer's pin mode: the new pin's place (checked when saved)."""
        if not isinstance(data, dict) or not isinstance(data.get("point"), list):
            return
        self.draft = {k: data.get(k) for k in ("point", "normal", "body", "face")}
        self.draft_part = (await self.get_state(DetailState))._part_id()
        self.error = ""

    @rx.event
    def cancel(self) -> None:
        self.draft, self.note, self.error = {}, "", ""

    @rx.event
    def set_note(self, value: str) -> None:
        self.note, self.error = value[:400], ""

    async def _actor(self, permission: Permission) -> str:
        """Who acts: the signed-in person, else the one this browser remembers (the phone's
        maker) under the team key."""
        principal = await (await self.get_state(AuthState)).require(permission)
        if principal.person_id is not None:
            return principal.name
        person = (await self.get_state(ActionState)).maker.strip()[:100]
        return f"{person} (key: {principal.name})" if person else principal.name

    @rx.event
    async def save(self, _form: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        detail = await self.get_state(DetailState)
        pid = detail._part_id()
        place = self.draft if self.draft_part == pid else {}
        try:
            actor = await self._actor(Permission.PIN)
            with session_scope() as session:
                number = pins.add_pin(session, pid, note=self.note, **place, actor=actor).number
        except ValidationFailed as err:
            self.error = str(err.details.get("message", err.message))
            return None
        except AerieError as err:
            return rx.toast.error(err.message)
        self.draft, self.note, self.error = {}, "", ""
        detail._refresh()
        return rx.toast.success(f"Pin #{number} added")

    async def _change(  # type: ignore[no-untyped-def]
        self, permission: Permission, work: Callable[[Session, int, str], Any], done: str
    ):
        detail = await self.get_state(DetailState)
        try:
            actor = await self._actor(permission)
            with session_scope() as session:
                work(session, detail._part_id(), actor)
        except AerieError as err:
            return rx.toast.error(err.message)
        detail._refresh()
        return rx.toast.success(done)

    @rx.event
    async def tick(self, number: int, ticked: bool):  # type: ignore[no-untyped-def]
        n = int(number)
        return await self._change(
            Permission.TICK_PIN,
            lambda session, pid, actor: pins.tick(
                session, pid, n, ticked=bool(ticked), actor=actor
            ),
            f"Pin #{n} ticked" if ticked else f"Pin #{n} open again",
        )

    @rx.event
    async def keep(self, number: int):  # type: ignore[no-untyped-def]
        n = int(number)
        return await self._change(
            Permission.PIN,
            lambda session, pid, actor: pins.edit(session, pid, n, keep=True, actor=actor),
            f"Pin #{n} kept for the new geometry",
        )

    @rx.event
    async def remove(self, number: int):  # type: ignore[no-untyped-def]
        n = int(number)
        return await self._change(
            Permission.PIN,
            lambda session, pid, actor: pins.remove(session, pid, n, actor=actor),
            f"Pin #{n} removed",
        )


def _badge(pin: rx.Var) -> rx.Component:
    return rx.match(
        pin["state"].to(str),
        ("ticked", rx.badge("done", color_scheme="green", high_contrast=True)),
        ("stale", rx.badge("check again", color_scheme="red", high_contrast=True)),
        rx.badge("open", color_scheme="amber", high_contrast=True),
    )


def _pin_line(pin: rx.Var, *, phone: bool) -> rx.Component:
    number = pin["number"].to(int)
    box_id = "pin-tick-" + number.to(str)
    label = rx.el.label(
        rx.text(
            "#" + number.to(str) + " " + pin["note"].to(str),
            size="4" if phone else "2",
            weight="medium",
        ),
        rx.text(
            pin["status"].to(str) + " · " + pin["where"].to(str),
            size="2" if phone else "1",
            color_scheme="gray",
        ),
        html_for=box_id,
        style={"display": "flex", "flexDirection": "column", "flex": "1", "cursor": "pointer"},
    )
    return rx.hstack(
        rx.cond(
            AuthState.can_write,
            rx.checkbox(
                checked=pin["ticked"].to(bool),
                on_change=lambda value: PinState.tick(number, value),
                id=box_id,
                size="3" if phone else "2",
                class_name="pin-tick",
            ),
            _badge(pin),
        ),
        label,
        rx.cond(
            AuthState.can_review & pin["stale"].to(bool),
            rx.button(
                "Still applies",
                size="3" if phone else "1",
                variant="soft",
                on_click=PinState.keep(number),
                aria_label="Pin #" + number.to(str) + " still applies to the new geometry",
                class_name="pin-keep",
            ),
        ),
        rx.fragment()
        if phone
        else rx.cond(
            AuthState.can_review,
            rx.icon_button(
                rx.icon("x", size=14, aria_hidden="true"),
                size="1",
                variant="ghost",
                color_scheme="gray",
                on_click=PinState.remove(number),
                aria_label="Remove pin #" + number.to(str),
                class_name="pin-remove",
            ),
        ),
        width="100%",
        align="center",
        min_height="56px" if phone else "32px",
        class_name="pin-line",
        data_pin=number.to(str),
        data_state=pin["state"].to(str),
    )


def pin_checklist(*, phone: bool = False) -> rx.Component:
    """Every pin with its tick box; shown when the part has pins."""
    s = DetailState
    return rx.cond(
        s.pins.length() > 0,
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading("Review pins", size=("5" if phone else "3"), as_="h2"),
                    rx.cond(
                        s.open_pins > 0,
                        rx.badge(
                            s.open_pins.to(str) + " open",
                            color_scheme="amber",
                            high_contrast=True,
                            id="pins-open",
                        ),
                        rx.badge("all done", color_scheme="green", high_contrast=True),
                    ),
                    align="center",
                ),
                rx.foreach(s.pins, lambda pin: _pin_line(pin, phone=phone)),
                rx.cond(
                    s.open_pins > 0,
                    rx.text(
                        "The part can be completed once every pin is ticked.",
                        size=("2" if phone else "1"),
                        color_scheme="gray",
                    ),
                ),
                width="100%",
                spacing="2",
            ),
            width="100%",
            id="pins",
        ),
    )


def pin_form() -> rx.Component:
    """Add a pin: the face picked in the viewer (if any) and its note."""
    s = PinState
    has_error = s.error != ""
    return rx.cond(
        AuthState.can_review,
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Add a review pin", size="3", as_="h2"),
                    rx.cond(
                        s.draft_text != "",
                        rx.text(s.draft_text, size="2", id="pin-draft"),
                        rx.text(
                            rx.cond(
                                DetailState.model_url != "",
                                "Click Pin in the 3D view, then a face, to place it there; "
                                "or add a checklist item without a place.",
                                "A checklist item the maker ticks before completing the part.",
                            ),
                            size="1",
                            color_scheme="gray",
                        ),
                    ),
                    rx.el.label(rx.text("Note", size="2"), html_for="pin-note"),
                    rx.hstack(
                        rx.input(
                            value=s.note,
                            on_change=s.set_note,
                            id="pin-note",
                            name="pin-note",
                            placeholder="e.g. tap 10-32, deburr, check this bend",
                            max_length=200,
                            aria_invalid=rx.cond(has_error, "true", "false"),
                            aria_describedby=rx.cond(has_error, "pin-error", ""),
                            width="100%",
                        ),
                        rx.button(
                            rx.cond(s.draft_text != "", "Save pin", "Add item"),
                            type="submit",
                            size="2",
                            id="save-pin",
                        ),
                        rx.cond(
                            s.draft_text != "",
                            rx.button(
                                "Cancel",
                                type="button",
                                size="2",
                                variant="soft",
                                color_scheme="gray",
                                on_click=s.cancel,
                                id="cancel-pin",
                            ),
                        ),
                        width="100%",
                        spacing="2",
                    ),
                    rx.cond(
                        has_error,
                        rx.text(
                            s.error, size="1", color_scheme="red", id="pin-error", role="alert"
                        ),
                    ),
                    width="100%",
                    spacing="2",
                ),
                on_submit=s.save,
                reset_on_submit=False,
                width="100%",
            ),
            width="100%",
            id="pin-form",
        ),
    )
