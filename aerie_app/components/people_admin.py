"""The admin page's People card: add someone (name, role, password), change roles, reset a
password (their open sessions end), deactivate or bring back, and issue a personal API key (its
value shown once)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.components.layout import SELECT_STYLE
from aerie_app.db import session_scope
from aerie_app.errors import AerieError
from aerie_app.models import Scope
from aerie_app.permissions import Role
from aerie_app.services import people
from aerie_app.state.auth import AuthState

ROLES = [r.value for r in Role]
ROLE_HELP = (
    "Viewer: looks. Fabricator: claims, completes, weighs, ticks pins. Reviewer: also creates, "
    "edits, uploads, approves, pins and imports. Admin: also people, keys and settings."
)


def _message(err: AerieError) -> str:
    if isinstance(err.details, dict) and "message" in err.details:
        return str(err.details["message"])
    return err.message


class PeopleState(rx.State):
    people: list[dict[str, Any]] = []
    new_name: str = ""
    new_role: str = Role.FABRICATOR.value
    new_password: str = ""
    error: str = ""
    # A password being reset (person id → the new one as typed) and a key shown once.
    reset_for: int = 0
    reset_password: str = ""
    created_key: str = ""
    created_key_for: str = ""
    # Names typed before people existed, and which person each is to be merged into (name → id).
    loose: list[dict[str, Any]] = []
    merge_into: dict[str, str] = {}

    async def _admin(self) -> None:
        await (await self.get_state(AuthState)).require(Scope.ADMIN)

    def _refresh(self) -> None:
        with session_scope() as session:
            self.people = [people.person_public(p) for p in people.list_people(session)]
            self.loose = people.loose_names(session)[:50]

    @rx.event
    def choose_merge(self, name: str, person_id: str) -> None:
        self.merge_into = {**self.merge_into, name: person_id}

    @rx.event
    async def merge(self, name: str):  # type: ignore[no-untyped-def]
        target = self.merge_into.get(name, "")
        if not target:
            return rx.toast.error(f"Pick the person {name!r} is")
        try:
            await self._admin()
            auth = await self.get_state(AuthState)
            with session_scope() as session:
                done = people.merge_names(session, int(target), [name], actor=auth.who)
        except AerieError as err:
            return rx.toast.error(_message(err))
        self._refresh()
        return rx.toast.success(f"{name!r} merged: {done['parts']} parts, {done['events']} lines")

    @rx.event
    async def load(self) -> None:
        auth = await self.get_state(AuthState)
        if auth.is_admin:
            self._refresh()

    @rx.event
    def set_new_name(self, value: str) -> None:
        self.new_name, self.error = value[:100], ""

    @rx.event
    def set_new_role(self, value: str) -> None:
        self.new_role = value if value in ROLES else Role.FABRICATOR.value

    @rx.event
    def set_new_password(self, value: str) -> None:
        self.new_password, self.error = value[:200], ""

    @rx.event
    def set_reset_password(self, value: str) -> None:
        self.reset_password = value[:200]

    @rx.event
    async def add(self, _form: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
            with session_scope() as session:
                person = people.create_person(
                    session,
                    name=self.new_name,
                    role=self.new_role,
                    password=self.new_password or None,
                )
                name = person.name
        except AerieError as err:
            self.error = _message(err)
            return None
        self.new_name, self.new_password, self.error = "", "", ""
        self._refresh()
        return rx.toast.success(f"{name} added")

    async def _update(self, person_id: int, done: str, **changes: Any):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
            with session_scope() as session:
                people.update_person(session, int(person_id), **changes)
        except AerieError as err:
            return rx.toast.error(_message(err))
        self._refresh()
        return rx.toast.success(done)

    @rx.event
    async def change_role(self, person_id: int, role: str):  # type: ignore[no-untyped-def]
        return await self._update(person_id, f"Role changed to {role}", role=role)

    @rx.event
    async def set_active(self, person_id: int, active: bool):  # type: ignore[no-untyped-def]
        return await self._update(
            person_id, "Brought back" if active else "Deactivated", active=bool(active)
        )

    @rx.event
    def start_reset(self, person_id: int) -> None:
        self.reset_for, self.reset_password = int(person_id), ""

    @rx.event
    async def save_reset(self, _form: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        result = await self._update(
            self.reset_for,
            "Password reset; their open sessions ended",
            password=self.reset_password,
        )
        self.reset_for, self.reset_password = 0, ""
        return result

    @rx.event
    async def personal_key(self, person_id: int, name: str):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
            with session_scope() as session:
                _, raw = people.create_personal_key(session, int(person_id), name=None)
        except AerieError as err:
            return rx.toast.error(_message(err))
        self.created_key, self.created_key_for = raw, name
        return None

    @rx.event
    def dismiss_key(self) -> None:
        self.created_key, self.created_key_for = "", ""


def _person_row(person: rx.Var) -> rx.Component:
    pid = person["id"].to(int)
    name = person["name"].to(str)
    return rx.table.row(
        rx.table.cell(
            rx.text(name, weight="medium"),
            rx.cond(
                ~person["active"].to(bool),
                rx.badge("deactivated", color_scheme="gray", margin_left="6px"),
            ),
        ),
        rx.table.cell(
            rx.el.select(
                *[rx.el.option(r, value=r) for r in ROLES],
                value=person["role"].to(str),
                on_change=lambda value: PeopleState.change_role(pid, value),
                aria_label="Role of " + name,
                **(SELECT_STYLE | {"class_name": "filter-select person-role"}),
            )
        ),
        rx.table.cell(rx.cond(person["canSignIn"].to(bool), "password", "kiosk pick only")),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    "Reset password",
                    size="1",
                    variant="soft",
                    on_click=PeopleState.start_reset(pid),
                    aria_label="Reset password of " + name,
                ),
                rx.button(
                    "Personal key",
                    size="1",
                    variant="soft",
                    on_click=PeopleState.personal_key(pid, name),
                    aria_label="Personal key for " + name,
                ),
                rx.cond(
                    person["active"].to(bool),
                    rx.button(
                        "Deactivate",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        high_contrast=True,
                        on_click=PeopleState.set_active(pid, False),
                        aria_label="Deactivate " + name,
                    ),
                    rx.button(
                        "Bring back",
                        size="1",
                        variant="soft",
                        on_click=PeopleState.set_active(pid, True),
                        aria_label="Bring back " + name,
                    ),
                ),
                spacing="2",
                wrap="wrap",
            )
        ),
        class_name="person-row",
        data_name=name,
    )


def _loose_row(entry: rx.Var) -> rx.Component:
    name = entry["name"].to(str)
    return rx.hstack(
        rx.text(name, weight="medium", min_width="140px"),
        rx.text(entry["parts"].to(str) + " parts", size="1", color_scheme="gray"),
        rx.el.select(
            rx.el.option("is…", value=""),
            rx.foreach(
                PeopleState.people,
                lambda p: rx.el.option(p["name"].to(str), value=p["id"].to(str)),
            ),
            value=PeopleState.merge_into.get(name, ""),
            on_change=lambda value: PeopleState.choose_merge(name, value),
            aria_label="Who " + name + " is",
            **SELECT_STYLE,
        ),
        rx.button(
            "Merge",
            size="1",
            variant="soft",
            on_click=PeopleState.merge(name),
            aria_label="Merge " + name,
        ),
        align="center",
        wrap="wrap",
        class_name="loose-name",
        data_name=name,
    )


def merge_tool() -> rx.Component:
    """Names typed before people existed: each merged into a person credits them with its parts."""
    return rx.vstack(
        rx.heading("Names without a person", size="3", as_="h3"),
        rx.text(
            "Claims and imports from before people signed in. Merging a name into a person "
            "credits them with its parts, work and timeline lines.",
            size="2",
            color_scheme="gray",
        ),
        rx.foreach(PeopleState.loose, _loose_row),
        width="100%",
        spacing="2",
        id="merge-tool",
    )


def people_card() -> rx.Component:
    s = PeopleState
    return rx.card(
        rx.vstack(
            rx.heading("People", size="4", as_="h2"),
            rx.text(ROLE_HELP, size="2", color_scheme="gray"),
            rx.form(
                rx.hstack(
                    rx.vstack(
                        rx.el.label(rx.text("Name", size="2"), html_for="new-person-name"),
                        rx.input(
                            value=s.new_name,
                            on_change=s.set_new_name,
                            id="new-person-name",
                            name="new-person-name",
                            width="200px",
                        ),
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.el.label(rx.text("Role", size="2"), html_for="new-person-role"),
                        rx.el.select(
                            *[rx.el.option(r, value=r) for r in ROLES],
                            value=s.new_role,
                            on_change=s.set_new_role,
                            id="new-person-role",
                            name="new-person-role",
                            **SELECT_STYLE,
                        ),
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.el.label(
                            rx.text("Password (none: kiosk pick only)", size="2"),
                            html_for="new-person-password",
                        ),
                        rx.input(
                            value=s.new_password,
                            on_change=s.set_new_password,
                            id="new-person-password",
                            name="new-person-password",
                            type="password",
                            auto_complete="new-password",
                            width="220px",
                        ),
                        spacing="1",
                    ),
                    rx.button("Add person", type="submit", id="add-person"),
                    align="end",
                    wrap="wrap",
                    spacing="3",
                ),
                on_submit=s.add,
                reset_on_submit=False,
            ),
            rx.cond(
                s.error != "",
                rx.text(s.error, color_scheme="red", size="2", role="alert", id="people-error"),
            ),
            rx.cond(
                s.reset_for > 0,
                rx.form(
                    rx.hstack(
                        rx.el.label(rx.text("New password", size="2"), html_for="reset-password"),
                        rx.input(
                            value=s.reset_password,
                            on_change=s.set_reset_password,
                            type="password",
                            id="reset-password",
                            name="reset-password",
                            auto_complete="new-password",
                        ),
                        rx.button("Save password", type="submit", size="2", id="save-reset"),
                        align="center",
                        wrap="wrap",
                    ),
                    on_submit=s.save_reset,
                    reset_on_submit=False,
                ),
            ),
            rx.cond(
                s.created_key != "",
                rx.callout(
                    rx.vstack(
                        rx.text(
                            "Personal key for ",
                            s.created_key_for,
                            ": copy it now, it will not be shown again. It acts as this person.",
                        ),
                        rx.code(s.created_key, id="created-person-key"),
                        rx.button("Done", size="1", on_click=s.dismiss_key),
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
                            for h in ("Name", "Role", "Signs in with", "")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(s.people, _person_row)),
                width="100%",
            ),
            rx.cond(s.loose.length() > 0, merge_tool()),
            width="100%",
            spacing="3",
        ),
        width="100%",
        id="people-card",
    )
