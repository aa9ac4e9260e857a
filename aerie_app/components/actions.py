"""Workflow actions from the UI: one dialog state for review, claim, unclaim, complete and delete.

Handlers stay thin: they read the inputs, call :func:`aerie_app.services.parts.perform` (the same
function the REST API calls) and turn an Aerie error into a toast or an inline message.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from aerie_app import permissions
from aerie_app.components.fit import duplicate_link, fit_badge, fit_text, stock_text
from aerie_app.db import session_scope
from aerie_app.errors import AerieError, Conflict, ValidationFailed
from aerie_app.permissions import Permission
from aerie_app.schemas import part_public
from aerie_app.services import parts, people
from aerie_app.state.auth import AuthState
from aerie_app.state.board import BoardState, shop_row
from aerie_app.state.part import DetailState
from aerie_app.workflow import Action

# Actions that need a question answered first; the rest run on click.
ASKS = {"approve", "assign", "unclaim", "complete", "delete"}
LABELS = {
    "approve": "Review",
    "assign": "Claim",
    "start": "Start",
    "unclaim": "Unclaim",
    "complete": "Complete",
    "revert": "Revert",
    "mark_incorrect": "Mark incorrect",
    "mark_correct": "Mark correct",
    "delete": "Delete",
}
INPUTS = ("reviewer", "fields_text", "name", "storage", "quantity")
CONFETTI = "window.aerieConfetti && window.aerieConfetti()"
NO_FIT_CONFIRM = "Tick “Approve anyway” to approve a part that no machine can make."


def parse_fields(text: str) -> dict[str, str]:
    """Reviewer's custom fields, one ``key: value`` per line."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            if key.strip():
                out[key.strip()[:100]] = value.strip()[:2000]
    return out


class ActionState(rx.State):
    """The open action dialog (at most one at a time)."""

    open: bool = False
    action: str = ""
    part_id: int = 0
    part_name: str = ""
    left: int = 1
    reviewer: str = ""
    fields_text: str = ""
    name: str = ""
    storage: str = ""
    quantity: str = ""
    error: str = ""
    busy: bool = False
    maker: str = rx.LocalStorage("", name="aerie_maker")
    # The team's roster (active people's names) for the reviewer and maker fields' suggestions.
    roster: list[str] = []
    # The review checklist: the part's fit, stock match and duplicate (state.board.shop_row).
    check: dict[str, Any] = {}
    confirm_no_fit: bool = False

    @rx.var
    def title(self) -> str:
        return f"{LABELS.get(self.action, self.action)}: {self.part_name}"

    @rx.event
    def set_open(self, value: bool) -> None:
        self.open = value

    @rx.var
    def needs_confirm(self) -> bool:
        return bool(self.check.get("fitsNothing"))

    @rx.event
    def set_confirm_no_fit(self, value: bool) -> None:
        self.confirm_no_fit = bool(value)
        if value and self.error == NO_FIT_CONFIRM:
            self.error = ""

    def _load_check(self) -> None:
        """What the reviewer should know before approving (read now, judged again on submit)."""
        with session_scope() as session:
            self.check = shop_row(part_public(parts.get_part(session, self.part_id)))

    @rx.event
    def set_input(self, field: str, value: str) -> None:
        """One setter for the dialog's text inputs (Reflex 0.10 generates none)."""
        if field in INPUTS:
            setattr(self, field, value)

    async def _person(self) -> str:
        """The signed-in person's name ("" for a team key): the default reviewer and maker."""
        auth = await self.get_state(AuthState)
        return auth.who if auth.person_id else ""

    @rx.event
    async def start(self, part_id: int, action: str, part_name: str, left: int):  # type: ignore[no-untyped-def]
        """A button was pressed: ask what the action needs, or just do it."""
        self._begin(part_id, action, part_name, left, await self._person())
        if action in ("approve", "assign"):
            with session_scope() as session:
                self.roster = [p.name for p in people.list_people(session, active_only=True)]
        if action == "approve":
            try:
                self._load_check()
            except AerieError as err:
                return rx.toast.error(err.message)
        if action in ASKS:
            self.open = True
            return None
        return await self._run()

    @rx.event
    async def tap(self, part_id: int, action: str, part_name: str, left: int):  # type: ignore[no-untyped-def]
        """The phone card's buttons: one tap claims for the maker this phone remembers (the
        dialog asks who only when it knows nobody); every other action is as on the board."""
        person = await self._person()
        if action == "assign" and (person or self.maker.strip()):
            self._begin(part_id, action, part_name, left, person)
            return await self._run()
        return await self.start(part_id, action, part_name, left)

    def _begin(self, part_id: int, action: str, part_name: str, left: int, person: str) -> None:
        self.part_id, self.action, self.part_name = int(part_id), action, part_name
        self.left = max(int(left), 1)
        self.error, self.storage, self.fields_text = "", "", ""
        self.name = person or self.maker
        self.reviewer = person or self.maker
        self.quantity = str(self.left)
        self.check, self.confirm_no_fit = {}, False

    @rx.event
    async def submit(self, _form: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        return await self._run()

    async def _run(self):  # type: ignore[no-untyped-def]
        auth = await self.get_state(AuthState)
        try:
            principal = await auth.require(
                Permission.DELETE_PART
                if self.action == "delete"
                else permissions.ACTIONS[Action(self.action)]
            )
            person = (self.name or self.reviewer or self.maker).strip()
            if principal.person_id is not None:
                actor = principal.name  # a person acts as themselves
            else:
                actor = f"{person} (key: {principal.name})" if person else principal.name
            with session_scope() as session:
                result = self._perform(session, actor)
        except ValidationFailed as err:
            self.error = str(err.details.get("message", err.message))
            return None
        except Conflict as err:
            if isinstance(err.details, dict) and "openPins" in err.details:
                # Not a race: the reviewer's pins are not all ticked. Say which, in the dialog.
                self.error = err.message
                return None
            if isinstance(err.details, dict) and err.details.get("confirm") == "confirmNoFit":
                # Its fit changed while the dialog was open: show why, and ask.
                self._load_check()
                self.confirm_no_fit, self.error = False, NO_FIT_CONFIRM
                return None
            self.open = False
            return [rx.toast.warning(f"Someone was faster: {err.message}"), *self._refreshers()]
        except AerieError as err:
            self.open = False
            return rx.toast.error(err.message)
        self.open = False
        events: list[Any] = [*self._refreshers()]
        if self.action == "complete" and result == "completed":
            events.append(rx.call_script(CONFETTI))
            events.append(rx.toast.success(f"{self.part_name} completed!"))
        if self.action == "delete":
            events.append(rx.toast.success(f"Deleted {self.part_name}"))
        return events

    def _perform(self, session: Any, actor: str) -> str:
        if self.action == "delete":
            parts.delete_part(session, self.part_id, actor=actor)
            return "deleted"
        action = Action(self.action)
        kwargs: dict[str, Any] = {}
        if action is Action.APPROVE:
            if self.needs_confirm and not self.confirm_no_fit:
                raise ValidationFailed("confirmNoFit", NO_FIT_CONFIRM)
            kwargs = {
                "reviewer": self.reviewer.strip() or None,
                "fields": parse_fields(self.fields_text),
                "confirm_no_fit": self.confirm_no_fit,
            }
        elif action is Action.ASSIGN:
            if not self.name.strip():
                raise ValidationFailed("assigned", "Who is making it?")
            kwargs = {"name": self.name.strip()}
            self.maker = self.name.strip()
        elif action is Action.UNCLAIM:
            if not self.storage.strip():
                raise ValidationFailed("storage", "Where is the part now? (storage location)")
            kwargs = {"storage_location": self.storage}
        elif action is Action.COMPLETE:
            try:
                qty = int(self.quantity)
            except ValueError:
                raise ValidationFailed("quantity", "Quantity must be a whole number") from None
            if qty >= self.left and not self.storage.strip():
                raise ValidationFailed("storage", "Where will the finished part be stored?")
            kwargs = {"quantity": qty, "storage_location": self.storage or None}
        part = parts.perform(session, self.part_id, action, actor=actor, **kwargs)
        return part.category

    def _refreshers(self) -> list[Any]:
        return [BoardState.reload, DetailState.reload]


REVIEW_ACTIONS = frozenset({"approve", "revert", "mark_incorrect", "mark_correct"})


def action_buttons(
    part_id: rx.Var,
    name: rx.Var,
    allowed: rx.Var,
    left: rx.Var,
    *,
    size: str = "1",
    one_tap: bool = False,
) -> rx.Component:
    """Buttons for the actions the workflow allows on this part (rendered from allowedActions).

    ``one_tap`` (the phone card): a claim runs at once for the maker the phone remembers."""
    handler = ActionState.tap if one_tap else ActionState.start

    def button(action: str, color: str, variant: str = "soft") -> rx.Component:
        # High contrast: white on a solid step-9 green or red, and step-11 text on a soft green
        # or orange, are under 4.5:1 in Radix's light theme.
        shown = allowed.contains(action)
        if action in REVIEW_ACTIONS:
            shown = shown & AuthState.can_review  # a fabricator's page offers what they may do
        return rx.cond(
            shown,
            rx.button(
                LABELS[action],
                size=size,
                color_scheme=color,
                variant=variant,
                high_contrast=True,
                on_click=handler(part_id, action, name, left),
                class_name=f"act-{action}",
            ),
        )

    return rx.cond(
        AuthState.can_write,
        rx.hstack(
            button("approve", "green"),
            button("assign", "indigo"),
            button("start", "indigo", "outline"),
            button("complete", "green", "solid"),
            button("unclaim", "gray"),
            button("revert", "orange"),
            button("mark_incorrect", "red", "outline"),
            button("mark_correct", "gray", "outline"),
            spacing="2",
            wrap="wrap",
        ),
    )


def _input(
    label: str | rx.Component, field: str, *, id_: str | None = None, **props: Any
) -> rx.Component:
    """A labelled text input bound to one of the dialog's fields."""
    control_id = id_ or field
    return rx.vstack(
        # A <label for> names the input for screen readers and focuses it when clicked.
        rx.el.label(
            rx.text(label, size="2", weight="medium") if isinstance(label, str) else label,
            html_for=control_id,
        ),
        rx.input(
            value=getattr(ActionState, field),
            on_change=lambda v: ActionState.set_input(field, v),
            id=id_ or field,
            name=id_ or field,
            width="100%",
            **props,
        ),
        width="100%",
    )


def roster_names() -> rx.Component:
    """The roster as the name fields' suggestions (typing any other name still works)."""
    return rx.el.datalist(
        rx.foreach(ActionState.roster, lambda name: rx.el.option(value=name)),
        id="roster-names",
    )


def _check_line(label: str, *body: rx.Component) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            rx.text(label, size="2", weight="medium", min_width="72px"),
            rx.vstack(*body, spacing="1"),
            spacing="2",
            align="start",
        ),
        list_style="none",
    )


def review_checklist() -> rx.Component:
    """Fit, stock and duplicate before approving; a part no machine can make asks to confirm."""
    c = ActionState.check
    return rx.vstack(
        rx.el.ul(
            _check_line(
                "Fit",
                rx.hstack(
                    fit_badge(c["fit"]), fit_text(c), spacing="2", align="center", wrap="wrap"
                ),
            ),
            _check_line(
                "Stock",
                rx.cond(
                    (c["stockMatch"].to(str) == "") & (c["stockReason"].to(str) == ""),
                    rx.text("No thickness known yet", size="1", color_scheme="gray"),
                    stock_text(c),
                ),
            ),
            _check_line(
                "Duplicate",
                rx.cond(
                    c["duplicateId"].to(int) > 0,
                    duplicate_link(c),
                    rx.text("No other part has this geometry", size="1", color_scheme="gray"),
                ),
            ),
            padding="0",
            margin="0",
            display="flex",
            flex_direction="column",
            gap="6px",
            aria_label="Review checklist",
            id="review-checklist",
        ),
        rx.cond(
            ActionState.needs_confirm,
            rx.el.label(
                rx.hstack(
                    rx.checkbox(
                        checked=ActionState.confirm_no_fit,
                        on_change=ActionState.set_confirm_no_fit,
                        id="confirm-no-fit",
                        name="confirm-no-fit",
                        # The checkbox is a button: axe wants its name from aria-labelledby.
                        aria_labelledby="confirm-no-fit-label",
                        aria_describedby=rx.cond(ActionState.error != "", "action-error", ""),
                    ),
                    rx.text(
                        "Approve anyway: no machine can make it (this is noted on its timeline)",
                        size="2",
                        id="confirm-no-fit-label",
                    ),
                    spacing="2",
                    align="start",
                ),
            ),
        ),
        width="100%",
        spacing="2",
    )


def action_dialog() -> rx.Component:
    a = ActionState.action
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(ActionState.title),
            rx.form(
                rx.vstack(
                    rx.cond(
                        a == "approve",
                        rx.vstack(
                            review_checklist(),
                            _input(
                                "Reviewer",
                                "reviewer",
                                placeholder="Your name",
                                list="roster-names",
                                auto_complete="off",
                            ),
                            roster_names(),
                            rx.el.label(
                                rx.text(
                                    "Custom fields (one 'key: value' per line)",
                                    size="2",
                                    weight="medium",
                                ),
                                html_for="custom-fields",
                            ),
                            rx.text_area(
                                value=ActionState.fields_text,
                                on_change=lambda v: ActionState.set_input("fields_text", v),
                                placeholder="Finish: anodize black",
                                width="100%",
                                id="custom-fields",
                            ),
                            width="100%",
                        ),
                    ),
                    rx.cond(
                        a == "assign",
                        rx.vstack(
                            _input(
                                "Who is making it?",
                                "name",
                                id_="maker-name",
                                placeholder="Your name",
                                auto_focus=True,
                                list="roster-names",
                                auto_complete="off",
                            ),
                            roster_names(),
                            width="100%",
                        ),
                    ),
                    rx.cond(
                        (a == "unclaim") | (a == "complete"),
                        rx.vstack(
                            rx.cond(
                                a == "complete",
                                _input(
                                    rx.text(
                                        "Quantity finished (of ",
                                        ActionState.left,
                                        " left)",
                                        size="2",
                                        weight="medium",
                                    ),
                                    "quantity",
                                    type="number",
                                    min=1,
                                ),
                            ),
                            _input("Storage location", "storage", placeholder="Shelf B, bin 4"),
                            width="100%",
                        ),
                    ),
                    rx.cond(
                        a == "delete",
                        rx.text(
                            "Delete this part, its files and its history? This cannot be undone.",
                            color_scheme="red",
                        ),
                    ),
                    rx.cond(
                        ActionState.error != "",
                        rx.callout(
                            ActionState.error,
                            color_scheme="red",
                            size="1",
                            width="100%",
                            id="action-error",
                        ),
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(
                            rx.cond(a == "delete", "Delete", "Confirm"),
                            type="submit",
                            color_scheme=rx.cond(a == "delete", "red", "indigo"),
                            high_contrast=True,
                            id="action-confirm",
                        ),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=ActionState.submit,
                reset_on_submit=False,
            ),
            max_width="440px",
        ),
        open=ActionState.open,
        on_open_change=ActionState.set_open,
    )
