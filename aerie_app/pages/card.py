"""The phone card at /p/<id>: what a part label's QR code opens at the machine.

One column for a phone held in a gloved hand: the part's picture (its 3D view one tap away), the
facts a student checks against the stock in front of them, and big buttons for what the
workflow allows now. A claim is one tap for the maker this phone remembers. It shares the part
page's state (DetailState) and the board's action dialog, so it cannot drift from either.
"""

from __future__ import annotations

import reflex as rx

from aerie_app.components.actions import ActionState, action_buttons, action_dialog
from aerie_app.components.fit import fit_badge, fit_text, stock_text
from aerie_app.components.layout import live_region, page_frame
from aerie_app.components.pins import pin_checklist
from aerie_app.components.viewer import viewer
from aerie_app.state.auth import AuthState
from aerie_app.state.part import DetailState


class CardState(rx.State):
    """Whether the 3D view is open (it costs a phone far more than the picture)."""

    show_3d: bool = False

    @rx.event
    def toggle_3d(self) -> None:
        self.show_3d = not self.show_3d

    @rx.event
    def picture_first(self) -> None:
        self.show_3d = False


def fact(label: str, value: rx.Var | str, id_: str) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="3", color_scheme="gray", min_width="96px"),
        rx.text(value, size="4", weight="medium", id=id_),
        width="100%",
        align="baseline",
        class_name="card-fact",
    )


def picture() -> rx.Component:
    s = DetailState
    return rx.cond(
        s.model_url != "",
        rx.vstack(
            rx.cond(
                CardState.show_3d,
                viewer(
                    url=s.model_url,
                    dark=True,
                    height="min(55vh, 360px)",
                    label=s.title,
                    dims_mm=s.model_dims,
                    poster=s.thumb_url,
                    pins=s.pins,
                ),
                rx.image(
                    src=s.thumb_url,
                    alt="Picture of " + s.title,
                    width="100%",
                    max_height="260px",
                    object_fit="contain",
                    border_radius="12px",
                    background=rx.color("gray", 3),
                    id="card-thumb",
                ),
            ),
            rx.button(
                rx.icon("rotate-3d", size=20, aria_hidden="true"),
                rx.cond(CardState.show_3d, "Show the picture", "Turn it in 3D"),
                size="3",
                variant="soft",
                width="100%",
                on_click=CardState.toggle_3d,
                id="card-3d",
            ),
            width="100%",
            spacing="2",
        ),
        rx.cond(
            (s.conversion == "queued") | (s.conversion == "running"),
            rx.text("The 3D model is being made…", color_scheme="gray"),
            rx.cond(
                s.pdf_url != "",
                rx.link(
                    rx.button(
                        rx.icon("file-text", size=20, aria_hidden="true"),
                        "Open the drawing",
                        size="3",
                        variant="soft",
                        width="100%",
                    ),
                    href=s.pdf_url,
                    is_external=True,
                    width="100%",
                ),
            ),
        ),
    )


def claimer_line() -> rx.Component:
    """Who a one-tap claim is for, and a way to be someone else."""
    row = DetailState.row
    return rx.cond(
        row["allowed"].to(list[str]).contains("assign") & AuthState.can_write,
        rx.hstack(
            rx.text(
                rx.cond(
                    AuthState.person_id > 0,
                    "Claim goes to " + AuthState.who,
                    rx.cond(
                        ActionState.maker != "",
                        "Claim goes to " + ActionState.maker.to(str),
                        "Claim asks for your name once",
                    ),
                ),
                size="2",
                color_scheme="gray",
            ),
            rx.cond(
                (ActionState.maker != "") & (AuthState.person_id == 0),
                rx.button(
                    "Not you?",
                    variant="ghost",
                    size="2",
                    on_click=ActionState.start(
                        row["id"].to(int), "assign", row["name"].to(str), row["left"].to(int)
                    ),
                    id="card-not-you",
                ),
            ),
            align="center",
            wrap="wrap",
        ),
    )


def card_body() -> rx.Component:
    s = DetailState
    row = s.row
    return rx.cond(
        s.found,
        rx.vstack(
            rx.vstack(
                rx.text(row["partId"].to(str), size="3", color_scheme="gray", id="card-part-id"),
                rx.heading(s.title, size="7", id="card-title", as_="h1"),
                rx.hstack(
                    rx.badge(row["status"].to(str), size="3", variant="surface", id="card-status"),
                    rx.cond(
                        row["incorrect"].to(bool),
                        rx.badge("incorrect", size="3", color_scheme="red", high_contrast=True),
                    ),
                    fit_badge(row["fit"]),
                    spacing="2",
                    wrap="wrap",
                ),
                spacing="1",
                width="100%",
            ),
            picture(),
            rx.card(
                rx.vstack(
                    fact("Material", row["material"].to(str), "card-material"),
                    fact("Thickness", row["thickness"].to(str), "card-thickness"),
                    fact("Amount", row["amount"].to(str), "card-amount"),
                    fact("Subsystem", row["subsystem"].to(str), "card-subsystem"),
                    rx.cond(
                        row["stock"].to(str) != "",
                        fact("Stock size", row["stock"].to(str), "card-stock"),
                    ),
                    rx.cond(
                        row["assigned"].to(str) != "",
                        fact("Maker", row["assigned"].to(str), "card-maker"),
                    ),
                    rx.cond(
                        row["storage"].to(str) != "",
                        fact("Stored at", row["storage"].to(str), "card-storage"),
                    ),
                    fit_text(row),
                    stock_text(row),
                    rx.cond(
                        row["notes"].to(str) != "",
                        rx.text(row["notes"].to(str), size="3", font_style="italic"),
                    ),
                    spacing="2",
                    width="100%",
                ),
                width="100%",
            ),
            pin_checklist(phone=True),
            claimer_line(),
            rx.box(
                action_buttons(
                    row["id"].to(int),
                    row["name"].to(str),
                    row["allowed"].to(list[str]),
                    row["left"].to(int),
                    size="4",
                    one_tap=True,
                ),
                width="100%",
                class_name="card-actions",
            ),
            rx.link(
                "Everything about this part",
                href="/parts/" + row["id"].to(str),
                size="3",
                id="card-full-page",
            ),
            spacing="4",
            width="100%",
            max_width="560px",
            margin="0 auto",
            id="phone-card",
        ),
        rx.callout(
            "No part has this number (it may have been deleted).",
            color_scheme="orange",
            id="card-missing",
        ),
    )


def page() -> rx.Component:
    return page_frame(card_body(), action_dialog(), live_region(DetailState.live_note))
