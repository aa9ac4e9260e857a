"""The board's "Labels" dialog: the picked parts (or the whole view) as a printable QR label sheet."""

from __future__ import annotations

import reflex as rx

from aerie_app.services.labels import SHEETS
from aerie_app.state.board import BoardState

LINK_STYLE = {
    "display": "inline-flex",
    "alignItems": "center",
    "gap": "4px",
    "fontSize": "var(--font-size-2)",
    "color": "var(--accent-11)",
    "textDecoration": "underline",
    "textUnderlineOffset": "2px",
}


def selection_bar() -> rx.Component:
    """How many parts are picked, and a way to drop them (only while some are)."""
    return rx.cond(
        BoardState.selected.length() > 0,
        rx.hstack(
            rx.text(
                BoardState.selected.length().to(str) + " picked",
                size="2",
                id="picked-count",
            ),
            rx.button("Clear", size="1", variant="ghost", on_click=BoardState.clear_selected),
            align="center",
            spacing="2",
        ),
    )


def labels_button() -> rx.Component:
    return rx.button(
        rx.icon("qr-code", size=14, aria_hidden="true"),
        "Labels",
        size="2",
        variant="soft",
        on_click=BoardState.open_labels,
        id="labels-open",
    )


def pick_box(row: rx.Var) -> rx.Component:
    """The checkbox that picks one part for a label sheet."""
    return rx.checkbox(
        checked=BoardState.selected.contains(row["id"].to(int)),
        on_change=lambda on: BoardState.toggle_selected(row["id"].to(int), on),
        aria_label="Pick " + row["name"].to(str) + " for labels",
        class_name="pick-part",
    )


def labels_dialog() -> rx.Component:
    s = BoardState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Print QR labels"),
            rx.dialog.description(
                "Each label has the part number, name, material, amount and subsystem, and a QR "
                "code that opens the part's card on a phone.",
                size="2",
            ),
            rx.vstack(
                rx.radio_group.root(
                    rx.vstack(
                        rx.el.label(
                            rx.hstack(
                                rx.radio_group.item(value="view", id="labels-view"),
                                rx.text("Everything in this view (", s.total.to(str), ")"),
                                align="center",
                            ),
                        ),
                        rx.el.label(
                            rx.hstack(
                                rx.radio_group.item(
                                    value="selected",
                                    disabled=s.selected.length() == 0,
                                    id="labels-selected",
                                ),
                                rx.text(
                                    "The parts picked on the board (",
                                    s.selected.length().to(str),
                                    ")",
                                ),
                                align="center",
                            ),
                        ),
                        spacing="2",
                    ),
                    value=s.label_scope,
                    on_change=lambda v: s.set_label_option("scope", v),
                    aria_label="Which parts",
                ),
                rx.vstack(
                    rx.el.label(
                        rx.text("Label stock", size="2", weight="medium"), html_for="label-sheet"
                    ),
                    rx.select.root(
                        rx.select.trigger(id="label-sheet", width="100%"),
                        rx.select.content(
                            *[
                                rx.select.item(sheet.title, value=key)
                                for key, sheet in SHEETS.items()
                            ]
                        ),
                        value=s.label_sheet,
                        on_change=lambda v: s.set_label_option("sheet", v),
                    ),
                    spacing="1",
                    width="100%",
                ),
                rx.vstack(
                    rx.el.label(
                        rx.text(
                            "Labels already used on the first sheet", size="2", weight="medium"
                        ),
                        html_for="label-start",
                    ),
                    rx.input(
                        value=s.label_start,
                        on_change=lambda v: s.set_label_option("start", v),
                        type="number",
                        min=0,
                        id="label-start",
                        width="120px",
                    ),
                    spacing="1",
                ),
                rx.text(
                    "Codes open ",
                    rx.code(s.label_base + "/p/…"),
                    size="2",
                    id="labels-base",
                ),
                rx.cond(
                    s.label_local,
                    rx.callout(
                        "That address only works on this computer. Open Aerie at its network "
                        "address (or set AERIE_PUBLIC_URL) before printing, so phones can follow "
                        "the codes.",
                        color_scheme="orange",
                        size="1",
                        id="labels-local",
                    ),
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                    # A plain link: the browser opens the PDF in a new tab to print it.
                    rx.el.a(
                        rx.icon("printer", size=14, aria_hidden="true"),
                        "Open the label sheet (",
                        s.label_count.to(str),
                        ")",
                        href=s.labels_url,
                        target="_blank",
                        rel="noopener",
                        id="labels-pdf",
                        custom_attrs={"reloadDocument": True},
                        style=LINK_STYLE,
                    ),
                    justify="between",
                    align="center",
                    width="100%",
                ),
                spacing="4",
                margin_top="12px",
            ),
            max_width="480px",
        ),
        open=s.labels_open,
        on_open_change=s.set_labels_open,
    )
