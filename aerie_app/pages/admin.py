"""Admin: API keys (the value is shown once), webhooks, material and subsystem presets, the
season wipe."""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.components.layout import page_frame
from aerie_app.components.people_admin import people_card
from aerie_app.components.webhooks_admin import webhooks_card
from aerie_app.db import session_scope
from aerie_app.errors import AerieError
from aerie_app.models import Scope
from aerie_app.services import keys, parts, presets
from aerie_app.state.auth import AuthState

WIPE_PHRASE = "WIPE SEASON"


class AdminState(rx.State):
    keys: list[dict[str, Any]] = []
    new_name: str = ""
    new_scope: str = "write"
    created_key: str = ""
    presets: dict[str, list[dict[str, Any]]] = {}
    new_preset: dict[str, str] = {}
    wipe_text: str = ""

    async def _admin(self) -> keys.Principal:
        auth = await self.get_state(AuthState)
        return await auth.require(Scope.ADMIN)

    def _refresh(self) -> None:
        with session_scope() as session:
            self.keys = [keys.key_public(k) for k in keys.list_keys(session)]
            self.presets = {
                kind: [{"id": p.id, "value": p.value} for p in presets.list_presets(session, kind)]
                for kind in presets.KINDS
            }

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
        except AerieError:
            return None
        self._refresh()
        return None

    @rx.event
    def set_new_name(self, value: str) -> None:
        self.new_name = value

    @rx.event
    def set_new_scope(self, value: str) -> None:
        self.new_scope = value

    @rx.event
    def set_wipe_text(self, value: str) -> None:
        self.wipe_text = value

    @rx.event
    def set_new_preset(self, kind: str, value: str) -> None:
        self.new_preset = {**self.new_preset, kind: value}

    @rx.event
    async def create_key(self):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
            with session_scope() as session:
                _, raw = keys.create_key(session, name=self.new_name, scope=Scope(self.new_scope))
        except AerieError as err:
            return rx.toast.error(
                err.message
                if not isinstance(err.details, dict)
                else err.details.get("message", err.message)
            )
        self.created_key, self.new_name = raw, ""
        self._refresh()
        return None

    @rx.event
    def dismiss_key(self) -> None:
        self.created_key = ""

    @rx.event
    async def revoke(self, key_id: int):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
            with session_scope() as session:
                keys.revoke_key(session, int(key_id))
        except AerieError as err:
            return rx.toast.error(err.message)
        self._refresh()
        return rx.toast.success("Key revoked")

    @rx.event
    async def add_preset(self, kind: str):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
            with session_scope() as session:
                presets.add_preset(session, kind=kind, value=self.new_preset.get(kind, ""))
        except AerieError as err:
            return rx.toast.error(
                str(err.details.get("message")) if isinstance(err.details, dict) else err.message
            )
        self.new_preset = {**self.new_preset, kind: ""}
        self._refresh()
        return None

    @rx.event
    async def remove_preset(self, preset_id: int):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
            with session_scope() as session:
                presets.remove_preset(session, int(preset_id))
        except AerieError as err:
            return rx.toast.error(err.message)
        self._refresh()
        return None

    @rx.event
    async def wipe(self):  # type: ignore[no-untyped-def]
        if self.wipe_text.strip() != WIPE_PHRASE:
            return rx.toast.error(f"Type {WIPE_PHRASE} to confirm")
        try:
            await self._admin()
            with session_scope() as session:
                count = parts.wipe_all(session)
        except AerieError as err:
            return rx.toast.error(err.message)
        self.wipe_text = ""
        return rx.toast.success(f"Season wiped: {count} parts deleted")


def key_row(key: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(key["name"].to(str)),
        rx.table.cell(rx.badge(key["scope"].to(str))),
        rx.table.cell(rx.code(key["prefix"].to(str), "…")),
        rx.table.cell(key["lastUsedAt"].to(str)),
        rx.table.cell(
            rx.cond(
                key["revoked"].to(bool),
                rx.badge("revoked", color_scheme="red"),
                rx.button(
                    "Revoke",
                    size="1",
                    color_scheme="red",
                    variant="soft",
                    on_click=AdminState.revoke(key["id"].to(int)),
                ),
            )
        ),
    )


def preset_card(kind: str, title: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="3"),
            rx.text("Empty list: the built-in presets are offered.", size="1", color_scheme="gray"),
            rx.flex(
                rx.foreach(
                    AdminState.presets.get(kind, []),
                    lambda p: rx.badge(
                        p["value"].to(str),
                        rx.icon(
                            "x",
                            size=12,
                            cursor="pointer",
                            on_click=AdminState.remove_preset(p["id"].to(int)),
                        ),
                        variant="soft",
                    ),
                ),
                wrap="wrap",
                gap="6px",
            ),
            rx.hstack(
                rx.input(
                    value=AdminState.new_preset.get(kind, ""),
                    on_change=lambda v: AdminState.set_new_preset(kind, v),
                    placeholder=f"New {kind}",
                ),
                rx.button("Add", on_click=AdminState.add_preset(kind)),
            ),
            width="100%",
        ),
        width="100%",
    )


def page() -> rx.Component:
    return page_frame(
        rx.cond(
            AuthState.is_admin,
            rx.vstack(
                people_card(),
                rx.card(
                    rx.vstack(
                        rx.heading("API keys", size="4"),
                        rx.text(
                            "Give every script and every device its own key; revoke one without touching the others.",
                            size="2",
                            color_scheme="gray",
                        ),
                        rx.hstack(
                            rx.input(
                                value=AdminState.new_name,
                                on_change=AdminState.set_new_name,
                                placeholder="Key name (e.g. laptop at the CNC)",
                                id="new-key-name",
                                width="280px",
                            ),
                            rx.select.root(
                                rx.select.trigger(aria_label="Scope of the new key"),
                                rx.select.content(
                                    *[
                                        rx.select.item(s, value=s)
                                        for s in ("read", "write", "admin")
                                    ]
                                ),
                                value=AdminState.new_scope,
                                on_change=AdminState.set_new_scope,
                            ),
                            rx.button(
                                "Create key", on_click=AdminState.create_key, id="create-key"
                            ),
                            wrap="wrap",
                        ),
                        rx.cond(
                            AdminState.created_key != "",
                            rx.callout(
                                rx.vstack(
                                    rx.text("Copy this key now: it will not be shown again."),
                                    rx.code(AdminState.created_key, id="created-key"),
                                    rx.button("Done", size="1", on_click=AdminState.dismiss_key),
                                ),
                                color_scheme="green",
                                width="100%",
                            ),
                        ),
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(
                                    *[
                                        rx.table.column_header_cell(h)
                                        for h in ("Name", "Scope", "Prefix", "Last used", "")
                                    ]
                                )
                            ),
                            rx.table.body(rx.foreach(AdminState.keys, key_row)),
                            width="100%",
                        ),
                        width="100%",
                    ),
                    width="100%",
                ),
                webhooks_card(),
                rx.grid(
                    preset_card("material", "Material presets"),
                    preset_card("subsystem", "Subsystem presets"),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.card(
                    rx.vstack(
                        rx.heading("Season wipe", size="4", color_scheme="red"),
                        rx.text(
                            f"Deletes every part and every file. Type {WIPE_PHRASE} to confirm.",
                            size="2",
                        ),
                        rx.hstack(
                            rx.input(
                                value=AdminState.wipe_text,
                                on_change=AdminState.set_wipe_text,
                                placeholder=WIPE_PHRASE,
                                id="wipe-text",
                            ),
                            rx.button(
                                "Wipe everything",
                                color_scheme="red",
                                on_click=AdminState.wipe,
                                disabled=AdminState.wipe_text != WIPE_PHRASE,
                                id="wipe",
                            ),
                        ),
                        width="100%",
                    ),
                    width="100%",
                ),
                width="100%",
                spacing="3",
            ),
            rx.callout("Only admin keys can open this page.", color_scheme="orange"),
        )
    )
