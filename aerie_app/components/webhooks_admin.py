"""The admin page's webhooks card: subscribe a URL to events, see its secret once, read its log."""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app.db import session_scope
from aerie_app.errors import AerieError
from aerie_app.models import Scope
from aerie_app.services import webhooks
from aerie_app.state.auth import AuthState

LOG_ROWS = 20


def _message(err: AerieError) -> str:
    return (
        str(err.details.get("message", err.message))
        if isinstance(err.details, dict)
        else err.message
    )


class WebhookState(rx.State):
    hooks: list[dict[str, Any]] = []
    new_url: str = ""
    new_events: list[str] = ["part.moved"]
    created_secret: str = ""
    error: str = ""
    log_for: int = 0
    log: list[dict[str, Any]] = []

    async def _admin(self) -> None:
        auth = await self.get_state(AuthState)
        await auth.require(Scope.ADMIN)

    def _refresh(self) -> None:
        with session_scope() as session:
            self.hooks = [
                webhooks.public(h) | {"eventsText": ", ".join(h.events)}
                for h in webhooks.list_all(session)
            ]
            if self.log_for:
                try:
                    rows = webhooks.deliveries(session, self.log_for, limit=LOG_ROWS)
                except AerieError:
                    self.log_for, rows = 0, []
                self.log = [
                    {
                        "id": r.id,
                        "event": r.event,
                        "status": r.status,
                        "attempts": r.attempts,
                        "answer": r.last_error or (str(r.last_status) if r.last_status else "—"),
                        "when": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    }
                    for r in rows
                ]

    @rx.event
    async def load(self):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
        except AerieError:
            return None
        self._refresh()
        return None

    @rx.event
    def set_new_url(self, value: str) -> None:
        self.new_url, self.error = value[:1000], ""

    @rx.event
    def toggle_event(self, event: str, on: bool) -> None:
        rest = [e for e in self.new_events if e != event]
        self.new_events = [*rest, event] if on else rest

    @rx.event
    async def create(self):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
            auth = await self.get_state(AuthState)
            with session_scope() as session:
                hook = webhooks.create(
                    session, url=self.new_url, events=self.new_events, actor=auth.who
                )
        except AerieError as err:
            self.error = _message(err)
            return None
        self.created_secret, self.new_url, self.error = hook.secret, "", ""
        self._refresh()
        return None

    @rx.event
    def dismiss_secret(self) -> None:
        self.created_secret = ""

    async def _run(self, work: Any, done: str):  # type: ignore[no-untyped-def]
        try:
            await self._admin()
            with session_scope() as session:
                work(session)
        except AerieError as err:
            return rx.toast.error(_message(err))
        self._refresh()
        return rx.toast.success(done) if done else None

    @rx.event
    async def set_active(self, hook_id: int, active: bool):  # type: ignore[no-untyped-def]
        return await self._run(
            lambda s: webhooks.set_active(s, int(hook_id), bool(active)),
            "Webhook on" if active else "Webhook off",
        )

    @rx.event
    async def remove(self, hook_id: int):  # type: ignore[no-untyped-def]
        if int(hook_id) == self.log_for:
            self.log_for, self.log = 0, []
        return await self._run(lambda s: webhooks.delete(s, int(hook_id)), "Webhook deleted")

    @rx.event
    async def ping(self, hook_id: int):  # type: ignore[no-untyped-def]
        self.log_for = int(hook_id)
        return await self._run(lambda s: webhooks.ping(s, int(hook_id)), "Test event queued")

    @rx.event
    async def show_log(self, hook_id: int):  # type: ignore[no-untyped-def]
        self.log_for = int(hook_id)
        return await self._run(lambda s: None, "")

    @rx.event
    async def redeliver(self, delivery_id: int):  # type: ignore[no-untyped-def]
        return await self._run(lambda s: webhooks.redeliver(s, int(delivery_id)), "Sending again")


def hook_row(hook: rx.Var) -> rx.Component:
    hid = hook["id"].to(int)
    return rx.table.row(
        rx.table.cell(rx.text(hook["url"].to(str), size="2", class_name="hook-url")),
        rx.table.cell(rx.text(hook["eventsText"].to(str), size="1")),
        rx.table.cell(
            rx.switch(
                checked=hook["active"].to(bool),
                on_change=lambda on: WebhookState.set_active(hid, on),
                aria_label="Send events to " + hook["url"].to(str),
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.button("Log", size="1", variant="soft", on_click=WebhookState.show_log(hid)),
                rx.button("Send test", size="1", variant="soft", on_click=WebhookState.ping(hid)),
                rx.button(
                    "Delete",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    high_contrast=True,
                    on_click=WebhookState.remove(hid),
                ),
                spacing="2",
            )
        ),
        class_name="hook-row",
    )


def log_row(row: rx.Var) -> rx.Component:
    status = row["status"].to(str)
    return rx.table.row(
        rx.table.cell(row["when"].to(str)),
        rx.table.cell(row["event"].to(str)),
        rx.table.cell(
            rx.badge(
                status,
                color_scheme=rx.match(status, ("delivered", "green"), ("failed", "red"), "gray"),
                variant="soft",
                high_contrast=True,
            )
        ),
        rx.table.cell(row["attempts"].to(str)),
        rx.table.cell(rx.text(row["answer"].to(str), size="1")),
        rx.table.cell(
            rx.cond(
                status == "failed",
                rx.button(
                    "Send again",
                    size="1",
                    variant="soft",
                    on_click=WebhookState.redeliver(row["id"].to(int)),
                ),
            )
        ),
        class_name="delivery-row",
    )


def webhooks_card() -> rx.Component:
    s = WebhookState
    return rx.card(
        rx.vstack(
            rx.heading("Webhooks", size="4"),
            rx.text(
                "Aerie POSTs each chosen event as signed JSON to your URL (a team chat bot, a "
                "shop display), and retries for about 8 hours when it gets no 2xx answer.",
                size="2",
                color_scheme="gray",
            ),
            rx.vstack(
                rx.el.label(
                    rx.text("Receiver URL", size="2", weight="medium"), html_for="hook-url"
                ),
                rx.input(
                    value=s.new_url,
                    on_change=s.set_new_url,
                    placeholder="https://bot.example/aerie",
                    id="hook-url",
                    width="100%",
                    max_width="520px",
                ),
                rx.el.fieldset(
                    rx.el.legend(rx.text("Events", size="2", weight="medium")),
                    rx.flex(
                        *[
                            # Named by aria-label: a <label> around Radix's button-checkbox
                            # would forward the click and undo it.
                            rx.hstack(
                                rx.checkbox(
                                    checked=s.new_events.contains(event),
                                    on_change=lambda on, e=event: s.toggle_event(e, on),
                                    aria_label=event,
                                ),
                                rx.text(event, size="2", title=text, aria_hidden="true"),
                                align="center",
                                spacing="1",
                            )
                            for event, text in webhooks.EVENTS.items()
                        ],
                        wrap="wrap",
                        gap="12px",
                    ),
                    style={"border": "none", "padding": "0", "margin": "0"},
                ),
                rx.button("Add webhook", on_click=s.create, id="hook-create"),
                rx.cond(
                    s.error != "",
                    rx.text(s.error, size="2", color_scheme="red", id="hook-error"),
                ),
                spacing="2",
                width="100%",
            ),
            rx.cond(
                s.created_secret != "",
                rx.callout(
                    rx.vstack(
                        rx.text(
                            "The signing secret, shown once: your receiver checks "
                            "X-Aerie-Signature with it."
                        ),
                        rx.code(s.created_secret, id="hook-secret"),
                        rx.button("Done", size="1", on_click=s.dismiss_secret),
                    ),
                    color_scheme="green",
                    width="100%",
                ),
            ),
            rx.cond(
                s.hooks.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in ("URL", "Events", "Active", "")
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(s.hooks, hook_row)),
                    width="100%",
                    id="hooks-table",
                ),
            ),
            rx.cond(
                s.log_for > 0,
                rx.vstack(
                    rx.hstack(
                        rx.heading("Delivery log", size="3"),
                        rx.button(
                            "Refresh",
                            size="1",
                            variant="soft",
                            on_click=s.show_log(s.log_for),
                            id="hook-log-refresh",
                        ),
                        align="center",
                    ),
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                *[
                                    rx.table.column_header_cell(h)
                                    for h in ("When", "Event", "Status", "Tries", "Answer", "")
                                ]
                            )
                        ),
                        rx.table.body(rx.foreach(s.log, log_row)),
                        width="100%",
                        id="hook-log",
                    ),
                    width="100%",
                ),
            ),
            width="100%",
            spacing="3",
        ),
        width="100%",
        id="webhooks-card",
    )
