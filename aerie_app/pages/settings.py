"""The settings page: this browser's preferences (which tabs show, 3D previews, light/dark) and
the shop: machines, stock and the robot weight limit (admins change those; see shop_settings)."""

from __future__ import annotations

import reflex as rx

from aerie_app.components.layout import page_frame
from aerie_app.pages.shop_settings import shop_section
from aerie_app.state.auth import AuthState
from aerie_app.state.prefs import PrefsState

TAB_CHOICES = [
    ("review", "Review"),
    ("cnc", "CNC/Laser"),
    ("hand", "Hand Fab"),
    ("misc", "Misc"),
    ("completed", "Completed"),
]


def page() -> rx.Component:
    return page_frame(
        rx.card(
            rx.vstack(
                rx.heading("Settings", size="5"),
                rx.text("These are remembered by this browser.", size="2", color_scheme="gray"),
                rx.heading("Visible tabs", size="3", margin_top="8px"),
                *[
                    rx.hstack(
                        rx.switch(
                            checked=~PrefsState.hidden_tabs.contains(key),
                            on_change=lambda v, k=key: PrefsState.toggle_tab(k, v),
                            id=f"show-{key}",
                            aria_label=f"Show the {label} tab",
                        ),
                        rx.text(label),
                        align="center",
                    )
                    for key, label in TAB_CHOICES
                ],
                rx.heading("Previews", size="3", margin_top="8px"),
                rx.hstack(
                    rx.switch(
                        checked=PrefsState.previews_on,
                        on_change=PrefsState.set_previews,
                        id="previews",
                        aria_label="Show 3D thumbnails and the model viewer",
                    ),
                    rx.text("Show 3D thumbnails and the model viewer"),
                    align="center",
                ),
                rx.heading("Appearance", size="3", margin_top="8px"),
                rx.hstack(
                    rx.color_mode.switch(aria_label="Dark mode"),
                    rx.text("Dark mode"),
                    align="center",
                ),
                rx.text(
                    "Signed in as ",
                    AuthState.who,
                    " (",
                    AuthState.scope,
                    ")",
                    size="2",
                    color_scheme="gray",
                ),
                spacing="2",
            ),
            width="100%",
            max_width="560px",
        ),
        shop_section(),
    )
